package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestIssues(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	s.AddPullRequest(PullRequest{Number: 1, HeadSHA: sha40, BaseSHA: sha40})
	closed := s.AddIssue(Issue{Title: "old", Body: "b", Labels: []string{"audit"}, State: "closed"})
	if closed != 2 {
		t.Errorf("issue number %d, want 2 (pull request #1 holds 1)", closed)
	}
	status, _, body := do(t, s, "POST", "/repos/octo-org/demo/issues", map[string]any{"title": "new", "body": "hello", "labels": []string{"audit", "kms"}})
	var created struct {
		Number int    `json:"number"`
		State  string `json:"state"`
		Labels []struct {
			Name string `json:"name"`
		} `json:"labels"`
	}
	if err := json.Unmarshal(body, &created); err != nil || status != http.StatusCreated || created.Number != 3 || created.State != "open" || len(created.Labels) != 2 {
		t.Fatalf("create: %d %s", status, body)
	}
	list := func(query string) []int {
		status, _, body := do(t, s, "GET", "/repos/octo-org/demo/issues"+query, nil)
		var items []struct {
			Number int `json:"number"`
		}
		if err := json.Unmarshal(body, &items); err != nil || status != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, status, body)
		}
		var out []int
		for _, it := range items {
			out = append(out, it.Number)
		}
		return out
	}
	cases := []struct {
		query string
		want  string
	}{
		{"", "[3]"},                          // open by default
		{"?state=all&labels=audit", "[3 2]"}, // newest first by default
		{"?state=all&labels=audit&direction=asc", "[2 3]"},
		{"?state=closed", "[2]"},
		{"?state=all&labels=audit,kms", "[3]"}, // every label must match
		{"?state=all&labels=nope", "[]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(list(c.query)); got != c.want {
			t.Errorf("list %q = %s, want %s", c.query, got, c.want)
		}
	}
	status, _, body = do(t, s, "PATCH", "/repos/octo-org/demo/issues/3", map[string]any{"state": "closed", "state_reason": "completed", "body": "done"})
	if status != http.StatusOK || !strings.Contains(string(body), `"state_reason":"completed"`) || !strings.Contains(string(body), `"closed_at":"`) {
		t.Errorf("close: %d %s", status, body)
	}
	if is := s.Issues(); is[1].Body != "done" || is[1].State != "closed" {
		t.Errorf("issues = %+v", is)
	}
	if status, _, _ := do(t, s, "PATCH", "/repos/octo-org/demo/issues/99", map[string]any{"body": "x"}); status != http.StatusNotFound {
		t.Errorf("update of a missing issue: %d", status)
	}
}

func TestIssuesReadOnly(t *testing.T) {
	t.Parallel()
	s := New(t, Options{ReadOnly: true})
	n := s.AddIssue(Issue{Title: "t", Body: "b"})
	for _, req := range []struct{ method, path string }{{"POST", "/repos/octo-org/demo/issues"}, {"PATCH", "/repos/octo-org/demo/issues/" + itoa(n)}} {
		if status, _, _ := do(t, s, req.method, req.path, map[string]any{"title": "x", "body": "y"}); status != http.StatusForbidden {
			t.Errorf("%s %s with a read-only token: %d, want 403", req.method, req.path, status)
		}
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
