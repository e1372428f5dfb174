// Package config owns the run's settings: action inputs (INPUT_* from the
// Actions runner), command-line flags with the same names, and the YAML config
// file with the allowlist. Every bad value is an *Error naming where it came
// from (file:line:field, or the input/flag), found before any AWS call.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// WebhookEnv is the environment variable the CLI reads webhook-url from.
const WebhookEnv = "KMS_DELETION_GATE_WEBHOOK_URL"

// Settings is the validated configuration of one run.
type Settings struct {
	Regions         []string // nil means all enabled regions
	FailOn          finding.Severity
	CriticalDays    int
	HighDays        int
	RecentUseDays   int
	CloudTrail      bool
	IncludeDisabled bool
	ConfigPath      string // the file read, empty if none
	SARIFFile       string
	UploadSARIF     bool
	// WaitForProcessing (wait-for-processing) waits, bounded, for code
	// scanning to process the upload.
	WaitForProcessing bool
	Category          string
	Comment           CommentMode
	GitHubToken       string
	ReportJSON        string
	Issue             IssueMode
	JUnitFile         string
	OCSFFile          string
	WebhookURL        string // secret: masked, never printed
	Remediate         RemediateMode
	RemediateOn       finding.Severity
	ReEnable          bool
	OnScanError       ScanErrorPolicy
	MaxConcurrency    int
	Timeout           time.Duration

	// TerraformPlans and ChangeSets are the paths of the plans to judge.
	TerraformPlans []string
	ChangeSets     []string
	// FailScope is ScopeAll or ScopeChange, resolved from the event when
	// not given.
	FailScope FailScope
	// AllowlistFrom says which allowlist approves on a pull request.
	AllowlistFrom AllowlistSource
	// MaxAllowDays bounds how far ahead an allowlist entry may expire.
	MaxAllowDays int

	Identity

	Allow []AllowEntry

	// ConfigSetting is the config input's path, read when present: on a
	// pull request, the base branch's file is read at this path even when
	// the pull request has none.
	ConfigSetting string

	// AWSRegion (aws-region) is the region of the base identity's calls;
	// empty: AWS_REGION, else the first region scanned, else us-east-1.
	AWSRegion string
	// Warnings are settings accepted with a caveat (a region name the pinned
	// SDK does not list); the run reports them.
	Warnings []string

	// InActions is true when running as a GitHub Action (GITHUB_ACTIONS=true).
	InActions bool
	// Help is true when --help was asked for; nothing else is set.
	Help bool

	// layers keeps where each value came from, for ForPullRequest.
	layers *layers
}

// layers are the sources Load merged, lowest precedence first.
type layers struct {
	defaults, file, explicit map[string]value
}

// Identity selects the base identity and the accounts to scan: the settings
// creds.Resolve takes, validated here by the rules of iam.go. Field comments
// name the input each one mirrors.
type Identity struct {
	// RoleToAssume (role-to-assume) is a role ARN assumed with
	// AssumeRoleWithWebIdentity and the runner's OIDC token. Empty: the base
	// identity is the standard AWS chain.
	RoleToAssume string
	// Audience (audience) of the OIDC token.
	Audience string
	// RoleSessionName (role-session-name) of assumed roles.
	RoleSessionName string
	// RoleDurationSeconds (role-duration-seconds), 900..43200. Member roles
	// reached by role chaining are capped at 3600, AWS's limit.
	RoleDurationSeconds int
	// RoleExternalID (role-external-id) is passed when assuming member roles.
	RoleExternalID string

	// Accounts (accounts): each a role ARN, or a 12-digit account ID in which
	// RoleName is assumed. Empty (and no Organization): the base account alone.
	Accounts []string
	// RoleName (role-name) is assumed, from the base identity, in each listed
	// account ID and each discovered organization account. It may carry an IAM
	// path ("path/Name"), without leading or trailing "/".
	RoleName string
	// Organization (organization) adds every ACTIVE account of the AWS
	// Organization, listed with organizations:ListAccounts from the base
	// identity (the management account or a delegated administrator).
	Organization bool
	// MaskAccountIDs (mask-account-ids) masks every account ID in the log.
	MaskAccountIDs bool
}

