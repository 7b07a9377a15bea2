//! One replication of a [`Model`]: the event handlers of the service network.
//!
//! A request lives in a slab slot from its arrival until its job ends; events carry
//! only slot indices, so the loop allocates nothing per event once the slab and the
//! heap have grown to the run's peak concurrency.
//!
//! The life of a request at a service: the balancer picks an instance; the station
//! admits it (a worker starts), queues it, or rejects it (K reached). When its service
//! time ends, the worker makes the service's calls step by step, holding on while it
//! waits (thread-per-request); a failed required call ends the visit with `error`, a
//! failed optional one marks it `degraded`. The worker is then released and the
//! request either takes a route (an asynchronous hand-off: the same job continues at
//! the next service) or leaves, answering whoever sent it: a workload's user or a
//! caller waiting on a call.

use crate::engine::{EventQueue, Process, RngStreams, SimTime, Stream, run_until};
use crate::metrics::{EdgeMetrics, Outcome, ReplicationResult, ServiceMetrics, WorkloadMetrics};

use super::dist::{index, unit};
use super::station::{Admission, ReqId, Station};
use super::{Arrivals, Balancer, EdgeId, Model, ServiceId, WorkloadId};

/// Who is waiting for a request's answer.
#[derive(Clone, Copy, Debug)]
enum Origin {
    /// A user of a workload.
    Workload(WorkloadId),
    /// A caller's worker, on a call edge.
    Call { parent: ReqId, edge: EdgeId, optional: bool },
}

/// A request in flight.
#[derive(Clone, Copy, Debug)]
struct Req {
    origin: Origin,
    /// When the job entered (the workload's or the caller's clock starts here).
    job_start: SimTime,
    /// When it reached its current station.
    arrived: SimTime,
    /// When a worker took it.
    started: SimTime,
    service: u32,
    /// Global station index.
    station: u32,
    /// Next step of the service's calls.
    step: u16,
    /// Calls of the current step not yet answered (+1 while they are being sent).
    pending: u16,
    /// A required call failed.
    failed: bool,
    /// An optional call failed or a callee answered degraded.
    degraded: bool,
}

/// Events of the service network.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// The next open arrival of a workload.
    Arrival(u32),
    /// A closed-workload user finished thinking.
    Think(u32),
    /// A request's service time ended.
    ServiceDone(ReqId),
    /// Measurement starts: reset every statistic.
    WarmupEnd,
}

/// Random streams of one service.
struct ServiceStreams {
    service_time: Stream,
    balancer: Stream,
    calls: Stream,
    routing: Stream,
}

/// The state of one replication.
struct Simulation<'m> {
    model: &'m Model,
    now: SimTime,
    end: SimTime,
    events: EventQueue<Event>,
    reqs: Vec<Req>,
    free: Vec<ReqId>,
    stations: Vec<Station>,
    /// First global station index of each service.
    first_station: Vec<u32>,
    round_robin: Vec<u32>,
    service_rng: Vec<ServiceStreams>,
    workload_rng: Vec<Stream>,
    services: Vec<ServiceMetrics>,
    workloads: Vec<WorkloadMetrics>,
    edges: Vec<EdgeMetrics>,
}

/// Runs replication `replication` of `model` and returns what it measured.
pub fn run_replication(model: &Model, replication: u32) -> ReplicationResult {
    let mut sim = Simulation::new(model, replication);
    let end = sim.end;
    let events = run_until(&mut sim, end);
    sim.finish(replication, events)
}

impl<'m> Simulation<'m> {
    /// A fresh replication with its first events scheduled.
    fn new(model: &'m Model, replication: u32) -> Self {
        let streams = RngStreams::new(model.seed, u64::from(replication));
        let mut stations = Vec::new();
        let mut first_station = Vec::with_capacity(model.services.len());
        for s in &model.services {
            first_station.push(stations.len() as u32);
            for _ in 0..s.instances {
                stations.push(Station::new(s.servers, s.capacity.unwrap_or(u32::MAX)));
            }
        }
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
        let workload_rng = model.workloads.iter().map(|w| streams.stream(&format!("arrivals/{}", w.name))).collect();
        let mut sim = Self {
            model,
            now: SimTime::ZERO,
            end: model.end(),
            events: EventQueue::with_capacity(1024),
            reqs: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            stations,
            first_station,
            round_robin: vec![0; model.services.len()],
            service_rng,
            workload_rng,
            services: vec![ServiceMetrics::default(); model.services.len()],
            workloads: vec![WorkloadMetrics::default(); model.workloads.len()],
            edges: vec![EdgeMetrics::default(); model.edges.len()],
        };
        sim.events.push(model.warmup, Event::WarmupEnd);
        for (w, wl) in model.workloads.iter().enumerate() {
            match &wl.arrivals {
                Arrivals::Poisson(profile) => {
                    if let Some(t) = profile.next_arrival(SimTime::ZERO, &mut sim.workload_rng[w]) {
                        sim.events.push(t, Event::Arrival(w as u32));
                    }
                }
                Arrivals::Closed { users, think } => {
                    for _ in 0..*users {
                        let t = think.sample(&mut sim.workload_rng[w]);
                        sim.events.push(t, Event::Think(w as u32));
                    }
                }
            }
        }
        sim
    }

