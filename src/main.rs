//! The `resim` command line: parse arguments, call the library, print, exit.
//!
//! Exit codes: 0 ok; 1 the run worked but a gate failed; 2 bad input or an error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
