//! One replication deployed for real: a listening socket and a station per service
//! instance, a client stack per call edge and caller instance, the shared recorder and
//! timer, all on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use resim::engine::{Stream, Streams, index, unit};
use resim::model::{Balancer, Model};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::client::EdgeStack;
use crate::faults::{Chaos, InstanceFaults};
use crate::record::{Clock, Recorder};
use crate::timer::Timer;

/// The HTTP client every call goes through: hyper's pooled HTTP/1.1 client.
pub type Http = Client<HttpConnector, Empty<Bytes>>;

/// One service instance: its workers and its random stream of service times.
pub struct Instance {
    /// Service index in the model.
    pub service: usize,
    /// Instance index within the service.
    pub index: usize,
    /// `servers` permits, taken in arrival order (tokio's semaphore is fair).
    pub workers: Semaphore,
    /// Service times, call probabilities and route choices.
    pub rng: Mutex<Stream>,
    /// The faults active on it, switched through its control endpoint.
    pub faults: InstanceFaults,
}

/// Everything a replication's tasks share.
pub struct World {
    /// The scenario's model.
    pub model: Arc<Model>,
    /// What the replication measures.
    pub rec: Recorder,
    /// Sleeps with their error corrected.
    pub timer: Timer,
    /// Per service, its instances.
    pub instances: Vec<Vec<Arc<Instance>>>,
    /// Per service, its instances' addresses.
    pub addrs: Vec<Vec<SocketAddr>>,
    /// Per service and instance: requests sent to it and not yet answered (for the
    /// least-outstanding and power-of-two balancers).
    pub outstanding: Vec<Vec<AtomicU32>>,
    /// Per service, the round-robin position.
    round_robin: Vec<AtomicUsize>,
    /// Per edge, then per caller instance: the client with its middleware.
    pub edges: Vec<Vec<EdgeStack>>,
    /// The pooled HTTP client.
    pub http: Http,
    /// Balancer draws.
    balance_rng: Mutex<Stream>,
    /// Partitioned edges and what each fault did.
    pub chaos: Chaos,
}

/// Listening sockets for every instance, bound before anything is served so that every
/// address is known when the clients are built.
pub struct Sockets {
    /// Per service, per instance.
    pub listeners: Vec<Vec<TcpListener>>,
}

impl Sockets {
    /// Binds one loopback port per instance.
    pub async fn bind(model: &Model) -> std::io::Result<Self> {
        let mut listeners = Vec::with_capacity(model.services.len());
        for s in &model.services {
            let mut l = Vec::with_capacity(s.instances as usize);
            for _ in 0..s.instances {
                l.push(TcpListener::bind("127.0.0.1:0").await?);
            }
            listeners.push(l);
        }
        Ok(Self { listeners })
    }
}

impl World {
    /// The world of replication `replication`, serving on `sockets`.
    pub fn new(model: Arc<Model>, replication: u32, sockets: &Sockets) -> std::io::Result<Self> {
        let streams = Streams::new(model.seed, u64::from(replication));
        let mut instances = Vec::new();
        let mut addrs = Vec::new();
        for (s, svc) in model.services.iter().enumerate() {
            let mut v = Vec::new();
            for i in 0..svc.instances as usize {
                let rng = streams.stream(&format!("testbed/service/{}/{i}", svc.name));
                let workers = Semaphore::new(svc.servers as usize);
                let faults = InstanceFaults::new(&model, &streams, s, i);
                v.push(Arc::new(Instance { service: s, index: i, workers, rng: Mutex::new(rng), faults }));
            }
            instances.push(v);
            addrs.push(sockets.listeners[s].iter().map(TcpListener::local_addr).collect::<Result<Vec<_>, _>>()?);
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1024).build(connector);
        let outstanding =
            model.services.iter().map(|s| (0..s.instances).map(|_| AtomicU32::new(0)).collect()).collect();
        let clock = Clock::start();
        let edges = crate::client::build_edges(&model, &streams, clock);
        Ok(Self {
            rec: Recorder::new(&model, replication, clock),
            timer: Timer::new(),
            round_robin: model.services.iter().map(|_| AtomicUsize::new(0)).collect(),
            balance_rng: Mutex::new(streams.stream("testbed/balance")),
            chaos: Chaos::new(&model),
            model,
            instances,
            addrs,
            outstanding,
            edges,
            http,
        })
    }

    /// The instance of service `s` the balancer sends the next request to.
    pub fn pick(&self, s: usize) -> usize {
        let n = self.addrs[s].len();
        if n == 1 {
            return 0;
        }
        let load = |i: usize| self.outstanding[s][i].load(Ordering::Relaxed);
        match self.model.services[s].balancer {
            Balancer::RoundRobin => self.round_robin[s].fetch_add(1, Ordering::Relaxed) % n,
            Balancer::Random => index(&mut lock(&self.balance_rng), n),
            Balancer::LeastOutstanding => (0..n).min_by_key(|&i| (load(i), i)).unwrap_or(0),
            Balancer::PowerOfTwo => {
                let (a, b) = {
                    let mut rng = lock(&self.balance_rng);
                    let a = index(&mut rng, n);
                    (a, (a + 1 + index(&mut rng, n - 1)) % n)
                };
                if load(b) < load(a) { b } else { a }
            }
        }
    }

    /// A uniform draw in [0, 1) from instance `inst`'s stream.
    pub fn draw(&self, inst: &Instance) -> f64 {
        unit(&mut lock(&inst.rng))
    }
}

/// Locks `m`, ignoring poisoning (a panicked task leaves the stream usable).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
