package config

// The modes below are the one definition of each choice setting; config
// parses them and every other package compares the typed constants.

// RemediateMode is the remediate setting: what remediation does.
type RemediateMode string

// Remediate modes.
const (
	RemediateNone   RemediateMode = "none"   // nothing
	RemediatePlan   RemediateMode = "plan"   // record the exact commands, call nothing
	RemediateCancel RemediateMode = "cancel" // call CancelKeyDeletion (and EnableKey with re-enable)
)

// ScanErrorPolicy is the on-scan-error setting: what an incomplete scan does
// to the exit code.
type ScanErrorPolicy string

// Scan error policies.
const (
	ScanErrorFail ScanErrorPolicy = "fail" // exit 3 when any account or region could not be scanned
	ScanErrorWarn ScanErrorPolicy = "warn" // warn and judge what was scanned
)

// CommentMode is the comment setting: the pull-request comment.
type CommentMode string

// Comment modes.
const (
	CommentUpsert CommentMode = "upsert" // one comment, updated in place
	CommentOff    CommentMode = "off"    // no comment
)

// FailScope is the fail-scope setting: which findings the verdict counts.
type FailScope string

// Fail scopes.
const (
	ScopeAll    FailScope = "all"    // every finding
	ScopeChange FailScope = "change" // what the change under review does; the rest is elsewhere in the account
)

// AllowlistSource is the allowlist-from setting: which allowlist approves on
// a pull request.
type AllowlistSource string

// Allowlist sources.
const (
	AllowlistBase AllowlistSource = "base" // the base branch's: the pull request cannot approve its own deletions
	AllowlistHead AllowlistSource = "head" // the pull request's own
)

// IsPullRequestEvent reports whether a GITHUB_EVENT_NAME is a pull request's.
func IsPullRequestEvent(event string) bool {
	return event == "pull_request" || event == "pull_request_target"
}

// IssueMode is the issue setting: the scheduled audit issue.
type IssueMode string

// Issue modes.
const (
	IssueUpsert IssueMode = "upsert" // one issue per category, updated in place, closed when all clear
	IssueOff    IssueMode = "off"    // no issue
)
