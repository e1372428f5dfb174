// Package redact removes secrets from text before it is reported: the
// secrets a run registers (the GitHub token, the OIDC token, session
// credentials), found even when an API echoes them upper-cased or cut short,
// and anything shaped like a known token whether registered or not.
package redact

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Placeholder replaces every redacted span.
const Placeholder = "***"

// window is the shortest run of a registered secret that is redacted on its
// own: long enough that ordinary words never match by chance, short enough
// that a token cut to its first dozen characters is still caught.
const window = 12

// minSecret is the shortest string Add accepts: shorter ones would garble
// ordinary text.
const minSecret = 4

// shapes are token formats redacted even when nobody registered them:
// GitHub tokens by their documented prefixes, JWTs (the OIDC token), AWS
// access key ids and STS session tokens. Matched without regard to case,
// since an API may echo a token upper-cased.
var shapes = regexp.MustCompile(`(?i)` + strings.Join([]string{
	`\bgh[pousr]_[a-z0-9]{16,}`,
	`\bgithub_pat_[a-z0-9_]{16,}`,
	`\bv1\.[0-9a-f]{40}\b`,                                       // GitHub App installation token (legacy)
	`eyj[a-z0-9_-]{4,}\.eyj[a-z0-9_-]{4,}\.[a-z0-9_-]*`,          // JWT
	`\b(?:akia|asia)[a-z0-9]{16}\b`,                              // AWS access key id
	`(?:iqojb3jpz2lu|fwogzxivyxdz|fqogzxivyxdz)[a-z0-9/+=]{16,}`, // STS session token
}, "|"))

// Set holds registered secrets. The zero value is ready; it is safe for
// concurrent use.
type Set struct {
	mu      sync.RWMutex
	exact   []string            // lower-cased, longest first
	known   map[string]struct{} // the members of exact
	windows map[string]struct{} // every window-long run of every long secret, lower-cased
}

// Add registers a secret. Strings shorter than four bytes are ignored.
func (s *Set) Add(secret string) {
	if len(secret) < minSecret {
		return
	}
	low := strings.ToLower(secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.known[low]; dup {
		return
	}
	if s.known == nil {
		s.known = map[string]struct{}{}
	}
	s.known[low] = struct{}{}
	// Insert after every secret at least as long, so exact stays longest
	// first without sorting it again: one Add per assumed role's three
	// credentials made the old sort a few per cent of an organization run.
	i := sort.Search(len(s.exact), func(i int) bool { return len(s.exact[i]) < len(low) })
	s.exact = slices.Insert(s.exact, i, low)
	if len(low) >= window {
		if s.windows == nil {
			s.windows = map[string]struct{}{}
		}
		for i := 0; i+window <= len(low); i++ {
			s.windows[low[i:i+window]] = struct{}{}
		}
	}
}

// Clean returns text with every registered secret (in any case, whole or any
// run of at least 12 of its characters) and every token-shaped string
// replaced by Placeholder.
func (s *Set) Clean(text string) string {
	if s != nil {
		text = s.cleanRegistered(text)
	}
	return Shapes(text)
}

// Shapes redacts token-shaped strings only.
func Shapes(text string) string {
	return shapes.ReplaceAllString(text, Placeholder)
}

func (s *Set) cleanRegistered(text string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.exact) == 0 {
		return text
	}
	low := strings.ToLower(text)
	if len(low) != len(text) {
		// Lower-casing changed byte lengths (some non-ASCII letters):
		// positions would not line up, so fold ASCII only.
		low = asciiLower(text)
	}
	cover := make([]bool, len(text))
	any := false
	for _, v := range s.exact {
		for i := 0; ; {
			j := strings.Index(low[i:], v)
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(v); k++ {
				cover[k] = true
			}
			any = true
			i += j + len(v)
		}
	}
	if len(s.windows) > 0 {
		for i := 0; i+window <= len(low); i++ {
			if _, ok := s.windows[low[i:i+window]]; ok {
				for k := i; k < i+window; k++ {
					cover[k] = true
				}
				any = true
			}
		}
	}
	if !any {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		if !cover[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		for i < len(text) && cover[i] {
			i++
		}
		b.WriteString(Placeholder)
	}
	return b.String()
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
