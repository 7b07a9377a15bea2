//! The Kubernetes Horizontal Pod Autoscaler's decision, as a clock-free state machine.
//!
//! Two halves, each a port of one file of Kubernetes' `pkg/controller/podautoscaler`:
//!
//! - [`replica_count`] is `replica_calculator.go` (`GetResourceReplicas`,
//!   `calcPlainMetricReplicas`): the usage ratio of the ready pods' metric to the target,
//!   a `tolerance` band (default 0.1, `--horizontal-pod-autoscaler-tolerance`) inside
//!   which nothing changes, and the treatment of pods without a usable sample: on a
//!   scale-up, pods not ready (still starting) count as using nothing, so that a
//!   scale-up already under way is not repeated; pods missing a sample count as idle on
//!   a scale-up and as at their request (at the target, for a plain metric) on a
//!   scale-down; and a recount that would reverse the direction keeps the current size.
//! - [`Hpa::reconcile`] is `horizontal.go`'s `reconcileAutoscaler` with
//!   `normalizeDesiredReplicasWithBehaviors`: the recommendation is stabilized
//!   (`stabilizeRecommendationWithBehaviors`: the smallest recommendation of the
//!   scale-up window and the largest of the scale-down window bound it, defaults 0 s
//!   and 300 s), then limited by the rate policies
//!   (`calculateScaleUpLimitWithScalingRules`, `calculateScaleDownLimitWithBehaviors`:
//!   each policy allows a change from the size at the start of its period, counted from
//!   the scale events within it; `select_policy` takes the largest change, the smallest,
//!   or none), then clamped to `min`/`max`. The defaults are those the API server fills
//!   in (`SetDefaults_HorizontalPodAutoscalerBehavior`): scale up by the larger of 100%
//!   and 4 pods per 15 s, scale down by 100% per 15 s.
//!
//! Times are simulated; "within the window" is Go's `timestamp.After(now - window)`,
//! i.e. strictly inside. Several cases of Kubernetes' own tests
//! (`replica_calculator_test.go`, `horizontal_test.go`) are ported below by name.

use crate::engine::SimTime;

/// How a rate policy counts a change (`HPAScalingPolicyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// A share of the size at the start of the period, in percent.
    Percent,
    /// A number of instances.
    Pods,
}

/// One rate policy: at most `value` (percent or pods) of change per `period`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalingPolicy {
    /// Percent or pods.
    pub kind: PolicyKind,
    /// How much change a period allows.
    pub value: u32,
    /// The period the change is counted over.
    pub period: SimTime,
}

/// Which of several policies wins (`ScalingPolicySelect`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (Kubernetes' default).
    #[default]
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No change in this direction at all.
    Disabled,
}

/// The behavior in one direction (`HPAScalingRules`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    /// Stabilization window: recommendations this recent bound the decision.
    pub window: SimTime,
    /// Rate policies.
    pub policies: Vec<ScalingPolicy>,
    /// How the policies combine.
    pub select: SelectPolicy,
}

impl ScalingRules {
    /// Kubernetes' scale-up default: no window; +100% or +4 pods per 15 s, the larger.
    pub fn default_up() -> Self {
        let period = SimTime::from_secs(15);
        ScalingRules {
            window: SimTime::ZERO,
            policies: vec![
                ScalingPolicy { kind: PolicyKind::Percent, value: 100, period },
                ScalingPolicy { kind: PolicyKind::Pods, value: 4, period },
            ],
            select: SelectPolicy::Max,
        }
    }

    /// Kubernetes' scale-down default: a 300 s window; -100% per 15 s.
    pub fn default_down() -> Self {
        ScalingRules {
            window: SimTime::from_secs(300),
            policies: vec![ScalingPolicy { kind: PolicyKind::Percent, value: 100, period: SimTime::from_secs(15) }],
            select: SelectPolicy::Max,
        }
    }

    /// The longest policy period (events older than it no longer count).
    fn longest_period(&self) -> SimTime {
        self.policies.iter().map(|p| p.period).max().unwrap_or(SimTime::ZERO)
    }
}

/// What a horizontal autoscaler is asked to keep: bounds, tolerance, behavior.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaConfig {
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Relative band around the target inside which nothing changes.
    pub tolerance: f64,
    /// Scale-up behavior.
    pub up: ScalingRules,
    /// Scale-down behavior.
    pub down: ScalingRules,
}

