package reliability

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	fp "github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/faultproxy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/gfm"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// hostileMath is what the second hostile-input review planted: LaTeX that
// GitHub renders as large coloured text, and a GH- reference.
const hostileMath = `$$\huge\text{APPROVED}$$ $\color{red}{ALERT}$ see GH-42`

// hostileKeyID would break out of a pasted command's quoting.
const hostileKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab`touch /tmp/pwned`;id\n$(id)"

// expiredEntries is how many expired allowlist entries the run carries, with
// one active entry the 10,000 the parser accepts: what pushed the job
// summary past GitHub's 1 MiB before it was budgeted.
const expiredEntries = 9999

// hostileSecondRound runs the action twice against one moto and one fake
// GitHub, as two matrix shards with categories "prod eu" and "prod_eu":
// descriptions, tags and an allowlist reason hold LaTeX math and GH-42, an
// endpoint lists a key whose id holds a backtick, ';' and a newline, and the
// config carries 9,999 expired allowlist entries. The comments and job
// summaries are rendered with cmark-gfm.
func hostileSecondRound(t *testing.T, rec *recorder) {
	srv := moto.Start(t)
	seedTime := time.Now()
	now := seedTime.Add(shiftDays * 24 * time.Hour)
	mathKey := seedKey(t, srv, "us-east-1", hostileMath, map[string]string{"owner": hostileMath, "GH-42": "GH-42"}, "", 7)
	allowed := seedKey(t, srv, "us-east-1", "allowlisted", nil, "", 20)

	p, err := emulatingProxy(srv.URL, hostileKeyRules(now)...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "allow:\n  - key: %s\n    reason: %q\n    expires: %s\n", allowed, hostileMath, now.AddDate(0, 1, 0).Format(time.DateOnly))
	for i := range expiredEntries {
		fmt.Fprintf(&cfg, "  - key: k%d\n    reason: r\n    expires: 2020-01-01\n", i)
	}
	gh := newFakeGitHub(t)
	var outs []outcome
	for _, category := range []string{"prod eu", "prod_eu"} {
		s := spec{endpoint: p.URL, now: now,
			// The allowlist under test is this run's file, and every finding
			// counts (a pull_request run otherwise judges the base branch's
			// allowlist and the keys its changes reference).
			inputs: map[string]string{"regions": "us-east-1", "config": "{dir}/cfg.yml", "category": category, "timeout": "90s",
				"allowlist-from": "head", "fail-scope": "all"},
			files: map[string][]byte{"cfg.yml": []byte(cfg.String())},
		}
		withGitHub(&s, gh)
		outs = append(outs, run(t, s))
	}
	comments := gh.Comments(7)
	for _, e := range gh.Errors() {
		t.Errorf("fake GitHub: %v", e)
	}

	rendered := map[string]string{}
	for i, o := range outs {
		if o.code != app.ExitFail {
			t.Errorf("run %d: exit %d, want 1 (the math key is pending, unapproved)\n%s", i+1, o.code, clip(o.stdout))
		}
		checkRunArtifacts(t, o)
		rendered[fmt.Sprintf("job summary %d", i+1)] = o.summary
	}
	for i, c := range comments {
		rendered[fmt.Sprintf("PR comment %d", i+1)] = c.Body
	}
	math, refs, cmds := checkRenderedInert(t, rendered)

	summaryOK := "verdict first, under 1 MiB"
	for i, o := range outs {
		if len(o.summary) > 1<<20 {
			summaryOK = fmt.Sprintf("summary %d over 1 MiB", i+1)
			t.Errorf("job summary %d is %d bytes, over GitHub's 1 MiB", i+1, len(o.summary))
		}
		if !strings.HasPrefix(strings.TrimSpace(o.summary), "#") || !strings.Contains(o.summary[:min(len(o.summary), 2000)], "fail") {
			t.Errorf("job summary %d does not open with the verdict: %q", i+1, clip(o.summary))
		}
		if o.report == nil || len(o.report.Warnings) < expiredEntries {
			t.Errorf("run %d: the expired entries are not all warned about in the JSON report", i+1)
		}
	}
	markers := map[string]bool{}
	for _, c := range comments {
		markers[strings.SplitN(c.Body, "\n", 2)[0]] = true
	}
	if len(comments) != 2 || len(markers) != 2 {
		t.Errorf("two categories left %d comment(s) with %d distinct marker(s), want 2 and 2", len(comments), len(markers))
	}
	if outs[0].report != nil {
		found := false
		for _, f := range outs[0].report.Findings {
			found = found || f.KeyID == hostileKeyID
			if f.KeyID == mathKey && f.Description != hostileMath {
				t.Errorf("the JSON report changed the description: %q", f.Description)
			}
		}
		if !found {
			t.Errorf("the key with the hostile id is not a finding")
		}
	}

	add := func(order int, name, injected, reported string) {
		rec.add(row{Group: "Hostile AWS metadata", Order: order, Case: name, Injected: injected, Exit: fmt.Sprint(outs[0].code),
			Findings: fmt.Sprint(len(findingKeys(outs[0].report))), Requests: "-", Reported: reported, Lost: "nothing"})
	}
	add(3, "LaTeX math from AWS and the allowlist", "`"+hostileMath+"` as a key description, a tag value and an allowlist reason",
		fmt.Sprintf("comments and summaries rendered with cmark-gfm: %d live math delimiter(s)", math))
	add(4, "GH- references", "GH-42 in a description, a tag key and a tag value", fmt.Sprintf("%d live GH- reference(s)", refs))
	add(5, "key id that breaks out of quoting", "an endpoint lists and describes a key whose id holds a backtick, `;` and a newline",
		fmt.Sprintf("%d pasteable command(s) built from it; still a finding", cmds))
	add(6, "10,000 allowlist entries, 9,999 expired", "a config with as many entries as the parser accepts, all but one expired", summaryOK+"; every entry warned about in the JSON report")
	add(7, "categories `prod eu` and `prod_eu`", "two runs (matrix shards) against one pull request", fmt.Sprintf("%d comments, %d distinct markers", len(comments), len(markers)))
}

