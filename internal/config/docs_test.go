package config_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
)

// The README's input and output tables and action.yml are the documentation
// users read; they must say exactly what the program does.

func readmeTable(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "<!-- "+name+":start")
	end := strings.Index(s, "<!-- "+name+":end -->")
	if start < 0 || end < start {
		t.Fatalf("README has no %s markers", name)
	}
	body := s[start:end]
	return body[strings.Index(body, "\n")+1:]
}

func TestReadmeInputsTable(t *testing.T) {
	var b strings.Builder
	b.WriteString("| input | default | description |\n|---|---|---|\n")
	for _, in := range config.Inputs {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", in.Name, in.Default, in.Description)
	}
	if got := readmeTable(t, "inputs"); got != b.String() {
		t.Errorf("README inputs table is out of date; replace it with:\n%s", b.String())
	}
}

func TestReadmeOutputsTable(t *testing.T) {
	var b strings.Builder
	b.WriteString("| output | description |\n|---|---|\n")
	for _, o := range config.Outputs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", o.Name, o.Description)
	}
	if got := readmeTable(t, "outputs"); got != b.String() {
		t.Errorf("README outputs table is out of date; replace it with:\n%s", b.String())
	}
}

func TestActionMetadataMatchesInputs(t *testing.T) {
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
			Default     string `yaml:"default"`
		} `yaml:"inputs"`
		Outputs map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"outputs"`
		Runs struct {
			Using string `yaml:"using"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &action); err != nil {
		t.Fatal(err)
	}
	if action.Runs.Using != "docker" {
		t.Errorf("runs.using = %q, want docker", action.Runs.Using)
	}
	if len(action.Inputs) != len(config.Inputs) {
		t.Errorf("action.yml has %d inputs, the program %d", len(action.Inputs), len(config.Inputs))
	}
	for _, in := range config.Inputs {
		a, ok := action.Inputs[in.Name]
		if !ok {
			t.Errorf("action.yml lacks input %s", in.Name)
			continue
		}
		if a.Default != in.Default {
			t.Errorf("input %s: action.yml default %q, program default %q", in.Name, a.Default, in.Default)
		}
		if strings.TrimSpace(a.Description) == "" {
			t.Errorf("input %s has no description", in.Name)
		}
	}
	for _, o := range config.Outputs {
		if _, ok := action.Outputs[o.Name]; !ok {
			t.Errorf("action.yml lacks output %s", o.Name)
		}
	}
	if len(action.Outputs) != len(config.Outputs) {
		t.Errorf("action.yml has %d outputs, the program %d", len(action.Outputs), len(config.Outputs))
	}
}