/// One metric reading: the ready pods' values and the pods without one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Sum of the ready pods' values (utilisation as a fraction, or requests per pod).
    pub ready_sum: f64,
    /// Ready pods with a value.
    pub ready: u32,
    /// Pods not ready (starting): `ignoredPods` of `groupPods`.
    pub unready: u32,
    /// Pods without a value (`missingPods`).
    pub missing: u32,
    /// The target per pod (a fraction for utilisation).
    pub target: f64,
    /// The value a missing pod counts with on a scale-down: its full request (1.0) for
    /// utilisation, the target for a plain metric.
    pub missing_full: f64,
}

/// The replica count the metric asks for, given `current` replicas (the scale's
/// `spec.replicas`); `None` when no ready pod has a value (Kubernetes reports an error
/// and leaves the size alone).
pub fn replica_count(current: u32, s: &Sample, tolerance: f64) -> Option<u32> {
    if s.ready == 0 {
        return None;
    }
    let usage = s.ready_sum / (f64::from(s.ready) * s.target);
    let rebalance_unready = s.unready > 0 && usage > 1.0;
    if !rebalance_unready && s.missing == 0 {
        if (1.0 - usage).abs() <= tolerance {
            return Some(current);
        }
        return Some(ceil(usage * f64::from(s.ready)));
    }
    let (mut sum, mut n) = (s.ready_sum, s.ready);
    if s.missing > 0 {
        // On a scale-down a missing pod is assumed at its request; on a scale-up, idle.
        if usage < 1.0 {
            sum += f64::from(s.missing) * s.missing_full;
        }
        if usage != 1.0 {
            n += s.missing;
        }
    }
    if rebalance_unready {
        n += s.unready;
    }
    let new_usage = sum / (f64::from(n) * s.target);
    let reverses = (usage < 1.0 && new_usage > 1.0) || (usage > 1.0 && new_usage < 1.0);
    if (1.0 - new_usage).abs() <= tolerance || reverses {
        return Some(current);
    }
    let proposed = ceil(new_usage * f64::from(n));
    if (new_usage < 1.0 && proposed > current) || (new_usage > 1.0 && proposed < current) {
        return Some(current);
    }
    Some(proposed)
}

/// Go's `int32(math.Ceil(x))` for the non-negative counts here.
fn ceil(x: f64) -> u32 {
    x.ceil().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// What the autoscaler measures per instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Busy workers / workers (a resource utilisation target).
    Utilization,
    /// Requests inside: in service and waiting (a `Pods` metric).
    InFlight,
    /// Requests waiting (a `Pods` metric).
    Queue,
}

/// A new instance's warm-up: its service times are multiplied by a factor that falls
/// linearly from `factor` when it becomes ready to 1 after `duration`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColdStart {
    /// Slowdown at readiness.
    pub factor: f64,
    /// Length of the warm-up.
    pub duration: SimTime,
}

impl ColdStart {
    /// The slowdown `age` after readiness.
    pub fn factor_at(&self, age: SimTime) -> f64 {
        if age >= self.duration {
            return 1.0;
        }
        1.0 + (self.factor - 1.0) * (1.0 - age.as_secs_f64() / self.duration.as_secs_f64())
    }
}

/// A service's autoscaling, validated: the controller's configuration and what the
/// engine needs around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscale {
    /// Bounds, tolerance and behavior.
    pub hpa: HpaConfig,
    /// What is measured.
    pub metric: Metric,
    /// The target per instance (a fraction for utilisation).
    pub target: f64,
    /// The controller's period, and the span the metric is averaged over.
    pub interval: SimTime,
    /// From a scale-up decision to the instance taking traffic.
    pub startup: SimTime,
    /// Slower service while a new instance warms up.
    pub cold_start: Option<ColdStart>,
    /// Instances at the start.
    pub initial: u32,
    /// How long an instance may be down before it is evicted and replaced elsewhere.
    pub eviction_timeout: SimTime,
}

/// A timestamped value: a recommendation, or a scale event's change.
type Stamped = (SimTime, u32);

/// True when `t` is strictly within `window` before `now` (Go's `t.After(now - window)`).
fn within(t: SimTime, window: SimTime, now: SimTime) -> bool {
    t + window > now
}

/// The memory of one horizontal autoscaler: its recent recommendations and scale events.
#[derive(Clone, Debug)]
pub struct Hpa {
    config: HpaConfig,
    recommendations: Vec<Stamped>,
    up_events: Vec<Stamped>,
    down_events: Vec<Stamped>,
}

