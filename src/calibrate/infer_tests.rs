//! [`super::infer`] on trace sets built in code: a frontend calling auth, then catalog
//! and recommendations in parallel, then payments for half its requests (retried after
//! a failure in some), handing off to audit; catalog calling an uninstrumented
//! database; one trace with a skewed clock, one fragment with a missing parent.

use std::path::Path;

use super::infer::{InferOptions, infer};
use super::select::Choice;
use super::span::{SpanAt, SpanKind, SpanRecord, TraceSet};
use super::steps::Step;

const T0: i64 = 1_700_000_000_000_000_000;
const MS: f64 = 1e6;

struct Builder {
    set: TraceSet,
    next: u64,
}

impl Builder {
    fn new() -> Self {
        Builder { set: TraceSet::default(), next: 1 }
    }

    /// A span from `a` to `b` ms after T0; returns its id.
    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        trace: u128,
        parent: Option<u64>,
        service: &str,
        instance: &str,
        kind: SpanKind,
        op: &str,
        a: f64,
        b: f64,
    ) -> u64 {
        let id = self.next;
        self.next += 1;
        let service = self.set.service_index(service);
        self.set.spans.push(SpanRecord {
            trace,
            id,
            parent,
            follows_from: Vec::new(),
            service,
            instance: (!instance.is_empty()).then(|| instance.to_owned()),
            operation: op.to_owned(),
            kind,
            start_ns: T0 + (a * MS).round() as i64,
            end_ns: T0 + (b * MS).round() as i64,
            error: false,
            peer_service: None,
            at: SpanAt { file: "traces.json".into(), line: 1, column: 1 },
        });
        id
    }

    fn last(&mut self) -> &mut SpanRecord {
        self.set.spans.last_mut().expect("a span")
    }

    /// A client span of `from` and the server span of `to` under it, 0.1 ms inside;
    /// `skew` shifts the server's clock. Returns the server span's id.
    #[allow(clippy::too_many_arguments)]
    fn call(&mut self, trace: u128, parent: u64, from: &str, to: &str, a: f64, b: f64, skew: f64, err: bool) -> u64 {
        let c = self.span(trace, Some(parent), from, "", SpanKind::Client, to, a, b);
        self.last().error = err;
        let inst = format!("{to}-1");
        let s = self.span(trace, Some(c), to, &inst, SpanKind::Server, "handle", a + 0.1 + skew, b - 0.1 + skew);
        self.last().error = err;
        s
    }
}

/// The frontend's own time before its calls in request k, ms.
fn own_before(k: usize) -> f64 {
    2.0 + (k % 7) as f64 * 0.5
}

const REQUESTS: usize = 200;

fn traces() -> TraceSet {
    let mut b = Builder::new();
    for k in 0..REQUESTS {
        let t = k as u128 + 1;
        let s = k as f64 * 100.0;
        let fe = b.span(t, None, "frontend", &format!("fe-{}", k % 2), SpanKind::Server, "GET /", s, 0.0);
        let mut at = s + own_before(k);
        // Skewed clock on auth in trace 3: 50 ms behind.
        b.call(t, fe, "frontend", "auth", at, at + 3.0, if k == 3 { -50.0 } else { 0.0 }, false);
        at += 3.0;
        let cat = b.call(t, fe, "frontend", "catalog", at, at + 6.0, 0.0, false);
        let db = b.span(t, Some(cat), "catalog", "", SpanKind::Client, "SELECT", at + 1.0, at + 4.0);
        b.last().peer_service = Some("postgres".into());
        let _ = db;
        b.call(t, fe, "frontend", "recommendations", at, at + 4.0, 0.0, false);
        at += 6.0;
        if k % 2 == 0 {
            if k % 10 == 0 {
                // A failed attempt timed out at 5 ms, then a retry.
                b.call(t, fe, "frontend", "payments", at, at + 5.0, 0.0, true);
                at += 5.0;
            }
            b.call(t, fe, "frontend", "payments", at, at + 5.0, 0.0, false);
            at += 5.0;
        }
        if k % 4 == 0 {
            let p = b.span(t, Some(fe), "frontend", "", SpanKind::Producer, "publish", at, at + 0.2);
            if k % 8 == 0 {
                b.span(t, Some(p), "audit", "audit-1", SpanKind::Consumer, "consume", at + 1.0, at + 2.0);
            } else {
                // The consumer in a trace of its own, linked to the producer.
                b.span(t + 1_000_000, None, "audit", "audit-1", SpanKind::Consumer, "consume", at + 1.0, at + 2.0);
                b.last().follows_from = vec![p];
            }
        }
        let end = T0 + ((at + 0.5) * MS).round() as i64;
        b.set.spans.iter_mut().find(|x| x.id == fe).expect("frontend span").end_ns = end;
    }
    // A fragment whose parent was never exported: a truncated trace.
    b.span(9_999, Some(777_777), "catalog", "catalog-1", SpanKind::Server, "handle", 50.0, 52.0);
    b.set
}

