package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/kmsfake"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// Keys whose policy denies DescribeKey are per-key coverage errors that name
// the key: the Region still counts as scanned, and the run still exits 3
// under on-scan-error: fail (the default) because those keys are unread.
func TestDeniedKeyIsACoverageErrorAndExitsThree(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	fake := kmsfake.Start(t, []kmsfake.Key{
		{ID: "denied-key", Region: "us-east-1", State: string(types.KeyStatePendingDeletion), DeletionDate: time.Now().Add(20 * 24 * time.Hour)},
	})
	fake.FailOperation("DescribeKey", 400, "AccessDeniedException")
	t.Setenv("AWS_ENDPOINT_URL_KMS", fake.URL)

	r := runApp(t, []string{"--regions", "us-east-1", "--fail-on", "none"}, nil)
	if r.code != app.ExitIncomplete {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stdout)
	}
	errs := r.report.Coverage.Errors
	if len(errs) != 1 || errs[0].KeyID != "denied-key" || errs[0].Stage != "describe-key" ||
		!strings.Contains(errs[0].Message, "key denied-key could not be read: AccessDeniedException") {
		t.Fatalf("coverage errors = %+v, want one naming denied-key", errs)
	}
	if len(r.report.Coverage.Scanned) != 1 {
		t.Errorf("scanned = %+v: the Region itself was listed and scanned", r.report.Coverage.Scanned)
	}
	if !strings.Contains(r.stdout, "denied-key") {
		t.Errorf("the log does not name the key:\n%s", r.stdout)
	}
}
