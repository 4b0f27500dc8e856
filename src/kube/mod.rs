//! kube: the Kubernetes API edge. Owns configuration (kubeconfig, in-cluster), the
//! blocking ureq client, list+watch reader threads and the object/snapshot types the
//! daemon consumes. Must not interpret kube-router semantics (that is `cluster::*`) and
//! must not touch daemon state from its threads: readers only send `KubeEvent`s.

pub mod objects;
pub mod snapshot;

pub use objects::{
    Endpoint, EndpointConditions, EndpointSlice, KubeObject, LoadBalancerIngress, Node,
    NodeAddress, ObjectMeta, ResourceKind, Service, Status,
};
pub use snapshot::{KubeEvent, NsName, Snapshot, SyncState};
