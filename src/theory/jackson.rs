//! Open Jackson networks of M/M/c nodes with probabilistic routing.

use super::mmck::{StationTheory, mmck};
use super::{TheoryError, non_negative, positive};

/// Tolerance for a routing row sum above 1 (floating-point sums of
/// probabilities such as 0.1 + 0.2 + 0.7 may exceed 1 by an ulp or two).
const ROW_SUM_SLACK: f64 = 1e-9;
/// A row whose sum is within this of 1 has no exit.
const EXIT_EPSILON: f64 = 1e-12;
/// Smallest acceptable pivot of `I − Pᵀ` (whose entries are at most 1).
const PIVOT_EPSILON: f64 = 1e-12;

/// One node of an open Jackson network: an M/M/c station.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JacksonNode {
    /// Rate γ of jobs arriving at this node from outside the network (per second).
    pub external_rate: f64,
    /// Service rate μ of one server (per second).
    pub mu: f64,
    /// Number of servers c (>= 1).
    pub servers: u32,
}

/// Steady state of an open Jackson network.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JacksonResult {
    /// Each node as an independent M/M/c station fed at its total rate λ_i.
    pub nodes: Vec<StationTheory>,
    /// Σ γ_i, the rate at which jobs enter (and, in steady state, leave) the network.
    pub total_external_rate: f64,
    /// Mean number of jobs in the whole network, Σ L_i.
    pub mean_in_network: f64,
    /// Mean end-to-end time of a job in the network, Σ L_i / Σ γ_i (Little's law).
    pub mean_sojourn: f64,
    /// Mean number of visits a job pays to each node, λ_i / Σ γ_i.
    pub visit_ratios: Vec<f64>,
}

/// Solves an open Jackson network.
///
/// `routing[i][j]` is the probability that a job finishing at node `i` goes
/// next to node `j`; each row must sum to at most 1 and the remainder
/// leaves the network. The traffic equations `λ_j = γ_j + Σ_i λ_i·P_ij`,
/// i.e. `(I − Pᵀ)·λ = γ`, are solved by Gaussian elimination with partial
/// pivoting, then each node is evaluated as an M/M/c station at its λ_i
/// (the product-form theorem makes the nodes independent in steady state).
///
/// Errors on an empty network, invalid node parameters, a routing matrix
/// that is not `n × n` or has entries outside `[0, 1]` or a row sum above
/// 1, a node from which jobs can never exit (singular traffic equations),
/// no external arrivals at all, or a node with `λ_i >= c_i·μ_i` (named by
/// its index).
pub fn jackson(nodes: &[JacksonNode], routing: &[Vec<f64>]) -> Result<JacksonResult, TheoryError> {
    let n = nodes.len();
    if n == 0 {
        return Err(TheoryError::EmptyNetwork);
    }
    for (index, node) in nodes.iter().enumerate() {
        validate_node(node).map_err(|reason| TheoryError::Node { node: index, reason: Box::new(reason) })?;
    }
    validate_routing(n, routing)?;
    let total_external_rate: f64 = nodes.iter().map(|node| node.external_rate).sum();
    if total_external_rate <= 0.0 {
        return Err(TheoryError::NoExternalArrivals);
    }
    if let Some(node) = trapped_node(routing) {
        return Err(TheoryError::TrappedJobs { node });
    }

    let external: Vec<f64> = nodes.iter().map(|node| node.external_rate).collect();
    let arrival_rates = solve_traffic(routing, &external, total_external_rate)?;

    let mut stations = Vec::with_capacity(n);
    for (index, (node, &lambda)) in nodes.iter().zip(&arrival_rates).enumerate() {
        let station = mmck(lambda, node.mu, node.servers, None).map_err(|error| match error {
            TheoryError::Unstable { .. } => TheoryError::UnstableNode {
                node: index,
                arrival_rate: lambda,
                service_capacity: f64::from(node.servers) * node.mu,
            },
            other => TheoryError::Node { node: index, reason: Box::new(other) },
        })?;
        stations.push(station);
    }
    let mean_in_network: f64 = stations.iter().map(|s| s.mean_in_system).sum();
    Ok(JacksonResult {
        total_external_rate,
        mean_in_network,
        mean_sojourn: mean_in_network / total_external_rate,
        visit_ratios: arrival_rates.iter().map(|lambda| lambda / total_external_rate).collect(),
        nodes: stations,
    })
}

/// Checks one node's parameters.
fn validate_node(node: &JacksonNode) -> Result<(), TheoryError> {
    non_negative("external_rate", node.external_rate)?;
    positive("service rate μ", node.mu)?;
    if node.servers == 0 {
        return Err(TheoryError::NoServers);
    }
    Ok(())
}

