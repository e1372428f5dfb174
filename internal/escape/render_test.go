package escape

import (
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/gfm"
)

// TestMarkdownRendersInert renders escaped hostile text with cmark-gfm, as
// GitHub does, inside a table cell and a paragraph: no math, no GH-123
// reference, no HTML, no mention survives outside code.
func TestMarkdownRendersInert(t *testing.T) {
	hostile := append([]string{
		`$$\huge\text{APPROVED}$$ $\color{red}{ALERT}$`,
		`\$\$x\$\$`,
		`&#36;&#36;x&#36;&#36;`,
		"GH-42 gh-7 Gh-1 xGH-3",
		"$x$",
		"$ 5 and $6",
		"@octocat #12",
		"<b>bold</b>",
	}, hostileSeeds...)
	for _, in := range hostile {
		esc := Markdown(in, 0)
		md := "| k |\n|---|\n| " + esc + " |\n\n" + esc + "\n"
		html := gfm.Render(t, md)
		if p := gfm.LiveProblems(html, true); len(p) > 0 {
			t.Errorf("Markdown(%q) renders live %q:\n%s", in, p, html)
		}
		for _, bad := range []string{"<b>", "<img", "<script"} {
			if strings.Contains(gfm.OutsideCode(html), bad) {
				t.Errorf("Markdown(%q) renders raw HTML %s", in, bad)
			}
		}
		if strings.Contains(in, "@octocat") && strings.Contains(html, "@octocat") {
			t.Errorf("Markdown(%q) leaves a live mention: %s", in, html)
		}
	}
}

// TestMarkdownKeepsDollarReadable: the stand-in reads as a dollar sign.
func TestMarkdownKeepsDollarReadable(t *testing.T) {
	if got := Markdown("costs $5", 0); got != "costs "+FullwidthDollar+"5" {
		t.Fatalf("Markdown = %q", got)
	}
	if got := Markdown("GH-42", 0); got != "GH\u2060\\-42" {
		t.Fatalf("Markdown(GH-42) = %q", got)
	}
}
