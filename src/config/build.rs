//! Typing and validation: raw flag values → [`Config`], with kube-router's defaults and
//! rules (kube-router's flag parsing and `validateASN`; the flags are listed in
//! docs/configuration.md) and decision D3 for numbers.
//!
//! Owns every range and cross-flag rule and reads the peer passwords file. Does not
//! know argv syntax (that is `flags`) and logs nothing: warnings go into
//! `Config::warnings`. Errors about passwords never carry the password or its base64.
//!
//! Choices where kube-router is silent or risky (all tested):
//! * Durations are range-checked exactly as given, then truncated to whole seconds
//!   (what GoBGP ends up sending): `--bgp-holdtime=3.9s` is 3 s, `2.9s` is refused.
//!   `18h12m16s` (65536 s, kube-router's upper bound) does not fit the 16-bit OPEN
//!   field (GoBGP would send 0 = no keepalives); we use 65535 s and warn.
//! * GR timers are range-checked only with `--bgp-graceful-restart`, BFD values only
//!   with `--enable-bfd` (or our `--enable-bfd-nodes`; syntax is always checked), as
//!   kube-router does.
//! * `--router-id` must be empty, `generate` or a dotted IPv4 other than 0.0.0.0
//!   (kube-router passes other strings to GoBGP, which then fails).
//! * Unknown `--overlay-type`: accepted with a warning and no tunnels (kube-router's
//!   silent behaviour, made visible). Duplicate peer IPs, peer ports 0 or above
//!   65535, keys longer than 80 bytes (the TCP-MD5 limit), zero sync periods,
//!   non-IP `--metrics-addr`/`--health-addr` and a `--metrics-path` without a leading
//!   `/` are refused at start instead of failing later.
//! * An empty value for a list flag means an empty list (pflag refuses it for number
//!   lists); duration signs are refused (no flag takes a negative duration).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::flags::{self, FlagGroup, FlagSpec, Kind, Raw};
use super::secret_file;
use super::{
    Bfd, Config, ConfigError, DEFAULT_CLUSTER_ASN, DEFAULT_GRACEFUL_SHUTDOWN_TIME,
    DEFAULT_PEER_PORT, GracefulRestart, MAX_GRACEFUL_SHUTDOWN_TIME, MAX_MD5_KEY_LEN, OverlayEncap,
    OverlayType, Password, PeerSpec, RouterIdMode, parse,
};
use crate::log::Level;
use crate::prefix::Prefix;

