// Package plan reads the KMS keys that an infrastructure change is about to
// delete, before it is applied: from `terraform show -json` plans and from
// `aws cloudformation describe-change-set` output. A Deletion names the
// resource (address or logical id), the live key it destroys (ARN or key id
// from the plan's prior state) and, after Locate, the line of the
// repository's code that declares it.
//
// Plans hold secrets: the prior and planned values of every resource,
// variables, outputs, change set parameters and property values. The
// decoders stream the document and keep only the few fields named in this
// package (addresses, actions, and a key's arn, key_id and id); everything
// else is skipped unread into any Go value, and error messages carry byte
// offsets and field names, never a value from the file.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
)

// Tools a Deletion can come from.
const (
	ToolTerraform      = "terraform"
	ToolCloudFormation = "cloudformation"
)

// DefaultMaxBytes bounds one plan or change set file. A `terraform show
// -json` of a large estate is tens of megabytes; this leaves room.
const DefaultMaxBytes = 512 << 20

// Deletion is one KMS key that a plan or change set deletes or replaces.
// Address, Module and the identifiers came from a file the pull request may
// have written: sinks escape them like any untrusted text.
type Deletion struct {
	Tool   string // ToolTerraform or ToolCloudFormation
	Source string // path of the plan or change set file, as given
	// Address is the Terraform resource instance address
	// (module.kms.aws_kms_key.orders["a"]) or the CloudFormation logical id.
	Address string
	Module  string // Terraform module address ("module.kms"), "" for the root module
	Type    string // aws_kms_key, aws_kms_replica_key, aws_kms_external_key, AWS::KMS::Key, AWS::KMS::ReplicaKey
	Name    string // Terraform resource name, or the CloudFormation logical id
	// Replace is true when a new resource takes the old one's place (the
	// old key is still deleted); false for a plain delete or removal.
	Replace bool
	// Reason is Terraform's action_reason (replace_because_cannot_update,
	// delete_because_no_resource_config, ...), or empty.
	Reason  string
	Deposed string // Terraform: the deposed object's key, when the deleted object is a deposed one
	Stack   string // CloudFormation stack name

	ARN     string // the live key's ARN, when known
	KeyID   string // the live key's id (a UUID or mrk-...), when known
	Region  string // from the ARN (Terraform) or the stack ARN (CloudFormation)
	Account string // likewise
	// Withheld is set when the plan marks the key's identifiers sensitive:
	// they are not read, and the live key cannot be looked up.
	Withheld bool

	// Declared is the line of the head commit's code that declares the
	// resource, set by Locate; nil when it is not declared there any more.
	Declared *finding.Location

	// policyUnknown marks a change set deletion without a PolicyAction:
	// a template's policy may still retain the key (SettlePolicies).
	policyUnknown bool
}

// Action is the verb a report uses: "replace" or "delete".
func (d Deletion) Action() string {
	if d.Replace {
		return "replace"
	}
	return "delete"
}

// KeyRef returns the key the deletion destroys, as a finding would name it.
func (d Deletion) KeyRef() (arn, keyID string) { return d.ARN, d.KeyID }

// ParseKeyARN splits a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID)
// into its region, account and key id; ok is false for anything else.
func ParseKeyARN(arn string) (region, account, keyID string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "kms" {
		return "", "", "", false
	}
	id, isKey := strings.CutPrefix(parts[5], "key/")
	if !isKey || id == "" || parts[3] == "" || parts[4] == "" {
		return "", "", "", false
	}
	return parts[3], parts[4], id, true
}

// limitedReader fails, instead of returning EOF, once more than max bytes
// were read, so a truncated document is never taken for a whole one.
type limitedReader struct {
	r         io.Reader
	remaining int64
	max       int64
}

var errTooLarge = errors.New("too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.remaining <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.remaining {
		p = p[:l.remaining]
	}
	n, err := l.r.Read(p)
	l.remaining -= int64(n)
	return n, err
}

// describeJSONError turns a decoding error into a message that never quotes
// the document: encoding/json's syntax errors can quote a character of it,
// and its type errors name a Go type; both are replaced by the byte offset.
func describeJSONError(source string, dec *json.Decoder, err error, max int64) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("%s: larger than %d bytes", source, max)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: the JSON document ends early (at byte %d)", source, dec.InputOffset())
	case errors.As(err, &syn):
		return fmt.Errorf("%s: not valid JSON at byte %d", source, syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "a value"
		}
		// typ.Offset counts from the start of the value being decoded, not
		// of the file: the decoder's position is the useful one.
		return fmt.Errorf("%s: %s ending at byte %d is a JSON %s, not the expected type", source, field, dec.InputOffset(), typ.Value)
	case errors.As(err, new(*formatError)):
		return err
	default:
		// Read errors from the file system; they hold no document bytes.
		return fmt.Errorf("%s: %w", source, err)
	}
}

// formatError is a structural problem found by this package; its text is
// built from constants and field names only.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

func formatErrorf(format string, a ...any) error { return &formatError{msg: fmt.Sprintf(format, a...)} }

// skipValue consumes one JSON value without keeping it.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// expectDelim reads the next token and checks it opens delim; null reads
// as absent (isNull true).
func expectDelim(dec *json.Decoder, delim json.Delim, source, what string) (isNull bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return true, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != delim {
		return false, formatErrorf("%s: %s is not a JSON %s", source, what, delimName(delim))
	}
	return false, nil
}

func delimName(d json.Delim) string {
	if d == '[' {
		return "array"
	}
	return "object"
}

// eachMember calls fn for every member of the object the decoder is at; fn
// must consume the member's value.
func eachMember(dec *json.Decoder, source, what string, fn func(key string) error) error {
	if isNull, err := expectDelim(dec, '{', source, what); err != nil || isNull {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // object keys are always strings
		if err := fn(key); err != nil {
			return err
		}
	}
	_, err := dec.Token() // the closing brace
	return err
}

// eachElement calls fn for every element of the array the decoder is at; fn
// must consume the element.
func eachElement(dec *json.Decoder, source, what string, fn func() error) error {
	if isNull, err := expectDelim(dec, '[', source, what); err != nil || isNull {
		return err
	}
	for dec.More() {
		if err := fn(); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// endOfDocument finishes reading one JSON document: err from reading it, or
// trailing bytes (a concatenation or garbage: one document per file), become
// a described error that names the byte offset, never a value.
func endOfDocument(source string, dec *json.Decoder, err error, maxBytes int64) error {
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = formatErrorf("%s: more than one JSON value in the file", source)
		}
	}
	if err != nil {
		return describeJSONError(source, dec, err, maxBytes)
	}
	return nil
}

// boundedDecoder decodes at most maxBytes of r (0 or less: DefaultMaxBytes),
// and returns the bound it applies.
func boundedDecoder(r io.Reader, maxBytes int64) (*json.Decoder, int64) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return json.NewDecoder(&limitedReader{r: r, remaining: maxBytes, max: maxBytes}), maxBytes
}
