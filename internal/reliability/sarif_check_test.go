package reliability

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/sarifcheck"
)

// checkSARIF asserts a SARIF log is valid UTF-8 JSON that validates against
// the schema, and holds no control or bidi characters in its strings.
func checkSARIF(t *testing.T, b []byte) {
	t.Helper()
	if len(b) == 0 {
		t.Errorf("no SARIF file written")
		return
	}
	if !utf8.Valid(b) || !json.Valid(b) {
		t.Errorf("SARIF is not valid UTF-8 JSON")
		return
	}
	if err := sarifcheck.Check(b); err != nil {
		t.Error(err)
	}
	// Code scanning shows "text" as plain text but renders "markdown": the
	// latter must be as safe as the job summary.
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case string:
			for _, r := range x {
				if (r < 0x20 && r != '\n') || r == 0x7f || isBidi(r) {
					t.Errorf("SARIF string %q holds control or bidi rune %U: %q", key, r, clip(x))
					return
				}
			}
			if key == "markdown" {
				checkMarkdown(t, "SARIF markdown", x)
			}
		case map[string]any:
			for k, e := range x {
				walk(k, e)
			}
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err == nil {
		walk("", doc)
	}
}
