// Package github owns every call kms-deletion-gate makes to GitHub's REST
// API: reading the Actions context, uploading SARIF to code scanning and
// keeping one pull request comment up to date. A failing call never fails the
// run: each method returns a *Warning the caller reports, and the local
// reports stay complete.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// DefaultCommentAuthor is the login of the Actions GITHUB_TOKEN, the author
// of the comments this tool writes with it.
const DefaultCommentAuthor = "github-actions[bot]"

// Options configure a Client. Every field has a working default, so tests
// only set the seams they need.
type Options struct {
	// Token authenticates calls (the github-token input). Never logged.
	Token string
	// APIURL is the REST API base; default GITHUB_API_URL, else https://api.github.com.
	APIURL string
	// HTTPClient sends requests; default a client without an overall timeout
	// (each attempt is bounded by AttemptTimeout). Its Transport is wrapped
	// with retries.
	HTTPClient *http.Client
	// Getenv and ReadFile read the Actions context; default os.Getenv, os.ReadFile.
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// CommentAuthor is the login whose marked comment is ours; default
	// github-actions[bot]. Set it when github-token is a personal or app token.
	CommentAuthor string
	// MaxRetries bounds retries of one request (5xx, rate limits, dropped
	// connections); default 3. MaxRetryWait caps one wait: a longer
	// Retry-After gives up at once. Default 60s.
	MaxRetries   int
	MaxRetryWait time.Duration
	// AttemptTimeout bounds one HTTP attempt; default 60s.
	AttemptTimeout time.Duration
	// PollInterval and PollTimeout bound waiting for code scanning to process
	// an upload; default 5s and 2m.
	PollInterval time.Duration
	PollTimeout  time.Duration
	// Sleep waits d or until ctx is done; tests pass one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for rate limit resets; default time.Now.
	Now func() time.Time
}

// Client calls GitHub for one run.
type Client struct {
	opts    Options
	maxGzip int // MaxSARIFGzipBytes; lowered by tests
	actx    ActionsContext
	api     *gh.Client
	initErr error
}

