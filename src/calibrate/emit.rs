//! The calibrated scenario as YAML text, written by hand so it carries comments: where
//! each number came from, which are estimates, and the hints for policies that the
//! traces suggest but a scenario should not assume.
//!
//! Every name is written as a JSON string (a valid YAML double-quoted scalar), every
//! duration in the largest unit that keeps it at or above 1 with its exact nanoseconds
//! (`12.345678ms`), so the file reads back to the values computed.

use std::fmt::Write;

use super::fit::Fitted;
use super::infer::{Calibration, InferOptions, ServiceReport};
use super::select::Choice;
use super::steps::{CallTemplate, Step};

/// The scenario text of `cal`.
pub fn emit(cal: &Calibration, opts: &InferOptions) -> String {
    let mut y = String::new();
    header(&mut y, cal, opts);
    y.push_str("services:\n");
    for s in &cal.services {
        service(&mut y, s, cal, opts);
    }
    workloads(&mut y, cal);
    if opts.error_faults {
        faults(&mut y, cal);
    }
    y
}

fn header(y: &mut String, cal: &Calibration, opts: &InferOptions) {
    let duration = cal.duration_s.ceil().max(1.0);
    let warmup = opts.warmup_s.unwrap_or((duration / 10.0).min(60.0)).max(0.0);
    let _ = writeln!(
        y,
        "# Calibrated by `resim calibrate` from {} spans in {} traces: {} truncated (no root span; left out\n\
         # of the rates), {} spans with a missing parent, {} corrected for clock skew, {} calls to an\n\
         # unknown service, {} producers without a consumer.\n\
         # `servers` is an estimate: the most requests seen at once on one instance (traces do not\n\
         # record worker pools; from sampled traces, the busiest window scaled up with a margin);\n\
         # `capacity` is left unbounded. Check both.",
        cal.spans,
        cal.traces,
        cal.truncated_traces,
        cal.missing_parents,
        cal.skew_corrections,
        cal.unresolved_calls,
        cal.unmatched_producers
    );
    let _ = writeln!(y, "name: {}", quote(&opts.name));
    let _ = writeln!(y, "description: {}", quote(&format!("inferred from {} traces", cal.traces)));
    let _ = writeln!(y, "duration: {}", secs(duration));
    let _ = writeln!(y, "warmup: {}", secs(warmup));
    let _ = writeln!(y, "replications: {}", opts.replications.max(1));
    let _ = writeln!(y, "seed: {}", opts.seed);
}

fn service(y: &mut String, s: &ServiceReport, cal: &Calibration, opts: &InferOptions) {
    let _ = writeln!(y, "  {}:", quote(&s.name));
    let peer = if s.peer_only { " (known from its callers' client spans only)" } else { "" };
    let _ = writeln!(
        y,
        "    # {} requests{peer}; errors {:.3}% (own {:.3}%)\n    # own time: {}",
        s.requests,
        100.0 * s.error_probability,
        100.0 * s.own_error_probability,
        s.fit.reason
    );
    let _ = writeln!(y, "    instances: {}", s.instances);
    let how = if opts.sampling < 1.0 {
        "the busiest window's concurrency on one instance, scaled up by the sampling, with a margin"
    } else {
        "peak concurrent requests on one instance"
    };
    let _ = writeln!(y, "    servers: {}  # estimate: {how}", s.servers);
    let _ = writeln!(y, "    service_time: {}", dist(&s.fit.choice, &s.fit.sorted, opts.max_samples));
    if !s.steps.is_empty() {
        y.push_str("    calls:\n");
        for step in &s.steps {
            match step {
                Step::One(c) => {
                    hints(y, s, c, cal, "      ");
                    let _ = writeln!(y, "      - {}", call(c, cal));
                }
                Step::Parallel(cs) => {
                    y.push_str("      - parallel:\n");
                    for c in cs {
                        hints(y, s, c, cal, "          ");
                        let _ = writeln!(y, "          - {}", call(c, cal));
                    }
                }
            }
        }
    }
    let routes: Vec<String> = s
        .routes
        .iter()
        .filter_map(|&(to, p)| {
            let p = prob(p);
            (p != "0").then(|| format!("      - {{ to: {}, probability: {p} }}", quote(&cal.services[to].name)))
        })
        .collect();
    if !routes.is_empty() {
        let _ = writeln!(y, "    routes:\n{}", routes.join("\n"));
    }
}

