//! The plan of the node-lost trials (`lost`, `lost-bfd`): which nodes lose their links
//! together (a wave), when each cut falls within its wave, and which nodes stay up to
//! observe it. A lost trial is bounded by a protocol timer (the 90 s hold time, or
//! BFD's detection time), so trials run several at a time instead of one after another;
//! each keeps its own start and its own end.
//!
//! Owns: pure planning from the trial count, the nodes and the stagger. Must not: read
//! clocks, touch the lab or decide what a figure means (converge.rs does).

use std::time::Duration;

/// One trial of a wave: `node` loses its link `at` after the wave started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LostCut {
    pub(crate) trial: usize,
    pub(crate) node: usize,
    pub(crate) at: Duration,
}

/// Nodes that lose their links in one wave (distinct), in the order of their cuts, and
/// the nodes that stay up (every running node not cut in this wave), whose kernels
/// each trial waits on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LostWave {
    pub(crate) cuts: Vec<LostCut>,
    pub(crate) observers: Vec<usize>,
}

/// How the cuts of a wave are placed in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stagger {
    /// Spread over `span` (one keepalive interval): the wave's j-th cut falls at a
    /// pseudo-random point of the j-th of as many equal slots as the wave has cuts, so
    /// the trials sample the whole interval (the hold timer runs from the last
    /// KEEPALIVE received, which the cut's moment decides).
    Spread { span: Duration },
    /// One after another, `gap` apart (longer than a trial takes, so one cut's
    /// convergence never overlaps the next), each at a pseudo-random point within
    /// `jitter` of its slot (one transmit interval of a timer that runs much faster
    /// than the gap).
    Apart { gap: Duration, jitter: Duration },
}

/// A pseudo-random number from a trial number (the same plan on every run).
fn scatter(trial: usize) -> u64 {
    ((trial as u64).wrapping_add(1)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24
}

/// A pseudo-random duration in [0, span) for `trial`, at millisecond resolution.
fn within(trial: usize, span: Duration) -> Duration {
    let ms = span.as_millis() as u64;
    if ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(scatter(trial) % ms)
}

/// Errors of a plan that cannot be made.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WavePlanError {
    /// No node may be lost, or none would stay up to observe.
    TooFewNodes { up: usize, candidates: usize },
    /// A candidate is not among the running nodes.
    NotUp { node: usize },
}

impl std::fmt::Display for WavePlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WavePlanError::TooFewNodes { up, candidates } => write!(
                f,
                "lost waves need a node to lose and one to stay up: {up} running, {candidates} that may be lost"
            ),
            WavePlanError::NotUp { node } => {
                write!(f, "node index {node} may be lost but is not running")
            }
        }
    }
}

/// The largest wave for `up` running nodes of which `candidates` may be lost: at most
/// half of the running nodes, so at least as many stay up as are lost.
pub(crate) fn max_wave(up: usize, candidates: usize) -> usize {
    (up / 2).min(candidates)
}

/// Plans `trials` lost trials over `up` (the running nodes) taking the lost nodes from
/// `candidates` in turn (trial k loses `candidates[k % len]`): as few waves as waves
/// of at most [`max_wave`] nodes allow, their sizes balanced, each wave's nodes
/// distinct and its cuts in time order.
pub(crate) fn plan_waves(
    trials: usize,
    up: &[usize],
    candidates: &[usize],
    stagger: &Stagger,
) -> Result<Vec<LostWave>, WavePlanError> {
    if let Some(&node) = candidates.iter().find(|c| !up.contains(c)) {
        return Err(WavePlanError::NotUp { node });
    }
    let size = max_wave(up.len(), candidates.len());
    if size == 0 {
        return Err(WavePlanError::TooFewNodes {
            up: up.len(),
            candidates: candidates.len(),
        });
    }
    let mut waves = Vec::new();
    let mut next = 0usize;
    let count = trials.div_ceil(size);
    for w in 0..count {
        let len = (trials - next).div_ceil(count - w);
        let cuts: Vec<LostCut> = (0..len)
            .map(|j| {
                let trial = next + j;
                let at = match stagger {
                    Stagger::Spread { span } => {
                        let slot = *span / len as u32;
                        slot * j as u32 + within(trial, slot)
                    }
                    Stagger::Apart { gap, jitter } => *gap * j as u32 + within(trial, *jitter),
                };
                LostCut {
                    trial,
                    node: candidates[trial % candidates.len()],
                    at,
                }
            })
            .collect();
        let observers = up
            .iter()
            .copied()
            .filter(|i| !cuts.iter().any(|c| c.node == *i))
            .collect();
        next += len;
        waves.push(LostWave { cuts, observers });
    }
    Ok(waves)
}
