package app_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/fakeoidc"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// TestScanStartsBeforeLastRoleIsAssumed: an account is scanned as soon as its
// role is assumed, not once every role is. The STS in front of moto holds the
// last member's AssumeRole until KMS sees a ListKeys (which only an already
// assumed member can send); when all roles were assumed before any scan, it
// would wait out holdFor and then deny the role.
func TestScanStartsBeforeLastRoleIsAssumed(t *testing.T) {
	const holdFor = 20 * time.Second
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	target, _ := url.Parse(srv.URL)

	listed := make(chan struct{})
	var listOnce sync.Once
	kmsProxy := httputil.NewSingleHostReverseProxy(target)
	kmsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "TrentService.ListKeys" {
			listOnce.Do(func() { close(listed) })
		}
		kmsProxy.ServeHTTP(w, r)
	}))
	t.Cleanup(kmsSrv.Close)

	const held = "arn:aws:iam::333333333333:role/kdg-member"
	var timedOut atomic.Bool
	stsProxy := httputil.NewSingleHostReverseProxy(target)
	stsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if form.Get("Action") == "AssumeRole" && form.Get("RoleArn") == held {
			select {
			case <-listed:
			case <-time.After(holdFor):
				timedOut.Store(true)
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>held: no ListKeys arrived first</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`)
				return
			}
		}
		stsProxy.ServeHTTP(w, r)
	}))
	t.Cleanup(stsSrv.Close)
	t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)
	oidc := fakeoidc.Start(t, fakeoidc.Config{Repository: "octo/infra"})

	want := map[string]string{}
	for _, acct := range []string{"222222222222", "333333333333"} {
		want[pendingKeyIn(t, srv, acct)] = acct
	}
	// Seeding went to moto directly; the run's KMS calls go through the proxy.
	t.Setenv("AWS_ENDPOINT_URL_KMS", kmsSrv.URL)
	env := map[string]string{
		"GITHUB_ACTIONS":       "true",
		"INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/kdg-hub",
		"INPUT_ACCOUNTS":       "222222222222\n333333333333",
		"INPUT_ROLE-NAME":      "kdg-member",
		"INPUT_REGIONS":        "us-east-1",
	}
	for _, kv := range oidc.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	r := runApp(t, nil, env)
	if timedOut.Load() {
		t.Fatalf("no ListKeys arrived in %s while the last role was held: scanning waited for every role", holdFor)
	}
	if r.code != app.ExitFail {
		t.Errorf("exit %d, want %d (keys pending deletion in both accounts)\n%s", r.code, app.ExitFail, r.stdout)
	}
	got := map[string]string{}
	for _, f := range r.report.Findings {
		got[f.KeyID] = f.Account
	}
	if len(got) != len(want) {
		t.Errorf("findings = %v, want %v", got, want)
	}
	for id, acct := range want {
		if got[id] != acct {
			t.Errorf("key %s attributed to %q, want %s", id, got[id], acct)
		}
	}
	if errs := r.report.Coverage.Errors; len(errs) != 0 {
		t.Errorf("coverage errors = %+v", errs)
	}
	if n := len(r.report.Coverage.Scanned); n != 2 {
		t.Errorf("scanned %d targets, want 2", n)
	}
}
