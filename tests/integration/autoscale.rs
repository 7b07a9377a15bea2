//! Horizontal autoscaling end to end: the step from 100/s to 400/s on 10-worker
//! instances (settling at 4 instances, never above 5, the latency back to its level
//! before the step, each step in the instance series), the 300 s scale-down
//! stabilization window, a rate policy bounding the step size, a zone outage (whose dark
//! instances Kubernetes counts as idle on a scale-up, then evicts and replaces in the
//! zones that are up after the eviction timeout), a cold start, an in-flight target,
//! and clear errors.
//!
//! The run is deterministic (fixed seeds); the controller ticks every 15 s and the report
//! windows are 15 s long and aligned with the ticks, so the mean instance count of a
//! window is a whole number between decisions.
//!
//! Run with `cargo test --release --test integration -- autoscale`.

use crate::common::{Sim, assert_error, refusal};

/// Two latency windows compared by their mean p90: the windowed percentiles come from
/// buckets 6.25% wide, so two bucket widths.
const P90_REL_TOL: f64 = 0.125;
/// Instance counts are whole numbers in windows aligned with the ticks; this absorbs the
/// float mean over replications.
const COUNT_TOL: f64 = 1e-9;
/// A mean utilisation over 36 or 40 windows of 4 replications (about 1,500 requests a
/// window): its standard error is near 0.005; a utilisation taken over the `max`
/// instances laid out instead of those provisioned would read 0.05 or 0.2.
const UTIL_TOL: f64 = 0.03;

/// One service of 10-worker instances (50 ms exponential service time, K = 100 each)
/// autoscaled on utilisation 0.5; `{AUTOSCALE}` adds keys, `{PROFILE}` is the load.
const STEP: &str = "
name: hpa-step
duration: {DURATION}
warmup: 0s
window: 15s
replications: 4
seed: 7
services:
  api:
    servers: 10
    capacity: 100
    instances: {INSTANCES}
    service_time: { exponential: { mean: 50ms } }
    autoscale:
      target_utilization: {TARGET}
      min: 1
      max: 10
      startup: 30s
{AUTOSCALE}
workloads:
  - name: users
    target: api
    arrivals:
      poisson:
        profile:
{PROFILE}
";

/// The scenario with its blanks filled: `profile` lines are `(at, rate)`.
fn step_yaml(duration: &str, instances: u32, target: f64, extra: &str, profile: &[(&str, &str)]) -> String {
    let profile: String =
        profile.iter().map(|(at, rate)| format!("          - {{ at: {at}, rate: {rate} }}\n")).collect();
    let extra: String = extra.lines().map(|l| format!("      {l}\n")).collect();
    STEP.replace("{DURATION}", duration)
        .replace("{INSTANCES}", &instances.to_string())
        .replace("{TARGET}", &target.to_string())
        .replace("{AUTOSCALE}\n", &extra)
        .replace("{PROFILE}\n", &profile)
}

impl Sim {
    /// Service `name`'s mean instance count per window.
    fn instances(&self, name: &str) -> &[f64] {
        &self.service(name).autoscaling.as_ref().expect("autoscaled").instances_per_window
    }

