package config_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
)

// TestIdentitySettingsAccepted checks the IAM rules accept what IAM accepts,
// in every partition, and that role-name comes out without its slashes.
func TestIdentitySettingsAccepted(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", 100)
	cases := []struct {
		name  string
		args  []string
		check func(config.Settings) bool
	}{
		{"partition aws", []string{"--role-to-assume", "arn:aws:iam::111122223333:role/hub"}, nil},
		{"partition aws-cn", []string{"--role-to-assume", "arn:aws-cn:iam::111122223333:role/hub"}, nil},
		{"partition aws-us-gov", []string{"--role-to-assume", "arn:aws-us-gov:iam::111122223333:role/hub"}, nil},
		{"partition aws-iso", []string{"--role-to-assume", "arn:aws-iso:iam::111122223333:role/hub"}, nil},
		{"partition aws-iso-b", []string{"--role-to-assume", "arn:aws-iso-b:iam::111122223333:role/hub"}, nil},
		{"partition aws-iso-e", []string{"--role-to-assume", "arn:aws-iso-e:iam::111122223333:role/hub"}, nil},
		{"partition aws-iso-f", []string{"--role-to-assume", "arn:aws-iso-f:iam::111122223333:role/hub"}, nil},
		{"partition aws-eusc", []string{"--role-to-assume", "arn:aws-eusc:iam::111122223333:role/hub"}, nil},
		{"role ARN with a path", []string{"--role-to-assume", "arn:aws:iam::111122223333:role/ci/gate/hub+=,.@_-"}, nil},
		{"role ARN path of printable ASCII", []string{"--role-to-assume", "arn:aws:iam::111122223333:role/a:b*c/hub"}, nil},
		{"role name of 64 characters", []string{"--role-name", strings.Repeat("r", 64), "--accounts", "222222222222"},
			func(s config.Settings) bool { return s.RoleName == strings.Repeat("r", 64) }},
		{"role name with a path, slashes trimmed", []string{"--role-name", "/scan/gate/Reader/", "--accounts", "222222222222"},
			func(s config.Settings) bool { return s.RoleName == "scan/gate/Reader" }},
		{"role name with a long path", []string{"--role-name", long + "/" + long + "/Reader", "--organization", "true"},
			func(s config.Settings) bool { return s.RoleName == long+"/"+long+"/Reader" && s.Organization }},
		{"accounts mix IDs and ARNs", []string{"--role-name", "r", "--accounts", "222222222222, arn:aws-cn:iam::333333333333:role/x"},
			func(s config.Settings) bool {
				return strings.Join(s.Accounts, " ") == "222222222222 arn:aws-cn:iam::333333333333:role/x"
			}},
		{"empty session name left to creds' default", []string{"--role-session-name", ""}, func(s config.Settings) bool { return s.RoleSessionName == "" }},
		{"session name of 2 characters", []string{"--role-session-name", "ab"}, func(s config.Settings) bool { return s.RoleSessionName == "ab" }},
		{"session name of 64 characters", []string{"--role-session-name", strings.Repeat("s", 64)}, nil},
		{"duration bounds", []string{"--role-duration-seconds", "43200"}, func(s config.Settings) bool { return s.RoleDurationSeconds == 43200 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := config.Load(tc.args, env(nil, nil), io.Discard)
			if err != nil {
				t.Fatalf("Load(%q): %v", tc.args, err)
			}
			if tc.check != nil && !tc.check(s) {
				t.Errorf("Load(%q) = %+v", tc.args, s)
			}
		})
	}
}

