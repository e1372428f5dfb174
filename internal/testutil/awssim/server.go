// Package awssim is a fast AWS test server for scale benchmarks: one HTTP
// handler that speaks the wire protocols the AWS SDKs use for the calls a KMS
// scan makes, over a generated World of accounts, Regions and keys:
//
//   - KMS, JSON 1.1 (X-Amz-Target TrentService.*): ListKeys (Limit 1..1000,
//     default 100, Marker/NextMarker/Truncated), DescribeKey (key id, key ARN,
//     alias name or alias ARN), ListAliases (Limit 1..100, default 50; all of
//     the Region's aliases, or one key's with KeyId), ListResourceTags and
//     GetKeyLastUsage, in the API reference's shapes;
//   - CloudTrail LookupEvents, JSON 1.1: the ScheduleKeyDeletion record of a
//     key pending deletion, looked up by ResourceName (key ARN or id);
//   - STS, query protocol with XML answers: AssumeRole,
//     AssumeRoleWithWebIdentity, GetCallerIdentity. The account is the one in
//     the role ARN, and the session's access key carries it, so every later
//     call signed with that session is that account's;
//   - EC2 DescribeRegions, query protocol: the World's Regions.
//
// The Region of a call is the one in its SigV4 credential scope (signatures
// are not checked). Every call waits the Region's round trip (half before it
// is served, half after) and draws from a token bucket per account, Region
// and operation: past the quota it is answered with the service's
// throttling error (KMS and CloudTrail ThrottlingException, STS Throttling,
// EC2 RequestLimitExceeded), as AWS does. The server holds no per-request
// state beyond its counters, so it is cheap enough never to be the
// bottleneck of what it measures (BenchmarkServe measures its cost a call).
package awssim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/latencyproxy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/sigv4"
)

// Quota is a token bucket: Rate requests a second, Burst at once.
type Quota struct {
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
}

// DefaultQuotas are the request quotas per account and Region the server
// enforces, by operation:
//
//   - KMS, from the AWS KMS Developer Guide, "Request quotas"
//     (docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html),
//     the same figures cmd/kdgbench cites: DescribeKey 2,000/s, ListKeys and
//     ListAliases 100/s, ListResourceTags 50/s. GetKeyLastUsage is not in
//     that table; 100/s is an assumption.
//   - CloudTrail LookupEvents: 2/s per account and Region (CloudTrail
//     quotas, and forensics.DefaultLookupsPerSecond).
//   - EC2 DescribeRegions: EC2's request token bucket for non-mutating
//     actions, 20/s refill with a bucket of 100.
//   - STS: AWS publishes no fixed table; 600/s per account is an assumption.
//
// Bursts are a twentieth of a second's quota (at least 1), except EC2's, so a
// client cannot beat keys / quota by more than 50 ms.
var DefaultQuotas = map[string]Quota{
	"DescribeKey":               {2000, 100},
	"ListKeys":                  {100, 5},
	"ListAliases":               {100, 5},
	"ListResourceTags":          {50, 3},
	"GetKeyLastUsage":           {100, 5},
	"LookupEvents":              {2, 1},
	"DescribeRegions":           {20, 100},
	"AssumeRole":                {600, 30},
	"AssumeRoleWithWebIdentity": {600, 30},
	"GetCallerIdentity":         {600, 30},
}

// DefaultRTT is the round trip to a Region from a runner in us-east-1:
// 10 ms to us-east-*, 30 ms to ca-*, 70 ms to us-west-*, 80 ms to eu-*,
// 150 ms to sa-*, 200 ms to ap-* (and anything else).
func DefaultRTT(region string) time.Duration {
	switch {
	case strings.HasPrefix(region, "us-east-"):
		return 10 * time.Millisecond
	case strings.HasPrefix(region, "ca-"):
		return 30 * time.Millisecond
	case strings.HasPrefix(region, "us-west-"):
		return 70 * time.Millisecond
	case strings.HasPrefix(region, "eu-"):
		return 80 * time.Millisecond
	case strings.HasPrefix(region, "sa-"):
		return 150 * time.Millisecond
	default:
		return 200 * time.Millisecond
	}
}

// ControlPrefix is the path the server answers itself: GET
// ControlPrefix+"counts" returns Counts as JSON, GET ControlPrefix+"trace"
// the calls recorded with Options.Trace, POST ControlPrefix+"reset" zeroes
// both.
const ControlPrefix = "/__awssim/"

// Options tune a Server. Zero values take the defaults.
type Options struct {
	// RTT is the round trip of a call to a Region; default DefaultRTT.
	RTT func(region string) time.Duration
	// Quotas by operation; default DefaultQuotas. An operation without a
	// quota is never throttled.
	Quotas map[string]Quota
	// Trace records every call (operation, account, Region, start and end,
	// status) for GET ControlPrefix+"trace": a timeline of a run.
	Trace bool
	// DefaultRegion is the Region of a call without a credential scope
	// (AssumeRoleWithWebIdentity is unsigned); default us-east-1.
	DefaultRegion string
}

// Server serves a World.
type Server struct {
	world *World
	opts  Options
	// Calls counts requests by operation (throttled ones included), the
	// high water of requests in flight and connections.
	Calls latencyproxy.Counter

	mu        sync.Mutex
	limiters  map[string]*rate.Limiter
	throttled map[string]int64
	sessions  map[string]string // session access key -> assumed-role ARN
	seq       atomic.Int64
	trace     []TraceEvent
}

