package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/console"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/plan"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/policy"
)

// The phases that judge what a change does: the deletions its plans make,
// which findings its changed files touch, and which allowlist entries it
// added.

// readPlans reads the Terraform plans and change sets of the settings and
// finds the line that declares each deleted key. It runs before any AWS
// call: an unreadable plan is bad configuration (exit 2).
func readPlans(ctx context.Context, s config.Settings, workspace string) ([]plan.Deletion, []string, error) {
	if len(s.TerraformPlans)+len(s.ChangeSets) == 0 {
		return nil, nil, nil
	}
	w, err := plan.ScanWorkspace(ctx, workspace)
	var warnings []string
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("searching the repository for the resources the plans delete: %v", err))
	}
	if w.Truncated {
		warnings = append(warnings, "the search for the resources the plans delete stopped at its file bound; some are not located")
	}
	var out []plan.Deletion
	for _, p := range s.TerraformPlans {
		var tp plan.TerraformPlan
		if err := withFile(workspace, p, func(f *os.File) (err error) { tp, err = plan.ReadTerraform(f, p, 0); return err }); err != nil {
			return nil, nil, fmt.Errorf("input terraform-plan: %w", err)
		}
		w.LocateTerraform(&tp)
		out = append(out, tp.Deletions...)
	}
	for _, p := range s.ChangeSets {
		var cs plan.ChangeSet
		if err := withFile(workspace, p, func(f *os.File) (err error) { cs, err = plan.ReadChangeSet(f, p, 0); return err }); err != nil {
			return nil, nil, fmt.Errorf("input cloudformation-changeset: %w", err)
		}
		w.LocateChangeSet(&cs)
		if len(cs.Retained) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s: the change set retains %s (DeletionPolicy or UpdateReplacePolicy Retain); not counted as deleted", p, strings.Join(cs.Retained, ", ")))
		}
		out = append(out, cs.Deletions...)
	}
	return out, warnings, nil
}

