package scan_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/scan"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/kmsfake"
)

func client(url, region string) *kms.Client {
	return kms.New(kms.Options{
		Region:           region,
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
	})
}

func targets(url string, regions ...string) []scan.Target {
	var ts []scan.Target
	for _, r := range regions {
		ts = append(ts, scan.Target{Account: "111122223333", Region: r, Client: client(url, r)})
	}
	return ts
}

func TestScanPagingStatesAndCalls(t *testing.T) {
	t.Parallel()
	deletion := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var keys []kmsfake.Key
	// 2,500 keys in us-east-1: ListKeys needs three pages of 1,000.
	for i := range 2500 {
		keys = append(keys, kmsfake.Key{ID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), Region: "us-east-1"})
	}
	keys = append(keys,
		kmsfake.Key{ID: "pending-1", Region: "us-east-1", State: "PendingDeletion", DeletionDate: deletion, Aliases: []string{"alias/orders"}, Tags: map[string]string{"team": "payments"}},
		kmsfake.Key{ID: "aws-managed", Region: "us-east-1", Manager: "AWS", State: "PendingDeletion", DeletionDate: deletion},
		kmsfake.Key{ID: "mrk-primary", Region: "eu-west-1", State: "PendingReplicaDeletion", PendingWindowDays: 14, MultiRegion: true},
		kmsfake.Key{ID: "disabled-1", Region: "eu-west-1", State: "Disabled"},
		kmsfake.Key{ID: "healthy-1", Region: "eu-west-1"},
	)
	srv := kmsfake.Start(t, keys)

	cases := []struct {
		name            string
		includeDisabled bool
		wantRules       map[string]string // key id -> rule
	}{
		{"default", false, map[string]string{"pending-1": finding.RulePendingDeletion, "mrk-primary": finding.RulePendingReplicaDeletion}},
		{"include disabled", true, map[string]string{"pending-1": finding.RulePendingDeletion, "mrk-primary": finding.RulePendingReplicaDeletion, "disabled-1": finding.RuleDisabled}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := scan.Scan(context.Background(), targets(srv.URL, "us-east-1", "eu-west-1"), scan.Options{Concurrency: 8, IncludeDisabled: tc.includeDisabled})
			if len(out.Errors) != 0 {
				t.Fatalf("errors: %+v", out.Errors)
			}
			got := map[string]string{}
			for _, f := range out.Findings {
				got[f.KeyID] = f.RuleID
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantRules) {
				t.Fatalf("findings = %v, want %v", got, tc.wantRules)
			}
			// AWS managed keys are never counted as customer keys.
			if want := 2500 + 4; out.KeysSeen != want {
				t.Errorf("KeysSeen = %d, want %d", out.KeysSeen, want)
			}
			if len(out.Scanned) != 2 {
				t.Errorf("Scanned = %v", out.Scanned)
			}
			for _, f := range out.Findings {
				switch f.KeyID {
				case "pending-1":
					if !f.DeletionDate.Equal(deletion) || f.Account != "111122223333" || f.Region != "us-east-1" {
						t.Errorf("pending-1 = %+v", f)
					}
					if len(f.Aliases) != 1 || f.Aliases[0] != "alias/orders" || f.Tags["team"] != "payments" {
						t.Errorf("pending-1 aliases/tags = %v %v", f.Aliases, f.Tags)
					}
				case "mrk-primary":
					if f.PendingWindowDays != 14 || !f.MultiRegion || !f.DeletionDate.IsZero() {
						t.Errorf("mrk-primary = %+v", f)
					}
				}
			}
		})
	}
	// Calls across both subtests: per scan, 3+1 ListKeys pages, one
	// DescribeKey per key, one ListAliases per region with findings, one
	// ListResourceTags per finding.
	if got, want := srv.Calls("ListKeys"), 2*(3+1); got != want {
		t.Errorf("ListKeys calls = %d, want %d", got, want)
	}
	if got, want := srv.Calls("DescribeKey"), 2*(2500+5); got != want {
		t.Errorf("DescribeKey calls = %d, want %d", got, want)
	}
	if got, want := srv.Calls("ListAliases"), 2*2; got != want {
		t.Errorf("ListAliases calls = %d, want %d", got, want)
	}
	if got, want := srv.Calls("ListResourceTags"), 2+3; got != want {
		t.Errorf("ListResourceTags calls = %d, want %d", got, want)
	}
}