fn load(yaml: &str) {
    if let Err(e) = crate::scenario::load_str(yaml, Path::new("calibrated.yaml"), &[]) {
        panic!("{e}\n---\n{yaml}");
    }
}

#[test]
fn infers_the_graph_steps_and_probabilities() {
    let cal = infer(&traces(), &InferOptions::default()).expect("inferred");
    load(&cal.yaml);
    let names: Vec<&str> = cal.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["audit", "auth", "catalog", "frontend", "payments", "postgres", "recommendations"]);
    let idx = |n: &str| names.iter().position(|&x| x == n).expect("service");
    let fe = &cal.services[idx("frontend")];
    assert_eq!(fe.instances, 2);
    assert_eq!(fe.requests, REQUESTS);
    let callees = |s: &Step| -> Vec<(usize, f64)> {
        match s {
            Step::One(c) => vec![(c.callee, c.probability)],
            Step::Parallel(cs) => cs.iter().map(|c| (c.callee, c.probability)).collect(),
        }
    };
    let steps: Vec<Vec<(usize, f64)>> = fe.steps.iter().map(callees).collect();
    assert_eq!(
        steps,
        vec![
            vec![(idx("auth"), 1.0)],
            vec![(idx("catalog"), 1.0), (idx("recommendations"), 1.0)],
            vec![(idx("payments"), 0.5)],
        ],
        "{}",
        cal.yaml
    );
    assert_eq!(fe.routes, vec![(idx("audit"), 0.25)]);
    // Catalog calls the database named only by peer.service; the fragment without calls
    // lowers the share below 1.
    let cat = &cal.services[idx("catalog")];
    assert!(matches!(&cat.steps[..], [Step::One(c)] if c.callee == idx("postgres")
        && (c.probability - 200.0 / 201.0).abs() < 1e-12));
    assert!(cal.services[idx("postgres")].peer_only);
    assert!(cal.yaml.contains("{ to: \"payments\", probability: 0.5 }"), "{}", cal.yaml);
    assert!(cal.yaml.contains("{ to: \"audit\", probability: 0.25 }"), "{}", cal.yaml);
}

#[test]
fn own_times_exclude_the_union_of_calls() {
    let cal = infer(&traces(), &InferOptions::default()).expect("inferred");
    let by = |n: &str| cal.services.iter().find(|s| s.name == n).expect("service");
    // Frontend: its own time before the calls plus 0.5 ms after them (the producer's
    // send is its own work); catalog and recommendations overlap and count once.
    let want = (0..REQUESTS).map(|k| own_before(k) + 0.5).sum::<f64>() / REQUESTS as f64 * 1e-3;
    assert!((by("frontend").fit.mean_s - want).abs() < 1e-9, "{} vs {want}", by("frontend").fit.mean_s);
    // Catalog: 5.8 ms minus the 3 ms database call.
    assert!((by("catalog").fit.sorted[1] - 2.8e-3).abs() < 1e-9);
    // Auth: 2.8 ms every time, the skewed trace included.
    assert_eq!(by("auth").fit.choice, Choice::Constant(by("auth").fit.sorted[0]));
    assert!((by("auth").fit.sorted[0] - 2.8e-3).abs() < 1e-9);
    assert!(cal.yaml.contains("constant: { value: 2.8ms }"), "{}", cal.yaml);
}

