package ec2query

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/faultproxy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// sdkAnswer asks moto the same question through the real SDK's EC2 client.
func sdkAnswer(t *testing.T, ctx context.Context, cfg aws.Config) []string {
	t.Helper()
	out, err := ec2.NewFromConfig(cfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{
		AllRegions: aws.Bool(false),
		Filters:    []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"opt-in-not-required", "opted-in"}}},
	})
	if err != nil {
		t.Fatalf("SDK DescribeRegions: %v", err)
	}
	var names []string
	for _, r := range out.Regions {
		names = append(names, aws.ToString(r.RegionName))
	}
	slices.Sort(names)
	return names
}

// One Query call gives the same enabled regions as the SDK's EC2 client,
// from moto, whichever region signs it.
func TestSameAnswerAsTheSDKClient(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)
	for _, region := range []string{"us-east-1", "eu-west-1", "ap-southeast-2"} {
		cfg := srv.Config(region)
		got, err := EnabledRegions(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		want := sdkAnswer(t, ctx, cfg)
		if !slices.Equal(got, want) || len(got) < 10 {
			t.Errorf("%s: got %d regions %v\nSDK %d regions %v", region, len(got), got, len(want), want)
		}
	}
}

// moto ignores the opt-in filter (it answers every region), so the opt-in
// semantics are proved on the request: the form this package sends has the
// same parameters, values and order-independent content as the one the
// SDK's EC2 client sends for the scan's question, so AWS answers both alike.
func TestSameRequestAsTheSDKClient(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)
	var mu sync.Mutex
	var bodies []url.Values
	cfg := srv.Config("us-east-1")
	cfg.HTTPClient = bodyRecorder{&mu, &bodies}
	if _, err := EnabledRegions(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	sdkAnswer(t, ctx, cfg)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(bodies))
	}
	ours, sdk := bodies[0], bodies[1]
	if !reflect.DeepEqual(ours, sdk) {
		t.Errorf("request form differs:\nours %v\nSDK  %v", ours, sdk)
	}
	if sdk.Get("Action") != "DescribeRegions" || sdk.Get("Filter.1.Name") != "opt-in-status" || sdk.Get("AllRegions") != "false" {
		t.Errorf("SDK form %v is not the enabled-regions question", sdk)
	}
}

type bodyRecorder struct {
	mu     *sync.Mutex
	bodies *[]url.Values
}

func (c bodyRecorder) Do(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	*c.bodies = append(*c.bodies, form)
	c.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return http.DefaultClient.Do(r)
}

