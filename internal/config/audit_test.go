package config_test

import (
	"io"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
)

const secretHook = "https://hooks.example.test/services/T0/B0/s3cr3t"

func TestAuditInputs(t *testing.T) {
	t.Parallel()
	s, err := config.Load(nil, env(nil, nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Issue != config.IssueUpsert || s.JUnitFile != "" || s.OCSFFile != "" || s.WebhookURL != "" {
		t.Errorf("defaults: issue %q junit %q ocsf %q webhook set %v", s.Issue, s.JUnitFile, s.OCSFFile, s.WebhookURL != "")
	}
	vars := map[string]string{
		"GITHUB_ACTIONS": "true", "INPUT_ISSUE": "OFF", "INPUT_JUNIT-FILE": "out/junit.xml",
		"INPUT_OCSF-FILE": "out/ocsf.json", "INPUT_WEBHOOK-URL": secretHook,
	}
	s, err = config.Load(nil, env(vars, nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Issue != config.IssueOff || s.JUnitFile != "out/junit.xml" || s.OCSFFile != "out/ocsf.json" || s.WebhookURL != secretHook {
		t.Errorf("inputs: %+v", s)
	}
	// The CLI reads the webhook from the environment, never in Actions.
	s, err = config.Load(nil, env(map[string]string{config.WebhookEnv: secretHook}, nil), io.Discard)
	if err != nil || s.WebhookURL != secretHook {
		t.Errorf("CLI env: %v, set %v", err, s.WebhookURL != "")
	}
	s, err = config.Load(nil, env(map[string]string{"GITHUB_ACTIONS": "true", config.WebhookEnv: secretHook}, nil), io.Discard)
	if err != nil || s.WebhookURL != "" {
		t.Errorf("in Actions the environment variable must not apply: %v, set %v", err, s.WebhookURL != "")
	}
}

func TestAuditInputErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		files map[string]string
		want  string
	}{
		{"issue mode", []string{"--issue", "always"}, nil, `"always" is not one of upsert, off`},
		{"webhook not a URL", []string{"--webhook-url", "ftp://hooks.example.test/s3cr3t"}, nil, "webhook-url: is not an http(s) URL"},
		{"webhook with spaces", []string{"--webhook-url", "https://hooks.example.test/a s3cr3t"}, nil, "is not an http(s) URL"},
		{"webhook in the config file", []string{"--config", "c.yml"}, map[string]string{"c.yml": "webhook-url: " + secretHook + "\n"}, "webhook-url"},
	}
	for _, tc := range tests {
		_, err := config.Load(tc.args, env(nil, tc.files), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error quotes the secret: %v", tc.name, err)
		}
	}
}