fn invalid(flag: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        flag,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The flag's spec; the table is static, so a missing name is a programming error
/// caught by the unit tests (every name used here is looked up there).
fn spec(name: &'static str) -> &'static FlagSpec {
    match flags::find(name) {
        Some(s) => s,
        None => unreachable!("flag --{name} missing from the table"),
    }
}

/// Last value of a scalar flag, converted; None when absent.
fn opt<T>(
    raw: &Raw,
    name: &'static str,
    conv: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    match raw.last(name) {
        None => Ok(None),
        Some(v) => conv(v).map(Some).map_err(|r| invalid(name, v, r)),
    }
}

fn boolean(raw: &Raw, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    Ok(opt(raw, name, parse::boolean)?.unwrap_or(default))
}

fn uint(raw: &Raw, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    let max = match spec(name).kind {
        Kind::Uint(max) => max,
        _ => u64::MAX,
    };
    Ok(opt(raw, name, |v| parse::decimal(v, max))?.unwrap_or(default))
}

fn duration(raw: &Raw, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    Ok(opt(raw, name, parse::duration)?.unwrap_or(default))
}

fn string(raw: &Raw, name: &'static str) -> Option<String> {
    raw.last(name).filter(|v| !v.is_empty()).map(str::to_string)
}

/// A list flag's entries over all repetitions (CSV for string lists, plain `,` split
/// for number lists; an empty value adds nothing).
fn entries(raw: &Raw, name: &'static str) -> Result<Vec<String>, ConfigError> {
    let s = spec(name);
    let mut out = Vec::new();
    for v in raw.all(name) {
        match s.kind {
            Kind::Uints | Kind::Asns => {
                if !v.is_empty() {
                    out.extend(v.split(',').map(str::to_string));
                }
            }
            Kind::Ips => {
                // pflag's ipSlice drops quote characters and trims each entry.
                let unquoted: String = v
                    .chars()
                    .filter(|c| !matches!(c, '"' | '\'' | '`'))
                    .collect();
                let list = parse::csv(&unquoted).map_err(|r| invalid(name, v, r))?;
                out.extend(list.into_iter().map(|e| e.trim().to_string()));
            }
            _ => {
                let list = parse::csv(v).map_err(|r| {
                    if s.secret {
                        ConfigError::InvalidSecret {
                            flag: s.name,
                            entry: 0,
                            reason: r,
                        }
                    } else {
                        invalid(name, v, r)
                    }
                })?;
                out.extend(list);
            }
        }
    }
    Ok(out)
}

fn prefixes(raw: &Raw, name: &'static str, default: &[&str]) -> Result<Vec<Prefix>, ConfigError> {
    let list = if raw.given(name) {
        entries(raw, name)?
    } else {
        default.iter().map(|s| s.to_string()).collect()
    };
    list.iter()
        .map(|e| Prefix::from_str(e).map_err(|_| invalid(name, e, "not a CIDR (address/length)")))
        .collect()
}

fn ip_addr(raw: &Raw, name: &'static str) -> Result<Option<IpAddr>, ConfigError> {
    match raw.last(name) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| invalid(name, v, "not an IP address")),
    }
}

/// kube-router's `validateASN`: ASNs a peer may not use (0, AS_TRANS and the reserved
/// ranges kube-router refuses).
pub(crate) fn reserved_asn(asn: u32) -> Option<&'static str> {
    match asn {
        0 => Some("0 is reserved"),
        crate::bgp::wire::AS_TRANS => Some("23456 is AS_TRANS"),
        64000..=64511 => Some("64000-64511 are reserved"),
        65535 => Some("65535 is reserved"),
        65536..=131071 => Some("65536-131071 are reserved"),
        4294967295 => Some("4294967295 is reserved"),
        _ => None,
    }
}

fn cluster_asn(raw: &Raw) -> Result<u32, ConfigError> {
    let asn = opt(raw, "cluster-asn", parse::asn)?.unwrap_or(0);
    match asn {
        0 => Ok(DEFAULT_CLUSTER_ASN),
        64512..=65535 | 4200000000..=4294967294 => Ok(asn),
        _ => Err(invalid(
            "cluster-asn",
            raw.last("cluster-asn").unwrap_or_default(),
            "must be 0 (meaning 64512), 64512-65535 or 4200000000-4294967294",
        )),
    }
}

/// The raw password list: the flag, else the file (split on `,`, no trimming).
fn password_entries(
    raw: &Raw,
    warnings: &mut Vec<String>,
) -> Result<(Vec<String>, &'static str), ConfigError> {
    let listed = entries(raw, "peer-router-passwords")?;
    let file = string(raw, "peer-router-passwords-file");
    if listed.iter().any(|e| !e.is_empty()) {
        warnings.push(
            "--peer-router-passwords on the command line can be read by every local user \
             (/proc/PID/cmdline); put the list in a file readable only by root and give \
             --peer-router-passwords-file instead"
                .into(),
        );
    }
    if !listed.is_empty() {
        if file.is_some() {
            warnings.push(
                "both --peer-router-passwords and --peer-router-passwords-file are set; \
                 using --peer-router-passwords as kube-router does"
                    .into(),
            );
        }
        return Ok((listed, "peer-router-passwords"));
    }
    let Some(path) = file else {
        return Ok((Vec::new(), "peer-router-passwords"));
    };
    let bytes = read_private_file(&path)?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::PasswordsFile {
        path: path.clone(),
        reason: "not UTF-8 text".into(),
    })?;
    Ok((
        text.split(',').map(str::to_string).collect(),
        "peer-router-passwords-file",
    ))
}

