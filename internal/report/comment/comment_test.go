package comment

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

var scanTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const runURL = "https://github.com/octo-org/demo/actions/runs/42"

func scanned(n int) []finding.Target {
	var ts []finding.Target
	for i := range n {
		ts = append(ts, finding.Target{Account: "111122223333", Region: fmt.Sprintf("region-%d", i)})
	}
	return ts
}

func pendingKey(account, region, id string, in time.Duration, sev finding.Severity) finding.Finding {
	return finding.Finding{
		RuleID: finding.RulePendingDeletion, Account: account, Region: region, KeyID: id,
		ARN:   "arn:aws:kms:" + region + ":" + account + ":key/" + id,
		State: finding.StatePendingDeletion, DeletionDate: scanTime.Add(in), Severity: sev,
		DaysLeft: in.Hours() / 24,
	}
}

func mixedResult() finding.Result {
	critical := pendingKey("111122223333", "us-east-1", "1234abcd-12ab-34cd-56ef-1234567890ab", 52*time.Hour, finding.SeverityCritical)
	critical.Aliases = []string{"alias/orders", "alias/orders-legacy"}
	critical.Description = "Orders database (prod)"
	critical.UsageTracked = true
	critical.LastUse = &finding.KeyUse{Operation: "Decrypt", Time: scanTime.Add(-12*24*time.Hour - 3*time.Hour)}
	critical.AttemptedUses = []finding.KeyUse{
		{Operation: "Decrypt", Time: scanTime.Add(-50 * time.Hour), ErrorCode: "KMSInvalidStateException"},
		{Operation: "GenerateDataKey", Time: scanTime.Add(-5 * time.Hour), ErrorCode: "KMSInvalidStateException"},
	}
	critical.ScheduledBy = &finding.ScheduleEvent{Principal: "arn:aws:iam::111122223333:user/alice", Time: scanTime.Add(-5 * 24 * time.Hour)}
	critical.InUseReason = "used 12 days ago and 2 failed attempts since scheduling"
	critical.Remediation = &finding.Remediation{Action: "cancel", Outcome: "cancelled", StateAfter: "Disabled"}

	high := pendingKey("444455556666", "eu-west-1", "mrk-0123456789abcdef0123456789abcdef", 6*24*time.Hour+4*time.Hour, finding.SeverityHigh)
	high.MultiRegion = true
	high.UsageTracked = true
	high.TrackingStart = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	high.Remediation = &finding.Remediation{Action: "cancel", Outcome: "failed", Error: "AccessDeniedException: not authorized to perform kms:CancelKeyDeletion"}

	accepted := pendingKey("111122223333", "eu-west-1", "bbbbbbbb-1111-2222-3333-444444444444", 20*24*time.Hour, finding.SeverityMedium)
	accepted.Aliases = []string{"alias/tmp-load-test"}
	accepted.Allowlisted = true
	accepted.AllowReason = "Scratch keys of the load-test account (CHG-1042)"
	accepted.AllowExpires = "2027-01-15"

	replica := finding.Finding{
		RuleID: finding.RulePendingReplicaDeletion, Account: "444455556666", Region: "us-west-2",
		KeyID: "mrk-fedcba9876543210fedcba9876543210", State: finding.StatePendingReplicaDeletion,
		MultiRegion: true, Severity: finding.SeverityMedium,
	}
	disabled := finding.Finding{
		RuleID: finding.RuleDisabled, Account: "111122223333", Region: "us-east-1",
		KeyID: "cccccccc-1111-2222-3333-444444444444", State: finding.StateDisabled, Severity: finding.SeverityLow,
	}
	return finding.Result{
		ScanTime: scanTime,
		// Deliberately unsorted: the comment sorts soonest first.
		Findings: []finding.Finding{accepted, disabled, high, replica, critical},
		Scanned:  scanned(4),
		Errors:   []finding.ScanError{{Account: "777788889999", Region: "ap-south-1", Stage: "list-keys", Message: "AccessDenied"}},
		Warnings: []string{"allowlist entry alias/old-* (.github/kms-deletion-gate.yml:12) expired on 2026-01-01 and no longer applies"},
		FailOn:   finding.SeverityMedium,
		Passed:   false,
	}
}

