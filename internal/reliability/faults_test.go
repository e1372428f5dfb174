package reliability

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/finding"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/jsonreport"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awsfake"
	fp "github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/faultproxy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// maxAttempts is the retry bound the program configures for every AWS client
// (app.go: StandardOptions.MaxAttempts).
const maxAttempts = 6

var faultRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}

// faultCase is one run under injected faults, and what must hold.
type faultCase struct {
	name     string
	injected string
	rules    []fp.Rule
	inputs   map[string]string // beyond the suite's defaults
	allRegs  bool              // regions: all (DescribeRegions) instead of the three
	wantExit int
	// lostRegions lose their findings and must be reported as not scanned;
	// lostAccount loses the whole account (credentials or regions stage).
	lostRegions []string
	lostAccount bool
	// timeout bounds the run (the timeout input); empty means 90s.
	timeout string
	// tagsLost: the fault removes tags (context, not evidence) from findings.
	tagsLost bool
}

func faultCases() []faultCase {
	throttle := func(op string, n int) fp.Rule { return fp.Rule{Operation: op, Fault: fp.Throttle, Times: n} }
	return []faultCase{
		{name: "throttling burst on ListKeys", injected: "ThrottlingException (HTTP 400) ×3 on ListKeys", rules: []fp.Rule{throttle("ListKeys", 3)}, wantExit: app.ExitFail},
		{name: "throttling burst on DescribeKey", injected: "ThrottlingException ×4 on DescribeKey", rules: []fp.Rule{throttle("DescribeKey", 4)}, wantExit: app.ExitFail},
		{name: "throttling on STS", injected: "Throttling ×2 on GetCallerIdentity (query protocol)", rules: []fp.Rule{throttle("GetCallerIdentity", 2)}, wantExit: app.ExitFail},
		{name: "HTTP 500", injected: "KMSInternalException (HTTP 500) ×2 on DescribeKey in eu-west-1", rules: []fp.Rule{{Operation: "DescribeKey", Region: "eu-west-1", Fault: fp.ServerError, Times: 2}}, wantExit: app.ExitFail},
		{name: "HTTP 503", injected: "ServiceUnavailable (HTTP 503) ×2 on ListAliases", rules: []fp.Rule{{Operation: "ListAliases", Fault: fp.Unavailable, Times: 2}}, wantExit: app.ExitFail},
		{name: "connection resets on DescribeKey", injected: "TCP RST, no response ×3 on DescribeKey", rules: []fp.Rule{{Operation: "DescribeKey", Fault: fp.Reset, Times: 3}}, wantExit: app.ExitFail},
		{name: "connection resets on STS", injected: "TCP RST ×2 on GetCallerIdentity", rules: []fp.Rule{{Operation: "GetCallerIdentity", Fault: fp.Reset, Times: 2}}, wantExit: app.ExitFail},
		{name: "truncated body on ListKeys", injected: "200 with half the body, then close ×2 on ListKeys in us-east-1", rules: []fp.Rule{{Operation: "ListKeys", Region: "us-east-1", Fault: fp.Truncate, Times: 2}}, wantExit: app.ExitFail},
		{name: "truncated body on DescribeKey", injected: "200 with half the body, then close ×2 on DescribeKey in eu-west-1", rules: []fp.Rule{{Operation: "DescribeKey", Region: "eu-west-1", Fault: fp.Truncate, Times: 2}}, wantExit: app.ExitFail},
		{name: "slow answers", injected: "every ListKeys and ListAliases answered after 1s", rules: []fp.Rule{{Operation: "ListKeys", Delay: time.Second}, {Operation: "ListAliases", Delay: time.Second}}, wantExit: app.ExitFail},
		{name: "mixed faults", injected: "throttle ×2, 503 ×2, reset ×2 on DescribeKey, 500 ×1 on ListKeys", rules: []fp.Rule{
			throttle("DescribeKey", 2), {Operation: "DescribeKey", Fault: fp.Unavailable, Times: 2}, {Operation: "DescribeKey", Fault: fp.Reset, Times: 2}, {Operation: "ListKeys", Fault: fp.ServerError, Times: 1},
		}, wantExit: app.ExitFail},
		{name: "region never answers (fail)", injected: "eu-west-1 holds every request until the client gives up; timeout 8s", rules: []fp.Rule{{Region: "eu-west-1", Fault: fp.Hang}}, timeout: "8s", wantExit: app.ExitIncomplete, lostRegions: []string{"eu-west-1"}},
		{name: "region never answers (warn)", injected: "as above, on-scan-error: warn", rules: []fp.Rule{{Region: "eu-west-1", Fault: fp.Hang}}, timeout: "8s", inputs: map[string]string{"on-scan-error": "warn"}, wantExit: app.ExitFail, lostRegions: []string{"eu-west-1"}},
		{name: "region down (fail)", injected: "HTTP 503 on every request to eu-west-1", rules: []fp.Rule{{Region: "eu-west-1", Fault: fp.Unavailable}}, wantExit: app.ExitIncomplete, lostRegions: []string{"eu-west-1"}},
		{name: "region down (warn)", injected: "as above, on-scan-error: warn", rules: []fp.Rule{{Region: "eu-west-1", Fault: fp.Unavailable}}, inputs: map[string]string{"on-scan-error": "warn"}, wantExit: app.ExitFail, lostRegions: []string{"eu-west-1"}},
		{name: "access denied in a region", injected: "AccessDeniedException on ListKeys in ap-southeast-2", rules: []fp.Rule{{Operation: "ListKeys", Region: "ap-southeast-2", Fault: fp.Error, Code: "AccessDeniedException", Message: "User is not authorized to perform: kms:ListKeys"}}, wantExit: app.ExitIncomplete, lostRegions: []string{"ap-southeast-2"}},
		{name: "access denied on DescribeKey", injected: "AccessDeniedException on every DescribeKey in us-east-1", rules: []fp.Rule{{Operation: "DescribeKey", Region: "us-east-1", Fault: fp.Error, Code: "AccessDeniedException", Message: "User is not authorized to perform: kms:DescribeKey"}}, wantExit: app.ExitIncomplete, lostRegions: []string{"us-east-1"}},
		{name: "tags denied", injected: "AccessDeniedException on every ListResourceTags", rules: []fp.Rule{{Operation: "ListResourceTags", Fault: fp.Error, Code: "AccessDeniedException", Message: "User is not authorized to perform: kms:ListResourceTags"}}, wantExit: app.ExitFail, tagsLost: true},
		{name: "credentials fail", injected: "AccessDenied on every GetCallerIdentity", rules: []fp.Rule{{Operation: "GetCallerIdentity", Fault: fp.Error, Code: "AccessDenied", Message: "not authorized"}}, wantExit: app.ExitIncomplete, lostAccount: true},
		{name: "regions: all, DescribeRegions throttled", injected: "RequestLimitExceeded ×2 on DescribeRegions (EC2 query protocol)", allRegs: true, rules: []fp.Rule{{Operation: "DescribeRegions", Fault: fp.Throttle, Times: 2}}, wantExit: app.ExitFail},
		{name: "regions: all, DescribeRegions denied", injected: "UnauthorizedOperation on DescribeRegions", allRegs: true, rules: []fp.Rule{{Operation: "DescribeRegions", Fault: fp.Error, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}}, wantExit: app.ExitIncomplete, lostAccount: true},
	}
}

