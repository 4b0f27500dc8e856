#!/usr/bin/env bash
# Runs kube-bgp side by side with the anchors of the shared benchmark harness, in one
# results directory per workload (what produced bench/RESULTS.md), and the cluster-scale
# benchmarks of tests/bench/cluster (cargo bench --bench cluster). Needs root.
#   tests/bench/run-bench.sh OUTDIR [ingest|kernel|nexthop|rr|idle|converge|scale ...]   (default: all)
# Environment: BENCH (harness directory, default ../shared/bench beside the checkout), RUNS (3),
# SIZES (10000,100000,1000000), RR_SIZES (100,500,1000), INGEST_DUTS, RR_DUTS,
# IDLE_DUTS (anchors to run beside kube-bgp), NS_DUT/NS_INJ/NS_INJ2 (namespace names);
# converge: CONV_NODES (20), CONV_TRIALS (30), LOST_TRIALS (30 trials of each node-lost row,
# `lost` (hold time, 90 s) and `lost-bfd` (BFD, 300 ms), run in waves of up to half the
# nodes), CONV_ROWS (all: add,readd,delete,vip,kill,rr,asn,lost,lost-bfd); converge with the
# defaults takes ≈ 25 min (lost ≈ 8 min, the BFD phase ≈ 5 min; see RESULTS.md); scale: SCALE_SIZES
# (1000,5000), SCALE_MODES (mesh,rr), SERVICES (10000), NODE_CHURN (10/s), SLICE_CHURN (5/s),
# WINDOW_S (60), IDLE_S (30), REACTIONS (30); SCALE_STARTUPS=N measures only the start-up,
# N times per size and mode (each line: when half and all of the routes were in, the
# last routes, and with SCALE_DUT_V=1 kube-bgp's kernel passes from its log).
# rr: kube-bgp beside kube-bgp-noegress (the same binary without pod egress masquerade),
# bird, bird-egress (BIRD in a namespace holding the same kind of nat masquerade chain as
# kube-bgp installs, so its kernel tracks connections too: kube-bgp compares with
# bird-egress, kube-bgp-noegress with bird) and frr; RR_DUTS replaces all but kube-bgp,
# RR_PROBES sets the +1 prefix/withdraw probes per run (harness default 10). The two extra
# DUTs add ≈ 5 min with the defaults (3 sizes × RUNS runs, ≈ 15–30 s each).
# nexthop: the reconciler alone (examples/route_bench, built here) installing 1M routes
# with nexthop objects (the daemon's default), with plain routes (the opt-out,
# --kernel-nexthop-objects=false), and the reference nlbatch.py, interleaved, RUNS rounds,
# medians and ratios. The daemon end to end in both forms: ingest with
# INGEST_DUTS=kube-bgp-plain=$PWD/tests/bench/kube-bgp-plain.sh (kube-bgp.sh measures
# nexthop objects).
# The tables are written into tests/bench/RESULTS.md as a new dated run section (before
# its "Notes"), with the commit, the command, the machine and its load average during the
# run: RESULTS=FILE writes them elsewhere, RESULTS=- only into OUTDIR/*/table.md;
# NOTE="..." adds a line (e.g. what else ran on the machine). KUBE_BGP_BIN=PATH makes
# `scale` measure that binary (e.g. the static musl build users run) instead of the one
# cargo bench builds.
# Build first: cargo build --release --offline --locked (converge/scale build their own
# bench binary with cargo bench, which also builds target/release/kube-bgp).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=${BENCH:-$(cd "$HERE/../../../shared/bench" 2>/dev/null && pwd || echo ../shared/bench)}
OUT=${1:?usage: run-bench.sh OUTDIR [ingest|kernel|nexthop|rr|idle|converge|scale ...]}
shift
what=${*:-ingest kernel nexthop rr idle converge scale}
cluster() { # WORKLOAD ARGS...: the cluster benchmark from the checkout's root
  (cd "$HERE/../.." && cargo bench --offline --locked --bench cluster -- "$@")
}
RUNS=${RUNS:-3}
KB="kube-bgp=$HERE/kube-bgp.sh"
export NS_DUT=${NS_DUT:-kbb-dut} NS_INJ=${NS_INJ:-kbb-inj} NS_INJ2=${NS_INJ2:-kbb-inj2}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=${RESULTS:-$HERE/RESULTS.md}
load() { cut -d' ' -f1 /proc/loadavg; }
started=$(date -u '+%Y-%m-%d %H:%M')
loads=$(load)
for w in $what; do
  loads="$loads $(load)"
  case "$w" in
  ingest)
    "$BENCH/bench.py" run --duts "$KB,${INGEST_DUTS:-bird,bird-kernel,gobgp,frr,frr-kernel}" \
      --sizes "${SIZES:-10000,100000,1000000}" --runs "$RUNS" --out "$OUT/ingest" ;;
  kernel)
    "$BENCH/bench.py" kernel --sizes 1000000 --runs "$RUNS" --out "$OUT/ingest" ;;
  nexthop)
    mkdir -p "$OUT/nexthop"
    (cd "$HERE/../.." && cargo build --release --offline --locked --example route_bench)
    "$HERE/../../target/release/examples/route_bench" -n 1000000 --pass-limit 16384 \
      --order scattered --nexthop-objects both --reference "$BENCH/nlbatch.py" \
      --rounds "$RUNS" | tee "$OUT/nexthop/out.txt"
    {
      echo "Kernel install, reconciler alone (route_bench, 1M routes, medians of $RUNS):"
      echo
      echo '| writer | wall (median) | routes/s | rate vs nlbatch.py |'
      echo '|---|---:|---:|---:|'
      sed -n 's/^median of [0-9]*: \(.*\): wall \([0-9.]* s\) = \([0-9]*\) routes\/s, \([0-9.]*x\).*/| \1 | \2 | \3 | \4 |/p' \
        "$OUT/nexthop/out.txt"
    } >"$OUT/nexthop/table.md" ;;
  rr)
    "$BENCH/bench.py" rr --duts "$KB,${RR_DUTS:-kube-bgp-noegress=$HERE/kube-bgp-noegress.sh,bird,bird-egress=$HERE/bird-egress.sh,frr}" \
      --sizes "${RR_SIZES:-100,500,1000}" --runs "$RUNS" --peering list ${RR_PROBES:+--probes "$RR_PROBES"} \
      --out "$OUT/rr" ;;
  idle)
    "$BENCH/bench.py" idle --duts "$KB,${IDLE_DUTS:-bird}" --sizes 100 --duration 60 \
      --runs "$RUNS" --out "$OUT/idle" ;;
  converge)
    cluster converge --out "$OUT/converge" --nodes "${CONV_NODES:-20}" \
      --trials "${CONV_TRIALS:-30}" --lost-trials "${LOST_TRIALS:-30}" \
      --rows "${CONV_ROWS:-add,readd,delete,vip,kill,rr,asn,lost,lost-bfd}" ;;
  scale)
    cluster scale --out "$OUT/scale" --sizes "${SCALE_SIZES:-1000,5000}" \
      --modes "${SCALE_MODES:-mesh,rr}" --services "${SERVICES:-10000}" \
      --node-churn "${NODE_CHURN:-10}" --slice-churn "${SLICE_CHURN:-5}" \
      --window-s "${WINDOW_S:-60}" --idle-s "${IDLE_S:-30}" --reactions "${REACTIONS:-30}" \
      --startups "${SCALE_STARTUPS:-0}" --dut-verbosity "${SCALE_DUT_V:-0}" ;;
  *) echo "unknown workload $w" >&2; exit 1 ;;
  esac
