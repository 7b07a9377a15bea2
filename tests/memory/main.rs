//! What a service and an instance cost in memory, measured by the allocator: a test that
//! fails if either grows past what ARCHITECTURE.md states.
//!
//! Its own test binary, so that its counting allocator sees no other test's allocations;
//! one test function, so that nothing runs beside the measurement.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use resim::model::Model;
use resim::model::sim::run_replication;
use resim::report::summary::ReplicationSummary;

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are
// only arithmetic on the sizes asked for.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's layout, as the trait requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's layout, as the trait requires.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: as `dealloc` and `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes a service with its three instances and two calls may hold at the peak of a
/// replication, at most: its metrics, stations, streams and policies, and its series,
/// with the traffic below (ARCHITECTURE.md, "Memory at scale"; 26 KB measured).
const SERVICE_BYTES: f64 = 30_000.0;
/// Bytes an instance may hold, at most: its station, its counters and its guard of each
/// call (1.5 KB measured).
const INSTANCE_BYTES: f64 = 2_000.0;

/// The layered graph of the scale benches: five layers of `n / 5` services with
/// `instances` instances each; every service calls two of the next layer with a timeout
/// and one retry; one workload per first-layer service, each service seeing about the
/// same traffic whatever `n` (about 2,000 visits in 100 windows).
fn layered(n: usize, instances: u32) -> Model {
    let per = n / 5;
    let mut y = String::from("name: m\nduration: 100s\nwarmup: 0s\nreplications: 1\nseed: 1\nservices:\n");
    for l in 0..5 {
        for i in 0..per {
            y += &format!(
                "  s{l}-{i}:\n    instances: {instances}\n    load_balancer: power_of_two\n    servers: 4\n    \
                 capacity: 64\n    service_time: {{ exponential: {{ mean: 2ms }} }}\n"
            );
            if l < 4 {
                y += "    calls:\n";
                for k in 0..2 {
                    let to = (i * 2 + k) % per;
                    y += &format!("      - {{ to: s{}-{to}, timeout: 500ms, retry: {{ max_attempts: 2 }} }}\n", l + 1);
                }
            }
        }
    }
    y += "workloads:\n";
    for i in 0..per {
        y += &format!("  - {{ name: w{i}, target: s0-{i}, arrivals: {{ poisson: {{ rate: 1.3/s }} }} }}\n");
    }
    resim::scenario::load_str(&y, Path::new("layered.yaml"), &[]).expect("a valid scenario").model
}

/// Peak live bytes above the start while `f` runs.
fn peak_of<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (PEAK.load(Ordering::Relaxed) - base, out)
}

/// Peak bytes of one replication of `model` and its summary.
fn replication_peak(model: &Model) -> usize {
    peak_of(|| {
        let result = run_replication(model, 0);
        ReplicationSummary::of(model, result)
    })
    .0
}

#[test]
fn a_service_and_an_instance_cost_what_architecture_says() {
    let (small, large) = (layered(200, 3), layered(1_000, 3));
    let per_service = (replication_peak(&large) as f64 - replication_peak(&small) as f64) / 800.0;
    let wide = layered(1_000, 6);
    let per_instance = (replication_peak(&wide) as f64 - replication_peak(&large) as f64) / 3_000.0;
    println!("per service {per_service:.0} B, per instance {per_instance:.0} B");
    assert!(per_service <= SERVICE_BYTES, "a service costs {per_service:.0} bytes, over {SERVICE_BYTES}");
    assert!(per_instance <= INSTANCE_BYTES, "an instance costs {per_instance:.0} bytes, over {INSTANCE_BYTES}");
    // At that rate 20,000 services of 3 instances fit in the gigabyte with room
    // for the model and the report.
    assert!(20_000.0 * per_service < 0.6e9);
}
