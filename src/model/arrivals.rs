//! Open arrivals: a Poisson process whose rate may change over time.
//!
//! The rate is piecewise linear in time (steps and ramps). Arrivals are drawn by
//! thinning (Lewis & Shedler) one segment at a time: propose with the segment's peak
//! rate, accept with probability rate(t)/peak. Because the exponential is memoryless, a
//! proposal that overshoots a segment's end can restart at that end, so every segment
//! uses its own tight bound and the process is exact.

use rand_distr::{Distribution, Exp1};

use crate::engine::unit;
use crate::engine::{SimTime, Stream};

/// One linear piece of a rate profile, from `start` until the next segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// When this piece begins (absolute simulated time).
    pub start: SimTime,
    /// Rate at `start`, per second.
    pub from: f64,
    /// Rate at the end of the piece, per second (equal to `from` for a step).
    pub to: f64,
}

/// A rate multiplier on a window (load faults: spikes and ramps), linear from `from`
/// at `start` to `to` at `end`, 1 outside.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Factor {
    /// Window start.
    pub start: SimTime,
    /// Window end.
    pub end: SimTime,
    /// Multiplier at the start.
    pub from: f64,
    /// Multiplier at the end.
    pub to: f64,
}

impl Factor {
    fn at(&self, t: SimTime) -> f64 {
        if t < self.start || t >= self.end {
            return 1.0;
        }
        let frac = (t - self.start).0 as f64 / (self.end - self.start).0.max(1) as f64;
        self.from + (self.to - self.from) * frac
    }
}

/// A time-varying Poisson rate: linear pieces, the last one extending forever, times
/// any load-fault multipliers.
#[derive(Clone, Debug, PartialEq)]
pub struct RateProfile {
    segments: Vec<Segment>,
    factors: Vec<Factor>,
    /// Largest product of simultaneous multipliers (an upper bound for thinning).
    max_factor: f64,
    /// The mean gap in ns of a constant positive rate (the common case, drawn without a
    /// search, thinning or division); `None` for any other profile.
    constant_gap_ns: Option<f64>,
}

impl RateProfile {
    /// A constant rate.
    pub fn constant(rate: f64) -> Self {
        Self::from_segments(vec![Segment { start: SimTime::ZERO, from: rate, to: rate }])
    }

    /// A profile from pieces sorted by start, the first starting at zero.
    pub fn from_segments(segments: Vec<Segment>) -> Self {
        debug_assert!(segments.first().is_some_and(|s| s.start == SimTime::ZERO));
        let mut p = Self { segments, factors: Vec::new(), max_factor: 1.0, constant_gap_ns: None };
        p.refresh();
        p
    }

    /// Recomputes what is derived from the pieces and multipliers.
    fn refresh(&mut self) {
        // Bound the product of overlapping multipliers by the product of their peaks.
        self.max_factor = self.factors.iter().map(|f| f.from.max(f.to).max(1.0)).product();
        self.constant_gap_ns = self.as_constant().filter(|&r| r > 0.0).map(|r| 1e9 / r);
    }

    /// Multiplies the rate on a window (a spike or a ramp).
    pub fn add_factor(&mut self, factor: Factor) {
        self.factors.push(factor);
        self.refresh();
    }

    /// Takes back one multiplier equal to `factor` (a load fault left out of a run).
    pub fn remove_factor(&mut self, factor: &Factor) {
        if let Some(i) = self.factors.iter().position(|f| f == factor) {
            self.factors.remove(i);
            self.refresh();
        }
    }

    fn factor_at(&self, t: SimTime) -> f64 {
        self.factors.iter().map(|f| f.at(t)).product()
    }

    /// The constant rate, when the profile is one.
    pub fn as_constant(&self) -> Option<f64> {
        match self.segments.as_slice() {
            [s] if s.from == s.to && self.factors.is_empty() => Some(s.from),
            _ => None,
        }
    }

    /// The highest rate anywhere in the profile.
    pub fn peak(&self) -> f64 {
        self.segments.iter().map(|s| s.from.max(s.to)).fold(0.0, f64::max) * self.max_factor
    }

    /// Mean rate over `[a, b)`.
    pub fn mean_rate(&self, a: SimTime, b: SimTime) -> f64 {
        if b <= a {
            return self.rate_at(a);
        }
        let n = 1000;
        let span = (b - a).0 as f64;
        (0..n).map(|i| self.rate_at(a + SimTime((span * (i as f64 + 0.5) / n as f64) as u64))).sum::<f64>() / n as f64
    }

