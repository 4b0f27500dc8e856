//! kube: the Kubernetes API edge. Owns configuration (kubeconfig, in-cluster), the
//! blocking ureq client, list+watch reader threads and the object/snapshot types the
//! daemon consumes. Must not interpret kube-router semantics (that is `cluster::*`) and
//! must not touch daemon state from its threads: readers only send `KubeEvent`s.

pub(crate) mod client;
pub(crate) mod config;
pub mod decoder;
pub mod kubeconfig;
pub mod objects;
pub mod snapshot;
#[cfg(test)]
mod testpki;
#[cfg(test)]
mod testserver;
pub(crate) mod watch;

pub use client::Client;
pub use config::load;
pub use objects::{KubeObject, ResourceKind};
pub use snapshot::{KubeEvent, Snapshot, SyncState};
pub use watch::{WatchOptions, Watchers, start_watchers};
