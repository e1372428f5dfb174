package forensics

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

const testKeyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		record        string
		keyARN        string
		username      string
		wantOK        bool
		wantPrincipal string
		wantTime      time.Time
		wantWindow    int
	}{
		{name: "ScheduleKeyDeletion by an IAM user", record: readTestdata(t, "schedule-key-deletion.json"), keyARN: testKeyARN, wantOK: true,
			wantPrincipal: "arn:aws:iam::111122223333:user/Alice", wantTime: time.Date(2026, 11, 10, 9, 30, 0, 0, time.UTC), wantWindow: 20},
		{name: "failed Decrypt by an assumed role", record: readTestdata(t, "decrypt-pending-deletion.json"), keyARN: testKeyARN, wantOK: true,
			wantPrincipal: "arn:aws:sts::111122223333:assumed-role/orders-app/i-0abc1234def567890", wantTime: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)},
		{name: "failed GenerateDataKey by a service", record: readTestdata(t, "decrypt-by-service.json"), keyARN: testKeyARN, wantOK: true,
			wantPrincipal: "s3.amazonaws.com", wantTime: time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC)},
		{name: "another key's record", record: readTestdata(t, "schedule-key-deletion.json"), keyARN: "arn:aws:kms:us-east-1:111122223333:key/other"},
		{name: "not KMS", record: `{"eventSource":"s3.amazonaws.com","eventName":"Decrypt"}`, keyARN: testKeyARN},
		{name: "not JSON", record: `{"eventName":`, keyARN: testKeyARN},
		{name: "falls back to the event's username and time", record: `{"eventName":"Encrypt","errorCode":"KMSInvalidStateException","eventTime":"yesterday","requestParameters":null}`,
			keyARN: testKeyARN, username: "legacy-user", wantOK: true, wantPrincipal: "legacy-user", wantTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{name: "window as a string", record: `{"eventName":"ScheduleKeyDeletion","eventTime":"2026-11-01T00:00:00Z","requestParameters":{"pendingWindowInDays":"7"}}`,
			keyARN: testKeyARN, wantOK: true, wantTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), wantWindow: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := types.Event{CloudTrailEvent: aws.String(tt.record), EventTime: aws.Time(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))}
			if tt.username != "" {
				ev.Username = aws.String(tt.username)
			}
			rec, ok := parseEvent(ev, tt.keyARN)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if rec.principal != tt.wantPrincipal || !rec.time.Equal(tt.wantTime) || rec.pendingWindowDays() != tt.wantWindow {
				t.Errorf("principal %q time %v window %d, want %q %v %d", rec.principal, rec.time, rec.pendingWindowDays(), tt.wantPrincipal, tt.wantTime, tt.wantWindow)
			}
		})
	}
}

// FuzzParseEvent: CloudTrail records are untrusted input; parsing must never
// panic, and a record it keeps must be KMS's and name the key (or no key).
func FuzzParseEvent(f *testing.F) {
	for _, name := range []string{"schedule-key-deletion.json", "decrypt-pending-deletion.json", "decrypt-by-service.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, record string) {
		rec, ok := parseEvent(types.Event{CloudTrailEvent: aws.String(record)}, testKeyARN)
		if !ok {
			return
		}
		if rec.EventSource != "" && rec.EventSource[:min(4, len(rec.EventSource))] != "kms." {
			t.Errorf("kept a record from %q", rec.EventSource)
		}
		_ = rec.pendingWindowDays()
	})
}
