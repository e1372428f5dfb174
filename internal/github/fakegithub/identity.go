package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Operation IDs of the token identity and repository contents endpoints.
const (
	OpGetAuthenticatedUser = "users/get-authenticated"
	OpGetContent           = "repos/get-content"
)

// ViewerQuery is the one GraphQL query the fake answers: the login of the
// token's account. GitHub answers it for every kind of token, installation
// tokens included, which GET /user refuses.
const ViewerQuery = "query { viewer { login } }"

// getAuthenticatedUser answers GET /user as GitHub does for the token's
// kind: installation tokens (the Actions GITHUB_TOKEN and GitHub App
// tokens, whose login ends in [bot]) are refused with 403 "Resource not
// accessible by integration"; a personal token gets its user.
func (s *Server) getAuthenticatedUser(op string) reply {
	if strings.HasSuffix(s.opts.Login, "[bot]") {
		return reply{status: http.StatusForbidden, body: basicError("Resource not accessible by integration", docURL(op))}
	}
	v, err := s.spec.example(op, http.StatusOK, "response-with-public-and-private-profile-information")
	if err != nil {
		s.errs = append(s.errs, err)
		return reply{status: http.StatusInternalServerError, body: basicError(err.Error(), ""), anyStatus: true}
	}
	m := v.(map[string]any)
	setUser(m, s.opts.Login)
	return reply{status: http.StatusOK, body: m}
}

// AddFile stores a file of the repository at ref (a commit SHA or branch),
// served by the contents API.
func (s *Server) AddFile(ref, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[string]map[string]string{}
	}
	if s.files[ref] == nil {
		s.files[ref] = map[string]string{}
	}
	s.files[ref][path] = content
}

// getContent answers GET /repos/{owner}/{repo}/contents/{path}?ref= for a
// file added with AddFile, in the object form (base64 content) of GitHub's
// example; anything else is 404.
func (s *Server) getContent(op string, params map[string]string, query url.Values) reply {
	path, err := url.PathUnescape(params["path"])
	if err != nil {
		return notFound(op)
	}
	content, ok := s.files[query.Get("ref")][path]
	if !ok {
		return notFound(op)
	}
	var v any
	v, err = s.spec.example(op, http.StatusOK, "response-if-content-is-a-file")
	if err != nil {
		s.errs = append(s.errs, err)
		return reply{status: http.StatusInternalServerError, body: basicError(err.Error(), ""), anyStatus: true}
	}
	m := v.(map[string]any)
	name := path[strings.LastIndex(path, "/")+1:]
	sha := fmt.Sprintf("%040x", len(content)*7919+len(path))
	m["name"], m["path"], m["sha"], m["size"] = name, path, sha, len(content)
	m["encoding"] = "base64"
	m["content"] = base64.StdEncoding.EncodeToString([]byte(content))
	api := s.URL + "/repos/" + s.Repository()
	m["url"] = fmt.Sprintf("%s/contents/%s?ref=%s", api, path, url.QueryEscape(query.Get("ref")))
	m["git_url"] = fmt.Sprintf("%s/git/blobs/%s", api, sha)
	m["html_url"] = fmt.Sprintf("https://github.com/%s/blob/%s/%s", s.Repository(), query.Get("ref"), path)
	m["download_url"] = fmt.Sprintf("https://raw.githubusercontent.com/%s/%s/%s", s.Repository(), query.Get("ref"), path)
	if links, ok := m["_links"].(map[string]any); ok {
		links["self"], links["git"], links["html"] = m["url"], m["git_url"], m["html_url"]
	}
	return reply{status: http.StatusOK, body: m}
}

// serveGraphQL answers POST /graphql, which GitHub's REST description does
// not cover: only ViewerQuery is known, and anything else is a test error.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	call := Call{Operation: "graphql", Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	var in struct {
		Query string `json:"query"`
	}
	status := http.StatusOK
	var out any
	switch {
	case r.Method != http.MethodPost:
		status, out = http.StatusNotFound, basicError("Not Found", "https://docs.github.com/graphql")
	case json.Unmarshal(body, &in) != nil || strings.Join(strings.Fields(in.Query), " ") != ViewerQuery:
		s.fail("POST /graphql: the fake only answers %q, got %q", ViewerQuery, body)
		status, out = http.StatusBadRequest, basicError("Problems parsing JSON", "https://docs.github.com/graphql")
	case r.Header.Get("Authorization") == "":
		status, out = http.StatusUnauthorized, basicError("This endpoint requires you to be authenticated.", "https://docs.github.com/graphql")
	default:
		out = map[string]any{"data": map[string]any{"viewer": map[string]any{"login": s.opts.Login}}}
	}
	call.Status = status
	s.record(call)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// contentsRawPath routes a contents request whose file path has slashes:
// GitHub takes the rest of the URL as {path}, the description's router one
// segment, so the slashes after /contents/ are escaped for routing only.
func contentsRawPath(u *url.URL) string {
	p := u.EscapedPath()
	parts := strings.SplitN(p, "/", 6) // "", repos, owner, repo, contents, rest
	if len(parts) == 6 && parts[1] == "repos" && parts[4] == "contents" {
		return strings.Join(parts[:5], "/") + "/" + strings.ReplaceAll(parts[5], "/", "%2F")
	}
	return u.RawPath
}
