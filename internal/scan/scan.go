// Package scan finds KMS customer managed keys that are pending deletion (or
// disabled, when asked) across account x region targets: ListKeys pages, one
// DescribeKey per key, and ListAliases / ListResourceTags only where there are
// findings. A target that fails is recorded with its error, never dropped.
package scan

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
)

// KMSAPI is the part of the KMS client the scan calls.
type KMSAPI interface {
	ListKeys(ctx context.Context, in *kms.ListKeysInput, optFns ...func(*kms.Options)) (*kms.ListKeysOutput, error)
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	ListAliases(ctx context.Context, in *kms.ListAliasesInput, optFns ...func(*kms.Options)) (*kms.ListAliasesOutput, error)
	ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, optFns ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
}

// Target is one account x region to scan, with its client.
type Target struct {
	Account string
	Region  string
	Client  KMSAPI
}

// Options tune a scan.
type Options struct {
	// IncludeDisabled also reports Disabled customer managed keys.
	IncludeDisabled bool
	// Concurrency bounds the AWS calls in flight across all targets.
	Concurrency int
	// MaxTagsPerKey bounds the tags kept per finding (untrusted, unbounded).
	MaxTagsPerKey int
	// CallTimeout bounds one AWS operation, retries included, so that a
	// region that never answers fails on its own instead of holding the
	// run until its overall timeout. Default DefaultCallTimeout.
	CallTimeout time.Duration
	// Pacer schedules the calls: per account and Region (calls in flight,
	// requests per second, backoff on throttling) and in total. Nil: a total
	// cap of Concurrency alone.
	Pacer *pace.Pacer
	// Evidence, when set, is handed each finding as soon as DescribeKey
	// finds it, while the rest of its target is still being scanned and its
	// aliases and tags read: its evidence (CloudTrail, 2 lookups a second per
	// account and Region) starts with the target's first finding, not after
	// its last key. Scan waits for it before returning.
	Evidence Evidence
	// Now is the scan time, against which a DeletionDate is bounded; zero
	// means time.Now().
	Now time.Time
}

// Evidence gathers evidence for findings (forensics.Gatherer).
type Evidence interface {
	// Add starts gathering f's evidence and returns without waiting. Until
	// Wait returns it may set any field of f but Aliases and Tags, which
	// the scan sets meanwhile.
	Add(f *finding.Finding)
	// Wait waits for every finding added and returns warnings.
	Wait() []string
}

// DefaultCallTimeout is the default bound of one AWS operation.
const DefaultCallTimeout = 90 * time.Second

// Outcome is what a scan found.
type Outcome struct {
	Findings []finding.Finding
	Scanned  []finding.Target
	Errors   []finding.ScanError
	KeysSeen int
	APICalls int64
	// Warnings are losses that leave the scan complete (tags not read).
	Warnings []string
}

// Scan scans every target concurrently. It returns an error only when ctx is
// cancelled before the scan could finish; every other failure is in
// Outcome.Errors. Findings and errors come in target order.
func Scan(ctx context.Context, targets []Target, opts Options) Outcome {
	in := make(chan Target, len(targets))
	for _, t := range targets {
		in <- t
	}
	close(in)
	return scanAll(ctx, in, opts, false)
}

// ScanStream is Scan for targets that arrive while the scan runs (accounts
// whose credentials and Regions are still being resolved): each is scanned
// as soon as it arrives, and Scan returns once targets is closed and every
// target is done. Findings and errors come by account (sorted), then in the
// order the account's targets arrived, whatever order the accounts came in.
func ScanStream(ctx context.Context, targets <-chan Target, opts Options) Outcome {
	return scanAll(ctx, targets, opts, true)
}

// job is one target: its first page and what its scan found.
type job struct {
	seq    int
	t      Target
	first  firstPage
	result targetResult
}

