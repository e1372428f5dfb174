package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AWS KMS default request quotas (requests per second, per account and
// Region) of the operations a scan needs, from the AWS KMS Developer Guide,
// "Request quotas" (docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html).
// Each operation's quota is calculated independently and all are adjustable;
// older editions of the guide (the 2020 awsdocs/aws-kms-developer-guide
// archive) listed DescribeKey at 100/s and ListResourceTags at 100/s, so
// check Service Quotas for an account's values. At the benchmark's sizes
// none of them binds.
var kmsQuota = map[string]float64{
	"DescribeKey":      2000,
	"ListKeys":         100,
	"ListAliases":      100,
	"ListResourceTags": 50,
}

// findingOnly are the operations kms-deletion-gate calls only for findings;
// every other call is what a healthy key costs.
// chainDepth is the number of calls that must follow one another.
const chainDepth = 4

var findingOnly = map[string]bool{
	"ListAliases": true, "ListResourceTags": true, "GetKeyLastUsage": true, "LookupEvents": true,
}

// snapshot mirrors latencyproxy.Snapshot (kept separate so the report reads
// any JSON the proxy wrote, old or new).
type snapshot struct {
	Total       int64            `json:"total"`
	ByOperation map[string]int64 `json:"by_operation"`
	MaxInFlight int64            `json:"max_in_flight"`
	Connections int64            `json:"connections"`
}

type kdgReport struct {
	Findings []struct {
		Region string `json:"region"`
		KeyID  string `json:"key_id"`
		State  string `json:"state"`
	} `json:"findings"`
	Coverage struct {
		KeysSeen int   `json:"keys_seen"`
		APICalls int64 `json:"api_calls"`
		Errors   []any `json:"errors"`
	} `json:"coverage"`
}

type run struct {
	name     string
	wall     float64 // seconds
	maxRSS   float64 // MiB
	counts   snapshot
	exitCode int
}

type cliCall struct {
	op, region, key, state, manager string
	seconds                         float64
}

type reportFlags struct {
	dir         string
	rttMS       float64
	concurrency int
	cliKeys     int
	out         string
}

// benchRuns is what scripts/bench.sh left in the work directory.
type benchRuns struct {
	m       Manifest
	tp      Throughput
	a, b, c run
	calls   []cliCall
	ra, rb  kdgReport
}

// seededKeys is what was seeded: totals, the pending keys, and the keys of
// the AWS CLI baseline's subset.
type seededKeys struct {
	total, pending, disabled int
	expected                 map[string]bool // region/key of every pending key
	subset                   map[string]bool // keys the CLI baseline described
	expectedSubset           map[string]bool // pending keys in the subset
}

// cliBaseline is what the AWS CLI procedure's calls found and cost.
type cliBaseline struct {
	found, described   map[string]bool
	listSecs, descSecs []float64
}

// lowerBound is the unavoidable work and the time it needs.
type lowerBound struct {
	need        map[string]int64
	needTotal   int64
	quotaBound  float64 // seconds: keys per region at the DescribeKey quota
	at16, at1   float64 // seconds at the default concurrency and at 1
	why16, why1 string
}

func runReport(args []string) error {
	f, err := parseReportFlags(args)
	if err != nil {
		return err
	}
	br, err := loadBenchRuns(f.dir)
	if err != nil {
		return err
	}
	seeded := countSeeded(br.m, f.cliKeys)
	cli := summarizeCLICalls(br.calls)
	problems := checkAgreement(br, seeded, cli, f.cliKeys)
	lb := computeLowerBound(br, f)

	var w strings.Builder
	writeRunTable(&w, br, seeded, cli, lb, f)
	writeNotes(&w, br, seeded, cli, lb, f)
	writeCorrectness(&w, br, seeded, cli, problems)
	writeTargets(&w, br, seeded, cli, lb, f.dir)

	fmt.Print(w.String())
	if f.out != "" {
		if err := os.WriteFile(f.out, []byte(w.String()), 0o644); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the runs disagree on which keys are pending deletion (%d problem(s))", len(problems))
	}
	return nil
}

func parseReportFlags(args []string) (reportFlags, error) {
	var f reportFlags
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.StringVar(&f.dir, "dir", "", "benchmark work directory written by scripts/bench.sh")
	fs.Float64Var(&f.rttMS, "rtt-ms", 30, "round trip added by the latency proxy, in milliseconds")
	fs.IntVar(&f.concurrency, "concurrency", 16, "kms-deletion-gate's default max-concurrency")
	fs.IntVar(&f.cliKeys, "cli-keys", 25, "keys per region the AWS CLI baseline described")
	fs.StringVar(&f.out, "out", "", "also write the Markdown here")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.dir == "" {
		return f, errors.New("-dir is required")
	}
	return f, nil
}

func loadBenchRuns(dir string) (benchRuns, error) {
	var br benchRuns
	var err error
	if err = readJSON(filepath.Join(dir, "manifest.json"), &br.m); err != nil {
		return br, err
	}
	if err = readJSON(filepath.Join(dir, "throughput.json"), &br.tp); err != nil {
		return br, err
	}
	if br.a, err = loadRun(dir, "a", "kdg, default concurrency"); err != nil {
		return br, err
	}
	if br.b, err = loadRun(dir, "b", "kdg, --max-concurrency 1"); err != nil {
		return br, err
	}
	if br.c, err = loadRun(dir, "c", "AWS CLI procedure"); err != nil {
		return br, err
	}
	if br.calls, err = loadCLICalls(filepath.Join(dir, "c", "calls.tsv")); err != nil {
		return br, err
	}
	if err = readJSON(filepath.Join(dir, "a", "report.json"), &br.ra); err != nil {
		return br, err
	}
	err = readJSON(filepath.Join(dir, "b", "report.json"), &br.rb)
	return br, err
}

func countSeeded(m Manifest, cliKeys int) seededKeys {
	s := seededKeys{expected: map[string]bool{}, subset: map[string]bool{}, expectedSubset: map[string]bool{}}
	for _, r := range m.Regions {
		rm := m.ByRegion[r]
		s.total += len(rm.Keys)
		s.pending += len(rm.Pending)
		s.disabled += len(rm.Disabled)
		for _, id := range rm.Pending {
			s.expected[r+"/"+id] = true
		}
		for i, id := range rm.Keys {
			if cliKeys <= 0 || i < cliKeys {
				s.subset[r+"/"+id] = true
			}
		}
	}
	for k := range s.expected {
		if s.subset[k] {
			s.expectedSubset[k] = true
		}
	}
	return s
}

func summarizeCLICalls(calls []cliCall) cliBaseline {
	c := cliBaseline{found: map[string]bool{}, described: map[string]bool{}}
	for _, cc := range calls {
		switch cc.op {
		case "ListKeys":
			c.listSecs = append(c.listSecs, cc.seconds)
		case "DescribeKey":
			c.descSecs = append(c.descSecs, cc.seconds)
			c.described[cc.region+"/"+cc.key] = true
			if cc.manager == "CUSTOMER" && (cc.state == "PendingDeletion" || cc.state == "PendingReplicaDeletion") {
				c.found[cc.region+"/"+cc.key] = true
			}
		}
	}
	return c
}

// checkAgreement lists every way the runs disagree with the seeding or with
// one another.
func checkAgreement(br benchRuns, seeded seededKeys, cli cliBaseline, cliKeys int) []string {
	var problems []string
	foundA, foundB := findingSet(br.ra), findingSet(br.rb)
	if d := diff(foundA, seeded.expected); d != "" {
		problems = append(problems, "(a) findings differ from the seeded pending keys: "+d)
	}
	if d := diff(foundB, seeded.expected); d != "" {
		problems = append(problems, "(b) findings differ from the seeded pending keys: "+d)
	}
	if d := diff(cli.described, seeded.subset); d != "" {
		problems = append(problems, "(c) described other keys than the first "+strconv.Itoa(cliKeys)+" of each region: "+d)
	}
	if d := diff(cli.found, seeded.expectedSubset); d != "" {
		problems = append(problems, "(c) pending keys on the shared subset differ from the seeded ones: "+d)
	}
	if d := diff(restrict(foundA, seeded.subset), cli.found); d != "" {
		problems = append(problems, "(a) and (c) disagree on the shared subset: "+d)
	}
	if br.ra.Coverage.KeysSeen != seeded.total || br.rb.Coverage.KeysSeen != seeded.total {
		problems = append(problems, fmt.Sprintf("keys seen: (a) %d, (b) %d, want %d", br.ra.Coverage.KeysSeen, br.rb.Coverage.KeysSeen, seeded.total))
	}
	if len(br.ra.Coverage.Errors)+len(br.rb.Coverage.Errors) > 0 {
		problems = append(problems, "a kdg run reported scan errors")
	}
	for _, r := range []run{br.a, br.b} {
		if r.exitCode != 0 && r.exitCode != 1 {
			problems = append(problems, fmt.Sprintf("%s exited %d (want 0 or 1)", r.name, r.exitCode))
		}
	}
	return problems
}

// computeLowerBound: the calls that cannot be avoided, over the concurrency
// allowed, or over moto's own throughput, whichever is larger. Unavoidable:
// the caller identity, ListKeys pages, one DescribeKey per key, and for
// findings one ListAliases walk per region with findings plus
// ListResourceTags per finding (and GetKeyLastUsage per finding when this
// build calls it). Pages are moto's (it ignores Limit: one page per list
// call).
func computeLowerBound(br benchRuns, f reportFlags) lowerBound {
	rtt := f.rttMS / 1000
	lb := lowerBound{need: map[string]int64{"GetCallerIdentity": 1}}
	for _, r := range br.m.Regions {
		rm := br.m.ByRegion[r]
		lb.need["ListKeys"]++
		lb.need["DescribeKey"] += int64(len(rm.Keys))
		if len(rm.Pending) > 0 {
			lb.need["ListAliases"]++
			lb.need["ListResourceTags"] += int64(len(rm.Pending))
			if br.a.counts.ByOperation["GetKeyLastUsage"] > 0 {
				lb.need["GetKeyLastUsage"] += int64(len(rm.Pending))
			}
		}
	}
	for _, n := range lb.need {
		lb.needTotal += n
	}
	// The quota bound: each region's DescribeKey calls at the quota rate,
	// regions in parallel (quotas are per account and Region).
	lb.quotaBound = float64(br.m.KeysPerRegion) / kmsQuota["DescribeKey"]
	// Concurrency the quotas allow at this round trip: quota x RTT in
	// flight per region.
	quotaConcurrency := kmsQuota["DescribeKey"] * rtt * float64(len(br.m.Regions))
	at := func(conc int) (float64, string) {
		cEff := math.Min(float64(conc), quotaConcurrency)
		// The calls also form a chain no concurrency shortens:
		// GetCallerIdentity -> ListKeys -> DescribeKey -> ListResourceTags.
		lat := math.Max(float64(lb.needTotal)*rtt/cEff, chainDepth*rtt)
		moto := float64(lb.needTotal) / br.tp.PerSecond
		best, why := lat, "latency"
		if moto > best {
			best, why = moto, "moto throughput"
		}
		if lb.quotaBound > best {
			best, why = lb.quotaBound, "KMS quota"
		}
		return best, why
	}
	lb.at16, lb.why16 = at(f.concurrency)
	lb.at1, lb.why1 = at(1)
	return lb
}

// cliFull extrapolates the CLI baseline, measured on a subset, to every
// key: its wall time and its calls.
func cliFull(br benchRuns, seeded seededKeys, cli cliBaseline) (wall float64, calls int64) {
	listPerRegion := float64(br.c.counts.ByOperation["ListKeys"]) / float64(max(1, len(br.m.Regions)))
	wall = float64(len(br.m.Regions))*mean(cli.listSecs) + float64(seeded.total)*mean(cli.descSecs)
	calls = int64(math.Round(listPerRegion*float64(len(br.m.Regions)))) + int64(seeded.total)
	return wall, calls
}

// healthyCalls is the calls per key a run made that are not finding-only.
func healthyCalls(r run, totalKeys int) float64 {
	var n int64
	for op, k := range r.counts.ByOperation {
		if !findingOnly[op] {
			n += k
		}
	}
	return float64(n) / float64(totalKeys)
}

func writeRunTable(w *strings.Builder, br benchRuns, seeded seededKeys, cli cliBaseline, lb lowerBound, f reportFlags) {
	a, b, c, totalKeys := br.a, br.b, br.c, seeded.total
	cliFullWall, cliFullCalls := cliFull(br, seeded, cli)
	describedN := len(cli.descSecs)
	perKey := func(r run) float64 { return float64(r.counts.Total) / float64(totalKeys) }
	fmt.Fprintf(w, "Setup: moto_server %s behind a latency proxy adding %.0f ms per call; %d regions x %d customer keys = %d keys (%d pending deletion, %d disabled); kdg default max-concurrency %d. moto's measured DescribeKey throughput (Go SDK, %d in flight, no proxy): %.0f calls/s.\n\n",
		"(loopback)", f.rttMS, len(br.m.Regions), br.m.KeysPerRegion, totalKeys, seeded.pending, seeded.disabled, f.concurrency, br.tp.Concurrency, br.tp.PerSecond)

	w.WriteString("| run | wall time | AWS calls | calls/key | calls/healthy key | peak RSS | speed-up vs (c) | ratio to lower bound |\n")
	w.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, wall float64, calls int64, pk, hk, rss float64, speedup, lbRatio string) {
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s |\n", name, secs(wall), calls, num(pk, 3), num(hk, 3), mib(rss), speedup, lbRatio)
	}
	unavoidableHealthy := float64(lb.need["GetCallerIdentity"]+lb.need["ListKeys"]+lb.need["DescribeKey"]) / float64(totalKeys)
	row(fmt.Sprintf("(a) kdg, default (%d in flight, max seen %d)", f.concurrency, a.counts.MaxInFlight), a.wall, a.counts.Total, perKey(a), healthyCalls(a, totalKeys), a.maxRSS,
		fmt.Sprintf("%.0fx", cliFullWall/a.wall), fmt.Sprintf("%.2fx", a.wall/lb.at16))
	row("(b) kdg, `--max-concurrency 1`", b.wall, b.counts.Total, perKey(b), healthyCalls(b, totalKeys), b.maxRSS,
		fmt.Sprintf("%.0fx", cliFullWall/b.wall), fmt.Sprintf("%.2fx", b.wall/lb.at1))
	row(fmt.Sprintf("(c) AWS CLI, measured on %d keys (first %d per region)", describedN, f.cliKeys), c.wall, c.counts.Total,
		float64(c.counts.Total)/float64(max(1, describedN)), float64(c.counts.Total)/float64(max(1, describedN)), c.maxRSS, "", "")
	row(fmt.Sprintf("(c) AWS CLI, **extrapolated** to %d keys", totalKeys), cliFullWall, cliFullCalls,
		float64(cliFullCalls)/float64(totalKeys), float64(cliFullCalls)/float64(totalKeys), math.NaN(), "1x", "")
	row(fmt.Sprintf("lower bound at %d in flight (%s-bound)", f.concurrency, lb.why16), lb.at16, lb.needTotal, float64(lb.needTotal)/float64(totalKeys),
		unavoidableHealthy, math.NaN(), fmt.Sprintf("%.0fx", cliFullWall/lb.at16), "1x")
	row(fmt.Sprintf("lower bound at 1 in flight (%s-bound)", lb.why1), lb.at1, lb.needTotal, float64(lb.needTotal)/float64(totalKeys),
		unavoidableHealthy, math.NaN(), "", "1x")
}

