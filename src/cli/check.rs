//! `resim check`: validate only.

use std::process::ExitCode;

use resim::import::merge::Merged;
use resim::input::shown;
use resim::scenario::load::read_scenario;

use super::{ScenarioArgs, print_out};

/// Arguments of `resim check`.
#[derive(clap::Args, Debug)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
}

/// Validates the scenario and reports what it contains.
pub(crate) fn check(args: CheckArgs) -> Result<ExitCode, String> {
    let s = args.scenario.load().map_err(|e| e.to_string())?;
    if s.spec.sweep.is_some() {
        // The sweep: section is checked as `resim sweep` would read it, on its first point.
        let text = read_scenario(&args.scenario.scenario).map_err(|e| e.to_string())?;
        let file = shown(&args.scenario.scenario);
        let base = args.scenario.overrides();
        let plan = resim::sweep::plan::plan(&text, &file, &base, &s, &Default::default()).map_err(|e| e.to_string())?;
        resim::sweep::plan::load_point(&plan, 0, &text, &file, &base).map_err(|e| e.to_string())?;
    }
    let m = &s.model;
    print_out(&format!(
        "{}: ok ({} services, {} call edges, {} workloads, {} replications)\n",
        shown(&args.scenario.scenario).display(),
        m.services.len(),
        m.edges.len(),
        m.workloads.len(),
        m.replications
    ));
    print_out(&imports_summary(&s.imports));
    Ok(ExitCode::SUCCESS)
}

/// What the scenario's imports set, what its own keys overrode, and what was read and
/// not simulated; empty without imports.
fn imports_summary(m: &Merged) -> String {
    let mut out = String::new();
    if m.applied.is_empty() && m.overridden.is_empty() && m.ignored.is_empty() {
        return out;
    }
    out.push_str(&format!("imported: {} keys\n", m.applied.len()));
    for (key, origin) in &m.applied {
        out.push_str(&format!("  {key} <- {origin}\n"));
    }
    if !m.overridden.is_empty() {
        out.push_str(&format!("overridden by the scenario: {}\n", m.overridden.len()));
        for o in &m.overridden {
            out.push_str(&format!(
                "  {}: the scenario's {} wins over {} from {}\n",
                o.key, o.scenario, o.imported, o.origin
            ));
        }
    }
    if !m.ignored.is_empty() {
        out.push_str(&format!("read and not simulated: {}\n", m.ignored.len()));
        for i in &m.ignored {
            out.push_str(&format!("  {}: {}\n", i.origin, i.reason));
        }
    }
    out
}
