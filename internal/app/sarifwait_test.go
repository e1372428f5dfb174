package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/runner"
)

// Code scanning keeps the upload pending for ever. By default the run's
// verdict, exit code and outputs (sarif-id included) come without a single
// status request; with wait-for-processing: true it polls, at most
// ceil(bound/interval) times, then warns and ends with the same verdict.
func TestSARIFProcessingIsWaitedForOnlyWhenAsked(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	seed(t, srv, "us-east-1")
	sha := strings.Repeat("ab", 20)
	for _, tc := range []struct {
		name      string
		wait      string
		wantPolls int
	}{
		{"default: no wait", "false", 0},
		{"wait-for-processing: bounded", "true", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra"})
			gh.SetProcessing(fakegithub.ProcessingStatus{Status: "pending"})
			dir := t.TempDir()
			outputs := filepath.Join(dir, "outputs")
			env := map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo-org/infra", "GITHUB_EVENT_NAME": "push",
				"GITHUB_SHA": sha, "GITHUB_REF": "refs/heads/main", "GITHUB_API_URL": gh.URL,
				"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99", "GITHUB_WORKSPACE": dir,
				"GITHUB_OUTPUT": outputs,
				"INPUT_REGIONS": "us-east-1", "INPUT_GITHUB-TOKEN": "ghs_faketoken", "INPUT_SARIF-FILE": filepath.Join(dir, "r.sarif"),
				"INPUT_REPORT-JSON": filepath.Join(dir, "r.json"), "INPUT_CLOUDTRAIL": "false",
				"INPUT_UPLOAD-SARIF": "true", "INPUT_COMMENT": "off", "INPUT_WAIT-FOR-PROCESSING": tc.wait,
			}
			getenv := func(k string) string {
				if v, ok := env[k]; ok {
					return v
				}
				if strings.HasPrefix(k, "AWS_") {
					return os.Getenv(k)
				}
				return ""
			}
			var sleeps atomic.Int32
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			later := time.Now().Add(shiftDays * 24 * time.Hour)
			code := app.Run(ctx, app.Deps{Getenv: getenv, Stdout: &stdout, Stderr: &stderr, Version: "test", Now: func() time.Time { return later },
				GitHub: func(o *github.Options) {
					o.PollInterval, o.PollTimeout = time.Second, 3*time.Second
					o.Sleep = func(ctx context.Context, _ time.Duration) error { sleeps.Add(1); return ctx.Err() }
				}})
			if code != app.ExitFail {
				t.Fatalf("exit %d, want %d (pending keys fail the gate)\n%s", code, app.ExitFail, stdout.String())
			}
			ups := gh.Uploads()
			if len(ups) != 1 {
				t.Fatalf("uploads = %d, want 1", len(ups))
			}
			raw, err := os.ReadFile(outputs)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runner.ParseOutputs(string(raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := out["result"]; got != "fail" {
				t.Errorf("output result = %q, want fail", got)
			}
			if got := out["sarif-id"]; got != ups[0].ID || got == "" {
				t.Errorf("output sarif-id = %q, want the upload's id %q", got, ups[0].ID)
			}
			if n := len(gh.Calls(fakegithub.OpGetSARIF)); n != tc.wantPolls {
				t.Errorf("status requests = %d, want %d", n, tc.wantPolls)
			}
			if int(sleeps.Load()) != tc.wantPolls {
				t.Errorf("waits = %d, want %d", sleeps.Load(), tc.wantPolls)
			}
			warned := strings.Contains(stdout.String(), "::warning::code scanning upload "+ups[0].ID) && strings.Contains(stdout.String(), "still pending")
			if warned != (tc.wait == "true") {
				t.Errorf("warning about the pending upload: %v, want %v\n%s", warned, tc.wait == "true", stdout.String())
			}
		})
	}
}