// writeNotes explains the calls by operation, the CLI extrapolation and the
// lower bound.
func writeNotes(w *strings.Builder, br benchRuns, seeded seededKeys, cli cliBaseline, lb lowerBound, f reportFlags) {
	a, b, c, m, tp := br.a, br.b, br.c, br.m, br.tp
	rtt := f.rttMS / 1000
	cliFullWall, _ := cliFull(br, seeded, cli)
	fmt.Fprintf(w, "\nCalls by operation (from the proxy): (a) %s; (b) %s; (c) %s. Unavoidable: %s. New TCP connections to the proxy: (a) %d, (b) %d, (c) %d.\n",
		opsLine(a.counts.ByOperation), opsLine(b.counts.ByOperation), opsLine(c.counts.ByOperation), opsLine(lb.need), a.counts.Connections, b.counts.Connections, c.counts.Connections)
	fmt.Fprintf(w, "\nAWS CLI extrapolation: %d list-keys calls averaged %s and %d describe-key calls averaged %s each (median %s), so %d regions x (1 list-keys + %d describe-key) = %s. Its measured wall time for the subset was %s.\n",
		len(cli.listSecs), secs(mean(cli.listSecs)), len(cli.descSecs), secs(mean(cli.descSecs)), secs(median(cli.descSecs)), len(m.Regions), m.KeysPerRegion, secs(cliFullWall), secs(c.wall))
	fmt.Fprintf(w, "\nLower bound = max(unavoidable calls x %.0f ms / concurrency allowed, %d chained calls x %.0f ms, unavoidable calls / moto's %.0f calls/s, keys per region / %.0f DescribeKey/s quota) = max(%s, %s, %s, %s) at %d in flight. The KMS request quotas (DescribeKey %.0f/s, ListKeys %.0f/s, ListAliases %.0f/s, ListResourceTags %.0f/s, per account and Region) allow %.0f DescribeKey calls in flight per region at this round trip, so they do not bind at %d.\n",
		f.rttMS, chainDepth, f.rttMS, tp.PerSecond, kmsQuota["DescribeKey"], secs(float64(lb.needTotal)*rtt/float64(f.concurrency)), secs(chainDepth*rtt), secs(float64(lb.needTotal)/tp.PerSecond), secs(lb.quotaBound), f.concurrency,
		kmsQuota["DescribeKey"], kmsQuota["ListKeys"], kmsQuota["ListAliases"], kmsQuota["ListResourceTags"], kmsQuota["DescribeKey"]*rtt, f.concurrency)
}

