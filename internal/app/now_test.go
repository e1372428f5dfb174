package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// KMS_DELETION_GATE_NOW once moved the shipped binary's clock: a date a month
// back made a 10-day key look 40 days out and brought an allowlist entry
// that expired yesterday back to life. Deps.Now is the only seam now: with
// Deps.Now unset the variable changes nothing.
func TestNowEnvironmentVariableIsIgnored(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	key := srv.Seed(t, "us-east-1", moto.Key{PendingDays: 10})[0]
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kdg.yml")
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	if err := os.WriteFile(cfg, []byte("allow:\n  - key: "+key.ID+"\n    reason: old change (CHG-1)\n    expires: "+yesterday+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KMS_DELETION_GATE_NOW": time.Now().UTC().AddDate(0, -1, 0).Format(time.RFC3339)}
	reportPath := filepath.Join(dir, "r.json")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := app.Run(ctx, app.Deps{
		Args: []string{"--regions", "us-east-1", "--config", cfg, "--report-json", reportPath, "--sarif-file", filepath.Join(dir, "r.sarif"), "--cloudtrail", "false", "--upload-sarif", "false", "--comment", "off"},
		Getenv: func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return os.Getenv(k)
		},
		Stdout: &out, Stderr: &out, Version: "test",
	})
	if code != app.ExitFail {
		t.Fatalf("exit %d, want %d (the expired entry must not apply)\n%s", code, app.ExitFail, out.String())
	}
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep jsonreport.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 {
		t.Fatalf("%d findings, want 1\n%s", len(rep.Findings), out.String())
	}
	f := rep.Findings[0]
	if f.DaysLeft == nil || math.Abs(*f.DaysLeft-10) > 0.05 {
		t.Errorf("days_left = %v, want 10 (judged as of the real time)", f.DaysLeft)
	}
	if f.Allowlisted {
		t.Error("the allowlist entry that expired yesterday applied")
	}
	if !strings.Contains(out.String(), "expired on "+yesterday) {
		t.Errorf("no expired-entry warning in the output:\n%s", out.String())
	}
}