/// `--bgp-node-password-file`: one base64 TCP-MD5 key (whitespace around it ignored),
/// from a file only its owner may read.
fn node_password(path: &str) -> Result<Password, ConfigError> {
    const FLAG: &str = "bgp-node-password-file";
    let err = |reason: String| ConfigError::SecretFile {
        flag: FLAG,
        path: path.to_string(),
        reason,
    };
    let bytes = secret_file::read_private(std::path::Path::new(path)).map_err(err)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| err("not UTF-8 text".into()))?;
    let key = parse::base64_std(text.trim()).map_err(|r| err(format!("not base64: {r}")))?;
    if key.is_empty() {
        return Err(err("the password is empty".into()));
    }
    if key.len() > MAX_MD5_KEY_LEN {
        return Err(err(format!(
            "decoded key is {} bytes; TCP-MD5 allows at most {MAX_MD5_KEY_LEN}",
            key.len()
        )));
    }
    Ok(Password::new(key))
}

/// Reads a file holding secrets, refusing one that group or others may read or write
/// (see `secret_file`).
fn read_private_file(path: &str) -> Result<Vec<u8>, ConfigError> {
    secret_file::read_private(std::path::Path::new(path)).map_err(|reason| {
        ConfigError::PasswordsFile {
            path: path.to_string(),
            reason,
        }
    })
}

fn peers(raw: &Raw, warnings: &mut Vec<String>) -> Result<Vec<PeerSpec>, ConfigError> {
    let mut ips: Vec<IpAddr> = Vec::new();
    for e in entries(raw, "peer-router-ips")? {
        let ip: IpAddr = e
            .parse()
            .map_err(|_| invalid("peer-router-ips", &e, "not an IP address"))?;
        // Go holds IPv4 in 16-byte mapped form: ::ffff:a.b.c.d is that IPv4 peer.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if ips.contains(&ip) {
            return Err(invalid("peer-router-ips", &e, "peer listed twice"));
        }
        ips.push(ip);
    }
    let mut asns = Vec::new();
    for e in entries(raw, "peer-router-asns")? {
        let asn = parse::asn(&e).map_err(|r| invalid("peer-router-asns", &e, r))?;
        if let Some(why) = reserved_asn(asn) {
            return Err(invalid(
                "peer-router-asns",
                &e,
                format!("reserved ASN number ({why})"),
            ));
        }
        asns.push(asn);
    }
    if asns.len() != ips.len() {
        return Err(ConfigError::CountMismatch {
            flag: "peer-router-asns",
            count: asns.len(),
            ips: ips.len(),
            rule: "the number of IPs and ASN numbers must be equal",
        });
    }
    let mut ports = Vec::new();
    for e in entries(raw, "peer-router-ports")? {
        let port = parse::decimal(&e, 65535).map_err(|r| invalid("peer-router-ports", &e, r))?;
        if port == 0 {
            return Err(invalid("peer-router-ports", &e, "port must be 1-65535"));
        }
        ports.push(port as u16);
    }
    if !ports.is_empty() && ports.len() != ips.len() {
        return Err(ConfigError::CountMismatch {
            flag: "peer-router-ports",
            count: ports.len(),
            ips: ips.len(),
            rule: "give no ports (179 for all) or one per peer",
        });
    }
    let (pw_entries, pw_flag) = password_entries(raw, warnings)?;
    let mut passwords = Vec::new();
    for (i, e) in pw_entries.iter().enumerate() {
        let key = parse::base64_std(e).map_err(|r| ConfigError::InvalidSecret {
            flag: pw_flag,
            entry: i + 1,
            reason: r,
        })?;
        if key.len() > MAX_MD5_KEY_LEN {
            return Err(ConfigError::InvalidSecret {
                flag: pw_flag,
                entry: i + 1,
                reason: format!(
                    "decoded key is {} bytes; TCP-MD5 allows at most {MAX_MD5_KEY_LEN}",
                    key.len()
                ),
            });
        }
        passwords.push((!key.is_empty()).then(|| Password::new(key)));
    }
    if !passwords.is_empty() && passwords.len() != ips.len() {
        return Err(ConfigError::CountMismatch {
            flag: pw_flag,
            count: passwords.len(),
            ips: ips.len(),
            rule: "give no passwords or one per peer (an empty entry means none)",
        });
    }
    let mut out = Vec::with_capacity(ips.len());
    for (i, ip) in ips.into_iter().enumerate() {
        let password = passwords.get_mut(i).and_then(Option::take);
        if password.as_ref().is_some_and(Password::ends_with_newline) {
            warnings.push(format!(
                "peer {ip}: the TCP-MD5 password ends with a newline (as `echo ... | base64` \
                 produces); it is used as is, like kube-router, so the peer's key must end \
                 with a newline too"
            ));
        }
        out.push(PeerSpec {
            ip,
            asn: asns.get(i).copied().unwrap_or_default(),
            port: ports.get(i).copied().unwrap_or(DEFAULT_PEER_PORT),
            password,
        });
    }
    Ok(out)
}

