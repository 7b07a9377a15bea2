//! The sloth reader (being built).

use super::{Context, Entry, Imported};
use crate::scenario::ScenarioError;

/// Reads sloth files.
pub fn read(entry: &Entry, _ctx: &Context) -> Result<Imported, ScenarioError> {
    Err(ScenarioError::at_key(&entry.key, "this format is not read yet"))
}
