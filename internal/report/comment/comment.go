// Package comment renders the pull request comment: one Markdown body that
// lists the KMS keys nearing their DeletionDate, soonest first, and that
// turns into an all-clear when they are gone. The body starts with a hidden
// marker line by which the github package finds and updates the same
// comment on every run. Every string that came from AWS is escaped, and the
// body always fits GitHub's size limit.
package comment

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

// Marker is the hidden first line of the comment of an unsharded scan.
const Marker = "<!-- kms-deletion-gate -->"

// MaxBytes is GitHub's limit on a comment (65,536 characters), counted in
// bytes: a UTF-8 body within it in bytes is within it in characters.
const MaxBytes = 65536

// Options tune the rendering.
type Options struct {
	// Now is the reference for "time left" and "ago"; default the scan time.
	Now time.Time
	// RunURL links the workflow run where the full reports are.
	RunURL string
	// Category gives each shard of a matrix its own comment (and marker).
	Category string
	// MaxBytes overrides the size limit (tests); default MaxBytes.
	MaxBytes int
	// Marker replaces the hidden first line (another kind of body, such as
	// the audit issue, is found by its own marker); default MarkerFor(Category).
	Marker string
	// Before is Markdown placed right after the verdict and After Markdown
	// placed at the end; the caller escapes what they hold. Both count
	// towards MaxBytes and are kept whole: rows are dropped first.
	Before, After string
}

// Cell limits, in runes of the untrusted input before escaping.
const (
	maxDescription = 80
	maxAlias       = 64
	maxAliases     = 5
	maxPrincipal   = 80
	maxReason      = 200
	maxShort       = 40
	maxWarnings    = 10
	maxWarning     = 300
)

