package plan

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strings"
)

// terraformKeyTypes are the Terraform resource types that hold a KMS key.
var terraformKeyTypes = map[string]bool{
	"aws_kms_key":          true,
	"aws_kms_replica_key":  true,
	"aws_kms_external_key": true,
}

// TerraformPlan is what Locate and the gate need from one plan file.
type TerraformPlan struct {
	Source    string
	Deletions []Deletion // sorted by address, then deposed key
}

// tfResourceChange holds the members of a resource_changes element that the
// gate reads. Everything else in it (after, after_unknown, replace_paths...)
// is skipped by encoding/json without being stored.
type tfResourceChange struct {
	Address       string `json:"address"`
	ModuleAddress string `json:"module_address"`
	Mode          string `json:"mode"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	Deposed       string `json:"deposed"`
	ActionReason  string `json:"action_reason"`
	Change        struct {
		Actions         []string    `json:"actions"`
		Before          keyValues   `json:"before"`
		BeforeSensitive sensitivity `json:"before_sensitive"`
	} `json:"change"`
}

// keyValues reads the three identifiers of a key from a resource's prior
// values and nothing else. A member of another JSON type (another resource
// type's "id" may be anything) is left empty rather than failing the plan.
type keyValues struct {
	ARN, KeyID, ID string
}

func (k *keyValues) UnmarshalJSON(b []byte) error {
	var m struct {
		ARN   json.RawMessage `json:"arn"`
		KeyID json.RawMessage `json:"key_id"`
		ID    json.RawMessage `json:"id"`
	}
	if json.Unmarshal(b, &m) != nil {
		return nil // not an object: no identifiers
	}
	k.ARN, k.KeyID, k.ID = jsonString(m.ARN), jsonString(m.KeyID), jsonString(m.ID)
	return nil
}

func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// sensitivity is a before_sensitive mask: true (the whole object), false,
// or an object whose members are true for sensitive attributes. It holds
// booleans only, never a value.
type sensitivity struct {
	all    bool
	fields map[string]bool
}

func (s *sensitivity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "true":
		s.all = true
		return nil
	case "false", "null":
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		// Unknown shape: treat as sensitive, the safe reading.
		s.all = true
		return nil
	}
	s.fields = map[string]bool{}
	for k, v := range m {
		// A nested mask ({} or [...]) marks parts of a collection; the key
		// identifiers are plain strings, so only "true" concerns them.
		s.fields[k] = string(bytes.TrimSpace(v)) == "true"
	}
	return nil
}

func (s sensitivity) sensitive(field string) bool { return s.all || s.fields[field] }

var (
	keyIDPattern  = regexp.MustCompile(`^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	keyARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]{1,32}:[0-9]{12}:key/(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
)

// ReadTerraform reads the output of `terraform show -json PLANFILE` from r
// (at most maxBytes; 0 means DefaultMaxBytes) and returns the KMS keys it
// deletes or replaces. source names the file in errors and in each Deletion.
func ReadTerraform(r io.Reader, source string, maxBytes int64) (TerraformPlan, error) {
	dec, maxBytes := boundedDecoder(r, maxBytes)
	out := TerraformPlan{Source: source}
	var (
		version         string
		isPlan, errored bool
	)
	err := eachMember(dec, source, "the document", func(key string) error {
		switch key {
		case "format_version":
			return dec.Decode(&version)
		case "errored":
			return dec.Decode(&errored)
		case "planned_values":
			isPlan = true
			return dec.Decode(&skipValue{})
		case "resource_changes":
			isPlan = true
			return eachElement(dec, source, "resource_changes", func() error {
				var rc tfResourceChange
				if err := dec.Decode(&rc); err != nil {
					return err
				}
				if d, ok := terraformDeletion(rc, source); ok {
					out.Deletions = append(out.Deletions, d)
				}
				return nil
			})
		default:
			return dec.Decode(&skipValue{})
		}
	})
	if err := endOfDocument(source, dec, err, maxBytes); err != nil {
		return TerraformPlan{}, err
	}
	major, _, _ := strings.Cut(version, ".")
	switch {
	case version == "":
		return TerraformPlan{}, formatErrorf("%s: no format_version: not the output of terraform show -json PLANFILE", source)
	case major != "1":
		return TerraformPlan{}, formatErrorf("%s: format_version %q is not supported (this version reads 1.x)", source, clipToken(version))
	case !isPlan:
		return TerraformPlan{}, formatErrorf("%s: a Terraform state, not a plan: run terraform plan -out=tfplan, then terraform show -json tfplan", source)
	case errored:
		return TerraformPlan{}, formatErrorf("%s: the plan errored (errored: true), so its changes are incomplete; fix the plan first", source)
	}
	slices.SortFunc(out.Deletions, func(a, b Deletion) int {
		return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Deposed, b.Deposed))
	})
	return out, nil
}

// clipToken keeps a format_version short and printable in a message: it is
// not a secret, but it is the one value quoted.
func clipToken(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 16 {
			break
		}
		if r >= '0' && r <= '9' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// terraformDeletion turns a resource change into a Deletion when it deletes
// or replaces a managed KMS key.
func terraformDeletion(rc tfResourceChange, source string) (Deletion, bool) {
	if rc.Mode != "managed" || !terraformKeyTypes[rc.Type] {
		return Deletion{}, false
	}
	a := rc.Change.Actions
	var replace bool
	switch {
	case len(a) == 1 && a[0] == "delete":
	case len(a) == 2 && (a[0] == "delete" && a[1] == "create" || a[0] == "create" && a[1] == "delete"):
		replace = true
	default:
		return Deletion{}, false // create, update, no-op, read, forget
	}
	d := Deletion{
		Tool: ToolTerraform, Source: source,
		Address: rc.Address, Module: rc.ModuleAddress, Type: rc.Type, Name: rc.Name,
		Replace: replace, Reason: reasonToken(rc.ActionReason), Deposed: rc.Deposed,
	}
	before, mask := rc.Change.Before, rc.Change.BeforeSensitive
	if !mask.sensitive("arn") && keyARNPattern.MatchString(before.ARN) {
		d.ARN = before.ARN
		d.Region, d.Account, d.KeyID, _ = ParseKeyARN(before.ARN)
	}
	for _, f := range []struct{ name, value string }{{"key_id", before.KeyID}, {"id", before.ID}} {
		if d.KeyID == "" && !mask.sensitive(f.name) && keyIDPattern.MatchString(f.value) {
			d.KeyID = f.value
		}
	}
	d.Withheld = d.KeyID == "" && (mask.sensitive("arn") || mask.sensitive("key_id") || mask.sensitive("id"))
	return d, true
}

// reasonToken keeps an action_reason only when it has the shape of one
// (lower-case words joined by underscores).
func reasonToken(s string) string {
	if len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return ""
		}
	}
	return s
}

// ModulePath returns the module path of a module address without instance
// keys: module.a["x"].module.b[0] -> module.a.module.b.
func ModulePath(moduleAddress string) string {
	var b strings.Builder
	depth := 0
	inString := false
	for i := 0; i < len(moduleAddress); i++ {
		c := moduleAddress[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"' && depth > 0:
			inString = true
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
