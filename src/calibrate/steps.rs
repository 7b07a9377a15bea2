//! A service's `calls:` from the calls each of its requests made: which calls, with what
//! probability, in which order, and which run in parallel.
//!
//! - **Steps of one request** (an interval-graph grouping): its logical calls sorted by
//!   start; a call that starts before every earlier call of the current step has ended
//!   joins the step (the calls overlap in time: parallel), one that starts at or after
//!   the latest end opens the next step (sequential). A step is thus a connected
//!   component of the calls' overlap graph: two calls that do not overlap each other can
//!   share a step through a third overlapping both.
//! - **Units.** The j-th call to B in a request (by start) is the unit (B, j), so a
//!   service calling B twice in a row has two sequential units, and one fanning out to
//!   B three times at once has three parallel ones. A unit's probability is the share of
//!   the service's requests that made it.
//! - **Parallel groups.** Two units are in one step of the scenario when they shared a
//!   step in more than half of the requests that made both; groups are the connected
//!   components of that relation.
//! - **Order.** A group precedes another when its units came in earlier steps in more of
//!   the requests that made both than the other way round; groups are sorted by the
//!   number they precede minus the number that precede them (Copeland's rule, which
//!   gives the order itself when it is consistent), ties by mean start offset.

use std::collections::BTreeMap;

use super::graph::CallObs;

/// One call of the template.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallTemplate {
    /// Callee service index.
    pub callee: usize,
    /// Share of the requests that made this call.
    pub probability: f64,
}

/// One step of the template: a single call, or calls made at once.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A call on its own.
    One(CallTemplate),
    /// Calls made concurrently.
    Parallel(Vec<CallTemplate>),
}

/// Per-pair counts between units.
struct Pairs {
    n: usize,
    same: Vec<u32>,
    both: Vec<u32>,
    before: Vec<u32>,
}

impl Pairs {
    fn at(&self, u: usize, v: usize) -> usize {
        u * self.n + v
    }
}

/// The step template of a service from its requests' logical calls.
pub fn infer_steps(requests: &[Vec<CallObs>]) -> Vec<Step> {
    let total = requests.len();
    if total == 0 {
        return Vec::new();
    }
    // Each request as (unit, step index, start offset).
    let mut units: BTreeMap<(usize, u32), usize> = BTreeMap::new();
    let mut seen: Vec<Vec<(usize, usize, i64)>> = Vec::with_capacity(total);
    for calls in requests {
        let mut nth: BTreeMap<usize, u32> = BTreeMap::new();
        let (mut step, mut step_end) = (0usize, i64::MIN);
        let first = calls.first().map_or(0, |c| c.start);
        let mut row = Vec::with_capacity(calls.len());
        for (k, c) in calls.iter().enumerate() {
            if k > 0 && c.start >= step_end {
                step += 1;
            }
            step_end = if k == 0 || c.start >= step_end { c.end } else { step_end.max(c.end) };
            let j = nth.entry(c.callee).or_insert(0);
            *j += 1;
            let next = units.len();
            let u = *units.entry((c.callee, *j)).or_insert(next);
            row.push((u, step, c.start - first));
        }
        seen.push(row);
    }
    let n = units.len();
    let mut present = vec![0u32; n];
    let mut offset = vec![0f64; n];
    let mut pairs = Pairs { n, same: vec![0; n * n], both: vec![0; n * n], before: vec![0; n * n] };
    for row in &seen {
        for &(u, su, ou) in row {
            present[u] += 1;
            offset[u] += ou as f64;
            for &(v, sv, _) in row {
                if u != v {
                    let at = pairs.at(u, v);
                    pairs.both[at] += 1;
                    pairs.same[at] += u32::from(su == sv);
                    pairs.before[at] += u32::from(su < sv);
                }
            }
        }
    }
    let groups = parallel_groups(&pairs);
    let ordered = order_groups(groups, &pairs, &present, &offset);
    let keys: Vec<(usize, u32)> = {
        let mut k = vec![(0, 0); n];
        for (&key, &u) in &units {
            k[u] = key;
        }
        k
    };
    ordered
        .into_iter()
        .map(|mut g| {
            g.sort_by_key(|&u| keys[u]);
            let mut calls: Vec<CallTemplate> = g
                .iter()
                .map(|&u| CallTemplate { callee: keys[u].0, probability: f64::from(present[u]) / total as f64 })
                .collect();
            if calls.len() == 1 { Step::One(calls.remove(0)) } else { Step::Parallel(calls) }
        })
        .collect()
}