fn router_id(raw: &Raw) -> Result<RouterIdMode, ConfigError> {
    match raw.last("router-id") {
        None | Some("") => Ok(RouterIdMode::PrimaryIp),
        Some("generate") => Ok(RouterIdMode::Generate),
        Some(v) => match v.parse::<Ipv4Addr>() {
            Ok(a) if !a.is_unspecified() => Ok(RouterIdMode::Fixed(a)),
            Ok(_) => Err(invalid(
                "router-id",
                v,
                "0.0.0.0 is not a valid BGP router ID",
            )),
            Err(_) => Err(invalid(
                "router-id",
                v,
                "kube-bgp needs a dotted IPv4 address or \"generate\" (or leave it empty)",
            )),
        },
    }
}

fn graceful_restart(raw: &Raw) -> Result<Option<GracefulRestart>, ConfigError> {
    let enabled = boolean(raw, "bgp-graceful-restart", false)?;
    // Syntax is always checked (as pflag does); ranges only when GR is on.
    let restart = duration(raw, "bgp-graceful-restart-time", Duration::from_secs(90))?;
    let deferral = duration(
        raw,
        "bgp-graceful-restart-deferral-time",
        Duration::from_secs(360),
    )?;
    if !enabled {
        return Ok(None);
    }
    let shown = |name: &str, d: Duration| {
        raw.last(name)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{d:?}"))
    };
    if restart.is_zero() || restart > Duration::from_secs(4095) {
        return Err(invalid(
            "bgp-graceful-restart-time",
            &shown("bgp-graceful-restart-time", restart),
            "must be more than 0 and at most 4095s when --bgp-graceful-restart is on",
        ));
    }
    if deferral.is_zero() || deferral > Duration::from_secs(18 * 3600) {
        return Err(invalid(
            "bgp-graceful-restart-deferral-time",
            &shown("bgp-graceful-restart-deferral-time", deferral),
            "must be more than 0 and at most 18h when --bgp-graceful-restart is on",
        ));
    }
    Ok(Some(GracefulRestart {
        restart_time: Duration::from_secs(restart.as_secs()),
        deferral_time: Duration::from_secs(deferral.as_secs()),
    }))
}

