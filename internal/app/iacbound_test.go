package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/iac"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/kmsfake"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// When the repository search stops at one of its bounds, the run says so in
// the log and in the job summary instead of silently showing fewer locations.
func TestIaCSearchBoundIsWarnedInLogAndSummary(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	const keyID = "0b6e4c1a-1111-4222-8333-944455556666"
	fake := kmsfake.Start(t, []kmsfake.Key{
		{ID: keyID, Region: "us-east-1", State: string(types.KeyStatePendingDeletion), DeletionDate: time.Now().Add(20 * 24 * time.Hour)},
	})
	t.Setenv("AWS_ENDPOINT_URL_KMS", fake.URL)

	ws := t.TempDir()
	for i := range 3 {
		body := fmt.Sprintf("data \"aws_kms_key\" \"k%d\" {\n  key_id = %q\n}\n", i, keyID)
		if err := os.WriteFile(filepath.Join(ws, fmt.Sprintf("k%d.tf", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	summaryPath := filepath.Join(out, "summary.md")
	env := map[string]string{"GITHUB_WORKSPACE": ws, "GITHUB_STEP_SUMMARY": summaryPath}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "AWS_") {
			return os.Getenv(k)
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := app.Run(ctx, app.Deps{
		Args: []string{"--regions", "us-east-1", "--cloudtrail", "false", "--upload-sarif", "false", "--comment", "off",
			"--report-json", filepath.Join(out, "r.json"), "--sarif-file", filepath.Join(out, "r.sarif")},
		Getenv: getenv, Stdout: &stdout, Stderr: &stderr, Version: "test",
		IaC: iac.Options{MaxFiles: 1},
	})
	if code != app.ExitFail {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	const want = "stopped at its bound of 1 files"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("the log does not warn about the search bound (%q):\n%s", want, stderr.String())
	}
	md, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "stopped at its bound of 1 files") {
		t.Errorf("the summary does not say the search was cut short:\n%s", md)
	}
}
