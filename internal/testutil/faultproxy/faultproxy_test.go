package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// upstream answers ListKeys with one key and GetCallerIdentity with an
// account, in the real wire shapes, and counts what reaches it.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "Action=GetCallerIdentity") {
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"Keys":[{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","KeyArn":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],"Truncated":false}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func awsConfig(url string, attempts int) aws.Config {
	return aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 50 * time.Millisecond
				o.Backoff = retry.NewExponentialJitterBackoff(50 * time.Millisecond)
			})
		},
	}
}

func TestFaultsAreInjectedCountedAndRetried(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		rule  Rule
		extra int // requests beyond the one the client needs
	}{
		{"throttle burst", Rule{Operation: "ListKeys", Fault: Throttle, Times: 2}, 2},
		{"http 500", Rule{Operation: "ListKeys", Fault: ServerError, Times: 2}, 2},
		{"http 503", Rule{Operation: "ListKeys", Region: "eu-west-1", Fault: Unavailable, Times: 1}, 1},
		{"connection reset", Rule{Operation: "ListKeys", Fault: Reset, Times: 2}, 2},
		{"slow answer", Rule{Operation: "ListKeys", Fault: None, Delay: 50 * time.Millisecond}, 0},
		{"other region untouched", Rule{Region: "us-west-2", Fault: Unavailable}, 0},
		{"other operation untouched", Rule{Operation: "DescribeKey", Fault: Unavailable}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up, _ := upstream(t)
			p, err := New(up.URL, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			client := kms.NewFromConfig(awsConfig(p.URL, 5))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := client.ListKeys(ctx, &kms.ListKeysInput{})
			if err != nil {
				t.Fatalf("ListKeys through %s: %v\n%s", tc.rule.Fault, err, p.CountsText())
			}
			if len(out.Keys) != 1 {
				t.Fatalf("got %d keys, want 1", len(out.Keys))
			}
			if got, want := p.Count("ListKeys", "eu-west-1"), 1+tc.extra; got != want {
				t.Errorf("requests = %d, want %d\n%s", got, want, p.CountsText())
			}
			if got := p.Injected(); got != tc.extra && tc.rule.Fault != None {
				t.Errorf("injected = %d, want %d", got, tc.extra)
			}
		})
	}
}

