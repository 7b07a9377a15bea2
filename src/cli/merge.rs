//! `resim merge`: join sharded sweep outputs into the sweep.csv / sweep.json of one run.

use std::path::PathBuf;
use std::process::ExitCode;

use resim::input::{MAX_REPORT_BYTES, read_bytes};
use resim::report::write_atomic;
use resim::sweep::charts;
use resim::sweep::output::{self, point_dir};
use resim::sweep::shard::merge as merge_dirs;

use super::print_out;

/// Arguments of `resim merge`.
#[derive(clap::Args, Debug)]
pub(crate) struct MergeArgs {
    /// Sweep output folders written by `resim sweep --shard I/N` (or one shared folder).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where to write the merged sweep (default: the folder, when only one is given).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// Merges the shards.
pub(crate) fn merge(args: MergeArgs) -> Result<ExitCode, String> {
    let out = match (&args.out, args.dirs.as_slice()) {
        (Some(out), _) => out.clone(),
        (None, [one]) => one.clone(),
        (None, _) => return Err("several folders to merge: say where the result goes with --out DIR".into()),
    };
    let (def, records) = merge_dirs(&args.dirs)?;
    // Copy point folders byte for byte, so the merged folder is a complete sweep output.
    for r in &records {
        let to = point_dir(&out, r.point.index);
        let from = args.dirs.iter().map(|d| point_dir(d, r.point.index)).find(|d| d.join("point.json").is_file());
        if let Some(from) = from.filter(|f| f.canonicalize().ok() != to.canonicalize().ok()) {
            for name in ["report.json", "point.json"] {
                let bytes = read_bytes(&from.join(name), MAX_REPORT_BYTES).map_err(|e| format!("{e}; {}", e.help()))?;
                write_atomic(&to.join(name), &bytes).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
            }
        }
    }
    let choice = output::judge(&def, &records)?;
    output::write_tables(&out, &def, &records, Some(&choice))
        .map_err(|e| format!("cannot write into {}: {e}", out.display()))?;
    charts::write_charts(&out, &def, &records)
        .map_err(|e| format!("cannot write the charts into {}: {e}", out.display()))?;
    if !args.quiet {
        print_out(&format!(
            "{}: merged {} points from {} folders\nsweep: {}\n",
            def.scenario,
            records.len(),
            args.dirs.len(),
            out.join(output::SWEEP_CSV).display()
        ));
    }
    if def.objective.is_some() || !def.constraints.is_empty() {
        if !args.quiet {
            print_out(&output::explain(&def, &records, &choice));
        }
        if !def.constraints.is_empty() && choice.best.is_none() {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
