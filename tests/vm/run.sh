#!/usr/bin/env bash
# Runs one command inside a throw-away virtual machine whose kernel has what this
# machine's kernel may lack (ipip, fou/GUE, ip6tnl tunnels), and returns its output and
# exit status:
#
#   sudo tests/vm/run.sh -- ip link add t1 type ipip remote 192.0.2.1
#   sudo tests/vm/run.sh --timeout 900 -- target/debug/deps/e2e_overlay-0123abcd --test-threads=1
#
# The VM is QEMU (TCG: no KVM needed) booting Debian's distribution kernel
# (linux-image-amd64) with a tiny busybox initramfs. It sees this machine's root
# filesystem read-only over 9p with a tmpfs overlay on top, so every program, test
# binary and file here is there at the same path (writes stay in the VM), and the
# kernel's own modules come from /lib/modules/<its version> of that same root (module
# autoloading works as on a real node). The command runs as root in the current
# directory with PATH, HOME, CI, RUST_BACKTRACE, RUST_LOG and KB_* passed through (add
# more with --env NAME), plus KB_IN_VM=1. Its output (stdout and stderr) appears on
# this script's stdout, together with the VM's console.
#
# The VM is always torn down: when the command ends (the guest powers off), at the
# --timeout (default 600 s; then exit status 124), and when this script is interrupted
# or killed (QEMU gets SIGKILL through the parent-death signal). Exit status: the
# command's, 124 on timeout, 125 when the VM could not be started or did not boot —
# a failure, never a skip. Missing packages (qemu-system-x86, linux-image-amd64,
# busybox-static) are installed unless --no-install is given.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
timeout=600
mem=1536
smp=2
install=1
keep=0
envs=(PATH HOME CI RUST_BACKTRACE RUST_LOG RUST_TEST_THREADS)

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  echo "options: --timeout SECS  --mem MB (default $mem)  --smp N (default $smp)"
  echo "         --env NAME (pass a variable through; repeatable)  --no-install  --keep"
}
die() { echo "tests/vm/run.sh: $*" >&2; exit 125; }

while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout=${2:?--timeout needs seconds}; shift ;;
    --mem) mem=${2:?--mem needs megabytes}; shift ;;
    --smp) smp=${2:?--smp needs a count}; shift ;;
    --env) envs+=("${2:?--env needs a name}"); shift ;;
    --no-install) install=0 ;;
    --keep) keep=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "tests/vm/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
for n in "$timeout" "$mem" "$smp"; do
  case "$n" in ''|*[!0-9]*) echo "tests/vm/run.sh: $n is not a whole number" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || die "run as root (the VM shares the root filesystem as root)"

# ---- packages ---------------------------------------------------------------------------
have_kernel() {
  local v
  for v in /boot/vmlinuz-*; do
    [ -e "$v" ] && [ -e "/lib/modules/${v#/boot/vmlinuz-}/kernel/net/ipv4/ipip.ko" ] && return 0
  done
  return 1
}
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
have_kernel || need+=(linux-image-amd64)
if [ ${#need[@]} -gt 0 ]; then
  [ "$install" = 1 ] || die "missing packages: ${need[*]} (run without --no-install)"
  echo "tests/vm/run.sh: installing ${need[*]}" >&2
  apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 \
    || die "cannot install ${need[*]}"
fi
case "$(busybox 2>&1 | head -1)" in *BusyBox*) ;; *) die "/bin/busybox is not BusyBox" ;; esac
busybox 2>&1 | grep -q 'static' || file -L /bin/busybox 2>/dev/null | grep -q 'statically' \
  || die "/bin/busybox must be the static build (busybox-static)"

# The newest installed kernel that has the tunnel modules (its modules are the VM's).
kver=""
for v in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V); do
  [ -e "/lib/modules/$v/kernel/net/ipv4/ipip.ko" ] && kver=$v
done
[ -n "$kver" ] || die "no /boot/vmlinuz-* with tunnel modules in /lib/modules"

# ---- the run directory: initramfs, guest scripts, the command, its status ---------------
# Run directories of runners that were killed (SIGKILL leaves no chance to clean up).
for old in "${TMPDIR:-/tmp}"/kbvm.*; do
  [ -f "$old/runner.pid" ] || continue
  kill -0 "$(cat "$old/runner.pid")" 2>/dev/null || rm -rf "$old"
