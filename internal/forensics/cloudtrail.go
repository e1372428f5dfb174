package forensics

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptrace"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// cryptoOperations are the KMS calls that need usable key material. One of
// them failing with KMSInvalidStateException after the key was scheduled for
// deletion is a caller that still needs the key.
var cryptoOperations = map[string]bool{
	"Decrypt": true, "Encrypt": true, "ReEncrypt": true,
	"GenerateDataKey": true, "GenerateDataKeyWithoutPlaintext": true,
	"GenerateDataKeyPair": true, "GenerateDataKeyPairWithoutPlaintext": true,
	"Sign": true, "Verify": true, "GenerateMac": true, "VerifyMac": true,
	"DeriveSharedSecret": true, "Encapsulate": true, "Decapsulate": true,
	"GetPublicKey": true,
}

const (
	errInvalidState = "KMSInvalidStateException"
	// cloudTrailHistory is how far back LookupEvents can see.
	cloudTrailHistory = 90 * 24 * time.Hour
	// maxWindowDays is the longest waiting period ScheduleKeyDeletion accepts,
	// so DeletionDate minus it is at or before the ScheduleKeyDeletion call.
	maxWindowDays     = 30
	maxThrottleTries  = 6
	pageSize          = 50
	firstThrottleWait = time.Second
)

// errBudget marks the end of the CloudTrail time budget.
var errBudget = errors.New("CloudTrail time budget exhausted")

// event is the part of a CloudTrail record forensics reads, from the record
// JSON in Event.CloudTrailEvent (see the KMS Developer Guide's CloudTrail
// examples for ScheduleKeyDeletion and Decrypt).
type event struct {
	EventID         string `json:"eventID"`
	EventName       string `json:"eventName"`
	EventSource     string `json:"eventSource"`
	EventTime       string `json:"eventTime"`
	SourceIPAddress string `json:"sourceIPAddress"`
	UserAgent       string `json:"userAgent"`
	ErrorCode       string `json:"errorCode"`
	UserIdentity    struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		ARN         string `json:"arn"`
		UserName    string `json:"userName"`
		InvokedBy   string `json:"invokedBy"`
	} `json:"userIdentity"`
	RequestParameters struct {
		PendingWindowInDays any `json:"pendingWindowInDays"`
	} `json:"requestParameters"`
	Resources []struct {
		ARN string `json:"ARN"`
	} `json:"resources"`

	time      time.Time
	principal string
}

// parseEvent decodes one LookupEvents event. It drops records that are not
// KMS's or that name other keys only.
func parseEvent(ev types.Event, keyARN string) (event, bool) {
	var rec event
	if ev.CloudTrailEvent == nil || json.Unmarshal([]byte(*ev.CloudTrailEvent), &rec) != nil {
		return event{}, false
	}
	if rec.EventName == "" {
		rec.EventName = aws.ToString(ev.EventName)
	}
	if rec.EventID == "" {
		rec.EventID = aws.ToString(ev.EventId)
	}
	if rec.EventSource != "" && !strings.HasPrefix(rec.EventSource, "kms.") {
		return event{}, false
	}
	if len(rec.Resources) > 0 {
		ours := false
		for _, r := range rec.Resources {
			ours = ours || r.ARN == keyARN
		}
		if !ours {
			return event{}, false
		}
	}
	if t, err := time.Parse(time.RFC3339, rec.EventTime); err == nil {
		rec.time = t.UTC()
	} else if ev.EventTime != nil {
		rec.time = ev.EventTime.UTC()
	}
	id := rec.UserIdentity
	for _, p := range []string{id.ARN, id.InvokedBy, id.PrincipalID, aws.ToString(ev.Username)} {
		if p != "" {
			rec.principal = p
			break
		}
	}
	return rec, true
}

// pendingWindowDays is requestParameters.pendingWindowInDays, or 0 when it
// is absent or not a plausible number of days.
func (rec event) pendingWindowDays() int {
	var days float64
	switch v := rec.RequestParameters.PendingWindowInDays.(type) {
	case float64:
		days = v
	case string:
		days, _ = strconv.ParseFloat(v, 64)
	}
	if days < 1 || days > 366 || days != float64(int(days)) {
		return 0
	}
	return int(days)
}