// New builds a client. It never fails: a bad setting surfaces as a Warning
// from the first call that needs it.
func New(opts Options) *Client {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.CommentAuthor == "" {
		opts.CommentAuthor = DefaultCommentAuthor
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 3
	}
	if opts.MaxRetryWait <= 0 {
		opts.MaxRetryWait = 60 * time.Second
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 60 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = 2 * time.Minute
	}
	if opts.Sleep == nil {
		opts.Sleep = wait.Sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	actx := LoadContext(opts.Getenv, opts.ReadFile)
	if opts.APIURL == "" {
		opts.APIURL = actx.APIURL
	}
	c := &Client{opts: opts, actx: actx, maxGzip: MaxSARIFGzipBytes}

	hc := &http.Client{}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &retryTransport{
		base:       base,
		maxRetries: opts.MaxRetries,
		maxWait:    opts.MaxRetryWait,
		attempt:    opts.AttemptTimeout,
		sleep:      opts.Sleep,
		now:        opts.Now,
		jitter:     equalJitter,
	}
	c.api = gh.NewClient(hc)
	if opts.Token != "" {
		c.api = c.api.WithAuthToken(opts.Token)
	}
	c.api.UserAgent = "kms-deletion-gate"
	apiBase, err := url.Parse(strings.TrimRight(opts.APIURL, "/") + "/")
	if err != nil || (apiBase.Scheme != "http" && apiBase.Scheme != "https") || apiBase.Host == "" {
		c.initErr = fmt.Errorf("GitHub API URL %q is not an http(s) URL (set GITHUB_API_URL)", opts.APIURL)
	} else {
		c.api.BaseURL = apiBase
	}
	return c
}

// Context returns the Actions context read when the client was built.
func (c *Client) Context() ActionsContext { return c.actx }

// ready reports why no call can be made at all, as a skip warning.
func (c *Client) ready(op string) *Warning {
	switch {
	case c.initErr != nil:
		return &Warning{Op: op, Kind: KindSkipped, Detail: c.initErr.Error(), Err: c.initErr}
	case c.opts.Token == "":
		return &Warning{Op: op, Kind: KindSkipped, Detail: "no GitHub token (set the github-token input or GITHUB_TOKEN)"}
	case c.actx.Owner == "":
		return &Warning{Op: op, Kind: KindSkipped, Detail: fmt.Sprintf("GITHUB_REPOSITORY %q is not owner/name", c.actx.Repository)}
	}
	return nil
}

// Kind classifies a Warning so the caller can word it or count it.
type Kind string

// Kinds of warnings.
const (
	KindSkipped     Kind = "skipped"      // not attempted: no token, no pull request, fork, bad ref...
	KindForbidden   Kind = "forbidden"    // 401/403: token lacks permission, feature disabled
	KindNotFound    Kind = "not-found"    // 404/410
	KindTooLarge    Kind = "too-large"    // 413, or over a documented limit before sending
	KindInvalid     Kind = "invalid"      // 400/422: GitHub rejected the request
	KindRateLimited Kind = "rate-limited" // still rate limited after bounded retries
	KindUnavailable Kind = "unavailable"  // 5xx or network errors after bounded retries
	KindProcessing  Kind = "processing"   // code scanning failed to process an upload
	KindTimeout     Kind = "timeout"      // code scanning still processing when polling stopped
)

// Warning is a GitHub call that did not do its job. It is returned, never
// raised: the run goes on. Its text is plain and may quote GitHub's error
// message, so the sink escapes it like any external text; it never holds the
// token.
type Warning struct {
	Op     string // what was attempted, e.g. "upload SARIF"
	Kind   Kind
	Status int    // HTTP status, 0 when there was none
	Detail string // what went wrong and what to do
	Err    error  // underlying error, if any
}

func (w *Warning) Error() string { return w.Op + ": " + w.Detail }

// Unwrap returns the underlying error.
func (w *Warning) Unwrap() error { return w.Err }

// classify turns an error from a go-github call into a Warning with advice
// for the operation. hints maps a status to operation-specific advice.
func (c *Client) classify(op string, err error, hints map[int]string) *Warning {
	w := &Warning{Op: op, Err: err}
	var (
		rle  *gh.RateLimitError
		arle *gh.AbuseRateLimitError
		er   *gh.ErrorResponse
	)
	switch {
	case errors.As(err, &rle):
		w.Kind, w.Status = KindRateLimited, http.StatusForbidden
		w.Detail = fmt.Sprintf("GitHub API rate limit exhausted until %s; retry later", rle.Rate.Reset.Time.UTC().Format(time.RFC3339))
	case errors.As(err, &arle):
		w.Kind, w.Status = KindRateLimited, http.StatusForbidden
		w.Detail = "GitHub secondary rate limit: " + arle.Message
		if arle.RetryAfter != nil {
			w.Detail += fmt.Sprintf(" (retry after %s; this run waits at most %s, %d times)", arle.RetryAfter.Round(time.Second), c.opts.MaxRetryWait, c.opts.MaxRetries)
		}
	case errors.As(err, &er) && er.Response != nil:
		w.Status = er.Response.StatusCode
		w.Kind = kindOf(w.Status)
		msg := er.Message
		if msg == "" {
			msg = http.StatusText(w.Status)
		}
		w.Detail = fmt.Sprintf("GitHub answered %d %s", w.Status, msg)
		if w.Kind == KindUnavailable || w.Kind == KindRateLimited {
			w.Detail += fmt.Sprintf(" (retried up to %d times)", c.opts.MaxRetries)
		}
		if h := hints[w.Status]; h != "" {
			w.Detail += ": " + h
		} else if w.Status == http.StatusUnauthorized {
			w.Detail += ": the github-token is invalid or expired"
		}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		w.Kind = KindUnavailable
		w.Detail = "stopped: " + err.Error()
	default:
		w.Kind = KindUnavailable
		w.Detail = fmt.Sprintf("could not reach GitHub (retried up to %d times): %v", c.opts.MaxRetries, err)
	}
	w.Detail = c.redact(w.Detail)
	return w
}

func kindOf(status int) Kind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusNotFound || status == http.StatusGone:
		return KindNotFound
	case status == http.StatusRequestEntityTooLarge:
		return KindTooLarge
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500:
		return KindUnavailable
	default:
		return KindInvalid
	}
}

// redact removes the token from text that may echo a request.
func (c *Client) redact(s string) string {
	if c.opts.Token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.opts.Token, "[redacted]")
}
