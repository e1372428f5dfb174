// Package forensics gathers the evidence that a key pending deletion is still
// needed, for findings only: the last successful use KMS recorded
// (GetKeyLastUsage), who scheduled the deletion and which calls failed on the
// key since then (CloudTrail LookupEvents). It fills the forensic fields of
// each finding.Finding in place and sets InUseReason when the evidence says
// something still uses the key; policy then makes such findings critical.
//
// Failures never fail the run: a missing permission or an endpoint that does
// not implement an API leaves the fields empty and adds one warning per
// account, region and cause.
package forensics

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"golang.org/x/time/rate"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// usageMaxAttempts bounds the attempts of one GetKeyLastUsage call.
const usageMaxAttempts = 2

// KeyUsageAPI is the part of the KMS client forensics calls.
type KeyUsageAPI interface {
	GetKeyLastUsage(ctx context.Context, in *kms.GetKeyLastUsageInput, optFns ...func(*kms.Options)) (*kms.GetKeyLastUsageOutput, error)
}

// LookupEventsAPI is the part of the CloudTrail client forensics calls.
type LookupEventsAPI interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// Clients returns the clients for one account and region. Either may be nil:
// that source is then not consulted for findings there, without a warning.
type Clients func(account, region string) (KeyUsageAPI, LookupEventsAPI)

// Defaults of Options.
const (
	DefaultRecentUseDays    = 30
	DefaultLookupsPerSecond = 2 // LookupEvents quota: 2 per second per account and region
	DefaultMaxPages         = 20
	DefaultCloudTrailBudget = 5 * time.Minute
	DefaultConcurrency      = 8
	// MaxAttemptedUses bounds the failed uses kept per finding (newest first);
	// InUseReason still counts them all.
	MaxAttemptedUses = 20
)

// Options tune Enrich. The zero value uses the defaults and skips CloudTrail.
type Options struct {
	// ScanTime is when the scan ran; "recent" use and the CloudTrail window
	// end are measured from it. Zero means Now().
	ScanTime time.Time
	// RecentUseDays: a successful use at most this many days before ScanTime
	// sets InUseReason. 0 means DefaultRecentUseDays; negative never does
	// (the last use is still recorded).
	RecentUseDays int
	// CloudTrail enables LookupEvents (who scheduled the deletion, attempted uses).
	CloudTrail bool
	// LookupsPerSecond caps LookupEvents calls per account and region.
	LookupsPerSecond float64
	// MaxPages bounds LookupEvents pages (50 events each) read per finding.
	MaxPages int
	// CloudTrailBudget bounds the total time spent on CloudTrail; findings not
	// reached in time are left without CloudTrail evidence, with a warning.
	CloudTrailBudget time.Duration
	// Concurrency bounds the GetKeyLastUsage calls in flight, and the
	// account x region pairs whose CloudTrail is read at once.
	Concurrency int

	// Now and Sleep replace the clock used for rate limiting and the budget
	// (tests). Sleep must return early with ctx.Err() when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = wait.Sleep
	}
	if o.ScanTime.IsZero() {
		o.ScanTime = o.Now()
	}
	// cmp.Or takes the first non-zero value: a zero (or, through max, a
	// negative) bound takes its default.
	o.RecentUseDays = cmp.Or(o.RecentUseDays, DefaultRecentUseDays)
	o.LookupsPerSecond = cmp.Or(max(o.LookupsPerSecond, 0), DefaultLookupsPerSecond)
	o.MaxPages = cmp.Or(max(o.MaxPages, 0), DefaultMaxPages)
	o.CloudTrailBudget = cmp.Or(max(o.CloudTrailBudget, 0), DefaultCloudTrailBudget)
	o.Concurrency = cmp.Or(max(o.Concurrency, 0), DefaultConcurrency)
}

