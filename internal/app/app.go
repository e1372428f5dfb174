// Package app runs kms-deletion-gate from start to finish: settings,
// credentials, scan, policy, reports, exit code. Data flows one way; every
// report is a function of the one finding.Result.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/logging"
	"github.com/sethvargo/go-githubactions"
	"golang.org/x/sync/errgroup"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/creds"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/forensics"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/iac"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/policy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/remediate"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/annotations"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/comment"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/sarif"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/summary"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/text"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/scan"
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
	Args       []string
	Getenv     func(string) string
	Stdout     io.Writer
	Stderr     io.Writer
	Now        func() time.Time
	HTTPClient *http.Client
	Version    string
	// LoadAWSConfig loads the base AWS configuration; nil means the standard
	// chain (config.LoadDefaultConfig).
	LoadAWSConfig func(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, error)
}

// Run executes one gate run and returns the process exit code.
func Run(ctx context.Context, d Deps) int {
	d = d.withDefaults()
	settings, err := config.Load(d.Args, config.Env{Getenv: d.Getenv, Now: d.Now()}, d.Stdout)
	log := console.New(d.Stdout, d.Getenv("GITHUB_ACTIONS") == "true")
	if err != nil {
		reportConfigErrors(log, err)
		return ExitBadConfig
	}
	if settings.Help {
		return ExitPass
	}
	log.Mask(settings.GitHubToken)
	if settings.ConfigPath != "" {
		log.Infof("Config file: %s (%d allowlist entries)", settings.ConfigPath, len(settings.Allow))
	}

	runCtx, cancel := context.WithTimeout(ctx, settings.Timeout)
	defer cancel()

	res := finding.Result{ScanTime: d.Now().UTC()}
	targets, clients, errs, err := resolveTargets(runCtx, d, settings, log)
	if err != nil {
		// A workflow without id-token: write cannot use role-to-assume:
		// that is configuration, and nothing was scanned.
		log.Errorf("bad configuration: %v", err)
		return ExitBadConfig
	}
	res.Errors = append(res.Errors, errs...)

	done := log.Group(fmt.Sprintf("Scanning %d account/region target(s)", len(targets)))
	out := scan.Scan(runCtx, targets, scan.Options{
		IncludeDisabled: settings.IncludeDisabled,
		Concurrency:     settings.MaxConcurrency,
	})
	done()
	res.Findings, res.Scanned, res.KeysSeen, res.APICalls = out.Findings, out.Scanned, out.KeysSeen, out.APICalls
	res.Errors = append(res.Errors, out.Errors...)
	res.Warnings = append(res.Warnings, out.Warnings...)

	if len(res.Findings) > 0 && clients != nil {
		done := log.Group(fmt.Sprintf("Gathering evidence for %d finding(s)", len(res.Findings)))
		res.Warnings = append(res.Warnings, forensics.Enrich(runCtx, res.Findings, clients.forensics, forensics.Options{
			ScanTime:      res.ScanTime,
			RecentUseDays: recentUseDays(settings.RecentUseDays),
			CloudTrail:    settings.CloudTrail,
			Concurrency:   settings.MaxConcurrency,
		})...)
		done()
	}

	policy.Policy{
		CriticalDays: settings.CriticalDays,
		HighDays:     settings.HighDays,
		FailOn:       settings.FailOn,
		Allow:        settings.Allow,
		Now:          res.ScanTime,
	}.Apply(&res)
	if len(res.Errors) > 0 && settings.OnScanError == config.ScanErrorFail {
		// A gate that skipped a target has not passed.
		res.Passed = false
	}

	if mode := settings.Remediate; mode != config.RemediateNone && clients != nil {
		done := log.Group("Remediation: " + string(mode))
		res.Warnings = append(res.Warnings, remediate.Apply(runCtx, res.Findings, remediate.Options{
			Mode: mode, Threshold: settings.RemediateOn, ReEnable: settings.ReEnable,
		}, clients.remediate)...)
		done()
	}

	workspace := workspaceRoot(d.Getenv)
	if len(res.Findings) > 0 {
		if _, err := iac.Locate(runCtx, workspace, res.Findings, iac.Options{}); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("searching the repository for references to the keys: %v", err))
		}
	}

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
		// For demos and tests against emulators that only accept real
		// deletion windows: judge the scan as of another time.
		if v := d.Getenv("KMS_DELETION_GATE_NOW"); v != "" {
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				d.Now = func() time.Time { return t }
			}
		}
	}
	if d.Version == "" {
		d.Version = "dev"
	}
	if d.LoadAWSConfig == nil {
		d.LoadAWSConfig = awsconfig.LoadDefaultConfig
	}
	return d
}

