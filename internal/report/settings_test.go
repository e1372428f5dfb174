package report_test

import (
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/comment"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/summary"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/gfm"
)

func TestSettingChangeLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change finding.SettingChange
		want   []string
	}{
		{"held", finding.SettingChange{Setting: "fail-on", File: ".github/kms-deletion-gate.yml", Base: "medium", Head: "none"},
			[]string{"changes `fail-on` from `medium` to `none` in `.github/kms-deletion-gate.yml`", "it applies once merged", "the base branch's `medium` applies"}},
		{"tightened", finding.SettingChange{Setting: "critical-days", File: "gate.yml", Base: "3", Head: "7", Applied: true},
			[]string{"changes `critical-days` from `3` to `7` in `gate.yml`", "stricter, it applies now"}},
		{"base unread", finding.SettingChange{Setting: "remediate", File: "gate.yml", Base: "plan", Head: "cancel", BaseUnread: true},
			[]string{"sets `remediate` to `cancel` in `gate.yml`", "`plan` applies instead", "could not be read"}},
		{"empty value", finding.SettingChange{Setting: "accounts", File: "gate.yml", Base: "", Head: "111122223333"},
			[]string{"from (empty) to `111122223333`"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			line := report.SettingChangeLine(tc.change)
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("%q lacks %q", line, w)
				}
			}
		})
	}
}

// TestHostileSettingChangesRenderInert: config-file values are untrusted
// (a pull request writes them): in the comment and the job summary they
// stay inside one code span each, on one line, cut short.
func TestHostileSettingChangesRenderInert(t *testing.T) {
	res := testfixture.Result()
	long := strings.Repeat("x", 10000)
	res.SettingChanges = []finding.SettingChange{
		{Setting: "regions", File: ".github/" + hostileMath + ".yml", Base: testfixture.HostileText, Head: hostileMath},
		{Setting: "role-name", File: "gate.yml", Base: "a`b", Head: long, Applied: true},
	}
	for name, md := range map[string]string{
		"summary": summary.Render(res, summary.Options{}),
		"comment": comment.Render(res, comment.Options{Now: testfixture.ScanTime}),
	} {
		var lines []string
		for _, l := range strings.Split(md, "\n") {
			if strings.HasPrefix(l, "- This pull request changes") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 2 || !strings.Contains(lines[0], "APPROVED") || !strings.HasSuffix(lines[0], "applies).") ||
			!strings.HasSuffix(lines[1], "it applies now.") || strings.Contains(lines[1], long) {
			t.Fatalf("%s: setting change lines %q", name, lines)
		}
		html := gfm.Render(t, md)
		if p := gfm.LiveProblems(html, false); len(p) > 0 {
			t.Errorf("%s renders live math or references from a config value: %q", name, p)
		}
		if strings.Contains(html, "<img") || strings.Contains(gfm.OutsideCode(html), "onerror") {
			t.Errorf("%s lets HTML of a config value through", name)
		}
	}
}