// emulatingProxy starts a fault proxy to target with awsfake, the one
// emulation of what moto 5.2.1 lacks, in front of moto: GetKeyLastUsage (moto
// answers HTTP 500, which the SDK retries for ~30s per region) says no use
// recorded since 2026-01-01, LookupEvents finds no events. Fault rules come
// first, so a case can still fault those calls.
func emulatingProxy(target string, rules ...fp.Rule) (*fp.Proxy, error) {
	p, err := fp.New(target, rules...)
	if err != nil {
		return nil, err
	}
	fake := awsfake.NewEmulator()
	fake.SetAnyKeyUsage(awsfake.KeyLastUsage{TrackingStartDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	p.SetFront(fake.Front)
	return p, nil
}

// faultData is the seeded moto shared by the fault suite.
type faultData struct {
	srv     *moto.Server
	now     time.Time
	pending int
}

func startFaultMoto(t *testing.T) faultData {
	t.Helper()
	srv := moto.Start(t)
	seedTime := time.Now()
	n := 0
	for i, r := range faultRegions {
		// Windows 7, 11 and 20 days: critical, high and medium five days on.
		seedKey(t, srv, r, "pending "+r, map[string]string{"team": "payments", "region": r}, fmt.Sprintf("alias/orders-%d", i), []int{7, 11, 20}[i])
		seedKey(t, srv, r, "healthy "+r, nil, "", 0)
		n++
	}
	seedKey(t, srv, "us-east-1", "second pending", map[string]string{"owner": "data"}, "", 30)
	seedKey(t, srv, "us-east-1", "disabled", nil, "", -1)
	n++
	return faultData{srv: srv, now: seedTime.Add(shiftDays * 24 * time.Hour), pending: n}
}

func (d faultData) spec(endpoint string, c faultCase) spec {
	in := map[string]string{
		"regions":         strings.Join(faultRegions, ","),
		"timeout":         "90s",
		"on-scan-error":   "fail",
		"max-concurrency": "8",
	}
	if c.allRegs {
		in["regions"] = "all"
	}
	if c.timeout != "" {
		in["timeout"] = c.timeout
	}
	for k, v := range c.inputs {
		in[k] = v
	}
	return spec{endpoint: endpoint, inputs: in, now: d.now}
}

// baseline is a fault-free run through a counting proxy.
type baseline struct {
	out    outcome
	counts map[fp.Request]int
	total  int
}

func faultSuite(t *testing.T, rec *recorder) {
	cases := faultCases()
	data := startFaultMoto(t)

	var (
		once      [2]sync.Once
		baselines [2]baseline
	)
	getBaseline := func(t *testing.T, all bool) baseline {
		i := 0
		if all {
			i = 1
		}
		once[i].Do(func() {
			p, err := emulatingProxy(data.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			o := run(t, data.spec(p.URL, faultCase{allRegs: all}))
			baselines[i] = baseline{out: o, counts: p.Counts(), total: p.Total()}
		})
		return baselines[i]
	}

	for i, all := range []bool{false, true} {
		name := "fault-free (three regions)"
		if all {
			name = "fault-free (regions: all)"
		}
		t.Run(name, func(t *testing.T) {
			b := getBaseline(t, all)
			o := b.out
			rec.add(row{Group: "AWS faults", Order: i, Case: name, Injected: "none", Exit: fmt.Sprint(o.code),
				Findings: fmt.Sprintf("%d (the reference)", len(findingKeys(o.report))),
				Requests: fmt.Sprint(b.total), Reported: reportedText(o), Lost: "nothing"})
			if o.code != app.ExitFail {
				t.Fatalf("fault-free exit %d, want 1 (unapproved pending keys)\n%s", o.code, o.stdout)
			}
			if got := len(findingKeys(o.report)); got != data.pending {
				t.Fatalf("fault-free run found %d keys, want %d\n%s", got, data.pending, o.stdout)
			}
			checkRunArtifacts(t, o)
		})
	}

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := getBaseline(t, c.allRegs)
			p, err := emulatingProxy(data.srv.URL, c.rules...)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			s := data.spec(p.URL, c)
			o := run(t, s)
			counts, total, injected := p.Counts(), p.Total(), p.Injected()

			want := findingKeys(b.out.report)
			got := findingKeys(o.report)
			var expected []findingKey
			for _, f := range want {
				if !c.lostAccount && !contains(c.lostRegions, f.Region) {
					expected = append(expected, f)
				}
			}
			findingsText := fmt.Sprintf("equal (%d of %d)", len(got), len(want))
			if !reflect.DeepEqual(got, want) {
				findingsText = fmt.Sprintf("%d of %d", len(got), len(want))
			}
			var lostParts []string
			if len(got) < len(want) {
				lostParts = append(lostParts, fmt.Sprintf("%d finding(s) of the unscanned %s, which the reports name", len(want)-len(got), unscanned(o)))
			}
			if n := countEvidenceLost(b.out.report, o.report); n > 0 {
				lostParts = append(lostParts, fmt.Sprintf("last-use evidence of %d finding(s), with a warning", n))
			}
			if c.tagsLost && o.report != nil {
				warned := "without a warning"
				for _, w := range o.report.Warnings {
					if strings.Contains(w, "tags of") && strings.Contains(w, "could not be read") {
						warned = "with a warning"
					}
				}
				lostParts = append(lostParts, fmt.Sprintf("tags of %d finding(s) (context, not evidence), %s", countTagsLost(b.out.report, o.report), warned))
			}
			lost := "nothing"
			if len(lostParts) > 0 {
				lost = strings.Join(lostParts, "; ")
			}
			rec.add(row{Group: "AWS faults", Order: 10 + i, Case: c.name, Injected: c.injected, Exit: fmt.Sprint(o.code),
				Findings: findingsText, Requests: fmt.Sprintf("%d → %d (%d faults injected)", b.total, total, injected),
				Reported: reportedText(o), Lost: lost})

			if o.code != c.wantExit {
				t.Errorf("exit %d, want %d\n%s", o.code, c.wantExit, o.stdout)
			}
			if !reflect.DeepEqual(got, expected) {
				t.Errorf("findings under fault differ from the fault-free run:\n got  %v\n want %v\n%s", got, expected, o.stdout)
			}
			// Every region that lost findings is reported, in every report.
			for _, r := range c.lostRegions {
				if o.report == nil || !hasError(o.report.Coverage.Errors, r) {
					t.Errorf("region %s lost its findings but the JSON report's coverage does not name it", r)
				}
				if !strings.Contains(o.stdout, "/"+r) {
					t.Errorf("region %s is not named in the log\n%s", r, o.stdout)
				}
				if !strings.Contains(o.summary, r) {
					t.Errorf("region %s is not named in the job summary", r)
				}
			}
			if (len(c.lostRegions) > 0 || c.lostAccount) && (o.report == nil || o.report.Coverage.Complete) {
				t.Errorf("coverage is reported complete although targets were lost")
			}
			if len(c.lostRegions) == 0 && !c.lostAccount && o.report != nil && !o.report.Coverage.Complete {
				t.Errorf("transient faults left coverage incomplete: %+v", o.report.Coverage.Errors)
			}
			if c.lostAccount && (o.report == nil || len(o.report.Coverage.Errors) == 0) {
				t.Errorf("the account was lost but no coverage error was reported")
			}
			// Retries stay bounded: no operation in a region is asked more
			// than maxAttempts times per fault-free call.
			if total > maxAttempts*b.total {
				t.Errorf("%d requests under fault, more than %d × %d fault-free\n%s", total, maxAttempts, b.total, p.CountsText())
			}
			for k, n := range counts {
				if base := b.counts[k]; n > maxAttempts*max(base, 1) {
					t.Errorf("%s %s in %s: %d requests, more than %d × %d\n%s", k.Service, k.Operation, k.Region, n, maxAttempts, base, p.CountsText())
				}
			}
			// A transient fault costs exactly one retry per fault.
			if len(c.lostRegions) == 0 && !c.lostAccount && !c.tagsLost && total != b.total+injected {
				t.Errorf("%d requests, want %d fault-free + %d injected\n%s", total, b.total, injected, p.CountsText())
			}
			// The run stays within its timeout (reports have their own
			// bound); the slack is for the machine, not the program.
			timeout, _ := time.ParseDuration(s.inputs["timeout"])
			if o.elapsed > timeout+30*time.Second {
				t.Errorf("run took %s, beyond the %s timeout", o.elapsed.Round(time.Second), timeout)
			}
			if c.wantExit == app.ExitIncomplete && !strings.Contains(o.stdout, "Scan incomplete") {
				t.Errorf("exit 3 without saying the scan is incomplete\n%s", o.stdout)
			}
			if s.inputs["on-scan-error"] == "warn" && !strings.Contains(o.stdout, "::warning::Scan incomplete") {
				t.Errorf("on-scan-error warn: no warning that the scan is incomplete\n%s", o.stdout)
			}
			checkRunArtifacts(t, o)
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unscanned names the targets a run reports as not scanned.
func unscanned(o outcome) string {
	if o.report == nil {
		return "(no report)"
	}
	seen := map[string]bool{}
	var where []string
	for _, e := range o.report.Coverage.Errors {
		w := e.Region
		switch {
		case w == "":
			w = "account"
		case e.KeyID != "":
			w = "keys in " + w // per-key errors: the rest of the Region was scanned
		}
		if !seen[w] {
			seen[w] = true
			where = append(where, w)
		}
	}
	sort.Strings(where)
	return strings.Join(where, ", ")
}

// countEvidenceLost counts findings whose last use was checked in the
// fault-free run but not under the fault.
func countEvidenceLost(base, got *jsonreport.Report) int {
	if base == nil || got == nil {
		return 0
	}
	tracked := map[string]bool{}
	for _, f := range base.Findings {
		tracked[f.KeyID] = f.UsageTracked
	}
	n := 0
	for _, f := range got.Findings {
		if tracked[f.KeyID] && !f.UsageTracked {
			n++
		}
	}
	return n
}

func hasError(errs []finding.ScanError, region string) bool {
	for _, e := range errs {
		if e.Region == region {
			return true
		}
	}
	return false
}

func countTagsLost(base, got *jsonreport.Report) int {
	tags := map[string]int{}
	for _, f := range base.Findings {
		tags[f.KeyID] = len(f.Tags)
	}
	n := 0
	for _, f := range got.Findings {
		if len(f.Tags) < tags[f.KeyID] {
			n++
		}
	}
	return n
}

// reportedText says, deterministically, what the run told its user: the
// verdict and the coverage errors by stage.
func reportedText(o outcome) string {
	if o.report == nil {
		return "no report"
	}
	var parts []string
	parts = append(parts, "result "+o.report.Result)
	stages := map[string][]string{}
	keysNotRead := map[string]int{} // region -> keys named by per-key errors
	for _, e := range o.report.Coverage.Errors {
		where := e.Region
		if where == "" {
			where = "account"
		}
		if e.KeyID != "" {
			keysNotRead[where+" ("+e.Stage+")"]++
			continue
		}
		stages[e.Stage] = append(stages[e.Stage], where)
	}
	for _, st := range sortedKeys(stages) {
		sort.Strings(stages[st])
		parts = append(parts, fmt.Sprintf("not scanned: %s (%s)", strings.Join(stages[st], ", "), st))
	}
	for _, where := range sortedKeys(keysNotRead) {
		parts = append(parts, fmt.Sprintf("%d key(s) not read, each named: %s", keysNotRead[where], where))
	}
	if len(o.report.Warnings) > 0 {
		parts = append(parts, fmt.Sprintf("%d warning(s)", len(o.report.Warnings)))
	}
	return strings.Join(parts, "; ")
}

// checkRunArtifacts applies the checks every run must pass, whatever was
// injected: a clean log, safe Markdown, parseable outputs and reports.
func checkRunArtifacts(t *testing.T, o outcome) {
	t.Helper()
	checkLog(t, "stdout", o.stdout)
	checkLog(t, "stderr", o.stderr)
	if o.summary == "" {
		t.Errorf("no job summary written")
	}
	checkMarkdown(t, "job summary", o.summary)
	if o.outputs["result"] == "" {
		t.Errorf("no result output:\n%s", o.outputsRaw)
	}
	if o.report == nil {
		t.Errorf("no JSON report written")
	}
	checkSARIF(t, o.sarif)
}
