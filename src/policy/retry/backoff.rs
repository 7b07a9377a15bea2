//! Backoff ladders and jitter: how long a caller waits before retry `k`.
//!
//! A [`Backoff`] is the un-jittered ladder (`delay(k)`, a pure function of the retry
//! number); a [`Jitter`] turns one rung into a random sleep, drawn from the caller's
//! stream. Decorrelated jitter depends on the previous sleep rather than on `k`, so the
//! per-request [`BackoffState`] carries that one value; everything else is stateless.
//!
//! Retry numbers count from 1: retry 1 is the second attempt.

use crate::engine::unit;
use crate::engine::{SimTime, Stream};

/// The un-jittered delay before each retry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backoff {
    /// Retry at once.
    None,
    /// The same delay before every retry.
    Fixed {
        /// The delay.
        delay: SimTime,
    },
    /// `base + step·(k−1)` before retry `k` (the seeds' dashboard client: 0.1 s, 0.2 s).
    Linear {
        /// Delay before the first retry.
        base: SimTime,
        /// Added before each further retry.
        step: SimTime,
    },
    /// `min(cap, base·multiplier^(k−1))` before retry `k`.
    Exponential {
        /// Delay before the first retry.
        base: SimTime,
        /// Growth per retry (finite, ≥ 0; 1 gives a fixed ladder).
        multiplier: f64,
        /// Largest delay; [`SimTime::MAX`] for none.
        cap: SimTime,
    },
}

impl Backoff {
    /// The un-jittered delay before retry `retry` (1 = the first retry; 0 is read as 1).
    ///
    /// Saturates instead of overflowing: an exponential ladder reaches its cap (or
    /// [`SimTime::MAX`]) for any large `retry`, a linear one saturates at `MAX`.
    pub fn delay(&self, retry: u32) -> SimTime {
        let steps = retry.max(1) - 1;
        match *self {
            Backoff::None => SimTime::ZERO,
            Backoff::Fixed { delay } => delay,
            Backoff::Linear { base, step } => base + SimTime(step.0.saturating_mul(u64::from(steps))),
            Backoff::Exponential { base, multiplier, cap } => exponential(base, multiplier, cap, steps),
        }
    }

    /// The first rung, `delay(1)`: the floor of decorrelated jitter.
    pub fn base(&self) -> SimTime {
        self.delay(1)
    }

    /// The highest rung the ladder can reach: the cap of an exponential ladder, the
    /// delay of a fixed one, [`SimTime::MAX`] for an (unbounded) linear one.
    pub fn cap(&self) -> SimTime {
        match *self {
            Backoff::None => SimTime::ZERO,
            Backoff::Fixed { delay } => delay,
            Backoff::Linear { .. } => SimTime::MAX,
            Backoff::Exponential { cap, .. } => cap,
        }
    }
}

/// `min(cap, base·m^n)` in floating point, which cannot overflow: a huge power becomes
/// infinity and the cap wins. Powers of two times whole nanoseconds are exact.
fn exponential(base: SimTime, multiplier: f64, cap: SimTime, n: u32) -> SimTime {
    if base == SimTime::ZERO || n == 0 {
        return base.min(cap);
    }
    let d = base.0 as f64 * multiplier.powf(f64::from(n));
    if d.is_nan() || d < 0.0 {
        // A negative or NaN multiplier is a configuration error caught at validation;
        // fall back to the first rung rather than to zero.
        return base.min(cap);
    }
    if d >= cap.0 as f64 { cap } else { SimTime(d.round() as u64) }
}

/// How a rung `d` of the ladder becomes an actual sleep.
///
/// The first four are the variants of Marc Brooker, "Exponential Backoff And Jitter"
/// (AWS Architecture Blog, 2015); `Proportional` is the seeds' ±20% (S1:83-105).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Jitter {
    /// Sleep exactly `d`: every client that failed together retries together.
    None,
    /// Sleep `U(0, d)`. Brooker's recommendation; mean `d/2`.
    Full,
    /// Sleep `d/2 + U(0, d/2)`: never less than half the rung; mean `3d/4`.
    Equal,
    /// Sleep `min(cap, U(base, 3·prev))`, `prev` starting at `base`, where `base` and
    /// `cap` are the ladder's [`Backoff::base`] and [`Backoff::cap`]. Ignores the retry
    /// number: the sleep grows from the previous sleep, not from `k`.
    Decorrelated,
    /// Sleep `d·U(1−f, 1+f)` (the seeds' `f = 0.2`); `f` is clamped to `[0, 1]`.
    Proportional {
        /// Half-width of the multiplicative band.
        fraction: f64,
    },
    /// tower 0.5.3's `ExponentialBackoff` (`src/retry/backoff.rs` lines 150-183): sleep
    /// `d + min(cap − d, j)` with `j = U(0, ratio)·d`, its whole seconds and its
    /// nanoseconds scaled and truncated apart as tower does (so `j` of a 1.5 s rung at
    /// ratio 0.5 is at most 0.25 s). With a ×2 exponential ladder from tower's `min`
    /// capped at its `max`, this is `ExponentialBackoffMaker::new(min, max, ratio)`.
    Additive {
        /// tower's `jitter`, in `[0, 100]` (its default 0.99).
        ratio: f64,
    },
}

