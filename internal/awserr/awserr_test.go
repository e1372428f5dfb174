package awserr_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/awserr"
)

func apiErr(code, msg string) error {
	return fmt.Errorf("describe key k in us-east-1: %w", &smithy.OperationError{ServiceID: "KMS", OperationName: "DescribeKey",
		Err: &smithy.GenericAPIError{Code: code, Message: msg}})
}

func httpErr(status int) error {
	return &smithy.OperationError{ServiceID: "KMS", OperationName: "GetKeyLastUsage", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: errors.New("upstream said no")},
	}}
}

// A hostile AWS message is huge and multi-line: it comes out as one line of
// at most MaxRunes runes and an ellipsis, cut by runes (a multi-byte rune at
// the cut is whole).
func TestDescribeCapsAndNeutralises(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("é", 2<<20) // 2 Mi runes, 4 MB
	for _, err := range []error{apiErr("AccessDeniedException", huge), errors.New(huge)} {
		for name, got := range map[string]string{"Describe": awserr.Describe(err), "Message": awserr.Message(err)} {
			if n := utf8.RuneCountInString(got); n > awserr.MaxRunes+len("AccessDeniedException: ")+1 || n < awserr.MaxRunes {
				t.Errorf("%s: %d runes, want about %d", name, n, awserr.MaxRunes)
			}
			if !utf8.ValidString(got) || !strings.HasSuffix(got, "é…") {
				t.Errorf("%s: ends %q, want whole runes then the elision mark", name, got[len(got)-8:])
			}
		}
	}
	hostile := apiErr("AccessDeniedException", "denied\n::error::forged\r\x1b[31mred\u202etxt.exe")
	got := awserr.Describe(hostile)
	if strings.ContainsAny(got, "\n\r\x1b\u202e") {
		t.Errorf("Describe kept a control character: %q", got)
	}
	if !strings.HasPrefix(got, "AccessDeniedException: denied ::error::forged") {
		t.Errorf("Describe = %q", got)
	}
	if c := awserr.Code(apiErr("Bad\nCode", "m")); strings.Contains(c, "\n") {
		t.Errorf("Code kept a newline: %q", c)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                        string
		err                         error
		code, describe              string
		denied, throttled, endpoint bool
	}{
		{"access denied", apiErr("AccessDeniedException", "not authorized"), "AccessDeniedException", "AccessDeniedException: not authorized", true, false, false},
		{"throttled", apiErr("ThrottlingException", "slow down"), "ThrottlingException", "ThrottlingException: slow down", false, true, false},
		{"unknown operation", apiErr("UnknownOperationException", ""), "UnknownOperationException", "UnknownOperationException: ", false, false, true},
		{"HTTP 500 without a code", httpErr(500), "HTTP 500", "HTTP 500: upstream said no", false, false, true},
		{"HTTP 403 without a code", httpErr(403), "HTTP 403", "HTTP 403: upstream said no", true, false, false},
		{"HTTP 429 without a code", httpErr(429), "HTTP 429", "HTTP 429: upstream said no", false, true, false},
		{"run deadline", fmt.Errorf("list keys: %w", context.DeadlineExceeded), "timeout", "timed out: the run's timeout input was reached (raise it, or scan fewer Regions per job)", false, false, false},
		{"cancelled", context.Canceled, "cancelled", "cancelled", false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := awserr.Code(tc.err); got != tc.code {
				t.Errorf("Code = %q, want %q", got, tc.code)
			}
			if got := awserr.Describe(tc.err); got != tc.describe {
				t.Errorf("Describe = %q, want %q", got, tc.describe)
			}
			if awserr.IsAccessDenied(tc.err) != tc.denied || awserr.IsThrottling(tc.err) != tc.throttled || awserr.IsEndpointLevel(tc.err) != tc.endpoint {
				t.Errorf("denied/throttled/endpoint = %v/%v/%v, want %v/%v/%v", awserr.IsAccessDenied(tc.err), awserr.IsThrottling(tc.err), awserr.IsEndpointLevel(tc.err), tc.denied, tc.throttled, tc.endpoint)
			}
		})
	}
}

// The per-call bound is not the timeout input: the message must not send the
// user to raise timeout, and must say what the bound is and what to do.
func TestCallTimeoutMessage(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("us-east-1: %w", &awserr.CallTimeoutError{Operation: "ListKeys", Bound: 90 * time.Second, Err: context.DeadlineExceeded})
	got := awserr.Describe(err)
	for _, want := range []string{"ListKeys", "1m30s", "fixed bound of one AWS call", "not one call", "reachable"} {
		if !strings.Contains(got, want) {
			t.Errorf("Describe = %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "raise") {
		t.Errorf("Describe = %q tells the user to raise something that does not control this bound", got)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("CallTimeoutError must still be a deadline for errors.Is")
	}
}
