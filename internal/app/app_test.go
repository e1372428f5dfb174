package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/kmsfake"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

type seeded struct {
	pending  map[string]int // key id -> window days
	disabled string
	healthy  string
	aliases  map[string]string // key id -> alias
}

// seed creates, in each region, keys pending deletion 7, 11 and 30 days out
// (moto, like AWS, only honours windows of 7 to 30 days), a disabled key and a
// healthy key. Runs judge them as of five days later: 2, 6 and 25 days left.
func seed(t *testing.T, srv *moto.Server, regions ...string) seeded {
	t.Helper()
	s := seeded{pending: map[string]int{}, aliases: map[string]string{}}
	for _, r := range regions {
		for _, days := range []int{2, 6, 25} {
			alias := "alias/app-" + r + "-" + string(rune('a'+days))
			k := srv.Seed(t, r, moto.Key{Description: "pending", Alias: alias, PendingDays: days + shiftDays})[0]
			s.pending[k.ID] = days
			s.aliases[k.ID] = alias
		}
		if r == regions[0] {
			s.disabled = srv.Seed(t, r, moto.Key{Description: "disabled", Disable: true})[0].ID
			s.healthy = srv.Seed(t, r, moto.Key{Description: "healthy"})[0].ID
		}
	}
	return s
}

func setAWSEnv(t *testing.T, srv *moto.Server) {
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// shiftDays is how far ahead of the seeding the runs judge the keys.
const shiftDays = 5

type run struct {
	code   int
	stdout string
	stderr string
	// log is where the log went: stderr outside Actions, stdout inside.
	log    string
	report jsonreport.Report
}

func runApp(t *testing.T, args []string, env map[string]string) run {
	t.Helper()
	dir := t.TempDir()
	args = append([]string{"--report-json", filepath.Join(dir, "r.json"), "--sarif-file", filepath.Join(dir, "r.sarif"), "--cloudtrail", "false", "--upload-sarif", "false", "--comment", "off"}, args...)
	return runAppArgs(t, args, env)
}

// runAppArgs runs the program with exactly args; the JSON report is read from
// the path given by --report-json.
func runAppArgs(t *testing.T, args []string, env map[string]string) run {
	t.Helper()
	var reportPath string
	for i, a := range args {
		if a == "--report-json" && i+1 < len(args) {
			reportPath = args[i+1]
		}
	}
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "AWS_") {
			return os.Getenv(k)
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	later := time.Now().Add(shiftDays * 24 * time.Hour)
	code := app.Run(ctx, app.Deps{Args: args, Getenv: getenv, Stdout: &stdout, Stderr: &stderr, Version: "test", Now: func() time.Time { return later }})
	r := run{code: code, stdout: stdout.String(), stderr: stderr.String(), log: stderr.String()}
	if getenv("GITHUB_ACTIONS") == "true" {
		// One stream, so that every ::add-mask:: precedes what it hides.
		r.log = r.stdout
		if r.stderr != "" {
			t.Errorf("in Actions everything goes to stdout; stderr got:\n%s", r.stderr)
		}
	} else if code == app.ExitBadConfig {
		if r.stdout != "" {
			t.Errorf("a bad configuration prints nothing on stdout; got:\n%s", r.stdout)
		}
	} else if !slices.Contains(args, "--help") {
		parseTable(t, r.stdout)
	}
	if b, err := os.ReadFile(reportPath); err == nil {
		if err := json.Unmarshal(b, &r.report); err != nil {
			t.Fatalf("report: %v", err)
		}
	}
	return r
}

func TestEndToEndAgainstMoto(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	s := seed(t, srv, "us-east-1", "eu-west-1")

	t.Run("pending keys fail the gate with correct days left", func(t *testing.T) {
		r := runApp(t, []string{"--regions", "us-east-1,eu-west-1"}, nil)
		if r.code != app.ExitFail {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.log)
		}
		var ids []string
		for _, f := range r.report.Findings {
			ids = append(ids, f.KeyID)
			days, ok := s.pending[f.KeyID]
			if !ok {
				t.Errorf("unexpected finding %s (%s)", f.KeyID, f.State)
				continue
			}
			if f.DaysLeft == nil || math.Abs(*f.DaysLeft-float64(days)) > 0.02 {
				t.Errorf("%s days_left = %v, want %d", f.KeyID, f.DaysLeft, days)
			}
			wantSev := map[int]string{2: "critical", 6: "high", 25: "medium"}[days]
			if f.Severity != wantSev || f.Account != "123456789012" || len(f.Aliases) != 1 || f.Aliases[0] != s.aliases[f.KeyID] {
				t.Errorf("%s = %+v", f.KeyID, f)
			}
		}
		if len(ids) != len(s.pending) {
			t.Errorf("found %d keys, want %d", len(ids), len(s.pending))
		}
		// Soonest first.
		if !sort.SliceIsSorted(r.report.Findings, func(i, j int) bool {
			return *r.report.Findings[i].DaysLeft < *r.report.Findings[j].DaysLeft
		}) {
			t.Error("findings are not sorted soonest first")
		}
		if r.report.Coverage.TargetsScanned != 2 || !r.report.Coverage.Complete || r.report.Coverage.KeysSeen != 8 {
			t.Errorf("coverage = %+v", r.report.Coverage)
		}
		if r.report.Counts.Critical != 2 || r.report.Counts.High != 2 || r.report.Counts.Medium != 2 {
			t.Errorf("counts = %+v", r.report.Counts)
		}
	})

	t.Run("disabled keys are reported when asked", func(t *testing.T) {
		r := runApp(t, []string{"--regions", "us-east-1", "--include-disabled", "true", "--fail-on", "none"}, nil)
		if r.code != app.ExitPass {
			t.Fatalf("exit %d, want 0 under fail-on none\n%s", r.code, r.log)
		}
		found := false
		for _, f := range r.report.Findings {
			if f.KeyID == s.disabled {
				found = f.RuleID == "kms-key-disabled" && f.Severity == "low"
			}
			if f.KeyID == s.healthy {
				t.Error("healthy key reported")
			}
		}
		if !found {
			t.Error("disabled key not reported as kms-key-disabled/low")
		}
	})

	t.Run("allowlisting every pending key passes", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("allow:\n")
		for id := range s.pending {
			b.WriteString("  - key: " + id + "\n    reason: decommissioned (CHG-1)\n    expires: 2099-01-01\n")
		}
		cfg := filepath.Join(t.TempDir(), "kdg.yml")
		if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runApp(t, []string{"--regions", "us-east-1,eu-west-1", "--config", cfg}, nil)
		if r.code != app.ExitPass {
			t.Fatalf("exit %d, want 0\n%s", r.code, r.log)
		}
		if r.report.Counts.Allowlisted != len(s.pending) || r.report.Counts.Total != len(s.pending) || r.report.Result != "pass" {
			t.Errorf("counts = %+v", r.report.Counts)
		}
	})

	t.Run("malformed config exits 2 naming the line", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "kdg.yml")
		if err := os.WriteFile(cfg, []byte("allow:\n  - key: k\n    reason: r\n    expires: soon\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runApp(t, []string{"--regions", "us-east-1", "--config", cfg}, nil)
		if r.code != app.ExitBadConfig {
			t.Fatalf("exit %d, want 2", r.code)
		}
		if !strings.Contains(r.stderr, "error: bad configuration: "+cfg+":4: allow[0].expires: \"soon\" is not a date") {
			t.Errorf("stderr = %s", r.stderr)
		}
		if r.report.SchemaVersion != 0 {
			t.Error("a bad configuration must not write a report")
		}
	})

	t.Run("all regions scans the account's enabled regions", func(t *testing.T) {
		r := runApp(t, nil, nil)
		if r.code != app.ExitFail || r.report.Coverage.TargetsScanned < 17 || len(r.report.Findings) != len(s.pending) {
			t.Fatalf("exit %d, targets %d, findings %d", r.code, r.report.Coverage.TargetsScanned, len(r.report.Findings))
		}
	})

	t.Run("actions mode writes outputs and summary", func(t *testing.T) {
		dir := t.TempDir()
		outputs, summary := filepath.Join(dir, "out"), filepath.Join(dir, "summary.md")
		for _, f := range []string{outputs, summary} {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r := runApp(t, nil, map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputs, "GITHUB_STEP_SUMMARY": summary,
			"INPUT_REGIONS": "us-east-1", "INPUT_FAIL-ON": "critical", "INPUT_GITHUB-TOKEN": "ghs_supersecret",
		})
		if r.code != app.ExitFail {
			t.Fatalf("exit %d\n%s", r.code, r.log)
		}
		out, _ := os.ReadFile(outputs)
		for _, want := range []string{"result<<", "\nfail\n", "critical<<", "total<<"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("outputs lack %q:\n%s", want, out)
			}
		}
		md, _ := os.ReadFile(summary)
		if !strings.Contains(string(md), "kms-deletion-gate: fail") || !strings.Contains(string(md), "aws kms cancel-key-deletion") {
			t.Errorf("summary = %s", md)
		}
		if !strings.Contains(r.stdout, "::add-mask::ghs_supersecret") || strings.Count(r.stdout, "ghs_supersecret") != 1 {
			t.Error("the token must be masked and appear nowhere else")
		}
	})
}