// Error is a configuration error. Source is a file path or "input NAME" /
// "flag --NAME"; Line is 1-based when the source is a file.
type Error struct {
	Source string
	Line   int
	Field  string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Env gives Load what it reads of the process: the environment and files.
type Env struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	Now      time.Time
}

// maxConfigBytes bounds the config file: an allowlist is a few KiB.
const maxConfigBytes = 1 << 20

type value struct {
	text   string
	source string
	line   int
	field  string
}

// Load reads defaults, then the config file, then inputs or flags that were
// given (an Actions input equal to its default does not override the file),
// and validates the result. Errors are joined *Error values.
func Load(args []string, env Env, usage io.Writer) (Settings, error) {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.ReadFile == nil {
		env.ReadFile = os.ReadFile
	}
	if env.Now.IsZero() {
		env.Now = time.Now()
	}
	s := Settings{InActions: env.Getenv("GITHUB_ACTIONS") == "true"}

	values := map[string]value{}
	for _, in := range Inputs {
		values[in.Name] = value{text: in.Default, source: "default " + in.Name}
	}
	explicit := map[string]value{}
	if s.InActions {
		actionInputs(env.Getenv, explicit)
	}
	help, err := parseFlags(args, explicit)
	if err != nil {
		return s, err
	}
	if help {
		s.Help = true
		PrintUsage(usage)
		return s, nil
	}
	if _, ok := explicit["github-token"]; !ok {
		if t := env.Getenv("GITHUB_TOKEN"); t != "" && !s.InActions {
			explicit["github-token"] = value{text: t, source: "env GITHUB_TOKEN"}
		}
	}
	// A secret on a command line is visible to every process: the CLI also
	// reads the webhook from the environment.
	if _, ok := explicit["webhook-url"]; !ok {
		if u := env.Getenv(WebhookEnv); u != "" && !s.InActions {
			explicit["webhook-url"] = value{text: u, source: "env " + WebhookEnv}
		}
	}

	var errs []error
	path, pathGiven := values["config"].text, false
	if v, ok := explicit["config"]; ok {
		path, pathGiven = v.text, true
	}
	s.ConfigSetting = path
	s.layers = &layers{defaults: maps.Clone(values), file: map[string]value{}, explicit: explicit}
	if path != "" {
		file, err := readFile(path, pathGiven, env.ReadFile)
		switch {
		case err != nil:
			errs = append(errs, err)
		case file != nil:
			s.ConfigPath = path
			for k, v := range file.settings {
				values[k] = v
			}
			s.layers.file = file.settings
			s.Allow = file.allow
		}
	}
	for k, v := range explicit {
		values[k] = v
	}
	errs = append(errs, s.apply(values)...)
	if s.FailScope == "" {
		s.FailScope = ScopeAll
		if IsPullRequestEvent(env.Getenv("GITHUB_EVENT_NAME")) {
			s.FailScope = ScopeChange
		}
	}
	if s.MaxAllowDays > 0 {
		errs = append(errs, checkExpiries(s.Allow, env.Now.UTC(), s.MaxAllowDays)...)
	}
	if len(errs) > 0 {
		return s, errors.Join(errs...)
	}
	return s, nil
}

// actionInputs adds to explicit every action input given with a value other
// than its default.
func actionInputs(getenv func(string) string, explicit map[string]value) {
	for _, in := range Inputs {
		v, ok := lookupInput(getenv, in.Name)
		if !ok || v == in.Default {
			continue
		}
		explicit[in.Name] = value{text: v, source: "input " + in.Name}
	}
}

// parseFlags adds to explicit every flag given on the command line, and
// reports whether help was asked for.
func parseFlags(args []string, explicit map[string]value) (help bool, err error) {
	fset := flag.NewFlagSet("kms-deletion-gate", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	flagVals := map[string]*string{}
	for _, in := range Inputs {
		def := in.Default
		if in.Name == "github-token" {
			def = ""
		}
		flagVals[in.Name] = fset.String(in.Name, def, in.Description)
	}
	helpFlag := fset.Bool("help", false, "Show this help.")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, &Error{Source: "command line", Msg: err.Error() + " (see --help)"}
	}
	if *helpFlag {
		return true, nil
	}
	if fset.NArg() > 0 {
		return false, &Error{Source: "command line", Msg: fmt.Sprintf("unexpected argument %q (all settings are --flags; see --help)", fset.Arg(0))}
	}
	fset.Visit(func(f *flag.Flag) {
		explicit[f.Name] = value{text: strings.TrimSpace(*flagVals[f.Name]), source: "flag --" + f.Name}
	})
	return false, nil
}

