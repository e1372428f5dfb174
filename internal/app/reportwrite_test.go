package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/kmsfake"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// A report that cannot be written does not pass: a path that can never be
// written is refused before any AWS call (exit 2); one whose write fails
// ends the run with exit 4, the other reports still written and no
// temporary file left behind.
func TestUnwritableReportDoesNotPass(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	fake := kmsfake.Start(t, []kmsfake.Key{
		{ID: "1234abcd-12ab-34cd-56ef-1234567890ab", Region: "us-east-1", State: string(types.KeyStatePendingDeletion), DeletionDate: time.Now().Add(20 * 24 * time.Hour)},
	})
	t.Setenv("AWS_ENDPOINT_URL_KMS", fake.URL)

	dir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := []struct{ name, flag, path string }{
		{"sarif-file is the root directory", "--sarif-file", "/"},
		{"report-json is a directory", "--report-json", dir},
		{"sarif-file under a file", "--sarif-file", filepath.Join(aFile, "sub", "r.sarif")},
		{"ocsf-file is a directory", "--ocsf-file", dir},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := fake.TotalCalls()
			r := runAppArgs(t, []string{"--regions", "us-east-1", "--cloudtrail", "false", "--comment", "off", "--upload-sarif", "false",
				"--report-json", filepath.Join(t.TempDir(), "r.json"), "--sarif-file", filepath.Join(t.TempDir(), "r.sarif"), tc.flag, tc.path}, nil)
			if r.code != app.ExitBadConfig {
				t.Fatalf("exit %d, want 2\n%s", r.code, r.log)
			}
			if !strings.Contains(r.stderr, strings.TrimPrefix(tc.flag, "--")) || !strings.Contains(r.stderr, tc.path) {
				t.Errorf("the error does not name the setting and the path:\n%s", r.stderr)
			}
			if n := fake.TotalCalls() - before; n != 0 {
				t.Errorf("%d KMS calls before refusing the configuration", n)
			}
		})
	}

	// A file name longer than the file system allows: the directory is
	// fine, the temporary file is created, the rename fails.
	tooLong := strings.Repeat("n", 300) + ".sarif"
	for _, failOn := range []string{"none", "medium"} {
		t.Run("write fails, fail-on "+failOn, func(t *testing.T) {
			out := t.TempDir()
			jsonPath := filepath.Join(out, "r.json")
			r := runAppArgs(t, []string{"--regions", "us-east-1", "--cloudtrail", "false", "--comment", "off", "--upload-sarif", "false",
				"--fail-on", failOn, "--report-json", jsonPath, "--sarif-file", filepath.Join(out, tooLong)}, nil)
			if r.code != app.ExitReportsIncomplete {
				t.Fatalf("exit %d, want 4\n%s", r.code, r.log)
			}
			if !strings.Contains(r.stderr, "write SARIF report") || !strings.Contains(r.stderr, "Reports incomplete") {
				t.Errorf("the log does not say which report failed:\n%s", r.stderr)
			}
			if r.report.SchemaVersion == 0 || len(r.report.Findings) != 1 {
				t.Errorf("the JSON report was not written in full: %+v", r.report)
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "r.json" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}

	t.Run("JUnit and OCSF reports count too", func(t *testing.T) {
		out := t.TempDir()
		r := runAppArgs(t, []string{"--regions", "us-east-1", "--cloudtrail", "false", "--comment", "off", "--upload-sarif", "false",
			"--fail-on", "none", "--report-json", filepath.Join(out, "r.json"), "--sarif-file", filepath.Join(out, "r.sarif"),
			"--junit-file", filepath.Join(out, tooLong+".xml"), "--ocsf-file", filepath.Join(out, "r.ocsf.json")}, nil)
		if r.code != app.ExitReportsIncomplete || !strings.Contains(r.stderr, "write JUnit report") {
			t.Fatalf("exit %d, want 4 naming the JUnit report\n%s", r.code, r.log)
		}
		if _, err := os.Stat(filepath.Join(out, "r.ocsf.json")); err != nil {
			t.Errorf("the OCSF report was not written: %v", err)
		}
	})

	t.Run("job summary cannot be written", func(t *testing.T) {
		out := t.TempDir()
		r := runApp(t, nil, map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": out, "INPUT_REGIONS": "us-east-1", "INPUT_FAIL-ON": "none",
		})
		if r.code != app.ExitReportsIncomplete {
			t.Fatalf("exit %d, want 4\n%s", r.code, r.log)
		}
		if !strings.Contains(r.stdout, "::error::Reports incomplete") {
			t.Errorf("no error says the reports are incomplete:\n%s", r.stdout)
		}
	})
}
