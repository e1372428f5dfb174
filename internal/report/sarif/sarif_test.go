package sarif

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/sarifcheck"
)

var (
	sampleOut = flag.String("sample-out", "", "TestWriteSample writes a sample SARIF log to this path (for scripts/validate-sarif.sh)")
)

// buildLog runs Build, validates the log and decodes it for assertions.
func buildLog(t testing.TB, res finding.Result, opts Options) ([]byte, sarifLog) {
	t.Helper()
	b, err := Build(res, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	sarifcheck.Validate(t, b)
	var l sarifLog
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(l.Runs))
	}
	for i, r := range l.Runs[0].Results {
		if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" || r.Locations[0].PhysicalLocation.Region.StartLine < 1 {
			t.Fatalf("result %d has no usable primary location: %+v", i, r.Locations)
		}
	}
	return b, l
}

// sarifLog is the part of a log the assertions read.
type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				Version        string `json:"version"`
				SemanticVer    string `json:"semanticVersion"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID               string `json:"id"`
					FullDescription  struct{ Text string }
					Help             struct{ Text, Markdown string }
					Properties       map[string]any `json:"properties"`
					ShortDescription struct{ Text string }
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		AutomationDetails struct {
			ID string `json:"id"`
		} `json:"automationDetails"`
		OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
		Invocations        []struct {
			ToolExecutionNotifications []struct {
				Level   string
				Message struct{ Text string }
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Results []sarifResult `json:"results"`
	} `json:"runs"`
}

type sarifLocation struct {
	ID               int `json:"id"`
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI       string `json:"uri"`
			URIBaseID string `json:"uriBaseId"`
		} `json:"artifactLocation"`
		Region struct {
			StartLine int `json:"startLine"`
		} `json:"region"`
	} `json:"physicalLocation"`
}

type sarifResult struct {
	RuleID              string  `json:"ruleId"`
	RuleIndex           int     `json:"ruleIndex"`
	Level               string  `json:"level"`
	Rank                float64 `json:"rank"`
	Message             struct{ Text string }
	Locations           []sarifLocation   `json:"locations"`
	RelatedLocations    []sarifLocation   `json:"relatedLocations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Suppressions        []struct {
		Kind          string `json:"kind"`
		Status        string `json:"status"`
		Justification string `json:"justification"`
	} `json:"suppressions"`
	Properties map[string]any `json:"properties"`
}

var scanTime = time.Date(2026, 4, 28, 6, 0, 0, 0, time.UTC)

const (
	acct    = "111122223333"
	ordersK = "1234abcd-12ab-34cd-56ef-1234567890ab"
)

func arn(region, id string) string { return "arn:aws:kms:" + region + ":" + acct + ":key/" + id }

