package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/runner"
)

// Test credentials: recognisable, so a test can prove they never leak.
const (
	testAccessKey = "AKIARELIABILITYTEST1"
	testSecretKey = "reliabilitySecretKey/NeverPrintMe0000000001"
)

// shiftDays is how far after seeding the runs judge the keys, so that the
// 7..30-day windows moto accepts span every severity.
const shiftDays = 5

// spec is one run of the whole program.
type spec struct {
	// endpoint is the AWS endpoint (a fault proxy, or a counting proxy).
	endpoint string
	// inputs are action inputs by name (GITHUB_ACTIONS=true); the harness
	// adds report paths and turns GitHub calls and CloudTrail off unless given.
	inputs map[string]string
	// args run the CLI instead of the action (GITHUB_ACTIONS unset).
	args []string
	cli  bool
	// files are written into the run's directory before it starts; the
	// token {dir} in inputs, args and env is replaced by that directory.
	files map[string][]byte
	// env adds environment variables the program reads through Getenv.
	env map[string]string
	now time.Time
}

// outcome is what a run left behind.
type outcome struct {
	dir        string
	code       int
	stdout     string
	stderr     string
	summary    string
	outputsRaw string
	outputs    map[string]string
	jsonRaw    []byte
	report     *jsonreport.Report
	sarif      []byte
	elapsed    time.Duration
}

// awsLoader points the program's AWS configuration at endpoint with static
// test credentials, without reading the process's AWS environment files.
func awsLoader(endpoint string) func(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	return func(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
		opts = append(opts,
			awsconfig.WithBaseEndpoint(endpoint),
			awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, "")),
			awsconfig.WithSharedConfigFiles([]string{}),
			awsconfig.WithSharedCredentialsFiles([]string{}),
		)
		return awsconfig.LoadDefaultConfig(ctx, opts...)
	}
}

func run(t *testing.T, s spec) outcome {
	t.Helper()
	dir := t.TempDir()
	sub := func(v string) string { return strings.ReplaceAll(v, "{dir}", dir) }
	for name, data := range s.files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	workspace := filepath.Join(dir, "workspace")
	if err := os.MkdirAll(workspace, 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_WORKSPACE": workspace,
		"RUNNER_TEMP":      dir,
		"HOME":             dir,
	}
	defaults := map[string]string{
		"report-json":  filepath.Join(dir, "report.json"),
		"sarif-file":   filepath.Join(dir, "report.sarif"),
		"upload-sarif": "false",
		"comment":      "off",
		"cloudtrail":   "false",
	}
	var args []string
	if s.cli {
		given := map[string]bool{}
		for _, a := range s.args {
			if strings.HasPrefix(a, "--") {
				name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
				given[name] = true
			}
		}
		for _, name := range sortedKeys(defaults) {
			if !given[name] {
				args = append(args, "--"+name, defaults[name])
			}
		}
		for _, a := range s.args {
			args = append(args, sub(a))
		}
	} else {
		env["GITHUB_ACTIONS"] = "true"
		env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "summary.md")
		env["GITHUB_OUTPUT"] = filepath.Join(dir, "output.txt")
		for name, v := range defaults {
			if _, ok := s.inputs[name]; !ok {
				env["INPUT_"+strings.ToUpper(name)] = v
			}
		}
		for name, v := range s.inputs {
			env["INPUT_"+strings.ToUpper(name)] = sub(v)
		}
	}
	for k, v := range s.env {
		env[k] = sub(v)
	}
	now := s.now
	if now.IsZero() {
		now = time.Now().Add(shiftDays * 24 * time.Hour)
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	code := app.Run(ctx, app.Deps{
		Args:          args,
		Getenv:        func(k string) string { return env[k] },
		Stdout:        &stdout,
		Stderr:        &stderr,
		Now:           func() time.Time { return now },
		Version:       "reliability",
		LoadAWSConfig: awsLoader(s.endpoint),
	})
	o := outcome{dir: dir, code: code, stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	o.summary = readIfExists(t, filepath.Join(dir, "summary.md"))
	o.outputsRaw = readIfExists(t, filepath.Join(dir, "output.txt"))
	jsonPath := filepath.Join(dir, "report.json")
	if p, ok := s.inputs["report-json"]; ok {
		jsonPath = sub(p)
	}
	if b, err := os.ReadFile(jsonPath); err == nil {
		o.jsonRaw = b
		var r jsonreport.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("JSON report does not parse: %v\n%s", err, b)
		}
		o.report = &r
	}
	if b, err := os.ReadFile(filepath.Join(dir, "report.sarif")); err == nil {
		o.sarif = b
	}
	if o.outputsRaw != "" {
		o.outputs = parseOutputs(t, o.outputsRaw)
	}
	return o
}

