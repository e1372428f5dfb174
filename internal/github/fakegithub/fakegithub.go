// Package fakegithub is an in-memory GitHub REST server for tests. It speaks
// the subset of the API kms-deletion-gate calls (code scanning SARIF uploads,
// issue comments, pull requests and their files, check runs, issues, the
// token's user, repository contents) and validates every request it
// receives and every response it sends against GitHub's own OpenAPI
// description, so a test that passes against it sends what GitHub accepts.
// Validation failures are collected; New makes the test fail on any of them.
//
// It can be told to answer an operation with one of GitHub's documented
// errors (403, 404, 413, 422, 5xx, secondary rate limits with Retry-After)
// for a number of calls, and it records every call for assertions.
//
// Outside the REST description it answers one GraphQL query, the token's
// login (ViewerQuery), which GitHub serves to installation tokens that
// GET /user refuses.
package fakegithub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// Operation IDs, as GitHub's description names them.
const (
	OpUploadSARIF    = "code-scanning/upload-sarif"
	OpGetSARIF       = "code-scanning/get-sarif"
	OpListAlerts     = "code-scanning/list-alerts-for-repo"
	OpListComments   = "issues/list-comments"
	OpCreateComment  = "issues/create-comment"
	OpUpdateComment  = "issues/update-comment"
	OpDeleteComment  = "issues/delete-comment"
	OpGetPull        = "pulls/get"
	OpListPullFiles  = "pulls/list-files"
	OpCreateCheckRun = "checks/create"
)

// GitHub's documented limits the fake enforces.
const (
	// MaxCommentRunes is the longest issue comment body GitHub accepts.
	MaxCommentRunes = 65536
	// MaxSARIFGzipBytes is the largest gzip-compressed SARIF file code
	// scanning accepts.
	MaxSARIFGzipBytes = 10 << 20
	maxRequestBytes   = 64 << 20
)

// Options configure a fake server. The zero value serves octo-org/demo to a
// token whose identity is github-actions[bot] with write access.
type Options struct {
	Owner string // default "octo-org"
	Repo  string // default "demo"
	// Login is the identity of the token: the author of the comments it
	// creates. Default "github-actions[bot]".
	Login string
	// ReadOnly makes writes to issues and checks fail with 403 "Resource not
	// accessible by integration", as for a fork's pull_request token.
	ReadOnly bool
	// NoPushAccess makes the fake drop the labels of issues this token
	// creates or updates, silently, as GitHub does for a token without push
	// access.
	NoPushAccess bool
	// CodeScanningDisabled makes code scanning calls fail with 403, as for a
	// private repository without GitHub Advanced Security.
	CodeScanningDisabled bool
	// Now stamps created_at/updated_at; default time.Now.
	Now func() time.Time
}

// Call is one request the fake served.
type Call struct {
	Operation string // operation ID, "" when the request matched none
	Method    string
	Path      string
	Query     url.Values
	Header    http.Header // request headers (Authorization included, for assertions only)
	Body      []byte      // request body as received
	Status    int         // status the fake answered
}

// Fault is an error answer to inject. Status must be one GitHub documents
// for the operation, or one GitHub may return for any call (403/429 rate
// limits, 404, 5xx).
type Fault struct {
	Status int
	// Message overrides the documented default message.
	Message string
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter string
	// SecondaryRateLimit makes the body GitHub's secondary rate limit error.
	SecondaryRateLimit bool
}

// SecondaryRateLimit is GitHub's answer when a client makes too many
// requests too quickly: 403 with Retry-After.
func SecondaryRateLimit(retryAfterSeconds int) Fault {
	return Fault{Status: http.StatusForbidden, SecondaryRateLimit: true, RetryAfter: fmt.Sprint(retryAfterSeconds)}
}

// Comment is an issue or pull request comment held by the fake.
type Comment struct {
	ID      int64
	Issue   int
	User    string
	Body    string
	Created time.Time
	Updated time.Time
}

