//! The routes this node originates: its pod CIDRs and the service VIPs it advertises
//! (kube-router's `advertise-*` flags and service annotations, docs/configuration.md;
//! decision D9).
//!
//! Pure. Each Service is decided on its own: a Service without EndpointSlices, or with
//! a bad annotation, affects only itself (D9), never the cluster-wide VIP list.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::node::NodeModel;
use super::values;
use super::{Problem, Settings};
use crate::kube::objects::{EndpointSlice, Service};
use crate::prefix::{Afi, Prefix};

pub(crate) const ANN_ADV_CLUSTER_IP: &str = "kube-router.io/service.advertise.clusterip";
pub(crate) const ANN_ADV_EXTERNAL_IP: &str = "kube-router.io/service.advertise.externalip";
pub(crate) const ANN_ADV_LB_IP: &str = "kube-router.io/service.advertise.loadbalancerip";
pub(crate) const ANN_SKIP_LB_IPS: &str = "kube-router.io/service.skiplbips";
pub(crate) const ANN_SERVICE_LOCAL: &str = "kube-router.io/service.local";

/// What kind of route this node originates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum OriginKind {
    PodCidr,
    Vip,
}

/// One route this node originates.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Originated {
    pub(crate) prefix: Prefix,
    pub(crate) next_hop: IpAddr,
    pub(crate) kind: OriginKind,
}

/// The local node's pod CIDRs, for the families it has an address of.
pub(crate) fn pod_routes(local: &NodeModel) -> Vec<Originated> {
    local
        .pod_cidrs
        .iter()
        .filter_map(|p| {
            local.best(p.afi()).map(|nh| Originated {
                prefix: *p,
                next_hop: nh,
                kind: OriginKind::PodCidr,
            })
        })
        .collect()
}

/// Whether an EndpointSlice counts for its Service's endpoints (leader-election
/// objects do not).
pub(crate) fn counts_for_service(s: &EndpointSlice) -> bool {
    !s.metadata
        .annotations
        .contains_key(crate::kube::objects::LEADER_ANNOTATION)
}

/// EndpointSlices grouped by `namespace/service`.
pub(crate) fn slices_by_service<'a>(
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
) -> BTreeMap<String, Vec<&'a EndpointSlice>> {
    let mut m: BTreeMap<String, Vec<&EndpointSlice>> = BTreeMap::new();
    for s in slices {
        if !counts_for_service(s) {
            continue;
        }
        if let Some(svc) = s.service_name() {
            m.entry(format!("{}/{}", s.metadata.namespace, svc))
                .or_default()
                .push(s);
        }
    }
    m
}

/// The first EndpointSlice of the service with an endpoint on the local node:
/// `nodeName` equal to the node's name, or (no nodeName) an address equal to one of the
/// node's addresses.
fn local_endpoint_slice<'a>(
    local: &NodeModel,
    slices: Option<&Vec<&'a EndpointSlice>>,
) -> Option<&'a EndpointSlice> {
    slices?.iter().copied().find(|s| {
        s.endpoints.iter().any(|e| {
            if !e.node_name.is_empty() {
                return e.node_name == local.name;
            }
            e.addresses
                .iter()
                .filter_map(|a| a.parse::<IpAddr>().ok())
                .any(|a| local.has_addr(&a))
        })
    })
}

/// Which address of a Service a VIP is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[allow(clippy::enum_variant_names)] // named after the Service fields they come from
pub(crate) enum VipKind {
    ClusterIp,
    ExternalIp,
    LoadBalancerIp,
}

impl VipKind {
    /// Short name (JSON field).
    pub(crate) fn label(self) -> &'static str {
        match self {
            VipKind::ClusterIp => "cluster-ip",
            VipKind::ExternalIp => "external-ip",
            VipKind::LoadBalancerIp => "loadbalancer-ip",
        }
    }
}

