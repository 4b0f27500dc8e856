//! Unit tests of flag typing and validation (`build`) through `parse_daemon_args`.

use std::ffi::OsString;
use std::time::Duration;

use super::*;

fn cfg(args: &[&str]) -> Result<Config, ConfigError> {
    match parse_daemon_args(args.iter().map(OsString::from).collect())? {
        DaemonAction::Run { config, .. } => Ok(*config),
        other => panic!("{args:?}: {other:?}"),
    }
}

fn err(args: &[&str]) -> String {
    match cfg(args) {
        Ok(c) => panic!("{args:?} accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_match_kube_router() {
    let c = cfg(&[]).unwrap();
    assert!(c.run_router && c.nodes_full_mesh && c.enable_ibgp && c.advertise_pod_cidr);
    assert_eq!(c.cluster_asn, 64512);
    assert_eq!(c.bgp_port, 179);
    assert_eq!(c.bgp_holdtime, Duration::from_secs(90));
    assert_eq!(c.graceful_restart, None);
    assert_eq!(c.router_id, RouterIdMode::PrimaryIp);
    assert_eq!(
        (c.overlay_type, c.overlay_encap, c.overlay_encap_port),
        (OverlayType::Subnet, OverlayEncap::Ipip, 5555)
    );
    assert_eq!(c.routes_sync_period, Duration::from_secs(300));
    assert_eq!(c.injected_routes_sync_period, Duration::from_secs(60));
    assert_eq!(
        c.service_cluster_ip_range,
        vec!["10.96.0.0/12".parse().unwrap()]
    );
    assert!(c.strict_external_ip_validation && c.enable_ipv4 && !c.enable_ipv6);
    assert_eq!(
        (c.metrics_port, c.health_port, c.metrics_path.as_str()),
        (0, 20244, "/metrics")
    );
    assert!(!c.metrics_enabled());
    assert_eq!(
        c.ctl_socket,
        std::path::PathBuf::from("/run/kube-bgp/ctl.sock")
    );
    assert_eq!(c.log_level, Level::Info);
    assert!(c.enable_cni && c.auto_mtu && c.enable_pod_egress && !c.cleanup_config);
    assert_eq!(c.cni_conf_path, None);
    // The one routing flag that is on by default and not implemented says so.
    assert!(c.peers.is_empty());
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("--disable-source-dest-check"));
    let quiet = cfg(&["--disable-source-dest-check=false"]).unwrap();
    assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);
}

#[test]
fn pod_network_flags() {
    let c = cfg(&[
        "--cni-conf-path=/tmp/x/10-kuberouter.conf",
        "--enable-cni=false",
        "--auto-mtu=false",
        "--enable-pod-egress=false",
        "--cleanup-config",
    ])
    .unwrap();
    assert_eq!(
        c.cni_conf_path.as_deref(),
        Some(std::path::Path::new("/tmp/x/10-kuberouter.conf"))
    );
    assert!(!c.enable_cni && !c.auto_mtu && !c.enable_pod_egress && c.cleanup_config);
    // --cleanup-config is a flag of its own now, not an ignored one.
    assert!(
        !c.warnings.iter().any(|w| w.contains("cleanup")),
        "{:?}",
        c.warnings
    );
    assert!(err(&["--cleanup-config=maybe"]).contains("maybe"));
}

#[test]
fn help_and_version_win() {
    let p = |a: &[&str]| parse_daemon_args(a.iter().map(OsString::from).collect());
    assert!(matches!(
        p(&["--cluster-asn=1", "-h"]),
        Ok(DaemonAction::Help)
    ));
    assert!(matches!(p(&["--version"]), Ok(DaemonAction::Version)));
    assert!(matches!(p(&["-V"]), Ok(DaemonAction::Version)));
    assert!(matches!(
        p(&["--check-config"]),
        Ok(DaemonAction::Run {
            check_only: true,
            ..
        })
    ));
}

