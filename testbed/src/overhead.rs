//! The testbed's own time, measured so that it can be taken off and shown: the loopback
//! round trip of an HTTP request that does nothing (a no-op server on its own port,
//! probed before the run), and the timer and generator lateness measured during it.

use std::convert::Infallible;
use std::time::Instant;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Probes sent to measure the loopback round trip.
const PROBES: usize = 200;

/// The testbed's own time in one replication.
#[derive(Clone, Debug, Default)]
pub struct Overhead {
    /// Loopback HTTP round trips of a no-op request, s, sorted.
    pub rtt_s: Vec<f64>,
    /// Mean lateness of a service-time sleep before correction, s.
    pub timer_late_s: f64,
    /// Mean |error| of a service-time sleep after correction, s.
    pub timer_residual_s: f64,
    /// Service-time sleeps.
    pub sleeps: u64,
    /// Mean lateness of the generator's sends, s.
    pub generator_late_s: f64,
    /// Requests the generator sent.
    pub sent: u64,
}

impl Overhead {
    /// One line for the summary: what the testbed's own time was, and what was done with it.
    pub fn line(all: &[Overhead]) -> String {
        let v = Self::to_json(all);
        let ms =
            |p: &[&str]| p.iter().fold(&v, |v, k| &v[k]).as_f64().map_or("-".into(), |s| format!("{:.3} ms", s * 1e3));
        format!(
            "testbed overhead: loopback round trip p50 {} p99 {}; service-time sleeps late by {} before correction, \
             {} after (taken off each latency); load generator late by {}\n",
            ms(&["loopback_rtt_s", "p50"]),
            ms(&["loopback_rtt_s", "p99"]),
            ms(&["timer_lateness_s"]),
            ms(&["timer_residual_s"]),
            ms(&["generator_lateness_s"]),
        )
    }

    /// The report's `testbed.overhead` object, pooled over replications.
    pub fn to_json(all: &[Overhead]) -> Value {
        let mut rtt: Vec<f64> = all.iter().flat_map(|o| o.rtt_s.iter().copied()).collect();
        rtt.sort_by(f64::total_cmp);
        let q = |p: f64| rtt.get(((rtt.len() as f64 * p) as usize).min(rtt.len().saturating_sub(1))).copied();
        let mean = |f: fn(&Overhead) -> f64, w: fn(&Overhead) -> u64| {
            let n: u64 = all.iter().map(w).sum();
            (n > 0).then(|| all.iter().map(|o| f(o) * w(o) as f64).sum::<f64>() / n as f64)
        };
        json!({
            "loopback_rtt_s": { "p50": q(0.5), "p99": q(0.99), "probes": rtt.len() },
            "timer_lateness_s": mean(|o| o.timer_late_s, |o| o.sleeps),
            "timer_residual_s": mean(|o| o.timer_residual_s, |o| o.sleeps),
            "generator_lateness_s": mean(|o| o.generator_late_s, |o| o.sent),
        })
    }
}

/// Round trips of [`PROBES`] sequential no-op requests on loopback, s, sorted.
pub async fn loopback_rtt() -> std::io::Result<Vec<f64>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let ok = service_fn(|_: Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), ok).await;
            });
        }
    });
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let uri: hyper::Uri = format!("http://{addr}/").parse().map_err(std::io::Error::other)?;
    let mut rtt = Vec::with_capacity(PROBES);
    for k in 0..PROBES + 10 {
        let start = Instant::now();
        client.get(uri.clone()).await.map_err(std::io::Error::other)?;
        // The first requests open the connection: not part of a steady round trip.
        if k >= 10 {
            rtt.push(start.elapsed().as_secs_f64());
        }
    }
    server.abort();
    rtt.sort_by(f64::total_cmp);
    Ok(rtt)
}
