//! The service-graph view of report.html for models with many services: every service a
//! dot, laid out left to right in layers by call depth (as the blast-radius map), every
//! call a line, coloured by utilisation or by the share of failed visits (a toggle).
//!
//! It is plain SVG written by hand rather than through plotters, because the page's
//! small inline script needs to find the dots (pan and zoom, a search box that rings the
//! services whose name matches and draws the calls of the one found). Within a layer,
//! services are ordered by the mean position of their callers (the barycentre heuristic
//! of Sugiyama, Tagawa and Toda, "Methods for visual understanding of hierarchical system
//! structures", 1981, one downward sweep), which keeps most calls short; a layer longer
//! than a column wraps into several, so 5,000 services fit a screen and zoom in. All
//! calls are one `<path>`: 10,000 separate lines cost the browser far more than one.
//! Below 120 services every dot carries its name; above, the names are in each dot's
//! tooltip and the search box.

use std::fmt::Write;

use crate::report::ServiceGraphReport;
use crate::report::html::esc;

/// Services up to which every dot is labelled.
const LABELLED: usize = 120;

/// Utilisation colours, 10% a step (YlOrRd, ColorBrewer): pale is idle, dark red full.
const UTILISATION: [&str; 10] =
    ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026", "#4d0013"];

/// Failed-share classes: (upper bound, colour, legend); none failed is pale green.
const FAILED: [(f64, &str, &str); 6] = [
    (0.0, "#d9ead3", "0"),
    (0.001, "#ffeda0", "≤0.1%"),
    (0.01, "#feb24c", "≤1%"),
    (0.05, "#fc4e2a", "≤5%"),
    (0.2, "#bd0026", "≤20%"),
    (f64::INFINITY, "#4d0013", ">20%"),
];

/// Where the dots go: pixel positions by service index, and the canvas.
struct Layout {
    pos: Vec<(i64, i64)>,
    width: i64,
    height: i64,
}

/// Cell width, row height and gap between layers, pixels.
fn cell(labelled: bool) -> (i64, i64, i64) {
    if labelled { (200, 26, 0) } else { (16, 11, 40) }
}

fn layout(g: &ServiceGraphReport) -> Layout {
    let n = g.services.len();
    let labelled = n <= LABELLED;
    let depth = |i: usize| g.depth[i] as usize;
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); g.depth.iter().max().map_or(1, |&d| d as usize + 1)];
    for i in 0..n {
        layers[depth(i)].push(i);
    }
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &[a, b] in &g.links {
        if depth(a) < depth(b) {
            callers[b].push(a);
        }
    }
    // Barycentre ordering, layer by layer: rank[i] is i's place in its layer, 0..1.
    let mut rank = vec![0.0f64; n];
    for layer in &mut layers {
        let key = |i: usize| {
            let c = &callers[i];
            (!c.is_empty()).then(|| c.iter().map(|&a| rank[a]).sum::<f64>() / c.len() as f64)
        };
        let keys: Vec<(Option<f64>, usize)> = layer.iter().map(|&i| (key(i), i)).collect();
        let mut order: Vec<(Option<f64>, usize)> = keys;
        order.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.total_cmp(&y).then(a.1.cmp(&b.1)),
            _ => a.0.is_some().cmp(&b.0.is_some()).then(a.1.cmp(&b.1)),
        });
        *layer = order.into_iter().map(|(_, i)| i).collect();
        for (k, &i) in layer.iter().enumerate() {
            rank[i] = k as f64 / layer.len().max(1) as f64;
        }
    }
    let rows = (12.0f64.max((n as f64).sqrt().ceil())) as usize;
    let rows = rows.max(if labelled { layers.iter().map(Vec::len).max().unwrap_or(1) } else { 0 });
    let (cw, rh, gap) = cell(labelled);
    let mut pos = vec![(0, 0); n];
    let mut x = 20;
    for layer in &layers {
        for (k, &i) in layer.iter().enumerate() {
            pos[i] = (x + (k / rows) as i64 * cw, 20 + (k % rows) as i64 * rh);
        }
        x += layer.len().div_ceil(rows).max(1) as i64 * cw + gap;
    }
    let width = x - gap + if labelled { 0 } else { 20 };
    let used = layers.iter().map(|l| l.len().min(rows)).max().unwrap_or(1) as i64;
    Layout { pos, width, height: 20 + used * rh }
}

/// The utilisation class of a dot.
fn utilisation_class(u: f64) -> usize {
    ((u.max(0.0) * 10.0) as usize).min(UTILISATION.len() - 1)
}

/// The failed-share class of a dot (`x` when no visit finished).
fn failed_class(share: Option<f64>) -> String {
    match share {
        Some(s) => FAILED.iter().position(|&(bound, _, _)| s <= bound).unwrap_or(FAILED.len() - 1).to_string(),
        None => "x".into(),
    }
}

