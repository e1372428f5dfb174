// Package awserr is the one place that turns an AWS error into what a user
// reads: its error code, its message, its HTTP status, and what kind of
// failure it is (access denied, throttling, the whole endpoint down, no
// answer within the per-call bound). AWS error messages are untrusted and
// unbounded, so everything it returns for display is on one line, free of
// control characters and at most MaxRunes runes long.
package awserr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/escape"
)

// MaxRunes bounds a described error: enough for any real AWS message (they
// name an ARN and an action), short enough that a hostile 2 MB message is
// one readable log line.
const MaxRunes = 400

// CallTimeoutError reports one AWS operation that got no answer within the
// fixed per-call bound, while the run itself still had time.
type CallTimeoutError struct {
	Operation string
	Bound     time.Duration
	Err       error
}

func (e *CallTimeoutError) Error() string {
	return fmt.Sprintf("%s got no answer within %s, the fixed bound of one AWS call (retries included; the timeout input bounds the whole run, not one call): "+
		"check that the Region's KMS endpoint is reachable from the runner and not throttling, or leave the Region out of regions", e.Operation, e.Bound)
}

func (e *CallTimeoutError) Unwrap() error { return e.Err }

// Code is the error's AWS error code ("AccessDeniedException"), else its HTTP
// status ("HTTP 500"), else "timeout", "cancelled" or "error". It is a short
// identifier but still untrusted: it is escaped and bounded like a message.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		return escape.PlainText(ae.ErrorCode(), 100)
	}
	if status := HTTPStatus(err); status != 0 {
		return fmt.Sprintf("HTTP %d", status)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "error"
}

// Message is the error's AWS message, else the text of the HTTP failure,
// else the error text; escaped and at most MaxRunes runes.
func Message(err error) string {
	return escape.PlainText(message(err), MaxRunes)
}

func message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Err != nil {
		return re.Err.Error()
	}
	return err.Error()
}

// Describe renders err for a report or a log line: "Code: message" for an
// AWS API error, "HTTP 500: message" for an answer without one, a sentence saying what to do for a per-call timeout, the
// error text otherwise. Escaped and at most MaxRunes runes (plus "…").
func Describe(err error) string {
	return escape.PlainText(Text(err), MaxRunes)
}

// Text is Describe before escaping and capping, for a caller that must
// process the whole text first (creds masks secrets, which a cut could
// split) and then escapes and bounds it itself.
func Text(err error) string {
	if err == nil {
		return ""
	}
	var te *CallTimeoutError
	if errors.As(err, &te) {
		return te.Error()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if status := HTTPStatus(err); status != 0 {
		return fmt.Sprintf("HTTP %d: %s", status, message(err))
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out: the run's timeout input was reached (raise it, or scan fewer Regions per job)"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return err.Error()
}

// HTTPStatus is the HTTP status of the response the error came from, or 0.
func HTTPStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// IsAccessDenied reports an error that IAM or a key policy caused.
func IsAccessDenied(err error) bool {
	switch apiCode(err) {
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "OperationNotPermittedException":
		return true
	}
	return HTTPStatus(err) == http.StatusForbidden
}

// IsThrottling reports a rate limit answer.
func IsThrottling(err error) bool {
	switch apiCode(err) {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
		return true
	}
	return HTTPStatus(err) == http.StatusTooManyRequests
}

// IsEndpointLevel reports an error that holds for every call of its kind to
// the endpoint: the operation is unknown there, or it fails server-side.
// Per-resource errors (AccessDenied from a key policy, NotFound) are not.
func IsEndpointLevel(err error) bool {
	switch apiCode(err) {
	case "UnsupportedOperationException", "UnknownOperationException", "InvalidAction", "NotImplemented":
		return true
	}
	status := HTTPStatus(err)
	return status == http.StatusNotFound || status == http.StatusNotImplemented || status >= 500
}

// APICode is the raw AWS error code, or "" when err carries none: for
// comparisons, never for display (use Code).
func APICode(err error) string { return apiCode(err) }

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
