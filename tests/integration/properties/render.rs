//! Writing a generated [`Case`] as YAML text, and what the checks need to know about it
//! ([`Meta`]). A [`Writer`] writes one section of the scenario per method, in the order
//! the file lists them (header, services, workloads, faults), gathering the metadata and
//! what later sections target (edges, populated zones, Poisson workloads) on the way.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::generator::{
    Add, Arrivals, BALANCERS, CLASSES, Case, FAULT_KINDS, Fault, Level, Outlier, Pools, Schedule, Service, Shed,
    Workload,
};
use super::policies::{Call, Map, Step, ms, render_call};

/// What the checks need to know about a service.
#[derive(Clone, Debug, Default)]
pub(super) struct ServiceMeta {
    /// Most requests inside all its instances; `None` when some pool is unbounded.
    pub(super) bound: Option<f64>,
    /// Its service time is drawn from a continuous law.
    pub(super) continuous: bool,
    /// CoDel sheds at dequeue (counted in `dropped`, not `rejected`).
    pub(super) codel: bool,
    /// Some route leads to it.
    pub(super) routed_into: bool,
}

#[derive(Clone, Debug)]
pub(super) struct WorkloadMeta {
    pub(super) target: String,
    pub(super) users: Option<u32>,
}

/// Which policies some call site of an edge declares.
#[derive(Clone, Debug, Default)]
pub(super) struct EdgeMeta {
    pub(super) retry: bool,
    pub(super) hedge: bool,
    pub(super) breaker: bool,
    pub(super) rate_limit: bool,
    pub(super) bulkhead: bool,
    pub(super) fallback: bool,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Meta {
    pub(super) warmup_s: f64,
    pub(super) duration_s: f64,
    pub(super) services: BTreeMap<String, ServiceMeta>,
    pub(super) workloads: BTreeMap<String, WorkloadMeta>,
    pub(super) edges: BTreeMap<String, EdgeMeta>,
    /// Some enabled fault crashes instances (calls of lost callers are dropped unanswered).
    pub(super) crashes: bool,
    /// Some route leads to the service itself or to an earlier one (which may call it).
    pub(super) route_back: bool,
}

/// Zone names: instance i of a service with n zones is in zone i mod n.
const ZONE_NAMES: [&str; 3] = ["a", "b", "c"];

/// The name of service `i`.
fn name(i: usize) -> String {
    format!("s{i}")
}

/// A scenario being written: the text so far, what the checks need to know, and what the
/// later sections take from the earlier ones.
struct Writer<'a> {
    case: &'a Case,
    /// The number of services.
    n: usize,
    y: String,
    meta: Meta,
    /// Zones some service lists: where a workload may start.
    all_zones: Vec<&'static str>,
    /// Zones some instance is in (instance i in zone i mod n): what a fault may target.
    populated: Vec<&'static str>,
    /// The request classes of the workloads: what a pool may own.
    classes: Vec<&'static str>,
    /// Edges in the order the validator meets them; only the first call site of an edge
    /// declares the edge's shared policies (breaker, limiter, bulkhead).
    edges: Vec<(usize, usize)>,
    /// Services some route leads to.
    routed_into: BTreeSet<usize>,
    /// Workloads with Poisson arrivals: what a load fault may target.
    poisson: Vec<usize>,
}

impl Case {
    /// The scenario as YAML text, and what the checks need to know about it.
    pub(super) fn render(&self) -> (String, Meta) {
        let mut w = Writer::new(self);
        w.header();
        w.services();
        w.workloads();
        w.faults();
        (w.y, w.meta)
    }
}

impl<'a> Writer<'a> {
    fn new(case: &'a Case) -> Self {
        let mut all_zones: Vec<&str> =
            case.services.iter().filter_map(|s| s.recovery.zones).flat_map(|z| ZONE_NAMES[..z].to_vec()).collect();
        all_zones.sort_unstable();
        all_zones.dedup();
        let mut populated: Vec<&str> = case
            .services
            .iter()
            .filter_map(|s| s.recovery.zones.map(|z| (z, s.instances as usize)))
            .flat_map(|(z, i)| ZONE_NAMES[..z.min(i)].to_vec())
            .collect();
        populated.sort_unstable();
        populated.dedup();
        let class_of = |w: &Workload| CLASSES[w.class.unwrap_or(0)];
        let mut classes: Vec<&str> = case.workloads.iter().map(class_of).collect();
        classes.sort_unstable();
        classes.dedup();
        let meta =
            Meta { warmup_s: f64::from(case.warmup_s), duration_s: f64::from(case.duration_s), ..Meta::default() };
        Writer {
            case,
            n: case.services.len(),
            y: String::new(),
            meta,
            all_zones,
            populated,
            classes,
            edges: Vec::new(),
            routed_into: BTreeSet::new(),
            poisson: Vec::new(),
        }
    }

