//! Validation of the simulator against closed-form queueing theory.
//!
//! Method. Every case is a scenario whose steady state is known exactly: Markovian stations
//! (Poisson arrivals, exponential service times, FIFO) checked against [`mmck`] for a single
//! M/M/c/K station and [`jackson`] for an open network with probabilistic routing and
//! feedback, plus two constant-service cases whose formulas hold for any service time
//! (Pollaczek–Khinchine for M/D/1, the insensitivity of Erlang B for M/D/c/c). The case runs
//! `replications` independent replications with a fixed seed (the engine is deterministic, so
//! each test is reproducible bit for bit), each starting with a warm-up whose statistics are
//! discarded to remove the bias of starting empty. The report's 95% confidence interval of a
//! metric is Student's t across the replication means, `mean ± t(0.975, n − 1)·s/√n`;
//! replications are independent, so the interval is valid however strongly a single run is
//! autocorrelated (which is why a case close to saturation needs long replications).
//!
//! Acceptance. Each metric of each case has an explicit [`Rule`], named by a constant:
//!
//! * [`CI_OR_1PCT`] (the default, as the issue asks): the simulated 95% CI covers the closed
//!   form, *or* the relative error of the simulated mean is under 1%. A 95% CI misses the true
//!   value 5% of the time by chance, and a suite of a few hundred checks would then fail a few
//!   of them; the 1% alternative accepts those misses when the estimate is nonetheless close.
//!   Run lengths keep most half-widths well under 1%, so a bias of 1% would be caught; the
//!   metrics whose intervals stay wider (L, Lq, W, Wq of the ρ = 0.95 queue, about ±3.5%, and
//!   of the feedback network, up to ±2%) are accepted by coverage.
//! * [`NEVER_BLOCKS`] / [`NEVER_WAITS`]: structural zeros (no rejection at unbounded capacity,
//!   no queue in a pure loss system). A relative error of a zero is undefined and every
//!   replication measures exactly zero, so the rule is exact equality.
//! * [`Blocking::Rare`]: a blocking probability of order 1e-6 that a run sees a handful of
//!   times, so neither its relative error nor its CI means anything: an exact Poisson test on
//!   the rejections pooled over all replications (see [`Check::rare_blocking`]).
//!
//! Little's law `L = λ_eff·W` (λ_eff = the measured throughput) must hold within
//! [`LITTLE_TOL`] (1%) for every service of every case, and `Lq = λ_eff·Wq` too.
//!
//! Run `cargo test --release --test integration queueing_theory -- --nocapture` to print the
//! table of every case: theory, simulated mean and CI, and which rule accepted each metric.

use std::fmt::Write as _;

use resim::metrics::Outcome;
use resim::report::{ReplicationSummary, ServiceReport, Statistic};
use resim::theory::{JacksonNode, JacksonResult, StationTheory, erlang_b, hypoexponential_quantile, jackson, mmck};
use statrs::distribution::{DiscreteCDF, Poisson};

use crate::common::Sim;

/// How a simulated metric is compared with its closed form.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// The 95% CI covers the theory, or `|mean − theory| / theory` is below the tolerance.
    CiOrRel(f64),
    /// The simulated mean is exactly the theory (a structural zero).
    Exact,
}

/// The issue's rule: the simulated 95% CI covers the closed form, or the relative error is
/// under 1%.
const CI_OR_1PCT: Rule = Rule::CiOrRel(0.01);
/// Rejections at unbounded capacity (or at a K the queue cannot reach, e.g. P_K ≈ 0.8^9995):
/// impossible, so every replication must count exactly zero.
const NEVER_BLOCKS: Rule = Rule::Exact;
/// Lq and Wq of a pure loss system (K = c): nobody ever waits, so exactly zero.
const NEVER_WAITS: Rule = Rule::Exact;
/// Significance of the test of a rare count ([`Check::rare_blocking`]): a correct engine
/// fails it one time in a thousand. With the rare cases' run lengths it catches zero
/// rejections or 2.5x too many, but lets a blocking off by a factor of 2 either way through.
const RARE_ALPHA: f64 = 1e-3;
/// Relative tolerance of Little's law, `L = λ_eff·W` and `Lq = λ_eff·Wq`, on simulated means.
const LITTLE_TOL: f64 = 0.01;

/// The rule of each station metric.
#[derive(Clone, Copy, Debug)]
struct Rules {
    throughput: Rule,
    blocking: Blocking,
    l: Rule,
    lq: Rule,
    w: Rule,
    wq: Rule,
    utilization: Rule,
}

/// How a blocking probability is checked.
#[derive(Clone, Copy, Debug)]
enum Blocking {
    /// Its simulated mean by a [`Rule`].
    Mean(Rule),
    /// By an exact Poisson test of the pooled rejections, for a blocking of order 1e-6.
    Rare,
}

