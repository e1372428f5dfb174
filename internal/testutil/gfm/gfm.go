// Package gfm renders Markdown the way GitHub parses it, with cmark-gfm (the
// engine GitHub's own Markdown is built on: Debian package cmark-gfm) and the
// table, autolink, strikethrough and tagfilter extensions, and checks the
// result for what GitHub adds on top of cmark-gfm: math ($...$, $$...$$) and
// GH-123 references. Tests use it to prove that untrusted text stays inert in
// the pull-request comment, the job summary and the audit issue.
package gfm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Render returns the HTML cmark-gfm makes of md. Without cmark-gfm the test
// fails under CI=true (it must be installed there) and is skipped elsewhere.
func Render(t testing.TB, md string) string {
	t.Helper()
	bin, err := exec.LookPath("cmark-gfm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cmark-gfm is not installed (apt-get install -y cmark-gfm); CI needs it")
		}
		t.Skip("cmark-gfm not installed (apt-get install -y cmark-gfm)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-e", "table", "-e", "autolink", "-e", "strikethrough", "-e", "tagfilter")
	cmd.Stdin = strings.NewReader(md)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("cmark-gfm: %v: %s", err, errb.String())
	}
	return out.String()
}

var (
	codeRE   = regexp.MustCompile(`(?s)<code[^>]*>.*?</code>|<pre[^>]*>.*?</pre>`)
	ghRefRE  = regexp.MustCompile(`(?i)\bGH-[0-9]+`)
	mathRE   = regexp.MustCompile(`\$\$|\$[^\s$][^$]*\$`)
	anyDolla = regexp.MustCompile(`\$`)
)

// OutsideCode is html without its code spans and blocks, where GitHub renders
// neither math nor references.
func OutsideCode(html string) string { return codeRE.ReplaceAllString(html, "") }

// LiveProblems lists what GitHub would turn live in rendered HTML outside
// code: math delimiters and GH-123 references. strict also reports any lone
// '$' (for text made only of untrusted input).
func LiveProblems(html string, strict bool) []string {
	text := OutsideCode(html)
	var found []string
	found = append(found, mathRE.FindAllString(text, 5)...)
	found = append(found, ghRefRE.FindAllString(text, 5)...)
	if strict {
		found = append(found, anyDolla.FindAllString(text, 1)...)
	}
	return found
}
