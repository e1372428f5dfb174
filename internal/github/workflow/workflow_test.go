package workflow_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/workflow"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/runner"
)

func parseOutputFile(t *testing.T, data string) map[string]string {
	t.Helper()
	out, err := runner.ParseOutputs(data)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteOutputsRoundTrips(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		value string
	}{
		{"plain", "fail"},
		{"empty", ""},
		{"multi-line", "line one\nline two\n\nline four"},
		{"trailing newline", "value\n"},
		{"CRLF", "a\r\nb"},
		{"fake heredoc", "x\nEOF\nresult<<EOF\npass\nEOF"},
		{"delimiter look-alike", "ghadelimiter_000000000000000000000000\nresult=pass\nghadelimiter_000000000000000000000000"},
		{"equals and markers", "total=0\n::set-output name=result::pass"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "output")
			if err := os.WriteFile(path, []byte("earlier=kept\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := workflow.WriteOutputs(path, []workflow.Output{{Name: "result", Value: "fail"}, {Name: "hostile", Value: c.value}, {Name: "total", Value: "3"}})
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := parseOutputFile(t, string(data))
			want := map[string]string{"earlier": "kept", "result": "fail", "hostile": c.value, "total": "3"}
			if len(got) != len(want) {
				t.Errorf("outputs = %q, want %q", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("output %s = %q, want %q\nfile:\n%s", k, got[k], v, data)
				}
			}
		})
	}
}

func TestWriteOutputsUsesAFreshDelimiterEachTime(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "output")
	if err := workflow.WriteOutputs(path, []workflow.Output{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	seen := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if _, delim, ok := strings.Cut(line, "<<"); ok {
			if seen[delim] || !strings.HasPrefix(delim, "ghadelimiter_") || len(delim) < len("ghadelimiter_")+24 {
				t.Errorf("delimiter %q is reused or guessable", delim)
			}
			seen[delim] = true
		}
	}
	if len(seen) != 2 {
		t.Errorf("%d blocks, want 2:\n%s", len(seen), data)
	}
}

func TestWriteErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-such-dir", "file")
	if err := workflow.WriteOutputs(missing, []workflow.Output{{Name: "result", Value: "pass"}}); err == nil || !strings.Contains(err.Error(), "write outputs") || !strings.Contains(err.Error(), missing) {
		t.Errorf("WriteOutputs error = %v", err)
	}
	if err := workflow.AppendSummary(missing, "# x"); err == nil || !strings.Contains(err.Error(), "write job summary") || !strings.Contains(err.Error(), missing) {
		t.Errorf("AppendSummary error = %v", err)
	}
}

func TestAppendSummaryKeepsEarlierSteps(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte("# an earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, md := range []string{"## first", "## second"} {
		if err := workflow.AppendSummary(path, md); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	if string(data) != "# an earlier step\n## first\n## second\n" {
		t.Errorf("summary = %q", data)
	}
}

func TestWorkspace(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := workflow.Workspace(env(map[string]string{"GITHUB_WORKSPACE": "/github/workspace"})); got != "/github/workspace" {
		t.Errorf("in Actions: %q", got)
	}
	if got := workflow.Workspace(env(nil)); got != "." {
		t.Errorf("outside Actions: %q, want the working directory", got)
	}
}
