//! Priority classes against queueing theory: an M/M/1 station (mean service 1 s) with two
//! Poisson workloads, 0.3/s high and 0.4/s low, under each queue discipline.
//!
//! - `priority` (non-preemptive): Cobham (1954), `W_k = W0 / ((1 − σ_{k−1})(1 − σ_k))`,
//!   `W0 = Σ λ_i E[S_i²] / 2 = 0.7`: response 2.0 s (high) and 4.333 s (low); and
//!   Kleinrock's conservation law: the ρ-weighted mean equals FIFO's.
//! - `priority_preemptive` (preemptive-resume): high sees an M/M/1 of its own,
//!   `1 / (1 − 0.3) = 1.4286 s`; low `E[S]/(1 − σ1) + R2/((1 − σ1)(1 − σ2))` with
//!   `R2 = 0.7`: 4.7619 s (Harchol-Balter, ch. 32).
//! - `fifo` and `lifo`: both classes see M/M/1's `1/(1 − 0.7) = 3.333 s` (the mean of a
//!   non-preemptive order that ignores service times does not depend on the order); the
//!   adaptive LIFO spreads it wider (a higher p99).
//! - Shedding `by_priority`: a birth-death chain whose stationary law gives each class's
//!   refused share exactly (PASTA).
//!
//! Each mean is the report's statistic over replications (Student's t 95% CI).

use resim::report::Statistic;
use resim::theory::priority_predictions;

use crate::common::{Sim, assert_error, assert_theory, example, refusal};

/// A simulated mean is accepted by the suite's rule (`assert_theory`: its 95% CI covers
/// the closed form, or it is within 1%), and only from runs long enough that the
/// interval means something: a half-width under 5% of the value.
const MAX_HALF_WIDTH: f64 = 0.05;

/// The two-class M/M/1 with `queue` on the station; `extra` adds keys to the service.
fn two_classes(queue: &str, extra: &str) -> String {
    format!(
        "name: prio\nseed: 23\nwarmup: 500s\nduration: 20000s\nreplications: 24\n\
         services:\n  s: {{ servers: 1, service_time: {{ exponential: {{ mean: 1s }} }}, queue: {queue}{extra} }}\n\
         workloads:\n\
         \x20 - {{ name: high, target: s, priority: 10, arrivals: {{ poisson: {{ rate: 0.3/s }} }} }}\n\
         \x20 - {{ name: low, target: s, priority: 1, arrivals: {{ poisson: {{ rate: 0.4/s }} }} }}\n"
    )
}

impl Sim {
    /// Mean end-to-end latency of workload `name` over the replications: the report's
    /// `latency_s.mean`, which is the statistic of the replications' exact means.
    fn mean_latency(&self, name: &str) -> Statistic {
        let w = self.wid(name);
        let of_reps = Statistic::of(self.reps.iter().map(|r| r.workloads[w].latency_mean_s));
        let reported = self.report.workloads[name].latency_s.mean.expect("workloads report a mean");
        assert_eq!(reported, of_reps);
        reported
    }

    /// The share of workload `name`'s requests that were rejected, over the replications.
    fn rejected_share(&self, name: &str) -> Statistic {
        let w = self.wid(name);
        Statistic::proportion(self.reps.iter().map(|r| {
            let o = &r.workloads[w].outcomes;
            (o[resim::metrics::Outcome::Rejected as usize], o.iter().sum::<f64>())
        }))
    }
}

fn assert_close(what: &str, sim: &Statistic, theory: f64) {
    let half = sim.half_width().unwrap_or(f64::INFINITY) / theory;
    eprintln!("{what}: theory {theory:.4}, simulated {:.4} (95% CI {:?})", sim.value(), sim.ci95);
    assert!(half < MAX_HALF_WIDTH, "{what}: CI too wide ({:.1}%) to judge", half * 100.0);
    assert_theory(what, sim, theory);
}

/// Theory's prediction for each workload of `sim` (by `resim theory`'s recogniser).
fn predicted(sim: &Sim, workload: &str) -> f64 {
    let all = priority_predictions(&sim.model);
    all.iter().find(|p| p.workload == workload).map(|p| p.values.mean_response).expect("a covered priority station")
}
/// M/M/1 at ρ = 0.7, mean service 1 s.
const FIFO_MEAN: f64 = 1.0 / (1.0 - 0.7);

