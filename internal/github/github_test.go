package github

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
)

const (
	sha      = "0123456789abcdef0123456789abcdef01234567"
	headSHA  = "89abcdef0123456789abcdef0123456789abcdef"
	token    = "ghs_NotARealTokenButSecret0123"
	repoName = "octo-org/demo"
)

// sleeps records waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// env is a workflow run's environment and event payload.
type env struct {
	vars  map[string]string
	event string
}

func pushEnv() env {
	return env{vars: map[string]string{"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": sha}, event: `{"ref":"refs/heads/main"}`}
}

func prEnv(number int, headRepo string) env {
	head := "null"
	if headRepo != "" {
		head = `{"full_name":"` + headRepo + `"}`
	}
	return env{
		vars: map[string]string{
			"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_SHA": sha,
			"GITHUB_HEAD_REF": "feature", "GITHUB_BASE_REF": "main",
		},
		event: `{"number":7,"pull_request":{"number":` + itoa(number) + `,"head":{"sha":"` + headSHA + `","repo":` + head + `},"base":{"repo":{"full_name":"` + repoName + `"}}}}`,
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func newClient(t *testing.T, fake *fakegithub.Server, e env, mod func(*Options)) (*Client, *sleeps) {
	t.Helper()
	vars := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": repoName, "GITHUB_RUN_ID": "42",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_EVENT_PATH": "/github/workflow/event.json",
	}
	if fake != nil {
		vars["GITHUB_API_URL"] = fake.URL
	}
	for k, v := range e.vars {
		vars[k] = v
	}
	sl := &sleeps{}
	opts := Options{
		Token:  token,
		Getenv: func(k string) string { return vars[k] },
		ReadFile: func(p string) ([]byte, error) {
			if p != "/github/workflow/event.json" || e.event == "" {
				return nil, os.ErrNotExist
			}
			return []byte(e.event), nil
		},
		Sleep:        sl.sleep,
		PollInterval: time.Second,
		PollTimeout:  4 * time.Second,
	}
	if fake != nil {
		opts.HTTPClient = fake.Client()
	}
	if mod != nil {
		mod(&opts)
	}
	return New(opts), sl
}

func asWarning(t *testing.T, err error) *Warning {
	t.Helper()
	var w *Warning
	if !errors.As(err, &w) {
		t.Fatalf("error %v (%T) is not a *Warning", err, err)
	}
	if strings.Contains(w.Error(), token) {
		t.Fatalf("warning leaks the token: %v", w)
	}
	return w
}

func TestLoadContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      env
		wantPR   int
		wantFork bool
		wantSHA  string
		wantRef  string
		wantErr  bool
	}{
		{"push", pushEnv(), 0, false, sha, "refs/heads/main", false},
		{"pull_request same repo", prEnv(7, repoName), 7, false, sha, "refs/pull/7/merge", false},
		{"pull_request from fork", prEnv(7, "someone/demo"), 7, true, sha, "refs/pull/7/merge", false},
		{"pull_request from deleted fork", prEnv(7, ""), 7, true, sha, "refs/pull/7/merge", false},
		{"schedule", env{vars: map[string]string{"GITHUB_EVENT_NAME": "schedule", "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": sha}, event: `{"schedule":"0 3 * * *"}`}, 0, false, sha, "refs/heads/main", false},
		{"workflow_dispatch on a tag", env{vars: map[string]string{"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF": "refs/tags/v1.2.0", "GITHUB_SHA": sha}, event: `{"inputs":{}}`}, 0, false, sha, "refs/tags/v1.2.0", false},
		{"pull_request_target uses the base branch", env{vars: map[string]string{"GITHUB_EVENT_NAME": "pull_request_target", "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": sha}, event: prEnv(9, "someone/demo").event}, 9, true, sha, "refs/heads/main", false},
		{"unreadable payload", env{vars: map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_SHA": sha}, event: `{not json`}, 0, false, sha, "refs/pull/7/merge", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newClient(t, nil, tc.env, nil)
			ctx := c.Context()
			if ctx.PRNumber != tc.wantPR || ctx.Fork != tc.wantFork || (ctx.EventErr != nil) != tc.wantErr {
				t.Errorf("PR %d fork %v err %v, want PR %d fork %v err %v", ctx.PRNumber, ctx.Fork, ctx.EventErr, tc.wantPR, tc.wantFork, tc.wantErr)
			}
			gotSHA, gotRef, err := ctx.SARIFTarget()
			if err != nil || gotSHA != tc.wantSHA || gotRef != tc.wantRef {
				t.Errorf("SARIFTarget = %q %q %v, want %q %q", gotSHA, gotRef, err, tc.wantSHA, tc.wantRef)
			}
			if ctx.Owner != "octo-org" || ctx.Repo != "demo" || ctx.RunURL() != "https://github.com/octo-org/demo/actions/runs/42" {
				t.Errorf("owner %q repo %q run URL %q", ctx.Owner, ctx.Repo, ctx.RunURL())
			}
		})
	}
}

func TestSARIFTargetRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ctx  ActionsContext
		want string
	}{
		{"short ref", ActionsContext{SHA: sha, Ref: "main"}, "GITHUB_REF"},
		{"no ref", ActionsContext{SHA: sha}, "GITHUB_REF"},
		{"short sha", ActionsContext{SHA: "abc123", Ref: "refs/heads/main"}, "GITHUB_SHA"},
	}
	for _, tc := range tests {
		if _, _, err := tc.ctx.SARIFTarget(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want mention of %s", tc.name, err, tc.want)
		}
	}
	if got := (ActionsContext{Repository: "o/r", RunID: "5", RunAttempt: "2", ServerURL: "https://ghe.example"}).RunURL(); got != "https://ghe.example/o/r/actions/runs/5/attempts/2" {
		t.Errorf("RunURL = %q", got)
	}
}

// The summary (from the environment) and the comment (from a loaded context)
// link the same run: the re-run attempt, a GHES server without its trailing
// slash, nothing outside Actions.
func TestRunURLOneHome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"first attempt", map[string]string{"GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "5", "GITHUB_RUN_ATTEMPT": "1"}, "https://github.com/o/r/actions/runs/5"},
		{"re-run on GHES", map[string]string{"GITHUB_SERVER_URL": "https://ghe.example/", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "5", "GITHUB_RUN_ATTEMPT": "3"}, "https://ghe.example/o/r/actions/runs/5/attempts/3"},
		{"outside Actions", map[string]string{}, ""},
	}
	for _, tc := range tests {
		getenv := func(k string) string { return tc.env[k] }
		fromEnv := RunURL(getenv)
		fromCtx := LoadContext(getenv, nil).RunURL()
		if fromEnv != tc.want || fromCtx != tc.want {
			t.Errorf("%s: RunURL(getenv) = %q, ActionsContext.RunURL() = %q, want %q", tc.name, fromEnv, fromCtx, tc.want)
		}
	}
}

