package escape

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "alias/orders", 0, "alias/orders"},
		{"newlines", "a\nb\r\nc\td", 0, "a b  c d"},
		{"bidi", "abc\u202edef", 0, "abc\uFFFDdef"},
		{"control", "a\x00b\x1bc", 0, "a\uFFFDb\uFFFDc"},
		{"invalid utf8", "a\xffb", 0, "a\uFFFDb"},
		{"markup kept", "<img src=x> @org/team |", 0, "<img src=x> @org/team |"},
		{"truncated", "abcdef", 3, "abc…"},
		{"not truncated at limit", "abc", 3, "abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := PlainText(tc.in, tc.max); got != tc.want {
				t.Errorf("PlainText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestSARIFMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "KMS key alias/orders", 0, "KMS key alias/orders"},
		{"embedded link", "see [here](1)", 0, `see \[here\](1)`},
		{"backslash", `a\b`, 0, `a\\b`},
		{"newline", "a\n[b]", 0, `a \[b\]`},
		{"truncated before escaping", "[[[[", 2, `\[\[…`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := SARIFMessage(tc.in, tc.max); got != tc.want {
				t.Errorf("SARIFMessage(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

// unescapeSARIF reverses the backslash escapes of SARIFMessage and reports
// whether the text held an unescaped '[' or ']' (which could form a link).
func unescapeSARIF(s string) (string, bool) {
	var b strings.Builder
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			b.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == '[' || r == ']':
			return "", false
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), !escaped
}

func FuzzSARIFMessage(f *testing.F) {
	for _, s := range []string{"", "alias/orders", "[x](1)", `\[`, "a\nb", "\u202e", "::add-mask::x", "\xff\xfe", strings.Repeat("é", 40)} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 1<<16 || max < -1 {
			max = 0
		}
		plain := PlainText(s, max)
		if !utf8.ValidString(plain) {
			t.Fatalf("PlainText output is not valid UTF-8: %q", plain)
		}
		for _, r := range plain {
			if isDangerousRune(r) || r == '\n' || r == '\r' || r == '\t' {
				t.Fatalf("PlainText(%q) kept %U", s, r)
			}
		}
		if max > 0 && utf8.RuneCountInString(plain) > max+1 {
			t.Fatalf("PlainText(%q, %d) has %d runes", s, max, utf8.RuneCountInString(plain))
		}
		msg := SARIFMessage(s, max)
		back, ok := unescapeSARIF(msg)
		if !ok {
			t.Fatalf("SARIFMessage(%q) = %q leaves a bracket or trailing backslash unescaped", s, msg)
		}
		if back != plain {
			t.Fatalf("SARIFMessage(%q) does not round-trip: %q != %q", s, back, plain)
		}
	})
}