/// Comments with the timeout and retry hints of the edge behind `c`.
fn hints(y: &mut String, s: &ServiceReport, c: &CallTemplate, cal: &Calibration, indent: &str) {
    let callee = &cal.services[c.callee].name;
    let Some(e) = cal.edges.iter().find(|e| e.caller == s.name && &e.callee == callee) else { return };
    if e.error_probability > 0.0 {
        let _ = writeln!(y, "{indent}# {:.3}% of {} attempts failed", 100.0 * e.error_probability, e.attempts);
    }
    if let Some((t, n)) = e.timeout_s {
        let _ =
            writeln!(y, "{indent}# hint: {n} failed attempts lasted {}: a timeout? (timeout: {})", secs(t), secs(t));
    }
    if e.retried_calls > 0 {
        let _ = writeln!(
            y,
            "{indent}# hint: {} calls retried after a failure, up to {} attempts (retry: {{ max_attempts: {} }})",
            e.retried_calls, e.max_attempts, e.max_attempts
        );
    }
}

fn call(c: &CallTemplate, cal: &Calibration) -> String {
    let to = quote(&cal.services[c.callee].name);
    let p = prob(c.probability);
    if p == "1" { format!("{{ to: {to} }}") } else { format!("{{ to: {to}, probability: {p} }}") }
}

fn workloads(y: &mut String, cal: &Calibration) {
    y.push_str("workloads:\n");
    let mut names = std::collections::BTreeSet::new();
    for e in &cal.entries {
        let base = format!("{}: {}", e.service, e.operation).chars().filter(|c| !c.is_control()).collect::<String>();
        let mut name = base.clone();
        let mut k = 2;
        while !names.insert(name.clone()) {
            name = format!("{base} ({k})");
            k += 1;
        }
        let _ = writeln!(y, "  # {} entry requests", e.requests);
        let _ = writeln!(y, "  - name: {}\n    target: {}", quote(&name), quote(&e.service));
        if e.profile.is_empty() {
            let _ = writeln!(y, "    arrivals: {{ poisson: {{ rate: {} }} }}", rate(e.rate_per_s));
        } else {
            y.push_str("    arrivals:\n      poisson:\n        profile:\n");
            for &(at, r) in &e.profile {
                let _ = writeln!(y, "          - {{ at: {}, rate: {} }}", secs(at), rate(r));
            }
        }
    }
}

fn faults(y: &mut String, cal: &Calibration) {
    let own: Vec<&ServiceReport> =
        cal.services.iter().filter(|s| !s.peer_only && prob(s.own_error_probability) != "0").collect();
    if own.is_empty() {
        return;
    }
    let duration = secs(cal.duration_s.ceil().max(1.0));
    y.push_str("# The errors each service raised itself (none of its calls failed), over the whole run.\nfaults:\n");
    for s in own {
        let _ = writeln!(
            y,
            "  - {{ name: {}, kind: error, target: {}, at: 0s, for: {duration}, probability: {} }}",
            quote(&format!("observed-errors-{}", s.name)),
            quote(&s.name),
            prob(s.own_error_probability)
        );
    }
}

