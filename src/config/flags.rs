//! The flag table (every kube-router flag kube-bgp knows, with its type, default, group
//! and help text) and the lexopt loop that turns argv into raw per-flag values.
//!
//! Owns flag names and command-line syntax (`--flag value`, `--flag=value`, bare
//! booleans, `-v N`). Does not interpret values beyond finding the flag: typing and
//! validation happen in `build`. Never prints a value of a flag marked `secret`.

use std::collections::HashMap;
use std::ffi::OsString;

use super::ConfigError;

/// How a flag takes its value (pflag's type, as kube-router declares it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// `--flag` (true) or `--flag=BOOL`; never takes the next argument.
    Bool,
    Str,
    /// Comma-separated, CSV quoting (pflag `stringSlice`); repeats accumulate.
    Strings,
    /// Comma-separated IP addresses (pflag `ipSlice`); repeats accumulate.
    Ips,
    /// Comma-separated decimal numbers (pflag `uintSlice`); repeats accumulate.
    Uints,
    /// Comma-separated AS numbers; repeats accumulate.
    Asns,
    /// Decimal number up to the given maximum (the Go type's range).
    Uint(u64),
    /// One AS number (asplain or asdot).
    Asn,
    /// Go duration syntax.
    Duration,
}

impl Kind {
    /// Placeholder shown in `--help`.
    pub(crate) fn placeholder(self) -> &'static str {
        match self {
            Kind::Bool => "[=BOOL]",
            Kind::Str => " STRING",
            Kind::Strings => " LIST",
            Kind::Ips => " IP,...",
            Kind::Uints => " N,...",
            Kind::Asns => " ASN,...",
            Kind::Uint(_) => " N",
            Kind::Asn => " ASN",
            Kind::Duration => " DURATION",
        }
    }
}

/// Section of `--help` a flag is listed under.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FlagGroup {
    Bgp,
    Kubernetes,
    Operations,
    /// Flags of kube-router's other controllers: accepted, checked for syntax, ignored.
    Ignored,
}

/// One command-line flag.
#[derive(Debug)]
pub(crate) struct FlagSpec {
    pub(crate) name: &'static str,
    pub(crate) short: Option<char>,
    pub(crate) kind: Kind,
    /// Default as shown in `--help` ("" = empty).
    pub(crate) default: &'static str,
    pub(crate) group: FlagGroup,
    pub(crate) help: &'static str,
    /// The value is a secret: never echoed in errors or output.
    pub(crate) secret: bool,
}

const fn f(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    group: FlagGroup,
    help: &'static str,
) -> FlagSpec {
    FlagSpec {
        name,
        short: None,
        kind,
        default,
        group,
        help,
        secret: false,
    }
}

use FlagGroup::{Bgp, Ignored, Kubernetes, Operations};
use Kind::{Asn, Asns, Bool, Duration as Dur, Ips, Str, Strings, Uint, Uints};

const U16: u64 = u16::MAX as u64;
const U32: u64 = u32::MAX as u64;

