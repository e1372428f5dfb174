package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"go.yaml.in/yaml/v3"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// auditRun runs the program as a scheduled workflow would, with the clock
// pinned to now so that two runs on the same keys render the same body.
func auditRun(t *testing.T, env map[string]string, now time.Time, args ...string) run {
	t.Helper()
	dir := t.TempDir()
	args = append([]string{"--report-json", filepath.Join(dir, "r.json"), "--sarif-file", filepath.Join(dir, "r.sarif"), "--cloudtrail", "false", "--upload-sarif", "false"}, args...)
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "AWS_") {
			return os.Getenv(k)
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := app.Run(ctx, app.Deps{Args: args, Getenv: getenv, Stdout: &stdout, Stderr: &stderr, Version: "test", Now: func() time.Time { return now }})
	return run{code: code, stdout: stdout.String(), stderr: stderr.String(), log: stdout.String()}
}

func scheduleEnv(t *testing.T, gh *fakegithub.Server, event string) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, []byte(`{"schedule":"17 3 * * *"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": gh.Repository(), "GITHUB_EVENT_NAME": event,
		"GITHUB_EVENT_PATH": path, "GITHUB_SHA": strings.Repeat("ab", 20), "GITHUB_REF": "refs/heads/main",
		"GITHUB_API_URL": gh.URL, "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "4242",
		"INPUT_REGIONS": "us-east-1", "INPUT_GITHUB-TOKEN": "ghs_fakeauditoken",
	}
}

// webhookSink is a local webhook that records what it receives.
type webhookSink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

const hookPath = "/services/T1/B2/hooksecretpart"

func newWebhookSink(t *testing.T) *webhookSink {
	t.Helper()
	w := &webhookSink{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies = append(w.bodies, string(b))
		w.mu.Unlock()
		if r.URL.Path != hookPath {
			rw.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookSink) received() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bodies...)
}

// TestScheduledAuditIssueLifecycle runs the nightly audit five times against
// moto and the fake GitHub: the first run opens the issue, an identical run
// writes nothing, an escalation edits the body and says what changed, and
// once every deletion is cancelled the all-clear run closes it. The webhook
// hears of every failing or changing run and its URL never reaches the log.
func TestScheduledAuditIssueLifecycle(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	keys := srv.Seed(t, "us-east-1", moto.Key{PendingDays: 20, Alias: "alias/audit-slow"}, moto.Key{PendingDays: 9, Alias: "alias/audit-soon"})
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra"})
	hook := newWebhookSink(t)
	env := scheduleEnv(t, gh, "schedule")
	env["INPUT_WEBHOOK-URL"] = hook.srv.URL + hookPath
	t0 := time.Now().UTC().Add(3 * 24 * time.Hour) // 17 and 6 days left: medium and high
	writes := func() int { return len(gh.Calls(fakegithub.OpCreateIssue, fakegithub.OpUpdateIssue)) }
	dir := t.TempDir()
	junitPath, ocsfPath := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "ocsf.json")

	// 1. The first scheduled run opens the issue.
	r := auditRun(t, env, t0, "--junit-file", junitPath, "--ocsf-file", ocsfPath)
	if r.code != app.ExitFail {
		t.Fatalf("run 1: exit %d, want %d\n%s", r.code, app.ExitFail, r.log)
	}
	issues := gh.Issues()
	if len(issues) != 1 || writes() != 1 {
		t.Fatalf("run 1: %d issues, %d writes; want one created\n%s", len(issues), writes(), r.log)
	}
	is := issues[0]
	if is.State != "open" || is.Title != "KMS keys pending deletion (scheduled audit)" || strings.Join(is.Labels, ",") != "kms-deletion-gate" ||
		!strings.HasPrefix(is.Body, "<!-- kms-deletion-gate-audit") || !strings.Contains(is.Body, keys[0].ID) || !strings.Contains(is.Body, keys[1].ID) {
		t.Errorf("run 1: issue %+v", is)
	}
	checkOtherToolFiles(t, junitPath, ocsfPath, keys[0].ID, keys[1].ID)

	// 2. An identical run writes nothing.
	r = auditRun(t, env, t0)
	if r.code != app.ExitFail || writes() != 1 {
		t.Fatalf("run 2: exit %d, %d writes; want no new write\n%s", r.code, writes(), r.log)
	}
	if !strings.Contains(r.log, "unchanged") {
		t.Errorf("run 2: the log does not say the issue was left unchanged:\n%s", r.log)
	}

	// 3. Days later the soon key is critical: the body is edited and says so.
	t1 := t0.Add(4*24*time.Hour + 12*time.Hour) // 1.5 days left for the soon key
	r = auditRun(t, env, t1)
	is = gh.Issues()[0]
	if r.code != app.ExitFail || writes() != 2 || is.State != "open" {
		t.Fatalf("run 3: exit %d, %d writes, state %s\n%s", r.code, writes(), is.State, r.log)
	}
	for _, want := range []string{"**Changes since the last run**", "⬆️ Escalated: `" + keys[1].ID + "`", "high → critical"} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("run 3: the body lacks %q:\n%s", want, is.Body)
		}
	}
	if strings.Contains(is.Body, "⬆️ Escalated: `"+keys[0].ID+"`") {
		t.Errorf("run 3: the slow key, still medium, is called escalated")
	}

	// 4. Every deletion is cancelled: the all-clear run closes the issue.
	c := kms.NewFromConfig(srv.Config("us-east-1"))
	for _, k := range keys {
		if _, err := c.CancelKeyDeletion(moto.Context(t), &kms.CancelKeyDeletionInput{KeyId: aws.String(k.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	r = auditRun(t, env, t1)
	is = gh.Issues()[0]
	if r.code != app.ExitPass || writes() != 3 || is.State != "closed" || is.StateReason != "completed" {
		t.Fatalf("run 4: exit %d, %d writes, state %s (%s)\n%s", r.code, writes(), is.State, is.StateReason, r.log)
	}
	if !strings.Contains(is.Body, "Closed by this run") || strings.Count(is.Body, "🛟 Cancelled") != 2 {
		t.Errorf("run 4: the closing body lacks the note or the two cancelled keys:\n%s", is.Body)
	}

	// 5. All clear again: the closed issue is left alone.
	r = auditRun(t, env, t1)
	if r.code != app.ExitPass || writes() != 3 || len(gh.Issues()) != 1 {
		t.Fatalf("run 5: exit %d, %d writes, %d issues\n%s", r.code, writes(), len(gh.Issues()), r.log)
	}

	// The webhook heard runs 1 to 4 (failing, or changed) but not run 5.
	got := hook.received()
	if len(got) != 4 {
		t.Fatalf("webhook received %d payloads, want 4", len(got))
	}
	var last struct {
		Text   string `json:"text"`
		Report struct {
			Result  string `json:"result"`
			Changes struct {
				Cancelled []struct {
					KeyID string `json:"key_id"`
				} `json:"cancelled"`
			} `json:"changes"`
		} `json:"kms_deletion_gate"`
	}
	if err := json.Unmarshal([]byte(got[3]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Report.Result != "pass" || len(last.Report.Changes.Cancelled) != 2 || !strings.Contains(last.Text, "2 cancelled") {
		t.Errorf("last payload = %s", got[3])
	}
	for _, line := range strings.Split(r.log, "\n") {
		if strings.Contains(line, "hooksecretpart") && !strings.HasPrefix(line, "::add-mask::") {
			t.Errorf("the webhook URL reached the log: %s", line)
		}
	}
}

func checkOtherToolFiles(t *testing.T, junitPath, ocsfPath string, keyIDs ...string) {
	t.Helper()
	b, err := os.ReadFile(junitPath)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil || len(suites.Suites) != 2 {
		t.Fatalf("JUnit file: %v\n%s", err, b)
	}
	failed := map[string]bool{}
	for _, c := range suites.Suites[1].Cases {
		failed[c.Name[strings.LastIndex(c.Name, "/")+1:]] = c.Failure != nil
	}
	for _, id := range keyIDs {
		if !failed[id] {
			t.Errorf("JUnit: no failing case for %s", id)
		}
	}
	b, err = os.ReadFile(ocsfPath)
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		ClassUID  int `json:"class_uid"`
		Resources []struct {
			Name string `json:"name"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &events); err != nil || len(events) != len(keyIDs) || events[0].ClassUID != 2004 {
		t.Errorf("OCSF file: %v, %d events\n%s", err, len(events), b)
	}
}

