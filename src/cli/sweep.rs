//! `resim sweep`: plan the points, run them on rayon with a progress bar, write each
//! point as it finishes, then the tables; Ctrl-C keeps what finished (exit 130).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use resim::run::precision::{DEFAULT_MAX_REPLICATIONS, Precision};
use resim::scenario::sweep_spec::{ConstraintSpec, ObjectiveSpec, SamplingSpec};
use resim::sweep::charts;
use resim::sweep::exec::{self, Source};
use resim::sweep::grid::Param;
use resim::sweep::objective::{parse_constraint, parse_objective};
use resim::sweep::output::{self, PointRecord};
use resim::sweep::plan::{Plan, SweepOptions, plan};
use resim::sweep::shard::{Shard, write_shard};

use super::budget::BudgetArgs;
use super::{ScenarioArgs, print_out};

/// Set by Ctrl-C: start no new point.
static STOP: AtomicBool = AtomicBool::new(false);

/// Exit status after an interruption (128 + SIGINT).
const INTERRUPTED: u8 = 130;

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
    let file = args.scenario.scenario.as_path();
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
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

    // Resume: keep points whose folder holds this very point of this very sweep.
    let records = if args.resume { exec::resume(&out, &plan, &mine) } else { vec![None; plan.points.len()] };
    let resumed = records.iter().flatten().count();
    let todo: Vec<usize> = mine.iter().copied().filter(|&i| records[i].is_none()).collect();
    let source = Source { text: &text, file, base: &base };
    let mut points = exec::load_models(&plan, source, todo, args.jobs).map_err(|e| e.to_string())?;
    check_budget(&args, &mut points)?;

    // Only now, with every point checked, may the output folder be created.
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot write into the output folder {}: {e}", out.display()))?;
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(INTERRUPTED));
        }
        eprintln!("\ninterrupted: finishing the points already started (Ctrl-C again to quit now)");
    });
    let bar = progress(args.quiet, points.indices.len());
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in the output files
    let started = Instant::now();
    let done = exec::execute(&out, &plan, &points, args.jobs, &STOP, records, &|| bar.inc(1));
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let records: Vec<PointRecord> = done?.into_iter().flatten().collect();
    let interrupted = STOP.load(Ordering::SeqCst);
    let ran = records.len() - resumed;
    finish(&args, &plan, &out, shard, &records, Counts { ran, resumed, wall, interrupted })
}

/// Refuses the sweep, before anything is written, when one of its points is over the
/// budget (with `--precision`, as if it needed every replication it may add); sets each
/// point's event limit.
fn check_budget(args: &SweepArgs, points: &mut exec::Loaded) -> Result<(), String> {
    for (&i, model) in points.indices.iter().zip(&mut points.models) {
        model.limits.max_events = args.budget.max_events;
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
    out: &Path,
    shard: Shard,
    records: &[PointRecord],
    n: Counts,
) -> Result<ExitCode, String> {
    let def = &plan.definition;
    let total = def.points;
    let say = |s: String| {
        if !args.quiet {
            print_out(&s);
        }
    };
    if shard.count > 1 {
        write_shard(out, def, shard).map_err(|e| format!("cannot write into {}: {e}", out.display()))?;
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
    output::write_tables(out, def, records, Some(&choice))
        .map_err(|e| format!("cannot write into {}: {e}", out.display()))?;
    charts::write_charts(out, def, records)
        .map_err(|e| format!("cannot write the charts into {}: {e}", out.display()))?;
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
