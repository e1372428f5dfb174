package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// tool finds a pinned validator installed by scripts/install-tools.sh lint
// (./.tools), else on PATH. Outside CI a missing tool skips the test, as a
// missing moto_server does; under CI=true it fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{
		filepath.Join("..", "..", ".tools", "bin", name),
		filepath.Join("..", "..", ".tools", "npm", "node_modules", ".bin", name),
	} {
		if abs, err := filepath.Abs(p); err == nil {
			if _, err := os.Stat(abs); err == nil {
				return abs
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found under CI=true: run scripts/install-tools.sh lint", name)
	}
	t.Skipf("%s not installed (scripts/install-tools.sh lint)", name)
	return ""
}

// The rendered action.yml passes action-validator (SchemaStore's action
// schema), and actionlint, through a workflow that uses it as a local action
// with every input, accepts it; the same workflow with an input the action
// does not declare is refused, which proves actionlint read the rendered
// metadata.
func TestRenderedActionValidates(t *testing.T) {
	t.Parallel()
	validator, actionlint := tool(t, "action-validator"), tool(t, "actionlint")
	src := mainAction(t)
	out, err := Render(src, testImage, testDigest)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(validator, filepath.Join(dir, "action.yml")).CombinedOutput(); err != nil {
		t.Fatalf("action-validator rejects the rendered action.yml: %v\n%s", err, b)
	}

	var meta actionMeta
	if err := yaml.Unmarshal(out, &meta); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(meta.Inputs))
	for n := range meta.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	// actionlint resolves `uses: ./` from the project root, which a .git
	// directory marks.
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	wfDir := filepath.Join(dir, ".github", "workflows")
	if err := os.MkdirAll(wfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	lint := func(extra string) (string, error) {
		var with strings.Builder
		for _, n := range append(names, extra) {
			if n != "" {
				fmt.Fprintf(&with, "          %s: \"x\"\n", n)
			}
		}
		wf := "on: push\npermissions: {}\njobs:\n  gate:\n    runs-on: ubuntu-24.04\n    steps:\n" +
			"      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n" +
			"      - id: gate\n        uses: ./\n        with:\n" + with.String() +
			"      - run: echo \"$R $S\"\n        env:\n          R: ${{ steps.gate.outputs.result }}\n          S: ${{ steps.gate.outputs.sarif-file }}\n"
		if err := os.WriteFile(filepath.Join(wfDir, "use.yml"), []byte(wf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(actionlint, "-shellcheck=", "-pyflakes=", "-no-color", filepath.Join(".github", "workflows", "use.yml"))
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if msg, err := lint(""); err != nil {
		t.Fatalf("actionlint rejects a workflow using the rendered action with all %d inputs: %v\n%s", len(names), err, msg)
	}
	msg, err := lint("no-such-input")
	if err == nil || !strings.Contains(msg, "no-such-input") {
		t.Fatalf("actionlint accepted an undeclared input (did it read the rendered action.yml?): %v\n%s", err, msg)
	}
}