// withFile opens a plan, relative to the workspace unless absolute.
func withFile(workspace, p string, read func(*os.File) error) error {
	path := p
	if !filepath.IsAbs(path) {
		path = filepath.Join(workspace, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", p, unwrapPath(err))
	}
	defer f.Close()
	return read(f)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// addPlanned adds a kms-key-deletion-planned finding per planned deletion,
// with its live key looked up in the accounts the run has credentials for.
func addPlanned(ctx context.Context, s config.Settings, log *console.Console, clients *clientCache, deletions []plan.Deletion, res *finding.Result) {
	if len(deletions) == 0 {
		return
	}
	done := log.Group(fmt.Sprintf("Looking up the %d key(s) the plans delete", len(deletions)))
	lookup := func(account, region string) plan.KeyAPI {
		if clients == nil {
			return nil
		}
		if c := clients.kms(account, region); c != nil {
			return c
		}
		return nil
	}
	fs, warnings := plan.Findings(ctx, deletions, lookup, s.MaxConcurrency)
	res.Findings = append(res.Findings, fs...)
	res.Warnings = append(res.Warnings, warnings...)
	done()
}

// prContext is what the change phases read of GitHub: the changed files and
// the base branch's allowlist. It is empty outside a pull request or
// without a token.
type prContext struct {
	gh    *github.Client
	actx  github.ActionsContext
	event string // GITHUB_EVENT_NAME, known with or without a token

	// The changed files, listed once, and their base versions.
	listed    bool
	changed   []string
	truncated bool
	listErr   error
	base      *plan.Workspace

	// The config file at the base commit, read once: its settings and its
	// allowlist both come from the one read.
	config baseRead
}

type baseRead struct {
	path  string
	read  bool
	data  []byte
	found bool
	err   error
}

// baseConfig reads, once, the config file at path (a repository path) at
// the pull request's base commit.
func (p *prContext) baseConfig(ctx context.Context, path string) ([]byte, bool, error) {
	if !p.config.read || p.config.path != path {
		data, found, err := p.gh.FileAt(ctx, path, p.actx.PRBaseSHA)
		p.config = baseRead{path: path, read: true, data: data, found: found, err: err}
	}
	return p.config.data, p.config.found, p.config.err
}

func newPRContext(d Deps, s config.Settings) *prContext {
	event := d.Getenv("GITHUB_EVENT_NAME")
	if s.GitHubToken == "" || d.Getenv("GITHUB_REPOSITORY") == "" {
		return &prContext{event: event}
	}
	gh := github.New(github.Options{Token: s.GitHubToken, Getenv: d.Getenv, HTTPClient: d.HTTPClient})
	return &prContext{gh: gh, actx: gh.Context(), event: event}
}

// unreadable reports a pull request run that cannot call GitHub (no token,
// or no pull request in the event payload).
func (p *prContext) unreadable() bool {
	return config.IsPullRequestEvent(p.event) && !p.pullRequest()
}

func (p *prContext) pullRequest() bool {
	return p.gh != nil && p.actx.PRNumber > 0 && config.IsPullRequestEvent(p.actx.EventName)
}

// changedFiles lists the pull request's changed files through the API, once.
func (p *prContext) changedFiles(ctx context.Context) ([]string, bool, error) {
	if !p.listed {
		p.listed = true
		p.changed, p.truncated, p.listErr = p.gh.ChangedFiles(ctx, p.actx.PRNumber)
	}
	return p.changed, p.truncated, p.listErr
}

// maxBaseFiles bounds the base versions of changed files read to find where
// a removed resource was declared.
const maxBaseFiles = 50

// baseWorkspace reads, once, the base commit's versions of the pull
// request's changed infrastructure files (at most maxBaseFiles); nil
// outside a pull request or when the files cannot be listed.
func (p *prContext) baseWorkspace(ctx context.Context, log *console.Console) *plan.Workspace {
	if p.base != nil || !p.pullRequest() {
		return p.base
	}
	files, _, err := p.changedFiles(ctx)
	if err != nil {
		return nil // scopeFindings reports it
	}
	p.base = plan.NewWorkspace("")
	read := 0
	for _, f := range files {
		if !plan.IsDeclarationFile(f) || read >= maxBaseFiles {
			continue
		}
		read++
		data, found, err := p.gh.FileAt(ctx, f, p.actx.PRBaseSHA)
		if err != nil {
			log.Warningf("base version of %s: %v", f, err)
			break
		}
		if found {
			p.base.AddFile(f, data)
		}
	}
	return p.base
}

// settleRemovals drops the change set removals whose deployed template (the
// base commit's version) retains the key, when the change set did not say.
func settleRemovals(ctx context.Context, log *console.Console, pr *prContext, deletions []plan.Deletion, res *finding.Result) []plan.Deletion {
	needed := false
	for _, d := range deletions {
		needed = needed || (d.Tool == plan.ToolCloudFormation && !d.Replace)
	}
	if !needed {
		return deletions
	}
	kept, retained := plan.SettleRemovals(deletions, pr.baseWorkspace(ctx, log))
	if len(retained) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the base commit's template retains %s (DeletionPolicy Retain); not counted as deleted", strings.Join(retained, ", ")))
	}
	return kept
}

// locateRemoved finds, for each planned deletion whose declaration the
// change removes, the line of the base commit that declared it: in the base
// versions of the pull request's changed infrastructure files.
func locateRemoved(ctx context.Context, log *console.Console, pr *prContext, res *finding.Result) {
	var removed []*finding.PlannedChange
	for _, f := range res.Findings {
		if p := f.Planned; p != nil && p.Declared == nil {
			removed = append(removed, p)
		}
	}
	if len(removed) == 0 {
		return
	}
	base := pr.baseWorkspace(ctx, log)
	if base == nil {
		return
	}
	for _, p := range removed {
		if loc, ok := base.DeclarationOf(p.Tool, p.Type, p.Name); ok {
			p.RemovedFrom = &loc
		}
	}
}

// scopeFindings marks, under fail-scope change, the findings outside the
// change: the changed files come from the pull-request files API. When a pull
// request's changed files cannot be listed, or only in part, the scope fails
// closed: every finding counts, as under fail-scope all, rather than letting a
// key the change references pass as elsewhere.
func scopeFindings(ctx context.Context, s config.Settings, log *console.Console, pr *prContext, res *finding.Result) {
	scope := s.FailScope
	var changed []string
	if scope == config.ScopeChange {
		const failClosed = "; every finding counts for the verdict, as under fail-scope all"
		switch {
		case pr.pullRequest():
			files, truncated, err := pr.changedFiles(ctx)
			switch {
			case err != nil:
				log.Warningf("changed files: %v", err)
				res.Warnings = append(res.Warnings, "the pull request's changed files could not be listed"+failClosed)
				scope = config.ScopeAll
			case truncated:
				res.Warnings = append(res.Warnings, "the pull request changes more files than GitHub lists (3,000), so what it references is not known"+failClosed)
				scope = config.ScopeAll
			}
			changed = files
		case pr.unreadable():
			res.Warnings = append(res.Warnings, "the pull request's changed files could not be listed (no github-token, or no pull request in the event payload)"+failClosed)
			scope = config.ScopeAll
		default:
			res.Warnings = append(res.Warnings, "fail-scope change outside a pull request: only the planned deletions count for the verdict")
		}
	}
	policy.MarkElsewhere(res, scope, changed)
}

// trustedAllowlist returns the allowlist entries that approve deletions and
// those the pull request adds or widens. On a pull request with
// allowlist-from base, the base is the config file at the pull request's
// base commit, read through the contents API; if it cannot be read, every
// entry of the pull request's file is treated as added.
func trustedAllowlist(ctx context.Context, s config.Settings, log *console.Console, pr *prContext, workspace string, res *finding.Result) (trusted, added []config.AllowEntry) {
	switch {
	case s.AllowlistFrom == config.AllowlistHead || len(s.Allow) == 0 || !config.IsPullRequestEvent(pr.event):
		return s.Allow, nil
	case pr.unreadable():
		// The pull request's own file cannot be told from the base's: it
		// approves nothing, rather than everything it says.
		res.Warnings = append(res.Warnings, "the base branch's allowlist could not be read (no github-token, or no pull request in the event payload); no entry approves on this pull request")
		return policy.SplitTrusted(nil, s.Allow, false)
	}
	path, ok := repoPath(workspace, s.ConfigPath)
	var base []config.AllowEntry
	switch data, found, err := pr.baseConfig(ctx, path); {
	case !ok:
		res.Warnings = append(res.Warnings, "the config file is outside the repository, so the base branch's allowlist could not be read; no entry of it approves on this pull request")
	case err != nil:
		log.Warningf("base branch allowlist: %v", err)
		res.Warnings = append(res.Warnings, "the base branch's allowlist could not be read; no entry approves on this pull request until it is")
	case found:
		entries, perr := config.ParseAllowlist(path+"@base", data)
		if perr != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the base branch's allowlist is invalid (%v); no entry approves on this pull request", perr))
		}
		base = entries
	}
	return policy.SplitTrusted(base, s.Allow, false)
}