// PullRequest is a pull request the fake knows. Issue comments can only be
// listed or created on a known pull request number.
type PullRequest struct {
	Number         int
	HeadSHA        string
	HeadRef        string // branch name
	HeadRepo       string // owner/name; default BaseRepo (GitHub's description has no null head repository)
	BaseSHA        string
	BaseRef        string // branch name
	BaseRepo       string // owner/name; default the fake's repository
	MergeCommitSHA string
	Files          []string
}

// SARIFUpload is one accepted code scanning upload.
type SARIFUpload struct {
	ID          string
	CommitSHA   string
	Ref         string
	CheckoutURI string
	ToolName    string
	StartedAt   string
	Validate    *bool
	SARIF       []byte // decoded (gunzipped) SARIF JSON
	Polls       int    // status requests served so far
}

// ProcessingStatus is one answer to a SARIF status request.
type ProcessingStatus struct {
	Status string // pending, complete, failed
	Errors []string
}

// CheckRun is a check run created through the fake.
type CheckRun struct {
	ID         int64
	Name       string
	HeadSHA    string
	Status     string
	Conclusion string
	Title      string
	Summary    string
}

// Server is the fake. Its exported methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the API, without a trailing slash.
	URL string

	opts Options
	spec loadedSpec
	srv  *httptest.Server

	mu         sync.Mutex
	errs       []error
	calls      []Call
	faults     map[string][]Fault
	pulls      map[int]*PullRequest
	comments   map[int64]*Comment
	issues     map[int]*Issue
	nextID     int64
	uploads    []*SARIFUpload
	processing []ProcessingStatus
	checkRuns  []CheckRun
	files      map[string]map[string]string // ref -> path -> content
}

// New starts a fake and registers cleanups that stop it and fail t on any
// request or response that did not match GitHub's description.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		for _, err := range s.Errors() {
			t.Errorf("fake GitHub: %v", err)
		}
	})
	return s
}

// NewServer starts a fake without a test: the caller closes it and checks
// Errors. Prefer New.
func NewServer(opts Options) (*Server, error) {
	spec, err := loadSpec()
	if err != nil {
		return nil, err
	}
	if opts.Owner == "" {
		opts.Owner = "octo-org"
	}
	if opts.Repo == "" {
		opts.Repo = "demo"
	}
	if opts.Login == "" {
		opts.Login = "github-actions[bot]"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:       opts,
		spec:       spec,
		faults:     map[string][]Fault{},
		pulls:      map[int]*PullRequest{},
		comments:   map[int64]*Comment{},
		issues:     map[int]*Issue{},
		nextID:     1000,
		processing: []ProcessingStatus{{Status: "complete"}},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Repository returns "owner/name" of the repository the fake serves.
func (s *Server) Repository() string { return s.opts.Owner + "/" + s.opts.Repo }

// Errors returns every validation failure seen so far.
func (s *Server) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.errs)
}

// Calls returns the calls to the given operations (all calls when none is
// given), in order.
func (s *Server) Calls(operations ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(operations) == 0 || slices.Contains(operations, c.Operation) {
			out = append(out, c)
		}
	}
	return out
}

// Fail makes the next n calls of operation answer with f.
func (s *Server) Fail(operation string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[operation] = append(s.faults[operation], f)
	}
}

// AddPullRequest registers a pull request.
func (s *Server) AddPullRequest(pr PullRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pr.BaseRepo == "" {
		pr.BaseRepo = s.Repository()
	}
	if pr.HeadRepo == "" {
		pr.HeadRepo = pr.BaseRepo
	}
	s.pulls[pr.Number] = &pr
}

// AddComment adds a comment by user on issue (or pull request) number issue,
// as if written earlier, and returns its id.
func (s *Server) AddComment(issue int, user, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addCommentLocked(issue, user, body)
}