/// A station with a finite K that blocks noticeably: every metric by the issue's rule.
const FINITE: Rules = Rules {
    throughput: CI_OR_1PCT,
    blocking: Blocking::Mean(CI_OR_1PCT),
    l: CI_OR_1PCT,
    lq: CI_OR_1PCT,
    w: CI_OR_1PCT,
    wq: CI_OR_1PCT,
    utilization: CI_OR_1PCT,
};
/// An unbounded station (or one whose K is never reached): blocking is a structural zero.
const UNBOUNDED: Rules = Rules { blocking: Blocking::Mean(NEVER_BLOCKS), ..FINITE };
/// A finite station whose blocking is of order 1e-6.
const RARELY_FULL: Rules = Rules { blocking: Blocking::Rare, ..FINITE };
/// A pure loss system (K = c): no queue at all.
const LOSS: Rules = Rules { lq: NEVER_WAITS, wq: NEVER_WAITS, ..FINITE };

/// How long and how often a case runs.
struct RunSpec {
    seed: u64,
    warmup: &'static str,
    duration: &'static str,
    replications: u32,
}

impl RunSpec {
    /// The scenario header (name, seed, duration, warm-up, replications).
    fn header(&self, name: &str) -> String {
        format!(
            "name: \"{name}\"\nseed: {}\nwarmup: {}\nduration: {}\nreplications: {}\n",
            self.seed, self.warmup, self.duration, self.replications
        )
    }
}

/// The service-time distribution of a [`Station`], by its mean in microseconds.
#[derive(Clone, Copy, Debug)]
enum ServiceTime {
    /// Exponential (M/M/c/K).
    Exponential(u64),
    /// Constant (M/D/c/K).
    Constant(u64),
}

/// One station (M/M/c/K unless its service time is constant) fed by one Poisson workload.
#[derive(Clone, Copy, Debug)]
struct Station {
    /// Workers c.
    servers: u32,
    /// Kendall's K (in service + waiting); `None` is unbounded.
    capacity: Option<u32>,
    /// Service time; μ = 1e6 / mean in microseconds.
    service: ServiceTime,
    /// Poisson arrival rate λ, per second.
    arrival_rate: f64,
}

impl Station {
    /// An M/M/c/K station with mean service time `service_mean_us` microseconds.
    fn markov(servers: u32, capacity: Option<u32>, service_mean_us: u64, arrival_rate: f64) -> Self {
        Station { servers, capacity, service: ServiceTime::Exponential(service_mean_us), arrival_rate }
    }

    /// The service rate μ of one worker, per second.
    fn mu(&self) -> f64 {
        match self.service {
            ServiceTime::Exponential(us) | ServiceTime::Constant(us) => 1e6 / us as f64,
        }
    }

    /// The YAML of the service (without its name); `extra` adds keys, e.g. `instances: 4`.
    fn service_yaml(&self, extra: &str) -> String {
        let capacity = self.capacity.map(|k| format!(", capacity: {k}")).unwrap_or_default();
        let dist = match self.service {
            ServiceTime::Exponential(us) => format!("exponential: {{ mean: {us}us }}"),
            ServiceTime::Constant(us) => format!("constant: {{ value: {us}us }}"),
        };
        format!("{{ servers: {}{capacity}, service_time: {{ {dist} }}{extra} }}", self.servers)
    }

    /// A scenario of this station alone, as service `s` fed by workload `users`.
    fn scenario(&self, name: &str, run: &RunSpec) -> String {
        format!(
            "{}services:\n  s: {}\nworkloads:\n  - {}\n",
            run.header(name),
            self.service_yaml(""),
            poisson("users", "s", self.arrival_rate)
        )
    }

    /// The M/M/c/K closed form (for a constant service time, valid only where it is
    /// insensitive to the distribution: the loss system).
    fn theory(&self) -> StationTheory {
        mmck(self.arrival_rate, self.mu(), self.servers, self.capacity).expect("valid station")
    }
}

/// A Poisson workload `name` sending `rate` requests per second to `target`, as YAML.
fn poisson(name: &str, target: &str, rate: f64) -> String {
    format!("{{ name: {name}, target: {target}, arrivals: {{ poisson: {{ rate: {rate}/s }} }} }}")
}

impl Sim {
    /// A statistic (mean and Student-t CI) of a quantity computed per replication.
    fn derived(&self, f: impl Fn(&ReplicationSummary) -> f64) -> Statistic {
        Statistic::of(self.reps.iter().map(|r| Some(f(r))))
    }

    /// Measured seconds per replication.
    fn duration_s(&self) -> f64 {
        self.report.duration_s
    }
}

/// One line of a case's table.
struct Row {
    scope: String,
    metric: String,
    theory: f64,
    stat: Statistic,
    verdict: String,
    pass: bool,
}

/// Collects the checks of one case, prints them as a table and fails with every miss.
struct Check {
    case: &'static str,
    rows: Vec<Row>,
}

impl Check {
    fn new(case: &'static str) -> Self {
        Check { case, rows: Vec::new() }
    }