// TestAuditIssueWithoutScopeWarns: a token without issues: write gives a
// warning and the same exit code as a run with the issue turned off; a pull
// request never looks for the issue.
func TestAuditIssueWithoutScopeWarns(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	srv.Seed(t, "us-east-1", moto.Key{PendingDays: 10})
	now := time.Now().UTC()

	readOnly := fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra", ReadOnly: true})
	env := scheduleEnv(t, readOnly, "workflow_dispatch")
	withIssue := auditRun(t, env, now)
	env["INPUT_ISSUE"] = "off"
	without := auditRun(t, env, now)
	if withIssue.code != without.code || withIssue.code != app.ExitFail {
		t.Errorf("exit %d with the issue, %d without; want both %d", withIssue.code, without.code, app.ExitFail)
	}
	if !strings.Contains(withIssue.log, "::warning::audit issue") || !strings.Contains(withIssue.log, "issues: write") {
		t.Errorf("no warning naming the permission:\n%s", withIssue.log)
	}
	if len(readOnly.Issues()) != 0 || len(readOnly.Calls(fakegithub.OpListIssues)) != 1 {
		t.Errorf("issues %d, list calls %d: want none created, one lookup (none with issue: off)", len(readOnly.Issues()), len(readOnly.Calls(fakegithub.OpListIssues)))
	}

	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra"})
	env = scheduleEnv(t, gh, "pull_request")
	// fail-scope all: the pending key fails the run as on a schedule (under
	// the pull_request default, change, a pull request touching no key passes).
	if r := auditRun(t, env, now, "--comment", "off", "--fail-scope", "all"); r.code != app.ExitFail || len(gh.Calls(fakegithub.OpListIssues, fakegithub.OpCreateIssue)) != 0 {
		t.Errorf("pull request: exit %d, issue calls %d; want none\n%s", r.code, len(gh.Calls(fakegithub.OpListIssues, fakegithub.OpCreateIssue)), r.log)
	}
}

