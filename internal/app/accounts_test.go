package app_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/fakeoidc"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// denyingSTS forwards to moto but answers AssumeRole of the given role ARNs
// with STS's AccessDenied error (moto never denies).
func denyingSTS(t *testing.T, motoURL string, denied ...string) string {
	target, _ := url.Parse(motoURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		for _, arn := range denied {
			if form.Get("Action") == "AssumeRole" && form.Get("RoleArn") == arn {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/hub/kms-deletion-gate is not authorized to perform: sts:AssumeRole on resource: `+arn+`</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// pendingKeyIn creates a key pending deletion in account (through an assumed
// role there; moto keeps accounts apart by the role's account) and returns its id.
func pendingKeyIn(t *testing.T, srv *moto.Server, account string) string {
	ctx := moto.Context(t)
	cfg := srv.Config("us-east-1")
	if account != "123456789012" {
		out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + account + ":role/seed"), RoleSessionName: aws.String("seed"),
		})
		if err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	}
	return moto.SeedWith(t, kms.NewFromConfig(cfg), moto.Key{PendingDays: 10})[0].ID
}

func TestOIDCAndMemberAccounts(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	t.Setenv("AWS_ENDPOINT_URL_STS", denyingSTS(t, srv.URL, "arn:aws:iam::444444444444:role/kdg-member"))
	oidc := fakeoidc.Start(t, fakeoidc.Config{Repository: "octo/infra"})

	want := map[string]string{}
	for _, acct := range []string{"123456789012", "222222222222", "333333333333"} {
		want[pendingKeyIn(t, srv, acct)] = acct
	}
	env := map[string]string{
		"GITHUB_ACTIONS":       "true",
		"INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/kdg-hub",
		"INPUT_ACCOUNTS":       "123456789012\n222222222222\n333333333333\n444444444444",
		"INPUT_ROLE-NAME":      "kdg-member",
		"INPUT_REGIONS":        "us-east-1",
	}
	for _, kv := range oidc.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	r := runApp(t, nil, env)
	if r.code != app.ExitIncomplete {
		t.Fatalf("exit %d, want 3 (a denied member account)\n%s", r.code, r.stdout)
	}
	got := map[string]string{}
	for _, f := range r.report.Findings {
		got[f.KeyID] = f.Account
	}
	for id, acct := range want {
		if got[id] != acct {
			t.Errorf("key %s attributed to %q, want %s", id, got[id], acct)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings = %v, want %v", got, want)
	}
	errs := r.report.Coverage.Errors
	if len(errs) != 1 || errs[0].Account != "444444444444" || errs[0].Stage != "credentials" || !strings.Contains(errs[0].Message, "AccessDenied") {
		t.Errorf("coverage errors = %+v", errs)
	}
	if oidc.Calls() == 0 {
		t.Error("the OIDC token was never requested")
	}
	// Every issued token is masked before anything else could print it.
	for _, tok := range oidc.Issued() {
		if strings.Count(r.stdout, tok) != strings.Count(r.stdout, "::add-mask::"+tok) {
			t.Error("the OIDC token appears in the log outside ::add-mask::")
		}
	}
}

func TestRoleToAssumeWithoutIDTokenPermissionExitsTwo(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	r := runApp(t, nil, map[string]string{
		"GITHUB_ACTIONS":       "true",
		"INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/kdg-hub",
		"INPUT_REGIONS":        "us-east-1",
	})
	if r.code != app.ExitBadConfig || !strings.Contains(r.stdout, "id-token: write") {
		t.Fatalf("exit %d, want 2 naming id-token: write\n%s", r.code, r.stdout)
	}
}