/// Checks that `routing` is an `n × n` sub-stochastic matrix.
fn validate_routing(n: usize, routing: &[Vec<f64>]) -> Result<(), TheoryError> {
    if routing.len() != n {
        return Err(TheoryError::RoutingShape { nodes: n, row: n, len: routing.len() });
    }
    for (from, row) in routing.iter().enumerate() {
        if row.len() != n {
            return Err(TheoryError::RoutingShape { nodes: n, row: from, len: row.len() });
        }
        for (to, &value) in row.iter().enumerate() {
            if !(0.0..=1.0).contains(&value) {
                return Err(TheoryError::RoutingEntry { from, to, value });
            }
        }
        let sum: f64 = row.iter().sum();
        if sum > 1.0 + ROW_SUM_SLACK {
            return Err(TheoryError::RoutingRowSum { row: from, sum });
        }
    }
    Ok(())
}

/// First node from which no path of positive-probability hops reaches an
/// exit (a node whose row sums to less than 1), if any.
fn trapped_node(routing: &[Vec<f64>]) -> Option<usize> {
    let n = routing.len();
    let mut can_exit: Vec<bool> = routing.iter().map(|row| row.iter().sum::<f64>() < 1.0 - EXIT_EPSILON).collect();
    // Fixed point of "i can exit if it routes to some j that can"; at most n rounds.
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..n {
            if !can_exit[i] && routing[i].iter().zip(&can_exit).any(|(&p, &ok)| p > 0.0 && ok) {
                can_exit[i] = true;
                changed = true;
            }
        }
    }
    can_exit.iter().position(|&ok| !ok)
}

