package github

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
)

func TestChangedFiles(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	var files []string
	for i := range 130 { // two pages
		files = append(files, fmt.Sprintf("infra/f%03d.tf", i))
	}
	fake.AddPullRequest(fakegithub.PullRequest{Number: 7, HeadSHA: headSHA, HeadRef: "feature", BaseSHA: sha, BaseRef: "main", MergeCommitSHA: sha, Files: files})
	c, _ := newClient(t, fake, prEnv(7, repoName), nil)
	got, truncated, err := c.ChangedFiles(context.Background(), 7)
	if err != nil || truncated {
		t.Fatalf("ChangedFiles: %v (truncated %v)", err, truncated)
	}
	if strings.Join(got, ",") != strings.Join(files, ",") {
		t.Errorf("got %d files, want the %d of the pull request", len(got), len(files))
	}
	if _, _, err := c.ChangedFiles(context.Background(), 0); asWarning(t, err).Kind != KindSkipped {
		t.Errorf("no pull request: %v", err)
	}
	if _, _, err := c.ChangedFiles(context.Background(), 9); asWarning(t, err).Kind != KindNotFound {
		t.Errorf("unknown pull request: %v", err)
	}
}

func TestFileAt(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	fake.AddFile(sha, ".github/kms-deletion-gate.yml", "allow:\n  - key: alias/x\n")
	c, _ := newClient(t, fake, prEnv(7, repoName), nil)
	ctx := context.Background()
	got, found, err := c.FileAt(ctx, ".github/kms-deletion-gate.yml", sha)
	if err != nil || !found || string(got) != "allow:\n  - key: alias/x\n" {
		t.Errorf("FileAt = %q, %v, %v", got, found, err)
	}
	if _, found, err := c.FileAt(ctx, ".github/kms-deletion-gate.yml", headSHA); err != nil || found {
		t.Errorf("absent at another commit: found %v, %v", found, err)
	}
	if _, _, err := c.FileAt(ctx, "x.yml", "main"); asWarning(t, err).Kind != KindSkipped {
		t.Errorf("a branch name instead of a SHA: %v", err)
	}
	fake.Fail(fakegithub.OpGetContent, 1, fakegithub.Fault{Status: 403})
	if _, _, err := c.FileAt(ctx, ".github/kms-deletion-gate.yml", sha); asWarning(t, err).Kind != KindForbidden {
		t.Errorf("403: %v", err)
	}
}