// hostileKeyRules make us-east-1 list one more key, whose id is
// hostileKeyID, and describe it as pending deletion three days after now.
func hostileKeyRules(now time.Time) []fp.Rule {
	arn := "arn:aws:kms:us-east-1:123456789012:key/" + hostileKeyID
	md, _ := json.Marshal(map[string]any{"KeyMetadata": map[string]any{
		"KeyId": hostileKeyID, "Arn": arn, "AWSAccountId": "123456789012", "KeyManager": "CUSTOMER",
		"KeyState": "PendingDeletion", "DeletionDate": now.Add(3 * 24 * time.Hour).Unix(), "Description": hostileMath,
		"KeySpec": "SYMMETRIC_DEFAULT", "Enabled": false,
	}})
	return []fp.Rule{
		{Operation: "ListKeys", Region: "us-east-1", Fault: fp.Rewrite, Transform: rewriteJSON(func(m map[string]any) {
			keys, _ := m["Keys"].([]any)
			m["Keys"] = append(keys, map[string]any{"KeyId": hostileKeyID, "KeyArn": arn})
		})},
		{Operation: "DescribeKey", Region: "us-east-1", Fault: fp.Rewrite, Status: 200, Transform: func(req, resp []byte) []byte {
			if strings.Contains(string(req), "pwned") {
				return md
			}
			return resp
		}},
	}
}

// checkRenderedInert renders each Markdown document with cmark-gfm and
// asserts no math delimiter or GH- reference is live outside code, and no
// pasteable command carries the hostile key id. It returns what it found.
func checkRenderedInert(t *testing.T, docs map[string]string) (math, refs, cmds int) {
	t.Helper()
	for _, name := range sortedKeys(docs) {
		md := docs[name]
		if !strings.Contains(md, "APPROVED") {
			t.Errorf("%s does not show the planted text at all; the check proves nothing", name)
		}
		for _, p := range gfm.LiveProblems(gfm.Render(t, md), false) {
			if strings.HasPrefix(strings.ToUpper(p), "GH-") {
				refs++
			} else {
				math++
			}
			t.Errorf("%s renders %q live", name, p)
		}
		for _, line := range strings.Split(md, "\n") {
			if strings.Contains(line, "cancel-key-deletion") && (strings.Contains(line, "pwned") || strings.Contains(line, "$(id)")) {
				cmds++
				t.Errorf("%s offers a cancel command built from the hostile key id: %q", name, line)
			}
		}
	}
	return math, refs, cmds
}
