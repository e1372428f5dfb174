package forensics_test

import (
	"context"
	"encoding/json"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/forensics"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awsfake"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

const (
	account = "111122223333"
	keyA    = "1234abcd-12ab-34cd-56ef-1234567890ab"
	arnA    = "arn:aws:kms:us-east-1:111122223333:key/" + keyA
	keyB    = "0987dcba-09ab-09cd-09ef-0987654321ba"
	arnB    = "arn:aws:kms:us-east-1:111122223333:key/" + keyB
)

var (
	scanTime     = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	scheduledAt  = time.Date(2026, 11, 10, 9, 30, 0, 0, time.UTC) // testdata/schedule-key-deletion.json
	deletionDate = scheduledAt.AddDate(0, 0, 20)
	trackingFrom = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

func pendingFinding(keyID, arn, region string) finding.Finding {
	return finding.Finding{
		RuleID:       finding.RulePendingDeletion,
		Account:      account,
		Region:       region,
		KeyID:        keyID,
		ARN:          arn,
		State:        finding.StatePendingDeletion,
		CreationDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		DeletionDate: deletionDate,
	}
}

func clientsFor(srv *awsfake.Server) forensics.Clients {
	return func(_, region string) (forensics.KeyUsageAPI, forensics.LookupEventsAPI) {
		cfg := srv.Config(region)
		return kms.NewFromConfig(cfg), cloudtrail.NewFromConfig(cfg)
	}
}

func testdataEvent(t *testing.T, name string) awsfake.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	e, err := awsfake.EventFromJSON(string(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e
}

// noise is a read-only management event on the key, as every scanner's
// DescribeKey produces; it fills pages without being evidence.
func noise(id string, at time.Time, arn string) awsfake.Event {
	return awsfake.KMSRecord{
		EventID: id, EventName: "DescribeKey", EventTime: at, Region: "us-east-1", KeyARN: arn,
		PrincipalARN: "arn:aws:iam::111122223333:role/auditor", UserName: "auditor", ReadOnly: true,
		RequestParameters: map[string]any{"keyId": arn},
	}.Event()
}

// keyHistory is key A's CloudTrail history: a successful Decrypt before the
// scheduling, the documented ScheduleKeyDeletion record, scanner noise, and
// two calls rejected because the key is pending deletion.
func keyHistory(t *testing.T) []awsfake.Event {
	evs := []awsfake.Event{
		awsfake.KMSRecord{
			EventID: "00000000-0000-4000-8000-00000000d001", EventName: "Decrypt",
			EventTime: scheduledAt.Add(-72 * time.Hour), Region: "us-east-1", KeyARN: arnA,
			PrincipalARN: "arn:aws:sts::111122223333:assumed-role/orders-app/i-0abc1234def567890", ReadOnly: true,
		}.Event(),
		testdataEvent(t, "schedule-key-deletion.json"),
		testdataEvent(t, "decrypt-pending-deletion.json"),
		testdataEvent(t, "decrypt-by-service.json"),
		// A failed Decrypt of another key must not be attributed to key A.
		awsfake.FailedUseRecord("00000000-0000-4000-8000-00000000b001", "Decrypt", arnB,
			"arn:aws:sts::111122223333:assumed-role/other/x", scanTime.Add(-time.Hour)).Event(),
	}
	for i := range 5 {
		evs = append(evs, noise("00000000-0000-4000-8000-00000000000"+string(rune('1'+i)), scheduledAt.Add(time.Duration(i+1)*24*time.Hour), arnA))
	}
	return evs
}

func TestEnrichLastUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		usage       *awsfake.KeyLastUsage
		fault       *awsfake.Fault
		wantTracked bool
		wantLastUse *finding.KeyUse
		wantReason  string
		wantWarning string
	}{
		{
			name: "decrypt 12 days ago is recent use",
			usage: &awsfake.KeyLastUsage{KeyID: keyA, Operation: "Decrypt", Timestamp: scanTime.Add(-12*24*time.Hour - time.Hour),
				CloudTrailEventID: "aaaabbbb-1111-2222-3333-444455556666", KMSRequestID: "req-1", TrackingStartDate: trackingFrom, KeyCreationDate: trackingFrom.AddDate(-1, 0, 0)},
			wantTracked: true,
			wantLastUse: &finding.KeyUse{Operation: "Decrypt", Time: scanTime.Add(-12*24*time.Hour - time.Hour), EventID: "aaaabbbb-1111-2222-3333-444455556666"},
			wantReason:  "Decrypt 12 days ago (CloudTrail event aaaabbbb-1111-2222-3333-444455556666)",
		},
		{
			// The reason and every report say the same for the same event:
			// report.Ago, not a coarser "less than a day ago".
			name:        "use 5 hours ago reads as the reports read it",
			usage:       &awsfake.KeyLastUsage{KeyID: keyA, Operation: "Encrypt", Timestamp: scanTime.Add(-5 * time.Hour), CloudTrailEventID: "e-5h", TrackingStartDate: trackingFrom},
			wantTracked: true,
			wantLastUse: &finding.KeyUse{Operation: "Encrypt", Time: scanTime.Add(-5 * time.Hour), EventID: "e-5h"},
			wantReason:  "Encrypt 5 hours ago (CloudTrail event e-5h)",
		},
		{
			name:        "use 45 days ago is recorded but not recent",
			usage:       &awsfake.KeyLastUsage{KeyID: keyA, Operation: "GenerateDataKey", Timestamp: scanTime.AddDate(0, 0, -45), CloudTrailEventID: "e-45", TrackingStartDate: trackingFrom},
			wantTracked: true,
			wantLastUse: &finding.KeyUse{Operation: "GenerateDataKey", Time: scanTime.AddDate(0, 0, -45), EventID: "e-45"},
		},
		{
			name:        "no use since tracking start",
			usage:       &awsfake.KeyLastUsage{KeyID: keyA, TrackingStartDate: trackingFrom, KeyCreationDate: trackingFrom.AddDate(-1, 0, 0)},
			wantTracked: true,
		},
		{
			name:        "access denied is a warning",
			fault:       &awsfake.Fault{Operation: awsfake.OpGetKeyLastUsage, Code: "AccessDeniedException", Message: "User: arn:aws:sts::111122223333:assumed-role/gate/ci is not authorized to perform: kms:GetKeyLastUsage"},
			wantWarning: "GetKeyLastUsage failed in 111122223333/us-east-1 for 1 key (AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/gate/ci is not authorized to perform: kms:GetKeyLastUsage); last use not checked.",
		},
		{
			name:        "unknown key is a warning",
			wantWarning: "GetKeyLastUsage failed in 111122223333/us-east-1 for 1 key (NotFoundException: Key '" + keyA + "' does not exist)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := awsfake.New(t)
			if tt.usage != nil {
				srv.SetKeyLastUsage(*tt.usage)
			}
			if tt.fault != nil {
				srv.Inject(*tt.fault)
			}
			fs := []finding.Finding{pendingFinding(keyA, arnA, "us-east-1")}
			warnings := forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{ScanTime: scanTime})
			f := fs[0]
			if f.UsageTracked != tt.wantTracked {
				t.Errorf("UsageTracked = %v, want %v", f.UsageTracked, tt.wantTracked)
			}
			if tt.wantTracked && !f.TrackingStart.Equal(trackingFrom) {
				t.Errorf("TrackingStart = %v, want %v", f.TrackingStart, trackingFrom)
			}
			if !sameUse(f.LastUse, tt.wantLastUse) {
				t.Errorf("LastUse = %+v, want %+v", f.LastUse, tt.wantLastUse)
			}
			if f.InUseReason != tt.wantReason {
				t.Errorf("InUseReason = %q, want %q", f.InUseReason, tt.wantReason)
			}
			if tt.wantWarning == "" && len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
			if tt.wantWarning != "" && (len(warnings) != 1 || !strings.HasPrefix(warnings[0], tt.wantWarning)) {
				t.Errorf("warnings = %q, want one starting %q", warnings, tt.wantWarning)
			}
			reqs := srv.Requests(awsfake.OpGetKeyLastUsage)
			if len(reqs) != 1 || string(reqs[0].Body) != `{"KeyId":"`+keyA+`"}` || reqs[0].Region != "us-east-1" {
				t.Errorf("GetKeyLastUsage requests = %+v, want one {\"KeyId\":%q} in us-east-1", reqs, keyA)
			}
			if n := len(srv.Requests(awsfake.OpLookupEvents)); n != 0 {
				t.Errorf("LookupEvents called %d times with CloudTrail off", n)
			}
		})
	}
}

