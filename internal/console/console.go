// Package console is the one place that writes to the job log. Inside GitHub
// Actions it speaks workflow commands (::warning::, ::error::, ::group::,
// ::add-mask::) with every untrusted part escaped; outside Actions it writes
// plain lines. Nothing else in the program prints to stdout or stderr.
//
// A run has two streams: the log (info, warnings, errors, groups, masks) and
// its result (the table, written by Raw). Outside Actions the log goes to
// stderr and the result alone to stdout, so that `kms-deletion-gate ... | ...`
// pipes only the table. Inside Actions both go to stdout, in order: the
// runner reads stdout and stderr on separate pipes, so an ::add-mask:: on one
// could be processed after the line it protects on the other.
package console

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
)

// Console writes log lines. It is safe for concurrent use.
type Console struct {
	mu        sync.Mutex
	w         io.Writer // the log
	out       io.Writer // the result (Raw)
	inActions bool
}

// New returns a Console writing its log and its result to w; inActions
// selects workflow commands.
func New(w io.Writer, inActions bool) *Console {
	return &Console{w: w, out: w, inActions: inActions}
}

// NewProcess returns the Console of a process with standard streams stdout
// and stderr: outside Actions the log goes to stderr and the result to
// stdout; inside Actions everything goes to stdout (see the package doc).
func NewProcess(stdout, stderr io.Writer, inActions bool) *Console {
	if inActions {
		return New(stdout, true)
	}
	return &Console{w: stderr, out: stdout}
}

// InActions reports whether workflow commands are written.
func (c *Console) InActions() bool { return c.inActions }

func (c *Console) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintln(c.w, s)
}

// Infof writes an informational line. The format is trusted; every argument
// is treated as untrusted and made safe for one log line.
func (c *Console) Infof(format string, args ...any) {
	c.line(escape.LogLine(fmt.Sprintf(format, safeArgs(args)...)))
}

// Warningf writes a warning (a ::warning:: annotation in Actions).
func (c *Console) Warningf(format string, args ...any) {
	msg := fmt.Sprintf(format, safeArgs(args)...)
	if c.inActions {
		c.line("::warning::" + escape.WorkflowData(msg))
		return
	}
	c.line("warning: " + escape.LogLine(msg))
}

// Errorf writes an error (a ::error:: annotation in Actions).
func (c *Console) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, safeArgs(args)...)
	if c.inActions {
		c.line("::error::" + escape.WorkflowData(msg))
		return
	}
	c.line("error: " + escape.LogLine(msg))
}

// Mask tells the runner to hide secret from the log from now on. Outside
// Actions it prints nothing.
func (c *Console) Mask(secret string) {
	if !c.inActions || strings.TrimSpace(secret) == "" {
		return
	}
	// A multi-line secret is masked line by line, as the runner requires.
	for _, part := range strings.Split(strings.ReplaceAll(secret, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(part) != "" {
			c.line("::add-mask::" + escape.WorkflowData(part))
		}
	}
}

// Group starts a collapsible log group; the returned func ends it.
func (c *Console) Group(title string) func() {
	if !c.inActions {
		c.line("== " + escape.LogLine(title))
		return func() {}
	}
	c.line("::group::" + escape.WorkflowData(escape.LogLine(title)))
	return func() { c.line("::endgroup::") }
}

// Raw writes the run's result, text that the program itself produced (the
// rendered table, whose untrusted cells were already escaped), to the result
// stream, line by line through LogLine's command fence, so that no line can
// start a workflow command.
func (c *Console) Raw(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintln(c.out, escape.LogLine(l))
	}
}

// Writer gives access to the log stream for trusted workflow commands
// produced by packages that escape their own output (annotations).
func (c *Console) Writer() io.Writer { return lockedWriter{c} }

type lockedWriter struct{ c *Console }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	return l.c.w.Write(p)
}

func safeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case error:
			out[i] = escape.LogLine(v.Error())
		case string:
			out[i] = escape.LogLine(v)
		default:
			out[i] = v
		}
	}
	return out
}
