//! Top-level command line: which subcommand, and the arguments of the management
//! subcommands (`neighbor`, `global rib`, `status`), shaped like the `gobgp` CLI (D11).
//!
//! Owns argument syntax only. Does not talk to the control socket (that is the ctl
//! client) and does not parse daemon flags (that is `flags`/`build`).

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use super::ConfigError;
use crate::prefix::{Afi, Prefix};

/// Default control socket path (`--ctl-socket`).
pub(crate) const DEFAULT_CTL_SOCKET: &str = "/run/kube-bgp/ctl.sock";

/// What to look up in the RIB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RibFilter {
    /// `PREFIX`: that exact prefix.
    Exact(Prefix),
    /// `ADDR`: the longest prefix containing it.
    Lookup(IpAddr),
}

/// A management query (or admin action) for the running daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtlRequest {
    Neighbor(Option<IpAddr>),
    GlobalRib {
        afi: Afi,
        filter: Option<RibFilter>,
    },
    Status,
    /// `explain PREFIX|ADDR`.
    Explain(RibFilter),
    /// `neighbor ADDR disable|enable|softreset`.
    NeighborAdmin(IpAddr, AdminVerb),
}

/// An administrative action on one neighbor (like gobgp's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminVerb {
    /// Administrative shutdown (Cease 6/2) with an optional message (RFC 9003).
    Disable(Option<String>),
    Enable,
    /// Soft reset: `in` (ROUTE-REFRESH or re-applied import policy), `out` (re-send our
    /// routes), or both.
    SoftReset {
        inbound: bool,
        outbound: bool,
    },
}

/// Longest shutdown message (bytes of UTF-8): RFC 8203's limit, which every receiver
/// of RFC 8203 or RFC 9003 accepts.
pub(crate) const MAX_SHUTDOWN_MESSAGE: usize = 128;

/// Options common to the management subcommands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtlOptions {
    pub socket: PathBuf,
    pub json: bool,
}

/// The subcommand chosen on the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `kube-bgp [run] FLAGS`: the daemon's flags, still unparsed.
    Daemon(Vec<OsString>),
    Ctl(CtlRequest, CtlOptions),
    /// `kube-bgp version`.
    Version,
    /// `kube-bgp help`, or `-h` on a management subcommand.
    Help,
}

/// Chooses the subcommand (arguments without the program name).
pub fn parse_command(mut args: Vec<OsString>) -> Result<Command, ConfigError> {
    let first = match args.first() {
        None => return Ok(Command::Daemon(args)),
        Some(a) => a.to_string_lossy().into_owned(),
    };
    if first.starts_with('-') {
        return Ok(Command::Daemon(args));
    }
    let rest = args.split_off(1);
    match first.as_str() {
        "run" => Ok(Command::Daemon(rest)),
        "version" => match rest.first() {
            None => Ok(Command::Version),
            Some(a) => Err(ConfigError::UnexpectedArgument(format!(
                "{:?} after version",
                a.to_string_lossy()
            ))),
        },
        "help" => Ok(Command::Help),
        "neighbor" | "global" | "status" | "explain" => parse_ctl(&first, rest),
        other => Err(ConfigError::Usage(format!(
            "unknown subcommand {other:?} (run, neighbor, global rib, status, explain, version, help)"
        ))),
    }
}

