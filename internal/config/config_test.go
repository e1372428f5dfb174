package config_test

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func env(vars map[string]string, files map[string]string) config.Env {
	return config.Env{
		Getenv: func(k string) string { return vars[k] },
		ReadFile: func(p string) ([]byte, error) {
			if s, ok := files[p]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		Now: now,
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	s, err := config.Load(nil, env(nil, nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Regions != nil || s.FailOn != finding.SeverityMedium || s.CriticalDays != 3 || s.HighDays != 7 ||
		s.RecentUseDays != 30 || !s.CloudTrail || s.IncludeDisabled || s.OnScanError != config.ScanErrorFail ||
		s.MaxConcurrency != 1024 || s.Timeout != 15*time.Minute || s.Remediate != config.RemediateNone || s.Comment != config.CommentUpsert ||
		s.ConfigPath != "" || s.Audience != "sts.amazonaws.com" || s.GitHubToken != "" {
		t.Errorf("defaults = %+v", s)
	}
}

func TestActionInputsAndPrecedence(t *testing.T) {
	t.Parallel()
	file := "fail-on: high\nregions: [us-east-1, eu-west-1]\ncritical-days: 2\n"
	vars := map[string]string{
		"GITHUB_ACTIONS":         "true",
		"INPUT_FAIL-ON":          "medium", // equal to the default: does not override the file
		"INPUT_CRITICAL-DAYS":    "1",      // given: overrides the file
		"INPUT_INCLUDE-DISABLED": "true",
		"INPUT_GITHUB-TOKEN":     "ghs_secret",
	}
	s, err := config.Load(nil, env(vars, map[string]string{".github/kms-deletion-gate.yml": file}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !s.InActions || s.FailOn != finding.SeverityHigh || s.CriticalDays != 1 || !s.IncludeDisabled ||
		strings.Join(s.Regions, ",") != "us-east-1,eu-west-1" || s.GitHubToken != "ghs_secret" || s.ConfigPath != ".github/kms-deletion-gate.yml" {
		t.Errorf("settings = %+v", s)
	}
	// Flags beat the file too.
	s, err = config.Load([]string{"--fail-on", "critical", "--regions", "ap-south-1"}, env(nil, map[string]string{".github/kms-deletion-gate.yml": file}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.FailOn != finding.SeverityCritical || strings.Join(s.Regions, ",") != "ap-south-1" {
		t.Errorf("flags did not win: %+v", s)
	}
}

func TestAllowlistParsed(t *testing.T) {
	t.Parallel()
	file := `allow:
  - key: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab  # ARN
    reason: "Legacy pipeline retired (CHG-1042)"
    expires: 2026-12-31
  - alias: alias/tmp-*
    account: "111122223333"
    region: eu-west-1
    reason: Scratch keys
    expires: 2027-01-15
`
	s, err := config.Load([]string{"--config", "kdg.yml"}, env(nil, map[string]string{"kdg.yml": file}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Allow) != 2 {
		t.Fatalf("allow = %+v", s.Allow)
	}
	a, b := s.Allow[0], s.Allow[1]
	if a.Key != "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" || a.Reason != "Legacy pipeline retired (CHG-1042)" || a.ExpiresText() != "2026-12-31" || a.Source != "kdg.yml:2" {
		t.Errorf("entry 0 = %+v", a)
	}
	if b.Alias != "alias/tmp-*" || b.Account != "111122223333" || b.Region != "eu-west-1" || b.ExpiresText() != "2027-01-15" {
		t.Errorf("entry 1 = %+v", b)
	}
	if a.Expired(now) || !a.Expired(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || a.Expired(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)) {
		t.Error("an entry applies through the end of its expiry day (UTC) and not after")
	}
}

func TestBadConfigNamesFileLineField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file string
		want       string // substring of the error
	}{
		{"unknown top-level field", "fail_on: high\n", "kdg.yml:1: fail_on: unknown field"},
		{"unknown entry field", "allow:\n  - key: abc\n    reason: r\n    expires: 2027-01-01\n    owner: me\n", "kdg.yml:5: allow[0].owner: unknown field"},
		{"bad date", "allow:\n  - key: abc\n    reason: r\n    expires: 2027-13-01\n", "kdg.yml:4: allow[0].expires: \"2027-13-01\" is not a date"},
		{"date with time", "allow:\n  - key: abc\n    reason: r\n    expires: 2027-01-01T00:00:00Z\n", "kdg.yml:4: allow[0].expires"},
		{"missing reason", "allow:\n  - key: abc\n    expires: 2027-01-01\n", "kdg.yml:2: allow[0].reason: is required"},
		{"missing expires", "allow:\n  - key: abc\n    reason: r\n", "kdg.yml:2: allow[0].expires: is required"},
		{"no selector", "allow:\n  - reason: r\n    expires: 2027-01-01\n", "kdg.yml:2: allow[0]: needs key or alias"},
		{"bad glob", "allow:\n  - key: 'alias/[tmp'\n    reason: r\n    expires: 2027-01-01\n", "kdg.yml:2: allow[0].key: \"alias/[tmp\" is not a valid glob"},
		{"bad arn", "allow:\n  - key: arn:aws:s3:::bucket\n    reason: r\n    expires: 2027-01-01\n", "kdg.yml:2: allow[0].key: \"arn:aws:s3:::bucket\" is not a KMS key or alias ARN"},
		{"alias without prefix", "allow:\n  - alias: orders\n    reason: r\n    expires: 2027-01-01\n", "kdg.yml:2: allow[0].alias: \"orders\" must start with alias/"},
		{"bad account", "allow:\n  - key: k\n    account: 1234\n    reason: r\n    expires: 2027-01-01\n", "kdg.yml:3: allow[0].account"},
		{"malformed region in entry", "allow:\n  - key: k\n    region: us-east-nine\n    reason: r\n    expires: 2027-01-01\n", "kdg.yml:3: allow[0].region: \"us-east-nine\" is not an AWS region name"},
		{"duplicate entry", "allow:\n  - key: k\n    reason: r\n    expires: 2027-01-01\n  - key: k\n    reason: r2\n    expires: 2027-01-02\n", "kdg.yml:5: allow[1]: duplicates the entry on line 2"},
		{"wrong type", "allow:\n  key: k\n", "kdg.yml:2: allow: must be a list"},
		{"entry not a mapping", "allow:\n  - k\n", "kdg.yml:2: allow[0]: must be a mapping"},
		{"setting wrong type", "fail-on:\n  a: b\n", "kdg.yml:2: fail-on: must be a value or a list"},
		{"bad severity", "fail-on: severe\n", "kdg.yml:1: fail-on: unknown severity \"severe\""},
		{"negative threshold", "critical-days: -1\n", "kdg.yml:1: critical-days: -1 is out of range"},
		{"high below critical", "critical-days: 5\nhigh-days: 2\n", "kdg.yml:2: high-days: 2 is less than critical-days (5)"},
		{"unknown region", "regions: [us-east-1, moon-1]\n", "kdg.yml:1: regions: \"moon-1\" is not an AWS region name"},
		{"invalid yaml", "allow: [\n", "kdg.yml:1: invalid YAML"},
		{"root not a mapping", "- a\n", "kdg.yml:1: the config file must be a mapping"},
		{"anchors refused", "allow: &a\n  - key: k\n    reason: r\n    expires: 2027-01-01\nfail-on: *a\n", "kdg.yml:1: YAML anchors and aliases are not allowed"},
		{"field twice", "fail-on: high\nfail-on: low\n", "kdg.yml:2: fail-on: given twice (first on line 1)"},
		{"bad bool", "cloudtrail: maybe\n", "kdg.yml:1: cloudtrail: \"maybe\" is not true or false"},
		{"bad duration", "timeout: forever\n", "kdg.yml:1: timeout: \"forever\" is not a duration"},
		{"account id without role", "accounts: \"222222222222\"\n", "kdg.yml:1: accounts: account ID 222222222222 needs role-name"},
		{"huge file", "#" + strings.Repeat("x", 2<<20) + "\n", "kdg.yml: config file is"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load([]string{"--config", "kdg.yml"}, env(nil, map[string]string{"kdg.yml": tc.file}), io.Discard)
			if err == nil {
				t.Fatalf("no error for %q", tc.file)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %q\nwant it to contain %q", err, tc.want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error", err)
			}
		})
	}
}

func TestBadInputsNameTheInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"flag region", []string{"--regions", "us-east-1,nowhere"}, nil, "flag --regions: \"nowhere\" is not an AWS region name"},
		{"input fail-on", nil, map[string]string{"GITHUB_ACTIONS": "true", "INPUT_FAIL-ON": "sometimes"}, "input fail-on: unknown severity"},
		{"input concurrency", nil, map[string]string{"GITHUB_ACTIONS": "true", "INPUT_MAX-CONCURRENCY": "0"}, "input max-concurrency: 0 is out of range"},
		{"role arn", []string{"--role-to-assume", "admin"}, nil, "flag --role-to-assume: \"admin\" is not an IAM role ARN"},
		{"unknown flag", []string{"--fail-onn", "high"}, nil, "command line: flag provided but not defined: -fail-onn"},
		{"stray argument", []string{"scan"}, nil, "unexpected argument \"scan\""},
		{"missing explicit config", []string{"--config", "missing.yml"}, nil, "missing.yml: cannot read config file"},
		{"organization without role", []string{"--organization", "true"}, nil, "flag --organization: organization: true needs role-name"},
		{"aws-region malformed", []string{"--aws-region", "gov-west"}, nil, "flag --aws-region: \"gov-west\" is not an AWS region name"},
		{"region with a host name", []string{"--regions", "us-east-1.evil.example"}, nil, "is not an AWS region name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tc.args, env(tc.vars, nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestHelpListsEveryInput(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	s, err := config.Load([]string{"--help"}, env(nil, nil), &b)
	if err != nil || !s.Help {
		t.Fatalf("help: %v %+v", err, s)
	}
	for _, in := range config.Inputs {
		if !strings.Contains(b.String(), "--"+in.Name+" ") {
			t.Errorf("--help does not document --%s", in.Name)
		}
	}
}

// Region names are judged by the AWS SDK's partition metadata: a name the
// pinned SDK lists is taken silently, a well-formed name it does not list
// (a region launched later) is taken with a warning naming it, in any
// partition.
func TestRegionsFromThePartitionMetadata(t *testing.T) {
	t.Parallel()
	cases := []struct {
		regions  string
		warnings []string // regions warned about
	}{
		{"us-east-1,eu-west-1", nil},
		{"us-gov-west-1,us-gov-east-1", nil},
		{"cn-north-1,cn-northwest-1", nil},
		{"us-east-1,ap-future-9", []string{"ap-future-9"}},
		{"ap-future-9,ap-future-9", []string{"ap-future-9"}},
		{"us-gov-north-7,cn-far-2", []string{"us-gov-north-7", "cn-far-2"}},
	}
	for _, tc := range cases {
		s, err := config.Load([]string{"--regions", tc.regions}, env(nil, nil), io.Discard)
		if err != nil {
			t.Errorf("%s: %v", tc.regions, err)
			continue
		}
		if len(s.Warnings) != len(tc.warnings) {
			t.Errorf("%s: warnings %q, want one each for %v", tc.regions, s.Warnings, tc.warnings)
			continue
		}
		for i, r := range tc.warnings {
			if !strings.Contains(s.Warnings[i], "region "+r+" ") || !strings.Contains(s.Warnings[i], "scanning it anyway") {
				t.Errorf("%s: warning %q does not name %s", tc.regions, s.Warnings[i], r)
			}
		}
	}
	s, err := config.Load([]string{"--aws-region", "us-gov-west-1"}, env(nil, nil), io.Discard)
	if err != nil || s.AWSRegion != "us-gov-west-1" {
		t.Errorf("aws-region: %q, %v", s.AWSRegion, err)
	}
}
