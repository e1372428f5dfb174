package github

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryTransport retries one request a bounded number of times: on 5xx, on
// GitHub's rate limits (403/429 with Retry-After, an exhausted
// X-RateLimit-Remaining, or the secondary rate limit message) and on dropped
// connections. Every wait is capped; a longer one gives up at once so that a
// run never hangs on GitHub. The last answer is passed on for go-github to
// turn into an error.
type retryTransport struct {
	base       http.RoundTripper
	maxRetries int
	maxWait    time.Duration
	attempt    time.Duration
	sleep      func(context.Context, time.Duration) error
	now        func() time.Time
	// jitter spreads our own backoff so that matrix shards that failed
	// together do not retry together; nil keeps the exact backoff (tests).
	// Waits GitHub asks for (Retry-After, rate limit reset) are kept as is.
	jitter func(time.Duration) time.Duration
}

// equalJitter returns a wait in [d/2, d]: never shorter than half the
// backoff, never longer than it, spread uniformly in between.
func equalJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

const (
	backoffBase       = time.Second
	secondaryFallback = time.Minute // GitHub: "wait at least one minute" when no Retry-After
	maxErrorBodyBytes = 1 << 20
)

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				if req.GetBody == nil {
					return nil, errors.New("cannot retry a request whose body cannot be replayed")
				}
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.once(r)
		wait, retry := t.decide(req, resp, err, attempt)
		if !retry || attempt >= t.maxRetries {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBodyBytes))
			resp.Body.Close()
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once sends one attempt under its own timeout, released when the caller
// closes the body.
func (t *retryTransport) once(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.attempt)
	resp, err := t.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// decide says whether to retry and after how long.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	backoff := min(backoffBase<<attempt, t.maxWait)
	if t.jitter != nil {
		backoff = t.jitter(backoff)
	}
	if err != nil {
		if req.Context().Err() != nil {
			return 0, false
		}
		// A POST that may have reached GitHub is not replayed blindly on a
		// network error; one that never connected is.
		var op *net.OpError
		neverConnected := errors.As(err, &op) && op.Op == "dial"
		if req.Method == http.MethodPost && !neverConnected {
			return 0, false
		}
		return backoff, true
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if d, ok := t.retryAfter(resp); ok {
			return d, d <= t.maxWait
		}
		return backoff, true
	case http.StatusTooManyRequests, http.StatusForbidden:
		d, limited := t.rateLimitWait(resp)
		if !limited {
			return 0, false // a plain 403 is a permission problem: retrying cannot help
		}
		return d, d <= t.maxWait
	}
	return 0, false
}

// rateLimitWait recognises GitHub's rate limit answers and how long they ask
// to wait.
func (t *retryTransport) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if d, ok := t.retryAfter(resp); ok {
		return d, true
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(0, time.Unix(reset, 0).Sub(t.now())), true
		}
		return secondaryFallback, true
	}
	// The secondary rate limit is only told apart from a permission error
	// by its message; read the body and put it back for go-github.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if strings.Contains(strings.ToLower(string(body)), "secondary rate limit") || resp.StatusCode == http.StatusTooManyRequests {
		return secondaryFallback, true
	}
	return 0, false
}

func (t *retryTransport) retryAfter(resp *http.Response) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(0, at.Sub(t.now())), true
	}
	return 0, false
}