// TestNightlyExampleOpensAndClosesTheIssue runs the reporting inputs of
// examples/nightly-audit.yml (its credentials and organization settings
// replaced by moto's) on its own triggers and permissions: the first
// scheduled run opens the issue, and once the deletion is cancelled the next
// one closes it.
func TestNightlyExampleOpensAndClosesTheIssue(t *testing.T) {
	b, err := os.ReadFile("../../examples/nightly-audit.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On          map[string]any    `yaml:"on"`
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	if _, ok := wf.On["schedule"]; !ok || wf.Permissions["issues"] != "write" {
		t.Fatalf("the example must run on schedule with issues: write; on %v, permissions %v", wf.On, wf.Permissions)
	}
	var with map[string]string
	for _, job := range wf.Jobs {
		for _, st := range job.Steps {
			if strings.HasPrefix(st.Uses, "kms-deletion-gate/kms-deletion-gate@") {
				with = st.With
			}
		}
	}
	if with == nil {
		t.Fatal("no kms-deletion-gate step in the example")
	}

	srv := moto.Start(t)
	setAWSEnv(t, srv)
	key := srv.Seed(t, "us-east-1", moto.Key{PendingDays: 7})[0] // high within a day of the run: fails fail-on high
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra"})
	env := scheduleEnv(t, gh, "schedule")
	dir := t.TempDir()
	credentials := map[string]bool{"role-to-assume": true, "organization": true, "role-name": true, "accounts": true, "regions": true}
	for name, v := range with {
		switch {
		case credentials[name] || strings.Contains(v, "${{"):
			continue // moto's credentials and region instead; no secrets here
		case strings.HasSuffix(name, "-file"):
			v = filepath.Join(dir, v)
		}
		env["INPUT_"+strings.ToUpper(name)] = v
	}
	now := time.Now().UTC().Add(time.Hour)
	if r := auditRun(t, env, now); r.code != app.ExitFail || len(gh.Issues()) != 1 || gh.Issues()[0].State != "open" {
		t.Fatalf("first run: exit %d, issues %+v\n%s", r.code, gh.Issues(), r.log)
	}
	if !strings.Contains(gh.Issues()[0].Body, "category=kms-deletion-gate-nightly") {
		t.Errorf("the issue is not the example's category:\n%s", gh.Issues()[0].Body)
	}
	if _, err := kms.NewFromConfig(srv.Config("us-east-1")).CancelKeyDeletion(moto.Context(t), &kms.CancelKeyDeletionInput{KeyId: aws.String(key.ID)}); err != nil {
		t.Fatal(err)
	}
	if r := auditRun(t, env, now); r.code != app.ExitPass || gh.Issues()[0].State != "closed" {
		t.Fatalf("all-clear run: exit %d, issue %+v\n%s", r.code, gh.Issues()[0], r.log)
	}
}
