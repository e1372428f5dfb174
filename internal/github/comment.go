package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"
)

// MaxCommentRunes is GitHub's limit on a comment body.
const MaxCommentRunes = 65536

// markerPrefix starts the hidden first line that identifies our comment.
const markerPrefix = "<!-- kms-deletion-gate"

// maxCommentPages bounds the listing of a pull request's comments (100 a page).
const maxCommentPages = 50

// Comment actions.
const (
	CommentCreated   = "created"
	CommentUpdated   = "updated"
	CommentUnchanged = "unchanged"
)

// CommentResult is what UpsertComment did.
type CommentResult struct {
	Action  string // CommentCreated, CommentUpdated, CommentUnchanged; "" when nothing was done
	ID      int64
	URL     string // the comment's web address
	Deleted int    // duplicates of our comment removed
}

const opComment = "comment on the pull request"

var commentHints = map[int]string{
	http.StatusForbidden: "the token cannot write to the pull request: grant `permissions: pull-requests: write` (pull requests from forks only get a read-only token)",
	http.StatusNotFound:  "the pull request was not found with this token",
	http.StatusGone:      "issues are disabled on this repository",
}

// UpsertComment keeps exactly one comment of ours on pull request prNumber:
// the comment whose first line is body's first line (a hidden marker
// "<!-- kms-deletion-gate ... -->") and whose author is the token's own
// account (Identity), so a personal or GitHub App token finds its comment
// as the Actions token does. It is
// created when missing, edited in place when different, left alone when
// identical, and duplicates of it (from an earlier interrupted run) are
// deleted. Errors are *Warning values.
func (c *Client) UpsertComment(ctx context.Context, prNumber int, body string) (CommentResult, error) {
	var res CommentResult
	marker, _, _ := strings.Cut(body, "\n")
	switch {
	case prNumber <= 0:
		// go-github lists the whole repository's comments for number 0.
		return res, &Warning{Op: opComment, Kind: KindSkipped, Detail: fmt.Sprintf("no pull request number (event %q is not a pull request)", c.actx.EventName)}
	case !strings.HasPrefix(marker, markerPrefix) || !strings.HasSuffix(marker, "-->"):
		return res, &Warning{Op: opComment, Kind: KindInvalid, Detail: "the comment body does not start with the hidden marker line " + markerPrefix + " -->"}
	case utf8.RuneCountInString(body) > MaxCommentRunes:
		return res, &Warning{Op: opComment, Kind: KindTooLarge, Detail: fmt.Sprintf("the comment is %d characters, over GitHub's %d", utf8.RuneCountInString(body), MaxCommentRunes)}
	}
	if w := c.ready(opComment); w != nil {
		return res, w
	}
	if c.actx.EventName == "pull_request" && (c.actx.Fork || c.actx.Actor == "dependabot[bot]") {
		return res, &Warning{Op: opComment, Kind: KindSkipped, Detail: "pull requests from forks and Dependabot run with a read-only token; the job summary and SARIF file hold the report"}
	}

	// Our comment is the one written by the token in use, whatever its kind.
	author, identityWarn := c.Identity(ctx)
	owner, repo := c.actx.Owner, c.actx.Repo
	var ours []*gh.IssueComment
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for page := 0; ; page++ {
		list, resp, err := c.api.Issues.ListComments(ctx, owner, repo, prNumber, opts)
		if err != nil {
			return res, c.classify(opComment, err, commentHints)
		}
		for _, cm := range list {
			first, _, _ := strings.Cut(cm.GetBody(), "\n")
			if strings.TrimRight(first, "\r") == marker && strings.EqualFold(cm.GetUser().GetLogin(), author) {
				ours = append(ours, cm)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		if page+1 >= maxCommentPages {
			return res, &Warning{Op: opComment, Kind: KindSkipped, Detail: fmt.Sprintf("pull request #%d has more than %d comments; not searched further", prNumber, maxCommentPages*100)}
		}
		opts.Page = resp.NextPage
	}

	if len(ours) == 0 {
		cm, _, err := c.api.Issues.CreateComment(ctx, owner, repo, prNumber, &gh.IssueComment{Body: gh.String(body)})
		if err != nil {
			return res, c.classify(opComment, err, commentHints)
		}
		return CommentResult{Action: CommentCreated, ID: cm.GetID(), URL: cm.GetHTMLURL()}, identityWarn
	}

	keep := ours[0] // oldest: GitHub lists comments in creation order
	res = CommentResult{Action: CommentUnchanged, ID: keep.GetID(), URL: keep.GetHTMLURL()}
	var warn error
	if identityWarn != nil {
		warn = identityWarn
	}
	for _, dup := range ours[1:] {
		if _, err := c.api.Issues.DeleteComment(ctx, owner, repo, dup.GetID()); err != nil {
			warn = c.classify("delete a duplicate pull request comment", err, commentHints)
			continue
		}
		res.Deleted++
	}
	if normalize(keep.GetBody()) == normalize(body) {
		return res, warn
	}
	cm, _, err := c.api.Issues.EditComment(ctx, owner, repo, keep.GetID(), &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return res, c.classify(opComment, err, commentHints)
	}
	res.Action, res.URL = CommentUpdated, cm.GetHTMLURL()
	return res, warn
}

// normalize ignores differences GitHub may introduce in a stored body.
func normalize(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}