func scanAll(ctx context.Context, targets <-chan Target, opts Options, byAccount bool) Outcome {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.MaxTagsPerKey <= 0 {
		opts.MaxTagsPerKey = 50
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	pool := newCallPool(opts.Concurrency, opts.CallTimeout)
	if opts.Pacer != nil {
		pool = newPacedPool(opts.Pacer, opts.CallTimeout)
	}
	s := &scanner{opts: opts, pool: pool}
	// Target goroutines only list and wait for slots; the calls themselves
	// share s.pool. Bounding targets too (Concurrency, and a sixteenth more
	// for targets bigger than any before) keeps goroutines under about 2 x
	// Concurrency in all.
	//
	// Every target's first ListKeys page is asked for as soon as the target
	// arrives, and until every first page is asked for the calls of targets
	// already in (DescribeKey) hold only a sixteenth of the pool. A target
	// is scanned as soon as its page is in; of those waiting for a target
	// slot the one with the most keys goes first (at once, when it is the
	// biggest yet), its calls outranking the others' in the pool: its
	// findings, and the evidence that takes longest (CloudTrail, 2 lookups a
	// second per account and Region), start early instead of wherever its
	// account falls in the list. A Region that never answers holds up only
	// itself.
	var jobs []*job
	ready := make(chan *job, opts.Concurrency)
	go func() {
		jobs = s.firstPages(ctx, targets, ready)
		close(ready)
	}()
	s.dispatch(ctx, ready)
	// dispatch returned after ready was closed: jobs is set.
	sort.SliceStable(jobs, func(i, j int) bool {
		if byAccount && jobs[i].t.Account != jobs[j].t.Account {
			return jobs[i].t.Account < jobs[j].t.Account
		}
		return jobs[i].seq < jobs[j].seq
	})
	return s.outcome(jobs)
}

// outcome gathers the jobs' results, in the jobs' order, once the evidence
// is in.
func (s *scanner) outcome(jobs []*job) Outcome {
	var out Outcome
	var evidence []string
	if s.opts.Evidence != nil {
		evidence = s.opts.Evidence.Wait()
	}
	for _, j := range jobs {
		r, t := j.result, j.t
		out.KeysSeen += r.keysSeen
		for _, f := range r.findings {
			out.Findings = append(out.Findings, *f)
		}
		if r.warning != "" {
			out.Warnings = append(out.Warnings, r.warning)
		}
		out.Errors = append(out.Errors, r.keyErrs...)
		if r.err != nil {
			out.Errors = append(out.Errors, *r.err)
		} else {
			out.Scanned = append(out.Scanned, finding.Target{Account: t.Account, Region: t.Region})
		}
	}
	out.Warnings = append(out.Warnings, evidence...)
	out.APICalls = s.pool.calls.Load()
	sort.Slice(out.Scanned, func(i, j int) bool {
		a, b := out.Scanned[i], out.Scanned[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		return a.Region < b.Region
	})
	return out
}

type scanner struct {
	opts Options
	pool *callPool
}

type targetResult struct {
	// findings are shared with Options.Evidence until it is waited for.
	findings []*finding.Finding
	keysSeen int
	err      *finding.ScanError  // the target as a whole could not be scanned
	keyErrs  []finding.ScanError // single keys that could not be read; the rest was
	warning  string
}

// maxKeyErrors bounds the per-key errors kept for one target; the rest are
// counted in one more error.
const maxKeyErrors = 10

// targetScan gathers what the key goroutines of one target report.
type targetScan struct {
	t       Target
	mu      sync.Mutex
	res     targetResult
	deniedN int
	failed  *finding.ScanError
	listed  int // keys ListKeys returned
}

func (ts *targetScan) fail(stage string, err error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.failed == nil {
		ts.failed = &finding.ScanError{Account: ts.t.Account, Region: ts.t.Region, Stage: stage, Message: awserr.Describe(err)}
	}
}

// keyDenied records one key that IAM or its key policy will not let us
// describe, or whose answer is malformed: a coverage gap for that key, not
// for the Region.
func (ts *targetScan) keyDenied(id string, err error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.deniedN++
	if ts.deniedN <= maxKeyErrors {
		ts.res.keyErrs = append(ts.res.keyErrs, finding.ScanError{
			Account: ts.t.Account, Region: ts.t.Region, Stage: "describe-key", KeyID: id,
			Message: "key " + escape.PlainText(id, 100) + " could not be read: " + awserr.Describe(err),
		})
	}
}

func (ts *targetScan) keyErrorsDone() {
	if more := ts.deniedN - maxKeyErrors; more > 0 {
		ts.res.keyErrs = append(ts.res.keyErrs, finding.ScanError{
			Account: ts.t.Account, Region: ts.t.Region, Stage: "describe-key",
			Message: fmt.Sprintf("%d more key(s) could not be read (access denied or a malformed answer)", more),
		})
	}
}

// firstPage is a target's first ListKeys page, or why it could not be read.
type firstPage struct {
	page *kms.ListKeysOutput
	err  error
}

func (f firstPage) size() int {
	if f.page == nil {
		return 0
	}
	if f.page.Truncated {
		return len(f.page.Keys) + 1
	}
	return len(f.page.Keys)
}

// firstPagePriority ranks a target's calls until its first page is in.
const firstPagePriority = pace.Urgent

// bulkWhileListing is the share of the total (1/16: 64 calls of 1,024) that
// calls other than first pages (DescribeKey above all) may hold while
// targets are still arriving or their first pages are still to be asked
// for. On a runner whose CPU is the limit, every call in flight takes its
// share of it: with no cap, 48,000 DescribeKey calls of the first targets
// slowed the first pages of the others (17,000 in an organization) to a
// trickle, and the target with the most findings, whose CloudTrail lookups
// (2 a second) bound the run, was found 10 s late.
const bulkWhileListing = 16

// firstPages reads the first ListKeys page of every target through the
// pool as it arrives, sends each target's job to ready once its page is in,
// ranks the target by its keys in the pool, and returns every job when
// targets is closed and every page is in. The pages are asked for by several
// goroutines: one alone, among thousands of goroutines describing keys, got
// a few hundred pages a second out.
func (s *scanner) firstPages(ctx context.Context, targets <-chan Target, ready chan<- *job) []*job {
	var wg, issuers sync.WaitGroup
	// One goroutine numbers the targets in the order they arrive.
	var jobs []*job
	numbered := make(chan *job)
	go func() {
		defer close(numbered)
		for t := range targets {
			j := &job{seq: len(jobs), t: t}
			jobs = append(jobs, j)
			numbered <- j
		}
	}()
	// Until the last target has arrived and its first page is asked for,
	// the other calls hold only a share of the total.
	s.pool.pacer.LimitBulk(max(1, s.pool.pacer.Total()/bulkWhileListing))
	for range max(1, min(s.opts.Concurrency/64, 16)) {
		issuers.Add(1)
		go func() {
			defer issuers.Done()
			for j := range numbered {
				s.firstPage(ctx, &wg, j, ready)
			}
		}()
	}
	issuers.Wait()
	s.pool.pacer.LimitBulk(0)
	wg.Wait()
	return jobs
}

// firstPage asks for j's first ListKeys page.
func (s *scanner) firstPage(ctx context.Context, wg *sync.WaitGroup, j *job, ready chan<- *job) {
	t := j.t
	var page *kms.ListKeysOutput
	call := func(ctx context.Context) (err error) {
		page, err = t.Client.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1000)})
		return err
	}
	done := func(err error) {
		if page != nil {
			// Keep what the scan reads, not the SDK's response metadata:
			// 17,000 of those held 200 MB.
			page = &kms.ListKeysOutput{Keys: page.Keys, NextMarker: page.NextMarker, Truncated: page.Truncated}
		}
		j.first = firstPage{page: page, err: err}
		s.pool.pacer.SetPriority(t.Account, t.Region, j.first.size())
		ready <- j
	}
	// A first page outranks every other call: until each target's size is
	// known, the biggest one, whose evidence takes longest, is not.
	s.pool.pacer.SetPriority(t.Account, t.Region, firstPagePriority)
	if err := s.pool.spawn(ctx, wg, t, "ListKeys", call, done); err != nil {
		j.first = firstPage{err: err}
		ready <- j
	}
}