done
run=$(mktemp -d "${TMPDIR:-/tmp}/kbvm.XXXXXX")
echo $$ >"$run/runner.pid"
qpid=""
cleanup() {
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
    kill -TERM "$qpid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then echo "tests/vm/run.sh: kept $run" >&2; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stage="$run/initramfs"
mkdir -p "$stage"/{bin,proc,sys,dev,modules}
cp /bin/busybox "$stage/bin/busybox"
cp "$here/init" "$stage/init"
chmod 755 "$stage/init"
# Modules for mounting the shared root (virtio PCI, 9p, overlayfs), in dependency order.
: >"$stage/modules.order"
for m in virtio_pci 9pnet_virtio 9p overlay; do modprobe -S "$kver" --show-depends "$m"; done \
  | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' \
  | while read -r ko; do
      cp "$ko" "$stage/modules/"
      basename "$ko" >>"$stage/modules.order"
    done
[ -s "$stage/modules.order" ] || die "cannot resolve the modules for 9p and overlayfs (kmod)"
(cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null) >"$run/initrd" \
  || die "cannot build the initramfs"
rm -rf "$stage"

# pyenv's shims are shell scripts that start several processes per call: seconds each
# in the VM. The VM gets the directory of the interpreter they resolve to instead.
if [[ ":$PATH:" == *"/.pyenv/shims:"* ]] && command -v pyenv >/dev/null; then
  if py=$(pyenv which python3 2>/dev/null); then
    PATH=$(sed "s|[^:]*/\.pyenv/shims|$(dirname "$py")|g" <<<"$PATH")
  fi
fi

cp "$here/guest.sh" "$run/guest.sh"
chmod 755 "$run/guest.sh"
{
  echo "# written by tests/vm/run.sh"
  for name in "${envs[@]}"; do
    [ -n "${!name+x}" ] && printf 'export %s=%q\n' "$name" "${!name}"
  done
  while IFS='=' read -r name _; do
    case "$name" in KB_*) printf 'export %s=%q\n' "$name" "${!name}" ;; esac
  done < <(env)
  echo "export KB_IN_VM=1"
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$run/cmd.sh"

# ---- boot, wait (bounded), tear down ----------------------------------------------------
started=$(date +%s)
setpriv --pdeathsig KILL -- qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu qemu64 -smp "$smp" -m "$mem" \
  -nodefaults -no-user-config -display none -no-reboot \
  -serial stdio -monitor none \
  -kernel "/boot/vmlinuz-$kver" -initrd "$run/initrd" \
  -append "console=ttyS0 quiet panic=-1 rdinit=/init" \
  -device virtio-rng-pci \
  -fsdev local,id=kbroot,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=kbroot,mount_tag=kbroot \
  -fsdev local,id=kbvm,path="$run",security_model=none,multidevs=remap \
  -device virtio-9p-pci,fsdev=kbvm,mount_tag=kbvm \
  </dev/null &
qpid=$!
timed_out=0
booted_after=""
deadline=$((started + timeout))
while kill -0 "$qpid" 2>/dev/null; do
  if [ -z "$booted_after" ] && [ -e "$run/booted" ]; then
    booted_after=$(($(date +%s) - started))
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    timed_out=1
    echo "tests/vm/run.sh: timed out after ${timeout}s; stopping the VM" >&2
    kill -KILL "$qpid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
qstatus=0
wait "$qpid" 2>/dev/null || qstatus=$?
qpid=""
took=$(($(date +%s) - started))

if [ "$timed_out" = 1 ]; then
  exit 124
fi
if [ ! -e "$run/booted" ]; then
  die "the VM did not boot (QEMU exit status $qstatus after ${took}s; kernel $kver)"
fi
if [ ! -s "$run/status" ]; then
  die "the VM stopped before the command finished (QEMU exit status $qstatus after ${took}s)"
fi
status=$(cat "$run/status")
echo "tests/vm/run.sh: exit status $status; VM booted in ${booted_after:-?}s, ${took}s in all" >&2
exit "$status"
