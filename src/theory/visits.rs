//! Expected visits per request over synchronous calls and routes: the traffic equations
//! of the graph of services.
//!
//! A visit to a service makes, on average, `probability` visits to each callee of its
//! calls (every member of a parallel group counts; retries and hedges do not: their
//! count is bounded by their own settings) and, once it is done, `probability` visits to
//! each service it routes to. With `M` the matrix of these direct visits, the visits of
//! requests entering with weights `e` are `v = e + Mᵀv`: Jackson's traffic equations
//! with calls added as edges. `v` is finite exactly when the spectral radius of `M` is
//! below 1 (Perron–Frobenius), so a group of services that requests can circle through
//! (a strongly connected component of `M`) with radius 1 or more never lets a request go.
//!
//! Each component is solved on its own, in topological order of the components found by
//! Tarjan's algorithm (1972): a large scenario made of small loops costs little. A
//! component of up to [`DENSE_MAX`] services is solved exactly by elimination; a larger
//! one by fixed-point iteration, capped at about [`ITERATION_WORK`] edge updates, which
//! gives a lower bound when the cap is reached.

use super::jackson::solve_traffic;
use crate::model::Model;

/// Largest component solved by dense elimination (its cost grows as the cube).
pub const DENSE_MAX: usize = 400;
/// Most edge updates spent iterating on one larger component.
pub const ITERATION_WORK: usize = 50_000_000;
/// Expected visits past which iteration stops and calls the component unbounded.
const DIVERGED: f64 = 1e15;

/// The direct-visit graph of a model and its strongly connected components.
#[derive(Clone, Debug)]
pub struct Visits {
    /// Per service: `(callee or route target, expected visits per visit here)`, by id.
    pub rows: Vec<Vec<(usize, f64)>>,
    /// The components, each sorted, sinks first (no edge leads from one to an earlier one).
    pub components: Vec<Vec<usize>>,
}

/// A group of services requests can circle through, and what one entry into it costs.
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    /// Its services, by id, sorted.
    pub services: Vec<usize>,
    /// The service where an entering request visits the group most.
    pub entry: usize,
    /// Expected visits inside the group of a request entering at `entry`: infinite when
    /// requests never leave.
    pub visits: f64,
}

impl Visits {
    /// The graph of `model`'s calls and routes.
    pub fn of(model: &Model) -> Self {
        let rows: Vec<Vec<(usize, f64)>> = model
            .services
            .iter()
            .map(|s| {
                let mut row = std::collections::BTreeMap::<usize, f64>::new();
                let calls = s.steps.iter().flat_map(|st| &st.calls).map(|c| (c.to, c.probability));
                for (to, p) in calls.chain(s.routes.iter().map(|r| (r.to, r.probability))) {
                    *row.entry(to).or_default() += p;
                }
                row.into_iter().filter(|&(_, p)| p > 0.0).collect()
            })
            .collect();
        let components = components(&rows);
        Visits { rows, components }
    }

    /// Every component requests can circle through (two services or more, or one that
    /// sends requests back to itself), with its worst entry.
    pub fn loops(&self) -> Vec<Loop> {
        let mut local = vec![usize::MAX; self.rows.len()];
        let mut out = Vec::new();
        for comp in &self.components {
            if comp.len() == 1 && !self.rows[comp[0]].iter().any(|&(to, _)| to == comp[0]) {
                continue;
            }
            let ones = vec![1.0; comp.len()];
            let x = self.solve_component(comp, &ones, false, &mut local);
            let (entry, visits) = match x {
                Some(x) => x.iter().enumerate().fold(
                    (comp[0], 0.0),
                    |best, (i, &v)| {
                        if v > best.1 { (comp[i], v) } else { best }
                    },
                ),
                None => (comp[0], f64::INFINITY),
            };
            out.push(Loop { services: comp.clone(), entry, visits });
        }
        out
    }