    /// The mean over windows `range` of service `name`'s p90 latency.
    fn mean_p90(&self, name: &str, range: std::ops::Range<usize>) -> f64 {
        let t = self.service(name).timeline.as_ref().expect("a timeline");
        let v: Vec<f64> = t.p90_s[range].iter().map(|x| x.expect("answers in every window")).collect();
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The distinct values of a series in order of appearance, each once per run of equals.
fn steps(series: &[f64]) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for &x in series {
        if out.last().is_none_or(|&l| (l - x).abs() > COUNT_TOL) {
            out.push(x);
        }
    }
    out
}

#[test]
fn a_fourfold_step_settles_at_four_instances_and_the_latency_recovers() {
    // 100/s is 5 busy workers of 10 (the target); 400/s needs 4 instances.
    let sim = Sim::run(&step_yaml("1500s", 1, 0.5, "", &[("0s", "100/s"), ("600s", "400/s")]));
    let n = sim.instances("api");
    assert_eq!(n.len(), 100);
    // Before the step (windows 0..40) one instance.
    assert!(n[..40].iter().all(|&x| (x - 1.0).abs() < COUNT_TOL), "{n:?}");
    // After the step: one saturated instance reads utilisation 1, twice the target, so
    // the first decision is 2 (saturation hides the rest of the demand); the two then
    // read 1 again, and the next is 4. Each step is in the series.
    assert_eq!(steps(n), [1.0, 2.0, 4.0], "{n:?}");
    // Settled at 4 from 300 s after the step to the end, never above 5 in any replication.
    assert!(n[60..].iter().all(|&x| (x - 4.0).abs() < COUNT_TOL), "{n:?}");
    let s = sim.sid("api");
    for r in &sim.reps {
        let a = r.services[s].autoscaling.as_ref().expect("autoscaled");
        assert!(a.max <= 5.0, "peak {}", a.max);
    }
    // The latency: far above its level while the fleet is short (windows 40..46), back
    // to it once the new instances take traffic (windows 60..100 against 4..40).
    let (before, after) = (sim.mean_p90("api", 4..40), sim.mean_p90("api", 60..100));
    assert!((after / before - 1.0).abs() < P90_REL_TOL, "p90 {before} before, {after} after");
    assert!(sim.mean_p90("api", 40..46) > 3.0 * before, "the step should hurt before the scale-up");
    // Utilisation is over the workers provisioned: at the target before the step (one
    // instance) and once settled (four), though ten instances are laid out.
    let util = &sim.service("api").gauges.as_ref().expect("gauges").utilization;
    let mean = |r: std::ops::Range<usize>| util[r.clone()].iter().sum::<f64>() / r.len() as f64;
    for (range, what) in [(4..40, "before the step"), (60..100, "settled")] {
        let u = mean(range);
        assert!((u - 0.5).abs() < UTIL_TOL, "utilisation {u} {what}, target 0.5");
    }
    let a = sim.service("api").autoscaling.as_ref().expect("autoscaled");
    assert_eq!((a.scale_ups.mean, a.scale_downs.mean), (Some(2.0), Some(0.0)));
    // The summary's autoscaling table: the peak of 4, two scale-ups, none down.
    let text = resim::report::render_summary(&sim.report);
    let table = text.split("\nAutoscaling").nth(1).expect("an autoscaling table");
    let row = table.lines().find(|l| l.trim_start().starts_with("api")).expect("a row for api");
    let cells: Vec<&str> = row.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(cells[2..4], ["4.000", "2.000"], "{text}");
    assert!(cells[4].starts_with("0.000"), "{text}");
    // The instances never provisioned (#4 to #9) never see a request.
    let arrivals = &sim.service("api").instance_arrivals;
    assert!(arrivals[4..].iter().all(|a| a.mean == Some(0.0)), "{arrivals:?}");
}

#[test]
fn a_scale_down_waits_out_the_stabilization_window() {
    // Four instances at 400/s; the load falls to 80/s at 600 s: one instance is enough,
    // but recommendations of 4 from the last 300 s hold the count until 900 s.
    let profile = [("0s", "400/s"), ("600s", "80/s")];
    let sim = Sim::run(&step_yaml("1200s", 4, 0.5, "", &profile));
    let n = sim.instances("api");
    assert!(n[..60].iter().all(|&x| (x - 4.0).abs() < COUNT_TOL), "held at 4 until 900 s: {n:?}");
    assert!(n[60..].iter().all(|&x| (x - 1.0).abs() < COUNT_TOL), "then 1 (-100% per 15 s allowed): {n:?}");
    // The removed instances (the newest: #1 to #3) drain and take no new request: #0
    // alone gets the last 300 s of load, 80/s x 300 s = 24,000 requests more than each
    // of them (a Poisson count: 5% is over 7 standard deviations).
    let arrivals: Vec<f64> = sim.service("api").instance_arrivals.iter().map(|a| a.mean.unwrap_or_default()).collect();
    let extra = arrivals[0] - arrivals[1];
    assert!((extra / 24_000.0 - 1.0).abs() < 0.05, "{arrivals:?}");
    assert!(arrivals[1..4].iter().all(|&a| (a - arrivals[1]).abs() < 0.05 * arrivals[1]), "{arrivals:?}");
    // A 60 s window lets it go at 675 s (the last recommendation of 4 was at 600 s).
    let short = "behavior:\n  scale_down: { stabilization_window: 60s }";
    let sim = Sim::run(&step_yaml("1200s", 4, 0.5, short, &profile));
    let n = sim.instances("api");
    assert!(n[..44].iter().all(|&x| (x - 4.0).abs() < COUNT_TOL), "{n:?}");
    assert!(n[44..].iter().all(|&x| (x - 1.0).abs() < COUNT_TOL), "{n:?}");
}

#[test]
fn a_rate_policy_bounds_the_step_size() {
    // Target 0.25 at 400/s asks for 8 instances; one more per 60 s at most. Before the
    // step, 40/s reads 0.2 on the one instance (below the target: it stays at `min`).
    let policy = "behavior:\n  scale_up: { policies: [ { type: pods, value: 1, period: 60s } ] }";
    let sim = Sim::run(&step_yaml("1500s", 1, 0.25, policy, &[("0s", "40/s"), ("300s", "400/s")]));
    let n = sim.instances("api");
    // Any 45 s (three windows) holds at most one change of +1.
    for i in 0..n.len() - 3 {
        assert!(n[i + 3] - n[i] <= 1.0 + COUNT_TOL, "windows {i}..{}: {n:?}", i + 3);
    }
    assert_eq!(steps(n), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], "one at a time up to 8: {n:?}");
    // Without the policy the default (+100% or +4 per 15 s) takes far bigger steps.
    let sim = Sim::run(&step_yaml("1500s", 1, 0.25, "", &[("0s", "40/s"), ("300s", "400/s")]));
    assert!(steps(sim.instances("api")).len() < 6, "{:?}", sim.instances("api"));
}

