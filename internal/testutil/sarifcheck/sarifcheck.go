// Package sarifcheck validates SARIF logs in tests against the official OASIS
// SARIF 2.1.0 JSON schema (testdata/sarif-schema-2.1.0.json, embedded; its
// source and license are in testdata/README.md), the schema GitHub code
// scanning validates uploads against.
package sarifcheck

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed testdata/sarif-schema-2.1.0.json
var schemaJSON []byte

// schemaURI is the schema's own id.
const schemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaURI, doc); err != nil {
		return nil, err
	}
	return c.Compile(schemaURI)
})

// Check returns why b is not a SARIF 2.1.0 log valid against the schema, or
// nil.
func Check(b []byte) error {
	schema, err := compiled()
	if err != nil {
		return fmt.Errorf("load the SARIF schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("SARIF is not JSON: %w", err)
	}
	if err := schema.Validate(inst); err != nil {
		return fmt.Errorf("SARIF does not validate against the 2.1.0 schema: %w", err)
	}
	return nil
}

// Validate fails the test unless b is a valid SARIF 2.1.0 log.
func Validate(t testing.TB, b []byte) {
	t.Helper()
	if err := Check(b); err != nil {
		t.Fatal(err)
	}
}
