//! tower's rate limit (tower 0.5.3, `src/limit/rate/service.rs`) as the testbed deploys
//! it, under `load_shed`: a call finds the limiter ready and is admitted, or finds it
//! limited and is refused at once (tower's `Overloaded`).
//!
//! `RateLimit` keeps `Ready { until, rem }` or `Limited`. It starts ready with
//! `until` = its creation time and `rem` = `num`. A call at `now` first starts a new
//! window if the old one is over (`now >= until`: `until = now + per`, `rem = num`), then
//! takes one permit; taking the last one (`rem` was 1) makes it `Limited` until `until`
//! (a tokio sleep). While limited, `poll_ready` is pending until that sleep fires; the
//! first readiness check after it opens a new window from that moment (`Ready { until:
//! now + per, rem: num }`). So windows begin at calls, not on a fixed grid: they drift
//! with the traffic, unlike resilience4j's cycles, which are aligned on the limiter's
//! creation. Alone, tower's `RateLimit` makes a caller wait for readiness; here every
//! call checks readiness once, when it arrives (`load_shed`), so a call is never delayed.
//!
//! Clock-free: `now` comes from the engine and must not go backwards.

use crate::engine::SimTime;

/// tower's `Rate::new(num, per)`: `num` calls per window of `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TowerRateConfig {
    /// Calls admitted per window (tower asserts `num > 0`).
    pub num: u64,
    /// Length of a window (tower asserts `per > 0`).
    pub per: SimTime,
}

impl TowerRateConfig {
    /// The long-run share of calls refused when they arrive as a Poisson process of
    /// `rate` per second. Each window starts at an admitted call, lasts `per`, and the next
    /// starts at the first call after it (memoryless: `per` plus an exponential gap of mean
    /// 1/`rate`). With P ~ Poisson(`rate`·`per`) calls inside a window, it sees 1 + P
    /// calls and admits min(`num`, 1 + P), so by the renewal-reward theorem
    /// refused = 1 − E[min(num, 1 + P)] / (1 + rate·per).
    pub fn poisson_refused_share(&self, rate: f64) -> f64 {
        let m = rate * self.per.as_secs_f64();
        if m.is_nan() || m <= 0.0 {
            return 0.0;
        }
        // E[min(num, 1 + P)] = Σ_{i<num} P(P ≥ i); the pmf in logs, so a large m cannot
        // underflow e^-m.
        let (mut admitted, mut below, mut ln_pmf) = (0.0, 0.0, -m);
        for i in 0..self.num {
            // Past the mean with a negligible pmf, the rest of the tail is too.
            if i as f64 > m && ln_pmf < -60.0 {
                break;
            }
            admitted += 1.0 - below;
            below += ln_pmf.exp();
            ln_pmf += m.ln() - ((i + 1) as f64).ln();
        }
        1.0 - admitted / (1.0 + m)
    }
}

/// tower's `RateLimit` state (`service.rs`, `enum State`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Permits left in the window that ends at `until`.
    Ready { until: SimTime, rem: u64 },
    /// The last permit was taken; its sleep fires at `until`.
    Limited { until: SimTime },
}

/// tower's `RateLimit` under `load_shed`; see the module docs.
#[derive(Clone, Debug)]
pub struct TowerRate {
    config: TowerRateConfig,
    state: State,
}

impl TowerRate {
    /// A limiter created at `start` (`RateLimit::new`: ready, `until` = now, `rem` = num).
    pub fn new(config: TowerRateConfig, start: SimTime) -> Self {
        Self { config, state: State::Ready { until: start, rem: config.num } }
    }

    /// The configuration.
    pub fn config(&self) -> &TowerRateConfig {
        &self.config
    }

