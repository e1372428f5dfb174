// Package remediate acts on findings once policy has judged them: it plans,
// or performs, the cancellation of deletions nobody approved.
//
// Safety rules, in code below and in docs/REMEDIATION.md:
//   - only findings in PendingDeletion or PendingReplicaDeletion, not
//     allowlisted, with a severity at or above the threshold are eligible;
//     every other finding is left exactly as it was (Remediation stays nil);
//   - a disabled-key finding (rule kms-key-disabled) is never touched;
//   - a threshold of "none" makes nothing eligible;
//   - the only calls are CancelKeyDeletion, DescribeKey (to verify) and, when
//     asked, EnableKey, all by key id in the key's own account and region;
//   - failures are recorded in the finding's Remediation and returned as
//     warnings, never a crash or an early stop.
package remediate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"golang.org/x/sync/errgroup"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// Actions and outcomes recorded in finding.Remediation.
const (
	ActionPlan         = "plan"
	ActionCancel       = "cancel"
	ActionCancelEnable = "cancel+enable"

	OutcomePlanned   = "planned"   // plan mode: Command is what cancel would run
	OutcomeCancelled = "cancelled" // deletion cancelled, key verified out of PendingDeletion (Disabled)
	OutcomeEnabled   = "enabled"   // cancelled and re-enabled, key verified Enabled
	OutcomeFailed    = "failed"    // CancelKeyDeletion failed or the key is still pending; see Error
	OutcomeSkipped   = "skipped"   // eligible, but no KMS client for its account and region
)

// KMSAPI is the part of the KMS client remediation calls.
type KMSAPI interface {
	CancelKeyDeletion(ctx context.Context, in *kms.CancelKeyDeletionInput, optFns ...func(*kms.Options)) (*kms.CancelKeyDeletionOutput, error)
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	EnableKey(ctx context.Context, in *kms.EnableKeyInput, optFns ...func(*kms.Options)) (*kms.EnableKeyOutput, error)
}

// Clients returns the KMS client for an account and region, or nil.
type Clients func(account, region string) KMSAPI