#[test]
fn cluster_asn_ranges() {
    assert_eq!(cfg(&["--cluster-asn=0"]).unwrap().cluster_asn, 64512);
    for ok in ["64512", "65535", "4200000000", "4294967294", "64086.59904"] {
        assert!(cfg(&["--cluster-asn", ok]).is_ok(), "{ok}");
    }
    for bad in [
        "64511",
        "65536",
        "4199999999",
        "4294967295",
        "1.10",
        "065000",
    ] {
        assert!(
            err(&["--cluster-asn", bad]).contains("--cluster-asn"),
            "{bad}"
        );
    }
}

#[test]
fn reserved_peer_asns() {
    for asn in [0u32, 23456, 64000, 64511, 65535, 65536, 131071, 4294967295] {
        assert!(build::reserved_asn(asn).is_some(), "{asn}");
    }
    for asn in [
        1u32, 23455, 23457, 63999, 64512, 65534, 131072, 4199999999, 4200000000, 4294967294,
    ] {
        assert!(build::reserved_asn(asn).is_none(), "{asn}");
    }
}

#[test]
fn peers_built_from_parallel_lists() {
    let c = cfg(&[
        "--peer-router-ips=192.0.2.1,::ffff:192.0.2.2",
        "--peer-router-ips",
        "2001:db8::1",
        "--peer-router-asns=65001,2.10",
        "--peer-router-asns=4200000001",
        "--peer-router-ports=179,1179,2179",
        "--peer-router-passwords=cGFzcw==,,U2VjdXJlUGFzc3dvcmQK",
    ])
    .unwrap();
    let ips: Vec<String> = c.peers.iter().map(|p| p.ip.to_string()).collect();
    assert_eq!(ips, ["192.0.2.1", "192.0.2.2", "2001:db8::1"]);
    assert_eq!(
        c.peers.iter().map(|p| p.asn).collect::<Vec<_>>(),
        [65001, 131082, 4200000001]
    );
    assert_eq!(
        c.peers.iter().map(|p| p.port).collect::<Vec<_>>(),
        [179, 1179, 2179]
    );
    assert_eq!(
        c.peers[0].password.as_ref().map(Password::as_bytes),
        Some(&b"pass"[..])
    );
    assert_eq!(c.peers[1].password, None);
    assert_eq!(
        c.peers[2].password.as_ref().map(Password::as_bytes),
        Some(&b"SecurePassword\n"[..])
    );
    // Passwords on the command line (warned once), one ending in a newline, and
    // main's other start-up warning.
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c.warnings.iter().any(|w| w.contains("/proc/PID/cmdline")));
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("2001:db8::1") && w.contains("newline"))
    );
}

#[test]
fn peer_list_errors() {
    assert!(
        err(&[
            "--peer-router-ips=192.0.2.1",
            "--peer-router-asns=65000,65001"
        ])
        .contains("must be equal")
    );
    assert!(
        err(&[
            "--peer-router-ips=192.0.2.1,192.0.2.1",
            "--peer-router-asns=65000,65001"
        ])
        .contains("twice")
    );
    let e = err(&[
        "--peer-router-ips=192.0.2.1",
        "--peer-router-asns=65000",
        "--peer-router-ports=179,180",
    ]);
    assert!(e.contains("--peer-router-ports has 2"), "{e}");
    let e = err(&[
        "--peer-router-ips=192.0.2.1",
        "--peer-router-asns=65000",
        "--peer-router-ports=0",
    ]);
    assert!(e.contains("\"0\""), "{e}");
    let e = err(&["--peer-router-ips=192.0.2.1", "--peer-router-asns=64000"]);
    assert!(e.contains("reserved ASN"), "{e}");
    let e = err(&[
        "--peer-router-ips=192.0.2.1",
        "--peer-router-asns=65000",
        "--peer-router-passwords=cGFzcw==,cGFzcw==",
    ]);
    assert!(e.contains("--peer-router-passwords has 2"), "{e}");
    use base64::Engine;
    let long = base64::engine::general_purpose::STANDARD.encode([b'A'; 81]);
    let max = base64::engine::general_purpose::STANDARD.encode([b'A'; 80]);
    assert!(
        cfg(&[
            "--peer-router-ips=192.0.2.1",
            "--peer-router-asns=65000",
            &format!("--peer-router-passwords={max}")
        ])
        .is_ok()
    );
    let e = err(&[
        "--peer-router-ips=192.0.2.1",
        "--peer-router-asns=65000",
        &format!("--peer-router-passwords={long}"),
    ]);
    assert!(e.contains("at most 80") && !e.contains(&long), "{e}");
}

