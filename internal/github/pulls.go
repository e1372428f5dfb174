package github

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	gh "github.com/google/go-github/v60/github"
)

// loginPattern is the shape of a GitHub login, bots' [bot] suffix included.
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$`)

// maxFilePages bounds the listing of a pull request's files: GitHub lists
// at most 3,000 files of a pull request, 100 a page.
const maxFilePages = 30

const (
	opChangedFiles = "list the pull request's changed files"
	opBaseFile     = "read a file of the base branch"
)

var filesHints = map[int]string{
	http.StatusForbidden: "the token cannot read the pull request: grant `permissions: pull-requests: read`",
	http.StatusNotFound:  "the pull request was not found with this token",
}

// ChangedFiles returns the paths a pull request changes, renamed files'
// previous paths included. GitHub lists at most 3,000; truncated reports a
// longer list.
func (c *Client) ChangedFiles(ctx context.Context, prNumber int) (files []string, truncated bool, err error) {
	if prNumber <= 0 {
		return nil, false, &Warning{Op: opChangedFiles, Kind: KindSkipped, Detail: fmt.Sprintf("no pull request number (event %q is not a pull request)", c.actx.EventName)}
	}
	if w := c.ready(opChangedFiles); w != nil {
		return nil, false, w
	}
	opts := &gh.ListOptions{PerPage: 100}
	for page := 0; ; page++ {
		list, resp, err := c.api.PullRequests.ListFiles(ctx, c.actx.Owner, c.actx.Repo, prNumber, opts)
		if err != nil {
			return nil, false, c.classify(opChangedFiles, err, filesHints)
		}
		for _, f := range list {
			files = append(files, f.GetFilename())
			if p := f.GetPreviousFilename(); p != "" {
				files = append(files, p)
			}
		}
		if resp.NextPage == 0 {
			return files, false, nil
		}
		if page+1 >= maxFilePages {
			return files, true, nil
		}
		opts.Page = resp.NextPage
	}
}

// FileAt returns the content of a repository file at ref (a commit SHA),
// read through the contents API. found is false, with no error, when the
// file does not exist there.
func (c *Client) FileAt(ctx context.Context, path, ref string) (content []byte, found bool, err error) {
	if w := c.ready(opBaseFile); w != nil {
		return nil, false, w
	}
	if !commitSHAPattern.MatchString(ref) {
		return nil, false, &Warning{Op: opBaseFile, Kind: KindSkipped, Detail: fmt.Sprintf("the base commit %q is not a commit SHA", ref)}
	}
	fc, _, resp, err := c.api.Repositories.GetContents(ctx, c.actx.Owner, c.actx.Repo, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.classify(opBaseFile, err, map[int]string{http.StatusForbidden: "the token cannot read the repository: grant `permissions: contents: read`"})
	}
	if fc == nil {
		return nil, false, &Warning{Op: opBaseFile, Kind: KindInvalid, Detail: path + " is a directory at the base commit"}
	}
	text, err := fc.GetContent()
	if err != nil {
		return nil, false, &Warning{Op: opBaseFile, Kind: KindInvalid, Detail: fmt.Sprintf("%s at the base commit: %v", path, err), Err: err}
	}
	return []byte(text), true, nil
}