// dispatch scans each job once its first page is ready, at most Concurrency
// targets at once, the waiting target with the most keys first, and returns
// when ready is closed and every job is done.
//
// A running target holds its slot until its last key is described, and
// targets get calls by size: when every slot is held by small targets
// waiting their turn behind bigger ones, a target as big as the biggest yet
// would wait for a small one to finish (0.9 s in an organization's run, for
// the Region with the second most findings). So a target at least as big as
// any before it may also take one of Concurrency/16 express slots beyond
// the cap.
func (s *scanner) dispatch(ctx context.Context, ready <-chan *job) {
	var wg sync.WaitGroup
	limit := s.opts.Concurrency
	express := max(1, limit/bulkWhileListing)
	// Each finished target sends one; at most limit+express run, so no
	// send blocks.
	freed := make(chan struct{}, limit+express)
	waiting := &bySize{}
	running, biggest := 0, -1
	admit := func(j *job) bool {
		size := j.first.size()
		return running < limit || (size >= biggest && running < limit+express)
	}
	for ready != nil || waiting.Len() > 0 {
		for waiting.Len() > 0 && admit(waiting.jobs[0]) {
			j := heap.Pop(waiting).(*job)
			running++
			biggest = max(biggest, j.first.size())
			wg.Add(1)
			go func() {
				defer wg.Done()
				j.result = s.scanTarget(ctx, j.t, j.first)
				freed <- struct{}{}
			}()
		}
		select {
		case j, ok := <-ready:
			if !ok {
				ready = nil
				continue
			}
			heap.Push(waiting, j)
		case <-freed:
			running--
		}
	}
	wg.Wait()
}