    /// Compares a simulated statistic with its closed form under `rule`.
    fn metric(&mut self, scope: &str, metric: &str, stat: &Statistic, theory: f64, rule: Rule) {
        let (pass, verdict) = match (stat.mean, rule) {
            (None, _) => (false, "no samples".to_owned()),
            (Some(mean), Rule::CiOrRel(tol)) => {
                let rel = (mean - theory).abs() / theory.abs();
                if stat.covers(theory) {
                    (true, format!("CI covers (rel {:.3}%)", rel * 100.0))
                } else if rel < tol {
                    (true, format!("rel {:.3}% < {}%", rel * 100.0, tol * 100.0))
                } else {
                    (false, format!("CI misses and rel {:.3}% >= {}%", rel * 100.0, tol * 100.0))
                }
            }
            (Some(mean), Rule::Exact) => {
                (mean == theory, format!("exact {}", if mean == theory { "==" } else { "!=" }))
            }
        };
        self.rows.push(Row { scope: scope.to_owned(), metric: metric.to_owned(), theory, stat: *stat, verdict, pass });
    }

    /// Checks an identity or invariant that must hold exactly (or to rounding).
    fn holds(&mut self, scope: &str, what: &str, pass: bool, detail: String) {
        let stat = Statistic { mean: None, ci95: None, n: 0 };
        self.rows.push(Row {
            scope: scope.to_owned(),
            metric: what.to_owned(),
            theory: f64::NAN,
            stat,
            verdict: format!("{} {detail}", if pass { "holds:" } else { "FAILS:" }),
            pass,
        });
    }

    /// The seven station metrics against `theory` (scaled already for several instances),
    /// then Little's law on the simulated means.
    fn station(&mut self, scope: &str, svc: &ServiceReport, theory: &StationTheory, rules: Rules) {
        self.metric(scope, "throughput/s", &svc.throughput_per_s, theory.throughput, rules.throughput);
        match rules.blocking {
            Blocking::Mean(rule) => self.metric(scope, "blocking", &svc.blocking_probability, theory.blocking, rule),
            Blocking::Rare => self.rare_blocking(scope, svc, theory),
        }
        self.metric(scope, "L", &svc.mean_in_system, theory.mean_in_system, rules.l);
        self.metric(scope, "Lq", &svc.mean_queue_length, theory.mean_queue_length, rules.lq);
        self.metric(scope, "W s", &svc.mean_sojourn_s, theory.mean_sojourn, rules.w);
        self.metric(scope, "Wq s", &svc.mean_wait_s, theory.mean_wait, rules.wq);
        self.metric(scope, "utilization", &svc.utilization, theory.utilization, rules.utilization);
        self.little(scope, svc);
    }

    /// A two-sided exact Poisson test of a rare blocking on the rejections pooled over all
    /// replications, scaled by their dispersion (quasi-Poisson). Rejections cluster: at K a
    /// full station refuses arrivals until a worker frees (each next event is an arrival with
    /// probability `q = λ/(λ + cμ)`, `cμ = X/U`), and after dropping to K − 1 it comes back to
    /// K with probability `r = q/(1 − q)` (gambler's ruin). A cluster's rejections R are then
    /// a geometric number of visits (mean `1/(1 − r)`) of geometric runs (mean `r`), clusters
    /// are rare and so Poisson, and the total count has variance `D` times its mean with
    /// `D = E[R²]/E[R]` (1.9 and 9 for the two rare cases). Count / D is tested as
    /// Poisson(expected / D), taking the least favourable integer on either side of it.
    fn rare_blocking(&mut self, scope: &str, svc: &ServiceReport, theory: &StationTheory) {
        let reps = svc.arrivals.n as f64;
        let (arrivals, rejected) = (svc.arrivals.value() * reps, svc.rejected.value() * reps);
        let q = theory.arrival_rate / (theory.arrival_rate + theory.throughput / theory.utilization);
        let r = q / (1.0 - q);
        assert!(r < 1.0, "{scope}: blocking is rare only below saturation (q = {q})");
        let (run_mean, run_var) = (r, q / (1.0 - q).powi(2));
        let (visits_mean, visits_var) = (1.0 / (1.0 - r), r / (1.0 - r).powi(2));
        let cluster_mean = visits_mean * run_mean;
        let cluster_var = visits_mean * run_var + visits_var * run_mean * run_mean;
        let d = (cluster_var + cluster_mean * cluster_mean) / cluster_mean;
        let (expected, observed) = (theory.blocking * arrivals / d, rejected / d);
        let scaled = Poisson::new(expected).expect("a positive expected count");
        let at_most = scaled.cdf(observed.ceil() as u64);
        let at_least = if observed < 1.0 { 1.0 } else { scaled.sf(observed.floor() as u64 - 1) };
        let p = (2.0 * at_most.min(at_least)).min(1.0);
        let verdict = format!(
            "{rejected} rejected of {arrivals}, expected {:.1}; D {d:.2}: {observed:.1} vs Poisson({expected:.1}), \
             p = {p:.2e} (alpha {RARE_ALPHA:.0e})",
            theory.blocking * arrivals
        );
        let (scope, metric) = (scope.to_owned(), "blocking (pooled)".to_owned());
        let stat = svc.blocking_probability;
        self.rows.push(Row { scope, metric, theory: theory.blocking, stat, verdict, pass: p >= RARE_ALPHA });
    }

