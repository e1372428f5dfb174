package scan_test

// The benchmark of the whole in-process pipeline (scan -> policy -> JSON
// report, job summary, terminal table) on a synthetic KMS that makes its keys
// up from their index, so that the fake holds no per-key state and the memory
// measured is the pipeline's own.
//
//	go test -run '^$' -bench BenchmarkPipeline -benchtime 1x ./internal/scan/
//
// Metrics per size: ns/key, B/key and allocs/key (whole pipeline, divided by
// the number of keys), calls/key (AWS calls made), and peak-heap-MiB: the
// high-water of the Go heap (runtime/metrics /memory/classes/heap/objects,
// live and not yet collected objects) sampled every millisecond during the
// run. Costs per key that stay flat from 10,000 to 100,000 keys mean linear
// growth; peak-heap-MiB shows memory stays bounded.

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/policy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/summary"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/text"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/scan"
)

// benchKMS is an in-memory KMS of n customer keys in one region. Key i is
// pending deletion when i%pendingEvery == 3 (4% with 25), disabled when
// i%disabledEvery == 7, and carries an alias when i%10 == 0 or it is pending.
// Page sizes are AWS's maximums (ListKeys 1000, ListAliases 100).
type benchKMS struct {
	account, region string
	n               int
	pendingEvery    int
	disabledEvery   int
	now             time.Time

	listKeys, describeKey, listAliases, listTags atomic.Int64
}

func (k *benchKMS) keyID(i int) string { return fmt.Sprintf("0b5e4c1d-0000-4000-8000-%012d", i) }

func (k *benchKMS) index(id string) (int, bool) {
	if len(id) != 36 {
		return 0, false
	}
	i, err := strconv.Atoi(id[24:])
	return i, err == nil && i >= 0 && i < k.n
}

func (k *benchKMS) pending(i int) bool  { return i%k.pendingEvery == 3 }
func (k *benchKMS) disabled(i int) bool { return !k.pending(i) && i%k.disabledEvery == 7 }
func (k *benchKMS) aliased(i int) bool  { return i%10 == 0 || k.pending(i) }

func (k *benchKMS) arn(id string) string {
	return "arn:aws:kms:" + k.region + ":" + k.account + ":key/" + id
}

func marker(s *string) (int, error) {
	if s == nil {
		return 0, nil
	}
	return strconv.Atoi(*s)
}

