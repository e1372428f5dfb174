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
