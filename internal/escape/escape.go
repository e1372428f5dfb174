// Package escape owns every escaping of untrusted text (strings that came from
// AWS or from a user's config) for the sinks it reaches: GitHub workflow
// commands, Markdown (job summary, PR comment), and plain log lines.
package escape

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// WorkflowData escapes the message part of a workflow command (after "::"),
// the way GitHub's toolkit does: '%' first, then CR and LF.
func WorkflowData(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	s = strings.ReplaceAll(s, "\n", "%0A")
	return s
}

// WorkflowProperty escapes a property value of a workflow command (file=,
// title=): as WorkflowData, plus ':' and ','.
func WorkflowProperty(s string) string {
	s = WorkflowData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	s = strings.ReplaceAll(s, ",", "%2C")
	return s
}

// LogLine makes untrusted text safe to print as (part of) one plain log line:
// the runner parses any line starting with "::" or "##[" as a command, so the
// text is kept on one line, control and bidi characters are replaced, and a
// leading command marker can never form. Callers still must not start a line
// with untrusted text; this is the second fence.
func LogLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteString(" ")
		case isDangerousRune(r):
			b.WriteString("\uFFFD")
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	// Break up sequences the runner recognises, wherever they are: a
	// zero-width joiner is not enough for every viewer, so use a visible change.
	// ReplaceAll does not rescan its output, so ":::" would become ":\u200b::":
	// repeat until no marker is left (two passes at most).
	for strings.Contains(out, "::") {
		out = strings.ReplaceAll(out, "::", ":\u200b:")
	}
	for strings.Contains(out, "##[") {
		out = strings.ReplaceAll(out, "##[", "#\u200b#[")
	}
	return out
}

// isDangerousRune reports control characters and bidirectional overrides
// that can reorder or hide text (Trojan Source).
func isDangerousRune(r rune) bool {
	if r == '\t' {
		return false
	}
	if unicode.IsControl(r) {
		return true
	}
	switch r {
	case '\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e',
		'\u2066', '\u2067', '\u2068', '\u2069', '\ufeff', '\u2028', '\u2029':
		return true
	}
	return false
}

// Markdown escapes untrusted text for inline use in GitHub-flavoured Markdown,
// including inside a table cell: HTML is neutralised, Markdown punctuation is
// backslash-escaped, '@' mentions, '#123' and 'GH-123' references cannot link
// (a word joiner after the sigil), '$' becomes the fullwidth dollar sign so no
// math ($...$, $$...$$) can render (GitHub parses math after backslash escapes
// are gone, and an entity such as &#36; is decoded back to '$' too), pipes
// cannot split a cell, and newlines become spaces. The result is at most
// maxRunes runes of the input (plus escapes) followed by an ellipsis when
// truncated; maxRunes <= 0 means no limit.
func Markdown(s string, maxRunes int) string {
	s, truncated := clip(s, maxRunes)
	var b strings.Builder
	b.Grow(len(s) + 16)
	var prev1, prev2 rune // the two runes before r, for GH-123
	for _, r := range s {
		if r == '-' && (prev1 == 'h' || prev1 == 'H') && (prev2 == 'g' || prev2 == 'G') {
			b.WriteString("\u2060")
		}
		prev2, prev1 = prev1, r
		switch {
		case r == '$':
			b.WriteString(FullwidthDollar)
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		case isDangerousRune(r):
			b.WriteString("\uFFFD")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '|':
			b.WriteString("&#124;")
		case r == '@' || r == '#':
			b.WriteRune(r)
			b.WriteString("\u2060") // word joiner: breaks mention and reference autolinks
		case strings.ContainsRune("\\`*_{}[]()!~+-.=:", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	if truncated {
		b.WriteString("…")
	}
	return b.String()
}

// FullwidthDollar (U+FF04) stands in for '$' in untrusted Markdown text: it
// reads as a dollar sign and never opens or closes GitHub's math.
const FullwidthDollar = "\uFF04"

// Code renders untrusted text as inline code: the text cannot close the code
// span, and what would break the line or the table is replaced. Use it for
// identifiers (ARNs, key ids, aliases) that readers copy.
func Code(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		case isDangerousRune(r):
			b.WriteString("\uFFFD")
		case r == '`':
			b.WriteString("'")
		case r == '|':
			b.WriteString("\\|") // GFM tables honour \| even inside code spans
		default:
			b.WriteRune(r)
		}
	}
	return "`" + b.String() + "`"
}

// PlainText makes untrusted text safe to store in a structured field that no
// viewer parses as markup (SARIF properties, JSON reports): invalid UTF-8,
// control characters and bidi overrides become U+FFFD, newlines and tabs
// become spaces, and the text is cut to maxRunes runes followed by an
// ellipsis when longer (maxRunes <= 0 means no limit).
func PlainText(s string, maxRunes int) string {
	s, truncated := clip(s, maxRunes)
	var b strings.Builder
	b.Grow(len(s) + 3)
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case isDangerousRune(r):
			b.WriteString("\uFFFD")
		default:
			b.WriteRune(r)
		}
	}
	if truncated {
		b.WriteString("…")
	}
	return b.String()
}

// SARIFMessage escapes untrusted text for a SARIF message's "text" property.
// Viewers such as GitHub code scanning turn "[text](id)" in a message into a
// link to a related location, and SARIF 2.1.0 (§3.11.6) says a literal '[',
// ']' or '\' is written with a preceding backslash; so those are escaped after
// PlainText has removed what could hide or reorder text.
func SARIFMessage(s string, maxRunes int) string {
	s = PlainText(s, maxRunes)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if r == '\\' || r == '[' || r == ']' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Identifier renders an AWS identifier (key id, ARN, alias, account, region)
// for Markdown: as inline code when it has the syntax AWS allows for such
// names, else (a hostile or broken endpoint) as escaped text, so that nothing
// outside that syntax ever reaches the page raw, not even inside a code span.
func Identifier(s string) string {
	if s != "" && len(s) <= 2048 && identifierSyntax(s) {
		return "`" + s + "`"
	}
	return Markdown(s, 256)
}

func identifierSyntax(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":/_.-", r)) {
			return false
		}
	}
	return true
}

// clip makes s valid UTF-8 and cuts it to maxRunes runes (no limit when
// maxRunes <= 0), reporting whether it cut.
func clip(s string, maxRunes int) (string, bool) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if maxRunes > 0 && utf8.RuneCountInString(s) > maxRunes {
		return string([]rune(s)[:maxRunes]), true
	}
	return s, false
}
