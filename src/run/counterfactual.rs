//! The counterfactual runs of the blast-radius analysis: the model without one fault.
//!
//! A counterfactual keeps everything else (seed, replication indices, named random
//! streams), so the difference between a run and its counterfactual is the fault's
//! effect, not luck (common random numbers). The blast radius itself is computed from
//! both runs' summaries when the report is built ([`crate::report::blast_radius`]).

use crate::model::Model;

/// `model` followed by its [`counterfactuals`] when the blast-radius analysis is on.
pub fn variants(model: &Model) -> Vec<Model> {
    let mut models = vec![model.clone()];
    if model.blast_radius.is_some() {
        models.extend(counterfactuals(model));
    }
    models
}

/// The counterfactual of each fault: `model` without it, in fault order.
pub fn counterfactuals(model: &Model) -> Vec<Model> {
    (0..model.faults.len()).map(|f| model.without_fault(f)).collect()
}
