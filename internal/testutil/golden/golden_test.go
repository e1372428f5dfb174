package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}

func TestCheckAndUpdate(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir(wd) })

	t.Setenv("UPDATE_GOLDEN", "1")
	Check(t, "sub/out.txt", []byte("a\nb\n"))
	b, err := os.ReadFile(filepath.Join("testdata", "sub", "out.txt"))
	if err != nil || string(b) != "a\nb\n" {
		t.Fatalf("UPDATE_GOLDEN=1 wrote %q, %v", b, err)
	}

	t.Setenv("UPDATE_GOLDEN", "")
	r := &recorder{TB: t}
	Check(r, "sub/out.txt", []byte("a\nb\n"))
	if len(r.errors) != 0 {
		t.Errorf("equal output reported: %v", r.errors)
	}
	Check(r, "sub/out.txt", []byte("a\nc\n"))
	if len(r.errors) != 1 {
		t.Fatalf("changed output not reported")
	}
	if d := firstDiff("a\nc\n", "a\nb\n"); !strings.Contains(d, "line 2") {
		t.Errorf("firstDiff = %q, want line 2", d)
	}
	b, _ = os.ReadFile(filepath.Join("testdata", "sub", "out.txt"))
	if string(b) != "a\nb\n" {
		t.Error("a check without UPDATE_GOLDEN rewrote the golden file")
	}
}
