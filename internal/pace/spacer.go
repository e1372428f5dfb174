package pace

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// Spacer lets callers go one at a time, at a rate with a small burst. A
// rate.Limiter's Wait reserves each waiter's time when it starts waiting:
// after a pause of the process (a busy CPU, a garbage collection), every
// waiter whose time passed meanwhile goes at once, a burst the server's
// quota meets head-on (AssumeRole: 13 to 100 calls throttled at once, each
// retried by the SDK up to 2 s later). A Spacer's waiter takes its turn
// first and reserves only then, so after a pause at most burst callers go
// at once; the burst also absorbs the lateness of each waiter's timer,
// which would otherwise slow the rate on a busy CPU.
type Spacer struct {
	limiter *rate.Limiter
	turn    chan struct{} // holds a token while nobody waits for the limiter
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
}

// NewSpacer spaces callers at perSecond a second, at most burst at once.
func NewSpacer(perSecond float64, burst int) *Spacer {
	return newSpacer(perSecond, burst, time.Now, wait.Sleep)
}

func newSpacer(perSecond float64, burst int, now func() time.Time, sleep func(context.Context, time.Duration) error) *Spacer {
	s := &Spacer{limiter: rate.NewLimiter(rate.Limit(perSecond), max(1, burst)), turn: make(chan struct{}, 1), now: now, sleep: sleep}
	s.turn <- struct{}{}
	return s
}

// Wait returns when the caller may go, or ctx's error first.
func (s *Spacer) Wait(ctx context.Context) error {
	select {
	case <-s.turn:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { s.turn <- struct{}{} }()
	now := s.now()
	r := s.limiter.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		if err := s.sleep(ctx, d); err != nil {
			r.CancelAt(s.now())
			return err
		}
	}
	return nil
}
