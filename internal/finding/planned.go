package finding

// RuleDeletionPlanned flags a KMS key that a Terraform plan or a
// CloudFormation change set of the change under review deletes or replaces.
// Stable like the other rule identifiers.
const RuleDeletionPlanned = "kms-key-deletion-planned"

// PlannedChange is the infrastructure change that deletes a key: where it
// was read, which resource, and where the head commit declares it. Its
// strings came from files the pull request may have written; every sink
// escapes them.
type PlannedChange struct {
	Tool    string `json:"tool"`             // terraform or cloudformation
	Source  string `json:"source"`           // the plan or change set file
	Address string `json:"address"`          // resource address or logical id
	Type    string `json:"type"`             // aws_kms_key, AWS::KMS::Key ...
	Name    string `json:"name"`             // Terraform resource name, CloudFormation logical id
	Action  string `json:"action"`           // delete or replace
	Reason  string `json:"reason,omitempty"` // Terraform action_reason, change set replacement kind
	Stack   string `json:"stack,omitempty"`  // CloudFormation stack
	// Declared is the head commit's line that declares the resource; nil
	// when the change removes the declaration.
	Declared *Location `json:"declared,omitempty"`
	// RemovedFrom is, when the change removes the declaration, the line of
	// the base commit that declared it (found in the pull request's
	// changed files); nil when unknown.
	RemovedFrom *Location `json:"removed_from,omitempty"`
	// Live is false when the key was not found in AWS (already deleted, or
	// the plan withholds its id).
	Live bool `json:"live"`
}