// readFile reads and parses the config file. A missing file is no error, and
// no file, when the path is the default one (not given).
func readFile(path string, pathGiven bool, read func(string) ([]byte, error)) (*parsedFile, error) {
	data, err := read(path)
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist) && !pathGiven:
		return nil, nil // the default config file is optional
	case err != nil:
		return nil, &Error{Source: path, Msg: fmt.Sprintf("cannot read config file: %v", unwrapPathError(err))}
	}
	return parseBounded(path, data)
}

// lookupInput reads an action input the way the runner passes it: the name
// upper-cased with hyphens kept (INPUT_FAIL-ON); the underscore form is also
// accepted for runners and shells that cannot set hyphenated variables.
func lookupInput(getenv func(string) string, name string) (string, bool) {
	up := strings.ToUpper(name)
	for _, k := range []string{"INPUT_" + up, "INPUT_" + strings.ReplaceAll(up, "-", "_")} {
		if v := getenv(k); v != "" {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (v value) err(msg string, a ...any) error {
	return &Error{Source: v.source, Line: v.line, Field: v.field, Msg: fmt.Sprintf(msg, a...)}
}

// reader turns the merged values into typed settings, collecting one error
// per bad value.
type reader struct {
	values   map[string]value
	errs     []error
	warnings []string
}

func (r *reader) get(name string) value { return r.values[name] }

func (r *reader) add(err error) {
	if err != nil {
		r.errs = append(r.errs, err)
	}
}

func (r *reader) boolean(name string) bool {
	v := r.get(name)
	b, err := strconv.ParseBool(strings.ToLower(v.text))
	if err != nil {
		r.add(v.err("%q is not true or false", v.text))
	}
	return b
}

func (r *reader) integer(name string, min, max int) int {
	v := r.get(name)
	n, err := strconv.Atoi(v.text)
	if err != nil {
		r.add(v.err("%q is not a whole number", v.text))
		return 0
	}
	if n < min || n > max {
		r.add(v.err("%d is out of range (%d to %d)", n, min, max))
	}
	return n
}

func (r *reader) severity(name string) finding.Severity {
	v := r.get(name)
	sev, err := finding.ParseSeverity(v.text)
	if err != nil {
		r.add(v.err("%v", err))
	}
	return sev
}

func (r *reader) duration(name string, max time.Duration, maxText string) time.Duration {
	v := r.get(name)
	d, err := time.ParseDuration(v.text)
	switch {
	case err != nil:
		r.add(v.err("%q is not a duration like 10m or 90s", v.text))
	case d <= 0 || d > max:
		r.add(v.err("%s is out of range (above 0, at most %s)", d, maxText))
	}
	return d
}

// oneLine returns the text of a setting that must fit on one line.
func (r *reader) oneLine(name string) string {
	v := r.get(name)
	if strings.ContainsAny(v.text, "\r\n") {
		r.add(v.err("must be one line"))
	}
	return v.text
}

// choice parses a setting that is one of allowed (case-insensitive); the
// first is the fallback after an error.
func choice[T ~string](r *reader, name string, allowed ...T) T {
	v := r.get(name)
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if strings.EqualFold(v.text, string(a)) {
			return a
		}
		names[i] = string(a)
	}
	r.add(v.err("%q is not one of %s", v.text, strings.Join(names, ", ")))
	return allowed[0]
}

func (s *Settings) apply(values map[string]value) []error {
	r := &reader{values: values}
	s.applyScan(r)
	s.applyChange(r)
	s.applyReports(r)
	s.applyRemediation(r)
	s.applyRun(r)
	s.applyAccounts(r)
	s.Warnings = r.warnings
	return r.errs
}

// applyScan reads what is scanned and how findings are judged.
func (s *Settings) applyScan(r *reader) {
	s.Regions = r.regions("regions")
	s.FailOn = r.severity("fail-on")
	s.CriticalDays = r.integer("critical-days", 0, 366)
	s.HighDays = r.integer("high-days", 0, 366)
	if s.HighDays < s.CriticalDays {
		r.add(r.get("high-days").err("%d is less than critical-days (%d)", s.HighDays, s.CriticalDays))
	}
	s.RecentUseDays = r.integer("recent-use-days", 0, 3660)
	s.CloudTrail = r.boolean("cloudtrail")
	s.IncludeDisabled = r.boolean("include-disabled")
}

// applyRun reads the bounds of the run and what an incomplete scan does.
func (s *Settings) applyRun(r *reader) {
	s.OnScanError = choice(r, "on-scan-error", ScanErrorFail, ScanErrorWarn)
	s.MaxConcurrency = r.integer("max-concurrency", 1, 4096)
	s.Timeout = r.duration("timeout", 6*time.Hour, "6h")
}

// regions reads the regions setting: nil for all.
func (r *reader) regions(name string) []string {
	v := r.get(name)
	if strings.EqualFold(v.text, "all") {
		return nil
	}
	var regions []string
	bad := false
	for _, region := range SplitList(v.text) {
		if err := ValidateRegion(region); err != nil {
			r.add(v.err("%v", err))
			bad = true
			continue
		}
		if w := RegionWarning(region); w != "" && !slices.Contains(regions, region) {
			r.warnings = append(r.warnings, w)
		}
		if !slices.Contains(regions, region) {
			regions = append(regions, region)
		}
	}
	if len(regions) == 0 && !bad {
		r.add(v.err("no region given (use all, or a list like us-east-1,eu-west-1)"))
	}
	return regions
}

// applyReports reads where the reports go.
func (s *Settings) applyReports(r *reader) {
	s.SARIFFile = r.reportPath("sarif-file")
	s.UploadSARIF = r.boolean("upload-sarif")
	s.WaitForProcessing = r.boolean("wait-for-processing")
	s.Category = r.oneLine("category")
	s.Comment = choice(r, "comment", CommentUpsert, CommentOff)
	s.GitHubToken = r.get("github-token").text
	if s.GitHubToken == "${{ github.token }}" {
		s.GitHubToken = ""
	}
	s.ReportJSON = r.reportPath("report-json")
	s.Issue = choice(r, "issue", IssueUpsert, IssueOff)
	s.JUnitFile = r.reportPath("junit-file")
	s.OCSFFile = r.reportPath("ocsf-file")
	s.WebhookURL = r.webhookURL("webhook-url")
}

// reportPath returns the path of a local report file, refusing before any
// AWS call one that can never be written: an existing directory ("/"), or a
// path whose nearest existing ancestor is a file. Failures only the write
// can see (permissions, a full disk) end the run with exit code 4.
func (r *reader) reportPath(name string) string {
	v := r.get(name)
	if v.text == "" {
		return ""
	}
	if fi, err := os.Stat(v.text); err == nil && fi.IsDir() {
		r.add(v.err("%q is a directory: give the path of a file to write", v.text))
		return v.text
	}
	for dir := filepath.Dir(v.text); ; {
		if fi, err := os.Stat(dir); err == nil {
			if !fi.IsDir() {
				r.add(v.err("%q cannot be written: %s is a file, not a directory", v.text, dir))
			}
			break
		}
		next := filepath.Dir(dir)
		if next == dir {
			break
		}
		dir = next
	}
	return v.text
}

// webhookURL reads a secret http(s) URL. Its errors never quote it.
func (r *reader) webhookURL(name string) string {
	v := r.get(name)
	if v.text == "" {
		return ""
	}
	u, err := url.Parse(v.text)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(v.text, " \r\n") {
		r.add(v.err("is not an http(s) URL (the value is a secret and is not shown)"))
		return ""
	}
	return v.text
}

// applyRemediation reads what is done about findings.
func (s *Settings) applyRemediation(r *reader) {
	s.Remediate = choice(r, "remediate", RemediateNone, RemediatePlan, RemediateCancel)
	s.RemediateOn = r.severity("remediate-on")
	s.ReEnable = r.boolean("re-enable")
}

// applyAccounts reads the base identity and the accounts to scan, by the
// rules of iam.go.
func (s *Settings) applyAccounts(r *reader) {
	if v := r.get("role-to-assume"); v.text != "" {
		if _, err := ParseRoleARN(v.text); err != nil {
			r.add(v.err("%v", err))
		}
		s.RoleToAssume = v.text
	}
	if v := r.get("aws-region"); v.text != "" {
		if err := ValidateRegion(v.text); err != nil {
			r.add(v.err("%v", err))
		}
		s.AWSRegion = v.text
	}
	s.Audience = r.get("audience").text
	// An empty role-session-name (or audience) means creds' default.
	if v := r.get("role-session-name"); v.text != "" {
		if err := ValidateSessionName(v.text); err != nil {
			r.add(v.err("%v", err))
		}
		s.RoleSessionName = v.text
	}
	s.RoleDurationSeconds = r.integer("role-duration-seconds", MinRoleDurationSeconds, MaxRoleDurationSeconds)
	s.RoleExternalID = r.get("role-external-id").text
	if v := r.get("role-name"); v.text != "" {
		name, err := NormalizeRoleName(v.text)
		if err != nil {
			r.add(v.err("%v", err))
			name = v.text // given: do not also report accounts as lacking it
		}
		s.RoleName = name
	}
	s.Accounts = r.accounts("accounts", s.RoleName)
	s.Organization = r.boolean("organization")
	if s.Organization && s.RoleName == "" {
		r.add(r.get("organization").err("organization: true needs role-name (the role to assume in each member account)"))
	}
	s.MaskAccountIDs = r.boolean("mask-account-ids")
}

// accounts reads the accounts setting: role ARNs, or account IDs in which
// roleName is assumed.
func (r *reader) accounts(name, roleName string) []string {
	v := r.get(name)
	var accounts []string
	for _, a := range SplitList(v.text) {
		if err := CheckAccountEntry(a, roleName); err != nil {
			r.add(v.err("%v", err))
			continue
		}
		if !slices.Contains(accounts, a) {
			accounts = append(accounts, a)
		}
	}
	return accounts
}

// SplitList splits a list given as comma-, space- or newline-separated text.
func SplitList(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t'
	})
	return fields
}

