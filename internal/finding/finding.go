// Package finding owns the plain values that flow from the scan through policy
// to every report: a Finding per key that needs attention, and the Result of a
// whole run (findings plus scan coverage and errors). No report calls AWS; each
// is a function of a Result.
package finding

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Rule identifiers. They are stable: SARIF fingerprints, allowlists and users'
// dashboards depend on them, so they are never renamed.
const (
	RulePendingDeletion        = "kms-key-pending-deletion"
	RulePendingReplicaDeletion = "kms-key-pending-replica-deletion"
	RuleDisabled               = "kms-key-disabled"
)

// Severity orders how urgent a finding is. The zero value is SeverityNone.
type Severity int

// Severities from least to most urgent.
const (
	SeverityNone Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"none", "low", "medium", "high", "critical"}

// String returns the lower-case name used in inputs, outputs and reports.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "none"
	}
	return severityNames[s]
}

// ParseSeverity parses a lower-case severity name as used by fail-on.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return SeverityNone, fmt.Errorf("unknown severity %q (want one of critical, high, medium, low, none)", s)
}

// MarshalText encodes the severity by name for JSON and YAML.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Severities lists the reportable severities, most urgent first.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}

// Key states as KMS reports them in KeyMetadata.KeyState.
const (
	StatePendingDeletion        = "PendingDeletion"
	StatePendingReplicaDeletion = "PendingReplicaDeletion"
	StateDisabled               = "Disabled"
	StateEnabled                = "Enabled"
)

// Finding is one customer managed key that is pending deletion (or disabled,
// when asked). Strings that came from AWS (Description, Aliases, Tags) are
// untrusted: every sink escapes them.
type Finding struct {
	RuleID       string
	Account      string
	Region       string
	KeyID        string
	ARN          string
	Aliases      []string
	State        string
	KeySpec      string
	MultiRegion  bool
	Description  string
	Tags         map[string]string
	CreationDate time.Time
	// DeletionDate is zero for disabled keys and for multi-Region primaries
	// in PendingReplicaDeletion whose date is not known yet.
	DeletionDate time.Time
	// PendingWindowDays is the waiting period requested when scheduled, if known.
	PendingWindowDays int

	// Set by policy.
	Severity     Severity
	DaysLeft     float64 // fractional days until DeletionDate at scan time; negative if past
	Allowlisted  bool
	AllowReason  string
	AllowExpires string // YYYY-MM-DD of the entry that matched
	// AllowAddedBy is the source (file:line) of an allowlist entry that
	// would approve the finding but that the pull request itself adds or
	// widens: it approves nothing until merged.
	AllowAddedBy string

	// Evidence that something still needs the key (issue: forensics). Any
	// evidence makes the finding critical.
	LastUse       *KeyUse        // from GetKeyLastUsage; nil if none recorded or not fetched
	UsageTracked  bool           // GetKeyLastUsage answered (so a nil LastUse means "none since TrackingStartDate")
	TrackingStart time.Time      // GetKeyLastUsage TrackingStartDate
	AttemptedUses []KeyUse       // CloudTrail: failed calls since scheduling
	ScheduledBy   *ScheduleEvent // CloudTrail ScheduleKeyDeletion event
	InUseReason   string         // why the finding was raised to critical, empty if not

	// Remediation outcome, if any was attempted.
	Remediation *Remediation

	// Locations in the repository's infrastructure as code that reference the key.
	Locations []Location

	// Planned is the infrastructure change that deletes the key (rule
	// kms-key-deletion-planned); nil for every other rule.
	Planned *PlannedChange
	// Elsewhere marks a finding outside the change under review (fail-scope
	// change): reported, but not counted in the verdict.
	Elsewhere bool
}

// KeyUse is one (attempted or successful) use of a key.
type KeyUse struct {
	Operation string    `json:"operation"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal,omitempty"`
	EventID   string    `json:"event_id,omitempty"`
	SourceIP  string    `json:"source_ip,omitempty"`
	ErrorCode string    `json:"error_code,omitempty"`
}

// ScheduleEvent is the CloudTrail record of the ScheduleKeyDeletion call.
type ScheduleEvent struct {
	Principal         string    `json:"principal"`
	Time              time.Time `json:"time"`
	SourceIP          string    `json:"source_ip,omitempty"`
	UserAgent         string    `json:"user_agent,omitempty"`
	PendingWindowDays int       `json:"pending_window_days,omitempty"`
	EventID           string    `json:"event_id,omitempty"`
}

// Remediation records what was done about a finding.
type Remediation struct {
	Action     string `json:"action"`  // "plan", "cancel", "cancel+enable"
	Command    string `json:"command"` // the exact AWS CLI command
	Outcome    string `json:"outcome"` // "planned", "cancelled", "enabled", "failed", "skipped"
	Error      string `json:"error,omitempty"`
	StateAfter string `json:"state_after,omitempty"`
}

