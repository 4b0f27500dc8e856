//! kube-bgp: a BGP routing agent for Kubernetes nodes, a drop-in for kube-router's
//! routing controller. See README.md for what it does and `../design` notes in the
//! module docs for how it is built: a sans-IO BGP core, a single-threaded mio event
//! loop that owns all state, and thin I/O edges (Kubernetes API, netlink, control socket).

pub mod bgp;
pub mod cluster;
pub mod config;
pub mod kernel;
pub mod kube;
pub mod log;
pub mod net;