// Hostile strings an attacker able to set a key's description or alias
// (or a tag) could plant.
var hostile = []string{"::add-mask::x", "@org/team", "<img src=x>", "|", "\n::error::pwned"}

func hostileResult() finding.Result {
	long := strings.Repeat("A", 10000)
	f := pendingKey("111122223333", "us-east-1", "1234abcd-12ab-34cd-56ef-1234567890ab", 30*time.Hour, finding.SeverityCritical)
	f.Description = "::add-mask::x @org/team <img src=x> | cell\n::error::pwned"
	f.Aliases = []string{"alias/::add-mask::x", "alias/@org/team", "alias/<img src=x>", "alias/a|b", "alias/" + long}
	f.LastUse = &finding.KeyUse{Operation: "<img src=x>|Decrypt", Time: scanTime.Add(-time.Hour * 30)}
	f.ScheduledBy = &finding.ScheduleEvent{Principal: "@org/team <img src=x>", Time: scanTime.Add(-24 * time.Hour)}
	f.InUseReason = "::add-mask::x " + long

	g := pendingKey("111122223333", "us-east-1", "2234abcd-12ab-34cd-56ef-1234567890ab", 40*time.Hour, finding.SeverityMedium)
	g.Allowlisted = true
	g.AllowReason = "@org/team said so <img src=x> | ::add-mask::x " + long
	g.AllowExpires = "2027-01-01"
	g.Remediation = &finding.Remediation{Outcome: "failed", Error: "<img src=x> @org/team ::add-mask::x"}
	return finding.Result{
		ScanTime: scanTime, Findings: []finding.Finding{f, g}, Scanned: scanned(1),
		Warnings: []string{"::add-mask::x @org/team <img src=x> | " + long},
		FailOn:   finding.SeverityMedium,
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	manyResult := finding.Result{ScanTime: scanTime, Scanned: scanned(2), FailOn: finding.SeverityHigh, Passed: true}
	for i := range 40 {
		manyResult.Findings = append(manyResult.Findings, pendingKey("111122223333", "us-east-1", fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), time.Duration(40-i)*24*time.Hour, finding.SeverityMedium))
	}
	tests := []struct {
		name string
		res  finding.Result
		opts Options
	}{
		{"all_clear", finding.Result{ScanTime: scanTime, Scanned: scanned(6), FailOn: finding.SeverityMedium, Passed: true}, Options{RunURL: runURL}},
		{"all_clear_incomplete", finding.Result{ScanTime: scanTime, Scanned: scanned(5), Errors: []finding.ScanError{{Account: "1", Region: "x", Stage: "list-keys", Message: "boom"}}, FailOn: finding.SeverityMedium}, Options{RunURL: runURL}},
		{"mixed", mixedResult(), Options{RunURL: runURL}},
		{"accepted_only_passes", finding.Result{ScanTime: scanTime, Findings: mixedResult().Findings[:1], Scanned: scanned(1), FailOn: finding.SeverityNone, Passed: true}, Options{}},
		{"hostile", hostileResult(), Options{RunURL: runURL}},
		{"truncated", manyResult, Options{RunURL: runURL, MaxBytes: 4000}},
		{"category", finding.Result{ScanTime: scanTime, Scanned: scanned(1), Passed: true}, Options{Category: "prod accounts --> <b>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Render(tc.res, tc.opts)
			golden.Check(t, tc.name+".md", []byte(got))
			if got != Render(tc.res, tc.opts) {
				t.Error("Render is not deterministic")
			}
			if !strings.HasPrefix(got, MarkerFor(tc.opts.Category)+"\n") {
				t.Errorf("body does not start with the marker line")
			}
			if len(got) > max(tc.opts.MaxBytes, 0) && tc.opts.MaxBytes > 0 {
				t.Errorf("body %d bytes, over the %d limit", len(got), tc.opts.MaxBytes)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		res     finding.Result
		want    []string
		notWant []string
	}{
		{"all clear", finding.Result{ScanTime: scanTime, Scanned: scanned(3), Passed: true}, []string{"All clear: no KMS keys pending deletion"}, []string{"|---", "Cancel"}},
		{"incomplete is never all clear", finding.Result{ScanTime: scanTime, Errors: []finding.ScanError{{Account: "1"}}}, []string{"scan is incomplete", "Scan incomplete"}, []string{"All clear"}},
		{"failed gate", mixedResult(), []string{"❌ Gate failed", "4 keys pending deletion", "1 critical, 1 high, 1 medium not approved", "1 accepted by the allowlist", "1 disabled"}, []string{"All clear"}},
		{"soonest first", mixedResult(), []string{"2026-03-03 16:00 UTC | 2d 4h | 🔴 critical"}, nil},
		{"last use and tracking", mixedResult(), []string{"Decrypt, 12 days ago", "none recorded since 2025-11-01", "2 failed attempts since scheduling (last: GenerateDataKey, 5 hours ago)", "not checked"}, nil},
		{"cancel commands only for unapproved, uncancelled pending keys", mixedResult(), []string{"`aws kms cancel-key-deletion --key-id mrk-0123456789abcdef0123456789abcdef --region eu-west-1`", "`aws kms cancel-key-deletion --key-id mrk-fedcba9876543210fedcba9876543210 --region us-west-2`"}, []string{"--key-id 1234abcd", "--key-id bbbbbbbb", "--key-id cccccccc"}},
		{"remediation outcomes", mixedResult(), []string{"cancelled, now Disabled", "failed: AccessDeniedException"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Render(tc.res, Options{RunURL: runURL})
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in:\n%s", w, got)
				}
			}
		})
	}
}

var codeSpan = regexp.MustCompile("`[^`\n]*`")

func TestHostileTextNeverRaw(t *testing.T) {
	t.Parallel()
	got := Render(hostileResult(), Options{RunURL: runURL})
	for _, h := range hostile {
		if strings.Contains(got, h) && h != "|" {
			t.Errorf("hostile text %q appears raw", h)
		}
	}
	outside := codeSpan.ReplaceAllString(got, "`code`")
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "::") || strings.HasPrefix(line, "##[") {
			t.Errorf("line starts a workflow command: %q", line)
		}
		if strings.HasPrefix(line, "| ") && line != "|---|---|---|---|---|---|---|---|---|---|---|" {
			// Each row has exactly the 12 pipes of 11 cells: none from the data.
			cells := strings.Count(codeSpan.ReplaceAllString(line, "`code`"), "|")
			if cells != 12 {
				t.Errorf("row has %d unescaped pipes, want 12: %.200q", cells, line)
			}
		}
	}
	if strings.Contains(outside, "<img") || strings.Contains(outside, "@org") {
		t.Errorf("HTML or a mention survives outside code spans")
	}
	if strings.Contains(got, strings.Repeat("A", 300)) {
		t.Errorf("a 10,000-character value was not cut")
	}
	if len(got) > 16000 {
		t.Errorf("body is %d bytes: cells are not bounded", len(got))
	}
}

