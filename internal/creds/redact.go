package creds

import (
	"strings"
	"unicode"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/redact"
)

// maxMessageRunes bounds a ScanError message or error text built here.
const maxMessageRunes = 600

// redactor removes known secrets from text that will be reported. It is
// redact.Set (registered secrets in any case or cut short, and token shapes
// such as JWTs even when not registered) plus the one-line, bounded shape
// every message built here has.
type redactor struct{ set redact.Set }

func (r *redactor) add(s string) { r.set.Add(s) }

// clean returns s on one line, without control characters or known secrets,
// at most maxMessageRunes long. Secrets are removed before the cut, which
// could otherwise split one.
func (r *redactor) clean(s string) string {
	s = r.set.Clean(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, s)
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
