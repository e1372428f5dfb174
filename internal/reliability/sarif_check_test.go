package reliability

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifSchemaPath is the OASIS SARIF 2.1.0 schema the SARIF package's own
// tests validate against.
const (
	sarifSchemaPath = "../report/sarif/testdata/sarif-schema-2.1.0.json"
	sarifSchemaURI  = "https://json.schemastore.org/sarif-2.1.0.json"
)

var (
	sarifSchemaOnce sync.Once
	sarifSchema     *jsonschema.Schema
	sarifSchemaErr  error
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
	sarifSchemaOnce.Do(func() {
		f, err := os.Open(filepath.FromSlash(sarifSchemaPath))
		if err != nil {
			sarifSchemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			sarifSchemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(sarifSchemaURI, doc); err != nil {
			sarifSchemaErr = err
			return
		}
		sarifSchema, sarifSchemaErr = c.Compile(sarifSchemaURI)
	})
	if sarifSchemaErr != nil {
		t.Fatalf("load SARIF schema: %v", sarifSchemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Errorf("SARIF does not parse: %v", err)
		return
	}
	if err := sarifSchema.Validate(inst); err != nil {
		t.Errorf("SARIF does not validate against the 2.1.0 schema: %v", err)
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