func (s *Server) addCommentLocked(issue int, user, body string) int64 {
	s.nextID++
	now := s.opts.Now().UTC()
	s.comments[s.nextID] = &Comment{ID: s.nextID, Issue: issue, User: user, Body: body, Created: now, Updated: now}
	return s.nextID
}

// Comments returns the comments on an issue or pull request, oldest first.
func (s *Server) Comments(issue int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commentsLocked(issue)
}

func (s *Server) commentsLocked(issue int) []Comment {
	var out []Comment
	for _, c := range s.comments {
		if c.Issue == issue {
			out = append(out, *c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SetProcessing sets the answers to SARIF status requests: the n-th request
// for an upload gets seq[n], the last one repeating. Default: complete.
func (s *Server) SetProcessing(seq ...ProcessingStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(seq) == 0 {
		seq = []ProcessingStatus{{Status: "complete"}}
	}
	s.processing = slices.Clone(seq)
}

// Uploads returns the accepted SARIF uploads, in order.
func (s *Server) Uploads() []SARIFUpload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SARIFUpload, len(s.uploads))
	for i, u := range s.uploads {
		out[i] = *u
	}
	return out
}

// CheckRuns returns the check runs created, in order.
func (s *Server) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.checkRuns)
}

func (s *Server) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Errorf(format, args...))
}

// reply is a response before it is validated and sent.
type reply struct {
	status int
	body   any // JSON-encoded; nil for no body
	header http.Header
	// anyStatus marks an error GitHub may answer on any operation (rate
	// limits, 404, 5xx), which the description does not list everywhere.
	anyStatus bool
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		s.fail("%s %s: read body: %v", r.Method, r.URL.Path, err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	if r.URL.Path == "/graphql" {
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.serveGraphQL(w, r)
		return
	}

	// Route as if the request had been sent to the server the description names.
	routed := r.Clone(r.Context())
	routed.URL = &url.URL{Scheme: "https", Host: specHost, Path: r.URL.Path, RawPath: contentsRawPath(r.URL), RawQuery: r.URL.RawQuery}
	routed.Host = specHost
	routed.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := s.spec.router.FindRoute(routed)
	if err != nil {
		s.fail("%s %s: no such operation in GitHub's description: %v", r.Method, r.URL.Path, err)
		call.Status = http.StatusNotFound
		s.record(call)
		writeJSON(w, reply{status: http.StatusNotFound, body: basicError("Not Found", "")})
		return
	}
	call.Operation = route.Operation.OperationID

	in := &openapi3filter.RequestValidationInput{
		Request:    routed,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		s.fail("%s %s (%s): request does not match GitHub's description: %v", r.Method, r.URL.Path, call.Operation, err)
		call.Status = http.StatusUnprocessableEntity
		s.record(call)
		writeJSON(w, reply{status: http.StatusUnprocessableEntity, body: basicError("Invalid request.", "")})
		return
	}

	rep := s.handle(call.Operation, params, r.URL.Query(), body)

	// Validate exactly the bytes that go on the wire.
	rec := httptest.NewRecorder()
	writeJSON(rec, rep)
	res := rec.Result()
	out, _ := io.ReadAll(res.Body)
	vin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: !rep.anyStatus, MultiError: true},
	}
	vin.SetBodyBytes(out)
	if err := openapi3filter.ValidateResponse(context.Background(), vin); err != nil {
		s.fail("%s %s (%s): response %d does not match GitHub's description: %v", r.Method, r.URL.Path, call.Operation, res.StatusCode, err)
	}
	call.Status = res.StatusCode
	s.record(call)
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(out)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func writeJSON(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep.body)
}

