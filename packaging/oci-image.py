#!/usr/bin/env python3
"""Writes kube-bgp's container image as an OCI image layout, without a container engine.

    packaging/oci-image.py --binary target/x86_64-unknown-linux-musl/release/kube-bgp \\
        --version 0.1.0 --layout target/packages/kube-bgp-oci \\
        [--archive target/packages/kube-bgp_0.1.0_oci.tar] [--created UNIX_SECONDS]

The image holds one file, /kube-bgp (the static binary, mode 0755, owned by root), runs
it as its entrypoint and is tagged with the version (index.json's
org.opencontainers.image.ref.name). The layout directory gets oci-layout, index.json and
blobs/sha256/ (a gzip-compressed tar layer, the image config, the manifest); --archive
also writes the layout as one tar file (what `skopeo copy oci-archive:FILE:VERSION ...`
or `podman load` read).

Reproducible: the same binary, version and --created give the same bytes. Every time
stamp is --created (default: $SOURCE_DATE_EPOCH, else 0); tar entries have fixed owners,
modes and order; gzip has no name and no time; JSON is written with sorted keys. The
compressed bytes also depend on the zlib in use, the uncompressed layer (the config's
diff_id) does not.

Python 3 standard library only. Exit status 2 on bad arguments or unreadable input.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import time

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def tar_bytes(entries, mtime):
    """A USTAR archive of `entries` (name, mode, bytes or None for a directory) in the
    given order, every entry owned by 0:0 with time `mtime`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, mode, data in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_bytes(data):
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def descriptor(media_type, data, **extra):
    d = {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}
    d.update(extra)
    return d


def build(binary, version, created):
    """Returns {relative path: bytes} of the whole layout."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    layer_tar = tar_bytes([("kube-bgp", 0o755, binary)], created)
    layer = gzip_bytes(layer_tar)
    config = canonical_json({
        "created": stamp,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": ["/kube-bgp"],
            "Cmd": ["run"],
            "Labels": {"org.opencontainers.image.title": "kube-bgp",
                       "org.opencontainers.image.version": version},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
        "history": [{"created": stamp, "created_by": "packaging/oci-image.py: COPY kube-bgp /kube-bgp"}],
    })
    manifest = canonical_json({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": descriptor(MEDIA_CONFIG, config),
        "layers": [descriptor(MEDIA_LAYER, layer)],
        "annotations": {"org.opencontainers.image.created": stamp,
                        "org.opencontainers.image.version": version},
    })
    index = canonical_json({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [descriptor(MEDIA_MANIFEST, manifest,
                                 platform={"architecture": "amd64", "os": "linux"},
                                 annotations={"org.opencontainers.image.ref.name": version})],
    })
    files = {"oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}), "index.json": index}
    for blob in (layer, config, manifest):
        files["blobs/sha256/" + hashlib.sha256(blob).hexdigest()] = blob
    return files


def write_layout(files, layout):
    if os.path.exists(layout):
        shutil.rmtree(layout)
    for rel, data in files.items():
        path = os.path.join(layout, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def archive_bytes(files, created):
    """The layout as one tar: directories first, then files, each in sorted order."""
    dirs = sorted({os.path.dirname(p) for p in files if os.path.dirname(p)} | {"blobs"})
    entries = [(d + "/", 0o755, None) for d in dirs]
    entries += [(p, 0o644, files[p]) for p in sorted(files)]
    return tar_bytes(entries, created)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True, help="the static kube-bgp binary")
    ap.add_argument("--version", required=True, help="image tag (the crate version)")
    ap.add_argument("--layout", required=True, help="OCI image layout directory to (re)create")
    ap.add_argument("--archive", help="also write the layout as this tar file")
    ap.add_argument("--created", type=int, default=None,
                    help="time stamp, Unix seconds (default $SOURCE_DATE_EPOCH, else 0)")
    args = ap.parse_args(argv)
    created = args.created
    if created is None:
        try:
            created = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
        except ValueError:
            ap.error("SOURCE_DATE_EPOCH is not a number of seconds")
    if created < 0:
        ap.error("--created must not be negative")
    if not args.version or any(c not in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
                               for c in args.version) or len(args.version) > 128:
        ap.error("--version must be a valid tag: letters, digits, '.', '_', '-' (at most 128)")
    try:
        with open(args.binary, "rb") as f:
            binary = f.read()
    except OSError as e:
        print("oci-image.py: cannot read the binary: %s" % e, file=sys.stderr)
        return 2
    files = build(binary, args.version, created)
    write_layout(files, args.layout)
    if args.archive:
        tmp = args.archive + ".tmp"
        with open(tmp, "wb") as f:
            f.write(archive_bytes(files, created))
        os.replace(tmp, args.archive)
    manifest = json.loads(files["index.json"])["manifests"][0]["digest"]
    print("OCI image %s:%s, manifest %s" % (args.layout, args.version, manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
