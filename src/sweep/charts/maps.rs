//! The grid charts of a sweep over two numeric parameters: the heat map of a metric with
//! its colour scale, and the metastability map of which points recovered from the faults.

use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::RangedCoordi32;
use plotters::prelude::*;

use super::axes::{HEIGHT, LEGEND, Metric, SCALE_BAR, at, err, levels};
use crate::report::charts::{Area, DEGRADED, FAILED, GRID, INK, OK, WIDTH, svg};
use crate::sweep::output::{PointRecord, blast_faults, stat};
use crate::sweep::plan::Definition;

/// Blend of `a` and `b`: `t` = 0 gives `a`.
pub(super) fn blend(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let c = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t.clamp(0.0, 1.0)).round() as u8;
    RGBColor(c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
}

/// Outcome colours on a 0 (worst) to 1 (best) scale, lightened so the values stay legible.
pub(super) fn ramp(t: f64) -> RGBColor {
    let c = if t < 0.5 { blend(FAILED, DEGRADED, t * 2.0) } else { blend(DEGRADED, OK, t * 2.0 - 1.0) };
    blend(c, WHITE, 0.45)
}

type Cell = (SegmentValue<i32>, SegmentValue<i32>);
/// A categorical axis: one segment per level of a parameter.
type Levels = SegmentedCoord<RangedCoordi32>;

/// The grid coordinates of the levels of two parameters (or of one, on a single row).
struct GridAxes {
    xs: Vec<(f64, String)>,
    ys: Vec<(f64, String)>,
    x: usize,
    y: Option<usize>,
}

impl GridAxes {
    fn new(records: &[PointRecord], x: usize, y: Option<usize>) -> Self {
        let ys = y.map_or_else(|| vec![(0.0, String::new())], |y| levels(records, y));
        GridAxes { xs: levels(records, x), ys, x, y }
    }

    /// The cell of a record.
    fn cell(&self, r: &PointRecord) -> Option<(i32, i32)> {
        let i = self.xs.iter().position(|l| l.0 == at(r, self.x))?;
        let j = match self.y {
            Some(y) => self.ys.iter().position(|l| l.0 == at(r, y))?,
            None => 0,
        };
        Some((i as i32, j as i32))
    }

    fn corners(i: i32, j: i32) -> [Cell; 2] {
        [(SegmentValue::Exact(i), SegmentValue::Exact(j)), (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1))]
    }

    fn centre(i: i32, j: i32) -> Cell {
        (SegmentValue::CenterOf(i), SegmentValue::CenterOf(j))
    }

    /// Draws the axes and returns the chart to draw cells on.
    fn chart<'a, 'b>(
        &self,
        root: &'a Area<'b>,
        caption: &str,
        x_desc: &str,
        y_desc: &str,
        legend_width: u32,
    ) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<Levels, Levels>>, String> {
        let (nx, ny) = (self.xs.len() as i32, self.ys.len() as i32);
        let mut chart = ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 18).into_font().color(&INK))
            .margin(12)
            .margin_right(12 + legend_width)
            .x_label_area_size(40)
            .y_label_area_size(70)
            // Integer ranges include their end in plotters: n levels are 0..n-1.
            .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())
            .map_err(err)?;
        let label = |levels: &[(f64, String)], v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => {
                usize::try_from(*i).ok().and_then(|i| levels.get(i)).map(|l| l.1.clone()).unwrap_or_default()
            }
            _ => String::new(),
        };
        let x_fmt = |v: &SegmentValue<i32>| label(&self.xs, v);
        let y_fmt = |v: &SegmentValue<i32>| label(&self.ys, v);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(self.xs.len())
            .y_labels(self.ys.len())
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .axis_desc_style(("sans-serif", 14))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        Ok(chart)
    }
}

/// The metric over two parameters: one coloured cell per point, its value written in it.
pub(super) fn heat_map(
    def: &Definition,
    records: &[PointRecord],
    (x, y): (usize, usize),
    workload: &str,
    m: &Metric,
    path: &str,
) -> Result<String, String> {
    let axes = GridAxes::new(records, x, Some(y));
    let mut cells: Vec<((i32, i32), f64)> = Vec::new();
    for r in records {
        let (Some(c), Some(v)) = (axes.cell(r), stat(&r.report, path)[0].as_f64()) else { continue };
        // Other (non-numeric) parameters share a cell: the first point in index order shows.
        if !cells.iter().any(|(d, _)| *d == c) {
            cells.push((c, v));
        }
    }
    let (lo, hi) = cells.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (_, v)| (l.min(*v), h.max(*v)));
    let goodness = |v: f64| {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 1.0 };
        if m.higher_is_better { t } else { 1.0 - t }
    };
    let (kx, ky) = (&def.params[x].key, &def.params[y].key);
    svg(HEIGHT, |root| {
        let caption = format!("{workload}: {} (mean) over {kx} and {ky}", m.label);
        let mut chart = axes.chart(root, &caption, kx, ky, LEGEND)?;
        chart
            .draw_series(
                cells.iter().map(|((i, j), v)| Rectangle::new(GridAxes::corners(*i, *j), ramp(goodness(*v)).filled())),
            )
            .map_err(err)?;
        let style = ("sans-serif", 14).into_font().color(&INK).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ));
        chart
            .draw_series(cells.iter().map(|((i, j), v)| Text::new(m.fmt(*v), GridAxes::centre(*i, *j), style.clone())))
            .map_err(err)?;
        if lo <= hi {
            colour_scale(root, chart.plotting_area().get_pixel_range().1, m, (lo, hi), |v| ramp(goodness(v)))?;
        }
        Ok(())
    })
}