    /// Visits to each service of requests entering at rate `external[i]` at service `i`
    /// (`v = e + Mᵀv`); infinite for services of a component requests never leave.
    pub fn solve(&self, external: &[f64]) -> Vec<f64> {
        let n = self.rows.len();
        let mut local = vec![usize::MAX; n];
        let mut inflow = external.to_vec();
        let mut v = vec![0.0; n];
        for comp in self.components.iter().rev() {
            let b: Vec<f64> = comp.iter().map(|&i| inflow[i]).collect();
            let x = self.solve_component(comp, &b, true, &mut local);
            for (k, &i) in comp.iter().enumerate() {
                v[i] = x.as_ref().map_or(f64::INFINITY, |x| x[k]);
                for &(j, m) in &self.rows[i] {
                    if local[j] == usize::MAX {
                        inflow[j] += v[i] * m;
                    }
                }
            }
            for &i in comp {
                local[i] = usize::MAX;
            }
        }
        v
    }

    /// A cycle inside component `comp` from `start`, following the most likely step
    /// each time: the loop a message can name.
    pub fn cycle(&self, comp: &[usize], start: usize) -> Vec<usize> {
        let mut path = vec![start];
        let mut at = start;
        loop {
            let next = self.rows[at].iter().filter(|(to, _)| comp.binary_search(to).is_ok()).fold(
                None::<(usize, f64)>,
                |best, &(to, m)| match best {
                    Some((_, b)) if b >= m => best,
                    _ => Some((to, m)),
                },
            );
            let Some((to, _)) = next else { return path };
            if let Some(first) = path.iter().position(|&x| x == to) {
                let mut cycle = path.split_off(first);
                cycle.push(to);
                return cycle;
            }
            path.push(to);
            at = to;
        }
    }

    /// Solves one component: with `incoming`, `v = b + M_Cᵀv` (visits arriving);
    /// without, `x = b + M_C·x` (visits made from each entry). `None` when unbounded.
    /// `local` maps ids to positions in `comp` on return (reset by the caller's loop).
    fn solve_component(&self, comp: &[usize], b: &[f64], incoming: bool, local: &mut [usize]) -> Option<Vec<f64>> {
        for (k, &i) in comp.iter().enumerate() {
            local[i] = k;
        }
        let edges: Vec<(usize, usize, f64)> = comp
            .iter()
            .enumerate()
            .flat_map(|(k, &i)| {
                self.rows[i].iter().filter(|(j, _)| local[*j] != usize::MAX).map(move |&(j, m)| (k, j, m))
            })
            .map(|(k, j, m)| (k, local[j], m))
            .collect();
        let x = if edges.is_empty() {
            Some(b.to_vec())
        } else if comp.len() <= DENSE_MAX {
            dense(comp.len(), &edges, b, incoming)
        } else {
            iterate(comp.len(), &edges, b, incoming)
        };
        if !incoming {
            for &i in comp {
                local[i] = usize::MAX;
            }
        }
        x
    }
}

/// Exact solution by elimination (Jackson's solver: `(I − Pᵀ)λ = γ`).
fn dense(k: usize, edges: &[(usize, usize, f64)], b: &[f64], incoming: bool) -> Option<Vec<f64>> {
    let mut p = vec![vec![0.0; k]; k];
    for &(from, to, m) in edges {
        // Arriving visits solve (I − Mᵀ)v = b; visits made from an entry, (I − M)x = b.
        if incoming {
            p[from][to] += m;
        } else {
            p[to][from] += m;
        }
    }
    let total = b.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    solve_traffic(&p, b, total).ok()
}

