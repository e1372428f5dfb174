// Package workflow owns the GitHub Actions runner's file commands: step
// outputs appended to the file GITHUB_OUTPUT names and the job summary
// appended to the file GITHUB_STEP_SUMMARY names, plus where the run's
// repository is checked out. Workflow commands written to the log
// (::warning:: and the like) belong to package console; REST calls to
// package github.
package workflow

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Output is one step output.
type Output struct {
	Name  string
	Value string
}

// WriteOutputs appends outputs, in order, to path (the file GITHUB_OUTPUT
// names) in the runner's multi-line format. An output that cannot be written
// safely is left out and named in the returned error; the others are still
// written.
func WriteOutputs(path string, outputs []Output) error {
	var (
		b    strings.Builder
		errs []error
	)
	for _, o := range outputs {
		if err := formatOutput(&b, o.Name, o.Value); err != nil {
			errs = append(errs, fmt.Errorf("output %s not set: %w", o.Name, err))
		}
	}
	if err := appendFile(path, []byte(b.String())); err != nil {
		errs = append(errs, fmt.Errorf("write outputs: %w", err))
	}
	return errors.Join(errs...)
}

// AppendSummary appends Markdown to path (the file GITHUB_STEP_SUMMARY
// names), ending it with a newline so that a later step's summary starts on
// its own line.
func AppendSummary(path, markdown string) error {
	if err := appendFile(path, []byte(markdown+"\n")); err != nil {
		return fmt.Errorf("write job summary: %w", err)
	}
	return nil
}

// Workspace is where the repository is checked out: GITHUB_WORKSPACE in
// Actions (/github/workspace in the container), else the working directory.
func Workspace(getenv func(string) string) string {
	if w := getenv("GITHUB_WORKSPACE"); w != "" {
		return w
	}
	return "."
}

// formatOutput writes one output in the runner's multi-line format with a
// random delimiter, as GitHub's toolkit does: a value can then never end the
// block early and set other outputs.
func formatOutput(b *strings.Builder, name, value string) error {
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	delim := "ghadelimiter_" + hex.EncodeToString(raw[:])
	if strings.Contains(value, delim) || strings.Contains(name, delim) {
		return errors.New("value contains the delimiter")
	}
	fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
	return nil
}

func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