// PrintUsage writes the --help text.
func PrintUsage(w io.Writer) {
	fmt.Fprint(w, `kms-deletion-gate finds AWS KMS customer managed keys scheduled for deletion,
reports them, and fails by policy.

Usage: kms-deletion-gate [--flag value ...]

In GitHub Actions the same settings come from the action's inputs (INPUT_*).
Precedence: defaults < config file < inputs and flags that are given.

Flags:
`)
	for _, in := range Inputs {
		def := in.Default
		switch in.Name {
		case "github-token":
			def = "$GITHUB_TOKEN"
		case "webhook-url":
			def = "$" + WebhookEnv
		}
		fmt.Fprintf(w, "  --%s (default %q)\n      %s\n", in.Name, def, in.Description)
	}
	fmt.Fprint(w, `  --help
      Show this help.

Exit codes: 0 gate passed; 1 gate failed; 2 bad configuration (nothing
scanned); 3 scan incomplete under --on-scan-error fail; 4 reports incomplete
(a report file could not be written).
`)
}

// applyChange reads the plans to judge, the fail scope and the allowlist's
// trust on pull requests.
func (s *Settings) applyChange(r *reader) {
	s.TerraformPlans = r.paths("terraform-plan")
	s.ChangeSets = r.paths("cloudformation-changeset")
	if v := r.get("fail-scope"); v.text != "" {
		s.FailScope = choice(r, "fail-scope", ScopeChange, ScopeAll)
	}
	s.AllowlistFrom = choice(r, "allowlist-from", AllowlistBase, AllowlistHead)
	s.MaxAllowDays = r.integer("max-allow-days", 1, 3660)
}

// paths reads a list of file paths, one a line or comma-separated.
func (r *reader) paths(name string) []string {
	v := r.get(name)
	var out []string
	for _, p := range SplitList(v.text) {
		if strings.ContainsRune(p, 0) {
			r.add(v.err("%q is not a path", p))
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
