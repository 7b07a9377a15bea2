//! Graceful-degradation levels switched by health signals, with hysteresis.
//!
//! A service runs at one of an ordered list of levels, from full service (index 0) to the
//! most degraded. Each level says what share of the value (features) a response still
//! carries and whether optional downstream calls are turned off. The seeds' default ladder
//! (S1:356-423, spec §1.7.a) is Full 100% → NonCoreOff 80% → CoreOnly 40% → Emergency 10%.
//!
//! The engine calls [`Degradation::evaluate`] on every evaluation tick with the service's
//! recent [`Signals`] (error rate, p99 latency, utilisation). The rules:
//!
//! - **Degrade** one level when the signals reach the *enter* thresholds of any deeper
//!   level (any one signal at or above its threshold suffices). One level per tick, so
//!   a collapse walks down the ladder tick by tick rather than jumping.
//! - **Restore** one level when every signal has stayed strictly below the current
//!   level's *exit* thresholds for at least `min_dwell` (default 30 s), counted from the
//!   first calm tick in this level (the tick of a step up counts for the new level if
//!   the signals are below its exit thresholds too). Exit thresholds sit below enter thresholds
//!   (validated), which is the hysteresis band: signals inside it hold the level, so the
//!   level does not flap around a single threshold. Each step up restarts the dwell.
//!
//! This fixes two seed defects (Appendix A #22, S4:1017-1067): there EMERGENCY behaved
//! exactly like CRITICAL and degraded quality was never restored when the level dropped.
//! Here every level is its own row (value, optional calls) and restoring is part of the
//! state machine, both tested below. S4's SLO controller (§1.7.c) restored immediately,
//! without hysteresis; `min_dwell: 0` with equal enter/exit thresholds approximates it.
//!
//! Time spent per level and the transition log are kept for the report. The log is the
//! one structure that grows (by one entry per transition, at most one per tick); its
//! capacity is reserved at construction.

use crate::engine::SimTime;

/// Health signals of one service over the last evaluation window, supplied by the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Signals {
    /// Share of requests that failed, in `[0, 1]`.
    pub error_rate: f64,
    /// 99th-percentile latency.
    pub p99: SimTime,
    /// Share of server time busy, in `[0, 1]`.
    pub utilization: f64,
}

/// A threshold per signal; `None` leaves that signal out of the rule.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Thresholds {
    /// Error-rate threshold.
    pub error_rate: Option<f64>,
    /// p99-latency threshold.
    pub p99: Option<SimTime>,
    /// Utilisation threshold.
    pub utilization: Option<f64>,
}

impl Thresholds {
    /// Whether any set threshold is reached (`signal ≥ threshold`). False if none is set.
    pub fn any_reached(&self, s: &Signals) -> bool {
        self.error_rate.is_some_and(|t| s.error_rate >= t)
            || self.p99.is_some_and(|t| s.p99 >= t)
            || self.utilization.is_some_and(|t| s.utilization >= t)
    }

    /// Whether every set threshold is strictly above its signal. True if none is set; a
    /// NaN signal is never "below".
    pub fn all_below(&self, s: &Signals) -> bool {
        self.error_rate.is_none_or(|t| s.error_rate < t)
            && self.p99.is_none_or(|t| s.p99 < t)
            && self.utilization.is_none_or(|t| s.utilization < t)
    }
}

/// One degradation level.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelSpec {
    /// Name used in reports (e.g. `core_only`).
    pub name: String,
    /// Share of value (features) a response carries at this level, in `[0, 1]`.
    pub value: f64,
    /// Whether optional downstream calls are skipped at this level.
    pub disable_optional: bool,
    /// Signals that push the service *into* this level (ignored for level 0).
    pub enter: Thresholds,
    /// Every signal must be below these to step back *out of* this level (ignored for
    /// level 0). Each signal with an `enter` threshold needs an `exit` threshold ≤ it.
    pub exit: Thresholds,
}

/// Configuration of a [`Degradation`] controller.
#[derive(Clone, Debug, PartialEq)]
pub struct DegradationConfig {
    /// Levels from full service (index 0) to the most degraded.
    pub levels: Vec<LevelSpec>,
    /// How long the signals must stay calm in a level before stepping up one level.
    pub min_dwell: SimTime,
}

