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
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

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
	Category        string
	Comment         string // "upsert" or "off"
	GitHubToken     string
	ReportJSON      string
	Remediate       string // "none", "plan", "cancel"
	RemediateOn     finding.Severity
	ReEnable        bool
	OnScanError     string // "fail" or "warn"
	MaxConcurrency  int
	Timeout         time.Duration

	RoleToAssume        string
	Audience            string
	RoleSessionName     string
	RoleDurationSeconds int
	RoleExternalID      string
	Accounts            []string
	RoleName            string
	Organization        bool
	MaskAccountIDs      bool

	Allow []AllowEntry

	// InActions is true when running as a GitHub Action (GITHUB_ACTIONS=true).
	InActions bool
	// Help is true when --help was asked for; nothing else is set.
	Help bool
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
	explicit := map[string]value{}
	for _, in := range Inputs {
		values[in.Name] = value{text: in.Default, source: "default " + in.Name}
	}
	if s.InActions {
		for _, in := range Inputs {
			v, ok := lookupInput(env.Getenv, in.Name)
			if !ok || v == in.Default {
				continue
			}
			explicit[in.Name] = value{text: v, source: "input " + in.Name}
		}
	}

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
	help := fset.Bool("help", false, "Show this help.")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			s.Help = true
			PrintUsage(usage)
			return s, nil
		}
		return s, &Error{Source: "command line", Msg: err.Error() + " (see --help)"}
	}
	if *help {
		s.Help = true
		PrintUsage(usage)
		return s, nil
	}
	if fset.NArg() > 0 {
		return s, &Error{Source: "command line", Msg: fmt.Sprintf("unexpected argument %q (all settings are --flags; see --help)", fset.Arg(0))}
	}
	fset.Visit(func(f *flag.Flag) {
		explicit[f.Name] = value{text: strings.TrimSpace(*flagVals[f.Name]), source: "flag --" + f.Name}
	})
	if _, ok := explicit["github-token"]; !ok {
		if t := env.Getenv("GITHUB_TOKEN"); t != "" && !s.InActions {
			explicit["github-token"] = value{text: t, source: "env GITHUB_TOKEN"}
		}
	}

	var errs []error
	// The config file.
	path := values["config"].text
	pathGiven := false
	if v, ok := explicit["config"]; ok {
		path, pathGiven = v.text, true
	}
	if path != "" {
		data, err := env.ReadFile(path)
		switch {
		case err != nil && errors.Is(err, fs.ErrNotExist) && !pathGiven:
			// The default config file is optional.
		case err != nil:
			errs = append(errs, &Error{Source: path, Msg: fmt.Sprintf("cannot read config file: %v", unwrapPathError(err))})
		case len(data) > maxConfigBytes:
			errs = append(errs, &Error{Source: path, Msg: fmt.Sprintf("config file is %d bytes, more than the %d allowed", len(data), maxConfigBytes)})
		default:
			s.ConfigPath = path
			file, err := parseFile(path, data)
			if err != nil {
				errs = append(errs, err)
			} else {
				for k, v := range file.settings {
					values[k] = v
				}
				s.Allow = file.allow
			}
		}
	}
	for k, v := range explicit {
		values[k] = v
	}
	errs = append(errs, s.apply(values)...)
	if len(errs) > 0 {
		return s, errors.Join(errs...)
	}
	return s, nil
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

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	roleARNPattern   = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	roleNamePattern  = regexp.MustCompile(`^[\w+=,.@/-]{1,512}$`)
)

