package config

// Input describes one action input / command-line flag. The same table drives
// the flags, the INPUT_* environment of the Actions runner, the keys accepted
// in the config file, --help, and the README's inputs table (a test checks
// action.yml against it).
type Input struct {
	Name        string
	Default     string
	Description string
	// InFile reports whether the setting may also be given in the config file.
	InFile bool
	// Secret inputs are masked and never echoed.
	Secret bool
}

// Inputs lists every input in the order the help shows them.
var Inputs = []Input{
	{Name: "regions", Default: "all", InFile: true, Description: "Regions to scan: a comma- or newline-separated list (us-east-1,eu-west-1), or all for every region enabled in each account."},
	{Name: "fail-on", Default: "medium", InFile: true, Description: "Fail the gate when an unapproved finding is at or above this severity: critical, high, medium, low or none."},
	{Name: "critical-days", Default: "3", InFile: true, Description: "A key deleted within this many days is critical."},
	{Name: "high-days", Default: "7", InFile: true, Description: "A key deleted within this many days is high (else medium)."},
	{Name: "recent-use-days", Default: "30", InFile: true, Description: "A successful use of a pending key within this many days before the scan makes it critical."},
	{Name: "cloudtrail", Default: "true", InFile: true, Description: "Look up who scheduled each deletion and attempted uses since, in CloudTrail (findings only)."},
	{Name: "include-disabled", Default: "false", InFile: true, Description: "Also report disabled customer managed keys (rule kms-key-disabled, low)."},
	{Name: "config", Default: ".github/kms-deletion-gate.yml", Description: "Path of the YAML config file holding the allowlist and any setting; the default path is read only when present. Inputs left at their default do not override it."},
	{Name: "sarif-file", Default: "kms-deletion-gate.sarif", InFile: true, Description: "Where to write the SARIF 2.1.0 report (always written)."},
	{Name: "upload-sarif", Default: "true", InFile: true, Description: "Upload the SARIF report to GitHub code scanning (needs security-events: write)."},
	{Name: "category", Default: "kms-deletion-gate", InFile: true, Description: "Code scanning category of this scan; give each matrix shard its own."},
	{Name: "comment", Default: "upsert", InFile: true, Description: "Pull-request comment: upsert (one comment, updated in place) or off."},
	{Name: "github-token", Default: "${{ github.token }}", Secret: true, Description: "Token for code scanning upload and the pull-request comment."},
	{Name: "report-json", Default: "kms-deletion-gate.json", InFile: true, Description: "Where to write the JSON report."},
	{Name: "remediate", Default: "none", InFile: true, Description: "none, plan (print the exact cancel commands) or cancel (call CancelKeyDeletion for unapproved findings at or above remediate-on)."},
	{Name: "remediate-on", Default: "medium", InFile: true, Description: "Lowest severity that remediation acts on."},
	{Name: "re-enable", Default: "false", InFile: true, Description: "After cancelling a deletion, also enable the key (it is Disabled after CancelKeyDeletion)."},
	{Name: "on-scan-error", Default: "fail", InFile: true, Description: "fail (exit 3 when any account or region could not be scanned) or warn."},
	{Name: "max-concurrency", Default: "1024", InFile: true, Description: "Most AWS calls in flight in total. Within it, calls follow each account and Region's KMS request quotas (calls in flight from the DescribeKey quota at the measured round trip, backing off on throttling)."},
	{Name: "timeout", Default: "15m", InFile: true, Description: "Bound on the whole run (Go duration, e.g. 10m)."},
	{Name: "role-to-assume", Default: "", Description: "Role ARN to assume with the job's GitHub OIDC token (needs id-token: write). Empty: the standard AWS credential chain."},
	{Name: "audience", Default: "sts.amazonaws.com", Description: "Audience of the OIDC token."},
	{Name: "role-session-name", Default: "kms-deletion-gate", Description: "Session name of assumed roles."},
	{Name: "role-duration-seconds", Default: "3600", Description: "Duration of assumed-role sessions."},
	{Name: "role-external-id", Default: "", Description: "External ID passed when assuming member-account roles."},
	{Name: "accounts", Default: "", InFile: true, Description: "Accounts to scan: role ARNs, or 12-digit account IDs with role-name. Empty: the base identity's account."},
	{Name: "role-name", Default: "", InFile: true, Description: "Role assumed in each account ID of accounts (or of the organization)."},
	{Name: "organization", Default: "false", InFile: true, Description: "Scan every active account of the AWS organization (Organizations ListAccounts), assuming role-name in each."},
	{Name: "mask-account-ids", Default: "false", InFile: true, Description: "Mask account IDs in the log."},
}

// Outputs lists the action's outputs.
var Outputs = []struct{ Name, Description string }{
	{"result", "pass or fail: the gate's verdict."},
	{"critical", "Number of unapproved critical findings."},
	{"high", "Number of unapproved high findings."},
	{"medium", "Number of unapproved medium findings."},
	{"low", "Number of unapproved low findings."},
	{"allowlisted", "Number of findings accepted by the allowlist."},
	{"total", "Number of findings, allowlisted included."},
	{"sarif-file", "Path of the SARIF report."},
	{"report-json", "Path of the JSON report."},
}
