// Package summary renders the job summary: the verdict and counts first, the
// findings soonest first, a Mermaid timeline, scan coverage with every error,
// and the exact cancel command for each unapproved key. Every string from AWS
// or from the config goes through package escape.
package summary

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// Options tune the summary.
type Options struct {
	// MaxBytes bounds the Markdown (GitHub allows 1 MiB per step summary).
	MaxBytes int
	// RunURL links to the run for what was cut, when known.
	RunURL string
	// ToolVersion is shown in the footer.
	ToolVersion string
}

const defaultMaxBytes = 1000 * 1000

// maxTimelineKeys bounds the Mermaid chart: beyond that it is unreadable and
// GitHub refuses very large diagrams.
const maxTimelineKeys = 30

// Render returns the job summary Markdown for res.
func Render(res finding.Result, opts Options) string {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = defaultMaxBytes
	}
	var b strings.Builder
	t := report.Count(res)
	icon := "✅"
	if !res.Passed {
		icon = "❌"
	}
	fmt.Fprintf(&b, "## %s kms-deletion-gate: %s\n\n", icon, report.Verdict(res))
	pending, planned := 0, 0
	for _, f := range res.Findings {
		switch f.RuleID {
		case finding.RuleDisabled:
		case finding.RuleDeletionPlanned:
			planned++
		default:
			pending++
		}
	}
	if planned > 0 {
		fmt.Fprintf(&b, "**%d** key(s) deleted by this change, ", planned)
	}
	fmt.Fprintf(&b, "**%d** key(s) pending deletion, **%d** finding(s) in all: ", pending, t.Total)
	fmt.Fprintf(&b, "%d critical, %d high, %d medium, %d low unapproved",
		t.BySeverity[finding.SeverityCritical], t.BySeverity[finding.SeverityHigh],
		t.BySeverity[finding.SeverityMedium], t.BySeverity[finding.SeverityLow])
	if t.Elsewhere > 0 {
		fmt.Fprintf(&b, " in this change, %d unapproved elsewhere", t.Elsewhere)
	}
	fmt.Fprintf(&b, "; %d accepted by the allowlist. ", t.Allowlisted)
	fmt.Fprintf(&b, "The gate fails on unapproved findings at or above **%s**.\n\n", res.FailOn)
	writeScope(&b, res)
	if len(res.Errors) > 0 {
		fmt.Fprintf(&b, "> [!WARNING]\n> The scan is incomplete: %d account/region target(s) could not be scanned. See [coverage](#coverage).\n\n", len(res.Errors))
	}

	head := b.String()
	// Coverage and warnings get fixed shares of the budget, so that no
	// number of errors or warnings (10,000 expired allowlist entries) can
	// push the whole summary past GitHub's limit, which drops all of it.
	var tail strings.Builder
	writeCoverage(&tail, res, opts.MaxBytes/4, opts.MaxBytes/8)
	writeWarnings(&tail, res, opts.MaxBytes/8)
	if opts.ToolVersion != "" {
		fmt.Fprintf(&tail, "\n<sub>kms-deletion-gate %s, scanned %s</sub>\n", escape.Markdown(opts.ToolVersion, 40), res.ScanTime.UTC().Format(time.RFC3339))
	}

	var body strings.Builder
	if len(res.Findings) == 0 {
		body.WriteString("No customer managed key is pending deletion in the scanned accounts and regions.\n\n")
	} else {
		writeTimeline(&body, res)
		budget := opts.MaxBytes - len(head) - tail.Len() - body.Len() - 2048
		writeTables(&body, res, budget, opts.RunURL)
		writeCommands(&body, res, opts.MaxBytes-len(head)-tail.Len()-body.Len()-512)
	}
	return capBytes(head+body.String()+tail.String(), opts.MaxBytes)
}

// capBytes is the last guard of the size limit: it cuts md at a line
// boundary and says so. The section budgets keep it from ever firing on
// real input.
func capBytes(md string, max int) string {
	if len(md) <= max {
		return md
	}
	const note = "\n_The summary was cut at GitHub's size limit; the JSON report holds everything._\n"
	cut := md[:max-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i+1]
	}
	return cut + note
}

// writeRows writes rows while they fit in budget bytes, then one line that
// says how many were left out.
func writeRows(b *strings.Builder, rows []string, budget int, more func(n int) string) {
	used := 0
	for i, r := range rows {
		if used+len(r) > budget {
			b.WriteString(more(len(rows) - i))
			return
		}
		used += len(r)
		b.WriteString(r)
	}
}

