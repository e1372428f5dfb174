// Package annotations writes GitHub Actions workflow commands that annotate
// the infrastructure-as-code lines referencing a key pending deletion, so a
// pull request shows the problem on the line that depends on the key, and
// the line that declares a key the change deletes or replaces. Findings
// elsewhere in the account (fail-scope change) are not annotated.
//
// Each unapproved finding gets one annotation per location (package iac),
// most severe first: critical and high findings are errors, medium ones
// warnings, low ones notices. Allowlisted findings are never annotated.
// GitHub shows at most 10 annotations of each level per step, so Write emits
// at most Options.MaxPerLevel of each and, when it had to leave some out, one
// notice (counted within the limit) that says how many; the job summary and
// the SARIF log list every finding.
//
// Every untrusted value (aliases, descriptions, paths, which a pull request
// can choose) passes through escape.PlainText and then escape.WorkflowProperty
// or escape.WorkflowData, so it can neither end the command nor start a new
// line.
package annotations

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// GitHubLimitPerLevel is how many error, warning and notice annotations
// GitHub shows per step.
const GitHubLimitPerLevel = 10

const (
	maxIdentifierRunes = 256
	maxTextRunes       = 512
)

// Options shape the annotations. The zero value is usable.
type Options struct {
	// MaxPerLevel caps the annotations of each level, default and maximum
	// GitHubLimitPerLevel. Lower it when other code annotates in the same step.
	MaxPerLevel int
	// Fileless also annotates, without a file, unapproved findings that no
	// infrastructure as code references (they then show in the run's
	// annotations, not on a line).
	Fileless bool
}

// Level is a workflow command that creates an annotation.
type Level string

// Annotation levels.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNotice  Level = "notice"
)

// LevelOf maps a severity to its annotation level.
func LevelOf(s finding.Severity) Level {
	switch {
	case s >= finding.SeverityHigh:
		return LevelError
	case s == finding.SeverityMedium:
		return LevelWarning
	default:
		return LevelNotice
	}
}

// annotation is one command before escaping.
type annotation struct {
	level   Level
	file    string // empty: no file
	line    int
	title   string
	message string
}

// Write emits the annotations of res to w (the step's stdout), one command a
// line.
func Write(w io.Writer, res finding.Result, opts Options) error {
	limit := opts.MaxPerLevel
	if limit <= 0 || limit > GitHubLimitPerLevel {
		limit = GitHubLimitPerLevel
	}
	all := candidates(res, opts)

	budget := map[Level]int{LevelError: limit, LevelWarning: limit, LevelNotice: limit}
	kept, omitted := selectWithin(all, budget)
	if omitted > 0 {
		// The summary is a notice too: keep a notice slot for it.
		budget[LevelNotice] = limit - 1
		kept, omitted = selectWithin(all, budget)
	}
	var b strings.Builder
	for _, a := range kept {
		writeCommand(&b, a)
	}
	if omitted > 0 {
		noun := "annotations were"
		if omitted == 1 {
			noun = "annotation was"
		}
		writeCommand(&b, annotation{
			level: LevelNotice,
			title: "kms-deletion-gate: more findings",
			message: fmt.Sprintf("%d more %s left out: GitHub shows at most %d annotations of each level per step. The job summary and the SARIF log list every finding.",
				omitted, noun, GitHubLimitPerLevel),
		})
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write annotations: %w", err)
	}
	return nil
}

// selectWithin keeps, in order, the annotations that fit each level's budget.
func selectWithin(all []annotation, budget map[Level]int) ([]annotation, int) {
	used := map[Level]int{}
	var kept []annotation
	omitted := 0
	for _, a := range all {
		if used[a.level] >= budget[a.level] {
			omitted++
			continue
		}
		used[a.level]++
		kept = append(kept, a)
	}
	return kept, omitted
}

// candidates lists every annotation the findings call for, most severe first
// (ties keep the Result's order: soonest deletion first).
func candidates(res finding.Result, opts Options) []annotation {
	idx := make([]int, 0, len(res.Findings))
	for i, f := range res.Findings {
		if !f.Allowlisted && !f.Elsewhere && f.Severity > finding.SeverityNone {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(res.Findings[b].Severity, res.Findings[a].Severity)
	})
	var out []annotation
	for _, i := range idx {
		f := res.Findings[i]
		title := fmt.Sprintf("%s (%s)", titleOf(f), f.Severity)
		msg := message(f, res.ScanTime)
		if len(f.Locations) == 0 {
			if opts.Fileless {
				out = append(out, annotation{level: LevelOf(f.Severity), title: title, message: msg})
			}
			continue
		}
		for _, l := range f.Locations {
			out = append(out, annotation{
				level:   LevelOf(f.Severity),
				file:    escape.PlainText(l.Path, 1024),
				line:    max(l.Line, 1),
				title:   title,
				message: msg + lineNote(f, l),
			})
		}
	}
	return out
}

