//! End-to-end: securing the node-to-node mesh with flags of kube-bgp's own, on a lab of
//! real namespaces. TCP-MD5 (`--bgp-node-password-file`): nodes with the same key peer,
//! a node with another key peers with nobody (the kernel drops its segments), and the
//! key file is refused when group or others may read it. GTSM
//! (`--bgp-node-ttl-security`, RFC 5082): directly connected nodes with it peer and send
//! TTL 255; a node without it (TTL 64) is refused by the kernel until it enables it too.
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::lab::checks::{available, set};
use common::lab::{Lab, LabConfig};

const UP: Duration = Duration::from_secs(40);

/// Waits until node `i` is Established with every one of `want` (others may be
/// configured and down); fails the test otherwise.
fn expect_established(lab: &Lab, i: usize, want: &[&str], timeout: Duration) -> Duration {
    let want = set(want);
    common::lab::checks::timed(timeout, || lab.established_peers(i).is_superset(&want))
        .unwrap_or_else(|| {
            lab.fail(&format!(
                "node{}: want {want:?} Established, have {:?}",
                i + 1,
                lab.neighbor_rows(i)
            ))
        })
}
/// How long a refused session is watched for (it must never come up).
const REFUSED: Duration = Duration::from_secs(12);

fn key_file(dir: &Path, name: &str, base64: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{base64}\n")).unwrap_or_else(|e| panic!("write {name}: {e}"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

#[test]
fn node_mesh_tcp_md5() {
    let test = "node_mesh_tcp_md5";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("msm5", LabConfig::new(3));
    // base64 of "mesh-secret" and of "other-key".
    let good = key_file(lab.dir(), "mesh.key", "bWVzaC1zZWNyZXQ=", 0o600);
    let bad = key_file(lab.dir(), "other.key", "b3RoZXIta2V5", 0o400);
    let flag = |p: &Path| format!("--bgp-node-password-file={}", p.display());
    lab.start_kube_bgp(0, &[&flag(&good)]);
    lab.start_kube_bgp(1, &[&flag(&good)]);
    lab.start_kube_bgp(2, &[&flag(&bad)]);
    let (n1, n2, n3) = (
        lab.node(0).ipv4.clone(),
        lab.node(1).ipv4.clone(),
        lab.node(2).ipv4.clone(),
    );
    let took = expect_established(&lab, 0, &[&n2], UP);
    eprintln!("{test}: node1-node2 up with TCP-MD5 after {took:?}");
    let d = lab.neighbor_detail(0, &n2).expect("detail");
    lab.check(d.password, &format!("password not reported: {d:?}"));
    // node3's key differs: no session with it, ever; the others are not disturbed.
    std::thread::sleep(REFUSED);
    lab.check(
        lab.established_peers(2).is_empty(),
        &format!(
            "node3 peers despite its key: {:?}",
            lab.established_peers(2)
        ),
    );
    lab.check(
        lab.established_peers(0) == set(&[&n2]) && lab.established_peers(1) == set(&[&n1]),
        "node1-node2 lost",
    );
    lab.check(
        !lab.established_peers(0).contains(&n3),
        "node1 peers with node3",
    );
    lab.expect_pings(&[(0, 1), (1, 0)], 2);
    // The key never appears in a log.
    for i in 0..3 {
        let log = lab.log(i);
        lab.check(
            !log.contains("mesh-secret") && !log.contains("bWVzaC1zZWNyZXQ"),
            "a log shows the key",
        );
    }
}

#[test]
fn node_mesh_gtsm() {
    let test = "node_mesh_gtsm";
    if !available(test, &[]) {
        return;
    }
    let mut lab = Lab::new("msgt", LabConfig::new(3));
    lab.start_kube_bgp(0, &["--bgp-node-ttl-security"]);
    lab.start_kube_bgp(1, &["--bgp-node-ttl-security"]);
    lab.start_kube_bgp(2, &[]);
    let (n1, n2, n3) = (
        lab.node(0).ipv4.clone(),
        lab.node(1).ipv4.clone(),
        lab.node(2).ipv4.clone(),
    );
    let took = expect_established(&lab, 0, &[&n2], UP);
    eprintln!("{test}: node1-node2 up with GTSM after {took:?}");
    let d = lab.neighbor_detail(0, &n2).expect("detail");
    lab.check(d.ttl == Some(255), &format!("TTL {:?}", d.ttl));
    // node3 sends with the default TTL (64): node1 and node2 drop its packets.
    std::thread::sleep(REFUSED);
    lab.check(
        lab.established_peers(2).is_empty(),
        &format!("node3 peers without GTSM: {:?}", lab.established_peers(2)),
    );
    lab.check(
        !lab.established_peers(0).contains(&n3),
        "node1 peers with node3",
    );
    // node1 says why: node3's SYN came with TTL 64.
    let refused = lab.log_lines(
        0,
        &[
            &format!("peer {n3}: connection refused by TTL security"),
            "SYN arrived with TTL 64",
        ],
    );
    lab.check(
        !refused.is_empty(),
        "node1 did not refuse node3's connection by its TTL",
    );
    // node3 turns GTSM on: the full mesh forms.
    lab.stop_kube_bgp(2);
    lab.start_kube_bgp(2, &["--bgp-node-ttl-security"]);
    expect_established(&lab, 2, &[&n1, &n2], UP);
    expect_established(&lab, 0, &[&n2, &n3], UP);
    lab.expect_pings(&[(2, 0), (0, 2)], 2);
}

/// `kube-bgp run --check-config ARGS`.
fn check_config(args: &[&str]) -> std::process::Output {
    Command::new(common::kube_bgp_bin())
        .args(["run", "--check-config"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run kube-bgp")
}

#[test]
fn node_password_file_must_be_private_and_base64() {
    let dir = std::env::temp_dir().join(format!("kbmeshkey{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let flag = |p: &Path| format!("--bgp-node-password-file={}", p.display());
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // 0600: accepted, shown redacted.
    let ok = key_file(&dir, "ok.key", "bWVzaC1zZWNyZXQ=", 0o600);
    let out = check_config(&[&flag(&ok)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["bgp_node_password"], "<redacted>");
    // Readable by group or others: refused with a clear error, no contents shown.
    for mode in [0o640, 0o644, 0o604] {
        let p = key_file(&dir, &format!("m{mode:o}.key"), "bWVzaC1zZWNyZXQ=", mode);
        let out = check_config(&[&flag(&p)]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "mode {mode:o}: {err}");
        assert!(
            err.contains("bgp-node-password-file") && err.contains("chmod 600"),
            "{err}"
        );
        assert!(
            !err.contains("bWVzaC1zZWNyZXQ") && !err.contains("mesh-secret"),
            "{err}"
        );
    }
    // Not base64, empty, missing.
    let junk = key_file(&dir, "junk.key", "not base64!", 0o600);
    let err = text(&check_config(&[&flag(&junk)]).stderr);
    assert!(err.contains("not base64: invalid base64"), "{err}");
    let empty = key_file(&dir, "empty.key", "", 0o600);
    assert!(text(&check_config(&[&flag(&empty)]).stderr).contains("empty"));
    let missing = dir.join("missing.key");
    assert!(text(&check_config(&[&flag(&missing)]).stderr).contains("cannot read"));
    let _ = std::fs::remove_dir_all(&dir);
}