func readIfExists(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return ""
		}
		t.Fatal(err)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseOutputs reads a GITHUB_OUTPUT file the way the runner does and checks
// every output is one the action declares, set once, on one line.
func parseOutputs(t *testing.T, raw string) map[string]string {
	t.Helper()
	out, err := runner.ParseOutputs(raw)
	if err != nil {
		t.Fatalf("%v:\n%s", err, raw)
	}
	known := map[string]bool{}
	for _, o := range config.Outputs {
		known[o.Name] = true
	}
	for name, value := range out {
		if !known[name] {
			t.Fatalf("output %q is not declared by the action:\n%s", name, raw)
		}
		if strings.Contains(value, "\n") {
			t.Fatalf("output %s has more than one line:\n%s", name, raw)
		}
	}
	return out
}

// fileProperty is an annotation's file= property, as escaped by
// escape.WorkflowProperty (no raw ',' or ':').
var fileProperty = regexp.MustCompile(`^(::(?:error|warning|notice) )file=[^,:]*`)

// allowedCommands are the workflow commands the program means to write.
var allowedCommand = regexp.MustCompile(`^::(warning|error|notice|debug|group|endgroup|add-mask)( [^:]*)?::`)

// checkLog asserts the job log cannot be hijacked: every line the runner
// would parse as a command is one the program means, with no second command
// inside; no legacy "##[" command anywhere; no control or bidi characters.
func checkLog(t *testing.T, name, log string) {
	t.Helper()
	if !utf8.ValidString(log) {
		t.Errorf("%s is not valid UTF-8", name)
	}
	for i, line := range strings.Split(log, "\n") {
		for _, r := range line {
			if (unicode.IsControl(r) && r != '\t') || isBidi(r) {
				t.Errorf("%s line %d holds control or bidi rune %U: %q", name, i+1, r, clip(line))
				break
			}
		}
		// The file= property of an annotation is a repository path that must
		// round-trip exactly for the annotation to land on the file (its ','
		// and ':' are escaped, so it cannot end the property list); the
		// runner parses "##[" only at the start of a line, so a path
		// holding it there is not a command. Everything else is checked.
		if strings.Contains(fileProperty.ReplaceAllString(line, "${1}file=PATH"), "##[") {
			t.Errorf("%s line %d holds a legacy command marker: %q", name, i+1, clip(line))
		}
		// The runner trims leading whitespace before it looks for "::".
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		if !strings.HasPrefix(trimmed, "::") {
			continue
		}
		m := allowedCommand.FindString(trimmed)
		if m == "" {
			t.Errorf("%s line %d starts a command the program does not mean: %q", name, i+1, clip(line))
			continue
		}
		if rest := trimmed[len(m):]; strings.Contains(rest, "::") {
			t.Errorf("%s line %d carries a second command after %q: %q", name, i+1, m, clip(line))
		}
	}
}

