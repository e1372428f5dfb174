#!/usr/bin/env bash
# The procedure the compliance rules give (Trend Micro Conformity KMS-004,
# Security Hub KMS.3): per region, `aws kms list-keys`, then
# `aws kms describe-key` for each key, reading KeyState. This is the baseline
# a user would otherwise run; scripts/bench.sh times it through the same
# latency proxy as kms-deletion-gate.
#
#   scripts/bench/cli-procedure.sh ENDPOINT REGIONS MAX_KEYS_PER_REGION OUT_TSV
#
# MAX_KEYS_PER_REGION bounds how many of each region's keys are described
# (the AWS CLI costs about a second a call); 0 means all of them.
# OUT_TSV gets one line per call: operation, region, key id, state, key
# manager, seconds.
set -euo pipefail

endpoint=$1 regions=$2 max_keys=$3 out=$4
: >"$out"

now() { echo "${EPOCHREALTIME/[.,]/}"; } # microseconds (bash 5)

IFS=',' read -r -a region_list <<<"$regions"
for region in "${region_list[@]}"; do
  t0=$(now)
  ids=$(aws kms list-keys --region "$region" --endpoint-url "$endpoint" \
    --query 'Keys[].KeyId' --output text)
  t1=$(now)
  printf 'ListKeys\t%s\t-\t-\t-\t%s\n' "$region" "$((t1 - t0))e-6" >>"$out"
  n=0
  for id in $ids; do
    if [[ $max_keys -gt 0 && $n -ge $max_keys ]]; then
      break
    fi
    n=$((n + 1))
    t0=$(now)
    read -r state manager < <(aws kms describe-key --key-id "$id" --region "$region" \
      --endpoint-url "$endpoint" --query 'KeyMetadata.[KeyState,KeyManager]' --output text)
    t1=$(now)
    printf 'DescribeKey\t%s\t%s\t%s\t%s\t%s\n' "$region" "$id" "$state" "$manager" "$((t1 - t0))e-6" >>"$out"
  done
done