    fn alloc(&mut self, req: Req) -> ReqId {
        match self.free.pop() {
            Some(id) => {
                self.reqs[id as usize] = req;
                id
            }
            None => {
                self.reqs.push(req);
                (self.reqs.len() - 1) as ReqId
            }
        }
    }

    fn start_job(&mut self, w: WorkloadId) {
        self.workloads[w].arrivals += 1;
        let target = self.model.workloads[w].target;
        let req = self.new_req(Origin::Workload(w));
        self.arrive(req, target);
    }

    fn new_req(&mut self, origin: Origin) -> ReqId {
        let now = self.now;
        self.alloc(Req {
            origin,
            job_start: now,
            arrived: now,
            started: now,
            service: 0,
            station: 0,
            step: 0,
            pending: 0,
            failed: false,
            degraded: false,
        })
    }

    /// Picks the instance of service `s` that receives the next request.
    fn pick_instance(&mut self, s: ServiceId) -> u32 {
        let n = self.model.services[s].instances;
        let first = self.first_station[s];
        if n == 1 {
            return first;
        }
        let rng = &mut self.service_rng[s].balancer;
        let i = match self.model.services[s].balancer {
            Balancer::RoundRobin => {
                let i = self.round_robin[s];
                self.round_robin[s] = (i + 1) % n;
                i
            }
            Balancer::Random => index(rng, n as usize) as u32,
            Balancer::LeastOutstanding => {
                let stations = &self.stations[first as usize..(first + n) as usize];
                let mut best = 0;
                for (i, st) in stations.iter().enumerate() {
                    if st.in_system() < stations[best].in_system() {
                        best = i;
                    }
                }
                best as u32
            }
            Balancer::PowerOfTwo => {
                let a = index(rng, n as usize);
                let b = (a + 1 + index(rng, n as usize - 1)) % n as usize;
                let la = self.stations[first as usize + a].in_system();
                let lb = self.stations[first as usize + b].in_system();
                if lb < la { b as u32 } else { a as u32 }
            }
        };
        first + i
    }

    /// Request `r` reaches service `s`.
    fn arrive(&mut self, r: ReqId, s: ServiceId) {
        self.services[s].arrivals += 1;
        let station = self.pick_instance(s);
        let now = self.now;
        {
            let req = &mut self.reqs[r as usize];
            req.service = s as u32;
            req.station = station;
            req.arrived = now;
            req.step = 0;
            req.pending = 0;
        }
        match self.stations[station as usize].offer(now, r, &mut self.services[s].areas) {
            Admission::Started => self.begin_service(r),
            Admission::Queued => {}
            Admission::Rejected => {
                self.services[s].rejected += 1;
                self.finish_job(r, Outcome::Rejected);
            }
        }
    }

    fn begin_service(&mut self, r: ReqId) {
        let now = self.now;
        let req = &mut self.reqs[r as usize];
        req.started = now;
        let s = req.service as usize;
        let t = self.model.services[s].service_time.sample(&mut self.service_rng[s].service_time);
        self.events.push(now + t, Event::ServiceDone(r));
    }

    /// Sends the calls of the request's next step, or completes the visit when no step
    /// is left or a required call has failed.
    fn advance(&mut self, r: ReqId) {
        let model = self.model;
        loop {
            let req = self.reqs[r as usize];
            let service = &model.services[req.service as usize];
            if req.failed || usize::from(req.step) >= service.steps.len() {
                self.complete_visit(r);
                return;
            }
            self.reqs[r as usize].step += 1;
            // The +1 guard keeps calls answered at once (rejections) from resuming
            // this request while its step is still being sent.
            self.reqs[r as usize].pending = 1;
            for call in &service.steps[usize::from(req.step)].calls {
                if call.probability < 1.0 && unit(&mut self.service_rng[req.service as usize].calls) >= call.probability
                {
                    continue;
                }
                self.reqs[r as usize].pending += 1;
                self.edges[call.edge].calls += 1;
                self.edges[call.edge].attempts += 1;
                let child = self.new_req(Origin::Call { parent: r, edge: call.edge, optional: call.optional });
                self.arrive(child, call.to);
            }
            let req = &mut self.reqs[r as usize];
            req.pending -= 1;
            if req.pending > 0 {
                return;
            }
        }
    }

