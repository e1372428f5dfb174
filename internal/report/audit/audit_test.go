package audit

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/gfm"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/golden"
)

const runURL = "https://github.com/octo-org/demo/actions/runs/42"

// nightly returns the fixture as a later nightly run sees it: same keys,
// same scan time, so only what a test changes differs.
func nightly() finding.Result { return testfixture.Result() }

func find(res *finding.Result, id string) *finding.Finding {
	for i := range res.Findings {
		if res.Findings[i].KeyID == id {
			return &res.Findings[i]
		}
	}
	panic("no key " + id)
}

func TestFirstRunThenIdenticalRun(t *testing.T) {
	t.Parallel()
	first := Render(nightly(), "", Options{Category: "prod", RunURL: runURL})
	if !strings.HasPrefix(first.Text, Marker("prod")+"\n") {
		t.Fatalf("first line %q, want the audit marker", strings.SplitN(first.Text, "\n", 2)[0])
	}
	if !first.Attention || first.Complete {
		t.Errorf("attention %v complete %v, want true false (the fixture has unapproved keys and a scan error)", first.Attention, first.Complete)
	}
	if strings.Contains(first.Text, "Changes since the last run") {
		t.Error("the first run lists changes it cannot know")
	}
	st, err := Decode(first.Text)
	if err != nil {
		t.Fatalf("state of the first body: %v", err)
	}
	if len(st.Keys) != len(nightly().Findings) || st.Keys["111122223333/us-east-1/1234abcd-12ab-34cd-56ef-1234567890ab"].Severity != "critical" {
		t.Errorf("state = %+v", st)
	}
	second := Render(nightly(), first.Text, Options{Category: "prod", RunURL: runURL})
	if second.Text != first.Text || second.PreviousState != "" || !second.Changes.Known || !second.Changes.Empty() {
		t.Errorf("an identical run changed the body (state %q, changes %+v)", second.PreviousState, second.Changes)
	}
	golden.Check(t, "first.md", []byte(first.Text))
}

func TestChangesSinceLastRun(t *testing.T) {
	t.Parallel()
	res := nightly()
	// Escalated: high -> critical.
	find(&res, "mrk-5e6f0a1b2c3d4e5f60718293a4b5c6d7").Severity = finding.SeverityCritical
	// Escalated: the allowlist entry expired.
	find(&res, "9a8b7c6d-0000-4000-8000-000000000001").Allowlisted = false
	// Cancelled by the remediation of this run (the fixture's remediation).
	// Gone with its date passed: deleted. Gone before its date: cancelled.
	deleted := *find(&res, "mrk-5e6f0a1b2c3d4e5f60718293a4b5c6d7")
	deleted.KeyID, deleted.DeletionDate = "0000aaaa-0000-4000-8000-00000000dead", res.ScanTime.Add(-time.Hour)
	gone := deleted
	gone.KeyID, gone.DeletionDate = "0000bbbb-0000-4000-8000-00000000bbbb", res.ScanTime.Add(48*time.Hour)
	// Gone from a Region that could not be scanned this run: not judged.
	unknown := deleted
	unknown.Account, unknown.Region, unknown.KeyID = "444455556666", "eu-west-1", "0000cccc-0000-4000-8000-00000000cccc"
	withGone := nightly()
	find(&withGone, "1234abcd-12ab-34cd-56ef-1234567890ab").Remediation = nil // still pending last night
	withGone.Findings = append(withGone.Findings, deleted, gone, unknown)
	prev := Render(withGone, "", Options{}).Text
	// New.
	fresh := *find(&res, "mrk-5e6f0a1b2c3d4e5f60718293a4b5c6d7")
	fresh.KeyID = "0000dddd-0000-4000-8000-00000000dddd"
	res.Findings = append(res.Findings, fresh)

	got := Render(res, prev, Options{RunURL: runURL})
	ch := got.Changes
	ids := func(cs []Change) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.KeyID)
		}
		return strings.Join(s, ",")
	}
	checks := []struct{ kind, got, want string }{
		{"new", ids(ch.New), "0000dddd-0000-4000-8000-00000000dddd"},
		{"escalated", ids(ch.Escalated), "9a8b7c6d-0000-4000-8000-000000000001,mrk-5e6f0a1b2c3d4e5f60718293a4b5c6d7"},
		{"cancelled", ids(ch.Cancelled), "1234abcd-12ab-34cd-56ef-1234567890ab,0000bbbb-0000-4000-8000-00000000bbbb"},
		{"deleted", ids(ch.Deleted), "0000aaaa-0000-4000-8000-00000000dead"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.kind, c.got, c.want)
		}
	}
	for _, want := range []string{"**Changes since the last run**", "high → critical", "accepted → medium", "🗑️ Deleted: `0000aaaa"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	// The key of the unscanned Region is carried to the next run.
	st, err := Decode(got.Text)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Keys["444455556666/eu-west-1/0000cccc-0000-4000-8000-00000000cccc"]; !ok {
		t.Error("the key of the unscanned Region was dropped from the state")
	}
	if _, ok := st.Keys["111122223333/us-east-1/0000aaaa-0000-4000-8000-00000000dead"]; ok {
		t.Error("the deleted key is still in the state")
	}
	golden.Check(t, "changes.md", []byte(got.Text))
}