#[test]
fn passwords_file_used_only_without_the_flag() {
    let dir = std::env::temp_dir().join(format!("kube-bgp-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pw");
    std::fs::write(&file, "cGFzcw==,\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let f = format!("--peer-router-passwords-file={}", file.display());
    let c = cfg(&[
        "--peer-router-ips=192.0.2.1,192.0.2.2",
        "--peer-router-asns=65000,65000",
        &f,
    ])
    .unwrap();
    assert_eq!(
        c.peers[0].password.as_ref().map(Password::as_bytes),
        Some(&b"pass"[..])
    );
    assert_eq!(c.peers[1].password, None);
    let c = cfg(&[
        "--peer-router-ips=192.0.2.1",
        "--peer-router-asns=65000",
        "--peer-router-passwords=d29yZA==",
        &f,
    ])
    .unwrap();
    assert_eq!(
        c.peers[0].password.as_ref().map(Password::as_bytes),
        Some(&b"word"[..])
    );
    assert!(
        c.warnings.iter().any(|w| w.contains("both")),
        "{:?}",
        c.warnings
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let e = err(&[&f]);
    assert!(
        e.contains("cannot read") && e.contains(&file.display().to_string()),
        "{e}"
    );
}

#[test]
fn hold_time_bounds_and_truncation() {
    let h = |v: &str| cfg(&["--bgp-holdtime", v]).map(|c| c.bgp_holdtime);
    assert_eq!(h("3s"), Ok(Duration::from_secs(3)));
    assert_eq!(h("3.9s"), Ok(Duration::from_secs(3)));
    assert_eq!(h("18h12m15s"), Ok(Duration::from_secs(65535)));
    assert_eq!(h("18h12m16s"), Ok(Duration::from_secs(65535)));
    for bad in ["2.999s", "0", "18h12m16.001s", "90"] {
        assert!(h(bad).is_err(), "{bad}");
    }
}

#[test]
fn graceful_restart_checked_only_when_enabled() {
    let c = cfg(&[
        "--bgp-graceful-restart-time=5000s",
        "--bgp-graceful-restart-deferral-time=0",
    ])
    .unwrap();
    assert_eq!(c.graceful_restart, None);
    assert!(err(&["--bgp-graceful-restart-time=soon"]).contains("soon"));
    let gr =
        |a: &[&str]| cfg(&[&["--bgp-graceful-restart"], a].concat()).map(|c| c.graceful_restart);
    assert_eq!(
        gr(&[]).unwrap(),
        Some(GracefulRestart {
            restart_time: Duration::from_secs(90),
            deferral_time: Duration::from_secs(360)
        })
    );
    assert!(
        gr(&["--bgp-graceful-restart-time=4095.5s"])
            .unwrap_err()
            .to_string()
            .contains("4095.5s")
    );
    assert!(gr(&["--bgp-graceful-restart-time=0s"]).is_err());
    assert!(gr(&["--bgp-graceful-restart-deferral-time=18h0m1s"]).is_err());
    assert!(gr(&["--bgp-graceful-restart-deferral-time=18h"]).is_ok());
}

#[test]
fn router_id_forms() {
    let r = |v: &str| cfg(&[&format!("--router-id={v}")]).map(|c| c.router_id);
    assert_eq!(r(""), Ok(RouterIdMode::PrimaryIp));
    assert_eq!(r("generate"), Ok(RouterIdMode::Generate));
    assert_eq!(
        r("10.0.0.1"),
        Ok(RouterIdMode::Fixed(Ipv4Addr::new(10, 0, 0, 1)))
    );
    for bad in ["0.0.0.0", "2001:db8::1", "node1", "010.0.0.1", "1.2.3"] {
        assert!(r(bad).is_err(), "{bad}");
    }
}

#[test]
fn overlay_bfd_and_misc() {
    let c = cfg(&["--overlay-type=mesh"]).unwrap();
    assert_eq!(c.overlay_type, OverlayType::Never);
    assert!(c.warnings[0].contains("mesh"));
    assert!(err(&["--overlay-encap=gre"]).contains("gre"));
    assert!(err(&["--overlay-encap-port=1023"]).contains("1023"));
    assert_eq!(
        cfg(&["--overlay-encap=fou", "--overlay-encap-port=1024"])
            .unwrap()
            .overlay_encap,
        OverlayEncap::Fou
    );
    assert!(
        cfg(&["--bfd-detection-multiplier=0"])
            .unwrap()
            .bfd
            .is_none()
    );
    assert!(err(&["--enable-bfd", "--bfd-detection-multiplier=256"]).contains("256"));
    assert!(err(&["--enable-bfd", "--bfd-desired-min-tx-interval=4294968"]).contains("4294968"));
    let c = cfg(&["--enable-bfd", "--bgp-graceful-restart"]).unwrap();
    assert_eq!(c.bfd.map(|b| b.port), Some(3784));
    // BFD with graceful restart is no reason for a warning: they work together.
    assert!(
        !c.warnings.iter().any(|w| w.contains("BFD")),
        "{:?}",
        c.warnings
    );
    assert!(c.bfd_nodes.is_none());
    assert_eq!(cfg(&["-v", "2"]).unwrap().log_level, Level::Debug);
    assert_eq!(cfg(&["--v=5"]).unwrap().log_level, Level::Trace);
    assert!(err(&["--metrics-addr=localhost"]).contains("localhost"));
    assert!(cfg(&["--metrics-port=9090"]).unwrap().metrics_enabled());
    assert!(!cfg(&["--metrics-port=65535"]).unwrap().metrics_enabled());
    assert!(
        err(&["--service-cluster-ip-range=10.96.0.0/12,fd00::/108,10.0.0.0/8"])
            .contains("one or two")
    );
    assert!(err(&["--routes-sync-period=0s"]).contains("greater than 0"));
}

#[test]
fn bfd_for_node_sessions_is_our_own_flag() {
    let c = cfg(&["--enable-bfd-nodes", "--bfd-desired-min-tx-interval=100"]).unwrap();
    assert!(c.bfd.is_none(), "the CLI peers stay without BFD");
    let b = c.bfd_nodes.unwrap();
    assert_eq!(b.port, 3784);
    assert_eq!(b.detection_multiplier, 3);
    assert_eq!(b.desired_min_tx, Duration::from_millis(100));
    assert_eq!(b.required_min_rx, Duration::from_millis(1000));
    assert!(
        !c.warnings.iter().any(|w| w.contains("BFD")),
        "{:?}",
        c.warnings
    );
    // The --bfd-* values are range-checked with either switch.
    for bad in [
        "--bfd-port=0",
        "--bfd-detection-multiplier=0",
        "--bfd-required-min-rx-interval=0",
        "--bfd-desired-min-tx-interval=4294968",
    ] {
        let e = err(&["--enable-bfd-nodes", bad]);
        let flag = bad.split('=').next().unwrap();
        assert!(e.contains(flag), "{bad}: {e}");
    }
    let c = cfg(&["--enable-bfd", "--enable-bfd-nodes", "--bfd-port=4000"]).unwrap();
    assert_eq!(c.bfd, c.bfd_nodes);
    assert_eq!(c.bfd.unwrap().port, 4000);
    assert!(err(&["--enable-bfd-nodes=maybe"]).contains("maybe"));
}

/// `--graceful-shutdown-time`: 5 s by default, 0 turns it off, at most 60 s; a warning
/// when it is set together with graceful restart (which skips the drain).
/// `--graceful-shutdown-on-cordon` is off by default.
#[test]
fn graceful_shutdown_flags() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.graceful_shutdown_time, Duration::from_secs(5));
    assert!(!c.graceful_shutdown_on_cordon);
    let c = cfg(&[
        "--graceful-shutdown-time=0",
        "--graceful-shutdown-on-cordon",
    ])
    .unwrap();
    assert!(c.graceful_shutdown_time.is_zero());
    assert!(c.graceful_shutdown_on_cordon);
    let c = cfg(&["--graceful-shutdown-time=1m0s"]).unwrap();
    assert_eq!(c.graceful_shutdown_time, Duration::from_secs(60));
    assert_eq!(
        cfg(&["--graceful-shutdown-time=1.5s"])
            .unwrap()
            .graceful_shutdown_time,
        Duration::from_millis(1500)
    );
    let e = err(&["--graceful-shutdown-time=61s"]);
    assert!(
        e.contains("graceful-shutdown-time") && e.contains("60s"),
        "{e}"
    );
    assert!(err(&["--graceful-shutdown-time=-1s"]).contains("graceful-shutdown-time"));
    assert!(err(&["--graceful-shutdown-on-cordon=perhaps"]).contains("perhaps"));
    let c = cfg(&["--bgp-graceful-restart", "--graceful-shutdown-time=10s"]).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("--graceful-shutdown-time") && w.contains("graceful restart")),
        "{:?}",
        c.warnings
    );
    // The default with graceful restart says nothing.
    let c = cfg(&["--bgp-graceful-restart"]).unwrap();
    assert!(
        !c.warnings.iter().any(|w| w.contains("graceful-shutdown")),
        "{:?}",
        c.warnings
    );
}

