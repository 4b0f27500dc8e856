//! Kernel routing state as a reconciled mirror of what BGP decided (D6).
//!
//! Owns everything kube-bgp does through rtnetlink: the main table's protocol-17 routes
//! (`reconciler`, `route_op`, `route`) and the nexthop objects they name (`nexthop`), connected subnets (`addr`), change
//! notifications for the mio loop (`watch`), the thread that sends route batches
//! (`writer`), the seam through which all of these reach the kernel (`port`; a simulated
//! kernel for tests is `sim`) and kube-router's overlay tunnels, table 77
//! and its rules (`tunnel`), FoU/GUE receive ports (`fou`, generic netlink) and the
//! loading of the kernel modules they need (`modules`). It does not choose routes: the daemon answers, per prefix,
//! which route it wants (`Desired`). It never modifies a route, rule or link it did not create.

pub mod addr;
pub mod codec;
pub mod fou;
pub mod modules;
pub mod netlink;
pub(crate) mod nexthop;
pub(crate) mod port;
pub(crate) mod reconciler;
pub mod route;
pub(crate) mod route_op;
#[cfg(test)]
pub(crate) mod sim;
pub(crate) mod table;
pub mod tunnel;
pub mod watch;
pub mod writer;

pub use netlink::BatchOptions;
pub(crate) use reconciler::Desired;
pub use reconciler::{Pass, ReconcileStats, Reconciler};
pub use route::{KernelRoute, RouteKind};
pub use route_op::Op;
pub use watch::{Changes, Watch};
pub use writer::Writer;
