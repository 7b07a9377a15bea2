//! The scenario's faults injected for real, through the network: each instance has a
//! control endpoint of its own (an admin port beside its service port, as Envoy's admin
//! listener is beside its service listeners, so that it still answers while the service
//! port is closed by a crash), and a scheduler task switches every fault on and off at
//! its times by HTTP calls to the endpoints of its targets.
//!
//! An instance keeps its active faults and folds them into resim's own
//! [`StationFx`] with [`StationFx::combine`], so the real effect is the model's by
//! construction: service times multiplied and a draw of `add` added (the engine's
//! `faulted_time`), errors and partial answers drawn at the end of a visit
//! (`inject_response_faults`), fewer workers (permits of the semaphore withheld as they
//! come free, as the model's `set_servers` lets busy workers finish), a crash that closes
//! the listening socket, drops every open connection and loses the work inside (the
//! engine's `crash_instance`), callers then refused at connect (`refuse_down`), and a
//! cold start after it. A partitioned edge sends nothing: the attempt waits for its
//! timeout, or is refused at once (`mode: refuse`), as the engine's `send` does. Spikes
//! and ramps need nothing at run time: they are folded into the workload's rate profile
//! when the scenario is validated, and the generator draws from that profile.
//!
//! What each fault did is kept as the engine keeps it ([`FaultMetrics`] and the event
//! log of replication 0), from the scheduled times, so the report's fault section reads
//! the same for a real run and a simulated one.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use resim::engine::{SimTime, Stream, Streams, unit};
use resim::metrics::{FaultMetrics, LogEntry, Outcome, ReplicationResult};
use resim::model::Model;
use resim::model::fault::{Effect, FaultId, Schedule, StationFx, Target};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{SemaphorePermit, watch};
use tower::BoxError;

use crate::client::{Answer, Failed};
use crate::world::{Instance, World, lock};

/// The path of an instance's control endpoint: `POST /control` with the body `on F` or
/// `off F`, F the fault's index in the scenario's `faults`.
pub const CONTROL: &str = "/control";

/// An edge's partition state: open, dropping every request, refusing every connection.
const OPEN: u8 = 0;
const DROPPED: u8 = 1;
const REFUSED: u8 = 2;

/// The run's fault bookkeeping shared by every task: which edges are partitioned, and
/// what each fault did.
pub struct Chaos {
    /// Per edge: [`OPEN`], [`DROPPED`] or [`REFUSED`].
    partition: Vec<AtomicU8>,
    book: Mutex<Book>,
}

/// What each fault did, as the engine keeps it.
struct Book {
    metrics: Vec<FaultMetrics>,
    /// When each active fault became active.
    since: Vec<Option<SimTime>>,
    log: Vec<(SimTime, LogEntry)>,
}

impl Chaos {
    /// No fault active, nothing done yet.
    pub fn new(model: &Model) -> Self {
        let n = model.faults.len();
        Self {
            partition: model.edges.iter().map(|_| AtomicU8::new(OPEN)).collect(),
            book: Mutex::new(Book { metrics: vec![FaultMetrics::default(); n], since: vec![None; n], log: Vec::new() }),
        }
    }

    /// Fault `f` affected `n` more requests.
    fn injected(&self, f: FaultId, n: u64) {
        lock(&self.book).metrics[f].injected += n;
    }

    /// Fault `f` switched on or off at replication time `t`: its activations and active
    /// time within the measured window, and the log entry of replication 0, as the
    /// engine's `on_fault` counts them (what happened before the warm-up's end is reset).
    fn switch(&self, model: &Model, f: FaultId, t: SimTime, on: bool, keep_log: bool) {
        let mut guard = lock(&self.book);
        let book = &mut *guard;
        let m = &mut book.metrics[f];
        if on {
            m.activations += u64::from(t >= model.warmup);
            book.since[f] = Some(t);
        } else if let Some(since) = book.since[f].take() {
            m.active += t.saturating_sub(since.max(model.warmup));
        }
        if keep_log && t >= model.warmup {
            book.log.push((t, LogEntry::Fault(f as u32, on)));
        }
    }

