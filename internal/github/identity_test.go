package github

import (
	"context"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/comment"
)

// TestOneCommentWhateverTheToken runs the upsert three times with each kind
// of token, the way three workflow runs would (a new client each time), next
// to a marked comment of another account: each token keeps exactly one
// comment of its own and never touches the other.
func TestOneCommentWhateverTheToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, login string
		wantCalls   []string // identity calls of each run
	}{
		{"Actions token", "github-actions[bot]", []string{fakegithub.OpGetAuthenticatedUser, "graphql"}},
		{"personal access token", "octo-dev", []string{fakegithub.OpGetAuthenticatedUser}},
		{"GitHub App token", "kdg-app[bot]", []string{fakegithub.OpGetAuthenticatedUser, "graphql"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := prFake(t, fakegithub.Options{Login: tc.login})
			other := "someone-else"
			if tc.login == "octo-dev" {
				other = "github-actions[bot]"
			}
			otherID := fake.AddComment(7, other, comment.Marker+"\nanother account's report")
			for run := 1; run <= 3; run++ {
				c, _ := newClient(t, fake, prEnv(7, repoName), nil)
				body := comment.Marker + "\nrun " + itoa(run)
				if _, err := c.UpsertComment(context.Background(), 7, body); err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
				login, err := c.Identity(context.Background())
				if err != nil || login != tc.login {
					t.Errorf("run %d: identity %q, %v; want %q", run, login, err, tc.login)
				}
			}
			var mine []fakegithub.Comment
			for _, cm := range fake.Comments(7) {
				switch cm.User {
				case tc.login:
					mine = append(mine, cm)
				case other:
					if cm.ID != otherID || !strings.HasSuffix(cm.Body, "another account's report") {
						t.Errorf("the other account's comment changed: %+v", cm)
					}
				}
			}
			if len(mine) != 1 || mine[0].Body != comment.Marker+"\nrun 3" {
				t.Errorf("%d comments by %s, want 1 with the last body: %+v", len(mine), tc.login, mine)
			}
			if n := len(fake.Calls(tc.wantCalls...)); n != 3*len(tc.wantCalls) {
				t.Errorf("%d identity calls, want %d (one lookup a run)", n, 3*len(tc.wantCalls))
			}
		})
	}
}

func TestIdentityFallsBack(t *testing.T) {
	t.Parallel()
	fake := prFake(t, fakegithub.Options{})
	fake.Fail(fakegithub.OpGetAuthenticatedUser, 10, fakegithub.Fault{Status: 503})
	c, _ := newClient(t, fake, prEnv(7, repoName), nil)
	login, err := c.Identity(context.Background())
	if login != DefaultCommentAuthor || err == nil || asWarning(t, err).Kind != KindUnavailable {
		t.Errorf("identity %q, %v; want the default with an unavailable warning", login, err)
	}
	if n := len(fake.Calls("graphql")); n != 0 {
		t.Errorf("GraphQL asked %d times after GitHub failed; only a refusal means an installation token", n)
	}
}