/// The `--bfd-*` values, range-checked when `--enable-bfd` or `--enable-bfd-nodes` is
/// on: (for the CLI peers, for node-to-node sessions).
fn bfd(raw: &Raw) -> Result<(Option<Bfd>, Option<Bfd>), ConfigError> {
    let enabled = boolean(raw, "enable-bfd", false)?;
    let nodes = boolean(raw, "enable-bfd-nodes", false)?;
    let port = uint(raw, "bfd-port", 3784)?;
    let mult = uint(raw, "bfd-detection-multiplier", 3)?;
    let tx = uint(raw, "bfd-desired-min-tx-interval", 1000)?;
    let rx = uint(raw, "bfd-required-min-rx-interval", 1000)?;
    if !enabled && !nodes {
        return Ok((None, None));
    }
    let check = |name: &'static str, v: u64, max: u64| {
        if v == 0 || v > max {
            Err(invalid(
                name,
                &v.to_string(),
                format!("must be 1-{max} when --enable-bfd or --enable-bfd-nodes is on"),
            ))
        } else {
            Ok(v)
        }
    };
    let max_ms = u64::from(u32::MAX) / 1000;
    let b = Bfd {
        port: check("bfd-port", port, 65535)? as u16,
        detection_multiplier: check("bfd-detection-multiplier", mult, 255)? as u8,
        desired_min_tx: Duration::from_millis(check("bfd-desired-min-tx-interval", tx, max_ms)?),
        required_min_rx: Duration::from_millis(check("bfd-required-min-rx-interval", rx, max_ms)?),
    };
    Ok((enabled.then_some(b), nodes.then_some(b)))
}

/// Checks an ignored flag's values for syntax (so a command line kube-router refuses is
/// refused here too) and returns its one warning line.
fn ignored(raw: &Raw, s: &'static FlagSpec) -> Result<String, ConfigError> {
    for v in raw.all(s.name) {
        let ok = match s.kind {
            Kind::Bool => parse::boolean(v).map(drop),
            Kind::Duration => parse::duration(v).map(drop),
            Kind::Uint(max) => parse::decimal(v, max).map(drop),
            Kind::Strings => parse::csv(v).map(drop),
            _ => Ok(()),
        };
        ok.map_err(|r| invalid(s.name, v, r))?;
    }
    Ok(format!(
        "ignoring kube-router flag --{} ({}): kube-bgp only runs the routing controller",
        s.name,
        s.help.trim_end_matches('.')
    ))
}