    fn header(&mut self) {
        let (c, y) = (self.case, &mut self.y);
        let _ = writeln!(y, "name: generated");
        let _ = writeln!(y, "duration: {}s", c.duration_s);
        let _ = writeln!(y, "warmup: {}s", c.warmup_s);
        let _ = writeln!(y, "replications: {}", c.replications);
        let _ = writeln!(y, "seed: {}", c.seed);
        if let Some(w) = c.window_ms {
            let _ = writeln!(y, "window: {}", ms(w));
        }
    }

    fn services(&mut self) {
        let _ = writeln!(self.y, "services:");
        let case = self.case;
        for (i, s) in case.services.iter().enumerate() {
            self.service(i, s);
        }
        for to in &self.routed_into {
            if let Some(m) = self.meta.services.get_mut(&name(*to)) {
                m.routed_into = true;
            }
        }
    }

    fn service(&mut self, i: usize, s: &Service) {
        let _ = writeln!(self.y, "  {}:", name(i));
        let bound = self.capacity(s);
        let y = &mut self.y;
        let _ = writeln!(y, "    instances: {}", s.instances);
        let _ = writeln!(y, "    load_balancer: {}", BALANCERS[s.balancer % 4]);
        let service_time = if self.case.lockstep { s.service_time.rounded() } else { s.service_time.clone() };
        let _ = writeln!(y, "    service_time: {}", service_time.yaml());
        if let Some(z) = s.recovery.zones {
            let _ = writeln!(y, "    zones: [{}]", ZONE_NAMES[..z].join(", "));
            if s.recovery.prefer_local_zone {
                let _ = writeln!(y, "    prefer_local_zone: true");
            }
        }
        if s.server.deadline_propagation {
            let _ = writeln!(y, "    deadline_propagation: true");
        }
        if i + 1 < self.n && !s.steps.is_empty() {
            self.calls(i, s);
        }
        self.routes(i, s);
        self.rate_limit(s);
        let codel = self.shed(s, service_time.known_mean());
        self.concurrency_limit(s);
        self.degradation(s);
        self.recovery(s);
        self.meta
            .services
            .insert(name(i), ServiceMeta { bound, continuous: service_time.continuous(), codel, routed_into: false });
    }

    /// `servers` and `capacity`, or the pools; returns the most requests inside all the
    /// service's instances, `None` when unbounded.
    fn capacity(&mut self, s: &Service) -> Option<f64> {
        let y = &mut self.y;
        let mut bound = None;
        match &s.server.pools {
            None => {
                let _ = writeln!(y, "    servers: {}", s.servers);
                if let Some(k) = s.capacity_extra {
                    let _ = writeln!(y, "    capacity: {}", s.servers + k);
                    bound = Some(f64::from((s.servers + k) * s.instances));
                }
            }
            Some(p) => {
                let _ = writeln!(y, "    pools:");
                let caps: Option<u32> = p.pools.iter().map(|q| q.capacity_extra.map(|k| q.servers + k)).sum();
                bound = caps.map(|c| f64::from(c * s.instances));
                self.pools(p);
            }
        }
        bound
    }

    fn pools(&mut self, p: &Pools) {
        for (k, q) in p.pools.iter().enumerate() {
            let mut m = Map::default();
            m.put("servers", q.servers);
            m.opt("capacity", q.capacity_extra.map(|e| q.servers + e));
            if !(k == 0 && p.catch_all) {
                let owned: Vec<&str> = self
                    .classes
                    .iter()
                    .enumerate()
                    .filter(|&(c, _)| p.owners[c % 3] % (p.pools.len() + 1) == k)
                    .map(|(_, name)| *name)
                    .collect();
                m.put("classes", format!("[{}]", owned.join(", ")));
            }
            if q.borrow {
                m.put("borrow", true);
            }
            let _ = writeln!(self.y, "      p{k}: {}", m.yaml());
        }
    }

    fn calls(&mut self, i: usize, s: &Service) {
        let _ = writeln!(self.y, "    calls:");
        for st in &s.steps {
            match st {
                Step::One(c) => {
                    let site = self.call_site(i, c);
                    let _ = writeln!(self.y, "      - {site}");
                }
                Step::Parallel(cs) => {
                    let _ = writeln!(self.y, "      - parallel:");
                    for c in cs {
                        let site = self.call_site(i, c);
                        let _ = writeln!(self.y, "          - {site}");
                    }
                }
            }
        }
    }