#[test]
fn counts_skew_missing_parents_and_truncated_traces() {
    let set = traces();
    let cal = infer(&set, &InferOptions::default()).expect("inferred");
    assert_eq!(cal.skew_corrections, 1);
    assert_eq!(cal.missing_parents, 1);
    assert_eq!(cal.truncated_traces, 1);
    assert_eq!(cal.traces, REQUESTS + 1 + REQUESTS / 8);
    // The skewed auth span was centred in its client span, 0.1 ms in.
    let forest = super::tree::Forest::build(&set);
    let auth = set.spans.iter().position(|s| s.trace == 4 && set.services[s.service as usize] == "auth").expect("auth");
    let client = forest.parent[auth].expect("client parent");
    assert_eq!(forest.start[auth] - forest.start[client], 100_000);
}

#[test]
fn rates_errors_and_hints() {
    let cal = infer(&traces(), &InferOptions::default()).expect("inferred");
    // Only the frontend's roots enter; audit's linked consumers and the fragment do not.
    assert_eq!(cal.entries.len(), 1, "{:?}", cal.entries);
    let e = &cal.entries[0];
    assert_eq!((e.service.as_str(), e.operation.as_str(), e.requests), ("frontend", "GET /", REQUESTS));
    assert!((e.rate_per_s - 10.0).abs() < 1e-9, "{}", e.rate_per_s);
    assert!(cal.yaml.contains("rate: 10/s"), "{}", cal.yaml);
    let pay = cal.edges.iter().find(|h| h.callee == "payments").expect("payments edge");
    assert_eq!((pay.attempts, pay.retried_calls, pay.max_attempts), (120, 20, 2));
    assert!((pay.error_probability - 20.0 / 120.0).abs() < 1e-12);
    assert_eq!(pay.timeout_s.map(|t| t.1), Some(20));
    assert!((pay.timeout_s.expect("timeout").0 - 5e-3).abs() < 1e-9);
    assert!(cal.yaml.contains("# hint: 20 failed attempts lasted 5ms"), "{}", cal.yaml);
    let payments = cal.services.iter().find(|s| s.name == "payments").expect("payments");
    assert!((payments.own_error_probability - 20.0 / 120.0).abs() < 1e-12);
    assert!(cal.yaml.contains("kind: error, target: \"payments\""), "{}", cal.yaml);
    // The retried call counts once: payments stays one step at 0.5.
    assert_eq!(cal.services.iter().find(|s| s.name == "frontend").expect("fe").steps.len(), 3);
}

#[test]
fn servers_from_peak_concurrency() {
    let mut b = Builder::new();
    for k in 0..4 {
        // Three overlapping requests on one instance, then one alone.
        let a = if k < 3 { k as f64 } else { 100.0 };
        b.span(k as u128 + 1, None, "api", "api-1", SpanKind::Server, "GET", a, a + 10.0);
    }
    let cal = infer(&b.set, &InferOptions::default()).expect("inferred");
    assert_eq!(cal.services[0].servers, 3);
    assert!(cal.yaml.contains("servers: 3  # estimate"), "{}", cal.yaml);
    load(&cal.yaml);
}

#[test]
fn long_traces_get_a_rate_profile_and_odd_names_are_cleaned() {
    let mut b = Builder::new();
    // Two hours: one request a minute in the first, two a minute in the second.
    let mut k = 0u128;
    let mut at = 0.0;
    while at < 7_200_000.0 {
        k += 1;
        b.span(k, None, "web front#1", "", SpanKind::Server, "GET /", at, at + 5.0 + (k % 5) as f64);
        at += if at < 3_600_000.0 { 60_000.0 } else { 30_000.0 };
    }
    let cal = infer(&b.set, &InferOptions::default()).expect("inferred");
    assert_eq!(cal.services[0].name, "web_front_1");
    let p = &cal.entries[0].profile;
    assert_eq!(p.len(), 12, "{p:?}");
    assert!((p[0].1 * 60.0 - 1.0).abs() < 0.1 && (p[11].1 * 60.0 - 2.0).abs() < 0.2, "{p:?}");
    assert!(cal.yaml.contains("profile:"));
    load(&cal.yaml);
}

#[test]
fn refuses_what_it_cannot_calibrate() {
    let e = infer(&TraceSet::default(), &InferOptions::default()).unwrap_err();
    assert!(e.message.contains("no spans"));
    let mut b = Builder::new();
    b.span(1, Some(42), "api", "", SpanKind::Server, "GET", 0.0, 1.0);
    let e = infer(&b.set, &InferOptions::default()).unwrap_err();
    assert!(e.message.contains("no trace has a root span"), "{e}");
    assert_eq!(e.file, Path::new("traces.json"));
    let mut b = Builder::new();
    b.span(1, None, "api", "", SpanKind::Client, "GET", 0.0, 1.0);
    let e = infer(&b.set, &InferOptions::default()).unwrap_err();
    assert!(e.message.contains("no server or consumer span"), "{e}");
}