/// Every flag, in `--help` order within each group.
#[rustfmt::skip]
pub(crate) static FLAGS: &[FlagSpec] = &[
    f("run-router", Bool, "true", Bgp, "Run the routing controller. With false there is nothing for kube-bgp to do: it logs that and exits 0."),
    f("cluster-asn", Asn, "0", Bgp, "ASN of the node-to-node full mesh; 0 means 64512. Non-zero must be 64512-65535 or 4200000000-4294967294 (asplain or asdot)."),
    f("nodes-full-mesh", Bool, "true", Bgp, "Every node peers with every other node using the cluster ASN. false: the local ASN comes from the kube-router.io/node.asn annotation."),
    f("enable-ibgp", Bool, "true", Bgp, "Peer with the other cluster nodes. false: external peers only."),
    f("peer-router-ips", Ips, "", Bgp, "External BGP peers every node peers with."),
    f("peer-router-asns", Asns, "", Bgp, "One ASN per --peer-router-ips entry (reserved ASNs refused)."),
    FlagSpec { secret: true, ..f("peer-router-passwords", Strings, "", Bgp, "Base64 TCP-MD5 passwords, none or one per peer; an empty entry means no password for that peer. Never printed.")
    },
    f("peer-router-passwords-file", Str, "", Bgp, "File holding the same comma-separated base64 list; read only when --peer-router-passwords is empty. Must not be readable by group or others (mode 0600)."),
    f("peer-router-ports", Uints, "", Bgp, "Remote TCP port per external peer (none: 179 for all)."),
    f("peer-router-multihop-ttl", Uint(255), "0", Bgp, "eBGP multihop TTL for external peers when 2 or more."),
    f("bgp-port", Uint(U32), "179", Bgp, "Local BGP listen port and remote port of node-to-node peers (1-65535)."),
    f("bgp-holdtime", Dur, "1m30s", Bgp, "Hold time offered to external peers, 3s..18h12m16s; truncated to whole seconds."),
    f("bgp-max-prefixes", Uint(U32), "10000", Bgp, "kube-bgp: most prefixes per address family an external peer may send (filtered ones count); beyond it the session ends with Cease 6/1 and is retried after --bgp-prefix-limit-restart. 0 = unlimited. Node peers get a limit derived from the cluster's pod CIDRs."),
    f("bgp-prefix-limit-restart", Dur, "1m0s", Bgp, "kube-bgp: how long a peer that exceeded its prefix limit stays down; doubles on each repeat, up to 15m."),
    f("bgp-max-send-buffer", Uint(U32), "33554432", Bgp, "kube-bgp: most bytes queued for one BGP connection (a peer that reads too slowly); beyond it the session ends with Cease 6/8 (out of resources). At least 65536."),
    f("bgp-accept-zero-holdtime", Bool, "false", Bgp, "kube-bgp: accept peers that open with hold time 0 (no keepalives, no hold timer); refused by default."),
    f("bgp-node-password-file", Str, "", Bgp, "kube-bgp: file with a base64 TCP-MD5 password for every node-to-node session (must not be readable by group or others)."),
    f("bgp-node-ttl-security", Bool, "false", Bgp, "kube-bgp: GTSM (RFC 5082) on node-to-node sessions with directly connected nodes: send TTL 255, accept only TTL 255. Every node must run kube-bgp with it."),
    f("bgp-graceful-restart", Bool, "false", Bgp, "Enable BGP graceful restart (RFC 4724) on all peers."),
    f("bgp-graceful-restart-time", Dur, "1m30s", Bgp, "Restart time advertised, >0 and at most 4095s (checked only with graceful restart)."),
    f("bgp-graceful-restart-deferral-time", Dur, "6m0s", Bgp, "Selection deferral time, >0 and at most 18h (checked only with graceful restart). Also bounds how long routes of an earlier run wait at start for the API and the peers (6m without graceful restart), counted from the API's first list."),
    f("graceful-shutdown-time", Dur, "5s", Bgp, "kube-bgp: on SIGTERM without graceful restart, first re-announce every route with the GRACEFUL_SHUTDOWN community 65535:0 (RFC 8326; LOCAL_PREF 0 towards iBGP peers) and wait this long for the routers to move traffic away, then withdraw and close with Cease (administrative shutdown). 0 = off; at most 60s. A second SIGTERM or SIGINT stops at once. Keep it below the service manager's stop timeout (the systemd unit allows 75s, deploy/kube-bgp.yaml 30s)."),
    f("graceful-shutdown-on-cordon", Bool, "false", Bgp, "kube-bgp: while the local Node is cordoned (spec.unschedulable), announce every route with the GRACEFUL_SHUTDOWN community 65535:0 (and LOCAL_PREF 0 towards iBGP peers), so routers prefer other nodes; normal announcements come back on uncordon."),
    f("advertise-pod-cidr", Bool, "true", Bgp, "Advertise the node's pod CIDR(s) to external peers."),
    f("advertise-cluster-ip", Bool, "false", Bgp, "Advertise service cluster IPs to external peers (service annotations override)."),
    f("advertise-external-ip", Bool, "false", Bgp, "Advertise service external IPs."),
    f("advertise-loadbalancer-ip", Bool, "false", Bgp, "Advertise service load-balancer IPs."),
    f("override-nexthop", Bool, "false", Bgp, "Set next hop self on routes exported to external peers."),
    f("router-id", Str, "", Bgp, "BGP router ID: a dotted IPv4 address, or \"generate\" (hash of the node IP); empty: the node's IPv4 address."),
    f("enable-overlay", Bool, "true", Bgp, "Tunnel (IPIP/FoU) to nodes in other subnets."),
    f("overlay-type", Str, "subnet", Bgp, "subnet: tunnel only to next hops outside local subnets; full: tunnel to every node."),
    f("overlay-encap", Str, "ipip", Bgp, "Tunnel encapsulation: ipip or fou."),
    f("overlay-encap-port", Uint(U16), "5555", Bgp, "UDP port for fou encapsulation (1024 or more)."),
    f("enable-pod-egress", Bool, "true", Bgp, "Masquerade traffic from pods to destinations that are neither pods nor nodes (nftables table inet kube-bgp); false removes it."),
    f("routes-sync-period", Dur, "5m0s", Bgp, "Period of the full safety-net resync (changes apply at once anyway)."),
    f("injected-routes-sync-period", Dur, "1m0s", Bgp, "Period at which kernel routes are checked against the desired set."),
    f("kernel-nexthop-objects", Bool, "true", Bgp, "Install kernel routes through nexthop objects (one per distinct next hop; routes name it by id, `ip route` prints `nhid N` before the gateway), which the kernel installs with less CPU; false: plain routes with a gateway or device each, as kube-router installs them. Routes of either form already installed are kept while they match; kernels without nexthop objects get plain routes."),
    f("enable-ipv4", Bool, "true", Bgp, "Require an IPv4 address on the Node object."),
    f("enable-ipv6", Bool, "false", Bgp, "Require an IPv6 address on the Node object."),
    f("enable-bfd", Bool, "false", Bgp, "Enable BFD for the --peer-router-ips peers: a BFD failure ends the BGP session at once (Cease 6/10) and withdraws its routes."),
    f("bfd-port", Uint(U32), "3784", Bgp, "BFD UDP destination port (1-65535); the default 3784 means 4784 for multihop sessions."),
    f("bfd-detection-multiplier", Uint(U32), "3", Bgp, "BFD detection multiplier (1-255)."),
    f("bfd-desired-min-tx-interval", Uint(U32), "1000", Bgp, "BFD desired minimum transmit interval in ms (1-4294967)."),
    f("bfd-required-min-rx-interval", Uint(U32), "1000", Bgp, "BFD required minimum receive interval in ms (1-4294967)."),
    f("enable-bfd-nodes", Bool, "false", Bgp, "kube-bgp's own: also run BFD on the node-to-node sessions, with the --bfd-* values."),
    f("auto-mtu", Bool, "true", Bgp, "Give kube-bridge and the CNI configuration the MTU of the interface holding the node's address."),
    f("enable-cni", Bool, "true", Bgp, "Keep the CNI configuration's IPAM ranges (the node's pod CIDRs) and MTU up to date; write kube-router's default configuration when the file is missing."),
    f("cni-conf-path", Str, "", Bgp, "CNI configuration file (default: $KUBE_ROUTER_CNI_CONF_FILE, else /etc/cni/net.d/10-kuberouter.conflist, or the .conf of that name when only it exists)."),
    f("disable-source-dest-check", Bool, "true", Bgp, "On AWS, disable the EC2 source/destination check of nodes."),
    f("service-cluster-ip-range", Strings, "10.96.0.0/12", Bgp, "Service cluster IP CIDRs (one or two)."),
    f("service-external-ip-range", Strings, "", Bgp, "CIDRs external IPs may come from (strict validation)."),
    f("loadbalancer-ip-range", Strings, "", Bgp, "CIDRs load-balancer IPs may come from (strict validation)."),
    f("strict-external-ip-validation", Bool, "true", Bgp, "Advertise external/load-balancer IPs only inside the configured ranges."),
    f("hostname-override", Str, "", Kubernetes, "Name of the local Node object (default: $NODE_NAME, then the hostname)."),
    f("kubeconfig", Str, "", Kubernetes, "kubeconfig file (default: in-cluster service account)."),
    f("master", Str, "", Kubernetes, "API server URL (overrides the kubeconfig's server)."),
    f("metrics-addr", Str, "", Operations, "Metrics listen IP address (empty: all)."),
    f("metrics-port", Uint(U16), "0", Operations, "Prometheus metrics port; 0 disables metrics."),
    f("metrics-path", Str, "/metrics", Operations, "Metrics URL path."),
    f("health-addr", Str, "", Operations, "Health check listen IP address (empty: all)."),
    f("health-port", Uint(U16), "20244", Operations, "/healthz port; 0 disables the HTTP endpoint."),
    FlagSpec { short: Some('v'), ..f("v", Str, "0", Operations, "Log verbosity (klog style): 0 info, 1-2 debug, 3 or more trace.")
    },
    f("ctl-socket", Str, "/run/kube-bgp/ctl.sock", Operations, "Path of the local control socket used by the kube-bgp subcommands."),
    f("check-config", Bool, "false", Operations, "Validate flags and print the effective configuration as JSON, then exit."),
    f("cleanup-config", Bool, "false", Operations, "Remove everything kube-bgp (or kube-router's routing controller) set up on this node: protocol-17 routes and nexthop objects, tunnels, table 77 and its rules, the pod egress table and kube-router's egress rules and ipsets, the FORWARD accept rules, an unused kube-bridge; then exit."),
    FlagSpec { short: Some('h'), ..f("help", Bool, "false", Operations, "Print this help and exit.")
    },
    FlagSpec { short: Some('V'), ..f("version", Bool, "false", Operations, "Print version information and exit.")
    },
    f("run-firewall", Bool, "true", Ignored, "kube-router network policy controller."),
    f("run-service-proxy", Bool, "true", Ignored, "kube-router IPVS service proxy."),
    f("run-loadbalancer", Bool, "false", Ignored, "kube-router load-balancer IP allocator."),
    f("cache-sync-timeout", Dur, "1m0s", Ignored, "kube-router informer sync timeout."),
    f("iptables-sync-period", Dur, "5m0s", Ignored, "Firewall controller period."),
    f("ipvs-sync-period", Dur, "5m0s", Ignored, "Service proxy period."),
    f("ipvs-graceful-period", Dur, "30s", Ignored, "Service proxy graceful period."),
    f("ipvs-graceful-termination", Bool, "false", Ignored, "Service proxy graceful termination."),
    f("ipvs-permit-all", Bool, "true", Ignored, "Service proxy accept rule."),
    f("masquerade-all", Bool, "false", Ignored, "Service proxy SNAT."),
    f("hairpin-mode", Bool, "false", Ignored, "Service proxy hairpin."),
    f("nodeport-bindon-all-ip", Bool, "false", Ignored, "Service proxy NodePort binding."),
    f("excluded-cidrs", Strings, "", Ignored, "Service proxy excluded CIDRs."),
    f("service-node-port-range", Str, "30000-32767", Ignored, "Service proxy NodePort range."),
    f("service-tcp-timeout", Dur, "0s", Ignored, "Service proxy IPVS timeout."),
    f("service-tcpfin-timeout", Dur, "0s", Ignored, "Service proxy IPVS timeout."),
    f("service-udp-timeout", Dur, "0s", Ignored, "Service proxy IPVS timeout."),
    f("loadbalancer-default-class", Bool, "true", Ignored, "Load-balancer allocator."),
    f("loadbalancer-sync-period", Dur, "1m0s", Ignored, "Load-balancer allocator period."),
    f("netpol-default-deny", Bool, "false", Ignored, "Network policy controller."),
    f("use-nftables-for-netpol", Bool, "false", Ignored, "Network policy controller."),
    f("runtime-endpoint", Str, "", Ignored, "Container runtime socket (service proxy DSR)."),
    f("cluster-cidr", Str, "", Ignored, "Older kube-router releases' pod CIDR flag."),
    f("enable-pprof", Bool, "false", Ignored, "Go profiler."),
    f("gobgp-admin-address", Str, "127.0.0.1", Ignored, "GoBGP gRPC API; kube-bgp has none (use the kube-bgp subcommands)."),
    f("gobgp-admin-port", Uint(U16), "50051", Ignored, "GoBGP gRPC API; kube-bgp has none."),
];

