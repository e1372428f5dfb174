package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Bound is the quota lower bound of one scenario: no scanner, however
// scheduled, finishes sooner against AWS's quotas and round trips.
//
// Per account and Region with K keys (pages = ceil(K/1000), at least 1), P
// findings and A aliases:
//
//	chain = GetCallerIdentity + AssumeRole (members) + DescribeRegions (all at
//	        the STS/EC2 Region's round trip) + pages x RTT + RTT (DescribeKey,
//	        when K > 0) + RTT (the findings' calls, side by side, when P > 0)
//	quota = max over operations of (calls - burst) / rate, with calls:
//	        DescribeKey K, ListKeys pages, ListResourceTags P, GetKeyLastUsage
//	        P, LookupEvents P (CloudTrail on), ListAliases min(P, ceil(A/100))
//
// and over the organization
//
//	bound = max( max over account-Regions of max(chain, quota),
//	             sum over calls of RTT / runner concurrency,
//	             (members - burst) / AssumeRole rate of the base account )
type Bound struct {
	Seconds    float64 `json:"seconds"`
	Chain      float64 `json:"chain"`
	ChainWhere string  `json:"chain_where"`
	Quota      float64 `json:"quota"`
	QuotaWhere string  `json:"quota_where"`
	Hold       float64 `json:"hold"` // sum of call x RTT / runner concurrency
	STS        float64 `json:"sts"`
	Calls      int64   `json:"calls"`
	CallRTT    float64 `json:"call_rtt"` // sum over calls of their round trip, seconds
	Runner     int     `json:"runner"`
}

// ScanWork is what a plain scan (no findings' calls) of some accounts costs:
// its calls and the sum of their round trips.
type ScanWork struct {
	Calls   int64
	CallRTT float64
}

const stsRegion = "us-east-1"

func (wf WorldFile) rtt(region string) float64 { return wf.RTTms[region] / 1000 }

func (wf WorldFile) lim(op string, n int) float64 {
	q, ok := wf.Quotas[op]
	if !ok || q.Rate <= 0 {
		return 0
	}
	return math.Max(0, float64(n-q.Burst)) / q.Rate
}

// quotaBound computes the Bound of wf with or without CloudTrail lookups.
func quotaBound(wf WorldFile, cloudTrail bool, runner int) Bound {
	b := Bound{Runner: runner}
	sts := wf.rtt(stsRegion)
	member := map[string]bool{}
	for _, m := range wf.Members {
		member[m] = true
	}
	b.Calls, b.CallRTT = 1, sts // the base identity's GetCallerIdentity
	seen := map[string]bool{}
	for _, c := range wf.Counts {
		pre := 2 * sts // GetCallerIdentity, DescribeRegions
		if member[c.Account] {
			pre += sts
		}
		if !seen[c.Account] {
			seen[c.Account] = true
			n := int64(1) // DescribeRegions
			if member[c.Account] {
				n++ // AssumeRole
			}
			b.Calls += n
			b.CallRTT += float64(n) * sts
		}
		rtt := wf.rtt(c.Region)
		pages := max(1, (c.Keys+999)/1000)
		chain := pre + float64(pages)*rtt
		if c.Keys > 0 {
			chain += rtt
		}
		aliasCalls, lookups := 0, 0
		if c.Pending > 0 {
			chain += rtt
			aliasCalls = min(c.Pending, max(1, (c.Aliases+99)/100))
			if cloudTrail {
				lookups = c.Pending
			}
		}
		quota, op := 0.0, ""
		for _, q := range []struct {
			op string
			n  int
		}{{"DescribeKey", c.Keys}, {"ListKeys", pages}, {"ListResourceTags", c.Pending}, {"GetKeyLastUsage", c.Pending}, {"LookupEvents", lookups}, {"ListAliases", aliasCalls}} {
			if t := wf.lim(q.op, q.n); t > quota {
				quota, op = t, q.op
			}
		}
		calls := pages + c.Keys + 2*c.Pending + lookups + aliasCalls
		b.Calls += int64(calls)
		b.CallRTT += float64(calls) * rtt
		if chain > b.Chain {
			b.Chain, b.ChainWhere = chain, fmt.Sprintf("%s/%s: %d keys, %d ListKeys pages, %d findings", c.Account, c.Region, c.Keys, pages, c.Pending)
		}
		if quota > b.Quota {
			b.Quota, b.QuotaWhere = quota, fmt.Sprintf("%s/%s: %s", c.Account, c.Region, op)
		}
	}
	b.Hold = b.CallRTT / float64(runner)
	b.STS = wf.lim("AssumeRole", len(wf.Members))
	b.Seconds = math.Max(math.Max(b.Chain, b.Quota), math.Max(b.Hold, b.STS))
	return b
}

