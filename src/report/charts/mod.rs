//! SVG charts of a report (plotters): each is drawn from [`Report`] alone, so a saved
//! `report.json` holds everything a chart shows.
//!
//! One palette throughout: outcomes are green (ok), amber (degraded) and red (failed);
//! fault windows are shaded in a pale red band with the fault's name on top; breaker
//! states reuse the outcome colours (closed green, half-open amber, open red).

mod cache;
mod graph;
mod graph_view;
mod queues;
mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Report;
use crate::engine::fnv1a64;

pub use graph::blast_map;
pub use graph_view::service_graph_view;
pub(crate) use timeline::{fmt_latency, short_num};

/// One chart: its file name under `charts/`, a title, and the SVG text.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File name, e.g. `latency-users.svg`.
    pub file: String,
    /// What it shows.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// A region of an SVG chart, in pixels.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Series `k`'s colour, cycling through [`SERIES`].
pub(crate) fn series_color(k: usize) -> RGBColor {
    SERIES[k % SERIES.len()]
}

/// Chart width, pixels.
pub(crate) const WIDTH: u32 = 960;
/// Height of one panel, pixels.
pub(crate) const PANEL: u32 = 320;

pub(crate) const OK: RGBColor = RGBColor(46, 125, 50);
pub(crate) const DEGRADED: RGBColor = RGBColor(249, 168, 37);
pub(crate) const FAILED: RGBColor = RGBColor(198, 40, 40);
pub(crate) const FAULT_BAND: RGBColor = RGBColor(239, 154, 154);
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
pub(crate) const INK: RGBColor = RGBColor(40, 40, 40);
/// Series colours for lines (Tableau 10, colour-blind friendly in order).
pub(crate) const SERIES: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A file name part from a series name: letters, digits, `-` and `_` only.
pub(crate) fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// File name parts for `names`, one per name, unique and stable. A name's part is its
/// [`slug`] unless that collides with another name's (`a b`, `a_b` and `a/b` all give
/// `a_b`; `A` and `a` are one file on case-insensitive file systems): then every name of
/// the collision but one gets its slug followed by `-` and 8 hex digits of FNV-1a-64 of
/// the name itself. The one kept plain is the first, in byte order, whose slug is the name
/// itself, so charts named after a plain name keep their names. Independent of the order
/// `names` come in.
pub(crate) fn file_parts<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeMap<&'a str, String> {
    let mut groups: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for name in names {
        groups.entry(slug(name).to_ascii_lowercase()).or_default().insert(name);
    }
    let mut parts = BTreeMap::new();
    for names in groups.into_values() {
        let plain = names
            .iter()
            .copied()
            .find(|n| slug(n) == *n)
            .or_else(|| names.first().copied().filter(|_| names.len() == 1));
        for name in names {
            let part = if Some(name) == plain {
                slug(name)
            } else {
                format!("{}-{:08x}", slug(name), fnv1a64(name.as_bytes()) & 0xffff_ffff)
            };
            parts.insert(name, part);
        }
    }
    parts
}

/// Renders `draw` onto an SVG of `height` pixels and returns the text.
pub(crate) fn svg(height: u32, draw: impl FnOnce(&Area) -> Result<(), String>) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// How a legend key shows its series: a line of this colour and width, or a filled box.
#[derive(Clone, Copy)]
pub(crate) enum Swatch {
    Line(RGBColor, u32),
    Fill(RGBAColor),
}

/// One legend entry: what a series looks like and its name.
pub(crate) struct Key {
    pub name: String,
    pub swatch: Swatch,
}

/// Margin around a panel and between its caption, legend and plot, pixels.
const MARGIN: u32 = 12;
/// Legend geometry, pixels: a row's height, a swatch's width, the gap from swatch to name
/// and the gap after a name.
const KEY_ROW: u32 = 18;
const SWATCH: i32 = 16;
const KEY_GAP: i32 = 6;
const KEY_SPACING: i32 = 18;

