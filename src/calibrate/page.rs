//! `calibrate.html`: what `resim calibrate` inferred and what it rests on, one page in
//! the report's style. The graph first, then the tables a reviewer checks (entry rates,
//! services, call edges with their policy hints), then per service the fit of its own
//! time: the observations' CDF against every family, a QQ plot of the one the scenario
//! uses, and each family's parameters and scores.

use std::fmt::Write as _;

use super::infer::{Calibration, ServiceReport};
use super::plots::{fit_figure, graph_figure};
use super::select::{Choice, KS_LEVEL, MIN_FIT};
use crate::report::{STYLE, esc, fmt_secs};

/// The inline SVG of a plotters document (its XML declaration dropped).
fn inline(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// The page for `cal`, whose scenario was written to `scenario` (a path as the user gave
/// it).
pub fn render_page(cal: &Calibration, scenario: &str) -> Result<String, String> {
    let mut out = String::new();
    let name = scenario_name(cal);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>resim calibrate · {n}</title><style>{STYLE}</style></head><body>\
         <header><h1>Calibration: {n}</h1><p class=\"meta\">{} spans in {} traces over {} · {} services · {} entry \
         operations · scenario written to <code>{}</code></p></header>",
        cal.spans,
        cal.traces,
        fmt_secs(cal.duration_s),
        cal.services.len(),
        cal.entries.len(),
        esc(scenario),
        n = esc(&name),
    );
    notes(cal, &mut out);
    let _ = write!(
        out,
        "<h2>Inferred graph</h2><figure><figcaption>Who calls whom, how often, and where requests enter\
         </figcaption>{}</figure>",
        inline(&graph_figure(cal)?)
    );
    entries(cal, &mut out);
    services(cal, &mut out);
    edges(cal, &mut out);
    let _ = write!(
        out,
        "<h2>Service times</h2><p>Each service's own time is its span minus the time it waited on its calls \
         (parallel calls counted once). The four families are fitted by maximum likelihood; one passes when its \
         Kolmogorov-Smirnov p-value is at least {KS_LEVEL}. Which one the scenario takes, and why, is said per \
         service: by default the passing family of lowest AIC (the exponential kept unless a shape is \
         significant), and the observations themselves when none passes or there are fewer than {MIN_FIT}.</p>"
    );
    for svc in &cal.services {
        fit_section(svc, &mut out)?;
    }
    let _ = write!(
        out,
        "<footer>resim {} · calibrate · the scenario is <code>{}</code>; run it with <code>resim run {}</code>\
         </footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        esc(scenario),
        esc(scenario)
    );
    Ok(out)
}

/// The scenario's `name` as written in its YAML.
fn scenario_name(cal: &Calibration) -> String {
    cal.yaml
        .lines()
        .find_map(|l| l.strip_prefix("name:"))
        .map(|n| n.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| "calibrated".into())
}

fn notes(cal: &Calibration, out: &mut String) {
    let notes = cal.notes();
    let (class, big) = if notes.is_empty() { ("ok", "Every trace read whole") } else { ("none", "Read with repairs") };
    let _ = write!(out, "<section class=\"verdict {class}\"><p class=\"big\">{big}</p><ul>");
    for (n, what) in notes {
        let _ = write!(out, "<li>{n} {what}</li>");
    }
    out.push_str("</ul></section>");
}

/// A table's header row.
fn head(out: &mut String, names: &[&str]) {
    out.push_str("<table><tr>");
    for n in names {
        let _ = write!(out, "<th>{n}</th>");
    }
    out.push_str("</tr>");
}

/// A table row of cells already escaped.
fn row(out: &mut String, cells: &[String]) {
    out.push_str("<tr>");
    for c in cells {
        let _ = write!(out, "<td>{c}</td>");
    }
    out.push_str("</tr>");
}

fn entries(cal: &Calibration, out: &mut String) {
    out.push_str("<h2>Entry operations</h2>");
    head(out, &["service", "operation", "requests", "arrivals/s", "rate profile"]);
    for e in &cal.entries {
        let profile = if e.profile.is_empty() {
            "constant".to_string()
        } else {
            let (lo, hi) = e.profile.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &(_, r)| (lo.min(r), hi.max(r)));
            format!("{} windows, {lo:.3} to {hi:.3}/s", e.profile.len())
        };
        let rate = format!("{:.4}", e.rate_per_s);
        row(out, &[esc(&e.service), esc(&e.operation), e.requests.to_string(), rate, profile]);
    }
    out.push_str("</table>");
}