    /// A call site of service `i`, noting its edge.
    fn call_site(&mut self, i: usize, c: &Call) -> String {
        let j = i + 1 + c.to % (self.n - i - 1);
        let first = !self.edges.contains(&(i, j));
        if first {
            self.edges.push((i, j));
        }
        let e = self.meta.edges.entry(format!("{}->{}", name(i), name(j))).or_default();
        render_call(c, &name(j), first, e)
    }

    fn routes(&mut self, i: usize, s: &Service) {
        let n = self.n;
        let routes: Vec<(usize, f64)> = s.routes.iter().map(|&(to, p)| (to % n, p)).collect();
        // A route to itself or an earlier service can bring a callee's request back into
        // an instance its caller is inside.
        self.meta.route_back |= routes.iter().any(|&(to, _)| to <= i);
        if !routes.is_empty() {
            let _ = writeln!(self.y, "    routes:");
            for (to, p) in &routes {
                let _ = writeln!(self.y, "      - {{ to: {}, probability: {p:.3} }}", name(*to));
                self.routed_into.insert(*to);
            }
        }
    }

    fn rate_limit(&mut self, s: &Service) {
        if let Some((rate, burst)) = s.server.rate_limit {
            let mut m = Map::default();
            m.put("rate", format!("{rate:.2}/s"));
            m.opt("burst", burst);
            let _ = writeln!(self.y, "    rate_limit: {}", m.yaml());
        }
    }

    /// Load shedding (queue time only where the service time has a known mean); returns
    /// whether it is CoDel.
    fn shed(&mut self, s: &Service, known_mean: bool) -> bool {
        let mut codel = false;
        if let Some(shed) = &s.server.shed {
            let text = match shed {
                Shed::QueueTime(w) if known_mean => {
                    format!("{{ queue_time: {{ max_wait: {} }} }}", ms(*w))
                }
                Shed::QueueLength(max) | Shed::QueueTime(max) => format!("{{ queue_length: {{ max: {max} }} }}"),
                Shed::Codel(t, i) => {
                    codel = true;
                    let mut m = Map::default();
                    m.opt("target", t.map(ms));
                    m.opt("interval", i.map(ms));
                    format!("{{ codel: {} }}", m.yaml())
                }
            };
            let _ = writeln!(self.y, "    shed: {text}");
        }
        codel
    }

    fn concurrency_limit(&mut self, s: &Service) {
        if let Some(l) = &s.server.limit {
            let mut m = Map::default();
            m.put("initial", l.min + l.initial_extra);
            m.put("min", l.min);
            m.put("max", l.min + l.initial_extra + l.max_extra);
            if l.gradient {
                m.opt("smoothing", l.a.map(|a| format!("{a:.3}")));
                m.opt("rtt_tolerance", l.b.map(|b| format!("{:.2}", 1.0 + f64::from(b % 300) / 100.0)));
                let _ = writeln!(self.y, "    concurrency_limit: {{ gradient: {} }}", m.yaml());
            } else {
                m.opt("backoff_ratio", l.a.map(|a| format!("{a:.3}")));
                m.opt("timeout", l.b.map(ms));
                let _ = writeln!(self.y, "    concurrency_limit: {{ aimd: {} }}", m.yaml());
            }
        }
    }

    fn degradation(&mut self, s: &Service) {
        if let Some(d) = &s.server.degradation {
            let mut m = Map::default();
            m.opt("interval", d.interval_ms.map(ms));
            m.opt("min_dwell", d.min_dwell_ms.map(ms));
            if let Some(levels) = &d.levels {
                let mut items = vec!["{ name: full, value: 1 }".to_owned()];
                items.extend(levels.iter().enumerate().map(|(k, l)| degradation_level(k, l)));
                m.put("levels", format!("[{}]", items.join(", ")));
            }
            let _ = writeln!(self.y, "    degradation: {}", m.yaml());
        }
    }

