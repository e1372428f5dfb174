package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Operation IDs of the issue endpoints.
const (
	OpListIssues  = "issues/list-for-repo"
	OpCreateIssue = "issues/create"
	OpGetIssue    = "issues/get"
	OpUpdateIssue = "issues/update"
)

// Issue is an issue held by the fake. Issues and pull requests share one
// sequence of numbers, as on GitHub.
type Issue struct {
	Number      int
	Title       string
	Body        string
	State       string // open, closed
	StateReason string // completed, reopened, not_planned, or ""
	Labels      []string
	User        string
	Created     time.Time
	Updated     time.Time
	Closed      time.Time
}

// AddIssue adds an issue as if written earlier (State defaults to open, User
// to the token's login) and returns its number.
func (s *Server) AddIssue(is Issue) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is.State == "" {
		is.State = "open"
	}
	if is.User == "" {
		is.User = s.opts.Login
	}
	now := s.opts.Now().UTC()
	if is.Created.IsZero() {
		is.Created = now
	}
	if is.Updated.IsZero() {
		is.Updated = is.Created
	}
	if is.State == "closed" && is.Closed.IsZero() {
		is.Closed = is.Updated
	}
	is.Number = s.nextNumberLocked()
	is.Labels = slices.Clone(is.Labels)
	s.issues[is.Number] = &is
	return is.Number
}

// Issues returns the issues, by number.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, is := range s.issues {
		c := *is
		c.Labels = slices.Clone(is.Labels)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

func (s *Server) nextNumberLocked() int {
	n := 0
	for k := range s.issues {
		n = max(n, k)
	}
	for k := range s.pulls {
		n = max(n, k)
	}
	return n + 1
}

// The handlers below run with s.mu held.

func (s *Server) listIssues(query url.Values) reply {
	state := query.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := query.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var list []*Issue
	for _, is := range s.issues {
		if state != "all" && is.State != state {
			continue
		}
		if !hasLabels(is.Labels, want) {
			continue
		}
		list = append(list, is)
	}
	byUpdated := query.Get("sort") == "updated"
	asc := query.Get("direction") == "asc"
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		less := a.Number < b.Number
		if byUpdated && !a.Updated.Equal(b.Updated) {
			less = a.Updated.Before(b.Updated)
		}
		if asc {
			return less
		}
		return !less
	})
	var items []any
	for _, is := range list {
		v, err := s.issueJSON(*is)
		if err != nil {
			s.errs = append(s.errs, err)
			return reply{status: http.StatusInternalServerError, anyStatus: true}
		}
		items = append(items, v)
	}
	return s.page("/repos/"+s.Repository()+"/issues", query, items)
}

func hasLabels(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, strings.TrimSpace(w)) }) {
			return false
		}
	}
	return true
}

// issueInput is the body of a create or update request. Pointers tell an
// absent field from an empty one.
type issueInput struct {
	Title       *string           `json:"title"`
	Body        *string           `json:"body"`
	State       *string           `json:"state"`
	StateReason *string           `json:"state_reason"`
	Labels      []json.RawMessage `json:"labels"`
}

func parseIssueInput(op string, body []byte) (issueInput, []string, *reply) {
	var in issueInput
	if err := json.Unmarshal(body, &in); err != nil {
		return in, nil, &reply{status: http.StatusUnprocessableEntity, body: basicError("Problems parsing JSON", docURL(op))}
	}
	if in.Body != nil && utf8.RuneCountInString(*in.Body) > MaxCommentRunes {
		return in, nil, &reply{status: http.StatusUnprocessableEntity, body: map[string]any{
			"message": "Validation Failed", "documentation_url": docURL(op),
			"errors": []any{map[string]any{
				"resource": "Issue", "code": "custom", "field": "body",
				"message": fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentRunes),
			}},
		}}
	}
	var labels []string
	for _, raw := range in.Labels {
		var name string
		if json.Unmarshal(raw, &name) != nil {
			var obj struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(raw, &obj)
			name = obj.Name
		}
		if name != "" {
			labels = append(labels, name)
		}
	}
	return in, labels, nil
}

