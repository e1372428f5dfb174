package pace

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awssim"
)

var throttle = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}

// gauge tracks calls in flight and their high water.
type gauge struct{ now, max atomic.Int64 }

func (g *gauge) enter() {
	n := g.now.Add(1)
	for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
	}
}
func (g *gauge) leave() { g.now.Add(-1) }

func TestTotalCap(t *testing.T) {
	p := New(Options{Total: 4, PerTarget: 100, Rates: map[string]float64{}})
	var g gauge
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Do(context.Background(), fmt.Sprint(i%10), "us-east-1", "DescribeKey", func(context.Context) error {
				g.enter()
				defer g.leave()
				<-release
				return nil
			})
		}()
	}
	for g.now.Load() < 4 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if g.max.Load() != 4 || p.Stats().MaxInFlight != 4 || p.Stats().Calls != 40 {
		t.Fatalf("max in flight %d (stats %+v), want exactly the total cap 4 and 40 calls", g.max.Load(), p.Stats())
	}
}

// One account and Region at its cap does not hold the others back.
func TestPerTargetCapIsolatesTargets(t *testing.T) {
	p := New(Options{Total: 100, PerTarget: 3, Rates: map[string]float64{}})
	var a gauge
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Do(context.Background(), "A", "eu-west-1", "DescribeKey", func(context.Context) error {
				a.enter()
				defer a.leave()
				<-release
				return nil
			})
		}()
	}
	for a.now.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	// A is at its cap with 17 waiting; B still runs (in another Region of
	// A's account too).
	for _, tg := range [][2]string{{"B", "eu-west-1"}, {"A", "us-east-1"}} {
		if err := p.Do(context.Background(), tg[0], tg[1], "DescribeKey", func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if a.now.Load() != 3 {
		t.Fatalf("A has %d in flight, want its cap 3", a.now.Load())
	}
	close(release)
	wg.Wait()
	if a.max.Load() != 3 {
		t.Fatalf("A peaked at %d in flight, want 3", a.max.Load())
	}
}

func TestThrottlingBacksOffOneTargetOnly(t *testing.T) {
	var sleeps []time.Duration
	var mu sync.Mutex
	p := New(Options{Total: 100, PerTarget: 16, Rates: map[string]float64{}, Sleep: func(_ context.Context, d time.Duration) error {
		mu.Lock()
		sleeps = append(sleeps, d)
		mu.Unlock()
		return nil
	}})
	calls := 0
	err := p.Do(context.Background(), "A", "eu-west-1", "DescribeKey", func(context.Context) error {
		calls++
		return throttle
	})
	if !errors.Is(err, throttle) || calls != throttleRetries+1 {
		t.Fatalf("throttled call: %v after %d attempts, want the throttling after %d", err, calls, throttleRetries+1)
	}
	if len(sleeps) != throttleRetries || sleeps[len(sleeps)-1] <= sleeps[0] {
		t.Fatalf("backoffs %v: want %d, growing", sleeps, throttleRetries)
	}
	a, b := p.target("A", "eu-west-1"), p.target("B", "eu-west-1")
	if err := p.Do(context.Background(), "B", "eu-west-1", "DescribeKey", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if a.sem.limit != 1 || b.sem.limit != 16 || len(sleeps) != throttleRetries {
		t.Fatalf("limits A %d, B %d (sleeps %d): want A cut to 1, B untouched at 16 and never waiting", a.sem.limit, b.sem.limit, len(sleeps))
	}
	// A recovers as its calls succeed.
	before := a.factor
	for range 40 {
		if err := p.Do(context.Background(), "A", "eu-west-1", "DescribeKey", func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if a.factor != 1 || a.sem.limit != 16 || before >= 1 {
		t.Fatalf("A after 40 successes: factor %v (was %v), limit %d", a.factor, before, a.sem.limit)
	}
	if s := p.Stats(); s.Throttled != throttleRetries+1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNonThrottlingErrorsAreNotRetried(t *testing.T) {
	p := New(Options{Rates: map[string]float64{}})
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException"}
	calls := 0
	err := p.Do(context.Background(), "A", "r", "DescribeKey", func(context.Context) error { calls++; return denied })
	if !errors.Is(err, denied) || calls != 1 {
		t.Fatalf("%v after %d calls", err, calls)
	}
}

// The derived limit follows the DescribeKey rate at the measured round trip.
func TestDerivedPerTargetLimit(t *testing.T) {
	p := New(Options{Rates: map[string]float64{"DescribeKey": 2000}})
	for range 3 {
		_ = p.Do(context.Background(), "A", "ap-south-1", "DescribeKey", func(context.Context) error {
			time.Sleep(50 * time.Millisecond)
			return nil
		})
	}
	// At least 2,000/s x 0.95 x 50 ms x 1.25 = 119, at most the cap.
	if l := p.target("A", "ap-south-1").sem.limit; l < 119 || l > DefaultMaxPerTarget {
		t.Fatalf("limit %d after 50 ms calls, want 119..%d", l, DefaultMaxPerTarget)
	}
	q := New(Options{MaxPerTarget: 20})
	_ = q.Do(context.Background(), "A", "ap-south-1", "DescribeKey", func(context.Context) error {
		time.Sleep(50 * time.Millisecond)
		return nil
	})
	if l := q.target("A", "ap-south-1").sem.limit; l != 20 {
		t.Fatalf("limit %d, want the cap 20", l)
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	p := New(Options{Total: 1, Rates: map[string]float64{}})
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = p.Do(context.Background(), "A", "r", "X", func(context.Context) error { close(started); <-release; return nil })
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Do(ctx, "B", "r", "X", func(context.Context) error { return nil }) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	close(release)
	// The slot is free again.
	if err := p.Do(context.Background(), "C", "r", "X", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// Through the real SDK against awssim's quotas: paced at the quota, every
// call gets through, and what throttling there is is retried.
func TestPacedAgainstAWSQuotas(t *testing.T) {
	w, err := awssim.Generate(awssim.ScenarioSingle, 3, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := awssim.New(w, awssim.Options{
		RTT:    func(string) time.Duration { return 0 },
		Quotas: map[string]awssim.Quota{"DescribeKey": {Rate: 40, Burst: 2}},
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := kms.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIABASE", "s", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	})
	keys, err := client.ListKeys(context.Background(), &kms.ListKeysInput{})
	if err != nil || len(keys.Keys) == 0 {
		t.Fatalf("%v, %v", keys, err)
	}
	p := New(Options{Rates: map[string]float64{"DescribeKey": 40}})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.Do(context.Background(), awssim.BaseAccount, "us-east-1", "DescribeKey", func(ctx context.Context) error {
				_, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: keys.Keys[i%len(keys.Keys)].KeyId})
				return err
			})
			if err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed", failed.Load())
	}
	if got, want := p.Stats().Throttled, srv.Counts().Throttled["DescribeKey"]; got != want || p.Stats().Calls != 40+got {
		t.Fatalf("pacer saw %d throttlings, server sent %d; calls %d", got, want, p.Stats().Calls)
	}
}

func TestSpawnHoldsSlotsBeforeStartingGoroutines(t *testing.T) {
	p := New(Options{Total: 2, PerTarget: 10, Rates: map[string]float64{}})
	release := make(chan struct{})
	var wg sync.WaitGroup
	var g gauge
	var errs atomic.Int64
	spawned := make(chan struct{})
	go func() {
		for range 10 {
			_ = p.Spawn(context.Background(), &wg, "A", "r", "X", func(context.Context) error {
				g.enter()
				defer g.leave()
				<-release
				return throttleOnce(&errs)
			}, func(error) {})
		}
		close(spawned)
	}()
	for g.now.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-spawned:
		t.Fatal("Spawn returned for all 10 calls while only 2 slots exist")
	default:
	}
	close(release)
	<-spawned
	wg.Wait()
	if g.max.Load() != 2 || p.Stats().Calls != 11 || p.Stats().Throttled != 1 {
		t.Fatalf("peak %d, stats %+v: want 2 in flight, 10 calls plus one retry", g.max.Load(), p.Stats())
	}
}

// throttleOnce throttles the first call that reaches it.
func throttleOnce(n *atomic.Int64) error {
	if n.Add(1) == 1 {
		return throttle
	}
	return nil
}

func TestHTTPClientKeepsConnectionsForTheTotal(t *testing.T) {
	tr := HTTPClient(300).GetTransport()
	if tr.MaxIdleConnsPerHost != 300 || tr.MaxIdleConns != 300 {
		t.Fatalf("idle connections per host %d, in all %d; want 300", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
}

// Waiting calls of a higher-priority account and Region get the next slot
// of the total first.
func TestPriorityOrdersWaiters(t *testing.T) {
	p := New(Options{Total: 1, Rates: map[string]float64{}})
	p.SetPriority("big", "r", 1000)
	release := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = p.Do(context.Background(), "x", "r", "X", func(context.Context) error { close(held); <-release; return nil })
	}()
	<-held
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for i, acct := range []string{"small", "small", "big"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Do(context.Background(), acct, "r", "X", func(context.Context) error {
				mu.Lock()
				order = append(order, acct)
				mu.Unlock()
				return nil
			})
		}()
		// Let each queue before the next: big arrives last.
		for p.bulk.queued()+p.total.queued() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	wg.Wait()
	if order[0] != "big" {
		t.Fatalf("grant order %v: the big account queued last but should go first", order)
	}
}

// LimitBulk holds back calls below Urgent priority, never urgent ones, and
// lifting it lets the held calls go.
func TestLimitBulkHoldsOnlyNonUrgentCalls(t *testing.T) {
	p := New(Options{Total: 8, Rates: map[string]float64{}})
	p.LimitBulk(1)
	p.SetPriority("urgent", "r", Urgent)
	release := make(chan struct{})
	held := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = p.Do(context.Background(), "bulk", "r", "X", func(context.Context) error { close(held); <-release; return nil })
	}()
	<-held
	second := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = p.Do(context.Background(), "bulk", "r2", "X", func(context.Context) error { close(second); return nil })
	}()
	for p.bulk.queued() < 1 {
		time.Sleep(time.Millisecond)
	}
	// The cap is full, yet an urgent call runs at once, several in a row.
	for range 3 {
		if err := p.Do(context.Background(), "urgent", "r", "X", func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-second:
		t.Fatal("a second bulk call ran past LimitBulk(1)")
	case <-time.After(20 * time.Millisecond):
	}
	p.LimitBulk(0)
	<-second // lifted: the held call runs while the first still holds its slot
	close(release)
	wg.Wait()
	if st := p.Stats(); st.Calls != 5 || st.MaxInFlight < 2 {
		t.Fatalf("stats %+v, want 5 calls, 2 at once after the cap was lifted", st)
	}
}
