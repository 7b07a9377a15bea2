//! `resim sweep`: plan the points, run them on rayon with a progress bar, write each
//! point as it finishes, then the tables; Ctrl-C keeps what finished (exit 130).
//!
//! A whole sweep builds its folder in a temporary sibling and swaps it in at the end, so
//! the folder never mixes two sweeps; shards (`--shard I/N`) add their points to one
//! shared folder instead, under a shared lock, and `resim merge` makes the whole.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use resim::input::shown;
use resim::report::{LockMode, OutputLock, OutputPlace, Staging};
use resim::run::precision::{DEFAULT_MAX_REPLICATIONS, Precision};
use resim::scenario::load::read_scenario;
use resim::scenario::sweep_spec::{ConstraintSpec, ObjectiveSpec, SamplingSpec};
use resim::sweep::charts;
use resim::sweep::exec::{self, Source};
use resim::sweep::grid::Param;
use resim::sweep::objective::{parse_constraint, parse_objective};
use resim::sweep::output::{self, PointRecord};
use resim::sweep::plan::{Plan, SweepOptions, plan};
use resim::sweep::shard::{Shard, write_shard};

use super::budget::BudgetArgs;
use super::outdir::{self, INTERRUPTED};
use super::run::DetailArgs;
use super::{ScenarioArgs, print_out};

/// Set by Ctrl-C (or SIGTERM): start no new point.
static STOP: AtomicBool = AtomicBool::new(false);

/// `--sampling`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SamplingArg {
    /// Every combination.
    Grid,
    /// Uniform random draws.
    Random,
    /// Latin hypercube.
    #[value(alias = "latin_hypercube", alias = "latin-hypercube")]
    Lhs,
}

/// Arguments of `resim sweep`.
#[derive(clap::Args, Debug)]
pub(crate) struct SweepArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// A swept key and its values: `KEY=V1,V2,...`, `KEY=FROM..TO` or `'KEY=FROM..TO step S'`
    /// (quoted: it has spaces) (repeatable; the grid is the cartesian product). Replaces the
    /// file's sweep.params.
    #[arg(long = "param", value_name = "KEY=VALUES")]
    params: Vec<Param>,
    /// How points are chosen (default: the file's sweep.sampling, else grid).
    #[arg(long, value_enum)]
    sampling: Option<SamplingArg>,
    /// Points drawn by random or Latin-hypercube sampling.
    #[arg(long)]
    samples: Option<u32>,
    /// Pick the best point: `min PATH` or `max PATH` (a path into report.json).
    #[arg(long, value_parser = parse_objective, value_name = "min|max PATH")]
    objective: Option<ObjectiveSpec>,
    /// A condition the best point must meet, e.g. "workloads.users.availability >= 0.999" (repeatable).
    #[arg(long = "constraint", value_parser = parse_constraint, value_name = "PATH OP VALUE")]
    constraints: Vec<ConstraintSpec>,
    /// Add replications until every headline metric's 95% CI half-width is within this
    /// share of its mean, e.g. 1%.
    #[arg(long, value_parser = super::parse_precision)]
    precision: Option<f64>,
    /// Most replications per point with --precision.
    #[arg(long, value_parser = super::parse_max_replications, default_value_t = DEFAULT_MAX_REPLICATIONS)]
    max_replications: u32,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = super::parse_jobs)]
    jobs: Option<usize>,
    /// Output folder (default: out/<scenario name>-sweep).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip points already finished in the output folder by the same sweep.
    #[arg(long)]
    resume: bool,
    /// Run only the points with index % N == I (write them and shards/I-of-N.json).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Print nothing but errors (no progress bar, no summary, no verdict).
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    budget: BudgetArgs,
    #[command(flatten)]
    detail: DetailArgs,
}

impl From<SamplingArg> for SamplingSpec {
    fn from(s: SamplingArg) -> Self {
        match s {
            SamplingArg::Grid => SamplingSpec::Grid,
            SamplingArg::Random => SamplingSpec::Random,
            SamplingArg::Lhs => SamplingSpec::LatinHypercube,
        }
    }
}

