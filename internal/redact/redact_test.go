package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanFindsRegisteredSecretsInAnyForm(t *testing.T) {
	const token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
	const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	var s Set
	s.Add(token)
	s.Add(secretKey)
	s.Add("abc") // too short: ignored
	cases := map[string]string{
		"exact":       "Bad credentials for " + token + " (401)",
		"upper-cased": "TOKEN " + strings.ToUpper(token) + " REFUSED",
		"cut short":   "token " + token[:14] + "… was refused",
		"tail only":   "…" + token[len(token)-13:] + " expired",
		"secret key":  "signature mismatch for " + secretKey[:20],
		"mixed case":  "key=" + strings.ToUpper(secretKey[:10]) + secretKey[10:],
	}
	for name, in := range cases {
		out := s.Clean(in)
		low := strings.ToLower(out)
		for _, sec := range []string{token, secretKey} {
			l := strings.ToLower(sec)
			for i := 0; i+window <= len(l); i++ {
				if strings.Contains(low, l[i:i+window]) {
					t.Errorf("%s: %q still holds %q", name, out, sec[i:i+window])
				}
			}
		}
		if !strings.Contains(out, Placeholder) {
			t.Errorf("%s: nothing redacted in %q", name, out)
		}
	}
	if got := s.Clean("abc and ordinary words stay"); got != "abc and ordinary words stay" {
		t.Errorf("ordinary text changed: %q", got)
	}
}

func TestShapesWithoutRegistration(t *testing.T) {
	in := []string{
		"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
		"GHO_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
		"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vcjpyZWYifQ.c2lnbmF0dXJl",
		"EYJHBGCIOIJSUZI1NIJ9.EYJZDWIIOIJYZXBVOM8VCJPYMVMIFQ.C2LNBMF0DXJL",
		"ASIAIOSFODNN7EXAMPLE",
		"IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ",
	}
	for _, tok := range in {
		out := Shapes("error: " + tok + " refused")
		if strings.Contains(out, tok) || !strings.Contains(out, Placeholder) {
			t.Errorf("Shapes kept %q: %q", tok, out)
		}
	}
	for _, keep := range []string{
		"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"AccessDeniedException: not authorized to perform kms:DescribeKey",
		"alias/github_pages",
	} {
		if got := Shapes(keep); got != keep {
			t.Errorf("Shapes(%q) = %q", keep, got)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("ghs_16C7e42F292c6912E7710c838347Ae178B4a", "x GHS_16C7E42F292C6912 y")
	f.Add("short", "ünïcode SHORT short")
	f.Fuzz(func(t *testing.T, secret, text string) {
		var s Set
		s.Add(secret)
		out := s.Clean(text)
		if utf8.ValidString(text) && len(secret) >= minSecret && strings.Contains(text, secret) && strings.Contains(out, secret) {
			t.Fatalf("Clean(%q) kept the secret %q: %q", text, secret, out)
		}
	})
}

// A secret that holds a shorter one is replaced whole, whichever was added
// first, and adding a secret twice changes nothing.
func TestLongerSecretWinsWhateverTheOrder(t *testing.T) {
	short, long := "pw-abc", "prefix:pw-abc:suffix"
	for _, order := range [][]string{{short, long}, {long, short}, {short, long, short, long}} {
		var s Set
		for _, secret := range order {
			s.Add(secret)
		}
		if got := s.Clean("token " + long + " end"); got != "token "+Placeholder+" end" {
			t.Errorf("added %q: Clean gave %q", order, got)
		}
		if got := s.Clean("just " + short); got != "just "+Placeholder {
			t.Errorf("added %q: short secret alone gave %q", order, got)
		}
	}
}