    /// The worker is done with `r`: release it, then route the request on or end it.
    fn complete_visit(&mut self, r: ReqId) {
        let now = self.now;
        let req = self.reqs[r as usize];
        let s = req.service as usize;
        let metrics = &mut self.services[s];
        metrics.record_completion(now - req.arrived, req.started - req.arrived);
        if let Some(next) = self.stations[req.station as usize].release(now, &mut metrics.areas) {
            self.begin_service(next);
        }
        if req.failed {
            return self.finish_job(r, Outcome::Error);
        }
        let routes = &self.model.services[s].routes;
        if !routes.is_empty() {
            let u = unit(&mut self.service_rng[s].routing);
            let mut acc = 0.0;
            for route in routes {
                acc += route.probability;
                if u < acc {
                    return self.arrive(r, route.to);
                }
            }
        }
        let outcome = if req.degraded { Outcome::Degraded } else { Outcome::Ok };
        self.finish_job(r, outcome);
    }

    /// The job of `r` ends with `outcome`: tell whoever waits, free the slot.
    fn finish_job(&mut self, r: ReqId, outcome: Outcome) {
        let req = self.reqs[r as usize];
        self.free.push(r);
        match req.origin {
            Origin::Workload(w) => {
                let metrics = &mut self.workloads[w];
                metrics.outcomes.add(outcome);
                if outcome.is_success() {
                    metrics.latency.record(self.now - req.job_start);
                }
                if let Arrivals::Closed { think, .. } = &self.model.workloads[w].arrivals {
                    let t = self.now + think.sample(&mut self.workload_rng[w]);
                    if t <= self.end {
                        self.events.push(t, Event::Think(w as u32));
                    }
                }
            }
            Origin::Call { parent, edge, optional } => {
                self.edges[edge].outcomes.add(outcome);
                let p = &mut self.reqs[parent as usize];
                match outcome {
                    Outcome::Ok => {}
                    Outcome::Degraded => p.degraded = true,
                    _ if optional => p.degraded = true,
                    _ => p.failed = true,
                }
                p.pending -= 1;
                if p.pending == 0 {
                    self.advance(parent);
                }
            }
        }
    }

    fn reset_metrics(&mut self) {
        let now = self.now;
        self.services.iter_mut().for_each(ServiceMetrics::reset);
        self.workloads.iter_mut().for_each(WorkloadMetrics::reset);
        self.edges.iter_mut().for_each(EdgeMetrics::reset);
        self.stations.iter_mut().for_each(|s| s.mark(now));
    }

    /// Closes the time averages at the end of the run and hands the metrics over.
    fn finish(mut self, replication: u32, events: u64) -> ReplicationResult {
        let end = self.end;
        for (s, service) in self.model.services.iter().enumerate() {
            let first = self.first_station[s] as usize;
            for st in &mut self.stations[first..first + service.instances as usize] {
                st.accrue(end, &mut self.services[s].areas);
            }
        }
        ReplicationResult {
            replication,
            events,
            measured_secs: self.model.duration.as_secs_f64(),
            services: self.services,
            workloads: self.workloads,
            edges: self.edges,
        }
    }
}

impl Process for Simulation<'_> {
    type Event = Event;

    fn events(&mut self) -> &mut EventQueue<Event> {
        &mut self.events
    }

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event) {
        self.now = now;
        match event {
            Event::Arrival(w) => {
                let w = w as usize;
                if let Arrivals::Poisson(profile) = &self.model.workloads[w].arrivals
                    && let Some(t) = profile.next_arrival(now, &mut self.workload_rng[w])
                    && t <= self.end
                {
                    self.events.push(t, Event::Arrival(w as u32));
                }
                self.start_job(w);
            }
            Event::Think(w) => self.start_job(w as usize),
            Event::ServiceDone(r) => self.advance(r),
            Event::WarmupEnd => self.reset_metrics(),
        }
    }
}