func writeTable(b *strings.Builder, title string, rows []finding.Finding, scan time.Time, budget int, used *int, runURL string) bool {
	b.WriteString("### " + title + "\n\n")
	b.WriteString("| Deletion date | Time left | Severity | Account | Region | Key | Aliases | State | Last use | Scheduled by | Allowlisted |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for i, f := range rows {
		row := tableRow(f, scan)
		if budget > 0 && *used+len(row) > budget {
			fmt.Fprintf(b, "\n_%d more finding(s) not shown: the summary size limit was reached. The JSON report and SARIF file list every finding%s._\n\n", len(rows)-i, runLink(runURL))
			return false
		}
		*used += len(row)
		b.WriteString(row)
	}
	b.WriteString("\n")
	return true
}

func runLink(url string) string {
	if url == "" {
		return ""
	}
	return fmt.Sprintf(" ([run](%s))", url)
}

func tableRow(f finding.Finding, scan time.Time) string {
	aliases := make([]string, 0, len(f.Aliases))
	for _, a := range f.Aliases {
		aliases = append(aliases, escape.Identifier(a))
	}
	allow := "no"
	switch {
	case f.Allowlisted:
		allow = "yes: " + escape.Markdown(f.AllowReason, 300) + " (until " + escape.Markdown(f.AllowExpires, 10) + ")"
	case f.AllowAddedBy != "":
		allow = "no: the entry at " + escape.Markdown(f.AllowAddedBy, 200) + " is added by this pull request"
	}
	lastUse := escape.Markdown(report.LastUse(f, scan), 120)
	if f.InUseReason != "" {
		lastUse = "**in use:** " + escape.Markdown(f.InUseReason, 300)
	}
	by := escape.Markdown(report.ScheduledBy(f), 300)
	if by == "" {
		by = "-"
	}
	cells := []string{
		report.DeletionDate(f),
		report.TimeLeft(f),
		report.SeverityBadge(f.Severity),
		escape.Identifier(f.Account),
		escape.Identifier(f.Region),
		keyCell(f),
		orDash(strings.Join(aliases, "<br>")),
		escape.Markdown(f.State, 40),
		lastUse,
		by,
		allow,
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// mermaidUnsafe is everything but the characters a Mermaid gantt label may
// safely hold; labels are built from AWS-validated alias and key id syntax,
// but are still filtered here.
var mermaidUnsafe = regexp.MustCompile(`[^A-Za-z0-9/_.-]`)

func writeTimeline(b *strings.Builder, res finding.Result) {
	var dated []finding.Finding
	for _, f := range res.Findings {
		if !f.DeletionDate.IsZero() && f.RuleID != finding.RuleDisabled {
			dated = append(dated, f)
		}
	}
	if len(dated) == 0 {
		return
	}
	b.WriteString("### Timeline\n\n```mermaid\ngantt\n    title Days until deletion\n    dateFormat YYYY-MM-DD\n    axisFormat %b %d\n")
	bySeverity := map[finding.Severity][]finding.Finding{}
	for i, f := range dated {
		if i >= maxTimelineKeys {
			break
		}
		bySeverity[f.Severity] = append(bySeverity[f.Severity], f)
	}
	start := res.ScanTime.UTC().Format(time.DateOnly)
	for _, sev := range finding.Severities {
		fs := bySeverity[sev]
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(b, "    section %s\n", sev)
		for _, f := range fs {
			label := f.KeyID
			if len(label) > 8 {
				label = label[:8]
			}
			if len(f.Aliases) > 0 {
				label = truncate(f.Aliases[0], 40)
			}
			label = mermaidUnsafe.ReplaceAllString(label, "_")
			if f.Allowlisted {
				label += " (allowlisted)"
			}
			tag := ""
			switch {
			case f.Allowlisted:
				tag = "done, "
			case sev == finding.SeverityCritical:
				tag = "crit, "
			case sev == finding.SeverityHigh:
				tag = "active, "
			}
			end := f.DeletionDate.UTC().Format(time.DateOnly)
			if end <= start {
				end = res.ScanTime.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
			}
			fmt.Fprintf(b, "    %s %s : %s%s, %s\n", label, f.Region, tag, start, end)
		}
	}
	b.WriteString("```\n\n")
	if len(dated) > maxTimelineKeys {
		fmt.Fprintf(b, "_The timeline shows the %d soonest of %d keys._\n\n", maxTimelineKeys, len(dated))
	}
}

func writeCommands(b *strings.Builder, res finding.Result, budget int) {
	var cmds []string
	for _, f := range res.Findings {
		if f.Allowlisted || f.State != finding.StatePendingDeletion {
			continue
		}
		if c := f.CancelCommand(); c != "" {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) == 0 {
		return
	}
	b.WriteString("### Cancel unapproved deletions\n\nIf a deletion was not intended, cancel it (the key becomes `Disabled`; enable it again with `aws kms enable-key`). If it was intended, add it to the allowlist with a reason and an expiry date.\n\n```sh\n")
	used := 0
	for i, c := range cmds {
		if budget > 0 && used+len(c)+1 > budget {
			fmt.Fprintf(b, "# ... %d more in the JSON report\n", len(cmds)-i)
			break
		}
		used += len(c) + 1
		b.WriteString(c + "\n") // CancelCommand holds only AWS id syntax: nothing to escape in a fence
	}
	b.WriteString("```\n\n")
	var remediated []finding.Finding
	for _, f := range res.Findings {
		if f.Remediation != nil {
			remediated = append(remediated, f)
		}
	}
	if len(remediated) > 0 {
		b.WriteString("### Remediation\n\n| Key | Region | Action | Outcome | State after |\n|---|---|---|---|---|\n")
		for _, f := range remediated {
			r := f.Remediation
			outcome := escape.Markdown(r.Outcome, 40)
			if r.Error != "" {
				outcome += ": " + escape.Markdown(r.Error, 300)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", escape.Identifier(f.KeyID), escape.Identifier(f.Region), escape.Markdown(r.Action, 40), outcome, orDash(escape.Markdown(r.StateAfter, 40)))
		}
		b.WriteString("\n")
	}
}

func writeCoverage(b *strings.Builder, res finding.Result, errBudget, targetBudget int) {
	b.WriteString("### Coverage\n\n")
	accounts := map[string]int{}
	regions := map[string]bool{}
	for _, t := range res.Scanned {
		accounts[t.Account]++
		regions[t.Region] = true
	}
	fmt.Fprintf(b, "Scanned %d account(s) x %d region(s): %d target(s), %d customer managed key(s), %d AWS call(s).",
		len(accounts), len(regions), len(res.Scanned), res.KeysSeen, res.APICalls)
	if len(res.Errors) == 0 {
		b.WriteString(" Every target was scanned.\n\n")
	} else {
		fmt.Fprintf(b, " **%d target(s) failed:**\n\n| Account | Region | Stage | Error |\n|---|---|---|---|\n", len(res.Errors))
		errs := append([]finding.ScanError(nil), res.Errors...)
		sort.Slice(errs, func(i, j int) bool {
			if errs[i].Account != errs[j].Account {
				return errs[i].Account < errs[j].Account
			}
			return errs[i].Region < errs[j].Region
		})
		rows := make([]string, len(errs))
		for i, e := range errs {
			rows[i] = fmt.Sprintf("| %s | %s | %s | %s |\n", escape.Identifier(e.Account), orDash(escapeRegion(e.Region)), escape.Markdown(e.Stage, 40), escape.Markdown(e.Message, 500))
		}
		writeRows(b, rows, errBudget, func(n int) string {
			return fmt.Sprintf("| … | | | and %d more error(s): see the JSON report |\n", n)
		})
		b.WriteString("\n")
	}
	if len(accounts) > 0 {
		names := make([]string, 0, len(accounts))
		for a := range accounts {
			names = append(names, a)
		}
		sort.Strings(names)
		b.WriteString("<details><summary>Targets scanned</summary>\n\n| Account | Regions |\n|---|---|\n")
		byAccount := map[string][]string{}
		for _, t := range res.Scanned {
			byAccount[t.Account] = append(byAccount[t.Account], t.Region)
		}
		rows := make([]string, len(names))
		for i, a := range names {
			rows[i] = fmt.Sprintf("| %s | %s |\n", escape.Identifier(a), escape.Markdown(strings.Join(byAccount[a], ", "), 2000))
		}
		writeRows(b, rows, targetBudget, func(n int) string {
			return fmt.Sprintf("| … | and %d more account(s): see the JSON report |\n", n)
		})
		b.WriteString("\n</details>\n\n")
	}
}

func escapeRegion(r string) string {
	if r == "" {
		return ""
	}
	return escape.Identifier(r)
}

func writeWarnings(b *strings.Builder, res finding.Result, budget int) {
	if len(res.Warnings) == 0 {
		return
	}
	b.WriteString("### Warnings\n\n")
	rows := make([]string, len(res.Warnings))
	for i, w := range res.Warnings {
		rows[i] = "- " + escape.Markdown(w, 1000) + "\n"
	}
	writeRows(b, rows, budget, func(n int) string {
		return fmt.Sprintf("- … and %d more warning(s): see the job log and the JSON report\n", n)
	})
	b.WriteString("\n")
}
