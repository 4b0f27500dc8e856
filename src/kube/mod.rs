//! kube: the Kubernetes API edge. Owns configuration (kubeconfig, in-cluster), the
//! blocking ureq client, list+watch reader threads and the object/snapshot types the
//! daemon consumes. Must not interpret kube-router semantics (that is `cluster::*`) and
//! must not touch daemon state from its threads: readers only send `KubeEvent`s.

pub mod client;
pub mod config;
pub mod decoder;
pub mod kubeconfig;
pub mod objects;
pub mod snapshot;
#[cfg(test)]
mod testpki;
#[cfg(test)]
mod testserver;
pub mod watch;

pub use client::{Client, ClientError};
pub use config::{Auth, KubeConfig, KubeConfigError, TlsSettings, load, local_node_name};
pub use objects::{
    Endpoint, EndpointConditions, EndpointSlice, KubeObject, LoadBalancerIngress, Node,
    NodeAddress, ObjectMeta, ResourceKind, Service, Status,
};
pub use snapshot::{KubeEvent, NsName, Snapshot, SyncState};
pub use watch::{WatchOptions, Watchers, start_watchers};