/// Six autoscaled instances over three zones behind health checks; zone a goes dark
/// from 300 s to 900 s. Instance `i` is in zone `i mod 3`: a is #0, #3, #6, #9.
const ZONES: &str = "
name: hpa-zone
duration: 1200s
warmup: 0s
window: 15s
replications: 2
seed: 3
services:
  api:
    servers: 10
    capacity: 100
    instances: 6
    zones: [a, b, c]
    service_time: { exponential: { mean: 50ms } }
    health_check: { interval: 5s, timeout: 1s, unhealthy_threshold: 2 }
    autoscale: { target_utilization: 0.5, min: 3, max: 12, startup: 30s{EVICTION} }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 600/s } } }
faults:
  - { name: zone-a-dark, kind: zone_outage, target: 'zone:a', at: 300s, for: 600s }
";

/// A replacement's arrivals against 100/s (a sixth of 600/s) over the `seconds` it is
/// ready: Poisson counts of 30,000 and more over two replications are within 1.5% at
/// 4 standard deviations; 3% is 9 s of its 100/s either way.
const ARRIVALS_REL_TOL: f64 = 0.03;

/// Each instance's mean arrivals over the replications.
fn arrivals(sim: &Sim) -> Vec<f64> {
    sim.service("api").instance_arrivals.iter().map(|a| a.mean.unwrap_or_default()).collect()
}

/// True when `got` is 100/s over `seconds`, within [`ARRIVALS_REL_TOL`].
fn about(got: f64, seconds: f64) -> bool {
    (got / (100.0 * seconds) - 1.0).abs() < ARRIVALS_REL_TOL
}

#[test]
fn a_zone_outage_moves_the_instances_to_the_other_zones_after_the_eviction_timeout() {
    let sim = Sim::run(&ZONES.replace("{EVICTION}", ""));
    // The count decided never moves: while zone a is dark its two instances leave the
    // balancer (health checks), the other four run at 0.75, and Kubernetes counts the
    // unready ones as idle on a scale-up: the ratio over all six is 1 (the same work over
    // the same pods). An engine that applied the survivors' ratio to all six would ask
    // for 9.
    let n = sim.instances("api");
    assert!(n.iter().all(|&x| (x - 6.0).abs() < COUNT_TOL), "{n:?}");
    let g = sim.service("api").gauges.as_ref().expect("gauges");
    let mean = |r: std::ops::Range<usize>| g.utilization[r.clone()].iter().sum::<f64>() / r.len() as f64;
    let (before, during) = (mean(4..18), mean(22..38));
    assert!((during / before - 1.0).abs() < 0.05, "{before} then {during}");
    // Nothing changes for the default 300 s: at 600 s #0 and #3 are evicted, and their
    // replacements take the lowest free instances of zones that are up, #7 (b) and #8
    // (c), ready 30 s later: six ready instances again, all in b and c, each with a
    // sixth of the load from 630 s to the end.
    let a = arrivals(&sim);
    assert!(about(a[7], 570.0) && about(a[8], 570.0), "{a:?}");
    // #0 and #3 had their sixth until 300 s (and the few refused before the health
    // checks took them out); evicted, they take nothing when zone a comes back.
    assert!(a[0] >= 100.0 * 300.0 && about(a[0], 300.0), "{a:?}");
    assert!(a[3] >= 100.0 * 300.0 && about(a[3], 300.0), "{a:?}");
    // The rest of zone a and the spare instances of b and c were never needed.
    assert!([6, 9, 10, 11].iter().all(|&i| a[i] == 0.0), "{a:?}");
    // The survivors had a sixth, a quarter during the outage (300 s to 630 s), a sixth.
    for i in [1, 2, 4, 5] {
        assert!((a[i] / (100.0 * 870.0 + 150.0 * 330.0) - 1.0).abs() < ARRIVALS_REL_TOL, "{a:?}");
    }
}

