package policy

import (
	"path"
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// InChange reports, for each finding, whether it belongs to the change under
// review: a deletion the change plans (rule kms-key-deletion-planned), or a
// key one of the changed files references. Under fail-scope change only
// those count for the verdict; the rest are reported as elsewhere in the
// account. changedFiles are repository paths (the pull request's files, or
// git diff --name-only); finding locations are relative to the same root.
func InChange(findings []finding.Finding, changedFiles []string) []bool {
	changed := make(map[string]bool, len(changedFiles))
	for _, f := range changedFiles {
		if p := cleanRepoPath(f); p != "" {
			changed[p] = true
		}
	}
	out := make([]bool, len(findings))
	for i, f := range findings {
		if f.RuleID == finding.RuleDeletionPlanned {
			out[i] = true
			continue
		}
		for _, loc := range f.Locations {
			if changed[cleanRepoPath(loc.Path)] {
				out[i] = true
				break
			}
		}
	}
	return out
}

// cleanRepoPath normalises a repository path for comparison: slashes,
// no leading ./ or /, no dot segments.
func cleanRepoPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "." {
		return ""
	}
	return p
}