impl Hpa {
    /// A controller with no history.
    pub fn new(config: HpaConfig) -> Self {
        Hpa { config, recommendations: Vec::new(), up_events: Vec::new(), down_events: Vec::new() }
    }

    /// The configuration.
    pub fn config(&self) -> &HpaConfig {
        &self.config
    }

    /// One reconcile at `now` with `current` replicas and the metric's proposal
    /// (`None`: no usable metric). Returns the new desired count; a change is recorded
    /// as a scale event for the rate policies.
    pub fn reconcile(&mut self, now: SimTime, current: u32, proposal: Option<u32>) -> u32 {
        let c = &self.config;
        let desired = if current > c.max {
            c.max
        } else if current < c.min {
            c.min
        } else if let Some(p) = proposal {
            self.normalize(now, current, p)
        } else {
            current
        };
        if desired != current {
            self.store_event(now, current, desired);
        }
        desired
    }

    /// `normalizeDesiredReplicasWithBehaviors`: stabilize, then limit the rate.
    fn normalize(&mut self, now: SimTime, current: u32, proposed: u32) -> u32 {
        let stabilized = self.stabilize(now, current, proposed);
        self.limit_rate(now, current, stabilized)
    }

    /// `stabilizeRecommendationWithBehaviors`: the current size brought within the
    /// least recommendation of the scale-up window and the greatest of the scale-down
    /// window (each including this one), which is then remembered.
    fn stabilize(&mut self, now: SimTime, current: u32, proposed: u32) -> u32 {
        let (up, down) = (self.config.up.window, self.config.down.window);
        let (mut up_rec, mut down_rec) = (proposed, proposed);
        for &(t, r) in &self.recommendations {
            if within(t, up, now) {
                up_rec = up_rec.min(r);
            }
            if within(t, down, now) {
                down_rec = down_rec.max(r);
            }
        }
        // Older than both windows: never read again (Kubernetes reuses such a slot).
        self.recommendations.retain(|&(t, _)| within(t, up, now) || within(t, down, now));
        self.recommendations.push((now, proposed));
        current.max(up_rec).min(down_rec)
    }

    /// `convertDesiredReplicasWithBehaviorRate`: the rate policies' limit, then min/max.
    fn limit_rate(&self, now: SimTime, current: u32, desired: u32) -> u32 {
        let c = &self.config;
        if desired > current {
            let limit = scale_limit(&c.up, current, &self.up_events, &self.down_events, now, true).max(current);
            desired.min(c.max.min(limit))
        } else if desired < current {
            let limit = scale_limit(&c.down, current, &self.up_events, &self.down_events, now, false).min(current);
            desired.max(c.min.max(limit))
        } else {
            desired
        }
    }

    /// `storeScaleEvent`: remembers a change for the policies' periods.
    fn store_event(&mut self, now: SimTime, from: u32, to: u32) {
        let (rules, events, change) = if to > from {
            (&self.config.up, &mut self.up_events, to - from)
        } else {
            (&self.config.down, &mut self.down_events, from - to)
        };
        let longest = rules.longest_period();
        events.retain(|&(t, _)| within(t, longest, now));
        events.push((now, change));
    }
}