// writeCommand writes "::level file=F,line=N,title=T::message\n".
func writeCommand(b *strings.Builder, a annotation) {
	b.WriteString("::")
	b.WriteString(string(a.level))
	sep := " "
	if a.file != "" {
		b.WriteString(sep + "file=" + escape.WorkflowProperty(a.file))
		sep = ","
		if a.line > 0 {
			b.WriteString(sep + "line=" + strconv.Itoa(a.line))
		}
	}
	if a.title != "" {
		b.WriteString(sep + "title=" + escape.WorkflowProperty(escape.LogLine(a.title)))
	}
	b.WriteString("::")
	// The message keeps its line breaks (encoded as %0A), but each line is
	// fenced like any log line: the annotation view shows them as lines.
	lines := strings.Split(a.message, "\n")
	for i, l := range lines {
		lines[i] = escape.LogLine(l)
	}
	b.WriteString(escape.WorkflowData(strings.Join(lines, "\n")))
	b.WriteByte('\n')
}

func keyName(f finding.Finding) string {
	if len(f.Aliases) > 0 {
		return escape.PlainText(f.Aliases[0], maxIdentifierRunes)
	}
	return escape.PlainText(f.KeyID, maxIdentifierRunes)
}

func titleOf(f finding.Finding) string {
	switch f.RuleID {
	case finding.RuleDeletionPlanned:
		return plannedTitle(f)
	case finding.RuleDisabled:
		return "KMS key " + keyName(f) + " is disabled"
	case finding.RulePendingReplicaDeletion:
		return "KMS key " + keyName(f) + " is pending replica deletion"
	default:
		return "KMS key " + keyName(f) + " is pending deletion"
	}
}

// message is the annotation body: what, when, evidence, and the fix.
func message(f finding.Finding, scan time.Time) string {
	plain := func(s string) string { return escape.PlainText(s, maxIdentifierRunes) }
	var b strings.Builder
	where := plain(f.Account) + "/" + plain(f.Region)
	if f.RuleID == finding.RuleDeletionPlanned {
		return plannedMessage(f, scan)
	}
	switch {
	case f.RuleID == finding.RuleDisabled:
		fmt.Fprintf(&b, "KMS key %s in %s is disabled.", keyName(f), where)
	case f.DeletionDate.IsZero() && f.RuleID == finding.RulePendingReplicaDeletion:
		fmt.Fprintf(&b, "KMS key %s in %s is a multi-Region primary waiting for its replicas to be deleted before it is deleted.", keyName(f), where)
	case f.DeletionDate.IsZero():
		fmt.Fprintf(&b, "KMS key %s in %s is scheduled for deletion.", keyName(f), where)
	default:
		fmt.Fprintf(&b, "KMS key %s in %s is scheduled for deletion on %s (%s).", keyName(f), where, report.Minute(f.DeletionDate), report.DaysLeftPhrase(f.DaysLeft))
	}
	writeUsage(&b, f, scan)
	if f.RuleID == finding.RuleDisabled {
		if c := f.EnableCommand(); c != "" {
			fmt.Fprintf(&b, "\nIf it should be usable: %s", c)
		}
		b.WriteString("\nIf it should stay disabled, document the key in the allowlist (.github/kms-deletion-gate.yml) with a reason and an expiry date.")
	} else {
		if c := f.CancelCommand(); c != "" {
			fmt.Fprintf(&b, "\nIf this deletion is not intended: %s", escape.PlainText(c, 2*maxIdentifierRunes))
		}
		b.WriteString("\nIf it is intended, document the key in the allowlist (.github/kms-deletion-gate.yml) with a reason and an expiry date.")
	}
	return b.String()
}

// writeUsage adds why the key is still needed, its last use and its ARN.
func writeUsage(b *strings.Builder, f finding.Finding, scan time.Time) {
	if f.InUseReason != "" {
		fmt.Fprintf(b, "\nStill needed: %s", escape.PlainText(f.InUseReason, maxTextRunes))
	}
	switch {
	case f.LastUse != nil:
		fmt.Fprintf(b, "\nLast use: %s, %s.", escape.PlainText(f.LastUse.Operation, maxIdentifierRunes), report.Ago(scan, f.LastUse.Time))
	case f.UsageTracked:
		b.WriteString("\nLast use: none recorded since tracking began.")
	}
	if f.ARN != "" {
		fmt.Fprintf(b, "\nKey ARN: %s", escape.PlainText(f.ARN, maxIdentifierRunes))
	}
}
