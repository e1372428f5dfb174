package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/runner"
)

// TestPullRequestOutputsCountTheChange: on a pull request under fail-scope
// change, keys pending elsewhere in the account are reported in the
// elsewhere output, not in the severity outputs, so that a step reading
// steps.gate.outputs.critical agrees with the verdict; under fail-scope all
// they are counted again.
func TestPullRequestOutputsCountTheChange(t *testing.T) {
	w := newPRWorld(t, "github-actions[bot]", []string{"README.md"})
	for _, tc := range []struct {
		scope         string
		wantElsewhere bool
		wantResult    string
	}{
		{"change", true, "pass"},
		{"all", false, "fail"},
	} {
		out := filepath.Join(t.TempDir(), "github_output")
		if err := os.WriteFile(out, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		r := w.run(t, map[string]string{"INPUT_FAIL-SCOPE": tc.scope, "GITHUB_OUTPUT": out})
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := runner.ParseOutputs(string(data))
		if err != nil {
			t.Fatalf("%s: outputs: %v\n%s", tc.scope, err, data)
		}
		counted := 0
		for _, sev := range []string{"critical", "high", "medium", "low"} {
			counted += atoi(t, got[sev])
		}
		elsewhere := atoi(t, got["elsewhere"])
		if got["result"] != tc.wantResult || r.report.Result != tc.wantResult {
			t.Errorf("%s: result output %q, report %q, want %q", tc.scope, got["result"], r.report.Result, tc.wantResult)
		}
		if r.report.Counts.Elsewhere != elsewhere || r.report.Counts.Critical != atoi(t, got["critical"]) {
			t.Errorf("%s: JSON counts %+v disagree with outputs %v", tc.scope, r.report.Counts, got)
		}
		switch {
		case tc.wantElsewhere && (counted != 0 || elsewhere == 0):
			t.Errorf("change: %d counted, %d elsewhere; want 0 counted and the pending keys elsewhere", counted, elsewhere)
		case !tc.wantElsewhere && (counted == 0 || elsewhere != 0):
			t.Errorf("all: %d counted, %d elsewhere; want the pending keys counted and none elsewhere", counted, elsewhere)
		}
		if total := atoi(t, got["total"]); total != counted+elsewhere+atoi(t, got["allowlisted"]) {
			t.Errorf("%s: total %d != counted %d + elsewhere %d + allowlisted %s", tc.scope, total, counted, elsewhere, got["allowlisted"])
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("output %q is not a number", s)
	}
	return n
}

// TestPullRequestScopeFailsClosed: when the pull request's changed files
// cannot be listed (the files API fails, or there is no token), a key pending
// deletion is not let through as "elsewhere": every finding counts, as under
// fail-scope all, and the run says why.
func TestPullRequestScopeFailsClosed(t *testing.T) {
	w := newPRWorld(t, "github-actions[bot]", []string{"README.md"})
	if r := w.run(t, nil); r.code != app.ExitPass || r.report.FailScope != "change" {
		t.Fatalf("files listed: exit %d, scope %q; want 0 under change", r.code, r.report.FailScope)
	}
	w.gh.Fail(fakegithub.OpListPullFiles, 100, fakegithub.Fault{Status: http.StatusInternalServerError})
	for name, extra := range map[string]map[string]string{
		"files API fails": nil,
		"no token":        {"INPUT_GITHUB-TOKEN": "", "INPUT_COMMENT": "off"},
	} {
		r := w.run(t, extra)
		if r.code != app.ExitFail || r.report.FailScope != "all" {
			t.Errorf("%s: exit %d, scope %q; want 1 under all", name, r.code, r.report.FailScope)
		}
		for _, f := range r.report.Findings {
			if f.Elsewhere {
				t.Errorf("%s: %s reported as elsewhere", name, f.KeyID)
			}
		}
		if !strings.Contains(strings.Join(r.report.Warnings, "\n"), "changed files could not be listed") {
			t.Errorf("%s: no warning says why: %q", name, r.report.Warnings)
		}
	}
}