func sameUse(a, b *finding.KeyUse) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Operation == b.Operation && a.Time.Equal(b.Time) && a.EventID == b.EventID && a.Principal == b.Principal
}

// An endpoint that does not implement GetKeyLastUsage at all fails every
// key the same way: one call per account and region, one warning.
func TestEnrichLastUsageUnsupportedEndpoint(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.Inject(awsfake.Fault{Operation: awsfake.OpGetKeyLastUsage, Code: "UnsupportedOperationException", Message: "GetKeyLastUsage is not supported in this Region"})
	fs := []finding.Finding{
		pendingFinding(keyA, arnA, "us-east-1"),
		pendingFinding(keyB, arnB, "us-east-1"),
	}
	warnings := forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{ScanTime: scanTime, Concurrency: 1})
	for _, f := range fs {
		if f.UsageTracked || f.LastUse != nil || f.InUseReason != "" {
			t.Errorf("%s: UsageTracked=%v LastUse=%v InUseReason=%q, want untracked", f.KeyID, f.UsageTracked, f.LastUse, f.InUseReason)
		}
	}
	want := "GetKeyLastUsage failed in 111122223333/us-east-1 for 2 keys (UnsupportedOperationException: GetKeyLastUsage is not supported in this Region)"
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], want) {
		t.Errorf("warnings = %q, want one starting %q", warnings, want)
	}
	if n := len(srv.Requests(awsfake.OpGetKeyLastUsage)); n != 1 {
		t.Errorf("GetKeyLastUsage calls = %d, want 1 (the endpoint is down for every key)", n)
	}
}

