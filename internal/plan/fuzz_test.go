package plan

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzRead feeds arbitrary documents to both decoders: they never panic, and
// an error never quotes a byte run of the input longer than the file name.
func FuzzRead(f *testing.F) {
	for _, p := range []string{tfPlanPath, changeSetPath} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"mode":"managed","type":"aws_kms_key","change":{"actions":["delete"],"before":{"arn":"zzzzzzzzzzzz"}}}]}`))
	f.Add([]byte(`{"Changes":[{"Type":"Resource","ResourceChange":{"Action":"Remove","ResourceType":"AWS::KMS::Key","LogicalResourceId":"K","PhysicalResourceId":"zzzzzzzzzzzz"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		const marker = "zzzzzzzzzzzz"
		for _, read := range []func() error{
			func() error { _, err := ReadTerraform(bytes.NewReader(data), "in.json", 1<<20); return err },
			func() error { _, err := ReadChangeSet(bytes.NewReader(data), "in.json", 1<<20); return err },
		} {
			if err := read(); err != nil && bytes.Contains(data, []byte(marker)) && strings.Contains(err.Error(), marker) {
				t.Errorf("error quotes the input: %v", err)
			}
		}
		p, err := ReadTerraform(bytes.NewReader(data), "in.json", 1<<20)
		if err == nil {
			for _, d := range p.Deletions {
				if d.KeyID != "" && !keyIDPattern.MatchString(d.KeyID) {
					t.Errorf("key id %q kept though it is not a key id", d.KeyID)
				}
			}
		}
	})
}
