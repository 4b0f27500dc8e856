#!/usr/bin/env bash
# Builds kube-bgp's release artefacts from vendor/ (offline): the static musl binary,
# a .deb, an .rpm and the OCI container image (no container engine needed), into
# target/packages/.
#
#   packaging/build.sh           # build binary + packages + image
#   packaging/build.sh --check   # also inspect them, install and remove each into a
#                                # scratch root, verify the systemd unit, rebuild the
#                                # image to compare bytes, and unpack and run it (as root)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-musl
OUT=target/packages
check=0
[ "${1:-}" = "--check" ] && check=1

die() { echo "packaging/build.sh: $*" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || die "cannot read the version from Cargo.toml"

# --- static binary ------------------------------------------------------------------
if command -v rustup >/dev/null && ! grep -qx "$TARGET" <<<"$(rustup target list --installed)"; then
  die "the Rust target $TARGET is missing: rustup target add $TARGET"
fi
command -v x86_64-linux-musl-gcc >/dev/null || command -v musl-gcc >/dev/null ||
  die "no musl C compiler (ring needs one): apt-get install musl-tools"
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
KUBE_BGP_GIT_COMMIT=$commit cargo build --release --offline --locked --target "$TARGET"
bin=target/$TARGET/release/kube-bgp
file_info=$(file "$bin")
grep -q 'statically linked' <<<"$file_info" || die "$bin is not statically linked: $file_info"
if ldd "$bin" >/dev/null 2>&1; then die "ldd found dynamic dependencies in $bin"; fi
echo "static binary: $bin ($(stat -c %s "$bin") bytes, $(file -b "$bin" | cut -d, -f1-2))"
"$bin" --version

mkdir -p "$OUT"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Files shared by both packages, laid out under a root.
lay_out() { # $1 = root, $2 = env file path
  install -D -m 0755 "$bin" "$1/usr/bin/kube-bgp"
  install -D -m 0644 packaging/kube-bgp.service "$1/usr/lib/systemd/system/kube-bgp.service"
  install -D -m 0644 packaging/kube-bgp.default "$1$2"
  install -D -m 0644 README.md "$1/usr/share/doc/kube-bgp/README.md"
  for doc in docs/*.md; do
    install -D -m 0644 "$doc" "$1/usr/share/doc/kube-bgp/$doc"
  done
  install -D -m 0644 LICENSE "$1/usr/share/doc/kube-bgp/copyright"
}

# --- .deb ---------------------------------------------------------------------------
deb_root=$stage/deb
lay_out "$deb_root" /etc/default/kube-bgp
mkdir -p "$deb_root/DEBIAN"
cat >"$deb_root/DEBIAN/control" <<CTRL
Package: kube-bgp
Version: $version
Architecture: amd64
Maintainer: kube-bgp developers <kube-bgp@localhost>
Section: net
Priority: optional
Installed-Size: $(( $(du -sk "$deb_root" | cut -f1) ))
Description: BGP routing agent for Kubernetes nodes
 kube-bgp advertises each node's pod CIDR (and optionally service IPs) over BGP,
 learns the other nodes' routes and installs them in the kernel. It is a drop-in
 replacement for kube-router's routing controller: same flags, same annotations.
 Static binary, no runtime dependencies.
CTRL
echo /etc/default/kube-bgp >"$deb_root/DEBIAN/conffiles"
cat >"$deb_root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
SCRIPT
cat >"$deb_root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  systemctl stop kube-bgp.service >/dev/null 2>&1 || true
fi
SCRIPT
cp "$deb_root/DEBIAN/postinst" "$deb_root/DEBIAN/postrm"
chmod 0755 "$deb_root/DEBIAN/postinst" "$deb_root/DEBIAN/prerm" "$deb_root/DEBIAN/postrm"
deb=$OUT/kube-bgp_${version}_amd64.deb
dpkg-deb --root-owner-group --build "$deb_root" "$deb" >/dev/null
echo "built $deb"

# --- .rpm ---------------------------------------------------------------------------
rpm_top=$stage/rpm
rpm_root=$stage/rpmroot
lay_out "$rpm_root" /etc/sysconfig/kube-bgp
mkdir -p "$rpm_top"/{BUILD,RPMS,SPECS,SRPMS,SOURCES}
cat >"$rpm_top/SPECS/kube-bgp.spec" <<SPEC
Name: kube-bgp
Version: $version
Release: 1
Summary: BGP routing agent for Kubernetes nodes
License: MIT
BuildArch: x86_64
AutoReqProv: no

%description
kube-bgp advertises each node's pod CIDR (and optionally service IPs) over BGP,
learns the other nodes' routes and installs them in the kernel. A drop-in
replacement for kube-router's routing controller. Static binary.

%install
cp -a $rpm_root/. %{buildroot}/

%files
%attr(0755,root,root) /usr/bin/kube-bgp
/usr/lib/systemd/system/kube-bgp.service
%config(noreplace) /etc/sysconfig/kube-bgp
%doc /usr/share/doc/kube-bgp/README.md
%doc /usr/share/doc/kube-bgp/docs
%license /usr/share/doc/kube-bgp/copyright

%post
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || :; fi

%postun
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || :; fi
SPEC
rpmbuild --quiet --define "_topdir $rpm_top" --define '_build_id_links none' \
  --define '__strip /bin/true' -bb "$rpm_top/SPECS/kube-bgp.spec" >/dev/null
rpm=$OUT/kube-bgp-${version}-1.x86_64.rpm
cp "$rpm_top"/RPMS/x86_64/kube-bgp-"$version"-1.x86_64.rpm "$rpm"
echo "built $rpm"

# --- OCI image ------------------------------------------------------------------------
# Time stamps come from the commit, so a rebuild of the same commit gives the same bytes.
created=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
image=$OUT/kube-bgp-oci
image_tar=$OUT/kube-bgp_${version}_oci.tar
python3 packaging/oci-image.py --binary "$bin" --version "$version" --created "$created" \
  --layout "$image" --archive "$image_tar"
rm -f "$OUT/Containerfile"

[ "$check" = 1 ] || exit 0

# --- checks -------------------------------------------------------------------------
want_files=(usr/bin/kube-bgp usr/lib/systemd/system/kube-bgp.service usr/share/doc/kube-bgp/README.md usr/share/doc/kube-bgp/copyright usr/share/doc/kube-bgp/docs/troubleshooting.md)
deb_list=$(dpkg-deb -c "$deb")
for f in "${want_files[@]}" etc/default/kube-bgp; do
  grep -q " ./$f\$" <<<"$deb_list" || die ".deb lacks $f"
done
# Outputs are captured first: `cmd | grep -q` can fail under pipefail (SIGPIPE).
deb_info=$(dpkg-deb -I "$deb")
grep -q 'Package: kube-bgp' <<<"$deb_info" || die ".deb control is wrong"
rpm_list=$(rpm -qlp "$rpm" 2>/dev/null)
for f in "${want_files[@]}" etc/sysconfig/kube-bgp; do
  grep -qx "/$f" <<<"$rpm_list" || die ".rpm lacks /$f"
done
rpm_conf=$(rpm -qp --configfiles "$rpm" 2>/dev/null)
grep -qx /etc/sysconfig/kube-bgp <<<"$rpm_conf" || die ".rpm: env file is not a config file"
echo "package contents ok"

# Install, edit the config, upgrade (the edit must survive), remove.
droot=$stage/dpkgroot
mkdir -p "$droot/var/lib/dpkg/info" "$droot/var/lib/dpkg/updates"
touch "$droot/var/lib/dpkg/status" "$droot/var/lib/dpkg/available"
dpkg_r() { dpkg --root="$droot" --force-script-chrootless --force-not-root --log=/dev/null "$@" >/dev/null; }
dpkg_r -i "$deb"
[ -x "$droot/usr/bin/kube-bgp" ] || die "dpkg install did not place the binary"
"$droot/usr/bin/kube-bgp" --version >/dev/null
echo 'KUBE_BGP_ARGS="--local-edit"' >"$droot/etc/default/kube-bgp"
dpkg_r --force-confold -i "$deb"
grep -q -- '--local-edit' "$droot/etc/default/kube-bgp" || die "dpkg upgrade lost the local edit"
dpkg_r -r kube-bgp
[ ! -e "$droot/usr/bin/kube-bgp" ] || die "dpkg remove left the binary"
dpkg_r -P kube-bgp
[ ! -e "$droot/etc/default/kube-bgp" ] || die "dpkg purge left the config"
echo ".deb install / upgrade keeps local edits / remove / purge ok"

rroot=$stage/rpmdb
mkdir -p "$rroot"
rpm --root "$rroot" --initdb
rpm --root "$rroot" -i --nodeps --noscripts "$rpm"
[ -x "$rroot/usr/bin/kube-bgp" ] || die "rpm install did not place the binary"
echo 'KUBE_BGP_ARGS="--local-edit"' >"$rroot/etc/sysconfig/kube-bgp"
rpm --root "$rroot" -U --replacepkgs --nodeps --noscripts "$rpm"
grep -q -- '--local-edit' "$rroot/etc/sysconfig/kube-bgp" || die "rpm upgrade lost the local edit"
rpm --root "$rroot" -e --nodeps --noscripts kube-bgp
[ ! -e "$rroot/usr/bin/kube-bgp" ] || die "rpm erase left the binary"
echo ".rpm install / upgrade keeps local edits / erase ok"

# systemd-analyze verify exits 0 even on unknown keys: any output is a failure.
unit_dir=$stage/unit
mkdir -p "$unit_dir"
sed "s|/usr/bin/kube-bgp|$PWD/$bin|" packaging/kube-bgp.service >"$unit_dir/kube-bgp.service"
verify_out=$(systemd-analyze verify --man=no "$unit_dir/kube-bgp.service" 2>&1) || die "systemd-analyze verify failed: $verify_out"
[ -z "$verify_out" ] || die "systemd-analyze verify printed: $verify_out"
# The daemon holds the API token and TCP-MD5 keys: no core files.
grep -qx 'LimitCORE=0' "$unit_dir/kube-bgp.service" || die "the unit does not set LimitCORE=0"
echo "systemd unit verifies cleanly (LimitCORE=0)"

# The image: the same bytes when built again; unpacked by umoci and copied by skopeo
# (both verify every digest on the way), a corrupted blob refused; the unpacked root file
# system runs the binary on its own (chroot: nothing else is in it).
if [ "$(id -u)" != 0 ]; then
  # umoci keeps owners and chroot needs root: CI runs as root, so there it is a failure.
  [ "${CI:-}" = true ] && die "the image checks need root"
  echo "!!!!!!!! SKIPPED image unpack checks: run packaging/build.sh --check as root !!!!!!!!"
  exit 0
fi
t0=$(date +%s)
python3 packaging/oci-image.py --binary "$bin" --version "$version" --created "$created" \
  --layout "$stage/oci-again" --archive "$stage/oci-again.tar" >/dev/null
cmp "$image_tar" "$stage/oci-again.tar" || die "the image archive differs when built again"
diff -r "$image" "$stage/oci-again" >/dev/null || die "the image layout differs when built again"
echo "image rebuilt: same bytes ($(sha256sum <"$image_tar" | cut -c1-16)...)"
umoci unpack --image "$image:$version" "$stage/bundle" >/dev/null
[ "$(ls -A "$stage/bundle/rootfs")" = kube-bgp ] || die "the image holds more than /kube-bgp: $(ls -A "$stage/bundle/rootfs")"
process_args=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["process"]["args"]))' "$stage/bundle/config.json")
[ "$process_args" = "/kube-bgp run" ] || die "the image runs '$process_args', not '/kube-bgp run'"
want_version=$("$bin" --version)
got_version=$(chroot "$stage/bundle/rootfs" /kube-bgp --version) || die "the unpacked image does not run"
[ "$got_version" = "$want_version" ] || die "the unpacked image says '$got_version', the binary '$want_version'"
skopeo copy -q "oci-archive:$image_tar:$version" "dir:$stage/copied"
cp -r "$image" "$stage/corrupt"
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"].split(":")[1]; print(json.load(open(sys.argv[1]+"/blobs/sha256/"+m))["layers"][0]["digest"].split(":")[1])' "$image")
printf 'x' | dd of="$stage/corrupt/blobs/sha256/$layer" bs=1 seek=100 conv=notrunc status=none
if skopeo copy -q "oci:$stage/corrupt:$version" "dir:$stage/copied-corrupt" 2>/dev/null; then
  die "skopeo accepted an image with a corrupted layer: the digest check does not work"
fi
echo "image unpacks (umoci), copies (skopeo) and runs from its root file system: ${got_version%%$'\n'*}"
echo "image checks took $(( $(date +%s) - t0 ))s"