func TestTruncatesUnderGitHubLimit(t *testing.T) {
	t.Parallel()
	res := finding.Result{ScanTime: scanTime, Scanned: scanned(30), FailOn: finding.SeverityMedium}
	long := strings.Repeat("é|<@", 5000)
	for i := range 3000 {
		f := pendingKey(fmt.Sprintf("%012d", i), "eu-central-1", fmt.Sprintf("%08d-aaaa-4bbb-8ccc-dddddddddddd", i), time.Duration(i+1)*time.Hour, finding.SeverityHigh)
		f.Description = long
		f.Aliases = []string{"alias/" + long}
		res.Findings = append(res.Findings, f)
	}
	got := Render(res, Options{RunURL: runURL})
	if len(got) > MaxBytes || utf8.RuneCountInString(got) > MaxBytes {
		t.Fatalf("body is %d bytes", len(got))
	}
	if !utf8.ValidString(got) {
		t.Fatal("body is not valid UTF-8: a cut went through a character")
	}
	rows := 0
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "| 2026-") {
			rows++
			if !strings.HasSuffix(line, " |") {
				t.Errorf("row cut short: %.100q", line)
			}
		}
	}
	notice := fmt.Sprintf("… %d more, [see the run](%s).", 3000-rows, runURL)
	if rows == 0 || !strings.Contains(got, notice) {
		t.Errorf("%d rows kept; notice %q missing", rows, notice)
	}
	// The soonest deletions are the ones kept.
	if !strings.Contains(got, "`00000000-aaaa-4bbb-8ccc-dddddddddddd`") {
		t.Error("the soonest key was dropped")
	}
	if cmds := strings.Count(got, "aws kms cancel-key-deletion"); cmds != rows {
		t.Errorf("%d cancel commands for %d rows", cmds, rows)
	}
}

