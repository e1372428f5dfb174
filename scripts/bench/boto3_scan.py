#!/usr/bin/env python3
"""The best scanner a scripter would write with boto3: 16 worker threads
sharing one task queue, so that no account, Region or key waits behind
another. Per account: sts:AssumeRole (unless it is the base account), then
ec2:DescribeRegions; per Region: kms:ListKeys pages (1,000 keys a page); per
key: kms:DescribeKey. Keys pending deletion are written out. Every client
uses botocore's "standard" retry mode (it retries throttling with backoff).

  boto3_scan.py --endpoint URL --accounts FILE --role-name NAME --out OUT.json
                [--threads 16] [--base-account ID]

FILE holds one account ID a line. The base identity is whatever the
environment gives (AWS_ACCESS_KEY_ID...). It talks only to --endpoint.
"""
import argparse
import json
import queue
import sys
import threading
import time

import boto3
from botocore.config import Config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--accounts", required=True)
    ap.add_argument("--role-name", default="audit")
    ap.add_argument("--base-account", default="")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not args.endpoint.startswith("http://127.0.0.1:"):
        sys.exit("boto3_scan: loopback endpoints only")
    accounts = [l.strip() for l in open(args.accounts) if l.strip()]

    session = boto3.session.Session()
    session_lock = threading.Lock()  # Session.client is not thread-safe
    cfg = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=args.threads)
    stats_lock = threading.Lock()
    calls = {}
    pending = []
    errors = []

    def count(op):
        with stats_lock:
            calls[op] = calls.get(op, 0) + 1

    def client(service, region, creds):
        with session_lock:
            return session.client(service, region_name=region, endpoint_url=args.endpoint, config=cfg, **creds)

    tasks = queue.Queue()

    def assume(account):
        creds = {}
        if account != args.base_account:
            sts = client("sts", args.region, {})
            count("AssumeRole")
            c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{args.role_name}",
                                RoleSessionName="boto3-scan")["Credentials"]
            creds = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                     "aws_session_token": c["SessionToken"]}
        count("DescribeRegions")
        regions = client("ec2", args.region, creds).describe_regions(
            Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}])["Regions"]
        for r in regions:
            tasks.put((list_keys, (account, client("kms", r["RegionName"], creds), r["RegionName"], None)))

    def list_keys(account, kms, region, marker):
        kw = {"Limit": 1000}
        if marker:
            kw["Marker"] = marker
        count("ListKeys")
        page = kms.list_keys(**kw)
        if page.get("Truncated"):
            tasks.put((list_keys, (account, kms, region, page["NextMarker"])))
        for k in page["Keys"]:
            tasks.put((describe, (account, kms, region, k["KeyId"])))

    def describe(account, kms, region, key_id):
        count("DescribeKey")
        md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        if md["KeyManager"] == "CUSTOMER" and md["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
            with stats_lock:
                pending.append([account, region, key_id])

    def worker():
        while True:
            fn, a = tasks.get()
            try:
                fn(*a)
            except Exception as e:  # one failure must not stop the scan
                with stats_lock:
                    errors.append(f"{fn.__name__} {a[0]}: {type(e).__name__}: {e}"[:300])
            finally:
                tasks.task_done()

    t0 = time.monotonic()
    for a in accounts:
        tasks.put((assume, (a,)))
    for _ in range(args.threads):
        threading.Thread(target=worker, daemon=True).start()
    tasks.join()
    elapsed = time.monotonic() - t0
    json.dump({"seconds": elapsed, "threads": args.threads, "accounts": accounts, "calls": calls,
               "pending": sorted(pending), "errors": errors[:20], "error_count": len(errors)},
              open(args.out, "w"), indent=1)
    print(f"boto3 scan: {len(accounts)} account(s), {sum(calls.values())} calls, {len(pending)} pending, "
          f"{len(errors)} errors, {elapsed:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