    /// `load_shed`'s `poll_ready` then `call` at `now`: true when the call is admitted,
    /// false when tower would answer `Overloaded`.
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        let admitted = self.ready(now);
        if admitted {
            self.call(now);
        }
        admitted
    }

    /// `RateLimit::poll_ready` at `now`: limited until its sleep fires at `until`, then a
    /// new window from `now` (`service.rs`, `poll_ready`).
    pub fn ready(&mut self, now: SimTime) -> bool {
        match self.state {
            State::Ready { .. } => true,
            State::Limited { until } if now < until => false,
            State::Limited { .. } => {
                self.state = State::Ready { until: now + self.config.per, rem: self.config.num };
                true
            }
        }
    }

    /// `RateLimit::call` at `now`, after [`TowerRate::ready`] said yes: a new window if
    /// the current one is over, then one permit; the last one makes it limited until the
    /// window's end. tower panics on a call while limited; here that call is refused.
    fn call(&mut self, now: SimTime) {
        let State::Ready { mut until, mut rem } = self.state else { return };
        if now >= until {
            until = now + self.config.per;
            rem = self.config.num;
        }
        self.state = if rem > 1 { State::Ready { until, rem: rem - 1 } } else { State::Limited { until } };
    }

    /// When the current window ends (limited: when the limiter is ready again).
    pub fn until(&self) -> SimTime {
        match self.state {
            State::Ready { until, .. } | State::Limited { until } => until,
        }
    }

    /// Permits left in the current window, as of the last call (0 while limited).
    pub fn remaining(&self) -> u64 {
        match self.state {
            State::Ready { rem, .. } => rem,
            State::Limited { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    fn limiter(num: u64, per_ms: u64) -> TowerRate {
        TowerRate::new(TowerRateConfig { num, per: ms(per_ms) }, SimTime::ZERO)
    }

    #[test]
    fn num_calls_per_window_then_refused_until_its_end() {
        let mut l = limiter(3, 100);
        let got: Vec<bool> = [0, 10, 20, 30, 99].iter().map(|&t| l.try_acquire(ms(t))).collect();
        assert_eq!(got, [true, true, true, false, false]);
        assert_eq!((l.until(), l.remaining()), (ms(100), 0));
        // The sleep fires at 100 ms: ready again, with a window from 100 ms.
        assert!(l.try_acquire(ms(100)));
        assert_eq!((l.until(), l.remaining()), (ms(200), 2));
    }

    #[test]
    fn windows_drift_with_the_traffic() {
        // The window after a limited spell starts at the first call after it, not at
        // the end of the previous one: 250 ms here, so 340 ms is still in it.
        let mut l = limiter(2, 100);
        assert!(l.try_acquire(ms(0)) && l.try_acquire(ms(50)));
        assert!(!l.try_acquire(ms(60)));
        assert!(l.try_acquire(ms(250)));
        assert_eq!(l.until(), ms(350));
        assert!(l.try_acquire(ms(340)));
        assert!(!l.try_acquire(ms(349)));
        // A window that ends unused starts over at the next call (`call`'s own reset).
        let mut m = limiter(2, 100);
        assert!(m.try_acquire(ms(30)));
        assert_eq!(m.until(), ms(130));
        assert!(m.try_acquire(ms(500)));
        assert_eq!((m.until(), m.remaining()), (ms(600), 1));
    }

    #[test]
    fn one_per_window_limits_after_every_call() {
        let mut l = limiter(1, 100);
        assert!(l.try_acquire(ms(5)));
        assert_eq!(l.until(), ms(105));
        assert!(!l.try_acquire(ms(104)));
        assert!(l.try_acquire(ms(105)));
        assert!(!l.try_acquire(ms(105)));
        assert_eq!(l.until(), ms(205));
    }

    #[test]
    fn poisson_refusals_in_closed_form() {
        let cfg = |num| TowerRateConfig { num, per: ms(100) };
        // One per window: every call inside a window of 100 ms is refused, 1 in 1 + λ·per
        // admitted.
        assert!((cfg(1).poisson_refused_share(50.0) - (1.0 - 1.0 / 6.0)).abs() < 1e-12);
        // A limit far above the traffic refuses (next to) nothing.
        assert!(cfg(1000).poisson_refused_share(50.0) < 1e-12);
        // num 10 at 200/s: P(P < 9) for a mean of 20 is 0.0050, so nearly 10 of 21 pass.
        let share = cfg(10).poisson_refused_share(200.0);
        assert!((share - (1.0 - 10.0 / 21.0)).abs() < 0.002, "{share}");
        // Huge means do not underflow into "nothing arrives".
        assert!((cfg(10).poisson_refused_share(1e6) - (1.0 - 10.0 / 100_001.0)).abs() < 1e-9);
        assert_eq!(cfg(10).poisson_refused_share(0.0), 0.0);
    }

    #[test]
    fn readiness_without_a_call_opens_the_window() {
        // tower's `poll_ready` after the sleep fires starts the window, and a later call
        // falls in it (no reset on `call`, since `now < until`).
        let mut l = limiter(2, 100);
        assert!(l.try_acquire(ms(0)) && l.try_acquire(ms(0)));
        assert!(!l.ready(ms(99)));
        assert!(l.ready(ms(120)));
        assert_eq!((l.until(), l.remaining()), (ms(220), 2));
        assert!(l.try_acquire(ms(200)) && l.try_acquire(ms(210)));
        assert!(!l.try_acquire(ms(219)));
        assert_eq!(l.config().num, 2);
    }
}
