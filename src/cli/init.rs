//! `resim init`: write a commented starter scenario.

use std::path::PathBuf;
use std::process::ExitCode;

use resim::report::write_atomic;

use super::print_out;

/// The starter scenario, kept valid by a test.
pub(crate) const STARTER: &str = include_str!("templates/starter.yaml");

/// Arguments of `resim init`.
#[derive(clap::Args, Debug)]
pub(crate) struct InitArgs {
    /// Where to write it.
    #[arg(default_value = "scenario.yaml")]
    file: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// Writes the starter scenario.
pub(crate) fn init(args: InitArgs) -> Result<ExitCode, String> {
    if args.file.exists() && !args.force {
        return Err(format!("{} already exists; pass --force to overwrite it", args.file.display()));
    }
    write_atomic(&args.file, STARTER.as_bytes()).map_err(|e| format!("cannot write {}: {e}", args.file.display()))?;
    print_out(&format!("wrote {}; run it with: resim run {}\n", args.file.display(), args.file.display()));
    Ok(ExitCode::SUCCESS)
}
