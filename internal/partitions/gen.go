//go:build ignore

// gen copies the AWS SDK's partition metadata (partitions.json of the
// github.com/aws/aws-sdk-go-v2 version in go.mod) next to this file, where
// package partitions embeds it. Run `go generate ./internal/partitions`
// after a dependency update of the SDK; TestMetadataMatchesTheSDK fails until
// then.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		fail(fmt.Errorf("go list: %w", err))
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		fail(fmt.Errorf("go list: no module directory (run go mod download): %v", err))
	}
	src := filepath.Join(mod.Dir, "internal", "endpoints", "awsrulesfn", "partitions.json")
	b, err := os.ReadFile(src)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile("partitions.json", b, 0o644); err != nil {
		fail(err)
	}
	if err := os.WriteFile("sdk_version.txt", []byte(mod.Version+"\n"), 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("partitions.json from github.com/aws/aws-sdk-go-v2 %s\n", mod.Version)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
