package plan

import (
	"bytes"
	"fmt"
	"testing"
)

// bigPlan is a plan of n resource changes, one in 100 a key deletion, each
// with a few KiB of prior values, like a large estate's plan.
func bigPlan(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"format_version":"1.2","terraform_version":"1.7.5","resource_changes":[`)
	pad := bytes.Repeat([]byte("x"), 2048)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		typ, actions := "aws_s3_object", `["update"]`
		if i%100 == 0 {
			typ, actions = "aws_kms_key", `["delete"]`
		}
		fmt.Fprintf(&b, `{"address":"%s.r%d","mode":"managed","type":"%s","name":"r%d","change":{"actions":%s,"before":{"arn":"arn:aws:kms:us-east-1:111122223333:key/%08d-0000-4000-8000-000000000000","key_id":"%08d-0000-4000-8000-000000000000","id":"x","body":"%s"},"after":{"body":"%s"},"before_sensitive":{}}}`,
			typ, i, typ, i, actions, i, i, pad, pad)
	}
	b.WriteString(`],"prior_state":{"values":{"root_module":{}}}}`)
	return b.Bytes()
}

// BenchmarkReadTerraform reads a 40 MiB plan of 10,000 changes.
func BenchmarkReadTerraform(b *testing.B) {
	data := bigPlan(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := ReadTerraform(bytes.NewReader(data), "big.json", 0)
		if err != nil || len(p.Deletions) != 100 {
			b.Fatalf("%d deletions, %v", len(p.Deletions), err)
		}
	}
}