// bySize is a heap of jobs, the most keys first.
type bySize struct {
	jobs []*job
}

func (h *bySize) Len() int           { return len(h.jobs) }
func (h *bySize) Less(a, b int) bool { return h.jobs[a].first.size() > h.jobs[b].first.size() }
func (h *bySize) Swap(a, b int)      { h.jobs[a], h.jobs[b] = h.jobs[b], h.jobs[a] }
func (h *bySize) Push(x any)         { h.jobs = append(h.jobs, x.(*job)) }
func (h *bySize) Pop() any {
	n := len(h.jobs) - 1
	x := h.jobs[n]
	h.jobs = h.jobs[:n]
	return x
}

func (s *scanner) scanTarget(ctx context.Context, t Target, first firstPage) targetResult {
	ts := &targetScan{t: t}
	var wg sync.WaitGroup
	s.listAndDescribe(ctx, ts, &wg, first)
	wg.Wait()
	ts.keyErrorsDone()
	res := ts.res
	if ts.failed == nil && ctx.Err() != nil {
		ts.fail("scan", ctx.Err())
	}
	// Findings already made are kept: a partial region is still evidence.
	res.err = ts.failed
	if len(res.findings) > 0 {
		warning, err := s.enrich(ctx, t, res.findings, ts.listed)
		if err != nil && res.err == nil {
			res.err = &finding.ScanError{Account: t.Account, Region: t.Region, Stage: "list-aliases", Message: awserr.Describe(err)}
		}
		res.warning = warning
	}
	return res
}

