// Command renderaction renders the action.yml of a release from main's: the
// one change is runs.image, from the Dockerfile (every run builds it) to the
// image the release pushed, by digest, so that a job using the release pulls
// it instead of building:
//
//	image: "docker://ghcr.io/OWNER/kms-deletion-gate@sha256:<64 hex>"
//
// Usage (release.yml runs it; nobody edits the release's action.yml by hand):
//
//	go run ./cmd/renderaction -image ghcr.io/owner/kms-deletion-gate \
//	  -digest sha256:<64 hex> [-in action.yml] [-out action.yml]
//
// It refuses a malformed digest, an image with a tag or upper-case letters,
// and an action.yml whose runs.image is not the Dockerfile (already rendered).
// Exit codes: 0 rendered, 1 refused or failed, 2 bad usage.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/atomicfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("renderaction", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "action.yml", "main's action.yml")
	out := fs.String("out", "-", "where to write the release's action.yml (- for stdout; may be the same file as -in)")
	image := fs.String("image", "", "registry/repository of the pushed image, lower-case, no tag (ghcr.io/owner/kms-deletion-gate)")
	digest := fs.String("digest", "", "digest of the pushed image (index): sha256:<64 hex>")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *image == "" || *digest == "" {
		fmt.Fprintln(stderr, "renderaction: -image and -digest are required; no positional arguments")
		fs.Usage()
		return 2
	}
	if err := render(*in, *out, *image, *digest, stdout); err != nil {
		fmt.Fprintf(stderr, "renderaction: %v\n", err)
		return 1
	}
	return 0
}

func render(in, out, image, digest string, stdout io.Writer) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	rendered, err := Render(src, image, digest)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if out == "-" {
		_, err = stdout.Write(rendered)
		return err
	}
	return atomicfile.WriteFile(out, rendered, 0o644)
}