impl Default for DegradationConfig {
    /// The seeds' four levels (values 1.0 / 0.8 / 0.4 / 0.1) with resim's thresholds
    /// (the seeds give none for this ladder), and a 30 s dwell:
    ///
    /// | level | enter (any) | exit (all below) |
    /// |---|---|---|
    /// | non_core_off | errors 5%, p99 1 s, utilisation 85% | 2%, 500 ms, 70% |
    /// | core_only | 15%, 2 s, 95% | 8%, 1 s, 85% |
    /// | emergency | 40%, 5 s, 99% | 20%, 2.5 s, 93% |
    fn default() -> Self {
        fn th(error_rate: f64, p99_ms: u64, utilization: f64) -> Thresholds {
            Thresholds {
                error_rate: Some(error_rate),
                p99: Some(SimTime::from_millis(p99_ms)),
                utilization: Some(utilization),
            }
        }
        let level = |name: &str, value, disable_optional, enter, exit| LevelSpec {
            name: name.to_owned(),
            value,
            disable_optional,
            enter,
            exit,
        };
        Self {
            levels: vec![
                level("full", 1.0, false, Thresholds::default(), Thresholds::default()),
                level("non_core_off", 0.8, true, th(0.05, 1_000, 0.85), th(0.02, 500, 0.70)),
                level("core_only", 0.4, true, th(0.15, 2_000, 0.95), th(0.08, 1_000, 0.85)),
                level("emergency", 0.1, true, th(0.40, 5_000, 0.99), th(0.20, 2_500, 0.93)),
            ],
            min_dwell: SimTime::from_secs(30),
        }
    }
}

/// Why a [`DegradationConfig`] was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DegradationError {
    /// The level list is empty.
    #[error("degradation needs at least one level (the first is full service)")]
    NoLevels,
    /// A level's value is not a share.
    #[error("level `{level}`: value {value} must be between 0 and 1")]
    ValueOutOfRange {
        /// Level name.
        level: String,
        /// The offending value.
        value: f64,
    },
    /// A signal has an enter threshold but no exit threshold at or below it.
    #[error(
        "level `{level}`: the exit threshold for {signal} must be set and not above the enter threshold \
         (the gap between them is the hysteresis band)"
    )]
    NoHysteresis {
        /// Level name.
        level: String,
        /// `error_rate`, `p99` or `utilization`.
        signal: &'static str,
    },
}

/// A level change: at `at`, from level index `from` to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// When it happened.
    pub at: SimTime,
    /// Level index left.
    pub from: usize,
    /// Level index entered.
    pub to: usize,
}

/// Initial room in the transition log.
const LOG_CAPACITY: usize = 64;

/// The degradation state machine of one service; see the module docs.
#[derive(Clone, Debug)]
pub struct Degradation {
    config: DegradationConfig,
    level: usize,
    entered_at: SimTime,
    /// First tick in the current level at which every signal was below its exit threshold,
    /// reset by any tick that was not.
    calm_since: Option<SimTime>,
    /// Accumulated time per level, excluding the current stint.
    time_in: Vec<SimTime>,
    /// Start of the current stint for the accounting: the later of `entered_at` and the
    /// last statistics reset.
    stint_start: SimTime,
    transitions: Vec<Transition>,
}

