package github

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
)

const (
	auditMarker = "<!-- kms-deletion-gate audit category=prod -->"
	auditLabel  = "kms-deletion-gate"
)

func scheduleEnv() env {
	return env{vars: map[string]string{"GITHUB_EVENT_NAME": "schedule", "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": sha}, event: `{}`}
}

// auditSpec returns a spec whose body is marker + text and that records the
// previous body it was given.
func auditSpec(want IssueWant, text string, seen *[]string) AuditIssue {
	return AuditIssue{
		Marker: auditMarker, Label: auditLabel, Title: "KMS keys pending deletion (prod)", Want: want,
		Body: func(prev string) string {
			if seen != nil {
				*seen = append(*seen, prev)
			}
			return auditMarker + "\n" + text
		},
	}
}

func TestAuditIssueLifecycle(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	// Not ours: no label, another marker, a closed older audit issue of another category.
	fake.AddIssue(fakegithub.Issue{Title: "copy", Body: auditMarker + "\nno label"})
	fake.AddIssue(fakegithub.Issue{Title: "other", Body: "<!-- kms-deletion-gate audit category=dev -->\nx", Labels: []string{auditLabel}})
	c, _ := newClient(t, fake, scheduleEnv(), nil)
	ctx := context.Background()
	writes := func() int { return len(fake.Calls(fakegithub.OpCreateIssue, fakegithub.OpUpdateIssue)) }

	var seen []string
	steps := []struct {
		name       string
		want       IssueWant
		text       string
		wantAction string
		wantState  string
		wantWrites int // cumulative create + update calls
	}{
		{"all clear before any issue: nothing", IssueClose, "all clear", "", "", 0},
		{"incomplete before any issue: nothing", IssueKeep, "incomplete", "", "", 0},
		{"findings open the issue", IssueOpen, "2 keys", IssueCreated, "open", 1},
		{"identical run writes nothing", IssueOpen, "2 keys", IssueUnchanged, "open", 1},
		{"escalation edits the body", IssueOpen, "2 keys, 1 critical", IssueUpdated, "open", 2},
		{"incomplete run updates but keeps it open", IssueKeep, "incomplete", IssueUpdated, "open", 3},
		{"all clear and complete closes it", IssueClose, "all clear: closed", IssueClosed, "closed", 4},
		{"all clear again: nothing", IssueClose, "all clear: closed", IssueUnchanged, "closed", 4},
		{"incomplete while closed: nothing", IssueKeep, "incomplete", IssueUnchanged, "closed", 4},
		{"a finding comes back: reopened", IssueOpen, "1 key", IssueReopened, "open", 5},
	}
	number := 0
	for _, st := range steps {
		res, err := c.UpsertAuditIssue(ctx, auditSpec(st.want, st.text, &seen))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Action != st.wantAction || res.State != st.wantState {
			t.Errorf("%s: action %q state %q, want %q %q", st.name, res.Action, res.State, st.wantAction, st.wantState)
		}
		if got := writes(); got != st.wantWrites {
			t.Errorf("%s: %d writes, want %d", st.name, got, st.wantWrites)
		}
		if res.Number != 0 {
			if number == 0 {
				number = res.Number
			} else if res.Number != number {
				t.Errorf("%s: issue #%d, want the same #%d", st.name, res.Number, number)
			}
		}
	}
	var ours []fakegithub.Issue
	for _, is := range fake.Issues() {
		if strings.HasPrefix(is.Body, auditMarker+"\n") && len(is.Labels) == 1 && is.Labels[0] == auditLabel {
			ours = append(ours, is)
		}
	}
	if len(ours) != 1 || ours[0].Body != auditMarker+"\n1 key" || ours[0].State != "open" || ours[0].StateReason != "reopened" {
		t.Fatalf("audit issues = %+v, want one open with the last body", ours)
	}
	// The renderer saw the previous body on every run that found the issue.
	if seen[len(seen)-1] != auditMarker+"\nall clear: closed" {
		t.Errorf("last previous body = %q", seen[len(seen)-1])
	}
	// Closing said why.
	var closed bool
	for _, call := range fake.Calls(fakegithub.OpUpdateIssue) {
		if strings.Contains(string(call.Body), `"state_reason":"completed"`) && strings.Contains(string(call.Body), `"state":"closed"`) {
			closed = true
		}
	}
	if !closed {
		t.Error("no update closed the issue as completed")
	}
}