    /// Little's law on the simulated means: `L = X·W` and `Lq = X·Wq`.
    fn little(&mut self, scope: &str, svc: &ServiceReport) {
        let x = svc.throughput_per_s.value();
        for (what, l, w) in [
            ("Little L = X·W", svc.mean_in_system.value(), svc.mean_sojourn_s.value()),
            ("Little Lq = X·Wq", svc.mean_queue_length.value(), svc.mean_wait_s.value()),
        ] {
            let xw = x * w;
            let rel = if l == 0.0 && xw == 0.0 { 0.0 } else { (l - xw).abs() / l.abs().max(xw.abs()) };
            let pass = rel < LITTLE_TOL;
            self.holds(
                scope,
                what,
                pass,
                format!("{l:.6} vs {xw:.6}, rel {:.4}% (tol {}%)", rel * 100.0, LITTLE_TOL * 100.0),
            );
        }
    }

    /// Prints the table and fails with every miss.
    fn finish(self) {
        let mut table = format!("\n== {} ==\n", self.case);
        let _ = writeln!(
            table,
            "{:<10} {:<22} {:>13} {:>13} {:>29}  verdict",
            "scope", "metric", "theory", "sim mean", "sim 95% CI"
        );
        for r in &self.rows {
            let mean = r.stat.mean.map_or("-".to_owned(), |m| format!("{m:.6}"));
            let ci = r.stat.ci95.map_or("-".to_owned(), |[lo, hi]| format!("[{lo:.6}, {hi:.6}]"));
            let theory = if r.theory.is_nan() { "-".to_owned() } else { format!("{:.6}", r.theory) };
            let _ = writeln!(
                table,
                "{:<10} {:<22} {:>13} {:>13} {:>29}  {}{}",
                r.scope,
                r.metric,
                theory,
                mean,
                ci,
                if r.pass { "" } else { "FAIL " },
                r.verdict
            );
        }
        println!("{table}");
        let failures: Vec<String> =
            self.rows.iter().filter(|r| !r.pass).map(|r| format!("{} {}: {}", r.scope, r.metric, r.verdict)).collect();
        assert!(
            failures.is_empty(),
            "{}: {} check(s) failed:\n{}\n{table}",
            self.case,
            failures.len(),
            failures.join("\n")
        );
    }
}

/// Runs a single-station case and checks it against [`mmck`].
fn single_station(case: &'static str, station: Station, run: &RunSpec, rules: Rules) -> (Sim, Check) {
    let sim = Sim::run(&station.scenario(case, run));
    let mut check = Check::new(case);
    check.station("s", sim.service("s"), &station.theory(), rules);
    (sim, check)
}

// ---------------------------------------------------------------------------------------
// Single stations
// ---------------------------------------------------------------------------------------

/// Light load: M/M/2/10 at ρ = 0.3 (a = 0.6); P_K ≈ 6e-6.
#[test]
fn light_load_mm2_k10_rho_0_3() {
    let station = Station::markov(2, Some(10), 10_000, 60.0);
    // 20 replications: 27 rejections expected, enough to tell zero from the truth.
    let run = RunSpec { seed: 11, warmup: "1m", duration: "1h", replications: 20 };
    let (_, check) = single_station("light load M/M/2/10 rho 0.3", station, &run, RARELY_FULL);
    check.finish();
}

/// Heavy load: M/M/1 at ρ = 0.95 (L = 19). The queue relaxes in ~1/(μ(1 − √ρ)²) ≈ 1560 service
/// times (1.6 s here) and its time averages are strongly autocorrelated, so each replication
/// spans ~640 relaxation times after a warm-up of ~30; the CIs of L, Lq, W and Wq stay wider
/// than 1% (about ±3.5%) and coverage decides.
#[test]
fn heavy_load_mm1_rho_0_95() {
    let station = Station::markov(1, None, 1_000, 950.0);
    let run = RunSpec { seed: 12, warmup: "50s", duration: "1000s", replications: 12 };
    let (_, check) = single_station("heavy load M/M/1 rho 0.95", station, &run, UNBOUNDED);
    check.finish();
}

/// Overload with a finite K: M/M/2/8 at ρ = 1.5 (a = 3), about a third of arrivals refused.
#[test]
fn overload_mm2_k8_rho_1_5() {
    let station = Station::markov(2, Some(8), 10_000, 300.0);
    let run = RunSpec { seed: 13, warmup: "1m", duration: "30m", replications: 10 };
    let (_, check) = single_station("overload M/M/2/8 rho 1.5", station, &run, FINITE);
    check.finish();
}

