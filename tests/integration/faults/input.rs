//! Bad fault keys are refused clearly.

use resim::scenario::ScenarioError;

use crate::common::{assert_error, refusal};

// ---------------------------------------------------------------------------------------
// 11. Bad input
// ---------------------------------------------------------------------------------------

/// A small system with every kind of target: services, instances, zones, an edge, a workload.
const BAD_BASE: &str = "
name: bad-faults
duration: 1m
services:
  payments: { instances: 3, zones: [a, b], service_time: { exponential: { mean: 10ms } } }
  api:
    service_time: { exponential: { mean: 10ms } }
    calls: [ { to: payments } ]
workloads:
  - { name: shoppers, target: api, arrivals: { poisson: { rate: 10/s } } }
faults:
  - {FAULT}
";

fn refused(fault: &str) -> ScenarioError {
    let yaml = BAD_BASE.replace("{FAULT}", fault);
    refusal(&yaml)
}

#[test]
fn bad_fault_keys_are_refused_clearly() {
    let e = refused("{ kind: crashh, target: payments, at: 1s, for: 1s }");
    assert_error(&e, "faults.0.kind", &["crashh", "did you mean `crash`?"]);

    let e = refused("{ kind: crash, target: paymnets, at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["there is no service `paymnets`", "did you mean `payments`?"]);

    let e = refused("{ kind: crash, target: 'payments#9', at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["instances 0..2", "no #9"]);

    let e = refused("{ kind: partition, target: payments, at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["call edge", "api->payments"]);
    let e = refused("{ kind: partition, target: 'payments->api', at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["`payments` makes no calls to `api`"]);

    let e = refused("{ kind: spike, target: payments, at: 1s, for: 1s, factor: 3 }");
    assert_error(&e, "faults.0.target", &["target a workload", "`payments`"]);
    let e = refused("{ kind: spike, target: shopers, at: 1s, for: 1s, factor: 3 }");
    assert_error(&e, "faults.0.target", &["did you mean `shoppers`?"]);

    let e = refused("{ kind: error, target: payments, at: 1s, for: 1s, probability: 0.5, add: 100ms }");
    assert_error(&e, "faults.0.add", &["`add` does not apply to", "error fault"]);

    let e = refused("{ kind: crash, target: payments, at: 1s }");
    assert_error(&e, "faults.0.for", &["give the fault a duration"]);

    let e = refused("{ kind: crash, target: payments, at: 1s, for: 1s, mtbf: 9m, mttr: 1m }");
    assert_error(&e, "faults.0", &["not a mix"]);

    let e = refused("{ kind: crash, target: 'zone:c', at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["no instance is in zone `c`", "zones are: a, b"]);

    let e = refused("{ kind: error, target: payments, at: 1s, for: 1s, probability: 1.5 }");
    assert_error(&e, "faults.0.probability", &["outside 0..1"]);

    let e = refused("{ kind: latency, target: payments, at: 1s, for: 1s }");
    assert_error(&e, "faults.0", &["`add`", "`multiply`"]);
}
