package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The rules below are the one home of the syntax of the AWS identifiers a
// user writes in settings: account IDs, IAM role ARNs, role names with their
// paths, and session names. config applies them once, naming the field;
// creds, which takes the validated values, calls the same functions only as a
// defensive check.

// Partitions are the AWS partitions whose role ARNs are accepted. aws-eusc
// (the European Sovereign Cloud) is listed because eusc-de-east-1 is a known
// region: refusing its role ARNs would make that region unreachable.
var Partitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}

// IAM limits (IAM API reference, Role: RoleName, Path; STS AssumeRole:
// RoleArn, RoleSessionName).
const (
	maxRoleNameLen = 64
	maxRolePathLen = 512
	maxRoleARNLen  = 2048
)

// Bounds of role-duration-seconds (STS AssumeRole DurationSeconds; a role's
// own maximum session duration may be lower).
const (
	MinRoleDurationSeconds = 900
	MaxRoleDurationSeconds = 43200
)

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// roleARNShape splits arn:PARTITION:iam::ACCOUNT:role/RESOURCE; each part
	// is checked on its own so the error can say which one is wrong.
	roleARNShape = regexp.MustCompile(`^arn:([^:]*):iam::([^:]*):role/(.*)$`)
	// roleNameChars are the characters IAM allows in a role name (and STS in
	// a session name): letters, digits and +=,.@_-.
	roleNameChars = regexp.MustCompile(`^[\w+=,.@-]+$`)
	// rolePathChars are the characters IAM allows in a path segment: any
	// printable ASCII except space (U+0021 to U+007E), "/" separating them.
	rolePathChars = regexp.MustCompile(`^[\x21-\x7E]+$`)
	sessionName   = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool { return accountIDPattern.MatchString(s) }

// RoleARN is a parsed IAM role ARN.
type RoleARN struct {
	Partition string
	Account   string
	// Name is the role name with its path, without the leading "/"
	// ("path/to/Name", or "Name" for the root path).
	Name string
}

// ParseRoleARN parses arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME, with a
// partition of Partitions, a 12-digit account and a name and path that IAM
// accepts.
func ParseRoleARN(s string) (RoleARN, error) {
	const want = "arn:aws:iam::111122223333:role/NAME"
	m := roleARNShape.FindStringSubmatch(s)
	if m == nil {
		return RoleARN{}, fmt.Errorf("%q is not an IAM role ARN (%s)", s, want)
	}
	if len(s) > maxRoleARNLen {
		return RoleARN{}, fmt.Errorf("role ARN is %d characters, more than the %d allowed", len(s), maxRoleARNLen)
	}
	if !slices.Contains(Partitions, m[1]) {
		return RoleARN{}, fmt.Errorf("%q is not an IAM role ARN: unknown partition %q (known: %s)", s, m[1], strings.Join(Partitions, ", "))
	}
	if !IsAccountID(m[2]) {
		return RoleARN{}, fmt.Errorf("%q is not an IAM role ARN: account %q is not 12 digits (%s)", s, m[2], want)
	}
	if err := checkRoleName(m[3]); err != nil {
		return RoleARN{}, fmt.Errorf("%q is not an IAM role ARN: %w", s, err)
	}
	return RoleARN{Partition: m[1], Account: m[2], Name: m[3]}, nil
}

// String returns the ARN.
func (a RoleARN) String() string {
	return "arn:" + a.Partition + ":iam::" + a.Account + ":role/" + a.Name
}

// NormalizeRoleName checks a role-name setting, a role name optionally after
// its IAM path ("path/to/Name"), and returns it without leading or trailing
// "/" (IAM writes the path "/path/to/").
func NormalizeRoleName(s string) (string, error) {
	name := strings.Trim(strings.TrimSpace(s), "/")
	if err := checkRoleName(name); err != nil {
		return "", fmt.Errorf("%q is not an IAM role name: %w", s, err)
	}
	return name, nil
}

// checkRoleName checks "[PATH/]NAME" by IAM's rules: the name is 1 to 64 of
// letters, digits and +=,.@_-; the path ("/PATH/") at most 512 printable
// ASCII characters, with no empty segment.
func checkRoleName(s string) error {
	i := strings.LastIndexByte(s, '/')
	path, name := s[:max(i, 0)], s[i+1:]
	switch {
	case name == "":
		return fmt.Errorf("the role name is empty")
	case len(name) > maxRoleNameLen:
		return fmt.Errorf("the role name is %d characters, more than the %d allowed", len(name), maxRoleNameLen)
	case !roleNameChars.MatchString(name):
		return fmt.Errorf("the role name %q may hold only letters, digits and +=,.@_-", name)
	}
	if i < 0 {
		return nil
	}
	if len(path)+2 > maxRolePathLen {
		return fmt.Errorf("the role path is %d characters, more than the %d allowed", len(path)+2, maxRolePathLen)
	}
	for _, seg := range strings.Split(path, "/") {
		if !rolePathChars.MatchString(seg) {
			return fmt.Errorf("the role path /%s/ has an empty segment or a character other than printable ASCII", path)
		}
	}
	return nil
}

// ValidateSessionName checks a role-session-name: 2 to 64 letters, digits
// and +=,.@_-.
func ValidateSessionName(s string) error {
	if !sessionName.MatchString(s) {
		return fmt.Errorf("%q must be 2 to 64 characters of letters, digits and +=,.@_-", s)
	}
	return nil
}

// CheckAccountEntry checks one entry of the accounts setting: a 12-digit
// account ID (which needs roleName, the role to assume in it) or a role ARN.
func CheckAccountEntry(a, roleName string) error {
	if IsAccountID(a) {
		if roleName == "" {
			return fmt.Errorf("account ID %s needs role-name (the role to assume in it)", a)
		}
		return nil
	}
	if !strings.HasPrefix(a, "arn:") {
		return fmt.Errorf("%q is neither a 12-digit account ID nor an IAM role ARN", a)
	}
	_, err := ParseRoleARN(a)
	return err
}