/// Runs the sweep.
pub(crate) fn sweep(args: SweepArgs) -> Result<ExitCode, String> {
    let base_scenario = args.scenario.load().map_err(|e| e.to_string())?;
    // Standard input is read once and kept, so this second read sees the same text.
    let text = read_scenario(&args.scenario.scenario).map_err(|e| e.to_string())?;
    let file = &shown(&args.scenario.scenario);
    let base = args.scenario.overrides();
    let options = SweepOptions {
        params: args.params.clone(),
        sampling: args.sampling.map(Into::into),
        samples: args.samples,
        objective: args.objective.clone(),
        constraints: args.constraints.clone(),
        precision: args.precision.map(|relative| Precision { relative, max_replications: args.max_replications }),
    };
    let plan = plan(&text, file, &base, &base_scenario, &options).map_err(|e| e.to_string())?;
    let shard = args.shard.unwrap_or(Shard { index: 0, count: 1 });
    let mine: Vec<usize> = (0..plan.points.len()).filter(|&i| shard.contains(i)).collect();
    let out = args.out.clone().unwrap_or_else(|| super::default_out(&format!("{}-sweep", base_scenario.model.name)));
    // Shards write their points into one shared folder side by side; a whole sweep
    // replaces its folder.
    let mode = if shard.count > 1 { LockMode::Shared } else { LockMode::Exclusive };
    let (place, lock) = outdir::prepare(&out, mode)?;

    // Resume: keep points whose folder holds this very point of this very sweep.
    let found = if args.resume { resume(&place, &plan, &mine, mode) } else { vec![None; plan.points.len()] };
    let resumed = found.iter().flatten().count();
    let todo: Vec<usize> = mine.iter().copied().filter(|&i| found[i].is_none()).collect();
    let source = Source { text: &text, file, base: &base };
    let mut points = exec::load_models(&plan, source, todo, args.jobs).map_err(|e| e.to_string())?;
    for model in &mut points.models {
        model.detail = args.detail.detail();
    }
    for (i, warning) in &points.warmup_warnings {
        eprintln!("warning: point {i}: warmup: auto: {warning}");
    }
    check_budget(&args, &mut points)?;

    // Only now, with every point checked, may anything be created.
    let target = Target::open(&place, lock, mode, &found)?;
    let records = found.into_iter().map(|f| f.map(|(r, _)| r)).collect();
    outdir::on_signal(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            outdir::quit(true);
        }
        eprintln!("\ninterrupted: finishing the points already started (Ctrl-C again to quit now)");
    });
    let bar = progress(args.quiet, points.indices.len());
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in the output files
    let started = Instant::now();
    let done = exec::execute(target.dir(), &plan, &points, args.jobs, &STOP, records, &|| bar.inc(1));
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let records: Vec<PointRecord> = done?.into_iter().flatten().collect();
    let interrupted = STOP.load(Ordering::SeqCst);
    let ran = records.len() - resumed;
    finish(&args, &plan, target, shard, &records, Counts { ran, resumed, wall, interrupted })
}

/// A finished point found by `--resume` and the output folder it was found in.
type Found = Option<(PointRecord, PathBuf)>;

/// The points of `mine` finished by this very sweep: in the output folder, or (for a whole
/// sweep, holding the lock) in the temporary folder of a run that was killed or quit.
fn resume(place: &OutputPlace, plan: &Plan, mine: &[usize], mode: LockMode) -> Vec<Found> {
    let mut dirs = vec![place.out()];
    if mode == LockMode::Exclusive {
        dirs.extend(place.leftovers());
    }
    let mut found: Vec<Found> = vec![None; plan.points.len()];
    for dir in dirs {
        for (i, r) in exec::resume(&dir, plan, mine).into_iter().enumerate() {
            if found[i].is_none() {
                found[i] = r.map(|r| (r, dir.clone()));
            }
        }
    }
    found
}

/// Where a sweep writes: a temporary folder swapped in at the end, or (a shard) the
/// shared output folder itself, point by point.
enum Target {
    /// The temporary folder and the output folder it will replace.
    Staged(Staging, PathBuf),
    /// A shard's shared folder, and the shared lock held while writing into it.
    Shared { out: PathBuf, _lock: OutputLock },
}

