package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
)

// The config file of a pull request's checkout cannot weaken its own gate
// (config.Settings.ForPullRequest): thresholds are the stricter of the base
// branch's and the pull request's, scope and remediation the base
// branch's, read through the contents API at the base commit.

const prConfigPath = ".github/kms-deletion-gate.yml"

// mediumAlias is the alias of the seeded key pending deletion in 25 days
// (medium), which the pull request's infra/app.tf references: in scope.
const mediumAlias = "alias/app-us-east-1-z"

// newConfigPRWorld is a pull request whose changed infra/app.tf references
// a key pending deletion (medium), with base and head config files; the
// regions come from the files, not from an input.
func newConfigPRWorld(t *testing.T, base, head string) (*prWorld, map[string]string) {
	t.Helper()
	w := newPRWorld(t, "github-actions[bot]", []string{"infra/app.tf", prConfigPath})
	write(t, filepath.Join(w.workspace, "infra", "app.tf"), "data \"aws_kms_alias\" \"app\" {\n  name = \""+mediumAlias+"\"\n}\n")
	if base != "" {
		w.gh.AddFile(w.baseSHA, prConfigPath, base)
	}
	write(t, filepath.Join(w.workspace, prConfigPath), head)
	inputs := map[string]string{"INPUT_REGIONS": "", "INPUT_CONFIG": filepath.Join(w.workspace, prConfigPath), "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "summary.md")}
	return w, inputs
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// inScope returns the findings that count for the verdict.
func inScope(r run) []string {
	var out []string
	for _, f := range r.report.Findings {
		if !f.Elsewhere {
			out = append(out, f.Severity+" "+strings.Join(f.Aliases, ","))
		}
	}
	return out
}

func scannedRegions(r run) string {
	var regions []string
	for _, t := range r.report.Coverage.Scanned {
		regions = append(regions, t.Region)
	}
	return strings.Join(regions, ",")
}

// TestPullRequestCannotLoosenItsConfig: a pull request that sets fail-on
// none and moves the scan to another region in the config file still fails
// on the key pending deletion it references; the log, the comment and the
// job summary say each change applies once merged. With allowlist-from
// head the pull request's settings apply.
func TestPullRequestCannotLoosenItsConfig(t *testing.T) {
	w, inputs := newConfigPRWorld(t, "fail-on: medium\nregions: [us-east-1]\n", "fail-on: none\nregions: [eu-west-1]\n")
	r := w.run(t, inputs)
	if r.code != app.ExitFail || r.report.FailOn != "medium" || scannedRegions(r) != "us-east-1" {
		t.Fatalf("exit %d, fail-on %q, scanned %q; want 1, medium, us-east-1\n%s", r.code, r.report.FailOn, scannedRegions(r), r.stdout)
	}
	if got := strings.Join(inScope(r), ";"); got != "medium "+mediumAlias {
		t.Errorf("findings in scope: %q", got)
	}
	for _, want := range []string{
		"::warning::this pull request changes fail-on from medium to none in " + prConfigPath + "; it applies once merged",
		"::warning::this pull request changes regions from us-east-1 to eu-west-1 in " + prConfigPath + "; it applies once merged",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	changes := map[string]string{}
	for _, c := range r.report.SettingChanges {
		if c.Applied || c.File != prConfigPath {
			t.Errorf("JSON report setting change %+v: want it held until merged, in %s", c, prConfigPath)
		}
		changes[c.Setting] = c.Base + "->" + c.Head
	}
	if len(changes) != 2 || changes["fail-on"] != "medium->none" || changes["regions"] != "us-east-1->eu-west-1" {
		t.Errorf("JSON report setting_changes: %v", changes)
	}
	body := w.gh.Comments(prNumber)[0].Body
	summary, err := os.ReadFile(inputs["GITHUB_STEP_SUMMARY"])
	if err != nil {
		t.Fatal(err)
	}
	for name, md := range map[string]string{"comment": body, "summary": string(summary)} {
		for _, want := range []string{
			"This pull request changes `fail-on` from `medium` to `none` in `" + prConfigPath + "`; it applies once merged",
			"This pull request changes `regions` from `us-east-1` to `eu-west-1` in `" + prConfigPath + "`; it applies once merged",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, md)
			}
		}
	}
	if n := len(w.gh.Calls(fakegithub.OpGetContent)); n != 1 {
		t.Errorf("%d contents calls, want the base file read once", n)
	}

	r = w.run(t, with(inputs, "INPUT_ALLOWLIST-FROM", "head"))
	if r.code != app.ExitPass || r.report.FailOn != "none" || scannedRegions(r) != "eu-west-1" {
		t.Fatalf("allowlist-from head: exit %d, fail-on %q, scanned %q; want 0, none, eu-west-1\n%s", r.code, r.report.FailOn, scannedRegions(r), r.stdout)
	}
	if strings.Contains(r.stdout, "this pull request changes") {
		t.Error("allowlist-from head reported changes held back")
	}
}

// TestPullRequestTightensItsConfig: a stricter fail-on in the pull
// request's file applies at once; the same file as the base passes.
func TestPullRequestTightensItsConfig(t *testing.T) {
	base := "fail-on: high\nregions: us-east-1\n"
	w, inputs := newConfigPRWorld(t, base, base)
	if r := w.run(t, inputs); r.code != app.ExitPass || r.report.FailOn != "high" {
		t.Fatalf("unchanged config: exit %d, fail-on %q; want 0, high\n%s", r.code, r.report.FailOn, r.stdout)
	}
	write(t, filepath.Join(w.workspace, prConfigPath), "fail-on: medium\nregions: us-east-1\n")
	r := w.run(t, inputs)
	if r.code != app.ExitFail || r.report.FailOn != "medium" {
		t.Fatalf("tightened: exit %d, fail-on %q; want 1, medium\n%s", r.code, r.report.FailOn, r.stdout)
	}
	want := "This pull request changes `fail-on` from `high` to `medium` in `" + prConfigPath + "`; stricter, it applies now."
	if body := w.gh.Comments(prNumber)[0].Body; !strings.Contains(body, want) {
		t.Errorf("comment lacks %q:\n%s", want, body)
	}
	if strings.Contains(r.stdout, "::warning::this pull request changes") {
		t.Error("a tightening was warned about as held back")
	}
}

// TestPullRequestConfigBaseUnreadable: when the base branch's file cannot
// be read (the contents API fails; no token), the gate fails closed:
// fail-on is the stricter of the pull request's and the default, and
// remediate cancel goes no further than plan. The pull request's regions
// apply, with a warning.
func TestPullRequestConfigBaseUnreadable(t *testing.T) {
	head := "fail-on: none\nregions: us-east-1\nremediate: cancel\n"
	w, inputs := newConfigPRWorld(t, "fail-on: low\nregions: eu-west-1\n", head)
	w.gh.Fail(fakegithub.OpGetContent, 100, fakegithub.Fault{Status: http.StatusInternalServerError})
	r := w.run(t, inputs)
	if r.code != app.ExitFail || r.report.FailOn != "medium" || scannedRegions(r) != "us-east-1" {
		t.Fatalf("API error: exit %d, fail-on %q, scanned %q; want 1, medium, us-east-1\n%s", r.code, r.report.FailOn, scannedRegions(r), r.stdout)
	}
	remediated := 0
	for _, f := range r.report.Findings {
		if rm := f.Remediation; rm != nil {
			remediated++
			if rm.Outcome != "planned" {
				t.Errorf("key %s: remediation %q with the base unread, want planned only", f.KeyID, rm.Outcome)
			}
		}
	}
	if remediated == 0 {
		t.Error("remediate plan planned nothing")
	}
	warnings := strings.Join(r.report.Warnings, "\n")
	if !strings.Contains(warnings, "config file "+prConfigPath+" could not be read") || !strings.Contains(warnings, "remediate goes no further than plan") {
		t.Errorf("warnings: %s", warnings)
	}
	body := w.gh.Comments(prNumber)[0].Body
	for _, want := range []string{
		"This pull request sets `fail-on` to `none` in `" + prConfigPath + "`; `medium` applies instead",
		"This pull request sets `remediate` to `cancel` in `" + prConfigPath + "`; `plan` applies instead",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}

	// Without a token the changed files are unknown too: fail-scope all
	// keeps the referenced key counted.
	r = w.run(t, with(inputs, "INPUT_GITHUB-TOKEN", "", "INPUT_COMMENT", "off", "INPUT_FAIL-SCOPE", "all"))
	if r.code != app.ExitFail || r.report.FailOn != "medium" {
		t.Fatalf("no token: exit %d, fail-on %q; want 1, medium\n%s", r.code, r.report.FailOn, r.stdout)
	}
	if w := strings.Join(r.report.Warnings, "\n"); !strings.Contains(w, "config file "+prConfigPath+" could not be read (no github-token") {
		t.Errorf("warnings: %v", r.report.Warnings)
	}
}

// TestPullRequestBaseHasNoConfigFile: a pull request that adds the config
// file runs with the base branch's settings, the defaults, until merged.
func TestPullRequestBaseHasNoConfigFile(t *testing.T) {
	w, inputs := newConfigPRWorld(t, "", "fail-on: none\nregions: us-east-1\n")
	r := w.run(t, with(inputs, "INPUT_REGIONS", "us-east-1"))
	if r.code != app.ExitFail || r.report.FailOn != "medium" {
		t.Fatalf("exit %d, fail-on %q; want 1, medium\n%s", r.code, r.report.FailOn, r.stdout)
	}
	if body := w.gh.Comments(prNumber)[0].Body; !strings.Contains(body, "changes `fail-on` from `medium` to `none`") {
		t.Errorf("comment:\n%s", body)
	}
	for _, warning := range r.report.Warnings {
		if strings.Contains(warning, "could not be read") {
			t.Errorf("a base without the file is read, not unreadable: %s", warning)
		}
	}
}

// TestConfigOutsidePullRequests: other events take the checkout's file as
// it is, and read nothing at a base commit.
func TestConfigOutsidePullRequests(t *testing.T) {
	w, inputs := newConfigPRWorld(t, "fail-on: medium\n", "fail-on: none\nregions: us-east-1\n")
	r := w.run(t, with(inputs, "GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/main"))
	if r.code != app.ExitPass || r.report.FailOn != "none" || len(r.report.Findings) == 0 {
		t.Fatalf("push: exit %d, fail-on %q, %d findings; want 0, none, some\n%s", r.code, r.report.FailOn, len(r.report.Findings), r.stdout)
	}
	if n := len(w.gh.Calls(fakegithub.OpGetContent)); n != 0 {
		t.Errorf("%d contents calls outside a pull request", n)
	}
}

// TestPullRequestBadHeadConfig: the pull request's file is still checked
// first: a bad value is bad configuration (exit 2, file, line and field),
// before any call to GitHub or AWS.
func TestPullRequestBadHeadConfig(t *testing.T) {
	w, inputs := newConfigPRWorld(t, "fail-on: medium\n", "regions: us-east-1\nfail-on: sometimes\n")
	r := w.run(t, inputs)
	want := prConfigPath + ":2: fail-on: unknown severity \"sometimes\""
	if r.code != app.ExitBadConfig || !strings.Contains(r.stdout, want) {
		t.Fatalf("exit %d, want 2 and %q\n%s", r.code, want, r.stdout)
	}
	if n := len(w.gh.Calls()); n != 0 {
		t.Errorf("%d GitHub calls for a bad configuration", n)
	}
}