// TraceEvent is one call as the server saw it; times are Unix nanoseconds.
type TraceEvent struct {
	Op      string `json:"op"`
	Account string `json:"account"`
	Region  string `json:"region"`
	Start   int64  `json:"start"`
	End     int64  `json:"end"`
	Status  int    `json:"status"`
	// Subject is the account an AssumeRole call asks for (its role ARN's),
	// so a timeline shows when each member's role was assumed.
	Subject string `json:"subject,omitempty"`
}

// Counts is a snapshot of a Server's counters.
type Counts struct {
	latencyproxy.Snapshot
	Throttled map[string]int64 `json:"throttled"`
}

// New returns a server for w.
func New(w *World, opts Options) *Server {
	if opts.RTT == nil {
		opts.RTT = DefaultRTT
	}
	if opts.Quotas == nil {
		opts.Quotas = DefaultQuotas
	}
	if opts.DefaultRegion == "" {
		opts.DefaultRegion = "us-east-1"
	}
	return &Server{world: w, opts: opts, limiters: map[string]*rate.Limiter{}, throttled: map[string]int64{}, sessions: map[string]string{}}
}

// World returns the world the server serves.
func (s *Server) World() *World { return s.world }

// Counts returns the counters.
func (s *Server) Counts() Counts {
	c := Counts{Snapshot: s.Calls.Snapshot(), Throttled: map[string]int64{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for op, n := range s.throttled {
		c.Throttled[op] = n
	}
	return c
}

// Reset zeroes the counters and refills every token bucket.
func (s *Server) Reset() {
	s.Calls.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttled = map[string]int64{}
	s.limiters = map[string]*rate.Limiter{}
	s.trace = nil
}

// maxBody bounds a request body; the calls served are small.
const maxBody = 1 << 20

// call is one parsed request.
type call struct {
	op      string
	service string // "kms", "cloudtrail", "sts", "ec2"
	region  string
	akid    string
	account string
	body    []byte
	form    map[string][]string // query protocol
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		s.control(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	start := time.Now()
	c, ok := s.parse(r, body)
	end := s.Calls.Begin(c.op)
	defer end()
	rtt := s.opts.RTT(c.region)
	if !sleep(r.Context(), rtt/2) {
		return
	}
	var resp response
	switch {
	case !ok:
		resp = unknownOperation(c)
	case !s.allow(c):
		resp = throttle(c)
	default:
		resp = s.serve(c)
	}
	if !sleep(r.Context(), rtt-rtt/2) {
		return
	}
	resp.write(w, s.seq.Add(1))
	if s.opts.Trace {
		s.mu.Lock()
		if len(s.trace) < 1<<21 {
			s.trace = append(s.trace, TraceEvent{Op: c.op, Account: c.account, Region: c.region, Start: start.UnixNano(), End: time.Now().UnixNano(), Status: resp.status, Subject: subject(c)})
		}
		s.mu.Unlock()
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// parse names the operation, service, Region and account of a request.
func (s *Server) parse(r *http.Request, body []byte) (call, bool) {
	c := call{body: body}
	c.region, c.akid, c.service = sigv4.CredentialScope(r.Header.Get("Authorization"))
	if c.region == "" {
		c.region = s.opts.DefaultRegion
	}
	c.account = s.accountOf(c.akid)
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		i := strings.LastIndexByte(t, '.')
		c.op = t[i+1:]
		switch {
		case strings.HasPrefix(t, "TrentService."):
			c.service = "kms"
		case strings.Contains(t, "CloudTrail_20131101."):
			c.service = "cloudtrail"
		default:
			return c, false
		}
		return c, true
	}
	form, err := parseQuery(string(body))
	if err != nil {
		c.op = r.Method + " " + r.URL.Path
		return c, false
	}
	c.form = form
	c.op = first(form, "Action")
	switch c.op {
	case "AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity":
		c.service = "sts"
	case "DescribeRegions":
		c.service = "ec2"
	default:
		if c.op == "" {
			c.op = r.Method + " " + r.URL.Path
		}
		return c, false
	}
	return c, true
}

// accountOf is the account of an access key: the one a session issued by
// this server carries, else the base account.
func (s *Server) accountOf(akid string) string {
	if acct, ok := sessionAccount(akid); ok {
		return acct
	}
	return s.world.Base
}

// allow draws a token from the call's bucket.
func (s *Server) allow(c call) bool {
	q, ok := s.opts.Quotas[c.op]
	if !ok {
		return true
	}
	key := c.account + "|" + c.region + "|" + c.op
	s.mu.Lock()
	l := s.limiters[key]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(q.Rate), max(q.Burst, 1))
		s.limiters[key] = l
	}
	ok = l.Allow()
	if !ok {
		s.throttled[c.op]++
	}
	s.mu.Unlock()
	return ok
}

func (s *Server) serve(c call) response {
	switch c.service {
	case "kms":
		return s.kms(c)
	case "cloudtrail":
		return s.cloudTrail(c)
	case "sts":
		return s.sts(c)
	default:
		return s.ec2(c)
	}
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, ControlPrefix) {
	case "counts":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Counts())
	case "trace":
		w.Header().Set("Content-Type", "application/json")
		s.mu.Lock()
		tr := append([]TraceEvent(nil), s.trace...)
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(tr)
	case "reset":
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}
