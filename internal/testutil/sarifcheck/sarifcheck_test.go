package sarifcheck_test

import (
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/sarifcheck"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	valid := `{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[{"tool":{"driver":{"name":"kms-deletion-gate"}},"results":[]}]}`
	if err := sarifcheck.Check([]byte(valid)); err != nil {
		t.Errorf("valid log rejected: %v", err)
	}
	for name, doc := range map[string]string{
		"not JSON":      `{"version":`,
		"wrong version": strings.Replace(valid, "2.1.0", "2.0.0", 1),
		"no tool":       `{"version":"2.1.0","runs":[{"results":[]}]}`,
		"bad level":     `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"level":"fatal","message":{"text":"m"}}]}]}`,
	} {
		if err := sarifcheck.Check([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
