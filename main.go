// Command kms-deletion-gate finds AWS KMS customer managed keys scheduled for
// deletion, reports them, and fails a CI job by policy. It runs as a GitHub
// container action (inputs from INPUT_*) and as a command-line tool (flags).
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT says otherwise:
// an organization's scan (1,000 accounts x 17 Regions, 1,024 calls in
// flight) stays well under a small runner's memory, the garbage collector
// working harder as the heap nears it.
const memoryLimit = 200 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, app.Deps{Args: os.Args[1:], Version: version})
	stop()
	os.Exit(code)
}