    /// Health checks, outlier ejection and failover.
    fn recovery(&mut self, s: &Service) {
        let y = &mut self.y;
        if let Some((interval, timeout, unhealthy, healthy)) = s.recovery.health_check {
            let mut m = Map::default();
            m.opt("interval", interval.map(ms));
            m.opt("timeout", timeout.map(ms));
            m.opt("unhealthy_threshold", unhealthy);
            m.opt("healthy_threshold", healthy);
            let _ = writeln!(y, "    health_check: {}", m.yaml());
        }
        if let Some(o) = &s.recovery.outlier {
            let text = match o {
                Outlier::Empty => "{}".to_owned(),
                Outlier::Preset => "{ preset: envoy }".to_owned(),
                Outlier::Keys(c, b, p) => {
                    let mut m = Map::default();
                    m.opt("consecutive_errors", *c);
                    m.opt("base_ejection_time", b.map(ms));
                    m.opt("max_ejection_percent", p.map(|p| format!("{p:.1}")));
                    m.yaml()
                }
            };
            let _ = writeln!(y, "    outlier_ejection: {text}");
        }
        if let Some((active_active, heartbeat, missed, shift_back)) = s.recovery.failover
            && s.instances >= 2
        {
            let mut m = Map::default();
            m.opt("heartbeat", heartbeat.map(ms));
            m.opt("missed", missed);
            if active_active {
                m.opt("shift_back", shift_back.map(ms));
            }
            let kind = if active_active { "active_active" } else { "active_passive" };
            let _ = writeln!(y, "    failover: {{ {kind}: {} }}", m.yaml());
        }
    }

    fn workloads(&mut self) {
        let _ = writeln!(self.y, "workloads:");
        let case = self.case;
        for (k, w) in case.workloads.iter().enumerate() {
            self.workload(k, w);
        }
    }

    fn workload(&mut self, k: usize, w: &Workload) {
        let mut m = Map::default();
        m.put("name", format!("w{k}"));
        m.put("target", name(w.target % self.n));
        let (arrivals, users) = self.arrivals(k, w);
        m.put("arrivals", arrivals);
        m.opt("class", w.class.map(|c| CLASSES[c]));
        if !self.all_zones.is_empty() {
            m.opt("zone", w.zone.map(|z| self.all_zones[z % self.all_zones.len()]));
        }
        m.opt("deadline", w.deadline_ms.map(ms));
        let _ = writeln!(self.y, "  - {}", m.yaml());
        self.meta.workloads.insert(format!("w{k}"), WorkloadMeta { target: name(w.target % self.n), users });
    }

    /// Workload `k`'s arrivals, and its users when it is closed.
    fn arrivals(&mut self, k: usize, w: &Workload) -> (String, Option<u32>) {
        let mut users = None;
        let arrivals = match &w.arrivals {
            Arrivals::Rate(r) => {
                self.poisson.push(k);
                format!("{{ poisson: {{ rate: {r:.3}/s }} }}")
            }
            Arrivals::Profile(points) => {
                self.poisson.push(k);
                let mut at = 0;
                let items: Vec<String> = points
                    .iter()
                    .enumerate()
                    .map(|(p, &(gap, rate, ramp))| {
                        // Strictly increasing times: gaps after the first are at least 1 s.
                        at += if p == 0 { gap } else { gap.max(1) };
                        let ramp = if ramp && p > 0 { ", ramp: true" } else { "" };
                        format!("{{ at: {at}s, rate: {rate:.3}/s{ramp} }}")
                    })
                    .collect();
                format!("{{ poisson: {{ profile: [{}] }} }}", items.join(", "))
            }
            Arrivals::Closed(u, think) => {
                users = Some(*u);
                let think = if self.case.lockstep { think.rounded() } else { think.clone() };
                format!("{{ closed: {{ users: {u}, think_time: {} }} }}", think.yaml())
            }
        };
        (arrivals, users)
    }

    fn faults(&mut self) {
        if !self.case.faults.is_empty() {
            let _ = writeln!(self.y, "faults:");
        }
        let case = self.case;
        for f in &case.faults {
            self.fault(f);
        }
    }

    fn fault(&mut self, f: &Fault) {
        let kind = self.fault_kind(f);
        let mut m = Map::default();
        m.put("kind", FAULT_KINDS[kind]);
        let target = self.fault_target(f, kind);
        m.put("target", format!("\"{target}\""));
        fault_schedule(&mut m, f, kind, self.case.duration_s);
        if !f.enabled {
            m.put("enabled", false);
        }
        self.fault_keys(&mut m, f, kind);
        let _ = writeln!(self.y, "  - {}", m.yaml());
    }

    /// The drawn kind, or another where nothing it could target exists.
    fn fault_kind(&self, f: &Fault) -> usize {
        let mut kind = f.kind % FAULT_KINDS.len();
        if kind == 4 && self.populated.is_empty() {
            kind = 3;
        }
        if kind == 6 && self.edges.is_empty() {
            kind = 0;
        }
        if (kind == 7 || kind == 8) && self.poisson.is_empty() {
            kind = 1;
        }
        kind
    }

