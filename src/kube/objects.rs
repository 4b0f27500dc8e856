//! Kubernetes object structs: only the fields kube-bgp reads, as serde types.
//!
//! Owns the JSON shape of Node, Service, EndpointSlice, Status and the List/WatchEvent
//! envelopes. Every field is optional on the wire (`#[serde(default)]`, and an explicit
//! JSON `null` reads as the default too); unknown fields are ignored; list items need no
//! `kind`. Must not do I/O or interpret kube-router semantics (that is `cluster::*`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Reads a missing or `null` field as `T::default()`.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn read_labels<'de, D: Deserializer<'de>>(d: D) -> Result<MetaMap, D::Error> {
    kept_entries(d, |k| k == SERVICE_NAME_LABEL)
}

fn read_annotations<'de, D: Deserializer<'de>>(d: D) -> Result<MetaMap, D::Error> {
    kept_entries(d, |k| {
        k.starts_with(KUBE_ROUTER_ANNOTATIONS) || k == LEADER_ANNOTATION
    })
}

/// A map of strings (or `null`: empty) of which only the entries whose key passes `keep`
/// are kept; every value must still be a string.
fn kept_entries<'de, D: Deserializer<'de>>(
    d: D,
    keep: fn(&str) -> bool,
) -> Result<MetaMap, D::Error> {
    struct Entries(fn(&str) -> bool);
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = MetaMap;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of strings or null")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(MetaMap::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(MetaMap::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut kept = Vec::new();
            while let Some(k) = m.next_key::<String>()? {
                let v: String = m.next_value()?;
                if (self.0)(&k) {
                    kept.push((k, v));
                }
            }
            Ok(MetaMap::from_entries(kept))
        }
    }
    d.deserialize_option(Entries(keep))
}

/// The labels or annotations an object keeps: a few entries (mostly none to two), sorted
/// by key. Held in one vector the size of its entries: a `BTreeMap`'s first node costs
/// about 540 bytes however few entries it has, which ten thousand objects would pay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaMap(Vec<(String, String)>);

impl MetaMap {
    pub fn new() -> MetaMap {
        MetaMap(Vec::new())
    }

    fn find(&self, k: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(x, _)| x.as_str().cmp(k))
    }

    pub fn get(&self, k: &str) -> Option<&String> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, k: &str) -> bool {
        self.find(k).is_ok()
    }

    /// Sets `k` to `v`; returns the value it replaced.
    pub fn insert(&mut self, k: String, v: String) -> Option<String> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    pub fn remove(&mut self, k: &str) -> Option<String> {
        self.find(k).ok().map(|i| self.0.remove(i).1)
    }

    /// Keeps the entries `keep` accepts (and frees the room of the others).
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(k, v)| keep(k, v));
        self.0.shrink_to_fit();
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for MetaMap {
    type Output = String;
    /// The value of `k`; panics when there is none, like `BTreeMap`'s index (tests only
    /// index keys they set).
    fn index(&self, k: &str) -> &String {
        match self.get(k) {
            Some(v) => v,
            None => panic!("no entry {k:?}"),
        }
    }
}

impl<'a> IntoIterator for &'a MetaMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for MetaMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(it: I) -> MetaMap {
        MetaMap::from_entries(it.into_iter().collect())
    }
}

impl MetaMap {
    /// The map of `entries`, sorted once (O(n log n) however many a hostile object
    /// holds; inserting one by one would move O(n²) entries); of a key given twice the
    /// last value wins, as with `insert`.
    fn from_entries(mut entries: Vec<(String, String)>) -> MetaMap {
        // Stable: equal keys keep their order, so the last of each run is the last given.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        MetaMap(out)
    }
}

impl From<BTreeMap<String, String>> for MetaMap {
    fn from(m: BTreeMap<String, String>) -> MetaMap {
        // Already sorted and distinct.
        MetaMap(m.into_iter().collect())
    }
}

