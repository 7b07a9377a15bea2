//! Closed-form queueing theory used to validate the simulator.
//!
//! This module computes exact steady-state results for the Markovian models
//! that the discrete-event engine can also simulate: the Erlang B and C
//! formulas ([`erlang_b`], [`erlang_c`]), single stations of Kendall type
//! M/M/c and M/M/c/K ([`mmck`]), and open Jackson networks of M/M/c nodes
//! ([`jackson`]); for a general service time, the M/G/1 queue by
//! Pollaczek-Khinchine ([`mg1`]), the M/G/c/c loss system by the insensitivity of
//! Erlang B ([`mgcc`]), and the Allen-Cunneen approximation of the M/G/c queue
//! ([`allen_cunneen`], labelled approximate); closed workloads by mean value analysis
//! ([`mva`]); and the sojourn-time distribution of an admitted request in M/M/c/K
//! ([`mmck_sojourn`]) for latency percentiles; the mean response of priority classes at an
//! M/G/1 station, non-preemptive by Cobham's formula ([`cobham`]) and preemptive-resume
//! ([`preemptive_resume`]). It is pure arithmetic: no randomness, no
//! I/O, no global state, so every result is deterministic and reproducible bit for bit.
//!
//! Invariants: rates are per second and times in seconds; a capacity `K` is
//! Kendall's K, the most requests a station holds *including* those in
//! service (so `K >= c`, and `K = c + queue slots`); invalid or unstable
//! inputs are reported as a [`TheoryError`] whose message says how to fix
//! them, never as a panic, NaN or infinity. State probabilities are never
//! formed as raw `a^n / n!` products, so large stations (c in the thousands,
//! K in the millions) evaluate without overflow and in O(c + log K) time.

mod bisect;
pub mod che;
mod coverage;
mod erlang;
mod general;
mod jackson;
mod mg1;
mod mgc;
mod mmck;
pub mod mva;
mod predict;
mod priority;
mod sojourn;
pub mod visits;

pub(crate) use bisect::bisect;
pub use erlang::{erlang_b, erlang_c, min_servers_for_blocking};
pub use jackson::{JacksonNode, JacksonResult, jackson};
pub use mg1::mg1;
pub use mgc::{allen_cunneen, allen_cunneen_error, mgcc};
pub use mmck::{StationTheory, mmck};
pub use mva::{ClosedResult, ClosedStation, mva};
pub use predict::{Prediction, predict};
pub use priority::{ClassPrediction, ClassTheory, PriorityClass, cobham, preemptive_resume, priority_predictions};
pub use sojourn::{Sojourn, hypoexponential_quantile, hypoexponential_survival, mmck_sojourn};

/// Why a closed-form computation was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TheoryError {
    /// A numeric parameter is outside its domain (negative, NaN, infinite, ...).
    #[error("invalid {name} = {value}: it must be {requirement}")]
    InvalidParameter {
        /// Parameter name as the caller knows it (e.g. `arrival rate λ`).
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// The accepted domain, phrased as a fix (e.g. `finite and >= 0`).
        requirement: &'static str,
    },
    /// A station was given zero servers.
    #[error("station has 0 servers; set servers c >= 1")]
    NoServers,
    /// Kendall's K (which counts requests in service) is below the server count.
    #[error(
        "capacity K = {capacity} is below servers c = {servers}; K counts the requests in \
         service too, so set K >= c (K = c is a pure loss system, K = c + q allows q queued)"
    )]
    CapacityBelowServers {
        /// The rejected capacity K.
        capacity: u32,
        /// The number of servers c.
        servers: u32,
    },
    /// An unbounded station whose offered load reaches its server count.
    #[error(
        "station is unstable: offered load a = {offered_load:.2} >= servers c = {servers}; \
         add servers or set a finite capacity"
    )]
    Unstable {
        /// Offered load a = λ/μ in Erlangs.
        offered_load: f64,
        /// The number of servers c.
        servers: u32,
    },
    /// A loss-sizing target that no server count can meet.
    #[error(
        "no server count up to {max} achieves blocking <= {target}; raise the blocking target \
         or reduce the offered load"
    )]
    TargetUnreachable {
        /// The requested blocking probability.
        target: f64,
        /// The largest server count that was tried.
        max: u32,
    },
    /// A Jackson network with no nodes.
    #[error("Jackson network has no nodes; give at least one node")]
    EmptyNetwork,
    /// A Jackson network into which nothing arrives from outside.
    #[error("Jackson network has no external arrivals; give at least one node external_rate > 0")]
    NoExternalArrivals,
    /// A parameter of one Jackson node is invalid.
    #[error("Jackson node {node}: {reason}")]
    Node {
        /// Index of the offending node.
        node: usize,
        /// What is wrong with it.
        reason: Box<TheoryError>,
    },
    /// The routing matrix is not `n × n` for `n` nodes.
    #[error(
        "routing matrix must be {nodes}×{nodes} (one row per node, one column per node) but \
         row {row} has {len} entries; use routing[i][j] = probability that a job leaving \
         node i goes to node j"
    )]
    RoutingShape {
        /// Number of nodes n.
        nodes: usize,
        /// First offending row (`nodes` itself when the row count is wrong).
        row: usize,
        /// Its length (or the number of rows when the row count is wrong).
        len: usize,
    },
    /// A routing entry is not a probability.
    #[error("routing[{from}][{to}] = {value} is not a probability; use a value in [0, 1]")]
    RoutingEntry {
        /// Row (source node).
        from: usize,
        /// Column (destination node).
        to: usize,
        /// The rejected value.
        value: f64,
    },
    /// A routing row sums to more than one.
    #[error(
        "routing row {row} sums to {sum:.6} > 1; the probabilities of leaving node {row} \
         towards other nodes must total at most 1 (the remainder exits the network)"
    )]
    RoutingRowSum {
        /// The offending row (source node).
        row: usize,
        /// Its sum.
        sum: f64,
    },
    /// Jobs reaching a node can never leave the network (closed routing loop).
    #[error(
        "jobs at Jackson node {node} can never exit the network (its routing loop has no \
         exit, so the traffic equations are singular); give some node in that loop a row \
         sum < 1"
    )]
    TrappedJobs {
        /// A node from which no exit is reachable.
        node: usize,
    },
    /// The traffic equations are numerically singular.
    #[error(
        "traffic equations (I − Pᵀ)λ = γ are numerically singular; the routing almost never \
         lets jobs exit — increase the exit probability of the looping nodes"
    )]
    Singular,
    /// A Jackson node whose total arrival rate reaches its service capacity.
    #[error(
        "Jackson node {node} is unstable: total arrival rate λ = {arrival_rate:.4} >= c·μ = \
         {service_capacity:.4}; add servers, speed up the node, or route less traffic \
         (feedback) into it"
    )]
    UnstableNode {
        /// Index of the offending node.
        node: usize,
        /// Its total arrival rate λ_i from the traffic equations.
        arrival_rate: f64,
        /// Its service capacity c_i·μ_i.
        service_capacity: f64,
    },
}

/// Checks that `value` is finite and `>= 0`.
fn non_negative(name: &'static str, value: f64) -> Result<(), TheoryError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(TheoryError::InvalidParameter { name, value, requirement: "finite and >= 0" })
    }
}

/// Checks that `value` is finite and `> 0`.
fn positive(name: &'static str, value: f64) -> Result<(), TheoryError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(TheoryError::InvalidParameter { name, value, requirement: "finite and > 0" })
    }
}