func TestScanRecordsFailingRegion(t *testing.T) {
	t.Parallel()
	srv := kmsfake.Start(t, []kmsfake.Key{
		{ID: "a", Region: "us-east-1", State: "PendingDeletion", DeletionDate: time.Now().Add(48 * time.Hour)},
		{ID: "b", Region: "eu-west-1", State: "PendingDeletion", DeletionDate: time.Now().Add(48 * time.Hour)},
	})
	srv.FailRegion("eu-west-1", 400, "AccessDeniedException")
	out := scan.Scan(context.Background(), targets(srv.URL, "us-east-1", "eu-west-1"), scan.Options{Concurrency: 4})
	if len(out.Findings) != 1 || out.Findings[0].KeyID != "a" {
		t.Fatalf("findings = %+v", out.Findings)
	}
	if len(out.Errors) != 1 {
		t.Fatalf("errors = %+v", out.Errors)
	}
	e := out.Errors[0]
	if e.Region != "eu-west-1" || e.Stage != "list-keys" || e.Account != "111122223333" {
		t.Errorf("error = %+v", e)
	}
	if want := "AccessDeniedException: injected failure in eu-west-1"; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}
	if len(out.Scanned) != 1 || out.Scanned[0].Region != "us-east-1" {
		t.Errorf("scanned = %+v", out.Scanned)
	}
}

func TestScanCancelledContextIsAnError(t *testing.T) {
	t.Parallel()
	srv := kmsfake.Start(t, []kmsfake.Key{{ID: "a", Region: "us-east-1"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := scan.Scan(ctx, targets(srv.URL, "us-east-1"), scan.Options{Concurrency: 2})
	if len(out.Errors) != 1 || len(out.Scanned) != 0 {
		t.Fatalf("a cancelled scan must be reported, got errors=%+v scanned=%+v", out.Errors, out.Scanned)
	}
}

func TestScanWarnsWhenTagsCannotBeRead(t *testing.T) {
	t.Parallel()
	srv := kmsfake.Start(t, []kmsfake.Key{
		{ID: "a", Region: "us-east-1", State: "PendingDeletion", DeletionDate: time.Now().Add(48 * time.Hour), Tags: map[string]string{"team": "x"}},
	})
	srv.FailOperation("ListResourceTags", 400, "AccessDeniedException")
	out := scan.Scan(context.Background(), targets(srv.URL, "us-east-1"), scan.Options{Concurrency: 2})
	if len(out.Errors) != 0 || len(out.Findings) != 1 || len(out.Scanned) != 1 {
		t.Fatalf("tags are context: the scan stays complete, got errors=%+v findings=%d", out.Errors, len(out.Findings))
	}
	if len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], "tags of 1 key(s) in 111122223333/us-east-1 could not be read (AccessDeniedException") {
		t.Errorf("warnings = %q", out.Warnings)
	}
}

func TestScanHangingRegionFailsAloneWithinTheCallTimeout(t *testing.T) {
	t.Parallel()
	srv := kmsfake.Start(t, []kmsfake.Key{
		{ID: "a", Region: "us-east-1", State: "PendingDeletion", DeletionDate: time.Now().Add(48 * time.Hour)},
		{ID: "b", Region: "eu-west-1", State: "PendingDeletion", DeletionDate: time.Now().Add(48 * time.Hour)},
	})
	srv.HangRegion("eu-west-1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := scan.Scan(ctx, targets(srv.URL, "us-east-1", "eu-west-1"), scan.Options{Concurrency: 4, CallTimeout: 300 * time.Millisecond})
	if ctx.Err() != nil {
		t.Fatal("the hanging region held the whole scan until its overall deadline")
	}
	if len(out.Findings) != 1 || out.Findings[0].KeyID != "a" {
		t.Errorf("findings = %+v", out.Findings)
	}
	if len(out.Errors) != 1 || out.Errors[0].Region != "eu-west-1" || out.Errors[0].Stage != "list-keys" {
		t.Errorf("errors = %+v", out.Errors)
	}
}
