//! `timeseries.csv`: every per-window series of a report in tidy form, one row per window,
//! series and metric (`window,start_s,end_s,kind,series,metric,value`), the shape pandas,
//! R and spreadsheets pivot directly. Values are means over replications; an empty value
//! is a window without data (a percentile of a window with no answer).

use super::{Report, TimelineReport};

/// One tidy row: window index, kind, series name, metric, value.
type Row<'a> = (usize, &'static str, &'a str, &'static str, Option<f64>);

/// The report's time series as CSV text.
pub fn timeseries_csv(report: &Report) -> Result<String, csv::Error> {
    let mut rows: Vec<Row> = Vec::new();
    let some = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
    let mut series: Vec<(&'static str, String, &'static str, Vec<Option<f64>>)> = Vec::new();
    // The outcome and latency series of a workload or a service timeline.
    let timeline = |t: &TimelineReport| -> [(&'static str, Vec<Option<f64>>); 7] {
        [
            ("requests", some(&t.requests)),
            ("ok", some(&t.ok)),
            ("degraded", some(&t.degraded)),
            ("failed", some(&t.failed)),
            ("p50_s", t.p50_s.clone()),
            ("p90_s", t.p90_s.clone()),
            ("p99_s", t.p99_s.clone()),
        ]
    };
    for (name, w) in &report.workloads {
        for (metric, v) in timeline(&w.timeline) {
            series.push(("workload", name.clone(), metric, v));
        }
    }
    for (name, s) in &report.services {
        for (metric, v) in s.timeline.iter().flat_map(&timeline) {
            series.push(("service", name.clone(), metric, v));
        }
        if let Some(g) = &s.gauges {
            for (metric, v) in [
                ("mean_in_system", some(&g.mean_in_system)),
                ("mean_queue_length", some(&g.mean_queue_length)),
                ("utilization", some(&g.utilization)),
            ] {
                series.push(("service", name.clone(), metric, v));
            }
        }
        if let Some(c) = &s.cache {
            series.push(("service", name.clone(), "cache_hit_ratio", c.hit_ratio_series.clone()));
            series.push(("service", name.clone(), "cache_misses", some(&c.misses_series)));
        }
        for (metric, v) in s.queue.iter().flat_map(super::mqueue::QueueReport::series) {
            series.push(("service", name.clone(), metric, some(v)));
        }
        if let Some(a) = &s.autoscaling {
            series.push(("service", name.clone(), "instances", some(&a.instances_per_window)));
        }
    }
    for (name, e) in &report.edges {
        let t = &e.timeline;
        for (metric, v) in [("calls", some(&t.calls)), ("failed", some(&t.failed)), ("retries", some(&t.retries))] {
            series.push(("edge", name.clone(), metric, v));
        }
    }
    for s in &report.slos {
        let b = &s.burn_rate_series;
        series.push(("slo", s.name.clone(), "burn_rate", b.values.clone()));
        series.push(("slo", s.name.clone(), "budget_remaining", some(&b.budget_remaining)));
    }
    for b in &report.blast_radius {
        for (w, v) in &b.extra_bad_per_window {
            series.push(("blast_radius", format!("{}/{w}", b.fault), "extra_bad", some(v)));
        }
    }
    for (kind, name, metric, values) in &series {
        for (i, &v) in values.iter().enumerate() {
            rows.push((i, kind, name, metric, v));
        }
    }
    let window = report.workloads.values().next().map_or(report.duration_s, |w| w.timeline.window_s);
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["window", "start_s", "end_s", "kind", "series", "metric", "value"])?;
    for (i, kind, name, metric, v) in rows {
        let start = i as f64 * window;
        let end = (start + window).min(report.duration_s);
        out.write_record([
            i.to_string(),
            start.to_string(),
            end.to_string(),
            kind.to_string(),
            name.to_string(),
            metric.to_string(),
            v.map(|x| x.to_string()).unwrap_or_default(),
        ])?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