/// Pure loss: M/M/5/5 with a = 3 Erlangs, blocking = Erlang B(5, 3) = 0.110054.
#[test]
fn pure_loss_mm5_k5_erlang_b() {
    let station = Station::markov(5, Some(5), 10_000, 300.0);
    // The theory input is the loss system the issue names.
    assert!((station.theory().blocking - erlang_b(5, 3.0)).abs() < 1e-15);
    assert!((erlang_b(5, 3.0) - 0.110054).abs() < 1e-6);
    let run = RunSpec { seed: 14, warmup: "1m", duration: "30m", replications: 10 };
    let (_, check) = single_station("pure loss M/M/5/5 a 3 (Erlang B)", station, &run, LOSS);
    check.finish();
}

/// A single server, unbounded: M/M/1 at ρ = 0.8. The sojourn time is exponential with rate
/// μ − λ, so its percentiles are checked too: p_q = −ln(1 − q)/(μ − λ).
#[test]
fn single_server_mm1_rho_0_8() {
    let station = Station::markov(1, None, 1_000, 800.0);
    let run = RunSpec { seed: 15, warmup: "20s", duration: "20m", replications: 10 };
    let (sim, mut check) = single_station("c = 1: M/M/1 rho 0.8", station, &run, UNBOUNDED);
    let rate = station.mu() - station.arrival_rate;
    let latency = &sim.service("s").latency_s;
    for (name, stat, q) in [("sojourn p50 s", &latency.p50, 0.5), ("sojourn p90 s", &latency.p90, 0.9)] {
        check.metric("s", name, stat, -f64::ln(1.0 - q) / rate, CI_OR_1PCT);
    }
    check.finish();
}

/// Many servers: M/M/32/40 at ρ = 0.9 (a = 28.8).
#[test]
fn many_servers_mm32_k40_rho_0_9() {
    let station = Station::markov(32, Some(40), 100_000, 288.0);
    let run = RunSpec { seed: 16, warmup: "1m", duration: "40m", replications: 10 };
    let (_, check) = single_station("c = 32: M/M/32/40 rho 0.9", station, &run, FINITE);
    check.finish();
}

/// Large K, the Erlang C limit: M/M/5 with K = 10000 at ρ = 0.8, compared with the
/// unbounded M/M/5 (Erlang C); P_K ≈ 0.8^9995 is never reached.
#[test]
fn large_k_mm5_erlang_c_limit() {
    let station = Station::markov(5, Some(10_000), 10_000, 400.0);
    let erlang_c_limit = mmck(station.arrival_rate, station.mu(), station.servers, None).unwrap();
    let bounded = station.theory();
    assert!((bounded.mean_in_system - erlang_c_limit.mean_in_system).abs() < 1e-9 * erlang_c_limit.mean_in_system);
    let run = RunSpec { seed: 17, warmup: "1m", duration: "30m", replications: 10 };
    let case = "large K: M/M/5/10000 vs Erlang C";
    let sim = Sim::run(&station.scenario(case, &run));
    let mut check = Check::new(case);
    check.station("s", sim.service("s"), &erlang_c_limit, UNBOUNDED);
    check.finish();
}

/// The issue's station: M/M/4/50 at ρ = 0.8 (a = 3.2), as in `scenarios/mmck-basic.yaml`.
#[test]
fn issue_station_mm4_k50_rho_0_8() {
    let station = Station::markov(4, Some(50), 50_000, 64.0);
    // 40 replications: its rejections come in ~9-strong clusters (see `Check::rare_blocking`),
    // and 76 are expected, enough to tell zero from the truth.
    let run = RunSpec { seed: 18, warmup: "10m", duration: "2h", replications: 40 };
    let (_, check) = single_station("M/M/4/50 rho 0.8", station, &run, RARELY_FULL);
    check.finish();
}

// ---------------------------------------------------------------------------------------
// Beyond exponential service: results that hold for a general service time
// ---------------------------------------------------------------------------------------

/// M/D/1 at ρ = 0.8 (constant 1 ms service): the Pollaczek–Khinchine formula gives
/// Wq = λ·E[S²] / (2(1 − ρ)) = ρ·s / (2(1 − ρ)) = 2 ms, half the M/M/1 wait.
#[test]
fn constant_service_md1_pollaczek_khinchine() {
    let station = Station { servers: 1, capacity: None, service: ServiceTime::Constant(1_000), arrival_rate: 800.0 };
    let (lambda, s) = (station.arrival_rate, 1.0 / station.mu());
    let rho = lambda * s;
    let wq = lambda * s * s / (2.0 * (1.0 - rho));
    let theory = StationTheory {
        arrival_rate: lambda,
        blocking: 0.0,
        throughput: lambda,
        utilization: rho,
        mean_in_system: lambda * (wq + s),
        mean_queue_length: lambda * wq,
        mean_sojourn: wq + s,
        mean_wait: wq,
    };
    let run = RunSpec { seed: 24, warmup: "20s", duration: "10m", replications: 10 };
    let case = "M/D/1 rho 0.8 (Pollaczek-Khinchine)";
    let sim = Sim::run(&station.scenario(case, &run));
    let mut check = Check::new(case);
    check.station("s", sim.service("s"), &theory, UNBOUNDED);
    check.finish();
}

