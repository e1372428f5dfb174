package escape

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostileSeeds are the inputs every escaper's fuzz test starts from: the
// workflow commands, Markdown and HTML, mentions, control and bidi
// characters, and invalid UTF-8 that AWS metadata may hold. The corpora under
// testdata/fuzz/ hold more.
var hostileSeeds = []string{
	"",
	"plain text",
	"::add-mask::x",
	"::stop-commands::tok",
	"::set-output name=x::y",
	":::warning::x",
	"::::",
	"##[error]boom",
	"###[error]boom",
	"_GitHubActionsFileCommandDelimeter_",
	"a\r\n::error::b",
	"line\rbreak",
	"%0A%0D%25",
	"<img src=x onerror=alert(1)>",
	"[link](javascript:x)",
	"a | b | c",
	"`code` ```fence```",
	"@org/team and @user",
	"#1 and GH-2",
	"\x1b[31mred\x1b[0m",
	"abc\u202edcba",
	"\u2066isolate\u2069",
	"\xff\xfe invalid \xc3",
	"tab\there",
	strings.Repeat("x", 10000),
}

func addSeeds(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
}

func checkCommon(t *testing.T, name, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s(%q) is not valid UTF-8: %q", name, in, out)
	}
	if strings.ContainsAny(out, "\r\n") {
		t.Fatalf("%s(%q) = %q holds a line break", name, in, out)
	}
}

// unescapeWorkflow reverses GitHub's toolkit escaping (the runner's own
// unescaping: %0D, %0A, %3A, %2C, then %25 last).
func unescapeWorkflow(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}

func FuzzWorkflowData(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		out := WorkflowData(in)
		checkCommon(t, "WorkflowData", in, out)
		if got, want := unescapeWorkflow(out), strings.ToValidUTF8(in, "\uFFFD"); got != want {
			t.Fatalf("WorkflowData(%q) = %q does not round-trip: runner reads %q", in, out, got)
		}
	})
}

func FuzzWorkflowProperty(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		out := WorkflowProperty(in)
		checkCommon(t, "WorkflowProperty", in, out)
		if strings.ContainsAny(out, ":,") {
			t.Fatalf("WorkflowProperty(%q) = %q holds ':' or ','", in, out)
		}
		if got, want := unescapeWorkflow(out), strings.ToValidUTF8(in, "\uFFFD"); got != want {
			t.Fatalf("WorkflowProperty(%q) = %q does not round-trip: runner reads %q", in, out, got)
		}
	})
}

func FuzzLogLine(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		out := LogLine(in)
		checkCommon(t, "LogLine", in, out)
		if strings.Contains(out, "::") {
			t.Fatalf("LogLine(%q) = %q holds '::'", in, out)
		}
		if strings.Contains(out, "##[") {
			t.Fatalf("LogLine(%q) = %q holds '##['", in, out)
		}
		// The runner trims leading whitespace before it looks for "::".
		if strings.HasPrefix(strings.TrimLeftFunc(out, unicode.IsSpace), "::") {
			t.Fatalf("LogLine(%q) = %q starts a workflow command", in, out)
		}
		for _, r := range out {
			if r != '\t' && (unicode.IsControl(r) || isDangerousRune(r)) {
				t.Fatalf("LogLine(%q) = %q holds control or bidi rune %U", in, out, r)
			}
		}
	})
}

// checkMarkdownText asserts what no escaped Markdown text may hold: raw HTML
// openers, table pipes, mentions, issue references, line breaks, control and
// bidi characters.
func checkMarkdownText(t *testing.T, in, out string) {
	t.Helper()
	checkCommon(t, "Markdown", in, out)
	if strings.ContainsAny(out, "<>|") {
		t.Fatalf("Markdown(%q) = %q holds raw '<', '>' or '|'", in, out)
	}
	// "&#124;" is the escaper's own entity for '|', not a reference.
	runes := []rune(strings.ReplaceAll(out, "&#124;", "&124;"))
	for i, r := range runes {
		if (unicode.IsControl(r) && r != '\t') || isDangerousRune(r) {
			t.Fatalf("Markdown(%q) = %q holds control or bidi rune %U", in, out, r)
		}
		if i+1 < len(runes) {
			next := runes[i+1]
			if r == '@' && (unicode.IsLetter(next) || unicode.IsDigit(next)) {
				t.Fatalf("Markdown(%q) = %q holds a mention %q", in, out, string(runes[i:i+2]))
			}
			if r == '#' && unicode.IsDigit(next) {
				t.Fatalf("Markdown(%q) = %q holds a reference %q", in, out, string(runes[i:i+2]))
			}
		}
		// Every Markdown punctuation mark is backslash-escaped, so no link,
		// image, emphasis or code span can form.
		if strings.ContainsRune("`*_[]()!~", r) && (i == 0 || runes[i-1] != '\\') {
			t.Fatalf("Markdown(%q) = %q holds unescaped %q at rune %d", in, out, r, i)
		}
	}
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s, 0)
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max > 1<<16 {
			max = 1 << 16
		}
		out := Markdown(in, max)
		checkMarkdownText(t, in, out)
		if max > 0 {
			// Each input rune becomes at most one escaped unit; count the
			// units by undoing the escapes.
			plain := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&#124;", "|", "\u2060", "", FullwidthDollar, "$").Replace(out)
			plain = strings.TrimSuffix(plain, "…")
			n := 0
			for i := 0; i < len(plain); {
				r, size := utf8.DecodeRuneInString(plain[i:])
				if r == '\\' && i+size < len(plain) {
					_, s2 := utf8.DecodeRuneInString(plain[i+size:])
					size += s2
				}
				i += size
				n++
			}
			if n > max {
				t.Fatalf("Markdown(%q, %d) kept %d runes", in, max, n)
			}
		}
	})
}

func FuzzCode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		out := Code(in)
		checkCommon(t, "Code", in, out)
		if len(out) < 2 || out[0] != '`' || out[len(out)-1] != '`' {
			t.Fatalf("Code(%q) = %q is not one code span", in, out)
		}
		inner := out[1 : len(out)-1]
		if strings.Contains(inner, "`") {
			t.Fatalf("Code(%q) = %q can close its code span early", in, out)
		}
		// GFM splits table cells at every '|' not preceded by a backslash,
		// even inside code spans.
		for i := 0; i < len(inner); i++ {
			if inner[i] == '|' && (i == 0 || inner[i-1] != '\\') {
				t.Fatalf("Code(%q) = %q holds a pipe that splits a table cell", in, out)
			}
		}
		for _, r := range inner {
			if (unicode.IsControl(r) && r != '\t') || isDangerousRune(r) {
				t.Fatalf("Code(%q) = %q holds control or bidi rune %U", in, out, r)
			}
		}
	})
}

func FuzzPlainText(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s, 0)
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max > 1<<16 {
			max = 1 << 16
		}
		out := PlainText(in, max)
		checkCommon(t, "PlainText", in, out)
		for _, r := range out {
			if unicode.IsControl(r) || isDangerousRune(r) {
				t.Fatalf("PlainText(%q) = %q holds control or bidi rune %U", in, out, r)
			}
		}
		if max > 0 && utf8.RuneCountInString(strings.TrimSuffix(out, "…")) > max {
			t.Fatalf("PlainText(%q, %d) = %q is longer than %d runes", in, max, out, max)
		}
	})
}
