//! The real binary's command line: invalid flags exit 2 with one stderr line naming the
//! flag and value (never a password); valid kube-router command lines are checked via
//! `kube-bgp run --check-config`, which prints the effective configuration as JSON.
mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Strings that must never appear in any output: passwords and their base64.
const SECRETS: &[&str] = &[
    "c2VjcmV0",
    "secret",
    "U2VjdXJlUGFzc3dvcmQK",
    "SecurePassword",
];

fn run(args: &[&str]) -> Output {
    Command::new(common::kube_bgp_bin())
        .args(args)
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .output()
        .expect("run kube-bgp")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn no_secrets(out: &Output, what: &str) {
    for s in SECRETS {
        for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text(stream).contains(s),
                "{what}: {name} leaks {s:?}: {}",
                text(stream)
            );
        }
    }
}

/// Runs `run --check-config ARGS`, expects success, returns (config JSON, stderr lines).
fn check(args: &[&str]) -> (Value, Vec<String>) {
    let mut all = vec!["run", "--check-config"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: stderr {}",
        text(&out.stderr)
    );
    no_secrets(&out, &format!("{args:?}"));
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: bad JSON ({e}): {}", text(&out.stdout)));
    let lines = text(&out.stderr).lines().map(str::to_string).collect();
    (json, lines)
}

struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(tag: &str) -> ScratchDir {
        let p = std::env::temp_dir().join(format!("kube-bgp-flags-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).expect("temp dir");
        ScratchDir(p)
    }

    /// A file readable by its owner only (as a passwords file must be).
    fn file(&self, name: &str, content: &str) -> String {
        self.file_mode(name, content, 0o600)
    }

    fn file_mode(&self, name: &str, content: &str, mode: u32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.0.join(name);
        std::fs::write(&p, content).expect("write temp file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p.display().to_string()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn invalid_command_lines_exit_2_with_one_line() {
    let dir = ScratchDir::new("bad");
    let bad_file = dir.file("pw", "c2VjcmV0!,\n");
    let bad_file_arg = format!("--peer-router-passwords-file={bad_file}");
    let one = ["--peer-router-ips=192.0.2.1", "--peer-router-asns=65000"];
    let gr = "--bgp-graceful-restart";
    // (arguments, text the error must contain: the flag, then the value)
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (vec!["--no-such-flag=1"], &["--no-such-flag"]),
        (vec!["--cluster-asn=0x10"], &["--cluster-asn", "0x10"]),
        (
            vec!["--cluster-asn=065000"],
            &["--cluster-asn", "065000", "octal"],
        ),
        (
            vec!["--cluster-asn", " 65000"],
            &["--cluster-asn", " 65000"],
        ),
        (vec!["--cluster-asn=+65000"], &["--cluster-asn", "+65000"]),
        (vec!["--cluster-asn=64511"], &["--cluster-asn", "64511"]),
        (
            vec!["--cluster-asn=4294967295"],
            &["--cluster-asn", "4294967295"],
        ),
        (vec!["--cluster-asn=abc"], &["--cluster-asn", "abc"]),
        (vec!["--cluster-asn"], &["--cluster-asn"]),
        (
            vec![
                "--peer-router-ips=192.168.1.300",
                "--peer-router-asns=65000",
            ],
            &["--peer-router-ips", "192.168.1.300"],
        ),
        (
            vec![
                "--peer-router-ips=192.0.2.1",
                "--peer-router-asns=65000,65001",
            ],
            &["--peer-router-asns", "has 2", "has 1"],
        ),
        (
            vec![
                "--peer-router-ips=192.0.2.1,192.0.2.2",
                "--peer-router-asns=65000",
            ],
            &["--peer-router-asns", "has 1", "has 2"],
        ),
        (
            vec!["--peer-router-ips=192.0.2.1", "--peer-router-asns=23456"],
            &["--peer-router-asns", "23456", "reserved"],
        ),
        (
            vec!["--peer-router-ips=192.0.2.1", "--peer-router-asns=64000"],
            &["--peer-router-asns", "64000", "reserved"],
        ),
        (
            vec!["--peer-router-ips=192.0.2.1", "--peer-router-asns=65535"],
            &["--peer-router-asns", "65535", "reserved"],
        ),
        (
            vec!["--peer-router-ips=192.0.2.1", "--peer-router-asns=0"],
            &["--peer-router-asns", "\"0\"", "reserved"],
        ),
        (
            vec![
                "--peer-router-ips=192.0.2.1",
                "--peer-router-asns=4294967296",
            ],
            &["--peer-router-asns", "4294967296"],
        ),
        (
            vec!["--peer-router-ips=192.0.2.1", "--peer-router-asns=0xFDE8"],
            &["--peer-router-asns", "0xFDE8"],
        ),
        (
            vec![one[0], one[1], "--peer-router-passwords=c2VjcmV0,c2VjcmV0"],
            &["--peer-router-passwords", "has 2", "has 1"],
        ),
        (
            vec![one[0], one[1], "--peer-router-passwords=c2VjcmV0!"],
            &["--peer-router-passwords", "entry 1", "base64"],
        ),
        (
            vec![
                "--peer-router-ips=192.0.2.1,192.0.2.2",
                "--peer-router-asns=65000,65000",
                "--peer-router-passwords=U2VjdXJlUGFzc3dvcmQK,c2VjcmV",
            ],
            &["--peer-router-passwords", "entry 2", "base64"],
        ),
        (
            vec![one[0], one[1], "--peer-router-passwords= c2VjcmV0"],
            &["--peer-router-passwords", "entry 1"],
        ),
        (
            vec![one[0], one[1], &bad_file_arg],
            &["--peer-router-passwords-file", "entry 1", "base64"],
        ),
        (
            vec!["--peer-router-passwords-file=/nonexistent/kube-bgp/pw"],
            &["--peer-router-passwords-file", "/nonexistent/kube-bgp/pw"],
        ),
        (
            vec![one[0], one[1], "--peer-router-ports=179,180"],
            &["--peer-router-ports", "has 2"],
        ),
        (
            vec![one[0], one[1], "--peer-router-ports=70000"],
            &["--peer-router-ports", "70000"],
        ),
        (
            vec![one[0], one[1], "--peer-router-ports=0179"],
            &["--peer-router-ports", "0179"],
        ),
        (vec!["--bgp-holdtime=2s"], &["--bgp-holdtime", "2s"]),
        (
            vec!["--bgp-holdtime=18h12m17s"],
            &["--bgp-holdtime", "18h12m17s"],
        ),
        (vec!["--bgp-holdtime=90"], &["--bgp-holdtime", "90", "unit"]),
        (vec!["--bgp-holdtime", "1x"], &["--bgp-holdtime", "1x"]),
        (
            vec![gr, "--bgp-graceful-restart-time=4096s"],
            &["--bgp-graceful-restart-time", "4096s"],
        ),
        (
            vec![gr, "--bgp-graceful-restart-time=0s"],
            &["--bgp-graceful-restart-time", "0s"],
        ),
        (
            vec![gr, "--bgp-graceful-restart-deferral-time=19h"],
            &["--bgp-graceful-restart-deferral-time", "19h"],
        ),
        (
            vec![gr, "--bgp-graceful-restart-deferral-time", "0"],
            &["--bgp-graceful-restart-deferral-time", "\"0\""],
        ),
        (vec!["--overlay-encap=gre"], &["--overlay-encap", "gre"]),
        (
            vec!["--overlay-encap-port=80"],
            &["--overlay-encap-port", "80"],
        ),
        (
            vec!["--peer-router-multihop-ttl=256"],
            &["--peer-router-multihop-ttl", "256"],
        ),
        (
            vec!["--router-id=node-a"],
            &["--router-id", "node-a", "IPv4"],
        ),
        (vec!["--bgp-port=0"], &["--bgp-port", "\"0\""]),
        (vec!["--bgp-port=65536"], &["--bgp-port", "65536"]),
        (vec!["--enable-ibgp=yes"], &["--enable-ibgp", "yes"]),
        (
            vec!["--enable-ibgp", "false"],
            &["\"false\"", "--flag=false"],
        ),
        (
            vec!["--enable-bfd", "--bfd-detection-multiplier=0"],
            &["--bfd-detection-multiplier", "\"0\""],
        ),
        (
            vec!["--enable-bfd", "--bfd-port=70000"],
            &["--bfd-port", "70000"],
        ),
        (vec!["-v=x"], &["--v", "\"x\""]),
        (vec!["--health-port=0x50"], &["--health-port", "0x50"]),
        (vec!["--metrics-port=65536"], &["--metrics-port", "65536"]),
        (
            vec!["--service-cluster-ip-range=10.96.0.0"],
            &["--service-cluster-ip-range", "10.96.0.0"],
        ),
        (
            vec!["--ipvs-sync-period=5"],
            &["--ipvs-sync-period", "\"5\""],
        ),
        (vec!["--run-firewall=maybe"], &["--run-firewall", "maybe"]),
    ];
    assert!(cases.len() >= 35);
    for (args, wanted) in &cases {
        for prefix in [&["run", "--check-config"][..], &[]] {
            let all: Vec<&str> = prefix.iter().chain(args.iter()).copied().collect();
            let out = run(&all);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{all:?}: stderr {err}");
            assert_eq!(err.lines().count(), 1, "{all:?}: not one line: {err}");
            assert!(
                out.stdout.is_empty(),
                "{all:?}: stdout {}",
                text(&out.stdout)
            );
            for w in *wanted {
                assert!(err.contains(w), "{all:?}: {w:?} missing in {err}");
            }
            no_secrets(&out, &format!("{all:?}"));
        }
    }
}

#[test]
fn bad_subcommands_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["global", "policy"],
        &["neighbor", "nope"],
        &["status", "-o", "yaml"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            text(&out.stderr).lines().count(),
            1,
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn documentation_example_two_peers() {
    let (c, warnings) = check(&[
        "--peer-router-ips=192.168.1.99,192.168.1.100",
        "--peer-router-asns=65000,65000",
        "--peer-router-passwords=U2VjdXJlUGFzc3dvcmQK,",
    ]);
    let peers = c["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[0]["ip"], "192.168.1.99");
    assert_eq!(peers[0]["asn"], 65000);
    assert_eq!(peers[0]["port"], 179);
    assert_eq!(peers[0]["password"], "<redacted>");
    assert_eq!(peers[0]["password_len"], "SecurePassword\n".len());
    assert_eq!(peers[0]["password_ends_with_newline"], true);
    assert_eq!(peers[1]["ip"], "192.168.1.100");
    assert_eq!(peers[1]["password"], Value::Null);
    // The command-line warning, the newline one, and the one every default command
    // line gets for --disable-source-dest-check (on in kube-router, not implemented here).
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("WARN") && warnings[0].contains("/proc/PID/cmdline"));
    assert!(
        warnings[1].contains("WARN")
            && warnings[1].contains("192.168.1.99")
            && warnings[1].contains("newline")
    );
    assert!(warnings[2].contains("--disable-source-dest-check"));
}

#[test]
fn unimplemented_flag_on_by_default_warns_once() {
    let (c, warnings) = check(&[]);
    assert_eq!(c["disable_source_dest_check"], true);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("WARN") && warnings[0].contains("--disable-source-dest-check"),
        "{warnings:?}"
    );
    let (_, warnings) = check(&["--disable-source-dest-check=false"]);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn both_value_forms_give_the_same_config() {
    let (a, _) = check(&[
        "--cluster-asn=65001",
        "--bgp-holdtime=1m30s",
        "--router-id=192.0.2.7",
        "-v=2",
        "--overlay-encap=fou",
    ]);
    let (b, _) = check(&[
        "--cluster-asn",
        "65001",
        "--bgp-holdtime",
        "1m30s",
        "--router-id",
        "192.0.2.7",
        "-v",
        "2",
        "--overlay-encap",
        "fou",
    ]);
    assert_eq!(a, b);
    assert_eq!(a["cluster_asn"], 65001);
    assert_eq!(a["bgp_holdtime_secs"], 90.0);
    assert_eq!(a["router_id"], "192.0.2.7");
    assert_eq!(a["log_level"], "debug");
    assert_eq!(a["overlay_encap"], "fou");
    let (d, _) = check(&["--cluster-asn=64086.59904", "--bgp-holdtime=3.9s"]);
    assert_eq!(d["cluster_asn"], 4_200_000_000u64);
    assert_eq!(d["bgp_holdtime_secs"], 3.0);
}

#[test]
fn repeated_list_flags_accumulate() {
    let (c, _) = check(&[
        "--peer-router-ips=192.0.2.1",
        "--peer-router-ips",
        "192.0.2.2,2001:db8::2",
        "--peer-router-asns=65001,65002",
        "--peer-router-asns=2.10",
        "--peer-router-ports=1790",
        "--peer-router-ports=1791,1792",
        "--service-external-ip-range=198.51.100.0/24",
        "--service-external-ip-range=203.0.113.0/24",
    ]);
    let peers = c["peers"].as_array().expect("peers");
    let got: Vec<(String, u64, u64)> = peers
        .iter()
        .map(|p| {
            (
                p["ip"].as_str().unwrap_or("").to_string(),
                p["asn"].as_u64().unwrap_or(0),
                p["port"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("192.0.2.1".into(), 65001, 1790),
            ("192.0.2.2".into(), 65002, 1791),
            ("2001:db8::2".into(), 131082, 1792)
        ]
    );
    assert_eq!(
        c["service_external_ip_range"],
        serde_json::json!(["198.51.100.0/24", "203.0.113.0/24"])
    );
}

#[test]
fn boolean_forms() {
    let (c, _) = check(&[
        "--enable-ibgp=false",
        "--nodes-full-mesh=0",
        "--advertise-cluster-ip",
        "--advertise-external-ip=T",
    ]);
    assert_eq!(c["enable_ibgp"], false);
    assert_eq!(c["nodes_full_mesh"], false);
    assert_eq!(c["advertise_cluster_ip"], true);
    assert_eq!(c["advertise_external_ip"], true);
    assert_eq!(c["advertise_loadbalancer_ip"], false);
    for (v, want) in [
        ("1", true),
        ("t", true),
        ("TRUE", true),
        ("True", true),
        ("f", false),
        ("FALSE", false),
        ("False", false),
    ] {
        let (c, _) = check(&[&format!("--enable-overlay={v}")]);
        assert_eq!(c["enable_overlay"], want, "{v}");
    }
}

#[test]
fn passwords_file_with_trailing_newline() {
    let dir = ScratchDir::new("pw");
    let path = dir.file("pw", "c2VjcmV0,\n");
    let (c, warnings) = check(&[
        "--peer-router-ips=192.0.2.1,192.0.2.2",
        "--peer-router-asns=65000,65000",
        &format!("--peer-router-passwords-file={path}"),
        "--disable-source-dest-check=false",
    ]);
    assert_eq!(c["peers"][0]["password"], "<redacted>");
    assert_eq!(c["peers"][0]["password_len"], 6);
    assert_eq!(c["peers"][0]["password_ends_with_newline"], false);
    assert_eq!(c["peers"][1]["password"], Value::Null);
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// A passwords file that group or others can read is refused with a clear error naming
/// the file and the fix; passwords on the command line work but warn once.
#[test]
fn passwords_file_must_be_private_and_command_line_passwords_warn() {
    let dir = ScratchDir::new("pwmode");
    let one = ["--peer-router-ips=192.0.2.1", "--peer-router-asns=65000"];
    for mode in [0o644, 0o640, 0o604, 0o620] {
        let path = dir.file_mode(&format!("pw{mode:o}"), "c2VjcmV0\n", mode);
        let mut args = vec!["run".to_string(), "--check-config".to_string()];
        args.extend(one.iter().map(|s| s.to_string()));
        args.push(format!("--peer-router-passwords-file={path}"));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&refs);
        assert_eq!(out.status.code(), Some(2), "mode {mode:o}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&path)
                && err.contains(&format!("mode {mode:04o}"))
                && err.contains("chmod 600"),
            "{err}"
        );
        no_secrets(&out, &format!("mode {mode:o}"));
    }
    let path = dir.file_mode("pw400", "c2VjcmV0\n", 0o400);
    let (c, warnings) = check(&[
        one[0],
        one[1],
        &format!("--peer-router-passwords-file={path}"),
        "--disable-source-dest-check=false",
    ]);
    assert_eq!(c["peers"][0]["password_len"], 6);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (_, warnings) = check(&[one[0], one[1], "--peer-router-passwords=c2VjcmV0"]);
    let cmdline: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("/proc/PID/cmdline"))
        .collect();
    assert_eq!(cmdline.len(), 1, "{warnings:?}");
    assert!(
        cmdline[0].contains("--peer-router-passwords-file"),
        "{cmdline:?}"
    );
}

#[test]
fn graceful_restart_timers_only_checked_when_enabled() {
    let (c, _) = check(&[
        "--bgp-graceful-restart-time=5000s",
        "--bgp-graceful-restart-deferral-time=19h",
    ]);
    assert_eq!(c["graceful_restart"], Value::Null);
    let (c, _) = check(&[
        "--bgp-graceful-restart",
        "--bgp-graceful-restart-time=4095s",
        "--bgp-graceful-restart-deferral-time=18h",
    ]);
    assert_eq!(c["graceful_restart"]["restart_time_secs"], 4095.0);
    assert_eq!(c["graceful_restart"]["deferral_time_secs"], 64800.0);
}

#[test]
fn ignored_kube_router_flags_warn_once_each() {
    let ignored = [
        "--run-firewall=false",
        "--run-service-proxy=false",
        "--masquerade-all",
        "--ipvs-sync-period=10s",
        "--excluded-cidrs=10.0.0.0/8,10.1.0.0/16",
        "--cache-sync-timeout",
        "2m",
        "--hairpin-mode",
        "--run-firewall=false",
        "--disable-source-dest-check=false",
    ];
    let (c, warnings) = check(&ignored);
    assert_eq!(c["run_router"], true);
    let names = [
        "--run-firewall",
        "--run-service-proxy",
        "--masquerade-all",
        "--ipvs-sync-period",
        "--excluded-cidrs",
        "--cache-sync-timeout",
        "--hairpin-mode",
    ];
    assert_eq!(warnings.len(), names.len(), "{warnings:?}");
    for (w, n) in warnings.iter().zip(names) {
        assert!(
            w.contains("WARN") && w.contains(&format!("{n} ")),
            "{w} should name {n}"
        );
    }
}

#[test]
fn run_router_false_exits_zero_and_setup_errors_exit_one() {
    let out = run(&[
        "--run-router=false",
        "--run-firewall=false",
        "--run-service-proxy=false",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("nothing to do"));
    let out = run(&["--run-router=false"]);
    assert_eq!(out.status.code(), Some(0));
    // Valid flags but an unusable kubeconfig: a runtime setup error (1), not a usage
    // error (2), naming the file.
    let out = run(&[
        "--cluster-asn=65000",
        "--kubeconfig=/nonexistent/kubeconfig",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("/nonexistent/kubeconfig"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn version_help_and_management_subcommands() {
    for args in [&["version"][..], &["--version"], &["-V"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0));
        let v = text(&out.stdout);
        assert!(
            v.starts_with(&format!("kube-bgp {}\n", env!("CARGO_PKG_VERSION"))),
            "{v}"
        );
        assert!(v.contains("commit: ") && v.contains("profile: "), "{v}");
    }
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let h = text(&out.stdout);
    for needle in [
        "--peer-router-passwords",
        "--bgp-holdtime DURATION",
        "(default 1m30s)",
        "--check-config",
        "Ignored kube-router flags",
        "kube-bgp global rib",
        "--run-firewall",
    ] {
        assert!(h.contains(needle), "{needle} missing from --help");
    }
    for args in [
        &["neighbor"][..],
        &["neighbor", "192.0.2.1", "-o", "json"],
        &["global", "rib", "-a", "ipv6"],
        &["status", "--ctl-socket", "/nonexistent/x.sock"],
    ] {
        let mut a = args.to_vec();
        if !a.contains(&"--ctl-socket") {
            a.extend_from_slice(&["--ctl-socket", "/nonexistent/kube-bgp.sock"]);
        }
        let out = run(&a);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains("not running"), "{args:?}");
    }
}
