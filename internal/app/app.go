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
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/workflow"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/iac"
)

// Exit codes.
const (
	ExitPass       = 0
	ExitFail       = 1
	ExitBadConfig  = 2
	ExitIncomplete = 3
	// ExitReportsIncomplete: the scan finished, but a report file the run
	// was asked to write (JSON, SARIF, job summary, step outputs) could not
	// be written. A gate whose evidence is missing has not passed.
	ExitReportsIncomplete = 4
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
	// IaC bounds the repository search for references to the keys; zero
	// values are iac's defaults.
	IaC iac.Options
	// GitHub, when set, adjusts the GitHub client's options (tests shorten
	// the bound on waiting for code scanning).
	GitHub func(*github.Options)
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

	workspace := workflow.Workspace(d.Getenv)
	pr := newPRContext(d, settings)
	settings, settingChanges, err := guardSettings(ctx, settings, log, pr, workspace)
	if err != nil {
		log.Errorf("bad configuration: %v", err)
		return ExitBadConfig
	}

	runCtx, cancel := context.WithTimeout(ctx, settings.Timeout)
	defer cancel()
	deletions, planWarnings, err := readPlans(runCtx, settings, workspace)
	if err != nil {
		log.Errorf("bad configuration: %v", err)
		return ExitBadConfig
	}
	res := finding.Result{ScanTime: d.Now().UTC(), Warnings: append(settings.Warnings, planWarnings...), SettingChanges: settingChanges}
	targets, clients, err := resolveTargets(runCtx, d, settings, log, &res)
	if err != nil {
		// A workflow without id-token: write cannot use role-to-assume:
		// that is configuration, and nothing was scanned.
		log.Errorf("bad configuration: %v", err)
		return ExitBadConfig
	}
	scanTargets(runCtx, settings, log, targets, clients, &res)
	deletions = settleRemovals(runCtx, log, pr, deletions, &res)
	addPlanned(runCtx, settings, log, clients, deletions, &res)
	gatherEvidence(runCtx, settings, log, clients, &res) // planned deletions: scanned findings got theirs during the scan
	locateInRepository(runCtx, workspace, d.IaC, &res)
	scopeFindings(runCtx, settings, log, pr, &res)
	locateRemoved(runCtx, log, pr, &res)
	trusted, added := trustedAllowlist(runCtx, settings, log, pr, workspace, &res)
	applyPolicy(settings, trusted, added, &res)
	remediateFindings(runCtx, settings, log, clients, &res)

	// Reports get their own bound: a scan that used up the timeout must still
	// leave complete local reports.
	reportCtx, cancelReports := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelReports()
	written := writeReports(reportCtx, d, settings, log, &res, workspace)

	return exitCode(settings, res, written, log)
}

// exitCode decides the exit code. Precedence: 3 (scan incomplete), then 4
// (reports incomplete), then 1 (gate failed): what could not be done comes
// before the verdict, as a gate that could not look everywhere or record
// what it saw has not passed.
func exitCode(s config.Settings, res finding.Result, written bool, log *console.Console) int {
	if len(res.Errors) > 0 {
		if s.OnScanError == config.ScanErrorFail {
			log.Errorf("Scan incomplete: %d account/region target(s) could not be scanned (on-scan-error: fail).", len(res.Errors))
			return ExitIncomplete
		}
		log.Warningf("Scan incomplete: %d account/region target(s) could not be scanned (on-scan-error: warn).", len(res.Errors))
	}
	if !written {
		log.Errorf("Reports incomplete: a report file could not be written (see the errors above); exit code %d.", ExitReportsIncomplete)
		return ExitReportsIncomplete
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
