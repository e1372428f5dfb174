package config_test

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

const cfgPath = ".github/kms-deletion-gate.yml"

// loadPR loads the settings of a pull request run whose checkout holds head
// (no file when empty), with args given on the command line.
func loadPR(t *testing.T, head string, args ...string) config.Settings {
	t.Helper()
	files := map[string]string{}
	if head != "" {
		files[cfgPath] = head
	}
	s, err := config.Load(args, env(map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, files), io.Discard)
	if err != nil {
		t.Fatalf("head config: %v", err)
	}
	return s
}

func baseFile(text string) config.BaseFile {
	return config.BaseFile{Path: cfgPath, Data: []byte(text), Found: true}
}

func changesText(cs []finding.SettingChange) string {
	var parts []string
	for _, c := range cs {
		mark := "held"
		if c.Applied {
			mark = "applied"
		}
		if c.BaseUnread {
			mark += ",unread"
		}
		parts = append(parts, fmt.Sprintf("%s %s->%s %s", c.Setting, c.Base, c.Head, mark))
	}
	return strings.Join(parts, "; ")
}

func TestForPullRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		head    string
		args    []string
		base    config.BaseFile
		check   func(s config.Settings) bool
		changes string
	}{
		{"fail-on loosened is held", "fail-on: none\n", nil, baseFile("fail-on: high\n"),
			func(s config.Settings) bool { return s.FailOn == finding.SeverityHigh }, "fail-on high->none held"},
		{"fail-on loosened against the base's default", "fail-on: none\n", nil, baseFile("regions: all\n"),
			func(s config.Settings) bool { return s.FailOn == finding.SeverityMedium }, "fail-on medium->none held"},
		{"fail-on tightened applies", "fail-on: low\n", nil, baseFile("fail-on: high\n"),
			func(s config.Settings) bool { return s.FailOn == finding.SeverityLow }, "fail-on high->low applied"},
		{"an input keeps its precedence", "fail-on: none\n", []string{"--fail-on", "none"}, baseFile("fail-on: high\n"),
			func(s config.Settings) bool { return s.FailOn == finding.SeverityNone }, ""},
		{"days: the larger of each", "critical-days: 1\nhigh-days: 20\nrecent-use-days: 0\n", nil, baseFile("critical-days: 5\nhigh-days: 10\nrecent-use-days: 60\n"),
			func(s config.Settings) bool { return s.CriticalDays == 5 && s.HighDays == 20 && s.RecentUseDays == 60 },
			"critical-days 5->1 held; high-days 10->20 applied; recent-use-days 60->0 held"},
		{"booleans: true is stricter", "include-disabled: true\ncloudtrail: false\nmask-account-ids: false\n", nil, baseFile("mask-account-ids: true\n"),
			func(s config.Settings) bool { return s.IncludeDisabled && s.CloudTrail && s.MaskAccountIDs },
			"cloudtrail true->false held; include-disabled false->true applied; mask-account-ids true->false held"},
		{"on-scan-error and timeout", "on-scan-error: warn\ntimeout: 1s\n", nil, baseFile("timeout: 20m\n"),
			func(s config.Settings) bool {
				return s.OnScanError == config.ScanErrorFail && s.Timeout == 20*time.Minute
			},
			"on-scan-error fail->warn held; timeout 20m->1s held"},
		{"a longer timeout applies", "timeout: 1h\n", nil, baseFile("timeout: 900s\n"),
			func(s config.Settings) bool { return s.Timeout == time.Hour }, "timeout 900s->1h applied"},
		{"an equal duration written otherwise is no change", "timeout: 15m\n", nil, baseFile("timeout: 900s\n"),
			func(s config.Settings) bool { return s.Timeout == 15*time.Minute }, ""},
		{"scope comes from the base", "regions: [eu-west-1]\naccounts: [\"111122223333\"]\nrole-name: audit\n", nil, baseFile("regions: us-east-1, us-west-2\n"),
			func(s config.Settings) bool {
				return strings.Join(s.Regions, ",") == "us-east-1,us-west-2" && len(s.Accounts) == 0 && s.RoleName == ""
			},
			"regions us-east-1, us-west-2->eu-west-1 held; accounts ->111122223333 held; role-name ->audit held"},
		{"a list written otherwise is no change", "regions: [us-east-1, us-west-2]\n", nil, baseFile("regions: \"us-east-1,\\n  us-west-2\"\n"),
			func(s config.Settings) bool { return strings.Join(s.Regions, ",") == "us-east-1,us-west-2" }, ""},
		{"remediation comes from the base, both ways", "remediate: none\nremediate-on: critical\nmax-concurrency: 1\n", nil, baseFile("remediate: cancel\n"),
			func(s config.Settings) bool {
				return s.Remediate == config.RemediateCancel && s.RemediateOn == finding.SeverityMedium && s.MaxConcurrency == 1024
			},
			"remediate cancel->none held; remediate-on medium->critical held; max-concurrency 1024->1 held"},
		{"report settings come from the pull request", "sarif-file: other.sarif\ncomment: off\ncategory: x\n", nil, baseFile("comment: upsert\n"),
			func(s config.Settings) bool {
				return s.SARIFFile == "other.sarif" && s.Comment == config.CommentOff && s.Category == "x"
			}, ""},
		{"the base has no file: its values are the defaults", "fail-on: none\nregions: eu-west-1\n", nil, config.BaseFile{Path: cfgPath},
			func(s config.Settings) bool { return s.FailOn == finding.SeverityMedium && s.Regions == nil },
			"regions all->eu-west-1 held; fail-on medium->none held"},
		{"the pull request removes the file", "", nil, baseFile("fail-on: high\nregions: eu-west-1\n"),
			func(s config.Settings) bool {
				return s.FailOn == finding.SeverityMedium && strings.Join(s.Regions, ",") == "eu-west-1"
			},
			"regions eu-west-1->all held; fail-on high->medium applied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := loadPR(t, tc.head, tc.args...)
			got, changes, err := s.ForPullRequest(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("settings: %+v", got)
			}
			if c := changesText(changes); c != tc.changes {
				t.Errorf("changes:\n got %s\nwant %s", c, tc.changes)
			}
			for _, c := range changes {
				if c.File != cfgPath {
					t.Errorf("change %s names file %q", c.Setting, c.File)
				}
			}
			if len(got.Warnings) != 0 {
				t.Errorf("warnings: %v", got.Warnings)
			}
		})
	}
}