// fixture is a run with one finding of each kind the log must render.
func fixture() finding.Result {
	del := func(days float64) time.Time { return scanTime.Add(time.Duration(days * 24 * float64(time.Hour))) }
	return finding.Result{
		ScanTime: scanTime,
		FailOn:   finding.SeverityMedium,
		KeysSeen: 42,
		Scanned:  []finding.Target{{Account: acct, Region: "us-east-1"}, {Account: acct, Region: "eu-west-1"}},
		Errors:   []finding.ScanError{{Account: "444455556666", Region: "ap-south-1", Stage: "list-keys", Message: "AccessDeniedException: not authorized"}},
		Warnings: []string{"allowlist entry 3 (alias/tmp-*) expired on 2026-01-15"},
		Findings: []finding.Finding{
			{
				RuleID: finding.RulePendingDeletion, Account: acct, Region: "us-east-1", KeyID: ordersK, ARN: arn("us-east-1", ordersK),
				Aliases: []string{"alias/orders"}, State: finding.StatePendingDeletion, KeySpec: "SYMMETRIC_DEFAULT",
				Description: "Orders table encryption", DeletionDate: del(2.5), DaysLeft: 2.5, PendingWindowDays: 7,
				Severity: finding.SeverityCritical, InUseReason: "used by Decrypt 12 days before the scan",
				LastUse:      &finding.KeyUse{Operation: "Decrypt", Time: scanTime.Add(-12 * 24 * time.Hour), EventID: "0c0f7c1e-1111-2222-3333-444455556666"},
				UsageTracked: true, TrackingStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				ScheduledBy: &finding.ScheduleEvent{Principal: "arn:aws:iam::111122223333:user/alice", Time: scanTime.Add(-4*24*time.Hour - 12*time.Hour)},
				Locations: []finding.Location{
					{Path: "infra/kms.tf", Line: 12, Match: "alias/orders"},
					{Path: "infra/app.tf", Line: 3, Match: ordersK},
					{Path: "cdk.out/App Stack.template.json", Line: 40, Match: arn("us-east-1", ordersK)},
				},
			},
			{
				RuleID: finding.RulePendingDeletion, Account: acct, Region: "eu-west-1", KeyID: "mrk-0123456789abcdef0123456789abcdef",
				ARN: arn("eu-west-1", "mrk-0123456789abcdef0123456789abcdef"), State: finding.StatePendingDeletion, MultiRegion: true,
				DeletionDate: del(6.2), DaysLeft: 6.2, Severity: finding.SeverityHigh, UsageTracked: true,
			},
			{
				RuleID: finding.RulePendingDeletion, Account: acct, Region: "us-east-1", KeyID: "abcd1234-0000-4000-8000-000000000001",
				ARN: arn("us-east-1", "abcd1234-0000-4000-8000-000000000001"), Aliases: []string{"alias/legacy-billing", "alias/billing-v1"},
				State: finding.StatePendingDeletion, DeletionDate: del(21), DaysLeft: 21, Severity: finding.SeverityMedium,
				Allowlisted: true, AllowReason: "Legacy pipeline retired; data re-encrypted under alias/orders-v2 (CHG-1042)", AllowExpires: "2026-12-31",
				Locations: []finding.Location{{Path: "legacy/billing.tf", Line: 7, Match: "alias/legacy-billing"}},
			},
			{
				RuleID: finding.RulePendingReplicaDeletion, Account: acct, Region: "us-east-1", KeyID: "mrk-fedcba9876543210fedcba9876543210",
				ARN: arn("us-east-1", "mrk-fedcba9876543210fedcba9876543210"), State: finding.StatePendingReplicaDeletion, MultiRegion: true,
				Severity: finding.SeverityMedium,
			},
			{
				RuleID: finding.RuleDisabled, Account: acct, Region: "eu-west-1", KeyID: "0f0f0f0f-1111-4222-8333-444444444444",
				ARN: arn("eu-west-1", "0f0f0f0f-1111-4222-8333-444444444444"), State: finding.StateDisabled, Severity: finding.SeverityLow,
			},
		},
	}
}

var fixtureOpts = Options{ToolVersion: "v1.4.0", Category: "prod-accounts"}

func TestBuildGolden(t *testing.T) {
	t.Parallel()
	got, _ := buildLog(t, fixture(), fixtureOpts)
	golden.Check(t, "golden.sarif", got)
	again, _ := buildLog(t, fixture(), fixtureOpts)
	if !bytes.Equal(got, again) {
		t.Error("Build is not deterministic")
	}
}