    /// The warm-up ended: the requests affected so far are forgotten.
    fn end_warmup(&self) {
        lock(&self.book).metrics.iter_mut().for_each(|m| m.injected = 0);
    }
}

/// The faults on one instance: the active ones and their combined effect, whether it is
/// down, the draws of injected effects, and the workers withheld by a capacity fault.
pub struct InstanceFaults {
    state: Mutex<Active>,
    /// True while crashed: the listener and every request inside watch it.
    down: watch::Sender<bool>,
    /// One stream per fault for its injected draws (`testbed/fault/<name>/<service>/<i>`).
    rng: Mutex<Vec<Stream>>,
    /// Worker permits still to take away as they come free.
    withheld: AtomicU32,
}

struct Active {
    faults: Vec<FaultId>,
    fx: StationFx,
    /// Workers taken away (or still to be), out of the service's `servers`.
    removed: u32,
}

impl InstanceFaults {
    /// No fault active on instance `i` of service `s`.
    pub fn new(model: &Model, streams: &Streams, s: usize, i: usize) -> Self {
        let svc = &model.services[s].name;
        let rng = model.faults.iter().map(|f| streams.stream(&format!("testbed/fault/{}/{svc}/{i}", f.name))).collect();
        Self {
            state: Mutex::new(Active { faults: Vec::new(), fx: StationFx::default(), removed: 0 }),
            down: watch::Sender::new(false),
            rng: Mutex::new(rng),
            withheld: AtomicU32::new(0),
        }
    }

    /// A receiver of the crashed state.
    pub fn watch_down(&self) -> watch::Receiver<bool> {
        self.down.subscribe()
    }

    /// True while crashed.
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// The first active fault on the instance whose effect `want` accepts.
    fn first(&self, model: &Model, want: fn(&Effect) -> bool) -> Option<FaultId> {
        lock(&self.state).faults.iter().copied().find(|&f| want(&model.faults[f].effect))
    }
}

/// A service time `t` under the faults active on `inst`: multiplied, cold-start slowed,
/// with a draw of each latency fault's `add`; each latency fault counts the request.
pub fn service_time(world: &World, inst: &Instance, t: SimTime) -> SimTime {
    let now = world.rec.now();
    let st = lock(&inst.faults.state);
    if st.fx.is_clear(now) {
        return t;
    }
    let mut factor = st.fx.multiply;
    if now < st.fx.cold_until {
        factor *= st.fx.cold_factor;
    }
    let mut t = if factor == 1.0 { t } else { SimTime::from_secs_f64(t.as_secs_f64() * factor) };
    let mut rng = lock(&inst.faults.rng);
    for &f in &st.faults {
        if let Effect::Latency { add, .. } = &world.model.faults[f].effect {
            if let Some(d) = add {
                t += d.sample(&mut rng[f]);
            }
            world.chaos.injected(f, 1);
        }
    }
    t
}

/// The outcome of a visit to `inst` that ended as `outcome`, under its error and
/// partial-answer faults (drawn from the first active fault of each kind, as the engine
/// draws them).
pub fn answer(world: &World, inst: &Instance, outcome: Outcome) -> Outcome {
    let (error, partial) = {
        let st = lock(&inst.faults.state);
        (st.fx.error, st.fx.partial)
    };
    let model = &world.model;
    let drawn = |f: FaultId, p: f64| unit(&mut lock(&inst.faults.rng)[f]) < p;
    if error > 0.0
        && let Some(f) = inst.faults.first(model, |e| matches!(e, Effect::Error(_)))
        && drawn(f, error)
    {
        world.chaos.injected(f, 1);
        return Outcome::Error;
    }
    if let Some((p, degraded)) = partial
        && let Some(f) = inst.faults.first(model, |e| matches!(e, Effect::Partial { .. }))
        && drawn(f, p)
    {
        world.chaos.injected(f, 1);
        return match (degraded, outcome) {
            (None, _) | (_, Outcome::Error) => Outcome::Error,
            (Some(_), _) => Outcome::Degraded,
        };
    }
    outcome
}

/// Gives a worker back, unless a capacity fault is still owed one: then it is kept away.
pub fn release(inst: &Instance, permit: SemaphorePermit<'_>) {
    if inst.faults.withheld.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| w.checked_sub(1)).is_ok() {
        permit.forget();
    }
}

