//! `resim import`: print what a configuration file sets, as resim keys.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use resim::import::{self, Context, Entry, Format, Source};
use resim::input::shown;

use super::print_out;

/// Arguments of `resim import`.
#[derive(clap::Args, Debug)]
pub(crate) struct ImportArgs {
    /// The format of the files.
    format: Format,
    /// The files, read in order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Map a name in the files to a service, an edge (`caller->callee`) or an SLO's
    /// target (`workload:NAME`, `service:NAME`), e.g. `--map backendA=frontend->reviews`
    /// (repeatable): Istio hosts, Envoy clusters, resilience4j instances, gRPC services,
    /// OpenSLO and Sloth services.
    #[arg(long = "map", value_name = "NAME=TARGET", value_parser = parse_pair)]
    map: Vec<(String, String)>,
    /// Envoy: the service whose proxy the files configure.
    #[arg(long)]
    caller: Option<String>,
}

/// `NAME=TARGET`.
fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("`{s}` is not NAME=TARGET (e.g. backendA=frontend->reviews)")),
    }
}

/// Reads the files and prints their settings as commented resim YAML.
pub(crate) fn import(args: ImportArgs) -> Result<ExitCode, String> {
    if args.format.map_key().is_none() && !args.map.is_empty() {
        return Err(format!("--map: {} files name resim's services and edges themselves", args.format));
    }
    if args.caller.is_some() && args.format != Format::Envoy {
        return Err(format!("--caller: only an envoy import has a caller (this is {})", args.format));
    }
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        files.push(Source::read(path, &shown(path)).map_err(|e| e.to_string())?);
    }
    let map: BTreeMap<String, String> = args.map.iter().cloned().collect();
    let entry = Entry { format: args.format, files, map, caller: args.caller.clone(), key: "--map".into() };
    let imported = import::read_entry(&entry, &Context::default()).map_err(|e| e.to_string())?;
    let shown_files: Vec<String> = args.files.iter().map(|p| shown(p).display().to_string()).collect();
    let mut title = format!("resim import {} {}", args.format, shown_files.join(" "));
    for (k, v) in &args.map {
        title.push_str(&format!(" --map {k}={v}"));
    }
    if let Some(c) = &args.caller {
        title.push_str(&format!(" --caller {c}"));
    }
    print_out(&import::render::render(&imported, &title));
    Ok(ExitCode::SUCCESS)
}