impl Serialize for MetaMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// The three resources kube-bgp watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    Node,
    Service,
    EndpointSlice,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 3] = [
        ResourceKind::Node,
        ResourceKind::Service,
        ResourceKind::EndpointSlice,
    ];

    /// Collection path for all namespaces, e.g. `/api/v1/nodes`.
    pub(crate) fn path(self) -> &'static str {
        match self {
            ResourceKind::Node => "/api/v1/nodes",
            ResourceKind::Service => "/api/v1/services",
            ResourceKind::EndpointSlice => "/apis/discovery.k8s.io/v1/endpointslices",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ResourceKind::Node => "Node",
            ResourceKind::Service => "Service",
            ResourceKind::EndpointSlice => "EndpointSlice",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OwnerReference {
    #[serde(deserialize_with = "nullable")]
    pub(crate) kind: String,
    #[serde(deserialize_with = "nullable")]
    pub(crate) name: String,
    #[serde(deserialize_with = "nullable")]
    pub(crate) controller: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectMeta {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    #[serde(
        rename = "generateName",
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub(crate) generate_name: String,
    #[serde(rename = "resourceVersion", deserialize_with = "nullable")]
    pub(crate) resource_version: String,
    /// Only the labels kube-bgp reads (`SERVICE_NAME_LABEL`): the others are checked
    /// to be strings and dropped while decoding, so they never take memory.
    #[serde(
        deserialize_with = "read_labels",
        skip_serializing_if = "MetaMap::is_empty"
    )]
    pub(crate) labels: MetaMap,
    /// Only the annotations kube-bgp reads (`KUBE_ROUTER_ANNOTATIONS`*,
    /// `LEADER_ANNOTATION`), the same way.
    #[serde(
        deserialize_with = "read_annotations",
        skip_serializing_if = "MetaMap::is_empty"
    )]
    pub annotations: MetaMap,
    #[serde(
        rename = "ownerReferences",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) owner_references: Vec<OwnerReference>,
}

