package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awsfake"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// TestEvidenceAndRemediation: moto holds the keys; CloudTrail (which moto
// lacks) is the JSON-protocol double with real-shaped records. A key with a
// failed Decrypt after it was scheduled is critical with the caller and the
// time; remediate: cancel then saves every unapproved pending key and leaves
// the allowlisted one alone.
func TestEvidenceAndRemediation(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	trail := awsfake.New(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", trail.URL)
	ctx := moto.Context(t)
	k := kms.NewFromConfig(srv.Config("us-east-1"))
	create := func(window int) (id, arn string) {
		key := moto.SeedWith(t, k, moto.Key{PendingDays: window})[0]
		return key.ID, key.ARN
	}
	usedID, usedARN := create(30) // 25 days left as judged: medium by date
	otherID, _ := create(20)
	allowedID, _ := create(20)

	scheduledAt := time.Now().UTC().Truncate(time.Second)                       // just after the keys were created and scheduled
	decryptAt := time.Now().Add(4 * 24 * time.Hour).UTC().Truncate(time.Second) // after scheduling, before the judged "now"
	trail.AddEvents(
		awsfake.ScheduleKeyDeletionRecord("ev-schedule", usedARN, "arn:aws:iam::123456789012:user/alice", scheduledAt, 30).Event(),
		awsfake.FailedUseRecord("ev-decrypt", "Decrypt", usedARN, "arn:aws:sts::123456789012:assumed-role/billing-app/i-0abc", decryptAt).Event(),
	)

	cfg := filepath.Join(t.TempDir(), "kdg.yml")
	if err := os.WriteFile(cfg, []byte("allow:\n  - key: "+allowedID+"\n    reason: intended (CHG-7)\n    expires: 2099-01-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := func(id string) string {
		out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return string(out.KeyMetadata.KeyState)
	}

	t.Run("attempted use makes it critical, with caller and time", func(t *testing.T) {
		r := runApp(t, []string{"--regions", "us-east-1", "--cloudtrail", "true", "--config", cfg}, nil)
		if r.code != app.ExitFail {
			t.Fatalf("exit %d\n%s", r.code, r.log)
		}
		for _, f := range r.report.Findings {
			if f.KeyID != usedID {
				continue
			}
			if f.Severity != "critical" || !strings.Contains(f.InUseReason, "billing-app") || len(f.AttemptedUses) != 1 {
				t.Errorf("used key = severity %s, reason %q, attempts %+v", f.Severity, f.InUseReason, f.AttemptedUses)
			}
			if f.ScheduledBy == nil || f.ScheduledBy.Principal != "arn:aws:iam::123456789012:user/alice" || !f.ScheduledBy.Time.Equal(scheduledAt) {
				t.Errorf("scheduled by = %+v", f.ScheduledBy)
			}
			if len(f.AttemptedUses) == 1 && !f.AttemptedUses[0].Time.Equal(decryptAt) {
				t.Errorf("attempted use time = %v, want %v", f.AttemptedUses[0].Time, decryptAt)
			}
			return
		}
		t.Fatal("the used key was not found")
	})

	t.Run("cancel saves unapproved keys only", func(t *testing.T) {
		r := runApp(t, []string{"--regions", "us-east-1", "--config", cfg, "--remediate", "cancel"}, nil)
		if r.code != app.ExitFail {
			t.Fatalf("exit %d (the run that found them still fails)\n%s", r.code, r.log)
		}
		if got := state(usedID); got != "Disabled" {
			t.Errorf("used key is %s after cancel, want Disabled", got)
		}
		if got := state(otherID); got != "Disabled" {
			t.Errorf("other key is %s after cancel, want Disabled", got)
		}
		if got := state(allowedID); got != "PendingDeletion" {
			t.Errorf("allowlisted key is %s, want untouched PendingDeletion", got)
		}
		n := 0
		for _, f := range r.report.Findings {
			if f.Remediation != nil {
				n++
				if f.Remediation.Outcome != "cancelled" || f.Remediation.StateAfter != "Disabled" {
					t.Errorf("remediation of %s = %+v", f.KeyID, f.Remediation)
				}
			}
		}
		if n != 2 {
			t.Errorf("%d remediations reported, want 2", n)
		}
	})

	t.Run("re-enable leaves them enabled", func(t *testing.T) {
		id, _ := create(15)
		r := runApp(t, []string{"--regions", "us-east-1", "--config", cfg, "--remediate", "cancel", "--re-enable", "true"}, nil)
		if r.code != app.ExitFail {
			t.Fatalf("exit %d\n%s", r.code, r.log)
		}
		if got := state(id); got != "Enabled" {
			t.Errorf("key is %s after cancel+re-enable, want Enabled", got)
		}
		if got := state(allowedID); got != "PendingDeletion" {
			t.Errorf("allowlisted key is %s, want untouched", got)
		}
	})
}
