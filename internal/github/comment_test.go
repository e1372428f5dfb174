package github

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/comment"
)

func prFake(t *testing.T, opts fakegithub.Options) *fakegithub.Server {
	t.Helper()
	fake := fakegithub.New(t, opts)
	fake.AddPullRequest(fakegithub.PullRequest{Number: 7, HeadSHA: headSHA, HeadRef: "feature", HeadRepo: repoName, BaseSHA: sha, BaseRef: "main", MergeCommitSHA: sha})
	return fake
}

func pendingResult(days int) finding.Result {
	scan := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return finding.Result{
		ScanTime: scan, Scanned: []finding.Target{{Account: "111122223333", Region: "us-east-1"}}, FailOn: finding.SeverityMedium,
		Findings: []finding.Finding{{
			RuleID: finding.RulePendingDeletion, Account: "111122223333", Region: "us-east-1",
			KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", State: finding.StatePendingDeletion,
			DeletionDate: scan.Add(time.Duration(days) * 24 * time.Hour), Severity: finding.SeverityHigh,
		}},
	}
}

func TestUpsertAcrossRuns(t *testing.T) {
	t.Parallel()
	fake := prFake(t, fakegithub.Options{})
	// Comments that are not ours: another user quoting our marker, and ours without it.
	fake.AddComment(7, "octocat", comment.Marker+"\nI copied your marker")
	fake.AddComment(7, "github-actions[bot]", "some other bot report")
	c, _ := newClient(t, fake, prEnv(7, repoName), nil)
	ctx := context.Background()

	runs := []struct {
		name       string
		body       string
		wantAction string
		wantPatch  int // cumulative update-comment calls
	}{
		{"first run creates", comment.Render(pendingResult(5), comment.Options{}), CommentCreated, 0},
		{"identical second run leaves it alone", comment.Render(pendingResult(5), comment.Options{}), CommentUnchanged, 0},
		{"changed third run edits in place", comment.Render(pendingResult(4), comment.Options{}), CommentUpdated, 1},
		{"keys gone: all clear", comment.Render(finding.Result{Scanned: pendingResult(1).Scanned, Passed: true}, comment.Options{}), CommentUpdated, 2},
		{"all clear again: unchanged", comment.Render(finding.Result{Scanned: pendingResult(1).Scanned, Passed: true}, comment.Options{}), CommentUnchanged, 2},
	}
	var id int64
	for _, run := range runs {
		res, err := c.UpsertComment(ctx, 7, run.body)
		if err != nil {
			t.Fatalf("%s: %v", run.name, err)
		}
		if res.Action != run.wantAction {
			t.Errorf("%s: action %q, want %q", run.name, res.Action, run.wantAction)
		}
		if id == 0 {
			id = res.ID
		} else if res.ID != id {
			t.Errorf("%s: comment id %d, want the same %d", run.name, res.ID, id)
		}
		if n := len(fake.Calls(fakegithub.OpUpdateComment)); n != run.wantPatch {
			t.Errorf("%s: %d PATCH calls, want %d", run.name, n, run.wantPatch)
		}
		var ours []fakegithub.Comment
		for _, cm := range fake.Comments(7) {
			if cm.User == "github-actions[bot]" && strings.HasPrefix(cm.Body, comment.Marker) {
				ours = append(ours, cm)
			}
		}
		if len(ours) != 1 || ours[0].Body != run.body {
			t.Errorf("%s: %d comments of ours, want exactly 1 with the new body", run.name, len(ours))
		}
	}
	if n := len(fake.Calls(fakegithub.OpCreateComment)); n != 1 {
		t.Errorf("create calls = %d, want 1", n)
	}
	if n := len(fake.Comments(7)); n != 3 {
		t.Errorf("comments on the PR = %d, want 3 (others' untouched)", n)
	}
	last := fake.Comments(7)[2].Body
	if !strings.Contains(last, "All clear: no KMS keys pending deletion") {
		t.Errorf("final comment is not the all-clear: %q", last)
	}
}

func TestUpsertFindsOursBeyondFirstPageAndRemovesDuplicates(t *testing.T) {
	t.Parallel()
	fake := prFake(t, fakegithub.Options{})
	for range 150 {
		fake.AddComment(7, "octocat", "LGTM")
	}
	first := fake.AddComment(7, "github-actions[bot]", comment.Marker+"\nold report")
	dup := fake.AddComment(7, "github-actions[bot]", comment.Marker+"\nduplicate from an interrupted run")
	c, _ := newClient(t, fake, prEnv(7, repoName), nil)
	body := comment.Marker + "\nnew report"
	res, err := c.UpsertComment(context.Background(), 7, body)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != CommentUpdated || res.ID != first || res.Deleted != 1 {
		t.Errorf("result = %+v, want updated %d with 1 duplicate deleted", res, first)
	}
	for _, cm := range fake.Comments(7) {
		if cm.ID == dup {
			t.Error("duplicate not deleted")
		}
		if cm.ID == first && cm.Body != body {
			t.Errorf("kept comment body = %q", cm.Body)
		}
	}
	if n := len(fake.Calls(fakegithub.OpListComments)); n != 2 {
		t.Errorf("list calls = %d, want 2 pages", n)
	}
}

