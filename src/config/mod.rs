//! kube-router compatible command line → validated [`Config`].
//!
//! Owns the daemon's flags (names, types, defaults and validation as kube-router's
//! `pkg/options` plus decision D3 for numbers), the `--help` and version text, and the
//! argument syntax of the management subcommands. It reads the peer passwords file and
//! nothing else: no network, no Kubernetes, no logging (warnings are returned in
//! [`Config::warnings`] for the caller to print). A password is held only as
//! [`Password`], which never prints its bytes.
//!
//! Files: `flags` (flag table + lexopt loop), `parse` (value syntax), `build`
//! (typing and cross-flag validation), `help` (help and version text), `cli`
//! (subcommands).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::log::Level;
use crate::prefix::Prefix;

mod build;
#[cfg(test)]
mod build_tests;
pub mod cli;
pub(crate) mod flags;
pub mod help;
pub(crate) mod parse;
mod secret_file;

pub(crate) use build::build;

/// Default cluster ASN when `--cluster-asn` is 0 or absent.
pub(crate) const DEFAULT_CLUSTER_ASN: u32 = 64512;
/// `--graceful-shutdown-time` default: long enough for routers one hop away to move
/// traffic, short enough for any service manager's stop timeout.
pub(crate) const DEFAULT_GRACEFUL_SHUTDOWN_TIME: std::time::Duration =
    std::time::Duration::from_secs(5);
/// Longest `--graceful-shutdown-time` accepted.
pub(crate) const MAX_GRACEFUL_SHUTDOWN_TIME: std::time::Duration =
    std::time::Duration::from_secs(60);
/// Remote port of external peers without `--peer-router-ports`.
pub(crate) const DEFAULT_PEER_PORT: u16 = 179;
/// `--bgp-graceful-restart-deferral-time`'s default; without graceful restart it still
/// bounds how long routes of an earlier run wait for the API and the peers at start.
pub(crate) const DEFAULT_GR_DEFERRAL: std::time::Duration = std::time::Duration::from_secs(360);

/// Linux TCP_MD5SIG_MAXKEYLEN.
pub(crate) const MAX_MD5_KEY_LEN: usize = 80;

/// A TCP-MD5 key. Its `Debug` and `Display` print `<redacted>`; only
/// `Password::as_bytes` gives the key, for the `TCP_MD5SIG` socket option.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Vec<u8>);

impl Password {
    pub(crate) fn new(key: Vec<u8>) -> Password {
        Password(key)
    }

    /// The key bytes, exactly as decoded from base64 (a trailing newline included).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key ends with `\n` (D10: kept, but warned about).
    pub(crate) fn ends_with_newline(&self) -> bool {
        self.0.last() == Some(&b'\n')
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One external peer from `--peer-router-ips` and its companion lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerSpec {
    pub(crate) ip: IpAddr,
    pub(crate) asn: u32,
    pub(crate) port: u16,
    pub(crate) password: Option<Password>,
}

/// Where the BGP router ID comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouterIdMode {
    /// `--router-id` empty: the node's primary IP, which must be IPv4.
    PrimaryIp,
    /// `--router-id=generate`: FNV-1a-32 of the primary IP.
    Generate,
    /// A dotted IPv4 address.
    Fixed(Ipv4Addr),
}

/// `--overlay-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OverlayType {
    Subnet,
    Full,
    /// Any other string: kube-router accepts it and never tunnels; so do we (with a
    /// warning).
    Never,
}

/// `--overlay-encap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OverlayEncap {
    Ipip,
    Fou,
}

/// Graceful restart timers, present only when `--bgp-graceful-restart` is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GracefulRestart {
    /// Whole seconds, 0..=4095.
    pub(crate) restart_time: Duration,
    /// Whole seconds, 1..=64800.
    pub(crate) deferral_time: Duration,
}

/// BFD settings of a set of peers: the `--bfd-*` flags (for the CLI peers with
/// `--enable-bfd`, for node-to-node sessions with `--enable-bfd-nodes`) or a peer's
/// `bfd:` block in the `kube-router.io/peers` annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bfd {
    pub(crate) port: u16,
    pub(crate) detection_multiplier: u8,
    pub(crate) desired_min_tx: Duration,
    pub(crate) required_min_rx: Duration,
}