func TestAllClearClosesWithNote(t *testing.T) {
	t.Parallel()
	prev := Render(nightly(), "", Options{}).Text
	res := nightly()
	res.Findings, res.Errors, res.Passed = nil, nil, true
	res.Scanned = append(res.Scanned, finding.Target{Account: "444455556666", Region: "eu-west-1"})
	got := Render(res, prev, Options{})
	if got.Attention || !got.Complete {
		t.Fatalf("attention %v complete %v, want an all clear", got.Attention, got.Complete)
	}
	// Three pending keys went away before their dates; the fourth was
	// cancelled (and so reported) by the previous run.
	if !strings.Contains(got.Text, "Closed by this run") || len(got.Changes.Cancelled) != 3 || len(got.Changes.Deleted) != 0 {
		t.Errorf("all-clear body lacks the note or the %d+%d gone keys:\n%s", len(got.Changes.Cancelled), len(got.Changes.Deleted), got.Text)
	}
	// Accepted keys alone need no attention.
	acc := nightly()
	acc.Errors = nil
	acc.Findings = []finding.Finding{*find(&acc, "9a8b7c6d-0000-4000-8000-000000000001")}
	if b := Render(acc, "", Options{}); b.Attention {
		t.Error("an allowlisted key alone keeps the issue open")
	}
}

func stateLine(t *testing.T, json string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(json))
	_ = zw.Close()
	return statePrefix + base64.StdEncoding.EncodeToString(buf.Bytes()) + stateSuffix
}

func TestUntrustedStateRejected(t *testing.T) {
	t.Parallel()
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write([]byte(`{"keys":{"` + strings.Repeat("a", 4<<20) + `":{}}}`))
	_ = zw.Close()
	tests := []struct{ name, body, want string }{
		{"no line", Marker("") + "\nhello", "no state line"},
		{"not base64", statePrefix + "!!!" + stateSuffix, "not base64"},
		{"unterminated", statePrefix + "QUJD", "unterminated"},
		{"too long", statePrefix + strings.Repeat("A", maxStateBytes) + stateSuffix, "too long"},
		{"not gzip", statePrefix + base64.StdEncoding.EncodeToString([]byte("{}")) + stateSuffix, "not gzip"},
		{"bomb", statePrefix + base64.StdEncoding.EncodeToString(bomb.Bytes()) + stateSuffix, "within bounds"},
		{"unknown field", stateLine(t, `{"keys":{},"admin":true}`), "expected JSON"},
		{"trailing data", stateLine(t, `{"keys":{}} {"keys":{}}`), "expected JSON"},
		{"no keys", stateLine(t, `{}`), "no keys"},
		{"bad key", stateLine(t, `{"keys":{"1/us-east-1/<img src=x>":{"s":"high","st":"PendingDeletion"}}}`), "malformed key"},
		{"bad severity", stateLine(t, `{"keys":{"1/us-east-1/k":{"s":"High ","st":"PendingDeletion"}}}`), "unknown severity"},
		{"bad date", stateLine(t, `{"keys":{"1/us-east-1/k":{"s":"high","st":"PendingDeletion","d":"soon"}}}`), "deletion date"},
	}
	for _, tc := range tests {
		_, err := Decode(tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	// A body with a bad state still renders, says so, and lists no changes.
	got := Render(nightly(), Marker("")+"\n"+stateLine(t, `{"keys":{},"admin":true}`), Options{})
	if got.PreviousState == "" || got.Changes.Known || !strings.Contains(got.Text, "could not be read (state is not the expected JSON)") {
		t.Errorf("bad state: %q, changes %+v", got.PreviousState, got.Changes)
	}
}

func TestManyKeysFitWithPartialState(t *testing.T) {
	t.Parallel()
	res := nightly()
	res.Errors = nil
	base := res.Findings[1]
	for i := range 3000 {
		f := base
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8)}) // incompressible ids
		f.KeyID = fmt.Sprintf("%x-%x-%x-%x-%x", h[:4], h[4:6], h[6:8], h[8:10], h[10:16])
		res.Findings = append(res.Findings, f)
	}
	got := Render(res, "", Options{})
	if len(got.Text) > 65536 {
		t.Fatalf("body is %d bytes, over GitHub's limit", len(got.Text))
	}
	st, err := Decode(got.Text)
	if err != nil || !st.Partial || len(st.Keys) == 0 || len(st.Keys) >= len(res.Findings) {
		t.Fatalf("state: partial %v, %d keys of %d, err %v", st.Partial, len(st.Keys), len(res.Findings), err)
	}
	// The critical key is kept before the high ones.
	if _, ok := st.Keys["111122223333/us-east-1/1234abcd-12ab-34cd-56ef-1234567890ab"]; !ok {
		t.Error("the most urgent key was left out of a partial state")
	}
	// From a partial state, keys missing from it are not called new.
	again := Render(res, got.Text, Options{})
	if len(again.Changes.New) != 0 {
		t.Errorf("%d keys called new after a partial state", len(again.Changes.New))
	}
}