func TestUpsertPerCategory(t *testing.T) {
	t.Parallel()
	fake := prFake(t, fakegithub.Options{})
	c, _ := newClient(t, fake, prEnv(7, repoName), nil)
	for _, cat := range []string{"shard-a", "shard-b", "shard-a"} {
		body := comment.Render(finding.Result{Passed: true}, comment.Options{Category: cat})
		if _, err := c.UpsertComment(context.Background(), 7, body); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Comments(7)); n != 2 {
		t.Errorf("comments = %d, want one per category", n)
	}
}

func TestUpsertDegrades(t *testing.T) {
	t.Parallel()
	valid := comment.Marker + "\nreport"
	tests := []struct {
		name      string
		opts      fakegithub.Options
		env       env
		pr        int
		body      string
		fault     *fakegithub.Fault
		faultOp   string
		times     int
		mod       func(*Options)
		wantKind  Kind
		wantText  string
		wantCalls int // identity included: GET /user, refused to the Actions token, then the GraphQL viewer
	}{
		{"fork pull request skips", fakegithub.Options{}, prEnv(7, "someone/demo"), 7, valid, nil, "", 0, nil, KindSkipped, "read-only token", 0},
		{"dependabot skips", fakegithub.Options{}, func() env { e := prEnv(7, repoName); e.vars["GITHUB_ACTOR"] = "dependabot[bot]"; return e }(), 7, valid, nil, "", 0, nil, KindSkipped, "read-only", 0},
		{"PR number 0 never lists the repository", fakegithub.Options{}, pushEnv(), 0, valid, nil, "", 0, nil, KindSkipped, "no pull request number", 0},
		{"body without marker", fakegithub.Options{}, prEnv(7, repoName), 7, "report", nil, "", 0, nil, KindInvalid, "marker", 0},
		{"body over the limit", fakegithub.Options{}, prEnv(7, repoName), 7, valid + strings.Repeat("x", MaxCommentRunes), nil, "", 0, nil, KindTooLarge, "65536", 0},
		{"read-only token 403", fakegithub.Options{ReadOnly: true}, prEnv(7, repoName), 7, valid, nil, "", 0, nil, KindForbidden, "pull-requests: write", 4},
		{"404 pull request", fakegithub.Options{}, prEnv(9, repoName), 9, valid, nil, "", 0, nil, KindNotFound, "not found", 3},
		{"422 from GitHub", fakegithub.Options{}, prEnv(7, repoName), 7, valid, &fakegithub.Fault{Status: 422, Message: "Body is too long"}, fakegithub.OpCreateComment, 1, nil, KindInvalid, "Body is too long", 4},
		{"5xx persists", fakegithub.Options{}, prEnv(7, repoName), 7, valid, &fakegithub.Fault{Status: 500}, fakegithub.OpListComments, 10, nil, KindUnavailable, "500", 6},
		{"secondary rate limit over the cap", fakegithub.Options{}, prEnv(7, repoName), 7, valid, &fakegithub.Fault{Status: 403, SecondaryRateLimit: true, RetryAfter: "120"}, fakegithub.OpListComments, 1, func(o *Options) { o.MaxRetryWait = time.Minute }, KindRateLimited, "secondary rate limit", 3},
		{"PAT author configured", fakegithub.Options{Login: "release-bot"}, prEnv(7, repoName), 7, valid, nil, "", 0, func(o *Options) { o.CommentAuthor = "release-bot" }, "", "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := prFake(t, tc.opts)
			if tc.fault != nil {
				fake.Fail(tc.faultOp, tc.times, *tc.fault)
			}
			c, _ := newClient(t, fake, tc.env, tc.mod)
			_, err := c.UpsertComment(context.Background(), tc.pr, tc.body)
			if tc.wantKind == "" {
				if err != nil {
					t.Fatalf("unexpected warning %v", err)
				}
			} else if w := asWarning(t, err); w.Kind != tc.wantKind || !strings.Contains(w.Error(), tc.wantText) {
				t.Errorf("warning %q (%s), want %s containing %q", w, w.Kind, tc.wantKind, tc.wantText)
			}
			if n := len(fake.Calls()); n != tc.wantCalls {
				t.Errorf("calls = %d, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestCommentSecondaryRateLimitRetried(t *testing.T) {
	t.Parallel()
	fake := prFake(t, fakegithub.Options{})
	fake.Fail(fakegithub.OpCreateComment, 1, fakegithub.SecondaryRateLimit(3))
	c, sl := newClient(t, fake, prEnv(7, repoName), nil)
	res, err := c.UpsertComment(context.Background(), 7, comment.Marker+"\nreport")
	if err != nil || res.Action != CommentCreated {
		t.Fatalf("result %+v, %v", res, err)
	}
	if got := sl.all(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("waits = %v, want [3s]", got)
	}
	if n := len(fake.Comments(7)); n != 1 {
		t.Errorf("comments = %d, want 1", n)
	}
}