func writeCorrectness(w *strings.Builder, br benchRuns, seeded seededKeys, cli cliBaseline, problems []string) {
	foundA, foundB := findingSet(br.ra), findingSet(br.rb)
	fmt.Fprintf(w, "\nSame pending keys: (a) found %d, (b) found %d, seeded %d; on the shared subset (c) found %d, (a) found %d, seeded %d.",
		len(foundA), len(foundB), len(seeded.expected), len(cli.found), len(restrict(foundA, seeded.subset)), len(seeded.expectedSubset))
	if len(problems) == 0 {
		w.WriteString(" All agree.\n")
		return
	}
	w.WriteString(" **MISMATCH:**\n")
	for _, p := range problems {
		fmt.Fprintf(w, "- %s\n", p)
	}
}

// writeTargets checks the measurements against the product's targets, then
// lists the in-process pipeline benchmark when go-bench.txt is present.
func writeTargets(w *strings.Builder, br benchRuns, seeded seededKeys, cli cliBaseline, lb lowerBound, dir string) {
	a := br.a
	cliFullWall, _ := cliFull(br, seeded, cli)
	healthy := healthyCalls(a, seeded.total)
	goBench, _ := parseGoBench(filepath.Join(dir, "go-bench.txt"))
	w.WriteString("\n| target | measured | met |\n|---|---|---|\n")
	target := func(name, measured string, ok bool) {
		fmt.Fprintf(w, "| %s | %s | %s |\n", name, measured, yes(ok))
	}
	target(">= 50x faster than the AWS CLI procedure", fmt.Sprintf("%.0fx ((c) extrapolated / (a))", cliFullWall/a.wall), cliFullWall/a.wall >= 50)
	target("within 1.3x of the lower bound at default settings", fmt.Sprintf("%.2fx", a.wall/lb.at16), a.wall/lb.at16 <= 1.3)
	target("<= 1.01 AWS calls per healthy key", fmt.Sprintf("%.4f", healthy), healthy <= 1.01)
	if g, ok := goBench["keys=100000"]; ok {
		target("peak memory < 64 MiB for 100,000 keys", fmt.Sprintf("%.1f MiB peak Go heap (in-process pipeline)", g["peak-heap-MiB"]), g["peak-heap-MiB"] < 64)
	} else {
		target("peak memory < 64 MiB for 100,000 keys", "not measured (go-bench.txt missing)", false)
	}
	writeGoBench(w, goBench)
}