func TestRulesAndTool(t *testing.T) {
	t.Parallel()
	_, l := buildLog(t, finding.Result{}, Options{ToolVersion: "1.2.3-rc.1"})
	run := l.Runs[0]
	d := run.Tool.Driver
	if d.Name != "kms-deletion-gate" || d.Version != "1.2.3-rc.1" || d.SemanticVer != "1.2.3-rc.1" || d.InformationURI != DefaultInformationURI {
		t.Errorf("driver = %+v", d)
	}
	if run.AutomationDetails.ID != "kms-deletion-gate/" {
		t.Errorf("automationDetails.id = %q", run.AutomationDetails.ID)
	}
	if len(run.Results) != 0 {
		t.Errorf("%d results for an empty run", len(run.Results))
	}
	wantSev := map[string]string{finding.RulePendingDeletion: "8.0", finding.RulePendingReplicaDeletion: "8.0", finding.RuleDisabled: "3.0"}
	if len(d.Rules) != 3 {
		t.Fatalf("%d rules, want 3", len(d.Rules))
	}
	for _, r := range d.Rules {
		if r.Properties["security-severity"] != wantSev[r.ID] {
			t.Errorf("rule %s security-severity = %v, want %s", r.ID, r.Properties["security-severity"], wantSev[r.ID])
		}
		if r.ShortDescription.Text == "" || r.FullDescription.Text == "" || r.Help.Text == "" || r.Help.Markdown == "" {
			t.Errorf("rule %s lacks a description or help", r.ID)
		}
		if n := len([]rune(r.FullDescription.Text)); n > 1000 {
			t.Errorf("rule %s fullDescription has %d characters; GitHub allows 1000", r.ID, n)
		}
		tags, _ := r.Properties["tags"].([]any)
		if len(tags) == 0 || len(tags) > 10 || tags[0] != "security" {
			t.Errorf("rule %s tags = %v (want security first, at most 10 shown by GitHub)", r.ID, tags)
		}
		if r.Properties["precision"] == nil {
			t.Errorf("rule %s has no precision", r.ID)
		}
	}
	for _, id := range []string{finding.RulePendingDeletion, finding.RulePendingReplicaDeletion} {
		for _, r := range d.Rules {
			if r.ID != id {
				continue
			}
			for _, want := range []string{"Security Hub KMS.3", "Trend Micro Conformity KMS-004", "NIST 800-53 rev5 SC-12"} {
				if !strings.Contains(fmt.Sprint(r.Properties["tags"]), want) {
					t.Errorf("rule %s tags lack %q", id, want)
				}
			}
			for _, want := range []string{"aws kms cancel-key-deletion", "aws kms describe-key", "allowlist"} {
				if !strings.Contains(r.Help.Markdown, want) || !strings.Contains(r.Help.Text, want) {
					t.Errorf("rule %s help lacks %q", id, want)
				}
			}
		}
	}
}