// TestForPullRequestBaseUnread: when the base file cannot be read or is
// invalid, thresholds are the stricter of the pull request's and the
// defaults, scope is the pull request's, remediation at most plan, and a
// warning says why.
// TestForPullRequestSameFiles: with the base branch's file equal to the
// pull request's, the settings are Load's, every field of them.
func TestForPullRequestSameFiles(t *testing.T) {
	t.Parallel()
	file := "fail-on: high\nregions: [us-east-1]\naccounts: [\"111122223333\"]\nrole-name: audit/kdg\nremediate: plan\n" +
		"include-disabled: true\ntimeout: 5m\ncomment: off\nallow:\n  - alias: alias/old\n    reason: retired\n    expires: 2026-12-01\n"
	s := loadPR(t, file, "--role-to-assume", "arn:aws:iam::111122223333:role/gate", "--aws-region", "us-east-1", "--role-session-name", "s1")
	got, changes, err := s.ForPullRequest(baseFile(file))
	if err != nil || len(changes) != 0 {
		t.Fatalf("changes %v, error %v", changes, err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("settings differ:\n got %+v\nwant %+v", got, s)
	}
}

func TestForPullRequestBaseUnread(t *testing.T) {
	t.Parallel()
	head := "fail-on: none\ncritical-days: 10\nhigh-days: 12\nregions: eu-west-1\nremediate: cancel\non-scan-error: warn\n"
	tests := []struct {
		name   string
		base   config.BaseFile
		reason string
	}{
		{"no token", config.BaseFile{Path: cfgPath, Unreadable: "no github-token"}, "(no github-token)"},
		{"invalid YAML", baseFile("fail-on: [\n"), ".github/kms-deletion-gate.yml@base:1: invalid YAML"},
		{"unknown field", baseFile("fail-on: high\nfail-never: true\n"), "@base:2: fail-never: unknown field"},
		{"bad value", baseFile("fail-on: sometimes\n"), `@base:1: fail-on: unknown severity "sometimes"`},
		{"invalid with this run's inputs", baseFile("organization: true\n"), "organization: true needs role-name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, changes, err := loadPR(t, head).ForPullRequest(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			if got.FailOn != finding.SeverityMedium || got.CriticalDays != 10 || got.HighDays != 12 || got.OnScanError != config.ScanErrorFail ||
				strings.Join(got.Regions, ",") != "eu-west-1" || got.Remediate != config.RemediatePlan {
				t.Errorf("settings: %+v", got)
			}
			if c, want := changesText(changes), "fail-on medium->none held,unread; remediate plan->cancel held,unread; on-scan-error fail->warn held,unread"; c != want {
				t.Errorf("changes:\n got %s\nwant %s", c, want)
			}
			w := strings.Join(got.Warnings, "\n")
			if !strings.Contains(w, "could not be read") || !strings.Contains(w, tc.reason) || !strings.Contains(w, "remediate goes no further than plan") || !strings.Contains(w, "config file "+cfgPath+" could not be read") {
				t.Errorf("warning %q lacks %q", w, tc.reason)
			}
		})
	}
}

