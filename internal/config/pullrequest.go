package config

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// A pull request's checkout holds its own config file: read as is, a pull
// request could set fail-on: none, or narrow the regions, and pass its own
// gate. On a pull request judged with allowlist-from base, ForPullRequest
// takes each config-file setting by its PRRule instead. Inputs and flags
// given in the workflow keep their precedence over both files: the
// workflow is reviewed by GitHub's own rules.

// PRRule says whose value of a config-file setting applies on a pull
// request judged with allowlist-from base.
type PRRule string

// Pull request rules.
const (
	// PRStricter: the stricter of the base branch's and the pull request's
	// values. A pull request may tighten at once, never loosen.
	PRStricter PRRule = "stricter"
	// PRBase: the base branch's value; the pull request's applies once
	// merged. For what is scanned and what the run does to AWS.
	PRBase PRRule = "base"
	// PRHead: the pull request's value. For where reports go, which the
	// verdict does not read.
	PRHead PRRule = "head"
)

// prRule is how one config-file setting is taken on a pull request.
type prRule struct {
	rule PRRule
	// compare (PRStricter) returns > 0 when head is stricter than base, 0
	// when they are equivalent and < 0 when head is looser. Both texts are
	// valid values of the setting.
	compare func(base, head string) int
	// stricter says, for the README, which value is the stricter.
	stricter string
	// unread (PRBase) is the value used when the base branch's file cannot
	// be read, from the pull request's; nil means the pull request's.
	unread func(head string) string
	// unreadDoc says, for the README, what unread does.
	unreadDoc string
}

// pullRequestRules holds the rule of every setting the config file may
// hold (a test checks that none is missing; one missing is taken from the
// base branch).
var pullRequestRules = map[string]prRule{
	"fail-on":          {rule: PRStricter, compare: compareFailOn, stricter: "the lower severity (none is the loosest)"},
	"critical-days":    {rule: PRStricter, compare: compareInt, stricter: "the larger"},
	"high-days":        {rule: PRStricter, compare: compareInt, stricter: "the larger"},
	"recent-use-days":  {rule: PRStricter, compare: compareInt, stricter: "the larger"},
	"cloudtrail":       {rule: PRStricter, compare: compareBool, stricter: "true (failed uses make a key critical)"},
	"include-disabled": {rule: PRStricter, compare: compareBool, stricter: "true (more findings)"},
	"on-scan-error":    {rule: PRStricter, compare: compareScanError, stricter: "fail"},
	"timeout":          {rule: PRStricter, compare: compareDuration, stricter: "the longer"},
	"mask-account-ids": {rule: PRStricter, compare: compareBool, stricter: "true"},

	"regions":         {rule: PRBase},
	"accounts":        {rule: PRBase},
	"role-name":       {rule: PRBase},
	"organization":    {rule: PRBase},
	"max-concurrency": {rule: PRBase},
	"remediate":       {rule: PRBase, unread: atMostPlan, unreadDoc: "pull request's, at most plan"},
	"remediate-on":    {rule: PRBase},
	"re-enable":       {rule: PRBase},

	"sarif-file":          {rule: PRHead},
	"upload-sarif":        {rule: PRHead},
	"wait-for-processing": {rule: PRHead},
	"category":            {rule: PRHead},
	"comment":             {rule: PRHead},
	"report-json":         {rule: PRHead},
	"issue":               {rule: PRHead},
	"junit-file":          {rule: PRHead},
	"ocsf-file":           {rule: PRHead},
}

// PullRequestRuleDoc documents how one config-file setting is taken on a
// pull request, for the README.
type PullRequestRuleDoc struct {
	Name string
	Rule PRRule
	// Stricter says which value is the stricter (PRStricter).
	Stricter string
	// Unread says what applies when the base branch's file cannot be read.
	Unread string
}

// PullRequestRules lists the rule of every config-file setting, in the
// order of Inputs.
func PullRequestRules() []PullRequestRuleDoc {
	var out []PullRequestRuleDoc
	for _, in := range Inputs {
		if !in.InFile {
			continue
		}
		r := ruleOf(in.Name)
		d := PullRequestRuleDoc{Name: in.Name, Rule: r.rule, Stricter: r.stricter}
		switch {
		case r.rule == PRStricter:
			d.Unread = "stricter of pull request and default"
		case r.unreadDoc != "":
			d.Unread = r.unreadDoc
		default:
			d.Unread = "pull request's"
		}
		out = append(out, d)
	}
	return out
}

func ruleOf(name string) prRule {
	if r, ok := pullRequestRules[name]; ok {
		return r
	}
	return prRule{rule: PRBase}
}

// BaseFile is the base branch's config file, as a pull request run could
// read it.
type BaseFile struct {
	// Path is the file's repository path, for messages.
	Path string
	Data []byte
	// Found is false when the base commit has no file at Path: the base
	// branch runs with the defaults, which are then its values.
	Found bool
	// Unreadable says why the file could not be read (no token, a path
	// outside the repository, an API error); empty when it was read.
	Unreadable string
}

// ForPullRequest returns the settings of a pull request run judged with
// allowlist-from base, given the base branch's config file, and the
// config-file settings the pull request changes. Inputs and flags given
// keep their precedence; of each setting the files hold, the value is
// taken by its PRRule. When the base file cannot be read, or is invalid,
// PRStricter settings take the stricter of the pull request's value and the
// default, PRBase settings the pull request's (remediate at most plan), and
// a warning says so. s must come from Load.
func (s Settings) ForPullRequest(base BaseFile) (Settings, []finding.SettingChange, error) {
	if s.layers == nil {
		return s, nil, nil
	}
	reason := base.Unreadable
	if reason == "" {
		baseValues, err := s.baseValues(base)
		if err == nil {
			out, changes, errs := s.merge(base.Path, baseValues)
			if len(errs) == 0 {
				return out, changes, nil
			}
			err = joinErrors(errs)
		}
		reason = fmt.Sprintf("it is invalid: %v", err)
	}
	out, changes, errs := s.merge(base.Path, nil)
	if len(errs) > 0 {
		return out, changes, joinErrors(errs)
	}
	if s.ConfigPath != "" {
		// Without a file of its own, the pull request's values are the
		// defaults: nothing of it applies that needs saying.
		out.Warnings = append(out.Warnings, unreadWarning(base.Path, reason))
	}
	return out, changes, nil
}