func writeGoBench(w *strings.Builder, goBench map[string]map[string]float64) {
	if len(goBench) == 0 {
		return
	}
	w.WriteString("\nIn-process pipeline (scan + policy + JSON report + job summary + table, synthetic KMS, 4% pending):\n\n")
	w.WriteString("| keys | ns/key | B/key | allocs/key | calls/key | peak heap |\n|---:|---:|---:|---:|---:|---:|\n")
	names := make([]string, 0, len(goBench))
	for n := range goBench {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return goBench[names[i]]["keys"] < goBench[names[j]]["keys"] })
	for _, n := range names {
		g := goBench[n]
		fmt.Fprintf(w, "| %.0f | %.0f | %.0f | %.1f | %.3f | %.1f MiB |\n", g["keys"], g["ns/key"], g["B/key"], g["allocs/key"], g["calls/key"], g["peak-heap-MiB"])
	}
}

func loadRun(dir, id, name string) (run, error) {
	r := run{name: name}
	if err := readJSON(filepath.Join(dir, id, "counts.json"), &r.counts); err != nil {
		return r, err
	}
	data, err := os.ReadFile(filepath.Join(dir, id, "time.txt"))
	if err != nil {
		return r, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Elapsed (wall clock) time"):
			f := strings.Fields(line)
			r.wall, err = parseClock(f[len(f)-1])
			if err != nil {
				return r, fmt.Errorf("%s/time.txt: %w", id, err)
			}
		case strings.HasPrefix(line, "Maximum resident set size (kbytes):"):
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Maximum resident set size (kbytes):")), 64)
			if err != nil {
				return r, fmt.Errorf("%s/time.txt: %w", id, err)
			}
			r.maxRSS = kb / 1024
		case strings.HasPrefix(line, "Exit status:"):
			r.exitCode, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Exit status:")))
		}
	}
	if r.wall == 0 {
		return r, fmt.Errorf("%s/time.txt: no wall time (was it written by /usr/bin/time -v?)", id)
	}
	return r, nil
}

