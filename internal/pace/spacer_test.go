package pace

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A caller that wakes late (the process paused) delays those after it:
// they still go an interval apart, where a rate.Limiter would let every
// caller whose slot passed during the pause go at once.
func TestSpacerDoesNotCatchUpAfterAPause(t *testing.T) {
	var mu sync.Mutex
	clock := time.Unix(0, 0)
	sleeps := 0
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	sleep := func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		sleeps++
		if sleeps == 2 {
			d += 100 * time.Millisecond // this waiter wakes 100 ms late
		}
		clock = clock.Add(d)
		return nil
	}
	s := newSpacer(500, now, sleep) // 2 ms apart
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Wait(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// The clock moves only while callers sleep: the first went at once, each
	// of the 19 others slept a full interval, and the pause was not made up.
	if sleeps != 19 || now().Sub(time.Unix(0, 0)) != 138*time.Millisecond {
		t.Fatalf("%d sleeps, %v in all; want 19 and 19 x 2ms + the 100ms pause", sleeps, now().Sub(time.Unix(0, 0)))
	}
}

func TestSpacerStopsWithItsContext(t *testing.T) {
	s := NewSpacer(1) // a second apart
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Wait(ctx); err == nil || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("Wait returned %v after %v, want the context's error at once", err, time.Since(start))
	}
}