/// Builds the validated configuration from the raw flag values.
pub(crate) fn build(raw: &Raw) -> Result<Config, ConfigError> {
    let mut warnings = Vec::new();
    for s in raw.seen().iter().filter(|s| s.group == FlagGroup::Ignored) {
        warnings.push(ignored(raw, s)?);
    }
    let run_router = boolean(raw, "run-router", true)?;
    let cluster_asn = cluster_asn(raw)?;
    let peers = peers(raw, &mut warnings)?;

    let bgp_port = uint(raw, "bgp-port", 179)?;
    if !(1..=65535).contains(&bgp_port) {
        return Err(invalid(
            "bgp-port",
            raw.last("bgp-port").unwrap_or_default(),
            "must be 1-65535",
        ));
    }
    let hold = duration(raw, "bgp-holdtime", Duration::from_secs(90))?;
    if hold < Duration::from_secs(3) || hold > Duration::from_secs(65536) {
        return Err(invalid(
            "bgp-holdtime",
            raw.last("bgp-holdtime").unwrap_or_default(),
            "must be between 3s and 18h12m16s",
        ));
    }
    let mut hold_secs = hold.as_secs();
    if hold_secs > 65535 {
        warnings
            .push("--bgp-holdtime 65536s does not fit BGP's 16-bit hold time; using 65535s".into());
        hold_secs = 65535;
    }
    let graceful_restart = graceful_restart(raw)?;
    let graceful_shutdown_time = duration(
        raw,
        "graceful-shutdown-time",
        DEFAULT_GRACEFUL_SHUTDOWN_TIME,
    )?;
    if graceful_shutdown_time > MAX_GRACEFUL_SHUTDOWN_TIME {
        return Err(invalid(
            "graceful-shutdown-time",
            raw.last("graceful-shutdown-time").unwrap_or_default(),
            "must be at most 60s (0 turns the drain off)",
        ));
    }
    if graceful_restart.is_some()
        && !graceful_shutdown_time.is_zero()
        && raw.last("graceful-shutdown-time").is_some()
    {
        warnings.push(
            "--graceful-shutdown-time applies only without --bgp-graceful-restart: with \
             graceful restart, peers keep kube-bgp's routes across a stop instead"
                .into(),
        );
    }
    let prefix_limit_restart = duration(raw, "bgp-prefix-limit-restart", Duration::from_secs(60))?;
    if prefix_limit_restart < Duration::from_secs(1) {
        return Err(invalid(
            "bgp-prefix-limit-restart",
            raw.last("bgp-prefix-limit-restart").unwrap_or_default(),
            "must be at least 1s",
        ));
    }
    let max_send_buffer = uint(raw, "bgp-max-send-buffer", 32 << 20)?;
    if max_send_buffer < 65536 {
        return Err(invalid(
            "bgp-max-send-buffer",
            raw.last("bgp-max-send-buffer").unwrap_or_default(),
            "must be at least 65536",
        ));
    }
    let node_password = match string(raw, "bgp-node-password-file") {
        None => None,
        Some(path) => Some(node_password(&path)?),
    };
    // BFD and graceful restart are meant to be used together (kube-router warns about
    // the pair): kube-bgp tells its BFD peers AdminDown before a graceful stop.
    let (bfd, bfd_nodes) = bfd(raw)?;

    let overlay_type = match raw.last("overlay-type").unwrap_or("subnet") {
        "subnet" => OverlayType::Subnet,
        "full" => OverlayType::Full,
        other => {
            warnings.push(format!(
                "unknown --overlay-type {other:?}: like kube-router, no tunnels will be built \
                 (valid: subnet, full)"
            ));
            OverlayType::Never
        }
    };
    let overlay_encap = match raw.last("overlay-encap").unwrap_or("ipip") {
        "ipip" => OverlayEncap::Ipip,
        "fou" => OverlayEncap::Fou,
        other => {
            return Err(invalid(
                "overlay-encap",
                other,
                "unknown --overlay-encap option (valid: ipip, fou)",
            ));
        }
    };
    let overlay_encap_port = uint(raw, "overlay-encap-port", 5555)?;
    if overlay_encap_port < 1024 {
        return Err(invalid(
            "overlay-encap-port",
            raw.last("overlay-encap-port").unwrap_or_default(),
            "must be 1024 or more",
        ));
    }
    let period = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
        let d = duration(raw, name, Duration::from_secs(default))?;
        if d.is_zero() {
            return Err(invalid(
                name,
                raw.last(name).unwrap_or_default(),
                "must be greater than 0",
            ));
        }
        Ok(d)
    };
    let routes_sync_period = period("routes-sync-period", 300)?;
    let injected_routes_sync_period = period("injected-routes-sync-period", 60)?;

    let service_cluster_ip_range = prefixes(raw, "service-cluster-ip-range", &["10.96.0.0/12"])?;
    if service_cluster_ip_range.is_empty() || service_cluster_ip_range.len() > 2 {
        return Err(invalid(
            "service-cluster-ip-range",
            &raw.all("service-cluster-ip-range").join(","),
            "give one or two CIDRs (one per address family)",
        ));
    }

    let metrics_path = raw.last("metrics-path").unwrap_or("/metrics").to_string();
    if !metrics_path.starts_with('/') {
        return Err(invalid("metrics-path", &metrics_path, "must start with /"));
    }
    let verbosity = opt(raw, "v", |v| parse::decimal(v, i32::MAX as u64))?.unwrap_or(0) as u32;
    let log_level = match verbosity {
        0 => Level::Info,
        1 | 2 => Level::Debug,
        _ => Level::Trace,
    };
    // kube-router's routing controller flags that are on by default and that kube-bgp
    // does not implement: one warning each, so nobody relies on them silently.
    let disable_source_dest_check = boolean(raw, "disable-source-dest-check", true)?;
    if disable_source_dest_check {
        warnings.push(
            "--disable-source-dest-check is on (kube-router's default), but kube-bgp makes no \
             AWS API calls: on EC2, turn the instances' source/destination check off yourself \
             (--disable-source-dest-check=false silences this)"
                .into(),
        );
    }
    let ctl_socket = raw
        .last("ctl-socket")
        .unwrap_or(crate::ops::ctl::DEFAULT_SOCKET);
    if ctl_socket.is_empty() {
        return Err(invalid("ctl-socket", ctl_socket, "must be a path"));
    }

    Ok(Config {
        run_router,
        cluster_asn,
        nodes_full_mesh: boolean(raw, "nodes-full-mesh", true)?,
        enable_ibgp: boolean(raw, "enable-ibgp", true)?,
        peers,
        peer_multihop_ttl: uint(raw, "peer-router-multihop-ttl", 0)? as u8,
        bgp_port: bgp_port as u16,
        bgp_holdtime: Duration::from_secs(hold_secs),
        graceful_restart,
        max_prefixes: uint(raw, "bgp-max-prefixes", 10_000)? as u32,
        prefix_limit_restart,
        graceful_shutdown_time,
        graceful_shutdown_on_cordon: boolean(raw, "graceful-shutdown-on-cordon", false)?,
        accept_zero_holdtime: boolean(raw, "bgp-accept-zero-holdtime", false)?,
        max_send_buffer: max_send_buffer as u32,
        node_password,
        node_ttl_security: boolean(raw, "bgp-node-ttl-security", false)?,
        advertise_pod_cidr: boolean(raw, "advertise-pod-cidr", true)?,
        advertise_cluster_ip: boolean(raw, "advertise-cluster-ip", false)?,
        advertise_external_ip: boolean(raw, "advertise-external-ip", false)?,
        advertise_loadbalancer_ip: boolean(raw, "advertise-loadbalancer-ip", false)?,
        override_nexthop: boolean(raw, "override-nexthop", false)?,
        router_id: router_id(raw)?,
        enable_overlay: boolean(raw, "enable-overlay", true)?,
        overlay_type,
        overlay_encap,
        overlay_encap_port: overlay_encap_port as u16,
        enable_pod_egress: boolean(raw, "enable-pod-egress", true)?,
        routes_sync_period,
        injected_routes_sync_period,
        kernel_nexthop_objects: boolean(
            raw,
            "kernel-nexthop-objects",
            crate::kernel::nexthop::DEFAULT_NEXTHOP_OBJECTS,
        )?,
        enable_ipv4: boolean(raw, "enable-ipv4", true)?,
        enable_ipv6: boolean(raw, "enable-ipv6", false)?,
        bfd,
        bfd_nodes,
        auto_mtu: boolean(raw, "auto-mtu", true)?,
        enable_cni: boolean(raw, "enable-cni", true)?,
        cni_conf_path: string(raw, "cni-conf-path").map(PathBuf::from),
        disable_source_dest_check,
        service_cluster_ip_range,
        service_external_ip_range: prefixes(raw, "service-external-ip-range", &[])?,
        loadbalancer_ip_range: prefixes(raw, "loadbalancer-ip-range", &[])?,
        strict_external_ip_validation: boolean(raw, "strict-external-ip-validation", true)?,
        hostname_override: string(raw, "hostname-override"),
        kubeconfig: string(raw, "kubeconfig").map(PathBuf::from),
        master: string(raw, "master"),
        metrics_addr: ip_addr(raw, "metrics-addr")?,
        metrics_port: uint(raw, "metrics-port", 0)? as u16,
        metrics_path,
        health_addr: ip_addr(raw, "health-addr")?,
        health_port: uint(raw, "health-port", 20244)? as u16,
        verbosity,
        log_level,
        ctl_socket: PathBuf::from(ctl_socket),
        cleanup_config: boolean(raw, "cleanup-config", false)?,
        warnings,
    })
}