fn parse_ctl(sub: &str, args: Vec<OsString>) -> Result<Command, ConfigError> {
    let mut p = lexopt::Parser::from_args(args);
    let mut opts = CtlOptions {
        socket: PathBuf::from(DEFAULT_CTL_SOCKET),
        json: false,
    };
    let mut afi = None;
    let mut positional: Vec<String> = Vec::new();
    loop {
        let arg = match p.next() {
            Ok(Some(a)) => a,
            Ok(None) => break,
            Err(e) => return Err(ConfigError::Syntax(e.to_string())),
        };
        match arg {
            lexopt::Arg::Short('o') | lexopt::Arg::Long("output") => {
                let v = utf8(
                    p.value().map_err(|_| ConfigError::MissingValue("output"))?,
                    "output",
                )?;
                if v != "json" {
                    return Err(ConfigError::InvalidValue {
                        flag: "output",
                        value: v,
                        reason: "only json is supported".into(),
                    });
                }
                opts.json = true;
            }
            lexopt::Arg::Long("ctl-socket") => {
                let v = utf8(
                    p.value()
                        .map_err(|_| ConfigError::MissingValue("ctl-socket"))?,
                    "ctl-socket",
                )?;
                if v.is_empty() {
                    return Err(ConfigError::InvalidValue {
                        flag: "ctl-socket",
                        value: v,
                        reason: "must be a path".into(),
                    });
                }
                opts.socket = PathBuf::from(v);
            }
            lexopt::Arg::Short('a') | lexopt::Arg::Long("address-family") if sub == "global" => {
                let v = utf8(
                    p.value()
                        .map_err(|_| ConfigError::MissingValue("address-family"))?,
                    "address-family",
                )?;
                afi = Some(match v.as_str() {
                    "ipv4" => Afi::Ipv4,
                    "ipv6" => Afi::Ipv6,
                    _ => {
                        return Err(ConfigError::InvalidValue {
                            flag: "address-family",
                            value: v,
                            reason: "must be ipv4 or ipv6".into(),
                        });
                    }
                });
            }
            lexopt::Arg::Short('h') | lexopt::Arg::Long("help") => return Ok(Command::Help),
            lexopt::Arg::Value(v) => positional.push(utf8(v, "argument")?),
            lexopt::Arg::Short(c) => {
                return Err(ConfigError::UnknownFlag(format!("-{c} for kube-bgp {sub}")));
            }
            lexopt::Arg::Long(l) => {
                return Err(ConfigError::UnknownFlag(format!(
                    "--{l} for kube-bgp {sub}"
                )));
            }
        }
    }
    let extra = |v: &str| ConfigError::UnexpectedArgument(format!("{v:?} for kube-bgp {sub}"));
    let req = match sub {
        "neighbor" => {
            let addr = |a: &String| -> Result<IpAddr, ConfigError> {
                a.parse().map_err(|_| {
                    ConfigError::Usage(format!("kube-bgp neighbor: {a:?} is not an IP address"))
                })
            };
            match positional.as_slice() {
                [] => CtlRequest::Neighbor(None),
                [a] => CtlRequest::Neighbor(Some(addr(a)?)),
                [a, verb, rest @ ..] => {
                    CtlRequest::NeighborAdmin(addr(a)?, admin_verb(verb, rest)?)
                }
            }
        }
        "explain" => match positional.as_slice() {
            [q] => CtlRequest::Explain(rib_filter(q).map_err(|_| {
                ConfigError::Usage(format!(
                    "kube-bgp explain: {q:?} is not a prefix or an IP address"
                ))
            })?),
            [] => {
                return Err(ConfigError::Usage(
                    "kube-bgp explain needs a prefix or an address".into(),
                ));
            }
            [_, b, ..] => return Err(extra(b)),
        },
        "status" => match positional.first() {
            None => CtlRequest::Status,
            Some(a) => return Err(extra(a)),
        },
        _ => {
            match positional.first().map(String::as_str) {
                Some("rib") => {}
                Some(other) => {
                    return Err(ConfigError::Usage(format!(
                        "unknown subcommand \"global {other}\" (supported: global rib)"
                    )));
                }
                None => {
                    return Err(ConfigError::Usage(
                        "kube-bgp global needs a subcommand: rib".into(),
                    ));
                }
            }
            let filter = match positional.get(1..).unwrap_or_default() {
                [] => None,
                [q] => Some(rib_filter(q)?),
                [_, b, ..] => return Err(extra(b)),
            };
            // Like gobgp: the family follows the query when one is given.
            let afi = match (afi, filter) {
                (Some(a), Some(f)) if a != filter_afi(f) => {
                    return Err(ConfigError::Usage(format!(
                        "-a {} does not match the query's address family",
                        if a == Afi::Ipv4 { "ipv4" } else { "ipv6" }
                    )));
                }
                (Some(a), _) => a,
                (None, Some(f)) => filter_afi(f),
                (None, None) => Afi::Ipv4,
            };
            CtlRequest::GlobalRib { afi, filter }
        }
    };
    Ok(Command::Ctl(req, opts))
}