func TestEnrichCloudTrail(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.SetPageSize(2) // 9 events of key A: 5 pages
	srv.AddEvents(keyHistory(t)...)
	srv.SetKeyLastUsage(awsfake.KeyLastUsage{KeyID: keyA, TrackingStartDate: trackingFrom})
	srv.SetKeyLastUsage(awsfake.KeyLastUsage{KeyID: keyB, TrackingStartDate: trackingFrom})

	disabled := pendingFinding(keyB, arnB, "us-east-1")
	disabled.RuleID, disabled.State, disabled.DeletionDate = finding.RuleDisabled, finding.StateDisabled, time.Time{}
	fs := []finding.Finding{pendingFinding(keyA, arnA, "us-east-1"), disabled}

	warnings := forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{ScanTime: scanTime, CloudTrail: true})
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	f := fs[0]
	wantSched := finding.ScheduleEvent{
		Principal:         "arn:aws:iam::111122223333:user/Alice",
		Time:              scheduledAt,
		SourceIP:          "192.0.2.10",
		UserAgent:         "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
		PendingWindowDays: 20,
		EventID:           "3c4226b0-1e81-48a8-a333-7fa5f3cbd118",
	}
	if f.ScheduledBy == nil || *f.ScheduledBy != wantSched {
		t.Errorf("ScheduledBy = %+v, want %+v", f.ScheduledBy, wantSched)
	}
	if f.PendingWindowDays != 20 {
		t.Errorf("PendingWindowDays = %d, want 20 from the ScheduleKeyDeletion record", f.PendingWindowDays)
	}
	wantUses := []finding.KeyUse{
		{Operation: "GenerateDataKey", Time: time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC), Principal: "s3.amazonaws.com",
			EventID: "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9", SourceIP: "s3.amazonaws.com", ErrorCode: "KMSInvalidStateException"},
		{Operation: "Decrypt", Time: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), Principal: "arn:aws:sts::111122223333:assumed-role/orders-app/i-0abc1234def567890",
			EventID: "abcde202-ba1a-467c-b4ba-f729d45ae521", SourceIP: "198.51.100.7", ErrorCode: "KMSInvalidStateException"},
	}
	if len(f.AttemptedUses) != len(wantUses) {
		t.Fatalf("AttemptedUses = %+v, want %+v", f.AttemptedUses, wantUses)
	}
	for i := range wantUses {
		got, want := f.AttemptedUses[i], wantUses[i]
		if !got.Time.Equal(want.Time) || got.Operation != want.Operation || got.Principal != want.Principal ||
			got.EventID != want.EventID || got.SourceIP != want.SourceIP || got.ErrorCode != want.ErrorCode {
			t.Errorf("AttemptedUses[%d] = %+v, want %+v", i, got, want)
		}
	}
	wantReason := "GenerateDataKey attempted by s3.amazonaws.com at 2026-11-21T10:15:00Z failed: key pending deletion (CloudTrail event f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9; 1 more failed attempt)"
	if f.InUseReason != wantReason {
		t.Errorf("InUseReason = %q\nwant %q", f.InUseReason, wantReason)
	}
	if !f.UsageTracked || f.LastUse != nil {
		t.Errorf("UsageTracked=%v LastUse=%+v, want tracked with no use", f.UsageTracked, f.LastUse)
	}
	if d := fs[1]; d.ScheduledBy != nil || d.AttemptedUses != nil || d.InUseReason != "" || !d.UsageTracked {
		t.Errorf("disabled finding: %+v, want last-use only", d)
	}

	// Five pages, each a LookupEvents by the key ARN over the same window,
	// chained by NextToken; none for the disabled key.
	reqs := srv.Requests(awsfake.OpLookupEvents)
	if len(reqs) != 5 {
		t.Fatalf("LookupEvents requests = %d, want 5 pages", len(reqs))
	}
	for i, r := range reqs {
		var in struct {
			LookupAttributes []struct{ AttributeKey, AttributeValue string }
			StartTime        float64
			EndTime          float64
			MaxResults       int
			NextToken        string
		}
		if err := json.Unmarshal(r.Body, &in); err != nil {
			t.Fatalf("request %d body %s: %v", i, r.Body, err)
		}
		if len(in.LookupAttributes) != 1 || in.LookupAttributes[0].AttributeKey != "ResourceName" || in.LookupAttributes[0].AttributeValue != arnA {
			t.Errorf("request %d LookupAttributes = %+v, want ResourceName=%s", i, in.LookupAttributes, arnA)
		}
		wantStart := deletionDate.AddDate(0, 0, -30).Add(-time.Hour)
		if int64(in.StartTime) != wantStart.Unix() || int64(in.EndTime) != scanTime.Unix() || in.MaxResults != 50 {
			t.Errorf("request %d window = %v..%v max %d, want %v..%v max 50", i, time.Unix(int64(in.StartTime), 0).UTC(), time.Unix(int64(in.EndTime), 0).UTC(), in.MaxResults, wantStart, scanTime)
		}
		if (i == 0) != (in.NextToken == "") {
			t.Errorf("request %d NextToken = %q", i, in.NextToken)
		}
		if r.Status != 200 {
			t.Errorf("request %d status %d %s", i, r.Status, r.ErrorCode)
		}
	}
}