func (s *Settings) apply(values map[string]value) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	get := func(name string) value { return values[name] }
	boolean := func(name string) bool {
		v := get(name)
		b, err := strconv.ParseBool(strings.ToLower(v.text))
		if err != nil {
			add(v.err("%q is not true or false", v.text))
		}
		return b
	}
	integer := func(name string, min, max int) int {
		v := get(name)
		n, err := strconv.Atoi(v.text)
		if err != nil {
			add(v.err("%q is not a whole number", v.text))
			return 0
		}
		if n < min || n > max {
			add(v.err("%d is out of range (%d to %d)", n, min, max))
		}
		return n
	}
	severity := func(name string) finding.Severity {
		v := get(name)
		sev, err := finding.ParseSeverity(v.text)
		if err != nil {
			add(v.err("%v", err))
		}
		return sev
	}
	oneOf := func(name string, allowed ...string) string {
		v := get(name)
		for _, a := range allowed {
			if strings.EqualFold(v.text, a) {
				return a
			}
		}
		add(v.err("%q is not one of %s", v.text, strings.Join(allowed, ", ")))
		return allowed[0]
	}

	if r := get("regions"); !strings.EqualFold(r.text, "all") {
		for _, name := range SplitList(r.text) {
			if err := ValidateRegion(name); err != nil {
				add(r.err("%v", err))
				continue
			}
			if !contains(s.Regions, name) {
				s.Regions = append(s.Regions, name)
			}
		}
		if len(s.Regions) == 0 && len(errs) == 0 {
			add(r.err("no region given (use all, or a list like us-east-1,eu-west-1)"))
		}
	}
	s.FailOn = severity("fail-on")
	s.CriticalDays = integer("critical-days", 0, 366)
	s.HighDays = integer("high-days", 0, 366)
	if s.HighDays < s.CriticalDays {
		v := get("high-days")
		add(v.err("%d is less than critical-days (%d)", s.HighDays, s.CriticalDays))
	}
	s.RecentUseDays = integer("recent-use-days", 0, 3660)
	s.CloudTrail = boolean("cloudtrail")
	s.IncludeDisabled = boolean("include-disabled")
	s.SARIFFile = get("sarif-file").text
	s.UploadSARIF = boolean("upload-sarif")
	s.Category = get("category").text
	if strings.ContainsAny(s.Category, "\r\n") {
		add(get("category").err("must be one line"))
	}
	s.Comment = oneOf("comment", "upsert", "off")
	s.GitHubToken = get("github-token").text
	if s.GitHubToken == "${{ github.token }}" {
		s.GitHubToken = ""
	}
	s.ReportJSON = get("report-json").text
	s.Remediate = oneOf("remediate", "none", "plan", "cancel")
	s.RemediateOn = severity("remediate-on")
	s.ReEnable = boolean("re-enable")
	s.OnScanError = oneOf("on-scan-error", "fail", "warn")
	s.MaxConcurrency = integer("max-concurrency", 1, 1024)
	if v := get("timeout"); true {
		d, err := time.ParseDuration(v.text)
		switch {
		case err != nil:
			add(v.err("%q is not a duration like 10m or 90s", v.text))
		case d <= 0 || d > 6*time.Hour:
			add(v.err("%s is out of range (above 0, at most 6h)", d))
		}
		s.Timeout = d
	}
	s.RoleToAssume = get("role-to-assume").text
	if v := get("role-to-assume"); v.text != "" && !roleARNPattern.MatchString(v.text) {
		add(v.err("%q is not an IAM role ARN (arn:aws:iam::111122223333:role/NAME)", v.text))
	}
	s.Audience = get("audience").text
	s.RoleSessionName = get("role-session-name").text
	s.RoleDurationSeconds = integer("role-duration-seconds", 900, 43200)
	s.RoleExternalID = get("role-external-id").text
	s.RoleName = get("role-name").text
	if v := get("role-name"); v.text != "" && !roleNamePattern.MatchString(v.text) {
		add(v.err("%q is not an IAM role name", v.text))
	}
	if v := get("accounts"); v.text != "" {
		for _, a := range SplitList(v.text) {
			switch {
			case roleARNPattern.MatchString(a):
			case accountIDPattern.MatchString(a):
				if s.RoleName == "" {
					add(v.err("account ID %s needs role-name (the role to assume in it)", a))
				}
			default:
				add(v.err("%q is neither a 12-digit account ID nor an IAM role ARN", a))
				continue
			}
			if !contains(s.Accounts, a) {
				s.Accounts = append(s.Accounts, a)
			}
		}
	}
	s.Organization = boolean("organization")
	if s.Organization && s.RoleName == "" {
		add(get("organization").err("organization: true needs role-name (the role to assume in each member account)"))
	}
	s.MaskAccountIDs = boolean("mask-account-ids")
	return errs
}

// SplitList splits a list given as comma-, space- or newline-separated text.
func SplitList(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t'
	})
	return fields
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
		if in.Secret {
			def = "$GITHUB_TOKEN"
		}
		fmt.Fprintf(w, "  --%s (default %q)\n      %s\n", in.Name, def, in.Description)
	}
	fmt.Fprint(w, `  --help
      Show this help.

Exit codes: 0 gate passed; 1 gate failed; 2 bad configuration (nothing
scanned); 3 scan incomplete under --on-scan-error fail.
`)
}
