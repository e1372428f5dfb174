// Package sarif renders a run's Result as a SARIF 2.1.0 log for GitHub code
// scanning.
//
// The log holds one run whose tool declares all three rules (so code scanning
// can close an alert once its key is gone), each with help text, tags and a
// security-severity. GitHub reads security-severity from the rule only, so a
// rule carries the band of its default severity; each result carries its own
// severity as its level (critical and high: error, medium: warning, low:
// note), its rank and its properties.
//
// Locations: every result has one. The first infrastructure-as-code line that
// references the key (finding.Locations, see package iac) is the primary
// location and the others are related locations; a key referenced nowhere is
// placed on line 1 of Options.FallbackFile, which defaults to
// DefaultFallbackFile (the allowlist file, where an accepted key would be
// documented; ChooseFallbackFile picks an existing file instead).
//
// Fingerprints: partialFingerprints.primaryLocationLineHash (the one GitHub
// uses) is a hash of the rule and the key ARN, never of dates, severities or
// line numbers, so the same key keeps the same alert across runs as long as
// its primary file stays the same.
//
// Allowlisted findings are emitted with an accepted external suppression
// whose justification is the allowlist reason: GitHub records such a result
// as a closed alert, so it never opens one, and the Security tab keeps the
// audit trail. Options.OmitAllowlisted leaves them out instead.
//
// Text from AWS or from the config is untrusted: message text goes through
// escape.SARIFMessage (which also stops "[text](id)" from forming links),
// properties through escape.PlainText, and every such string is capped. No
// Markdown field holds untrusted text.
package sarif

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report"
)

const (
	// ToolName is the tool.driver.name of every log.
	ToolName = "kms-deletion-gate"
	// DefaultInformationURI is the tool's home page.
	DefaultInformationURI = "https://github.com/kms-deletion-gate/kms-deletion-gate"
	// DefaultFallbackFile is where a result goes when no infrastructure as
	// code references its key: the allowlist file, where an intended
	// deletion is documented.
	DefaultFallbackFile = ".github/kms-deletion-gate.yml"
	// MaxResults is GitHub's limit of results per run; a larger run is
	// rejected. (GitHub shows the 5,000 most severe.)
	MaxResults = 25_000
	// SrcRootBaseID is the uriBaseId used when Options.SrcRootURI is set.
	SrcRootBaseID = "%SRCROOT%"

	schemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

	maxRelatedLocations = 99 // GitHub shows 100 locations per result
	maxIdentifierRunes  = 256
	maxDescriptionRunes = 512
	maxReasonRunes      = 1000
	maxNoteRunes        = 1000
	maxAliases          = 20
	fingerprintVersion  = "kmsDeletionGate/v1"
)

// Options shape a log. The zero value is usable.
type Options struct {
	// ToolVersion is tool.driver.version (default "0.0.0-dev"); a semantic
	// version ("1.2.3" or "v1.2.3") is given without its "v", and also as
	// semanticVersion.
	ToolVersion string
	// InformationURI is the tool's home page; default DefaultInformationURI.
	InformationURI string
	// Category separates analyses of the same commit (matrix shards):
	// runs[0].automationDetails.id is Category + "/", default "kms-deletion-gate/".
	Category string
	// FallbackFile is the repository path of a result whose key no
	// infrastructure as code references; default DefaultFallbackFile.
	FallbackFile string
	// SrcRootURI, if set, is the absolute URI of the workspace root (ending
	// in "/"): locations then use uriBaseId %SRCROOT% and the run maps it.
	// Leave it empty for GitHub, which resolves relative paths against the
	// repository root.
	SrcRootURI string
	// OmitAllowlisted leaves allowlisted findings out of the log instead of
	// emitting them suppressed.
	OmitAllowlisted bool
	// MaxResults caps the results (default and maximum: MaxResults). The
	// most severe unapproved findings are kept first.
	MaxResults int
}