func TestAuditIssuePrefersOpenThenNewestClosed(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	old := fake.AddIssue(fakegithub.Issue{Body: auditMarker + "\nold", Labels: []string{auditLabel}, State: "closed"})
	newer := fake.AddIssue(fakegithub.Issue{Body: auditMarker + "\nnewer", Labels: []string{auditLabel}, State: "closed"})
	c, _ := newClient(t, fake, scheduleEnv(), nil)
	var seen []string
	res, err := c.UpsertAuditIssue(context.Background(), auditSpec(IssueOpen, "back", &seen))
	if err != nil || res.Number != newer || res.Action != IssueReopened {
		t.Fatalf("res = %+v, %v; want #%d reopened (not #%d)", res, err, newer, old)
	}
	if seen[0] != auditMarker+"\nnewer" {
		t.Errorf("previous body = %q", seen[0])
	}
	open := fake.AddIssue(fakegithub.Issue{Body: auditMarker + "\nopen one", Labels: []string{auditLabel}})
	_ = open
	res, err = c.UpsertAuditIssue(context.Background(), auditSpec(IssueOpen, "back", nil))
	if err != nil || res.Number != newer {
		t.Fatalf("res = %+v, %v; want the oldest open #%d", res, err, newer)
	}
}

func TestAuditIssueWithoutScopeWarns(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{ReadOnly: true})
	c, _ := newClient(t, fake, scheduleEnv(), func(o *Options) { o.Token = token })
	_, err := c.UpsertAuditIssue(context.Background(), auditSpec(IssueOpen, "2 keys", nil))
	var w *Warning
	if !errors.As(err, &w) || w.Kind != KindForbidden || w.Status != http.StatusForbidden {
		t.Fatalf("err = %v, want a forbidden warning", err)
	}
	if !strings.Contains(w.Detail, "issues: write") || strings.Contains(w.Error(), token) {
		t.Errorf("warning %q should name the permission and never the token", w.Error())
	}
	if len(fake.Issues()) != 0 {
		t.Error("an issue was created by a read-only token")
	}
}

func TestAuditIssueRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	c, _ := newClient(t, fake, scheduleEnv(), nil)
	tests := []struct {
		name string
		spec AuditIssue
		kind Kind
	}{
		{"marker not hidden", AuditIssue{Marker: "# audit", Label: auditLabel, Body: func(string) string { return "# audit" }}, KindInvalid},
		{"body without marker", AuditIssue{Marker: auditMarker, Label: auditLabel, Want: IssueOpen, Body: func(string) string { return "hello" }}, KindInvalid},
		{"body too long", AuditIssue{Marker: auditMarker, Label: auditLabel, Want: IssueOpen, Body: func(string) string {
			return auditMarker + "\n" + strings.Repeat("é", MaxCommentRunes)
		}}, KindTooLarge},
	}
	for _, tc := range tests {
		_, err := c.UpsertAuditIssue(context.Background(), tc.spec)
		var w *Warning
		if !errors.As(err, &w) || w.Kind != tc.kind {
			t.Errorf("%s: err = %v, want kind %s", tc.name, err, tc.kind)
		}
	}
	if n := len(fake.Calls(fakegithub.OpCreateIssue)); n != 0 {
		t.Errorf("%d issues created from bad specs", n)
	}
}

func TestAuditIssueRetriesServerErrors(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	fake.Fail(fakegithub.OpListIssues, 1, fakegithub.Fault{Status: http.StatusBadGateway})
	fake.Fail(fakegithub.OpCreateIssue, 1, fakegithub.Fault{Status: http.StatusServiceUnavailable})
	c, sl := newClient(t, fake, scheduleEnv(), nil)
	res, err := c.UpsertAuditIssue(context.Background(), auditSpec(IssueOpen, "2 keys", nil))
	if err != nil || res.Action != IssueCreated {
		t.Fatalf("res = %+v, %v", res, err)
	}
	if len(sl.d) != 2 || len(fake.Issues()) != 1 {
		t.Errorf("waits %v, issues %d; want 2 retries and one issue", sl.d, len(fake.Issues()))
	}
}

func TestAuditIssueLabelDroppedWarns(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{NoPushAccess: true})
	c, _ := newClient(t, fake, scheduleEnv(), nil)
	res, err := c.UpsertAuditIssue(context.Background(), auditSpec(IssueOpen, "2 keys", nil))
	var w *Warning
	if !errors.As(err, &w) || w.Kind != KindForbidden || !strings.Contains(w.Detail, "without the label") {
		t.Fatalf("err = %v, want a warning that the label was dropped", err)
	}
	if res.Action != IssueCreated || res.Number == 0 {
		t.Errorf("res = %+v, want the created issue", res)
	}
}