// MarkerFor returns the marker line for a category: Marker when it is empty.
// The category is percent-encoded, so that two categories never share a
// marker (matrix shards would overwrite each other's comment) and nothing can
// end the HTML comment: letters, digits, '.', '_' and '/' stay, a '-' stays
// unless it follows another '-' (no "--" may stand in an HTML comment), and
// every other byte, '%' included, becomes %XX. Decoding %XX gives the
// category back, so the encoding is injective.
func MarkerFor(category string) string {
	if category == "" {
		return Marker
	}
	var b strings.Builder
	for i := 0; i < len(category); i++ {
		c := category[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '/':
			b.WriteByte(c)
		case c == '-' && (i == 0 || category[i-1] != '-'):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return "<!-- kms-deletion-gate category=" + b.String() + " -->"
}

// Render returns the comment body for a run's result.
func Render(res finding.Result, opts Options) string {
	if opts.Now.IsZero() {
		opts.Now = res.ScanTime
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = MaxBytes
	}
	rows := sorted(res.Findings)
	r := renderer{res: res, opts: opts, rows: rows}
	if body := r.render(len(rows)); len(body) <= opts.MaxBytes {
		return body
	}
	// Keep the most rows that fit: whole rows only, never a cut escape.
	lo, hi := 0, len(rows)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(r.render(mid)) <= opts.MaxBytes {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if body := r.render(lo); len(body) <= opts.MaxBytes {
		return body
	}
	// Only reachable with a limit far below GitHub's.
	return r.marker() + "\n" + r.verdict() + "\n\n" + r.moreNotice(len(rows)) + "\n"
}

func sorted(in []finding.Finding) []finding.Finding {
	out := append([]finding.Finding(nil), in...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ga, gb := group(a), group(b); ga != gb {
			return ga < gb
		}
		if a.DeletionDate.IsZero() != b.DeletionDate.IsZero() {
			return b.DeletionDate.IsZero()
		}
		if !a.DeletionDate.Equal(b.DeletionDate) {
			return a.DeletionDate.Before(b.DeletionDate)
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.KeyID < b.KeyID
	})
	return out
}

type renderer struct {
	res  finding.Result
	opts Options
	rows []finding.Finding
}

func pending(f finding.Finding) bool {
	return f.RuleID == finding.RulePendingDeletion || f.RuleID == finding.RulePendingReplicaDeletion
}

func (r renderer) marker() string {
	if r.opts.Marker != "" {
		return r.opts.Marker
	}
	return MarkerFor(r.opts.Category)
}

// render builds the body with the first n rows.
func (r renderer) render(n int) string {
	var b strings.Builder
	b.WriteString(r.marker())
	b.WriteString("\n")
	if r.opts.Category != "" {
		b.WriteString("### KMS keys pending deletion · " + escape.Markdown(r.opts.Category, maxShort) + "\n\n")
	} else {
		b.WriteString("### KMS keys pending deletion\n\n")
	}
	b.WriteString(r.verdict())
	b.WriteString("\n")
	if r.opts.Before != "" {
		b.WriteString("\n" + strings.TrimRight(r.opts.Before, "\n") + "\n")
	}
	if len(r.res.Errors) > 0 {
		fmt.Fprintf(&b, "\n⚠️ **Scan incomplete**: %d %s could not be scanned, so keys may be missing from this list. %s\n",
			len(r.res.Errors), plural(len(r.res.Errors), "target", "targets"), r.seeRun("See the run"))
	}
	planned, here, elsewhere := split(r.rows[:n])
	sectioned := len(planned) > 0 || len(elsewhere) > 0
	r.plannedTable(&b, planned)
	if len(here) > 0 {
		if sectioned {
			b.WriteString("\n#### Pending deletion\n")
		}
		r.table(&b, here)
	}
	if len(elsewhere) > 0 {
		b.WriteString("\n#### Elsewhere in the account\n\nReported, not counted: `fail-scope: change` judges only what this pull request does.\n")
		r.table(&b, elsewhere)
	}
	if n < len(r.rows) {
		b.WriteString("\n" + r.moreNotice(len(r.rows)-n) + "\n")
	}
	r.addedEntries(&b)
	r.settingChanges(&b)
	r.remediation(&b, r.rows[:n])
	r.cancelCommands(&b, r.rows[:n])
	r.warnings(&b)
	if r.opts.After != "" {
		b.WriteString("\n" + strings.TrimRight(r.opts.After, "\n") + "\n")
	}
	return b.String()
}

func (r renderer) verdict() string {
	var unapproved, accepted, disabled, planned, elsewhere int
	bySeverity := map[finding.Severity]int{}
	for _, f := range r.rows {
		switch {
		case f.Elsewhere:
			if pending(f) {
				elsewhere++
			}
		case f.RuleID == finding.RuleDeletionPlanned:
			planned++
			if f.Allowlisted {
				accepted++
			} else {
				unapproved++
				bySeverity[f.Severity]++
			}
		case !pending(f):
			disabled++
		case f.Allowlisted:
			accepted++
		default:
			unapproved++
			bySeverity[f.Severity]++
		}
	}
	if unapproved+accepted == 0 {
		var s string
		if elsewhere > 0 || r.res.Scope == "change" {
			s = "**✅ Gate passed: this change deletes no KMS key** and touches no code that references a key pending deletion."
			if len(r.res.Errors) > 0 {
				s = "**⚠️ This change deletes no KMS key found, but the scan is incomplete.**"
			}
			s += r.elsewhereNote(elsewhere)
			if disabled > 0 {
				s += fmt.Sprintf(" %d disabled %s listed below.", disabled, plural(disabled, "key is", "keys are"))
			}
			return s
		}
		if len(r.res.Errors) > 0 {
			s = "**⚠️ No KMS keys pending deletion found, but the scan is incomplete.**"
		} else {
			s = fmt.Sprintf("**✅ All clear: no KMS keys pending deletion** in the %d account/region %s scanned.",
				len(r.res.Scanned), plural(len(r.res.Scanned), "target", "targets"))
		}
		if disabled > 0 {
			s += fmt.Sprintf(" %d disabled %s listed below.", disabled, plural(disabled, "key is", "keys are"))
		}
		return s
	}
	var parts []string
	for _, sev := range finding.Severities {
		if c := bySeverity[sev]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, sev))
		}
	}
	s := "**❌ Gate failed**"
	if r.res.Passed {
		s = "**✅ Gate passed**"
	}
	switch pendingHere := unapproved + accepted - planned; {
	case planned > 0 && pendingHere > 0:
		s += fmt.Sprintf(": this change deletes %d %s, and %d %s pending deletion", planned, plural(planned, "key", "keys"), pendingHere, plural(pendingHere, "key is", "keys are"))
	case planned > 0:
		s += fmt.Sprintf(": this change deletes %d %s", planned, plural(planned, "key", "keys"))
	default:
		s += fmt.Sprintf(": %d %s pending deletion", pendingHere, plural(pendingHere, "key", "keys"))
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + " not approved)"
	}
	if accepted > 0 {
		s += fmt.Sprintf(", %d accepted by the allowlist", accepted)
	}
	if disabled > 0 {
		s += fmt.Sprintf(", %d disabled", disabled)
	}
	s += "." + r.elsewhereNote(elsewhere)
	if r.res.FailOn == finding.SeverityNone {
		s += " The gate never fails (`fail-on: none`)."
	} else {
		s += fmt.Sprintf(" The gate fails on unapproved keys at `%s` or above.", r.res.FailOn)
	}
	return s
}

