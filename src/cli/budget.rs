//! `--max-events` and `--max-memory`: the budget `resim run` and `resim sweep` check a
//! run's estimate against before starting it (see [`resim::run::budget`]); and
//! `--stall-after`, the deadlock watchdog's wait, which both pass to the engine.
//!
//! The memory default is a quarter of this machine's memory (`MemTotal` in
//! `/proc/meminfo`; [`FALLBACK_MEMORY`] where that cannot be read): the estimate is a
//! mean, and two replications run at once on a 2-core machine beside other work. The
//! event limit also bounds each replication while it runs (the engine stops it).

use resim::engine::SimTime;
use resim::model::{Model, RunLimits};
use resim::run::budget::{Budget, Estimate};
use resim::scenario::units::parse_duration;

/// The memory budget when `/proc/meminfo` cannot be read, bytes.
pub(crate) const FALLBACK_MEMORY: u64 = 2_000_000_000;

/// The budget flags.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct BudgetArgs {
    /// Most events one replication may handle: a run expected to handle more is refused
    /// before it starts, and a replication that reaches it stops (exit 2, nothing
    /// written). Accepts 1e9 notation.
    #[arg(long, value_name = "N", default_value_t = RunLimits::DEFAULT_MAX_EVENTS, value_parser = parse_count)]
    pub(crate) max_events: u64,
    /// Most memory a run is expected to need, e.g. 8GB or 512MB (default: a quarter of
    /// this machine's memory); a run expected to need more is refused before it starts.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    pub(crate) max_memory: Option<u64>,
    /// Stop (exit 2, nothing written) when no request finishes for this long (simulated)
    /// while work is inside and nothing pending could move it: a deadlock. A duration
    /// such as 10m, or `off` (default: 60s, or 100 times the slowest mean service time).
    #[arg(long, value_name = "DURATION|off", value_parser = parse_stall_after)]
    pub(crate) stall_after: Option<SimTime>,
}

/// `--stall-after`: a positive duration, or `off` (never).
fn parse_stall_after(s: &str) -> Result<SimTime, String> {
    match s {
        "off" => Ok(SimTime::MAX),
        _ => match parse_duration(s)? {
            SimTime::ZERO => Err("expected a duration above 0 such as 10m, or `off`".to_owned()),
            t => Ok(t),
        },
    }
}

impl BudgetArgs {
    /// The budget these flags set.
    pub(crate) fn budget(&self) -> Budget {
        Budget { max_events: self.max_events, max_memory: self.max_memory.unwrap_or_else(default_memory) }
    }

    /// The run limits of `model` with this event limit and stall window.
    pub(crate) fn limits(&self, max_in_flight: usize) -> RunLimits {
        RunLimits { max_events: self.max_events, max_in_flight, stall_after: self.stall_after }
    }

    /// Refuses `model` when its estimate is over the budget; `point` names a sweep point.
    pub(crate) fn enforce(&self, model: &Model, point: Option<usize>) -> Result<Estimate, String> {
        let estimate = Estimate::of(model);
        self.budget().check(&estimate).map_err(|e| match point {
            Some(i) => format!("sweep point {i}: {e}"),
            None => e,
        })?;
        Ok(estimate)
    }
}

/// A quarter of `MemTotal`, or [`FALLBACK_MEMORY`].
fn default_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    });
    total.map_or(FALLBACK_MEMORY, |t| t / 4)
}

/// A positive whole count, as digits or in `1e9` notation.
fn parse_count(s: &str) -> Result<u64, String> {
    let n: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number of events (e.g. 1e9)"))?;
    if !(1.0..=1.8e19).contains(&n) || n.fract() != 0.0 {
        return Err(format!("`{s}`: give a whole number of events of at least 1 (e.g. 1e9)"));
    }
    Ok(n as u64)
}

/// A size in bytes: a number with `KB`, `MB`, `GB` or `TB` (powers of 1000) or
/// `KiB`..`TiB` (powers of 1024), or bare bytes.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("`{other}` is not a size unit: use KB, MB, GB or TB (e.g. 8GB)")),
    };
    let n: f64 = number.trim().parse().map_err(|_| format!("`{s}` is not a size (e.g. 8GB)"))?;
    let bytes = n * scale;
    if !(1.0..=1.8e19).contains(&bytes) {
        return Err(format!("`{s}`: give a size of at least 1 byte (e.g. 8GB)"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes_parse() {
        assert_eq!(parse_count("1e9"), Ok(1_000_000_000));
        assert_eq!(parse_count("5"), Ok(5));
        assert!(parse_count("0").is_err() && parse_count("1.5").is_err() && parse_count("x").is_err());
        assert_eq!(parse_bytes("8GB"), Ok(8_000_000_000));
        assert_eq!(parse_bytes("512 MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("8 parsecs").is_err() && parse_bytes("-1GB").is_err());
    }
}