// handle answers one validated request: an injected fault, or the state's answer.
func (s *Server) handle(op string, params map[string]string, query url.Values, body []byte) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.faults[op]; len(q) > 0 {
		s.faults[op] = q[1:]
		return s.faultReply(op, q[0])
	}
	if op == OpGetAuthenticatedUser {
		return s.getAuthenticatedUser(op)
	}
	if params["owner"] != s.opts.Owner || params["repo"] != s.opts.Repo {
		return notFound(op)
	}
	switch op {
	case OpUploadSARIF:
		return s.uploadSARIF(op, body)
	case OpGetSARIF:
		return s.getSARIF(op, params["sarif_id"])
	case OpListAlerts:
		if s.opts.CodeScanningDisabled {
			return codeScanningDisabled(op)
		}
		return reply{status: http.StatusOK, body: []any{}}
	case OpListComments:
		return s.listComments(op, params, query)
	case OpCreateComment:
		return s.createComment(op, params, body)
	case OpUpdateComment:
		return s.updateComment(op, params, body)
	case OpDeleteComment:
		return s.deleteComment(op, params)
	case OpGetPull:
		return s.getPull(op, params)
	case OpListPullFiles:
		return s.listPullFiles(op, params, query)
	case OpCreateCheckRun:
		return s.createCheckRun(op, body)
	case OpGetContent:
		return s.getContent(op, params, query)
	case OpListIssues:
		return s.listIssues(query)
	case OpCreateIssue:
		return s.createIssue(op, body)
	case OpGetIssue:
		return s.getIssue(op, params)
	case OpUpdateIssue:
		return s.updateIssue(op, params, body)
	}
	s.errs = append(s.errs, fmt.Errorf("%s: described but not implemented by the fake", op))
	return reply{status: http.StatusNotImplemented, body: basicError("Not implemented by the fake", ""), anyStatus: true}
}

// faultReply builds the documented error answer for an injected fault.
func (s *Server) faultReply(op string, f Fault) reply {
	rep := reply{status: f.Status, header: http.Header{}}
	if f.RetryAfter != "" {
		rep.header.Set("Retry-After", f.RetryAfter)
	}
	msg := f.Message
	switch {
	case f.SecondaryRateLimit:
		if msg == "" {
			msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		}
		rep.body = basicError(msg, "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
		rep.anyStatus = true
		return rep
	case f.Status == http.StatusServiceUnavailable:
		if msg == "" {
			msg = "Service unavailable"
		}
		rep.body = map[string]any{"code": "503", "message": msg, "documentation_url": docURL(op)}
	case f.Status == http.StatusUnprocessableEntity:
		if msg == "" {
			msg = "Validation Failed"
		}
		rep.body = basicError(msg, docURL(op))
	default:
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		rep.body = basicError(msg, docURL(op))
	}
	if !s.documented(op, f.Status) {
		switch f.Status {
		case http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			rep.anyStatus = true
		default:
			s.errs = append(s.errs, fmt.Errorf("%s: injected status %d is not one GitHub documents for it", op, f.Status))
		}
	}
	return rep
}

func (s *Server) documented(op string, status int) bool {
	for _, path := range s.spec.doc.Paths.InMatchingOrder() {
		for _, o := range s.spec.doc.Paths.Value(path).Operations() {
			if o.OperationID == op {
				return o.Responses.Status(status) != nil
			}
		}
	}
	return false
}

func docURL(op string) string {
	return "https://docs.github.com/rest/" + strings.ReplaceAll(op, "/", "#")
}

func basicError(msg, doc string) map[string]any {
	if doc == "" {
		doc = "https://docs.github.com/rest"
	}
	return map[string]any{"message": msg, "documentation_url": doc}
}

func notFound(op string) reply {
	return reply{status: http.StatusNotFound, body: basicError("Not Found", docURL(op)), anyStatus: true}
}

func forbidden(op, msg string) reply {
	return reply{status: http.StatusForbidden, body: basicError(msg, docURL(op)), anyStatus: true}
}

func codeScanningDisabled(op string) reply {
	return forbidden(op, "Advanced Security must be enabled for this repository to use code scanning.")
}

func readOnly(op string) reply {
	return forbidden(op, "Resource not accessible by integration")
}