func TestIncompleteScanExitsThree(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	fake := kmsfake.Start(t, []kmsfake.Key{
		{ID: "a", Region: "us-east-1", State: string(types.KeyStatePendingDeletion), DeletionDate: time.Now().Add(20 * 24 * time.Hour)},
	})
	fake.FailRegion("eu-west-1", 400, "AccessDeniedException")
	t.Setenv("AWS_ENDPOINT_URL_KMS", fake.URL)

	r := runApp(t, []string{"--regions", "us-east-1,eu-west-1", "--fail-on", "none"}, nil)
	if r.code != app.ExitIncomplete {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.log)
	}
	if len(r.report.Coverage.Errors) != 1 || r.report.Coverage.Errors[0].Region != "eu-west-1" || len(r.report.Findings) != 1 {
		t.Errorf("report = %+v", r.report)
	}
	r = runApp(t, []string{"--regions", "us-east-1,eu-west-1", "--fail-on", "none", "--on-scan-error", "warn"}, nil)
	if r.code != app.ExitPass || !strings.Contains(r.stderr, "could not scan 111122223333/eu-west-1") && !strings.Contains(r.stderr, "eu-west-1 (list-keys)") {
		t.Fatalf("exit %d under warn, want 0 with a warning on stderr\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "warning: Scan incomplete") || strings.Contains(r.stdout, "warning:") {
		t.Errorf("the warnings belong on stderr alone\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	// The table still says which target failed.
	if rows, result, scanErrors := parseTable(t, r.stdout); len(rows) != 1 || !strings.HasPrefix(result, "Result: PASS") || len(scanErrors) != 1 || !strings.Contains(scanErrors[0], "eu-west-1") {
		t.Errorf("table rows %v, result %q, scan errors %v", rows, result, scanErrors)
	}
}
