//! The conformance suite: the resilience libraries' own tests, ported to resim's state
//! machines, one module per library. Each test names the upstream test it mirrors and
//! uses its inputs and expected outputs; where resim deliberately differs, the test
//! says so.

mod envoy;
