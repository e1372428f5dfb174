package console_test

import (
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
)

const hostile = "x\n::add-mask::y\r##[error]z \u202e%0A ::stop-commands::t"

func TestActionsCommandsAreEscaped(t *testing.T) {
	var b strings.Builder
	c := console.New(&b, true)
	c.Infof("key %s", hostile)
	c.Warningf("could not scan %s", hostile)
	c.Errorf("bad %s", hostile)
	end := c.Group("Scanning " + hostile)
	end()
	c.Mask("s3cr3t\nline2")
	c.Raw("table\n" + hostile)

	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	allowed := []string{"::warning::", "::error::", "::group::", "::endgroup::", "::add-mask::"}
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "##[") {
			t.Errorf("line starts a ##[ command: %q", l)
		}
		if !strings.HasPrefix(strings.TrimSpace(l), "::") {
			continue
		}
		ok := false
		for _, p := range allowed {
			if strings.HasPrefix(l, p) {
				ok = true
				if strings.Contains(l[len(p):], "::") || strings.ContainsAny(l, "\r\u202e") {
					t.Errorf("hostile text survives after the command: %q", l)
				}
			}
		}
		if !ok {
			t.Errorf("unexpected command line: %q", l)
		}
	}
	for _, want := range []string{"::add-mask::s3cr3t", "::add-mask::line2", "::endgroup::"} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "%0A ::") {
		t.Error("a literal %0A in untrusted text must be escaped as %250A in command data")
	}
}

func TestPlainOutsideActions(t *testing.T) {
	var b strings.Builder
	c := console.New(&b, false)
	c.Warningf("w %s", "::add-mask::x")
	c.Mask("secret")
	out := b.String()
	if !strings.HasPrefix(out, "warning: w ") || strings.Contains(out, "::add-mask::") || strings.Contains(out, "secret") {
		t.Errorf("output = %q", out)
	}
}

func TestProcessStreams(t *testing.T) {
	t.Parallel()
	use := func(c *console.Console) {
		end := c.Group("Scanning")
		c.Infof("info %s", "i")
		c.Warningf("warn %s", "w")
		c.Mask("s3cr3t")
		end()
		c.Raw("TABLE\nrow")
		c.Errorf("err %s", "e")
	}

	t.Run("outside Actions the result alone goes to stdout", func(t *testing.T) {
		var stdout, stderr strings.Builder
		use(console.NewProcess(&stdout, &stderr, false))
		if stdout.String() != "TABLE\nrow\n" {
			t.Errorf("stdout = %q, want the table alone", stdout.String())
		}
		if stderr.String() != "== Scanning\ninfo i\nwarning: warn w\nerror: err e\n" {
			t.Errorf("stderr = %q", stderr.String())
		}
	})

	t.Run("inside Actions everything goes to stdout in order", func(t *testing.T) {
		var stdout, stderr strings.Builder
		use(console.NewProcess(&stdout, &stderr, true))
		want := "::group::Scanning\ninfo i\n::warning::warn w\n::add-mask::s3cr3t\n::endgroup::\nTABLE\nrow\n::error::err e\n"
		if stdout.String() != want || stderr.Len() != 0 {
			t.Errorf("stdout = %q, stderr = %q; want stdout %q and nothing on stderr", stdout.String(), stderr.String(), want)
		}
	})
}