func (s *Server) createIssue(op string, body []byte) reply {
	if s.opts.ReadOnly {
		return readOnly(op)
	}
	in, labels, bad := parseIssueInput(op, body)
	if bad != nil {
		return *bad
	}
	if s.opts.NoPushAccess {
		labels = nil
	}
	now := s.opts.Now().UTC()
	is := &Issue{Number: s.nextNumberLocked(), State: "open", Labels: labels, User: s.opts.Login, Created: now, Updated: now}
	if in.Title != nil {
		is.Title = *in.Title
	}
	if in.Body != nil {
		is.Body = *in.Body
	}
	s.issues[is.Number] = is
	return s.issueReply(http.StatusCreated, *is)
}

func (s *Server) getIssue(op string, params map[string]string) reply {
	n, _ := strconv.Atoi(params["issue_number"])
	is, ok := s.issues[n]
	if !ok {
		return notFound(op)
	}
	return s.issueReply(http.StatusOK, *is)
}

func (s *Server) updateIssue(op string, params map[string]string, body []byte) reply {
	if s.opts.ReadOnly {
		return readOnly(op)
	}
	n, _ := strconv.Atoi(params["issue_number"])
	is, ok := s.issues[n]
	if !ok {
		return notFound(op)
	}
	in, labels, bad := parseIssueInput(op, body)
	if bad != nil {
		return *bad
	}
	now := s.opts.Now().UTC()
	if in.Title != nil {
		is.Title = *in.Title
	}
	if in.Body != nil {
		is.Body = *in.Body
	}
	if in.Labels != nil && !s.opts.NoPushAccess {
		is.Labels = labels
	}
	if in.State != nil && *in.State != is.State {
		is.State = *in.State
		if is.State == "closed" {
			is.Closed, is.StateReason = now, "completed"
		} else {
			is.Closed, is.StateReason = time.Time{}, "reopened"
		}
	}
	if in.StateReason != nil {
		is.StateReason = *in.StateReason
	}
	is.Updated = now
	return s.issueReply(http.StatusOK, *is)
}

func (s *Server) issueReply(status int, is Issue) reply {
	v, err := s.issueJSON(is)
	if err != nil {
		s.errs = append(s.errs, err)
		return reply{status: http.StatusInternalServerError, anyStatus: true}
	}
	return reply{status: status, body: v}
}

// issueJSON renders an issue on the template of GitHub's documented example.
func (s *Server) issueJSON(is Issue) (any, error) {
	v, err := s.spec.example(OpCreateIssue, http.StatusCreated, "default")
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if inner, nested := m["value"].(map[string]any); ok && nested && len(m) == 1 {
		m = inner // octokit wraps some examples in one more "value"
	}
	if !ok || m["user"] == nil {
		return nil, fmt.Errorf("%s: unexpected example shape", OpCreateIssue)
	}
	api := s.URL + "/repos/" + s.Repository()
	m["id"] = 500000 + is.Number
	m["node_id"] = fmt.Sprintf("I_fake%d", is.Number)
	m["number"] = is.Number
	m["url"] = fmt.Sprintf("%s/issues/%d", api, is.Number)
	m["repository_url"] = api
	m["labels_url"] = fmt.Sprintf("%s/issues/%d/labels{/name}", api, is.Number)
	m["comments_url"] = fmt.Sprintf("%s/issues/%d/comments", api, is.Number)
	m["events_url"] = fmt.Sprintf("%s/issues/%d/events", api, is.Number)
	m["html_url"] = fmt.Sprintf("https://github.com/%s/issues/%d", s.Repository(), is.Number)
	m["title"], m["body"], m["state"] = is.Title, is.Body, is.State
	m["state_reason"] = nilIfEmpty(is.StateReason)
	m["locked"], m["active_lock_reason"] = false, nil
	m["assignee"], m["assignees"], m["milestone"], m["closed_by"] = nil, []any{}, nil, nil
	m["comments"] = len(s.commentsLocked(is.Number))
	m["created_at"] = is.Created.Format(time.RFC3339)
	m["updated_at"] = is.Updated.Format(time.RFC3339)
	m["closed_at"] = nil
	if !is.Closed.IsZero() {
		m["closed_at"] = is.Closed.Format(time.RFC3339)
	}
	m["author_association"] = "NONE"
	delete(m, "pull_request")
	labels := []any{}
	for _, l := range is.Labels {
		labels = append(labels, map[string]any{
			"id": int64(len(l)) * 104729, "node_id": "LA_fake" + url.PathEscape(l),
			"url": api + "/labels/" + url.PathEscape(l), "name": l,
			"description": nil, "color": "ededed", "default": false,
		})
	}
	m["labels"] = labels
	setUser(m["user"].(map[string]any), is.User)
	return m, nil
}
