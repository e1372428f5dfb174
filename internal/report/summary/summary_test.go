package summary_test

import (
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/summary"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

func TestSummaryGolden(t *testing.T) {
	got := summary.Render(testfixture.Result(), summary.Options{ToolVersion: "v1.0.0", RunURL: "https://github.com/o/r/actions/runs/1"})
	golden.Check(t, "summary.md", []byte(got))
	// Order: soonest deletion first, dateless last.
	table := got[strings.Index(got, "### Keys"):]
	iOrders, iHigh, iMedium := strings.Index(table, "1234abcd-12ab"), strings.Index(table, "mrk-5e6f0a1b2c3d4e5f60718293a4b5c6d7"), strings.Index(table, "9a8b7c6d")
	if iOrders >= iHigh || iHigh >= iMedium || iOrders < 0 {
		t.Error("findings are not sorted soonest first")
	}
	for _, want := range []string{
		"## ❌ kms-deletion-gate: fail",
		"aws kms cancel-key-deletion --key-id mrk-5e6f0a1b2c3d4e5f60718293a4b5c6d7 --region us-east-1",
		"```mermaid",
		"AccessDeniedException",
		"Decrypt 12 days ago",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	// Allowlisted keys get no cancel command.
	if strings.Contains(got, "--key-id 9a8b7c6d-0000-4000-8000-000000000001") {
		t.Error("allowlisted key has a cancel command")
	}
}

func TestSummaryAllClear(t *testing.T) {
	res := finding.Result{ScanTime: testfixture.ScanTime, Passed: true, FailOn: finding.SeverityMedium,
		Scanned: []finding.Target{{Account: "111122223333", Region: "us-east-1"}}}
	got := summary.Render(res, summary.Options{})
	if !strings.Contains(got, "## ✅ kms-deletion-gate: pass") || !strings.Contains(got, "No customer managed key is pending deletion") {
		t.Errorf("all-clear summary = %s", got)
	}
}

func TestSummaryEscapesHostileMetadata(t *testing.T) {
	got := summary.Render(testfixture.Hostile(), summary.Options{})
	golden.Check(t, "summary-hostile.md", []byte(got))
	for _, raw := range []string{"<img", "@org/team", "::add-mask::", "##[error]", "\x1b", "\u202e", "\xff", "[l](javascript"} {
		if strings.Contains(got, raw) {
			t.Errorf("summary contains raw %q", raw)
		}
	}
	for i, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "|") && !strings.HasSuffix(line, "|") {
			t.Errorf("line %d: a table row was broken: %q", i+1, line)
		}
	}
}

func TestSummaryBoundedSize(t *testing.T) {
	res := testfixture.Hostile()
	base := res.Findings[1]
	for i := 0; i < 3000; i++ {
		res.Findings = append(res.Findings, base)
	}
	got := summary.Render(res, summary.Options{MaxBytes: 200_000})
	if len(got) > 200_000 {
		t.Fatalf("summary is %d bytes, over the 200000 asked", len(got))
	}
	if !strings.Contains(got, "more finding(s) not shown") {
		t.Error("a cut summary must say how many findings it left out")
	}
}
