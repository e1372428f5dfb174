// Package creds owns AWS credentials for a run: the base identity (the
// standard AWS chain, or a role assumed with the GitHub Actions OIDC token),
// the accounts to scan (the base account, a list of role ARNs or account IDs,
// or every active account of an AWS Organization), and one verified,
// self-refreshing aws.Config per account. Every secret it handles (the OIDC
// token, each session's keys and token) is masked before anything can print it,
// and an account whose role cannot be assumed becomes a ScanError, not a crash.
package creds

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
)

// Defaults applied by Resolve to zero Options fields.
const (
	DefaultAudience            = "sts.amazonaws.com"
	DefaultRoleSessionName     = "kms-deletion-gate"
	DefaultRoleDurationSeconds = 3600
	DefaultConcurrency         = 8
	// DefaultAssumeRolesPerSecond stays under the STS request rate of one
	// account. AWS publishes no fixed figure for it (STS answers Throttling
	// beyond it); the scale benchmark's server assumes 600 a second, and
	// calls are paced at 95% of it, as every other quota is.
	DefaultAssumeRolesPerSecond = 570

	// defaultSTSRegion is used for STS and Organizations when the base config
	// has no region (the orchestrator sets the region of each scan client).
	defaultSTSRegion = "us-east-1"
	// maxChainedDuration is AWS's limit on a session obtained by role
	// chaining (assuming a role with credentials that came from a role).
	maxChainedDuration = 3600
)

// StageCredentials is the ScanError stage of an account whose credentials
// could not be obtained or verified.
const StageCredentials = "credentials"

// ErrNoIDToken is returned (wrapped) when role-to-assume is set but the
// runner offers no OIDC token: the job lacks "permissions: id-token: write".
var ErrNoIDToken = errors.New("GitHub OIDC token not available")

// Options selects the base identity and the accounts to scan: the validated
// settings (config.Identity; zero Audience, RoleSessionName and
// RoleDurationSeconds get the defaults above), and how many accounts are
// verified at once.
type Options struct {
	config.Identity
	// Concurrency bounds how many accounts are verified at once; default 8.
	Concurrency int
	// AssumeRolesPerSecond paces the AssumeRole calls (all made by the base
	// identity, whose account STS rate-limits); default
	// DefaultAssumeRolesPerSecond.
	AssumeRolesPerSecond float64
}

// OIDC fetches the runner's OIDC token. *githubactions.Action implements it;
// Getenv lets Resolve tell a missing id-token permission from other failures.
type OIDC interface {
	GetIDToken(ctx context.Context, audience string) (string, error)
	Getenv(key string) string
}

// Deps are Resolve's collaborators.
type Deps struct {
	// OIDC is needed only with RoleToAssume (pass the go-githubactions Action).
	OIDC OIDC
	// Mask registers a secret with the log (go-githubactions' AddMask, which
	// prints ::add-mask::). It is called before the secret is used, never
	// concurrently by one Resolve, but possibly later, during the scan, when
	// credentials refresh: whatever else writes to the same writer must
	// synchronise with it. Nil: no masking (only sensible outside GitHub
	// Actions).
	Mask func(secret string)
}

// Account is one account to scan. Config carries self-refreshing, already
// verified credentials; build per-region clients from a copy with Region set
// (cfg := a.Config.Copy(); cfg.Region = region). Its Credentials are an
// aws.CredentialsCache, safe to share across clients and goroutines.
type Account struct {
	ID      string
	Config  aws.Config
	RoleARN string // role whose credentials Config holds; "" for the standard chain
}

// target is one account to resolve: assume roleARN, or reuse the base identity.
type target struct {
	accountID string
	roleARN   string
	useBase   bool
}

// Resolve establishes the base identity and one verified Account per account
// to scan, sorted by ID. An account whose role cannot be assumed or verified
// is returned as a ScanError (Stage "credentials") and the others go on. The
// error return is for problems that stop the whole run: invalid options, no
// OIDC token, a base identity that does not work, an organization that cannot
// be listed. ctx bounds Resolve itself; a credentials refresh later in the run
// runs under the context of the AWS call that needs it (the OIDC token fetch
// under its own 30 s timeout, so a finished Resolve context does not break it).
func Resolve(ctx context.Context, base aws.Config, opts Options, deps Deps) ([]Account, []finding.ScanError, error) {
	wait, err := Start(ctx, base, opts, deps, nil)
	if err != nil {
		return nil, nil, err
	}
	return wait()
}