impl Jitter {
    /// `E[sleep] / d` for a rung `d`, or `None` for decorrelated jitter, whose mean
    /// depends on the path of earlier sleeps. Used for closed-form expectations.
    pub fn mean_factor(&self) -> Option<f64> {
        match self {
            Jitter::None | Jitter::Proportional { .. } => Some(1.0),
            Jitter::Full => Some(0.5),
            Jitter::Equal => Some(0.75),
            // The cap and tower's truncation make the mean path dependent.
            Jitter::Decorrelated | Jitter::Additive { .. } => None,
        }
    }
}

/// Per-request backoff memory: the previous sleep, which decorrelated jitter grows from.
///
/// Start one per logical request (`Default`); it is two words and never allocates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackoffState {
    prev: SimTime,
}

impl BackoffState {
    /// A fresh state: no sleep yet (decorrelated jitter then starts from the base).
    pub fn new() -> Self {
        Self::default()
    }

    /// The last sleep [`next_delay`] returned, or zero before the first.
    pub fn prev(&self) -> SimTime {
        self.prev
    }
}

/// The sleep before retry `retry` (1 = the first retry): the ladder's rung, jittered
/// with draws from `rng`. Records the sleep in `state`.
///
/// Draws one uniform unless `jitter` is [`Jitter::None`].
pub fn next_delay(
    backoff: &Backoff,
    jitter: &Jitter,
    retry: u32,
    state: &mut BackoffState,
    rng: &mut Stream,
) -> SimTime {
    let sleep = match *jitter {
        Jitter::None => backoff.delay(retry),
        Jitter::Full => scale(backoff.delay(retry), unit(rng)),
        Jitter::Equal => {
            let d = backoff.delay(retry);
            let half = SimTime(d.0 / 2);
            half + scale(d - half, unit(rng))
        }
        Jitter::Proportional { fraction } => {
            let f = if fraction.is_nan() { 0.0 } else { fraction.clamp(0.0, 1.0) };
            scale(backoff.delay(retry), 1.0 - f + 2.0 * f * unit(rng))
        }
        Jitter::Additive { ratio } => additive(backoff.delay(retry), backoff.cap(), ratio, rng),
        Jitter::Decorrelated => {
            let (base, cap) = (backoff.base(), backoff.cap());
            let prev = if state.prev == SimTime::ZERO { base } else { state.prev };
            let hi = SimTime(prev.0.saturating_mul(3)).max(base);
            (base + scale(hi - base, unit(rng))).min(cap)
        }
    };
    state.prev = sleep;
    sleep
}

/// tower's `base + self.jitter(base)`: no draw at ratio 0; otherwise whole seconds and
/// nanoseconds each scaled by `U(0, 1)·ratio` and truncated (nanoseconds to a `u32`),
/// the sum capped at `cap − d`.
fn additive(d: SimTime, cap: SimTime, ratio: f64, rng: &mut Stream) -> SimTime {
    if ratio == 0.0 {
        return d;
    }
    let r = unit(rng) * ratio;
    let (secs, nanos) = (d.0 / SimTime::NANOS_PER_SEC, d.0 % SimTime::NANOS_PER_SEC);
    let whole = ((secs as f64 * r) as u64).saturating_mul(SimTime::NANOS_PER_SEC);
    let j = SimTime(whole.saturating_add(u64::from((nanos as f64 * r) as u32)));
    d + j.min(cap.saturating_sub(d))
}

