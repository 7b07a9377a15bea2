//! `resim merge`: join sharded sweep outputs into the sweep.csv / sweep.json of one run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use resim::report::{LockMode, OutputLock, OutputPlace, write_atomic};
use resim::sweep::charts;
use resim::sweep::objective::Choice;
use resim::sweep::output::{self, PointRecord, point_dir};
use resim::sweep::plan::Definition;
use resim::sweep::shard::{SHARD_DIR, merge as merge_dirs};

use super::{outdir, print_out};

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

/// Builds the merged folder beside `out` and swaps it in: the point folders copied byte
/// for byte (from wherever they were found, `out` itself included), the shard files when
/// merging a folder in place (so it can be merged again), then the tables and charts.
fn write_merged(
    args: &MergeArgs,
    place: &OutputPlace,
    lock: Option<OutputLock>,
    def: &Definition,
    records: &[PointRecord],
    choice: &Choice,
) -> Result<(), String> {
    let out = place.out();
    let staging = outdir::begin(place, lock)?;
    for r in records {
        let i = r.point.index;
        let from = args.dirs.iter().find(|d| point_dir(d, i).join("point.json").is_file());
        if let Some(from) = from {
            output::copy_point(from, staging.dir(), i)
                .map_err(|e| format!("cannot copy point {i} from {}: {e}", from.display()))?;
        }
    }
    let same = |d: &PathBuf| d.canonicalize().ok() == out.canonicalize().ok();
    for dir in args.dirs.iter().filter(|d| same(d)) {
        copy_shard_files(dir, staging.dir())
            .map_err(|e| format!("cannot copy the shard files of {}: {e}", dir.display()))?;
    }
    output::write_tables(staging.dir(), def, records, Some(choice))
        .map_err(|e| format!("cannot write into {}: {e}", out.display()))?;
    charts::write_charts(staging.dir(), def, records)
        .map_err(|e| format!("cannot write the charts into {}: {e}", out.display()))?;
    outdir::commit(staging)
}

/// Copies `from/shards/*.json` into `to/shards/`.
fn copy_shard_files(from: &Path, to: &Path) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(from.join(SHARD_DIR)) else {
        return Ok(());
    };
    for e in entries {
        let path = e?.path();
        if let (Some(name), true) = (path.file_name(), path.extension().is_some_and(|x| x == "json")) {
            write_atomic(&to.join(SHARD_DIR).join(name), &std::fs::read(&path)?)?;
        }
    }
    Ok(())
}

/// Merges the shards.
pub(crate) fn merge(args: MergeArgs) -> Result<ExitCode, String> {
    let out = match (&args.out, args.dirs.as_slice()) {
        (Some(out), _) => out.clone(),
        (None, [one]) => one.clone(),
        (None, _) => return Err("several folders to merge: say where the result goes with --out DIR".into()),
    };
    let (place, lock) = outdir::prepare(&out, LockMode::Exclusive)?;
    let (def, records) = merge_dirs(&args.dirs)?;
    let choice = output::judge(&def, &records)?;
    outdir::on_signal(|| outdir::quit(false));
    write_merged(&args, &place, lock, &def, &records, &choice)?;
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
