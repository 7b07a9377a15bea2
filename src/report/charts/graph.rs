//! The blast-radius map: the service graph laid out left to right by call depth, each
//! node coloured by how much its share of bad requests rose because of the fault, the
//! fault's targets outlined in black.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FAILED, GRID, INK, WIDTH, svg};
use crate::report::{BlastRadiusReport, Damage, Report};

const NODE_W: i32 = 150;
const NODE_H: i32 = 44;
const ROW: i32 = 70;
const TOP: i32 = 70;

/// Fill for a rise of the bad share: white at 0, full red at +50 percentage points
/// (square-root scale, so a 1-point rise is already visible).
fn heat(change: f64) -> RGBColor {
    let t = (change.max(0.0) / 0.5).min(1.0).sqrt();
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(mix(250, FAILED.0), mix(250, FAILED.1), mix(250, FAILED.2))
}

fn change_label(d: Option<&Damage>) -> String {
    let change = match d.and_then(|d| d.sli_change.mean) {
        Some(c) if c.abs() < 5e-5 => "±0".into(),
        Some(c) => format!("{:+.1} pp bad", c * 100.0),
        None => String::new(),
    };
    match d.and_then(|d| d.extra_degraded.mean) {
        Some(x) if x >= 0.5 => format!("{change} · +{x:.0} degraded"),
        _ => change,
    }
}

/// Column of every node: workloads at 0, services one past their deepest caller.
fn layout(report: &Report) -> BTreeMap<String, usize> {
    let mut level: BTreeMap<String, usize> = report.workloads.keys().map(|w| (format!("w:{w}"), 0)).collect();
    for s in report.services.keys() {
        level.insert(format!("s:{s}"), 1);
    }
    let links = links(report);
    // Longest-path relaxation, bounded so a cycle cannot loop forever.
    for _ in 0..report.services.len() {
        let mut changed = false;
        for (a, b, _) in &links {
            let next = level[a] + 1;
            if level[b] < next && next <= report.services.len() {
                level.insert(b.clone(), next);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    level
}

/// Directed links between node keys: (from, to, asynchronous).
fn links(report: &Report) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> =
        report.workloads.iter().map(|(w, r)| (format!("w:{w}"), format!("s:{}", r.target), false)).collect();
    for name in report.edges.keys() {
        if let Some((a, b)) = name.split_once("->") {
            out.push((format!("s:{a}"), format!("s:{b}"), false));
        }
    }
    for (name, s) in &report.services {
        out.extend(s.routes_to.iter().map(|to| (format!("s:{name}"), format!("s:{to}"), true)));
    }
    // A report of a large model holds only its top services (see `--top`): only the links
    // between those are drawn.
    let present = |key: &str| match key.split_at(2) {
        ("w:", name) => report.workloads.contains_key(name),
        (_, name) => report.services.contains_key(name),
    };
    out.retain(|(a, b, _)| present(a) && present(b));
    out
}

/// The map of one fault's blast radius.
pub fn blast_map(report: &Report, b: &BlastRadiusReport) -> Result<String, String> {
    let level = layout(report);
    let columns = level.values().copied().max().unwrap_or(0) + 1;
    let mut per_column = vec![0i32; columns];
    let mut pos: BTreeMap<&str, (i32, i32)> = BTreeMap::new();
    let col_w = ((WIDTH as i32 - 40 - NODE_W) / (columns as i32 - 1).max(1)).min(260);
    for (key, &l) in &level {
        let x = 20 + l as i32 * col_w;
        let y = TOP + per_column[l] * ROW;
        per_column[l] += 1;
        pos.insert(key.as_str(), (x, y));
    }
    let rows = per_column.iter().copied().max().unwrap_or(1);
    let height = (TOP + rows * ROW + 10) as u32;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    svg(height, |root| {
        let title = format!(
            "{} ({}) on {}: {}",
            b.fault,
            b.kind,
            b.target,
            match (b.contained, b.metastable) {
                (_, true) => "did not recover (metastable)".to_string(),
                (true, _) => "contained in its targets".to_string(),
                (false, _) => format!("spread to {}", b.spread_to.join(", ")),
            }
        );
        root.draw(&Text::new(title, (20, 14), ("sans-serif", 18).into_font().color(&INK))).map_err(err)?;
        let legend = "node colour: rise of the share of bad (failed or slowed) requests vs. the run without the \
                      fault · black outline: targeted";
        root.draw(&Text::new(legend, (20, 40), ("sans-serif", 12).into_font().color(&INK))).map_err(err)?;
        for (a, c, asynchronous) in links(report) {
            let (Some(&(x0, y0)), Some(&(x1, y1))) = (pos.get(a.as_str()), pos.get(c.as_str())) else { continue };
            let from = (x0 + NODE_W, y0 + NODE_H / 2);
            let to = (x1, y1 + NODE_H / 2);
            let style = if asynchronous { GRID.mix(1.0).stroke_width(2) } else { INK.mix(0.45).stroke_width(2) };
            root.draw(&PathElement::new(vec![from, to], style)).map_err(err)?;
            root.draw(&Polygon::new(vec![to, (to.0 - 9, to.1 - 5), (to.0 - 9, to.1 + 5)], INK.mix(0.6).filled()))
                .map_err(err)?;
        }
        for (key, &(x, y)) in &pos {
            let (kind, name) = key.split_at(2);
            let damage = if kind == "w:" { b.workloads.get(name) } else { b.services.get(name) };
            let fill = heat(damage.and_then(|d| d.sli_change.mean).unwrap_or(0.0));
            let targeted = kind == "s:" && b.scope.iter().any(|s| s == name);
            let affected = damage.is_some_and(|d| d.affected);
            root.draw(&Rectangle::new([(x, y), (x + NODE_W, y + NODE_H)], fill.filled())).map_err(err)?;
            let border = if targeted {
                INK.stroke_width(4)
            } else if affected {
                FAILED.stroke_width(2)
            } else {
                INK.mix(0.35).stroke_width(1)
            };
            root.draw(&Rectangle::new([(x, y), (x + NODE_W, y + NODE_H)], border)).map_err(err)?;
            let label = if kind == "w:" { format!("users: {name}") } else { name.to_string() };
            let center = Pos::new(HPos::Center, VPos::Center);
            let ink = if fill.0 < 200 && fill.1 < 120 { WHITE } else { INK };
            let font = ("sans-serif", 13).into_font().color(&ink).pos(center);
            root.draw(&Text::new(label, (x + NODE_W / 2, y + 14), font)).map_err(err)?;
            let mut note = change_label(damage);
            if targeted {
                note = format!("target · {note}");
            }
            let font = ("sans-serif", 11).into_font().color(&ink).pos(center);
            root.draw(&Text::new(note, (x + NODE_W / 2, y + 32), font)).map_err(err)?;
        }
        Ok(())
    })
}