func TestResults(t *testing.T) {
	t.Parallel()
	_, l := buildLog(t, fixture(), fixtureOpts)
	run := l.Runs[0]
	if run.AutomationDetails.ID != "prod-accounts/" {
		t.Errorf("automationDetails.id = %q", run.AutomationDetails.ID)
	}
	tests := []struct {
		name       string
		index      int
		rule       string
		level      string
		rank       float64
		title      string
		uri        string
		line       int
		related    int
		suppressed bool
	}{
		{"critical with iac references", 0, finding.RulePendingDeletion, "error", 95,
			"KMS key alias/orders in 111122223333/us-east-1 is scheduled for deletion on 2026-04-30 18:00 UTC (2 days left).",
			"infra/kms.tf", 12, 2, false},
		{"high without references", 1, finding.RulePendingDeletion, "error", 80,
			"KMS key mrk-0123456789abcdef0123456789abcdef in 111122223333/eu-west-1 is scheduled for deletion on 2026-05-04 10:48 UTC (6 days left).",
			DefaultFallbackFile, 1, 0, false},
		{"allowlisted medium", 2, finding.RulePendingDeletion, "warning", 55,
			"KMS key alias/legacy-billing (and 1 more aliases) in 111122223333/us-east-1 is scheduled for deletion on 2026-05-19 06:00 UTC (21 days left).",
			"legacy/billing.tf", 7, 0, true},
		{"replica pending", 3, finding.RulePendingReplicaDeletion, "warning", 55,
			"KMS key mrk-fedcba9876543210fedcba9876543210 in 111122223333/us-east-1 is a multi-Region primary waiting for its replicas to be deleted before it is deleted.",
			DefaultFallbackFile, 1, 0, false},
		{"disabled", 4, finding.RuleDisabled, "note", 30,
			"KMS key 0f0f0f0f-1111-4222-8333-444444444444 in 111122223333/eu-west-1 is disabled.",
			DefaultFallbackFile, 1, 0, false},
	}
	if len(run.Results) != len(tests) {
		t.Fatalf("%d results, want %d", len(run.Results), len(tests))
	}
	ruleIndex := map[string]int{}
	for i, r := range run.Tool.Driver.Rules {
		ruleIndex[r.ID] = i
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run.Results[tc.index]
			if r.RuleID != tc.rule || r.RuleIndex != ruleIndex[tc.rule] || r.Level != tc.level || r.Rank != tc.rank {
				t.Errorf("rule/index/level/rank = %s/%d/%s/%v, want %s/%d/%s/%v", r.RuleID, r.RuleIndex, r.Level, r.Rank, tc.rule, ruleIndex[tc.rule], tc.level, tc.rank)
			}
			if !strings.HasPrefix(r.Message.Text, tc.title+" ") {
				t.Errorf("message = %q\nwant it to start with %q", r.Message.Text, tc.title)
			}
			loc := r.Locations[0].PhysicalLocation
			if loc.ArtifactLocation.URI != tc.uri || loc.Region.StartLine != tc.line || loc.ArtifactLocation.URIBaseID != "" {
				t.Errorf("location = %+v, want %s:%d", loc, tc.uri, tc.line)
			}
			if len(r.RelatedLocations) != tc.related {
				t.Errorf("%d related locations, want %d", len(r.RelatedLocations), tc.related)
			}
			if (len(r.Suppressions) > 0) != tc.suppressed {
				t.Errorf("suppressions = %+v, want suppressed=%v", r.Suppressions, tc.suppressed)
			}
			if r.PartialFingerprints["primaryLocationLineHash"] == "" {
				t.Error("no primaryLocationLineHash")
			}
			for _, k := range []string{"account", "region", "arn", "aliases", "state", "severity"} {
				if _, ok := r.Properties[k]; !ok {
					t.Errorf("properties lack %q", k)
				}
			}
		})
	}
	crit := run.Results[0]
	for _, want := range []string{"Severity: critical.", "Last use: Decrypt, 12 days ago", "Scheduled by arn:aws:iam::111122223333:user/alice 4 days ago.",
		"cancel it with: aws kms cancel-key-deletion --key-id " + ordersK + " --region us-east-1"} {
		if !strings.Contains(crit.Message.Text, want) {
			t.Errorf("critical message lacks %q: %s", want, crit.Message.Text)
		}
	}
	if got := crit.RelatedLocations[1].PhysicalLocation.ArtifactLocation.URI; got != "cdk.out/App%20Stack.template.json" {
		t.Errorf("related URI = %q, want percent-encoded", got)
	}
	if crit.RelatedLocations[0].ID != 1 || crit.RelatedLocations[1].ID != 2 {
		t.Errorf("related location ids = %d, %d", crit.RelatedLocations[0].ID, crit.RelatedLocations[1].ID)
	}
	lu, _ := crit.Properties["last_use"].(map[string]any)
	if lu["operation"] != "Decrypt" || crit.Properties["deletion_date"] != "2026-04-30T18:00:00Z" || crit.Properties["days_left"] != 2.5 {
		t.Errorf("critical properties = %v", crit.Properties)
	}
	if !strings.Contains(run.Results[1].Message.Text, "Last use: none recorded.") {
		t.Errorf("untracked-use message: %s", run.Results[1].Message.Text)
	}
	notes := run.Invocations[0].ToolExecutionNotifications
	if len(notes) != 2 || notes[0].Level != "error" || !strings.Contains(notes[0].Message.Text, "444455556666/ap-south-1") || notes[1].Level != "warning" {
		t.Errorf("notifications = %+v", notes)
	}
}