// errMalformed marks an answer missing what the KMS API reference promises.
// It fails closed: the key or the target is a scan error, never skipped.
var errMalformed = errors.New("malformed answer")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// listAndDescribe pages ListKeys and starts one DescribeKey per key, each
// once the pool has a slot for it.
func (s *scanner) listAndDescribe(ctx context.Context, ts *targetScan, wg *sync.WaitGroup, first firstPage) {
	t := ts.t
	var marker *string
	for {
		page, err := first.page, first.err
		if marker != nil {
			err = s.pool.do(ctx, t, "ListKeys", func(ctx context.Context) (err error) {
				page, err = t.Client.ListKeys(ctx, &kms.ListKeysInput{Marker: marker, Limit: aws.Int32(1000)})
				return err
			})
		}
		if err != nil {
			ts.fail("list-keys", err)
			return
		}
		if page.Keys == nil {
			ts.fail("list-keys", malformed("ListKeys answered without its Keys list"))
			return
		}
		ts.listed += len(page.Keys)
		for _, k := range page.Keys {
			id := aws.ToString(k.KeyId)
			if id == "" {
				// A key that cannot be named cannot be described: the Region
				// is not fully scanned. The other keys still are.
				ts.fail("list-keys", malformed("ListKeys listed a key without a KeyId"))
				continue
			}
			var out *kms.DescribeKeyOutput
			call := func(ctx context.Context) (err error) {
				out, err = t.Client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
				return err
			}
			if err := s.pool.spawn(ctx, wg, t, "DescribeKey", call, func(err error) { s.described(ts, id, out, err) }); err != nil {
				return // the target failed or the run ended
			}
		}
		if !page.Truncated {
			return
		}
		if err := nextMarker("ListKeys", page.NextMarker, marker); err != nil {
			ts.fail("list-keys", err)
			return
		}
		marker = page.NextMarker
	}
}

// nextMarker checks the marker of a truncated page: the API reference
// promises one, and the same marker again would loop.
func nextMarker(op string, next, prev *string) error {
	switch {
	case aws.ToString(next) == "":
		return malformed("%s answered Truncated without a NextMarker; the rest of the list is unknown", op)
	case aws.ToString(next) == aws.ToString(prev):
		return malformed("%s answered the same NextMarker twice; the rest of the list is unknown", op)
	}
	return nil
}

// described records the answer for one key.
func (s *scanner) described(ts *targetScan, id string, out *kms.DescribeKeyOutput, err error) {
	var nf *types.NotFoundException
	switch {
	case err == nil:
	case errors.As(err, &nf):
		return // deleted between ListKeys and DescribeKey: nothing left to save
	case awserr.IsAccessDenied(err):
		ts.keyDenied(id, err)
		return
	default:
		// Record it and let the other keys finish: every finding that can
		// still be made is kept.
		ts.fail("describe-key", fmt.Errorf("key %s: %w", id, err))
		return
	}
	if err := checkMetadata(out); err != nil {
		ts.keyDenied(id, err)
		return
	}
	f, customer := s.classify(ts.t, out.KeyMetadata)
	var dateErr error
	if f != nil {
		dateErr = s.boundDeletionDate(f)
	}
	if dateErr != nil {
		ts.keyDenied(id, dateErr)
	}
	ts.mu.Lock()
	if customer {
		ts.res.keysSeen++
	}
	if f != nil {
		ts.res.findings = append(ts.res.findings, f)
	}
	ts.mu.Unlock()
	if f != nil && s.opts.Evidence != nil {
		s.opts.Evidence.Add(f)
	}
}

// checkMetadata fails an answer without what classifying the key needs:
// KeyMetadata and its KeyId (required by the API reference), KeyManager and
// KeyState (without them a pending key would pass unseen).
func checkMetadata(out *kms.DescribeKeyOutput) error {
	switch md := out.KeyMetadata; {
	case md == nil:
		return malformed("DescribeKey answered without KeyMetadata")
	case aws.ToString(md.KeyId) == "":
		return malformed("DescribeKey answered without KeyMetadata.KeyId")
	case md.KeyManager == "":
		return malformed("DescribeKey answered without KeyMetadata.KeyManager")
	case md.KeyState == "":
		return malformed("DescribeKey answered without KeyMetadata.KeyState")
	}
	return nil
}

