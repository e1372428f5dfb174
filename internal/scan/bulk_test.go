package scan

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
)

// slowKeys is a Region of n healthy keys whose DescribeKey takes a few
// milliseconds; it counts the DescribeKey calls in flight and made.
type slowKeys struct {
	KMSAPI
	n         int
	c         *inFlight
	described *atomic.Int64
}

func (s slowKeys) ListKeys(context.Context, *kms.ListKeysInput, ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	out := &kms.ListKeysOutput{Keys: []types.KeyListEntry{}}
	for i := range s.n {
		out.Keys = append(out.Keys, types.KeyListEntry{KeyId: aws.String(fmt.Sprintf("key-%d", i))})
	}
	return out, nil
}

func (s slowKeys) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	defer s.c.enter()()
	time.Sleep(3 * time.Millisecond)
	s.described.Add(1)
	return &kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: in.KeyId, KeyManager: types.KeyManagerTypeCustomer, KeyState: types.KeyStateEnabled}}, nil
}

// While targets are still arriving, the keys of the first ones are
// described by a share of the total only (the rest is left to the first
// pages of those still to come, which CPU-bound calls starved); once the
// last target is in and its first page asked for, they take the whole total.
func TestBulkCallsHoldAShareWhileTargetsArrive(t *testing.T) {
	t.Parallel()
	const total = 64 // a sixteenth: 4
	pacer := pace.New(pace.Options{Total: total, PerTarget: total, Rates: map[string]float64{}})
	var c inFlight
	var described atomic.Int64
	in := make(chan Target)
	done := make(chan Outcome)
	go func() {
		done <- ScanStream(context.Background(), in, Options{Concurrency: total, Pacer: pacer, CallTimeout: time.Minute})
	}()
	in <- Target{Account: "111", Region: "r-1", Client: slowKeys{n: 400, c: &c, described: &described}}
	for described.Load() < 60 {
		time.Sleep(time.Millisecond)
	}
	if p := c.peak.Load(); p > total/bulkWhileListing || p < 2 {
		t.Errorf("DescribeKey calls in flight while targets still arrive: peak %d, want 2..%d", p, total/bulkWhileListing)
	}
	c.peak.Store(0)
	in <- Target{Account: "222", Region: "r-1", Client: slowKeys{n: 400, c: &c, described: &described}}
	close(in)
	out := <-done
	if out.KeysSeen != 800 || len(out.Scanned) != 2 || len(out.Errors) != 0 {
		t.Fatalf("keys %d, scanned %v, errors %+v", out.KeysSeen, out.Scanned, out.Errors)
	}
	if p := c.peak.Load(); p <= total/bulkWhileListing {
		t.Errorf("DescribeKey calls in flight after the last target: peak %d, want more than %d", p, total/bulkWhileListing)
	}
}

// hungKeys is a Region of one key whose DescribeKey does not answer until
// release is closed.
type hungKeys struct {
	KMSAPI
	release <-chan struct{}
}

func (h hungKeys) ListKeys(context.Context, *kms.ListKeysInput, ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	return &kms.ListKeysOutput{Keys: []types.KeyListEntry{{KeyId: aws.String("stuck")}}}, nil
}

func (h hungKeys) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: in.KeyId, KeyManager: types.KeyManagerTypeCustomer, KeyState: types.KeyStateEnabled}}, nil
}

// A target bigger than any before it is scanned even when every slot is
// held by smaller targets that have not finished.
func TestBiggerTargetDoesNotWaitForASlot(t *testing.T) {
	t.Parallel()
	const slots = 16
	pacer := pace.New(pace.Options{Total: 4 * slots, PerTarget: slots, Rates: map[string]float64{}})
	release := make(chan struct{})
	var c inFlight
	var described atomic.Int64
	in := make(chan Target)
	done := make(chan Outcome)
	go func() {
		done <- ScanStream(context.Background(), in, Options{Concurrency: slots, Pacer: pacer, CallTimeout: time.Minute})
	}()
	for i := range slots {
		in <- Target{Account: "111", Region: fmt.Sprintf("small-%02d", i), Client: hungKeys{release: release}}
	}
	in <- Target{Account: "222", Region: "big", Client: slowKeys{n: 5, c: &c, described: &described}}
	close(in)
	deadline := time.Now().Add(5 * time.Second)
	for described.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	got := described.Load()
	close(release)
	out := <-done
	if got < 5 {
		t.Fatalf("the big target had %d of its 5 keys described while %d smaller targets held every slot", got, slots)
	}
	if out.KeysSeen != slots+5 || len(out.Scanned) != slots+1 {
		t.Fatalf("keys %d, scanned %d", out.KeysSeen, len(out.Scanned))
	}
}