func TestThrottleShapeIsTheKMSError(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p, err := New(up.URL, Rule{Fault: Throttle})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = kms.NewFromConfig(awsConfig(p.URL, 2)).ListKeys(context.Background(), &kms.ListKeysInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" || ae.ErrorMessage() != "Rate exceeded" {
		t.Fatalf("err = %v, want ThrottlingException: Rate exceeded", err)
	}
	if got := p.Count("ListKeys", ""); got != 2 {
		t.Errorf("requests = %d, want 2 (MaxAttempts)", got)
	}

	// The query protocol of STS gets its own shape and is named by Action=.
	_, err = sts.NewFromConfig(awsConfig(p.URL, 1)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if !errors.As(err, &ae) || ae.ErrorCode() != "Throttling" {
		t.Fatalf("sts err = %v, want Throttling", err)
	}
	if got := p.Count("GetCallerIdentity", "eu-west-1"); got != 1 {
		t.Errorf("GetCallerIdentity requests = %d, want 1\n%s", got, p.CountsText())
	}
}

func TestErrorFaultCarriesCodeAndMessage(t *testing.T) {
	t.Parallel()
	up, n := upstream(t)
	p, err := New(up.URL, Rule{Fault: Error, Code: "AccessDeniedException", Message: "::stop-commands::x\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = kms.NewFromConfig(awsConfig(p.URL, 3)).ListKeys(context.Background(), &kms.ListKeysInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || ae.ErrorMessage() != "::stop-commands::x\n" {
		t.Fatalf("err = %v", err)
	}
	if p.Total() != 1 || n.Load() != 0 {
		t.Errorf("an access error is not retried and never reaches upstream: proxy %d, upstream %d", p.Total(), n.Load())
	}
}

func TestHangHoldsUntilTheClientGivesUp(t *testing.T) {
	t.Parallel()
	up, n := upstream(t)
	p, err := New(up.URL, Rule{Region: "eu-west-1", Fault: Hang})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = kms.NewFromConfig(awsConfig(p.URL, 3)).ListKeys(ctx, &kms.ListKeysInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	if n.Load() != 0 {
		t.Errorf("a hung request reached upstream")
	}
}

func TestSkipLetsTheFirstRequestsThrough(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p, err := New(up.URL, Rule{Operation: "ListKeys", Fault: Error, Code: "AccessDeniedException", Message: "no", Skip: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client := kms.NewFromConfig(awsConfig(p.URL, 1))
	for i := 0; i < 2; i++ {
		if _, err := client.ListKeys(context.Background(), &kms.ListKeysInput{}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, err := client.ListKeys(context.Background(), &kms.ListKeysInput{}); err == nil {
		t.Fatal("third request passed; want the fault")
	}
}

func TestCredentialScope(t *testing.T) {
	t.Parallel()
	region, service := credentialScope("AWS4-HMAC-SHA256 Credential=AKID/20260101/ap-southeast-2/kms/aws4_request, SignedHeaders=host, Signature=abc")
	if region != "ap-southeast-2" || service != "kms" {
		t.Fatalf("got %q %q", region, service)
	}
	if r, s := credentialScope("Bearer x"); r != "" || s != "" {
		t.Fatalf("got %q %q from a non-SigV4 header", r, s)
	}
}

// TestTruncatedBodyNeedsAnExtraRetryable pins the SDK behaviour the scan must
// compensate for: the standard retryer does not retry a response whose body
// ends early (io.ErrUnexpectedEOF inside a deserialization error), so a
// client that wants dropped connections retried adds that check.
func TestTruncatedBodyNeedsAnExtraRetryable(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p, err := New(up.URL, Rule{Operation: "ListKeys", Fault: Truncate, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = kms.NewFromConfig(awsConfig(p.URL, 3)).ListKeys(context.Background(), &kms.ListKeysInput{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("default retryer: err = %v, want io.ErrUnexpectedEOF (not retried)", err)
	}

	p.SetRules(Rule{Operation: "ListKeys", Fault: Truncate, Times: 2})
	p.ResetCounts()
	cfg := awsConfig(p.URL, 3)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.NewExponentialJitterBackoff(50 * time.Millisecond)
			o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					return aws.TrueTernary
				}
				return aws.UnknownTernary
			}))
		})
	}
	out, err := kms.NewFromConfig(cfg).ListKeys(context.Background(), &kms.ListKeysInput{})
	if err != nil || len(out.Keys) != 1 {
		t.Fatalf("with the extra retryable: err = %v", err)
	}
	if got := p.Count("ListKeys", ""); got != 3 {
		t.Errorf("requests = %d, want 3", got)
	}
}

func TestRespondAnswersVerbatim(t *testing.T) {
	t.Parallel()
	up, n := upstream(t)
	p, err := New(up.URL, Rule{Operation: "ListAliases", Fault: Respond, Body: `{"Aliases":[{"AliasName":"alias/<img src=x>","TargetKeyId":"k"}],"Truncated":false}`})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out, err := kms.NewFromConfig(awsConfig(p.URL, 1)).ListAliases(context.Background(), &kms.ListAliasesInput{})
	if err != nil || len(out.Aliases) != 1 || aws.ToString(out.Aliases[0].AliasName) != "alias/<img src=x>" {
		t.Fatalf("ListAliases = %+v, %v", out, err)
	}
	if n.Load() != 0 {
		t.Errorf("a Respond answer reached upstream")
	}
}

func TestRewriteTransformsTheUpstreamAnswer(t *testing.T) {
	t.Parallel()
	up, n := upstream(t)
	var sawRequest atomic.Bool
	p, err := New(up.URL, Rule{Operation: "ListKeys", Fault: Rewrite, Transform: func(req, resp []byte) []byte {
		sawRequest.Store(strings.Contains(string(req), "Limit"))
		return []byte(strings.Replace(string(resp), `"KeyId"`, `"KeyIdX"`, 1))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out, err := kms.NewFromConfig(awsConfig(p.URL, 1)).ListKeys(context.Background(), &kms.ListKeysInput{Limit: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Errorf("upstream saw %d requests, want 1 (Rewrite forwards)", n.Load())
	}
	if !sawRequest.Load() {
		t.Errorf("Transform did not get the request body")
	}
	if len(out.Keys) != 1 || out.Keys[0].KeyId != nil || aws.ToString(out.Keys[0].KeyArn) == "" {
		t.Errorf("answer not rewritten: %+v", out.Keys)
	}
	if p.Injected() != 1 {
		t.Errorf("Injected() = %d, want 1", p.Injected())
	}
}