/// A request inside `inst` was lost in its crash: counted against the crash fault.
pub fn lost(world: &World, inst: &Instance) {
    if let Some(f) = inst.faults.first(&world.model, |e| matches!(e, Effect::Crash { .. })) {
        world.chaos.injected(f, 1);
    }
}

/// A call to instance `i` of service `to` failed with `err`: when it could not connect
/// because the instance is down, counted at the service as the engine's `refuse_down`
/// counts it. (A request reset by the crash inside the instance was counted as lost.)
pub fn refused(world: &World, to: usize, i: usize, err: &hyper_util::client::legacy::Error) {
    let inst = &world.instances[to][i];
    if err.is_connect() && inst.faults.is_down() {
        world.rec.refused_down(to, i);
        lost(world, inst);
    }
}

/// Waits out a partition of edge `e`: forever when requests are dropped (the attempt's
/// timeout ends it), an error at once when connections are refused, nothing when open.
pub async fn partition(world: &World, e: usize) -> Result<(), BoxError> {
    match world.chaos.partition[e].load(Ordering::Acquire) {
        DROPPED => std::future::pending().await,
        REFUSED => Err(Failed(Answer::failed(Outcome::Error)).into()),
        _ => Ok(()),
    }
}

/// Listens again on `addr` after a crash. SO_REUSEADDR lets the port be bound while the
/// connections of the crashed listener are still in TIME_WAIT (tokio's `TcpListener::bind`
/// sets it too, through mio 1's `TcpListener::bind`; set here explicitly). The port was
/// an ephemeral one: while it was closed, an outgoing connection may have been given it
/// as its local port, so a refused bind is tried again for up to a second.
pub async fn rebind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let bind = || -> std::io::Result<TcpListener> {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(1024)
    };
    let mut tries = 0;
    loop {
        match bind() {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 20 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            result => return result,
        }
    }
}

/// Switches fault `f` on or off at `inst`, as its control endpoint was asked; returns a
/// line saying what is active, or why the request was refused.
pub fn apply(world: &World, inst: &Instance, f: FaultId, on: bool) -> Result<String, String> {
    let model = &world.model;
    let fault = model.faults.get(f).ok_or_else(|| format!("there is no fault {f}"))?;
    let (s, i) = (inst.service, inst.index);
    let mut st = lock(&inst.faults.state);
    match &fault.target {
        Target::Instances(list) if list.contains(&(s, i as u32)) => {}
        Target::Edge(e) if model.edges[*e].from == s => {}
        _ => return Err(format!("fault `{}` does not act on {}#{i}", fault.name, model.services[s].name)),
    }
    st.faults.retain(|&g| g != f);
    if on {
        st.faults.push(f);
        st.faults.sort_unstable();
    }
    if let Target::Edge(e) = fault.target {
        let state = st.faults.iter().find_map(|&g| match (&model.faults[g].target, &model.faults[g].effect) {
            (Target::Edge(x), Effect::Partition { refuse }) if *x == e => Some(if *refuse { REFUSED } else { DROPPED }),
            _ => None,
        });
        world.chaos.partition[e].store(state.unwrap_or(OPEN), Ordering::Release);
        return Ok(format!("edge {}: {}", model.edges[e].name, if state.is_some() { "partitioned" } else { "open" }));
    }
    let now = world.rec.now();
    let was_down = st.fx.down;
    let mut fx = StationFx::combine(&model.faults, st.faults.iter().copied(), (st.fx.cold_until, st.fx.cold_factor));
    if was_down
        && !fx.down
        && let Effect::Crash { cold_factor, cold_for } = fault.effect
        && cold_factor > 1.0
    {
        fx.cold_until = now + cold_for;
        fx.cold_factor = cold_factor;
    }
    if !fx.down {
        let servers = model.services[s].servers;
        set_removed(inst, &mut st, servers - fx.servers(servers).min(servers));
    }
    let line = format!("{}#{i}: {:?}", model.services[s].name, fx);
    let down = fx.down;
    st.fx = fx;
    drop(st);
    if down != was_down {
        inst.faults.down.send_replace(down);
    }
    Ok(line)
}

