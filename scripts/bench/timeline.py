#!/usr/bin/env python3
"""Print the timeline of a traced organization run (scripts/bench/trace-org.sh).

Reads DIR/trace.json (GET /__awssim/trace), DIR/t0 and DIR/t1 (Unix ns
around kdg's run). Times are seconds from kdg's start.
"""
import collections
import json
import sys


def main(d, top=3):
    trace = json.load(open(d + "/trace.json"))
    t0, t1 = int(open(d + "/t0").read()), int(open(d + "/t1").read())
    sec = lambda ns: (ns - t0) / 1e9
    print("kdg wall time %.2f s, %d calls" % (sec(t1), len(trace)))

    print("\nphase (all accounts)      calls  first start  median start  last end  throttled")
    for op in ["AssumeRole", "DescribeRegions", "ListKeys", "DescribeKey", "GetKeyLastUsage",
               "ListAliases", "ListResourceTags", "LookupEvents"]:
        es = [e for e in trace if e["op"] == op]
        if not es:
            continue
        starts = sorted(e["start"] for e in es)
        print("%-24s %6d  %11.2f  %12.2f  %8.2f  %9d" % (op, len(es), sec(starts[0]),
              sec(starts[len(starts) // 2]), sec(max(e["end"] for e in es)),
              sum(e["status"] != 200 for e in es)))
    first = {}
    for e in trace:
        k = (e["account"], e["region"])
        if e["op"] == "ListKeys" and (k not in first or e["start"] < first[k]):
            first[k] = e["start"]
    fp = sorted(first.values())
    if fp:
        print("first ListKeys pages: %d, asked for from %.2f to %.2f s (median %.2f)" % (
            len(fp), sec(fp[0]), sec(fp[-1]), sec(fp[len(fp) // 2])))
    thr = [sec(e["start"]) for e in trace if e["op"] == "AssumeRole" and e["status"] != 200]
    if thr:
        print("AssumeRole throttled: %d, at %.2f to %.2f s" % (len(thr), min(thr), max(thr)))

    lookups = collections.defaultdict(list)
    for e in trace:
        if e["op"] == "LookupEvents":
            lookups[(e["account"], e["region"])].append(e)
    hot = sorted(lookups, key=lambda k: -len(lookups[k]))[:top]
    print("\naccount/Region with the most lookups: AssumeRole, DescribeRegions, first ListKeys,"
          " DescribeKey first..last, LookupEvents first..last (s), lookups, throttled, gaps over 527 ms (s)")
    for acct, region in hot:
        ar = [sec(e["start"]) for e in trace if e["op"] == "AssumeRole" and e.get("subject") == acct and e["status"] == 200]
        dr = [sec(e["start"]) for e in trace if e["op"] == "DescribeRegions" and e["account"] == acct]
        mine = lambda op: sorted((e for e in trace if e["op"] == op and e["account"] == acct and e["region"] == region),
                                 key=lambda e: e["start"])
        dk, le = mine("DescribeKey"), mine("LookupEvents")
        gaps = [(le[i]["start"] - le[i - 1]["start"]) / 1e9 for i in range(1, len(le))]
        print("%s/%s: %s, %s, %.2f, %.2f..%.2f, %.2f..%.2f, %d, %d, %.2f" % (
            acct, region, "%.2f" % ar[0] if ar else "-", "%.2f" % dr[0] if dr else "-",
            sec(first[(acct, region)]), sec(dk[0]["start"]) if dk else 0, sec(dk[-1]["end"]) if dk else 0,
            sec(le[0]["start"]), sec(le[-1]["end"]), len(le), sum(e["status"] != 200 for e in le),
            sum(max(0, g - 0.5263) for g in gaps)))


if __name__ == "__main__":
    main(sys.argv[1])
