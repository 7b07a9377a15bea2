//! `resim calibrate --sampled`: head-sampled traces (a share of the requests, as
//! production keeps them) calibrate to the load and the servers of the whole system.

use crate::common::resim_in as resim;

/// One service, 120 requests a second, each holding a worker 50 ms on average: six busy
/// on average, and none waits with the 40 workers it has.
const API: &str = "
name: api
duration: 20m
seed: 9
services:
  api: { servers: 40, service_time: { exponential: { mean: 50ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 120/s } } }
";

#[test]
fn sampled_traces_give_the_whole_load_and_enough_servers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(d.join("api.yaml"), API).expect("written");
    let args = [
        "run",
        "api.yaml",
        "--out",
        "a",
        "-q",
        "--trace-sample",
        "0.05",
        "--trace-max",
        "100000",
        "--trace-format",
        "otlp",
    ];
    let run = resim(d, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cal =
        resim(d, &["calibrate", "a/trace.otlp.jsonl", "--format", "otlp", "--sampled", "0.05", "--out", "cal.yaml"]);
    assert_eq!(cal.code, 0, "{}", cal.stderr);
    let model = resim::scenario::load_file(&d.join("cal.yaml"), &[]).expect("loads").model;

    // About 7,200 sampled requests: the rate's relative standard error is 1/sqrt(7,200) = 1.2%.
    let resim::model::Arrivals::Poisson(profile) = &model.workloads[0].arrivals else {
        panic!("{:?}", model.workloads[0].arrivals)
    };
    let rate = profile.as_constant().expect("a constant rate (20 minutes is no profile)");
    assert!((rate / 120.0 - 1.0).abs() < 4.0 * 0.012, "rate {rate}/s");
    // The sampled traces show about 0.3 requests at once. Scaled up, the busiest window
    // (about 8 s, so that it holds 50 sampled requests) holds somewhat more than the mean
    // of 6, and the margin of three standard deviations gives about 19 workers (19 for
    // seeds 9 to 12): enough for the peaks of a Poisson(6) concurrency.
    let servers = model.services[0].servers;
    assert!((12..=30).contains(&servers), "servers {servers}");
    // Read as unsampled, the estimate is the peak seen (4 to 6 for seeds 9 to 12): no
    // more than the six busy on average, so the calibrated run would queue.
    let plain = resim(d, &["calibrate", "a/trace.otlp.jsonl", "--format", "otlp", "--out", "plain.yaml"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let plain = resim::scenario::load_file(&d.join("plain.yaml"), &[]).expect("loads").model;
    assert!(plain.services[0].servers <= 6, "{}", plain.services[0].servers);
}
