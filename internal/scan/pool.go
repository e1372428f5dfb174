package scan

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
)

// callPool is the one budget of AWS calls in flight, shared by every target
// and every key of the scan. A goroutine for a key is started only once it
// holds a slot, so however many targets and keys there are, at most the
// total cap of calls (and call goroutines, plus those waiting out their own
// throttling) exist at once; nesting a bounded group per target inside a
// bounded group of targets would let targets x keys goroutines wait.
//
// The slots are the pacer's: per account and Region (calls in flight and
// requests per second, backing off on throttling) and in total.
type callPool struct {
	pacer   *pace.Pacer
	timeout time.Duration
	calls   atomic.Int64
	live    atomic.Int64 // call goroutines running now (tests read the peak)
	peak    atomic.Int64
}

// newCallPool is a pool with only a total cap of size (no per-Region
// limits or pacing): what tests of the scan's own logic want.
func newCallPool(size int, timeout time.Duration) *callPool {
	return newPacedPool(pace.New(pace.Options{Total: size, PerTarget: size, Rates: map[string]float64{}}), timeout)
}

func newPacedPool(p *pace.Pacer, timeout time.Duration) *callPool {
	return &callPool{pacer: p, timeout: timeout}
}

// do runs one AWS operation of target t in the caller's goroutine under the
// pool and the per-call deadline.
func (p *callPool) do(ctx context.Context, t Target, op string, fn func(ctx context.Context) error) error {
	return p.pacer.Do(ctx, t.Account, t.Region, op, func(ctx context.Context) error { return p.run(ctx, op, fn) })
}

// spawn waits for a slot in the caller's goroutine, then runs fn in a new
// goroutine that gives the slot back when fn returns; done receives fn's
// error. It returns ctx's error, without running fn, when ctx ends first.
func (p *callPool) spawn(ctx context.Context, wg *sync.WaitGroup, t Target, op string, fn func(ctx context.Context) error, done func(error)) error {
	counted := func(ctx context.Context) error {
		n := p.live.Add(1)
		for {
			old := p.peak.Load()
			if n <= old || p.peak.CompareAndSwap(old, n) {
				break
			}
		}
		defer p.live.Add(-1)
		return p.run(ctx, op, fn)
	}
	return p.pacer.Spawn(ctx, wg, t.Account, t.Region, op, counted, done)
}

// run bounds one operation by the per-call deadline and, when that bound
// (not the run's) is what ended it, says so.
func (p *callPool) run(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	p.calls.Add(1)
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	err := fn(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return &awserr.CallTimeoutError{Operation: op, Bound: p.timeout, Err: err}
	}
	return err
}
