package app

import (
	"context"
	"fmt"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/forensics"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/iac"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/policy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/remediate"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/scan"
)

// The phases between the targets and the reports, in the order Run calls
// them. Each adds to res; none writes a report.

// scanTargets scans every target under one pacer (per account and Region
// limits, max-concurrency in total) and gathers each finding's evidence (last
// use, who scheduled the deletion) as soon as it is found, while the scan
// goes on.
func scanTargets(ctx context.Context, s config.Settings, log *console.Console, targets *targetStream, clients *clientCache, res *finding.Result) {
	done := log.Group("Scanning account/region targets as their accounts are resolved, gathering evidence for findings as they are found")
	pacer := pace.New(pace.Options{Total: s.MaxConcurrency})
	opts := scan.Options{
		IncludeDisabled: s.IncludeDisabled,
		Concurrency:     s.MaxConcurrency,
		Now:             res.ScanTime,
		Pacer:           pacer,
	}
	if clients != nil {
		opts.Evidence = forensics.Start(ctx, clients.pacedForensics(pacer), forensics.Options{
			ScanTime:      res.ScanTime,
			RecentUseDays: recentUseDays(s.RecentUseDays),
			CloudTrail:    s.CloudTrail,
			Concurrency:   s.MaxConcurrency,
			// 5% under the quota: one lookup at a time per account and
			// Region, each spaced from the last, reaches the server within a
			// few milliseconds of its slot (a throttling costs a second).
			LookupsPerSecond: forensics.DefaultLookupsPerSecond * 0.95,
		})
	}
	var out scan.Outcome
	if targets == nil {
		out = scan.Scan(ctx, nil, opts)
	} else {
		out = scan.ScanStream(ctx, targets.targets, opts)
		res.Errors = append(res.Errors, targets.wait()...)
	}
	log.Infof("%d account/region target(s) scanned.", len(out.Scanned))
	done()
	res.Findings, res.Scanned, res.KeysSeen, res.APICalls = out.Findings, out.Scanned, out.KeysSeen, out.APICalls
	res.Errors = append(res.Errors, out.Errors...)
	res.Warnings = append(res.Warnings, out.Warnings...)
}

// gatherEvidence adds last use to each planned deletion whose key is live.
// Findings of the scan got their evidence during the scan (scanTargets).
func gatherEvidence(ctx context.Context, s config.Settings, log *console.Console, clients *clientCache, res *finding.Result) {
	if len(res.Findings) == 0 || clients == nil {
		return
	}
	// A planned deletion whose key was not found has no usage to ask for.
	idx, sub := subset(res.Findings, func(f finding.Finding) bool { return f.Planned != nil && f.Planned.Live })
	if len(sub) == 0 {
		return
	}
	done := log.Group(fmt.Sprintf("Gathering evidence for %d finding(s)", len(sub)))
	res.Warnings = append(res.Warnings, forensics.Enrich(ctx, sub, clients.forensics, forensics.Options{
		ScanTime:      res.ScanTime,
		RecentUseDays: recentUseDays(s.RecentUseDays),
		CloudTrail:    s.CloudTrail,
		Concurrency:   s.MaxConcurrency,
	})...)
	for i, j := range idx {
		res.Findings[j] = sub[i]
	}
	done()
}

// subset copies the findings keep selects, with their indexes in all.
func subset(all []finding.Finding, keep func(finding.Finding) bool) ([]int, []finding.Finding) {
	var idx []int
	var out []finding.Finding
	for i, f := range all {
		if keep(f) {
			idx = append(idx, i)
			out = append(out, f)
		}
	}
	return idx, out
}

// recentUseDays maps the input to forensics' convention, where 0 means its
// default: an input of 0 means "no use counts as recent".
func recentUseDays(days int) int {
	if days == 0 {
		return -1
	}
	return days
}

// applyPolicy judges the findings with the trusted allowlist, then notes
// the entries the pull request added (which approve nothing).
func applyPolicy(s config.Settings, trusted, added []config.AllowEntry, res *finding.Result) {
	policy.Policy{
		CriticalDays: s.CriticalDays,
		HighDays:     s.HighDays,
		FailOn:       s.FailOn,
		Allow:        trusted,
		Now:          res.ScanTime,
	}.Apply(res)
	policy.MarkAddedByChange(res, added)
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
func locateInRepository(ctx context.Context, workspace string, bounds iac.Options, res *finding.Result) {
	// A planned deletion keeps its one location: the line declaring it.
	idx, sub := subset(res.Findings, func(f finding.Finding) bool { return f.Planned == nil })
	if len(sub) == 0 {
		return
	}
	stats, err := iac.Locate(ctx, workspace, sub, bounds)
	for i, j := range idx {
		res.Findings[j] = sub[i]
	}
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("searching the repository for references to the keys: %v", err))
	}
	if w := stats.Warning(); w != "" {
		res.Warnings = append(res.Warnings, w) // the summary lists it under Warnings
	}
}