func reportConfigErrors(log *console.Console, err error) {
	var list []error
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if inner, ok := e.(interface{ Unwrap() []error }); ok {
				list = append(list, inner.Unwrap()...)
			} else {
				list = append(list, e)
			}
		}
	} else {
		list = []error{err}
	}
	for _, e := range list {
		log.Errorf("bad configuration: %s", e.Error())
	}
	log.Errorf("nothing was scanned: fix the configuration above (exit code 2)")
}

// awsOptions are the load options of every AWS config the run uses: adaptive
// retries (client-side rate limiting under throttling) with a bounded number
// of attempts.
func awsOptions(s config.Settings, d Deps) []func(*awsconfig.LoadOptions) error {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
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
			})
		}),
		// The SDK's own log lines would reach the job log unescaped.
		awsconfig.WithLogger(logging.Nop{}),
	}
	if d.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(d.HTTPClient))
	}
	if d.Getenv("AWS_REGION") == "" && d.Getenv("AWS_DEFAULT_REGION") == "" {
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

func resolveTargets(ctx context.Context, d Deps, s config.Settings, log *console.Console) ([]scan.Target, *clientCache, []finding.ScanError, error) {
	base, err := d.LoadAWSConfig(ctx, awsOptions(s, d)...)
	if err != nil {
		return nil, nil, []finding.ScanError{{Stage: "credentials", Message: fmt.Sprintf("load AWS configuration: %v", err)}}, nil
	}
	// The OIDC token comes from the runner through go-githubactions; its
	// writer is the console's, which serialises every log write.
	oidc := githubactions.New(githubactions.WithGetenv(d.Getenv), githubactions.WithWriter(log.Writer()))
	accounts, errs, err := creds.Resolve(ctx, base, creds.Options{
		Identity:    s.Identity,
		Concurrency: min(s.MaxConcurrency, 8),
	}, creds.Deps{OIDC: oidc, Mask: log.Mask})
	if err != nil {
		if errors.Is(err, creds.ErrNoIDToken) {
			return nil, nil, nil, err
		}
		return nil, nil, []finding.ScanError{{Stage: "credentials", Message: err.Error()}}, nil
	}
	regionsByAccount := make([][]string, len(accounts))
	var (
		g  errgroup.Group
		mu sync.Mutex
	)
	g.SetLimit(s.MaxConcurrency)
	for i, a := range accounts {
		if s.Regions != nil {
			regionsByAccount[i] = s.Regions
			continue
		}
		g.Go(func() error {
			rs, err := scan.EnabledRegions(ctx, ec2.NewFromConfig(a.Config))
			if err != nil {
				mu.Lock()
				errs = append(errs, finding.ScanError{Account: a.ID, Stage: "regions", Message: scan.Describe(err)})
				mu.Unlock()
				return nil
			}
			regionsByAccount[i] = rs
			return nil
		})
	}
	_ = g.Wait()
	cache := newClientCache(accounts)
	var targets []scan.Target
	for i, a := range accounts {
		for _, r := range regionsByAccount[i] {
			targets = append(targets, scan.Target{Account: a.ID, Region: r, Client: cache.kms(a.ID, r)})
		}
	}
	return targets, cache, errs, nil
}

func writeReports(ctx context.Context, d Deps, s config.Settings, log *console.Console, res *finding.Result, workspace string) {
	for _, w := range res.Warnings {
		log.Warningf("%s", w)
	}
	for _, e := range res.Errors {
		where := e.Account
		if e.Region != "" {
			where += "/" + e.Region
		}
		log.Warningf("could not scan %s (%s): %s", where, e.Stage, e.Message)
	}
	log.Raw(text.Render(*res))

	outputs := map[string]string{"result": report.Verdict(*res)}
	t := report.Count(*res)
	for _, sev := range finding.Severities {
		outputs[sev.String()] = strconv.Itoa(t.BySeverity[sev])
	}
	outputs["allowlisted"] = strconv.Itoa(t.Allowlisted)
	outputs["total"] = strconv.Itoa(t.Total)

	if s.ReportJSON != "" {
		data, err := jsonreport.Marshal(*res, d.Version)
		if err == nil {
			err = writeFile(s.ReportJSON, data)
		}
		if err != nil {
			log.Errorf("write JSON report %s: %v", s.ReportJSON, err)
		} else {
			outputs["report-json"] = s.ReportJSON
			log.Infof("JSON report: %s", s.ReportJSON)
		}
	}

	if s.SARIFFile != "" {
		opts := sarif.Options{
			ToolVersion:  d.Version,
			Category:     s.Category,
			FallbackFile: sarif.ChooseFallbackFile(workspace, s.ConfigPath, d.Getenv("GITHUB_WORKFLOW_REF")),
		}
		if err := sarif.WriteFile(s.SARIFFile, *res, opts); err != nil {
			log.Errorf("write SARIF report %s: %v", s.SARIFFile, err)
		} else {
			outputs["sarif-file"] = s.SARIFFile
			log.Infof("SARIF report: %s", s.SARIFFile)
		}
	}
	publish(ctx, d, s, log, *res)
	if log.InActions() {
		if err := annotations.Write(log.Writer(), *res, annotations.Options{}); err != nil {
			log.Warningf("annotations: %v", err)
		}
	}

	md := summary.Render(*res, summary.Options{RunURL: runURL(d.Getenv), ToolVersion: d.Version})
	if path := d.Getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendFile(path, []byte(md+"\n")); err != nil {
			log.Warningf("write job summary: %v", err)
		}
	}
	if path := d.Getenv("GITHUB_OUTPUT"); path != "" {
		var b strings.Builder
		for _, name := range outputNames() {
			if v, ok := outputs[name]; ok {
				if err := writeOutput(&b, name, v); err != nil {
					log.Warningf("output %s not set: %v", name, err)
				}
			}
		}
		if err := appendFile(path, []byte(b.String())); err != nil {
			log.Warningf("write outputs: %v", err)
		}
	}
}