// TestIdentitySettingsRefused checks each IAM rule refuses, with an error
// naming where the value came from and the field.
func TestIdentitySettingsRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		file string
		want string
	}{
		{"unknown partition", "accounts: [\"arn:aws-mars:iam::111122223333:role/hub\"]\n", `kdg.yml:1: accounts: "arn:aws-mars:iam::111122223333:role/hub" is not an IAM role ARN: unknown partition "aws-mars"`},
		{"empty partition", "accounts: [\"arn::iam::111122223333:role/hub\"]\n", `accounts: "arn::iam::111122223333:role/hub" is not an IAM role ARN: unknown partition ""`},
		{"a user ARN", "accounts: [\"arn:aws:iam::111122223333:user/bob\"]\n", `kdg.yml:1: accounts: "arn:aws:iam::111122223333:user/bob" is not an IAM role ARN`},
		{"short account", "accounts: [\"arn:aws:iam::11112222333:role/hub\"]\n", `kdg.yml:1: accounts: "arn:aws:iam::11112222333:role/hub" is not an IAM role ARN: account "11112222333" is not 12 digits`},
		{"role name too long in an ARN", "accounts: arn:aws:iam::111122223333:role/" + strings.Repeat("r", 65) + "\n", "kdg.yml:1: accounts: \"arn:aws:iam::111122223333:role/" + strings.Repeat("r", 65) + "\" is not an IAM role ARN: the role name is 65 characters, more than the 64 allowed"},
		{"empty role name in an ARN", "accounts: [\"arn:aws:iam::111122223333:role/path/\"]\n", "the role name is empty"},
		{"empty path segment in an ARN", "accounts: [\"arn:aws:iam::111122223333:role/a//hub\"]\n", "kdg.yml:1: accounts: \"arn:aws:iam::111122223333:role/a//hub\" is not an IAM role ARN: the role path /a// has an empty segment"},
		{"ARN too long", "accounts: arn:aws:iam::111122223333:role/" + strings.Repeat("p/", 1100) + "hub\n", "kdg.yml:1: accounts: role ARN is 2234 characters, more than the 2048 allowed"},
		{"role name with a space", "accounts: \"222222222222\"\nrole-name: bad name\n", `kdg.yml:2: role-name: "bad name" is not an IAM role name: the role name "bad name" may hold only letters, digits and +=,.@_-`},
		{"role name too long", "organization: true\nrole-name: " + strings.Repeat("r", 65) + "\n", "kdg.yml:2: role-name: \"" + strings.Repeat("r", 65) + "\" is not an IAM role name: the role name is 65 characters"},
		{"role path too long", "organization: true\nrole-name: " + strings.Repeat("p", 511) + "/r\n", "kdg.yml:2: role-name: \"" + strings.Repeat("p", 511) + "/r\" is not an IAM role name: the role path is 513 characters, more than the 512 allowed"},
		{"role path with a space", "organization: true\nrole-name: \"my path/r\"\n", "kdg.yml:2: role-name: \"my path/r\" is not an IAM role name: the role path /my path/ has an empty segment or a character other than printable ASCII"},
		{"account neither ID nor ARN", "role-name: r\naccounts: [\"12345\"]\n", `kdg.yml:2: accounts: "12345" is neither a 12-digit account ID nor an IAM role ARN`},
		{"account ARN of an unknown partition", "accounts: [\"arn:aws-mars:iam::222222222222:role/r\"]\n", `kdg.yml:1: accounts: "arn:aws-mars:iam::222222222222:role/r" is not an IAM role ARN: unknown partition "aws-mars"`},
		{"account ID without role-name", "accounts: [\"222222222222\"]\n", "kdg.yml:1: accounts: account ID 222222222222 needs role-name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load([]string{"--config", "kdg.yml"}, env(nil, map[string]string{"kdg.yml": tc.file}), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("%d errors for one bad value:\n%v", n, err)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error", err)
			}
		})
	}
}

// TestInputOnlySettingsRefused covers the identity settings that are inputs
// and flags only (not in the file).
func TestInputOnlySettingsRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"role-to-assume of an unknown partition", []string{"--role-to-assume", "arn:aws-mars:iam::111122223333:role/hub"}, `flag --role-to-assume: "arn:aws-mars:iam::111122223333:role/hub" is not an IAM role ARN: unknown partition "aws-mars"`},
		{"role-to-assume with a bad role name", []string{"--role-to-assume", "arn:aws:iam::111122223333:role/bad!name"}, `flag --role-to-assume: "arn:aws:iam::111122223333:role/bad!name" is not an IAM role ARN: the role name "bad!name" may hold only`},
		{"session name of one character", []string{"--role-session-name", "a"}, `flag --role-session-name: "a" must be 2 to 64 characters`},
		{"session name too long", []string{"--role-session-name", strings.Repeat("s", 65)}, "flag --role-session-name: \"" + strings.Repeat("s", 65) + "\" must be 2 to 64"},
		{"session name with a slash", []string{"--role-session-name", "ci/gate"}, `flag --role-session-name: "ci/gate" must be 2 to 64 characters of letters, digits and +=,.@_-`},
		{"duration too short", []string{"--role-duration-seconds", "899"}, "flag --role-duration-seconds: 899 is out of range (900 to 43200)"},
		{"duration too long", []string{"--role-duration-seconds", "43201"}, "flag --role-duration-seconds: 43201 is out of range (900 to 43200)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tc.args, env(nil, nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestModesAreTyped checks each choice setting becomes its typed constant,
// whatever the case, and a bad value is refused with file, line and field.
func TestModesAreTyped(t *testing.T) {
	t.Parallel()
	s, err := config.Load([]string{"--config", "kdg.yml"}, env(nil, map[string]string{
		"kdg.yml": "remediate: Plan\non-scan-error: WARN\ncomment: off\n",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Remediate != config.RemediatePlan || s.OnScanError != config.ScanErrorWarn || s.Comment != config.CommentOff {
		t.Errorf("modes = %q %q %q", s.Remediate, s.OnScanError, s.Comment)
	}
	s, err = config.Load([]string{"--remediate", "cancel"}, env(nil, nil), io.Discard)
	if err != nil || s.Remediate != config.RemediateCancel {
		t.Errorf("--remediate cancel = %q, %v", s.Remediate, err)
	}
	for _, tc := range []struct{ file, want string }{
		{"remediate: delete\n", `kdg.yml:1: remediate: "delete" is not one of none, plan, cancel`},
		{"fail-on: high\non-scan-error: ignore\n", `kdg.yml:2: on-scan-error: "ignore" is not one of fail, warn`},
		{"comment: create\n", `kdg.yml:1: comment: "create" is not one of upsert, off`},
	} {
		_, err := config.Load([]string{"--config", "kdg.yml"}, env(nil, map[string]string{"kdg.yml": tc.file}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error = %v, want %q", tc.file, err, tc.want)
		}
	}
}
