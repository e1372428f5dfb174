package app_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/sarifcheck"
)

// TestPullRequestRunPublishes is the pull-request path end to end: moto holds
// keys pending deletion, the workspace's Terraform names one by alias, and
// the fake GitHub (validating against GitHub's OpenAPI description) receives
// the SARIF upload and the comment. Three runs leave one comment.
func TestPullRequestRunPublishes(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	s := seed(t, srv, "us-east-1")
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra"})
	sha := strings.Repeat("ab", 20)
	gh.AddPullRequest(fakegithub.PullRequest{Number: 7, HeadSHA: sha, HeadRef: "retire-key", BaseRef: "main", BaseSHA: strings.Repeat("cd", 20), MergeCommitSHA: sha})

	var aliased, aliasedID string
	for id, alias := range s.aliases {
		if s.pending[id] == 2 {
			aliased, aliasedID = alias, id
		}
	}
	workspace := t.TempDir()
	tf := "resource \"aws_db_instance\" \"orders\" {\n  identifier = \"orders\"\n  kms_key_id = \"" + aliased + "\"\n}\n"
	if err := os.MkdirAll(filepath.Join(workspace, "infra"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(workspace, "infra", "main.tf"), []byte(tf), 0o644); err != nil {
		t.Fatal(err)
	}
	event := filepath.Join(t.TempDir(), "event.json")
	payload := fmt.Sprintf(`{"action":"synchronize","number":7,"pull_request":{"number":7,"head":{"sha":%q,"ref":"retire-key","repo":{"full_name":"octo-org/infra"}},"base":{"ref":"main","repo":{"full_name":"octo-org/infra"}}}}`, sha)
	if err := os.WriteFile(event, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	sarifPath := filepath.Join(t.TempDir(), "out.sarif")
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo-org/infra", "GITHUB_EVENT_NAME": "pull_request",
		"GITHUB_EVENT_PATH": event, "GITHUB_SHA": sha, "GITHUB_REF": "refs/pull/7/merge", "GITHUB_API_URL": gh.URL,
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99", "GITHUB_WORKSPACE": workspace,
		"INPUT_REGIONS": "us-east-1", "INPUT_GITHUB-TOKEN": "ghs_faketoken", "INPUT_SARIF-FILE": sarifPath,
		"INPUT_UPLOAD-SARIF": "true", "INPUT_COMMENT": "upsert",
	}
	for run := 1; run <= 3; run++ {
		r := runAppPublishing(t, env)
		if r.code != app.ExitFail {
			t.Fatalf("run %d: exit %d\n%s", run, r.code, r.stdout)
		}
		if strings.Contains(r.stdout, "::warning::code scanning") || strings.Contains(r.stdout, "::warning::pull-request comment") {
			t.Fatalf("run %d: a GitHub call failed:\n%s", run, r.stdout)
		}
		if run == 1 {
			data, err := os.ReadFile(sarifPath)
			if err != nil {
				t.Fatal(err)
			}
			sarifcheck.Validate(t, data)
			var log struct {
				Runs []struct {
					Results []struct {
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
								Region           struct{ StartLine int } `json:"region"`
							} `json:"physicalLocation"`
						} `json:"locations"`
						Properties map[string]any `json:"properties"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(data, &log); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, res := range log.Runs[0].Results {
				loc := res.Locations[0].PhysicalLocation
				if fmt.Sprint(res.Properties["aliases"]) == fmt.Sprint([]any{aliased}) {
					found = true
					if loc.ArtifactLocation.URI != "infra/main.tf" || loc.Region.StartLine != 3 {
						t.Errorf("the aliased key's result points at %s:%d, want infra/main.tf:3", loc.ArtifactLocation.URI, loc.Region.StartLine)
					}
				}
			}
			if !found {
				t.Errorf("no result for %s", aliased)
			}
			// The annotation is on the same line.
			if !strings.Contains(r.stdout, "::error file=infra/main.tf,line=3") {
				t.Errorf("no annotation on infra/main.tf:3:\n%s", r.stdout)
			}
		}
	}
	ups := gh.Uploads()
	if len(ups) != 3 || ups[0].Ref != "refs/pull/7/merge" || ups[0].CommitSHA != sha {
		t.Errorf("uploads = %d (first ref %q sha %q), want one per run on refs/pull/7/merge", len(ups), ups[0].Ref, ups[0].CommitSHA)
	}
	comments := gh.Comments(7)
	if len(comments) != 1 {
		t.Fatalf("%d comments after three runs, want exactly 1", len(comments))
	}
	if !strings.Contains(comments[0].Body, aliasedID) || !strings.Contains(comments[0].Body, "kms-deletion-gate") {
		t.Errorf("comment body = %s", comments[0].Body)
	}
	if errs := gh.Errors(); len(errs) != 0 {
		t.Errorf("fake GitHub saw invalid requests: %v", errs)
	}
}

// runAppPublishing runs with the GitHub calls the inputs ask for (runApp
// turns them off).
func runAppPublishing(t *testing.T, env map[string]string) run {
	t.Helper()
	return runAppArgs(t, []string{"--report-json", filepath.Join(t.TempDir(), "r.json"), "--cloudtrail", "false"}, env)
}
