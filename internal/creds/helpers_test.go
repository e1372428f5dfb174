package creds

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"text/template"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// eventLog records, in one order, what was written to the Actions log and
// what requests reached AWS, so a test can prove a mask came before a use.
type eventLog struct {
	mu     sync.Mutex
	events []event
}

type event struct {
	out  bool   // a line written to the Actions log; else a request to AWS
	text string // the line, or the request's headers and body
}

// Write implements io.Writer for go-githubactions' WithWriter.
func (l *eventLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.events = append(l.events, event{out: true, text: line})
	}
	return len(p), nil
}

func (l *eventLog) request(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, event{text: text})
}

func (l *eventLog) snapshot() []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]event(nil), l.events...)
}

// awsProxy stands in front of moto. It records requests and answers STS
// AssumeRole / AssumeRoleWithWebIdentity with AccessDenied for chosen roles,
// in the error shape of the STS API reference (testdata/sts-access-denied.xml),
// since moto never denies a role.
type awsProxy struct {
	URL   string
	log   *eventLog
	proxy *httputil.ReverseProxy

	mu              sync.Mutex
	deny            map[string]bool // role ARNs whose AssumeRole is denied
	denyWebIdentity bool
	echoToken       bool            // put the web identity token in the denial message, as a hostile server might
	denyOps         map[string]bool // JSON-protocol operations answered AccessDeniedException
	calls           map[string]int
}

func startProxy(t *testing.T, target string, log *eventLog) *awsProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &awsProxy{log: log, proxy: httputil.NewSingleHostReverseProxy(u), deny: map[string]bool{}, calls: map[string]int{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *awsProxy) denyRole(arn string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deny[arn] = true
}

func (p *awsProxy) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

var deniedTemplate = template.Must(template.ParseFiles("testdata/sts-access-denied.xml"))

func (p *awsProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndex(op, "."); i >= 0 {
		op = op[i+1:]
	}
	form, _ := url.ParseQuery(string(body))
	if op == "" {
		op = form.Get("Action")
	}
	if p.log != nil {
		p.log.request(fmt.Sprintf("%s %s\nAuthorization: %s\nX-Amz-Security-Token: %s\n%s",
			op, r.URL, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Security-Token"), body))
	}
	p.mu.Lock()
	p.calls[op]++
	denied := op == "AssumeRole" && p.deny[form.Get("RoleArn")] ||
		op == "AssumeRoleWithWebIdentity" && p.denyWebIdentity
	echo := p.echoToken
	deniedJSON := p.denyOps[op]
	p.mu.Unlock()
	if deniedJSON {
		// The AWS JSON 1.1 error shape (Organizations API reference: AccessDeniedException, HTTP 400).
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "c6104cbe-af31-11e0-8154-cbc7ccf896c7")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"AccessDeniedException","Message":"You don't have permissions to access this resource."}`)
		return
	}
	if denied {
		msg := "User: arn:aws:sts::123456789012:assumed-role/gate-hub/kms-deletion-gate is not authorized to perform: sts:" + op + " on resource: " + form.Get("RoleArn")
		if op == "AssumeRoleWithWebIdentity" {
			msg = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
			if echo {
				msg += " with token " + form.Get("WebIdentityToken")
			}
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		_ = deniedTemplate.Execute(w, map[string]string{"Message": msg, "RequestID": "c6104cbe-af31-11e0-8154-cbc7ccf896c7"})
		return
	}
	p.proxy.ServeHTTP(w, r)
}

// configAt returns an AWS config that reaches moto through endpoint with the
// default test credentials (account 123456789012).
func configAt(srv *moto.Server, endpoint string) aws.Config {
	cfg := srv.Config("us-east-1")
	cfg.BaseEndpoint = aws.String(endpoint)
	return cfg
}

// configAsRole returns a config with credentials of roleARN assumed in moto,
// to seed resources in another account.
func configAsRole(t *testing.T, ctx context.Context, srv *moto.Server, roleARN string) aws.Config {
	t.Helper()
	cfg := srv.Config("us-east-1")
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("seed")})
	if err != nil {
		t.Fatalf("seed: assume %s: %v", roleARN, err)
	}
	c := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return cfg
}

func createKey(t *testing.T, ctx context.Context, cfg aws.Config, description string) string {
	t.Helper()
	return moto.SeedWith(t, kms.NewFromConfig(cfg), moto.Key{Description: description})[0].ID
}

func listKeys(t *testing.T, ctx context.Context, cfg aws.Config) []string {
	t.Helper()
	out, err := kms.NewFromConfig(cfg).ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	var ids []string
	for _, k := range out.Keys {
		ids = append(ids, aws.ToString(k.KeyId))
	}
	return ids
}

func TestMain(m *testing.M) {
	// The tests build their own configs; nothing may come from the machine's
	// AWS profile or IMDS.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Exit(m.Run())
}