/// The validated daemon configuration. Field names follow the flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    // BGP / routing
    pub run_router: bool,
    /// Resolved: `--cluster-asn`, or 64512 when it is 0.
    pub(crate) cluster_asn: u32,
    pub(crate) nodes_full_mesh: bool,
    pub(crate) enable_ibgp: bool,
    pub(crate) peers: Vec<PeerSpec>,
    /// 0 or 1: no multihop; 2..=255: eBGP multihop TTL for external peers.
    pub(crate) peer_multihop_ttl: u8,
    pub(crate) bgp_port: u16,
    /// Whole seconds, 3..=65535.
    pub(crate) bgp_holdtime: Duration,
    pub(crate) graceful_restart: Option<GracefulRestart>,
    /// RFC 8326 drain on SIGTERM without graceful restart: how long routes are announced
    /// with GRACEFUL_SHUTDOWN before they are withdrawn (zero: off).
    pub(crate) graceful_shutdown_time: Duration,
    /// Announce with GRACEFUL_SHUTDOWN while the local Node is cordoned.
    pub(crate) graceful_shutdown_on_cordon: bool,
    /// Prefix limit per family for external peers; 0 = unlimited (a flag of our own).
    pub(crate) max_prefixes: u32,
    /// Idle wait after a prefix limit was exceeded (doubles on repeats).
    pub(crate) prefix_limit_restart: Duration,
    /// Accept a peer's hold time of 0.
    pub(crate) accept_zero_holdtime: bool,
    /// Bytes queued for one connection before Cease/Out of Resources.
    pub(crate) max_send_buffer: u32,
    /// TCP-MD5 key for node-to-node sessions (`--bgp-node-password-file`).
    pub(crate) node_password: Option<Password>,
    /// GTSM (RFC 5082) on node-to-node sessions with directly connected nodes.
    pub(crate) node_ttl_security: bool,
    pub(crate) advertise_pod_cidr: bool,
    pub(crate) advertise_cluster_ip: bool,
    pub(crate) advertise_external_ip: bool,
    pub(crate) advertise_loadbalancer_ip: bool,
    pub(crate) override_nexthop: bool,
    pub(crate) router_id: RouterIdMode,
    pub(crate) enable_overlay: bool,
    pub(crate) overlay_type: OverlayType,
    pub(crate) overlay_encap: OverlayEncap,
    pub(crate) overlay_encap_port: u16,
    pub(crate) enable_pod_egress: bool,
    pub(crate) routes_sync_period: Duration,
    pub(crate) injected_routes_sync_period: Duration,
    /// `--kernel-nexthop-objects`: routes name nexthop objects instead of a gateway each.
    pub(crate) kernel_nexthop_objects: bool,
    pub(crate) enable_ipv4: bool,
    pub(crate) enable_ipv6: bool,
    /// BFD for the CLI peers, present only when `--enable-bfd` is on.
    pub(crate) bfd: Option<Bfd>,
    /// BFD for node-to-node sessions, present only when `--enable-bfd-nodes` is on.
    pub(crate) bfd_nodes: Option<Bfd>,
    pub(crate) auto_mtu: bool,
    pub(crate) enable_cni: bool,
    /// `--cni-conf-path`; `None`: `$KUBE_ROUTER_CNI_CONF_FILE` or the default, resolved
    /// at start by the pod network.
    pub(crate) cni_conf_path: Option<PathBuf>,
    pub(crate) disable_source_dest_check: bool,
    pub(crate) service_cluster_ip_range: Vec<Prefix>,
    pub(crate) service_external_ip_range: Vec<Prefix>,
    pub(crate) loadbalancer_ip_range: Vec<Prefix>,
    pub(crate) strict_external_ip_validation: bool,
    // Kubernetes
    pub(crate) hostname_override: Option<String>,
    pub(crate) kubeconfig: Option<PathBuf>,
    pub(crate) master: Option<String>,
    // Operations
    pub(crate) metrics_addr: Option<IpAddr>,
    /// 0 (default) disables metrics; as in kube-router so does 65535.
    pub(crate) metrics_port: u16,
    pub(crate) metrics_path: String,
    pub(crate) health_addr: Option<IpAddr>,
    /// 0 disables the HTTP endpoint.
    pub(crate) health_port: u16,
    /// klog verbosity as given (`-v`).
    pub(crate) verbosity: u32,
    pub log_level: Level,
    pub(crate) ctl_socket: PathBuf,
    /// `--cleanup-config`: undo the node setup and exit instead of running.
    pub cleanup_config: bool,
    /// Warnings to print once at start: ignored kube-router flags, passwords ending in a
    /// newline (one per peer), unknown overlay type, BFD with graceful restart.
    pub warnings: Vec<String>,
}