impl Degradation {
    /// A controller at full service (level 0) from time zero.
    pub fn new(config: DegradationConfig) -> Result<Self, DegradationError> {
        validate(&config)?;
        let n = config.levels.len();
        Ok(Self {
            config,
            level: 0,
            entered_at: SimTime::ZERO,
            calm_since: None,
            time_in: vec![SimTime::ZERO; n],
            stint_start: SimTime::ZERO,
            transitions: Vec::with_capacity(LOG_CAPACITY),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DegradationConfig {
        &self.config
    }

    /// Evaluates the signals at `now`; returns the level change `(from, to)` if there is one.
    pub fn evaluate(&mut self, now: SimTime, signals: Signals) -> Option<(usize, usize)> {
        let current = self.level;
        let deeper_warranted = self.config.levels.iter().skip(current + 1).any(|l| l.enter.any_reached(&signals));
        if deeper_warranted {
            return Some(self.move_to(now, current + 1));
        }
        if current == 0 {
            return None;
        }
        let calm = self.config.levels.get(current).is_some_and(|l| l.exit.all_below(&signals));
        if !calm {
            self.calm_since = None;
            return None;
        }
        let since = *self.calm_since.get_or_insert(now);
        if now.saturating_sub(since) < self.config.min_dwell {
            return None;
        }
        let change = self.move_to(now, current - 1);
        // This tick already counts towards the dwell of the level just entered if the
        // signals are below its exit thresholds too.
        if self.level > 0 && self.config.levels.get(self.level).is_some_and(|l| l.exit.all_below(&signals)) {
            self.calm_since = Some(now);
        }
        Some(change)
    }

    /// The current level index (0 = full service).
    pub fn level(&self) -> usize {
        self.level
    }

    /// The current level's description.
    pub fn current(&self) -> &LevelSpec {
        // `level` is always a valid index (validated non-empty, moves stay in range).
        &self.config.levels[self.level]
    }

    /// Share of value a response carries at the current level.
    pub fn value(&self) -> f64 {
        self.current().value
    }

    /// Whether optional downstream calls are made at the current level.
    pub fn optional_enabled(&self) -> bool {
        !self.current().disable_optional
    }

    /// When the current level was entered.
    pub fn entered_at(&self) -> SimTime {
        self.entered_at
    }

    /// Time spent in each level (in level order) since time zero or the last reset, up to
    /// `now`.
    pub fn time_in_level(&self, now: SimTime) -> impl ExactSizeIterator<Item = SimTime> + '_ {
        let level = self.level;
        let current = now.saturating_sub(self.stint_start);
        self.time_in.iter().enumerate().map(move |(i, &t)| if i == level { t + current } else { t })
    }

    /// Time-average share of value since time zero or the last reset, up to `now` (the
    /// current level's value if no time has passed).
    pub fn mean_value(&self, now: SimTime) -> f64 {
        let mut total = 0u128;
        let mut weighted = 0.0;
        for (t, spec) in self.time_in_level(now).zip(&self.config.levels) {
            total += u128::from(t.0);
            weighted += spec.value * t.0 as f64;
        }
        if total == 0 { self.value() } else { weighted / total as f64 }
    }

    /// Level changes since time zero or the last reset, oldest first.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// Clears time-per-level and the transition log at `now` (end of warm-up); the level
    /// and its dwell clock are kept.
    pub fn reset_stats(&mut self, now: SimTime) {
        self.time_in.iter_mut().for_each(|t| *t = SimTime::ZERO);
        self.stint_start = now;
        self.transitions.clear();
    }

    fn move_to(&mut self, now: SimTime, to: usize) -> (usize, usize) {
        let from = self.level;
        if let Some(t) = self.time_in.get_mut(from) {
            *t += now.saturating_sub(self.stint_start);
        }
        self.level = to;
        self.entered_at = now;
        self.stint_start = now;
        self.calm_since = None;
        self.transitions.push(Transition { at: now, from, to });
        (from, to)
    }
}

fn validate(config: &DegradationConfig) -> Result<(), DegradationError> {
    if config.levels.is_empty() {
        return Err(DegradationError::NoLevels);
    }
    for l in &config.levels {
        if !(0.0..=1.0).contains(&l.value) {
            return Err(DegradationError::ValueOutOfRange { level: l.name.clone(), value: l.value });
        }
    }
    for l in config.levels.iter().skip(1) {
        let no_hysteresis = |signal| DegradationError::NoHysteresis { level: l.name.clone(), signal };
        if let Some(enter) = l.enter.error_rate
            && l.exit.error_rate.is_none_or(|exit| exit > enter)
        {
            return Err(no_hysteresis("error_rate"));
        }
        if let Some(enter) = l.enter.p99
            && l.exit.p99.is_none_or(|exit| exit > enter)
        {
            return Err(no_hysteresis("p99"));
        }
        if let Some(enter) = l.enter.utilization
            && l.exit.utilization.is_none_or(|exit| exit > enter)
        {
            return Err(no_hysteresis("utilization"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimTime {
        SimTime::from_secs(secs)
    }

    const HEALTHY: Signals = Signals { error_rate: 0.001, p99: SimTime::from_millis(100), utilization: 0.5 };
    /// Past every enter threshold of the default ladder.
    const MELTDOWN: Signals = Signals { error_rate: 0.6, p99: SimTime::from_secs(10), utilization: 1.0 };

    fn default_controller() -> Degradation {
        match Degradation::new(DegradationConfig::default()) {
            Ok(d) => d,
            Err(e) => panic!("default config must validate: {e}"),
        }
    }

    #[test]
    fn degrades_one_level_per_tick_and_each_level_is_distinct() {
        let mut d = default_controller();
        assert_eq!(d.evaluate(s(0), HEALTHY), None);
        assert_eq!((d.level(), d.value(), d.optional_enabled()), (0, 1.0, true));
        assert_eq!(d.evaluate(s(10), MELTDOWN), Some((0, 1)));
        assert_eq!(d.evaluate(s(20), MELTDOWN), Some((1, 2)));
        assert_eq!(d.evaluate(s(30), MELTDOWN), Some((2, 3)));
        assert_eq!(d.evaluate(s(40), MELTDOWN), None, "already at the bottom");
        // Seed bug #22: EMERGENCY behaved like CRITICAL. Here it is its own level.
        assert_eq!(d.current().name, "emergency");
        assert_eq!((d.value(), d.optional_enabled()), (0.1, false));
        assert_ne!(d.config().levels[2].value, d.value());
    }

    #[test]
    fn quality_is_restored_step_by_step_after_the_dwell() {
        // Seed bug #22: degraded quality was never restored when the level dropped.
        let mut d = default_controller();
        for k in 0..3 {
            d.evaluate(s(10 * k), MELTDOWN);
        }
        assert_eq!(d.level(), 3);
        let mut changes = Vec::new();
        for k in 3..=20 {
            if let Some(change) = d.evaluate(s(10 * k), HEALTHY) {
                changes.push((10 * k, change));
            }
        }
        // Calm from t = 30 s; each step needs 30 s of calm in the level it leaves.
        assert_eq!(changes, vec![(60, (3, 2)), (90, (2, 1)), (120, (1, 0))]);
        assert_eq!((d.level(), d.value(), d.optional_enabled()), (0, 1.0, true));
        assert_eq!(d.transitions().len(), 6);
        assert_eq!(d.transitions()[5], Transition { at: s(120), from: 1, to: 0 });
    }

    #[test]
    fn signals_inside_the_hysteresis_band_hold_the_level() {
        let mut d = default_controller();
        // Utilisation 0.9 enters non_core_off (≥ 0.85) ...
        let busy = Signals { utilization: 0.9, ..HEALTHY };
        assert_eq!(d.evaluate(s(0), busy), Some((0, 1)));
        // ... and 0.8 (below enter 0.85, above exit 0.70) neither deepens nor restores.
        let band = Signals { utilization: 0.8, ..HEALTHY };
        for k in 1..=30 {
            assert_eq!(d.evaluate(s(10 * k), band), None);
        }
        assert_eq!(d.level(), 1);
        // Below exit from t = 310 s: restored 30 s later.
        let calm = Signals { utilization: 0.6, ..HEALTHY };
        assert_eq!(d.evaluate(s(310), calm), None);
        assert_eq!(d.evaluate(s(330), calm), None);
        assert_eq!(d.evaluate(s(340), calm), Some((1, 0)));
    }

    #[test]
    fn a_relapse_restarts_the_dwell() {
        let mut d = default_controller();
        let busy = Signals { utilization: 0.9, ..HEALTHY };
        let band = Signals { utilization: 0.8, ..HEALTHY };
        d.evaluate(s(0), busy);
        assert_eq!(d.evaluate(s(10), HEALTHY), None);
        assert_eq!(d.evaluate(s(30), HEALTHY), None);
        assert_eq!(d.evaluate(s(35), band), None, "not calm: dwell clock resets");
        assert_eq!(d.evaluate(s(40), HEALTHY), None);
        assert_eq!(d.evaluate(s(69), HEALTHY), None);
        assert_eq!(d.evaluate(s(70), HEALTHY), Some((1, 0)));
    }

    #[test]
    fn any_single_signal_degrades() {
        for signals in [
            Signals { error_rate: 0.05, ..HEALTHY },
            Signals { p99: SimTime::from_secs(1), ..HEALTHY },
            Signals { utilization: 0.85, ..HEALTHY },
        ] {
            let mut d = default_controller();
            assert_eq!(d.evaluate(s(0), signals), Some((0, 1)), "{signals:?}");
        }
        // Only the p99 reaches emergency's threshold: still one level per tick.
        let mut d = default_controller();
        let slow = Signals { p99: SimTime::from_secs(6), ..HEALTHY };
        assert_eq!(d.evaluate(s(0), slow), Some((0, 1)));
        assert_eq!(d.evaluate(s(1), slow), Some((1, 2)));
        assert_eq!(d.evaluate(s(2), slow), Some((2, 3)));
        // NaN signals never count as calm.
        let unknown = Signals { error_rate: f64::NAN, ..HEALTHY };
        assert_eq!(d.evaluate(s(100), unknown), None);
        assert_eq!(d.evaluate(s(200), unknown), None);
        assert_eq!(d.level(), 3);
    }

    #[test]
    fn time_in_level_mean_value_and_reset() {
        let mut d = default_controller();
        let busy = Signals { utilization: 0.9, ..HEALTHY };
        d.evaluate(s(100), busy); // full for 100 s
        d.evaluate(s(100), HEALTHY); // calm from 100 s
        d.evaluate(s(130), HEALTHY); // non_core_off for 30 s
        let times: Vec<SimTime> = d.time_in_level(s(200)).collect();
        assert_eq!(times, vec![s(170), s(30), s(0), s(0)]);
        let expected = (170.0 * 1.0 + 30.0 * 0.8) / 200.0;
        assert!((d.mean_value(s(200)) - expected).abs() < 1e-12);
        d.evaluate(s(200), busy);
        d.reset_stats(s(250));
        assert!(d.transitions().is_empty());
        assert_eq!(d.time_in_level(s(250)).collect::<Vec<_>>(), vec![s(0); 4]);
        assert_eq!(d.mean_value(s(250)), 0.8);
        assert_eq!(d.time_in_level(s(260)).nth(1), Some(s(10)));
        // The dwell clock is not part of the statistics: calm at 250 restores at 280.
        d.evaluate(s(250), HEALTHY);
        assert_eq!(d.evaluate(s(280), HEALTHY), Some((1, 0)));
        assert_eq!(d.time_in_level(s(290)).collect::<Vec<_>>(), vec![s(10), s(30), s(0), s(0)]);
        assert_eq!(d.entered_at(), s(280));
    }

    #[test]
    fn zero_dwell_restores_on_the_first_calm_tick() {
        let config = DegradationConfig { min_dwell: SimTime::ZERO, ..DegradationConfig::default() };
        let Ok(mut d) = Degradation::new(config) else { panic!("valid config") };
        d.evaluate(s(0), MELTDOWN);
        assert_eq!(d.evaluate(s(1), HEALTHY), Some((1, 0)));
    }

    #[test]
    fn invalid_configs_are_refused() {
        let empty = DegradationConfig { levels: Vec::new(), min_dwell: SimTime::ZERO };
        assert_eq!(Degradation::new(empty).err(), Some(DegradationError::NoLevels));

        let mut bad_value = DegradationConfig::default();
        bad_value.levels[2].value = 1.5;
        assert!(matches!(Degradation::new(bad_value), Err(DegradationError::ValueOutOfRange { .. })));

        let mut inverted = DegradationConfig::default();
        inverted.levels[1].exit.utilization = Some(0.9);
        let err = Degradation::new(inverted).err();
        assert_eq!(err, Some(DegradationError::NoHysteresis { level: "non_core_off".into(), signal: "utilization" }));

        let mut missing = DegradationConfig::default();
        missing.levels[3].exit.p99 = None;
        assert!(matches!(Degradation::new(missing), Err(DegradationError::NoHysteresis { signal: "p99", .. })));

        // Level 0's thresholds are ignored; a single-level ladder never moves.
        let mut single = DegradationConfig::default();
        single.levels.truncate(1);
        let Ok(mut d) = Degradation::new(single) else { panic!("valid config") };
        assert_eq!(d.evaluate(s(0), MELTDOWN), None);
        assert_eq!(d.mean_value(s(0)), 1.0);
    }
}