/// `calculateScaleUpLimitWithScalingRules` (`up`) or
/// `calculateScaleDownLimitWithBehaviors`: the size each policy allows from the size at
/// the start of its period, combined by the select policy.
fn scale_limit(rules: &ScalingRules, current: u32, ups: &[Stamped], downs: &[Stamped], now: SimTime, up: bool) -> u32 {
    if rules.select == SelectPolicy::Disabled {
        return current;
    }
    // For a scale-up the largest change is the largest size; for a scale-down, the smallest.
    let largest_change = rules.select == SelectPolicy::Max;
    let mut result: Option<i64> = None;
    for p in &rules.policies {
        let added = changes_within(p.period, ups, now);
        let deleted = changes_within(p.period, downs, now);
        let start = i64::from(current) - added + deleted;
        let proposed = match (p.kind, up) {
            (PolicyKind::Pods, true) => start + i64::from(p.value),
            (PolicyKind::Percent, true) => (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64,
            (PolicyKind::Pods, false) => start - i64::from(p.value),
            // Go's int32() truncates toward zero.
            (PolicyKind::Percent, false) => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
        };
        result = Some(match result {
            None => proposed,
            Some(r) if up == largest_change => r.max(proposed),
            Some(r) => r.min(proposed),
        });
    }
    result.unwrap_or(i64::from(current)).clamp(0, i64::from(u32::MAX)) as u32
}

/// `getReplicasChangePerPeriod`: the changes of the events within `period` before `now`.
fn changes_within(period: SimTime, events: &[Stamped], now: SimTime) -> i64 {
    events.iter().filter(|&&(t, _)| within(t, period, now)).map(|&(_, c)| i64::from(c)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Utilisation samples with equal requests: `levels` in milli-units of a request of 1000.
    fn util(levels: &[u32], unready: u32, target_percent: u32) -> Sample {
        Sample {
            ready_sum: levels.iter().map(|&l| f64::from(l) / 1000.0).sum(),
            ready: levels.len() as u32,
            unready,
            missing: 0,
            target: f64::from(target_percent) / 100.0,
            missing_full: 1.0,
        }
    }

    #[test]
    fn scale_events_are_kept_for_the_longest_policy_period() {
        // Up by at most 4 pods per 60 s: 1 -> 3 at 0 s and 3 -> 5 at 10 s use the whole
        // allowance, so at 20 s the size at the period's start is still 1 and 5 is the
        // limit. Storing the second event must not forget the first.
        let config = HpaConfig {
            min: 1,
            max: 100,
            tolerance: 0.1,
            up: rules(4, 60, 0, 0, 0),
            down: ScalingRules::default_down(),
        };
        let mut hpa = Hpa::new(config);
        let s = SimTime::from_secs;
        assert_eq!(hpa.reconcile(s(0), 1, Some(3)), 3);
        assert_eq!(hpa.reconcile(s(10), 3, Some(5)), 5);
        assert_eq!(hpa.reconcile(s(20), 5, Some(20)), 5);
        assert_eq!(hpa.reconcile(s(60), 5, Some(20)), 7, "the first event left the period");
        // Down by at most 4 pods per 60 s: 6 -> 4 at 0 s leaves 2 of the allowance, so at
        // 10 s a reading asking for 1 gets 2.
        let config =
            HpaConfig { min: 1, max: 100, tolerance: 0.1, up: ScalingRules::default_up(), down: rules(4, 60, 0, 0, 0) };
        let mut hpa = Hpa::new(config);
        assert_eq!(hpa.reconcile(s(0), 6, Some(4)), 4);
        assert_eq!(hpa.reconcile(s(10), 4, Some(1)), 2);
    }

    #[test]
    fn a_cold_start_slowdown_falls_linearly_to_none() {
        let c = ColdStart { factor: 3.0, duration: SimTime::from_secs(60) };
        let at = |secs| c.factor_at(SimTime::from_secs(secs));
        assert_eq!((at(0), at(15), at(30), at(60), at(600)), (3.0, 2.5, 2.0, 1.0, 1.0));
    }

    #[test]
    fn a_controller_at_its_bounds_still_scales_inwards() {
        // Only a size outside [min, max] is clamped without asking the metric: at the
        // maximum a low reading scales down (no history, so nothing to stabilize against).
        let config = HpaConfig {
            min: 2,
            max: 5,
            tolerance: 0.1,
            up: ScalingRules::default_up(),
            down: ScalingRules::default_down(),
        };
        let s = SimTime::from_secs;
        assert_eq!(Hpa::new(config.clone()).reconcile(s(0), 5, Some(3)), 3);
        assert_eq!(Hpa::new(config.clone()).reconcile(s(0), 2, Some(4)), 4);
        assert_eq!(Hpa::new(config.clone()).reconcile(s(0), 7, Some(7)), 5);
        assert_eq!(Hpa::new(config).reconcile(s(0), 1, None), 2);
    }

    #[test]
    fn replica_calc_cases_of_kubernetes() {
        // TestReplicaCalcScaleUp: 300, 500, 700 of 1000 at target 30% -> 5.
        assert_eq!(replica_count(3, &util(&[300, 500, 700], 0, 30), 0.1), Some(5));
        // TestReplicaCalcScaleUpUnreadyLessScale: the unready first pod counts as idle -> 4.
        assert_eq!(replica_count(3, &util(&[500, 700], 1, 30), 0.1), Some(4));
        // TestReplicaCalcScaleUpUnreadyNoScale: with two unready pods the recount falls
        // below the target, a reversal: stay at 3.
        assert_eq!(replica_count(3, &util(&[400], 2, 30), 0.1), Some(3));
        // TestReplicaCalcScaleDown: 100, 300, 500, 250, 250 at target 50% -> 3.
        assert_eq!(replica_count(5, &util(&[100, 300, 500, 250, 250], 0, 50), 0.1), Some(3));
        // TestReplicaCalcScaleDownIgnoresUnreadyPods: the two unready pods are left out -> 2.
        assert_eq!(replica_count(5, &util(&[100, 300, 500], 2, 50), 0.1), Some(2));
        // TestReplicaCalcToleranceCM: 20000, 21000, 21000 against 20000 is within 10%.
        let cm =
            Sample { ready_sum: 62_000.0, ready: 3, unready: 0, missing: 0, target: 20_000.0, missing_full: 20_000.0 };
        assert_eq!(replica_count(3, &cm, 0.1), Some(3));
        // With no tolerance the same reading asks for ceil(3.1) = 4.
        assert_eq!(replica_count(3, &cm, 0.0), Some(4));
    }

    #[test]
    fn unready_pods_are_recounted_only_when_the_ready_ones_ask_for_more() {
        // Kubernetes recounts unready pods as idle only when `usageRatio > 1.0`: two ready
        // pods exactly at the target, or within the tolerance below it, leave the size
        // alone however many pods are unready (counting the third as idle would ask for 2).
        assert_eq!(replica_count(3, &util(&[500, 500], 1, 50), 0.1), Some(3));
        assert_eq!(replica_count(3, &util(&[475, 475], 1, 50), 0.1), Some(3));
        // Two ready at 48% of a 30% target (160%) and one unready counted idle: 107%, within
        // the tolerance, so no scale-up (160% alone would ask for ceil(3.2) = 4).
        assert_eq!(replica_count(3, &util(&[480, 480], 1, 30), 0.1), Some(3));
        // With nothing unready or missing the count is `ceil(usage x ready)` as it stands,
        // even below the size asked for: 120% of two ready pods of five gives 3.
        assert_eq!(replica_count(5, &util(&[600, 600], 0, 50), 0.1), Some(3));
    }

    #[test]
    fn a_recount_that_would_scale_against_the_metric_keeps_the_size() {
        // Kubernetes returns the current size "if the change of metrics length would cause
        // a change in scale direction". Down, with a target above the request (150%): two
        // ready pods at 40% and two missing counted at their request give
        // 2.8 / (4 x 1.5) = 47% of the target, yet ceil(1.87) = 2 pods against 1 asked for.
        let mut down = util(&[400, 400], 0, 150);
        down.missing = 2;
        assert_eq!(replica_count(1, &down, 0.1), Some(1));
        // Up: two ready at 180% and one unready counted idle give 120%, above the target,
        // yet ceil(3.6) = 4 pods against 5.
        assert_eq!(replica_count(5, &util(&[900, 900], 1, 50), 0.1), Some(5));
    }

    #[test]
    fn missing_pods_count_at_the_target_for_a_plain_metric_and_not_at_all_on_target() {
        // `calcPlainMetricReplicas`: one ready pod at 4,000 of a 20,000 target and three
        // missing counted at the target: (4,000 + 3 x 20,000) / 4 = 80% -> ceil(3.2) = 4
        // (of 6 asked for: two pods not yet created are in no count).
        let plain =
            Sample { ready_sum: 4_000.0, ready: 1, unready: 0, missing: 3, target: 20_000.0, missing_full: 20_000.0 };
        assert_eq!(replica_count(6, &plain, 0.1), Some(4));
        // Ready pods exactly at the target: missing pods are neither added up nor counted.
        let mut on_target = util(&[500, 500], 0, 50);
        on_target.missing = 1;
        assert_eq!(replica_count(3, &on_target, 0.1), Some(3));
    }

    #[test]
    fn missing_pods_count_at_their_request_down_and_idle_up() {
        // Two ready pods at 60% of a 50% target and two missing: the scale-up recount
        // (60 + 60 + 0 + 0) / 4 = 30% is below the target, a reversal: stay.
        let mut s = util(&[600, 600], 0, 50);
        s.missing = 2;
        assert_eq!(replica_count(4, &s, 0.1), Some(4));
        // Two at 10% and two missing: the scale-down recount counts the missing at their
        // request, (10 + 10 + 100 + 100) / 4 = 55% > 50%, a reversal: stay.
        let mut d = util(&[100, 100], 0, 50);
        d.missing = 2;
        assert_eq!(replica_count(4, &d, 0.1), Some(4));
        // No ready pod: no decision.
        assert_eq!(replica_count(4, &util(&[], 4, 50), 0.1), None);
    }

    /// `generateScalingRules(pods, podsPeriod, percent, percentPeriod, window)`.
    fn rules(pods: u32, pods_period: u64, percent: u32, percent_period: u64, window: u64) -> ScalingRules {
        let mut policies = Vec::new();
        if pods != 0 {
            policies.push(ScalingPolicy {
                kind: PolicyKind::Pods,
                value: pods,
                period: SimTime::from_secs(pods_period),
            });
        }
        if percent != 0 {
            let period = SimTime::from_secs(percent_period);
            policies.push(ScalingPolicy { kind: PolicyKind::Percent, value: percent, period });
        }
        ScalingRules { window: SimTime::from_secs(window), policies, select: SelectPolicy::Max }
    }

    /// `generateEventsUniformDistribution(changes, 120)` seen from `now`.
    fn spread(changes: &[u32], period: u64, now: SimTime) -> Vec<Stamped> {
        let seg = period as f64 / changes.len() as f64;
        let at = |i: usize| period as f64 - seg * (i as f64 + 1.0) + seg / 2.0;
        changes.iter().enumerate().map(|(i, &c)| (now - SimTime::from_secs_f64(at(i)), c)).collect()
    }

    /// One case of `TestScalingWithRules`: `convertDesiredReplicasWithBehaviorRate`.
    #[allow(clippy::too_many_arguments)]
    fn rate_case(
        up: Option<ScalingRules>,
        down: Option<ScalingRules>,
        ups: &[u32],
        downs: &[u32],
        (min, max): (u32, u32),
        current: u32,
        desired: u32,
    ) -> u32 {
        let now = SimTime::from_secs(10_000);
        let config = HpaConfig {
            min,
            max,
            tolerance: 0.1,
            up: up.unwrap_or_else(ScalingRules::default_up),
            down: down.unwrap_or_else(ScalingRules::default_down),
        };
        let mut hpa = Hpa::new(config);
        hpa.up_events = if ups.is_empty() { Vec::new() } else { spread(ups, 120, now) };
        hpa.down_events = if downs.is_empty() { Vec::new() } else { spread(downs, 120, now) };
        hpa.limit_rate(now, current, desired)
    }

    #[test]
    fn scaling_with_rules_cases_of_kubernetes() {
        let none: &[u32] = &[];
        // "prenormalized desired replicas < minReplicas"
        assert_eq!(rate_case(None, None, none, none, (2, 8), 3, 1), 2);
        // "maxReplicas is the limit because maxReplicas < scaleUpLimit"
        assert_eq!(rate_case(None, None, none, none, (1, 10), 20, 1000), 10);
        // "scaleUp with default behavior": 10 -> 50 allowed only +100%.
        assert_eq!(rate_case(None, None, none, none, (1, 1000), 10, 50), 20);
        // "scaleUp with pods policy larger than percent policy"
        assert_eq!(rate_case(Some(rules(100, 60, 100, 60, 0)), None, none, none, (1, 1000), 10, 500), 110);
        // "scaleUp with percent policy larger than pods policy"
        assert_eq!(rate_case(Some(rules(2, 60, 100, 60, 0)), None, none, none, (1, 1000), 10, 500), 20);
        // "scaleUp with pod policy limitation"
        assert_eq!(rate_case(Some(rules(30, 60, 0, 0, 0)), None, none, none, (1, 1000), 10, 50), 40);
        // "scaleUp with percent policy limitation"
        assert_eq!(rate_case(Some(rules(0, 0, 200, 60, 0)), None, none, none, (1, 1000), 10, 50), 30);
        // "scaleDown with pod policy larger than percent policy"
        assert_eq!(rate_case(None, Some(rules(2, 60, 1, 60, 300)), none, none, (1, 1000), 100, 2), 98);
        // "scaleDown with spec MinReplicas limitation with large percent policy"
        assert_eq!(rate_case(None, Some(rules(0, 0, 100, 60, 300)), none, none, (5, 1000), 10, 2), 5);
        // "scaleUp with pod policy and previous scale up events": 100 - 15 + 150.
        assert_eq!(rate_case(Some(rules(150, 120, 0, 0, 0)), None, &[1, 5, 9], none, (1, 1000), 100, 500), 235);
        // "scaleUp with percent policy and previous scale up and down events"
        assert_eq!(rate_case(Some(rules(0, 0, 300, 300, 0)), None, &[4], &[2], (1, 1000), 6, 24), 16);
        // "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events"
        assert_eq!(rate_case(Some(rules(5, 120, 0, 0, 0)), None, &[1, 5, 9], none, (1, 1000), 100, 500), 100);
        // "scaleDown with percent policy limitation and previous events": (100 + 12) - 50%.
        assert_eq!(rate_case(None, Some(rules(0, 0, 50, 120, 300)), none, &[2, 4, 6], (1, 1000), 100, 0), 56);
        // "scaleDown with percent policy and previous scale up and down events"
        assert_eq!(rate_case(None, Some(rules(0, 0, 50, 180, 0)), &[2], &[4], (1, 1000), 10, 1), 6);
        // "scaleDown with previous events preventing further scale down"
        assert_eq!(rate_case(None, Some(rules(0, 0, 10, 120, 300)), none, &[10, 10, 10], (1, 1000), 100, 0), 100);
    }

    #[test]
    fn select_min_and_disabled() {
        let mut min = rules(2, 60, 50, 60, 0);
        min.select = SelectPolicy::Min;
        // TestCalculateScaleDownLimitWithBehaviors-style: Min picks the smaller change.
        assert_eq!(rate_case(Some(min.clone()), None, &[], &[], (1, 100), 10, 50), 12);
        assert_eq!(rate_case(None, Some(min), &[], &[], (1, 100), 10, 1), 8);
        let mut off = ScalingRules::default_down();
        off.select = SelectPolicy::Disabled;
        assert_eq!(rate_case(None, Some(off), &[], &[], (1, 100), 10, 1), 10);
    }

    fn hpa() -> Hpa {
        Hpa::new(HpaConfig {
            min: 1,
            max: 100,
            tolerance: 0.1,
            up: ScalingRules::default_up(),
            down: ScalingRules::default_down(),
        })
    }

    #[test]
    fn normalize_desired_replicas_cases_of_kubernetes() {
        // TestNormalizeDesiredReplicas "stabilize": recommendations 4 and 5 within the
        // 5-minute window hold a proposal of 3 at 5.
        let now = SimTime::from_secs(10_000);
        let mut h = hpa();
        h.recommendations = vec![(now - SimTime::from_secs(120), 4), (now - SimTime::from_secs(60), 5)];
        assert_eq!(h.stabilize(now, 5, 3), 5);
        assert_eq!(h.recommendations.len(), 3);
        // "no stabilize - old recommendations": 10 and 9 are older than the window.
        let mut h = hpa();
        h.recommendations = vec![(now - SimTime::from_secs(600), 10), (now - SimTime::from_secs(540), 9)];
        assert_eq!(h.stabilize(now, 5, 3), 3);
        // "stabilize - old recommendations": only 4 and 5 count.
        let mut h = hpa();
        h.recommendations = vec![
            (now - SimTime::from_secs(600), 10),
            (now - SimTime::from_secs(60), 4),
            (now - SimTime::from_secs(120), 5),
            (now - SimTime::from_secs(540), 9),
        ];
        assert_eq!(h.stabilize(now, 5, 3), 5);
    }

    #[test]
    fn a_scale_down_waits_out_the_window_and_a_scale_up_does_not() {
        let mut h = hpa();
        let t = SimTime::from_secs;
        // Load rises: 4 asked at once is granted (4 <= 2 x 1 or 1 + 4).
        assert_eq!(h.reconcile(t(15), 1, Some(4)), 4);
        // Load falls: a proposal of 1 is held at 4 for 300 s after the last 4.
        for k in 2..=20 {
            assert_eq!(h.reconcile(t(15 * k), 4, Some(1)), 4, "tick {k}");
        }
        // 300 s after the recommendation of 4 (at 15 s) it no longer counts.
        assert_eq!(h.reconcile(t(15 * 21), 4, Some(1)), 1);
        // Bounds: a size above max is brought down at once, below min up.
        assert_eq!(h.reconcile(t(1000), 200, Some(1)), 100);
        assert_eq!(h.reconcile(t(1015), 0, Some(50)), 1);
        // No metric: no change.
        assert_eq!(h.reconcile(t(1030), 7, None), 7);
    }
}
