// Package golden compares test output with golden files under the test's
// testdata directory.
//
// To rewrite the golden files after an intended change, run the tests with
// UPDATE_GOLDEN=1 and review the diff:
//
//	UPDATE_GOLDEN=1 go test ./internal/report/...
//	git diff -- '*/testdata/*'
//
// An environment variable, not a flag: a flag registered by a non-test
// package would exist in every test binary that imports it.
package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Updating reports whether UPDATE_GOLDEN=1 asks for golden files to be
// rewritten.
func Updating() bool { return os.Getenv("UPDATE_GOLDEN") == "1" }

// Check compares got with testdata/name, or rewrites that file when
// Updating.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
	if Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (UPDATE_GOLDEN=1 go test creates it): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file; if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff.\n%s\n--- got ---\n%s", path, firstDiff(string(got), string(want)), got)
	}
}

// firstDiff names the first line where got and want differ.
func firstDiff(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return fmt.Sprintf("first difference at line %d:\n got: %s\nwant: %s", i+1, g, w)
		}
	}
	return ""
}
