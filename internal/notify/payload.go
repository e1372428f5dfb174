package notify

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/audit"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
)

// SchemaVersion of the structured part of the payload.
const SchemaVersion = 1

// Bounds that keep the payload small whatever the run found.
const (
	maxFindings = 200 // structured findings sent; the rest are counted
	maxTextKeys = 5   // keys named in the text
)

// Input is what a payload is built from.
type Input struct {
	Result finding.Result
	// Changes since the last run (from the audit issue); nil when unknown.
	Changes     *audit.Changes
	Category    string
	Repository  string // owner/name
	RunURL      string
	ToolVersion string
}

// ShouldSend reports whether the run is worth a notification: the gate
// failed, the scan is incomplete, or keys changed since the last run.
func ShouldSend(in Input) bool {
	return !in.Result.Passed || len(in.Result.Errors) > 0 || (in.Changes != nil && !in.Changes.Empty())
}

// Payload is the JSON document posted.
type Payload struct {
	// Text is what a Slack incoming webhook shows (mrkdwn, escaped).
	Text   string `json:"text"`
	Report Report `json:"kms_deletion_gate"`
}

// Report is the structured part: the JSON report's findings and counts.
type Report struct {
	SchemaVersion int                  `json:"schema_version"`
	Result        string               `json:"result"`
	Complete      bool                 `json:"complete"`
	FailOn        string               `json:"fail_on"`
	Category      string               `json:"category,omitempty"`
	Repository    string               `json:"repository,omitempty"`
	RunURL        string               `json:"run_url,omitempty"`
	Counts        jsonreport.Counts    `json:"counts"`
	Changes       *Changes             `json:"changes,omitempty"`
	Findings      []jsonreport.Finding `json:"findings"`
	FindingsTotal int                  `json:"findings_total"`
	Errors        []finding.ScanError  `json:"errors"`
}

// Changes are the keys that changed since the last run, by kind.
type Changes struct {
	New       []ChangedKey `json:"new"`
	Escalated []ChangedKey `json:"escalated"`
	Cancelled []ChangedKey `json:"cancelled"`
	Deleted   []ChangedKey `json:"deleted"`
}

// ChangedKey is one changed key.
type ChangedKey struct {
	Account  string `json:"account"`
	Region   string `json:"region"`
	KeyID    string `json:"key_id"`
	Severity string `json:"severity"`
	From     string `json:"from,omitempty"`
}

// Build renders the payload.
func Build(in Input) ([]byte, error) {
	full := jsonreport.Build(in.Result, in.ToolVersion)
	r := Report{
		SchemaVersion: SchemaVersion, Result: full.Result, Complete: full.Coverage.Complete, FailOn: full.FailOn,
		Category: escape.PlainText(in.Category, 100), Repository: escape.PlainText(in.Repository, 200), RunURL: safeURL(in.RunURL),
		Counts: full.Counts, Findings: full.Findings[:min(len(full.Findings), maxFindings)], FindingsTotal: len(full.Findings),
		Errors: full.Coverage.Errors,
	}
	if in.Changes != nil && in.Changes.Known {
		r.Changes = &Changes{
			New: changed(in.Changes.New), Escalated: changed(in.Changes.Escalated),
			Cancelled: changed(in.Changes.Cancelled), Deleted: changed(in.Changes.Deleted),
		}
	}
	return json.Marshal(Payload{Text: text(in, r), Report: r})
}

func changed(cs []audit.Change) []ChangedKey {
	out := []ChangedKey{}
	for _, c := range cs {
		k := ChangedKey{Account: c.Account, Region: c.Region, KeyID: c.KeyID, Severity: c.To.String()}
		if c.Kind == audit.ChangeEscalated {
			k.From = c.From.String()
		}
		out = append(out, k)
	}
	return out
}

// text is the Slack line: verdict, counts, changes, the most urgent keys and
// a link to the run.
func text(in Input, r Report) string {
	var b strings.Builder
	if r.Result == "fail" {
		b.WriteString("❌ *kms-deletion-gate*")
	} else {
		b.WriteString("✅ *kms-deletion-gate*")
	}
	if in.Category != "" {
		b.WriteString(" (" + slack(in.Category, 60) + ")")
	}
	if in.Repository != "" {
		b.WriteString(" in " + slack(in.Repository, 100))
	}
	t := report.Count(in.Result)
	var parts []string
	for _, sev := range finding.Severities {
		if n := t.BySeverity[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	switch {
	case len(parts) > 0:
		fmt.Fprintf(&b, ": gate %s, keys not approved: %s.", verdictWord(r.Result), strings.Join(parts, ", "))
	default:
		fmt.Fprintf(&b, ": gate %s, no key pending deletion needs attention.", verdictWord(r.Result))
	}
	if !r.Complete {
		fmt.Fprintf(&b, " ⚠️ Scan incomplete: %d %s could not be scanned.", len(r.Errors), plural(len(r.Errors), "target", "targets"))
	}
	if c := r.Changes; c != nil {
		fmt.Fprintf(&b, " Since the last run: %d new, %d escalated, %d cancelled, %d deleted.", len(c.New), len(c.Escalated), len(c.Cancelled), len(c.Deleted))
	}
	listed := 0
	for _, f := range in.Result.Findings {
		if f.Allowlisted || listed == maxTextKeys {
			continue
		}
		listed++
		fmt.Fprintf(&b, "\n• `%s` in %s of %s: %s, %s left", code(f.KeyID), slack(f.Region, 40), slack(f.Account, 40), f.Severity, report.TimeLeft(f))
	}
	if r.RunURL != "" {
		b.WriteString("\n<" + r.RunURL + "|See the run>")
	}
	return b.String()
}

func verdictWord(result string) string {
	if result == "fail" {
		return "failed"
	}
	return "passed"
}

// slack escapes text for Slack mrkdwn: its three control characters, and
// what escape.PlainText removes (control and bidi characters, newlines).
func slack(s string, max int) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(escape.PlainText(s, max))
}

// code is slack() for text inside a code span, which a backtick would end.
func code(s string) string { return strings.ReplaceAll(slack(s, 128), "`", "'") }

// safeURL keeps a run URL only when it is a plain http(s) URL that cannot
// break out of Slack's <url|text> link.
func safeURL(s string) string {
	u, err := url.Parse(s)
	if s == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(s, "|<> \"`\n\r") {
		return ""
	}
	return u.String()
}
