package awsfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awsfake"
)

const (
	keyID  = "1234abcd-12ab-34cd-56ef-1234567890ab"
	keyARN = "arn:aws:kms:us-east-1:111122223333:key/" + keyID
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestGetKeyLastUsage(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.SetKeyLastUsage(awsfake.KeyLastUsage{KeyID: keyID, Operation: "Decrypt", Timestamp: t0.Add(-1500 * time.Millisecond),
		CloudTrailEventID: "ev-1", KMSRequestID: "req-1", TrackingStartDate: t0.AddDate(0, -6, 0), KeyCreationDate: t0.AddDate(-1, 0, 0)})
	srv.SetKeyLastUsage(awsfake.KeyLastUsage{KeyID: "unused", TrackingStartDate: t0.AddDate(0, -6, 0)})
	client := kms.NewFromConfig(srv.Config("us-east-1"))
	ctx := context.Background()

	for _, ref := range []string{keyID, keyARN} {
		out, err := client.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String(ref)})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		lu := out.KeyLastUsage
		if lu == nil || lu.Operation != kmstypes.KeyLastUsageTrackingOperationDecrypt || !aws.ToTime(lu.Timestamp).Equal(t0.Add(-1500*time.Millisecond)) ||
			aws.ToString(lu.CloudTrailEventId) != "ev-1" || aws.ToString(lu.KmsRequestId) != "req-1" {
			t.Errorf("%s: KeyLastUsage = %+v", ref, lu)
		}
		if !aws.ToTime(out.TrackingStartDate).Equal(t0.AddDate(0, -6, 0)) || !aws.ToTime(out.KeyCreationDate).Equal(t0.AddDate(-1, 0, 0)) || aws.ToString(out.KeyId) != keyID {
			t.Errorf("%s: output = %+v", ref, out)
		}
	}

	out, err := client.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String("unused")})
	if err != nil {
		t.Fatal(err)
	}
	if lu := out.KeyLastUsage; lu == nil || lu.Operation != "" || lu.Timestamp != nil {
		t.Errorf("unused key: KeyLastUsage = %+v, want the documented empty object", lu)
	}

	_, err = client.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String("missing")})
	var nf *kmstypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("missing key: err = %v, want NotFoundException", err)
	}
	reqs := srv.Requests(awsfake.OpGetKeyLastUsage)
	if len(reqs) != 4 || reqs[0].Target != awsfake.TargetGetKeyLastUsage || reqs[0].Region != "us-east-1" || reqs[0].AccessKeyID != "testing" {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestLookupEventsPagingAndFilters(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.SetPageSize(2)
	user := "arn:aws:iam::111122223333:user/Alice"
	var want []string
	for i := range 5 {
		id := "ev-" + string(rune('a'+i))
		srv.AddEvents(awsfake.ScheduleKeyDeletionRecord(id, keyARN, user, t0.Add(-time.Duration(i+1)*time.Hour), 7).Event())
		want = append(want, id) // newest first
	}
	other := awsfake.ScheduleKeyDeletionRecord("other-key", "arn:aws:kms:us-east-1:111122223333:key/other", user, t0.Add(-time.Minute), 7).Event()
	otherRegion := awsfake.ScheduleKeyDeletionRecord("other-region", "arn:aws:kms:eu-west-1:111122223333:key/"+keyID, user, t0.Add(-time.Minute), 7).Event()
	tooOld := awsfake.ScheduleKeyDeletionRecord("too-old", keyARN, user, t0.AddDate(0, 0, -40), 7).Event()
	srv.AddEvents(other, otherRegion, tooOld)

	client := cloudtrail.NewFromConfig(srv.Config("us-east-1"))
	p := cloudtrail.NewLookupEventsPaginator(client, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: aws.String(keyARN)}},
		StartTime:        aws.Time(t0.AddDate(0, 0, -30)),
		EndTime:          aws.Time(t0),
	})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.EventId))
			var rec map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil || rec["eventName"] != "ScheduleKeyDeletion" {
				t.Errorf("CloudTrailEvent = %s (%v)", aws.ToString(e.CloudTrailEvent), err)
			}
			if len(e.Resources) != 1 || aws.ToString(e.Resources[0].ResourceName) != keyARN || aws.ToString(e.Resources[0].ResourceType) != "AWS::KMS::Key" {
				t.Errorf("Resources = %+v", e.Resources)
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || pages != 3 {
		t.Errorf("events = %v in %d pages, want %v in 3", got, pages, want)
	}
	if r := srv.Requests(awsfake.OpLookupEvents); r[0].Target != awsfake.TargetLookupEvents {
		t.Errorf("the SDK sent X-Amz-Target %q", r[0].Target)
	}
}