// repoPath turns the config path into a repository path.
func repoPath(workspace, p string) (string, bool) {
	if p == "" {
		return "", false
	}
	if filepath.IsAbs(p) {
		rel, err := filepath.Rel(workspace, p)
		if err != nil {
			return "", false
		}
		p = rel
	}
	p = filepath.ToSlash(filepath.Clean(p))
	if p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return "", false
	}
	return p, true
}

// pullRequestSettings, on a pull request judged with allowlist-from base,
// takes each config-file setting by its rule against the base branch's file
// (config.Settings.ForPullRequest): the pull request cannot weaken its own
// gate through the file. It logs each setting the pull request changes.
// Other events, and allowlist-from head, keep the settings as loaded.
func pullRequestSettings(ctx context.Context, s config.Settings, log *console.Console, pr *prContext, workspace string) (config.Settings, []finding.SettingChange, error) {
	if s.AllowlistFrom == config.AllowlistHead || !config.IsPullRequestEvent(pr.event) || s.ConfigSetting == "" {
		return s, nil, nil
	}
	base := config.BaseFile{Path: s.ConfigSetting}
	path, inRepo := repoPath(workspace, s.ConfigSetting)
	if inRepo {
		base.Path = path
	}
	switch {
	case pr.unreadable():
		base.Unreadable = "no github-token, or no pull request in the event payload"
	case !inRepo:
		base.Unreadable = "the config file is outside the repository"
	default:
		data, found, err := pr.baseConfig(ctx, path)
		if err != nil {
			base.Unreadable = err.Error()
		}
		base.Data, base.Found = data, found
	}
	out, changes, err := s.ForPullRequest(base)
	if err != nil {
		return s, nil, err
	}
	for _, c := range changes {
		switch {
		case c.BaseUnread:
			log.Warningf("this pull request sets %s to %s in %s; %s applies instead, as the base branch's config file could not be read", c.Setting, shownValue(c.Head), c.File, shownValue(c.Base))
		case c.Applied:
			log.Infof("this pull request changes %s from %s to %s in %s; stricter, it applies now", c.Setting, shownValue(c.Base), shownValue(c.Head), c.File)
		default:
			log.Warningf("this pull request changes %s from %s to %s in %s; it applies once merged (the base branch's value applies to this pull request)", c.Setting, shownValue(c.Base), shownValue(c.Head), c.File)
		}
	}
	return out, changes, nil
}

// shownValue names a setting's value in the log: an empty one as such.
func shownValue(v string) string {
	if v == "" {
		return "(empty)"
	}
	return v
}