func TestEnrichCloudTrailThrottling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		throttles int
		wantCalls int // LookupEvents requests the fake saw
	}{
		{name: "once, retried by the SDK", throttles: 1, wantCalls: 1 + 1},
		// The SDK gives up after its 3 attempts; forensics waits and retries.
		{name: "beyond the SDK's attempts", throttles: 4, wantCalls: 4 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := awsfake.New(t)
			srv.AddEvents(keyHistory(t)...)
			srv.Inject(awsfake.Fault{Operation: awsfake.OpLookupEvents, Code: "ThrottlingException", Message: "Rate exceeded", Times: tt.throttles})
			clock := newFakeClock()
			fs := []finding.Finding{pendingFinding(keyA, arnA, "us-east-1")}
			warnings := forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{
				ScanTime: scanTime, CloudTrail: true, Now: clock.Now, Sleep: clock.Sleep,
			})
			// GetKeyLastUsage has no data for the key: NotFound is the only warning.
			for _, w := range warnings {
				if strings.Contains(w, "CloudTrail") {
					t.Errorf("unexpected CloudTrail warning %q", w)
				}
			}
			if fs[0].ScheduledBy == nil || len(fs[0].AttemptedUses) != 2 || fs[0].InUseReason == "" {
				t.Errorf("finding = %+v, want the evidence despite throttling", fs[0])
			}
			// Every injected throttle was met and retried, then one call got
			// through. (Under load the HTTP layer occasionally repeats a
			// successful request; that is not what this test is about.)
			throttled, ok := 0, 0
			for _, r := range srv.Requests(awsfake.OpLookupEvents) {
				switch r.ErrorCode {
				case "ThrottlingException":
					throttled++
				case "":
					ok++
				}
			}
			if throttled != tt.throttles || ok < 1 || throttled+ok < tt.wantCalls {
				t.Errorf("LookupEvents requests: %d throttled, %d answered; want %d throttled then an answer", throttled, ok, tt.throttles)
			}
		})
	}
}

