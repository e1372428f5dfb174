package scan

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
)

// callPool is the one budget of AWS calls in flight, shared by every target
// and every key of the scan. A goroutine for a key is started only once it
// holds a slot, so however many targets and keys there are, at most size
// calls (and size call goroutines) exist at once; nesting a bounded group per
// target inside a bounded group of targets would let targets x keys
// goroutines wait.
//
// It is the seam for finer limits (per account and Region): acquire and
// release are the only places a call waits for its turn.
type callPool struct {
	sem     chan struct{}
	timeout time.Duration
	calls   atomic.Int64
	live    atomic.Int64 // call goroutines running now (tests read the peak)
	peak    atomic.Int64
}

func newCallPool(size int, timeout time.Duration) *callPool {
	return &callPool{sem: make(chan struct{}, size), timeout: timeout}
}

func (p *callPool) acquire(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *callPool) release() { <-p.sem }

// do runs one AWS operation in the caller's goroutine under the pool and the
// per-call deadline.
func (p *callPool) do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	return p.run(ctx, op, fn)
}

// spawn waits for a slot in the caller's goroutine, then runs fn in a new
// goroutine that gives the slot back when fn returns; done receives fn's
// error. It returns ctx's error, without running fn, when ctx ends first.
func (p *callPool) spawn(ctx context.Context, wg *sync.WaitGroup, op string, fn func(ctx context.Context) error, done func(error)) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer p.release()
		n := p.live.Add(1)
		for {
			old := p.peak.Load()
			if n <= old || p.peak.CompareAndSwap(old, n) {
				break
			}
		}
		defer p.live.Add(-1)
		done(p.run(ctx, op, fn))
	}()
	return nil
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