/// A heat map's colour scale, right of the grid and as tall as it: the metric named on
/// top, then a vertical bar in the cells' colours from the lowest value (bottom) to the
/// highest (top), its ends and middle labelled. All cells equal, the bar is one colour,
/// one label.
fn colour_scale(
    root: &Area<'_>,
    rows: std::ops::Range<i32>,
    m: &Metric,
    (lo, hi): (f64, f64),
    colour: impl Fn(f64) -> RGBColor,
) -> Result<(), String> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let x = (WIDTH - LEGEND) as i32 + 16;
    let head = ("sans-serif", 13).into_font().color(&INK);
    root.draw(&Text::new(m.label.to_owned(), (x, rows.start), head.clone())).map_err(err)?;
    root.draw(&Text::new("(mean)".to_owned(), (x, rows.start + 16), head)).map_err(err)?;
    let (top, bottom) = (rows.start + 40, rows.end.max(rows.start + 80));
    // Bands of 2 px, each drawn 3 px tall so no seam shows between neighbours.
    for y in (top..bottom).step_by(2) {
        let t = if hi > lo { f64::from(bottom - y) / f64::from(bottom - top) } else { 0.5 };
        let band = Rectangle::new([(x, y), (x + SCALE_BAR, (y + 3).min(bottom))], colour(lo + t * (hi - lo)).filled());
        root.draw(&band).map_err(err)?;
    }
    root.draw(&Rectangle::new([(x, top), (x + SCALE_BAR, bottom)], INK.stroke_width(1))).map_err(err)?;
    let font = ("sans-serif", 12).into_font().color(&INK).pos(Pos::new(HPos::Left, VPos::Center));
    let middle = (top + bottom) / 2;
    let ticks: Vec<(i32, f64)> = if hi > lo {
        let t = f64::from(bottom - middle) / f64::from(bottom - top);
        vec![(top, hi), (middle, lo + t * (hi - lo)), (bottom, lo)]
    } else {
        vec![(middle, lo)]
    };
    for (y, v) in ticks {
        root.draw(&PathElement::new([(x + SCALE_BAR, y), (x + SCALE_BAR + 5, y)], INK.stroke_width(1))).map_err(err)?;
        root.draw(&Text::new(m.fmt(v), (x + SCALE_BAR + 9, y), font.clone())).map_err(err)?;
    }
    Ok(())
}

/// A point's outcome over all its faults: `Some(false)` when any fault left it
/// metastable, `Some(true)` when it recovered from every one, `None` when not judged.
pub(super) fn outcome(r: &PointRecord) -> Option<bool> {
    let all = r.report["blast_radius"].as_array()?;
    if all.iter().any(|b| b["metastable"].as_bool() == Some(true)) {
        return Some(false);
    }
    (!all.is_empty() && all.iter().all(|b| b["recovered"].as_bool() == Some(true))).then_some(true)
}

/// Recovered (green circle) or not (red cross) over the first two numeric parameters,
/// the cells coloured so the boundary shows.
pub(super) fn metastability(
    def: &Definition,
    records: &[PointRecord],
    x: usize,
    y: Option<usize>,
) -> Result<String, String> {
    let axes = GridAxes::new(records, x, y);
    // A cell holding several points (other parameters) is not recovered if any is not.
    let mut cells: Vec<((i32, i32), Option<bool>)> = Vec::new();
    for r in records {
        let Some(c) = axes.cell(r) else { continue };
        let o = outcome(r);
        match cells.iter_mut().find(|(d, _)| *d == c) {
            Some((_, prev)) => {
                *prev = match (*prev, o) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                }
            }
            None => cells.push((c, o)),
        }
    }
    let faults = blast_faults(records).join(", ");
    let kx = &def.params[x].key;
    let ky = y.map_or("", |y| def.params[y].key.as_str());
    svg(HEIGHT, |root| {
        let caption = format!("Metastability map: recovery after {faults}");
        let mut chart = axes.chart(root, &caption, kx, ky, LEGEND)?;
        let fill = |o: Option<bool>| match o {
            Some(true) => OK.mix(0.18),
            Some(false) => FAILED.mix(0.18),
            None => GRID.mix(0.6),
        };
        chart
            .draw_series(cells.iter().map(|((i, j), o)| Rectangle::new(GridAxes::corners(*i, *j), fill(*o).filled())))
            .map_err(err)?;
        let of = |want: bool| {
            cells.iter().filter(move |(_, o)| *o == Some(want)).map(|((i, j), _)| GridAxes::centre(*i, *j))
        };
        chart.draw_series(of(true).map(|c| Circle::new(c, 9, OK.filled()))).map_err(err)?;
        chart.draw_series(of(false).map(|c| Cross::new(c, 9, FAILED.stroke_width(3)))).map_err(err)?;
        // The legend sits right of the grid, where it cannot hide a cell's marker.
        let x = (WIDTH - LEGEND) as i32 + 10;
        let font = ("sans-serif", 13).into_font().color(&INK);
        let text = |s: &str, y: i32| Text::new(s.to_owned(), (x + 18, y - 7), font.clone());
        root.draw(&Circle::new((x, 60), 7, OK.filled())).map_err(err)?;
        root.draw(&text("recovered", 60)).map_err(err)?;
        root.draw(&Cross::new((x, 86), 7, FAILED.stroke_width(3))).map_err(err)?;
        root.draw(&text("not recovered", 86)).map_err(err)?;
        root.draw(&text("(metastable)", 102)).map_err(err)?;
        if cells.iter().any(|(_, o)| o.is_none()) {
            root.draw(&Rectangle::new([(x - 7, 121), (x + 7, 135)], GRID.filled())).map_err(err)?;
            root.draw(&text("not judged", 128)).map_err(err)?;
        }
        Ok(())
    })
}
