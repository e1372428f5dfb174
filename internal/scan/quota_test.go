package scan

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awssim"
)

// simTargets serves w and returns one target per Region of the base account.
func simTargets(t *testing.T, w *awssim.World) ([]Target, *awssim.Server) {
	t.Helper()
	srv := awssim.New(w, awssim.Options{RTT: func(string) time.Duration { return 0 }})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	var targets []Target
	for _, r := range w.Regions {
		client := kms.NewFromConfig(aws.Config{
			Region: r, BaseEndpoint: aws.String(ts.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIABASE", "s", ""),
		})
		targets = append(targets, Target{Account: w.Base, Region: r, Client: client})
	}
	return targets, srv
}

// Aliases come from whichever costs fewer calls: one ListAliases by KeyId
// for a lone finding among many keys, one walk of the Region for many
// findings among few keys.
func TestAliasesByTheCheaperLookup(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name             string
		keys, pending    int
		wantAliasesCalls int64
	}{
		// A walk would read 250 + 0 aliases in 3 pages; by key it is 1 call.
		{"one finding among 250 keys", 250, 1, 1},
		// By key it would be 10 calls; the walk reads 20 aliases in 1 page.
		{"ten findings among 20 keys", 20, 10, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := awssim.NewWorld(awssim.BaseAccount, []string{"eu-west-1"}, now)
			keys := w.AddKeys(1, awssim.BaseAccount, "eu-west-1", tc.keys, tc.pending, true)
			targets, srv := simTargets(t, w)
			out := Scan(context.Background(), targets, Options{Concurrency: 16, Pacer: pace.New(pace.Options{Total: 16})})
			if len(out.Errors) != 0 || len(out.Findings) != tc.pending {
				t.Fatalf("errors %v, %d findings; want %d", out.Errors, len(out.Findings), tc.pending)
			}
			want := map[string]string{}
			for _, k := range keys[:tc.pending] {
				want[k.ID] = "alias/" + k.ID[:8]
			}
			for _, f := range out.Findings {
				if len(f.Aliases) != 1 || f.Aliases[0] != want[f.KeyID] {
					t.Errorf("finding %s aliases %v, want [%s]", f.KeyID, f.Aliases, want[f.KeyID])
				}
			}
			if n := srv.Counts().ByOperation["ListAliases"]; n != tc.wantAliasesCalls {
				t.Errorf("ListAliases called %d times, want %d", n, tc.wantAliasesCalls)
			}
		})
	}
}

// evidenceFunc is an Evidence that runs add in the scan's goroutine for each
// finding, and whose Wait returns warnings.
type evidenceFunc struct {
	add      func(f *finding.Finding)
	warnings []string
}

func (e evidenceFunc) Add(f *finding.Finding) { e.add(f) }
func (e evidenceFunc) Wait() []string         { return e.warnings }

// Evidence is handed every finding once, what it sets is kept, and its
// warnings reach the outcome.
func TestEvidencePerFinding(t *testing.T) {
	w := awssim.NewWorld(awssim.BaseAccount, []string{"eu-west-1", "us-east-1", "ap-south-1"}, time.Now())
	w.AddKeys(1, awssim.BaseAccount, "eu-west-1", 5, 2, false)
	w.AddKeys(2, awssim.BaseAccount, "us-east-1", 4, 0, false)
	w.AddKeys(3, awssim.BaseAccount, "ap-south-1", 3, 1, false)
	targets, _ := simTargets(t, w)
	var mu sync.Mutex
	calls := map[string]int{}
	out := Scan(context.Background(), targets, Options{Concurrency: 8, Evidence: evidenceFunc{
		add: func(f *finding.Finding) {
			mu.Lock()
			defer mu.Unlock()
			calls[f.Region]++
			f.InUseReason = "checked " + f.KeyID
		},
		warnings: []string{"evidence warning"},
	}})
	if len(calls) != 2 || calls["eu-west-1"] != 2 || calls["ap-south-1"] != 1 {
		t.Fatalf("evidence calls %v, want eu-west-1 with 2 findings and ap-south-1 with 1", calls)
	}
	if len(out.Findings) != 3 {
		t.Fatalf("%d findings, want 3", len(out.Findings))
	}
	for _, f := range out.Findings {
		if f.InUseReason != "checked "+f.KeyID {
			t.Errorf("finding %s: the evidence it was given is lost (%q)", f.KeyID, f.InUseReason)
		}
	}
	if len(out.Warnings) != 1 || out.Warnings[0] != "evidence warning" {
		t.Fatalf("warnings %v", out.Warnings)
	}
}