/// A `service_time` value in flow style.
fn dist(choice: &Choice, sorted: &[f64], max_samples: usize) -> String {
    match *choice {
        Choice::Constant(v) => format!("{{ constant: {{ value: {} }} }}", secs(v)),
        Choice::Family(Fitted::Exponential { mean }) => format!("{{ exponential: {{ mean: {} }} }}", pos_secs(mean)),
        Choice::Family(Fitted::Lognormal { mu, sigma }) => {
            let mean = (mu + sigma * sigma / 2.0).exp();
            let sd = mean * (sigma * sigma).exp_m1().sqrt();
            format!("{{ lognormal: {{ mean: {}, sd: {} }} }}", pos_secs(mean), pos_secs(sd))
        }
        Choice::Family(Fitted::Gamma { shape, scale }) => {
            format!("{{ gamma: {{ shape: {}, mean: {} }} }}", sig(shape), pos_secs(shape * scale))
        }
        Choice::Family(Fitted::Weibull { shape, scale }) => {
            format!("{{ weibull: {{ shape: {}, scale: {} }} }}", sig(shape), pos_secs(scale))
        }
        Choice::Empirical => {
            let m = sorted.len().min(max_samples.max(1));
            let picks: Vec<String> = (0..m)
                .map(|k| {
                    // Evenly spaced order statistics: all of them when there are few enough.
                    let at = if m == sorted.len() {
                        k
                    } else {
                        ((k as f64 + 0.5) * sorted.len() as f64 / m as f64) as usize
                    };
                    secs(sorted[at.min(sorted.len() - 1)])
                })
                .collect();
            // A flow sequence may continue on more-indented lines: ten samples a line.
            let lines: Vec<String> = picks.chunks(10).map(|c| c.join(", ")).collect();
            format!("\n      empirical:\n        samples: [\n          {}\n        ]", lines.join(",\n          "))
        }
    }
}

/// A duration of `s` seconds written exactly to the nanosecond, in the largest unit
/// that keeps the number at least 1.
pub fn secs(s: f64) -> String {
    let ns = (s.max(0.0) * 1e9).round() as u64;
    let (unit, size) = match ns {
        n if n >= 1_000_000_000 => ("s", 1_000_000_000u64),
        n if n >= 1_000_000 => ("ms", 1_000_000),
        n if n >= 1_000 => ("us", 1_000),
        _ => ("ns", 1),
    };
    let (int, frac) = (ns / size, ns % size);
    if frac == 0 {
        return format!("{int}{unit}");
    }
    let digits = size.ilog10() as usize;
    let frac = format!("{frac:0digits$}");
    format!("{int}.{}{unit}", frac.trim_end_matches('0'))
}

/// [`secs`] of a parameter that must stay above 0: at least 1 ns.
fn pos_secs(s: f64) -> String {
    secs(s.max(1e-9))
}

/// A probability to 4 decimals, without trailing zeros (`1`, `0.5`, `0.0333`).
fn prob(p: f64) -> String {
    let t = format!("{:.4}", p.clamp(0.0, 1.0));
    let t = t.trim_end_matches('0').trim_end_matches('.');
    t.to_owned()
}

/// A rate per second to 6 significant digits.
fn rate(r: f64) -> String {
    format!("{}/s", sig(r))
}

/// A positive number to 6 significant digits, in plain decimal notation.
fn sig(x: f64) -> String {
    if !(x.is_finite() && x > 0.0) {
        return "0".into();
    }
    let decimals = (5 - x.log10().floor() as i32).max(0) as usize;
    let t = format!("{x:.decimals$}");
    if t.contains('.') { t.trim_end_matches('0').trim_end_matches('.').to_owned() } else { t }
}

/// `s` as a JSON string, which YAML reads as a double-quoted scalar.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::units::parse_duration;

    #[test]
    fn durations_are_exact_to_the_nanosecond() {
        assert_eq!(secs(0.012_345_678), "12.345678ms");
        assert_eq!(secs(2.0), "2s");
        assert_eq!(secs(0.000_000_5), "500ns");
        assert_eq!(secs(0.0), "0ns");
        assert_eq!(parse_duration(&secs(1.000_000_001)).unwrap().0, 1_000_000_001);
        assert_eq!(prob(0.5), "0.5");
        assert_eq!(prob(1.0), "1");
        assert_eq!(prob(0.000_01), "0");
        assert_eq!(sig(12.345_678_9), "12.3457");
        assert_eq!(sig(1234567.0), "1234567");
    }
}