/// M/D/5/5 with a = 3: the Erlang B formula is insensitive to the service-time distribution
/// beyond its mean, so a constant 10 ms service blocks exactly as the M/M/5/5 (0.110054), and
/// every sojourn is exactly the service time.
#[test]
fn constant_service_loss_erlang_b_insensitivity() {
    let station =
        Station { servers: 5, capacity: Some(5), service: ServiceTime::Constant(10_000), arrival_rate: 300.0 };
    let run = RunSpec { seed: 25, warmup: "1m", duration: "30m", replications: 10 };
    let (_, check) = single_station("M/D/5/5 a 3 (Erlang B insensitivity)", station, &run, LOSS);
    check.finish();
}

// ---------------------------------------------------------------------------------------
// Networks
// ---------------------------------------------------------------------------------------

/// One node of an open network: an M/M/c station with hand-offs to other nodes.
struct Node {
    /// Service name.
    name: &'static str,
    /// Workers c.
    servers: u32,
    /// Mean exponential service time, microseconds.
    service_mean_us: u64,
    /// Poisson arrivals from outside, per second (0: none), from workload `w_<name>`.
    external_rate: f64,
    /// `(index of the next node, probability)`; the remainder leaves the network.
    routes: &'static [(usize, f64)],
}

/// The scenario of an open network and its Jackson solution, from one description.
fn network(case: &str, run: &RunSpec, nodes: &[Node]) -> (String, JacksonResult) {
    let mut yaml = format!("{}services:\n", run.header(case));
    for node in nodes {
        let routes: Vec<String> =
            node.routes.iter().map(|&(to, p)| format!("{{ to: {}, probability: {p} }}", nodes[to].name)).collect();
        let _ = writeln!(
            yaml,
            "  {}: {{ servers: {}, service_time: {{ exponential: {{ mean: {}us }} }}, routes: [{}] }}",
            node.name,
            node.servers,
            node.service_mean_us,
            routes.join(", ")
        );
    }
    yaml.push_str("workloads:\n");
    for node in nodes.iter().filter(|n| n.external_rate > 0.0) {
        let _ = writeln!(yaml, "  - {}", poisson(&format!("w_{}", node.name), node.name, node.external_rate));
    }
    let jackson_nodes: Vec<JacksonNode> = nodes
        .iter()
        .map(|n| JacksonNode { external_rate: n.external_rate, mu: 1e6 / n.service_mean_us as f64, servers: n.servers })
        .collect();
    let routing: Vec<Vec<f64>> = nodes
        .iter()
        .map(|n| {
            let mut row = vec![0.0; nodes.len()];
            for &(to, p) in n.routes {
                row[to] += p;
            }
            row
        })
        .collect();
    (yaml, jackson(&jackson_nodes, &routing).expect("stable network"))
}

/// Every node against Jackson (each node is an M/M/c station at its total arrival rate λ_i,
/// with per-visit W and Wq), then the network as a whole: the rate at which jobs leave it
/// (finished workload requests per second) is the total external rate, nothing is refused,
/// and the mean time in the network, `Σ L_i / X_network` (Little's law on the whole network),
/// is Jackson's `Σ L_i / Σ γ_i`.
fn check_network(check: &mut Check, sim: &Sim, nodes: &[Node], theory: &JacksonResult) {
    for (node, station) in nodes.iter().zip(&theory.nodes) {
        check.station(node.name, sim.service(node.name), station, UNBOUNDED);
    }
    let secs = sim.duration_s();
    let finished = |r: &ReplicationSummary| r.workloads.iter().map(|w| w.outcomes.iter().sum::<f64>()).sum::<f64>();
    let network_throughput = sim.derived(|r| finished(r) / secs);
    check.metric("network", "throughput/s", &network_throughput, theory.total_external_rate, CI_OR_1PCT);
    let rejected = sim.derived(|r| r.workloads.iter().map(|w| w.outcomes[Outcome::Rejected as usize]).sum());
    check.metric("network", "rejected", &rejected, 0.0, NEVER_BLOCKS);
    let time_in_network =
        sim.derived(|r| r.services.iter().map(|s| s.mean_in_system).sum::<f64>() / (finished(r) / secs));
    check.metric("network", "time in network s", &time_in_network, theory.mean_sojourn, CI_OR_1PCT);
}