// Start is Resolve for a caller that uses each account as soon as it is
// verified: it returns once the base identity and the accounts to resolve
// are known (with Resolve's errors that stop the whole run), then resolves
// the members in the background and hands each verified account to ready
// (nil: none), from several goroutines at once. wait returns what Resolve
// returns, after the last call to ready.
func Start(ctx context.Context, base aws.Config, opts Options, deps Deps, ready func(Account)) (wait func() ([]Account, []finding.ScanError, error), err error) {
	opts, err = opts.normalize()
	if err != nil {
		return nil, err
	}
	r := &resolver{opts: opts, deps: deps, red: &redactor{}, masked: map[string]bool{},
		assumeRoles: pace.NewSpacer(opts.AssumeRolesPerSecond, max(1, int(opts.AssumeRolesPerSecond/60)))}
	if deps.Mask == nil {
		r.deps.Mask = func(string) {}
	}
	if ready == nil {
		ready = func(Account) {}
	}
	if opts.RoleExternalID != "" {
		r.mask(opts.RoleExternalID)
	}

	b, err := r.base(ctx, base)
	if err != nil {
		return nil, err
	}
	targets, err := r.targets(ctx, b.cfg, b.account, b.partition)
	if err != nil {
		return nil, err
	}
	duration := time.Duration(opts.RoleDurationSeconds) * time.Second
	if b.chained && opts.RoleDurationSeconds > maxChainedDuration {
		duration = maxChainedDuration * time.Second
	}
	var (
		out      []Account
		scanErrs []finding.ScanError
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		out, scanErrs = r.members(ctx, b, targets, duration, ready)
	}()
	return func() ([]Account, []finding.ScanError, error) {
		<-done
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("resolve credentials: %w", err)
		}
		return out, scanErrs, nil
	}, nil
}

// baseIdentity is the identity every other account is reached from.
type baseIdentity struct {
	cfg       aws.Config
	account   string
	partition string
	// chained is true when the base credentials came from a role, which
	// makes every further AssumeRole a chain, capped by AWS at one hour.
	chained bool
}

// base establishes and verifies the base identity: the standard chain, or
// role-to-assume with the OIDC token.
func (r *resolver) base(ctx context.Context, base aws.Config) (baseIdentity, error) {
	opts := r.opts
	cfg := base.Copy()
	if cfg.Region == "" {
		cfg.Region = defaultSTSRegion
	}
	if opts.RoleToAssume != "" {
		if arn, err := config.ParseRoleARN(opts.RoleToAssume); err == nil {
			r.maskAccount(arn.Account)
		}
		prov, err := r.webIdentityProvider(ctx, cfg)
		if err != nil {
			return baseIdentity{}, err
		}
		cfg.Credentials = aws.NewCredentialsCache(prov)
	}

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		if opts.RoleToAssume != "" {
			return baseIdentity{}, fmt.Errorf("role-to-assume %s could not be assumed with the GitHub OIDC token (audience %q): %s; check that the role's trust policy trusts token.actions.githubusercontent.com for this audience and this workflow's sub claim (see docs/CREDENTIALS.md)",
				opts.RoleToAssume, opts.Audience, r.describe(err))
		}
		return baseIdentity{}, fmt.Errorf("no usable AWS credentials from the standard chain: %s; run aws-actions/configure-aws-credentials in an earlier step, or set role-to-assume", r.describe(err))
	}
	b := baseIdentity{cfg: cfg, account: aws.ToString(id.Account), partition: "aws"}
	r.maskAccount(b.account)
	baseARN := aws.ToString(id.Arn)
	if p := strings.Split(baseARN, ":"); len(p) > 1 && p[1] != "" {
		b.partition = p[1]
	}
	b.chained = opts.RoleToAssume != "" || strings.Contains(baseARN, ":assumed-role/")
	return b, nil
}

