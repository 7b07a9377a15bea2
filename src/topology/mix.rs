//! The numbers the generator follows, each with where it comes from: a published figure
//! of Alibaba's 2021 microservice traces, or a choice of ours where none is published
//! (said so). See the module doc of [`super`] for the sources.

/// Share of services that are Memcached caches. Luo et al. (SoCC 2021): in call graphs
/// of more than 40 microservices about half of the microservices are Memcached; over the
/// whole deployment leaves are 39% of microservices (Winchester et al. 2025). Ours: 25%.
pub const MEMCACHED_SHARE: f64 = 0.25;
/// Share of services that are databases. Not published; ours: 10%, so stateful
/// backends are 35% of services, near the 39% of leaf microservices.
pub const DATABASE_SHARE: f64 = 0.10;
/// Mean fan-out of the tree the stateless services hang from: Du et al. report children
/// sets of 1 to 10 at Alibaba; the tier count grows with `log3` of the services per
/// entry, so 20,000 services need 7 tiers of stateless calls.
pub const TREE_FAN_OUT: f64 = 3.0;
/// Deepest stateless tier: with a backend call under it, the deepest chains reach 8 hops
/// at 20,000 services, in the tail of Alibaba's depth distribution (most call graphs are
/// at most 6 deep; Du et al. report a maximum near 15).
pub const MAX_TIER: usize = 7;
/// Stateless callees a visit calls on average, whatever its fan-out. Ours: a request
/// visits about 19 services at 20,000 services (backends included), in the body of the
/// trace's heavy-tailed sizes (Luo et al.: about 10% of call graphs have more than 40
/// microservices).
pub const BRANCHING: f64 = 1.5;
/// Share of the stateless services (tier 2 and below) that are hot spots. Luo et al.:
/// about 5% of microservices are shared by more than 90% of online services.
pub const HOT_SHARE: f64 = 0.05;
/// Chance a stateless service calls one hot spot. Ours.
pub const HOT_CALLER_SHARE: f64 = 0.3;
/// Chance a stateless service above the last tier hands its request on through a
/// message queue (the trace's `MQ` calls). Not published as a share; ours: 15%.
pub const ROUTE_SHARE: f64 = 0.15;
/// Chance such a hand-off is made on a visit. Ours.
pub const ROUTE_PROBABILITY: f64 = 0.5;
/// Extra backend calls per stateless service, by count (0, 1, 2, 3), on top of the one
/// call each backend gets so none is idle (about 0.54 per stateless service). Ours: a
/// mean of about 1.5 backend calls per stateless service, so backend calls are 55-60% of
/// the edges, near the half of the trace's call records that carry no RPC interface.
pub const BACKEND_CALLS: [f64; 4] = [0.35, 0.40, 0.20, 0.05];
/// Chance an extra backend call is to a cache rather than a database. Ours, after Luo
/// et al.'s finding that Memcached dominates large call graphs.
pub const CACHE_CALL_SHARE: f64 = 0.7;
/// Chance a database read behind a cache read is made (the cache's miss ratio). Ours.
pub const CACHE_MISS: f64 = 0.3;
/// Share of calls between stateless services that are optional (their failure degrades
/// the request). Ours.
pub const OPTIONAL_SHARE: f64 = 0.1;
/// Share of calls between stateless services that retry once. Ours.
pub const RPC_RETRY_SHARE: f64 = 0.3;
/// Share of database calls that retry once. Ours.
pub const DB_RETRY_SHARE: f64 = 0.2;
/// Target utilisation of a service's workers when sized from its offered load. Ours:
/// the middle of the 0.3-0.7 band production fleets run at.
pub const TARGET_UTILISATION: f64 = 0.5;
/// Most workers per instance before another instance is added.
pub const MAX_SERVERS: u32 = 32;
/// Instances before load sizing: `1.2 U^(-1/1.6)` (a Pareto law, U uniform), rounded, at
/// least 2, at most [`MAX_INSTANCES`]. Alibaba runs about 28 containers per microservice
/// on average (Winchester et al.: 1.87 M instances of 67,760 microservices), heavy
/// tailed; ours is scaled down about tenfold to a mean near 3, the 60,000 instances of
/// 20,000 services the scale benches aim at.
pub const INSTANCE_SCALE: f64 = 1.2;
/// The Pareto shape of the instance counts.
pub const INSTANCE_SHAPE: f64 = 1.6;
/// Most instances of one service.
pub const MAX_INSTANCES: u32 = 64;
/// Call timeout as a multiple of the callee's expected response time. Ours.
pub const TIMEOUT_FACTOR: f64 = 25.0;
/// Report windows in a run: the window is the duration over this.
pub const WINDOWS: u64 = 60;
/// Events the engine handles per event `resim run`'s budget expects (an arrival per
/// request, two per visit): measured 0.904 and 0.915 on the generated graphs of 10 and
/// 100 services (default parameters, seed 1), whose calls end in fewer events than two
/// per visit on average.
pub const EVENTS_MEASURED_RATIO: f64 = 0.91;