// baseValues parses the base file's settings and checks them as a run of
// the base branch with this run's inputs would. A base without the file
// has no values: the defaults are its.
func (s Settings) baseValues(base BaseFile) (map[string]value, error) {
	if !base.Found {
		return map[string]value{}, nil
	}
	f, err := parseBounded(base.Path+"@base", base.Data)
	if err != nil {
		return nil, err
	}
	check := maps.Clone(s.layers.defaults)
	maps.Copy(check, f.settings)
	maps.Copy(check, s.layers.explicit)
	var scratch Settings
	if errs := scratch.apply(check); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return f.settings, nil
}

// merge applies the layers with each config-file setting taken by its rule
// against baseValues (nil: the base file could not be read).
func (s Settings) merge(path string, baseValues map[string]value) (Settings, []finding.SettingChange, []error) {
	l := s.layers
	values := maps.Clone(l.defaults)
	var changes []finding.SettingChange
	for _, in := range Inputs {
		if !in.InFile {
			continue
		}
		head, headSet := l.file[in.Name]
		if !headSet {
			head = l.defaults[in.Name]
		}
		if _, given := l.explicit[in.Name]; given {
			continue // the input or flag applies, whatever the files say
		}
		v, change := pick(in.Name, head, baseValues, l.defaults[in.Name])
		values[in.Name] = v
		if change != nil {
			change.File = path
			changes = append(changes, *change)
		}
	}
	maps.Copy(values, l.explicit)
	// What apply does not set is Load's: apply sets some fields only when
	// their value is not empty.
	out := Settings{InActions: s.InActions, ConfigPath: s.ConfigPath, ConfigSetting: s.ConfigSetting,
		Allow: s.Allow, FailScope: s.FailScope, layers: s.layers}
	errs := out.apply(values)
	return out, changes, errs
}

// pick returns the value of one setting and, when the pull request's
// differs from the base branch's, the change.
func pick(name string, head value, baseValues map[string]value, def value) (value, *finding.SettingChange) {
	r := ruleOf(name)
	if r.rule == PRHead {
		return head, nil
	}
	base, unread := def, baseValues == nil
	if !unread {
		if b, ok := baseValues[name]; ok {
			base = b
		}
	}
	change := &finding.SettingChange{Setting: name, Head: head.text, Base: base.text, BaseUnread: unread}
	switch {
	case r.rule == PRStricter:
		c := r.compare(base.text, head.text)
		if c == 0 {
			return head, nil
		}
		if c > 0 {
			change.Applied = true
			if unread {
				return head, nil // stricter than the default: nothing to say
			}
			return head, change
		}
		return base, change
	case unread:
		if r.unread == nil {
			return head, nil
		}
		if t := r.unread(head.text); !strings.EqualFold(t, head.text) {
			change.Base = t
			return value{text: t, source: "the base branch's file could not be read: " + name}, change
		}
		return head, nil
	case canonical(base.text) == canonical(head.text):
		return head, nil
	}
	return base, change
}

// canonical is a setting's text for comparison: lists, case and spacing
// as written do not count.
func canonical(text string) string {
	return strings.ToLower(strings.Join(SplitList(text), ","))
}

func unreadWarning(path, reason string) string {
	return fmt.Sprintf("on this pull request the verdict thresholds are the stricter of its config file's and the defaults, what is scanned is as its file says (review it in the diff), "+
		"and remediate goes no further than plan: the base branch's config file %s could not be read (%s)", path, reason)
}

// failOnRank orders fail-on from strictest (low) to loosest (none).
func failOnRank(text string) int {
	sev, err := finding.ParseSeverity(text)
	if err != nil || sev == finding.SeverityNone {
		return int(finding.SeverityCritical) + 1
	}
	return int(sev)
}

func compareFailOn(base, head string) int { return failOnRank(base) - failOnRank(head) }

func compareInt(base, head string) int {
	b, errB := strconv.Atoi(base)
	h, errH := strconv.Atoi(head)
	if errB != nil || errH != nil {
		return -1
	}
	return h - b
}

func compareBool(base, head string) int {
	b, errB := strconv.ParseBool(strings.ToLower(base))
	h, errH := strconv.ParseBool(strings.ToLower(head))
	switch {
	case errB != nil || errH != nil:
		return -1
	case b == h:
		return 0
	case h:
		return 1
	}
	return -1
}

func compareScanError(base, head string) int {
	rank := func(t string) int {
		if strings.EqualFold(t, string(ScanErrorFail)) {
			return 1
		}
		return 0
	}
	return rank(head) - rank(base)
}

func compareDuration(base, head string) int {
	b, errB := time.ParseDuration(base)
	h, errH := time.ParseDuration(head)
	switch {
	case errB != nil || errH != nil || h < b:
		return -1
	case h > b:
		return 1
	}
	return 0
}

// atMostPlan caps remediate at plan: a run whose base settings are unknown
// calls no CancelKeyDeletion.
func atMostPlan(head string) string {
	if strings.EqualFold(head, string(RemediateCancel)) {
		return string(RemediatePlan)
	}
	return head
}
