package app_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// prWorld is a pull request against moto and the fake GitHub: keys pending
// deletion in the account (seed), a live key the workspace's Terraform
// declares, and the files and payload of a pull request.
type prWorld struct {
	srv       *moto.Server
	gh        *fakegithub.Server
	seeded    seeded
	live      moto.Seeded
	workspace string
	baseSHA   string
	env       map[string]string
	declLine  int
}

const prNumber = 12

func newPRWorld(t *testing.T, login string, files []string) *prWorld {
	t.Helper()
	w := &prWorld{srv: moto.Start(t)}
	setAWSEnv(t, w.srv)
	w.seeded = seed(t, w.srv, "us-east-1")
	w.live = w.srv.Seed(t, "us-east-1", moto.Key{Description: "orders ledger", Alias: "alias/orders-ledger"})[0]
	w.gh = fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra", Login: login})
	head, merge := strings.Repeat("ab", 20), strings.Repeat("ef", 20)
	w.baseSHA = strings.Repeat("cd", 20)
	w.gh.AddPullRequest(fakegithub.PullRequest{Number: prNumber, HeadSHA: head, HeadRef: "rekey", BaseRef: "main", BaseSHA: w.baseSHA, MergeCommitSHA: merge, Files: files})

	w.workspace = t.TempDir()
	tf := "# orders\n\nresource \"aws_kms_key\" \"orders\" {\n  description = \"orders ledger\"\n  key_usage   = \"SIGN_VERIFY\"\n}\n"
	w.declLine = 3
	write(t, filepath.Join(w.workspace, "infra", "main.tf"), tf)
	event := filepath.Join(t.TempDir(), "event.json")
	write(t, event, fmt.Sprintf(`{"action":"synchronize","number":%d,"pull_request":{"number":%d,"head":{"sha":%q,"ref":"rekey","repo":{"full_name":"octo-org/infra"}},"base":{"sha":%q,"ref":"main","repo":{"full_name":"octo-org/infra"}}}}`,
		prNumber, prNumber, head, w.baseSHA))
	w.env = map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo-org/infra", "GITHUB_EVENT_NAME": "pull_request",
		"GITHUB_EVENT_PATH": event, "GITHUB_SHA": merge, "GITHUB_REF": fmt.Sprintf("refs/pull/%d/merge", prNumber), "GITHUB_API_URL": w.gh.URL,
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99", "GITHUB_WORKSPACE": w.workspace,
		"INPUT_REGIONS": "us-east-1", "INPUT_GITHUB-TOKEN": "ghp_faketokenForTests", "INPUT_SARIF-FILE": filepath.Join(t.TempDir(), "out.sarif"),
		"INPUT_UPLOAD-SARIF": "false", "INPUT_COMMENT": "upsert",
	}
	return w
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// planReplacing writes `terraform show -json` output that replaces
// aws_kms_key.orders, whose prior state is the live key, next to the root
// module, with a sensitive value that must reach no report.
func (w *prWorld) planReplacing(t *testing.T) string {
	t.Helper()
	plan := map[string]any{
		"format_version": "1.2", "terraform_version": "1.7.5",
		"variables": map[string]any{"db_password": map[string]any{"value": "plan-secret-3c9e"}},
		"resource_changes": []any{map[string]any{
			"address": "aws_kms_key.orders", "mode": "managed", "type": "aws_kms_key", "name": "orders",
			"provider_name": "registry.terraform.io/hashicorp/aws",
			"change": map[string]any{
				"actions": []string{"delete", "create"},
				"before": map[string]any{
					"arn": w.live.ARN, "key_id": w.live.ID, "id": w.live.ID, "key_usage": "ENCRYPT_DECRYPT",
					"tags": map[string]string{"owner": "plan-secret-3c9e"},
				},
				"after":            map[string]any{"key_usage": "SIGN_VERIFY"},
				"after_unknown":    map[string]any{"arn": true, "id": true, "key_id": true},
				"before_sensitive": map[string]any{"tags": map[string]any{}},
				"after_sensitive":  map[string]any{},
				"replace_paths":    [][]string{{"key_usage"}},
			},
			"action_reason": "replace_because_cannot_update",
		}},
		"prior_state": map[string]any{"values": map[string]any{"outputs": map[string]any{"pw": map[string]any{"value": "plan-secret-3c9e", "sensitive": true}}}},
	}
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(w.workspace, "infra", "tfplan.json"), string(b))
	return "infra/tfplan.json"
}