func TestAllowlisted(t *testing.T) {
	t.Parallel()
	res := fixture()
	res.Findings[2].AllowReason = ""
	tests := []struct {
		name          string
		opts          Options
		wantResults   int
		justification string
	}{
		{"suppressed by default", Options{}, 5, "Accepted by the kms-deletion-gate allowlist."},
		{"omitted when asked", Options{OmitAllowlisted: true}, 4, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, l := buildLog(t, res, tc.opts)
			results := l.Runs[0].Results
			if len(results) != tc.wantResults {
				t.Fatalf("%d results, want %d", len(results), tc.wantResults)
			}
			suppressed := 0
			for _, r := range results {
				allow, _ := r.Properties["allowlisted"].(bool)
				if allow != (len(r.Suppressions) == 1) {
					t.Errorf("%s: allowlisted=%v but suppressions=%+v", r.Message.Text, allow, r.Suppressions)
				}
				if allow {
					suppressed++
					s := r.Suppressions[0]
					// GitHub closes an alert whose suppression is accepted.
					if s.Kind != "external" || s.Status != "accepted" || s.Justification != tc.justification {
						t.Errorf("suppression = %+v", s)
					}
				}
			}
			if want := 5 - tc.wantResults; (suppressed == 0) == (want == 0) {
				t.Errorf("%d suppressed results with OmitAllowlisted=%v", suppressed, tc.opts.OmitAllowlisted)
			}
		})
	}
	_, l := buildLog(t, fixture(), Options{})
	if got := l.Runs[0].Results[2].Suppressions[0].Justification; got != "Legacy pipeline retired; data re-encrypted under alias/orders-v2 (CHG-1042)" {
		t.Errorf("justification = %q", got)
	}
}

func TestFingerprintStable(t *testing.T) {
	t.Parallel()
	first := fixture()
	second := fixture()
	second.ScanTime = scanTime.Add(26 * time.Hour)
	for i := range second.Findings {
		f := &second.Findings[i]
		f.DaysLeft--
		f.Severity = finding.SeverityCritical
		f.Description = "changed"
		f.LastUse = nil
		for j := range f.Locations {
			f.Locations[j].Line += 5
		}
	}
	_, a := buildLog(t, first, Options{})
	_, b := buildLog(t, second, Options{Category: "other"})
	seen := map[string]bool{}
	for i := range a.Runs[0].Results {
		fa, fb := a.Runs[0].Results[i].PartialFingerprints, b.Runs[0].Results[i].PartialFingerprints
		if fa["primaryLocationLineHash"] != fb["primaryLocationLineHash"] || fa[fingerprintVersion] != fb[fingerprintVersion] {
			t.Errorf("result %d: fingerprints changed across runs: %v -> %v", i, fa, fb)
		}
		if seen[fa["primaryLocationLineHash"]] {
			t.Errorf("result %d: fingerprint %s not unique", i, fa["primaryLocationLineHash"])
		}
		seen[fa["primaryLocationLineHash"]] = true
	}
	// Rule and ARN are what identify a finding.
	f := first.Findings[0]
	g := f
	g.RuleID = finding.RuleDisabled
	h := f
	h.ARN = arn("us-west-2", ordersK)
	noARN := f
	noARN.ARN = ""
	if Fingerprint(f) == Fingerprint(g) || Fingerprint(f) == Fingerprint(h) || Fingerprint(f) != Fingerprint(noARN) {
		t.Error("Fingerprint must depend on the rule and the ARN (built from account, region and id when missing) only")
	}
}

func TestCategoryAndOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     Options
		category string
		uri      string
		baseID   string
		wantErr  bool
	}{
		{"defaults", Options{}, "kms-deletion-gate/", DefaultFallbackFile, "", false},
		{"category gets a slash", Options{Category: "org/shard-1"}, "org/shard-1/", DefaultFallbackFile, "", false},
		{"category keeps its slash", Options{Category: "shard-2/"}, "shard-2/", DefaultFallbackFile, "", false},
		{"fallback file cleaned", Options{FallbackFile: "./.github/workflows/gate.yml"}, "kms-deletion-gate/", ".github/workflows/gate.yml", "", false},
		{"src root", Options{SrcRootURI: "file:///home/runner/work/r/r/"}, "kms-deletion-gate/", DefaultFallbackFile, SrcRootBaseID, false},
		{"absolute fallback rejected", Options{FallbackFile: "/etc/passwd"}, "", "", "", true},
		{"escaping fallback rejected", Options{FallbackFile: "../x.yml"}, "", "", "", true},
		{"relative src root rejected", Options{SrcRootURI: "work/"}, "", "", "", true},
		{"src root without slash rejected", Options{SrcRootURI: "file:///work"}, "", "", "", true},
	}
	res := finding.Result{Findings: fixture().Findings[1:2]}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.wantErr {
				if _, err := Build(res, tc.opts); err == nil {
					t.Fatal("Build succeeded, want an error")
				}
				return
			}
			_, l := buildLog(t, res, tc.opts)
			run := l.Runs[0]
			if run.AutomationDetails.ID != tc.category {
				t.Errorf("automationDetails.id = %q, want %q", run.AutomationDetails.ID, tc.category)
			}
			al := run.Results[0].Locations[0].PhysicalLocation.ArtifactLocation
			if al.URI != tc.uri || al.URIBaseID != tc.baseID {
				t.Errorf("artifactLocation = %+v, want %s (base %q)", al, tc.uri, tc.baseID)
			}
			if tc.baseID != "" && run.OriginalURIBaseIDs[tc.baseID].URI != tc.opts.SrcRootURI {
				t.Errorf("originalUriBaseIds = %v", run.OriginalURIBaseIDs)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sev   finding.Severity
		level string
	}{
		{finding.SeverityCritical, "error"},
		{finding.SeverityHigh, "error"},
		{finding.SeverityMedium, "warning"},
		{finding.SeverityLow, "note"},
		{finding.SeverityNone, "note"},
	}
	for _, tc := range tests {
		if got := level(tc.sev); got != tc.level {
			t.Errorf("level(%s) = %s, want %s", tc.sev, got, tc.level)
		}
	}
}

func TestMaxResults(t *testing.T) {
	t.Parallel()
	var res finding.Result
	sevs := []finding.Severity{finding.SeverityLow, finding.SeverityMedium, finding.SeverityCritical, finding.SeverityHigh}
	for i := range 8 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		res.Findings = append(res.Findings, finding.Finding{
			RuleID: finding.RulePendingDeletion, Account: acct, Region: "us-east-1", KeyID: id, ARN: arn("us-east-1", id),
			Severity: sevs[i%4], Allowlisted: i == 2,
		})
	}
	_, l := buildLog(t, res, Options{MaxResults: 3})
	var got []string
	for _, r := range l.Runs[0].Results {
		got = append(got, r.Properties["key_id"].(string)[24:]+"/"+r.Properties["severity"].(string))
	}
	// Kept: the unapproved critical (6) and the two highs (3, 7), in input order.
	want := []string{"000000000003/high", "000000000006/critical", "000000000007/high"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	notes := l.Runs[0].Invocations[0].ToolExecutionNotifications
	if len(notes) != 1 || !strings.Contains(notes[0].Message.Text, "5 findings were left out") {
		t.Errorf("notifications = %+v", notes)
	}
}

func TestManyLocations(t *testing.T) {
	t.Parallel()
	f := fixture().Findings[1]
	for i := range 250 {
		f.Locations = append(f.Locations, finding.Location{Path: "big.tf", Line: i + 1, Match: f.KeyID})
	}
	_, l := buildLog(t, finding.Result{Findings: []finding.Finding{f}}, Options{})
	if n := len(l.Runs[0].Results[0].RelatedLocations); n != maxRelatedLocations {
		t.Errorf("%d related locations, want %d", n, maxRelatedLocations)
	}
}

const hostile = "::add-mask::x\n::error::pwned @org/team <img src=x> | [click](1) \\ \u202egnp.exe\r\n##[group]x "