    fn fault_target(&self, f: &Fault, kind: usize) -> String {
        let (n, populated) = (self.n, &self.populated);
        let (mode, a, b) = f.target;
        match kind {
            4 => format!("zone:{}", populated[a % populated.len()]),
            6 => {
                let (i, j) = self.edges[a % self.edges.len()];
                format!("{}->{}", name(i), name(j))
            }
            7 | 8 => format!("w{}", self.poisson[a % self.poisson.len()]),
            _ => match mode {
                1 => {
                    let s = a % n;
                    format!("{}#{}", name(s), b % self.case.services[s].instances as usize)
                }
                2 if !populated.is_empty() => format!("zone:{}", populated[a % populated.len()]),
                _ => name(a % n),
            },
        }
    }

    /// The keys of the fault's resolved kind.
    fn fault_keys(&mut self, m: &mut Map, f: &Fault, kind: usize) {
        match kind {
            0 => {
                m.opt(
                    "add",
                    f.add.as_ref().map(|a| match a {
                        Add::Fixed(us) => format!("{us}us"),
                        Add::Dist(d) => d.yaml(),
                    }),
                );
                if f.add.is_none() || f.multiply.is_some() {
                    m.put("multiply", format!("{:.3}", f.multiply.unwrap_or(2.0)));
                }
            }
            1 => m.put("probability", format!("{:.3}", f.probability)),
            2 => {
                m.put("probability", format!("{:.3}", f.probability));
                match f.partial_degraded {
                    Some(true) => {
                        m.put("as", "degraded");
                        m.opt("value", f.value.map(|v| format!("{v:.3}")));
                    }
                    Some(false) => m.put("as", "error"),
                    None => {}
                }
            }
            3 | 4 => {
                m.opt("cold_start", f.cold_start.map(|(k, d)| format!("{{ factor: {k:.2}, for: {} }}", ms(d))));
                self.meta.crashes |= f.enabled;
            }
            5 => {
                m.opt("servers", f.servers);
                if f.servers.is_none() || f.factor.is_some() {
                    m.put("factor", format!("{:.3}", f.factor.unwrap_or(0.5)));
                }
            }
            6 => m.opt("mode", f.refuse.map(|r| if r { "refuse" } else { "timeout" })),
            _ => m.opt("factor", f.factor.map(|x| format!("{:.3}", x * 10.0))),
        }
    }
}

/// A fault's window (`at`, `for`) or random onsets (`mtbf`, `mttr`, `onset`).
fn fault_schedule(m: &mut Map, f: &Fault, kind: usize, duration_s: u32) {
    match (&f.schedule, kind) {
        (Schedule::Window(at, dur), _) => {
            m.put("at", ms(*at % (duration_s * 1000)));
            m.put("for", ms(*dur));
        }
        // Load faults need a window.
        (Schedule::Random(up, down, _), 7 | 8) => {
            m.put("at", ms(*up % (duration_s * 1000)));
            m.put("for", ms(*down));
        }
        (Schedule::Random(up, down, shape), _) => {
            m.put("mtbf", ms(*up));
            m.put("mttr", ms(*down));
            m.opt("onset", shape.map(|k| format!("{{ weibull: {{ shape: {k:.2} }} }}")));
        }
    }
}

/// Degradation level `k` (the level after `full`), its exit thresholds its enter ones
/// times its `exit_factor`.
fn degradation_level(k: usize, l: &Level) -> String {
    let mut lm = Map::default();
    lm.put("name", format!("level{k}"));
    lm.put("value", format!("{:.3}", l.value));
    lm.opt("disable_optional", l.disable_optional);
    let (mut enter, mut exit) = (Map::default(), Map::default());
    if let Some(e) = l.error_rate {
        enter.put("error_rate", format!("{e:.4}"));
        exit.put("error_rate", format!("{:.4}", e * l.exit_factor));
    }
    if let Some(p) = l.p99_ms {
        enter.put("p99", ms(p));
        exit.put("p99", ms((f64::from(p) * l.exit_factor) as u32));
    }
    if let Some(u) = l.utilization {
        enter.put("utilization", format!("{u:.4}"));
        exit.put("utilization", format!("{:.4}", u * l.exit_factor));
    }
    if !enter.0.is_empty() {
        lm.put("enter", enter.yaml());
        lm.put("exit", exit.yaml());
    }
    lm.yaml()
}
