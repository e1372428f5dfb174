package config_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
)

func TestFailScopeFollowsTheEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		vars  map[string]string
		args  []string
		scope config.FailScope
	}{
		{"pull request", map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, nil, config.ScopeChange},
		{"pull_request_target", map[string]string{"GITHUB_EVENT_NAME": "pull_request_target"}, nil, config.ScopeChange},
		{"schedule", map[string]string{"GITHUB_EVENT_NAME": "schedule"}, nil, config.ScopeAll},
		{"workflow_dispatch", map[string]string{"GITHUB_EVENT_NAME": "workflow_dispatch"}, nil, config.ScopeAll},
		{"command line", nil, nil, config.ScopeAll},
		{"given on a pull request", map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, []string{"--fail-scope", "all"}, config.ScopeAll},
		{"input on a schedule", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "schedule", "INPUT_FAIL-SCOPE": "change"}, nil, config.ScopeChange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := config.Load(tc.args, env(tc.vars, nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if s.FailScope != tc.scope {
				t.Errorf("fail scope %q, want %q", s.FailScope, tc.scope)
			}
		})
	}
}

func TestChangeInputs(t *testing.T) {
	t.Parallel()
	s, err := config.Load([]string{"--terraform-plan", "infra/tfplan.json,net/tfplan.json", "--cloudformation-changeset", "cs.json", "--allowlist-from", "head", "--max-allow-days", "90"}, env(nil, nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.TerraformPlans, "|") != "infra/tfplan.json|net/tfplan.json" || strings.Join(s.ChangeSets, "|") != "cs.json" ||
		s.AllowlistFrom != config.AllowlistHead || s.MaxAllowDays != 90 {
		t.Errorf("settings %+v", s)
	}
	d, err := config.Load(nil, env(nil, nil), io.Discard)
	if err != nil || d.AllowlistFrom != config.AllowlistBase || d.MaxAllowDays != 365 || d.TerraformPlans != nil {
		t.Errorf("defaults: %+v, %v", d, err)
	}
	for _, args := range [][]string{{"--fail-scope", "everything"}, {"--allowlist-from", "fork"}, {"--max-allow-days", "0"}} {
		if _, err := config.Load(args, env(nil, nil), io.Discard); err == nil || !strings.Contains(err.Error(), "flag --"+strings.TrimPrefix(args[0], "--")) {
			t.Errorf("%v: error %v, want one naming the flag", args, err)
		}
	}
}

// TestAllowlistRefusals: catch-all patterns and far expiries are errors that
// name the file, line and field, before any AWS call (exit 2 in app).
func TestAllowlistRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, args, want string
	}{
		{"star key", "allow:\n  - key: \"*\"\n    reason: r\n    expires: 2027-01-01\n", "", `kdg.yml:2: allow[0].key: "*" matches every key`},
		{"every key ARN", "allow:\n  - key: arn:aws:kms:*:*:key/*\n    reason: r\n    expires: 2027-01-01\n", "", `kdg.yml:2: allow[0].key: "arn:aws:kms:*:*:key/*" matches every key`},
		{"every alias", "allow:\n  - alias: alias/tmp-x\n    reason: r\n    expires: 2027-01-01\n  - alias: alias/*\n    reason: r\n    expires: 2027-01-01\n", "", `kdg.yml:5: allow[1].alias: "alias/*" matches every alias`},
		{"every account", "allow:\n  - key: alias/orders\n    account: \"*\"\n    reason: r\n    expires: 2027-01-01\n", "", `kdg.yml:3: allow[0].account: "*" matches every account`},
		{"every region", "allow:\n  - key: alias/orders\n    region: \"*\"\n    reason: r\n    expires: 2027-01-01\n", "", `kdg.yml:3: allow[0].region: "*" matches every region`},
		{"2099", "allow:\n  - key: alias/orders\n    reason: r\n    expires: 2099-12-31\n", "", "kdg.yml:4: allow[0].expires: 2099-12-31 is more than max-allow-days (365) ahead: set it to 2027-11-24 at the latest"},
		{"beyond a lower bound", "allow:\n  - key: alias/orders\n    reason: r\n    expires: 2027-01-01\n", "30", "kdg.yml:4: allow[0].expires: 2027-01-01 is more than max-allow-days (30) ahead"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--config", "kdg.yml"}
			if tc.args != "" {
				args = append(args, "--max-allow-days", tc.args)
			}
			_, err := config.Load(args, env(nil, map[string]string{"kdg.yml": tc.file}), io.Discard)
			var ce *config.Error
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ce) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// At the bound exactly is accepted.
	ok := "allow:\n  - key: alias/orders\n    reason: r\n    expires: 2027-11-24\n"
	if _, err := config.Load([]string{"--config", "kdg.yml"}, env(nil, map[string]string{"kdg.yml": ok}), io.Discard); err != nil {
		t.Errorf("an expiry max-allow-days ahead is refused: %v", err)
	}
}

func TestParseAllowlist(t *testing.T) {
	t.Parallel()
	got, err := config.ParseAllowlist(".github/kms-deletion-gate.yml", []byte("fail-on: high\nallow:\n  - alias: alias/retired-*\n    reason: retired\n    expires: 2099-01-01\n"))
	if err != nil || len(got) != 1 || got[0].Alias != "alias/retired-*" || got[0].Source != ".github/kms-deletion-gate.yml:3" {
		t.Errorf("ParseAllowlist = %+v, %v (the base file's far expiry is not this run's to refuse)", got, err)
	}
	if _, err := config.ParseAllowlist("x.yml", []byte("allow: [\n")); err == nil || !strings.HasPrefix(err.Error(), "x.yml") {
		t.Errorf("bad YAML: %v", err)
	}
}