/// A 3-node tandem of M/M/1 stations (ρ = 0.5, 0.625, 0.8), checked node by node against
/// Jackson. By Reich's theorem the sojourn times of a customer at successive M/M/1 nodes
/// of a tandem are independent exponentials of rates μ_i − λ, so the workload's end-to-end
/// latency is hypoexponential: its percentiles are checked too.
#[test]
fn tandem_three_mm1_nodes() {
    const LAMBDA: f64 = 500.0;
    let nodes = [
        Node { name: "n1", servers: 1, service_mean_us: 1_000, external_rate: LAMBDA, routes: &[(1, 1.0)] },
        Node { name: "n2", servers: 1, service_mean_us: 1_250, external_rate: 0.0, routes: &[(2, 1.0)] },
        Node { name: "n3", servers: 1, service_mean_us: 1_600, external_rate: 0.0, routes: &[] },
    ];
    let run = RunSpec { seed: 19, warmup: "20s", duration: "15m", replications: 10 };
    let case = "3-node tandem (Jackson)";
    let (yaml, theory) = network(case, &run, &nodes);
    let sim = Sim::run(&yaml);
    let mut check = Check::new(case);
    check_network(&mut check, &sim, &nodes, &theory);
    let rates: Vec<f64> = nodes.iter().map(|n| 1e6 / n.service_mean_us as f64 - LAMBDA).collect();
    let latency = &sim.report.workloads["w_n1"].latency_s;
    for (name, stat, q) in [
        ("end-to-end p50 s", &latency.p50, 0.5),
        ("end-to-end p90 s", &latency.p90, 0.9),
        ("end-to-end p99 s", &latency.p99, 0.99),
    ] {
        check.metric("w_n1", name, stat, hypoexponential_quantile(&rates, q), CI_OR_1PCT);
    }
    check.finish();
}

/// An open network with probabilistic routing, feedback (including a node back to itself),
/// two entry points and multi-server nodes, checked node by node against Jackson:
///
/// ```text
/// a (c=3, 15 ms): -> a 0.2, -> b 0.5, exit 0.3     100/s from outside
/// b (c=2, 20 ms): -> a 0.3, -> c 0.2, exit 0.5
/// c (c=1,  8 ms): -> a 0.1,           exit 0.9      60/s from outside
/// ```
///
/// Traffic: λa = 165.625, λb = 82.8125, λc = 76.5625/s; ρ ≈ 0.83, 0.83, 0.61.
#[test]
fn network_with_routing_and_feedback() {
    let nodes = [
        Node { name: "a", servers: 3, service_mean_us: 15_000, external_rate: 100.0, routes: &[(0, 0.2), (1, 0.5)] },
        Node { name: "b", servers: 2, service_mean_us: 20_000, external_rate: 0.0, routes: &[(0, 0.3), (2, 0.2)] },
        Node { name: "c", servers: 1, service_mean_us: 8_000, external_rate: 60.0, routes: &[(0, 0.1)] },
    ];
    let run = RunSpec { seed: 20, warmup: "1m", duration: "1h", replications: 10 };
    let case = "feedback network (Jackson)";
    let (yaml, theory) = network(case, &run, &nodes);
    // The traffic equations solved by hand (see above): the theory input is the intended one.
    assert!((theory.nodes[0].arrival_rate - 165.625).abs() < 1e-9, "{theory:?}");
    assert!((theory.nodes[2].arrival_rate - 76.5625).abs() < 1e-9, "{theory:?}");
    let sim = Sim::run(&yaml);
    let mut check = Check::new(case);
    check_network(&mut check, &sim, &nodes, &theory);
    check.finish();
}

/// Several instances: 4 instances of M/M/2/6 behind a random balancer. A random split of a
/// Poisson stream is Poisson, so each instance is an M/M/2/6 at λ/4 (ρ = 0.75). The service
/// reports sums over instances for the throughput, L and Lq, and averages for the rest.
#[test]
fn instances_behind_random_balancer() {
    const INSTANCES: u32 = 4;
    let per_instance = Station::markov(2, Some(6), 10_000, 150.0);
    let run = RunSpec { seed: 21, warmup: "1m", duration: "20m", replications: 10 };
    let case = "4 instances of M/M/2/6, random balancer";
    let yaml = format!(
        "{}services:\n  s: {}\nworkloads:\n  - {}\n",
        run.header(case),
        per_instance.service_yaml(&format!(", instances: {INSTANCES}, load_balancer: random")),
        poisson("users", "s", per_instance.arrival_rate * f64::from(INSTANCES))
    );
    let one = per_instance.theory();
    let n = f64::from(INSTANCES);
    let service = StationTheory {
        arrival_rate: one.arrival_rate * n,
        throughput: one.throughput * n,
        mean_in_system: one.mean_in_system * n,
        mean_queue_length: one.mean_queue_length * n,
        ..one
    };
    let sim = Sim::run(&yaml);
    let mut check = Check::new(case);
    check.station("s", sim.service("s"), &service, FINITE);
    check.finish();
}