// The request is a SigV4-signed EC2 request for the config's region; the
// fault proxy identifies it by its credential scope and action.
func TestSignedForTheRegion(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	ctx := moto.Context(t)
	p, err := faultproxy.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	var mu sync.Mutex
	var auth []string
	cfg := srv.Config("eu-central-1")
	cfg.BaseEndpoint = aws.String(p.URL)
	cfg.HTTPClient = recordingClient{&mu, &auth}
	if _, err := EnabledRegions(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if n := p.Count("DescribeRegions", "eu-central-1"); n != 1 || p.Total() != 1 {
		t.Errorf("DescribeRegions in eu-central-1: %d of %d requests (%s)", n, p.Total(), p.CountsText())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "AWS4-HMAC-SHA256 Credential=testing/") || !strings.Contains(auth[0], "/eu-central-1/ec2/aws4_request") {
		t.Errorf("Authorization = %q", auth)
	}
}

type recordingClient struct {
	mu   *sync.Mutex
	auth *[]string
}

func (c recordingClient) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	*c.auth = append(*c.auth, r.Header.Get("Authorization"))
	c.mu.Unlock()
	return http.DefaultClient.Do(r)
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv := moto.Start(t)
	tests := []struct {
		name      string
		rule      faultproxy.Rule
		wantCalls int
		wantCode  string // empty: success
	}{
		{"throttled twice, then answered", faultproxy.Rule{Operation: "DescribeRegions", Fault: faultproxy.Throttle, Times: 2}, 3, ""},
		{"body cut short once, then answered", faultproxy.Rule{Operation: "DescribeRegions", Fault: faultproxy.Truncate, Times: 1}, 2, ""},
		{"connection reset once, then answered", faultproxy.Rule{Operation: "DescribeRegions", Fault: faultproxy.Reset, Times: 1}, 2, ""},
		{"503 every time: bounded by the retryer", faultproxy.Rule{Operation: "DescribeRegions", Fault: faultproxy.Unavailable}, 3, "ServiceUnavailable"},
		{"not allowed: not retried", faultproxy.Rule{Operation: "DescribeRegions", Fault: faultproxy.Error, Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}, 1, "UnauthorizedOperation"},
		{"hostile region name refused", faultproxy.Rule{Operation: "DescribeRegions", Fault: faultproxy.Respond, Body: `<DescribeRegionsResponse><regionInfo><item><regionName>us-east-1.evil.example/</regionName></item></regionInfo></DescribeRegionsResponse>`}, 1, "InvalidResponse"},
		{"not XML: retried, then refused", faultproxy.Rule{Operation: "DescribeRegions", Fault: faultproxy.Respond, Body: `<html>`}, 3, "UnreadableResponse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := moto.Context(t)
			p, err := faultproxy.New(srv.URL, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			cfg := srv.Config("us-east-1")
			cfg.BaseEndpoint = aws.String(p.URL)
			cfg.RetryMaxAttempts = 3
			got, err := EnabledRegions(ctx, cfg)
			if n := p.Count("DescribeRegions", "us-east-1"); n != tc.wantCalls {
				t.Errorf("calls = %d, want %d", n, tc.wantCalls)
			}
			if tc.wantCode == "" {
				if err != nil || !slices.Contains(got, "us-east-1") {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.wantCode {
				t.Fatalf("error %v, want code %s", err, tc.wantCode)
			}
			if strings.Contains(err.Error(), "evil.example/") && !strings.Contains(err.Error(), "not an AWS region name") {
				t.Errorf("error %v", err)
			}
		})
	}
}

// An endpoint with nothing behind it is an error after the retryer's
// attempts, never an empty list.
func TestNoEndpoint(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	cfg := aws.Config{Region: "ap-future-9", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(url), RetryMaxAttempts: 2}
	got, err := EnabledRegions(context.Background(), cfg)
	if err == nil || got != nil {
		t.Fatalf("got %v, %v; want an error", got, err)
	}
}

type serviceEndpoints map[string]string

func (s serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, id string) (string, bool, error) {
	v, ok := s[id]
	return v, ok, nil
}

type ignoreEndpoints bool

func (i ignoreEndpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return bool(i), true, nil
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     aws.Config
		want    string
		wantErr string
	}{
		{"commercial", aws.Config{Region: "us-east-1"}, "https://ec2.us-east-1.amazonaws.com/", ""},
		{"unknown to this SDK, well-formed", aws.Config{Region: "ap-future-9"}, "https://ec2.ap-future-9.amazonaws.com/", ""},
		{"GovCloud", aws.Config{Region: "us-gov-west-1"}, "https://ec2.us-gov-west-1.amazonaws.com/", ""},
		{"China", aws.Config{Region: "cn-north-1"}, "https://ec2.cn-north-1.amazonaws.com.cn/", ""},
		{"European Sovereign Cloud", aws.Config{Region: "eusc-de-east-1"}, "https://ec2.eusc-de-east-1.amazonaws.eu/", ""},
		{"base endpoint", aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:5000")}, "http://127.0.0.1:5000/", ""},
		{"service endpoint wins", aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://base"), ConfigSources: []any{serviceEndpoints{"EC2": "http://ec2-only/"}}}, "http://ec2-only/", ""},
		{"other service's endpoint ignored", aws.Config{Region: "us-east-1", ConfigSources: []any{serviceEndpoints{"KMS": "http://kms-only"}}}, "https://ec2.us-east-1.amazonaws.com/", ""},
		{"configured endpoints ignored", aws.Config{Region: "us-east-1", ConfigSources: []any{ignoreEndpoints(true), serviceEndpoints{"EC2": "http://ec2-only"}}}, "https://ec2.us-east-1.amazonaws.com/", ""},
		{"no region", aws.Config{}, "", "no region"},
		{"not a region", aws.Config{Region: "us-east-1.evil.example"}, "", "not an AWS region name"},
	}
	for _, tc := range tests {
		got, err := Endpoint(context.Background(), tc.cfg)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: %q, %v; want error %q", tc.name, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