#[test]
fn parent_cycles_are_cut_not_followed() {
    let mut b = Builder::new();
    let root = b.span(1, None, "api", "", SpanKind::Server, "GET", 0.0, 10.0);
    let x = b.span(2, Some(99), "db", "", SpanKind::Server, "q", 1.0, 2.0);
    let y = b.span(2, Some(x), "db", "", SpanKind::Internal, "i", 1.0, 2.0);
    b.set.spans[1].parent = Some(y);
    let _ = root;
    let cal = infer(&b.set, &InferOptions::default()).expect("inferred");
    assert_eq!(cal.missing_parents, 1);
    assert_eq!(cal.truncated_traces, 1);
    load(&cal.yaml);
}

#[test]
fn every_choice_is_written_as_the_format_reads_it() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Exp, Gamma, LogNormal, Uniform, Weibull};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
    let draws: [(&str, Vec<f64>); 5] = [
        ("exponential:", (0..1000).map(|_| Exp::new(100.0).unwrap().sample(&mut rng)).collect()),
        ("lognormal:", (0..1000).map(|_| LogNormal::new(-5.0, 0.5).unwrap().sample(&mut rng)).collect()),
        ("gamma:", (0..1000).map(|_| Gamma::new(4.0, 0.002).unwrap().sample(&mut rng)).collect()),
        ("weibull:", (0..1000).map(|_| Weibull::new(0.01, 0.6).unwrap().sample(&mut rng)).collect()),
        (
            "empirical:",
            (0..1000)
                .map(|i| if i % 2 == 0 { 0.001 } else { 0.1 } + Uniform::new(0.0, 1e-4).unwrap().sample(&mut rng))
                .collect(),
        ),
    ];
    for (key, own) in draws {
        let mut b = Builder::new();
        for (k, d) in own.iter().enumerate() {
            let a = k as f64 * 200.0;
            b.span(k as u128 + 1, None, "api", "api-1", SpanKind::Server, "GET", a, a + d * 1e3);
        }
        let cal = infer(&b.set, &InferOptions::default()).expect("inferred");
        assert!(cal.yaml.contains(key), "{key}: {}", cal.services[0].fit.reason);
        load(&cal.yaml);
        let model = crate::scenario::load_str(&cal.yaml, Path::new("calibrated.yaml"), &[]).expect("loads").model;
        let mean = own.iter().sum::<f64>() / own.len() as f64;
        let m = model.services[0].service_time.moments().mean;
        assert!((m - mean).abs() < 0.1 * mean, "{key}: model mean {m}, data {mean}");
    }
}

#[test]
fn random_service_times_are_recovered_through_the_calls() {
    use super::fit::Fitted;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Exp};
    const N: usize = 2000;
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(9);
    let (own, db) = (Exp::new(1.0 / 5.0).unwrap(), Exp::new(1.0 / 4.0).unwrap());
    let mut b = Builder::new();
    for k in 0..N {
        let t = k as u128 + 1;
        let s = k as f64 * 50.0;
        let mine = own.sample(&mut rng);
        let wait = db.sample(&mut rng);
        let fe = b.span(t, None, "api", "api-1", SpanKind::Server, "GET", s, s + mine + wait + 0.2);
        b.call(t, fe, "api", "db", s + mine, s + mine + wait + 0.2, 0.0, false);
    }
    let cal = infer(&b.set, &InferOptions::default()).expect("inferred");
    load(&cal.yaml);
    for (name, mean_ms) in [("api", 5.0), ("db", 4.0)] {
        let s = cal.services.iter().find(|s| s.name == name).expect("service");
        let Choice::Family(Fitted::Exponential { mean }) = s.fit.choice else { panic!("{name}: {}", s.fit.reason) };
        let se = mean_ms / (N as f64).sqrt();
        assert!((mean * 1e3 - mean_ms).abs() < 4.0 * se, "{name}: {mean}");
    }
}