/// Two workloads merging into one station: Poisson streams of 120/s and 80/s superpose into
/// one of 200/s, an M/M/3/12 at ρ = 0.8. By PASTA each workload sees the station's blocking,
/// so each one's availability (the fraction of its requests served) is 1 − P_K.
#[test]
fn two_workloads_merge_into_one_station() {
    let station = Station::markov(3, Some(12), 12_000, 200.0);
    let run = RunSpec { seed: 22, warmup: "1m", duration: "30m", replications: 10 };
    let case = "two workloads into M/M/3/12";
    let yaml = format!(
        "{}services:\n  s: {}\nworkloads:\n  - {}\n  - {}\n",
        run.header(case),
        station.service_yaml(""),
        poisson("web", "s", 120.0),
        poisson("mobile", "s", 80.0)
    );
    let theory = station.theory();
    let sim = Sim::run(&yaml);
    let mut check = Check::new(case);
    check.station("s", sim.service("s"), &theory, FINITE);
    for w in ["web", "mobile"] {
        check.metric(w, "availability", &sim.report.workloads[w].availability, 1.0 - theory.blocking, CI_OR_1PCT);
    }
    check.finish();
}

// ---------------------------------------------------------------------------------------
// Counters and Little's law per replication
// ---------------------------------------------------------------------------------------

/// Longest sojourn the M/M/2/8 of [`independent_counters_and_littles_law_per_replication`]
/// has inside a window, seconds: at most 8 exponential 10 ms services in a row, and
/// P(Gamma(8, 10 ms) > 1 s) ≈ 1e-33.
const MAX_SOJOURN_S: f64 = 1.0;
/// Longest service time there, seconds: P(Exp(10 ms) > 0.25 s) = e^-25 per request.
const MAX_SERVICE_S: f64 = 0.25;

/// What every replication of the overloaded M/M/2/8 must satisfy, each check comparing
/// counters the engine keeps apart:
/// * the service's completions (counted as a worker frees) are the workload's `ok` answers
///   summed over its timeline's windows (counted as the answer reaches the user), and its
///   rejections the workload's `rejected` answers;
/// * Little's law per replication, on the whole station (`L = X·W`, the area under the
///   number inside against the sojourn sum), on its queue (`Lq = X·Wq`) and on its workers
///   (`c·U = X·(W − Wq)`, the busy-worker area against the summed service times). On a
///   finite window each differs only by the requests inside at its start or end: at most K
///   (or c at the workers), each for at most [`MAX_SOJOURN_S`] (or [`MAX_SERVICE_S`]);
/// * what is inside never exceeds K, a worker is never more than busy, and arrivals −
///   rejected − completed is bounded by the at most K requests inside at either end.
#[test]
fn independent_counters_and_littles_law_per_replication() {
    let station = Station::markov(2, Some(8), 10_000, 300.0);
    let run = RunSpec { seed: 23, warmup: "10s", duration: "2m", replications: 4 };
    let case = "independent counters and Little's law (M/M/2/8 overload)";
    let sim = Sim::run(&station.scenario(case, &run));
    let mut check = Check::new(case);
    let secs = sim.duration_s();
    let s = sim.model.service_id("s").unwrap();
    let k = f64::from(station.capacity.unwrap());
    let c = f64::from(station.servers);
    for (i, rep) in sim.reps.iter().enumerate() {
        let svc = &rep.services[s];
        let wl = &rep.workloads[0];
        let scope = format!("rep {i}");
        let timeline = |o: Outcome| wl.outcome_windows().iter().map(|w| w[o as usize]).sum::<f64>();
        let (ok, rejected) = (timeline(Outcome::Ok), timeline(Outcome::Rejected));
        check.holds(
            &scope,
            "completed, rejected = users' ok, rejected",
            svc.completed == ok && svc.rejected == rejected && wl.arrivals == svc.arrivals,
            format!("{} and {} vs {ok} and {rejected} in the windows", svc.completed, svc.rejected),
        );
        let (w, wq) = (svc.mean_sojourn.unwrap_or(f64::NAN), svc.mean_wait.unwrap_or(f64::NAN));
        let x = svc.departures;
        for (what, area, little, edge) in [
            ("Little L = X·W", svc.mean_in_system, x * w, k * MAX_SOJOURN_S / secs),
            ("Little Lq = X·Wq", svc.mean_queue_length, x * wq, k * MAX_SOJOURN_S / secs),
            ("Little c·U = X·(W − Wq)", c * svc.utilization, x * (w - wq), c * MAX_SERVICE_S / secs),
        ] {
            let gap = area - little;
            check.holds(
                &scope,
                what,
                gap.abs() <= edge,
                format!("{area:.6} vs {little:.6}, |gap| {gap:.2e} <= {edge:.2e}"),
            );
        }
        let inside = svc.arrivals - svc.rejected - svc.completed;
        let bounded = svc.mean_in_system <= k && svc.utilization <= 1.0 && inside.abs() <= k;
        check.holds(&scope, "L, |admitted − completed| <= K, U <= 1", bounded, format!("{inside}"));
    }
    check.finish();
}
