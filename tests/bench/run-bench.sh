#!/usr/bin/env bash
# Runs kube-bgp side by side with the anchors of the shared benchmark harness, in one
# results directory per workload (what produced bench/RESULTS.md). Needs root.
#   tests/bench/run-bench.sh OUTDIR [ingest|kernel|rr|idle ...]   (default: all four)
# Environment: BENCH (harness directory, default ../shared/bench beside the checkout), RUNS (3),
# SIZES (10000,100000,1000000), RR_SIZES (100,500,1000), INGEST_DUTS, RR_DUTS,
# IDLE_DUTS (anchors to run beside kube-bgp), NS_DUT/NS_INJ/NS_INJ2 (namespace names).
# Build first: cargo build --release --offline --locked
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=${BENCH:-$(cd "$HERE/../../../shared/bench" 2>/dev/null && pwd || echo ../shared/bench)}
OUT=${1:?usage: run-bench.sh OUTDIR [ingest|kernel|rr|idle ...]}
shift
what=${*:-ingest kernel rr idle}
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
  *) echo "unknown workload $w" >&2; exit 1 ;;
  esac
done
for d in ingest rr idle; do
  [ -d "$OUT/$d" ] && "$BENCH/bench.py" report "$OUT/$d" >"$OUT/$d/table.md"
done
echo "tables: $OUT/*/table.md"
