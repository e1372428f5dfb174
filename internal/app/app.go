// Package app runs kms-deletion-gate from start to finish: settings,
// credentials, scan, policy, reports, exit code. Data flows one way; every
// report is a function of the one finding.Result.
package app

import (
	"context"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/workflow"
)

// Exit codes.
const (
	ExitPass       = 0
	ExitFail       = 1
	ExitBadConfig  = 2
	ExitIncomplete = 3
)

// Deps are the seams of a run: everything it reads from or writes to the
// process, so tests run it without touching the real environment.
type Deps struct {
	Args   []string
	Getenv func(string) string
	// Stdout receives the run's result: outside Actions the table alone
	// (and --help), so that it can be piped; inside Actions the whole log.
	// Stderr receives the log outside Actions. See package console.
	Stdout     io.Writer
	Stderr     io.Writer
	Now        func() time.Time
	HTTPClient *http.Client
	Version    string
	// LoadAWSConfig loads the base AWS configuration; nil means the standard
	// chain (config.LoadDefaultConfig).
	LoadAWSConfig func(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, error)
}

// Run executes one gate run and returns the process exit code. Each phase
// is one function; data flows one way through res.
func Run(ctx context.Context, d Deps) int {
	d = d.withDefaults()
	log := console.NewProcess(d.Stdout, d.Stderr, d.Getenv("GITHUB_ACTIONS") == "true")
	settings, code, done := loadSettings(d, log)
	if done {
		return code
	}

	runCtx, cancel := context.WithTimeout(ctx, settings.Timeout)
	defer cancel()
	res := finding.Result{ScanTime: d.Now().UTC()}
	targets, clients, err := resolveTargets(runCtx, d, settings, log, &res)
	if err != nil {
		// A workflow without id-token: write cannot use role-to-assume:
		// that is configuration, and nothing was scanned.
		log.Errorf("bad configuration: %v", err)
		return ExitBadConfig
	}
	scanTargets(runCtx, settings, log, targets, clients, &res)
	applyPolicy(settings, &res)
	remediateFindings(runCtx, settings, log, clients, &res)
	workspace := workflow.Workspace(d.Getenv)
	locateInRepository(runCtx, workspace, &res)

	// Reports get their own bound: a scan that used up the timeout must still
	// leave complete local reports.
	reportCtx, cancelReports := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelReports()
	writeReports(reportCtx, d, settings, log, &res, workspace)

	return exitCode(settings, res, log)
}

func exitCode(s config.Settings, res finding.Result, log *console.Console) int {
	if len(res.Errors) > 0 {
		if s.OnScanError == config.ScanErrorFail {
			log.Errorf("Scan incomplete: %d account/region target(s) could not be scanned (on-scan-error: fail).", len(res.Errors))
			return ExitIncomplete
		}
		log.Warningf("Scan incomplete: %d account/region target(s) could not be scanned (on-scan-error: warn).", len(res.Errors))
	}
	if !res.Passed {
		return ExitFail
	}
	return ExitPass
}

func (d Deps) withDefaults() Deps {
	if d.Getenv == nil {
		d.Getenv = os.Getenv
	}
	if d.Stdout == nil {
		d.Stdout = os.Stdout
	}
	if d.Stderr == nil {
		d.Stderr = os.Stderr
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Version == "" {
		d.Version = "dev"
	}
	if d.LoadAWSConfig == nil {
		d.LoadAWSConfig = awsconfig.LoadDefaultConfig
	}
	return d
}
