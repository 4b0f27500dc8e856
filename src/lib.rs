//! kube-bgp: a BGP routing agent for Kubernetes nodes, a drop-in for kube-router's
//! routing controller. README.md says what it does; each module's doc says what it
//! owns. The shape: a sans-IO BGP core, a single-threaded mio event
//! loop that owns all state, and thin I/O edges (Kubernetes API, netlink, control socket).

pub mod bfd;
pub mod bgp;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod kernel;
pub mod kube;
pub mod log;
pub mod net;
pub mod ops;
pub mod podnet;
pub mod prefix;
pub(crate) mod safe_yaml;
#[cfg(test)]
mod sim;