impl Config {
    /// Whether the metrics endpoint is served (kube-router: 0 < port < 65535).
    pub(crate) fn metrics_enabled(&self) -> bool {
        self.metrics_port > 0 && self.metrics_port < u16::MAX
    }

    /// The configuration as JSON for `--check-config`; passwords appear as
    /// `"<redacted>"` (or null when the peer has none).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let secs = |d: Duration| d.as_secs_f64();
        let prefixes = |v: &[Prefix]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let peers: Vec<_> = self
            .peers
            .iter()
            .map(|p| {
                json!({
                    "ip": p.ip.to_string(),
                    "asn": p.asn,
                    "port": p.port,
                    "password": p.password.as_ref().map(|pw| pw.to_string()),
                    "password_len": p.password.as_ref().map(Password::len),
                    "password_ends_with_newline": p.password.as_ref().map(Password::ends_with_newline),
                })
            })
            .collect();
        let router_id = match self.router_id {
            RouterIdMode::PrimaryIp => json!("primary-ip"),
            RouterIdMode::Generate => json!("generate"),
            RouterIdMode::Fixed(a) => json!(a.to_string()),
        };
        let mut m = serde_json::Map::new();
        m.insert("run_router".into(), json!(self.run_router));
        m.insert("cluster_asn".into(), json!(self.cluster_asn));
        m.insert("nodes_full_mesh".into(), json!(self.nodes_full_mesh));
        m.insert("enable_ibgp".into(), json!(self.enable_ibgp));
        m.insert("peers".into(), json!(peers));
        m.insert("peer_multihop_ttl".into(), json!(self.peer_multihop_ttl));
        m.insert("bgp_port".into(), json!(self.bgp_port));
        m.insert("bgp_holdtime_secs".into(), json!(secs(self.bgp_holdtime)));
        m.insert(
            "graceful_restart".into(),
            json!(self.graceful_restart.map(|g| json!({
                "restart_time_secs": secs(g.restart_time),
                "deferral_time_secs": secs(g.deferral_time),
            }))),
        );
        m.insert(
            "graceful_shutdown_time_secs".into(),
            json!(self.graceful_shutdown_time.as_secs_f64()),
        );
        m.insert(
            "graceful_shutdown_on_cordon".into(),
            json!(self.graceful_shutdown_on_cordon),
        );
        m.insert("bgp_max_prefixes".into(), json!(self.max_prefixes));
        m.insert(
            "bgp_prefix_limit_restart_secs".into(),
            json!(secs(self.prefix_limit_restart)),
        );
        m.insert("bgp_max_send_buffer".into(), json!(self.max_send_buffer));
        m.insert(
            "bgp_accept_zero_holdtime".into(),
            json!(self.accept_zero_holdtime),
        );
        m.insert(
            "bgp_node_password".into(),
            json!(self.node_password.as_ref().map(|pw| pw.to_string())),
        );
        m.insert(
            "bgp_node_ttl_security".into(),
            json!(self.node_ttl_security),
        );
        m.insert("advertise_pod_cidr".into(), json!(self.advertise_pod_cidr));
        m.insert(
            "advertise_cluster_ip".into(),
            json!(self.advertise_cluster_ip),
        );
        m.insert(
            "advertise_external_ip".into(),
            json!(self.advertise_external_ip),
        );
        m.insert(
            "advertise_loadbalancer_ip".into(),
            json!(self.advertise_loadbalancer_ip),
        );
        m.insert("override_nexthop".into(), json!(self.override_nexthop));
        m.insert("router_id".into(), json!(router_id));
        m.insert("enable_overlay".into(), json!(self.enable_overlay));
        m.insert(
            "overlay_type".into(),
            json!(match self.overlay_type {
                OverlayType::Subnet => "subnet",
                OverlayType::Full => "full",
                OverlayType::Never => "never",
            }),
        );
        m.insert(
            "overlay_encap".into(),
            json!(match self.overlay_encap {
                OverlayEncap::Ipip => "ipip",
                OverlayEncap::Fou => "fou",
            }),
        );
        m.insert("overlay_encap_port".into(), json!(self.overlay_encap_port));
        m.insert("enable_pod_egress".into(), json!(self.enable_pod_egress));
        m.insert(
            "routes_sync_period_secs".into(),
            json!(secs(self.routes_sync_period)),
        );
        m.insert(
            "injected_routes_sync_period_secs".into(),
            json!(secs(self.injected_routes_sync_period)),
        );
        m.insert(
            "kernel_nexthop_objects".into(),
            json!(self.kernel_nexthop_objects),
        );
        m.insert("enable_ipv4".into(), json!(self.enable_ipv4));
        m.insert("enable_ipv6".into(), json!(self.enable_ipv6));
        let bfd_json = |b: Option<Bfd>| {
            json!(b.map(|b| json!({
                "port": b.port,
                "detection_multiplier": b.detection_multiplier,
                "desired_min_tx_ms": b.desired_min_tx.as_millis() as u64,
                "required_min_rx_ms": b.required_min_rx.as_millis() as u64,
            })))
        };
        m.insert("bfd".into(), bfd_json(self.bfd));
        m.insert("bfd_nodes".into(), bfd_json(self.bfd_nodes));
        m.insert("auto_mtu".into(), json!(self.auto_mtu));
        m.insert("enable_cni".into(), json!(self.enable_cni));
        m.insert(
            "cni_conf_path".into(),
            json!(self.cni_conf_path.as_ref().map(|p| p.display().to_string())),
        );
        m.insert(
            "disable_source_dest_check".into(),
            json!(self.disable_source_dest_check),
        );
        m.insert(
            "service_cluster_ip_range".into(),
            json!(prefixes(&self.service_cluster_ip_range)),
        );
        m.insert(
            "service_external_ip_range".into(),
            json!(prefixes(&self.service_external_ip_range)),
        );
        m.insert(
            "loadbalancer_ip_range".into(),
            json!(prefixes(&self.loadbalancer_ip_range)),
        );
        m.insert(
            "strict_external_ip_validation".into(),
            json!(self.strict_external_ip_validation),
        );
        m.insert("hostname_override".into(), json!(self.hostname_override));
        m.insert(
            "kubeconfig".into(),
            json!(self.kubeconfig.as_ref().map(|p| p.display().to_string())),
        );
        m.insert("master".into(), json!(self.master));
        m.insert(
            "metrics_addr".into(),
            json!(self.metrics_addr.map(|a| a.to_string())),
        );
        m.insert("metrics_port".into(), json!(self.metrics_port));
        m.insert("metrics_enabled".into(), json!(self.metrics_enabled()));
        m.insert("metrics_path".into(), json!(self.metrics_path));
        m.insert(
            "health_addr".into(),
            json!(self.health_addr.map(|a| a.to_string())),
        );
        m.insert("health_port".into(), json!(self.health_port));
        m.insert("verbosity".into(), json!(self.verbosity));
        m.insert(
            "log_level".into(),
            json!(format!("{:?}", self.log_level).to_ascii_lowercase()),
        );
        m.insert(
            "ctl_socket".into(),
            json!(self.ctl_socket.display().to_string()),
        );
        m.insert("cleanup_config".into(), json!(self.cleanup_config));
        m.insert("warnings".into(), json!(self.warnings));
        serde_json::Value::Object(m)
    }
}

