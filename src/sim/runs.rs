//! One seed's run on the real agents and its failure report, for the tests in
//! `sim` (`seeds`, `replay`, determinism).
//!
//! Owns nothing but the glue from a seed to a scenario, a world and a report; reads
//! environment knobs only through [`env_u64`]. Must not change what a seed does.

use super::driver::{self, Outcome};
use super::faults::{Scenario, generate};
use super::world::RealWorld;

pub(crate) fn real(seed: u64) -> impl Fn(&Scenario) -> RealWorld {
    move |sc: &Scenario| RealWorld::new(sc, seed)
}

/// Runs seed `seed` on the real agents.
pub(crate) fn run_seed(seed: u64) -> (Scenario, Outcome) {
    let sc = generate(seed);
    let mut w = RealWorld::new(&sc, seed);
    let out = driver::run(&sc, &mut w, seed);
    (sc, out)
}

/// The failure report of a failed seed (minimises its fault list first).
pub(crate) fn report(seed: u64, sc: &Scenario, out: &Outcome) -> String {
    driver::failure_report(seed, sc, out, &real(seed))
}

pub(crate) fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}
