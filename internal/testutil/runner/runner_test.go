package runner_test

import (
	"reflect"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/runner"
)

func TestParseOutputs(t *testing.T) {
	got, err := runner.ParseOutputs("result<<D1\nfail\nD1\ntotal=3\nmulti<<EOF\na\n\nb=c\nEOF\nempty=\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"result": "fail", "total": "3", "multi": "a\n\nb=c", "empty": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"result<<D\nfail\n", "just a line\n", "a=1\na=2\n"} {
		if _, err := runner.ParseOutputs(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}
