package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
	fp "github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/faultproxy"
)

// maxLogLine bounds every line a run writes to the log or the job summary,
// whatever an endpoint answers.
const maxLogLine = 4 << 10

// bigMessage is a 2 MB error message, as an endpoint may answer.
var bigMessage = "denied " + strings.Repeat("x", 2<<20)

// bigGitHubMessage is the largest error message the GitHub client reads
// whole (it reads at most 1 MiB of an error body; beyond, the message is
// dropped, not printed).
var bigGitHubMessage = "denied " + strings.Repeat("y", 900<<10)

// malformedCase is one run against answers that miss what the KMS API
// reference promises, or carry out-of-range values.
type malformedCase struct {
	name     string
	injected string
	rules    []fp.Rule
	inputs   map[string]string
	// github adds a fake GitHub (upload and comment) whose errors carry
	// bigMessage.
	github   bool
	wantExit int
	// lostRegions lose their findings; unscanned keep them but are reported
	// as not fully scanned.
	lostRegions []string
	unscanned   []string
	// malformed: the coverage errors say "malformed answer".
	malformed bool
	check     func(t *testing.T, o outcome)
	lost      string
}

// rewriteJSON returns a Transform that edits a JSON answer.
func rewriteJSON(edit func(m map[string]any)) func(req, resp []byte) []byte {
	return func(_, resp []byte) []byte {
		d := json.NewDecoder(bytes.NewReader(resp))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) != nil {
			return resp
		}
		edit(m)
		b, err := json.Marshal(m)
		if err != nil {
			return resp
		}
		return b
	}
}

// farDeletionDate sets every pending key's DeletionDate to 9999-12-31.
var farDeletionDate = rewriteJSON(func(m map[string]any) {
	if md, ok := m["KeyMetadata"].(map[string]any); ok && md["KeyState"] == "PendingDeletion" {
		md["DeletionDate"] = json.Number("253402214400")
	}
})

func malformedCases() []malformedCase {
	return []malformedCase{
		{name: "DescribeKey: KeyMetadata null", injected: `{"KeyMetadata": null} to every DescribeKey in us-east-1`,
			rules:    []fp.Rule{{Operation: "DescribeKey", Region: "us-east-1", Fault: fp.Respond, Body: `{"KeyMetadata":null}`}},
			wantExit: app.ExitIncomplete, lostRegions: []string{"us-east-1"}, malformed: true, lost: "the keys of us-east-1, each named as a scan error"},
		{name: "ListKeys: Keys null", injected: `{"Keys": null, "Truncated": false} to ListKeys in eu-west-1`,
			rules:    []fp.Rule{{Operation: "ListKeys", Region: "eu-west-1", Fault: fp.Respond, Body: `{"Keys":null,"Truncated":false}`}},
			wantExit: app.ExitIncomplete, lostRegions: []string{"eu-west-1"}, malformed: true, lost: "eu-west-1, reported as not scanned"},
		{name: "ListKeys: entries without KeyId", injected: "moto's ListKeys answer in ap-southeast-2 with every KeyId removed",
			rules: []fp.Rule{{Operation: "ListKeys", Region: "ap-southeast-2", Fault: fp.Rewrite, Transform: rewriteJSON(func(m map[string]any) {
				keys, _ := m["Keys"].([]any)
				for _, k := range keys {
					delete(k.(map[string]any), "KeyId")
				}
			})}},
			wantExit: app.ExitIncomplete, lostRegions: []string{"ap-southeast-2"}, malformed: true, lost: "ap-southeast-2, reported as not scanned"},
		{name: "ListKeys: Truncated without NextMarker", injected: "moto's ListKeys answer in eu-west-1 with Truncated true and no NextMarker",
			rules: []fp.Rule{{Operation: "ListKeys", Region: "eu-west-1", Fault: fp.Rewrite, Transform: rewriteJSON(func(m map[string]any) {
				m["Truncated"] = true
				delete(m, "NextMarker")
			})}},
			wantExit: app.ExitIncomplete, unscanned: []string{"eu-west-1"}, malformed: true, lost: "nothing; eu-west-1 reported as not fully scanned (the rest of its list is unknown)"},
		{name: "DeletionDate 9999-12-31 (fail)", injected: "moto's DescribeKey answers in us-east-1 with DeletionDate 9999-12-31",
			rules:    []fp.Rule{{Operation: "DescribeKey", Region: "us-east-1", Fault: fp.Rewrite, Transform: farDeletionDate}},
			wantExit: app.ExitIncomplete, malformed: true, check: checkOutOfRangeDates, lost: "the dates of the us-east-1 keys: kept as findings, critical, date unknown"},
		{name: "DeletionDate 9999-12-31 (warn)", injected: "as above, on-scan-error: warn",
			rules:    []fp.Rule{{Operation: "DescribeKey", Region: "us-east-1", Fault: fp.Rewrite, Transform: farDeletionDate}},
			inputs:   map[string]string{"on-scan-error": "warn", "fail-on": "critical"},
			wantExit: app.ExitFail, malformed: true, check: checkOutOfRangeDates, lost: "as above: the gate still fails (critical)"},
		{name: "2 MB error messages", injected: "a 2 MB message in AccessDeniedException on ListKeys in eu-west-1 and on GetKeyLastUsage, and a 900 KB one in GitHub's 403 to the SARIF upload and the comment",
			rules: []fp.Rule{
				{Operation: "ListKeys", Region: "eu-west-1", Fault: fp.Error, Code: "AccessDeniedException", Message: bigMessage},
				{Operation: "GetKeyLastUsage", Fault: fp.Error, Code: "AccessDeniedException", Message: bigMessage},
			},
			github: true, wantExit: app.ExitIncomplete, lostRegions: []string{"eu-west-1"}, check: checkBoundedMessages,
			lost: "eu-west-1 and last-use evidence, reported with the messages cut"},
	}
}