#[test]
fn the_eviction_timeout_sets_when_the_instances_move() {
    // Evicted after 120 s: the replacements take traffic from 450 s.
    let sim = Sim::run(&ZONES.replace("{EVICTION}", ", eviction_timeout: 120s"));
    let a = arrivals(&sim);
    assert!(about(a[7], 750.0) && about(a[8], 750.0), "{a:?}");
    // With no free instance in zones b and c (max 6), the replacements wait for zone a
    // to come back at 900 s and start there: #0 and #3 again, ready at 930 s.
    let sim = Sim::run(&ZONES.replace("{EVICTION}", "").replace("max: 12", "max: 6"));
    let a = arrivals(&sim);
    assert!(sim.instances("api").iter().all(|&x| (x - 6.0).abs() < COUNT_TOL));
    assert!(about(a[0], 300.0 + 270.0) && about(a[3], 300.0 + 270.0), "{a:?}");
}

#[test]
fn services_without_autoscale_report_no_autoscaling() {
    let yaml = step_yaml("60s", 1, 0.5, "", &[("0s", "100/s")]);
    let plain = yaml.replace(
        "    autoscale:\n      target_utilization: 0.5\n      min: 1\n      max: 10\n      startup: 30s\n",
        "",
    );
    let sim = Sim::run(&plain);
    assert!(sim.service("api").autoscaling.is_none());
    let json = serde_json::to_string(&sim.report).expect("serialises");
    assert!(!json.contains("autoscaling"), "the key appears only when configured");
    assert!(!resim::report::render_summary(&sim.report).contains("Autoscaling"), "nor the summary's table");
}

#[test]
fn bad_autoscale_keys_are_refused_clearly() {
    let with = |extra: &str| {
        let yaml = step_yaml("60s", 1, 0.5, extra, &[("0s", "100/s")]);
        refusal(&yaml)
    };
    let e = with("target_queue: 3");
    assert_error(&e, "services.api.autoscale", &["exactly one of target_utilization"]);
    let e = with("tolerance: 1.5");
    assert_error(&e, "services.api.autoscale.tolerance", &["outside 0..1"]);
    let e = with("behavior:\n  scale_up: { policies: [ { type: pods, value: 2, period: 0s } ] }");
    assert_error(&e, "services.api.autoscale.behavior.scale_up.policies.0.period", &["above 0 and at most 30m"]);
    let e = with("behavior:\n  scale_down: { policies: [] }");
    assert_error(&e, "services.api.autoscale.behavior.scale_down.policies", &["at least one policy"]);
    let e = with("cold_start: { factor: 0.5, duration: 30s }");
    assert_error(&e, "services.api.autoscale.cold_start.factor", &["between 1 and 100"]);
    let yaml = step_yaml("60s", 1, 0.5, "", &[("0s", "100/s")]).replace("max: 10", "max: 0");
    assert_error(&refusal(&yaml), "services.api.autoscale.max", &["between min (1)"]);
    let yaml = step_yaml("60s", 1, 1.5, "", &[("0s", "100/s")]);
    assert_error(&refusal(&yaml), "services.api.autoscale.target_utilization", &["at most 1"]);
}

#[test]
fn a_cold_start_slows_the_new_instances_first_requests() {
    // The same step with new instances three times slower when they start, warming over
    // 60 s: the latency after the scale-up is worse than without, then recovers.
    let profile = [("0s", "100/s"), ("600s", "400/s")];
    let warm = Sim::run(&step_yaml("1500s", 1, 0.5, "", &profile));
    let cold = Sim::run(&step_yaml("1500s", 1, 0.5, "cold_start: { factor: 3, duration: 60s }", &profile));
    assert!(cold.mean_p90("api", 46..52) > warm.mean_p90("api", 46..52), "warming instances are slower");
    let (w, c) = (warm.mean_p90("api", 70..100), cold.mean_p90("api", 70..100));
    assert!((c / w - 1.0).abs() < P90_REL_TOL, "warm again: {w} vs {c}");
}

#[test]
fn an_in_flight_target_sees_the_overload_that_utilisation_hides() {
    // Requests inside per instance, aimed at 6 (100/s holds 5 inside one instance, below
    // the target). After the step the one saturated instance holds its full 100, 16 times
    // the target, so the first step is as large as the default rate policy allows (+4:
    // 1 -> 5), where utilisation, capped at 1, asked for 2. While those start they count
    // as idle and the ratio is still above 3: +100% (5 -> 10). Ten is more than needed
    // (2 inside each: a third of the target), and 300 s later the count falls to
    // ceil(10 / 3) = 4, where 400/s holds 5 inside each.
    let yaml = step_yaml("1500s", 1, 0.5, "", &[("0s", "100/s"), ("600s", "400/s")])
        .replace("target_utilization: 0.5", "target_in_flight: 6");
    let sim = Sim::run(&yaml);
    let n = sim.instances("api");
    assert_eq!(steps(n), [1.0, 5.0, 10.0, 4.0], "{n:?}");
    assert!(n[80..].iter().all(|&x| (x - 4.0).abs() < COUNT_TOL), "{n:?}");
}