/// Connected components of "shared a step in more than half of the requests with both".
fn parallel_groups(p: &Pairs) -> Vec<Vec<usize>> {
    let mut root: Vec<usize> = (0..p.n).collect();
    fn find(root: &mut [usize], mut u: usize) -> usize {
        while root[u] != u {
            root[u] = root[root[u]];
            u = root[u];
        }
        u
    }
    for u in 0..p.n {
        for v in (u + 1)..p.n {
            let at = p.at(u, v);
            if 2 * p.same[at] > p.both[at] {
                let (a, b) = (find(&mut root, u), find(&mut root, v));
                root[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for u in 0..p.n {
        let r = find(&mut root, u);
        groups.entry(r).or_default().push(u);
    }
    groups.into_values().collect()
}

/// Copeland order of the groups (see the module docs).
fn order_groups(groups: Vec<Vec<usize>>, p: &Pairs, present: &[u32], offset: &[f64]) -> Vec<Vec<usize>> {
    let wins = |g: &[usize], h: &[usize]| -> u64 {
        g.iter().flat_map(|&u| h.iter().map(move |&v| (u, v))).map(|(u, v)| u64::from(p.before[p.at(u, v)])).sum()
    };
    let mut scored: Vec<(i64, f64, Vec<usize>)> = groups
        .iter()
        .map(|g| {
            let mut score = 0i64;
            for h in &groups {
                if h != g {
                    score += match wins(g, h).cmp(&wins(h, g)) {
                        std::cmp::Ordering::Greater => 1,
                        std::cmp::Ordering::Less => -1,
                        std::cmp::Ordering::Equal => 0,
                    };
                }
            }
            let count: u32 = g.iter().map(|&u| present[u]).sum();
            let mean = g.iter().map(|&u| offset[u]).sum::<f64>() / f64::from(count.max(1));
            (score, mean, g.clone())
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    scored.into_iter().map(|(_, _, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(callee: usize, start: i64, end: i64) -> CallObs {
        CallObs { callee, start, end }
    }

    #[test]
    fn sequential_parallel_and_optional_calls() {
        // 1, then 2 and 3 at once, then 4 in every other request.
        let reqs: Vec<Vec<CallObs>> = (0..10)
            .map(|i| {
                let mut c = vec![call(1, 0, 10), call(2, 10, 30), call(3, 11, 20)];
                if i % 2 == 0 {
                    c.push(call(4, 30, 40));
                }
                c
            })
            .collect();
        let steps = infer_steps(&reqs);
        assert_eq!(
            steps,
            vec![
                Step::One(CallTemplate { callee: 1, probability: 1.0 }),
                Step::Parallel(vec![
                    CallTemplate { callee: 2, probability: 1.0 },
                    CallTemplate { callee: 3, probability: 1.0 }
                ]),
                Step::One(CallTemplate { callee: 4, probability: 0.5 }),
            ]
        );
    }

    #[test]
    fn repeated_calls_become_units() {
        let reqs = vec![vec![call(5, 0, 10), call(5, 10, 20)]; 4];
        let steps = infer_steps(&reqs);
        assert_eq!(steps.len(), 2);
        assert!(steps.iter().all(|s| matches!(s, Step::One(CallTemplate { callee: 5, .. }))));
        let fan_out = vec![vec![call(5, 0, 10), call(5, 0, 12), call(5, 1, 9)]; 4];
        assert!(matches!(&infer_steps(&fan_out)[..], [Step::Parallel(v)] if v.len() == 3));
        assert!(infer_steps(&[]).is_empty());
        assert!(infer_steps(&[vec![]]).is_empty());
    }
}
