package sarif

import (
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// securitySeverity maps our severities into GitHub's security-severity bands
// (critical above 9.0, high 7.0 to 8.9, medium 4.0 to 6.9, low 0.1 to 3.9).
var securitySeverity = map[finding.Severity]string{
	finding.SeverityCritical: "9.5",
	finding.SeverityHigh:     "8.0",
	finding.SeverityMedium:   "5.5",
	finding.SeverityLow:      "3.0",
}

// rank is the SARIF result rank (0 to 100) of each severity: the security
// severity times ten, so viewers that sort by rank agree with GitHub.
var rank = map[finding.Severity]float32{
	finding.SeverityCritical: 95,
	finding.SeverityHigh:     80,
	finding.SeverityMedium:   55,
	finding.SeverityLow:      30,
}

// level is the SARIF result level of each severity.
func level(s finding.Severity) string {
	switch {
	case s >= finding.SeverityHigh:
		return "error"
	case s == finding.SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// ruleSpec is the static metadata of one rule. None of it comes from AWS, so
// the Markdown help is written here as Markdown.
type ruleSpec struct {
	id, name        string
	short, full     string
	helpText        string
	helpMarkdown    string
	defaultSeverity finding.Severity // drives the rule's security-severity: GitHub reads it from the rule only
	tags            []string
}

// complianceTags name the rules that flag a key pending deletion. GitHub keeps
// 20 tags per rule and shows 10; these stay under both.
var complianceTags = []string{
	"security",
	"kms",
	"data-loss",
	"Security Hub KMS.3",
	"Trend Micro Conformity KMS-004",
	"NIST 800-53 rev5 SC-12",
	"NIST 800-53 rev5 SC-12(2)",
	"AWS Config kms-cmk-not-scheduled-for-deletion",
}

const remediationText = `Remediation:
1. Confirm whether the deletion is intended: who scheduled it (CloudTrail ScheduleKeyDeletion event), and whether anything still uses the key (the result's last use and attempted uses; data encrypted under it, such as S3 objects, EBS snapshots, RDS backups, Secrets Manager secrets).
2. If it is not intended, cancel it before the deletion date:
   aws kms cancel-key-deletion --key-id <key-id> --region <region>
   The key becomes Disabled; enable it again if it must be usable:
   aws kms enable-key --key-id <key-id> --region <region>
3. Verify: aws kms describe-key --key-id <key-id> --region <region> --query 'KeyMetadata.[KeyState,DeletionDate]'
4. If it is intended, document it in the allowlist (.github/kms-deletion-gate.yml) with the key, a reason and an expiry date, so the gate accepts it and the alert is closed.`

const remediationMarkdown = `### Remediation

1. **Confirm whether the deletion is intended.** Find who scheduled it (the CloudTrail ` + "`ScheduleKeyDeletion`" + ` event) and whether anything still uses the key: the result's last use and attempted uses, and any data encrypted under it (S3 objects, EBS snapshots, RDS backups, Secrets Manager secrets). Once the key is deleted, that data cannot be decrypted, ever.
2. **If it is not intended, cancel it** before the deletion date (the result message has the exact command):

   ` + "```sh" + `
   aws kms cancel-key-deletion --key-id <key-id> --region <region>
   # the key is now Disabled; enable it if it must be usable again
   aws kms enable-key --key-id <key-id> --region <region>
   ` + "```" + `
3. **Verify** that the key is no longer pending deletion:

   ` + "```sh" + `
   aws kms describe-key --key-id <key-id> --region <region> --query 'KeyMetadata.[KeyState,DeletionDate]'
   ` + "```" + `
4. **If it is intended, document it** in the allowlist (` + "`.github/kms-deletion-gate.yml`" + `) with a reason and an expiry date; the gate then accepts the key and this alert is closed:

   ` + "```yaml" + `
   allow:
     - key: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
       reason: "Retired; data re-encrypted under alias/orders-v2 (CHG-1042)"
       expires: 2026-12-31
   ` + "```" + `

### References

- AWS Security Hub control KMS.3: AWS KMS keys should not be deleted unintentionally
- Trend Micro Cloud One Conformity KMS-004: KMS Customer Master Key Pending Deletion
- NIST SP 800-53 rev5 SC-12, SC-12(2): cryptographic key establishment and management
- AWS Config rule ` + "`kms-cmk-not-scheduled-for-deletion`" + `
- [Deleting AWS KMS keys](https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html)
`

var rules = []ruleSpec{
	{
		id:    finding.RulePendingDeletion,
		name:  "KMSKeyPendingDeletion",
		short: "KMS customer managed key is scheduled for deletion",
		full: "An AWS KMS customer managed key is in the PendingDeletion state. When its waiting period ends, AWS deletes the key and every piece of data encrypted under it becomes unrecoverable. " +
			"Until then, CancelKeyDeletion can still save it. Severity grows as the deletion date nears (critical within 3 days, high within 7, medium otherwise, by default) and is critical whatever the date when something still used or tried to use the key.",
		helpText: "A KMS customer managed key pending deletion destroys, on its deletion date, the only means to decrypt the data encrypted under it. " +
			"AWS Security Hub KMS.3, Trend Micro Conformity KMS-004, NIST 800-53 rev5 (SC-12) and the AWS Config rule kms-cmk-not-scheduled-for-deletion all flag it.\n\n" + remediationText,
		helpMarkdown: "A KMS customer managed key in `PendingDeletion` is destroyed on its deletion date, and with it the only means to decrypt the data encrypted under it. " +
			"AWS Security Hub KMS.3, Trend Micro Conformity KMS-004, NIST 800-53 rev5 (SC-12) and the AWS Config rule `kms-cmk-not-scheduled-for-deletion` all flag it.\n\n" + remediationMarkdown,
		defaultSeverity: finding.SeverityHigh,
		tags:            complianceTags,
	},
	{
		id:    finding.RulePendingReplicaDeletion,
		name:  "KMSKeyPendingReplicaDeletion",
		short: "Multi-Region KMS primary key is waiting for its replicas to be deleted",
		full: "An AWS KMS multi-Region primary key is in the PendingReplicaDeletion state: it was scheduled for deletion and is waiting for its replica keys to be deleted, after which its own waiting period runs and it is deleted. " +
			"Data encrypted under the primary or any replica becomes unrecoverable once all are gone. Cancel the deletion of the replicas and the primary to keep it.",
		helpText: "A multi-Region primary key in PendingReplicaDeletion is on its way to deletion: once its replicas are deleted, its own waiting period runs and then the key, and the data encrypted under it, is gone.\n\n" +
			"Cancel the deletion of each replica key in its own region, and of the primary, if the deletion is not intended.\n\n" + remediationText,
		helpMarkdown: "A multi-Region primary key in `PendingReplicaDeletion` is on its way to deletion: once its replicas are deleted, its own waiting period runs and then the key, and the data encrypted under it, is gone.\n\n" +
			"Cancel the deletion of each replica key (in its own region) and of the primary if the deletion is not intended.\n\n" + remediationMarkdown,
		defaultSeverity: finding.SeverityHigh,
		tags:            complianceTags,
	},
	{
		id:    finding.RuleDeletionPlanned,
		name:  "KMSKeyDeletionPlanned",
		short: "The change deletes or replaces a KMS key",
		full: "A Terraform plan or CloudFormation change set of this change deletes or replaces an AWS KMS customer managed key. Applying it schedules the key for deletion, and when the waiting period ends every piece of data encrypted under it becomes unrecoverable. " +
			"Severity is critical when the live key was used within recent-use-days (GetKeyLastUsage), high otherwise.",
		helpText: "Applying this change deletes a KMS key (Terraform destroys it, or replaces it and destroys the old one; CloudFormation removes or replaces it). The old key is scheduled for deletion, and the data encrypted under it cannot be decrypted once it is gone.\n\n" +
			"Remediation:\n1. Check whether anything still needs the key: the result's last use and aliases, and data encrypted under it (S3 objects, EBS snapshots, RDS backups, Secrets Manager secrets).\n" +
			"2. If the deletion is not intended: keep the resource (Terraform: restore the block, or add lifecycle { prevent_destroy = true }, or a removed block with destroy = false to forget it; CloudFormation: DeletionPolicy and UpdateReplacePolicy Retain). A replacement is usually caused by a change to an attribute that forces a new key (key spec, key usage, multi-Region).\n" +
			"3. If it is intended, re-encrypt the data under another key first, then document the deletion in the allowlist (.github/kms-deletion-gate.yml) on the base branch with the key, a reason and an expiry date. An entry added by the same pull request approves nothing until it is merged.",
		helpMarkdown: "Applying this change deletes a KMS key: Terraform destroys it (or replaces it and destroys the old one), or CloudFormation removes or replaces it. The old key is scheduled for deletion, and the data encrypted under it cannot be decrypted once it is gone.\n\n" +
			"### Remediation\n\n1. **Check whether anything still needs the key**: the result's last use and aliases, and any data encrypted under it (S3 objects, EBS snapshots, RDS backups, Secrets Manager secrets).\n" +
			"2. **If the deletion is not intended, keep the resource.** Terraform: restore the block, add `lifecycle { prevent_destroy = true }`, or use a `removed` block with `destroy = false` to forget it without deleting it. CloudFormation: set `DeletionPolicy: Retain` and `UpdateReplacePolicy: Retain`. A replacement usually comes from an attribute that forces a new key (key spec, key usage, multi-Region).\n" +
			"3. **If it is intended**, re-encrypt the data under another key first, then document the deletion in the allowlist (`.github/kms-deletion-gate.yml`) on the base branch with the key, a reason and an expiry date. An entry that the same pull request adds approves nothing until it is merged.\n",
		defaultSeverity: finding.SeverityHigh,
		tags:            complianceTags,
	},
	{
		id:    finding.RuleDisabled,
		name:  "KMSKeyDisabled",
		short: "KMS customer managed key is disabled",
		full: "An AWS KMS customer managed key is Disabled but not scheduled for deletion. Nothing can encrypt or decrypt with it until it is enabled again. " +
			"A disabled key is often the step before scheduling deletion, or what remains after a cancelled one.",
		helpText: "A disabled KMS key cannot be used for cryptographic operations; workloads that need it fail. This rule is opt-in.\n\n" +
			"Remediation:\n1. Confirm whether the key should stay disabled.\n2. If not: aws kms enable-key --key-id <key-id> --region <region>\n" +
			"3. Verify: aws kms describe-key --key-id <key-id> --region <region> --query 'KeyMetadata.KeyState'\n" +
			"4. If it should, document it in the allowlist (.github/kms-deletion-gate.yml) with a reason and an expiry date.",
		helpMarkdown: "A disabled KMS key cannot be used for cryptographic operations; workloads that need it fail. This rule is opt-in.\n\n" +
			"### Remediation\n\n1. Confirm whether the key should stay disabled.\n2. If not, enable it:\n\n   ```sh\n   aws kms enable-key --key-id <key-id> --region <region>\n   ```\n" +
			"3. Verify:\n\n   ```sh\n   aws kms describe-key --key-id <key-id> --region <region> --query 'KeyMetadata.KeyState'\n   ```\n" +
			"4. If it should stay disabled, document it in the allowlist (`.github/kms-deletion-gate.yml`) with a reason and an expiry date.\n",
		defaultSeverity: finding.SeverityLow,
		tags:            []string{"security", "kms", "availability"},
	},
}
