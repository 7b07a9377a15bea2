//! The chaos schedule: what each fault does, to what, and when.
//!
//! A [`Fault`] is resolved at validation: its target becomes station instances, an edge
//! or a workload; its schedule is a fixed window or an alternating renewal process
//! (up for a draw of the time between failures, down for a draw of the repair time).
//! While active, faults on a station combine into one [`StationFx`] that the event
//! handlers consult: service-time multipliers multiply, added latencies add, error
//! probabilities combine as independent chances, capacities take the tightest limit.
//! Spikes and ramps change a workload's rate, so they are folded into its rate profile
//! when the model is built.

use super::{Dist, Factor};
use crate::engine::SimTime;

/// Index of a fault in [`super::Model::faults`].
pub type FaultId = usize;

/// One fault of the schedule.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Name in reports.
    pub name: String,
    /// The kind's name (`latency`, `crash`, ...).
    pub kind: &'static str,
    /// The target as written.
    pub target_text: String,
    /// What it acts on.
    pub target: Target,
    /// What it does.
    pub effect: Effect,
    /// When.
    pub schedule: Schedule,
}

/// What a fault acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Instances: (service, instance) pairs.
    Instances(Vec<(usize, u32)>),
    /// A call edge.
    Edge(usize),
    /// A workload.
    Workload(usize),
}

/// What a fault does while active.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Service time × `multiply` + a draw of `add`.
    Latency {
        /// Extra time per request.
        add: Option<Dist>,
        /// Multiplier.
        multiply: f64,
    },
    /// A response fails with this probability.
    Error(f64),
    /// A response is incomplete with probability `p`: an error, or degraded worth `value`.
    Partial {
        /// Chance per response.
        p: f64,
        /// `Some(value)`: counted as degraded; `None`: as an error.
        degraded: Option<f64>,
    },
    /// Instances down; after restarting, service is `cold_factor` times slower for `cold_for`.
    Crash {
        /// Slowdown after the restart (1 = none).
        cold_factor: f64,
        /// How long the slowdown lasts.
        cold_for: SimTime,
    },
    /// Fewer workers per pool: at most `servers`, or `factor` of them (at least 0).
    Capacity {
        /// Workers left.
        servers: Option<u32>,
        /// Share of workers left.
        factor: Option<f64>,
    },
    /// Calls on the edge vanish (`refuse == false`: the caller times out) or are refused.
    Partition {
        /// Refuse at once instead of never answering.
        refuse: bool,
    },
    /// Folded into the workload's rate profile (spike, ramp) as this multiplier; nothing
    /// to do at run time.
    Load(Factor),
    /// Empties the target service's cache at the fault's onset.
    CacheFlush,
    /// The target service's cache cannot be reached: every lookup misses, nothing is stored.
    CacheDown,
}

/// When a fault is active.
#[derive(Clone, Debug)]
pub enum Schedule {
    /// Active on `[start, end)` (absolute simulated time).
    Window {
        /// Start.
        start: SimTime,
        /// End.
        end: SimTime,
    },
    /// Alternating: up for a draw of `up`, then down for a draw of `down`, from time 0.
    Random {
        /// Time between failures.
        up: Dist,
        /// Time to repair.
        down: Dist,
    },
}

/// The combined effect of the active faults on one station.
#[derive(Clone, Debug, PartialEq)]
pub struct StationFx {
    /// Down (crashed): refuses arrivals.
    pub down: bool,
    /// Service-time multiplier.
    pub multiply: f64,
    /// Active latency faults whose `add` is drawn per request.
    pub add: Vec<FaultId>,
    /// Chance a response fails.
    pub error: f64,
    /// Chance a response is incomplete, and the value if it counts as degraded.
    pub partial: Option<(f64, Option<f64>)>,
    /// Workers left per pool, if limited: absolute cap and share.
    pub servers_cap: Option<u32>,
    /// Share of workers left.
    pub servers_factor: f64,
    /// Cold-start slowdown until this time.
    pub cold_until: SimTime,
    /// Cold-start multiplier.
    pub cold_factor: f64,
}

impl Default for StationFx {
    fn default() -> Self {
        Self {
            down: false,
            multiply: 1.0,
            add: Vec::new(),
            error: 0.0,
            partial: None,
            servers_cap: None,
            servers_factor: 1.0,
            cold_until: SimTime::ZERO,
            cold_factor: 1.0,
        }
    }
}

impl StationFx {
    /// The effect of the active faults `active` (ids into `faults`), keeping the
    /// cold-start state, which outlives the crash that caused it.
    pub fn combine(faults: &[Fault], active: impl Iterator<Item = FaultId>, cold: (SimTime, f64)) -> Self {
        let mut fx = StationFx { cold_until: cold.0, cold_factor: cold.1, ..StationFx::default() };
        for id in active {
            match &faults[id].effect {
                Effect::Latency { add, multiply } => {
                    fx.multiply *= multiply;
                    if add.is_some() {
                        fx.add.push(id);
                    }
                }
                Effect::Error(p) => fx.error = 1.0 - (1.0 - fx.error) * (1.0 - p),
                Effect::Partial { p, degraded } => fx.partial = Some((*p, *degraded)),
                Effect::Crash { .. } => fx.down = true,
                Effect::Capacity { servers, factor } => {
                    if let Some(n) = servers {
                        fx.servers_cap = Some(fx.servers_cap.map_or(*n, |c| c.min(*n)));
                    }
                    if let Some(f) = factor {
                        fx.servers_factor *= f;
                    }
                }
                Effect::Partition { .. } | Effect::Load(_) | Effect::CacheFlush | Effect::CacheDown => {}
            }
        }
        fx
    }

    /// Workers available out of `servers` under this effect.
    pub fn servers(&self, servers: u32) -> u32 {
        let by_factor = (f64::from(servers) * self.servers_factor).floor() as u32;
        self.servers_cap.map_or(by_factor, |c| c.min(by_factor))
    }

    /// True when nothing is altered.
    pub fn is_clear(&self, now: SimTime) -> bool {
        !self.down
            && self.multiply == 1.0
            && self.add.is_empty()
            && self.error == 0.0
            && self.partial.is_none()
            && self.servers_cap.is_none()
            && self.servers_factor == 1.0
            && now >= self.cold_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(effect: Effect) -> Fault {
        Fault {
            name: "f".into(),
            kind: "k",
            target_text: "x".into(),
            target: Target::Instances(vec![(0, 0)]),
            effect,
            schedule: Schedule::Window { start: SimTime::ZERO, end: SimTime::MAX },
        }
    }

    #[test]
    fn effects_combine() {
        let faults = vec![
            fault(Effect::Latency { add: None, multiply: 2.0 }),
            fault(Effect::Latency { add: Some(Dist::Constant(SimTime::from_millis(5))), multiply: 1.5 }),
            fault(Effect::Error(0.5)),
            fault(Effect::Error(0.5)),
            fault(Effect::Capacity { servers: Some(3), factor: Some(0.5) }),
        ];
        let fx = StationFx::combine(&faults, 0..5, (SimTime::ZERO, 1.0));
        assert_eq!(fx.multiply, 3.0);
        assert_eq!(fx.add, vec![1]);
        assert_eq!(fx.error, 0.75);
        assert_eq!(fx.servers(8), 3);
        assert_eq!(fx.servers(4), 2);
        assert!(!fx.down);
        let none = StationFx::combine(&faults, std::iter::empty(), (SimTime::ZERO, 1.0));
        assert!(none.is_clear(SimTime::ZERO));
        assert_eq!(none.servers(8), 8);
    }
}