func (w *prWorld) run(t *testing.T, extra map[string]string) run {
	t.Helper()
	env := map[string]string{}
	for k, v := range w.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return runAppPublishing(t, env)
}

func planned(r run) []jsonreport.Finding {
	var out []jsonreport.Finding
	for _, f := range r.report.Findings {
		if f.RuleID == finding.RuleDeletionPlanned {
			out = append(out, f)
		}
	}
	return out
}

// TestPullRequestPlanDeletesLiveKey: a pull request whose plan replaces a
// live key fails with kms-key-deletion-planned on that resource, its line is
// annotated, the keys pending elsewhere are reported but not counted, no
// value of the plan reaches a report, and three runs with a personal access
// token leave one comment (beside an Actions-token comment left alone).
func TestPullRequestPlanDeletesLiveKey(t *testing.T) {
	w := newPRWorld(t, "octo-dev", []string{"infra/main.tf", "infra/tfplan.json"})
	planPath := w.planReplacing(t)
	other := w.gh.AddComment(prNumber, "github-actions[bot]", "<!-- kms-deletion-gate -->\nan earlier report by the Actions token")
	for i := 1; i <= 3; i++ {
		r := w.run(t, map[string]string{"INPUT_TERRAFORM-PLAN": planPath})
		if r.code != app.ExitFail {
			t.Fatalf("run %d: exit %d, want 1\n%s", i, r.code, r.stdout)
		}
		if i > 1 {
			continue
		}
		ps := planned(r)
		if len(ps) != 1 || ps[0].KeyID != w.live.ID || ps[0].Severity != "high" || ps[0].Planned == nil ||
			ps[0].Planned.Address != "aws_kms_key.orders" || ps[0].Planned.Action != "replace" || !ps[0].Planned.Live ||
			ps[0].Planned.Declared == nil || ps[0].Planned.Declared.Path != "infra/main.tf" || ps[0].Planned.Declared.Line != w.declLine {
			t.Fatalf("planned findings: %+v", ps)
		}
		if fmt.Sprint(ps[0].Aliases) != "[alias/orders-ledger]" {
			t.Errorf("the live key's aliases: %v", ps[0].Aliases)
		}
		elsewhere := 0
		for _, f := range r.report.Findings {
			if f.RuleID == finding.RulePendingDeletion {
				if !f.Elsewhere {
					t.Errorf("pending key %s is not referenced by the changed files but counted", f.KeyID)
				}
				elsewhere++
			}
		}
		if elsewhere != 3 || r.report.FailScope != "change" {
			t.Errorf("%d pending keys elsewhere (scope %q), want 3 under change", elsewhere, r.report.FailScope)
		}
		want := fmt.Sprintf("::error file=infra/main.tf,line=%d,title=aws_kms_key.orders replaces KMS key alias/orders-ledger (high)::", w.declLine)
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no annotation %q:\n%s", want, r.stdout)
		}
		if strings.Contains(r.stdout, "plan-secret-3c9e") {
			t.Error("a value of the plan reached the log")
		}
		sarifData, err := os.ReadFile(w.env["INPUT_SARIF-FILE"])
		if err != nil || strings.Contains(string(sarifData), "plan-secret-3c9e") || !strings.Contains(string(sarifData), `"ruleId": "kms-key-deletion-planned"`) {
			t.Errorf("SARIF: read %v; it must carry the new rule and no plan value", err)
		}
	}
	var mine []fakegithub.Comment
	for _, c := range w.gh.Comments(prNumber) {
		switch {
		case c.User == "octo-dev":
			mine = append(mine, c)
		case c.ID == other && !strings.HasSuffix(c.Body, "an earlier report by the Actions token"):
			t.Error("the Actions token's comment was edited")
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d comments by the personal token after three runs, want 1", len(mine))
	}
	body := mine[0].Body
	for _, want := range []string{"#### Deleted by this change", "`aws_kms_key.orders`", "`infra/main.tf:3`", "#### Elsewhere in the account"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "plan-secret-3c9e") {
		t.Error("a value of the plan reached the comment")
	}
	if n := len(w.gh.Calls(fakegithub.OpGetAuthenticatedUser)); n != 3 {
		t.Errorf("%d identity lookups, want one a run", n)
	}
}