// Bounds of an acceptable DeletionDate. KMS schedules deletion 7 to 30 days
// ahead, so a pending key's date is at most 30 days after the scan (one more
// day of slack for clocks); and no KMS key was deleted before 2000. Anything
// else is a malformed answer (9999-12-31 would overflow every duration).
var minDeletionDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const maxDeletionAhead = 31 * 24 * time.Hour

// boundDeletionDate fails closed on a pending key whose DeletionDate is
// missing or out of range: the finding is kept (the key IS pending deletion)
// with no date, which policy judges critical (no time can be counted on),
// and the returned error makes the key a scan error naming the date.
func (s *scanner) boundDeletionDate(f *finding.Finding) error {
	if f.RuleID != finding.RulePendingDeletion {
		return nil
	}
	d := f.DeletionDate
	switch {
	case d.IsZero():
		return malformed("key pending deletion without a DeletionDate; reported as critical")
	case d.Before(minDeletionDate) || d.After(s.opts.Now.Add(maxDeletionAhead)):
		f.DeletionDate = time.Time{}
		// The date itself is not repeated: the SDK reads 9999-12-31 as a
		// year in the 1800s (its nanoseconds overflow), which would mislead.
		return malformed("deletion date out of range (KMS sets one 7 to 30 days after scheduling; this one is before 2000 or more than 31 days after the scan); reported as critical")
	}
	return nil
}

// classify turns key metadata into a finding, or nil for a healthy key. The
// second result reports whether the key is customer managed.
func (s *scanner) classify(t Target, md *types.KeyMetadata) (*finding.Finding, bool) {
	if md == nil || md.KeyManager != types.KeyManagerTypeCustomer {
		return nil, false
	}
	var rule string
	switch md.KeyState {
	case types.KeyStatePendingDeletion:
		rule = finding.RulePendingDeletion
	case types.KeyStatePendingReplicaDeletion:
		rule = finding.RulePendingReplicaDeletion
	case types.KeyStateDisabled:
		if !s.opts.IncludeDisabled {
			return nil, true
		}
		rule = finding.RuleDisabled
	default:
		return nil, true
	}
	account := t.Account
	if a := aws.ToString(md.AWSAccountId); a != "" {
		account = a
	}
	f := &finding.Finding{
		RuleID:       rule,
		Account:      account,
		Region:       t.Region,
		KeyID:        aws.ToString(md.KeyId),
		ARN:          aws.ToString(md.Arn),
		State:        string(md.KeyState),
		KeySpec:      string(md.KeySpec),
		MultiRegion:  aws.ToBool(md.MultiRegion),
		Description:  aws.ToString(md.Description),
		DeletionDate: aws.ToTime(md.DeletionDate).UTC(),
		CreationDate: aws.ToTime(md.CreationDate).UTC(),
	}
	if md.PendingDeletionWindowInDays != nil {
		f.PendingWindowDays = int(*md.PendingDeletionWindowInDays)
	}
	return f, true
}