// Build renders res as an indented SARIF 2.1.0 log. It is deterministic:
// the same Result and Options give the same bytes.
func Build(res finding.Result, opts Options) ([]byte, error) {
	report, err := build(res, opts)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode SARIF: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteFile builds the log and writes it to path, replacing any file there
// only once the whole log is written.
func WriteFile(path string, res finding.Result, opts Options) error {
	b, err := Build(res, opts)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write SARIF %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".sarif-*")
	if err != nil {
		return fmt.Errorf("write SARIF %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op once renamed
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write SARIF %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write SARIF %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write SARIF %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write SARIF %s: %w", path, err)
	}
	return nil
}

// ChooseFallbackFile returns the repository path to give results whose key no
// infrastructure as code references: the first that exists under root of
// configPath (the allowlist file in use), DefaultFallbackFile, and the
// workflow file named by workflowRef (GITHUB_WORKFLOW_REF,
// "owner/repo/.github/workflows/gate.yml@refs/heads/main"); else
// DefaultFallbackFile. Code scanning accepts a path that does not exist, but
// then cannot show the line.
func ChooseFallbackFile(root, configPath, workflowRef string) string {
	var candidates []string
	if p, ok := repoPath(root, configPath); ok {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, DefaultFallbackFile)
	if ref, _, _ := strings.Cut(workflowRef, "@"); ref != "" {
		// owner/repo/<path>
		if parts := strings.SplitN(ref, "/", 3); len(parts) == 3 {
			candidates = append(candidates, parts[2])
		}
	}
	for _, c := range candidates {
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(c))); err == nil && fi.Mode().IsRegular() {
			return c
		}
	}
	return DefaultFallbackFile
}

// repoPath turns a path (absolute, or relative to root) into a clean
// slash-separated path inside root.
func repoPath(root, p string) (string, bool) {
	if p == "" {
		return "", false
	}
	if filepath.IsAbs(p) {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return "", false
		}
		p = rel
	}
	p = path.Clean(filepath.ToSlash(p))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		return "", false
	}
	return p, true
}

func (o Options) withDefaults() (Options, error) {
	if o.ToolVersion == "" {
		o.ToolVersion = "0.0.0-dev"
	}
	if o.InformationURI == "" {
		o.InformationURI = DefaultInformationURI
	}
	if o.Category == "" {
		o.Category = ToolName
	}
	if !strings.HasSuffix(o.Category, "/") {
		o.Category += "/"
	}
	if o.FallbackFile == "" {
		o.FallbackFile = DefaultFallbackFile
	}
	p, ok := repoPath("", o.FallbackFile)
	if !ok || filepath.IsAbs(o.FallbackFile) {
		return o, fmt.Errorf("SARIF fallback file %q: want a path relative to the repository root", o.FallbackFile)
	}
	o.FallbackFile = p
	if o.MaxResults <= 0 || o.MaxResults > MaxResults {
		o.MaxResults = MaxResults
	}
	if o.SrcRootURI != "" {
		u, err := url.Parse(o.SrcRootURI)
		if err != nil || !u.IsAbs() || !strings.HasSuffix(u.Path, "/") {
			return o, fmt.Errorf("SARIF source root %q: want an absolute URI ending in /, e.g. file:///home/runner/work/repo/repo/", o.SrcRootURI)
		}
	}
	return o, nil
}

var semverRE = regexp.MustCompile(`^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$`)

