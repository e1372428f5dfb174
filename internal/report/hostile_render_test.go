package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/comment"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/summary"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/gfm"
)

// hostileMath is what the second hostile-input review planted: LaTeX that
// GitHub renders as large coloured text, and a GH- reference.
const hostileMath = `$$\huge\text{APPROVED}$$ $\color{red}{ALERT}$ see GH-42`

// hostileResult holds untrusted text in every field a Markdown sink shows,
// and a key id that would break out of a pasted command's quoting.
func hostileResult() finding.Result {
	res := testfixture.Result()
	day := 24 * time.Hour
	res.Findings = append(res.Findings, finding.Finding{
		RuleID: finding.RulePendingDeletion, Account: "111122223333", Region: "us-east-1",
		KeyID:   "1234abcd-12ab-34cd-56ef-1234567890ab`touch /tmp/pwned`;id\n$(id)",
		ARN:     "arn:aws:kms:us-east-1:111122223333:key/x",
		Aliases: []string{"alias/" + hostileMath}, State: finding.StatePendingDeletion,
		Description:  hostileMath,
		Tags:         map[string]string{"owner": hostileMath},
		DeletionDate: testfixture.ScanTime.Add(4 * day), DaysLeft: 4, Severity: finding.SeverityHigh,
	})
	res.Findings[2].AllowReason = hostileMath
	res.Warnings = append(res.Warnings, hostileMath)
	res.Errors = append(res.Errors, finding.ScanError{Account: "111122223333", Region: "eu-west-2", Stage: "describe-key", Message: hostileMath})
	return res
}

func TestHostileMarkdownRendersInert(t *testing.T) {
	res := hostileResult()
	for name, md := range map[string]string{
		"summary": summary.Render(res, summary.Options{RunURL: "https://github.com/o/r/actions/runs/1"}),
		"comment": comment.Render(res, comment.Options{RunURL: "https://github.com/o/r/actions/runs/1", Now: testfixture.ScanTime}),
	} {
		if !strings.Contains(md, "APPROVED") {
			t.Fatalf("%s does not show the hostile text at all; the test proves nothing", name)
		}
		html := gfm.Render(t, md)
		if p := gfm.LiveProblems(html, false); len(p) > 0 {
			t.Errorf("%s renders live math or references from untrusted text: %q", name, p)
		}
		if strings.Contains(gfm.OutsideCode(html), `\huge`) && strings.Contains(gfm.OutsideCode(html), "$") {
			t.Errorf("%s keeps a dollar next to the planted LaTeX", name)
		}
		for _, line := range strings.Split(md, "\n") {
			if strings.Contains(line, "cancel-key-deletion") && (strings.Contains(line, "pwned") || strings.Contains(line, "$(id)")) {
				t.Errorf("%s offers a cancel command built from a hostile key id: %q", name, line)
			}
		}
	}
}
