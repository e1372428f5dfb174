// Command kms-deletion-gate finds AWS KMS customer managed keys scheduled for
// deletion, reports them, and fails a CI job by policy. It runs as a GitHub
// container action (inputs from INPUT_*) and as a command-line tool (flags).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, app.Deps{Args: os.Args[1:], Version: version})
	stop()
	os.Exit(code)
}