// hostileFinding carries hostile text of 10,000+ characters in every field AWS
// or the config controls.
func hostileFinding() finding.Finding {
	hostile := hostile + strings.Repeat("A", 10_000)
	f := fixture().Findings[0]
	f.Description = hostile
	f.Aliases = []string{"alias/" + hostile, "alias/ok"}
	f.AllowReason = hostile
	f.Allowlisted = true
	f.InUseReason = hostile
	f.LastUse.Operation = hostile
	f.ScheduledBy.Principal = hostile
	f.Locations[0].Match = hostile
	f.Locations[1].Path = "infra/" + hostile[:60] + ".tf"
	f.KeyID = "99999999-0000-4000-8000-000000000009"
	f.ARN = arn("us-east-1", f.KeyID)
	return f
}

func TestHostileText(t *testing.T) {
	t.Parallel()
	hostile := hostile + strings.Repeat("A", 10_000)
	f := hostileFinding()
	res := finding.Result{ScanTime: scanTime, Findings: []finding.Finding{f},
		Errors: []finding.ScanError{{Account: hostile, Region: hostile, Stage: hostile, Message: hostile}}, Warnings: []string{hostile}}
	b, l := buildLog(t, res, Options{})
	if len(b) > 200_000 {
		t.Errorf("log is %d bytes: untrusted text is not capped", len(b))
	}
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "::") || strings.HasPrefix(trimmed, "##[") {
			t.Errorf("line %d starts a workflow command: %q", i+1, line)
		}
	}
	var strs []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			strs = append(strs, v)
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	walk(doc)
	for _, s := range strs {
		for _, r := range s {
			if r == '\u202e' || (unicode.IsControl(r) && r != '\n') {
				t.Fatalf("control or bidi character %U survived in %q", r, s[:min(len(s), 80)])
			}
		}
		if strings.Contains(s, "AAAA") && len([]rune(s)) > 4000 { // the sum of the caps of a message's parts
			t.Errorf("string of %d runes is not capped", len([]rune(s)))
		}
	}
	msg := l.Runs[0].Results[0].Message.Text
	if strings.Contains(msg, "[click](1)") || !strings.Contains(msg, `\[click\](1)`) {
		t.Errorf("embedded link not escaped in message: %.300s", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Error("message holds a newline")
	}
}

// TestWriteSample writes a sample log, for scripts/validate-sarif.sh:
//
//	go test ./internal/report/sarif -run TestWriteSample -sample-out=out/sample.sarif
//
// Without -sample-out it writes into a temporary directory and checks the file.
func TestWriteSample(t *testing.T) {
	out := *sampleOut
	if out == "" {
		out = filepath.Join(t.TempDir(), "sample.sarif")
	} else if !filepath.IsAbs(out) {
		// go test runs in the package directory; resolve against the module root.
		out = filepath.Join("..", "..", "..", out)
	}
	res := fixture()
	res.Findings = append(res.Findings, hostileFinding())
	if err := WriteFile(out, res, fixtureOpts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sarifcheck.Validate(t, b)
	t.Logf("wrote %s", out)
}

func TestChooseFallbackFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		files       []string
		configPath  string
		workflowRef string
		want        string
	}{
		{"nothing exists", nil, "", "", DefaultFallbackFile},
		{"default config exists", []string{DefaultFallbackFile}, "", "o/r/.github/workflows/gate.yml@refs/heads/main", DefaultFallbackFile},
		{"custom config wins", []string{"ci/kms.yml", DefaultFallbackFile}, "ci/kms.yml", "", "ci/kms.yml"},
		{"absolute config inside root", []string{"ci/kms.yml"}, "ROOT/ci/kms.yml", "", "ci/kms.yml"},
		{"workflow file when no config", []string{".github/workflows/gate.yml"}, "missing.yml", "o/r/.github/workflows/gate.yml@refs/pull/1/merge", ".github/workflows/gate.yml"},
		{"config outside root ignored", []string{".github/workflows/gate.yml"}, "../x.yml", "o/r/.github/workflows/gate.yml@main", ".github/workflows/gate.yml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			for _, f := range tc.files {
				p := filepath.Join(root, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg := strings.Replace(tc.configPath, "ROOT", root, 1)
			if got := ChooseFallbackFile(root, cfg, tc.workflowRef); got != tc.want {
				t.Errorf("ChooseFallbackFile = %q, want %q", got, tc.want)
			}
		})
	}
}