/// Why this node advertises one VIP of one Service (for `kube-bgp explain`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct VipReason {
    pub(crate) kind: VipKind,
    /// The annotation that turned it on (`None`: the flag's default did).
    pub(crate) annotation: Option<&'static str>,
    /// A local traffic policy was met: the EndpointSlice (`namespace/name`) holding an
    /// endpoint on this node.
    pub(crate) local_slice: Option<String>,
}

impl std::fmt::Display for VipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, flag) = match self.kind {
            VipKind::ClusterIp => ("cluster IP", "--advertise-cluster-ip"),
            VipKind::ExternalIp => ("external IP", "--advertise-external-ip"),
            VipKind::LoadBalancerIp => ("load-balancer IP", "--advertise-loadbalancer-ip"),
        };
        match self.annotation {
            Some(a) => write!(f, "{what}, advertised by annotation {a}=true")?,
            None => write!(f, "{what}, advertised by {flag}")?,
        }
        if let Some(s) = &self.local_slice {
            write!(
                f,
                "; traffic policy Local: EndpointSlice {s} has an endpoint on this node"
            )?;
        }
        Ok(())
    }
}

/// Annotation-or-flag decision for one kind of VIP: whether on, and the annotation
/// when it decided.
fn decide(
    svc: &Service,
    key: &'static str,
    default: bool,
    problems: &mut Vec<Problem>,
) -> (bool, Option<&'static str>) {
    match svc.metadata.annotations.get(key) {
        None => (default, None),
        Some(v) => match values::parse_go_bool(v) {
            Some(b) => (b, Some(key)),
            None => {
                problems.push(Problem::service(
                    &svc.metadata.namespace,
                    &svc.metadata.name,
                    key,
                    format!("{v:?} is not a boolean (true/false); read as false"),
                ));
                (false, Some(key))
            }
        },
    }
}

/// kube-router's strict external-IP validator: with strict validation on, an IP is
/// kept only if it lies in one of `allowed` and not in the cluster IP range.
fn validated(settings: &Settings, ip: IpAddr, allowed: &[Prefix]) -> bool {
    if !settings.strict_external_ip_validation {
        return true;
    }
    if settings
        .service_cluster_ip_range
        .iter()
        .any(|r| r.contains_addr(&ip))
    {
        return false;
    }
    allowed.iter().any(|r| r.contains_addr(&ip))
}