    fn end_of(&self, i: usize) -> SimTime {
        self.segments.get(i + 1).map_or(SimTime::MAX, |s| s.start)
    }

    fn rate_in(&self, i: usize, t: SimTime) -> f64 {
        let s = self.segments[i];
        let end = self.end_of(i);
        if s.from == s.to || end == SimTime::MAX {
            return s.from;
        }
        let frac = (t - s.start).0 as f64 / (end - s.start).0 as f64;
        s.from + (s.to - s.from) * frac
    }

    /// The rate at time `t`.
    pub fn rate_at(&self, t: SimTime) -> f64 {
        let i = self.segments.partition_point(|s| s.start <= t).saturating_sub(1);
        self.rate_in(i, t) * self.factor_at(t)
    }

    /// The next arrival strictly after `now`, or `None` if the rate stays zero.
    #[inline(always)]
    pub fn next_arrival(&self, now: SimTime, rng: &mut Stream) -> Option<SimTime> {
        // The common case, a constant rate: one draw and one multiply, inline at the call site.
        if let Some(mean_ns) = self.constant_gap_ns {
            let gap: f64 = Exp1.sample(rng);
            return Some(now + SimTime::from_nanos_f64(gap * mean_ns).max(SimTime(1)));
        }
        self.next_arrival_thinned(now, rng)
    }

    /// [`RateProfile::next_arrival`] of a varying rate, by thinning.
    #[inline(never)]
    fn next_arrival_thinned(&self, now: SimTime, rng: &mut Stream) -> Option<SimTime> {
        let mut t = now;
        let mut i = self.segments.partition_point(|s| s.start <= t).saturating_sub(1);
        loop {
            let s = self.segments[i];
            let end = self.end_of(i);
            let peak = s.from.max(s.to) * self.max_factor;
            if peak <= 0.0 {
                if end == SimTime::MAX {
                    return None;
                }
                t = end;
                i += 1;
                continue;
            }
            let gap: f64 = Exp1.sample(rng);
            // At least one nanosecond apart, so the clock always advances.
            let cand = t + SimTime::from_secs_f64(gap / peak).max(SimTime(1));
            if cand >= end {
                t = end;
                i += 1;
                continue;
            }
            let exact = s.from == s.to && self.factors.is_empty();
            if exact || unit(rng) * peak < self.rate_in(i, cand) * self.factor_at(cand) {
                return Some(cand);
            }
            t = cand;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn count(p: &RateProfile, from: SimTime, to: SimTime) -> usize {
        let mut rng = RngStreams::new(3, 0).stream("arrivals");
        let mut t = SimTime::ZERO;
        let mut n = 0;
        while let Some(next) = p.next_arrival(t, &mut rng) {
            if next >= to {
                break;
            }
            if next >= from {
                n += 1;
            }
            t = next;
        }
        n
    }

    #[test]
    fn constant_rate_counts() {
        let p = RateProfile::constant(100.0);
        let n = count(&p, SimTime::ZERO, SimTime::from_secs(1000));
        // Poisson(100 000): sd 316; 4 sd band.
        assert!((n as f64 - 100_000.0).abs() < 1300.0, "{n}");
    }

    #[test]
    fn steps_and_ramps_follow_the_profile() {
        let p = RateProfile::from_segments(vec![
            Segment { start: SimTime::ZERO, from: 10.0, to: 10.0 },
            Segment { start: SimTime::from_secs(1000), from: 10.0, to: 110.0 },
            Segment { start: SimTime::from_secs(2000), from: 0.0, to: 0.0 },
        ]);
        assert_eq!(p.rate_at(SimTime::from_secs(1500)), 60.0);
        let a = count(&p, SimTime::ZERO, SimTime::from_secs(1000));
        assert!((a as f64 - 10_000.0).abs() < 400.0, "{a}");
        let b = count(&p, SimTime::from_secs(1000), SimTime::from_secs(2000));
        assert!((b as f64 - 60_000.0).abs() < 1000.0, "{b}");
        let c = count(&p, SimTime::from_secs(2000), SimTime::from_secs(3000));
        assert_eq!(c, 0);
    }
}