func TestEnrichCloudTrailAccessDenied(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.AddEvents(keyHistory(t)...)
	srv.SetKeyLastUsage(awsfake.KeyLastUsage{KeyID: keyA, Operation: "Decrypt", Timestamp: scanTime.AddDate(0, 0, -20), CloudTrailEventID: "e-20", TrackingStartDate: trackingFrom})
	srv.SetKeyLastUsage(awsfake.KeyLastUsage{KeyID: keyB, TrackingStartDate: trackingFrom})
	srv.Inject(awsfake.Fault{Operation: awsfake.OpLookupEvents, Code: "AccessDeniedException",
		Message: "User: arn:aws:sts::111122223333:assumed-role/gate/ci is not authorized to perform: cloudtrail:LookupEvents"})
	fs := []finding.Finding{pendingFinding(keyA, arnA, "us-east-1"), pendingFinding(keyB, arnB, "us-east-1")}
	warnings := forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{ScanTime: scanTime, CloudTrail: true, Concurrency: 1})

	want := []string{"CloudTrail LookupEvents denied in 111122223333/us-east-1 (AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/gate/ci is not authorized to perform: cloudtrail:LookupEvents); who scheduled the deletion and attempted uses not checked for 2 keys. Grant cloudtrail:LookupEvents, or set cloudtrail: false."}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings =\n%q\nwant\n%q", warnings, want)
	}
	if n := len(srv.Requests(awsfake.OpLookupEvents)); n != 1 {
		t.Errorf("LookupEvents requests = %d, want 1: no more tries after AccessDenied", n)
	}
	// GetKeyLastUsage still answers: the recent use alone marks key A in use.
	if fs[0].InUseReason != "Decrypt 20 days ago (CloudTrail event e-20)" || fs[0].ScheduledBy != nil {
		t.Errorf("key A: InUseReason=%q ScheduledBy=%+v", fs[0].InUseReason, fs[0].ScheduledBy)
	}
	if fs[1].InUseReason != "" || !fs[1].UsageTracked {
		t.Errorf("key B: %+v", fs[1])
	}
}

// The limiter allows at most LookupsPerSecond calls per account and region,
// and regions do not wait for each other. Checked on a fake clock that stamps
// the requests the double records, so no timing can flake.
func TestLookupEventsRateLimitFakeClock(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	clock := newFakeClock()
	srv.SetClock(clock.Now)
	srv.SetPageSize(1)
	var fs []finding.Finding
	for i, region := range []string{"us-east-1", "us-east-1", "us-east-1", "eu-west-1", "eu-west-1"} {
		id := "5555aaaa-0000-4000-8000-00000000000" + string(rune('0'+i))
		arn := "arn:aws:kms:" + region + ":111122223333:key/" + id
		fs = append(fs, pendingFinding(id, arn, region))
		for j := range 3 { // 3 events: 3 pages per key
			srv.AddEvents(awsfake.FailedUseRecord("e-"+id+"-"+string(rune('0'+j)), "Decrypt", arn,
				"arn:aws:sts::111122223333:assumed-role/app/s", scanTime.Add(-time.Duration(j+1)*time.Hour)).Event())
		}
	}
	start := clock.Now()
	forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{
		ScanTime: scanTime, CloudTrail: true, Concurrency: 1, Now: clock.Now, Sleep: clock.Sleep,
	})

	byRegion := map[string][]time.Time{}
	for _, r := range srv.Requests(awsfake.OpLookupEvents) {
		byRegion[r.Region] = append(byRegion[r.Region], r.Time)
	}
	if len(byRegion["us-east-1"]) != 9 || len(byRegion["eu-west-1"]) != 6 {
		t.Fatalf("requests per region = us-east-1 %d, eu-west-1 %d; want 9 and 6", len(byRegion["us-east-1"]), len(byRegion["eu-west-1"]))
	}
	for region, times := range byRegion {
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < 500*time.Millisecond {
				t.Errorf("%s: requests %d and %d only %v apart, want >= 500ms (2 per second)", region, i-1, i, gap)
			}
		}
		for i := range times {
			n := 0
			for _, u := range times[i:] {
				if u.Sub(times[i]) < time.Second {
					n++
				}
			}
			if n > 2 {
				t.Errorf("%s: %d requests within one second from %v", region, n, times[i].Sub(start))
			}
		}
	}
	// Concurrency 1: eu-west-1 ran first (regions in sorted order), 6 calls in
	// 2.5s. us-east-1 has its own quota, so its first call did not wait; its
	// 9 calls took 4s.
	east, west := byRegion["us-east-1"], byRegion["eu-west-1"]
	if got := west[len(west)-1].Sub(west[0]); got != 2500*time.Millisecond {
		t.Errorf("eu-west-1 calls spanned %v, want 2.5s", got)
	}
	if !east[0].Equal(west[len(west)-1]) {
		t.Errorf("us-east-1 first call at %v, want right after eu-west-1's last at %v", east[0].Sub(start), west[len(west)-1].Sub(start))
	}
	if got := east[len(east)-1].Sub(east[0]); got != 4*time.Second {
		t.Errorf("us-east-1 calls spanned %v, want 4s", got)
	}
}

