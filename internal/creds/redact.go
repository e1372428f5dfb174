package creds

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
)

// maxMessageRunes bounds a ScanError message or error text built here.
const maxMessageRunes = 600

// jwtPattern finds JWT-shaped strings (header.claims.signature, base64url of
// JSON objects), so a token is never echoed even if it was not registered.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+`)

// redactor removes known secrets from text that will be reported.
type redactor struct {
	mu      sync.Mutex
	secrets []string
}

func (r *redactor) add(s string) {
	if len(s) < 4 { // too short to be a secret; replacing it would garble text
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.secrets {
		if v == s {
			return
		}
	}
	r.secrets = append(r.secrets, s)
	// Longest first, so a secret containing another is removed whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// clean returns s on one line, without control characters or known secrets,
// at most maxMessageRunes long.
func (r *redactor) clean(s string) string {
	r.mu.Lock()
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	r.mu.Unlock()
	s = jwtPattern.ReplaceAllString(s, "***")
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if rs := []rune(s); len(rs) > maxMessageRunes {
		s = string(rs[:maxMessageRunes]) + "…"
	}
	return s
}

// describeErr renders an error as its AWS error code and message when it has
// them, which is what a user can act on, else as the error text. It is the
// whole text (awserr.Text), not awserr.Describe's capped one: clean masks
// secrets first, which a cut could split, and then escapes and caps.
func describeErr(err error) string {
	return awserr.Text(err)
}
