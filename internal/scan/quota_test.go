package scan

import (
	"context"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

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

// Evidence runs once per target with findings, with that target's findings,
// and its warnings reach the outcome.
func TestEvidencePerTargetWithFindings(t *testing.T) {
	w := awssim.NewWorld(awssim.BaseAccount, []string{"eu-west-1", "us-east-1", "ap-south-1"}, time.Now())
	w.AddKeys(1, awssim.BaseAccount, "eu-west-1", 5, 2, false)
	w.AddKeys(2, awssim.BaseAccount, "us-east-1", 4, 0, false)
	w.AddKeys(3, awssim.BaseAccount, "ap-south-1", 3, 1, false)
	targets, _ := simTargets(t, w)
	var mu sync.Mutex
	calls := map[string]int{}
	out := Scan(context.Background(), targets, Options{Concurrency: 8, Evidence: func(_ context.Context, fs []finding.Finding) []string {
		mu.Lock()
		defer mu.Unlock()
		calls[fs[0].Region] += len(fs)
		for i := range fs {
			fs[i].InUseReason = "checked"
			if fs[i].Region != fs[0].Region {
				t.Errorf("one call mixes %s and %s", fs[0].Region, fs[i].Region)
			}
		}
		return []string{"evidence for " + fs[0].Region}
	}})
	if len(calls) != 2 || calls["eu-west-1"] != 2 || calls["ap-south-1"] != 1 {
		t.Fatalf("evidence calls %v, want eu-west-1 with 2 findings and ap-south-1 with 1", calls)
	}
	for _, f := range out.Findings {
		if f.InUseReason != "checked" {
			t.Errorf("finding %s: the evidence it was given is lost", f.KeyID)
		}
	}
	sort.Strings(out.Warnings)
	if len(out.Warnings) != 2 || out.Warnings[0] != "evidence for ap-south-1" {
		t.Fatalf("warnings %v", out.Warnings)
	}
}

// A target is scanned once its first ListKeys page is in; of the targets
// waiting for a slot, the one with the most keys goes first, so its evidence
// starts first.
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
	Scan(context.Background(), targets, Options{Concurrency: 1, Evidence: func(_ context.Context, fs []finding.Finding) []string {
		for srv.Counts().ByOperation["ListKeys"] < 3 {
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		order = append(order, fs[0].Region)
		return nil
	}})
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
	out := Scan(ctx, targets, Options{Concurrency: 4, Evidence: func(_ context.Context, fs []finding.Finding) []string {
		return []string{"evidence for " + fs[0].Region + " while eu-west-1 hangs"}
	}})
	if len(out.Findings) != 1 || len(out.Errors) != 1 || out.Errors[0].Region != "eu-west-1" {
		t.Fatalf("findings %v, errors %v: want us-east-1's finding and eu-west-1's error", out.Findings, out.Errors)
	}
}

// hangingKMS never answers ListKeys until its context ends.
type hangingKMS struct{ KMSAPI }

func (h hangingKMS) ListKeys(ctx context.Context, _ *kms.ListKeysInput, _ ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