/// Finds a flag by long name.
pub(crate) fn find(name: &str) -> Option<&'static FlagSpec> {
    FLAGS.iter().find(|s| s.name == name)
}

fn find_short(c: char) -> Option<&'static FlagSpec> {
    FLAGS.iter().find(|s| s.short == Some(c))
}

/// The raw values given on the command line, per flag, in order of appearance.
#[derive(Default, Debug)]
pub(crate) struct Raw {
    values: HashMap<&'static str, Vec<String>>,
    /// Flags in the order first seen (for one warning per ignored flag, in order).
    order: Vec<&'static FlagSpec>,
}

impl Raw {
    /// The last value given for a scalar flag.
    pub(crate) fn last(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value given for a flag (each a whole comma list for list flags).
    pub(crate) fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether the flag appeared at all.
    pub(crate) fn given(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Flags that appeared, in first-seen order.
    pub(crate) fn seen(&self) -> &[&'static FlagSpec] {
        &self.order
    }

    fn push(&mut self, spec: &'static FlagSpec, value: String) {
        let slot = self.values.entry(spec.name).or_default();
        if slot.is_empty() {
            self.order.push(spec);
        }
        slot.push(value);
    }
}

/// Splits daemon arguments (everything after the program name and an optional `run`)
/// into raw per-flag values. Unknown flags, missing values and stray positional
/// arguments are errors.
pub(crate) fn lex(args: Vec<OsString>) -> Result<Raw, ConfigError> {
    let mut p = lexopt::Parser::from_args(args);
    let mut raw = Raw::default();
    let mut last_secret = false;
    loop {
        let arg = match p.next() {
            Ok(Some(a)) => a,
            Ok(None) => break,
            Err(e) => return Err(ConfigError::Syntax(e.to_string())),
        };
        let spec = match arg {
            lexopt::Arg::Long(name) => {
                find(name).ok_or_else(|| ConfigError::UnknownFlag(format!("--{name}")))?
            }
            lexopt::Arg::Short(c) => {
                find_short(c).ok_or_else(|| ConfigError::UnknownFlag(format!("-{c}")))?
            }
            lexopt::Arg::Value(v) => {
                let shown = if last_secret {
                    "(value withheld: it follows a password flag)".to_string()
                } else {
                    format!("{:?}", v.to_string_lossy())
                };
                return Err(ConfigError::UnexpectedArgument(shown));
            }
        };
        let value = if spec.kind == Kind::Bool {
            p.optional_value().unwrap_or_else(|| OsString::from("true"))
        } else {
            p.value()
                .map_err(|_| ConfigError::MissingValue(spec.name))?
        };
        let value = value.into_string().map_err(|v| {
            if spec.secret {
                ConfigError::NotUtf8(spec.name, None)
            } else {
                ConfigError::NotUtf8(spec.name, Some(v.to_string_lossy().into_owned()))
            }
        })?;
        last_secret = spec.secret;
        raw.push(spec, value);
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lx(args: &[&str]) -> Result<Raw, ConfigError> {
        lex(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn names_are_unique_and_lowercase() {
        for (i, a) in FLAGS.iter().enumerate() {
            assert!(
                a.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                a.name
            );
            for b in &FLAGS[i + 1..] {
                assert_ne!(a.name, b.name);
                if a.short.is_some() {
                    assert_ne!(a.short, b.short);
                }
            }
        }
    }

    #[test]
    fn both_value_forms_and_bare_bools() {
        let r = lx(&[
            "--cluster-asn",
            "65000",
            "--bgp-port=1790",
            "--enable-ibgp",
            "--run-router=false",
        ])
        .unwrap();
        assert_eq!(r.last("cluster-asn"), Some("65000"));
        assert_eq!(r.last("bgp-port"), Some("1790"));
        assert_eq!(r.last("enable-ibgp"), Some("true"));
        assert_eq!(r.last("run-router"), Some("false"));
    }

    #[test]
    fn bool_does_not_take_next_argument() {
        let e = lx(&["--enable-ibgp", "false"]).unwrap_err();
        assert!(matches!(e, ConfigError::UnexpectedArgument(_)), "{e}");
    }

    #[test]
    fn short_v_forms() {
        for args in [
            &["-v", "3"][..],
            &["-v3"],
            &["-v=3"],
            &["--v=3"],
            &["--v", "3"],
        ] {
            assert_eq!(lx(args).unwrap().last("v"), Some("3"), "{args:?}");
        }
    }

    #[test]
    fn repeated_values_kept_in_order() {
        let r = lx(&[
            "--peer-router-ips=1.1.1.1",
            "--peer-router-ips",
            "2.2.2.2,3.3.3.3",
        ])
        .unwrap();
        assert_eq!(r.all("peer-router-ips"), ["1.1.1.1", "2.2.2.2,3.3.3.3"]);
    }

    #[test]
    fn errors() {
        assert!(matches!(lx(&["--nope"]), Err(ConfigError::UnknownFlag(f)) if f == "--nope"));
        assert!(matches!(lx(&["-x"]), Err(ConfigError::UnknownFlag(_))));
        assert!(matches!(
            lx(&["--cluster-asn"]),
            Err(ConfigError::MissingValue("cluster-asn"))
        ));
        let e = lx(&["--peer-router-passwords", "c2VjcmV0", "c2VjcmV0Mg=="]).unwrap_err();
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
    }
}
