// Package text renders the readable table printed to the terminal outside
// GitHub Actions (and into the log inside it).
package text

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// Render returns the findings as an aligned table followed by the verdict.
func Render(res finding.Result) string {
	var b strings.Builder
	if len(res.Findings) == 0 {
		b.WriteString("No customer managed key is pending deletion.\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tTIME LEFT\tDELETION DATE\tACCOUNT\tREGION\tKEY\tALIASES\tSTATE\tALLOWLISTED")
		for _, f := range res.Findings {
			allow := "no"
			if f.Allowlisted {
				allow = "yes (" + cell(f.AllowReason, 60) + ")"
			}
			aliases := make([]string, 0, len(f.Aliases))
			for _, a := range f.Aliases {
				aliases = append(aliases, cell(a, 60))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				f.Severity, report.TimeLeft(f), report.DeletionDate(f), cell(f.Account, 20), cell(f.Region, 20),
				cell(f.KeyID, 80), orDash(strings.Join(aliases, ",")), cell(f.State, 30), allow)
		}
		tw.Flush()
	}
	t := report.Count(res)
	fmt.Fprintf(&b, "\nResult: %s (fail-on %s): %d critical, %d high, %d medium, %d low unapproved, %d allowlisted; %d target(s) scanned, %d failed, %d keys.\n",
		strings.ToUpper(report.Verdict(res)), res.FailOn,
		t.BySeverity[finding.SeverityCritical], t.BySeverity[finding.SeverityHigh],
		t.BySeverity[finding.SeverityMedium], t.BySeverity[finding.SeverityLow], t.Allowlisted,
		len(res.Scanned), len(res.Errors), res.KeysSeen)
	if t.Elsewhere > 0 {
		fmt.Fprintf(&b, "%d finding(s) elsewhere in the account, outside this change (fail-scope: change): reported, not counted by the verdict.\n", t.Elsewhere)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "  scan error: account %s region %s (%s): %s\n", cell(e.Account, 20), cell(orDash(e.Region), 20), cell(e.Stage, 30), cell(e.Message, 500))
	}
	return b.String()
}

// cell makes untrusted text safe and short for one table cell: no tabs or
// newlines (they would break the alignment), no command markers.
func cell(s string, max int) string {
	s = strings.ReplaceAll(escape.LogLine(s), "\t", " ")
	r := []rune(s)
	if len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