// parseClock parses GNU time's "h:mm:ss" or "m:ss.ss".
func parseClock(s string) (float64, error) {
	parts := strings.Split(s, ":")
	var total float64
	for _, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, fmt.Errorf("bad elapsed time %q", s)
		}
		total = total*60 + v
	}
	return total, nil
}

func loadCLICalls(path string) ([]cliCall, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cliCall
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 6 {
			continue
		}
		s, err := strconv.ParseFloat(fields[5], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, cliCall{op: fields[0], region: fields[1], key: fields[2], state: fields[3], manager: fields[4], seconds: s})
	}
	return out, sc.Err()
}

var benchLine = regexp.MustCompile(`^BenchmarkPipeline/(keys=(\d+))\S*\s+\d+\s+(.*)$`)

// parseGoBench reads `go test -bench BenchmarkPipeline` output; for a size
// run several times it keeps the last line.
func parseGoBench(path string) (map[string]map[string]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]float64{}
	for _, line := range strings.Split(string(data), "\n") {
		mm := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if mm == nil {
			continue
		}
		vals := map[string]float64{}
		vals["keys"], _ = strconv.ParseFloat(mm[2], 64)
		f := strings.Fields(mm[3])
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				vals[f[i+1]] = v
			}
		}
		out[mm[1]] = vals
	}
	return out, nil
}

func findingSet(r kdgReport) map[string]bool {
	s := map[string]bool{}
	for _, f := range r.Findings {
		s[f.Region+"/"+f.KeyID] = true
	}
	return s
}

func restrict(s, to map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range s {
		if to[k] {
			out[k] = true
		}
	}
	return out
}

func diff(got, want map[string]bool) string {
	var extra, missing []string
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	if len(extra)+len(missing) == 0 {
		return ""
	}
	sort.Strings(extra)
	sort.Strings(missing)
	return fmt.Sprintf("unexpected %v, missing %v", head(extra), head(missing))
}

func head(s []string) []string {
	if len(s) > 5 {
		return append(s[:5:5], fmt.Sprintf("... (%d in all)", len(s)))
	}
	return s
}

func opsLine(m map[string]int64) string {
	ops := make([]string, 0, len(m))
	for op := range m {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s %d", op, m[op])
	}
	return strings.Join(parts, ", ")
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func secs(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", s)
	default:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
}

func mib(v float64) string {
	if math.IsNaN(v) || v == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f MiB", v)
}

func num(v float64, digits int) string { return strconv.FormatFloat(v, 'f', digits, 64) }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
