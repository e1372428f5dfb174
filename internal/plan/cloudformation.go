package plan

import (
	"cmp"
	"io"
	"regexp"
	"slices"
	"strings"
)

// cloudFormationKeyTypes are the resource types that hold a KMS key.
var cloudFormationKeyTypes = map[string]bool{
	"AWS::KMS::Key":        true,
	"AWS::KMS::ReplicaKey": true,
}

// Reasons a change set deletes a key, in Deletion.Reason.
const (
	ReasonRemove             = "remove"              // Action Remove
	ReasonReplace            = "replace"             // Modify, Replacement True
	ReasonReplaceConditional = "replace_conditional" // Modify, Replacement Conditional: replaced if a value resolved at deploy time changes
	ReasonDynamic            = "dynamic"             // Action Dynamic: CloudFormation cannot tell yet
)

// ChangeSet is what the gate needs from one describe-change-set output.
type ChangeSet struct {
	Source    string
	Stack     string
	Region    string // from StackId
	Account   string // from StackId
	Deletions []Deletion
	// Retained lists the logical ids of keys removed or replaced whose
	// DeletionPolicy or UpdateReplacePolicy keeps the old key.
	Retained []string
}

// cfnResourceChange holds the members of a ResourceChange the gate reads.
// Details, BeforeContext and AfterContext (property values, with
// --include-property-values) and everything else are skipped unread.
type cfnResourceChange struct {
	PolicyAction       string `json:"PolicyAction"`
	Action             string `json:"Action"`
	LogicalResourceID  string `json:"LogicalResourceId"`
	PhysicalResourceID string `json:"PhysicalResourceId"`
	ResourceType       string `json:"ResourceType"`
	Replacement        string `json:"Replacement"`
}

var (
	stackARNPattern   = regexp.MustCompile(`^arn:(aws[a-z-]*):cloudformation:([a-z0-9-]{1,32}):([0-9]{12}):stack/([A-Za-z][A-Za-z0-9-]{0,127})/[A-Za-z0-9-]+$`)
	logicalIDPattern  = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)
	stackNamePattern  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	policyNamePattern = regexp.MustCompile(`^[A-Za-z]{1,32}$`)
)

// ReadChangeSet reads the output of `aws cloudformation describe-change-set`
// (the DescribeChangeSet response as JSON) from r, at most maxBytes (0 means
// DefaultMaxBytes), and returns the KMS keys it removes or replaces, unless
// the change set's PolicyAction says the old key is retained.
//
// Change sets created before CloudFormation reported PolicyAction do not
// say; such deletions are kept, and SettlePolicies drops the ones whose
// template retains the key.
func ReadChangeSet(r io.Reader, source string, maxBytes int64) (ChangeSet, error) {
	dec, maxBytes := boundedDecoder(r, maxBytes)
	out := ChangeSet{Source: source}
	var (
		changes    []cfnResourceChange
		sawChanges bool
		stackID    string
	)
	err := eachMember(dec, source, "the document", func(key string) error {
		switch key {
		case "Changes":
			sawChanges = true
			return eachElement(dec, source, "Changes", func() error {
				var c struct {
					Type           string             `json:"Type"`
					ResourceChange *cfnResourceChange `json:"ResourceChange"`
				}
				if err := dec.Decode(&c); err != nil {
					return err
				}
				if c.ResourceChange != nil && (c.Type == "" || c.Type == "Resource") {
					changes = append(changes, *c.ResourceChange)
				}
				return nil
			})
		case "StackId":
			return dec.Decode(&stackID)
		case "StackName":
			var name string
			if err := dec.Decode(&name); err != nil {
				return err
			}
			if stackNamePattern.MatchString(name) {
				out.Stack = name
			}
			return nil
		default:
			return dec.Decode(&skipValue{})
		}
	})
	if err := endOfDocument(source, dec, err, maxBytes); err != nil {
		return ChangeSet{}, err
	}
	if !sawChanges {
		return ChangeSet{}, formatErrorf("%s: no Changes: not the output of aws cloudformation describe-change-set", source)
	}
	partition := "aws"
	if m := stackARNPattern.FindStringSubmatch(stackID); m != nil {
		partition, out.Region, out.Account = m[1], m[2], m[3]
		if out.Stack == "" {
			out.Stack = m[4]
		}
	}
	for _, c := range changes {
		d, retained, ok := out.deletion(c, partition)
		switch {
		case retained:
			out.Retained = append(out.Retained, d.Name)
		case ok:
			out.Deletions = append(out.Deletions, d)
		}
	}
	slices.SortFunc(out.Deletions, func(a, b Deletion) int { return cmp.Compare(a.Address, b.Address) })
	slices.Sort(out.Retained)
	return out, nil
}