done
for d in ingest rr idle; do
  [ -d "$OUT/$d" ] && "$BENCH/bench.py" report "$OUT/$d" >"$OUT/$d/table.md"
done
# converge/ and scale/ write their own table.md (and trials.jsonl / runs.jsonl).
echo "tables: $OUT/*/table.md"
loads="$loads $(load)"
[ "$RESULTS" = - ] && exit 0
section=$(mktemp)
trap 'rm -f "$section"' EXIT
{
  rev=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo unknown)
  # (RESULTS.md itself, written by earlier runs, does not count as a change.)
  git -C "$HERE/../.." diff --quiet HEAD -- . ':!tests/bench/RESULTS.md' 2>/dev/null ||
    rev="$rev (with uncommitted changes)"
  range=$(echo "$loads" | tr ' ' '\n' | sort -n | sed -n '1p;$p' | paste -sd- | sed 's/-/–/')
  echo "## Run — $started–$(date -u '+%H:%M') UTC, kube-bgp at $rev ($what)"
  echo
  echo '```sh'
  env_used=$(env | grep -E '^(RUNS|SIZES|RR_SIZES|RR_PROBES|INGEST_DUTS|RR_DUTS|IDLE_DUTS|CONV_[A-Z]+|LOST_TRIALS|SCALE_[A-Z]+|SERVICES|NODE_CHURN|SLICE_CHURN|WINDOW_S|IDLE_S|REACTIONS)=' | sort | paste -sd' ' |
    sed "s|$HERE/|\$PWD/tests/bench/|g")  # the command as run from the checkout, no local paths
  echo "${env_used:+$env_used }tests/bench/run-bench.sh $(basename "$OUT") $what"
  echo '```'
  echo
  echo "Machine: $(nproc) CPUs, $(uname -r); 1-min load average $range during the run (sampled at each workload's start and end).${NOTE:+ $NOTE}"
  for d in ingest nexthop rr idle converge scale; do
    [ -s "$OUT/$d/table.md" ] || continue
    echo
    cat "$OUT/$d/table.md"
  done
  echo
} >"$section"
if grep -q '^## Notes$' "$RESULTS" 2>/dev/null; then
  awk -v f="$section" '/^## Notes$/ && !done { while ((getline l < f) > 0) print l; done = 1 } { print }' \
    "$RESULTS" >"$RESULTS.new" && mv "$RESULTS.new" "$RESULTS"
else
  cat "$section" >>"$RESULTS"
fi
echo "results: $RESULTS"
