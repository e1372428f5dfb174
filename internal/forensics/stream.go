package forensics

import (
	"context"
	"sync"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// Gatherer gathers evidence for findings handed to it one at a time, as a
// scan finds them: a Region's CloudTrail lookups (2 a second per account
// and Region, the slowest evidence) start with its first finding instead of
// after its last key is described. Enrich is a Gatherer given a whole list.
type Gatherer struct {
	e        *enricher
	ctx      context.Context
	trailCtx context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	usage    *workQueue
	// trailRegions drains the account x region pairs whose CloudTrail is
	// read, Options.Concurrency at once, in the order they first had a
	// finding.
	trailRegions *workQueue

	mu       sync.Mutex
	findings []*finding.Finding
	trails   map[string]*trailRegion
}

// Start returns a Gatherer whose calls run under ctx. Call Wait once every
// finding is added.
func Start(ctx context.Context, clients Clients, opts Options) *Gatherer {
	opts.defaults()
	g := &Gatherer{
		e:      &enricher{opts: opts, clients: clients, regions: map[string]*regionState{}},
		ctx:    ctx,
		trails: map[string]*trailRegion{},
	}
	g.e.deadline = opts.Now().Add(opts.CloudTrailBudget)
	g.trailCtx, g.cancel = context.WithTimeoutCause(ctx, opts.CloudTrailBudget, errBudget)
	g.usage = &workQueue{limit: opts.Concurrency, wg: &g.wg}
	g.trailRegions = &workQueue{limit: opts.Concurrency, wg: &g.wg}
	return g
}

// Add starts gathering f's evidence (GetKeyLastUsage; CloudTrail for a key
// pending deletion, after the lookups already queued in its account and
// Region) and returns without waiting. Until Wait returns, f's forensic
// fields (LastUse, UsageTracked, TrackingStart, ScheduledBy, AttemptedUses,
// InUseReason, PendingWindowDays) are written; the caller may write the
// others meanwhile.
func (g *Gatherer) Add(f *finding.Finding) {
	i := g.register(f)
	g.startUsage(i, f)
	g.startTrail(i, f)
}

// register adds f to the findings Wait completes and returns its index.
func (g *Gatherer) register(f *finding.Finding) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.findings = append(g.findings, f)
	return g.e.add()
}

func (g *Gatherer) startUsage(i int, f *finding.Finding) {
	if api, _ := g.e.clients(f.Account, f.Region); api != nil {
		g.usage.push(func() { g.e.usage(g.ctx, i, f, api) })
	}
}

func (g *Gatherer) startTrail(i int, f *finding.Finding) {
	if !g.e.opts.CloudTrail || !pending(f.State) {
		return
	}
	_, api := g.e.clients(f.Account, f.Region)
	if api == nil {
		return
	}
	k := f.Account + "/" + f.Region
	g.mu.Lock()
	r := g.trails[k]
	if r == nil {
		r = &trailRegion{}
		g.trails[k] = r
	}
	r.items = append(r.items, func() { g.e.trail(g.trailCtx, i, f, api) })
	idle := !r.draining
	r.draining = true
	g.mu.Unlock()
	if idle {
		g.trailRegions.push(func() { g.drain(r) })
	}
}

// trailRegion is one account and region's queue of lookups, read one at a
// time (the quota is per account and region).
type trailRegion struct {
	items    []func()
	draining bool // a drain is queued or running
}

// drain runs r's lookups until none is left.
func (g *Gatherer) drain(r *trailRegion) {
	for {
		g.mu.Lock()
		if len(r.items) == 0 {
			r.draining = false
			g.mu.Unlock()
			return
		}
		fn := r.items[0]
		r.items[0] = nil
		r.items = r.items[1:]
		g.mu.Unlock()
		fn()
	}
}

// Wait waits for the evidence of every finding added, sets their
// InUseReason, and returns the warnings, sorted, one per account, region and
// cause.
func (g *Gatherer) Wait() []string {
	g.wg.Wait()
	g.cancel()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, f := range g.findings {
		setReason(f, g.e.attempts[i], g.e.opts)
	}
	return g.e.warnings()
}

// workQueue runs the functions pushed to it in order, on at most limit
// goroutines that exist only while there is work.
type workQueue struct {
	limit int
	wg    *sync.WaitGroup

	mu      sync.Mutex
	items   []func()
	workers int
}

func (q *workQueue) push(fn func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, fn)
	if q.workers < q.limit {
		q.workers++
		q.wg.Add(1)
		go q.work()
	}
}

func (q *workQueue) work() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.workers--
			q.mu.Unlock()
			return
		}
		fn := q.items[0]
		q.items[0] = nil
		q.items = q.items[1:]
		q.mu.Unlock()
		fn()
	}
}