// A finding's evidence starts while its target is still being described,
// not after its last key: here every healthy key's DescribeKey answers only
// once the pending key was handed to Evidence.
func TestEvidenceStartsBeforeTheTargetsLastKey(t *testing.T) {
	w := awssim.NewWorld(awssim.BaseAccount, []string{"eu-west-1"}, time.Now())
	w.AddKeys(1, awssim.BaseAccount, "eu-west-1", 20, 1, false)
	targets, _ := simTargets(t, w)
	handed := make(chan struct{})
	var once sync.Once
	gated := &gatedKMS{KMSAPI: targets[0].Client, open: handed}
	targets[0].Client = gated
	out := Scan(context.Background(), targets, Options{Concurrency: 32, Evidence: evidenceFunc{
		add: func(*finding.Finding) { once.Do(func() { close(handed) }) },
	}})
	if len(out.Findings) != 1 || len(out.Errors) != 0 {
		t.Fatalf("findings %v, errors %v: want the one pending key", out.Findings, out.Errors)
	}
	if n := gated.late.Load(); n != 0 {
		t.Fatalf("%d healthy keys were described before the finding reached Evidence, want 0", n)
	}
}

// gatedKMS holds each DescribeKey answer of a key not pending deletion until
// open is closed; an answer held 5 s is counted late and let through.
type gatedKMS struct {
	KMSAPI
	open <-chan struct{}
	late atomic.Int32
}

func (g *gatedKMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	out, err := g.KMSAPI.DescribeKey(ctx, in, opts...)
	if err != nil || out.KeyMetadata.KeyState == types.KeyStatePendingDeletion {
		return out, err
	}
	select {
	case <-g.open:
	case <-time.After(5 * time.Second):
		g.late.Add(1)
	}
	return out, err
}

// A target is scanned once its first ListKeys page is in; of the targets
// waiting for a slot, the one with the most keys goes first, so its
// findings, and their evidence, come first.
func TestWaitingTargetsWithMostKeysFirst(t *testing.T) {
	w := awssim.NewWorld(awssim.BaseAccount, []string{"ap-south-1", "eu-west-1", "us-east-1"}, time.Now())
	w.AddKeys(1, awssim.BaseAccount, "ap-south-1", 5, 1, false)
	w.AddKeys(2, awssim.BaseAccount, "eu-west-1", 50, 1, false)
	w.AddKeys(3, awssim.BaseAccount, "us-east-1", 20, 1, false)
	targets, srv := simTargets(t, w)
	var order []string
	var mu sync.Mutex
	// One target at a time: the first whose page is in (ap-south-1, listed
	// first) holds the slot until the other two pages are in too.
	Scan(context.Background(), targets, Options{Concurrency: 1, Evidence: evidenceFunc{add: func(f *finding.Finding) {
		for srv.Counts().ByOperation["ListKeys"] < 3 {
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		order = append(order, f.Region)
	}}})
	if strings.Join(order, ",") != "ap-south-1,eu-west-1,us-east-1" {
		t.Fatalf("evidence order %v, want ap-south-1 (first ready), then by keys: eu-west-1 (50), us-east-1 (20)", order)
	}
}

// A Region that never answers ListKeys holds up only itself.
func TestHungRegionHoldsOnlyItself(t *testing.T) {
	w := awssim.NewWorld(awssim.BaseAccount, []string{"eu-west-1", "us-east-1"}, time.Now())
	w.AddKeys(1, awssim.BaseAccount, "us-east-1", 3, 1, false)
	targets, _ := simTargets(t, w)
	targets[0].Client = hangingKMS{targets[0].Client}
	// The run ends long before the per-call timeout (90 s) would.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var handed atomic.Int32
	out := Scan(ctx, targets, Options{Concurrency: 4, Evidence: evidenceFunc{add: func(*finding.Finding) { handed.Add(1) }}})
	if len(out.Findings) != 1 || len(out.Errors) != 1 || out.Errors[0].Region != "eu-west-1" {
		t.Fatalf("findings %v, errors %v: want us-east-1's finding and eu-west-1's error", out.Findings, out.Errors)
	}
	if handed.Load() != 1 {
		t.Fatalf("%d findings handed to Evidence while eu-west-1 hung, want 1", handed.Load())
	}
}

// hangingKMS never answers ListKeys until its context ends.
type hangingKMS struct{ KMSAPI }

func (h hangingKMS) ListKeys(ctx context.Context, _ *kms.ListKeysInput, _ ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
