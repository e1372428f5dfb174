package summary

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
)

// githubSummaryLimit is GitHub's limit for one step's summary: above it the
// whole summary is dropped.
const githubSummaryLimit = 1 << 20

// TestSummaryStaysUnderGitHubLimit: 10,000 expired allowlist entries, as many
// scan errors and scanned accounts made a 1,070,833-byte summary before; the
// whole summary must stay under the limit and keep its verdict and table.
func TestSummaryStaysUnderGitHubLimit(t *testing.T) {
	res := testfixture.Result()
	for i := 0; i < 10000; i++ {
		res.Warnings = append(res.Warnings, fmt.Sprintf("allowlist entry at .github/kms-deletion-gate.yml:%d expired on 2026-11-01 and no longer applies; it matched alias/some-rather-long-alias-name-%d", i+10, i))
		acct := fmt.Sprintf("%012d", 100000000000+i)
		res.Errors = append(res.Errors, finding.ScanError{Account: acct, Region: "eu-west-1", Stage: "list-keys", Message: strings.Repeat("AccessDeniedException: not authorized ", 10)})
		res.Scanned = append(res.Scanned, finding.Target{Account: acct, Region: "us-east-1"}, finding.Target{Account: acct, Region: "us-west-2"})
	}
	md := Render(res, Options{})
	if len(md) > githubSummaryLimit {
		t.Fatalf("summary is %d bytes, over GitHub's %d", len(md), githubSummaryLimit)
	}
	for _, want := range []string{"kms-deletion-gate: fail", "### Keys", "1234abcd-12ab-34cd-56ef-1234567890ab", "more warning(s)", "more error(s)", "more account(s)"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestCapBytesCutsAtLine(t *testing.T) {
	md := strings.Repeat("0123456789\n", 100)
	got := capBytes(md, 300)
	if len(got) > 300 || !strings.HasSuffix(got, "size limit; the JSON report holds everything._\n") {
		t.Fatalf("capBytes = %d bytes: %q", len(got), got[len(got)-80:])
	}
	if capBytes("short\n", 300) != "short\n" {
		t.Fatal("capBytes changed a short summary")
	}
}