impl Target {
    /// Creates the folder written into and copies the resumed points there.
    fn open(place: &OutputPlace, lock: Option<OutputLock>, mode: LockMode, found: &[Found]) -> Result<Self, String> {
        let out = place.out();
        if mode == LockMode::Shared {
            std::fs::create_dir_all(&out)
                .map_err(|e| format!("cannot create the output folder {}: {e}", out.display()))?;
            let lock = match lock {
                Some(l) => l,
                None => OutputLock::acquire(place, mode).map_err(|e| e.to_string())?,
            };
            return Ok(Self::Shared { out, _lock: lock });
        }
        let staging = outdir::begin(place, lock)?;
        for (r, from) in found.iter().flatten() {
            output::copy_point(from, staging.dir(), r.point.index)
                .map_err(|e| format!("cannot copy point {} from {}: {e}", r.point.index, from.display()))?;
        }
        staging.remove_leftovers();
        Ok(Self::Staged(staging, out))
    }

    /// The folder written into.
    fn dir(&self) -> &Path {
        match self {
            Self::Staged(s, _) => s.dir(),
            Self::Shared { out, .. } => out,
        }
    }

    /// The output folder, as the user named it.
    fn out(&self) -> &Path {
        match self {
            Self::Staged(_, out) | Self::Shared { out, .. } => out,
        }
    }
}

/// Refuses the sweep, before anything is written, when one of its points is over the
/// budget (with `--precision`, as if it needed every replication it may add); sets each
/// point's event limit.
fn check_budget(args: &SweepArgs, points: &mut exec::Loaded) -> Result<(), String> {
    for (&i, model) in points.indices.iter().zip(&mut points.models) {
        model.limits = args.budget.limits(model.limits.max_in_flight);
        let mut probe = model.clone();
        if args.precision.is_some() {
            probe.replications = probe.replications.max(args.max_replications);
        }
        args.budget.enforce(&probe, Some(i))?;
    }
    Ok(())
}

struct Counts {
    ran: usize,
    resumed: usize,
    wall: f64,
    interrupted: bool,
}

/// Writes the tables (or the shard file), prints the summary and the verdict.
fn finish(
    args: &SweepArgs,
    plan: &Plan,
    target: Target,
    shard: Shard,
    records: &[PointRecord],
    n: Counts,
) -> Result<ExitCode, String> {
    let out = target.out().to_path_buf();
    let def = &plan.definition;
    let total = def.points;
    let say = |s: String| {
        if !args.quiet {
            print_out(&s);
        }
    };
    if shard.count > 1 {
        write_shard(&out, def, shard).map_err(|e| format!("cannot write into {}: {e}", out.display()))?;
        let mine = (0..total).filter(|&i| shard.contains(i)).count();
        say(format!(
            "shard {}/{}: {} of its {mine} points finished ({} run, {} resumed) in {:.2}s\njoin the shards with: resim merge --out DIR {}\n",
            shard.index,
            shard.count,
            records.len(),
            n.ran,
            n.resumed,
            n.wall,
            out.display()
        ));
        return Ok(if n.interrupted { ExitCode::from(INTERRUPTED) } else { ExitCode::SUCCESS });
    }
    let choice = output::judge(def, records)?;
    output::write_tables(target.dir(), def, records, Some(&choice))
        .map_err(|e| format!("cannot write into {}: {e}", out.display()))?;
    charts::write_charts(target.dir(), def, records)
        .map_err(|e| format!("cannot write the charts into {}: {e}", out.display()))?;
    if let Target::Staged(staging, _) = target {
        outdir::commit(staging)?;
    }
    say(format!(
        "{}: {} of {total} points ({} run, {} resumed) in {:.2}s\nsweep: {}\n",
        def.scenario,
        records.len(),
        n.ran,
        n.resumed,
        n.wall,
        out.join(output::SWEEP_CSV).display()
    ));
    if n.interrupted {
        eprintln!(
            "interrupted: {} of {total} points finished and written; rerun with --resume to finish the rest",
            records.len()
        );
        return Ok(ExitCode::from(INTERRUPTED));
    }
    if def.objective.is_some() || !def.constraints.is_empty() {
        say(output::explain(def, records, &choice));
        if !def.constraints.is_empty() && choice.best.is_none() {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Points done / total, rate and ETA on stderr; hidden with --quiet or off a terminal.
fn progress(quiet: bool, total: usize) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} points  {per_sec}  ETA {eta}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
