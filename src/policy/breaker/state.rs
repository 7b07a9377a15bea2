//! The states a breaker can be in (resilience4j's `CircuitBreaker.State`) and the manual
//! transitions between them that resilience4j allows.

use std::fmt;

/// The state of a breaker: resilience4j's `CircuitBreaker.State`. The last three are
/// entered only by hand ([`CircuitBreaker::transition_to`](super::CircuitBreaker::transition_to)) or as the initial state, and
/// are left only by hand: no outcome and no timer moves a breaker out of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass; outcomes are recorded.
    #[default]
    Closed,
    /// Calls are rejected (short-circuited).
    Open,
    /// A limited number of trial calls decide between closing and reopening.
    HalfOpen,
    /// Every call passes and nothing is recorded or counted (`transitionToDisabledState`).
    Disabled,
    /// Every call is rejected, and counted as short-circuited (`transitionToForcedOpenState`).
    ForcedOpen,
    /// Every call passes; outcomes are recorded in the window and the statistics, but the
    /// breaker never opens (`transitionToMetricsOnlyState`).
    MetricsOnly,
}

impl BreakerState {
    /// All states, in the order of [`BreakerStats::time_in_state`](super::BreakerStats::time_in_state).
    pub const ALL: [BreakerState; 6] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
        BreakerState::Disabled,
        BreakerState::ForcedOpen,
        BreakerState::MetricsOnly,
    ];

    /// Position in [`BreakerStats::time_in_state`](super::BreakerStats::time_in_state): closed 0, open 1, half-open 2,
    /// disabled 3, forced open 4, metrics only 5.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Lowercase snake-case name: `closed`, `open`, `half_open`, `disabled`, `forced_open`,
    /// `metrics_only`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Disabled => "disabled",
            BreakerState::ForcedOpen => "forced_open",
            BreakerState::MetricsOnly => "metrics_only",
        }
    }

    /// Whether resilience4j's `StateTransition` table allows moving from `self` to `to`:
    /// every pair but CLOSED -> HALF_OPEN and METRICS_ONLY -> OPEN or HALF_OPEN (a breaker
    /// reaches HALF_OPEN only from an open state, and METRICS_ONLY never opens).
    pub const fn can_transition_to(self, to: BreakerState) -> bool {
        use BreakerState::{Closed, HalfOpen, MetricsOnly, Open};
        !matches!((self, to), (Closed, HalfOpen) | (MetricsOnly, Open | HalfOpen))
    }
}

/// A manual transition that resilience4j's `StateTransition` table does not allow (its
/// `IllegalStateTransitionException`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IllegalTransition {
    /// The state the breaker is in, and stays in.
    pub from: BreakerState,
    /// The state asked for.
    pub to: BreakerState,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a circuit breaker cannot move from {} to {}", self.from, self.to)
    }
}

impl std::error::Error for IllegalTransition {}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