// The same limit on the real clock, with concurrent workers on one region:
// only lower bounds on elapsed time and a loose per-second count, which a
// slow machine cannot break.
func TestLookupEventsRateLimitRealClock(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.SetPageSize(1)
	var fs []finding.Finding
	for i := range 2 {
		id := "6666bbbb-0000-4000-8000-00000000000" + string(rune('0'+i))
		arn := "arn:aws:kms:us-east-1:111122223333:key/" + id
		fs = append(fs, pendingFinding(id, arn, "us-east-1"))
		for j := range 2 {
			srv.AddEvents(noise("n-"+id+string(rune('0'+j)), scanTime.Add(-time.Duration(j+1)*time.Hour), arn))
		}
	}
	forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{ScanTime: scanTime, CloudTrail: true, Concurrency: 4})
	reqs := srv.Requests(awsfake.OpLookupEvents)
	if len(reqs) != 4 {
		t.Fatalf("LookupEvents requests = %d, want 4", len(reqs))
	}
	if span := reqs[3].Time.Sub(reqs[0].Time); span < 1300*time.Millisecond {
		t.Errorf("4 requests spanned %v, want >= 1.5s at 2 per second (1.3s allowed for latency)", span)
	}
	for i := range reqs {
		n := 0
		for _, r := range reqs[i:] {
			if r.Time.Sub(reqs[i].Time) < time.Second {
				n++
			}
		}
		if n > 3 {
			t.Errorf("%d requests within one second of request %d", n, i)
		}
	}
}

// When the CloudTrail budget runs out, lookups stop with one warning, and
// what was already read still counts.
func TestEnrichCloudTrailBudget(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.SetPageSize(1)
	srv.AddEvents(keyHistory(t)...)
	clock := newFakeClock()
	fs := []finding.Finding{pendingFinding(keyA, arnA, "us-east-1"), pendingFinding(keyB, arnB, "us-east-1")}
	warnings := forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{
		ScanTime: scanTime, CloudTrail: true, Concurrency: 1, Now: clock.Now, Sleep: clock.Sleep,
		CloudTrailBudget: 1500 * time.Millisecond,
	})
	// Pages at 0, 0.5, 1.0 and 1.5s fit the budget; the 5th would not.
	if n := len(srv.Requests(awsfake.OpLookupEvents)); n != 4 {
		t.Errorf("LookupEvents requests = %d, want 4", n)
	}
	var budget []string
	for _, w := range warnings {
		if strings.Contains(w, "time budget") {
			budget = append(budget, w)
		}
	}
	want := "CloudTrail lookups in 111122223333/us-east-1 stopped: the time budget of 1.5s ran out before 2 keys could be checked"
	if len(budget) != 1 || !strings.HasPrefix(budget[0], want) {
		t.Errorf("budget warnings = %q, want one starting %q", budget, want)
	}
	// Newest first: the first pages held the failed calls (the newest events).
	if len(fs[0].AttemptedUses) != 2 || fs[0].ScheduledBy != nil || !strings.HasPrefix(fs[0].InUseReason, "GenerateDataKey attempted by s3.amazonaws.com") {
		t.Errorf("key A = %+v, want the attempted uses read before the budget ran out", fs[0])
	}
}

// moto_server does not implement GetKeyLastUsage (HTTP 500): the findings
// stay untracked, with one warning and no further calls in that region.
func TestEnrichAgainstMoto(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)
	cfg := srv.Config("us-east-1")
	client := kms.NewFromConfig(cfg)
	var fs []finding.Finding
	for _, k := range srv.Seed(t, "us-east-1", moto.Key{PendingDays: 30}, moto.Key{PendingDays: 30}) {
		fs = append(fs, finding.Finding{RuleID: finding.RulePendingDeletion, Account: "123456789012", Region: "us-east-1",
			KeyID: k.ID, ARN: k.ARN, State: finding.StatePendingDeletion})
	}
	counted := &countingUsage{api: client}
	warnings := forensics.Enrich(ctx, fs, func(string, string) (forensics.KeyUsageAPI, forensics.LookupEventsAPI) {
		return counted, nil
	}, forensics.Options{ScanTime: scanTime, CloudTrail: true})
	for _, f := range fs {
		if f.UsageTracked || f.LastUse != nil || f.InUseReason != "" {
			t.Errorf("%s: %+v, want untracked", f.KeyID, f)
		}
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "GetKeyLastUsage failed in 123456789012/us-east-1 for 2 keys (HTTP 500") {
		t.Errorf("warnings = %q", warnings)
	}
	if n := counted.calls.Load(); n != 1 {
		t.Errorf("GetKeyLastUsage calls = %d, want 1", n)
	}
}

type countingUsage struct {
	api   forensics.KeyUsageAPI
	calls atomic.Int32
}

