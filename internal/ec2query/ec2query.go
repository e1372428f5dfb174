// Package ec2query lists the regions enabled for an AWS account with one
// signed EC2 DescribeRegions call in the EC2 Query protocol: a form-encoded
// POST signed with the SDK's own SigV4 signer and credentials, and an XML
// answer. It replaces the whole service/ec2 module (thousands of generated
// operations, over a minute to compile cold) for the one call the scan
// needs, and asks exactly what the ec2 client was asked: AllRegions=false
// and opt-in-status in (opt-in-not-required, opted-in).
//
// The endpoint is chosen as the SDK's EC2 client chooses it:
// AWS_ENDPOINT_URL_EC2 (or the shared config's services section), else the
// config's BaseEndpoint (AWS_ENDPOINT_URL), else ec2.REGION.DNS-SUFFIX of the
// region's partition. FIPS and dual-stack endpoints are not used. Retries
// follow the config's retryer (the SDK's standard one by default), which
// classifies this package's errors like the SDK's own: throttling codes,
// 5xx and dropped connections are retried, access errors are not.
package ec2query

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/partitions"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// apiVersion is the EC2 API version of DescribeRegions' Query form.
const apiVersion = "2016-11-15"

// maxBody bounds the answer read: a real one is a few KiB.
const maxBody = 1 << 20

// describeRegionsBody is the request: the enabled regions only.
var describeRegionsBody = url.Values{
	"Action":           {"DescribeRegions"},
	"Version":          {apiVersion},
	"AllRegions":       {"false"},
	"Filter.1.Name":    {"opt-in-status"},
	"Filter.1.Value.1": {"opt-in-not-required"},
	"Filter.1.Value.2": {"opted-in"},
}.Encode()