/// Fixed-point iteration from `b`; stops at convergence, at the work cap (a lower bound)
/// or when the values pass [`DIVERGED`] (`None`).
fn iterate(k: usize, edges: &[(usize, usize, f64)], b: &[f64], incoming: bool) -> Option<Vec<f64>> {
    let mut x = b.to_vec();
    let rounds = (ITERATION_WORK / edges.len().max(1)).max(1);
    for _ in 0..rounds {
        let mut next = b.to_vec();
        for &(from, to, m) in edges {
            if incoming {
                next[to] += m * x[from];
            } else {
                next[from] += m * x[to];
            }
        }
        let top = next.iter().fold(0.0_f64, |a, &v| a.max(v));
        let change = next.iter().zip(&x).fold(0.0_f64, |a, (n, o)| a.max((n - o).abs()));
        x = next;
        if !top.is_finite() || top > DIVERGED {
            return None;
        }
        if change <= 1e-12 * top {
            break;
        }
    }
    debug_assert_eq!(x.len(), k);
    Some(x)
}

/// The strongly connected components of `rows`, sinks first (Tarjan's algorithm, with
/// an explicit stack so that 10,000 services in a chain cannot overflow the thread's).
pub fn components(rows: &[Vec<(usize, f64)>]) -> Vec<Vec<usize>> {
    const NEW: usize = usize::MAX;
    let n = rows.len();
    let (mut index, mut low, mut on_stack) = (vec![NEW; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if index[root] != NEW {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        (index[root], low[root], on_stack[root]) = (next, next, true);
        next += 1;
        stack.push(root);
        while let Some(&(v, k)) = calls.last() {
            if let Some(&(w, _)) = rows[v].get(k) {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                if index[w] == NEW {
                    (index[w], low[w], on_stack[w]) = (next, next, true);
                    next += 1;
                    stack.push(w);
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comp.sort_unstable();
                out.push(comp);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(rows: Vec<Vec<(usize, f64)>>) -> Visits {
        let components = components(&rows);
        Visits { rows, components }
    }

    #[test]
    fn components_come_sinks_first() {
        // 0 -> 1 <-> 2 -> 3
        let v = graph(vec![vec![(1, 1.0)], vec![(2, 1.0)], vec![(1, 0.5), (3, 0.5)], vec![]]);
        assert_eq!(v.components, vec![vec![3], vec![1, 2], vec![0]]);
    }

    #[test]
    fn a_call_and_a_route_back_visit_geometrically() {
        // a calls b; b routes back to a with p: a is visited 1/(1-p) times.
        let p = 0.9;
        let v = graph(vec![vec![(1, 1.0)], vec![(0, p)]]);
        let visits = v.solve(&[1.0, 0.0]);
        assert!((visits[0] - 10.0).abs() < 1e-9 && (visits[1] - 10.0).abs() < 1e-9, "{visits:?}");
        let loops = v.loops();
        assert_eq!(loops.len(), 1);
        assert!((loops[0].visits - 20.0).abs() < 1e-9, "{loops:?}");
        assert_eq!(
            v.cycle(&loops[0].services, loops[0].entry),
            vec![loops[0].entry, 1 - loops[0].entry, loops[0].entry]
        );
    }

    #[test]
    fn a_loop_without_exit_is_unbounded_both_ways() {
        let v = graph(vec![vec![(1, 1.0)], vec![(0, 1.0)]]);
        assert_eq!(v.loops()[0].visits, f64::INFINITY);
        assert!(v.solve(&[1.0, 0.0]).iter().all(|x| x.is_infinite()));
        // Two calls per visit and a route back half the time: supercritical.
        let v = graph(vec![vec![(1, 2.0)], vec![(0, 0.6)]]);
        assert_eq!(v.loops()[0].visits, f64::INFINITY);
    }

    #[test]
    fn iteration_agrees_with_elimination() {
        // A ring of DENSE_MAX + 1 services, each leaving with 1%.
        let n = DENSE_MAX + 1;
        let rows: Vec<Vec<(usize, f64)>> = (0..n).map(|i| vec![((i + 1) % n, 0.99)]).collect();
        let v = graph(rows);
        let mut e = vec![0.0; n];
        e[0] = 1.0;
        let total: f64 = v.solve(&e).iter().sum();
        assert!((total - 100.0).abs() < 1e-6, "{total}");
        assert!((v.loops()[0].visits - 100.0).abs() < 1e-6);
    }
}