// TestPullRequestTouchingNothing: keys pending deletion in the account fail
// a pull request that touches none of them only under fail-scope all.
func TestPullRequestTouchingNothing(t *testing.T) {
	w := newPRWorld(t, "github-actions[bot]", []string{"README.md"})
	r := w.run(t, nil)
	if r.code != app.ExitPass || r.report.Result != "pass" {
		t.Fatalf("fail-scope change (the pull_request default): exit %d, want 0\n%s", r.code, r.stdout)
	}
	if strings.Contains(r.stdout, "::error file=") {
		t.Errorf("keys elsewhere were annotated:\n%s", r.stdout)
	}
	comments := w.gh.Comments(prNumber)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "Elsewhere in the account") || !strings.Contains(comments[0].Body, "✅ Gate passed") {
		t.Errorf("comment: %+v", comments)
	}
	r = w.run(t, map[string]string{"INPUT_FAIL-SCOPE": "all"})
	if r.code != app.ExitFail || r.report.FailScope != "all" {
		t.Fatalf("fail-scope all: exit %d (scope %q), want 1", r.code, r.report.FailScope)
	}
	if n := len(w.gh.Comments(prNumber)); n != 1 {
		t.Errorf("%d comments, want the one updated", n)
	}
}

// TestAllowlistEntryAddedByPullRequest: an entry the pull request adds to
// the allowlist approves nothing; the base branch's entries do; with
// allowlist-from: head the pull request's own entry approves.
func TestAllowlistEntryAddedByPullRequest(t *testing.T) {
	w := newPRWorld(t, "github-actions[bot]", []string{"infra/main.tf", ".github/kms-deletion-gate.yml"})
	planPath := w.planReplacing(t)
	base := "allow:\n  - alias: alias/app-*\n    reason: retired apps (CHG-1)\n    expires: " + soon() + "\n"
	head := base + "  - key: " + w.live.ID + "\n    reason: re-keying the ledger (CHG-2)\n    expires: " + soon() + "\n"
	w.gh.AddFile(w.baseSHA, ".github/kms-deletion-gate.yml", base)
	cfg := filepath.Join(w.workspace, ".github", "kms-deletion-gate.yml")
	write(t, cfg, head)
	inputs := map[string]string{"INPUT_TERRAFORM-PLAN": planPath, "INPUT_CONFIG": cfg, "INPUT_FAIL-SCOPE": "all"}

	r := w.run(t, inputs)
	if r.code != app.ExitFail {
		t.Fatalf("exit %d, want 1: the pull request's own entry must not approve its deletion\n%s", r.code, r.stdout)
	}
	ps := planned(r)
	if len(ps) != 1 || ps[0].Allowlisted || !strings.HasSuffix(ps[0].AllowAddedBy, ".github/kms-deletion-gate.yml:5") {
		t.Errorf("planned finding: %+v", ps)
	}
	for _, f := range r.report.Findings {
		if f.RuleID == finding.RulePendingDeletion && !f.Allowlisted {
			t.Errorf("pending key %s: the base branch's entry approves it", f.KeyID)
		}
	}
	if len(r.report.AllowAddedByChange) != 1 || r.report.AllowAddedByChange[0].Selector != "key "+w.live.ID {
		t.Errorf("added entries: %+v", r.report.AllowAddedByChange)
	}
	body := w.gh.Comments(prNumber)[0].Body
	if !strings.Contains(body, "added by this pull request") {
		t.Errorf("comment does not show the added entry:\n%s", body)
	}
	if n := len(w.gh.Calls(fakegithub.OpGetContent)); n != 1 {
		t.Errorf("%d contents calls, want 1", n)
	}

	// Without a token the base file cannot be read: no entry approves.
	noToken := map[string]string{"INPUT_GITHUB-TOKEN": "", "INPUT_COMMENT": "off"}
	for k, v := range inputs {
		noToken[k] = v
	}
	r = w.run(t, noToken)
	if r.code != app.ExitFail {
		t.Fatalf("without a token: exit %d, want 1", r.code)
	}
	for _, f := range r.report.Findings {
		if f.Allowlisted {
			t.Errorf("without a token the pull request's file approved %s", f.KeyID)
		}
	}

	inputs["INPUT_ALLOWLIST-FROM"] = "head"
	r = w.run(t, inputs)
	if r.code != app.ExitPass || !planned(r)[0].Allowlisted {
		t.Fatalf("allowlist-from head: exit %d, want 0\n%s", r.code, r.stdout)
	}
}