/// The stop fits the service managers' stop timeouts shipped with kube-bgp: the systemd
/// unit's `TimeoutStopSec` covers the longest drain accepted, the DaemonSets'
/// `terminationGracePeriodSeconds` the default one, each with the session close (half
/// a second) and room to spare.
#[test]
fn shipped_stop_timeouts_cover_the_drain() {
    const ROOM: Duration = Duration::from_secs(5);
    let unit = include_str!("../../packaging/kube-bgp.service");
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim().strip_suffix('s'))
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec=Ns in the unit");
    assert!(
        MAX_GRACEFUL_SHUTDOWN_TIME + ROOM <= Duration::from_secs(stop),
        "TimeoutStopSec={stop}s"
    );
    for manifest in [
        include_str!("../../deploy/kube-bgp.yaml"),
        include_str!("../../deploy/kube-bgp-takeover.yaml"),
    ] {
        let grace: u64 = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("terminationGracePeriodSeconds in the DaemonSet");
        assert!(
            DEFAULT_GRACEFUL_SHUTDOWN_TIME + ROOM <= Duration::from_secs(grace),
            "terminationGracePeriodSeconds: {grace}"
        );
    }
}

#[test]
fn ignored_flags_warn_once_and_check_syntax() {
    let c = cfg(&[
        "--run-firewall=false",
        "--run-firewall=false",
        "--masquerade-all",
        "--ipvs-sync-period",
        "10s",
        "--disable-source-dest-check=false",
    ])
    .unwrap();
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("--run-firewall"));
    assert!(err(&["--ipvs-sync-period=10"]).contains("--ipvs-sync-period"));
    assert!(err(&["--hairpin-mode=yes"]).contains("yes"));
}