/// The CSS of the view: one class per colour step under each mode.
fn style() -> String {
    let mut css = String::from(
        ".sg svg{width:100%;height:auto;display:block;background:#fff;border:1px solid #e3e3e3;\
         border-radius:6px;cursor:grab;touch-action:none}.sg circle{stroke:#777;stroke-width:.5}\
         .sg circle.k{stroke:#111;stroke-width:1.6}.sg circle.hit{stroke:#1565c0;stroke-width:4}\
         .sg .calls{stroke:#888;fill:none}.sg .hl{stroke:#1565c0;stroke-width:2;fill:none}\
         .sg text{font:11px sans-serif;fill:#333}.sg .ctl{margin:6px 0}.sg .ctl input[type=search]{width:220px}\
         .sg .key span{display:inline-block;width:14px;height:10px;margin:0 2px 0 8px;border:1px solid #999}\
         .sg.by-u .ke,.sg.by-e .ku{display:none}.sg .ex{fill:#e0e0e0}",
    );
    for (k, c) in UTILISATION.iter().enumerate() {
        let _ = write!(css, ".sg.by-u .u{k}{{fill:{c}}}");
    }
    for (k, (_, c, _)) in FAILED.iter().enumerate() {
        let _ = write!(css, ".sg.by-e .e{k}{{fill:{c}}}");
    }
    css
}

/// The controls and the colour key.
fn controls(g: &ServiceGraphReport) -> String {
    let mut out = String::from(
        "<div class=\"ctl\">Colour: <label><input type=\"radio\" name=\"sg-colour\" value=\"u\" checked> \
         utilisation</label> <label><input type=\"radio\" name=\"sg-colour\" value=\"e\"> failed visits</label> · \
         <input type=\"search\" id=\"sg-find\" list=\"sg-names\" placeholder=\"find a service\"> \
         <span id=\"sg-count\"></span> · <button id=\"sg-reset\" type=\"button\">reset view</button></div>\
         <div class=\"key ku\">utilisation:",
    );
    for (k, c) in UTILISATION.iter().enumerate() {
        let _ = write!(out, "<span style=\"background:{c}\"></span>{}%", k * 10);
    }
    out.push_str("</div><div class=\"key ke\">failed visits:");
    for (_, c, label) in FAILED {
        let _ = write!(out, "<span style=\"background:{c}\"></span>{label}");
    }
    out.push_str("</div><datalist id=\"sg-names\">");
    for name in &g.services {
        let _ = write!(out, "<option value=\"{}\">", esc(name));
    }
    out.push_str("</datalist>");
    out
}

/// The SVG: the calls as one path, then a dot per service.
fn drawing(g: &ServiceGraphReport) -> String {
    let Layout { pos, width, height } = layout(g);
    let labelled = g.services.len() <= LABELLED;
    let r = if labelled { 7 } else { 4 };
    let mut out = format!("<svg id=\"sg-svg\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">");
    // Thousands of calls at full ink are a grey wall: fainter the more there are.
    let ink = (35.0 / (g.links.len() as f64 / 500.0).max(1.0).sqrt()).max(8.0) / 100.0;
    let _ = write!(out, "<path class=\"calls\" stroke-opacity=\"{ink:.2}\" vector-effect=\"non-scaling-stroke\" d=\"");
    for &[a, b] in &g.links {
        let ((x0, y0), (x1, y1)) = (pos[a], pos[b]);
        let _ = write!(out, "M{x0} {y0}L{x1} {y1}");
    }
    out.push_str("\"/><path id=\"sg-hl\" class=\"hl\" vector-effect=\"non-scaling-stroke\" d=\"\"/>");
    for (i, name) in g.services.iter().enumerate() {
        let (x, y) = pos[i];
        let share = g.failed_share[i];
        let _ = write!(
            out,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" class=\"u{} e{}{}\" data-n=\"{}\"><title>{}: utilisation {:.1}%, \
             failed visits {}, {:.0} arrivals{}</title></circle>",
            utilisation_class(g.utilization[i]),
            failed_class(share),
            if g.kept[i] { " k" } else { "" },
            esc(name),
            esc(name),
            g.utilization[i] * 100.0,
            share.map_or("-".into(), |s| format!("{:.2}%", s * 100.0)),
            g.arrivals[i],
            if g.kept[i] { " (in the tables)" } else { "" },
        );
        if labelled {
            let _ = write!(out, "<text x=\"{}\" y=\"{}\">{}</text>", x + r + 3, y + 4, esc(name));
        }
    }
    out.push_str("</svg>");
    out
}

/// Pan (drag), zoom (wheel, around the pointer), reset, the colour toggle and the search.
const SCRIPT: &str = r#"(function(){
const s=document.getElementById('sg-svg'),root=document.getElementById('sg'),find=document.getElementById('sg-find');
const V0=s.getAttribute('viewBox').split(' ').map(Number);let v=V0.slice();
const set=()=>s.setAttribute('viewBox',v.join(' '));
const at=e=>{const r=s.getBoundingClientRect();return[v[0]+(e.clientX-r.left)/r.width*v[2],v[1]+(e.clientY-r.top)/r.height*v[3]]};
s.addEventListener('wheel',e=>{e.preventDefault();const p=at(e),k=e.deltaY<0?0.8:1.25;
v=[p[0]-(p[0]-v[0])*k,p[1]-(p[1]-v[1])*k,v[2]*k,v[3]*k];set()},{passive:false});
let drag=null;s.addEventListener('pointerdown',e=>{drag=[e.clientX,e.clientY]});
s.addEventListener('pointermove',e=>{if(!drag)return;const r=s.getBoundingClientRect();
v[0]-=(e.clientX-drag[0])/r.width*v[2];v[1]-=(e.clientY-drag[1])/r.height*v[3];drag=[e.clientX,e.clientY];set()});
addEventListener('pointerup',()=>{drag=null});
document.getElementById('sg-reset').onclick=()=>{v=V0.slice();set()};
for(const b of document.querySelectorAll('input[name=sg-colour]'))b.onchange=()=>{root.className='sg by-'+b.value};
const dots=[...s.querySelectorAll('circle')],L=JSON.parse(document.getElementById('sg-links').textContent);
const xy=c=>c.getAttribute('cx')+' '+c.getAttribute('cy');
const search=()=>{const q=find.value.trim();let hits=0,first=-1,exact=-1;
dots.forEach((c,i)=>{const m=q!==''&&c.dataset.n.includes(q);c.classList.toggle('hit',m);
if(m){hits++;if(first<0)first=i;if(c.dataset.n===q)exact=i}});
const t=exact>=0?exact:(hits===1?first:-1);let d='';
if(t>=0){for(let k=0;k<L.length;k+=2)if(L[k]===t||L[k+1]===t)d+='M'+xy(dots[L[k]])+'L'+xy(dots[L[k+1]]);
const c=dots[t],w=Math.min(V0[2],400),h=w*V0[3]/V0[2];v=[+c.getAttribute('cx')-w/2,+c.getAttribute('cy')-h/2,w,h];set()}
document.getElementById('sg-hl').setAttribute('d',d);document.getElementById('sg-count').textContent=q?hits+' found':''};
find.addEventListener('input',search);
s.addEventListener('click',e=>{if(e.target.tagName==='circle'){find.value=e.target.dataset.n;search()}});
})();"#;