// TestUnreadablePlanIsBadConfiguration: exit 2 before any AWS call, naming
// the input and the file, quoting nothing of it.
func TestUnreadablePlanIsBadConfiguration(t *testing.T) {
	workspace := t.TempDir()
	write(t, filepath.Join(workspace, "tfplan.json"), `{"format_version":"1.2","resource_changes":[{"address":"secret-value-7a1b`)
	r := runApp(t, []string{"--terraform-plan", "tfplan.json", "--regions", "us-east-1"}, map[string]string{"GITHUB_WORKSPACE": workspace})
	if r.code != app.ExitBadConfig || !strings.Contains(r.log, "input terraform-plan: tfplan.json: the JSON document ends early") || strings.Contains(r.log, "secret-value-7a1b") {
		t.Errorf("exit %d, log:\n%s", r.code, r.log)
	}
	r = runApp(t, []string{"--cloudformation-changeset", "missing.json", "--regions", "us-east-1"}, map[string]string{"GITHUB_WORKSPACE": workspace})
	if r.code != app.ExitBadConfig || !strings.Contains(r.log, "input cloudformation-changeset: missing.json: no such file") {
		t.Errorf("exit %d, log:\n%s", r.code, r.log)
	}
}

// TestPullRequestRemovesKeyResource: a plan deletes a key whose resource
// block the pull request removed; nothing in the head commit declares it,
// so the comment names the base commit's file and line (read through the
// contents API) and the address.
func TestPullRequestRemovesKeyResource(t *testing.T) {
	w := newPRWorld(t, "github-actions[bot]", []string{"infra/legacy.tf"})
	w.gh.AddFile(w.baseSHA, "infra/legacy.tf", "# to retire\nresource \"aws_kms_key\" \"legacy\" {\n  description = \"legacy\"\n}\n")
	plan := fmt.Sprintf(`{"format_version":"1.2","resource_changes":[{"address":"aws_kms_key.legacy","mode":"managed","type":"aws_kms_key","name":"legacy",`+
		`"change":{"actions":["delete"],"before":{"arn":%q,"key_id":%q,"id":%q},"after":null,"before_sensitive":{}},"action_reason":"delete_because_no_resource_config"}]}`,
		w.live.ARN, w.live.ID, w.live.ID)
	write(t, filepath.Join(w.workspace, "infra", "tfplan.json"), plan)
	r := w.run(t, map[string]string{"INPUT_TERRAFORM-PLAN": "infra/tfplan.json"})
	if r.code != app.ExitFail {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stdout)
	}
	ps := planned(r)
	if len(ps) != 1 || ps[0].Planned.Declared != nil || ps[0].Planned.RemovedFrom == nil ||
		ps[0].Planned.RemovedFrom.Path != "infra/legacy.tf" || ps[0].Planned.RemovedFrom.Line != 2 {
		t.Fatalf("planned: %+v", ps)
	}
	if strings.Contains(r.stdout, "::error file=") {
		t.Errorf("a removed resource has no line in the head commit to annotate:\n%s", r.stdout)
	}
	body := w.gh.Comments(prNumber)[0].Body
	if !strings.Contains(body, "removed from `infra/legacy.tf:2` (base)") || !strings.Contains(body, "`aws_kms_key.legacy`") {
		t.Errorf("comment does not name the file and address:\n%s", body)
	}
}

