//! The cluster snapshot the daemon thread owns, and the events that change it.
//!
//! Owns `KubeEvent` (what watcher threads send) and `Snapshot` (nodes by name, services
//! and EndpointSlices by namespace/name, plus each resource's sync state). Pure: no I/O,
//! no threads. An `Unreachable` state never clears objects: the last good snapshot
//! stays until a relist replaces it. Objects are kept as `KubeObject::into_kept` makes
//! them, so a write that changes nothing kube-bgp reads is not a change. Records which
//! objects changed ([`SnapshotChanges`]) until the planner takes them, so a replan
//! recomputes only what they affect.

use std::collections::{BTreeMap, BTreeSet};

use super::objects::{EndpointSlice, KubeObject, Node, ResourceKind, Service};

/// Where a resource's list+watch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    /// Listed (and watching): the snapshot for this resource is current.
    Synced,
    /// A relist is under way (after a 410 or a broken stream); data is possibly stale.
    Relisting,
    /// The API server cannot be reached or refuses us; data is the last good state.
    Unreachable { error: String },
}

/// What a watcher thread sends to the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeEvent {
    /// After every (re)list: the full set of objects of `kind`.
    Replaced {
        kind: ResourceKind,
        objects: Vec<KubeObject>,
    },
    /// ADDED or MODIFIED.
    Upsert(KubeObject),
    /// DELETED (carries the object's last state).
    Delete(KubeObject),
    Status {
        kind: ResourceKind,
        state: SyncState,
    },
}

