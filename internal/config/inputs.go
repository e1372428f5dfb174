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
	{Name: "terraform-plan", Default: "", Description: "Terraform plans to judge, as written by terraform show -json PLANFILE: a comma- or newline-separated list of paths. Each key the plan deletes or replaces is a finding of rule kms-key-deletion-planned."},
	{Name: "cloudformation-changeset", Default: "", Description: "CloudFormation change sets to judge, as written by aws cloudformation describe-change-set: a comma- or newline-separated list of paths. Each AWS::KMS::Key or ReplicaKey removed or replaced (unless retained) is a finding of rule kms-key-deletion-planned."},
	{Name: "fail-scope", Default: "", Description: "What the verdict counts: all (every finding), or change (the deletions the plans make and the keys pending deletion that the pull request's changed files reference; the rest is reported as elsewhere in the account). Empty: change on pull_request, all otherwise."},
	{Name: "allowlist-from", Default: "base", Description: "On pull_request, which allowlist approves: base (the base branch's file, read through the contents API; entries the pull request adds or widens approve nothing until merged) or head (the pull request's own)."},
	{Name: "max-allow-days", Default: "365", Description: "Refuse allowlist entries that expire more than this many days ahead."},
	{Name: "include-disabled", Default: "false", InFile: true, Description: "Also report disabled customer managed keys (rule kms-key-disabled, low)."},
	{Name: "config", Default: ".github/kms-deletion-gate.yml", Description: "Path of the YAML config file holding the allowlist and any setting; the default path is read only when present. Inputs left at their default do not override it."},
	{Name: "sarif-file", Default: "kms-deletion-gate.sarif", InFile: true, Description: "Where to write the SARIF 2.1.0 report (always written; exit code 4 when it cannot be)."},
	{Name: "upload-sarif", Default: "true", InFile: true, Description: "Upload the SARIF report to GitHub code scanning (needs security-events: write)."},
	{Name: "wait-for-processing", Default: "false", InFile: true, Description: "After the upload, wait (at most 2 minutes) for code scanning to process the SARIF report and warn if it failed. The verdict, outputs and summary never wait otherwise."},
	{Name: "category", Default: "kms-deletion-gate", InFile: true, Description: "Code scanning category of this scan; give each matrix shard its own."},
	{Name: "comment", Default: "upsert", InFile: true, Description: "Pull-request comment: upsert (one comment, updated in place) or off."},
	{Name: "github-token", Default: "${{ github.token }}", Secret: true, Description: "Token for code scanning upload and the pull-request comment."},
	{Name: "report-json", Default: "kms-deletion-gate.json", InFile: true, Description: "Where to write the JSON report (exit code 4 when it cannot be written)."},
	{Name: "issue", Default: "upsert", InFile: true, Description: "Audit issue of scheduled and workflow_dispatch runs (never pull requests): upsert (one issue per category, updated in place with what changed, closed when all clear; needs issues: write) or off."},
	{Name: "junit-file", Default: "", InFile: true, Description: "Where to write a JUnit XML report (a test case per account/Region and per finding) for GitLab, Jenkins or CircleCI. Empty: not written."},
	{Name: "ocsf-file", Default: "", InFile: true, Description: "Where to write the findings as OCSF 1.1 Detection Finding JSON (as Prowler emits; for Security Lake, Security Hub or a SIEM). Empty: not written."},
	{Name: "webhook-url", Default: "", Secret: true, Description: "Webhook (pass a secret) that receives a JSON payload, Slack-compatible text plus the findings, when the gate fails, the scan is incomplete or keys changed since the last run. Never printed. CLI: also KMS_DELETION_GATE_WEBHOOK_URL."},
	{Name: "remediate", Default: "none", InFile: true, Description: "none, plan (print the exact cancel commands) or cancel (call CancelKeyDeletion for unapproved findings at or above remediate-on)."},
	{Name: "remediate-on", Default: "medium", InFile: true, Description: "Lowest severity that remediation acts on."},
	{Name: "re-enable", Default: "false", InFile: true, Description: "After cancelling a deletion, also enable the key (it is Disabled after CancelKeyDeletion)."},
	{Name: "on-scan-error", Default: "fail", InFile: true, Description: "fail (exit 3 when any account or region could not be scanned) or warn."},
	{Name: "max-concurrency", Default: "1024", InFile: true, Description: "Most AWS calls in flight in total. Within it, calls follow each account and Region's KMS request quotas (calls in flight from the DescribeKey quota at the measured round trip, backing off on throttling)."},
	{Name: "timeout", Default: "15m", InFile: true, Description: "Bound on the whole run (Go duration, e.g. 10m)."},
	{Name: "aws-region", Default: "", Description: "Region for the base identity's calls (STS, Organizations, listing regions): the partition's home region, e.g. us-gov-west-1 or cn-northwest-1. Empty: AWS_REGION, else the first of regions, else us-east-1."},
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
	{"critical", "Number of unapproved critical findings the verdict counts (under fail-scope change, those of the change)."},
	{"high", "Number of unapproved high findings the verdict counts."},
	{"medium", "Number of unapproved medium findings the verdict counts."},
	{"low", "Number of unapproved low findings the verdict counts."},
	{"elsewhere", "Number of unapproved findings elsewhere in the account, outside the change under review (fail-scope change): reported, not counted by the verdict nor in critical, high, medium and low."},
	{"allowlisted", "Number of findings accepted by the allowlist."},
	{"total", "Number of findings, allowlisted included."},
	{"sarif-file", "Path of the SARIF report."},
	{"report-json", "Path of the JSON report."},
	{"sarif-id", "Code scanning's id of the SARIF upload, as github/codeql-action/upload-sarif gives it (empty when nothing was uploaded)."},
}