// Options tune Apply.
type Options struct {
	// Mode is the remediate setting: none, plan or cancel.
	Mode config.RemediateMode
	// Threshold is remediate-on: findings below it are left alone. The zero
	// value (none) makes nothing eligible.
	Threshold finding.Severity
	// ReEnable calls EnableKey after a successful cancellation, so the key
	// is usable again rather than Disabled.
	ReEnable bool
	// Concurrency bounds the keys handled at once; 4 when zero.
	Concurrency int
	// VerifyAttempts bounds the DescribeKey calls that wait for KMS's
	// eventual consistency after each change; 5 when zero.
	VerifyAttempts int
	// Sleep replaces the wait between verification attempts (tests).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Eligible reports whether Apply would plan or cancel the finding's deletion.
func Eligible(f finding.Finding, threshold finding.Severity) bool {
	return !f.Allowlisted &&
		threshold != finding.SeverityNone && f.Severity >= threshold &&
		f.RuleID != finding.RuleDisabled &&
		pending(f.State)
}

func pending(state string) bool {
	return state == finding.StatePendingDeletion || state == finding.StatePendingReplicaDeletion
}

// EnableCommand returns the exact AWS CLI command that re-enables the key.
func EnableCommand(f finding.Finding) string {
	return f.EnableCommand()
}

// Apply plans or performs remediation of the eligible findings, recording
// each result in the finding's Remediation. It returns warnings (sorted) for
// every failure and for a threshold that makes nothing eligible.
func Apply(ctx context.Context, findings []finding.Finding, opts Options, clients Clients) []string {
	if opts.Mode == "" || opts.Mode == config.RemediateNone {
		return nil
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.VerifyAttempts <= 0 {
		opts.VerifyAttempts = 5
	}
	if opts.Sleep == nil {
		opts.Sleep = wait.Sleep
	}
	if opts.Threshold == finding.SeverityNone {
		return []string{fmt.Sprintf("remediate is %s but remediate-on is none: no key is eligible", opts.Mode)}
	}
	warnings := make([]string, len(findings))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i := range findings {
		f := &findings[i]
		if !Eligible(*f, opts.Threshold) {
			continue
		}
		if f.CancelCommand() == "" {
			warnings[i] = fmt.Sprintf("remediation skipped for %s in %s: the key id is not in KMS key id syntax", escape.PlainText(f.KeyID, 80), escape.PlainText(f.Region, 40))
			continue
		}
		action, command := ActionCancel, f.CancelCommand()
		if opts.ReEnable {
			action, command = ActionCancelEnable, command+" && "+EnableCommand(*f)
		}
		if opts.Mode == config.RemediatePlan {
			f.Remediation = &finding.Remediation{Action: ActionPlan, Command: command, Outcome: OutcomePlanned}
			continue
		}
		rem := &finding.Remediation{Action: action, Command: command}
		f.Remediation = rem
		var api KMSAPI
		if clients != nil {
			api = clients(f.Account, f.Region)
		}
		if api == nil {
			rem.Outcome, rem.Error = OutcomeSkipped, "no KMS client for this account and region"
			warnings[i] = fmt.Sprintf("remediation of %s in %s/%s skipped: no KMS client", f.KeyID, f.Account, f.Region)
			continue
		}
		g.Go(func() error {
			cancelKey(gctx, api, f, rem, opts)
			if rem.Error != "" {
				warnings[i] = fmt.Sprintf("remediation of %s in %s/%s: %s (outcome %s, state now %s)", f.KeyID, f.Account, f.Region, rem.Error, rem.Outcome, orUnknown(rem.StateAfter))
			}
			return nil
		})
	}
	_ = g.Wait()
	var out []string
	for _, w := range warnings {
		if w != "" {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// cancelKey cancels the deletion and verifies the result, then re-enables the
// key when asked. A failed EnableKey leaves the outcome "cancelled": the key
// is saved, only still disabled.
func cancelKey(ctx context.Context, api KMSAPI, f *finding.Finding, rem *finding.Remediation, opts Options) {
	keyID := aws.String(f.KeyID) // by id: the key is in this account and region
	if _, err := api.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: keyID}); err != nil {
		rem.Outcome, rem.Error = OutcomeFailed, "CancelKeyDeletion: "+awserr.Describe(err)
		rem.StateAfter, _ = state(ctx, api, keyID)
		return
	}
	st, err := waitState(ctx, api, keyID, opts, func(s string) bool { return !pending(s) })
	rem.StateAfter = st
	if err != nil {
		rem.Outcome, rem.Error = OutcomeFailed, "DescribeKey after CancelKeyDeletion: "+awserr.Describe(err)
		return
	}
	if pending(st) {
		rem.Outcome, rem.Error = OutcomeFailed, "key still "+st+" after CancelKeyDeletion"
		return
	}
	rem.Outcome = OutcomeCancelled
	if !opts.ReEnable {
		return
	}
	if err := enable(ctx, api, keyID, opts); err != nil {
		rem.Error = "EnableKey: " + awserr.Describe(err)
		return
	}
	st, err = waitState(ctx, api, keyID, opts, func(s string) bool { return s == finding.StateEnabled })
	rem.StateAfter = st
	switch {
	case err != nil:
		rem.Error = "DescribeKey after EnableKey: " + awserr.Describe(err)
	case st != finding.StateEnabled:
		rem.Error = "key is " + st + " after EnableKey"
	default:
		rem.Outcome = OutcomeEnabled
	}
}

// enable calls EnableKey, retrying KMSInvalidStateException while the
// cancellation is still propagating (KMS is eventually consistent).
func enable(ctx context.Context, api KMSAPI, keyID *string, opts Options) error {
	var err error
	for attempt := 0; attempt < opts.VerifyAttempts; attempt++ {
		if attempt > 0 {
			if serr := opts.Sleep(ctx, backoff(attempt)); serr != nil {
				return serr
			}
		}
		if _, err = api.EnableKey(ctx, &kms.EnableKeyInput{KeyId: keyID}); err == nil || awserr.APICode(err) != "KMSInvalidStateException" {
			return err
		}
	}
	return err
}

// waitState polls DescribeKey until done(state) or the attempts run out, and
// returns the last state seen.
func waitState(ctx context.Context, api KMSAPI, keyID *string, opts Options, done func(string) bool) (string, error) {
	var (
		st  string
		err error
	)
	for attempt := 0; attempt < opts.VerifyAttempts; attempt++ {
		if attempt > 0 {
			if serr := opts.Sleep(ctx, backoff(attempt)); serr != nil {
				return st, serr
			}
		}
		st, err = state(ctx, api, keyID)
		if err == nil && done(st) {
			return st, nil
		}
	}
	return st, err
}

func state(ctx context.Context, api KMSAPI, keyID *string) (string, error) {
	out, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: keyID})
	if err != nil {
		return "", err
	}
	if out.KeyMetadata == nil {
		return "", errors.New("DescribeKey returned no KeyMetadata")
	}
	return string(out.KeyMetadata.KeyState), nil
}

func backoff(attempt int) time.Duration {
	return time.Duration(250<<(attempt-1)) * time.Millisecond // 250ms, 500ms, 1s, 2s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