// Enrich fills LastUse, UsageTracked, TrackingStart, ScheduledBy,
// AttemptedUses and InUseReason of findings in place (and PendingWindowDays
// when the scan did not know it). It returns warnings, sorted, one per account,
// region and cause. It calls GetKeyLastUsage once per finding and, when
// opts.CloudTrail is set, LookupEvents for findings in PendingDeletion or
// PendingReplicaDeletion.
func Enrich(ctx context.Context, findings []finding.Finding, clients Clients, opts Options) []string {
	g := Start(ctx, clients, opts)
	// The first GetKeyLastUsage call of each account and region probes
	// whether the endpoint supports it, and the others of that region wait
	// for it: add every region's first finding first, so the probes overlap
	// instead of queueing behind each other. CloudTrail keeps each region's
	// order, regions in sorted order.
	var firsts, rest []int
	probed := map[string]bool{}
	for i := range findings {
		f := &findings[i]
		if k := f.Account + "/" + f.Region; !probed[k] {
			probed[k] = true
			firsts = append(firsts, i)
		} else {
			rest = append(rest, i)
		}
	}
	idx := make([]int, len(findings))
	for i := range findings {
		idx[i] = g.register(&findings[i])
	}
	for _, i := range append(firsts, rest...) {
		g.startUsage(idx[i], &findings[i])
	}
	trail := make([]int, len(findings))
	for i := range trail {
		trail[i] = i
	}
	sort.SliceStable(trail, func(a, b int) bool {
		fa, fb := &findings[trail[a]], &findings[trail[b]]
		return fa.Account+"/"+fa.Region < fb.Account+"/"+fb.Region
	})
	for _, i := range trail {
		g.startTrail(idx[i], &findings[i])
	}
	return g.Wait()
}

func pending(state string) bool {
	return state == finding.StatePendingDeletion || state == finding.StatePendingReplicaDeletion
}

type enricher struct {
	opts     Options
	clients  Clients
	deadline time.Time

	mu      sync.Mutex
	regions map[string]*regionState

	issuesMu sync.Mutex
	issues   [][]issue // per finding index, so the result does not depend on scheduling
	attempts []int     // per finding index: failed uses found, before capping
}

// regionState is shared by the findings of one account and region.
type regionState struct {
	// spacing is the quota's interval between lookups (1 / LookupsPerSecond).
	spacing time.Duration

	// lookupMu guards the three fields below, set as each lookup returns.
	lookupMu sync.Mutex
	// limiter paces lookups at the rate (for callers side by side).
	limiter *rate.Limiter
	// notBefore is the earliest the next lookup may leave: spacing after the
	// last one was written to the connection, or, when the client does not
	// report that, after its answer less the fastest round trip seen there.
	// The limiter spaces lookups from when each was due; a lookup that left
	// late (a busy CPU, a paused process) reached the server late, and the
	// next, leaving on time, would reach it too soon after and be throttled.
	notBefore time.Time
	// minRTT is the fastest LookupEvents round trip seen there.
	minRTT time.Duration

	mu sync.Mutex
	// usageProbe is closed when the first GetKeyLastUsage call there returned.
	usageProbe chan struct{}
	// usageDown is set when GetKeyLastUsage failed for a reason that holds
	// for every key there (the endpoint does not implement it, 5xx after retries).
	usageDown *issue
	// trailDenied is set on AccessDenied: CloudTrail is not tried there again.
	trailDenied *issue
}

// lookupDone records a lookup that was asked for at sent, written to its
// connection at wrote (zero when the client did not say) and answered at
// answered. The next may not leave before wrote + spacing: the request
// reached the server one network trip after wrote, and the next will too.
// Without wrote, answered - minRTT + spacing: the server counted the lookup
// at most minRTT (the network's part of any round trip) before its answer
// came back. A lookup that left on time changes nothing; one that left late
// pushes the next back by as much.
//
// A throttled lookup took no request from the quota: it arrived a little
// early (its predecessor was counted late, the server busy), and the quota
// holds a request again a fraction of an interval later. Its retry waits
// an eighth of the interval, not a whole one.
func (st *regionState) lookupDone(sent, wrote, answered time.Time, throttled bool) {
	st.lookupMu.Lock()
	defer st.lookupMu.Unlock()
	if rtt := answered.Sub(sent); st.minRTT == 0 || rtt < st.minRTT {
		st.minRTT = max(rtt, 0)
	}
	spacing := st.spacing
	if throttled {
		spacing /= 8
		// The throttled lookup's token goes back: a fresh, full bucket.
		st.limiter = rate.NewLimiter(st.limiter.Limit(), st.limiter.Burst())
	}
	next := answered.Add(spacing - st.minRTT)
	if !wrote.IsZero() {
		next = wrote.Add(spacing)
	}
	if next.After(st.notBefore) {
		st.notBefore = next
	}
}

