// Package jsonreport writes the machine-readable JSON report. Its schema is
// documented in docs/report-json.md; SchemaVersion changes when a field's
// meaning changes (fields are only ever added otherwise).
package jsonreport

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// SchemaVersion of the report.
const SchemaVersion = 1

// Report is the top-level JSON document.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Tool          Tool      `json:"tool"`
	ScanTime      string    `json:"scan_time"`
	Result        string    `json:"result"`
	FailOn        string    `json:"fail_on"`
	Counts        Counts    `json:"counts"`
	Findings      []Finding `json:"findings"`
	Coverage      Coverage  `json:"coverage"`
	Warnings      []string  `json:"warnings"`
	// FailScope is the fail-scope in force, "all" or "change".
	FailScope string `json:"fail_scope,omitempty"`
	// AllowAddedByChange lists the allowlist entries the pull request adds
	// or widens.
	AllowAddedByChange []finding.AllowNote `json:"allow_added_by_change,omitempty"`
	// SettingChanges lists the config-file settings the pull request
	// changes that decide the verdict, the scope or remediation, and whose
	// value applies.
	SettingChanges []finding.SettingChange `json:"setting_changes,omitempty"`
}

// Tool names the producer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Counts are per severity (unapproved findings), plus allowlisted and total.
type Counts struct {
	Critical    int `json:"critical"`
	High        int `json:"high"`
	Medium      int `json:"medium"`
	Low         int `json:"low"`
	Allowlisted int `json:"allowlisted"`
	// Elsewhere counts unapproved findings outside the change under review
	// (fail-scope change); the severity counts leave them out.
	Elsewhere int `json:"elsewhere"`
	Total     int `json:"total"`
}

// Finding is one key in the report.
type Finding struct {
	RuleID        string                 `json:"rule_id"`
	Account       string                 `json:"account"`
	Region        string                 `json:"region"`
	KeyID         string                 `json:"key_id"`
	ARN           string                 `json:"arn"`
	Aliases       []string               `json:"aliases"`
	State         string                 `json:"state"`
	DeletionDate  *string                `json:"deletion_date"`
	DaysLeft      *float64               `json:"days_left"`
	Severity      string                 `json:"severity"`
	Allowlisted   bool                   `json:"allowlisted"`
	AllowReason   string                 `json:"allow_reason,omitempty"`
	AllowExpires  string                 `json:"allow_expires,omitempty"`
	Description   string                 `json:"description,omitempty"`
	Tags          map[string]string      `json:"tags,omitempty"`
	MultiRegion   bool                   `json:"multi_region"`
	PendingWindow int                    `json:"pending_window_days,omitempty"`
	LastUse       *finding.KeyUse        `json:"last_use,omitempty"`
	UsageTracked  bool                   `json:"usage_tracked"`
	TrackingStart *string                `json:"tracking_start,omitempty"`
	AttemptedUses []finding.KeyUse       `json:"attempted_uses,omitempty"`
	ScheduledBy   *finding.ScheduleEvent `json:"scheduled_by,omitempty"`
	InUseReason   string                 `json:"in_use_reason,omitempty"`
	CancelCommand string                 `json:"cancel_command,omitempty"`
	Remediation   *finding.Remediation   `json:"remediation,omitempty"`
	Locations     []finding.Location     `json:"locations,omitempty"`
	// Planned is the change that deletes the key (rule kms-key-deletion-planned).
	Planned *finding.PlannedChange `json:"planned,omitempty"`
	// Elsewhere marks a finding outside the change (fail-scope change):
	// reported, not counted.
	Elsewhere bool `json:"elsewhere,omitempty"`
	// AllowAddedBy is the allowlist entry (file:line) the pull request adds
	// that would approve the finding; it approves nothing until merged.
	AllowAddedBy string `json:"allow_added_by_change,omitempty"`
}

// Coverage says what was scanned and what could not be.
type Coverage struct {
	Complete       bool                `json:"complete"`
	TargetsScanned int                 `json:"targets_scanned"`
	Accounts       []string            `json:"accounts"`
	Scanned        []finding.Target    `json:"scanned"`
	Errors         []finding.ScanError `json:"errors"`
	KeysSeen       int                 `json:"keys_seen"`
	APICalls       int64               `json:"api_calls"`
}

// Build converts a result to the report document.
func Build(res finding.Result, toolVersion string) Report {
	t := report.Count(res)
	r := Report{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "kms-deletion-gate", Version: toolVersion},
		ScanTime:      res.ScanTime.UTC().Format(time.RFC3339),
		Result:        report.Verdict(res),
		FailOn:        res.FailOn.String(),
		Counts: Counts{
			Critical: t.BySeverity[finding.SeverityCritical], High: t.BySeverity[finding.SeverityHigh],
			Medium: t.BySeverity[finding.SeverityMedium], Low: t.BySeverity[finding.SeverityLow],
			Allowlisted: t.Allowlisted, Elsewhere: t.Elsewhere, Total: t.Total,
		},
		Findings: []Finding{},
		Coverage: Coverage{
			Complete:       len(res.Errors) == 0,
			TargetsScanned: len(res.Scanned),
			Accounts:       accounts(res),
			Scanned:        nonNil(res.Scanned),
			Errors:         nonNil(res.Errors),
			KeysSeen:       res.KeysSeen,
			APICalls:       res.APICalls,
		},
		Warnings:           nonNil(res.Warnings),
		FailScope:          res.Scope,
		AllowAddedByChange: res.AllowAddedByChange,
		SettingChanges:     res.SettingChanges,
	}
	for _, f := range res.Findings {
		jf := Finding{
			RuleID: f.RuleID, Account: f.Account, Region: f.Region, KeyID: f.KeyID, ARN: f.ARN,
			Aliases: nonNil(f.Aliases), State: f.State, Severity: f.Severity.String(),
			Allowlisted: f.Allowlisted, AllowReason: f.AllowReason, AllowExpires: f.AllowExpires,
			Description: f.Description, Tags: f.Tags, MultiRegion: f.MultiRegion, PendingWindow: f.PendingWindowDays,
			LastUse: f.LastUse, UsageTracked: f.UsageTracked, AttemptedUses: f.AttemptedUses,
			ScheduledBy: f.ScheduledBy, InUseReason: f.InUseReason, Remediation: f.Remediation, Locations: f.Locations,
			Planned: f.Planned, Elsewhere: f.Elsewhere, AllowAddedBy: f.AllowAddedBy,
		}
		if !f.DeletionDate.IsZero() {
			d := f.DeletionDate.UTC().Format(time.RFC3339)
			jf.DeletionDate = &d
			days := f.DaysLeft
			jf.DaysLeft = &days
		}
		if !f.TrackingStart.IsZero() {
			ts := f.TrackingStart.UTC().Format(time.RFC3339)
			jf.TrackingStart = &ts
		}
		if f.State == finding.StatePendingDeletion && !f.Allowlisted {
			jf.CancelCommand = f.CancelCommand()
		}
		r.Findings = append(r.Findings, jf)
	}
	return r
}

// Marshal renders the report as indented JSON with a trailing newline.
func Marshal(res finding.Result, toolVersion string) ([]byte, error) {
	b, err := json.MarshalIndent(Build(res, toolVersion), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func accounts(res finding.Result) []string {
	set := map[string]bool{}
	for _, t := range res.Scanned {
		set[t.Account] = true
	}
	for _, e := range res.Errors {
		set[e.Account] = true
	}
	out := make([]string, 0, len(set))
	for a := range set {
		if strings.TrimSpace(a) != "" {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
