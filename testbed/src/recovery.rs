//! Whether and when a workload recovered after a fault, read the same way from a real
//! and a simulated report, so the two can be held to the same outcome (issue 25's retry
//! storm: collapse without a retry budget, recovery with one).
//!
//! From the workload's timeline (`failed` / `requests` per window, measured time): the
//! baseline is the failed share over the windows that end before the fault starts; the
//! workload has recovered from the first window starting at or after the fault's end
//! from which every later window's failed share is within [`RECOVERY_TOL`] of that
//! baseline. The recovery time is that window's start minus the fault's end: its
//! resolution is one window, and two reports agree on it when they differ by at most one
//! window. No counterfactual run is needed (a real system has none), so this is not the
//! simulator's blast radius, whose own verdict is shown beside it for the simulation.

use serde_json::Value;

/// How far above its pre-fault failed share a workload may stay and count as recovered:
/// 5 points, well above the window-to-window noise of a failed share at a few hundred
/// requests a window (a binomial share of 1% over 800 requests has a standard deviation
/// of 0.35 points), well below a collapsed workload's (near 100%).
pub const RECOVERY_TOL: f64 = 0.05;

/// One workload after one fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery {
    /// The fault's name.
    pub fault: String,
    /// The workload's name.
    pub workload: String,
    /// Failed share before the fault.
    pub baseline: f64,
    /// Seconds from the fault's end to recovery; `None`: not recovered by the end.
    pub after_s: Option<f64>,
    /// The timeline's window, s (the resolution of `after_s`).
    pub window_s: f64,
}

fn series(t: &Value, key: &str) -> Vec<f64> {
    t.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

/// The recovery of every workload after every fault with a window, in report order.
pub fn recoveries(report: &Value) -> Vec<Recovery> {
    let mut out = Vec::new();
    let faults = report.get("faults").and_then(Value::as_array).cloned().unwrap_or_default();
    let workloads = report.get("workloads").and_then(Value::as_object).cloned().unwrap_or_default();
    for f in &faults {
        let Some([start, end]) = f.get("window_s").and_then(Value::as_array).and_then(|w| {
            let v: Vec<f64> = w.iter().filter_map(Value::as_f64).collect();
            <[f64; 2]>::try_from(v).ok()
        }) else {
            continue;
        };
        let fault = f.get("name").and_then(Value::as_str).unwrap_or("?").to_owned();
        for (name, w) in &workloads {
            let Some(t) = w.get("timeline") else { continue };
            let window_s = t.get("window_s").and_then(Value::as_f64).unwrap_or(0.0);
            if window_s <= 0.0 {
                continue;
            }
            let (requests, failed) = (series(t, "requests"), series(t, "failed"));
            let share: Vec<f64> =
                requests.iter().zip(&failed).map(|(&n, &x)| if n > 0.0 { x / n } else { 0.0 }).collect();
            let before: Vec<f64> = share
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i + 1) as f64 * window_s <= start)
                .map(|(_, &s)| s)
                .collect();
            let baseline = if before.is_empty() { 0.0 } else { before.iter().sum::<f64>() / before.len() as f64 };
            let first = share.iter().enumerate().position(|(i, _)| i as f64 * window_s >= end - 1e-9);
            let after_s = first.and_then(|k0| {
                let healthy = |s: &f64| *s <= baseline + RECOVERY_TOL;
                (k0..share.len()).find(|&k| share[k..].iter().all(healthy)).map(|k| k as f64 * window_s - end)
            });
            out.push(Recovery { fault: fault.clone(), workload: name.clone(), baseline, after_s, window_s });
        }
    }
    out
}

/// A markdown table of the real and simulated recoveries with a verdict per row, and
/// whether every row agrees (the same outcome; both recovered within one window of each
/// other). Empty when the reports have no faults.
pub fn render(real: &Value, sim: &Value) -> (String, bool) {
    let (r, s) = (recoveries(real), recoveries(sim));
    if r.is_empty() && s.is_empty() {
        return (String::new(), true);
    }
    let show = |x: &Recovery| x.after_s.map_or("not recovered".to_owned(), |t| format!("{t:.0} s after its end"));
    let mut out = String::from(
        "Recovery after each fault (failed share back within 5 points of its level before the fault, \
         window by window to the end):\n\n| fault | workload | real | simulated | verdict |\n|---|---|---|---|---|\n",
    );
    let mut all = true;
    for a in &r {
        let Some(b) = s.iter().find(|b| b.fault == a.fault && b.workload == a.workload) else { continue };
        let ok = match (a.after_s, b.after_s) {
            (None, None) => true,
            (Some(x), Some(y)) => (x - y).abs() <= a.window_s.max(b.window_s) + 1e-9,
            _ => false,
        };
        all &= ok;
        let verdict = if ok { "✓ same outcome" } else { "✗ different" };
        out += &format!("| {} | {} | {} | {} | {verdict} |\n", a.fault, a.workload, show(a), show(b));
    }
    if let Some(br) = sim.get("blast_radius").and_then(Value::as_array) {
        for b in br {
            let field = |k: &str| b.get(k).map_or("—".to_owned(), Value::to_string);
            out += &format!(
                "\nThe simulation's own blast radius (against a run without `{}`): recovered {}, time to recover {} s, \
                 metastable {}, replications not recovered {}.\n",
                b.get("fault").and_then(Value::as_str).unwrap_or("?"),
                field("recovered"),
                field("time_to_recover_s"),
                field("metastable"),
                field("replications_not_recovered"),
            );
        }
    }
    (out, all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(failed: &[f64]) -> Value {
        json!({
            "faults": [ { "name": "surge", "window_s": [20.0, 40.0] } ],
            "workloads": { "users": { "timeline": {
                "window_s": 5.0, "requests": vec![100.0; failed.len()], "failed": failed } } }
        })
    }

    #[test]
    fn recovered_and_collapsed_are_told_apart() {
        let recovered = report(&[1.0, 0.0, 1.0, 0.0, 90.0, 99.0, 99.0, 99.0, 50.0, 3.0, 2.0, 1.0]);
        let collapsed = report(&[1.0, 0.0, 1.0, 0.0, 90.0, 99.0, 99.0, 99.0, 98.0, 97.0, 99.0, 99.0]);
        let r = recoveries(&recovered);
        assert_eq!(r.len(), 1);
        assert!((r[0].baseline - 0.005).abs() < 1e-12);
        // Windows start at 40 (50% failed) and 45 (3%): recovered 5 s after the end.
        assert_eq!(r[0].after_s, Some(5.0));
        assert_eq!(recoveries(&collapsed)[0].after_s, None);
        assert!(!render(&recovered, &collapsed).1);
        assert!(render(&collapsed, &collapsed).1);
    }

    #[test]
    fn a_window_apart_agrees_two_do_not() {
        let a = report(&[0.0, 0.0, 0.0, 0.0, 90.0, 99.0, 99.0, 99.0, 2.0, 0.0, 0.0, 0.0]);
        let b = report(&[0.0, 0.0, 0.0, 0.0, 90.0, 99.0, 99.0, 99.0, 60.0, 1.0, 0.0, 0.0]);
        let c = report(&[0.0, 0.0, 0.0, 0.0, 90.0, 99.0, 99.0, 99.0, 60.0, 60.0, 0.0, 0.0]);
        assert!(render(&a, &b).1);
        assert!(!render(&a, &c).1);
    }
}