func TestLookupEventsErrors(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.AddEvents(awsfake.ScheduleKeyDeletionRecord("ev-a", keyARN, "arn:aws:iam::111122223333:user/Alice", t0.Add(-time.Hour), 7).Event(),
		awsfake.ScheduleKeyDeletionRecord("ev-b", keyARN, "arn:aws:iam::111122223333:user/Alice", t0.Add(-2*time.Hour), 7).Event())
	srv.SetPageSize(1)
	client := cloudtrail.NewFromConfig(srv.Config("us-east-1"))
	byARN := []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: aws.String(keyARN)}}
	first, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{LookupAttributes: byARN})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	tests := []struct {
		name string
		in   *cloudtrail.LookupEventsInput
		code string
	}{
		{"two lookup attributes", &cloudtrail.LookupEventsInput{LookupAttributes: append(byARN, cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("Decrypt")})}, "InvalidLookupAttributesException"},
		{"max results above 50", &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, "InvalidMaxResultsException"},
		{"start after end", &cloudtrail.LookupEventsInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(-time.Hour))}, "InvalidTimeRangeException"},
		{"token with other parameters", &cloudtrail.LookupEventsInput{NextToken: first.NextToken}, "InvalidNextTokenException"},
	}
	for _, tt := range tests {
		_, err := client.LookupEvents(context.Background(), tt.in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
			t.Errorf("%s: err = %v, want %s", tt.name, err, tt.code)
		}
	}
}

func TestFaultsAndRawProtocol(t *testing.T) {
	t.Parallel()
	srv := awsfake.New(t)
	srv.Inject(awsfake.Fault{Operation: awsfake.OpLookupEvents, Code: "ThrottlingException", Message: "Rate exceeded", Times: 1})
	client := cloudtrail.NewFromConfig(srv.Config("us-east-1"))
	if _, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{}); err != nil {
		t.Fatalf("throttled once then retried by the SDK: %v", err)
	}
	reqs := srv.Requests(awsfake.OpLookupEvents)
	if len(reqs) != 2 || reqs[0].ErrorCode != "ThrottlingException" || reqs[0].Status != 400 || reqs[1].Status != 200 {
		t.Errorf("requests = %+v", reqs)
	}

	tests := []struct {
		name, target, contentType string
		wantStatus                int
		wantType                  string
	}{
		{"fully qualified CloudTrail target", awsfake.TargetLookupEventsFullName, "application/x-amz-json-1.1", 200, ""},
		{"unknown target", "TrentService.DeleteEverything", "application/x-amz-json-1.1", 400, "UnknownOperationException"},
		{"wrong content type", awsfake.TargetLookupEvents, "application/json", 400, "SerializationException"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", tt.contentType)
		req.Header.Set("X-Amz-Target", tt.target)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20261124/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || (tt.wantType != "" && body["__type"] != tt.wantType) {
			t.Errorf("%s: %d %v, want %d %s", tt.name, resp.StatusCode, body, tt.wantStatus, tt.wantType)
		}
	}
}

func TestEventFromJSON(t *testing.T) {
	t.Parallel()
	rec := awsfake.FailedUseRecord("ev-1", "Decrypt", keyARN, "arn:aws:sts::111122223333:assumed-role/app/session-1", t0)
	e, err := awsfake.EventFromJSON(rec.JSON())
	if err != nil {
		t.Fatal(err)
	}
	want := rec.Event()
	if e.EventID != want.EventID || e.EventName != want.EventName || !e.EventTime.Equal(want.EventTime) || e.Region != "us-east-1" ||
		e.Username != "session-1" || e.ReadOnly != "true" || len(e.Resources) != 1 || e.Resources[0] != want.Resources[0] {
		t.Errorf("EventFromJSON = %+v\nwant %+v", e, want)
	}
	var parsed struct {
		ErrorCode    string `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
		UserIdentity struct {
			Type string `json:"type"`
			ARN  string `json:"arn"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal([]byte(e.CloudTrailEvent), &parsed); err != nil || parsed.ErrorCode != "KMSInvalidStateException" ||
		parsed.ErrorMessage != keyARN+" is pending deletion." || parsed.UserIdentity.Type != "AssumedRole" {
		t.Errorf("record = %+v (%v)", parsed, err)
	}
}