// members resolves every target at once, bounded by Concurrency, hands each
// verified account to ready as soon as it is, and returns the accounts and
// the scan errors, each sorted by account.
func (r *resolver) members(ctx context.Context, b baseIdentity, targets []target, duration time.Duration, ready func(Account)) ([]Account, []finding.ScanError) {
	memberSTS := sts.NewFromConfig(b.cfg)
	accounts := make([]*Account, len(targets))
	errs := make([]*finding.ScanError, len(targets))
	var g errgroup.Group
	g.SetLimit(r.opts.Concurrency)
	for i, t := range targets {
		if t.useBase {
			accounts[i] = &Account{ID: b.account, Config: b.cfg, RoleARN: r.opts.RoleToAssume}
			ready(*accounts[i])
			continue
		}
		g.Go(func() error {
			a, se := r.member(ctx, b.cfg, memberSTS, t, duration)
			accounts[i], errs[i] = a, se
			if a != nil {
				ready(*a)
			}
			return nil
		})
	}
	_ = g.Wait()

	var out []Account
	var scanErrs []finding.ScanError
	for i := range targets {
		if accounts[i] != nil {
			out = append(out, *accounts[i])
		}
		if errs[i] != nil {
			scanErrs = append(scanErrs, *errs[i])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	sort.Slice(scanErrs, func(i, j int) bool { return scanErrs[i].Account < scanErrs[j].Account })
	return out, scanErrs
}

func (o Options) normalize() (Options, error) {
	o.RoleToAssume = strings.TrimSpace(o.RoleToAssume)
	if o.Audience = strings.TrimSpace(o.Audience); o.Audience == "" {
		o.Audience = DefaultAudience
	}
	if o.RoleSessionName = strings.TrimSpace(o.RoleSessionName); o.RoleSessionName == "" {
		o.RoleSessionName = DefaultRoleSessionName
	}
	if o.RoleDurationSeconds == 0 {
		o.RoleDurationSeconds = DefaultRoleDurationSeconds
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.AssumeRolesPerSecond <= 0 {
		o.AssumeRolesPerSecond = DefaultAssumeRolesPerSecond
	}
	// config validated every value by these same rules; checking again is
	// cheap and keeps Resolve safe for a caller that did not go through config.
	if o.RoleToAssume != "" {
		if _, err := config.ParseRoleARN(o.RoleToAssume); err != nil {
			return o, fmt.Errorf("role-to-assume: %w", err)
		}
	}
	if err := config.ValidateSessionName(o.RoleSessionName); err != nil {
		return o, fmt.Errorf("role-session-name: %w", err)
	}
	if o.RoleDurationSeconds < config.MinRoleDurationSeconds || o.RoleDurationSeconds > config.MaxRoleDurationSeconds {
		return o, fmt.Errorf("role-duration-seconds: %d is out of range (%d to %d)", o.RoleDurationSeconds, config.MinRoleDurationSeconds, config.MaxRoleDurationSeconds)
	}
	if o.RoleName != "" {
		name, err := config.NormalizeRoleName(o.RoleName)
		if err != nil {
			return o, fmt.Errorf("role-name: %w", err)
		}
		o.RoleName = name
	}
	var accounts []string
	for _, a := range o.Accounts {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if err := config.CheckAccountEntry(a, o.RoleName); err != nil {
			return o, fmt.Errorf("accounts: %w", err)
		}
		accounts = append(accounts, a)
	}
	o.Accounts = accounts
	if o.Organization && o.RoleName == "" {
		return o, errors.New("organization: true needs role-name, the role to assume in each account of the organization")
	}
	return o, nil
}

type resolver struct {
	opts Options
	deps Deps
	red  *redactor
	// maskMu serialises Deps.Mask: credentials are retrieved concurrently,
	// and go-githubactions writes each command to an unsynchronised writer.
	maskMu sync.Mutex
	masked map[string]bool // values already masked, to print each mask once
	// assumeRoles paces AssumeRole calls below STS's request rate, with a
	// burst of a sixtieth of a second's calls (a third of the bench server's
	// bucket) and none bigger after a pause.
	assumeRoles *pace.Spacer
}

// mask registers a secret with the log and with the redactor that cleans
// error messages.
func (r *resolver) mask(secret string) {
	if secret == "" {
		return
	}
	r.red.add(secret)
	r.maskOnce(secret)
}

func (r *resolver) maskAccount(id string) {
	if r.opts.MaskAccountIDs && id != "" {
		r.maskOnce(id)
	}
}

func (r *resolver) maskOnce(s string) {
	r.maskMu.Lock()
	defer r.maskMu.Unlock()
	if r.masked[s] {
		return
	}
	r.masked[s] = true
	r.deps.Mask(s)
}

// targets lists the accounts to scan: explicit entries first (they win over
// discovered ones), then the organization's, or the base account alone.
// An account ID equal to the base account reuses the base identity rather
// than assuming a role in its own account.
func (r *resolver) targets(ctx context.Context, baseCfg aws.Config, baseAccount, partition string) ([]target, error) {
	var list []target
	index := map[string]int{}
	add := func(t target, explicit bool) error {
		r.maskAccount(t.accountID)
		if i, ok := index[t.accountID]; ok {
			if explicit && (list[i].roleARN != t.roleARN || list[i].useBase != t.useBase) {
				return fmt.Errorf("accounts lists account %s twice with different roles (%s and %s)", t.accountID, orBase(list[i]), orBase(t))
			}
			return nil
		}
		index[t.accountID] = len(list)
		list = append(list, t)
		return nil
	}
	byID := func(id string) target {
		if id == baseAccount {
			return target{accountID: id, useBase: true}
		}
		return target{accountID: id, roleARN: fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, id, r.opts.RoleName)}
	}
	for _, a := range r.opts.Accounts {
		t := byID(a)
		if arn, err := config.ParseRoleARN(a); err == nil {
			t = target{accountID: arn.Account, roleARN: a}
		}
		if err := add(t, true); err != nil {
			return nil, err
		}
	}
	if r.opts.Organization {
		ids, err := listActiveAccounts(ctx, newOrganizationsClient(baseCfg))
		if err != nil {
			return nil, fmt.Errorf("organization: list the organization's accounts (organizations:ListAccounts, allowed only in the management account or a delegated administrator account): %s", r.describe(err))
		}
		if len(ids) == 0 {
			// A real organization always lists at least its management account.
			return nil, errors.New("organization: organizations:ListAccounts returned no ACTIVE account; is the base identity in the management account or a delegated administrator account?")
		}
		for _, id := range ids {
			if err := add(byID(id), false); err != nil {
				return nil, err
			}
		}
	}
	if len(list) == 0 {
		_ = add(target{accountID: baseAccount, useBase: true}, true)
	}
	return list, nil
}

func orBase(t target) string {
	if t.useBase {
		return "the base identity"
	}
	return t.roleARN
}

// member assumes t's role from the base identity and verifies the result once.
func (r *resolver) member(ctx context.Context, baseCfg aws.Config, client stscreds.AssumeRoleAPIClient, t target, duration time.Duration) (*Account, *finding.ScanError) {
	prov := stscreds.NewAssumeRoleProvider(client, t.roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.opts.RoleSessionName
		o.Duration = duration
		if r.opts.RoleExternalID != "" {
			o.ExternalID = aws.String(r.opts.RoleExternalID)
		}
	})
	cfg := baseCfg.Copy()
	cfg.Credentials = aws.NewCredentialsCache(&maskingProvider{inner: prov, mask: r.mask})
	fail := func(format string, args ...any) (*Account, *finding.ScanError) {
		return nil, &finding.ScanError{Account: t.accountID, Stage: StageCredentials, Message: r.red.clean(fmt.Sprintf(format, args...))}
	}
	if err := r.assumeRoles.Wait(ctx); err != nil {
		return fail("assume role %s: %s", t.roleARN, r.describe(err))
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fail("assume role %s: %s", t.roleARN, r.describe(err))
	}
	// AssumeRole's answer names the account (AssumedRoleUser's ARN, which
	// the SDK puts in AccountID): no GetCallerIdentity per member account.
	if c.AccountID != t.accountID {
		return fail("role %s returned credentials for account %q, not %s", t.roleARN, c.AccountID, t.accountID)
	}
	return &Account{ID: t.accountID, Config: cfg, RoleARN: t.roleARN}, nil
}

// describe renders an error for users: the AWS error code and message when
// there is one, with every known secret removed.
func (r *resolver) describe(err error) string {
	return r.red.clean(describeErr(err))
}