func TestMarkerFor(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                  Marker,
		"prod/eu":           "<!-- kms-deletion-gate category=prod/eu -->",
		"kms-deletion-gate": "<!-- kms-deletion-gate category=kms-deletion-gate -->",
		"a --> <b>":         "<!-- kms-deletion-gate category=a%20-%2D%3E%20%3Cb%3E -->",
		"x----y":            "<!-- kms-deletion-gate category=x-%2D%2D%2Dy -->",
		"ünïcode\n<!--x-->": "<!-- kms-deletion-gate category=%C3%BCn%C3%AFcode%0A%3C%21-%2Dx-%2D%3E -->",
	}
	for in, want := range tests {
		if got := MarkerFor(in); got != want {
			t.Errorf("MarkerFor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMarkerForIsInjective: categories that the old replacement merged
// (matrix shards then overwrote each other's comment) get distinct markers,
// and no marker can end its HTML comment early.
func TestMarkerForIsInjective(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{"prod eu", "prod_eu"}, {"a--b", "a-_b"}, {"shard#1", "shard_1"},
		{"x%20y", "x y"}, {"a-", "a_"}, {"é", "_"},
	}
	for _, p := range pairs {
		if MarkerFor(p[0]) == MarkerFor(p[1]) {
			t.Errorf("MarkerFor(%q) == MarkerFor(%q) = %q", p[0], p[1], MarkerFor(p[0]))
		}
	}
	seen := map[string]string{}
	alphabet := []string{"a", "-", "_", " ", "%", "#", ">", "!", "é"}
	var walk func(prefix string, depth int)
	walk = func(prefix string, depth int) {
		if prefix != "" {
			m := MarkerFor(prefix)
			if other, ok := seen[m]; ok && other != prefix {
				t.Fatalf("MarkerFor(%q) == MarkerFor(%q) = %q", prefix, other, m)
			}
			seen[m] = prefix
			body := strings.TrimSuffix(strings.TrimPrefix(m, "<!--"), "-->")
			if strings.Contains(body, "--") || strings.Contains(body, ">") {
				t.Fatalf("MarkerFor(%q) = %q can end the HTML comment", prefix, m)
			}
		}
		if depth == 0 {
			return
		}
		for _, r := range alphabet {
			walk(prefix+r, depth-1)
		}
	}
	walk("", 4)
}

func TestTimeFormats(t *testing.T) {
	t.Parallel()
	left := map[time.Duration]string{
		52 * time.Hour:                "2d 4h",
		5*time.Hour + 30*time.Minute:  "5h 30m",
		12 * time.Minute:              "12m",
		0:                             "due now",
		-time.Hour:                    "due now",
		30*24*time.Hour + time.Minute: "30d 0h",
	}
	for d, want := range left {
		if got := timeLeft(d); got != want {
			t.Errorf("timeLeft(%v) = %q, want %q", d, got, want)
		}
	}
	agos := map[time.Duration]string{
		12*24*time.Hour + time.Hour: "12 days ago",
		24 * time.Hour:              "1 day ago",
		3 * time.Hour:               "3 hours ago",
		time.Hour:                   "1 hour ago",
		time.Minute:                 "less than an hour ago",
		-time.Minute:                "in the future",
	}
	for d, want := range agos {
		if got := ago(d); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}
