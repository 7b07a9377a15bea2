//! A fresh replication: every piece of state built from the model, and the first events.
//!
//! Each builder makes one concern's state; streams are keyed by name, so the order in
//! which they are made does not matter.

use crate::engine::{EventQueue, RngStreams, SimTime};
use crate::metrics::{EdgeMetrics, FaultMetrics, LatencyHistogram, ServiceMetrics, Timeline, WorkloadMetrics};
use crate::policy::Scope;
use crate::policy::concurrency::{AdaptiveLimit, Aimd, Gradient2, Limiter, Vegas};
use crate::policy::rate_limit::TokenBucket;
use crate::policy::shed::Shedder;
use crate::trace::{TraceConfig, Tracer};

use super::super::fault::Schedule;
use super::super::station::Station;
use super::super::{Arrivals, ConcurrencyConfig, Model, SloTarget};
use super::degrade::DegradeState;
use super::faults::FaultState;
use super::guard::Guards;
use super::recovery::Recovery;
use super::{Event, Hot, Layout, Routing, ServiceStreams, Simulation};

/// The per-station and per-instance server-side state, laid out instance by instance.
struct Stations<'m> {
    stations: Vec<Station>,
    shedders: Vec<Option<Shedder>>,
    limiters: Vec<Option<Limiter>>,
    rate_limiters: Vec<Option<TokenBucket>>,
    layout: Layout<'m>,
}

impl<'m> Stations<'m> {
    fn of(model: &'m Model) -> Self {
        let mut st = Stations {
            stations: Vec::new(),
            shedders: Vec::new(),
            limiters: Vec::new(),
            rate_limiters: Vec::new(),
            layout: Layout {
                first_instance: Vec::with_capacity(model.services.len()),
                hot: Vec::with_capacity(model.services.len()),
                routing: model.services.iter().map(|s| Routing::of(&s.routes)).collect(),
            },
        };
        for s in &model.services {
            st.layout.hot.push(Hot {
                service_time: &s.service_time,
                first_station: st.stations.len() as u32,
                instances: s.instances,
                pools: s.pools.len() as u16,
                pool_of_class0: s.pool_of_class.first().copied().flatten(),
                balancer: s.balancer,
                all_eligible: s.health_check.is_none()
                    && s.outlier.is_none()
                    && s.failover.is_none()
                    && !s.prefer_local_zone
                    && s.autoscale.is_none(),
                zoned: !s.zone_ids.is_empty(),
                routes: !s.routes.is_empty(),
                degradable: s.degradation.is_some(),
                // Set once the faults are known (`Simulation::new`).
                plain: false,
                calls: !s.steps.is_empty(),
                preemptive: s.priority.queue.is_preemptive(),
            });
            st.layout.first_instance.push(st.limiters.len() as u32);
            for i in 0..s.instances {
                // A service-scoped policy lives in the first instance's slot only.
                let here = |scope: Scope| i == 0 || scope == Scope::Instance;
                for p in &s.pools {
                    st.stations.push(
                        Station::new(p.servers, p.capacity.unwrap_or(u32::MAX)).with_discipline(s.priority.queue),
                    );
                    // A fleet-wide rule reads all the instances' lines over all their workers;
                    // it sits in the first instance's station of the pool.
                    let fleet = s.shed_scope == Scope::Service;
                    let servers = if fleet { p.servers * s.instances } else { p.servers };
                    st.shedders
                        .push(s.shed.filter(|_| here(s.shed_scope)).map(|cfg| Shedder::new(cfg.for_servers(servers))));
                }
                st.rate_limiters.push(s.rate_limit.filter(|_| here(s.rate_limit_scope)).map(TokenBucket::new));
                st.limiters.push(s.concurrency.filter(|_| here(s.concurrency_scope)).map(adaptive_limiter));
            }
        }
        st
    }
}

/// A fresh adaptive concurrency limiter of `config`'s algorithm.
pub(super) fn adaptive_limiter(config: ConcurrencyConfig) -> Limiter {
    Limiter::new(match config {
        ConcurrencyConfig::Aimd(a) => AdaptiveLimit::Aimd(Aimd::new(a)),
        ConcurrencyConfig::Gradient(g) => AdaptiveLimit::Gradient2(Gradient2::new(g)),
        ConcurrencyConfig::Vegas(v) => AdaptiveLimit::Vegas(Vegas::new(v)),
    })
}

/// Per service: true when no server-side policy and no fault can act on its visits.
fn plain_services(model: &Model, faults: &FaultState, layout: &Layout) -> Vec<bool> {
    model
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let first = layout.first_instance[i] as usize;
            s.rate_limit.is_none()
                && s.concurrency.is_none()
                && s.shed.is_none()
                && !s.pools.iter().any(|p| p.borrow)
                && !s.deadline_propagation
                && s.degradation.is_none()
                && s.outlier.is_none()
                && s.cache.is_none()
                && s.message_queue.is_none()
                && s.priority.queue.is_fifo()
                && s.autoscale.is_none()
                && faults.instance_faults[first..first + s.instances as usize].iter().all(Vec::is_empty)
        })
        .collect()
}

/// Latency histograms a model may have and still keep them dense from the start: 48 of
/// 78 KB fit in a last-level cache, where an increment is cheaper than a sparse
/// histogram's append. A larger model's would each be a miss to memory.
const DENSE_HISTOGRAMS: usize = 48;

/// A latency histogram laid out for `model` (see [`DENSE_HISTOGRAMS`]).
fn histogram(model: &Model) -> LatencyHistogram {
    if model.services.len() + model.workloads.len() <= DENSE_HISTOGRAMS {
        LatencyHistogram::dense()
    } else {
        LatencyHistogram::new()
    }
}

