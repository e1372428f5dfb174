// Package pace schedules AWS calls under the limits AWS sets per account and
// Region, not under one global cap: calls in flight per account and Region
// (by default what the DescribeKey quota allows at the round trip measured
// for that account and Region, capped), requests per second per account,
// Region and operation (the KMS request quotas), and a total cap for what
// one runner can hold (max-concurrency). On throttling it backs off for that
// account and Region alone (halving its concurrency and rates, then
// recovering as calls succeed), so one throttled account does not slow the
// others: a call waiting out a backoff holds no slot of the total.
package pace

import (
	"container/heap"
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// DefaultRates are the AWS KMS request quotas per account and Region, in
// requests per second, from the AWS KMS Developer Guide, "Request quotas"
// (DescribeKey 2,000, ListKeys and ListAliases 100, ListResourceTags 50).
// GetKeyLastUsage is not in that table; 100 is assumed. Calls are paced at
// Headroom of these, so that a client never meets the quota head-on.
var DefaultRates = map[string]float64{
	"DescribeKey":      2000,
	"ListKeys":         100,
	"ListAliases":      100,
	"ListResourceTags": 50,
	"GetKeyLastUsage":  100,
}

// Defaults.
const (
	// DefaultTotal is the default total cap: calls one runner holds in
	// flight (sockets and memory, a few tens of KiB a call).
	DefaultTotal = 1024
	// DefaultMaxPerTarget caps the calls in flight per account and Region.
	DefaultMaxPerTarget = 256
	// minPerTarget is the per-target limit before any round trip is known.
	minPerTarget = 8
	// Headroom is the fraction of a quota calls are paced at.
	Headroom = 0.95
	// throttleRetries bounds the retries of a throttled call.
	throttleRetries = 6
	firstBackoff    = 200 * time.Millisecond
	maxBackoff      = 10 * time.Second
)

// Options tune a Pacer. Zero values take the defaults.
type Options struct {
	// Total caps the calls in flight across every account and Region.
	Total int
	// PerTarget fixes the calls in flight per account and Region; 0 derives
	// it from the DescribeKey rate and the measured round trip, between 8
	// and MaxPerTarget.
	PerTarget int
	// MaxPerTarget caps the derived per-target limit; default 256.
	MaxPerTarget int
	// Rates per operation (requests per second per account and Region);
	// default DefaultRates. An operation without a rate is not paced.
	Rates map[string]float64
	// Sleep waits out backoffs; default wait.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Urgent is the priority of urgent calls (SetPriority): calls on the
// critical path, such as a target's first page, which LimitBulk does not
// hold back.
const Urgent = math.MaxInt32

// Stats are a Pacer's counters.
type Stats struct {
	Calls       int64 // calls made, retries included
	Throttled   int64 // calls answered with throttling
	MaxInFlight int64 // high water of calls in flight in total
}

// Pacer runs calls under the limits. It is safe for concurrent use.
type Pacer struct {
	opts  Options
	total *semaphore
	// bulk holds the calls below Urgent priority: Total slots unless
	// LimitBulk lowered it.
	bulk *semaphore

	mu      sync.Mutex
	targets map[[2]string]*target

	calls, throttled, inFlight, maxInFlight atomic.Int64
}

// New returns a Pacer.
func New(opts Options) *Pacer {
	if opts.Total <= 0 {
		opts.Total = DefaultTotal
	}
	if opts.MaxPerTarget <= 0 {
		opts.MaxPerTarget = DefaultMaxPerTarget
	}
	if opts.Rates == nil {
		opts.Rates = DefaultRates
	}
	if opts.Sleep == nil {
		opts.Sleep = wait.Sleep
	}
	return &Pacer{opts: opts, total: newSemaphore(opts.Total), bulk: newSemaphore(opts.Total), targets: map[[2]string]*target{}}
}

// Total is the total cap.
func (p *Pacer) Total() int { return p.opts.Total }

// SetPriority ranks the calls of account and region: when calls wait for a
// slot of the total, those of higher priority go first. The scan gives each
// account and Region its number of keys, so the biggest, whose evidence
// takes longest, is not starved by thousands of small ones.
func (p *Pacer) SetPriority(account, region string, priority int) {
	p.target(account, region).priority.Store(int64(priority))
}

// LimitBulk caps the calls in flight below Urgent priority at n (they still
// go by priority among themselves), and n <= 0 lifts the cap. Slots of the
// total are not what runs out when the calls are CPU-bound (a runner with 2
// cores and thousands of calls in flight): every call in flight takes its
// share of the CPU, and urgent calls, though first for a slot, went no
// faster than the rest. Capping the others leaves the CPU to the urgent ones.
func (p *Pacer) LimitBulk(n int) {
	if n <= 0 || n > p.opts.Total {
		n = p.opts.Total
	}
	p.bulk.setLimit(n)
}

// Stats returns the counters.
func (p *Pacer) Stats() Stats {
	return Stats{Calls: p.calls.Load(), Throttled: p.throttled.Load(), MaxInFlight: p.maxInFlight.Load()}
}

// Do runs fn, one AWS call of operation op in account and region, when the
// limits allow, and retries it with backoff while AWS throttles it. It
// returns fn's last error, or ctx's.
func (p *Pacer) Do(ctx context.Context, account, region, op string, fn func(context.Context) error) error {
	t := p.target(account, region)
	bulk, err := p.acquire(ctx, t, op)
	if err != nil {
		return err
	}
	return p.run(ctx, t, op, bulk, fn)
}

// Spawn waits in the caller's goroutine until the limits allow the call,
// then runs it (and its retries) in a new goroutine and hands its error to
// done. So a goroutine exists only for a call that holds its slots (or waits
// out its own throttling). Spawn returns ctx's error, without running fn,
// when ctx ends first.
func (p *Pacer) Spawn(ctx context.Context, wg *sync.WaitGroup, account, region, op string, fn func(context.Context) error, done func(error)) error {
	t := p.target(account, region)
	bulk, err := p.acquire(ctx, t, op)
	if err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		done(p.run(ctx, t, op, bulk, fn))
	}()
	return nil
}

// acquire waits out the target's backoff, the operation's rate, a slot of
// the target, a bulk slot (below Urgent priority) and a slot of the total,
// in that order. It reports whether it took a bulk slot.
func (p *Pacer) acquire(ctx context.Context, t *target, op string) (bulk bool, err error) {
	if err := t.waitBackoff(ctx, p.opts.Sleep); err != nil {
		return false, err
	}
	if err := t.limiter(op, p.opts.Rates).Wait(ctx); err != nil {
		return false, ctxErr(ctx, err)
	}
	prio := int(t.priority.Load())
	if err := t.sem.acquire(ctx, prio); err != nil {
		return false, err
	}
	if bulk = prio < Urgent; bulk {
		if err := p.bulk.acquire(ctx, prio); err != nil {
			t.sem.release()
			return false, err
		}
	}
	if err := p.total.acquire(ctx, prio); err != nil {
		if bulk {
			p.bulk.release()
		}
		t.sem.release()
		return false, err
	}
	return bulk, nil
}

// run makes the call with the slots acquire took, gives them back, and
// retries (acquiring again) while the call is throttled.
func (p *Pacer) run(ctx context.Context, t *target, op string, bulk bool, fn func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		p.calls.Add(1)
		n := p.inFlight.Add(1)
		for m := p.maxInFlight.Load(); n > m && !p.maxInFlight.CompareAndSwap(m, n); m = p.maxInFlight.Load() {
		}
		start := time.Now()
		err := fn(ctx)
		p.inFlight.Add(-1)
		p.total.release()
		if bulk {
			p.bulk.release()
		}
		t.sem.release()
		if err == nil || !awserr.IsThrottling(err) {
			t.succeeded(time.Since(start))
			return err
		}
		p.throttled.Add(1)
		t.throttledNow()
		if attempt == throttleRetries || ctx.Err() != nil {
			return err
		}
		var aerr error
		if bulk, aerr = p.acquire(ctx, t, op); aerr != nil {
			return err
		}
	}
}

