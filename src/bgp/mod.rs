//! The BGP-4 speaker: value types, the wire codec, the session state machine, prefix
//! limits and the RIB.
//! Everything below is sans-IO: bytes, events and `now` in; messages, actions and
//! deadlines out.

pub mod fsm;
pub mod limit;
pub mod rib;
pub mod types;
pub mod wire;
