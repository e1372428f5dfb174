package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"
)

// IssueWant is what a run wants of the audit issue.
type IssueWant int

// What a run can want of the audit issue.
const (
	// IssueKeep updates the body of an open issue, creates none and leaves a
	// closed one alone: the run cannot tell (an incomplete all-clear).
	IssueKeep IssueWant = iota
	// IssueOpen keeps one open issue with the body: created, reopened or
	// updated as needed (findings need attention).
	IssueOpen
	// IssueClose closes an open issue with the body as its final note, and
	// creates none (all clear and complete).
	IssueClose
)

// Audit issue actions.
const (
	IssueCreated   = "created"
	IssueUpdated   = "updated"
	IssueReopened  = "reopened"
	IssueClosed    = "closed"
	IssueUnchanged = "unchanged"
)

// AuditIssue describes the audit issue of one category.
type AuditIssue struct {
	// Marker is the hidden first line of the body by which the issue is
	// found ("<!-- ... -->"); one per category.
	Marker string
	// Label is set on the issue when it is created and filters the search.
	Label string
	// Title is used when the issue is created; an existing title is kept
	// (people may rename it).
	Title string
	Want  IssueWant
	// Body renders the body from the body of the existing issue ("" when
	// there is none). It must start with Marker. The previous body is
	// untrusted: anyone who can edit the issue wrote it.
	Body func(previous string) string
}

// IssueResult is what UpsertAuditIssue did.
type IssueResult struct {
	Action string // IssueCreated...; "" when there was nothing to do
	Number int
	URL    string // the issue's web address
	State  string // open or closed, after the call; "" when there is no issue
}

const opIssue = "update the audit issue"

// maxIssuePages bounds the search for the audit issue (100 issues a page).
const maxIssuePages = 10

var issueHints = map[int]string{
	http.StatusForbidden: "the token cannot write issues: grant `permissions: issues: write` to the scheduled workflow, or set `issue: off`",
	http.StatusNotFound:  "the repository was not found with this token",
	http.StatusGone:      "issues are disabled on this repository: enable them or set `issue: off`",
}

// UpsertAuditIssue keeps the audit issue of a category in step with a run:
// the issue carrying spec.Label whose body starts with spec.Marker (an open
// one first, else the newest closed one). It is created, reopened, updated in
// place or closed as spec.Want asks, and nothing is written when the body
// and state would not change. Errors are *Warning values; a token without
// `issues: write` gives a KindForbidden warning.
func (c *Client) UpsertAuditIssue(ctx context.Context, spec AuditIssue) (IssueResult, error) {
	var res IssueResult
	if !strings.HasPrefix(spec.Marker, markerPrefix) || !strings.HasSuffix(spec.Marker, "-->") || strings.Contains(spec.Marker, "\n") {
		return res, &Warning{Op: opIssue, Kind: KindInvalid, Detail: "the issue marker is not one hidden line " + markerPrefix + " ... -->"}
	}
	if spec.Label == "" || spec.Body == nil {
		return res, &Warning{Op: opIssue, Kind: KindInvalid, Detail: "the audit issue needs a label and a body"}
	}
	if w := c.ready(opIssue); w != nil {
		return res, w
	}
	found, err := c.findAuditIssue(ctx, spec)
	if err != nil {
		return res, err
	}
	if found == nil {
		if spec.Want != IssueOpen {
			return res, nil
		}
		return c.createAuditIssue(ctx, spec)
	}
	res = IssueResult{Action: IssueUnchanged, Number: found.GetNumber(), URL: found.GetHTMLURL(), State: found.GetState()}
	open := found.GetState() == "open"
	if !open && spec.Want != IssueOpen {
		return res, nil // closed and nothing needs attention: leave the record as it was
	}
	body, w := c.renderIssueBody(spec, found.GetBody())
	if w != nil {
		return res, w
	}
	edit := &gh.IssueRequest{}
	switch {
	case !open: // spec.Want == IssueOpen: a finding came back
		edit.State, edit.Body = gh.String("open"), gh.String(body)
		res.Action = IssueReopened
	case spec.Want == IssueClose:
		edit.State, edit.StateReason, edit.Body = gh.String("closed"), gh.String("completed"), gh.String(body)
		res.Action = IssueClosed
	case normalize(found.GetBody()) == normalize(body):
		return res, nil
	default:
		edit.Body = gh.String(body)
		res.Action = IssueUpdated
	}
	is, _, err := c.api.Issues.Edit(ctx, c.actx.Owner, c.actx.Repo, found.GetNumber(), edit)
	if err != nil {
		return IssueResult{Number: res.Number, URL: res.URL, State: found.GetState()}, c.classify(opIssue, err, issueHints)
	}
	res.URL, res.State = is.GetHTMLURL(), is.GetState()
	return res, nil
}