/// `disable [MESSAGE]`, `enable`, `softreset [in|out]` after `neighbor ADDR`.
fn admin_verb(verb: &str, rest: &[String]) -> Result<AdminVerb, ConfigError> {
    let extra = |v: &str| {
        ConfigError::UnexpectedArgument(format!("{v:?} for kube-bgp neighbor ADDR {verb}"))
    };
    match verb {
        "disable" => {
            let msg = rest.join(" ");
            if msg.len() > MAX_SHUTDOWN_MESSAGE {
                return Err(ConfigError::Usage(format!(
                    "kube-bgp neighbor ADDR disable: the message is {} bytes, at most {MAX_SHUTDOWN_MESSAGE} are sent (RFC 9003)",
                    msg.len()
                )));
            }
            Ok(AdminVerb::Disable((!msg.is_empty()).then_some(msg)))
        }
        "enable" => match rest.first() {
            None => Ok(AdminVerb::Enable),
            Some(v) => Err(extra(v)),
        },
        "softreset" => match rest {
            [] => Ok(AdminVerb::SoftReset {
                inbound: true,
                outbound: true,
            }),
            [d] if d == "in" => Ok(AdminVerb::SoftReset {
                inbound: true,
                outbound: false,
            }),
            [d] if d == "out" => Ok(AdminVerb::SoftReset {
                inbound: false,
                outbound: true,
            }),
            [d, ..] => Err(extra(d)),
        },
        other => Err(ConfigError::Usage(format!(
            "unknown neighbor action {other:?} (disable [MESSAGE], enable, softreset [in|out])"
        ))),
    }
}

fn filter_afi(f: RibFilter) -> Afi {
    match f {
        RibFilter::Exact(p) => p.afi(),
        RibFilter::Lookup(a) => Afi::of(&a),
    }
}

fn rib_filter(q: &str) -> Result<RibFilter, ConfigError> {
    if q.contains('/') {
        Prefix::from_str(q)
            .map(RibFilter::Exact)
            .map_err(|e| ConfigError::Usage(format!("kube-bgp global rib: {e}")))
    } else {
        q.parse().map(RibFilter::Lookup).map_err(|_| {
            ConfigError::Usage(format!(
                "kube-bgp global rib: {q:?} is not a prefix or an IP address"
            ))
        })
    }
}