// writeOutput appends one output in the runner's multi-line format with a
// random delimiter, as GitHub's toolkit does: a value can then never end the
// block early and set other outputs.
func writeOutput(b *strings.Builder, name, value string) error {
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	delim := "ghadelimiter_" + hex.EncodeToString(raw[:])
	if strings.Contains(value, delim) || strings.Contains(name, delim) {
		return fmt.Errorf("value contains the delimiter")
	}
	fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
	return nil
}

func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func outputNames() []string {
	names := make([]string, len(config.Outputs))
	for i, o := range config.Outputs {
		names[i] = o.Name
	}
	return names
}

func runURL(getenv func(string) string) string {
	server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%s", server, repo, id)
}

// writeFile writes data atomically enough for a report: to a temporary file
// beside path, then renamed over it.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".kdg-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// recentUseDays maps the input to forensics' convention, where 0 means its
// default: an input of 0 means "no use counts as recent".
func recentUseDays(days int) int {
	if days == 0 {
		return -1
	}
	return days
}

// workspaceRoot is where the repository is checked out: GITHUB_WORKSPACE in
// Actions (/github/workspace in the container), else the working directory.
func workspaceRoot(getenv func(string) string) string {
	if w := getenv("GITHUB_WORKSPACE"); w != "" {
		return w
	}
	return "."
}

// publish uploads the SARIF report to code scanning and upserts the
// pull-request comment. Every failure is a warning: the local reports are
// already complete.
func publish(ctx context.Context, d Deps, s config.Settings, log *console.Console, res finding.Result) {
	wantUpload := s.UploadSARIF && s.SARIFFile != ""
	wantComment := s.Comment == config.CommentUpsert
	if !wantUpload && !wantComment {
		return
	}
	if s.GitHubToken == "" || d.Getenv("GITHUB_REPOSITORY") == "" {
		if log.InActions() {
			log.Warningf("no github-token: skipping the code scanning upload and the pull-request comment")
		}
		return
	}
	gh := github.New(github.Options{Token: s.GitHubToken, Getenv: d.Getenv, HTTPClient: d.HTTPClient})
	actx := gh.Context()
	if actx.EventErr != nil {
		log.Warningf("reading the event payload: %v", actx.EventErr)
	}
	if wantUpload {
		data, err := os.ReadFile(s.SARIFFile)
		if err == nil {
			var up github.Upload
			up, err = gh.UploadSARIF(ctx, data, github.UploadOptions{ToolName: sarif.ToolName, StartedAt: res.ScanTime})
			if err == nil {
				log.Infof("Code scanning: uploaded SARIF (id %s, status %s)", up.ID, up.Status)
			}
		}
		if err != nil {
			log.Warningf("code scanning upload: %v", err)
		}
	}
	if wantComment && actx.PRNumber > 0 {
		body := comment.Render(res, comment.Options{RunURL: actx.RunURL(), Category: s.Category})
		r, err := gh.UpsertComment(ctx, actx.PRNumber, body)
		if err != nil {
			log.Warningf("pull-request comment: %v", err)
		} else {
			log.Infof("Pull-request comment: %s %s", r.Action, r.URL)
		}
	}
}