// enrich adds aliases and tags to the findings of a target, both at once:
// ListResourceTags per finding, and aliases by whichever makes fewer calls:
// ListAliases with KeyId per finding, or one ListAliases walk of the Region
// (100 aliases a page; a Region holds about as many aliases as keys, so
// listed/100 pages, at least one). Tag failures are not fatal (tags are
// context, not evidence) but are returned as one warning; an alias failure is
// the target's error.
func (s *scanner) enrich(ctx context.Context, t Target, fs []*finding.Finding, listed int) (string, error) {
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		tagsFailed       int
		tagErr, aliasErr error
	)
	aliasFailed := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if aliasErr == nil {
			aliasErr = err
		}
	}
	perKey := len(fs) <= max(1, (listed+99)/100)
	if !perKey {
		wg.Add(1)
		go func() {
			defer wg.Done()
			byKey, err := s.aliases(ctx, t)
			if err != nil {
				aliasFailed(err)
				return
			}
			for i := range fs {
				fs[i].Aliases = byKey[fs[i].KeyID]
			}
		}()
	}
	for _, f := range fs {
		if perKey {
			in := &kms.ListAliasesInput{KeyId: aws.String(f.KeyID), Limit: aws.Int32(100)}
			var page *kms.ListAliasesOutput
			call := func(ctx context.Context) (err error) {
				page, err = t.Client.ListAliases(ctx, in)
				return err
			}
			done := func(err error) {
				var byKey map[string][]string
				if err == nil {
					// More than a page of aliases for one key: read on here.
					byKey, err = s.aliasPages(ctx, t, in, page)
				}
				if err != nil {
					aliasFailed(err)
					return
				}
				f.Aliases = byKey[f.KeyID]
			}
			if err := s.pool.spawn(ctx, &wg, t, "ListAliases", call, done); err != nil {
				aliasFailed(err)
			}
		}
		var out *kms.ListResourceTagsOutput
		call := func(ctx context.Context) (err error) {
			out, err = t.Client.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(f.KeyID)})
			return err
		}
		done := func(err error) {
			if err != nil {
				mu.Lock()
				tagsFailed++
				if tagErr == nil {
					tagErr = err
				}
				mu.Unlock()
				return
			}
			s.keepTags(f, out)
		}
		if err := s.pool.spawn(ctx, &wg, t, "ListResourceTags", call, done); err != nil {
			done(err)
		}
	}
	wg.Wait()
	for i := range fs {
		sort.Strings(fs[i].Aliases)
	}
	if aliasErr != nil {
		return "", aliasErr
	}
	if tagsFailed > 0 {
		return fmt.Sprintf("tags of %d key(s) in %s/%s could not be read (%s); the findings are complete without them", tagsFailed, t.Account, t.Region, awserr.Describe(tagErr)), nil
	}
	return "", nil
}

// aliases pages ListAliases of the whole Region and returns alias names by
// target key id.
func (s *scanner) aliases(ctx context.Context, t Target) (map[string][]string, error) {
	return s.aliasPages(ctx, t, &kms.ListAliasesInput{Limit: aws.Int32(100)}, nil)
}

// aliasPages reads the pages of in, starting with page when it is already
// read, and returns alias names by target key id.
func (s *scanner) aliasPages(ctx context.Context, t Target, in *kms.ListAliasesInput, page *kms.ListAliasesOutput) (map[string][]string, error) {
	byKey := map[string][]string{}
	for {
		if page == nil {
			err := s.pool.do(ctx, t, "ListAliases", func(ctx context.Context) (err error) {
				page, err = t.Client.ListAliases(ctx, in)
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		for _, a := range page.Aliases {
			if id := aws.ToString(a.TargetKeyId); id != "" {
				byKey[id] = append(byKey[id], aws.ToString(a.AliasName))
			}
		}
		if !page.Truncated {
			return byKey, nil
		}
		if err := nextMarker("ListAliases", page.NextMarker, in.Marker); err != nil {
			return nil, err
		}
		in.Marker, page = page.NextMarker, nil
	}
}

// keepTags copies at most MaxTagsPerKey tags (untrusted, unbounded) to f.
func (s *scanner) keepTags(f *finding.Finding, out *kms.ListResourceTagsOutput) {
	if out == nil {
		return
	}
	for _, tag := range out.Tags {
		if f.Tags == nil {
			f.Tags = map[string]string{}
		}
		if len(f.Tags) >= s.opts.MaxTagsPerKey {
			return
		}
		f.Tags[aws.ToString(tag.TagKey)] = aws.ToString(tag.TagValue)
	}
}