func (c *countingUsage) GetKeyLastUsage(ctx context.Context, in *kms.GetKeyLastUsageInput, opts ...func(*kms.Options)) (*kms.GetKeyLastUsageOutput, error) {
	c.calls.Add(1)
	return c.api.GetKeyLastUsage(ctx, in, opts...)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: scanTime.Add(time.Minute)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return nil
}

// Should CloudTrail index a key's events by key id rather than ARN, the
// lookup by ARN comes back empty and the key id is tried once.
func TestEnrichCloudTrailKeyIDFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		indexBy    string // ResourceName of the stored events; "" stores none
		wantSched  bool
		wantLookup []string // AttributeValue of each LookupEvents call
	}{
		{name: "indexed by ARN", indexBy: arnA, wantSched: true, wantLookup: []string{arnA}},
		{name: "indexed by key id", indexBy: keyA, wantSched: true, wantLookup: []string{arnA, keyA}},
		{name: "no history", wantLookup: []string{arnA, keyA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := awsfake.New(t)
			if tt.indexBy != "" {
				ev := testdataEvent(t, "schedule-key-deletion.json")
				ev.Resources = []awsfake.Resource{{ResourceType: "AWS::KMS::Key", ResourceName: tt.indexBy}}
				srv.AddEvents(ev)
			}
			fs := []finding.Finding{pendingFinding(keyA, arnA, "us-east-1")}
			warnings := forensics.Enrich(context.Background(), fs, func(_, region string) (forensics.KeyUsageAPI, forensics.LookupEventsAPI) {
				return nil, cloudtrail.NewFromConfig(srv.Config(region))
			}, forensics.Options{ScanTime: scanTime, CloudTrail: true})
			if len(warnings) != 0 {
				t.Errorf("warnings = %q", warnings)
			}
			if got := fs[0].ScheduledBy != nil; got != tt.wantSched {
				t.Errorf("ScheduledBy = %+v, want found %v", fs[0].ScheduledBy, tt.wantSched)
			}
			var got []string
			for _, r := range srv.Requests(awsfake.OpLookupEvents) {
				var in struct {
					LookupAttributes []struct{ AttributeValue string }
				}
				_ = json.Unmarshal(r.Body, &in)
				got = append(got, in.LookupAttributes[0].AttributeValue)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantLookup, ",") {
				t.Errorf("lookups by %q, want %q", got, tt.wantLookup)
			}
		})
	}
}

// lateLookups is a LookupEvents client whose calls take rtt on the fake
// clock, half on the way out and half back, and the calls numbered in late
// (from 1) leave that much later than asked: a busy CPU between the rate
// limiter's slot and the request reaching the server.
type lateLookups struct {
	api   forensics.LookupEventsAPI
	clock *fakeClock
	rtt   time.Duration
	late  map[int]time.Duration
	n     int
}

func (l *lateLookups) LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	l.n++
	_ = l.clock.Sleep(ctx, l.late[l.n]+l.rtt/2)
	// Not ctx: this client does not say when it wrote a request (the real
	// HTTP client underneath would, at the server's time).
	out, err := l.api.LookupEvents(context.Background(), in, opts...)
	_ = l.clock.Sleep(ctx, l.rtt-l.rtt/2)
	return out, err
}

// A lookup that reaches the server late must not bring the next one closer
// to it than the quota's interval: the next is spaced from the late one's
// answer, not from the slot it was due in.
func TestLookupAfterALateOneKeepsItsDistance(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	late := &lateLookups{clock: clock, rtt: 80 * time.Millisecond, late: map[int]time.Duration{2: 300 * time.Millisecond}}
	reqs := fourLookups(t, "7777cccc", clock, func(trail forensics.LookupEventsAPI) forensics.LookupEventsAPI {
		late.api = trail
		return late
	})
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < 500*time.Millisecond {
			t.Errorf("requests %d and %d reached the server %v apart, want >= 500ms (2 per second)", i-1, i, gap)
		}
	}
	// Only the late one costs time: 3 intervals and its 300 ms.
	if span := reqs[3].Time.Sub(reqs[0].Time); span != 1800*time.Millisecond {
		t.Errorf("4 requests spanned %v, want 1.8s", span)
	}
}