// ctxErr prefers the context's error to the limiter's "would exceed
// context deadline".
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (p *Pacer) target(account, region string) *target {
	k := [2]string{account, region}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.targets[k]
	if t == nil {
		limit := p.opts.PerTarget
		if limit <= 0 {
			limit = min(minPerTarget, p.opts.MaxPerTarget)
		}
		t = &target{p: p, fixed: p.opts.PerTarget > 0, sem: newSemaphore(limit), factor: 1, limiters: map[string]*rate.Limiter{}}
		p.targets[k] = t
	}
	return t
}

// target is one account and Region.
type target struct {
	p        *Pacer
	fixed    bool
	sem      *semaphore
	priority atomic.Int64

	mu       sync.Mutex
	rtt      time.Duration // moving average of call latency
	factor   float64       // 1, halved on each throttling, recovering on success
	strikes  int           // throttlings in a row
	until    time.Time     // no call before this
	limiters map[string]*rate.Limiter
}

func (t *target) limiter(op string, rates map[string]float64) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.limiters[op]
	if l == nil {
		r, ok := rates[op]
		if !ok || r <= 0 {
			l = rate.NewLimiter(rate.Inf, 1)
		} else {
			// A small burst (a hundredth of a second's quota): calls that
			// bunch on their way must not meet AWS's bucket empty.
			l = rate.NewLimiter(rate.Limit(r*Headroom*t.factor), max(1, int(r/100)))
		}
		t.limiters[op] = l
	}
	return l
}