#[test]
fn non_preemptive_priority_matches_cobham_and_conserves_work() {
    let sim = Sim::run(&two_classes("priority", ""));
    let theory = [predicted(&sim, "high"), predicted(&sim, "low")];
    assert!((theory[0] - 2.0).abs() < 1e-12 && (theory[1] - 4.0 - 1.0 / 3.0).abs() < 1e-12);
    assert_close("priority: high", &sim.mean_latency("high"), theory[0]);
    assert_close("priority: low", &sim.mean_latency("low"), theory[1]);
    // Kleinrock's conservation law: ρ-weighted, the mean is FIFO's.
    let weighted = Statistic::of(sim.reps.iter().map(|r| {
        let (h, l) = (r.workloads[sim.wid("high")].latency_mean_s?, r.workloads[sim.wid("low")].latency_mean_s?);
        Some((0.3 * h + 0.4 * l) / 0.7)
    }));
    assert_close("priority: rho-weighted mean", &weighted, FIFO_MEAN);
}

#[test]
fn preemptive_resume_priority_matches_its_closed_form() {
    let sim = Sim::run(&two_classes("priority_preemptive", ""));
    let high = 1.0 / (1.0 - 0.3);
    let low = 1.0 / (1.0 - 0.3) + 0.7 / ((1.0 - 0.3) * (1.0 - 0.7));
    assert!((predicted(&sim, "high") - high).abs() < 1e-12 && (predicted(&sim, "low") - low).abs() < 1e-12);
    assert_close("preemptive: high", &sim.mean_latency("high"), high);
    assert_close("preemptive: low", &sim.mean_latency("low"), low);
}

#[test]
fn fifo_and_adaptive_lifo_give_both_classes_the_mm1_mean() {
    let fifo = Sim::run(&two_classes("fifo", ""));
    let lifo = Sim::run(&two_classes("lifo", ""));
    assert!(priority_predictions(&fifo.model).is_empty(), "no class formula for a fifo station");
    for (sim, what) in [(&fifo, "fifo"), (&lifo, "lifo")] {
        for w in ["high", "low"] {
            assert_close(&format!("{what}: {w}"), &sim.mean_latency(w), FIFO_MEAN);
        }
    }
    // Newest first under overload: the same mean, a longer tail.
    let p99 = |s: &Sim| s.report.workloads["low"].latency_s.p99.value();
    assert!(p99(&lifo) > 1.2 * p99(&fifo), "lifo p99 {} vs fifo {}", p99(&lifo), p99(&fifo));
}

#[test]
fn shedding_by_priority_refuses_the_low_class_first() {
    // Overloaded (1.5/s against 1/s): a line of 6 at most, and of the two levels the
    // lower (browse) is refused from half of it, 3 waiting.
    let yaml = "name: shed\nseed: 5\nwarmup: 200s\nduration: 20000s\nreplications: 16\n\
        services:\n  s: { servers: 1, service_time: { exponential: { mean: 1s } }, queue: priority, \
        shed: { queue_length: { max: 6, by_priority: true } } }\n\
        workloads:\n\
        \x20 - { name: checkout, target: s, criticality: critical, arrivals: { poisson: { rate: 0.5/s } } }\n\
        \x20 - { name: browse, target: s, criticality: sheddable, arrivals: { poisson: { rate: 1.0/s } } }\n";
    let sim = Sim::run(yaml);
    // Birth-death chain on n in system (the line is n − 1): both classes join from
    // n ≤ 3, checkout alone from n ≤ 6, nobody from 7; deaths at rate 1.
    let (both, high) = (1.5, 0.5);
    let mut p = vec![1.0];
    for n in 1..=7 {
        let birth = if n - 1 <= 3 { both } else { high };
        let next = p[n - 1] * birth;
        p.push(next);
    }
    let total: f64 = p.iter().sum();
    let p: Vec<f64> = p.iter().map(|x| x / total).collect();
    let low_refused: f64 = p[4..].iter().sum();
    let high_refused = p[7];
    assert_close("by_priority: browse refused", &sim.rejected_share("browse"), low_refused);
    assert_close("by_priority: checkout refused", &sim.rejected_share("checkout"), high_refused);
    assert!(low_refused > 10.0 * high_refused);
}