// window is the LookupEvents time range for a finding: from the earliest time
// the deletion can have been scheduled (DeletionDate minus the longest
// waiting period; for a primary waiting on its replicas, whose date is not
// known, all of CloudTrail's 90 days) but not before the key existed, to the
// scan.
func (e *enricher) window(f *finding.Finding) (start, end time.Time) {
	end = e.opts.ScanTime.UTC()
	earliest := end.Add(-cloudTrailHistory).Add(time.Hour)
	start = earliest
	if !f.DeletionDate.IsZero() {
		start = f.DeletionDate.UTC().AddDate(0, 0, -maxWindowDays).Add(-time.Hour)
	}
	if !f.CreationDate.IsZero() && f.CreationDate.After(start) {
		start = f.CreationDate.UTC().Add(-time.Minute)
	}
	if start.Before(earliest) {
		start = earliest
	}
	if start.After(end) {
		start = end
	}
	return start, end
}

// trail reads the finding's CloudTrail history, newest first, page by page.
// KMS records name the key by ARN in resources[], which is what the
// ResourceName lookup attribute matches; should nothing at all come back by
// ARN, the key id is tried once.
func (e *enricher) trail(ctx context.Context, i int, f *finding.Finding, api LookupEventsAPI) {
	if f.ARN == "" {
		return
	}
	st := e.region(f.Account, f.Region)
	st.mu.Lock()
	denied := st.trailDenied
	st.mu.Unlock()
	if denied != nil {
		e.report(i, *denied)
		return
	}
	start, end := e.window(f)
	events, seen, ok := e.readPages(ctx, i, f, st, api, f.ARN, start, end)
	if ok && seen == 0 && f.KeyID != "" && f.KeyID != f.ARN {
		events, _, _ = e.readPages(ctx, i, f, st, api, f.KeyID, start, end)
	}
	e.analyze(i, f, events, start)
}

// readPages reads the events whose ResourceName is name. It returns the
// events about the finding's key, how many events came back in all, and
// whether reading ended normally (no error, budget or page cap).
func (e *enricher) readPages(ctx context.Context, i int, f *finding.Finding, st *regionState, api LookupEventsAPI, name string, start, end time.Time) ([]event, int, bool) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{
			AttributeKey:   types.LookupAttributeKeyResourceName,
			AttributeValue: aws.String(name),
		}},
		StartTime:  aws.Time(start),
		EndTime:    aws.Time(end),
		MaxResults: aws.Int32(pageSize),
	}
	var events []event
	seen := 0
	for page := 0; ; page++ {
		if page == e.opts.MaxPages {
			e.report(i, issue{kind: kindPages, account: f.Account, region: f.Region})
			return events, seen, false
		}
		out, err := e.lookup(ctx, st, api, in)
		if err != nil {
			e.trailFailed(ctx, i, f, st, err)
			return events, seen, false // what was read is still evidence
		}
		seen += len(out.Events)
		for _, ev := range out.Events {
			if rec, ok := parseEvent(ev, f.ARN); ok {
				events = append(events, rec)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return events, seen, true
		}
		in.NextToken = out.NextToken
	}
}

func (e *enricher) trailFailed(ctx context.Context, i int, f *finding.Finding, st *regionState, err error) {
	is := issue{account: f.Account, region: f.Region, code: awserr.Code(err), message: awserr.Message(err)}
	switch {
	case errors.Is(err, errBudget) || errors.Is(context.Cause(ctx), errBudget):
		is = issue{kind: kindBudget, account: f.Account, region: f.Region}
	case awserr.IsAccessDenied(err):
		is.kind = kindTrailDenied
		st.mu.Lock()
		if st.trailDenied == nil {
			st.trailDenied = &is
		} else {
			is = *st.trailDenied
		}
		st.mu.Unlock()
	default:
		is.kind = kindTrail
	}
	e.report(i, is)
}

// trailMaxAttempts bounds the SDK's attempts of one LookupEvents call.
const trailMaxAttempts = 3