// reserve takes the limiter's next slot and returns it with the earliest
// time the last lookup allows (lookupDone).
func (st *regionState) reserve(now time.Time) (*rate.Reservation, time.Time) {
	st.lookupMu.Lock()
	defer st.lookupMu.Unlock()
	return st.limiter.ReserveN(now, 1), st.notBefore
}

func (e *enricher) region(account, region string) *regionState {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := account + "/" + region
	st := e.regions[k]
	if st == nil {
		st = &regionState{limiter: rate.NewLimiter(rate.Limit(e.opts.LookupsPerSecond), 1),
			spacing: time.Duration(float64(time.Second) / e.opts.LookupsPerSecond)}
		e.regions[k] = st
	}
	return st
}

// add makes room for one more finding's issues and returns its index.
func (e *enricher) add() int {
	e.issuesMu.Lock()
	defer e.issuesMu.Unlock()
	e.issues = append(e.issues, nil)
	e.attempts = append(e.attempts, 0)
	return len(e.issues) - 1
}

func (e *enricher) report(i int, is issue) {
	e.issuesMu.Lock()
	defer e.issuesMu.Unlock()
	e.issues[i] = append(e.issues[i], is)
}

// usage asks GetKeyLastUsage for the finding's key.
func (e *enricher) usage(ctx context.Context, i int, f *finding.Finding, api KeyUsageAPI) {
	st := e.region(f.Account, f.Region)
	// The first call in an account and region goes alone: when the endpoint
	// does not implement the API, the other keys there are not tried at all.
	st.mu.Lock()
	probe, first := st.usageProbe, st.usageProbe == nil
	if first {
		probe = make(chan struct{})
		st.usageProbe = probe
	}
	st.mu.Unlock()
	if first {
		defer close(probe)
	} else {
		select {
		case <-probe:
		case <-ctx.Done():
		}
	}
	st.mu.Lock()
	down := st.usageDown
	st.mu.Unlock()
	if down != nil {
		e.report(i, *down)
		return
	}
	// Usage is context for the reviewer, not the scan itself: an endpoint
	// that keeps failing gets fewer retries than the scan's calls do.
	out, err := api.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String(f.KeyID)}, func(o *kms.Options) {
		o.RetryMaxAttempts = usageMaxAttempts
	})
	if err != nil {
		f.UsageTracked = false
		is := issue{kind: kindUsage, account: f.Account, region: f.Region, code: awserr.Code(err), message: awserr.Message(err)}
		if awserr.IsEndpointLevel(err) {
			st.mu.Lock()
			if st.usageDown == nil {
				st.usageDown = &is
			}
			st.mu.Unlock()
		}
		e.report(i, is)
		return
	}
	f.UsageTracked = true
	f.LastUse = nil
	if out.TrackingStartDate != nil {
		f.TrackingStart = out.TrackingStartDate.UTC()
	}
	// The API reference: with no use since TrackingStartDate, KeyLastUsage is
	// an empty object, not absent.
	if lu := out.KeyLastUsage; lu != nil && (lu.Operation != "" || lu.Timestamp != nil) {
		use := &finding.KeyUse{Operation: string(lu.Operation), EventID: aws.ToString(lu.CloudTrailEventId)}
		if lu.Timestamp != nil {
			use.Time = lu.Timestamp.UTC()
		}
		f.LastUse = use
	}
}