/// `d·x` rounded to the nanosecond (x ≥ 0; saturating).
#[inline]
fn scale(d: SimTime, x: f64) -> SimTime {
    SimTime((d.0 as f64 * x).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    /// Draws per statistical check.
    const DRAWS: usize = 100_000;
    /// Allowed relative error of a sample mean over `DRAWS` uniform draws. The standard
    /// error of a U(0, 1) mean over 100k draws is 0.29/√100k ≈ 0.0009 (relative to the
    /// mean 0.5: 0.18%), so 1% is over five standard errors.
    const MEAN_TOL: f64 = 0.01;

    fn stream() -> Stream {
        RngStreams::new(42, 0).stream("test")
    }

    fn secs(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    fn ladder(b: &Backoff, n: u32) -> Vec<f64> {
        (1..=n).map(|k| b.delay(k).as_secs_f64()).collect()
    }

    #[test]
    fn s1_ladder_is_1_2_4_and_proportional_jitter_stays_in_band() {
        // Vector 41: 1 s × 2, ±20%, before attempts 2, 3, 4.
        let b = Backoff::Exponential { base: secs(1.0), multiplier: 2.0, cap: SimTime::MAX };
        assert_eq!(ladder(&b, 3), [1.0, 2.0, 4.0]);
        let j = Jitter::Proportional { fraction: 0.2 };
        let mut rng = stream();
        let bands = [(0.8, 1.2), (1.6, 2.4), (3.2, 4.8)];
        for (k, (lo, hi)) in (1..=3).zip(bands) {
            let (mut min, mut max, mut sum) = (f64::MAX, 0.0_f64, 0.0);
            for _ in 0..DRAWS {
                let s = next_delay(&b, &j, k, &mut BackoffState::new(), &mut rng).as_secs_f64();
                assert!((lo..=hi).contains(&s), "retry {k}: {s} outside [{lo}, {hi}]");
                (min, max, sum) = (min.min(s), max.max(s), sum + s);
            }
            // The band is used, not just respected: both edges are approached.
            assert!(min < lo + 0.01 * (hi - lo) && max > hi - 0.01 * (hi - lo));
            let mean = sum / DRAWS as f64;
            assert!((mean / b.delay(k).as_secs_f64() - 1.0).abs() < MEAN_TOL);
        }
    }

    #[test]
    fn s2_ladder_caps_at_10s() {
        // Vector 42: 0.1 s × 2^i, cap 10 s.
        let b = Backoff::Exponential { base: secs(0.1), multiplier: 2.0, cap: secs(10.0) };
        assert_eq!(ladder(&b, 9), [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0]);
    }

    #[test]
    fn s4_ladder_caps_at_30s() {
        // Vector 43: 1 s × 2^i, cap 30 s.
        let b = Backoff::Exponential { base: secs(1.0), multiplier: 2.0, cap: secs(30.0) };
        assert_eq!(ladder(&b, 7), [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
    }

    #[test]
    fn huge_retry_numbers_saturate_without_overflow() {
        let capped = Backoff::Exponential { base: secs(0.1), multiplier: 2.0, cap: secs(10.0) };
        let uncapped = Backoff::Exponential { base: secs(0.1), multiplier: 2.0, cap: SimTime::MAX };
        let linear = Backoff::Linear { base: secs(1.0), step: secs(1.0) };
        for k in [64, 65, 1_000, 1 << 20, u32::MAX] {
            assert_eq!(capped.delay(k), secs(10.0));
            assert_eq!(uncapped.delay(k), SimTime::MAX);
        }
        assert_eq!(linear.delay(u32::MAX), SimTime(4_294_967_295 * 1_000_000_000));
        let huge_step = Backoff::Linear { base: secs(1.0), step: SimTime(u64::MAX / 2) };
        assert_eq!(huge_step.delay(u32::MAX), SimTime::MAX);
        // Zero base never turns into 0·∞ = NaN.
        let zero = Backoff::Exponential { base: SimTime::ZERO, multiplier: 2.0, cap: secs(1.0) };
        assert_eq!(zero.delay(u32::MAX), SimTime::ZERO);
        // Retry 0 reads as the first retry.
        assert_eq!(capped.delay(0), capped.delay(1));
    }

    #[test]
    fn fixed_linear_and_none_ladders() {
        let fixed = Backoff::Fixed { delay: secs(0.1) };
        assert_eq!(ladder(&fixed, 3), [0.1, 0.1, 0.1]);
        // S2:1327-1342: 0.1 s × (attempt + 1) → 0.1 s, then 0.2 s.
        let linear = Backoff::Linear { base: secs(0.1), step: secs(0.1) };
        assert_eq!(ladder(&linear, 4), [0.1, 0.2, 0.3, 0.4]);
        let offset = Backoff::Linear { base: secs(1.0), step: secs(0.5) };
        assert_eq!(ladder(&offset, 3), [1.0, 1.5, 2.0]);
        assert_eq!(Backoff::None.delay(5), SimTime::ZERO);
        assert_eq!(
            next_delay(&Backoff::None, &Jitter::Full, 3, &mut BackoffState::new(), &mut stream()),
            SimTime::ZERO
        );
    }

    #[test]
    fn full_jitter_is_uniform_below_the_rung_with_mean_half() {
        let b = Backoff::Fixed { delay: secs(1.0) };
        let mut rng = stream();
        let mut sum = 0.0;
        let mut below_quarter = 0usize;
        for _ in 0..DRAWS {
            let s = next_delay(&b, &Jitter::Full, 1, &mut BackoffState::new(), &mut rng);
            assert!(s <= secs(1.0));
            sum += s.as_secs_f64();
            below_quarter += usize::from(s < secs(0.25));
        }
        let mean = sum / DRAWS as f64;
        assert!((mean - 0.5).abs() < 0.5 * MEAN_TOL, "mean {mean}");
        // Uniform, not merely centred: a quarter of the mass below d/4 (±1%).
        assert!((below_quarter as f64 / DRAWS as f64 - 0.25).abs() < 0.01);
    }

    #[test]
    fn equal_jitter_stays_in_upper_half() {
        let b = Backoff::Exponential { base: secs(0.1), multiplier: 2.0, cap: secs(10.0) };
        let mut rng = stream();
        for k in 1..=9 {
            let d = b.delay(k);
            let mut sum = 0.0;
            for _ in 0..DRAWS / 10 {
                let s = next_delay(&b, &Jitter::Equal, k, &mut BackoffState::new(), &mut rng);
                assert!(s >= SimTime(d.0 / 2) && s <= d, "retry {k}: {s} not in [d/2, d]");
                sum += s.as_secs_f64();
            }
            let mean = sum / (DRAWS / 10) as f64;
            assert!((mean / (0.75 * d.as_secs_f64()) - 1.0).abs() < 2.0 * MEAN_TOL);
        }
    }

    #[test]
    fn decorrelated_follows_its_recurrence_within_base_and_cap() {
        let (base, cap) = (secs(0.1), secs(10.0));
        let b = Backoff::Exponential { base, multiplier: 2.0, cap };
        let mut rng = stream();
        for _ in 0..1_000 {
            let mut state = BackoffState::new();
            for k in 1..=20 {
                // Replay the draw on a copy of the stream to predict the sleep.
                let u = unit(&mut rng.clone());
                let prev = if state.prev() == SimTime::ZERO { base } else { state.prev() };
                let expect =
                    (base.as_secs_f64() + u * (3.0 * prev.as_secs_f64() - base.as_secs_f64())).min(cap.as_secs_f64());
                let s = next_delay(&b, &Jitter::Decorrelated, k, &mut state, &mut rng);
                assert!(s >= base && s <= cap);
                assert!((s.as_secs_f64() - expect).abs() < 1e-8, "{s} vs {expect}");
                assert_eq!(state.prev(), s);
            }
        }
        // With base = cap the sleep is pinned.
        let pinned = Backoff::Fixed { delay: secs(0.5) };
        let s = next_delay(&pinned, &Jitter::Decorrelated, 4, &mut BackoffState::new(), &mut rng);
        assert_eq!(s, secs(0.5));
    }

    #[test]
    fn no_jitter_draws_nothing_and_returns_the_rung() {
        let b = Backoff::Exponential { base: secs(0.1), multiplier: 2.0, cap: secs(10.0) };
        let mut rng = stream();
        let before = rng.clone();
        assert_eq!(next_delay(&b, &Jitter::None, 3, &mut BackoffState::new(), &mut rng), secs(0.4));
        assert_eq!(rng, before);
    }

    #[test]
    fn same_seed_same_sleeps() {
        let b = Backoff::Exponential { base: secs(0.025), multiplier: 2.0, cap: secs(0.25) };
        let run = || {
            let mut rng = stream();
            let mut st = BackoffState::new();
            (1..=6).map(|k| next_delay(&b, &Jitter::Full, k, &mut st, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