// findAuditIssue returns the issue of the category: the oldest open one,
// else the newest closed one; nil when there is none. Marker and label are
// enough to trust the match (GitHub drops labels set by people without push
// access), and its body is still read as untrusted by the caller.
func (c *Client) findAuditIssue(ctx context.Context, spec AuditIssue) (*gh.Issue, error) {
	opts := &gh.IssueListByRepoOptions{
		State: "all", Labels: []string{spec.Label}, Sort: "created", Direction: "asc",
		ListOptions: gh.ListOptions{PerPage: 100},
	}
	var best *gh.Issue
	for page := 0; ; page++ {
		list, resp, err := c.api.Issues.ListByRepo(ctx, c.actx.Owner, c.actx.Repo, opts)
		if err != nil {
			return nil, c.classify(opIssue, err, issueHints)
		}
		for _, is := range list {
			first, _, _ := strings.Cut(is.GetBody(), "\n")
			if is.IsPullRequest() || strings.TrimRight(first, "\r") != spec.Marker {
				continue
			}
			if is.GetState() == "open" {
				return is, nil
			}
			best = is // the newest closed one: it holds the last state
		}
		if resp.NextPage == 0 {
			return best, nil
		}
		if page+1 >= maxIssuePages {
			return nil, &Warning{Op: opIssue, Kind: KindSkipped, Detail: fmt.Sprintf("more than %d issues carry the label %q; not searched further", maxIssuePages*100, spec.Label)}
		}
		opts.Page = resp.NextPage
	}
}

func (c *Client) createAuditIssue(ctx context.Context, spec AuditIssue) (IssueResult, error) {
	body, w := c.renderIssueBody(spec, "")
	if w != nil {
		return IssueResult{}, w
	}
	is, _, err := c.api.Issues.Create(ctx, c.actx.Owner, c.actx.Repo, &gh.IssueRequest{
		Title: gh.String(spec.Title), Body: gh.String(body), Labels: &[]string{spec.Label},
	})
	if err != nil {
		return IssueResult{}, c.classify(opIssue, err, issueHints)
	}
	res := IssueResult{Action: IssueCreated, Number: is.GetNumber(), URL: is.GetHTMLURL(), State: is.GetState()}
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), spec.Label) {
			return res, nil
		}
	}
	// GitHub silently drops labels set without push access: the next run
	// would not find this issue and would open another.
	return res, &Warning{Op: opIssue, Kind: KindForbidden, Status: http.StatusCreated,
		Detail: fmt.Sprintf("issue #%d was created without the label %q (GitHub drops labels set by tokens without push access), so the next run will not find it: use a token that may label issues, or set `issue: off`", is.GetNumber(), spec.Label)}
}

// renderIssueBody renders the body and checks it before it is sent.
func (c *Client) renderIssueBody(spec AuditIssue, previous string) (string, *Warning) {
	body := spec.Body(previous)
	first, _, _ := strings.Cut(body, "\n")
	switch {
	case first != spec.Marker:
		return "", &Warning{Op: opIssue, Kind: KindInvalid, Detail: "the issue body does not start with its marker line"}
	case utf8.RuneCountInString(body) > MaxCommentRunes:
		return "", &Warning{Op: opIssue, Kind: KindTooLarge, Detail: fmt.Sprintf("the issue body is %d characters, over GitHub's %d", utf8.RuneCountInString(body), MaxCommentRunes)}
	}
	return body, nil
}