fn utf8(v: OsString, flag: &'static str) -> Result<String, ConfigError> {
    v.into_string()
        .map_err(|v| ConfigError::NotUtf8(flag, Some(v.to_string_lossy().into_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Result<Command, ConfigError> {
        parse_command(args.iter().map(OsString::from).collect())
    }

    fn ctl(args: &[&str]) -> (CtlRequest, CtlOptions) {
        match cmd(args) {
            Ok(Command::Ctl(r, o)) => (r, o),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn daemon_forms() {
        assert_eq!(cmd(&[]), Ok(Command::Daemon(vec![])));
        assert_eq!(
            cmd(&["--run-router"]),
            Ok(Command::Daemon(vec!["--run-router".into()]))
        );
        assert_eq!(
            cmd(&["run", "-v", "2"]),
            Ok(Command::Daemon(vec!["-v".into(), "2".into()]))
        );
        assert_eq!(cmd(&["version"]), Ok(Command::Version));
        assert!(cmd(&["version", "x"]).is_err());
        assert!(matches!(cmd(&["frobnicate"]), Err(ConfigError::Usage(_))));
    }

    #[test]
    fn neighbor_and_status() {
        let (r, o) = ctl(&["neighbor"]);
        assert_eq!(r, CtlRequest::Neighbor(None));
        assert_eq!(
            o,
            CtlOptions {
                socket: DEFAULT_CTL_SOCKET.into(),
                json: false
            }
        );
        let (r, o) = ctl(&["neighbor", "192.0.2.1", "-o", "json", "--ctl-socket=/tmp/s"]);
        assert_eq!(r, CtlRequest::Neighbor(Some("192.0.2.1".parse().unwrap())));
        assert_eq!(
            o,
            CtlOptions {
                socket: "/tmp/s".into(),
                json: true
            }
        );
        assert_eq!(ctl(&["status", "-ojson"]).0, CtlRequest::Status);
        assert!(cmd(&["neighbor", "nope"]).is_err());
        assert!(cmd(&["neighbor", "192.0.2.1", "192.0.2.2"]).is_err());
        assert!(cmd(&["status", "-o", "yaml"]).is_err());
        assert!(cmd(&["status", "-a", "ipv4"]).is_err());
    }

    #[test]
    fn global_rib() {
        assert_eq!(
            ctl(&["global", "rib"]).0,
            CtlRequest::GlobalRib {
                afi: Afi::Ipv4,
                filter: None
            }
        );
        assert_eq!(
            ctl(&["global", "rib", "-a", "ipv6"]).0,
            CtlRequest::GlobalRib {
                afi: Afi::Ipv6,
                filter: None
            }
        );
        let p: Prefix = "10.1.0.0/24".parse().unwrap();
        assert_eq!(
            ctl(&["global", "rib", "10.1.0.0/24"]).0,
            CtlRequest::GlobalRib {
                afi: Afi::Ipv4,
                filter: Some(RibFilter::Exact(p))
            }
        );
        assert_eq!(
            ctl(&["global", "rib", "fd00::1"]).0,
            CtlRequest::GlobalRib {
                afi: Afi::Ipv6,
                filter: Some(RibFilter::Lookup("fd00::1".parse().unwrap()))
            }
        );
        assert!(cmd(&["global"]).is_err());
        assert!(cmd(&["global", "policy"]).is_err());
        assert!(cmd(&["global", "rib", "-a", "ipv4", "fd00::/8"]).is_err());
        assert!(cmd(&["global", "rib", "-a", "ipx"]).is_err());
        assert!(cmd(&["global", "rib", "10.0.0.0/33"]).is_err());
    }

    #[test]
    fn explain_and_admin_verbs() {
        let p: Prefix = "10.244.2.0/24".parse().unwrap();
        assert_eq!(
            ctl(&["explain", "10.244.2.0/24", "-o", "json"]).0,
            CtlRequest::Explain(RibFilter::Exact(p))
        );
        assert_eq!(
            ctl(&["explain", "10.96.0.10"]).0,
            CtlRequest::Explain(RibFilter::Lookup("10.96.0.10".parse().unwrap()))
        );
        assert!(cmd(&["explain"]).is_err());
        assert!(cmd(&["explain", "nope"]).is_err());
        assert!(cmd(&["explain", "10.0.0.0/8", "x"]).is_err());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            ctl(&["neighbor", "192.0.2.1", "disable", "maintenance", "window"]).0,
            CtlRequest::NeighborAdmin(a, AdminVerb::Disable(Some("maintenance window".into())))
        );
        assert_eq!(
            ctl(&["neighbor", "192.0.2.1", "disable"]).0,
            CtlRequest::NeighborAdmin(a, AdminVerb::Disable(None))
        );
        assert_eq!(
            ctl(&["neighbor", "192.0.2.1", "enable"]).0,
            CtlRequest::NeighborAdmin(a, AdminVerb::Enable)
        );
        assert_eq!(
            ctl(&["neighbor", "192.0.2.1", "softreset", "out"]).0,
            CtlRequest::NeighborAdmin(
                a,
                AdminVerb::SoftReset {
                    inbound: false,
                    outbound: true
                }
            )
        );
        assert_eq!(
            ctl(&["neighbor", "192.0.2.1", "softreset"]).0,
            CtlRequest::NeighborAdmin(
                a,
                AdminVerb::SoftReset {
                    inbound: true,
                    outbound: true
                }
            )
        );
        assert!(cmd(&["neighbor", "192.0.2.1", "softreset", "sideways"]).is_err());
        assert!(cmd(&["neighbor", "192.0.2.1", "enable", "now"]).is_err());
        assert!(cmd(&["neighbor", "192.0.2.1", "reboot"]).is_err());
        let long = "é".repeat(65);
        assert!(cmd(&["neighbor", "192.0.2.1", "disable", &long]).is_err());
        assert!(cmd(&["neighbor", "192.0.2.1", "disable", &"é".repeat(64)]).is_ok());
    }
}