fn choice_name(svc: &ServiceReport) -> String {
    match &svc.fit.choice {
        Choice::Family(f) => f.family().to_string(),
        Choice::Empirical => "empirical".into(),
        Choice::Constant(c) => format!("constant {}", fmt_secs(*c)),
    }
}

fn services(cal: &Calibration, out: &mut String) {
    out.push_str("<h2>Services</h2>");
    let names = ["service", "in the traces", "requests", "instances", "servers", "errors", "own errors"];
    head(out, &[&names[..], &["mean own time", "service time"]].concat());
    for s in &cal.services {
        let traced = if s.peer_only { format!("{} (peer only)", esc(&s.trace_name)) } else { esc(&s.trace_name) };
        let cells = [
            format!("<a href=\"#svc-{n}\">{n}</a>", n = esc(&s.name)),
            traced,
            s.requests.to_string(),
            s.instances.to_string(),
            s.servers.to_string(),
            pct(s.error_probability),
            pct(s.own_error_probability),
            fmt_secs(s.fit.mean_s),
            choice_name(s),
        ];
        row(out, &cells);
    }
    out.push_str("</table>");
}

fn edges(cal: &Calibration, out: &mut String) {
    if cal.edges.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Call edges and policy hints</h2><p>What the client spans show; the scenario carries these as \
         comments, not as policies (traces show what happened, not what was configured).</p>",
    );
    let names = ["caller", "callee", "attempts", "errors", "timeout hint", "retried calls", "most attempts"];
    head(out, &names);
    for e in &cal.edges {
        let timeout = match e.timeout_s {
            Some((t, n)) => format!("{} ({n} attempts)", fmt_secs(t)),
            None => "-".into(),
        };
        let cells = [
            esc(&e.caller),
            esc(&e.callee),
            e.attempts.to_string(),
            pct(e.error_probability),
            timeout,
            e.retried_calls.to_string(),
            e.max_attempts.to_string(),
        ];
        row(out, &cells);
    }
    out.push_str("</table>");
}

fn fit_section(svc: &ServiceReport, out: &mut String) -> Result<(), String> {
    let fit = &svc.fit;
    let _ = write!(
        out,
        "<h3 id=\"svc-{n}\">{n}</h3><p>{} own times, mean {}{}: <b>{}</b>. {}.</p>",
        fit.n,
        fmt_secs(fit.mean_s),
        if fit.zeros > 0 { format!(", {} of them 0", fit.zeros) } else { String::new() },
        choice_name(svc),
        esc(&fit.reason),
        n = esc(&svc.name),
    );
    let _ = write!(out, "<figure>{}</figure>", inline(&fit_figure(&svc.name, fit)?));
    if fit.candidates.is_empty() {
        return Ok(());
    }
    let best_aic = fit.candidates.iter().map(|c| c.aic).fold(f64::INFINITY, f64::min);
    let names = ["family", "parameters", "mean", "log-likelihood", "AIC", "ΔAIC", "KS D", "KS p", "passes", "used"];
    head(out, &names);
    for c in &fit.candidates {
        let params: Vec<String> = c.fitted.params().iter().map(|(k, v)| format!("{k} {v:.5}")).collect();
        let used = matches!(fit.choice, Choice::Family(f) if f == c.fitted);
        let cells = [
            c.fitted.family().to_string(),
            params.join(", "),
            fmt_secs(c.fitted.mean()),
            format!("{:.1}", c.log_likelihood),
            format!("{:.1}", c.aic),
            format!("{:.1}", c.aic - best_aic),
            format!("{:.4}", c.ks_d),
            format!("{:.3}", c.ks_p),
            (if c.ks_p >= KS_LEVEL { "yes" } else { "no" }).to_string(),
            (if used { "✔" } else { "" }).to_string(),
        ];
        row(out, &cells);
    }
    out.push_str("</table>");
    Ok(())
}