// ---------------------------------------------------------------- Node

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "nullable")]
    pub spec: NodeSpec,
    #[serde(deserialize_with = "nullable")]
    pub status: NodeStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeSpec {
    #[serde(rename = "podCIDR", deserialize_with = "nullable")]
    pub pod_cidr: String,
    #[serde(rename = "podCIDRs", deserialize_with = "nullable")]
    pub pod_cidrs: Vec<String>,
    /// Cordoned (`kubectl cordon`): read for `--graceful-shutdown-on-cordon`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub(crate) unschedulable: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeStatus {
    #[serde(deserialize_with = "nullable")]
    pub addresses: Vec<NodeAddress>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeAddress {
    /// `InternalIP`, `ExternalIP`, `Hostname`, `InternalDNS` or `ExternalDNS`.
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub type_: String,
    #[serde(deserialize_with = "nullable")]
    pub address: String,
}

// ---------------------------------------------------------------- Service

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "nullable")]
    pub spec: ServiceSpec,
    #[serde(deserialize_with = "nullable")]
    pub(crate) status: ServiceStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceSpec {
    /// `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName` (empty: absent).
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub(crate) type_: String,
    /// `"None"` means headless.
    #[serde(rename = "clusterIP", deserialize_with = "nullable")]
    pub cluster_ip: String,
    #[serde(rename = "clusterIPs", deserialize_with = "nullable")]
    pub(crate) cluster_ips: Vec<String>,
    #[serde(rename = "externalIPs", deserialize_with = "nullable")]
    pub(crate) external_ips: Vec<String>,
    /// `Cluster` or `Local`; empty when the server did not set it.
    #[serde(rename = "internalTrafficPolicy", deserialize_with = "nullable")]
    pub(crate) internal_traffic_policy: String,
    /// `Cluster` or `Local`; empty when the server did not set it.
    #[serde(rename = "externalTrafficPolicy", deserialize_with = "nullable")]
    pub(crate) external_traffic_policy: String,
    #[serde(rename = "ipFamilies", deserialize_with = "nullable")]
    pub(crate) ip_families: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ServiceStatus {
    #[serde(rename = "loadBalancer", deserialize_with = "nullable")]
    pub(crate) load_balancer: LoadBalancerStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct LoadBalancerStatus {
    #[serde(deserialize_with = "nullable")]
    pub(crate) ingress: Vec<LoadBalancerIngress>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct LoadBalancerIngress {
    #[serde(deserialize_with = "nullable")]
    pub(crate) ip: String,
    /// `VIP` or `Proxy` (empty: absent, which means `VIP`).
    #[serde(rename = "ipMode", deserialize_with = "nullable")]
    pub(crate) ip_mode: String,
    #[serde(deserialize_with = "nullable")]
    pub(crate) hostname: String,
}

// ---------------------------------------------------------------- EndpointSlice

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointSlice {
    #[serde(deserialize_with = "nullable")]
    pub(crate) metadata: ObjectMeta,
    /// `IPv4`, `IPv6` or `FQDN`.
    #[serde(rename = "addressType", deserialize_with = "nullable")]
    pub(crate) address_type: String,
    #[serde(deserialize_with = "nullable")]
    pub(crate) endpoints: Vec<Endpoint>,
}

/// The label that ties an EndpointSlice to its Service.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The annotation of the leader-election Endpoints mirrored into slices (not a service).
pub(crate) const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";
/// The prefix of the Node and Service annotations kube-bgp reads.
pub(crate) const KUBE_ROUTER_ANNOTATIONS: &str = "kube-router.io/";

impl EndpointSlice {
    /// The owning Service's name: the `kubernetes.io/service-name` label, else the
    /// first owner reference (kube-router's fallback order).
    pub(crate) fn service_name(&self) -> Option<&str> {
        if let Some(n) = self.metadata.labels.get(SERVICE_NAME_LABEL) {
            return Some(n.as_str());
        }
        self.metadata
            .owner_references
            .first()
            .map(|o| o.name.as_str())
            .filter(|n| !n.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Endpoint {
    #[serde(deserialize_with = "nullable")]
    pub(crate) addresses: Vec<String>,
    /// Empty when the endpoint has no node.
    #[serde(rename = "nodeName", deserialize_with = "nullable")]
    pub(crate) node_name: String,
    #[serde(deserialize_with = "nullable")]
    pub(crate) conditions: EndpointConditions,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct EndpointConditions {
    /// `None` means ready (the API's rule for a nil `ready`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ready: Option<bool>,
}

impl EndpointConditions {
    #[cfg(test)]
    pub(crate) fn is_ready(&self) -> bool {
        self.ready != Some(false)
    }
}

// ---------------------------------------------------------------- Status, envelopes

/// `metav1.Status`: the body of API errors and of watch `ERROR` events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    #[serde(deserialize_with = "nullable")]
    pub(crate) status: String,
    #[serde(deserialize_with = "nullable")]
    pub(crate) message: String,
    #[serde(deserialize_with = "nullable")]
    pub(crate) reason: String,
    #[serde(deserialize_with = "nullable")]
    pub(crate) code: u16,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

/// `metadata` of a List.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListMeta {
    #[serde(rename = "resourceVersion", deserialize_with = "nullable")]
    pub resource_version: String,
    #[serde(rename = "continue", deserialize_with = "nullable")]
    pub(crate) continue_: String,
}

/// One list item as decoded: either the object, or why it was skipped.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<T> {
    Ok(T),
    /// A malformed object: `who` names it (`namespace/name` when known).
    Bad {
        who: String,
        error: String,
    },
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Item<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Buffer one item as a Value so a bad field costs only this item.
        let v = serde_json::Value::deserialize(d)?;
        Ok(item_from_value(v))
    }
}

/// Decodes one object, keeping a malformed one as `Item::Bad` naming it.
pub(crate) fn item_from_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Item<T> {
    let who = object_id(&v);
    match T::deserialize(v) {
        Ok(t) => Item::Ok(t),
        Err(e) => Item::Bad {
            who,
            error: e.to_string(),
        },
    }
}

/// `namespace/name` (or `name`, or `?`) of a raw object, for log lines.
pub(crate) fn object_id(v: &serde_json::Value) -> String {
    let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or("");
    let (ns, name) = (s("/metadata/namespace"), s("/metadata/name"));
    match (ns.is_empty(), name.is_empty()) {
        (_, true) => "?".to_string(),
        (true, false) => name.to_string(),
        (false, false) => format!("{ns}/{name}"),
    }
}

/// A List response (`NodeList`, ...). Items carry no `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
pub(crate) struct List<T> {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) metadata: ListMeta,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) items: Vec<Item<T>>,
}

/// Any watched object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeObject {
    Node(Node),
    Service(Service),
    EndpointSlice(EndpointSlice),
}

impl KubeObject {
    pub(crate) fn kind(&self) -> ResourceKind {
        match self {
            KubeObject::Node(_) => ResourceKind::Node,
            KubeObject::Service(_) => ResourceKind::Service,
            KubeObject::EndpointSlice(_) => ResourceKind::EndpointSlice,
        }
    }

    pub(crate) fn metadata(&self) -> &ObjectMeta {
        match self {
            KubeObject::Node(o) => &o.metadata,
            KubeObject::Service(o) => &o.metadata,
            KubeObject::EndpointSlice(o) => &o.metadata,
        }
    }

    /// The object as the snapshot keeps it: only what kube-bgp reads, so that a write
    /// which changes nothing kube-bgp reads (a Node status heartbeat, a label set by
    /// another controller, a pod replaced on the same node) compares equal to the object
    /// already held and costs no recompute, and a large cluster costs less memory.
    /// Dropped: `resourceVersion` (the watchers track it from the events themselves),
    /// `generateName`, the labels of Nodes and Services, annotations outside
    /// `kube-router.io/` (EndpointSlices: all but the leader-election one), the owner
    /// references of slices that carry the service-name label (the references are only
    /// the fallback for that label), and the addresses of endpoints that name their node
    /// (an endpoint's address is only read to find the node of an endpoint without
    /// `nodeName`).
    pub(crate) fn into_kept(mut self) -> KubeObject {
        fn meta(m: &mut ObjectMeta, keep_labels: bool) {
            m.resource_version = String::new();
            m.generate_name = String::new();
            if !keep_labels {
                m.labels = MetaMap::new();
            }
        }
        match &mut self {
            KubeObject::Node(o) => {
                meta(&mut o.metadata, false);
                o.metadata.owner_references = Vec::new();
                o.metadata
                    .annotations
                    .retain(|k, _| k.starts_with(KUBE_ROUTER_ANNOTATIONS));
            }
            KubeObject::Service(o) => {
                meta(&mut o.metadata, false);
                o.metadata.owner_references = Vec::new();
                o.metadata
                    .annotations
                    .retain(|k, _| k.starts_with(KUBE_ROUTER_ANNOTATIONS));
            }
            KubeObject::EndpointSlice(o) => {
                meta(&mut o.metadata, true);
                o.metadata.labels.retain(|k, _| k == SERVICE_NAME_LABEL);
                if !o.metadata.labels.is_empty() {
                    o.metadata.owner_references = Vec::new();
                }
                o.metadata.annotations.retain(|k, _| k == LEADER_ANNOTATION);
                for e in o.endpoints.iter_mut().filter(|e| !e.node_name.is_empty()) {
                    e.addresses = Vec::new();
                }
            }
        }
        self
    }

    /// Decodes `v` as an object of `kind`; a malformed one is `Item::Bad`.
    pub fn from_value(kind: ResourceKind, v: serde_json::Value) -> Item<KubeObject> {
        fn map<T>(i: Item<T>, f: fn(T) -> KubeObject) -> Item<KubeObject> {
            match i {
                Item::Ok(t) => Item::Ok(f(t)),
                Item::Bad { who, error } => Item::Bad { who, error },
            }
        }
        match kind {
            ResourceKind::Node => map(item_from_value(v), KubeObject::Node),
            ResourceKind::Service => map(item_from_value(v), KubeObject::Service),
            ResourceKind::EndpointSlice => map(item_from_value(v), KubeObject::EndpointSlice),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_from_api_example() {
        let j = r#"{"kind":"Node","apiVersion":"v1",
 "metadata":{"name":"node-a","uid":"2f0c","resourceVersion":"48213",
   "labels":{"kubernetes.io/hostname":"node-a"},
   "annotations":{"kube-router.io/node.asn":"64512"}},
 "spec":{"podCIDR":"10.244.1.0/24","podCIDRs":["10.244.1.0/24","fd00:10:244:1::/64"],"providerID":"x"},
 "status":{"addresses":[{"type":"InternalIP","address":"192.168.0.11"},
                        {"type":"Hostname","address":"node-a"}],
           "conditions":[{"type":"Ready","status":"True"}]}}"#;
        let n: Node = serde_json::from_str(j).unwrap();
        assert_eq!(n.metadata.name, "node-a");
        assert_eq!(n.metadata.resource_version, "48213");
        assert_eq!(n.metadata.annotations["kube-router.io/node.asn"], "64512");
        // Labels and annotations kube-bgp does not read are not kept.
        assert!(n.metadata.labels.is_empty());
        assert_eq!(n.spec.pod_cidr, "10.244.1.0/24");
        assert_eq!(n.spec.pod_cidrs.len(), 2);
        assert_eq!(n.status.addresses[0].type_, "InternalIP");
        assert_eq!(n.status.addresses[0].address, "192.168.0.11");
    }

    #[test]
    fn meta_map_keeps_entries_sorted_and_exact() {
        let mut m = MetaMap::new();
        assert_eq!(m.insert("b".into(), "2".into()), None);
        assert_eq!(m.insert("a".into(), "1".into()), None);
        assert_eq!(m.insert("c".into(), "3".into()), None);
        assert_eq!(m.insert("b".into(), "two".into()), Some("2".into()));
        assert_eq!(m.keys().collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!(m.get("b").map(String::as_str), Some("two"));
        assert_eq!(m["a"], "1");
        assert!(m.contains_key("c") && !m.contains_key("d"));
        assert_eq!(m.remove("a"), Some("1".into()));
        assert_eq!(m.remove("a"), None);
        m.retain(|k, _| k != "c");
        assert_eq!(m.len(), 1);
        assert_eq!(
            m.0.capacity(),
            1,
            "retain frees the room of dropped entries"
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"b":"two"}"#);
        let from: MetaMap = BTreeMap::from([("y".to_string(), "1".to_string())]).into();
        assert_eq!(
            from.iter().collect::<Vec<_>>(),
            vec![(&"y".into(), &"1".into())]
        );
        let collected: MetaMap = [("z", "1"), ("x", "2"), ("z", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            serde_json::to_string(&collected).unwrap(),
            r#"{"x":"2","z":"3"}"#
        );
    }

    /// Decoding keeps only the entries kube-bgp reads, sorted, in a vector of their size.
    #[test]
    fn decoded_annotations_are_filtered_sorted_and_exact() {
        let n: Node = serde_json::from_str(
            r#"{"metadata":{"name":"n","annotations":{"kube-router.io/rr.client":"1",
                "other":"x","kube-router.io/node.asn":"64512","more":"y"}}}"#,
        )
        .unwrap();
        let a = &n.metadata.annotations;
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            vec!["kube-router.io/node.asn", "kube-router.io/rr.client"]
        );
        assert_eq!(a.0.capacity(), 2);
    }

    #[test]
    fn missing_and_null_fields_default() {
        let n: Node =
            serde_json::from_str(r#"{"metadata":{"name":"x","labels":null},"spec":null}"#).unwrap();
        assert_eq!(n.metadata.name, "x");
        assert!(n.metadata.labels.is_empty());
        assert!(n.spec.pod_cidrs.is_empty());
        let s: Service = serde_json::from_str("{}").unwrap();
        assert_eq!(s, Service::default());
    }

    #[test]
    fn service_from_api_example() {
        let j = r#"{"kind":"Service","apiVersion":"v1",
 "metadata":{"name":"web","namespace":"default","annotations":{"kube-router.io/service.local":"true"}},
 "spec":{"type":"LoadBalancer","ports":[{"port":80}],"clusterIP":"10.96.12.34","clusterIPs":["10.96.12.34"],
   "externalIPs":["203.0.113.10"],"ipFamilies":["IPv4"],"externalTrafficPolicy":"Local",
   "internalTrafficPolicy":"Cluster"},
 "status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.7","ipMode":"VIP"},{"hostname":"lb.example"}]}}}"#;
        let s: Service = serde_json::from_str(j).unwrap();
        assert_eq!(s.metadata.namespace, "default");
        assert_eq!(s.spec.type_, "LoadBalancer");
        assert_eq!(s.spec.cluster_ip, "10.96.12.34");
        assert_eq!(s.spec.external_ips, vec!["203.0.113.10"]);
        assert_eq!(s.spec.external_traffic_policy, "Local");
        assert_eq!(s.spec.internal_traffic_policy, "Cluster");
        assert_eq!(s.spec.ip_families, vec!["IPv4"]);
        assert_eq!(s.status.load_balancer.ingress[0].ip_mode, "VIP");
        assert_eq!(s.status.load_balancer.ingress[1].hostname, "lb.example");
    }

    #[test]
    fn endpointslice_from_api_example() {
        let j = r#"{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1",
 "metadata":{"name":"web-7xk2p","namespace":"default",
   "labels":{"kubernetes.io/service-name":"web"},
   "ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"web","uid":"u","controller":true}]},
 "addressType":"IPv4",
 "endpoints":[{"addresses":["10.244.1.17"],"conditions":{"ready":true,"serving":true},"nodeName":"node-a"},
              {"addresses":["10.244.2.3"],"conditions":{}},
              {"addresses":["10.244.2.4"],"conditions":{"ready":false}}]}"#;
        let e: EndpointSlice = serde_json::from_str(j).unwrap();
        assert_eq!(e.service_name(), Some("web"));
        assert_eq!(e.address_type, "IPv4");
        assert_eq!(e.endpoints[0].node_name, "node-a");
        assert!(e.endpoints[0].conditions.is_ready());
        assert!(e.endpoints[1].conditions.is_ready());
        assert!(!e.endpoints[2].conditions.is_ready());
        assert_eq!(e.endpoints[1].node_name, "");
        assert_eq!(e.metadata.owner_references[0].kind, "Service");
    }

    #[test]
    fn slice_service_name_falls_back_to_owner() {
        let e: EndpointSlice = serde_json::from_str(
            r#"{"metadata":{"name":"s","ownerReferences":[{"kind":"Service","name":"db"}]}}"#,
        )
        .unwrap();
        assert_eq!(e.service_name(), Some("db"));
        assert_eq!(EndpointSlice::default().service_name(), None);
    }

    #[test]
    fn list_skips_only_malformed_items() {
        let j = r#"{"kind":"NodeList","metadata":{"resourceVersion":"7","continue":"abc"},
            "items":[{"metadata":{"name":"a"}},
                     {"metadata":{"name":"bad","annotations":{"k":5}}},
                     {"metadata":{"name":"c"}}]}"#;
        let l: List<Node> = serde_json::from_str(j).unwrap();
        assert_eq!(l.metadata.resource_version, "7");
        assert_eq!(l.metadata.continue_, "abc");
        assert_eq!(l.items.len(), 3);
        assert!(matches!(&l.items[0], Item::Ok(n) if n.metadata.name == "a"));
        assert!(matches!(&l.items[1], Item::Bad { who, .. } if who == "bad"));
        assert!(matches!(&l.items[2], Item::Ok(n) if n.metadata.name == "c"));
    }

    #[test]
    fn status_and_object_id() {
        let s: Status = serde_json::from_str(
            r#"{"kind":"Status","status":"Failure","message":"too old","reason":"Expired","code":410}"#,
        )
        .unwrap();
        assert_eq!(s.code, 410);
        assert_eq!(s.to_string(), "410 Expired: too old");
        let v = serde_json::json!({"metadata":{"namespace":"ns","name":"n"}});
        assert_eq!(object_id(&v), "ns/n");
        assert_eq!(object_id(&serde_json::json!(3)), "?");
    }

    #[test]
    fn kube_object_from_value() {
        let v = serde_json::json!({"metadata":{"name":"svc","namespace":"d"},"spec":{"clusterIP":"None"}});
        match KubeObject::from_value(ResourceKind::Service, v) {
            Item::Ok(o) => {
                assert_eq!(o.kind(), ResourceKind::Service);
                assert_eq!(o.metadata().name, "svc");
            }
            Item::Bad { error, .. } => panic!("{error}"),
        }
        let bad = serde_json::json!({"metadata":{"name":"n"},"spec":{"podCIDRs":"x"}});
        assert!(matches!(
            KubeObject::from_value(ResourceKind::Node, bad),
            Item::Bad { who, .. } if who == "n"
        ));
    }
}