func (t *target) waitBackoff(ctx context.Context, sleep func(context.Context, time.Duration) error) error {
	t.mu.Lock()
	d := time.Until(t.until)
	t.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	return sleep(ctx, d)
}

// succeeded records a call's latency and recovers from throttling.
func (t *target) succeeded(latency time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rtt == 0 {
		t.rtt = latency
	} else {
		t.rtt = (7*t.rtt + latency) / 8
	}
	t.strikes = 0
	if t.factor < 1 {
		t.factor = math.Min(1, t.factor*1.2)
		t.applyRates()
	}
	t.resize()
}

// throttledNow halves the target's concurrency and rates and sets a
// jittered, growing backoff.
func (t *target) throttledNow() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.factor = math.Max(1.0/64, t.factor/2)
	t.strikes++
	d := min(maxBackoff, firstBackoff<<min(t.strikes-1, 10))
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	if u := time.Now().Add(d); u.After(t.until) {
		t.until = u
	}
	t.applyRates()
	t.resize()
}

func (t *target) applyRates() {
	for op, l := range t.limiters {
		if r, ok := t.p.opts.Rates[op]; ok && r > 0 {
			l.SetLimit(rate.Limit(r * Headroom * t.factor))
		}
	}
}

// resize sets the target's concurrency: what the DescribeKey rate allows
// at the measured round trip (rate x RTT, with a quarter's margin), times the
// throttling factor, between 1 and MaxPerTarget.
func (t *target) resize() {
	if t.fixed {
		n := max(1, int(float64(t.p.opts.PerTarget)*t.factor))
		t.sem.setLimit(n)
		return
	}
	r := t.p.opts.Rates["DescribeKey"]
	if r <= 0 {
		r = DefaultRates["DescribeKey"]
	}
	n := int(math.Ceil(r * Headroom * t.rtt.Seconds() * 1.25 * t.factor))
	n = min(max(n, minPerTarget), t.p.opts.MaxPerTarget)
	if t.factor < 1 {
		n = max(1, int(float64(n)*t.factor))
	}
	t.sem.setLimit(n)
}

// semaphore is a counting semaphore whose limit can change. Waiters are
// granted by priority, highest first, and in order of arrival among equals.
type semaphore struct {
	mu      sync.Mutex
	limit   int
	used    int
	seq     int64
	waiters waitHeap
}

type waiter struct {
	ch       chan struct{}
	priority int
	seq      int64
	index    int
}

// waitHeap orders waiters by priority (highest first), then arrival.
type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].priority != h[j].priority {
		return h[i].priority > h[j].priority
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

func newSemaphore(limit int) *semaphore { return &semaphore{limit: limit} }

func (s *semaphore) acquire(ctx context.Context, priority int) error {
	s.mu.Lock()
	if s.used < s.limit && len(s.waiters) == 0 {
		s.used++
		s.mu.Unlock()
		return nil
	}
	s.seq++
	w := &waiter{ch: make(chan struct{}), priority: priority, seq: s.seq}
	heap.Push(&s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if w.index >= 0 {
			heap.Remove(&s.waiters, w.index)
			return ctx.Err()
		}
		// Granted meanwhile: give the slot back.
		s.used--
		s.grant()
		return ctx.Err()
	}
}

// queued is the number of waiters.
func (s *semaphore) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}

func (s *semaphore) release() {
	s.mu.Lock()
	s.used--
	s.grant()
	s.mu.Unlock()
}

func (s *semaphore) setLimit(n int) {
	s.mu.Lock()
	s.limit = n
	s.grant()
	s.mu.Unlock()
}

func (s *semaphore) grant() {
	for s.used < s.limit && len(s.waiters) > 0 {
		w := heap.Pop(&s.waiters).(*waiter)
		s.used++
		close(w.ch)
	}
}