// TestForPullRequestNoFileAnywhere: without a file of its own, a pull
// request whose base cannot be read runs with the defaults, and nothing is
// said about it.
func TestForPullRequestNoFileAnywhere(t *testing.T) {
	t.Parallel()
	s := loadPR(t, "")
	got, changes, err := s.ForPullRequest(config.BaseFile{Path: cfgPath, Unreadable: "an API error"})
	if err != nil || len(changes) != 0 || len(got.Warnings) != 0 || got.FailOn != finding.SeverityMedium || got.Regions != nil {
		t.Errorf("settings %+v, changes %v, error %v", got, changes, err)
	}
}

// TestEveryFileSettingHasAPullRequestRule: a new config-file setting must
// be given a rule, and no secret may be a config-file setting (the changes
// print values).
func TestEveryFileSettingHasAPullRequestRule(t *testing.T) {
	t.Parallel()
	rules := map[string]config.PRRule{}
	for _, r := range config.PullRequestRules() {
		rules[r.Name] = r.Rule
		if r.Rule == config.PRStricter && r.Stricter == "" {
			t.Errorf("%s: stricter rule without saying which value is stricter", r.Name)
		}
	}
	for _, in := range config.Inputs {
		if in.InFile && in.Secret {
			t.Errorf("%s is secret and a config-file setting", in.Name)
		}
		if _, ok := rules[in.Name]; in.InFile != ok {
			t.Errorf("%s: in file %v, has a pull request rule %v", in.Name, in.InFile, ok)
		}
	}
	for name, want := range map[string]config.PRRule{"fail-on": config.PRStricter, "regions": config.PRBase, "accounts": config.PRBase,
		"organization": config.PRBase, "role-name": config.PRBase, "remediate": config.PRBase, "comment": config.PRHead} {
		if rules[name] != want {
			t.Errorf("%s: rule %q, want %q", name, rules[name], want)
		}
	}
}

func TestReadmePullRequestSettingsTable(t *testing.T) {
	var b strings.Builder
	b.WriteString("| config-file setting | value on a pull request | when the base branch's file cannot be read |\n|---|---|---|\n")
	for _, r := range config.PullRequestRules() {
		rule := map[config.PRRule]string{
			config.PRStricter: "stricter of base and pull request: " + r.Stricter,
			config.PRBase:     "base branch's",
			config.PRHead:     "pull request's",
		}[r.Rule]
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Name, rule, r.Unread)
	}
	if got := readmeTable(t, "pr-settings"); got != b.String() {
		t.Errorf("README pull request settings table is out of date; replace it with:\n%s", b.String())
	}
}
