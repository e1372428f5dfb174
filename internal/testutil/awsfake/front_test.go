package awsfake_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awsfake"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// In front of a real moto_server: moto keeps the keys, the front answers what
// moto lacks and records who scheduled each deletion that went through it.
func TestFrontOfMoto(t *testing.T) {
	srv := moto.Start(t)
	ctx := moto.Context(t)
	target, _ := url.Parse(srv.URL)
	fake := awsfake.NewEmulator()
	fake.SetClock(func() time.Time { return t0 })
	fake.SetAnyKeyUsage(awsfake.KeyLastUsage{TrackingStartDate: t0.AddDate(0, -3, 0)})
	front := httptest.NewServer(fake.Front(httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(front.Close)

	cfg := srv.Config("eu-west-1")
	cfg.BaseEndpoint = aws.String(front.URL)
	cfg.Credentials = credentials.NewStaticCredentialsProvider("alice", "secret", "")
	c := kms.NewFromConfig(cfg)
	scheduled := moto.SeedWith(t, c, moto.Key{PendingDays: 12}, moto.Key{PendingDays: 0})
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(scheduled[1].ID), PendingWindowInDays: aws.Int32(3)}); err != nil {
		t.Fatal(err) // moto ignores the 3-day window: no event may be recorded
	}

	out, err := c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String(scheduled[0].ARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.KeyId) != scheduled[0].ID || !aws.ToTime(out.TrackingStartDate).Equal(t0.AddDate(0, -3, 0)) || out.KeyLastUsage == nil || out.KeyLastUsage.Timestamp != nil {
		t.Errorf("GetKeyLastUsage = %+v, want no use since tracking began", out)
	}

	trail := cloudtrail.NewFromConfig(cfg)
	for _, k := range scheduled {
		ev, err := trail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: aws.String(k.ARN)}}})
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if k.ID == scheduled[1].ID {
			want = 0
		}
		if len(ev.Events) != want {
			t.Fatalf("%s: %d events, want %d", k.ID, len(ev.Events), want)
		}
		if want == 1 {
			e := ev.Events[0]
			if aws.ToString(e.EventName) != "ScheduleKeyDeletion" || aws.ToString(e.Username) != "alice" || !aws.ToTime(e.EventTime).Equal(t0) ||
				!strings.Contains(aws.ToString(e.CloudTrailEvent), `"pendingWindowInDays":12`) {
				t.Errorf("event = %+v", e)
			}
		}
	}

	// A script marks a key as used through the control path.
	body := `{"KeyID":"` + scheduled[1].ID + `","Operation":"Decrypt","Timestamp":"2026-11-22T12:00:00Z"}`
	resp, err := http.Post(front.URL+awsfake.ControlKeyLastUsage, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("control: status %d", resp.StatusCode)
	}
	out, err = c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String(scheduled[1].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if lu := out.KeyLastUsage; lu == nil || lu.Operation != "Decrypt" || !aws.ToTime(lu.Timestamp).Equal(t0.AddDate(0, 0, -2)) {
		t.Errorf("after control: KeyLastUsage = %+v, want Decrypt two days before t0", lu)
	}
}
