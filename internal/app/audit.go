package app

import (
	"context"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/notify"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/audit"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/junit"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/ocsf"
)

// writeOtherToolReports writes the files other tools read: JUnit XML and
// OCSF, and reports whether it wrote every one asked for. A failure is logged
// as an error and ends the run with ExitReportsIncomplete.
func writeOtherToolReports(d Deps, s config.Settings, log *console.Console, res finding.Result) bool {
	ok := true
	write := func(what, path string, marshal func() ([]byte, error)) {
		if path == "" {
			return
		}
		data, err := marshal()
		if err == nil {
			err = writeFile(path, data)
		}
		if err != nil {
			log.Errorf("write %s %s: %v", what, path, err)
			ok = false
			return
		}
		log.Infof("%s: %s", what, path)
	}
	write("JUnit report", s.JUnitFile, func() ([]byte, error) { return junit.Marshal(res) })
	write("OCSF report", s.OCSFFile, func() ([]byte, error) { return ocsf.Marshal(res, d.Version) })
	return ok
}

// auditEvents are the events that keep the audit issue: scheduled and
// manual runs. A pull request never touches it.
var auditEvents = map[string]bool{"schedule": true, "workflow_dispatch": true}

// notifyPeople keeps the audit issue and sends the webhook, after every local
// report is written. Every failure is a warning: the exit code never changes.
func notifyPeople(ctx context.Context, d Deps, s config.Settings, log *console.Console, res finding.Result) {
	var changes *audit.Changes
	runURL := github.RunURL(d.Getenv)
	if s.Issue == config.IssueUpsert && auditEvents[d.Getenv("GITHUB_EVENT_NAME")] {
		if s.GitHubToken == "" || d.Getenv("GITHUB_REPOSITORY") == "" {
			log.Warningf("no github-token: skipping the audit issue")
		} else {
			gh := github.New(github.Options{Token: s.GitHubToken, Getenv: d.Getenv, HTTPClient: d.HTTPClient})
			changes = upsertAuditIssue(ctx, gh, s, log, res, runURL)
		}
	}
	if s.WebhookURL != "" {
		sendWebhook(ctx, d, s, log, res, changes, runURL)
	}
}

// upsertAuditIssue keeps the audit issue of the category in step with the
// run and returns the changes since the run it last recorded (nil when
// unknown).
func upsertAuditIssue(ctx context.Context, gh *github.Client, s config.Settings, log *console.Console, res finding.Result, runURL string) *audit.Changes {
	opts := audit.Options{Category: s.Category, RunURL: runURL}
	judged := audit.Render(res, "", opts)
	want := github.IssueKeep // incomplete and nothing found: cannot tell
	switch {
	case judged.Attention:
		want = github.IssueOpen
	case judged.Complete:
		want = github.IssueClose
	}
	var rendered *audit.Body
	r, err := gh.UpsertAuditIssue(ctx, github.AuditIssue{
		Marker: audit.Marker(s.Category), Label: audit.Label, Title: audit.Title(s.Category), Want: want,
		Body: func(previous string) string {
			b := audit.Render(res, previous, opts)
			rendered = &b
			return b.Text
		},
	})
	if err != nil {
		log.Warningf("audit issue: %v", err)
		return nil
	}
	if r.Action == "" {
		log.Infof("Audit issue: none needed (no key needs attention and none is open)")
	} else {
		log.Infof("Audit issue #%d: %s, %s: %s", r.Number, r.Action, r.State, r.URL)
	}
	if rendered == nil {
		return nil
	}
	if rendered.PreviousState != "" {
		log.Warningf("audit issue #%d: the previous run's state could not be read (%s): changes are not listed", r.Number, rendered.PreviousState)
	}
	if !rendered.Changes.Known {
		return nil
	}
	return &rendered.Changes
}

// sendWebhook posts the run to webhook-url when the gate failed, the scan is
// incomplete or keys changed.
func sendWebhook(ctx context.Context, d Deps, s config.Settings, log *console.Console, res finding.Result, changes *audit.Changes, runURL string) {
	in := notify.Input{
		Result: res, Changes: changes, Category: s.Category, Repository: d.Getenv("GITHUB_REPOSITORY"),
		RunURL: runURL, ToolVersion: d.Version,
	}
	if !notify.ShouldSend(in) {
		log.Infof("Webhook: not sent (the gate passed, the scan is complete and no key changed)")
		return
	}
	body, err := notify.Build(in)
	if err != nil {
		log.Warningf("webhook: %v", err)
		return
	}
	r, err := notify.Send(ctx, notify.Options{URL: s.WebhookURL, Log: func(line string) { log.Infof("%s", line) }}, body)
	if err != nil {
		log.Warningf("%v", err)
		return
	}
	log.Infof("Webhook: delivered (HTTP %d after %d attempt(s))", r.Status, r.Attempts)
}