// scanWork is the plain scan of accounts (nil: all of them): what the boto3
// baseline does.
func scanWork(wf WorldFile, accounts []string) ScanWork {
	only := map[string]bool{}
	for _, a := range accounts {
		only[a] = true
	}
	var w ScanWork
	sts := wf.rtt(stsRegion)
	seen := map[string]bool{}
	for _, c := range wf.Counts {
		if accounts != nil && !only[c.Account] {
			continue
		}
		if !seen[c.Account] {
			seen[c.Account] = true
			n := int64(1) // DescribeRegions
			if c.Account != wf.Base {
				n++ // AssumeRole
			}
			w.Calls += n
			w.CallRTT += float64(n) * sts
		}
		calls := max(1, (c.Keys+999)/1000) + c.Keys
		w.Calls += int64(calls)
		w.CallRTT += float64(calls) * wf.rtt(c.Region)
	}
	return w
}

type scaleRun struct {
	run
	present   bool
	simCPU    float64 // seconds of the simulator's CPU during the run
	throttled int64
	note      string
	estimate  float64 // extrapolated wall time, when the run was a sample
	calls     int64   // calls of the full scenario (estimate), else measured
}

func loadScaleRun(dir, id, name string) (scaleRun, error) {
	r := scaleRun{}
	if _, err := os.Stat(filepath.Join(dir, id, "time.txt")); err != nil {
		return r, nil
	}
	var err error
	r.run, err = loadRun(dir, id, name)
	if err != nil {
		return r, err
	}
	r.present = true
	var c struct {
		Throttled map[string]int64 `json:"throttled"`
	}
	if err := readJSON(filepath.Join(dir, id, "counts.json"), &c); err == nil {
		for _, n := range c.Throttled {
			r.throttled += n
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, id, "sim-cpu-ticks.txt")); err == nil {
		ticks, _ := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		r.simCPU = ticks / 100 // USER_HZ
	}
	r.calls = r.counts.Total
	return r, nil
}