func build(res finding.Result, opts Options) (*gosarif.Report, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	report, err := gosarif.New(gosarif.Version210, false)
	if err != nil {
		return nil, err
	}
	report.Schema = schemaURI

	driver := gosarif.NewVersionedDriver(ToolName, opts.ToolVersion).
		WithInformationURI(opts.InformationURI).
		WithFullName("kms-deletion-gate: AWS KMS keys pending deletion").
		WithOrganization("kms-deletion-gate")
	if m := semverRE.FindStringSubmatch(opts.ToolVersion); m != nil {
		driver.WithVersion(m[1]).WithSemanticVersion(m[1])
	}
	for _, r := range rules {
		driver.AddRule(ruleDescriptor(r, opts.InformationURI))
	}
	run := gosarif.NewRun(*gosarif.NewTool(driver))
	run.WithAutomationDetails(gosarif.NewRunAutomationDetails().WithID(opts.Category))
	if opts.SrcRootURI != "" {
		run.WithOriginalUriBaseIds(map[string]*gosarif.ArtifactLocation{
			SrcRootBaseID: gosarif.NewSimpleArtifactLocation(opts.SrcRootURI),
		})
	}

	selected, omitted := selectFindings(res.Findings, opts)
	for _, f := range selected {
		run.AddResult(result(f, res.ScanTime, opts))
	}

	inv := run.AddInvocation(true)
	if !res.ScanTime.IsZero() {
		t := res.ScanTime.UTC()
		inv.EndTimeUTC = &t
	}
	for _, e := range res.Errors {
		where := e.Account
		if e.Region != "" {
			where += "/" + e.Region
		}
		text := fmt.Sprintf("Scan incomplete in %s (%s): %s",
			escape.SARIFMessage(where, maxIdentifierRunes), escape.SARIFMessage(e.Stage, maxIdentifierRunes), escape.SARIFMessage(e.Message, maxNoteRunes))
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, &gosarif.Notification{Level: "error", Message: gosarif.NewTextMessage(text)})
	}
	for _, w := range res.Warnings {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			&gosarif.Notification{Level: "warning", Message: gosarif.NewTextMessage(escape.SARIFMessage(w, maxNoteRunes))})
	}
	if omitted > 0 {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, &gosarif.Notification{Level: "warning",
			Message: gosarif.NewTextMessage(fmt.Sprintf("%d findings were left out of this log to stay within %d results; the least severe were left out first. The job summary lists them all.", omitted, opts.MaxResults))})
	}

	props := gosarif.Properties{
		"targets_scanned": len(res.Scanned),
		"scan_errors":     len(res.Errors),
		"keys_seen":       res.KeysSeen,
		"findings":        len(res.Findings),
		"results_omitted": omitted,
		"passed":          res.Passed,
		"fail_on":         res.FailOn.String(),
	}
	run.Properties = props
	report.AddRun(run)
	return report, nil
}

// selectFindings keeps at most opts.MaxResults findings, dropping allowlisted
// ones when asked. If it must drop more, it keeps unapproved findings first,
// most severe first, and returns the kept ones in their original order.
func selectFindings(all []finding.Finding, opts Options) ([]finding.Finding, int) {
	idx := make([]int, 0, len(all))
	for i, f := range all {
		if opts.OmitAllowlisted && f.Allowlisted {
			continue
		}
		idx = append(idx, i)
	}
	omitted := 0
	if len(idx) > opts.MaxResults {
		slices.SortStableFunc(idx, func(a, b int) int {
			fa, fb := all[a], all[b]
			if fa.Allowlisted != fb.Allowlisted {
				if fa.Allowlisted {
					return 1
				}
				return -1
			}
			return cmp.Compare(fb.Severity, fa.Severity)
		})
		omitted = len(idx) - opts.MaxResults
		idx = idx[:opts.MaxResults]
		slices.Sort(idx)
	}
	out := make([]finding.Finding, len(idx))
	for i, j := range idx {
		out[i] = all[j]
	}
	return out, omitted
}

func ruleDescriptor(r ruleSpec, infoURI string) *gosarif.ReportingDescriptor {
	d := gosarif.NewRule(r.id).
		WithName(r.name).
		WithShortDescription(gosarif.NewMultiformatMessageString(r.short)).
		WithFullDescription(gosarif.NewMultiformatMessageString(r.full)).
		WithHelpURI(infoURI + "#" + r.id).
		WithTextHelp(r.helpText).
		WithMarkdownHelp(r.helpMarkdown).
		WithDefaultConfiguration(gosarif.NewReportingConfiguration().WithLevel(level(r.defaultSeverity)))
	d.WithProperties(gosarif.Properties{
		"security-severity": securitySeverity[r.defaultSeverity],
		"precision":         "very-high", // the key state comes from KMS itself
		"tags":              r.tags,
	})
	return d
}

