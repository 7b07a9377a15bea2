//! Simulated time as an integer count of nanoseconds.
//!
//! Floating-point time accumulates rounding error and makes ties depend on the order of
//! additions; an integer clock does neither. `u64` nanoseconds cover 584 years.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Up to 2^51 ns (26 days) [`SimTime::from_nanos_f64`] rounds with one addition.
const FAST_ROUND_LIMIT: f64 = (1u64 << 51) as f64;

/// A point in simulated time, or a span of it, in nanoseconds since the run started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero: the start of a run (and of its warm-up).
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);
    /// Nanoseconds in one second.
    pub const NANOS_PER_SEC: u64 = 1_000_000_000;

    /// A span of `secs` seconds, rounded to the nearest nanosecond and saturating.
    #[inline(always)]
    pub fn from_secs_f64(secs: f64) -> SimTime {
        Self::from_nanos_f64(secs * 1e9)
    }

    /// A span of `ns` nanoseconds, rounded to the nearest and saturating (as
    /// [`SimTime::from_secs_f64`], for callers that scale to nanoseconds themselves).
    #[inline(always)]
    pub fn from_nanos_f64(ns: f64) -> SimTime {
        // Round half away from zero, as `f64::round`, but without its libm call (the
        // baseline x86-64 target has no rounding instruction; this was 6% of a run):
        // `as` truncates, saturates out-of-range floats and maps NaN and negatives to 0,
        // and for non-negative `ns` the fraction `ns - trunc(ns)` is exact.
        if (0.5..FAST_ROUND_LIMIT).contains(&ns) {
            // One add and one conversion: in [0.5, 2^51) the sum `ns + 0.5` is either exact
            // or rounded by half a unit of its last place, which is never enough to reach
            // the next integer (the fraction it would have to cross, `1 - ulp(ns)`, is over
            // a half there), so truncating it rounds `ns` half up.
            return SimTime((ns + 0.5) as i64 as u64);
        }
        if (0.0..9.2e18).contains(&ns) {
            // Below 2^63 the signed conversions are one instruction each way; the
            // unsigned ones, a branch and several.
            let whole = ns as i64;
            return SimTime((whole + i64::from(ns - whole as f64 >= 0.5)) as u64);
        }
        let whole = ns as u64;
        SimTime(whole.saturating_add(u64::from(ns - whole as f64 >= 0.5)))
    }

    /// A span of whole seconds.
    pub const fn from_secs(secs: u64) -> SimTime {
        SimTime(secs * Self::NANOS_PER_SEC)
    }

    /// A span of whole milliseconds.
    pub const fn from_millis(ms: u64) -> SimTime {
        SimTime(ms * 1_000_000)
    }

    /// This time in seconds.
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self - earlier` where `earlier` is known not to be later (a clock read at a
    /// request's arrival, against now): one subtraction, where `-` saturates. Checked in
    /// debug builds.
    #[inline(always)]
    pub fn since(self, earlier: SimTime) -> SimTime {
        debug_assert!(earlier <= self, "{earlier:?} after {self:?}");
        SimTime(self.0.wrapping_sub(earlier.0))
    }

    /// `self - earlier`, or zero when `earlier` is later.
    #[inline]
    pub fn saturating_sub(self, earlier: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(earlier.0))
    }
}

impl Add for SimTime {
    type Output = SimTime;
    #[inline]
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimTime {
    #[inline]
    fn add_assign(&mut self, rhs: SimTime) {
        *self = *self + rhs;
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    #[inline]
    fn sub(self, rhs: SimTime) -> SimTime {
        self.saturating_sub(rhs)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_to_nanoseconds() {
        assert_eq!(SimTime::from_secs_f64(1.5), SimTime(1_500_000_000));
        assert_eq!(SimTime::from_secs_f64(1e-10), SimTime(0));
        assert_eq!(SimTime::from_secs_f64(-3.0), SimTime(0));
        assert_eq!(SimTime::from_secs_f64(f64::NAN), SimTime(0));
        assert_eq!(SimTime::from_secs_f64(1e300), SimTime::MAX);
        assert_eq!(SimTime::from_millis(250).as_secs_f64(), 0.25);
    }

    #[test]
    fn rounding_matches_f64_round() {
        // Halves, near-halves and random magnitudes: the same nanosecond as `round`.
        let mut x: u64 = 12345;
        let mut values = vec![0.5e-9, 1.5e-9, 2.5e-9, 0.49999999999e-9, 4_503_599.627_370_495, 1.8e10];
        for _ in 0..100_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let mantissa = (x >> 11) as f64 / (1u64 << 53) as f64;
            values.push(mantissa * 10f64.powi((x % 23) as i32 - 12));
        }
        for v in values {
            assert_eq!(SimTime::from_secs_f64(v).0, (v * 1e9).round() as u64, "{v}");
        }
    }

    #[test]
    fn nanosecond_rounding_matches_f64_round_at_the_edges() {
        // Either side of the fast path's bounds, and halves and near-halves of every power
        // of two up to 2^62, each tried with its 4 neighbours on both sides.
        let mut values = vec![0.0, -0.0, 0.25, 0.5, 1.0, 2.0, FAST_ROUND_LIMIT, 9.2e18];
        for k in 0..63 {
            let p = (1u64 << k) as f64;
            values.extend([p, p + 0.5, p - 0.5, p + 0.25, p * 1.5, p * 1.5 + 0.5]);
        }
        let mut all = Vec::new();
        for v in values {
            let (mut below, mut above) = (v, v);
            all.push(v);
            for _ in 0..4 {
                below = below.next_down();
                above = above.next_up();
                all.extend([below, above]);
            }
        }
        for v in all.into_iter().filter(|v| *v >= 0.0) {
            assert_eq!(SimTime::from_nanos_f64(v).0, v.round() as u64, "{v:e}");
        }
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimTime(1), SimTime::MAX);
        assert_eq!(SimTime(1) - SimTime(5), SimTime::ZERO);
    }
}
