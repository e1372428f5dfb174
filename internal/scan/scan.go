// Package scan finds KMS customer managed keys that are pending deletion (or
// disabled, when asked) across account x region targets: ListKeys pages, one
// DescribeKey per key, and ListAliases / ListResourceTags only where there are
// findings. A target that fails is recorded with its error, never dropped.
package scan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
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
// Outcome.Errors.
func Scan(ctx context.Context, targets []Target, opts Options) Outcome {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.MaxTagsPerKey <= 0 {
		opts.MaxTagsPerKey = 50
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	s := &scanner{opts: opts, sem: make(chan struct{}, opts.Concurrency)}
	results := make([]targetResult, len(targets))
	var g errgroup.Group
	g.SetLimit(opts.Concurrency)
	for i, t := range targets {
		g.Go(func() error {
			results[i] = s.scanTarget(ctx, t)
			return nil
		})
	}
	_ = g.Wait()

	var out Outcome
	for i, r := range results {
		t := targets[i]
		out.KeysSeen += r.keysSeen
		out.Findings = append(out.Findings, r.findings...)
		if r.warning != "" {
			out.Warnings = append(out.Warnings, r.warning)
		}
		if r.err != nil {
			out.Errors = append(out.Errors, *r.err)
		} else {
			out.Scanned = append(out.Scanned, finding.Target{Account: t.Account, Region: t.Region})
		}
	}
	out.APICalls = s.calls.Load()
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
	opts  Options
	sem   chan struct{}
	calls atomic.Int64
}

type targetResult struct {
	findings []finding.Finding
	keysSeen int
	err      *finding.ScanError
	warning  string
}

// call runs one AWS operation under the global concurrency bound and the
// per-call deadline.
func (s *scanner) call(ctx context.Context, fn func(ctx context.Context) error) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()
	s.calls.Add(1)
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	return fn(cctx)
}

func (s *scanner) scanTarget(ctx context.Context, t Target) targetResult {
	var (
		res    targetResult
		mu     sync.Mutex
		failed *finding.ScanError
	)
	fail := func(stage string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if failed == nil {
			failed = &finding.ScanError{Account: t.Account, Region: t.Region, Stage: stage, Message: Describe(err)}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	var marker *string
	for {
		var page *kms.ListKeysOutput
		err := s.call(gctx, func(ctx context.Context) (err error) {
			page, err = t.Client.ListKeys(ctx, &kms.ListKeysInput{Marker: marker, Limit: aws.Int32(1000)})
			return err
		})
		if err != nil {
			fail("list-keys", err)
			break
		}
		for _, k := range page.Keys {
			id := aws.ToString(k.KeyId)
			if id == "" {
				continue
			}
			g.Go(func() error {
				var out *kms.DescribeKeyOutput
				err := s.call(gctx, func(ctx context.Context) (err error) {
					out, err = t.Client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
					return err
				})
				if err != nil {
					var nf *types.NotFoundException
					if errors.As(err, &nf) {
						return nil // deleted between ListKeys and DescribeKey: nothing left to save
					}
					// Record it and let the other keys finish: every finding
					// that can still be made is kept.
					fail("describe-key", fmt.Errorf("key %s: %w", id, err))
					return nil
				}
				f, customer := s.classify(t, out.KeyMetadata)
				mu.Lock()
				if customer {
					res.keysSeen++
				}
				if f != nil {
					res.findings = append(res.findings, *f)
				}
				mu.Unlock()
				return nil
			})
		}
		if !page.Truncated || page.NextMarker == nil || aws.ToString(page.NextMarker) == aws.ToString(marker) {
			break
		}
		marker = page.NextMarker
		if gctx.Err() != nil {
			break
		}
	}
	_ = g.Wait()
	if failed == nil && ctx.Err() != nil {
		fail("scan", ctx.Err())
	}
	if failed != nil {
		res.err = failed
		// Findings already made are kept: a partial region is still evidence.
	}
	if len(res.findings) > 0 {
		warning, err := s.enrich(ctx, t, res.findings)
		if err != nil && res.err == nil {
			res.err = &finding.ScanError{Account: t.Account, Region: t.Region, Stage: "list-aliases", Message: Describe(err)}
		}
		res.warning = warning
	}
	return res
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

// enrich adds aliases (one paged ListAliases per target) and tags (one call per
// finding) to the findings of a target. Tag failures are not fatal (tags are
// context, not evidence) but are returned as one warning.
func (s *scanner) enrich(ctx context.Context, t Target, fs []finding.Finding) (string, error) {
	byKey := map[string][]string{}
	var marker *string
	for {
		var page *kms.ListAliasesOutput
		err := s.call(ctx, func(ctx context.Context) (err error) {
			page, err = t.Client.ListAliases(ctx, &kms.ListAliasesInput{Marker: marker, Limit: aws.Int32(100)})
			return err
		})
		if err != nil {
			return "", err
		}
		for _, a := range page.Aliases {
			if id := aws.ToString(a.TargetKeyId); id != "" {
				byKey[id] = append(byKey[id], aws.ToString(a.AliasName))
			}
		}
		if !page.Truncated || page.NextMarker == nil || aws.ToString(page.NextMarker) == aws.ToString(marker) {
			break
		}
		marker = page.NextMarker
	}
	var (
		g        errgroup.Group
		mu       sync.Mutex
		failed   int
		firstErr error
	)
	g.SetLimit(s.opts.Concurrency)
	for i := range fs {
		f := &fs[i]
		f.Aliases = byKey[f.KeyID]
		sort.Strings(f.Aliases)
		g.Go(func() error {
			var out *kms.ListResourceTagsOutput
			err := s.call(ctx, func(ctx context.Context) (err error) {
				out, err = t.Client.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(f.KeyID)})
				return err
			})
			if err != nil {
				mu.Lock()
				failed++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return nil
			}
			if out == nil {
				return nil
			}
			for _, tag := range out.Tags {
				if f.Tags == nil {
					f.Tags = map[string]string{}
				}
				if len(f.Tags) >= s.opts.MaxTagsPerKey {
					break
				}
				f.Tags[aws.ToString(tag.TagKey)] = aws.ToString(tag.TagValue)
			}
			return nil
		})
	}
	_ = g.Wait()
	if failed > 0 {
		return fmt.Sprintf("tags of %d key(s) in %s/%s could not be read (%s); the findings are complete without them", failed, t.Account, t.Region, Describe(firstErr)), nil
	}
	return "", nil
}

// Describe renders an AWS error for a report: the API error code and message
// when there is one, without request ids or credentials.
func Describe(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out (raise the timeout input, or scan fewer regions per job)"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return err.Error()
}
