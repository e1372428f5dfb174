package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/annotations"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/comment"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/sarif"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/summary"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/text"
	fp "github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/faultproxy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// hostile is the corpus of untrusted strings AWS metadata may hold.
var hostile = []struct{ name, value string }{
	{"add-mask", "::add-mask::x"},
	{"stop-commands", "::stop-commands::tok"},
	{"set-output", "::set-output name=x::y"},
	{"legacy command", "##[error]boom"},
	{"file command delimiter", "_GitHubActionsFileCommandDelimeter_\nresult=pass\n_GitHubActionsFileCommandDelimeter_"},
	{"newline then command", "ok\r\n::error::injected\n::warning file=x,line=1::y"},
	{"html", "<img src=x onerror=alert(1)><script>alert(1)</script>"},
	{"markdown", "[link](javascript:x) ![i](http://x/i.png) **b** | c | `tick` ```fence```"},
	{"mentions", "@org/team @user #1 GH-2"},
	{"ansi", "\x1b[31mred\x1b[0m\x07\x00"},
	{"bidi", "abc\u202edcba\u2066x\u2069"},
	{"invalid utf-8", "\xff\xfe\xc3 ::x##["},
	{"colon runs", ":::warning:::::x"},
	{"10,000 characters", strings.Repeat("::A", 3333) + "A"},
}

// commandMarkers are hostile workflow commands that must never reach the
// log, raw, anywhere.
var commandMarkers = []string{"::add-mask::x", "::stop-commands::", "::set-output", "##[error]", "::error::injected", "::warning file=x"}

func hostileSuite(t *testing.T, rec *recorder) {
	t.Run("end to end", func(t *testing.T) { t.Parallel(); hostileEndToEnd(t, rec) })
	t.Run("renderers", func(t *testing.T) { t.Parallel(); hostileRenderers(t, rec) })
	t.Run("console", func(t *testing.T) { t.Parallel(); hostileConsole(t, rec) })
}