func (r renderer) row(f finding.Finding) string {
	date, left := "—", "—"
	if !f.DeletionDate.IsZero() {
		date = f.DeletionDate.UTC().Format("2006-01-02 15:04 UTC")
		left = timeLeft(f.DeletionDate.Sub(r.opts.Now))
	}
	key := escape.Code(f.KeyID)
	if f.MultiRegion {
		key += " (multi-Region)"
	}
	if f.Description != "" {
		key += "<br>" + escape.Markdown(f.Description, maxDescription)
	}
	if f.InUseReason != "" {
		key += "<br>⚠️ " + escape.Markdown(f.InUseReason, maxReason)
	}
	aliases := aliasCell(f)
	allow := allowCell(f)
	cells := []string{
		date, left, report.SeverityBadge(f.Severity),
		escape.Markdown(f.Account, maxShort), escape.Markdown(f.Region, maxShort),
		key, aliases, escape.Markdown(f.State, maxShort),
		r.lastUse(f), r.scheduledBy(f), allow,
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// allowCell says whether the allowlist accepts f, or only an entry the
// pull request itself adds would.
func allowCell(f finding.Finding) string {
	switch {
	case f.Allowlisted:
		allow := "✅ accepted: " + escape.Markdown(f.AllowReason, maxReason)
		if f.AllowExpires != "" {
			allow += " (until " + escape.Markdown(f.AllowExpires, maxShort) + ")"
		}
		return allow
	case f.AllowAddedBy != "":
		return "⏳ added by this pull request (" + escape.Markdown(f.AllowAddedBy, maxShort*2) + "): approves nothing until merged"
	}
	return "—"
}

func (r renderer) lastUse(f finding.Finding) string {
	var s string
	switch {
	case f.LastUse != nil:
		s = escape.Markdown(f.LastUse.Operation, maxShort) + ", " + ago(r.opts.Now.Sub(f.LastUse.Time))
	case f.UsageTracked && !f.TrackingStart.IsZero():
		s = "none recorded since " + f.TrackingStart.UTC().Format("2006-01-02")
	case f.UsageTracked:
		s = "none recorded"
	default:
		s = "not checked"
	}
	if n := len(f.AttemptedUses); n > 0 {
		last := f.AttemptedUses[0]
		for _, u := range f.AttemptedUses[1:] {
			if u.Time.After(last.Time) {
				last = u
			}
		}
		s += fmt.Sprintf("<br>⚠️ %d failed %s since scheduling (last: %s, %s)", n, plural(n, "attempt", "attempts"),
			escape.Markdown(last.Operation, maxShort), ago(r.opts.Now.Sub(last.Time)))
	}
	return s
}

func (r renderer) scheduledBy(f finding.Finding) string {
	if f.ScheduledBy == nil {
		return "—"
	}
	s := escape.Markdown(f.ScheduledBy.Principal, maxPrincipal)
	if !f.ScheduledBy.Time.IsZero() {
		s += ", " + ago(r.opts.Now.Sub(f.ScheduledBy.Time))
	}
	return s
}

func (r renderer) remediation(b *strings.Builder, rows []finding.Finding) {
	first := true
	for _, f := range rows {
		if f.Remediation == nil {
			continue
		}
		if first {
			b.WriteString("\n**Remediation**\n\n")
			first = false
		}
		rm := f.Remediation
		line := fmt.Sprintf("- %s in %s: %s", escape.Code(f.KeyID), escape.Markdown(f.Region, maxShort), escape.Markdown(rm.Outcome, maxShort))
		if rm.StateAfter != "" {
			line += ", now " + escape.Markdown(rm.StateAfter, maxShort)
		}
		if rm.Error != "" {
			line += ": " + escape.Markdown(rm.Error, maxReason)
		}
		b.WriteString(line + "\n")
	}
}

// cancelCommands lists the command that saves each unapproved pending key
// not already cancelled.
func (r renderer) cancelCommands(b *strings.Builder, rows []finding.Finding) {
	first := true
	for _, f := range rows {
		if !pending(f) || f.Allowlisted || (f.Remediation != nil && f.Remediation.Outcome == "cancelled") || f.CancelCommand() == "" {
			continue
		}
		if first {
			b.WriteString("\n**Cancel the deletions nobody approved** (the key becomes `Disabled`; re-enable it with `aws kms enable-key` once you know it is needed):\n\n")
			first = false
		}
		b.WriteString("- " + escape.Code(f.CancelCommand()) + "\n")
	}
}

func (r renderer) warnings(b *strings.Builder) {
	if len(r.res.Warnings) == 0 {
		return
	}
	b.WriteString("\n**Notes**\n\n")
	for _, w := range r.res.Warnings[:min(len(r.res.Warnings), maxWarnings)] {
		b.WriteString("- " + escape.Markdown(w, maxWarning) + "\n")
	}
	if extra := len(r.res.Warnings) - maxWarnings; extra > 0 {
		fmt.Fprintf(b, "- … %d more %s\n", extra, r.seeRun("in the run"))
	}
}

func (r renderer) moreNotice(n int) string {
	return fmt.Sprintf("… %d more, %s.", n, r.seeRun("see the run"))
}

// seeRun links text to the run, when its address is a plain http(s) URL.
func (r renderer) seeRun(text string) string {
	u, err := url.Parse(r.opts.RunURL)
	if r.opts.RunURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return text + " (its job summary holds the full report)"
	}
	// url.URL.String percent-encodes spaces; parentheses would end the link.
	link := strings.NewReplacer("(", "%28", ")", "%29").Replace(u.String())
	return "[" + text + "](" + link + ")"
}

// timeLeft formats a duration until deletion: "2d 4h", "5h 30m", "12m".
func timeLeft(d time.Duration) string {
	if d <= 0 {
		return "due now"
	}
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	mins := int(d % time.Hour / time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	}
	return fmt.Sprintf("%dm", mins)
}

// ago formats how long before now something happened: "12 days ago".
func ago(d time.Duration) string {
	switch days := int(d / (24 * time.Hour)); {
	case d < 0:
		return "in the future"
	case days >= 1:
		return fmt.Sprintf("%d %s ago", days, plural(days, "day", "days"))
	case d >= time.Hour:
		h := int(d / time.Hour)
		return fmt.Sprintf("%d %s ago", h, plural(h, "hour", "hours"))
	}
	return "less than an hour ago"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// aliasCell lists a finding's aliases for a table cell, at most maxAliases,
// then how many more; a dash when there are none.
func aliasCell(f finding.Finding) string {
	if len(f.Aliases) == 0 {
		return "—"
	}
	var as []string
	for _, a := range f.Aliases[:min(len(f.Aliases), maxAliases)] {
		as = append(as, escape.Markdown(a, maxAlias))
	}
	if extra := len(f.Aliases) - maxAliases; extra > 0 {
		as = append(as, fmt.Sprintf("+%d more", extra))
	}
	return strings.Join(as, "<br>")
}
