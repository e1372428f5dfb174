package scan

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/kmsfake"
)

// inFlight counts the AWS calls in flight at once across every target.
type inFlight struct{ now, peak atomic.Int64 }

func (c *inFlight) enter() func() {
	n := c.now.Add(1)
	for old := c.peak.Load(); n > old && !c.peak.CompareAndSwap(old, n); old = c.peak.Load() {
	}
	return func() { c.now.Add(-1) }
}

// counted passes every call to a kmsfake client, counting it; it denies
// DescribeKey for one key as that key's policy would.
type counted struct {
	api     KMSAPI
	c       *inFlight
	denyKey string
}

func (f *counted) ListKeys(ctx context.Context, in *kms.ListKeysInput, o ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	defer f.c.enter()()
	return f.api.ListKeys(ctx, in, o...)
}

func (f *counted) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, o ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	defer f.c.enter()()
	if aws.ToString(in.KeyId) == f.denyKey {
		return nil, &smithy.OperationError{ServiceID: "KMS", OperationName: "DescribeKey", Err: &smithy.GenericAPIError{
			Code: "AccessDeniedException", Message: "not authorized to perform: kms:DescribeKey because no resource-based policy allows it"}}
	}
	return f.api.DescribeKey(ctx, in, o...)
}

func (f *counted) ListAliases(ctx context.Context, in *kms.ListAliasesInput, o ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	defer f.c.enter()()
	return f.api.ListAliases(ctx, in, o...)
}

func (f *counted) ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, o ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error) {
	defer f.c.enter()()
	return f.api.ListResourceTags(ctx, in, o...)
}

// countedTargets serves regions x keysPerRegion keys from kmsfake, plus one
// pending deletion in region-0, through clients that share one counter.
func countedTargets(t *testing.T, regions, keysPerRegion int, denyKey string) ([]Target, *inFlight) {
	t.Helper()
	var keys []kmsfake.Key
	for r := range regions {
		for k := range keysPerRegion {
			keys = append(keys, kmsfake.Key{ID: fmt.Sprintf("region-%d-key-%d", r, k), Region: fmt.Sprintf("region-%d", r)})
		}
	}
	keys = append(keys, kmsfake.Key{ID: "pending-1", Region: "region-0", State: "PendingDeletion", DeletionDate: time.Now().Add(72 * time.Hour)})
	srv := kmsfake.Start(t, keys)
	c := &inFlight{}
	var ts []Target
	for r := range regions {
		region := fmt.Sprintf("region-%d", r)
		client := kms.New(kms.Options{Region: region, BaseEndpoint: aws.String(srv.URL),
			// Retries as the SDK's default does: a connection the loaded
			// machine drops ("use of closed network connection") is retried,
			// as in production; AccessDenied is not retryable.
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 3})
		ts = append(ts, Target{Account: "111122223333", Region: region, Client: &counted{api: client, c: c, denyKey: denyKey}})
	}
	return ts, c
}

// Many targets with many keys each: calls in flight and call goroutines never
// exceed Concurrency. Before one pool, each target ran its own bounded group
// inside a bounded group of targets: up to Concurrency x Concurrency.
func TestOnePoolBoundsCallsAndGoroutines(t *testing.T) {
	t.Parallel()
	const concurrency = 4
	targets, c := countedTargets(t, 12, 60, "")
	out := Scan(context.Background(), targets, Options{Concurrency: concurrency})
	if len(out.Errors) != 0 || len(out.Scanned) != 12 || len(out.Findings) != 1 {
		t.Fatalf("errors=%+v scanned=%d findings=%d", out.Errors, len(out.Scanned), len(out.Findings))
	}
	if p := c.peak.Load(); p > concurrency || p < 2 {
		t.Errorf("peak calls in flight = %d, want 2..%d", p, concurrency)
	}
	// Every target started at once (more than Concurrency of them): the
	// goroutines the pool starts for keys still stay within its size.
	pool := newCallPool(concurrency, time.Minute)
	s := &scanner{opts: Options{Concurrency: concurrency, MaxTagsPerKey: 50}, pool: pool}
	in := make(chan Target, len(targets))
	for _, tg := range targets {
		in <- tg
	}
	close(in)
	jobs := s.firstPages(context.Background(), in, make(chan *job, len(targets)))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() { defer wg.Done(); s.scanTarget(context.Background(), j.t, j.first) }()
	}
	wg.Wait()
	if p := pool.peak.Load(); p > concurrency || p < 2 {
		t.Errorf("peak call goroutines = %d, want 2..%d with %d targets started at once", p, concurrency, len(targets))
	}
}

// One key whose policy denies DescribeKey is a coverage error naming that
// key; the rest of its Region is scanned and its finding made.
func TestDeniedKeyIsAKeyErrorNotARegionError(t *testing.T) {
	t.Parallel()
	targets, _ := countedTargets(t, 2, 30, "region-0-key-7")
	out := Scan(context.Background(), targets, Options{Concurrency: 4})
	if len(out.Errors) != 1 {
		t.Fatalf("errors = %+v, want one for the denied key", out.Errors)
	}
	e := out.Errors[0]
	if e.Region != "region-0" || e.Stage != "describe-key" || e.KeyID != "region-0-key-7" ||
		!strings.Contains(e.Message, "key region-0-key-7 could not be read: AccessDeniedException") {
		t.Errorf("error = %+v", e)
	}
	if len(out.Scanned) != 2 || len(out.Findings) != 1 || out.Findings[0].KeyID != "pending-1" {
		t.Errorf("scanned = %+v findings = %+v: the rest of region-0 must be scanned", out.Scanned, out.Findings)
	}
	if out.KeysSeen != 2*30 { // 60 keys + pending-1 - the denied one
		t.Errorf("KeysSeen = %d, want %d", out.KeysSeen, 2*30)
	}
}

// The per-call bound fires while the run has time: the message says it is
// that bound, not the timeout input.
func TestCallTimeoutNamesThePerCallBound(t *testing.T) {
	t.Parallel()
	srv := kmsfake.Start(t, []kmsfake.Key{{ID: "a", Region: "eu-west-1"}})
	srv.HangRegion("eu-west-1")
	client := kms.New(kms.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	out := Scan(context.Background(), []Target{{Account: "111122223333", Region: "eu-west-1", Client: client}}, Options{Concurrency: 2, CallTimeout: 200 * time.Millisecond})
	if len(out.Errors) != 1 {
		t.Fatalf("errors = %+v", out.Errors)
	}
	msg := out.Errors[0].Message
	if !strings.Contains(msg, "ListKeys got no answer within 200ms, the fixed bound of one AWS call") || strings.Contains(msg, "raise") {
		t.Errorf("message = %q", msg)
	}
}