/// The VIPs (as /32 or /128) this node advertises for one Service, each with why.
pub(crate) fn service_vips(
    settings: &Settings,
    local: &NodeModel,
    svc: &Service,
    slices: Option<&Vec<&EndpointSlice>>,
    problems: &mut Vec<Problem>,
) -> Vec<(IpAddr, VipReason)> {
    let spec = &svc.spec;
    let type_ = if spec.type_.is_empty() {
        "ClusterIP"
    } else {
        spec.type_.as_str()
    };
    if !matches!(type_, "ClusterIP" | "NodePort" | "LoadBalancer") {
        return Vec::new();
    }
    let headless = spec.cluster_ip == "None";
    if headless || spec.cluster_ip.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    // The slice with a local endpoint, looked up once and only when a policy needs it.
    let mut local_ep: Option<Option<String>> = None;
    let mut local_slice = || {
        local_ep
            .get_or_insert_with(|| {
                local_endpoint_slice(local, slices)
                    .map(|s| format!("{}/{}", s.metadata.namespace, s.metadata.name))
            })
            .clone()
    };
    let parse = |s: &str| s.parse::<IpAddr>().ok();
    // Whether this kind of VIP is advertised (its annotation `key` over the flag's
    // `default`) and why: with a Local traffic policy (`local_only`), only while a local
    // endpoint exists.
    let mut advertised = |kind, key, default, local_only: bool| {
        let (on, annotation) = decide(svc, key, default, problems);
        if !on {
            return None;
        }
        let local_slice = if local_only { local_slice() } else { None };
        (!local_only || local_slice.is_some()).then_some(VipReason {
            kind,
            annotation,
            local_slice,
        })
    };

    // 1. Cluster IPs.
    let local_only = spec.internal_traffic_policy == "Local";
    if let Some(why) = advertised(
        VipKind::ClusterIp,
        ANN_ADV_CLUSTER_IP,
        settings.advertise_cluster_ip,
        local_only,
    ) {
        let mut ips: Vec<&str> = spec.cluster_ips.iter().map(String::as_str).collect();
        if !ips.contains(&spec.cluster_ip.as_str()) {
            ips.push(&spec.cluster_ip);
        }
        out.extend(
            ips.into_iter()
                .filter(|s| *s != "None")
                .filter_map(parse)
                .map(|ip| (ip, why.clone())),
        );
    }
    let local_policy = spec.external_traffic_policy == "Local"
        || svc
            .metadata
            .annotations
            .get(ANN_SERVICE_LOCAL)
            .map(String::as_str)
            == Some("true");
    // 2. External IPs.
    if let Some(why) = advertised(
        VipKind::ExternalIp,
        ANN_ADV_EXTERNAL_IP,
        settings.advertise_external_ip,
        local_policy,
    ) {
        out.extend(
            spec.external_ips
                .iter()
                .filter_map(|s| parse(s))
                .filter(|ip| validated(settings, *ip, &settings.service_external_ip_range))
                .map(|ip| (ip, why.clone())),
        );
    }
    // 3. Load-balancer IPs.
    if type_ == "LoadBalancer" && !svc.metadata.annotations.contains_key(ANN_SKIP_LB_IPS) {
        if let Some(why) = advertised(
            VipKind::LoadBalancerIp,
            ANN_ADV_LB_IP,
            settings.advertise_loadbalancer_ip,
            local_policy,
        ) {
            out.extend(
                svc.status
                    .load_balancer
                    .ingress
                    .iter()
                    .filter(|i| i.ip_mode != "Proxy")
                    .filter_map(|i| parse(&i.ip))
                    .filter(|ip| validated(settings, *ip, &settings.loadbalancer_ip_range))
                    .map(|ip| (ip, why.clone())),
            );
        }
    }
    out
}

/// Every Service that makes this node advertise `vip`, with why: the same decision
/// `vip_routes` takes, run only for the Services that name the address (for
/// `kube-bgp explain`; one pass over the Services, no state kept).
pub(crate) fn vip_origins<'a>(
    settings: &Settings,
    local: &NodeModel,
    services: impl IntoIterator<Item = &'a Service>,
    slices_of: impl Fn(&'a Service) -> Vec<&'a EndpointSlice>,
    vip: IpAddr,
) -> Vec<(String, VipReason)> {
    let text = vip.to_string();
    let mut out = Vec::new();
    for svc in services {
        let s = &svc.spec;
        let named = s.cluster_ip == text
            || s.cluster_ips.contains(&text)
            || s.external_ips.contains(&text)
            || svc
                .status
                .load_balancer
                .ingress
                .iter()
                .any(|i| i.ip == text);
        if !named {
            continue;
        }
        let slices = slices_of(svc);
        let mut ignored = Vec::new();
        for (ip, why) in service_vips(settings, local, svc, Some(&slices), &mut ignored) {
            if ip == vip {
                out.push((
                    format!("{}/{}", svc.metadata.namespace, svc.metadata.name),
                    why,
                ));
            }
        }
    }
    out
}

/// All VIP routes this node originates, each with the node's best address of the VIP's
/// family as next hop.
pub(crate) fn vip_routes<'a>(
    settings: &Settings,
    local: &NodeModel,
    services: impl IntoIterator<Item = &'a Service>,
    slices: &BTreeMap<String, Vec<&EndpointSlice>>,
    problems: &mut Vec<Problem>,
) -> Vec<Originated> {
    let mut set = BTreeSet::new();
    for svc in services {
        let key = format!("{}/{}", svc.metadata.namespace, svc.metadata.name);
        for (ip, _) in service_vips(settings, local, svc, slices.get(&key), problems) {
            set.insert(ip);
        }
    }
    vip_originated(local, set, problems)
}