// deletion judges one resource change: ok when it deletes a KMS key,
// retained when it would but a policy keeps the old key.
func (cs ChangeSet) deletion(c cfnResourceChange, partition string) (d Deletion, retained, ok bool) {
	if !cloudFormationKeyTypes[c.ResourceType] || !logicalIDPattern.MatchString(c.LogicalResourceID) {
		return d, false, false
	}
	var reason string
	switch {
	case c.Action == "Remove":
		reason = ReasonRemove
	case c.Action == "Modify" && c.Replacement == "True":
		reason = ReasonReplace
	case c.Action == "Modify" && c.Replacement == "Conditional":
		reason = ReasonReplaceConditional
	case c.Action == "Dynamic":
		reason = ReasonDynamic
	default:
		return d, false, false // Add, Import, Modify in place, SyncWithActual
	}
	d = Deletion{
		Tool: ToolCloudFormation, Source: cs.Source,
		Address: c.LogicalResourceID, Type: c.ResourceType, Name: c.LogicalResourceID,
		Replace: reason != ReasonRemove, Reason: reason, Stack: cs.Stack,
		Region: cs.Region, Account: cs.Account,
	}
	switch id := c.PhysicalResourceID; {
	case keyARNPattern.MatchString(id):
		d.ARN = id
		d.Region, d.Account, d.KeyID, _ = ParseKeyARN(id)
	case keyIDPattern.MatchString(id):
		d.KeyID = id
		if d.Region != "" && d.Account != "" {
			d.ARN = "arn:" + partition + ":kms:" + d.Region + ":" + d.Account + ":key/" + id
		}
	}
	switch policy := c.PolicyAction; {
	case policy == "Retain" || policy == "ReplaceAndRetain":
		return d, true, false
	case policy == "":
		d.policyUnknown = true
	case !policyNamePattern.MatchString(policy):
		d.policyUnknown = true // not a documented value: let the template decide
	}
	return d, false, true
}

// SettlePolicies applies a template's DeletionPolicy (to removals) and
// UpdateReplacePolicy (to replacements) to the deletions whose change set
// did not state a PolicyAction, dropping those whose policy is Retain. A
// removed resource is usually gone from the new template; its policy is the
// deployed template's, so pass that one when the change set is old.
func (cs *ChangeSet) SettlePolicies(t Template) {
	kept := cs.Deletions[:0]
	for _, d := range cs.Deletions {
		r, ok := t.Resources[d.Name]
		if d.policyUnknown && ok && r.Type == d.Type {
			policy := r.UpdateReplacePolicy
			if !d.Replace {
				policy = r.DeletionPolicy
			}
			if strings.EqualFold(policy, "Retain") {
				cs.Retained = append(cs.Retained, d.Name)
				continue
			}
		}
		kept = append(kept, d)
	}
	cs.Deletions = kept
	slices.Sort(cs.Retained)
}

// SettleRemovals drops the change set removals that did not state a
// PolicyAction and whose DeletionPolicy, in the template that base holds
// (the deployed one: the pull request's base commit), is Retain. It returns
// the deletions kept and the logical ids retained.
func SettleRemovals(deletions []Deletion, base *Workspace) (kept []Deletion, retained []string) {
	for _, d := range deletions {
		if d.Tool == ToolCloudFormation && d.policyUnknown && !d.Replace && base != nil {
			if r, ok := base.templateResource(d.Type, d.Name); ok && strings.EqualFold(r.DeletionPolicy, "Retain") {
				retained = append(retained, d.Name)
				continue
			}
		}
		kept = append(kept, d)
	}
	return kept, retained
}
