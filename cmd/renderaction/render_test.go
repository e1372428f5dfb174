package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	testImage  = "ghcr.io/octo-org/kms-deletion-gate"
	testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func mainAction(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// The release's action.yml differs from main's in exactly one line, runs.image.
func TestRenderChangesOnlyTheImageLine(t *testing.T) {
	t.Parallel()
	src := mainAction(t)
	out, err := Render(src, testImage, testDigest)
	if err != nil {
		t.Fatal(err)
	}
	a, b := strings.Split(string(src), "\n"), strings.Split(string(out), "\n")
	if len(a) != len(b) {
		t.Fatalf("line count %d -> %d", len(a), len(b))
	}
	var changed []int
	for i := range a {
		if a[i] != b[i] {
			changed = append(changed, i)
		}
	}
	if len(changed) != 1 {
		t.Fatalf("changed lines %v, want exactly one", changed)
	}
	i := changed[0]
	if strings.TrimSpace(a[i]) != `image: "Dockerfile"` {
		t.Errorf("changed line %d was %q, want main's image line", i+1, a[i])
	}
	want := `image: "docker://` + testImage + `@` + testDigest + `"`
	if strings.TrimSpace(b[i]) != want || leadingSpaces(a[i]) != leadingSpaces(b[i]) {
		t.Errorf("rendered line %q, want %q at the same indentation", b[i], want)
	}
}

func leadingSpaces(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

type actionMeta struct {
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

// Every input (description, required, default) and output of main's
// action.yml is in the release's, unchanged.
func TestRenderKeepsEveryInputAndOutput(t *testing.T) {
	t.Parallel()
	src := mainAction(t)
	out, err := Render(src, testImage, testDigest)
	if err != nil {
		t.Fatal(err)
	}
	var before, after actionMeta
	if err := yaml.Unmarshal(src, &before); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	if len(before.Inputs) < 20 || len(before.Outputs) < 5 {
		t.Fatalf("main's action.yml read as %d inputs, %d outputs", len(before.Inputs), len(before.Outputs))
	}
	for name, in := range before.Inputs {
		got, ok := after.Inputs[name]
		if !ok {
			t.Errorf("input %s lost", name)
			continue
		}
		if got.Description != in.Description || got.Required != in.Required || (got.Default == nil) != (in.Default == nil) || (in.Default != nil && *got.Default != *in.Default) {
			t.Errorf("input %s changed: %+v -> %+v", name, in, got)
		}
	}
	for name, o := range before.Outputs {
		if got, ok := after.Outputs[name]; !ok || got.Description != o.Description {
			t.Errorf("output %s lost or changed", name)
		}
	}
	if len(after.Inputs) != len(before.Inputs) || len(after.Outputs) != len(before.Outputs) {
		t.Errorf("rendered has %d inputs, %d outputs; main %d, %d", len(after.Inputs), len(after.Outputs), len(before.Inputs), len(before.Outputs))
	}
	if after.Runs.Using != "docker" || after.Runs.Image != "docker://"+testImage+"@"+testDigest {
		t.Errorf("runs = %+v", after.Runs)
	}
}

func TestRenderRefuses(t *testing.T) {
	t.Parallel()
	src := mainAction(t)
	rendered, err := Render(src, testImage, testDigest)
	if err != nil {
		t.Fatal(err)
	}
	hex := testDigest[len("sha256:"):]
	tests := []struct {
		name, image, digest string
		src                 []byte
		want                string
	}{
		{"digest too short", testImage, "sha256:" + hex[:63], src, "digest"},
		{"digest too long", testImage, testDigest + "0", src, "digest"},
		{"digest upper-case hex", testImage, "sha256:" + strings.ToUpper(hex), src, "digest"},
		{"digest other algorithm", testImage, "sha512:" + hex, src, "digest"},
		{"digest without algorithm", testImage, hex, src, "digest"},
		{"digest with newline", testImage, testDigest + "\n", src, "digest"},
		{"digest empty", testImage, "", src, "digest"},
		{"image with tag", testImage + ":v1", testDigest, src, "image"},
		{"image with digest", testImage + "@" + testDigest, testDigest, src, "image"},
		{"image upper-case owner", "ghcr.io/Octo-Org/kms-deletion-gate", testDigest, src, "image"},
		{"image with scheme", "docker://" + testImage, testDigest, src, "image"},
		{"image without repository", "ghcr.io", testDigest, src, "image"},
		{"image with quote", `ghcr.io/o/x"`, testDigest, src, "image"},
		{"already rendered", testImage, testDigest, rendered, "not from a rendered one"},
		{"not a docker action", testImage, testDigest, []byte("name: x\nruns:\n  using: node20\n  main: index.js\n"), "not docker"},
		{"no runs", testImage, testDigest, []byte("name: x\n"), "no runs"},
		{"image split over lines", testImage, testDigest, []byte("runs:\n  using: docker\n  image: >-\n    Dockerfile\n"), "one line"},
		{"not YAML", testImage, testDigest, []byte("runs: [\n"), "action.yml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := Render(tc.src, tc.image, tc.digest)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render = %q, %v; want an error mentioning %q", out, err, tc.want)
			}
		})
	}
}

// Quoting and a trailing comment on the image line survive.
func TestRenderKeepsTheRestOfTheLine(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"Dockerfile", `"Dockerfile"`, `'Dockerfile'`} {
		src := []byte("name: x\nruns:\n  using: 'docker'\n  image: " + v + "   # built on each run\n")
		out, err := Render(src, testImage, testDigest)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		want := "name: x\nruns:\n  using: 'docker'\n  image: \"docker://" + testImage + "@" + testDigest + "\"   # built on each run\n"
		if string(out) != want {
			t.Errorf("%s: got\n%s\nwant\n%s", v, out, want)
		}
	}
}

func TestCommandWritesInPlace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "action.yml")
	if err := os.WriteFile(path, mainAction(t), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-in", path, "-out", path, "-image", testImage, "-digest", testDigest}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`image: "docker://`+testImage+"@"+testDigest+`"`)) {
		t.Errorf("file not rendered:\n%s", got)
	}
	// A second render of the same file is refused and leaves it as it was.
	if code := run([]string{"-in", path, "-out", path, "-image", testImage, "-digest", testDigest}, &stdout, &stderr); code != 1 {
		t.Errorf("re-render exit %d, want 1", code)
	}
	again, _ := os.ReadFile(path)
	if !bytes.Equal(again, got) {
		t.Error("a refused render changed the file")
	}
	if code := run([]string{"-in", path}, &stdout, &stderr); code != 2 {
		t.Errorf("missing flags: exit %d, want 2", code)
	}
}
