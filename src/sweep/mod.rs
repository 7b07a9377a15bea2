//! Parameter sweeps: plan the points, execute them, write and judge the results.
//!
//! A sweep ([`plan`]) turns a scenario and its swept parameters ([`grid`], or random /
//! Latin-hypercube [`sampling`]) into points, checked before anything runs. [`exec`]
//! loads every point's model and runs them all through [`crate::run`] as one flat
//! parallel loop, writing one report per point as it finishes; [`output`] then writes
//! `sweep.csv` and `sweep.json`, judged by the [`objective`] and constraints, and
//! [`charts`] draws them. Every point uses the scenario's seed: the named random
//! streams then give common random numbers, so two points differ by their parameters,
//! not by their luck. Points can be split across machines and joined ([`shard`]).

pub mod charts;
pub mod exec;
pub mod grid;
pub mod objective;
pub mod output;
pub mod plan;
pub mod sampling;
pub mod shard;
