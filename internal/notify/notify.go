// Package notify posts a run's outcome to a webhook (the webhook-url input):
// a JSON payload whose `text` a Slack incoming webhook shows as is, plus the
// structured findings for any other receiver. Delivery is retried with
// backoff and jitter on 5xx, 429 and dropped connections, bounded in
// attempts and in total time. The URL is a secret (it carries the token of
// the webhook): it is never printed, not even inside an error.
package notify

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// Options configure delivery. Only URL is required.
type Options struct {
	URL string // secret: never logged
	// HTTPClient sends the request; default a client that follows no
	// redirect (a webhook that redirects is misconfigured, and a Location
	// could echo the secret).
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts (default 4); MaxElapsed bounds the
	// whole delivery, waits included (default 60s); AttemptTimeout bounds
	// one attempt (default 15s).
	MaxAttempts    int
	MaxElapsed     time.Duration
	AttemptTimeout time.Duration
	// BaseDelay is the first backoff (default 1s), doubled per attempt, with
	// jitter; a Retry-After within the remaining time is honoured.
	BaseDelay time.Duration
	// Sleep waits d or until ctx ends; Jitter returns a number in [0,1).
	// Tests replace them.
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func() float64
	// Log receives one line per failed attempt; the lines hold no secret.
	Log func(string)
}

// Error is a delivery that failed. Its text never holds the URL.
type Error struct {
	Attempts int
	Status   int    // last HTTP status, 0 when there was none
	Detail   string // redacted
}

func (e *Error) Error() string {
	return fmt.Sprintf("webhook: not delivered after %d %s: %s", e.Attempts, plural(e.Attempts, "attempt", "attempts"), e.Detail)
}

// Result is a delivery that succeeded.
type Result struct {
	Attempts int
	Status   int
}

func (o *Options) defaults() {
	o.MaxAttempts = cmp.Or(max(o.MaxAttempts, 0), 4)
	o.MaxElapsed = cmp.Or(max(o.MaxElapsed, 0), 60*time.Second)
	o.AttemptTimeout = cmp.Or(max(o.AttemptTimeout, 0), 15*time.Second)
	o.BaseDelay = cmp.Or(max(o.BaseDelay, 0), time.Second)
	if o.Sleep == nil {
		o.Sleep = wait.Sleep
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
}

// Send posts body (JSON) to the webhook.
func Send(ctx context.Context, opts Options, body []byte) (Result, error) {
	opts.defaults()
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Result{}, &Error{Detail: "webhook-url is not an http(s) URL"}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.MaxElapsed)
	defer cancel()
	var last *Error
	for attempt := 1; ; attempt++ {
		status, retryAfter, err := post(ctx, opts, body)
		if err == nil {
			return Result{Attempts: attempt, Status: status}, nil
		}
		last = &Error{Attempts: attempt, Status: status, Detail: redact(err.Error(), opts.URL)}
		if !retryable(status, err) || attempt >= opts.MaxAttempts {
			return Result{}, last
		}
		delay := backoff(opts, attempt, retryAfter)
		deadline, _ := ctx.Deadline()
		if time.Until(deadline) < delay {
			last.Detail += fmt.Sprintf("; the next attempt would end after the %s bound", opts.MaxElapsed)
			return Result{}, last
		}
		opts.Log(fmt.Sprintf("webhook attempt %d failed (%s); retrying in %s", attempt, last.Detail, delay.Round(time.Millisecond)))
		if err := opts.Sleep(ctx, delay); err != nil {
			last.Detail += "; stopped: " + err.Error()
			return Result{}, last
		}
	}
}

// errStatus is an answer that is not 2xx.
type errStatus struct{ status int }

func (e errStatus) Error() string {
	return fmt.Sprintf("the webhook answered %d %s", e.status, http.StatusText(e.status))
}

// post makes one attempt; it returns the status, the Retry-After asked for,
// and an error unless the webhook answered 2xx.
func post(ctx context.Context, opts Options, body []byte) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, opts.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kms-deletion-gate")
	resp, err := opts.HTTPClient.Do(req)
	if err != nil {
		// *url.Error quotes the URL: keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s: %w", strings.ToUpper(ue.Op), ue.Err)
		}
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	var after time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && secs >= 0 {
		after = time.Duration(secs) * time.Second
	}
	return resp.StatusCode, after, errStatus{resp.StatusCode}
}

// retryable: 5xx, 429 and transport errors (dropped connections, timeouts
// of one attempt) are retried; other answers are final.
func retryable(status int, err error) bool {
	if status == 0 {
		return !errors.Is(err, context.Canceled)
	}
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// backoff is BaseDelay doubled per attempt with "equal jitter" (half fixed,
// half random), or the Retry-After the webhook asked for when longer.
func backoff(opts Options, attempt int, retryAfter time.Duration) time.Duration {
	d := opts.BaseDelay << (attempt - 1)
	d = d/2 + time.Duration(opts.Jitter()*float64(d/2))
	return max(d, retryAfter)
}

// redact removes the URL, and each part of it that could carry the secret,
// from an error text: net/url errors quote the whole URL.
func redact(s, raw string) string {
	s = strings.ReplaceAll(s, raw, "[webhook-url]")
	u, err := url.Parse(raw)
	if err != nil {
		return s
	}
	for _, part := range []string{u.String(), u.Redacted(), u.EscapedPath(), u.Path, u.RawQuery, u.Fragment, u.User.String()} {
		if len(part) > 1 {
			s = strings.ReplaceAll(s, part, "[redacted]")
		}
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