func TestHostileIdentifiersEscaped(t *testing.T) {
	t.Parallel()
	prev := Render(nightly(), "", Options{}).Text
	res := testfixture.Hostile()
	f := res.Findings[1]
	f.KeyID = "k<img src=x onerror=alert(1)>@org/team"
	res.Findings = append(res.Findings, f)
	got := Render(res, prev, Options{})
	if len(got.Changes.New) != 1 {
		t.Fatalf("new = %+v, want the hostile key", got.Changes.New)
	}
	// The table shows key ids in code spans (the comment's rule); the
	// changes list, outside any code span, must escape them.
	var listed bool
	for _, l := range strings.Split(got.Text, "\n") {
		if !strings.HasPrefix(l, "- 🆕 New:") {
			continue
		}
		listed = true
		if strings.Contains(l, "<img") || strings.Contains(l, "@org/team") {
			t.Errorf("hostile text reached the changes list raw: %s", l)
		}
	}
	if !listed {
		t.Error("the new hostile key is not listed")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Render(testfixture.Result(), "", Options{}).Text)
	f.Add(statePrefix + "H4sIAAAAAAAA/6pWyk6tVLJSqlY=" + stateSuffix)
	f.Fuzz(func(t *testing.T, body string) {
		st, err := Decode(body)
		if err != nil {
			return
		}
		if err := st.validate(); err != nil {
			t.Fatalf("decoded an invalid state: %v", err)
		}
		// What decodes renders without panicking and within the limit.
		if out := Render(testfixture.Result(), body, Options{}); len(out.Text) > 65536 {
			t.Fatalf("body %d bytes", len(out.Text))
		}
	})
}

func TestMarkerAndTitle(t *testing.T) {
	t.Parallel()
	tests := []struct{ category, marker, title string }{
		{"", "<!-- kms-deletion-gate-audit -->", "KMS keys pending deletion (scheduled audit)"},
		{"kms-deletion-gate", "<!-- kms-deletion-gate-audit category=kms-deletion-gate -->", "KMS keys pending deletion (scheduled audit)"},
		{"prod --> <b>", "", "KMS keys pending deletion (scheduled audit, prod --> <b>)"},
	}
	for _, tc := range tests {
		m := Marker(tc.category)
		// A hostile category cannot end the hidden line early.
		if !strings.HasPrefix(m, "<!-- kms-deletion-gate-audit") || strings.Count(m, "--") != 2 || !strings.HasSuffix(m, " -->") || strings.Contains(m, "<b>") {
			t.Errorf("Marker(%q) = %q is not one hidden comment", tc.category, m)
		}
		if tc.marker != "" && m != tc.marker {
			t.Errorf("Marker(%q) = %q, want %q", tc.category, m, tc.marker)
		}
		if got := Title(tc.category); got != tc.title {
			t.Errorf("Title(%q) = %q, want %q", tc.category, got, tc.title)
		}
	}
}

// TestHostileBodyStaysInert renders the body of a run over hostile AWS
// metadata (and a key id that tries to escape the changes list) the way
// GitHub parses Markdown: no HTML element, link, math or reference comes
// from AWS text.
func TestHostileBodyStaysInert(t *testing.T) {
	t.Parallel()
	prev := Render(nightly(), "", Options{}).Text
	res := testfixture.Hostile()
	f := res.Findings[1]
	f.KeyID = "k<img src=x onerror=alert(1)>$x$GH-1[l](javascript:x)"
	f.Remediation = nil
	res.Findings = append(res.Findings, f)
	got := Render(res, prev, Options{Category: "prod"})
	html := gfm.Render(t, got.Text)
	outside := gfm.OutsideCode(html)
	for _, bad := range []string{"<img", "<a href=\"javascript"} {
		if strings.Contains(outside, bad) {
			t.Errorf("rendered body holds %q outside code", bad)
		}
	}
	var changes []string
	for _, l := range strings.Split(got.Text, "\n") {
		if strings.HasPrefix(l, "- 🆕") {
			changes = append(changes, l)
		}
	}
	if len(changes) != 1 {
		t.Fatalf("changes list %q, want the hostile key", changes)
	}
	if live := gfm.LiveProblems(gfm.Render(t, changes[0]), false); len(live) > 0 {
		t.Errorf("the changes line renders live: %v", live)
	}
}