/// The whole view: style, controls, drawing, the calls as data for the search, script.
pub fn service_graph_view(g: &ServiceGraphReport) -> String {
    let links: Vec<String> = g.links.iter().flat_map(|l| l.map(|i| i.to_string())).collect();
    format!(
        "<style>{}</style><div id=\"sg\" class=\"sg by-u\">{}{}<script type=\"application/json\" \
         id=\"sg-links\">[{}]</script><script>{SCRIPT}</script></div>",
        style(),
        controls(g),
        drawing(g),
        links.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, links: Vec<[usize; 2]>) -> ServiceGraphReport {
        ServiceGraphReport {
            services: (0..n).map(|i| format!("s{i}")).collect(),
            depth: crate::report::service_graph::depths(n, &links),
            arrivals: vec![1.0; n],
            utilization: (0..n).map(|i| i as f64 / n as f64).collect(),
            failed_share: vec![Some(0.0); n],
            kept: vec![false; n],
            links,
        }
    }

    #[test]
    fn layers_go_left_to_right_and_callers_order_their_callees() {
        // 0 calls 3, 1 calls 2: in layer 1, 3 comes before 2 (its caller sits higher).
        let l = layout(&graph(4, vec![[0, 3], [1, 2]]));
        assert!(l.pos[3].0 > l.pos[0].0 && l.pos[2].0 > l.pos[1].0, "{:?}", l.pos);
        assert!(l.pos[3].1 < l.pos[2].1, "barycentre order: {:?}", l.pos);
    }

    #[test]
    fn a_long_layer_wraps_into_columns_that_fit_the_canvas() {
        let l = layout(&graph(5000, Vec::new()));
        let columns: std::collections::BTreeSet<i64> = l.pos.iter().map(|p| p.0).collect();
        assert!(columns.len() > 10, "{} columns", columns.len());
        assert!(l.pos.iter().all(|&(x, y)| x < l.width && y < l.height));
        assert!(l.width < 4 * l.height && l.height < 4 * l.width, "{} x {}", l.width, l.height);
    }

    #[test]
    fn colour_classes_cover_the_range() {
        assert_eq!(utilisation_class(0.0), 0);
        assert_eq!(utilisation_class(0.95), 9);
        assert_eq!(utilisation_class(1.7), 9);
        assert_eq!(failed_class(Some(0.0)), "0");
        assert_eq!(failed_class(Some(0.004)), "2");
        assert_eq!(failed_class(Some(0.9)), "5");
        assert_eq!(failed_class(None), "x");
    }
}