/// Draws `caption` and the legend `keys` at the top of `area` and returns the area left
/// for the plot. The legend is a row of keys above the plot, right-aligned and wrapped
/// onto more rows when it needs them, so it never hides data.
pub(crate) fn captioned<'a>(area: &Area<'a>, caption: &str, keys: &[Key]) -> Result<Area<'a>, String> {
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let area = area.margin(MARGIN, MARGIN, MARGIN, MARGIN);
    let plot = area.titled(caption, ("sans-serif", 18).into_font().color(&INK)).map_err(err)?;
    if keys.is_empty() {
        return Ok(plot.margin(MARGIN / 2, 0, 0, 0));
    }
    let font = ("sans-serif", 12).into_font().color(&INK);
    let width = plot.dim_in_pixel().0 as i32;
    // Rows of (key, width taken with the spacing after it), filled greedily.
    let mut rows: Vec<(Vec<(&Key, i32)>, i32)> = vec![(Vec::new(), 0)];
    for k in keys {
        let text = plot.estimate_text_size(&k.name, &font).map_or(7 * k.name.len() as i32, |(w, _)| w as i32);
        let w = SWATCH + KEY_GAP + text + KEY_SPACING;
        if let Some(row) = rows.last()
            && !row.0.is_empty()
            && row.1 + w > width
        {
            rows.push((Vec::new(), 0));
        }
        if let Some(row) = rows.last_mut() {
            row.0.push((k, w));
            row.1 += w;
        }
    }
    let (strip, plot) = plot.split_vertically(KEY_ROW * rows.len() as u32 + MARGIN / 2);
    for (i, (row, used)) in rows.iter().enumerate() {
        let y = (KEY_ROW * i as u32 + KEY_ROW / 2) as i32;
        // Right-aligned, the last key's trailing spacing dropped.
        let mut x = width - used + KEY_SPACING;
        for (k, w) in row {
            match k.swatch {
                Swatch::Line(color, stroke) => {
                    strip.draw(&PathElement::new([(x, y), (x + SWATCH, y)], color.stroke_width(stroke))).map_err(err)?
                }
                Swatch::Fill(color) => {
                    strip.draw(&Rectangle::new([(x, y - 5), (x + SWATCH - 2, y + 5)], color.filled())).map_err(err)?
                }
            }
            let text =
                Text::new(k.name.clone(), (x + SWATCH + KEY_GAP, y), font.pos(Pos::new(HPos::Left, VPos::Center)));
            strip.draw(&text).map_err(err)?;
            x += w;
        }
    }
    Ok(plot)
}

/// Bands closer than this share of the measured period are drawn as one: about a pixel at
/// the charts' width, so a fault that flaps every few milliseconds for an hour (10^5
/// windows) is a handful of rectangles, not a 40 MB SVG.
const BAND_RESOLUTION: f64 = 1.0 / 2000.0;

/// Above this many bands in a chart only each fault's first band carries its name.
const LABELLED_BANDS: usize = 64;

/// A shaded fault interval of replication 0, seconds from the end of the warm-up.
pub(crate) struct Band<'a> {
    /// Start and end.
    pub start: f64,
    /// End.
    pub end: f64,
    /// The fault's name when this band is labelled.
    pub label: Option<&'a str>,
    /// The label's line (successive labels step down so overlapping bands stay readable).
    pub line: usize,
}

/// The fault bands of the charts: each fault's intervals, merged where closer than
/// [`BAND_RESOLUTION`] of the period.
pub(crate) fn fault_bands(report: &Report) -> Vec<Band<'_>> {
    bands(report.faults.iter().map(|f| (f.name.as_str(), f.events.as_slice())), report.duration_s)
}

/// [`fault_bands`] of `(name, [time, "start" | "end"])` pairs over a period of `duration` s.
fn bands<'a>(faults: impl Iterator<Item = (&'a str, &'a [(f64, &'static str)])>, duration: f64) -> Vec<Band<'a>> {
    let gap = duration * BAND_RESOLUTION;
    let mut out: Vec<Band<'a>> = Vec::new();
    for (name, events) in faults {
        let mut spans = Vec::new();
        let mut start = None;
        for &(t, what) in events {
            match what {
                "start" => start = Some(t),
                _ => spans.push((start.take().unwrap_or(0.0), t)),
            }
        }
        spans.extend(start.map(|s| (s, duration)));
        let first = out.len();
        for (start, end) in spans {
            let len = out.len();
            match out.last_mut() {
                Some(last) if len > first && start - last.end < gap => last.end = last.end.max(end),
                _ => out.push(Band { start, end, label: Some(name), line: 0 }),
            }
        }
    }
    let every = out.len() <= LABELLED_BANDS;
    let mut previous: Option<&str> = None;
    for (k, band) in out.iter_mut().enumerate() {
        band.line = k % 4;
        if !every && band.label == previous {
            band.label = None;
        } else {
            previous = band.label;
        }
    }
    out
}