/// What the daemon command line asks for.
#[derive(Debug)]
pub enum DaemonAction {
    Help,
    Version,
    /// Run (or with `check_only`, print the configuration and exit).
    Run {
        config: Box<Config>,
        check_only: bool,
    },
}

/// Parses and validates the daemon's arguments (without the program name and without a
/// leading `run`). `--help`/`--version` win over everything else, including errors in
/// other flags' values (but not unknown flags or syntax errors).
pub fn parse_daemon_args(args: Vec<std::ffi::OsString>) -> Result<DaemonAction, ConfigError> {
    let raw = flags::lex(args)?;
    let truthy = |name: &str| raw.last(name).map(parse::boolean) == Some(Ok(true));
    if truthy("help") {
        return Ok(DaemonAction::Help);
    }
    if truthy("version") {
        return Ok(DaemonAction::Version);
    }
    let config = build(&raw)?;
    let check_only = truthy("check-config");
    Ok(DaemonAction::Run {
        config: Box::new(config),
        check_only,
    })
}

/// A command-line error. Its `Display` is one line naming the flag and, unless the flag
/// is a secret, the offending value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    UnknownFlag(String),
    MissingValue(&'static str),
    /// A value that is not UTF-8 (the lossy form, or None for a secret).
    NotUtf8(&'static str, Option<String>),
    UnexpectedArgument(String),
    /// lexopt syntax errors (e.g. a value given to a flag that takes none).
    Syntax(String),
    InvalidValue {
        flag: &'static str,
        value: String,
        reason: String,
    },
    /// An entry of a secret list; the value is withheld. `entry` counts from 1.
    InvalidSecret {
        flag: &'static str,
        entry: usize,
        reason: String,
    },
    /// List lengths that must agree with `--peer-router-ips`.
    CountMismatch {
        flag: &'static str,
        count: usize,
        ips: usize,
        rule: &'static str,
    },
    PasswordsFile {
        path: String,
        reason: String,
    },
    /// A secret file of a flag of ours that cannot be used (never shows its contents).
    SecretFile {
        flag: &'static str,
        path: String,
        reason: String,
    },
    /// Subcommand usage errors.
    Usage(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownFlag(flag) => write!(f, "unknown flag {flag} (see --help)"),
            ConfigError::MissingValue(flag) => write!(f, "flag --{flag} needs a value"),
            ConfigError::NotUtf8(flag, Some(v)) => {
                write!(f, "invalid value {v:?} for --{flag}: not valid UTF-8")
            }
            ConfigError::NotUtf8(flag, None) => write!(f, "--{flag}: value is not valid UTF-8"),
            ConfigError::UnexpectedArgument(v) => write!(
                f,
                "unexpected argument {v}: flags take the form --flag=value or --flag value \
                 (booleans only --flag or --flag=false)"
            ),
            ConfigError::Syntax(e) => write!(f, "{e}"),
            ConfigError::InvalidValue {
                flag,
                value,
                reason,
            } => {
                write!(f, "invalid value {value:?} for --{flag}: {reason}")
            }
            ConfigError::InvalidSecret {
                flag,
                entry: 0,
                reason,
            } => {
                write!(f, "--{flag}: {reason} (value withheld)")
            }
            ConfigError::InvalidSecret {
                flag,
                entry,
                reason,
            } => {
                write!(f, "--{flag} entry {entry}: {reason}")
            }
            ConfigError::CountMismatch {
                flag,
                count,
                ips,
                rule,
            } => write!(
                f,
                "--{flag} has {count} entries but --peer-router-ips has {ips}: {rule}"
            ),
            ConfigError::PasswordsFile { path, reason } => {
                write!(f, "--peer-router-passwords-file {path:?}: {reason}")
            }
            ConfigError::SecretFile { flag, path, reason } => {
                write!(f, "--{flag} {path:?}: {reason}")
            }
            ConfigError::Usage(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_prints() {
        let p = Password::new(b"hunter2\n".to_vec());
        assert_eq!(format!("{p}"), "<redacted>");
        assert_eq!(format!("{p:?}"), "<redacted>");
        let peer = PeerSpec {
            ip: "192.0.2.1".parse().unwrap(),
            asn: 65000,
            port: 179,
            password: Some(p),
        };
        assert!(!format!("{peer:?}").contains("hunter2"));
        assert_eq!(peer.password.as_ref().unwrap().as_bytes(), b"hunter2\n");
        assert!(peer.password.unwrap().ends_with_newline());
    }
}