// fourLookups enriches four pending keys of one account and Region, on
// clock, with CloudTrail through wrap's client around the fake's, and returns
// the four LookupEvents requests as the fake saw them (at its clock's time).
func fourLookups(t *testing.T, idPrefix string, clock *fakeClock, wrap func(forensics.LookupEventsAPI) forensics.LookupEventsAPI) []awsfake.Request {
	t.Helper()
	srv := awsfake.New(t)
	srv.SetClock(clock.Now)
	var fs []finding.Finding
	for i := range 4 {
		id := idPrefix + "-0000-4000-8000-00000000000" + string(rune('0'+i))
		arn := "arn:aws:kms:us-east-1:111122223333:key/" + id
		fs = append(fs, pendingFinding(id, arn, "us-east-1"))
		srv.AddEvents(noise("n-"+id, scanTime.Add(-time.Hour), arn))
	}
	// One wrapped client for the one account and Region, made before Enrich
	// asks for it from several goroutines: the wrappers count their calls.
	usage, trail := clientsFor(srv)("111122223333", "us-east-1")
	wrapped := wrap(trail)
	clients := func(string, string) (forensics.KeyUsageAPI, forensics.LookupEventsAPI) { return usage, wrapped }
	forensics.Enrich(context.Background(), fs, clients, forensics.Options{
		ScanTime: scanTime, CloudTrail: true, Concurrency: 1, Now: clock.Now, Sleep: clock.Sleep,
	})
	reqs := srv.Requests(awsfake.OpLookupEvents)
	if len(reqs) != 4 {
		t.Fatalf("LookupEvents requests = %d, want 4", len(reqs))
	}
	return reqs
}

// tracedLookups is a LookupEvents client that reports, as net/http does,
// when each request is written to the connection; its requests reach the
// server rtt/2 later, and the answers numbered in slowAnswer (from 1) come
// back that much later than rtt/2 after (a busy CPU reading them).
type tracedLookups struct {
	api        forensics.LookupEventsAPI
	clock      *fakeClock
	rtt        time.Duration
	slowAnswer map[int]time.Duration
	n          int
}

func (l *tracedLookups) LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	l.n++
	if tr := httptrace.ContextClientTrace(ctx); tr != nil && tr.WroteRequest != nil {
		tr.WroteRequest(httptrace.WroteRequestInfo{})
	}
	_ = l.clock.Sleep(ctx, l.rtt/2)
	// Not ctx: the real HTTP client underneath would report its own write,
	// at the server's time.
	out, err := l.api.LookupEvents(context.Background(), in, opts...)
	_ = l.clock.Sleep(ctx, l.rtt-l.rtt/2+l.slowAnswer[l.n])
	return out, err
}

// When the client reports when each request was written, an answer read
// late costs nothing: the next lookup is spaced from the write, which is
// what the server's quota saw.
func TestLookupSpacedFromTheWriteNotTheAnswer(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	traced := &tracedLookups{clock: clock, rtt: 80 * time.Millisecond, slowAnswer: map[int]time.Duration{2: 300 * time.Millisecond}}
	reqs := fourLookups(t, "8888dddd", clock, func(trail forensics.LookupEventsAPI) forensics.LookupEventsAPI {
		traced.api = trail
		return traced
	})
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap != 500*time.Millisecond {
			t.Errorf("requests %d and %d reached the server %v apart, want 500ms (2 per second, the slow answer costing nothing)", i-1, i, gap)
		}
	}
}

// A throttled lookup, which took nothing from the quota, is retried an
// eighth of the interval after it; a second throttling backs off longer.
func TestThrottledLookupRetriedSoon(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	clock := newFakeClock()
	srv.SetClock(clock.Now)
	srv.AddEvents(keyHistory(t)...)
	srv.Inject(awsfake.Fault{Operation: awsfake.OpLookupEvents, Code: "ThrottlingException", Message: "Rate exceeded", Times: 2})
	fs := []finding.Finding{pendingFinding(keyA, arnA, "us-east-1")}
	forensics.Enrich(context.Background(), fs, clientsFor(srv), forensics.Options{ScanTime: scanTime, CloudTrail: true, Now: clock.Now, Sleep: clock.Sleep})
	reqs := srv.Requests(awsfake.OpLookupEvents)
	if len(reqs) < 3 || reqs[0].ErrorCode != "ThrottlingException" || reqs[1].ErrorCode != "ThrottlingException" || reqs[2].ErrorCode != "" {
		t.Fatalf("requests %+v, want two throttled then an answer", reqs)
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap != 62500*time.Microsecond {
		t.Errorf("first retry %v after the throttled lookup, want 62.5ms (an eighth of the interval at 2 a second)", gap)
	}
	if gap := reqs[2].Time.Sub(reqs[1].Time); gap < time.Second {
		t.Errorf("second retry %v after the second throttling, want a backoff of at least 1s", gap)
	}
	if fs[0].ScheduledBy == nil {
		t.Errorf("finding %+v, want who scheduled it despite the throttling", fs[0])
	}
}
