// Package fakeoidc emulates the GitHub Actions runner's OIDC token endpoint
// (the one behind ACTIONS_ID_TOKEN_REQUEST_URL) for tests, so code that calls
// go-githubactions' GetIDToken runs unchanged against a local httptest server.
//
// The endpoint behaves as the runner's does: a GET carrying
// "Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>" and an optional
// "audience" query parameter answers {"count":N,"value":"<JWT>"}. The JWT has
// the claims GitHub issues (iss, sub, aud, repository, ref, event_name, ...);
// its signature is random bytes: nothing in the tests verifies it (moto's STS
// does not check web identity tokens).
package fakeoidc

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"
)

// Issuer is the iss claim of GitHub Actions OIDC tokens.
const Issuer = "https://token.actions.githubusercontent.com"

// requestPath mirrors the path of the runner's real token URL.
const requestPath = "/_apis/distributedtask/hubs/Actions/plans/fake-plan/jobs/fake-job/idtoken"

// Config shapes the tokens the server issues. Zero fields take defaults.
type Config struct {
	// Repository is "owner/name"; default "octo-org/octo-repo".
	Repository string
	// Subject is the sub claim; default "repo:<Repository>:pull_request".
	Subject string
	// Ref is the ref claim; default "refs/pull/1/merge".
	Ref string
	// EventName is the event_name claim; default "pull_request".
	EventName string
	// AllowedAudiences, when not empty, is the set of audiences the endpoint
	// accepts; any other requested audience gets HTTP 400. (The real endpoint
	// accepts any audience; tests use this to prove the right one was asked.)
	AllowedAudiences []string
	// TokenPrefix is put at the start of the jti claim so tests can recognise
	// the tokens (the JWT itself is base64url, so search for it whole).
	TokenPrefix string
}

// Server is a running fake token endpoint.
type Server struct {
	// URL is the value for ACTIONS_ID_TOKEN_REQUEST_URL.
	URL string
	// RequestToken is the value for ACTIONS_ID_TOKEN_REQUEST_TOKEN: the bearer
	// token the endpoint requires.
	RequestToken string

	cfg  Config
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []Request
	iss  []string
}

// Request records one call to the endpoint.
type Request struct {
	Audience   string // as requested ("" when absent)
	Authorized bool   // the bearer token matched
	Status     int    // HTTP status answered
}

// Start runs the endpoint on 127.0.0.1 until the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Repository == "" {
		cfg.Repository = "octo-org/octo-repo"
	}
	if cfg.Subject == "" {
		cfg.Subject = "repo:" + cfg.Repository + ":pull_request"
	}
	if cfg.Ref == "" {
		cfg.Ref = "refs/pull/1/merge"
	}
	if cfg.EventName == "" {
		cfg.EventName = "pull_request"
	}
	s := &Server{RequestToken: "fake-request-token-" + randomHex(12), cfg: cfg}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL + requestPath + "?api-version=2.0"
	return s
}

// Getenv answers the two variables the runner sets when the job has
// "permissions: id-token: write", and "" for anything else. Pass it to
// githubactions.WithGetenv.
func (s *Server) Getenv(key string) string {
	switch key {
	case "ACTIONS_ID_TOKEN_REQUEST_URL":
		return s.URL
	case "ACTIONS_ID_TOKEN_REQUEST_TOKEN":
		return s.RequestToken
	}
	return ""
}

// Env returns the same two variables as KEY=VALUE pairs, for tests that run a
// whole program.
func (s *Server) Env() []string {
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + s.URL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + s.RequestToken,
	}
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Action returns a real go-githubactions Action wired to this endpoint
// (WithGetenv, WithHTTPClient) that writes workflow commands to w.
func (s *Server) Action(w io.Writer) *githubactions.Action {
	return githubactions.New(
		githubactions.WithGetenv(s.Getenv),
		githubactions.WithHTTPClient(s.Client()),
		githubactions.WithWriter(w),
	)
}

// Calls returns how many requests reached the endpoint.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// Requests returns a copy of every request seen, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Issued returns every token issued, in order.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.iss...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	aud := r.URL.Query().Get("audience")
	rec := Request{Audience: aud, Authorized: r.Header.Get("Authorization") == "Bearer "+s.RequestToken}
	status, body := s.answer(r, rec)
	rec.Status = status
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) answer(r *http.Request, rec Request) (int, []byte) {
	errBody := func(msg string) []byte {
		b, _ := json.Marshal(map[string]string{"message": msg})
		return b
	}
	switch {
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, errBody("method not allowed")
	case r.URL.Path != requestPath:
		return http.StatusNotFound, errBody("not found")
	case r.URL.Query().Get("api-version") == "":
		return http.StatusBadRequest, errBody("api-version is required")
	case !rec.Authorized:
		return http.StatusUnauthorized, errBody("bad or missing bearer token")
	}
	if len(s.cfg.AllowedAudiences) > 0 && !contains(s.cfg.AllowedAudiences, rec.Audience) {
		return http.StatusBadRequest, errBody(fmt.Sprintf("audience %q not allowed", rec.Audience))
	}
	aud := rec.Audience
	if aud == "" {
		// GitHub's default audience is the URL of the repository owner.
		aud = "https://github.com/" + strings.SplitN(s.cfg.Repository, "/", 2)[0]
	}
	tok := s.mint(aud)
	s.mu.Lock()
	s.iss = append(s.iss, tok)
	n := len(s.iss)
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"count": n, "value": tok})
	return http.StatusOK, b
}

// mint builds a JWT-shaped token with the claims GitHub documents in
// "About security hardening with OpenID Connect".
func (s *Server) mint(aud string) string {
	now := time.Now().Unix()
	owner := strings.SplitN(s.cfg.Repository, "/", 2)[0]
	header := map[string]string{"typ": "JWT", "alg": "RS256", "x5t": "fake", "kid": "fake"}
	claims := map[string]any{
		"jti":                   s.cfg.TokenPrefix + randomHex(16),
		"sub":                   s.cfg.Subject,
		"aud":                   aud,
		"ref":                   s.cfg.Ref,
		"sha":                   "0000000000000000000000000000000000000000",
		"repository":            s.cfg.Repository,
		"repository_owner":      owner,
		"run_id":                "1",
		"run_number":            "1",
		"run_attempt":           "1",
		"actor":                 "octocat",
		"workflow":              "kms-deletion-gate",
		"event_name":            s.cfg.EventName,
		"ref_type":              "branch",
		"job_workflow_ref":      s.cfg.Repository + "/.github/workflows/gate.yml@" + s.cfg.Ref,
		"runner_environment":    "github-hosted",
		"iss":                   Issuer,
		"nbf":                   now - 5,
		"iat":                   now,
		"exp":                   now + 300,
		"repository_visibility": "private",
	}
	enc := base64.RawURLEncoding
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	return enc.EncodeToString(hb) + "." + enc.EncodeToString(cb) + "." + enc.EncodeToString(sig)
}

// Claims decodes the claims of a token the server issued (no verification).
func Claims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("token has %d parts, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse claims: %w", err)
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