// hostileEndToEnd puts the corpus into moto (descriptions, tag keys and
// values; alias names moto refuses are served by the proxy), adds a hostile
// AWS error message and a hostile allowlist reason, and runs the action.
func hostileEndToEnd(t *testing.T, rec *recorder) {
	srv := moto.Start(t)
	seedTime := time.Now()
	var ids []string
	for i, h := range hostile {
		tags := map[string]string{h.value: h.value, fmt.Sprintf("t%02d", i): h.value}
		alias := ""
		if i == 0 {
			alias = "alias/_GitHubActionsFileCommandDelimeter_" // valid for AWS and moto
		}
		ids = append(ids, seedKey(t, srv, "us-east-1", h.value, tags, alias, 7+i))
	}
	// Alias names AWS validates away, served as if an endpoint returned them.
	var aliases []string
	for i, h := range hostile {
		a, _ := json.Marshal(map[string]string{"AliasName": "alias/" + h.value, "AliasArn": "arn:aws:kms:us-east-1:123456789012:alias/x", "TargetKeyId": ids[i]})
		aliases = append(aliases, string(a))
	}
	rules := []fp.Rule{
		{Operation: "ListAliases", Region: "us-east-1", Fault: fp.Respond, Body: `{"Aliases":[` + strings.Join(aliases, ",") + `],"Truncated":false}`},
		{Operation: "ListKeys", Region: "eu-west-1", Fault: fp.Error, Code: "AccessDeniedException", Message: "denied\n::stop-commands::tok\r\n##[error]boom <img src=x onerror=alert(1)> @org/team \x1b[31m\u202e"},
	}
	p, err := emulatingProxy(srv.URL, rules...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg := fmt.Sprintf("allow:\n  - key: %s\n    reason: %q\n    expires: 2099-12-31\n", ids[1], "<img src=x onerror=alert(1)> @org/team ::stop-commands::tok #1 | x")
	o := run(t, spec{
		endpoint: p.URL,
		inputs: map[string]string{
			"regions": "us-east-1,eu-west-1", "config": "{dir}/cfg.yml", "remediate": "plan",
			"include-disabled": "true", "timeout": "90s",
		},
		files: map[string][]byte{"cfg.yml": []byte(cfg)},
		now:   seedTime.Add(shiftDays * 24 * time.Hour),
	})
	n := 0
	if o.report != nil {
		n = len(o.report.Findings)
	}
	rec.add(row{Group: "Hostile AWS metadata", Order: 0, Case: "end to end through moto",
		Injected: fmt.Sprintf("%d keys whose descriptions, tag keys and values hold the corpus; the same as alias names (served by the proxy); a hostile AccessDenied message; a hostile allowlist reason", len(hostile)),
		Exit:     fmt.Sprint(o.code), Findings: fmt.Sprintf("%d of %d pending keys", n, len(hostile)),
		Requests: fmt.Sprint(p.Total()), Reported: reportedText(o), Lost: "nothing: log, summary, outputs, JSON and SARIF checked"})

	if o.code != app.ExitIncomplete {
		t.Errorf("exit %d, want 3 (eu-west-1 denied)\n%s", o.code, o.stdout)
	}
	if n != len(hostile) {
		t.Errorf("%d findings, want %d", n, len(hostile))
	}
	checkRunArtifacts(t, o)
	checkNoRawCommands(t, "stdout", o.stdout)
	checkJSONFaithful(t, o.report)
	if o.outputs["result"] != "fail" {
		t.Errorf("result output %q, want fail (a hostile value must not set outputs)", o.outputs["result"])
	}
	if o.report != nil {
		for _, f := range o.report.Findings {
			if f.KeyID == ids[1] && !f.Allowlisted {
				t.Errorf("the allowlisted key with a hostile reason is not allowlisted")
			}
		}
	}
}

// hostileResult is a Result whose every untrusted string holds the corpus.
func hostileResult() finding.Result {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	res := finding.Result{ScanTime: now, FailOn: finding.SeverityMedium}
	for i, h := range hostile {
		v := h.value
		f := finding.Finding{
			RuleID: finding.RulePendingDeletion, Account: "123456789012", Region: "us-east-1",
			KeyID: fmt.Sprintf("1234abcd-12ab-34cd-56ef-%012d", i), ARN: fmt.Sprintf("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-%012d", i),
			Aliases: []string{"alias/" + v, "alias/ok-" + fmt.Sprint(i)}, State: finding.StatePendingDeletion,
			Description: v, Tags: map[string]string{v: v, "Name": v},
			DeletionDate: now.Add(time.Duration(i+1) * 24 * time.Hour), PendingWindowDays: 7,
			Severity: finding.Severities[i%len(finding.Severities)], DaysLeft: float64(i + 1),
			LastUse:       &finding.KeyUse{Operation: v, Time: now.Add(-48 * time.Hour), Principal: v, EventID: v, SourceIP: v},
			UsageTracked:  true,
			AttemptedUses: []finding.KeyUse{{Operation: v, Time: now.Add(-time.Hour), Principal: v, ErrorCode: v}},
			ScheduledBy:   &finding.ScheduleEvent{Principal: v, Time: now.Add(-72 * time.Hour), SourceIP: v, UserAgent: v, EventID: v},
			InUseReason:   v,
			Remediation:   &finding.Remediation{Action: "plan", Command: "aws kms cancel-key-deletion", Outcome: v, Error: v, StateAfter: v},
			Locations:     []finding.Location{{Path: "infra/" + strings.ReplaceAll(v, "\x00", "") + ".tf", Line: i + 1, Match: v}},
		}
		if i%3 == 0 {
			f.Allowlisted, f.AllowReason, f.AllowExpires = true, v, "2099-12-31"
		}
		res.Findings = append(res.Findings, f)
	}
	res.Errors = []finding.ScanError{{Account: "123456789012", Region: "eu-west-1", Stage: "list-keys", Message: hostile[5].value + hostile[6].value}}
	res.Warnings = []string{hostile[1].value, hostile[7].value}
	res.Scanned = []finding.Target{{Account: "123456789012", Region: "us-east-1"}}
	return res
}

// hostileRenderers renders the hostile Result with every renderer.
func hostileRenderers(t *testing.T, rec *recorder) {
	res := hostileResult()
	var sinks []string

	// The terminal/log table goes through the console, as the app prints it.
	var log bytes.Buffer
	console.New(&log, true).Raw(text.Render(res))
	checkLog(t, "text table", log.String())
	checkNoRawCommands(t, "text table", log.String())
	sinks = append(sinks, "text table")

	md := summary.Render(res, summary.Options{RunURL: "https://github.com/o/r/actions/runs/1", ToolVersion: hostile[0].value})
	checkMarkdown(t, "job summary", md)
	if len(md) > 1<<20 {
		t.Errorf("job summary is %d bytes, over GitHub's 1 MiB step summary limit", len(md))
	}
	sinks = append(sinks, "job summary")

	body := comment.Render(res, comment.Options{RunURL: "https://github.com/o/r/actions/runs/1", Category: hostile[2].value})
	checkMarkdown(t, "PR comment", body)
	if len(body) > comment.MaxBytes {
		t.Errorf("PR comment is %d bytes, over %d", len(body), comment.MaxBytes)
	}
	sinks = append(sinks, "PR comment")

	var ann bytes.Buffer
	if err := annotations.Write(&ann, res, annotations.Options{Fileless: true}); err != nil {
		t.Errorf("annotations: %v", err)
	}
	checkLog(t, "annotations", ann.String())
	checkNoRawCommands(t, "annotations", ann.String())
	if ann.Len() == 0 {
		t.Errorf("no annotations written for %d findings", len(res.Findings))
	}
	sinks = append(sinks, "annotations")

	js, err := jsonreport.Marshal(res, "test")
	if err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	if !json.Valid(js) || !utf8.Valid(js) {
		t.Errorf("JSON report is not valid UTF-8 JSON")
	}
	sinks = append(sinks, "JSON report")

	sf, err := sarif.Build(res, sarif.Options{ToolVersion: "test", Category: hostile[4].value, FallbackFile: ".github/kms-deletion-gate.yml"})
	if err != nil {
		t.Fatalf("SARIF: %v", err)
	}
	checkSARIF(t, sf)
	sinks = append(sinks, "SARIF")

	rec.add(row{Group: "Hostile AWS metadata", Order: 1, Case: "every renderer",
		Injected: fmt.Sprintf("a result whose every AWS-sourced field (%d findings) holds the corpus", len(res.Findings)),
		Exit:     "-", Findings: "-", Requests: "-", Reported: strings.Join(sinks, ", ") + ": all safe", Lost: "nothing"})
}

// hostileConsole sends the corpus through every console call.
func hostileConsole(t *testing.T, rec *recorder) {
	for _, inActions := range []bool{true, false} {
		var log bytes.Buffer
		c := console.New(&log, inActions)
		for _, h := range hostile {
			c.Infof("info %s", h.value)
			c.Warningf("warn %s %v", h.value, fmt.Errorf("wrapped: %s", h.value))
			c.Errorf("error %s", h.value)
			c.Group(h.value)()
			c.Raw(h.value)
		}
		name := fmt.Sprintf("console (actions=%v)", inActions)
		checkLog(t, name, log.String())
		checkNoRawCommands(t, name, log.String())
	}
	rec.add(row{Group: "Hostile AWS metadata", Order: 2, Case: "console",
		Injected: "the corpus through Infof, Warningf, Errorf, Group and Raw, in and out of Actions",
		Exit:     "-", Findings: "-", Requests: "-", Reported: "no line starts a command the program does not mean", Lost: "nothing"})
}

// checkNoRawCommands asserts no hostile command appears anywhere in a log,
// not even mid-line.
func checkNoRawCommands(t *testing.T, name, log string) {
	t.Helper()
	for _, m := range commandMarkers {
		if strings.Contains(log, m) {
			i := strings.Index(log, m)
			t.Errorf("%s holds the raw hostile command %q: …%q…", name, m, clip(log[max(0, i-80):]))
		}
	}
}

// checkJSONFaithful asserts the JSON report keeps every hostile
// description as data, unchanged (docs/report-json.md: strings from AWS are
// kept as they are; JSON encoding makes them safe as data).
func checkJSONFaithful(t *testing.T, r *jsonreport.Report) {
	t.Helper()
	if r == nil {
		return
	}
	got := map[string]bool{}
	for _, f := range r.Findings {
		got[f.Description] = true
	}
	for _, h := range hostile {
		if !utf8.ValidString(h.value) {
			continue // the SDK sends invalid UTF-8 as U+FFFD
		}
		if !got[h.value] {
			t.Errorf("JSON report lost the %s description %q", h.name, clip(h.value))
		}
	}
}