/// `namespace/name` key for namespaced objects (ordered by namespace, then name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NsName {
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl NsName {
    pub(crate) fn new(namespace: &str, name: &str) -> NsName {
        NsName {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl std::fmt::Display for NsName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The keys of the objects added, changed or deleted since the changes were last taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotChanges {
    pub(crate) nodes: BTreeSet<String>,
    pub(crate) services: BTreeSet<NsName>,
    pub(crate) slices: BTreeSet<NsName>,
    /// The Services (namespace, service name) the changed EndpointSlices named, before
    /// and after the change: whose endpoints may have changed. Lets the planner find the
    /// Services a slice counted for without an index of its own.
    pub(crate) slice_services: BTreeSet<NsName>,
    /// Too many keys to track (more than [`MAX_TRACKED_CHANGES`]): treat every object
    /// as changed.
    pub(crate) everything: bool,
}

/// Most changed keys kept between two takes; past it only `everything` is kept, so
/// relists that are never planned cost no memory beyond the objects themselves.
pub(crate) const MAX_TRACKED_CHANGES: usize = 100_000;

impl SnapshotChanges {
    fn len(&self) -> usize {
        self.nodes.len() + self.services.len() + self.slices.len() + self.slice_services.len()
    }

    /// Whether nothing changed.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        !self.everything && self.len() == 0
    }

    fn bound(&mut self) {
        if self.len() > MAX_TRACKED_CHANGES {
            *self = SnapshotChanges {
                everything: true,
                ..SnapshotChanges::default()
            };
        }
    }
}

/// Last known state of the watched resources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub nodes: BTreeMap<String, Node>,
    pub services: BTreeMap<NsName, Service>,
    pub(crate) slices: BTreeMap<NsName, EndpointSlice>,
    /// Sync state per kind; a kind absent here has not been listed yet.
    pub(crate) states: BTreeMap<ResourceKind, SyncState>,
    /// Whether each kind has been listed at least once (data present).
    pub listed: BTreeMap<ResourceKind, bool>,
    /// What changed since [`Snapshot::take_changes`] was last called.
    changes: SnapshotChanges,
}

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    /// Applies one event; returns whether any object changed (state changes return
    /// false, so callers can skip a recompute).
    pub fn apply(&mut self, ev: KubeEvent) -> bool {
        match ev {
            KubeEvent::Replaced { kind, objects } => self.replace(kind, objects),
            KubeEvent::Upsert(o) => self.upsert(o),
            KubeEvent::Delete(o) => self.delete(&o),
            KubeEvent::Status { kind, state } => {
                self.states.insert(kind, state);
                false
            }
        }
    }

    /// The objects changed since the last call (every object the first time). Objects
    /// changed through the public maps instead of [`Snapshot::apply`] are not seen.
    pub fn take_changes(&mut self) -> SnapshotChanges {
        std::mem::take(&mut self.changes)
    }

    /// True once every watched kind has been listed at least once.
    pub fn all_listed(&self) -> bool {
        ResourceKind::ALL
            .iter()
            .all(|k| self.listed.get(k).copied().unwrap_or(false))
    }

    /// Sync state of `kind` (`None` before its first list).
    pub fn state(&self, kind: ResourceKind) -> Option<&SyncState> {
        self.states.get(&kind)
    }

    /// The EndpointSlices of service `namespace/name`.
    pub fn slices_for_service<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a EndpointSlice> + 'a {
        let start = NsName::new(namespace, "");
        self.slices
            .range(start..)
            .take_while(move |(k, _)| k.namespace == namespace)
            .map(|(_, s)| s)
            .filter(move |s| s.service_name() == Some(name))
    }

    fn replace(&mut self, kind: ResourceKind, objects: Vec<KubeObject>) -> bool {
        let mut nodes = Vec::new();
        let mut services = Vec::new();
        let mut slices = Vec::new();
        let n = objects.len();
        match kind {
            ResourceKind::Node => nodes.reserve_exact(n),
            ResourceKind::Service => services.reserve_exact(n),
            ResourceKind::EndpointSlice => slices.reserve_exact(n),
        }
        for o in objects {
            match o.into_kept() {
                KubeObject::Node(n) => nodes.push((n.metadata.name.clone(), n)),
                KubeObject::Service(s) => services.push((key(&s.metadata), s)),
                KubeObject::EndpointSlice(s) => slices.push((key(&s.metadata), s)),
            }
        }
        // Built from the whole list at once, a map's nodes are packed full (the last of
        // equal keys wins, as when inserting in list order); inserted one by one in key
        // order, they would stay about half full.
        let nodes: BTreeMap<String, Node> = nodes.into_iter().collect();
        let services: BTreeMap<NsName, Service> = services.into_iter().collect();
        let slices: BTreeMap<NsName, EndpointSlice> = slices.into_iter().collect();
        self.listed.insert(kind, true);
        self.states.insert(kind, SyncState::Synced);
        let ch = &mut self.changes;
        let changed = match kind {
            ResourceKind::Node => swap_if_changed(&mut self.nodes, nodes, &mut ch.nodes, |_| {}),
            ResourceKind::Service => {
                swap_if_changed(&mut self.services, services, &mut ch.services, |_| {})
            }
            ResourceKind::EndpointSlice => {
                let svcs = &mut ch.slice_services;
                swap_if_changed(&mut self.slices, slices, &mut ch.slices, |s| {
                    note_service(svcs, s)
                })
            }
        };
        ch.bound();
        changed
    }

    fn upsert(&mut self, o: KubeObject) -> bool {
        let ch = &mut self.changes;
        let changed = match o.into_kept() {
            KubeObject::Node(n) => {
                let k = n.metadata.name.clone();
                insert_if_changed(&mut self.nodes, k, n, &mut ch.nodes, |_| {})
            }
            KubeObject::Service(s) => {
                let k = key(&s.metadata);
                insert_if_changed(&mut self.services, k, s, &mut ch.services, |_| {})
            }
            KubeObject::EndpointSlice(s) => {
                let svcs = &mut ch.slice_services;
                insert_if_changed(&mut self.slices, key(&s.metadata), s, &mut ch.slices, |v| {
                    note_service(svcs, v)
                })
            }
        };
        ch.bound();
        changed
    }

    fn delete(&mut self, o: &KubeObject) -> bool {
        let m = o.metadata();
        let ch = &mut self.changes;
        let changed = match o.kind() {
            ResourceKind::Node => {
                remove_noted(&mut self.nodes, m.name.clone(), &mut ch.nodes, |_| {})
            }
            ResourceKind::Service => {
                remove_noted(&mut self.services, key(m), &mut ch.services, |_| {})
            }
            ResourceKind::EndpointSlice => {
                let svcs = &mut ch.slice_services;
                remove_noted(&mut self.slices, key(m), &mut ch.slices, |v| {
                    note_service(svcs, v)
                })
            }
        };
        ch.bound();
        changed
    }
}

fn key(m: &super::objects::ObjectMeta) -> NsName {
    NsName::new(&m.namespace, &m.name)
}

