package fakeoidc

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"
)

func TestGetIDTokenThroughGoGitHubActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cfg         Config
		getenv      func(s *Server) githubactions.GetenvFunc
		audience    string
		wantErr     string
		wantAud     string
		wantSubject string
		wantIssued  int
	}{
		{
			name:        "sts audience",
			cfg:         Config{AllowedAudiences: []string{"sts.amazonaws.com"}},
			audience:    "sts.amazonaws.com",
			wantAud:     "sts.amazonaws.com",
			wantSubject: "repo:octo-org/octo-repo:pull_request",
			wantIssued:  1,
		},
		{
			name:        "default audience is the owner URL",
			cfg:         Config{Repository: "acme/infra", Subject: "repo:acme/infra:ref:refs/heads/main"},
			wantAud:     "https://github.com/acme",
			wantSubject: "repo:acme/infra:ref:refs/heads/main",
			wantIssued:  1,
		},
		{
			name:     "audience not allowed",
			cfg:      Config{AllowedAudiences: []string{"sts.amazonaws.com"}},
			audience: "other",
			wantErr:  `audience \"other\" not allowed`,
		},
		{
			name: "wrong bearer token",
			getenv: func(s *Server) githubactions.GetenvFunc {
				return func(k string) string {
					if k == "ACTIONS_ID_TOKEN_REQUEST_TOKEN" {
						return "wrong"
					}
					return s.Getenv(k)
				}
			},
			audience: "sts.amazonaws.com",
			wantErr:  "bad or missing bearer token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t, tt.cfg)
			var out bytes.Buffer
			a := s.Action(&out)
			if tt.getenv != nil {
				a = githubactions.New(githubactions.WithGetenv(tt.getenv(s)),
					githubactions.WithHTTPClient(s.Client()), githubactions.WithWriter(&out))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tok, err := a.GetIDToken(ctx, tt.audience)
			if s.Calls() != 1 {
				t.Errorf("Calls() = %d, want 1", s.Calls())
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if len(s.Issued()) != 0 {
					t.Errorf("issued %d tokens on error", len(s.Issued()))
				}
				return
			}
			if err != nil {
				t.Fatalf("GetIDToken: %v", err)
			}
			if got := s.Issued(); len(got) != tt.wantIssued || got[0] != tok {
				t.Fatalf("Issued() = %v, want [%s]", got, tok)
			}
			c, err := Claims(tok)
			if err != nil {
				t.Fatal(err)
			}
			if c["aud"] != tt.wantAud || c["sub"] != tt.wantSubject || c["iss"] != Issuer {
				t.Errorf("claims aud=%v sub=%v iss=%v, want %s %s %s", c["aud"], c["sub"], c["iss"], tt.wantAud, tt.wantSubject, Issuer)
			}
			if r := s.Requests()[0]; !r.Authorized || r.Audience != tt.audience || r.Status != 200 {
				t.Errorf("request = %+v", r)
			}
			if out.Len() != 0 {
				t.Errorf("action wrote %q", out.String())
			}
		})
	}
}

func TestTokensAreUnique(t *testing.T) {
	t.Parallel()
	s := Start(t, Config{TokenPrefix: "marker-"})
	a := s.Action(&bytes.Buffer{})
	ctx := context.Background()
	t1, err1 := a.GetIDToken(ctx, "sts.amazonaws.com")
	t2, err2 := a.GetIDToken(ctx, "sts.amazonaws.com")
	if err1 != nil || err2 != nil {
		t.Fatalf("errors: %v %v", err1, err2)
	}
	if t1 == t2 {
		t.Fatal("two calls issued the same token")
	}
	c, _ := Claims(t2)
	if jti, _ := c["jti"].(string); !strings.HasPrefix(jti, "marker-") {
		t.Errorf("jti = %q, want prefix marker-", jti)
	}
	if s.Calls() != 2 {
		t.Errorf("Calls() = %d, want 2", s.Calls())
	}
}