// checkKdg compares a kdg report with the world: every pending key found,
// per account and Region, no scan errors; with CloudTrail on, who scheduled
// each deletion known.
func checkKdg(wf WorldFile, path string, cloudTrail bool) (string, error) {
	var rep struct {
		Findings []struct {
			Account     string `json:"account"`
			Region      string `json:"region"`
			State       string `json:"state"`
			ScheduledBy any    `json:"scheduled_by"`
		} `json:"findings"`
		Coverage struct {
			Errors []any `json:"errors"`
		} `json:"coverage"`
	}
	if err := readJSON(path, &rep); err != nil {
		return "", err
	}
	got, want := map[string]int{}, map[string]int{}
	scheduled, pending := 0, 0
	for _, f := range rep.Findings {
		if f.State == "PendingDeletion" {
			got[f.Account+"/"+f.Region]++
			pending++
			if f.ScheduledBy != nil {
				scheduled++
			}
		}
	}
	total := 0
	for _, c := range wf.Counts {
		if c.Pending > 0 {
			want[c.Account+"/"+c.Region] = c.Pending
			total += c.Pending
		}
	}
	var bad []string
	for k, n := range want {
		if got[k] != n {
			bad = append(bad, fmt.Sprintf("%s: %d of %d", k, got[k], n))
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			bad = append(bad, fmt.Sprintf("%s: %d unexpected", k, n))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 || len(rep.Coverage.Errors) > 0 {
		return "", fmt.Errorf("%s: pending keys differ from the world (%v) or scan errors (%d)", path, head(bad), len(rep.Coverage.Errors))
	}
	if cloudTrail && scheduled != pending {
		return "", fmt.Errorf("%s: CloudTrail on, but only %d of %d findings say who scheduled the deletion", path, scheduled, pending)
	}
	note := fmt.Sprintf("%d pending keys found, as seeded", total)
	if cloudTrail {
		note += fmt.Sprintf("; %d with who scheduled it (CloudTrail)", scheduled)
	}
	return note, nil
}

func runScaleReport(args []string) error {
	fs := flag.NewFlagSet("scale-report", flag.ContinueOnError)
	dir := fs.String("dir", "", "work directory written by scripts/bench-scale.sh")
	runner := fs.Int("runner-concurrency", 1024, "calls one runner holds in flight (the bound's last term)")
	out := fs.String("out", "", "also write the Markdown here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	var md strings.Builder
	var cliPerCall, orgRatio float64
	var failures []string
	for _, scenario := range []string{"single", "org"} {
		res, err := scaleScenario(filepath.Join(*dir, scenario), *runner, &cliPerCall)
		if err != nil {
			return fmt.Errorf("%s: %w", scenario, err)
		}
		md.WriteString(res.markdown)
		failures = append(failures, res.failures...)
		if scenario == "org" {
			orgRatio = res.ratio
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(&md, "\nTargets missed: %s\n", strings.Join(failures, "; "))
	}
	fmt.Fprintf(&md, "\nratio-to-lower-bound: %.2f\n", orgRatio)
	fmt.Print(md.String())
	if *out != "" {
		return os.WriteFile(*out, []byte(md.String()), 0o644)
	}
	return nil
}

type scenarioResult struct {
	markdown string
	ratio    float64
	failures []string
}

func scaleScenario(dir string, runner int, cliPerCall *float64) (scenarioResult, error) {
	var res scenarioResult
	var wf WorldFile
	if err := readJSON(filepath.Join(dir, "world.json"), &wf); err != nil {
		return res, err
	}
	kdg, err := loadScaleRun(dir, "kdg", "kdg, defaults (cloudtrail on)")
	if err != nil {
		return res, err
	}
	noct, err := loadScaleRun(dir, "kdg-noct", "kdg, `--cloudtrail false`")
	if err != nil {
		return res, err
	}
	boto, err := loadScaleRun(dir, "boto3", "boto3, 16 threads")
	if err != nil {
		return res, err
	}
	cli, err := loadScaleRun(dir, "cli", "AWS CLI procedure")
	if err != nil {
		return res, err
	}
	if !kdg.present || !noct.present || !boto.present {
		return res, errors.New("a kdg or boto3 run is missing")
	}
	if kdg.note, err = checkKdg(wf, filepath.Join(dir, "kdg", "report.json"), true); err != nil {
		return res, err
	}
	if noct.note, err = checkKdg(wf, filepath.Join(dir, "kdg-noct", "report.json"), false); err != nil {
		return res, err
	}
	if err := botoEstimate(wf, dir, &boto); err != nil {
		return res, err
	}
	if cli.present {
		if err := cliMeasure(dir, &cli, cliPerCall); err != nil {
			return res, err
		}
	}
	full := scanWork(wf, nil)
	cliEstimate := *cliPerCall * float64(full.Calls)
	withCT, scanOnly := quotaBound(wf, true, runner), quotaBound(wf, false, runner)
	res.ratio = kdg.wall / withCT.Seconds
	res.markdown = scaleMarkdown(wf, dir, []scaleRun{kdg, noct, boto, cli}, withCT, scanOnly, full, cliEstimate)
	if res.ratio > 1.3 {
		res.failures = append(res.failures, fmt.Sprintf("%s: %.2fx the lower bound (target 1.3x)", wf.Scenario, res.ratio))
	}
	if wf.Scenario == "org" {
		if s := boto.estimate / kdg.wall; s < 5 {
			res.failures = append(res.failures, fmt.Sprintf("org: %.1fx faster than boto3 (target 5x)", s))
		}
		if kdg.maxRSS >= 256 {
			res.failures = append(res.failures, fmt.Sprintf("org: peak RSS %.0f MiB (target < 256)", kdg.maxRSS))
		}
	}
	return res, nil
}

// botoEstimate checks the boto3 run against the world and extrapolates it
// from its sample of accounts: a 16-thread pool's time is its calls'
// round trips over its threads, so it scales with the sum of call x RTT.
func botoEstimate(wf WorldFile, dir string, r *scaleRun) error {
	var out struct {
		Seconds    float64    `json:"seconds"`
		Accounts   []string   `json:"accounts"`
		Pending    [][]string `json:"pending"`
		ErrorCount int        `json:"error_count"`
		Errors     []string   `json:"errors"`
	}
	if err := readJSON(filepath.Join(dir, "boto3", "out.json"), &out); err != nil {
		return err
	}
	in := map[string]bool{}
	for _, a := range out.Accounts {
		in[a] = true
	}
	want := 0
	for _, c := range wf.Counts {
		if in[c.Account] {
			want += c.Pending
		}
	}
	if out.ErrorCount > 0 || len(out.Pending) != want {
		return fmt.Errorf("boto3 found %d pending keys of %d in its accounts, %d errors %v", len(out.Pending), want, out.ErrorCount, out.Errors)
	}
	sample, full := scanWork(wf, out.Accounts), scanWork(wf, nil)
	r.estimate, r.calls = r.wall, full.Calls
	if len(out.Accounts) < len(wf.Members) {
		r.estimate = r.wall * full.CallRTT / sample.CallRTT
		r.note = fmt.Sprintf("measured on %d of %d accounts (every %dth by key count; %d calls, %d pending keys found, as seeded), **extrapolated** by the sum of call round trips (%.0f s of %.0f s)",
			len(out.Accounts), len(wf.Members), len(wf.Members)/max(1, len(out.Accounts)), r.counts.Total, want, sample.CallRTT, full.CallRTT)
	} else {
		r.note = fmt.Sprintf("all accounts; %d pending keys found, as seeded", want)
	}
	return nil
}

// cliMeasure reads the AWS CLI run: its mean time a call is what the
// procedure costs per call (one Python start each).
func cliMeasure(dir string, r *scaleRun, perCall *float64) error {
	calls, err := loadCLICalls(filepath.Join(dir, "cli", "calls.tsv"))
	if err != nil {
		return err
	}
	if len(calls) == 0 {
		return errors.New("the AWS CLI made no call")
	}
	var t []float64
	for _, c := range calls {
		t = append(t, c.seconds)
	}
	*perCall = mean(t)
	r.note = fmt.Sprintf("%d calls measured, mean %.0f ms a call (median %.0f ms)", len(calls), mean(t)*1000, median(t)*1000)
	return nil
}

func scaleMarkdown(wf WorldFile, dir string, runs []scaleRun, withCT, scanOnly Bound, full ScanWork, cliEstimate float64) string {
	kdg, noct, boto, cli := runs[0], runs[1], runs[2], runs[3]
	var w strings.Builder
	keys, pending, accounts := 0, 0, map[string]bool{}
	for _, c := range wf.Counts {
		keys += c.Keys
		pending += c.Pending
		accounts[c.Account] = true
	}
	title := "One account x all Regions (the common case)"
	if wf.Scenario == "org" {
		title = "Organization"
	}
	fmt.Fprintf(&w, "\n### %s: %d account(s) x %d Regions, %d keys, %d pending deletion (seed %d)\n\n", title, len(accounts), len(wf.Regions), keys, pending, wf.Seed)
	w.WriteString("| run | wall time | AWS calls | throttled | peak RSS | simulator CPU | ratio to lower bound | speed-up vs boto3 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, wall float64, calls, throttled int64, rss, simCPU, bound, botoTime float64) {
		ratio, speed := "", ""
		if bound > 0 {
			ratio = fmt.Sprintf("%.2fx", wall/bound)
		}
		if botoTime > 0 {
			speed = fmt.Sprintf("%.1fx", botoTime/wall)
		}
		cpu := ""
		if simCPU > 0 {
			cpu = secs(simCPU)
		}
		fmt.Fprintf(&w, "| %s | %s | %d | %d | %s | %s | %s | %s |\n", name, secs(wall), calls, throttled, mib(rss), cpu, ratio, speed)
	}
	row(kdg.name, kdg.wall, kdg.counts.Total, kdg.throttled, kdg.maxRSS, kdg.simCPU, withCT.Seconds, boto.estimate)
	row(noct.name, noct.wall, noct.counts.Total, noct.throttled, noct.maxRSS, noct.simCPU, scanOnly.Seconds, boto.estimate)
	if boto.estimate != boto.wall {
		row("boto3, 16 threads, measured on the sample", boto.wall, boto.counts.Total, boto.throttled, boto.maxRSS, boto.simCPU, 0, 0)
		row("boto3, 16 threads, **extrapolated** to every account", boto.estimate, full.Calls, 0, 0, 0, scanOnly.Seconds, boto.estimate)
	} else {
		row(boto.name, boto.wall, boto.counts.Total, boto.throttled, boto.maxRSS, boto.simCPU, scanOnly.Seconds, boto.estimate)
	}
	if cli.present {
		row("AWS CLI procedure, measured on a sample of keys", cli.wall, cli.counts.Total, cli.throttled, cli.maxRSS, 0, 0, 0)
	}
	if cliEstimate > 0 {
		row("AWS CLI procedure, **extrapolated** to every key", cliEstimate, full.Calls, 0, 0, 0, scanOnly.Seconds, 0)
	}
	row("lower bound, CloudTrail on", withCT.Seconds, withCT.Calls, 0, 0, 0, withCT.Seconds, boto.estimate)
	row("lower bound, CloudTrail off", scanOnly.Seconds, scanOnly.Calls, 0, 0, 0, scanOnly.Seconds, boto.estimate)
	fmt.Fprintf(&w, "\n- kdg calls by operation: %s. %s.\n", opsLine(kdg.counts.ByOperation), kdg.note)
	fmt.Fprintf(&w, "- kdg `--cloudtrail false`: %s. %s.\n", opsLine(noct.counts.ByOperation), noct.note)
	fmt.Fprintf(&w, "- boto3: %s; calls %s.\n", boto.note, opsLine(boto.counts.ByOperation))
	if cli.present {
		fmt.Fprintf(&w, "- AWS CLI: %s; extrapolated as %d calls x the mean, one after the other (AssumeRole and DescribeRegions counted like the others).\n", cli.note, full.Calls)
	}
	for _, b := range []struct {
		name string
		b    Bound
	}{{"CloudTrail on", withCT}, {"CloudTrail off", scanOnly}} {
		fmt.Fprintf(&w, "- Lower bound, %s = max(longest chain %s [%s], slowest quota %s [%s], %d calls x their round trips %s / %d in flight = %s, %d AssumeRole at the base account's quota = %s) = **%s**.\n",
			b.name, secs(b.b.Chain), b.b.ChainWhere, secs(b.b.Quota), b.b.QuotaWhere, b.b.Calls, secs(b.b.CallRTT), b.b.Runner, secs(b.b.Hold), len(wf.Members), secs(b.b.STS), secs(b.b.Seconds))
	}
	return w.String()
}