pub(super) fn service_metrics(model: &Model) -> Vec<ServiceMetrics> {
    let services = model.services.iter().enumerate();
    services
        .map(|(i, s)| {
            let mut m = ServiceMetrics::new(s.pools.len(), s.instances as usize);
            m.sojourn = histogram(model);
            m.gauge_marks = Vec::with_capacity(model.windows());
            m.autoscaling = super::autoscale::autoscale_metrics(model, i);
            m.timeline = Timeline::new(model.warmup, model.window, model.windows())
                .with_thresholds(model.slow_thresholds(SloTarget::Service(i)))
                .with_latency();
            m
        })
        .collect()
}

pub(super) fn workload_metrics(model: &Model) -> Vec<WorkloadMetrics> {
    (0..model.workloads.len())
        .map(|w| {
            let mut m = WorkloadMetrics::new(model.warmup, model.window, model.windows());
            m.latency = histogram(model);
            m.timeline = m.timeline.with_thresholds(model.slow_thresholds(SloTarget::Workload(w))).with_latency();
            m
        })
        .collect()
}

impl<'m> Simulation<'m> {
    /// A fresh replication with its first events scheduled.
    pub(super) fn new(model: &'m Model, replication: u32, trace: Option<TraceConfig>) -> Self {
        let streams = RngStreams::new(model.seed, u64::from(replication));
        let Stations { stations, shedders, limiters, rate_limiters, mut layout } = Stations::of(model);
        let faults = FaultState::of(model, &layout, limiters.len(), &streams);
        let plain = plain_services(model, &faults, &layout);
        layout.hot.iter_mut().zip(plain).for_each(|(hot, plain)| hot.plain = plain);
        let service_rng = model
            .services
            .iter()
            .map(|s| ServiceStreams {
                service_time: streams.stream(&format!("service/{}", s.name)),
                balancer: streams.stream(&format!("balancer/{}", s.name)),
                calls: streams.stream(&format!("calls/{}", s.name)),
                routing: streams.stream(&format!("routing/{}", s.name)),
            })
            .collect();
        let mut sim = Self {
            model,
            now: SimTime::ZERO,
            end: model.end(),
            events: EventQueue::with_capacity(1024),
            reqs: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            calls: Vec::with_capacity(256),
            free_calls: Vec::with_capacity(256),
            round_robin: vec![0; stations.len()],
            stations,
            layout,
            service_rng,
            closed_workloads: model
                .workloads
                .iter()
                .any(|w| matches!(w.arrivals, super::super::Arrivals::Closed { .. })),
            workload_rng: model.workloads.iter().map(|w| streams.stream(&format!("arrivals/{}", w.name))).collect(),
            guards: Guards::of(model, &streams),
            service_limiters: rate_limiters,
            degrade: model.services.iter().map(DegradeState::of).collect(),
            limiters,
            shedders,
            faults,
            recovery: model.services.iter().map(|s| Recovery::of(s, &streams)).collect(),
            candidates: Vec::new(),
            log: Vec::new(),
            keep_log: replication == 0,
            halt: None,
            watchdog: super::Watchdog::of(model),
            unaccounted_permits: 0,
            tracer: Tracer::new(trace.filter(|_| replication == 0), model.warmup, streams.stream("trace/sample")),
            services: service_metrics(model),
            workloads: workload_metrics(model),
            edges: vec![EdgeMetrics::new(model.warmup, model.window, model.windows()); model.edges.len()],
            fault_metrics: vec![FaultMetrics::default(); model.faults.len()],
            caches: super::cache::CacheState::of(model, &streams),
            mq: super::mqueue::MessageQueues::of(model),
            autoscale: super::autoscale::scalers(model),
        };
        for (m, c) in sim.services.iter_mut().zip(Self::cache_metrics(model)) {
            m.cache = c;
        }
        sim.schedule_first_events();
        sim
    }

    /// The warm-up's end, fault onsets, recovery timers, degradation ticks and the
    /// workloads' first arrivals.
    fn schedule_first_events(&mut self) {
        let model = self.model;
        self.events.push(model.warmup, Event::WarmupEnd);
        self.schedule_autoscalers();
        for (f, fault) in model.faults.iter().enumerate() {
            let t = match &fault.schedule {
                Schedule::Window { start, .. } => *start,
                Schedule::Random { up, .. } => up.sample(&mut self.faults.rng[f]),
            };
            self.events.push(t, Event::FaultStart(f as u32));
        }
        for (s, svc) in model.services.iter().enumerate() {
            if let Some(h) = svc.health_check {
                // Probes of different instances are spread over the interval.
                for i in 0..svc.instances {
                    let offset = SimTime(h.interval.0 / u64::from(svc.instances) * u64::from(i));
                    self.events.push(offset + h.interval, Event::HealthProbe(s as u32, i));
                }
            }
            if let Some(f) = svc.failover {
                self.events.push(f.heartbeat, Event::Heartbeat(s as u32));
            }
            if let Some((_, interval)) = svc.degradation {
                self.events.push(interval, Event::DegradeTick(s as u32));
            }
        }
        for (w, wl) in model.workloads.iter().enumerate() {
            let rng = &mut self.workload_rng[w];
            match &wl.arrivals {
                Arrivals::Poisson(profile) => {
                    if let Some(t) = profile.next_arrival(SimTime::ZERO, rng) {
                        self.events.push_lane(t, Event::Arrival(w as u32));
                    }
                }
                Arrivals::Closed { users, think } => {
                    for _ in 0..*users {
                        let t = think.sample(rng);
                        self.events.push(t, Event::Think(w as u32));
                    }
                }
            }
        }
    }
}