/// Solves `(I − Pᵀ)·λ = γ` by Gaussian elimination with partial pivoting.
pub(super) fn solve_traffic(
    routing: &[Vec<f64>],
    external: &[f64],
    total_external_rate: f64,
) -> Result<Vec<f64>, TheoryError> {
    let n = external.len();
    // Augmented matrix [I − Pᵀ | γ]; row j is the balance equation of node j.
    let mut matrix: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            let mut row: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i == j)) - routing[i][j]).collect();
            row.push(external[j]);
            row
        })
        .collect();
    for col in 0..n {
        let pivot_row = (col..n).max_by(|&a, &b| matrix[a][col].abs().total_cmp(&matrix[b][col].abs())).unwrap_or(col);
        if matrix[pivot_row][col].abs() < PIVOT_EPSILON {
            return Err(TheoryError::Singular);
        }
        matrix.swap(col, pivot_row);
        let pivot = matrix[col].clone();
        for row in matrix.iter_mut().skip(col + 1) {
            let factor = row[col] / pivot[col];
            if factor != 0.0 {
                for (entry, &p) in row.iter_mut().zip(&pivot).skip(col) {
                    *entry -= factor * p;
                }
            }
        }
    }
    let mut solution = vec![0.0; n];
    for j in (0..n).rev() {
        let row = &matrix[j];
        let known: f64 = (j + 1..n).map(|k| row[k] * solution[k]).sum();
        solution[j] = (row[n] - known) / row[j];
    }
    // Mathematically λ >= 0; tolerate round-off, reject anything larger.
    for lambda in &mut solution {
        if !lambda.is_finite() || *lambda < -1e-9 * total_external_rate {
            return Err(TheoryError::Singular);
        }
        *lambda = lambda.max(0.0);
    }
    Ok(solution)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, rel: f64) {
        let err = (actual - expected).abs() / expected.abs().max(f64::MIN_POSITIVE);
        assert!(err <= rel, "actual {actual} expected {expected} rel err {err:e} > {rel:e}");
    }

    fn node(external_rate: f64, mu: f64) -> JacksonNode {
        JacksonNode { external_rate, mu, servers: 1 }
    }

    #[test]
    fn tandem_of_three() {
        let nodes = [node(1.0, 2.0), node(0.0, 3.0), node(0.0, 4.0)];
        let routing = vec![vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0], vec![0.0, 0.0, 0.0]];
        let result = jackson(&nodes, &routing).unwrap();
        for (station, visits) in result.nodes.iter().zip(&result.visit_ratios) {
            close(station.arrival_rate, 1.0, 1e-14);
            close(*visits, 1.0, 1e-14);
        }
        let expected = 1.0 / (2.0 - 1.0) + 1.0 / (3.0 - 1.0) + 1.0 / (4.0 - 1.0);
        close(result.mean_sojourn, expected, 1e-13);
        close(result.mean_in_network, expected, 1e-13);
        assert_eq!(result.total_external_rate, 1.0);
    }

    #[test]
    fn single_node_feedback() {
        let result = jackson(&[node(1.0, 4.0)], &[vec![0.5]]).unwrap();
        close(result.nodes[0].arrival_rate, 2.0, 1e-14);
        close(result.visit_ratios[0], 2.0, 1e-14);
        close(result.nodes[0].mean_in_system, 1.0, 1e-13);
        close(result.mean_sojourn, 1.0, 1e-13);
    }

    #[test]
    fn multi_server_nodes_with_loops() {
        // Front end (2 servers) → service → db with retries back to service.
        let nodes = [
            JacksonNode { external_rate: 3.0, mu: 2.5, servers: 2 },
            JacksonNode { external_rate: 0.5, mu: 5.0, servers: 1 },
            JacksonNode { external_rate: 0.0, mu: 1.0, servers: 8 },
        ];
        let routing = vec![vec![0.0, 0.9, 0.0], vec![0.0, 0.0, 0.6], vec![0.1, 0.2, 0.0]];
        let result = jackson(&nodes, &routing).unwrap();
        // Traffic equations hold.
        let lambda: Vec<f64> = result.nodes.iter().map(|s| s.arrival_rate).collect();
        for j in 0..3 {
            let inflow: f64 = nodes[j].external_rate + (0..3).map(|i| lambda[i] * routing[i][j]).sum::<f64>();
            close(lambda[j], inflow, 1e-13);
        }
        // Flow conservation: what leaves equals what enters.
        let exits: f64 = (0..3).map(|i| lambda[i] * (1.0 - routing[i].iter().sum::<f64>())).sum();
        close(exits, result.total_external_rate, 1e-13);
        for (j, station) in result.nodes.iter().enumerate() {
            let alone = mmck(lambda[j], nodes[j].mu, nodes[j].servers, None).unwrap();
            assert_eq!(*station, alone);
        }
    }

    #[test]
    fn unstable_node_is_named() {
        // Feedback 0.8 at node 1 pushes λ_1 to 5 > μ = 4.
        let nodes = [node(1.0, 10.0), node(0.0, 4.0)];
        let routing = vec![vec![0.0, 1.0], vec![0.0, 0.8]];
        match jackson(&nodes, &routing) {
            Err(TheoryError::UnstableNode { node, arrival_rate, service_capacity }) => {
                assert_eq!(node, 1);
                close(arrival_rate, 5.0, 1e-12);
                assert_eq!(service_capacity, 4.0);
            }
            other => panic!("expected UnstableNode, got {other:?}"),
        }
    }

    #[test]
    fn invalid_routing() {
        let nodes = [node(1.0, 10.0), node(0.0, 10.0)];
        assert!(matches!(
            jackson(&nodes, &[vec![0.0, 0.7], vec![0.6, 0.5]]),
            Err(TheoryError::RoutingRowSum { row: 1, .. })
        ));
        assert!(matches!(
            jackson(&nodes, &[vec![0.0, -0.1], vec![0.0, 0.0]]),
            Err(TheoryError::RoutingEntry { from: 0, to: 1, .. })
        ));
        assert!(matches!(
            jackson(&nodes, &[vec![0.0, f64::NAN], vec![0.0, 0.0]]),
            Err(TheoryError::RoutingEntry { .. })
        ));
        assert!(matches!(jackson(&nodes, &[vec![0.0, 1.0]]), Err(TheoryError::RoutingShape { .. })));
        assert!(matches!(jackson(&nodes, &[vec![0.0, 1.0], vec![0.0]]), Err(TheoryError::RoutingShape { row: 1, .. })));
        // A closed loop without exit.
        assert_eq!(jackson(&nodes, &[vec![0.0, 1.0], vec![1.0, 0.0]]), Err(TheoryError::TrappedJobs { node: 0 }));
        // Rows summing to 1 up to round-off are accepted.
        let three = [node(1.0, 10.0), node(0.0, 10.0), node(0.0, 10.0)];
        let routing = vec![vec![0.0, 0.1 + 0.2, 0.7], vec![0.0, 0.0, 0.5], vec![0.0, 0.0, 0.0]];
        assert!(jackson(&three, &routing).is_ok());
    }

    #[test]
    fn invalid_nodes() {
        assert_eq!(jackson(&[], &[]), Err(TheoryError::EmptyNetwork));
        assert_eq!(jackson(&[node(0.0, 1.0)], &[vec![0.0]]), Err(TheoryError::NoExternalArrivals));
        assert!(matches!(jackson(&[node(1.0, 0.0)], &[vec![0.0]]), Err(TheoryError::Node { node: 0, .. })));
        let no_servers = JacksonNode { external_rate: 1.0, mu: 2.0, servers: 0 };
        assert!(matches!(
            jackson(&[node(1.0, 2.0), no_servers], &[vec![0.0; 2], vec![0.0; 2]]),
            Err(TheoryError::Node { node: 1, .. })
        ));
        assert!(matches!(jackson(&[node(-1.0, 2.0)], &[vec![0.0]]), Err(TheoryError::Node { node: 0, .. })));
    }
}