const sarifDoc = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"kms-deletion-gate"}},"automationDetails":{"id":"kms/prod/"},"results":[]}]}`

func TestUploadSARIFPerEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     env
		wantRef string
	}{
		{"push", pushEnv(), "refs/heads/main"},
		{"pull_request", prEnv(7, repoName), "refs/pull/7/merge"},
		{"schedule", env{vars: map[string]string{"GITHUB_EVENT_NAME": "schedule", "GITHUB_REF": "refs/heads/release", "GITHUB_SHA": sha}, event: `{}`}, "refs/heads/release"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fakegithub.New(t, fakegithub.Options{})
			fake.SetProcessing(fakegithub.ProcessingStatus{Status: "pending"}, fakegithub.ProcessingStatus{Status: "complete"})
			c, _ := newClient(t, fake, tc.env, nil)
			up, err := c.UploadSARIF(context.Background(), []byte(sarifDoc), UploadOptions{ToolName: "kms-deletion-gate", Validate: true, StartedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			if up.Status != "complete" || up.ID == "" || up.Ref != tc.wantRef || up.CommitSHA != sha || up.AnalysesURL == "" {
				t.Errorf("upload = %+v", up)
			}
			ups := fake.Uploads()
			if len(ups) != 1 {
				t.Fatalf("uploads = %d, want 1", len(ups))
			}
			got := ups[0]
			if got.CommitSHA != sha || got.Ref != tc.wantRef || string(got.SARIF) != sarifDoc || got.Validate == nil || !*got.Validate || got.StartedAt != "2026-03-01T12:00:00Z" {
				t.Errorf("recorded upload = %+v", got)
			}
			if n := len(fake.Calls(fakegithub.OpGetSARIF)); n != 2 {
				t.Errorf("status polls = %d, want 2", n)
			}
			if auth := fake.Calls(fakegithub.OpUploadSARIF)[0].Header.Get("Authorization"); auth != "Bearer "+token {
				t.Errorf("Authorization header not sent as a bearer token")
			}
		})
	}
}

func TestUploadSARIFProcessing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		seq        []fakegithub.ProcessingStatus
		wantStatus string
		wantKind   Kind
		wantPolls  int
		wantText   string
	}{
		{"complete after pending", []fakegithub.ProcessingStatus{{Status: "pending"}, {Status: "pending"}, {Status: "complete"}}, "complete", "", 3, ""},
		{"failed with errors", []fakegithub.ProcessingStatus{{Status: "pending"}, {Status: "failed", Errors: []string{"locationFromSarifResult: expected artifact location", "too many results"}}}, "failed", KindProcessing, 2, "expected artifact location; too many results"},
		{"still pending when polling stops", []fakegithub.ProcessingStatus{{Status: "pending"}}, "pending", KindTimeout, 4, "still pending"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fakegithub.New(t, fakegithub.Options{})
			fake.SetProcessing(tc.seq...)
			c, sl := newClient(t, fake, pushEnv(), nil)
			up, err := c.UploadSARIF(context.Background(), []byte(sarifDoc), UploadOptions{})
			if up.Status != tc.wantStatus {
				t.Errorf("status = %q, want %q", up.Status, tc.wantStatus)
			}
			if tc.wantKind == "" {
				if err != nil {
					t.Fatalf("unexpected warning %v", err)
				}
			} else if w := asWarning(t, err); w.Kind != tc.wantKind || !strings.Contains(w.Error(), tc.wantText) {
				t.Errorf("warning = %v (%s), want %s containing %q", w, w.Kind, tc.wantKind, tc.wantText)
			}
			if n := len(fake.Calls(fakegithub.OpGetSARIF)); n != tc.wantPolls {
				t.Errorf("polls = %d, want %d", n, tc.wantPolls)
			}
			if n := len(sl.all()); n != tc.wantPolls {
				t.Errorf("poll waits = %d, want %d", n, tc.wantPolls)
			}
		})
	}
}

func TestUploadSARIFDegrades(t *testing.T) {
	t.Parallel()
	big := make([]byte, 8<<10) // incompressible: over the (lowered) limit once gzipped
	_, _ = rand.NewChaCha8([32]byte{1}).Read(big)
	tests := []struct {
		name      string
		opts      fakegithub.Options
		fault     *fakegithub.Fault
		times     int
		sarif     []byte
		env       env
		wantKind  Kind
		wantCalls int // upload calls
		wantText  string
	}{
		{"403 code scanning disabled", fakegithub.Options{CodeScanningDisabled: true}, nil, 0, nil, pushEnv(), KindForbidden, 1, "security-events: write"},
		{"404", fakegithub.Options{}, &fakegithub.Fault{Status: 404}, 1, nil, pushEnv(), KindNotFound, 1, "not found"},
		{"413 from GitHub", fakegithub.Options{}, &fakegithub.Fault{Status: 413}, 1, nil, pushEnv(), KindTooLarge, 1, "shard"},
		{"413 before sending", fakegithub.Options{}, nil, 0, big, pushEnv(), KindTooLarge, 0, "over code scanning's"},
		{"503 persists", fakegithub.Options{}, &fakegithub.Fault{Status: 503}, 10, nil, pushEnv(), KindUnavailable, 4, "retried up to 3 times"},
		{"rate limit too long to wait", fakegithub.Options{}, &fakegithub.Fault{Status: 403, SecondaryRateLimit: true, RetryAfter: "3600"}, 1, nil, pushEnv(), KindRateLimited, 1, "secondary rate limit"},
		{"ref not usable", fakegithub.Options{}, nil, 0, nil, env{vars: map[string]string{"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "main", "GITHUB_SHA": sha}}, KindSkipped, 0, "GITHUB_REF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fakegithub.New(t, tc.opts)
			if tc.fault != nil {
				fake.Fail(fakegithub.OpUploadSARIF, tc.times, *tc.fault)
			}
			c, _ := newClient(t, fake, tc.env, nil)
			c.maxGzip = 4 << 10 // the 10 MB limit, scaled down to keep the test fast
			sarif := tc.sarif
			if sarif == nil {
				sarif = []byte(sarifDoc)
			}
			_, err := c.UploadSARIF(context.Background(), sarif, UploadOptions{})
			w := asWarning(t, err)
			if w.Kind != tc.wantKind || !strings.Contains(w.Error(), tc.wantText) {
				t.Errorf("warning = %q (%s), want %s containing %q", w, w.Kind, tc.wantKind, tc.wantText)
			}
			if n := len(fake.Calls(fakegithub.OpUploadSARIF)); n != tc.wantCalls {
				t.Errorf("upload calls = %d, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     fakegithub.Fault
		times     int
		wantWaits []time.Duration // before the upload succeeds
		jittered  bool            // our own backoff: each wait in [want/2, want]
	}{
		{"secondary rate limit with Retry-After", fakegithub.SecondaryRateLimit(2), 2, []time.Duration{2 * time.Second, 2 * time.Second}, false},
		{"429 with Retry-After", fakegithub.Fault{Status: 429, RetryAfter: "5"}, 1, []time.Duration{5 * time.Second}, false},
		{"502 backs off", fakegithub.Fault{Status: 502}, 3, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fakegithub.New(t, fakegithub.Options{})
			fake.Fail(fakegithub.OpUploadSARIF, tc.times, tc.fault)
			c, sl := newClient(t, fake, pushEnv(), nil)
			up, err := c.UploadSARIF(context.Background(), []byte(sarifDoc), UploadOptions{})
			if err != nil || up.Status != "complete" {
				t.Fatalf("upload = %+v, %v", up, err)
			}
			if n := len(fake.Calls(fakegithub.OpUploadSARIF)); n != tc.times+1 {
				t.Errorf("upload calls = %d, want %d", n, tc.times+1)
			}
			waits := sl.all()
			if len(waits) < len(tc.wantWaits) {
				t.Fatalf("waits = %v", waits)
			}
			for i, d := range tc.wantWaits {
				if tc.jittered {
					if waits[i] < d/2 || waits[i] > d {
						t.Errorf("wait %d = %v, want within [%v, %v] (all %v)", i, waits[i], d/2, d, waits)
					}
					continue
				}
				if waits[i] != d {
					t.Errorf("wait %d = %v, want %v (all %v)", i, waits[i], d, waits)
				}
			}
			if len(fake.Uploads()) != 1 {
				t.Errorf("uploads stored = %d, want 1", len(fake.Uploads()))
			}
		})
	}
}

func TestNoTokenOrRepository(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, nil, pushEnv(), func(o *Options) { o.Token = "" })
	if _, err := c.UploadSARIF(context.Background(), []byte(sarifDoc), UploadOptions{}); asWarning(t, err).Kind != KindSkipped {
		t.Errorf("no token: %v", err)
	}
	c = New(Options{Token: token, Getenv: func(string) string { return "" }})
	if _, err := c.UpsertComment(context.Background(), 3, "<!-- kms-deletion-gate -->\nx"); asWarning(t, err).Kind != KindSkipped {
		t.Errorf("no repository: %v", err)
	}
	c = New(Options{Token: token, APIURL: "ftp://x", Getenv: func(k string) string { return map[string]string{"GITHUB_REPOSITORY": repoName}[k] }})
	if _, err := c.UpsertComment(context.Background(), 3, "<!-- kms-deletion-gate -->\nx"); !strings.Contains(asWarning(t, err).Error(), "GITHUB_API_URL") {
		t.Errorf("bad API URL: %v", err)
	}
}