// setReason composes InUseReason from the evidence gathered: attempted uses
// since scheduling first (the stronger signal), then a recent successful use.
// attempts is the number of failed uses found before AttemptedUses was capped.
func setReason(f *finding.Finding, attempts int, opts Options) {
	var reasons []string
	if n := len(f.AttemptedUses); n > 0 {
		u := f.AttemptedUses[0]
		who := u.Principal
		if who == "" {
			who = "an unknown principal"
		}
		r := fmt.Sprintf("%s attempted by %s at %s failed: key pending deletion", u.Operation, who, u.Time.UTC().Format(time.RFC3339))
		var notes []string
		if u.EventID != "" {
			notes = append(notes, "CloudTrail event "+u.EventID)
		}
		if more := max(attempts, n) - 1; more == 1 {
			notes = append(notes, "1 more failed attempt")
		} else if more > 1 {
			notes = append(notes, fmt.Sprintf("%d more failed attempts", more))
		}
		if len(notes) > 0 {
			r += " (" + strings.Join(notes, "; ") + ")"
		}
		reasons = append(reasons, r)
	}
	if u := f.LastUse; u != nil && opts.RecentUseDays > 0 && !u.Time.IsZero() &&
		!u.Time.Before(opts.ScanTime.AddDate(0, 0, -opts.RecentUseDays)) {
		r := u.Operation + " " + report.Ago(opts.ScanTime, u.Time)
		if u.EventID != "" {
			r += " (CloudTrail event " + u.EventID + ")"
		}
		reasons = append(reasons, r)
	}
	if len(reasons) > 0 {
		f.InUseReason = strings.Join(reasons, "; ")
	}
}

// Issue kinds, each rendered as one warning per account, region and code.
const (
	kindUsage       = "usage"
	kindTrailDenied = "trail-denied"
	kindTrail       = "trail"
	kindBudget      = "trail-budget"
	kindPages       = "trail-pages"
)

type issue struct {
	kind            string
	account, region string
	code, message   string
}

func (e *enricher) warnings() []string {
	type group struct {
		issue
		keys     int
		messages []string
	}
	groups := map[string]*group{}
	for _, list := range e.issues {
		seen := map[string]bool{}
		for _, is := range list {
			k := strings.Join([]string{is.kind, is.account, is.region, is.code}, "\x00")
			g := groups[k]
			if g == nil {
				g = &group{issue: is}
				groups[k] = g
			}
			if !seen[k] {
				seen[k] = true
				g.keys++
			}
			g.messages = append(g.messages, is.message)
		}
	}
	var out []string
	for _, g := range groups {
		sort.Strings(g.messages)
		msg := ""
		if len(g.messages) > 0 && g.messages[0] != "" {
			msg = ": " + g.messages[0]
		}
		where := g.account + "/" + g.region
		var w string
		switch g.kind {
		case kindUsage:
			w = fmt.Sprintf("GetKeyLastUsage failed in %s for %s (%s%s); last use not checked. Grant kms:GetKeyLastUsage to see when keys were last used.", where, keys(g.keys), g.code, msg)
		case kindTrailDenied:
			w = fmt.Sprintf("CloudTrail LookupEvents denied in %s (%s%s); who scheduled the deletion and attempted uses not checked for %s. Grant cloudtrail:LookupEvents, or set cloudtrail: false.", where, g.code, msg, keys(g.keys))
		case kindTrail:
			w = fmt.Sprintf("CloudTrail LookupEvents failed in %s for %s (%s%s); who scheduled the deletion and attempted uses not checked.", where, keys(g.keys), g.code, msg)
		case kindBudget:
			w = fmt.Sprintf("CloudTrail lookups in %s stopped: the time budget of %s ran out before %s could be checked (LookupEvents allows %g requests per second per account and region).", where, e.opts.CloudTrailBudget, keys(g.keys), e.opts.LookupsPerSecond)
		case kindPages:
			w = fmt.Sprintf("CloudTrail history in %s was cut at %d pages for %s; older events (possibly the ScheduleKeyDeletion call) were not read.", where, e.opts.MaxPages, keys(g.keys))
		}
		// Error messages come from endpoints: one line, bounded.
		out = append(out, escape.PlainText(w, 600))
	}
	sort.Strings(out)
	return out
}

func keys(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}