func (k *benchKMS) ListKeys(_ context.Context, in *kms.ListKeysInput, _ ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	k.listKeys.Add(1)
	start, err := marker(in.Marker)
	if err != nil {
		return nil, &types.InvalidMarkerException{Message: aws.String("bad marker")}
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	end := min(start+limit, k.n)
	out := &kms.ListKeysOutput{Keys: make([]types.KeyListEntry, 0, end-start)}
	for i := start; i < end; i++ {
		id := k.keyID(i)
		out.Keys = append(out.Keys, types.KeyListEntry{KeyId: aws.String(id), KeyArn: aws.String(k.arn(id))})
	}
	if end < k.n {
		out.Truncated = true
		out.NextMarker = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (k *benchKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	k.describeKey.Add(1)
	id := aws.ToString(in.KeyId)
	i, ok := k.index(id)
	if !ok {
		return nil, &types.NotFoundException{Message: aws.String("no such key")}
	}
	md := &types.KeyMetadata{
		KeyId:        aws.String(id),
		Arn:          aws.String(k.arn(id)),
		AWSAccountId: aws.String(k.account),
		KeyManager:   types.KeyManagerTypeCustomer,
		KeySpec:      types.KeySpecSymmetricDefault,
		KeyUsage:     types.KeyUsageTypeEncryptDecrypt,
		KeyState:     types.KeyStateEnabled,
		Enabled:      true,
		CreationDate: aws.Time(k.now.Add(-time.Duration(i) * time.Minute)),
		Description:  aws.String("synthetic key " + strconv.Itoa(i)),
		MultiRegion:  aws.Bool(false),
	}
	switch {
	case k.pending(i):
		md.KeyState, md.Enabled = types.KeyStatePendingDeletion, false
		window := int32(7 + i%24)
		md.PendingDeletionWindowInDays = aws.Int32(window)
		md.DeletionDate = aws.Time(k.now.Add(time.Duration(window)*24*time.Hour - time.Duration(i%1440)*time.Minute))
	case k.disabled(i):
		md.KeyState, md.Enabled = types.KeyStateDisabled, false
	}
	return &kms.DescribeKeyOutput{KeyMetadata: md}, nil
}

func (k *benchKMS) ListAliases(_ context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	k.listAliases.Add(1)
	// Aliases are numbered by the keys that have one: alias j is on the
	// j-th aliased key. Walking the key space keeps the fake stateless.
	start, err := marker(in.Marker)
	if err != nil {
		return nil, &types.InvalidMarkerException{Message: aws.String("bad marker")}
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	out := &kms.ListAliasesOutput{}
	i := start
	for ; i < k.n && len(out.Aliases) < limit; i++ {
		if !k.aliased(i) {
			continue
		}
		id := k.keyID(i)
		name := "alias/synthetic-" + strconv.Itoa(i)
		out.Aliases = append(out.Aliases, types.AliasListEntry{
			AliasName:   aws.String(name),
			AliasArn:    aws.String("arn:aws:kms:" + k.region + ":" + k.account + ":" + name),
			TargetKeyId: aws.String(id),
		})
	}
	if i < k.n {
		out.Truncated = true
		out.NextMarker = aws.String(strconv.Itoa(i))
	}
	return out, nil
}

func (k *benchKMS) ListResourceTags(_ context.Context, in *kms.ListResourceTagsInput, _ ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error) {
	k.listTags.Add(1)
	i, ok := k.index(aws.ToString(in.KeyId))
	if !ok {
		return nil, &types.NotFoundException{Message: aws.String("no such key")}
	}
	return &kms.ListResourceTagsOutput{Tags: []types.Tag{
		{TagKey: aws.String("team"), TagValue: aws.String("team-" + strconv.Itoa(i%7))},
		{TagKey: aws.String("env"), TagValue: aws.String("bench")},
	}}, nil
}

func (k *benchKMS) calls() int64 {
	return k.listKeys.Load() + k.describeKey.Load() + k.listAliases.Load() + k.listTags.Load()
}

// aliasPages is how many ListAliases pages of 100 the fake serves.
func (k *benchKMS) aliasPages() int64 {
	pages, onPage := int64(1), 0
	for i := range k.n {
		if !k.aliased(i) {
			continue
		}
		if onPage == 100 {
			pages++
			onPage = 0
		}
		onPage++
	}
	return pages
}

var benchRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"}

// benchTargets splits total keys over the four benchRegions.
func benchTargets(total int, now time.Time) ([]scan.Target, []*benchKMS) {
	var targets []scan.Target
	var fakes []*benchKMS
	for i, r := range benchRegions {
		n := total / len(benchRegions)
		if i < total%len(benchRegions) {
			n++
		}
		f := &benchKMS{account: "111122223333", region: r, n: n, pendingEvery: 25, disabledEvery: 20, now: now}
		fakes = append(fakes, f)
		targets = append(targets, scan.Target{Account: f.account, Region: r, Client: f})
	}
	return targets, fakes
}

// pipeline runs what app.Run does between credentials and the exit code,
// minus the network: scan, policy, then every local report.
func pipeline(ctx context.Context, targets []scan.Target, now time.Time) (finding.Result, int) {
	out := scan.Scan(ctx, targets, scan.Options{Concurrency: 16})
	res := finding.Result{ScanTime: now, Findings: out.Findings, Scanned: out.Scanned, Errors: out.Errors, KeysSeen: out.KeysSeen, APICalls: out.APICalls}
	policy.Policy{CriticalDays: 3, HighDays: 7, FailOn: finding.SeverityMedium, Now: now}.Apply(&res)
	js, err := jsonreport.Marshal(res, "bench")
	if err != nil {
		panic(err)
	}
	md := summary.Render(res, summary.Options{ToolVersion: "bench"})
	tx := text.Render(res)
	return res, len(js) + len(md) + len(tx)
}

// TestPipelineBenchFakeCalls checks the fake the benchmark relies on and the
// call budget of the scan: ListKeys pages, one DescribeKey per key, and only
// for regions with findings one paged ListAliases plus ListResourceTags per
// finding. Nothing else, whatever the key count.
func TestPipelineBenchFakeCalls(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, total := range []int{4, 2_500, 10_001} {
		t.Run(strconv.Itoa(total), func(t *testing.T) {
			t.Parallel()
			targets, fakes := benchTargets(total, now)
			res, _ := pipeline(context.Background(), targets, now)
			var wantFindings int
			var wantCalls int64
			for _, f := range fakes {
				pending := 0
				for i := range f.n {
					if f.pending(i) {
						pending++
					}
				}
				wantFindings += pending
				wantCalls += int64(max(1, (f.n+999)/1000)) + int64(f.n)
				if pending > 0 {
					wantCalls += f.aliasPages() + int64(pending)
				}
				if got := f.describeKey.Load(); got != int64(f.n) {
					t.Errorf("%s: %d DescribeKey calls for %d keys, want exactly one per key", f.region, got, f.n)
				}
			}
			if len(res.Errors) != 0 {
				t.Fatalf("scan errors: %+v", res.Errors)
			}
			if res.KeysSeen != total || len(res.Findings) != wantFindings {
				t.Errorf("keys seen %d, findings %d; want %d and %d", res.KeysSeen, len(res.Findings), total, wantFindings)
			}
			if res.APICalls != wantCalls {
				t.Errorf("scan counted %d API calls, want %d", res.APICalls, wantCalls)
			}
			var made int64
			for _, f := range fakes {
				made += f.calls()
			}
			if made != wantCalls {
				t.Errorf("fake served %d calls, want %d", made, wantCalls)
			}
			for _, f := range res.Findings {
				if len(f.Aliases) == 0 || len(f.Tags) != 2 {
					t.Errorf("finding %s: aliases %v, tags %v; want enrichment from ListAliases and ListResourceTags", f.KeyID, f.Aliases, f.Tags)
					break
				}
			}
		})
	}
}

// heapSampler records the high-water of the heap while a run is going.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak atomic.Uint64
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if v := sample[0].Value.Uint64(); v > s.peak.Load() {
				s.peak.Store(v)
			}
		}
	}
	read()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return s
}

func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak.Load()
}

func BenchmarkPipeline(b *testing.B) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, total := range []int{10_000, 50_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", total), func(b *testing.B) {
			var peak uint64
			var calls int64
			var before, after runtime.MemStats
			var allocBytes, allocs uint64
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				targets, _ := benchTargets(total, now)
				runtime.GC()
				runtime.ReadMemStats(&before)
				sampler := startHeapSampler()
				b.StartTimer()

				res, n := pipeline(context.Background(), targets, now)

				b.StopTimer()
				peak = max(peak, sampler.Stop())
				runtime.ReadMemStats(&after)
				allocBytes += after.TotalAlloc - before.TotalAlloc
				allocs += after.Mallocs - before.Mallocs
				calls = res.APICalls
				if res.KeysSeen != total || n == 0 {
					b.Fatalf("keys seen %d of %d, report bytes %d", res.KeysSeen, total, n)
				}
				b.StartTimer()
			}
			iters := float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/iters/float64(total), "ns/key")
			b.ReportMetric(float64(allocBytes)/iters/float64(total), "B/key")
			b.ReportMetric(float64(allocs)/iters/float64(total), "allocs/key")
			b.ReportMetric(float64(calls)/float64(total), "calls/key")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