func malformedSuite(t *testing.T, rec *recorder) {
	data := startFaultMoto(t)
	for i, c := range malformedCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := emulatingProxy(data.srv.URL, c.rules...)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			s := data.spec(p.URL, faultCase{inputs: c.inputs})
			var gh *fakegithub.Server
			if c.github {
				gh = newFakeGitHub(t)
				fault := fakegithub.Fault{Status: http.StatusForbidden, Message: bigGitHubMessage}
				gh.Fail(fakegithub.OpUploadSARIF, 10, fault)
				gh.Fail(fakegithub.OpListComments, 10, fault)
				withGitHub(&s, gh)
			}
			o := run(t, s)
			n := len(findingKeys(o.report))
			rec.add(row{Group: "Malformed AWS answers", Order: i, Case: c.name, Injected: c.injected, Exit: fmt.Sprint(o.code),
				Findings: fmt.Sprintf("%d of %d", n, data.pending), Requests: fmt.Sprint(p.Total()), Reported: reportedText(o), Lost: c.lost})

			if o.code != c.wantExit {
				t.Errorf("exit %d, want %d\n%s", o.code, c.wantExit, clip(o.stdout))
			}
			if o.report == nil {
				t.Fatalf("no JSON report")
			}
			if o.report.Coverage.Complete {
				t.Errorf("coverage is reported complete")
			}
			if c.malformed && !strings.Contains(string(o.jsonRaw), "malformed answer") {
				t.Errorf("no coverage error says the answer was malformed: %+v", o.report.Coverage.Errors)
			}
			lost := 0
			for _, f := range findingKeys(o.report) {
				if contains(c.lostRegions, f.Region) {
					t.Errorf("a finding in %s survived although its answers were lost: %+v", f.Region, f)
				}
			}
			for _, r := range c.lostRegions {
				lost += map[string]int{"us-east-1": 2, "eu-west-1": 1, "ap-southeast-2": 1}[r]
			}
			if n != data.pending-lost {
				t.Errorf("%d findings, want %d", n, data.pending-lost)
			}
			for _, r := range append(append([]string(nil), c.lostRegions...), c.unscanned...) {
				if !hasError(o.report.Coverage.Errors, r) || !strings.Contains(o.summary, r) {
					t.Errorf("%s is not named as not scanned in the JSON report and the job summary", r)
				}
			}
			for name, text := range map[string]string{"stdout": o.stdout, "stderr": o.stderr, "job summary": o.summary} {
				for i, line := range strings.Split(text, "\n") {
					if len(line) > maxLogLine {
						t.Errorf("%s line %d is %d bytes, over %d: %q", name, i+1, len(line), maxLogLine, clip(line))
					}
				}
			}
			if c.check != nil {
				c.check(t, o)
			}
			if gh != nil {
				for _, e := range gh.Errors() {
					t.Errorf("fake GitHub: %v", e)
				}
			}
			checkRunArtifacts(t, o)
		})
	}
}