// Location is a line of a repository file that references a key.
type Location struct {
	Path  string `json:"path"`  // slash-separated, relative to the workspace root
	Line  int    `json:"line"`  // 1-based
	Match string `json:"match"` // the ARN, key id or alias found there
}

// CancelCommand returns the exact AWS CLI command that cancels the deletion,
// for readers to paste into a shell. It is empty unless the key id is a KMS
// key id (a UUID, or mrk- and 32 hex digits for a multi-Region key) and the
// region has AWS's syntax: a hostile endpoint's id could otherwise break out
// of any quoting once a sink (a code span, a fenced block) rewrites it.
func (f Finding) CancelCommand() string {
	if !ValidKeyID(f.KeyID) || !regionSyntax.MatchString(f.Region) {
		return ""
	}
	return fmt.Sprintf("aws kms cancel-key-deletion --key-id %s --region %s", f.KeyID, f.Region)
}

// EnableCommand returns the exact AWS CLI command that enables the key again,
// empty under the same conditions as CancelCommand.
func (f Finding) EnableCommand() string {
	if c := f.CancelCommand(); c != "" {
		return "aws kms enable-key" + strings.TrimPrefix(c, "aws kms cancel-key-deletion")
	}
	return ""
}

var (
	keyIDSyntax  = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$`)
	regionSyntax = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
)

// ValidKeyID reports whether id has the syntax of a KMS key id.
func ValidKeyID(id string) bool { return keyIDSyntax.MatchString(id) }

// Gating reports whether the finding counts against the gate at threshold failOn.
func (f Finding) Gating(failOn Severity) bool {
	return !f.Allowlisted && !f.Elsewhere && failOn != SeverityNone && f.Severity >= failOn
}

// Target is one account x region pair the run meant to scan.
type Target struct {
	Account string `json:"account"`
	Region  string `json:"region"`
}

// ScanError is a target (or a whole account, Region empty) that could not be
// fully scanned. It is reported, never dropped.
type ScanError struct {
	Account string `json:"account"`
	Region  string `json:"region,omitempty"`
	Stage   string `json:"stage"` // e.g. "credentials", "list-keys", "describe-key", "regions"
	// KeyID names the one key that could not be read (its key policy denies
	// DescribeKey) when the rest of the Region was scanned; empty when the
	// error covers the whole target. Message names the key too, for the
	// reports that show only the message.
	KeyID   string `json:"key_id,omitempty"`
	Message string `json:"message"`
}

// Result is everything a run learned; every report is a function of it.
type Result struct {
	ScanTime time.Time
	Findings []Finding // sorted: DeletionDate ascending (zero dates last), then account, region, key
	Scanned  []Target  // targets fully scanned
	Errors   []ScanError
	KeysSeen int // customer managed keys described
	APICalls int64
	Warnings []string // e.g. expired allowlist entries; untrusted parts already in plain text
	FailOn   Severity
	Passed   bool
	// Scope is the fail-scope in force: "all", or "change" when only what
	// the change under review does counts (findings marked Elsewhere do not).
	Scope string
	// AllowAddedByChange lists the allowlist entries the pull request adds
	// or widens, which approve nothing until merged.
	AllowAddedByChange []AllowNote
	// SettingChanges lists the config-file settings a pull request changes
	// that decide the verdict, the scope or remediation, and whose value
	// applies on it (config.Settings.ForPullRequest).
	SettingChanges []SettingChange
}

// SettingChange is one config-file setting that a pull request changes.
// Its texts come from config files: sinks escape them.
type SettingChange struct {
	Setting string `json:"setting"` // the input name, e.g. fail-on
	File    string `json:"file"`    // the config file, as a repository path
	Head    string `json:"head"`    // the pull request's value
	// Base is the base branch's value (the default when its file does not
	// set it), or, when BaseUnread, the value that applies instead of Head.
	Base string `json:"base"`
	// Applied: the pull request's value applies now, being at least as
	// strict; else Base applies until the pull request is merged.
	Applied bool `json:"applied"`
	// BaseUnread: the base branch's file could not be read.
	BaseUnread bool `json:"base_unread,omitempty"`
}

// AllowNote describes an allowlist entry for reports. Its strings come from
// the config file: sinks escape them.
type AllowNote struct {
	Source   string `json:"source"`   // file:line
	Selector string `json:"selector"` // e.g. "key alias/orders, account 111122223333"
	Reason   string `json:"reason"`
	Expires  string `json:"expires"`
}

// Counts returns the number of findings per severity that the verdict counts:
// allowlisted ones and those elsewhere in the account (outside the change
// under review, fail-scope change) are left out.
func (r Result) Counts() map[Severity]int {
	c := map[Severity]int{}
	for _, f := range r.Findings {
		if !f.Allowlisted && !f.Elsewhere {
			c[f.Severity]++
		}
	}
	return c
}