/// Notes the Service an EndpointSlice names (if any) in `services`.
fn note_service(services: &mut BTreeSet<NsName>, s: &EndpointSlice) {
    if let Some(name) = s.service_name() {
        services.insert(NsName::new(&s.metadata.namespace, name));
    }
}

/// Inserts `v` unless an equal value is there (values are kept objects: see
/// `KubeObject::into_kept`); a change is noted in `changed`, and `on_value` sees the old
/// value (if any) and the new one.
fn insert_if_changed<K: Ord + Clone, V: PartialEq>(
    map: &mut BTreeMap<K, V>,
    k: K,
    v: V,
    changed: &mut BTreeSet<K>,
    mut on_value: impl FnMut(&V),
) -> bool {
    match map.get(&k) {
        Some(old) if *old == v => false,
        old => {
            if let Some(old) = old {
                on_value(old);
            }
            on_value(&v);
            changed.insert(k.clone());
            map.insert(k, v);
            true
        }
    }
}

/// Removes `k`; a removal is noted in `changed`, and `on_value` sees the removed value.
fn remove_noted<K: Ord, V>(
    map: &mut BTreeMap<K, V>,
    k: K,
    changed: &mut BTreeSet<K>,
    mut on_value: impl FnMut(&V),
) -> bool {
    match map.remove(&k) {
        Some(old) => {
            on_value(&old);
            changed.insert(k);
            true
        }
        None => false,
    }
}

