//! net: the I/O edge of the BGP speaker — sockets (TCP-MD5, TTL, DSCP, source address,
//! dual-stack listeners) and the deadline heap the event loop sleeps on.
//!
//! Owns: socket setup and timer bookkeeping. Must not: parse or build BGP messages, hold
//! session state or read the clock on behalf of protocol logic (callers pass `now`).

pub mod sock;
pub mod timers;

pub use timers::Timers;
