package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/sethvargo/go-githubactions"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/creds"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/ec2query"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/scan"
)

// targetStream is the run's account/region targets, sent as soon as each
// account's credentials and Regions are known, so that the first accounts
// are scanned while the last roles are still being assumed.
type targetStream struct {
	targets <-chan scan.Target
	done    chan struct{}
	errs    []finding.ScanError // set when done is closed
}

// wait returns, once every target was sent, the accounts that could not be
// resolved (credentials, sorted by account) and then those whose Regions
// could not be listed (sorted by account).
func (ts *targetStream) wait() []finding.ScanError {
	<-ts.done
	return ts.errs
}

// resolveTargets starts turning the settings into the account/region targets
// to scan and the clients later phases use. What could not be resolved is
// recorded in res.Errors (a run without a base identity: stream nil) or
// returned by the stream's wait; the error it returns is configuration
// (exit 2).
func resolveTargets(ctx context.Context, d Deps, s config.Settings, log *console.Console, res *finding.Result) (*targetStream, *clientCache, error) {
	cache := newClientCache()
	out := make(chan scan.Target, s.MaxConcurrency)
	ts := &targetStream{targets: out, done: make(chan struct{})}
	regions := newRegionLister(ctx, s)
	wait, err := startAccounts(ctx, d, s, log, func(a creds.Account) {
		cache.add(a)
		regions.list(a, func(r string) {
			out <- scan.Target{Account: a.ID, Region: r, Client: cache.kms(a.ID, r)}
		})
	})
	if err != nil {
		if errors.Is(err, creds.ErrNoIDToken) {
			return nil, nil, err
		}
		res.Errors = append(res.Errors, finding.ScanError{Stage: "credentials", Message: err.Error()})
		return nil, nil, nil
	}
	go func() {
		defer close(ts.done)
		_, errs, err := wait()
		regionErrs := regions.wait()
		close(out)
		if err != nil {
			errs = append(errs, finding.ScanError{Stage: "credentials", Message: err.Error()})
		}
		ts.errs = append(errs, regionErrs...)
	}()
	return ts, cache, nil
}

// startAccounts loads the base AWS configuration, establishes the base
// identity and starts resolving the credentials of every account the
// settings name, handing each to ready as soon as it is verified.
func startAccounts(ctx context.Context, d Deps, s config.Settings, log *console.Console, ready func(creds.Account)) (func() ([]creds.Account, []finding.ScanError, error), error) {
	base, err := d.LoadAWSConfig(ctx, awsOptions(s, d)...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	// The OIDC token comes from the runner through go-githubactions; its
	// writer is the console's, which serialises every log write.
	oidc := githubactions.New(githubactions.WithGetenv(d.Getenv), githubactions.WithWriter(log.Writer()))
	return creds.Start(ctx, base, creds.Options{
		Identity: s.Identity,
		// AssumeRole is paced under STS's rate by creds itself.
		Concurrency: s.MaxConcurrency,
	}, creds.Deps{OIDC: oidc, Mask: log.Mask}, ready)
}

// regionLister lists the regions to scan in each account as it arrives: the
// regions setting, else the account's enabled regions, at most
// max-concurrency accounts at once.
type regionLister struct {
	ctx     context.Context
	regions []string
	slots   chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []finding.ScanError
}

func newRegionLister(ctx context.Context, s config.Settings) *regionLister {
	return &regionLister{ctx: ctx, regions: s.Regions, slots: make(chan struct{}, max(1, s.MaxConcurrency))}
}

// list calls each with a's regions, in order, from one goroutine of its own,
// and returns without waiting.
func (l *regionLister) list(a creds.Account, each func(region string)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		rs := l.regions
		if rs == nil {
			l.slots <- struct{}{}
			var err error
			rs, err = ec2query.EnabledRegions(l.ctx, a.Config)
			<-l.slots
			if err != nil {
				l.mu.Lock()
				l.errs = append(l.errs, finding.ScanError{Account: a.ID, Stage: "regions", Message: awserr.Describe(err)})
				l.mu.Unlock()
				return
			}
		}
		for _, r := range rs {
			each(r)
		}
	}()
}

// wait waits for every account listed so far and returns the accounts whose
// regions could not be listed, sorted by account.
func (l *regionLister) wait() []finding.ScanError {
	l.wg.Wait()
	sort.Slice(l.errs, func(i, j int) bool { return l.errs[i].Account < l.errs[j].Account })
	return l.errs
}

// awsOptions are the load options of every AWS config the run uses:
// standard retries with a bounded number of attempts. Client-side rate
// limiting is package pace's, per account and Region across every client
// (the SDK's adaptive mode would slow each client on its own).
func awsOptions(s config.Settings, d Deps) []func(*awsconfig.LoadOptions) error {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 6
				so.MaxBackoff = 10 * time.Second
				// A response cut short arrives as a deserialization error
				// wrapping io.ErrUnexpectedEOF, which the standard
				// retryer does not retry: a dropped connection mid-body
				// would otherwise lose the whole region.
				so.Retryables = append(so.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					if errors.Is(err, io.ErrUnexpectedEOF) {
						return aws.TrueTernary
					}
					return aws.UnknownTernary
				}))
			})
		}),
		// The SDK's own log lines would reach the job log unescaped.
		awsconfig.WithLogger(logging.Nop{}),
	}
	if d.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(d.HTTPClient))
	} else {
		// Room for max-concurrency connections: the SDK's default keeps 10
		// per host and would reconnect (TCP and TLS) beyond that.
		opts = append(opts, awsconfig.WithHTTPClient(pace.HTTPClient(s.MaxConcurrency)))
	}
	switch {
	case s.AWSRegion != "":
		// aws-region: the partition's home region (GovCloud, China) given
		// as an input, over AWS_REGION.
		opts = append(opts, awsconfig.WithRegion(s.AWSRegion))
	case d.Getenv("AWS_REGION") == "" && d.Getenv("AWS_DEFAULT_REGION") == "":
		opts = append(opts, awsconfig.WithRegion(defaultRegion(s)))
	}
	return opts
}

func defaultRegion(s config.Settings) string {
	if len(s.Regions) > 0 {
		return s.Regions[0]
	}
	return "us-east-1"
}
