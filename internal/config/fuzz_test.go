package config

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// leafErrors flattens joined errors.
func leafErrors(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range u.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

var fuzzSeeds = []string{
	"",
	"fail-on: high\nregions: [us-east-1, eu-west-1]\n",
	"allow:\n  - key: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n    reason: retired\n    expires: 2026-12-31\n",
	"allow:\n  - alias: alias/tmp-*\n    account: \"111122223333\"\n    region: eu-west-1\n    reason: scratch\n    expires: 2027-01-15\n",
	"allow:\n  - key: x\n    reason: r\n",
	"allow:\n  - key: \"[\"\n    reason: r\n    expires: 2026-02-30\n",
	"a: &a [1,2]\nb: *a\n",
	"- just\n- a list\n",
	"critical-days: 9\nhigh-days: 3\n",
	"timeout: 0s\nmax-concurrency: -1\n",
	"unknown: 1\nallow: {}\n",
	"allow:\n- {key: k, reason: r, expires: 2026-01-01, expires: 2026-01-02}\n",
	"regions: us-east-3\n",
	"\t- bad: yaml\n",
	"--- \nfail-on: none\n---\nfail-on: critical\n",
}

// FuzzParseFile feeds arbitrary bytes to the config file parser: it must
// never panic, every error must be an *Error naming the file, and what it
// accepts must be complete (every allowlist entry has a selector, a reason
// and an expiry; every setting is one the file may hold).
func FuzzParseFile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	inFile := map[string]bool{}
	for _, in := range Inputs {
		inFile[in.Name] = in.InFile
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxConfigBytes {
			return // Load refuses these before parsing
		}
		got, err := parseFile("cfg.yml", data)
		if err != nil {
			for _, e := range leafErrors(err) {
				var ce *Error
				if !errors.As(e, &ce) {
					t.Fatalf("error %T %q is not a *config.Error", e, e)
				}
				if ce.Source != "cfg.yml" || ce.Line < 0 || ce.Msg == "" {
					t.Fatalf("error %+v does not name the file", ce)
				}
				if !strings.HasPrefix(ce.Error(), "cfg.yml") {
					t.Fatalf("message %q does not start with the file", ce.Error())
				}
			}
			return
		}
		for name, v := range got.settings {
			if !inFile[name] {
				t.Fatalf("accepted setting %q that the file may not hold", name)
			}
			if v.source != "cfg.yml" || v.line <= 0 || v.field != name {
				t.Fatalf("setting %q lost its place: %+v", name, v)
			}
		}
		for i, e := range got.allow {
			if e.Key == "" && e.Alias == "" {
				t.Fatalf("allow[%d] accepted without key or alias: %+v", i, e)
			}
			if strings.TrimSpace(e.Reason) == "" {
				t.Fatalf("allow[%d] accepted without a reason: %+v", i, e)
			}
			if e.Expires.IsZero() {
				t.Fatalf("allow[%d] accepted without an expiry: %+v", i, e)
			}
			if e.Alias != "" && !strings.HasPrefix(e.Alias, "alias/") {
				t.Fatalf("allow[%d] accepted alias %q", i, e.Alias)
			}
		}
	})
}

// FuzzLoad runs the whole of Load over an arbitrary config file: either the
// run is refused with *Error values, or every setting is in range.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		env := Env{
			Getenv: func(string) string { return "" },
			ReadFile: func(p string) ([]byte, error) {
				if p != "cfg.yml" {
					return nil, fs.ErrNotExist
				}
				return data, nil
			},
			Now: now,
		}
		s, err := Load([]string{"--config", "cfg.yml"}, env, io.Discard)
		if err != nil {
			for _, e := range leafErrors(err) {
				var ce *Error
				if !errors.As(e, &ce) || ce.Source == "" || ce.Msg == "" {
					t.Fatalf("error %T %q does not say where", e, e)
				}
			}
			return
		}
		if s.HighDays < s.CriticalDays || s.CriticalDays < 0 {
			t.Fatalf("thresholds accepted out of order: critical %d high %d", s.CriticalDays, s.HighDays)
		}
		if s.Timeout <= 0 || s.Timeout > 6*time.Hour {
			t.Fatalf("timeout %s accepted", s.Timeout)
		}
		if s.MaxConcurrency < 1 {
			t.Fatalf("max-concurrency %d accepted", s.MaxConcurrency)
		}
		if s.Regions != nil && len(s.Regions) == 0 {
			t.Fatalf("an empty region list was accepted")
		}
		for _, r := range s.Regions {
			if err := ValidateRegion(r); err != nil {
				t.Fatalf("region %q accepted: %v", r, err)
			}
		}
		switch s.OnScanError {
		case "fail", "warn":
		default:
			t.Fatalf("on-scan-error %q accepted", s.OnScanError)
		}
		switch s.Remediate {
		case "none", "plan", "cancel":
		default:
			t.Fatalf("remediate %q accepted", s.Remediate)
		}
		if strings.ContainsAny(s.Category, "\r\n") {
			t.Fatalf("category %q accepted", s.Category)
		}
	})
}

// TestParseFileRefusesASecondDocument: yaml.Unmarshal reads only the first
// document, so an allowlist after "---" was silently dropped.
func TestParseFileRefusesASecondDocument(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		data    string
		wantErr bool
	}{
		"allowlist in second document": {"fail-on: none\n---\nallow:\n  - key: x\n    reason: r\n    expires: 2026-12-31\n", true},
		"leading document marker":      {"---\nfail-on: high\n", false},
		"trailing document marker":     {"fail-on: high\n---\n", false},
		"document end marker":          {"fail-on: high\n...\n", false},
		"invalid second document":      {"fail-on: high\n---\n[unclosed\n", true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := parseFile("cfg.yml", []byte(tc.data))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var ce *Error
			if err != nil && (!errors.As(err, &ce) || ce.Line == 0) {
				t.Fatalf("err = %#v, want an *Error with a line", err)
			}
		})
	}
}
