package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

const opIdentity = "identify the token's account"

// viewerQuery asks GraphQL for the token's login. Unlike GET /user it
// answers installation tokens (the Actions GITHUB_TOKEN, GitHub App tokens)
// with the app's bot login, APPNAME[bot].
const viewerQuery = "query { viewer { login } }"

// Identity returns the login of the account the token acts as, the author
// of the comments it writes: Options.CommentAuthor when set; else GET /user
// (a personal access token's user); else, when GitHub refuses that to an
// installation token, the GraphQL viewer (github-actions[bot] for the
// Actions token, APPNAME[bot] for an App's). When neither answers, it falls
// back to github-actions[bot] and returns a warning with the fallback. The
// answer is kept for the client's life.
func (c *Client) Identity(ctx context.Context) (string, error) {
	c.identityMu.Lock()
	defer c.identityMu.Unlock()
	if c.identity != "" {
		return c.identity, nil
	}
	if c.opts.CommentAuthor != "" {
		c.identity = c.opts.CommentAuthor
		return c.identity, nil
	}
	if w := c.ready(opIdentity); w != nil {
		return DefaultCommentAuthor, w
	}
	user, _, err := c.api.Users.Get(ctx, "")
	if err == nil && user.GetLogin() != "" {
		c.identity = user.GetLogin()
		return c.identity, nil
	}
	var er *gh.ErrorResponse
	if err != nil && !(errors.As(err, &er) && er.Response != nil &&
		(er.Response.StatusCode == http.StatusForbidden || er.Response.StatusCode == http.StatusUnauthorized)) {
		return DefaultCommentAuthor, c.classify(opIdentity, err, nil)
	}
	login, err := c.viewer(ctx)
	if err != nil {
		w := c.classify(opIdentity, err, nil)
		w.Detail += "; taking " + DefaultCommentAuthor + " as the comment author"
		return DefaultCommentAuthor, w
	}
	c.identity = login
	return login, nil
}

// viewer asks the GraphQL endpoint next to the REST API for the login.
func (c *Client) viewer(ctx context.Context) (string, error) {
	base := strings.TrimRight(c.api.BaseURL.String(), "/")
	endpoint := base + "/graphql"
	if b, ok := strings.CutSuffix(base, "/api/v3"); ok {
		endpoint = b + "/api/graphql" // GitHub Enterprise Server
	}
	req, err := c.api.NewRequest(http.MethodPost, endpoint, map[string]string{"query": viewerQuery})
	if err != nil {
		return "", err
	}
	var out struct {
		Data struct {
			Viewer struct {
				Login string `json:"login"`
			} `json:"viewer"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if _, err := c.api.Do(ctx, req, &out); err != nil {
		return "", err
	}
	switch {
	case len(out.Errors) > 0:
		return "", fmt.Errorf("GraphQL viewer query: %s", out.Errors[0].Message)
	case !loginPattern.MatchString(out.Data.Viewer.Login):
		return "", fmt.Errorf("GraphQL viewer query answered no login")
	}
	return out.Data.Viewer.Login, nil
}
