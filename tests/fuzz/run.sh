#!/usr/bin/env bash
# Builds every cargo-fuzz target of tests/fuzz with libFuzzer and AddressSanitizer and
# runs each for a bounded time on its committed seeds, then prints the executions per
# target. Offline: the fuzz crate's dependencies (libfuzzer-sys) are in vendor/. No
# cargo-fuzz binary is needed: the build uses the flags `cargo fuzz build` uses, on the
# stable toolchain with RUSTC_BOOTSTRAP=1 (for -Zsanitizer).
#
#   tests/fuzz/run.sh                 # every target, FUZZ_SECONDS (default 25) each
#   FUZZ_SECONDS=300 tests/fuzz/run.sh bgp_session
#
# The targets are the [[bin]]s of tests/fuzz/Cargo.toml (what `cargo fuzz list` shows).
# A crash fails the script; its input is kept in target/fuzz/artifacts/<target>/ and
# reproduces with target/fuzz/x86_64-unknown-linux-gnu/release/<target> <input>.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${FUZZ_SECONDS:-25}
triple=x86_64-unknown-linux-gnu
out=target/fuzz

targets=$(cargo metadata --offline --locked --no-deps --format-version 1 | python3 -c '
import json, sys
meta = json.load(sys.stdin)
for p in meta["packages"]:
    if p["name"] == "kube-bgp-fuzz":
        for t in p["targets"]:
            if "bin" in t["kind"]:
                print(t["name"])
')
if [ $# -gt 0 ]; then
  targets="$*"
fi
[ -n "$targets" ] || { echo "no fuzz targets found" >&2; exit 1; }

flags=(-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  -Cllvm-args=-simplifycfg-branch-fold-threshold=0
  -Cllvm-args=-sanitizer-coverage-stack-depth
  --cfg fuzzing -Zsanitizer=address -Cdebug-assertions -Coverflow-checks)
start=$(date +%s)
# --target keeps the flags off build scripts; the release profile's LTO and strip are
# turned off (slow to build, and crash reports need symbols).
RUSTC_BOOTSTRAP=1 RUSTFLAGS="${flags[*]}" \
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_STRIP=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  CARGO_PROFILE_RELEASE_PANIC=abort \
  cargo build --offline --locked --release -p kube-bgp-fuzz --target "$triple" \
  --target-dir "$out"
echo "fuzz build: $(( $(date +%s) - start ))s"

export ASAN_OPTIONS=detect_odr_violation=0:detect_leaks=1
status=0
summary=()
for t in $targets; do
  seeds=tests/fuzz/seeds/$t
  work=$(mktemp -d)
  artifacts=$out/artifacts/$t/
  mkdir -p "$artifacts"
  log=$(mktemp)
  set +e
  "$out/$triple/release/$t" -max_total_time="$secs" -print_final_stats=1 \
    -max_len=8192 -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts" \
    "$work" "$seeds" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  nseeds=$(find "$seeds" -type f 2>/dev/null | wc -l)
  if [ "$rc" != 0 ]; then
    status=1
    tail -n 60 "$log"
    summary+=("$t: FAILED (exit $rc) after ${execs:-?} executions; input in $artifacts")
  else
    summary+=("$t: ${execs:-?} executions in ${secs}s, ${cov:-cov: ?}, $nseeds seeds")
  fi
  rm -rf "$work" "$log"
done
printf '%s\n' "${summary[@]}"
exit "$status"
