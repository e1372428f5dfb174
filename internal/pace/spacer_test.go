package pace

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Waiters do not reserve their times ahead: when one wakes 100 ms late (the
// process paused), those after it still go an interval apart but for the
// one the burst allows, where rate.Limiter.Wait, whose waiters reserved
// their times before the pause, would let all of them go at once.
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
	s := newSpacer(500, 1, now, sleep) // 2 ms apart
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
	// The clock moves only while callers sleep: the first went at once, the
	// one after the pause on the burst's token, each of the 18 others after
	// a full interval; the pause was not made up.
	if sleeps != 18 || now().Sub(time.Unix(0, 0)) != 136*time.Millisecond {
		t.Fatalf("%d sleeps, %v in all; want 18 and 18 x 2ms + the 100ms pause", sleeps, now().Sub(time.Unix(0, 0)))
	}
}

func TestSpacerStopsWithItsContext(t *testing.T) {
	s := NewSpacer(1, 1) // a second apart
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

// After a pause, at most burst callers go at once; the next waits its
// interval.
func TestSpacerBurstAfterAPause(t *testing.T) {
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	sleep := func(_ context.Context, d time.Duration) error { clock = clock.Add(d); return nil }
	s := newSpacer(500, 3, now, sleep) // 2 ms apart, 3 at once
	var at []time.Duration
	for i := range 8 {
		if i == 4 {
			clock = clock.Add(time.Second) // nobody came for a second
		}
		if err := s.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		at = append(at, clock.Sub(time.Unix(0, 0)))
	}
	ms := time.Millisecond
	want := []time.Duration{0, 0, 0, 2 * ms, 1002 * ms, 1002 * ms, 1002 * ms, 1004 * ms}
	for i := range want {
		if at[i] != want[i] {
			t.Fatalf("callers went at %v, want %v", at, want)
		}
	}
}