/// Every chart of the report, in the order the HTML page shows them.
pub fn render_charts(report: &Report) -> Result<Vec<Chart>, String> {
    let mut charts = Vec::new();
    let workloads = file_parts(report.workloads.keys().map(String::as_str));
    let slos = file_parts(report.slos.iter().map(|s| s.name.as_str()));
    let faults = file_parts(report.blast_radius.iter().map(|b| b.fault.as_str()));
    for (name, w) in &report.workloads {
        charts.push(Chart {
            file: format!("latency-{}.svg", workloads[name.as_str()]),
            title: format!("{name}: latency percentiles over time"),
            svg: timeline::latency(report, name, &w.timeline)?,
        });
        charts.push(Chart {
            file: format!("outcomes-{}.svg", workloads[name.as_str()]),
            title: format!("{name}: outcomes per second"),
            svg: timeline::outcomes(report, name, &w.timeline)?,
        });
    }
    for s in &report.slos {
        charts.push(Chart {
            file: format!("slo-{}.svg", slos[s.name.as_str()]),
            title: format!("SLO {}: error budget and burn rate", s.name),
            svg: timeline::slo(report, s)?,
        });
    }
    charts.push(Chart {
        file: "services.svg".into(),
        title: "Services: utilisation and queue length".into(),
        svg: timeline::services(report)?,
    });
    if report.services.values().any(|s| s.cache.is_some()) {
        charts.push(Chart {
            file: "caches.svg".into(),
            title: "Caches: hit ratio and misses per second".into(),
            svg: cache::caches(report)?,
        });
    }
    if report.services.values().any(|s| s.queue.is_some()) {
        charts.push(Chart {
            file: "queues.svg".into(),
            title: "Message queues: backlog, oldest message, redeliveries".into(),
            svg: queues::queues(report)?,
        });
    }
    if report.edges.values().any(|e| e.breaker.is_some()) {
        charts.push(Chart {
            file: "breakers.svg".into(),
            title: "Circuit breaker states (replication 0)".into(),
            svg: timeline::breakers(report)?,
        });
    }
    for b in &report.blast_radius {
        charts.push(Chart {
            file: format!("blast-{}.svg", faults[b.fault.as_str()]),
            title: format!("Blast radius of {}", b.fault),
            svg: blast_map(report, b)?,
        });
    }
    Ok(charts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_names_get_distinct_stable_file_names() {
        let parts = file_parts(["a/b", "a b", "a_b", "users", "a_B", "x y"]);
        assert_eq!(parts["a_B"], "a_B", "the first plain name in byte order keeps its file");
        assert_eq!(parts["users"], "users");
        assert_eq!(parts["x y"], "x_y", "no collision, no hash");
        let hashed = |n: &str| format!("{}-{:08x}", slug(n), fnv1a64(n.as_bytes()) & 0xffff_ffff);
        for n in ["a/b", "a b", "a_b"] {
            assert_eq!(parts[n], hashed(n));
        }
        let files: BTreeSet<String> = parts.values().map(|p| p.to_ascii_lowercase()).collect();
        assert_eq!(files.len(), parts.len(), "unique even where case does not count: {parts:?}");
        let issue = file_parts(["a b", "a_b", "a/b"]);
        assert_eq!(issue["a_b"], "a_b", "the name that is its own slug keeps its file");
        assert_eq!(issue["a b"], hashed("a b"));
        assert_eq!(issue["a b"], "a_b-04833892", "the README's example");
        let reversed = file_parts(["x y", "a_B", "a_b", "users", "a b", "a/b"]);
        assert_eq!(parts, reversed, "independent of the order");
    }

    #[test]
    fn a_flapping_fault_is_a_few_bands_and_named_once() {
        // 10^5 windows 10 ms apart over an hour: one band at the charts' resolution.
        let flap: Vec<(f64, &'static str)> =
            (0..100_000).flat_map(|k| [(k as f64 * 0.02, "start"), (k as f64 * 0.02 + 0.01, "end")]).collect();
        // Two outages a minute apart stay two bands; one still open at the end runs to it.
        let outage = [(600.0, "start"), (900.0, "end"), (960.0, "start")];
        let out = bands([("flap", flap.as_slice()), ("outage", &outage[..])].into_iter(), 3600.0);
        let spans: Vec<(f64, f64, Option<&str>)> = out.iter().map(|b| (b.start, b.end, b.label)).collect();
        assert_eq!(
            spans,
            [(0.0, 1999.99, Some("flap")), (600.0, 900.0, Some("outage")), (960.0, 3600.0, Some("outage"))]
        );
        // Past LABELLED_BANDS, only a fault's first band carries its name.
        let many: Vec<(f64, &'static str)> =
            (0..100).flat_map(|k| [(k as f64 * 30.0, "start"), (k as f64 * 30.0 + 10.0, "end")]).collect();
        let out = bands([("chaos", many.as_slice())].into_iter(), 3600.0);
        assert_eq!(out.len(), 100, "10 s apart is far above the resolution (1.8 s)");
        assert_eq!(out.iter().filter(|b| b.label.is_some()).count(), 1);
    }
}