// lookup makes one LookupEvents call in its turn under the account and
// region's rate limit. Throttling the SDK's own retries did not absorb is
// retried here with backoff, still under the limit.
func (e *enricher) lookup(ctx context.Context, st *regionState, api LookupEventsAPI, in *cloudtrail.LookupEventsInput) (*cloudtrail.LookupEventsOutput, error) {
	// The first retry waits only its turn (an eighth of the interval after
	// the throttled one was written: regionState.lookupDone). Throttled
	// again, something else draws on the quota: back off.
	var wait time.Duration
	for try := 1; ; try++ {
		if err := e.wait(ctx, st); err != nil {
			return nil, err
		}
		sent := e.opts.Now()
		var wrote atomicTime
		tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			// Called once the request is on the connection (again for an
			// SDK retry: the last one counts).
			WroteRequest: func(httptrace.WroteRequestInfo) { wrote.store(e.opts.Now()) },
		})
		out, err := api.LookupEvents(tctx, in, func(o *cloudtrail.Options) {
			// Fewer SDK attempts than the scan's calls, and none for
			// throttling: that is retried below, in its turn under the rate
			// limit (an SDK retry, outside it, meets the quota again).
			o.RetryMaxAttempts = trailMaxAttempts
			if o.Retryer != nil {
				o.Retryer = noThrottleRetry{o.Retryer}
			}
		})
		st.lookupDone(sent, wrote.load(), e.opts.Now(), awserr.IsThrottling(err))
		if err == nil || !awserr.IsThrottling(err) || try == maxThrottleTries {
			return out, err
		}
		if e.opts.Now().Add(wait).After(e.deadline) {
			return nil, errBudget
		}
		if wait > 0 {
			if err := e.opts.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		wait = max(firstThrottleWait, 2*wait)
	}
}

// atomicTime is a time set by one goroutine (the HTTP transport's) and read
// by another.
type atomicTime struct{ v atomic.Pointer[time.Time] }

func (a *atomicTime) store(t time.Time) { a.v.Store(&t) }

func (a *atomicTime) load() time.Time {
	if t := a.v.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// noThrottleRetry is an SDK retryer that leaves throttling to lookup.
type noThrottleRetry struct{ aws.Retryer }

func (r noThrottleRetry) IsErrorRetryable(err error) bool {
	return !awserr.IsThrottling(err) && r.Retryer.IsErrorRetryable(err)
}

// wait blocks until the limiter grants a request and the last lookup's
// answer allows the next (regionState.lookupDone), or fails with errBudget
// when that would be after the budget's deadline.
func (e *enricher) wait(ctx context.Context, st *regionState) error {
	now := e.opts.Now()
	r, notBefore := st.reserve(now)
	d := max(r.DelayFrom(now), notBefore.Sub(now))
	if now.Add(d).After(e.deadline) {
		r.CancelAt(now)
		return errBudget
	}
	if d > 0 {
		if err := e.opts.Sleep(ctx, d); err != nil {
			r.CancelAt(e.opts.Now())
			return err
		}
	}
	return nil
}

// analyze turns a key's events into ScheduledBy and AttemptedUses: the latest
// successful ScheduleKeyDeletion is the one that put the key in its current
// state; failed cryptographic calls since then (since the window start when
// the scheduling event was not seen) are attempted uses, newest first.
func (e *enricher) analyze(i int, f *finding.Finding, events []event, start time.Time) {
	sort.SliceStable(events, func(a, b int) bool {
		if !events[a].time.Equal(events[b].time) {
			return events[a].time.Before(events[b].time)
		}
		return events[a].EventID < events[b].EventID
	})
	cutoff := start
	for _, ev := range events {
		if ev.EventName != "ScheduleKeyDeletion" || ev.ErrorCode != "" {
			continue
		}
		f.ScheduledBy = &finding.ScheduleEvent{
			Principal:         ev.principal,
			Time:              ev.time,
			SourceIP:          ev.SourceIPAddress,
			UserAgent:         ev.UserAgent,
			PendingWindowDays: ev.pendingWindowDays(),
			EventID:           ev.EventID,
		}
		cutoff = ev.time
	}
	if s := f.ScheduledBy; s != nil && f.PendingWindowDays == 0 {
		f.PendingWindowDays = s.PendingWindowDays
	}
	var uses []finding.KeyUse
	for j := len(events) - 1; j >= 0; j-- {
		ev := events[j]
		if !cryptoOperations[ev.EventName] || ev.ErrorCode != errInvalidState || ev.time.Before(cutoff) {
			continue
		}
		uses = append(uses, finding.KeyUse{
			Operation: ev.EventName,
			Time:      ev.time,
			Principal: ev.principal,
			EventID:   ev.EventID,
			SourceIP:  ev.SourceIPAddress,
			ErrorCode: ev.ErrorCode,
		})
	}
	e.issuesMu.Lock()
	e.attempts[i] = len(uses)
	e.issuesMu.Unlock()
	if len(uses) > MaxAttemptedUses {
		uses = uses[:MaxAttemptedUses]
	}
	f.AttemptedUses = uses
}