#[test]
fn priority_and_criticality_are_exclusive_and_checked() {
    let both = two_classes("fifo", "").replace("priority: 10,", "priority: 10, criticality: critical,");
    assert_error(&refusal(&both), "workloads.0.criticality", &["either `priority` or `criticality`"]);
    let huge = two_classes("fifo", "").replace("priority: 10,", "priority: 2100000000,");
    assert_error(&refusal(&huge), "workloads.0.priority", &["out of range"]);
    let interval = two_classes("{ discipline: priority, interval: 50ms }", "");
    assert_error(&refusal(&interval), "services.s.queue.interval", &["only the `lifo`"]);
    let zero = two_classes("{ discipline: lifo, interval: 0s }", "");
    assert_error(&refusal(&zero), "services.s.queue.interval", &["longer than 0"]);
    let cached = two_classes("priority_preemptive", ", cache: { keys: { uniform: { n: 10 } }, capacity: 5 }");
    assert_error(&refusal(&cached), "services.s.queue", &["cannot preempt", "look up its key twice"]);
}

#[test]
fn checkout_criticality_scenario_sheds_browse_not_checkout() {
    // What its comment says: checkout loses nothing in the surge, browse takes every
    // refusal; served and shed without regard to criticality, checkout loses some.
    let protected = example("checkout-criticality.yaml", &[]);
    let blind = example(
        "checkout-criticality.yaml",
        &["services.api.queue=fifo", "services.api.shed.queue_length.by_priority=false"],
    );
    let availability = |s: &Sim, w: &str| s.report.workloads[w].availability.value();
    assert!(availability(&protected, "checkout") > 0.9999, "{}", availability(&protected, "checkout"));
    assert!(availability(&protected, "browse") < 0.8);
    assert!(availability(&blind, "checkout") < 0.9, "{}", availability(&blind, "checkout"));
    let p50 = |s: &Sim| s.report.workloads["checkout"].latency_s.p50.value();
    assert!(p50(&blind) > 1.3 * p50(&protected));
}

/// Two workloads at `s` (`extra` its policies): 0.4 of the traffic critical, 0.6 sheddable.
fn overloaded(extra: &str) -> String {
    format!(
        "name: limits\nseed: 9\nwarmup: 10s\nduration: 600s\nreplications: 4\n\
         services:\n  s: {{ servers: 10, service_time: {{ exponential: {{ mean: 100ms }} }}, {extra} }}\n\
         workloads:\n\
         \x20 - {{ name: checkout, target: s, criticality: critical, arrivals: {{ poisson: {{ rate: 60/s }} }} }}\n\
         \x20 - {{ name: browse, target: s, criticality: sheddable, arrivals: {{ poisson: {{ rate: 90/s }} }} }}\n"
    )
}

#[test]
fn rate_and_concurrency_limits_by_priority_refuse_the_low_class_first() {
    for extra in [
        "rate_limit: { rate: 100/s, burst: 20, by_priority: true }",
        "concurrency_limit: { aimd: { initial: 20, min: 20, max: 20, by_priority: true } }",
    ] {
        let sim = Sim::run(&overloaded(extra));
        let (high, low) = (sim.rejected_share("checkout").value(), sim.rejected_share("browse").value());
        eprintln!("{extra}: checkout refused {high:.4}, browse {low:.4}");
        // 150/s against 100/s: a third must go, and it is browse's to lose.
        assert!(high < 0.05 && low > 0.3, "{extra}: checkout {high}, browse {low}");
        // Without by_priority both lose alike.
        let blind = Sim::run(&overloaded(&extra.replace(", by_priority: true", "")));
        let (h, l) = (blind.rejected_share("checkout").value(), blind.rejected_share("browse").value());
        assert!((h - l).abs() < 0.05 && h > 0.1, "{extra} without by_priority: checkout {h}, browse {l}");
    }
}

#[test]
fn by_priority_on_a_call_limit_is_refused() {
    let yaml = "name: x\nduration: 10s\nservices:\n  a: { servers: 1, service_time: { constant: { value: 1ms } }, \
        calls: [ { to: b, rate_limit: { rate: 10/s, by_priority: true } } ] }\n  \
        b: { servers: 1, service_time: { constant: { value: 1ms } } }\n\
        workloads:\n  - { name: w, target: a, arrivals: { poisson: { rate: 1/s } } }\n";
    assert_error(&refusal(yaml), "services.a.calls.0.rate_limit.by_priority", &["a service's own limits"]);
}
