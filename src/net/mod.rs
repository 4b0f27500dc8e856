//! net: the I/O edge of the BGP speaker — sockets (TCP-MD5, TTL, DSCP, source address,
//! dual-stack listeners), UDP sockets that report how a datagram arrived (for BFD), and
//! the deadline heap the event loop sleeps on.
//!
//! Owns: socket setup and timer bookkeeping. Must not: parse or build BGP messages, hold
//! session state or read the clock on behalf of protocol logic (callers pass `now`).

pub(crate) mod dgram;
pub mod sock;
pub(crate) mod timers;

pub(crate) use timers::Timers;