// TestPullRequestChangeSet: a change set that replaces a live key declared
// in the head commit's template fails on the template's line; a removal
// whose deployed (base) template retains the key does not count.
func TestPullRequestChangeSet(t *testing.T) {
	w := newPRWorld(t, "github-actions[bot]", []string{"stacks/keys.yaml"})
	retainedKey := w.srv.Seed(t, "us-east-1", moto.Key{Description: "archive"})[0]
	write(t, filepath.Join(w.workspace, "stacks", "keys.yaml"), "Resources:\n  LedgerKey:\n    Type: AWS::KMS::Key\n    Properties:\n      KeySpec: RSA_2048\n")
	w.gh.AddFile(w.baseSHA, "stacks/keys.yaml", "Resources:\n  LedgerKey:\n    Type: AWS::KMS::Key\n  ArchiveKey:\n    Type: AWS::KMS::Key\n    DeletionPolicy: Retain\n")
	region, account := "us-east-1", strings.Split(w.live.ARN, ":")[4]
	cs := fmt.Sprintf(`{"Changes":[`+
		`{"Type":"Resource","ResourceChange":{"PolicyAction":"ReplaceAndDelete","Action":"Modify","LogicalResourceId":"LedgerKey","PhysicalResourceId":%q,"ResourceType":"AWS::KMS::Key","Replacement":"True","Details":[{"Target":{"Attribute":"Properties","Name":"KeySpec","RequiresRecreation":"Always","BeforeValue":"cs-secret-5d2a"}}]}},`+
		`{"Type":"Resource","ResourceChange":{"Action":"Remove","LogicalResourceId":"ArchiveKey","PhysicalResourceId":%q,"ResourceType":"AWS::KMS::Key"}}],`+
		`"StackId":"arn:aws:cloudformation:%s:%s:stack/keys/6d7e8f90-1a2b-11ef-9c3d-0a1b2c3d4e5f","StackName":"keys","Parameters":[{"ParameterKey":"Token","ParameterValue":"cs-secret-5d2a"}]}`,
		w.live.ID, retainedKey.ID, region, account)
	write(t, filepath.Join(w.workspace, "changeset.json"), cs)
	r := w.run(t, map[string]string{"INPUT_CLOUDFORMATION-CHANGESET": "changeset.json"})
	if r.code != app.ExitFail {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stdout)
	}
	ps := planned(r)
	if len(ps) != 1 || ps[0].KeyID != w.live.ID || ps[0].Planned.Address != "LedgerKey" || ps[0].Planned.Declared == nil ||
		ps[0].Planned.Declared.Path != "stacks/keys.yaml" || ps[0].Planned.Declared.Line != 2 {
		t.Fatalf("planned: %+v", ps)
	}
	if !strings.Contains(r.stdout, "::error file=stacks/keys.yaml,line=2,title=LedgerKey replaces KMS key") {
		t.Errorf("no annotation on the template line:\n%s", r.stdout)
	}
	if !strings.Contains(strings.Join(r.report.Warnings, "\n"), "retains ArchiveKey") {
		t.Errorf("the retained removal is not explained: %v", r.report.Warnings)
	}
	if strings.Contains(r.stdout, "cs-secret-5d2a") || strings.Contains(w.gh.Comments(prNumber)[0].Body, "cs-secret-5d2a") {
		t.Error("a value of the change set reached the log or the comment")
	}
}