// Error is an error answer from EC2 (or an unreadable answer). It satisfies
// smithy.APIError, and HTTPStatusCode, as the SDK's errors do, so retryers and
// callers classify it the same way.
type Error struct {
	StatusCode int
	Code       string
	Message    string
	RequestID  string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("EC2 DescribeRegions: HTTP %d", e.StatusCode)
	if e.Code != "" {
		msg += ", " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	return msg
}

// ErrorCode is EC2's error code (UnauthorizedOperation, RequestLimitExceeded, ...).
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage is EC2's error message.
func (e *Error) ErrorMessage() string { return e.Message }

// ErrorFault says whose fault the error is, by HTTP status.
func (e *Error) ErrorFault() smithy.ErrorFault {
	switch {
	case e.StatusCode >= 500:
		return smithy.FaultServer
	case e.StatusCode >= 400:
		return smithy.FaultClient
	}
	return smithy.FaultUnknown
}

// HTTPStatusCode is the answer's HTTP status.
func (e *Error) HTTPStatusCode() int { return e.StatusCode }

// EnabledRegions returns the regions enabled for the account of cfg's
// credentials, sorted: those that need no opt-in and those the account
// opted in to. cfg.Region picks the endpoint and signing region.
func EnabledRegions(ctx context.Context, cfg aws.Config) ([]string, error) {
	endpoint, err := Endpoint(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var retryer aws.Retryer = retry.NewStandard()
	if cfg.Retryer != nil {
		retryer = cfg.Retryer()
	} else if cfg.RetryMaxAttempts > 0 {
		retryer = retry.AddWithMaxAttempts(retryer, cfg.RetryMaxAttempts)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = awshttp.NewBuildableClient()
	}
	for attempt := 1; ; attempt++ {
		names, err := describeRegions(ctx, cfg, client, endpoint)
		if err == nil {
			return names, nil
		}
		if ctx.Err() != nil || attempt >= retryer.MaxAttempts() || !retryer.IsErrorRetryable(err) {
			return nil, fmt.Errorf("describe regions: %w", err)
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, fmt.Errorf("describe regions: %w", err)
		}
		if werr := wait.Sleep(ctx, delay); werr != nil {
			return nil, fmt.Errorf("describe regions: %w", err)
		}
	}
}

// Endpoint returns the EC2 endpoint the SDK's EC2 client would use for cfg.
func Endpoint(ctx context.Context, cfg aws.Config) (string, error) {
	if cfg.Region == "" {
		return "", errors.New("describe regions: no region (set AWS_REGION or the aws-region input)")
	}
	if e, ok := configuredEndpoint(ctx, cfg); ok {
		return strings.TrimRight(e, "/") + "/", nil
	}
	p, _, ok := partitions.Lookup(cfg.Region)
	if !ok {
		return "", fmt.Errorf("describe regions: %q is not an AWS region name", cfg.Region)
	}
	return "https://ec2." + cfg.Region + "." + p.DNSSuffix + "/", nil
}

// configuredEndpoint mirrors the generated clients' resolveBaseEndpoint for
// sdkID EC2: the service's own setting (AWS_ENDPOINT_URL_EC2, the shared
// config's services section) wins, unless only AWS_ENDPOINT_URL is set in the
// environment; else the config's BaseEndpoint.
func configuredEndpoint(ctx context.Context, cfg aws.Config) (string, bool) {
	base, hasBase := "", cfg.BaseEndpoint != nil
	if hasBase {
		base = *cfg.BaseEndpoint
	}
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, service := os.LookupEnv("AWS_ENDPOINT_URL_EC2")
	if global && !service {
		return base, hasBase
	}
	type ignorer interface {
		GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
	}
	type provider interface {
		GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
	}
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(ignorer); ok {
			if v, found, err := p.GetIgnoreConfiguredEndpoints(ctx); err == nil && found {
				if v {
					return base, hasBase
				}
				break
			}
		}
	}
	for _, src := range cfg.ConfigSources {
		if p, ok := src.(provider); ok {
			if v, found, err := p.GetServiceBaseEndpoint(ctx, "EC2"); err == nil && found {
				return v, true
			} else if err != nil {
				break
			}
		}
	}
	return base, hasBase
}

type describeRegionsResponse struct {
	Regions []struct {
		Name        string `xml:"regionName"`
		OptInStatus string `xml:"optInStatus"`
	} `xml:"regionInfo>item"`
}

type errorResponse struct {
	Errors []struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Errors>Error"`
	RequestID string `xml:"RequestID"`
}

// describeRegions makes one signed call.
func describeRegions(ctx context.Context, cfg aws.Config, client aws.HTTPClient, endpoint string) ([]string, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("no AWS credentials")
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	body := []byte(describeRegionsBody)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "kms-deletion-gate")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", cfg.Region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, retryable{fmt.Errorf("reading the answer: %w", err)}
	}
	requestID := resp.Header.Get("X-Amzn-Requestid")
	if resp.StatusCode != http.StatusOK {
		return nil, decodeError(resp.StatusCode, requestID, data)
	}
	var out describeRegionsResponse
	if err := xml.Unmarshal(data, &out); err != nil {
		// A body cut short is a network failure: try again.
		return nil, retryable{&Error{StatusCode: resp.StatusCode, Code: "UnreadableResponse", Message: clip(err.Error()), RequestID: requestID}}
	}
	return regionNames(out)
}

func decodeError(status int, requestID string, data []byte) error {
	var er errorResponse
	e := &Error{StatusCode: status, RequestID: requestID}
	if xml.Unmarshal(data, &er) == nil && len(er.Errors) > 0 {
		e.Code, e.Message = er.Errors[0].Code, clip(er.Errors[0].Message)
		if er.RequestID != "" {
			e.RequestID = er.RequestID
		}
	} else {
		e.Message = clip(http.StatusText(status))
	}
	return e
}

// regionNames checks and sorts the names in an answer. Only names of an AWS
// region's shape are accepted: they go on to become endpoint host names.
func regionNames(out describeRegionsResponse) ([]string, error) {
	names := make([]string, 0, len(out.Regions))
	for _, r := range out.Regions {
		if _, _, ok := partitions.Lookup(r.Name); !ok {
			return nil, &Error{StatusCode: http.StatusOK, Code: "InvalidResponse", Message: fmt.Sprintf("region name %q is not an AWS region name", clip(r.Name))}
		}
		names = append(names, r.Name)
	}
	if len(names) == 0 {
		return nil, errors.New("no enabled region returned")
	}
	sort.Strings(names)
	return names, nil
}

// clip bounds text from the network before it reaches an error message;
// callers escape it for their sink.
func clip(s string) string { return escape.PlainText(s, 200) }

// retryable marks an error the standard retryer should retry (a body cut
// short), as the SDK's deserializers do.
type retryable struct{ error }

func (retryable) RetryableError() bool { return true }
func (r retryable) Unwrap() error      { return r.error }
