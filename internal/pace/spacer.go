package pace

import (
	"context"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// Spacer lets callers go one at a time, each at least an interval after the
// one before actually went. A rate.Limiter reserves each waiter's time when
// it starts waiting: after a pause of the process (a busy CPU, a garbage
// collection), every waiter whose time passed meanwhile goes at once, a
// burst the server's quota meets head-on (AssumeRole: 13 to 100 calls
// throttled at once, each retried by the SDK up to 2 s later). A Spacer
// counts from when the last caller went, so a pause delays the rest and
// never bunches them.
type Spacer struct {
	interval time.Duration
	turn     chan struct{} // holds a token while nobody is spacing
	next     time.Time     // guarded by holding the token
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

// NewSpacer spaces callers at perSecond calls a second at most.
func NewSpacer(perSecond float64) *Spacer {
	return newSpacer(perSecond, time.Now, wait.Sleep)
}

func newSpacer(perSecond float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *Spacer {
	s := &Spacer{interval: time.Duration(float64(time.Second) / perSecond), turn: make(chan struct{}, 1), now: now, sleep: sleep}
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
	if d := s.next.Sub(s.now()); d > 0 {
		if err := s.sleep(ctx, d); err != nil {
			return err
		}
	}
	s.next = s.now().Add(s.interval)
	return nil
}
