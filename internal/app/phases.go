package app

import (
	"context"
	"fmt"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/forensics"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/iac"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/policy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/remediate"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/scan"
)

// The phases between the targets and the reports, in the order Run calls
// them. Each adds to res; none writes a report.

func scanTargets(ctx context.Context, s config.Settings, log *console.Console, targets []scan.Target, res *finding.Result) {
	done := log.Group(fmt.Sprintf("Scanning %d account/region target(s)", len(targets)))
	out := scan.Scan(ctx, targets, scan.Options{
		IncludeDisabled: s.IncludeDisabled,
		Concurrency:     s.MaxConcurrency,
	})
	done()
	res.Findings, res.Scanned, res.KeysSeen, res.APICalls = out.Findings, out.Scanned, out.KeysSeen, out.APICalls
	res.Errors = append(res.Errors, out.Errors...)
	res.Warnings = append(res.Warnings, out.Warnings...)
}

// gatherEvidence adds last use and who scheduled the deletion to each finding.
func gatherEvidence(ctx context.Context, s config.Settings, log *console.Console, clients *clientCache, res *finding.Result) {
	if len(res.Findings) == 0 || clients == nil {
		return
	}
	done := log.Group(fmt.Sprintf("Gathering evidence for %d finding(s)", len(res.Findings)))
	res.Warnings = append(res.Warnings, forensics.Enrich(ctx, res.Findings, clients.forensics, forensics.Options{
		ScanTime:      res.ScanTime,
		RecentUseDays: recentUseDays(s.RecentUseDays),
		CloudTrail:    s.CloudTrail,
		Concurrency:   s.MaxConcurrency,
	})...)
	done()
}

// recentUseDays maps the input to forensics' convention, where 0 means its
// default: an input of 0 means "no use counts as recent".
func recentUseDays(days int) int {
	if days == 0 {
		return -1
	}
	return days
}

func applyPolicy(s config.Settings, res *finding.Result) {
	policy.Policy{
		CriticalDays: s.CriticalDays,
		HighDays:     s.HighDays,
		FailOn:       s.FailOn,
		Allow:        s.Allow,
		Now:          res.ScanTime,
	}.Apply(res)
	if len(res.Errors) > 0 && s.OnScanError == config.ScanErrorFail {
		// A gate that skipped a target has not passed.
		res.Passed = false
	}
}

// remediateFindings cancels (or plans to cancel) the deletions the settings
// ask for.
func remediateFindings(ctx context.Context, s config.Settings, log *console.Console, clients *clientCache, res *finding.Result) {
	mode := s.Remediate
	if mode == config.RemediateNone || clients == nil {
		return
	}
	done := log.Group("Remediation: " + string(mode))
	res.Warnings = append(res.Warnings, remediate.Apply(ctx, res.Findings, remediate.Options{
		Mode: mode, Threshold: s.RemediateOn, ReEnable: s.ReEnable,
	}, clients.remediate)...)
	done()
}

// locateInRepository finds the lines of the workspace's infrastructure code
// that reference each finding's key.
func locateInRepository(ctx context.Context, workspace string, res *finding.Result) {
	if len(res.Findings) == 0 {
		return
	}
	stats, err := iac.Locate(ctx, workspace, res.Findings, iac.Options{})
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("searching the repository for references to the keys: %v", err))
	}
	if w := stats.Warning(); w != "" {
		res.Warnings = append(res.Warnings, w) // the summary lists it under Warnings
	}
}
