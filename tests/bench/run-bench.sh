#!/usr/bin/env bash
# Runs kube-bgp side by side with the anchors of the shared benchmark harness, in one
# results directory per workload (what produced bench/RESULTS.md), and the cluster-scale
# benchmarks of tests/bench/cluster (cargo bench --bench cluster). Needs root.
#   tests/bench/run-bench.sh OUTDIR [ingest|kernel|rr|idle|converge|scale ...]   (default: all)
# Environment: BENCH (harness directory, default ../shared/bench beside the checkout), RUNS (3),
# SIZES (10000,100000,1000000), RR_SIZES (100,500,1000), INGEST_DUTS, RR_DUTS,
# IDLE_DUTS (anchors to run beside kube-bgp), NS_DUT/NS_INJ/NS_INJ2 (namespace names);
# converge: CONV_NODES (20), CONV_TRIALS (30), LOST_TRIALS (30; each takes up to the 90 s
# hold time), CONV_ROWS (all: add,readd,delete,vip,kill,rr,asn,lost); scale: SCALE_SIZES
# (1000,5000), SCALE_MODES (mesh,rr), SERVICES (10000), NODE_CHURN (10/s), SLICE_CHURN (5/s),
# WINDOW_S (60), IDLE_S (30), REACTIONS (30).
# Build first: cargo build --release --offline --locked (converge/scale build their own
# bench binary with cargo bench, which also builds target/release/kube-bgp).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=${BENCH:-$(cd "$HERE/../../../shared/bench" 2>/dev/null && pwd || echo ../shared/bench)}
OUT=${1:?usage: run-bench.sh OUTDIR [ingest|kernel|rr|idle|converge|scale ...]}
shift
what=${*:-ingest kernel rr idle converge scale}
cluster() { # WORKLOAD ARGS...: the cluster benchmark from the checkout's root
  (cd "$HERE/../.." && cargo bench --offline --locked --bench cluster -- "$@")
}
RUNS=${RUNS:-3}
KB="kube-bgp=$HERE/kube-bgp.sh"
export NS_DUT=${NS_DUT:-kbb-dut} NS_INJ=${NS_INJ:-kbb-inj} NS_INJ2=${NS_INJ2:-kbb-inj2}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
for w in $what; do
  case "$w" in
  ingest)
    "$BENCH/bench.py" run --duts "$KB,${INGEST_DUTS:-bird,bird-kernel,gobgp,frr,frr-kernel}" \
      --sizes "${SIZES:-10000,100000,1000000}" --runs "$RUNS" --out "$OUT/ingest" ;;
  kernel)
    "$BENCH/bench.py" kernel --sizes 1000000 --runs "$RUNS" --out "$OUT/ingest" ;;
  rr)
    "$BENCH/bench.py" rr --duts "$KB,${RR_DUTS:-bird,frr}" --sizes "${RR_SIZES:-100,500,1000}" \
      --runs "$RUNS" --peering list --out "$OUT/rr" ;;
  idle)
    "$BENCH/bench.py" idle --duts "$KB,${IDLE_DUTS:-bird}" --sizes 100 --duration 60 \
      --runs "$RUNS" --out "$OUT/idle" ;;
  converge)
    cluster converge --out "$OUT/converge" --nodes "${CONV_NODES:-20}" \
      --trials "${CONV_TRIALS:-30}" --lost-trials "${LOST_TRIALS:-30}" \
      --rows "${CONV_ROWS:-add,readd,delete,vip,kill,rr,asn,lost}" ;;
  scale)
    cluster scale --out "$OUT/scale" --sizes "${SCALE_SIZES:-1000,5000}" \
      --modes "${SCALE_MODES:-mesh,rr}" --services "${SERVICES:-10000}" \
      --node-churn "${NODE_CHURN:-10}" --slice-churn "${SLICE_CHURN:-5}" \
      --window-s "${WINDOW_S:-60}" --idle-s "${IDLE_S:-30}" --reactions "${REACTIONS:-30}" ;;
  *) echo "unknown workload $w" >&2; exit 1 ;;
  esac
done
for d in ingest rr idle; do
  [ -d "$OUT/$d" ] && "$BENCH/bench.py" report "$OUT/$d" >"$OUT/$d/table.md"
done
# converge/ and scale/ write their own table.md (and trials.jsonl / runs.jsonl).
echo "tables: $OUT/*/table.md"