// checkOutOfRangeDates: the us-east-1 keys stay findings, critical, with no
// date and no days left; no report shows an overflowed year or "past due".
func checkOutOfRangeDates(t *testing.T, o outcome) {
	t.Helper()
	n := 0
	for _, f := range o.report.Findings {
		if f.Region != "us-east-1" {
			continue
		}
		n++
		if f.DeletionDate != nil || f.DaysLeft != nil || f.Severity != "critical" {
			t.Errorf("key %s: date %v, days %v, severity %s; want no date, no days, critical", f.KeyID, f.DeletionDate, f.DaysLeft, f.Severity)
		}
	}
	if n == 0 {
		t.Errorf("the keys with an out-of-range date vanished")
	}
	if !strings.Contains(string(o.jsonRaw), "deletion date out of range") {
		t.Errorf("no scan error names the out-of-range date")
	}
	for name, text := range map[string]string{"log": o.stdout, "job summary": o.summary, "JSON report": string(o.jsonRaw), "SARIF": string(o.sarif)} {
		for _, bad := range []string{"1816", "past due", "has passed"} {
			if strings.Contains(text, bad) {
				i := strings.Index(text, bad)
				t.Errorf("%s shows %q: …%s…", name, bad, clip(text[max(0, i-120):]))
			}
		}
	}
}

// checkBoundedMessages: the 2 MB messages reach every report cut short.
func checkBoundedMessages(t *testing.T, o outcome) {
	t.Helper()
	for _, e := range o.report.Coverage.Errors {
		if n := utf8.RuneCountInString(e.Message); n > 1000 {
			t.Errorf("coverage error message is %d runes", n)
		}
	}
	for _, w := range o.report.Warnings {
		if n := utf8.RuneCountInString(w); n > 2000 {
			t.Errorf("warning is %d runes: %q", n, clip(w))
		}
	}
	if len(o.sarif) > 1<<20 {
		t.Errorf("SARIF is %d bytes", len(o.sarif))
	}
	for _, want := range []string{"code scanning upload: upload SARIF to code scanning: GitHub answered 403 denied yyyy", "pull-request comment", "denied xxxx"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("the log does not report %q", want)
		}
	}
}

// newFakeGitHub starts a fake GitHub holding pull request 7.
func newFakeGitHub(t *testing.T) *fakegithub.Server {
	t.Helper()
	gh := fakegithub.New(t, fakegithub.Options{Owner: "octo-org", Repo: "infra"})
	sha := strings.Repeat("ab", 20)
	gh.AddPullRequest(fakegithub.PullRequest{Number: 7, HeadSHA: sha, HeadRef: "retire-key", BaseRef: "main", BaseSHA: strings.Repeat("cd", 20), MergeCommitSHA: sha})
	return gh
}

// withGitHub points the run at gh as a pull_request run for pull request 7
// (event, token, API URL) and turns the SARIF upload and the comment on.
func withGitHub(s *spec, gh *fakegithub.Server) {
	sha := strings.Repeat("ab", 20)
	event := fmt.Sprintf(`{"action":"synchronize","number":7,"pull_request":{"number":7,"head":{"sha":%q,"ref":"retire-key","repo":{"full_name":"octo-org/infra"}},"base":{"ref":"main","repo":{"full_name":"octo-org/infra"}}}}`, sha)
	if s.files == nil {
		s.files = map[string][]byte{}
	}
	s.files["event.json"] = []byte(event)
	if s.env == nil {
		s.env = map[string]string{}
	}
	for k, v := range map[string]string{
		"GITHUB_REPOSITORY": "octo-org/infra", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "{dir}/event.json",
		"GITHUB_SHA": sha, "GITHUB_REF": "refs/pull/7/merge", "GITHUB_API_URL": gh.URL, "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99",
	} {
		s.env[k] = v
	}
	s.inputs["github-token"] = secretGitHubToken
	s.inputs["upload-sarif"] = "true"
	s.inputs["comment"] = "upsert"
}