// keyARN returns the finding's ARN, or one built from its parts.
func keyARN(f finding.Finding) string {
	if f.ARN != "" {
		return f.ARN
	}
	return "arn:aws:kms:" + f.Region + ":" + f.Account + ":key/" + f.KeyID
}

// Fingerprint returns the stable identity of a finding across runs: a hash of
// its rule and key ARN only.
func Fingerprint(f finding.Finding) string {
	sum := sha256.Sum256([]byte(f.RuleID + "\x00" + keyARN(f)))
	return hex.EncodeToString(sum[:])
}

// suppressionGUID derives a version-5-shaped GUID from the fingerprint, so the
// suppression of the same finding keeps its id across runs.
func suppressionGUID(fp string) string {
	b, _ := hex.DecodeString(fp[:32])
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func result(f finding.Finding, scanTime time.Time, opts Options) *gosarif.Result {
	fp := Fingerprint(f)
	r := gosarif.NewRuleResult(f.RuleID).
		WithLevel(level(f.Severity)).
		WithMessage(gosarif.NewTextMessage(message(f, scanTime))).
		WithPartialFingerPrints(map[string]any{
			// GitHub uses only primaryLocationLineHash; "hash:occurrence" is
			// the shape CodeQL gives it.
			"primaryLocationLineHash": fp[:16] + ":1",
			fingerprintVersion:        fp,
		})
	if rk, ok := rank[f.Severity]; ok {
		r.WithRank(rk)
	}

	primary := fallbackLocation(opts)
	if len(f.Locations) > 0 {
		primary = iacLocation(f.Locations[0], 0, opts)
		for i, l := range f.Locations[1:] {
			if i >= maxRelatedLocations {
				break
			}
			r.AddRelatedLocation(iacLocation(l, i+1, opts))
		}
	}
	r.WithLocations([]*gosarif.Location{primary})

	if f.Allowlisted {
		reason := escape.PlainText(f.AllowReason, maxReasonRunes)
		if strings.TrimSpace(reason) == "" {
			reason = "Accepted by the kms-deletion-gate allowlist."
		}
		s := gosarif.NewSuppression("external").
			WithStatus("accepted").
			WithJustifcation(reason).
			WithGuid(suppressionGUID(fp)).
			WithLocation(iacOrFallback(f, opts))
		if f.AllowExpires != "" {
			s.Properties = gosarif.Properties{"expires": escape.PlainText(f.AllowExpires, 32)}
		}
		r.AddSuppression(s)
	}

	r.Properties = properties(f, scanTime)
	return r
}

// iacOrFallback is a fresh copy of the primary location (a suppression
// requires its own).
func iacOrFallback(f finding.Finding, opts Options) *gosarif.Location {
	if len(f.Locations) > 0 {
		return iacLocation(f.Locations[0], 0, opts)
	}
	return fallbackLocation(opts)
}

func artifactLocation(p string, opts Options) *gosarif.ArtifactLocation {
	a := gosarif.NewSimpleArtifactLocation(uriOf(p))
	if opts.SrcRootURI != "" {
		a.WithUriBaseId(SrcRootBaseID)
	}
	return a
}

// uriOf turns a slash-separated repository path into a relative URI
// reference, percent-encoding what needs it.
func uriOf(p string) string {
	return (&url.URL{Path: escape.PlainText(p, 1024)}).String()
}

func iacLocation(l finding.Location, id int, opts Options) *gosarif.Location {
	line := max(l.Line, 1)
	loc := gosarif.NewLocationWithPhysicalLocation(
		gosarif.NewPhysicalLocation().
			WithArtifactLocation(artifactLocation(l.Path, opts)).
			WithRegion(gosarif.NewSimpleRegion(line, line))).
		WithDescriptionText("References the key as " + escape.SARIFMessage(l.Match, maxIdentifierRunes) + ".")
	if id > 0 {
		loc.WithId(id)
	}
	return loc
}

func fallbackLocation(opts Options) *gosarif.Location {
	return gosarif.NewLocationWithPhysicalLocation(
		gosarif.NewPhysicalLocation().
			WithArtifactLocation(artifactLocation(opts.FallbackFile, opts)).
			WithRegion(gosarif.NewSimpleRegion(1, 1))).
		WithDescriptionText("No infrastructure as code in this repository references the key; the result is placed on this file.")
}

// displayName is how a message names the key: its first alias, else its id.
func displayName(f finding.Finding) string {
	if len(f.Aliases) > 0 {
		name := escape.SARIFMessage(f.Aliases[0], maxIdentifierRunes)
		if n := len(f.Aliases) - 1; n > 0 {
			name += fmt.Sprintf(" (and %d more aliases)", n)
		}
		return name
	}
	return escape.SARIFMessage(f.KeyID, maxIdentifierRunes)
}

// message is the result text. Its first sentence is the alert title.
func message(f finding.Finding, scanTime time.Time) string {
	var b strings.Builder
	where := escape.SARIFMessage(f.Account, maxIdentifierRunes) + "/" + escape.SARIFMessage(f.Region, maxIdentifierRunes)
	name := displayName(f)
	switch f.RuleID {
	case finding.RuleDisabled:
		fmt.Fprintf(&b, "KMS key %s in %s is disabled.", name, where)
	case finding.RulePendingReplicaDeletion:
		if f.DeletionDate.IsZero() {
			fmt.Fprintf(&b, "KMS key %s in %s is a multi-Region primary waiting for its replicas to be deleted before it is deleted.", name, where)
		} else {
			fmt.Fprintf(&b, "KMS key %s in %s is a multi-Region primary scheduled for deletion on %s (%s) once its replicas are deleted.",
				name, where, report.Minute(f.DeletionDate), report.DaysLeftPhrase(f.DaysLeft))
		}
	default:
		if f.DeletionDate.IsZero() {
			fmt.Fprintf(&b, "KMS key %s in %s is scheduled for deletion.", name, where)
		} else {
			fmt.Fprintf(&b, "KMS key %s in %s is scheduled for deletion on %s (%s).", name, where, report.Minute(f.DeletionDate), report.DaysLeftPhrase(f.DaysLeft))
		}
	}
	fmt.Fprintf(&b, " Severity: %s.", f.Severity)
	if f.InUseReason != "" {
		fmt.Fprintf(&b, " Still needed: %s.", strings.TrimRight(escape.SARIFMessage(f.InUseReason, maxDescriptionRunes), "."))
	}
	b.WriteString(" " + lastUse(f, scanTime))
	if n := len(f.AttemptedUses); n > 0 {
		last := f.AttemptedUses[n-1]
		fmt.Fprintf(&b, " %d attempted uses since it was scheduled, the latest %s %s.", n,
			escape.SARIFMessage(last.Operation, maxIdentifierRunes), report.Ago(scanTime, last.Time))
	}
	if s := f.ScheduledBy; s != nil {
		fmt.Fprintf(&b, " Scheduled by %s %s.", escape.SARIFMessage(s.Principal, maxIdentifierRunes), report.Ago(scanTime, s.Time))
	}
	fmt.Fprintf(&b, " Key ARN: %s.", escape.SARIFMessage(keyARN(f), maxIdentifierRunes))
	if f.Description != "" {
		// Quoted by hand: %q would add backslashes that SARIF reads as escapes.
		fmt.Fprintf(&b, " Description: \"%s\".", escape.SARIFMessage(f.Description, maxDescriptionRunes))
	}
	if f.Allowlisted {
		b.WriteString(" Accepted by the allowlist")
		if f.AllowExpires != "" {
			fmt.Fprintf(&b, " until %s", escape.SARIFMessage(f.AllowExpires, 32))
		}
		if f.AllowReason != "" {
			fmt.Fprintf(&b, ": %s", escape.SARIFMessage(f.AllowReason, maxDescriptionRunes))
		}
		b.WriteString(".")
	} else if f.RuleID == finding.RuleDisabled {
		if c := f.EnableCommand(); c != "" {
			fmt.Fprintf(&b, " Enable it with: %s.", c)
		}
	} else if c := f.CancelCommand(); c != "" {
		fmt.Fprintf(&b, " If this deletion is not intended, cancel it with: %s", c)
	}
	return b.String()
}

func lastUse(f finding.Finding, scanTime time.Time) string {
	switch {
	case f.LastUse != nil:
		s := fmt.Sprintf("Last use: %s, %s", escape.SARIFMessage(f.LastUse.Operation, maxIdentifierRunes), report.Ago(scanTime, f.LastUse.Time))
		if f.LastUse.EventID != "" {
			s += " (CloudTrail event " + escape.SARIFMessage(f.LastUse.EventID, maxIdentifierRunes) + ")"
		}
		return s + "."
	case f.UsageTracked && !f.TrackingStart.IsZero():
		return "Last use: none recorded since tracking began on " + report.Minute(f.TrackingStart) + "."
	case f.UsageTracked:
		return "Last use: none recorded."
	default:
		return "Last use: unknown (key usage was not available)."
	}
}

func properties(f finding.Finding, scanTime time.Time) gosarif.Properties {
	plain := func(s string) string { return escape.PlainText(s, maxIdentifierRunes) }
	aliases := make([]string, 0, min(len(f.Aliases), maxAliases))
	for _, a := range f.Aliases {
		if len(aliases) == maxAliases {
			break
		}
		aliases = append(aliases, plain(a))
	}
	p := gosarif.Properties{
		"account":        plain(f.Account),
		"region":         plain(f.Region),
		"arn":            plain(keyARN(f)),
		"key_id":         plain(f.KeyID),
		"aliases":        aliases,
		"state":          plain(f.State),
		"severity":       f.Severity.String(),
		"allowlisted":    f.Allowlisted,
		"multi_region":   f.MultiRegion,
		"usage_tracked":  f.UsageTracked,
		"attempted_uses": len(f.AttemptedUses),
	}
	if f.Description != "" {
		p["description"] = escape.PlainText(f.Description, maxDescriptionRunes)
	}
	if f.KeySpec != "" {
		p["key_spec"] = plain(f.KeySpec)
	}
	if !f.DeletionDate.IsZero() {
		p["deletion_date"] = f.DeletionDate.UTC().Format(time.RFC3339)
		p["days_left"] = math.Round(f.DaysLeft*10) / 10
	}
	if f.InUseReason != "" {
		p["in_use_reason"] = escape.PlainText(f.InUseReason, maxNoteRunes)
	}
	if f.LastUse != nil {
		lu := map[string]any{"operation": plain(f.LastUse.Operation), "time": f.LastUse.Time.UTC().Format(time.RFC3339)}
		if f.LastUse.EventID != "" {
			lu["cloudtrail_event_id"] = plain(f.LastUse.EventID)
		}
		if !scanTime.IsZero() {
			lu["days_before_scan"] = math.Floor(scanTime.Sub(f.LastUse.Time).Hours()/24*10) / 10
		}
		p["last_use"] = lu
	}
	if !f.TrackingStart.IsZero() {
		p["usage_tracking_start"] = f.TrackingStart.UTC().Format(time.RFC3339)
	}
	if s := f.ScheduledBy; s != nil {
		p["scheduled_by"] = map[string]any{"principal": plain(s.Principal), "time": s.Time.UTC().Format(time.RFC3339)}
	}
	if f.Allowlisted {
		p["allow_reason"] = escape.PlainText(f.AllowReason, maxReasonRunes)
		if f.AllowExpires != "" {
			p["allow_expires"] = escape.PlainText(f.AllowExpires, 32)
		}
	} else if c := f.CancelCommand(); c != "" && f.RuleID != finding.RuleDisabled {
		p["cancel_command"] = c
	}
	if f.Remediation != nil {
		p["remediation"] = map[string]any{"action": plain(f.Remediation.Action), "outcome": plain(f.Remediation.Outcome)}
	}
	return p
}
