//! Operations edges of the daemon: systemd notifications, the local control socket
//! and the HTTP endpoints for metrics and health. Transport only: what they report is
//! rendered by the daemon from its state.

pub mod ctl;
pub(crate) mod explain;
pub mod http;
pub(crate) mod notify;
pub(crate) mod peercred;
pub(crate) mod serve;