/// Takes workers away or gives them back until `removed` of them are away: free permits
/// go at once, busy ones as they finish (a capacity fault lets work in service end).
fn set_removed(inst: &Instance, st: &mut Active, removed: u32) {
    let faults = &inst.faults;
    if removed > st.removed {
        let more = removed - st.removed;
        let got = inst.workers.forget_permits(more as usize) as u32;
        faults.withheld.fetch_add(more - got, Ordering::AcqRel);
    } else if removed < st.removed {
        let fewer = st.removed - removed;
        let owed = faults.withheld.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| Some(w - w.min(fewer)));
        let cancelled = owed.map_or(0, |w| w.min(fewer));
        inst.workers.add_permits((fewer - cancelled) as usize);
    }
    st.removed = removed;
}

/// Serves instance `inst`'s control endpoint on `listener`.
async fn serve_control(world: Arc<World>, inst: Arc<Instance>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let (world, inst) = (world.clone(), inst.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let (world, inst) = (world.clone(), inst.clone());
                async move { Ok::<_, Infallible>(control(&world, &inst, req).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

/// One control request: `POST /control` with `on F` or `off F`.
async fn control(world: &World, inst: &Instance, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, text: String| {
        let mut r = Response::new(Full::new(Bytes::from(text + "\n")));
        *r.status_mut() = status;
        r
    };
    if req.method() != Method::POST || req.uri().path() != CONTROL {
        return reply(StatusCode::NOT_FOUND, format!("POST {CONTROL} with `on F` or `off F`"));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let text = String::from_utf8_lossy(&body);
    let mut words = text.split_whitespace();
    let on = match words.next() {
        Some("on") => true,
        Some("off") => false,
        _ => return reply(StatusCode::BAD_REQUEST, format!("`{}`: say `on F` or `off F`", text.trim())),
    };
    let Some(f) = words.next().and_then(|w| w.parse().ok()) else {
        return reply(StatusCode::BAD_REQUEST, format!("`{}`: F is a fault's index", text.trim()));
    };
    match apply(world, inst, f, on) {
        Ok(line) => reply(StatusCode::OK, line),
        Err(why) => reply(StatusCode::BAD_REQUEST, why),
    }
}

/// The control endpoints, per service and instance.
pub type Endpoints = Vec<Vec<SocketAddr>>;

type ControlClient = Client<HttpConnector, Full<Bytes>>;

/// Opens every instance's control endpoint and starts the fault schedule at replication
/// time 0: one task per fault, switching it at its times. Returns the endpoints' addresses
/// (none without faults).
pub async fn start(world: &Arc<World>) -> std::io::Result<Arc<Endpoints>> {
    if world.model.faults.is_empty() {
        return Ok(Arc::default());
    }
    let mut endpoints: Endpoints = Vec::new();
    for instances in &world.instances {
        let mut addrs = Vec::with_capacity(instances.len());
        for inst in instances {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            addrs.push(listener.local_addr()?);
            tokio::spawn(serve_control(world.clone(), inst.clone(), listener));
        }
        endpoints.push(addrs);
    }
    let endpoints = Arc::new(endpoints);
    let http: ControlClient = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    for f in 0..world.model.faults.len() {
        tokio::spawn(run_fault(world.clone(), endpoints.clone(), http.clone(), f));
    }
    let w = world.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(w.rec.instant(w.model.warmup).into()).await;
        w.chaos.end_warmup();
    });
    Ok(endpoints)
}

/// Fault `f`'s schedule in real time: a fixed window, or alternating draws of the time
/// between failures and the time to repair from the engine's own stream `fault/<name>`
/// (so the first onset is the simulated one; later draws differ where the engine draws
/// injected effects from the same stream).
async fn run_fault(world: Arc<World>, ends: Arc<Endpoints>, http: ControlClient, f: FaultId) {
    let model = &world.model;
    let fault = &model.faults[f];
    match &fault.schedule {
        Schedule::Window { start, end } => {
            switch(&world, &ends, &http, f, *start, true).await;
            switch(&world, &ends, &http, f, *end, false).await;
        }
        Schedule::Random { up, down } => {
            let streams = Streams::new(model.seed, world.rec.replication().into());
            let mut rng = streams.stream(&format!("fault/{}", fault.name));
            let (mut t, mut on) = (up.sample(&mut rng), true);
            while t <= model.end() {
                switch(&world, &ends, &http, f, t, on).await;
                let d = if on { down } else { up };
                t += d.sample(&mut rng).max(SimTime(1));
                on = !on;
            }
        }
    }
}

/// At replication time `t`, switches fault `f` on or off at each of its targets' control
/// endpoints (an edge's: every instance of its caller).
async fn switch(world: &World, ends: &Endpoints, http: &ControlClient, f: FaultId, t: SimTime, on: bool) {
    let model = &world.model;
    if t > model.end() {
        return;
    }
    tokio::time::sleep_until(world.rec.instant(t).into()).await;
    world.chaos.switch(model, f, t, on, world.rec.replication() == 0);
    let targets: Vec<SocketAddr> = match &model.faults[f].target {
        Target::Instances(list) => list.iter().map(|&(s, i)| ends[s][i as usize]).collect(),
        Target::Edge(e) => ends[model.edges[*e].from].clone(),
        Target::Workload(_) => Vec::new(),
    };
    let body = format!("{} {f}", if on { "on" } else { "off" });
    for addr in targets {
        let req = Request::post(format!("http://{addr}{CONTROL}")).body(Full::new(Bytes::from(body.clone())));
        let sent = match req {
            Ok(req) => http.request(req).await.map(|r| r.status()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if sent != Ok(StatusCode::OK) {
            eprintln!("warning: fault `{}` could not be switched at {addr}: {sent:?}", model.faults[f].name);
        }
    }
}

/// The replication ended at `end`: each fault's record goes into `result`, the faults
/// still active counted up to `end`, the log entries in time order.
pub fn finish(world: &World, result: &mut ReplicationResult, end: SimTime) {
    let mut book = lock(&world.chaos.book);
    let warmup = world.model.warmup;
    let book = &mut *book;
    for (m, since) in book.metrics.iter_mut().zip(&book.since) {
        if let Some(since) = since {
            m.active += end.saturating_sub((*since).max(warmup));
        }
    }
    result.faults = std::mem::take(&mut book.metrics);
    result.log.append(&mut book.log);
    result.log.sort_by_key(|&(t, _)| t);
    book.metrics = vec![FaultMetrics::default(); world.model.faults.len()];
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use tokio::sync::Semaphore;

    #[test]
    fn a_capacity_fault_takes_workers_away_as_they_come_free_and_gives_them_back() {
        let yaml = "name: t\nduration: 1s\nservices:\n  api: { servers: 4, service_time: { constant: { value: 1ms } } }\n\
                    workloads:\n  - { name: u, target: api, arrivals: { poisson: { rate: 1/s } } }\n";
        let model = resim::scenario::load_str(yaml, Path::new("t.yaml"), &[]).expect("scenario").model;
        let streams = Streams::new(1, 0);
        let inst = Instance {
            service: 0,
            index: 0,
            workers: Semaphore::new(4),
            rng: Mutex::new(streams.stream("x")),
            faults: InstanceFaults::new(&model, &streams, 0, 0),
        };
        let busy: Vec<_> = (0..3).map(|_| inst.workers.try_acquire().expect("free")).collect();
        let mut st = lock(&inst.faults.state);
        // One worker left: the free one goes now, two of the busy ones when they finish.
        set_removed(&inst, &mut st, 3);
        assert_eq!(inst.workers.available_permits(), 0);
        assert_eq!(inst.faults.withheld.load(Ordering::Acquire), 2);
        let mut busy = busy.into_iter();
        release(&inst, busy.next().expect("busy"));
        assert_eq!(inst.workers.available_permits(), 0);
        assert_eq!(inst.faults.withheld.load(Ordering::Acquire), 1);
        // Back to four: the one still owed is forgiven, the two taken come back.
        set_removed(&inst, &mut st, 0);
        assert_eq!(inst.faults.withheld.load(Ordering::Acquire), 0);
        assert_eq!(inst.workers.available_permits(), 2);
        busy.for_each(|p| release(&inst, p));
        assert_eq!(inst.workers.available_permits(), 4);
    }
}
