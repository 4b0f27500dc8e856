//! Deterministic simulation of whole clusters under faults (tests only).
//!
//! Owns the simulated world around the node agents: virtual time (`clock`), one seeded
//! random source (`rng`), the API server (`api`), the expected state (`oracle`), the
//! fault lists and their minimisation (`faults`), and the event loop that runs agents,
//! applies faults and checks invariants at quiescent points (`driver`). Must never
//! touch the host: no sockets, no netlink, no files.

mod api;
mod clock;
mod driver;
mod faults;
mod oracle;
mod rng;
mod router;
mod runs;
mod toy;
mod world;