func isBidi(r rune) bool {
	switch r {
	case '\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e',
		'\u2066', '\u2067', '\u2068', '\u2069', '\u2028', '\u2029':
		return true
	}
	return false
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

var (
	codeSpan   = regexp.MustCompile("`[^`\n]*`")
	htmlTag    = regexp.MustCompile(`<(/?)([A-Za-z][A-Za-z0-9-]*)`)
	mention    = regexp.MustCompile(`@[\p{L}\p{N}]`)
	reference  = regexp.MustCompile(`#[0-9]`)
	summaryTag = map[string]bool{"br": true, "sub": true, "details": true, "summary": true}
)

// checkMarkdown asserts rendered Markdown (job summary, PR comment) holds no
// markup from untrusted text: outside code spans and fenced blocks no HTML
// but the renderer's own tags, no mentions or issue references, no
// javascript: links; every table row has as many cells as its header; no
// control or bidi characters.
func checkMarkdown(t *testing.T, name, md string) {
	t.Helper()
	if !utf8.ValidString(md) {
		t.Errorf("%s is not valid UTF-8", name)
	}
	inFence := false
	headerCells := -1
	for i, line := range strings.Split(md, "\n") {
		for _, r := range line {
			if (unicode.IsControl(r) && r != '\t') || isBidi(r) {
				t.Errorf("%s line %d holds control or bidi rune %U: %q", name, i+1, r, clip(line))
				break
			}
		}
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if strings.HasPrefix(line, "|") {
			cells := countCells(line)
			if headerCells < 0 {
				headerCells = cells
			} else if cells != headerCells {
				t.Errorf("%s line %d: table row has %d cells, header has %d: %q", name, i+1, cells, headerCells, clip(line))
			}
		} else {
			headerCells = -1
		}
		prose := codeSpan.ReplaceAllString(line, "``")
		prose = strings.ReplaceAll(prose, "&#124;", "")
		for _, m := range htmlTag.FindAllStringSubmatch(prose, -1) {
			if !summaryTag[strings.ToLower(m[2])] {
				t.Errorf("%s line %d holds raw HTML <%s%s: %q", name, i+1, m[1], m[2], clip(line))
			}
		}
		if loc := mention.FindStringIndex(prose); loc != nil {
			t.Errorf("%s line %d holds a mention %q: %q", name, i+1, prose[loc[0]:loc[1]], clip(line))
		}
		if loc := reference.FindStringIndex(prose); loc != nil {
			t.Errorf("%s line %d holds an issue reference %q: %q", name, i+1, prose[loc[0]:loc[1]], clip(line))
		}
		if strings.Contains(strings.ToLower(prose), "](javascript:") {
			t.Errorf("%s line %d holds a javascript: link: %q", name, i+1, clip(line))
		}
	}
}

// countCells counts the cells of a GFM table row: pipes not escaped with a
// backslash (GFM honours \| even inside code spans) delimit them.
func countCells(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' {
			i++
			continue
		}
		if line[i] == '|' {
			n++
		}
	}
	return n - 1
}

// findingKey is what must survive a fault unchanged about a finding.
type findingKey struct {
	Account, Region, KeyID, State, Severity, DeletionDate, Aliases string
	Allowlisted                                                    bool
}

func findingKeys(r *jsonreport.Report) []findingKey {
	if r == nil {
		return nil
	}
	var out []findingKey
	for _, f := range r.Findings {
		dd := ""
		if f.DeletionDate != nil {
			dd = *f.DeletionDate
		}
		out = append(out, findingKey{f.Account, f.Region, f.KeyID, f.State, f.Severity, dd, strings.Join(f.Aliases, ","), f.Allowlisted})
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// seedKey creates a key in region, with description, tags and alias, and
// schedules its deletion window days out (0: leave it enabled; -1: disable).
func seedKey(t *testing.T, srv *moto.Server, region, description string, tags map[string]string, alias string, window int) string {
	t.Helper()
	k := moto.Key{Description: description, Tags: tags, Alias: alias, PendingDays: max(window, 0), Disable: window < 0}
	return srv.Seed(t, region, k)[0].ID
}
