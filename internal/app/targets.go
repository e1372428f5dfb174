package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/sethvargo/go-githubactions"
	"golang.org/x/sync/errgroup"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/creds"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/ec2query"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/pace"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/scan"
)

// resolveTargets turns the settings into the account/region targets to scan
// and the clients later phases use. What could not be resolved is recorded
// in res.Errors; the error it returns is configuration (exit 2).
func resolveTargets(ctx context.Context, d Deps, s config.Settings, log *console.Console, res *finding.Result) ([]scan.Target, *clientCache, error) {
	accounts, errs, err := resolveAccounts(ctx, d, s, log)
	if err != nil {
		if errors.Is(err, creds.ErrNoIDToken) {
			return nil, nil, err
		}
		res.Errors = append(res.Errors, finding.ScanError{Stage: "credentials", Message: err.Error()})
		return nil, nil, nil
	}
	res.Errors = append(res.Errors, errs...)
	regionsByAccount, errs := accountRegions(ctx, s, accounts)
	res.Errors = append(res.Errors, errs...)
	cache := newClientCache(accounts)
	var targets []scan.Target
	for i, a := range accounts {
		for _, r := range regionsByAccount[i] {
			targets = append(targets, scan.Target{Account: a.ID, Region: r, Client: cache.kms(a.ID, r)})
		}
	}
	return targets, cache, nil
}

// resolveAccounts loads the base AWS configuration and the credentials of
// every account the settings name; errs are accounts that could not be
// resolved.
func resolveAccounts(ctx context.Context, d Deps, s config.Settings, log *console.Console) (accounts []creds.Account, errs []finding.ScanError, err error) {
	base, err := d.LoadAWSConfig(ctx, awsOptions(s, d)...)
	if err != nil {
		return nil, nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	// The OIDC token comes from the runner through go-githubactions; its
	// writer is the console's, which serialises every log write.
	oidc := githubactions.New(githubactions.WithGetenv(d.Getenv), githubactions.WithWriter(log.Writer()))
	return creds.Resolve(ctx, base, creds.Options{
		Identity: s.Identity,
		// AssumeRole is paced under STS's rate by creds itself.
		Concurrency: s.MaxConcurrency,
	}, creds.Deps{OIDC: oidc, Mask: log.Mask})
}

// accountRegions lists the regions to scan in each account: the regions
// setting, else each account's enabled regions.
func accountRegions(ctx context.Context, s config.Settings, accounts []creds.Account) ([][]string, []finding.ScanError) {
	regionsByAccount := make([][]string, len(accounts))
	var (
		g    errgroup.Group
		mu   sync.Mutex
		errs []finding.ScanError
	)
	g.SetLimit(s.MaxConcurrency)
	for i, a := range accounts {
		if s.Regions != nil {
			regionsByAccount[i] = s.Regions
			continue
		}
		g.Go(func() error {
			rs, err := ec2query.EnabledRegions(ctx, a.Config)
			if err != nil {
				mu.Lock()
				errs = append(errs, finding.ScanError{Account: a.ID, Stage: "regions", Message: awserr.Describe(err)})
				mu.Unlock()
				return nil
			}
			regionsByAccount[i] = rs
			return nil
		})
	}
	_ = g.Wait()
	return regionsByAccount, errs
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