/// Replaces `map` by `new` unless they are equal; the keys added, removed or changed
/// are noted in `changed` (one merge of the two sorted maps), and `on_value` sees the
/// old and the new value of each of them.
fn swap_if_changed<K: Ord + Clone, V: PartialEq>(
    map: &mut BTreeMap<K, V>,
    new: BTreeMap<K, V>,
    changed: &mut BTreeSet<K>,
    mut on_value: impl FnMut(&V),
) -> bool {
    if *map == new {
        return false;
    }
    let mut old = map.iter().peekable();
    let mut fresh = new.iter().peekable();
    loop {
        match (old.peek(), fresh.peek()) {
            (None, None) => break,
            (Some((k, v)), None) => {
                changed.insert((*k).clone());
                on_value(v);
                old.next();
            }
            (None, Some((k, v))) => {
                changed.insert((*k).clone());
                on_value(v);
                fresh.next();
            }
            (Some((ko, vo)), Some((kn, vn))) => match ko.cmp(kn) {
                std::cmp::Ordering::Less => {
                    changed.insert((*ko).clone());
                    on_value(vo);
                    old.next();
                }
                std::cmp::Ordering::Greater => {
                    changed.insert((*kn).clone());
                    on_value(vn);
                    fresh.next();
                }
                std::cmp::Ordering::Equal => {
                    if vo != vn {
                        changed.insert((*ko).clone());
                        on_value(vo);
                        on_value(vn);
                    }
                    old.next();
                    fresh.next();
                }
            },
        }
    }
    *map = new;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::objects::ObjectMeta;

    fn node(name: &str, rv: &str) -> KubeObject {
        KubeObject::Node(Node {
            metadata: ObjectMeta {
                name: name.into(),
                resource_version: rv.into(),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    fn slice(ns: &str, name: &str, svc: &str) -> KubeObject {
        let mut s = EndpointSlice::default();
        s.metadata.namespace = ns.into();
        s.metadata.name = name.into();
        s.metadata
            .labels
            .insert(crate::kube::objects::SERVICE_NAME_LABEL.into(), svc.into());
        KubeObject::EndpointSlice(s)
    }

    #[test]
    fn replace_upsert_delete() {
        let mut s = Snapshot::new();
        assert!(!s.all_listed());
        assert!(s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: vec![node("a", "1"), node("b", "1")],
        }));
        assert_eq!(s.state(ResourceKind::Node), Some(&SyncState::Synced));
        assert_eq!(s.nodes.len(), 2);
        // Same object again, or only a new resourceVersion (a status heartbeat): no
        // change.
        assert!(!s.apply(KubeEvent::Upsert(node("a", "1"))));
        assert!(!s.apply(KubeEvent::Upsert(node("a", "2"))));
        let KubeObject::Node(mut changed) = node("a", "3") else {
            unreachable!()
        };
        changed.spec.pod_cidr = "10.244.1.0/24".into();
        assert!(s.apply(KubeEvent::Upsert(KubeObject::Node(changed))));
        assert_eq!(s.nodes["a"].spec.pod_cidr, "10.244.1.0/24");
        assert!(s.apply(KubeEvent::Delete(node("b", "3"))));
        assert!(!s.apply(KubeEvent::Delete(node("b", "3"))));
        assert_eq!(s.nodes.keys().collect::<Vec<_>>(), vec!["a"]);
        // A relist replaces everything of that kind only.
        assert!(s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: vec![node("c", "9")],
        }));
        assert_eq!(s.nodes.keys().collect::<Vec<_>>(), vec!["c"]);
        assert!(!s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: vec![node("c", "9")],
        }));
    }

    /// A list that names one object twice keeps its last copy, as inserting in list
    /// order would.
    #[test]
    fn relist_with_a_repeated_key_keeps_the_last() {
        let mut s = Snapshot::new();
        let KubeObject::Node(mut second) = node("a", "2") else {
            unreachable!()
        };
        second.spec.pod_cidr = "10.244.9.0/24".into();
        s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: vec![node("b", "1"), node("a", "1"), KubeObject::Node(second)],
        });
        assert_eq!(s.nodes.keys().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(s.nodes["a"].spec.pod_cidr, "10.244.9.0/24");
    }

    #[test]
    fn endpoint_moves_that_change_nothing_read_are_not_changes() {
        use crate::kube::objects::Endpoint;
        let with = |rv: &str, eps: Vec<(&str, &str)>| {
            let KubeObject::EndpointSlice(mut s) = slice("a", "web-1", "web") else {
                unreachable!()
            };
            s.metadata.resource_version = rv.into();
            s.endpoints = eps
                .into_iter()
                .map(|(addr, node)| Endpoint {
                    addresses: vec![addr.into()],
                    node_name: node.into(),
                    ..Default::default()
                })
                .collect();
            KubeObject::EndpointSlice(s)
        };
        let mut s = Snapshot::new();
        assert!(s.apply(KubeEvent::Upsert(with("1", vec![("10.0.0.5", "n1")]))));
        // A pod replaced on the same node: new address, same node.
        assert!(!s.apply(KubeEvent::Upsert(with("2", vec![("10.0.0.9", "n1")]))));
        // On another node: a change.
        assert!(s.apply(KubeEvent::Upsert(with("3", vec![("10.0.0.9", "n2")]))));
        // Without nodeName the address is what tells the node: kept and compared.
        assert!(s.apply(KubeEvent::Upsert(with("4", vec![("10.0.0.9", "")]))));
        assert!(!s.apply(KubeEvent::Upsert(with("5", vec![("10.0.0.9", "")]))));
        assert!(s.apply(KubeEvent::Upsert(with("6", vec![("10.0.0.7", "")]))));
        let kept = &s.slices[&NsName::new("a", "web-1")];
        assert_eq!(kept.endpoints[0].addresses, vec!["10.0.0.7".to_string()]);
        // A relist of the same content is no change either.
        assert!(!s.apply(KubeEvent::Replaced {
            kind: ResourceKind::EndpointSlice,
            objects: vec![with("7", vec![("10.0.0.7", "")])],
        }));
    }

    #[test]
    fn only_what_kube_bgp_reads_makes_a_change() {
        let mut s = Snapshot::new();
        let with = |rv: &str, label: &str, ann: &str| {
            let KubeObject::Node(mut n) = node("a", rv) else {
                unreachable!()
            };
            n.metadata.labels.insert("zone".into(), label.into());
            n.metadata
                .annotations
                .insert("node.alpha.kubernetes.io/ttl".into(), label.into());
            n.metadata
                .annotations
                .insert("kube-router.io/node.asn".into(), ann.into());
            KubeObject::Node(n)
        };
        assert!(s.apply(KubeEvent::Upsert(with("1", "x", "64512"))));
        assert!(s.nodes["a"].metadata.labels.is_empty());
        assert_eq!(
            s.nodes["a"].metadata.annotations.keys().collect::<Vec<_>>(),
            vec!["kube-router.io/node.asn"]
        );
        assert!(!s.apply(KubeEvent::Upsert(with("2", "y", "64512"))));
        assert!(s.apply(KubeEvent::Upsert(with("3", "y", "64513"))));
        // A slice keeps its service-name label (and so its service) and drops the rest.
        let KubeObject::EndpointSlice(mut sl) = slice("a", "web-1", "web") else {
            unreachable!()
        };
        sl.metadata.labels.insert("other".into(), "1".into());
        assert!(s.apply(KubeEvent::Upsert(KubeObject::EndpointSlice(sl))));
        assert_eq!(s.slices_for_service("a", "web").count(), 1);
    }

    /// Every change is recorded by key until taken; writes that change nothing are not;
    /// a relist records only the objects it added, changed or removed.
    #[test]
    fn changes_are_recorded_until_taken() {
        let mut s = Snapshot::new();
        s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: vec![node("a", "1"), node("b", "1")],
        });
        s.apply(KubeEvent::Upsert(slice("ns", "web-1", "web")));
        let ch = s.take_changes();
        assert_eq!(ch.nodes.iter().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(
            ch.slices.into_iter().collect::<Vec<_>>(),
            vec![NsName::new("ns", "web-1")]
        );
        assert!(ch.services.is_empty() && !ch.everything);
        assert!(s.take_changes().is_empty());
        // A heartbeat changes nothing read: not a change.
        s.apply(KubeEvent::Upsert(node("a", "2")));
        assert!(s.take_changes().is_empty());
        // A relist: b changed, c new, a gone.
        let KubeObject::Node(mut b) = node("b", "3") else {
            unreachable!()
        };
        b.spec.pod_cidr = "10.244.2.0/24".into();
        s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: vec![KubeObject::Node(b.clone()), node("c", "3")],
        });
        assert_eq!(
            s.take_changes().nodes.into_iter().collect::<Vec<_>>(),
            vec!["a", "b", "c"]
        );
        s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: vec![KubeObject::Node(b), node("c", "4")],
        });
        assert!(s.take_changes().is_empty());
        s.apply(KubeEvent::Delete(node("c", "5")));
        s.apply(KubeEvent::Delete(node("zz", "5")));
        assert_eq!(
            s.take_changes().nodes.into_iter().collect::<Vec<_>>(),
            vec!["c"]
        );
    }

    /// More changed keys than are kept become "everything changed".
    #[test]
    fn too_many_changes_become_everything() {
        let mut s = Snapshot::new();
        let objects = (0..=MAX_TRACKED_CHANGES)
            .map(|i| node(&format!("n{i}"), "1"))
            .collect();
        s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects,
        });
        let ch = s.take_changes();
        assert!(ch.everything && ch.nodes.is_empty());
        assert!(!ch.is_empty());
        s.apply(KubeEvent::Delete(node("n0", "2")));
        let ch = s.take_changes();
        assert!(!ch.everything && ch.nodes.len() == 1);
    }

    #[test]
    fn unreachable_keeps_objects() {
        let mut s = Snapshot::new();
        s.apply(KubeEvent::Replaced {
            kind: ResourceKind::Node,
            objects: vec![node("a", "1")],
        });
        assert!(!s.apply(KubeEvent::Status {
            kind: ResourceKind::Node,
            state: SyncState::Unreachable {
                error: "refused".into()
            },
        }));
        assert_eq!(s.nodes.len(), 1);
        assert!(matches!(
            s.state(ResourceKind::Node),
            Some(SyncState::Unreachable { .. })
        ));
    }

    #[test]
    fn slices_by_service_and_all_listed() {
        let mut s = Snapshot::new();
        for k in ResourceKind::ALL {
            s.apply(KubeEvent::Replaced {
                kind: k,
                objects: vec![],
            });
        }
        assert!(s.all_listed());
        for o in [
            slice("a", "web-1", "web"),
            slice("a", "web-2", "web"),
            slice("a", "db-1", "db"),
            slice("b", "web-1", "web"),
        ] {
            s.apply(KubeEvent::Upsert(o));
        }
        let names: Vec<_> = s
            .slices_for_service("a", "web")
            .map(|x| x.metadata.name.as_str())
            .collect();
        assert_eq!(names, vec!["web-1", "web-2"]);
        assert_eq!(s.slices_for_service("c", "web").count(), 0);
        let mut svc = Service::default();
        svc.metadata.namespace = "a".into();
        svc.metadata.name = "web".into();
        s.apply(KubeEvent::Upsert(KubeObject::Service(svc)));
        assert!(s.services.contains_key(&NsName::new("a", "web")));
    }
}