/// The routes for the VIPs `ips` (sorted, distinct), each with the node's best address
/// of the VIP's family as next hop; a VIP of a family the node has no address of is a
/// problem.
pub(crate) fn vip_originated(
    local: &NodeModel,
    ips: impl IntoIterator<Item = IpAddr>,
    problems: &mut Vec<Problem>,
) -> Vec<Originated> {
    let mut out = Vec::new();
    for ip in ips {
        match local.best(Afi::of(&ip)) {
            Some(nh) => out.push(Originated {
                prefix: Prefix::host(ip),
                next_hop: nh,
                kind: OriginKind::Vip,
            }),
            None => problems.push(Problem::node(
                &local.name,
                "status.addresses",
                format!("no local address of the family of VIP {ip}; not advertised"),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::objects::{Endpoint, LoadBalancerIngress};

    fn local() -> NodeModel {
        let mut n = crate::kube::objects::Node::default();
        n.metadata.name = "n1".into();
        n.status.addresses.push(crate::kube::objects::NodeAddress {
            type_: "InternalIP".into(),
            address: "10.0.0.1".into(),
        });
        n.spec.pod_cidr = "10.244.1.0/24".into();
        NodeModel::from_node(&n, &mut vec![])
    }

    fn svc(name: &str, type_: &str, cip: &str, ann: &[(&str, &str)]) -> Service {
        let mut s = Service::default();
        s.metadata.name = name.into();
        s.metadata.namespace = "default".into();
        s.spec.type_ = type_.into();
        s.spec.cluster_ip = cip.into();
        s.spec.cluster_ips = vec![cip.into()];
        for (k, v) in ann {
            s.metadata.annotations.insert(k.to_string(), v.to_string());
        }
        s
    }

    fn slice(svc: &str, node: &str) -> EndpointSlice {
        let mut e = EndpointSlice::default();
        e.metadata.namespace = "default".into();
        e.metadata.name = format!("{svc}-abc");
        e.metadata
            .labels
            .insert("kubernetes.io/service-name".into(), svc.into());
        e.endpoints.push(Endpoint {
            addresses: vec!["10.244.1.5".into()],
            node_name: node.into(),
            ..Default::default()
        });
        e
    }

    #[test]
    fn cluster_ip_flag_and_annotation() {
        let l = local();
        let mut st = Settings::default();
        let a = svc("a", "ClusterIP", "10.96.0.10", &[]);
        let b = svc(
            "b",
            "ClusterIP",
            "10.96.0.11",
            &[(ANN_ADV_CLUSTER_IP, "true")],
        );
        let h = svc("h", "ClusterIP", "None", &[(ANN_ADV_CLUSTER_IP, "true")]);
        let m = BTreeMap::new();
        let mut p = vec![];
        let r = vip_routes(&st, &l, [&a, &b, &h], &m, &mut p);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].prefix.to_string(), "10.96.0.11/32");
        let why = &service_vips(&st, &l, &b, None, &mut p)[0].1;
        assert_eq!(why.annotation, Some(ANN_ADV_CLUSTER_IP));
        assert_eq!(
            why.to_string(),
            "cluster IP, advertised by annotation kube-router.io/service.advertise.clusterip=true"
        );
        assert_eq!(r[0].next_hop.to_string(), "10.0.0.1");
        st.advertise_cluster_ip = true;
        let r = vip_routes(&st, &l, [&a, &b, &h], &m, &mut p);
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn local_policy_needs_local_endpoint_and_missing_slices_isolated() {
        let l = local();
        let st = Settings {
            advertise_cluster_ip: true,
            ..Settings::default()
        };
        let mut local_svc = svc("loc", "ClusterIP", "10.96.0.20", &[]);
        local_svc.spec.internal_traffic_policy = "Local".into();
        let mut remote_svc = svc("rem", "ClusterIP", "10.96.0.21", &[]);
        remote_svc.spec.internal_traffic_policy = "Local".into();
        let mut noslice = svc("nos", "ClusterIP", "10.96.0.22", &[]);
        noslice.spec.internal_traffic_policy = "Local".into();
        let plain = svc("plain", "ClusterIP", "10.96.0.23", &[]);
        let s1 = slice("loc", "n1");
        let s2 = slice("rem", "n2");
        let m = slices_by_service([&s1, &s2]);
        let mut p = vec![];
        let r = vip_routes(
            &st,
            &l,
            [&local_svc, &remote_svc, &noslice, &plain],
            &m,
            &mut p,
        );
        let got: Vec<String> = r.iter().map(|o| o.prefix.to_string()).collect();
        assert_eq!(got, vec!["10.96.0.20/32", "10.96.0.23/32"]);
        // The reasons: the Local policy names the slice with this node's endpoint.
        let why = service_vips(&st, &l, &local_svc, m.get("default/loc"), &mut p);
        assert_eq!(
            why,
            vec![(
                "10.96.0.20".parse().unwrap(),
                VipReason {
                    kind: VipKind::ClusterIp,
                    annotation: None,
                    local_slice: Some("default/loc-abc".into()),
                }
            )]
        );
        assert_eq!(
            why[0].1.to_string(),
            "cluster IP, advertised by --advertise-cluster-ip; traffic policy Local: \
             EndpointSlice default/loc-abc has an endpoint on this node"
        );
        let all = [&local_svc, &remote_svc, &noslice, &plain];
        let slices_of = |s: &Service| {
            m.get(&format!("default/{}", s.metadata.name))
                .cloned()
                .unwrap_or_default()
        };
        let origins = vip_origins(&st, &l, all, slices_of, "10.96.0.23".parse().unwrap());
        assert_eq!(origins.len(), 1);
        assert_eq!(origins[0].0, "default/plain");
        assert_eq!(origins[0].1.local_slice, None);
        let none = vip_origins(&st, &l, all, slices_of, "10.96.0.21".parse().unwrap());
        assert!(none.is_empty(), "remote-only endpoints: {none:?}");
    }

    #[test]
    fn strict_validation_of_external_and_lb_ips() {
        let l = local();
        let mut st = Settings {
            advertise_external_ip: true,
            advertise_loadbalancer_ip: true,
            ..Settings::default()
        };
        let mut s = svc("lb", "LoadBalancer", "10.96.0.30", &[]);
        s.spec.external_ips = vec!["192.0.2.10".into()];
        s.status.load_balancer.ingress = vec![
            LoadBalancerIngress {
                ip: "198.51.100.7".into(),
                ..Default::default()
            },
            LoadBalancerIngress {
                ip: "198.51.100.8".into(),
                ip_mode: "Proxy".into(),
                ..Default::default()
            },
        ];
        let m = BTreeMap::new();
        let mut p = vec![];
        // Default deny: no ranges configured.
        assert!(vip_routes(&st, &l, [&s], &m, &mut p).is_empty());
        st.service_external_ip_range = vec!["192.0.2.0/24".parse().unwrap()];
        st.loadbalancer_ip_range = vec!["198.51.100.0/24".parse().unwrap()];
        let got: Vec<String> = vip_routes(&st, &l, [&s], &m, &mut p)
            .iter()
            .map(|o| o.prefix.to_string())
            .collect();
        assert_eq!(got, vec!["192.0.2.10/32", "198.51.100.7/32"]);
        s.metadata
            .annotations
            .insert(ANN_SKIP_LB_IPS.into(), "false".into());
        assert_eq!(vip_routes(&st, &l, [&s], &m, &mut p).len(), 1);
    }

    #[test]
    fn bad_bool_reported_and_false() {
        let l = local();
        let st = Settings::default();
        let s = svc(
            "x",
            "ClusterIP",
            "10.96.0.40",
            &[(ANN_ADV_CLUSTER_IP, "yes")],
        );
        let mut p = vec![];
        assert!(vip_routes(&st, &l, [&s], &BTreeMap::new(), &mut p).is_empty());
        assert_eq!(p.len(), 1);
        assert!(p[0].to_string().contains("service default/x"));
    }
}
