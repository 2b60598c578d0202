//! The `knockoff` binary: parse the command line, set up logging, run, and
//! turn the outcome into an exit code (0 ok, 1 runtime failure, 2 a refusal:
//! bad usage, invalid config, or the store's state says no).

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use knockoff::cli::{self, Cli};
use knockoff::config::ConfigErrors;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's marketplace fails on purpose; its report lists what went
    // wrong, so per-URL warnings would only bury it.
    #[cfg(feature = "demo")]
    let quiet = matches!(cli.command, cli::Command::Demo);
    #[cfg(not(feature = "demo"))]
    let quiet = false;
    let default_filter = if quiet {
        "knockoff=error"
    } else {
        "knockoff=info"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(cli) {
        Ok(code) => code,
        // `knockoff listings | head`: the reader has what it wanted.
        Err(error) if cli::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(problems) = error.downcast_ref::<ConfigErrors>() {
                eprintln!("{problems}");
                eprintln!(
                    "{} configuration problem(s); nothing was run",
                    problems.0.len()
                );
                return ExitCode::from(2);
            }
            eprintln!("error: {error:#}");
            // The one place a refusal (the input or the store's state says
            // no) is told from a failure.
            match knockoff::refusal::refusal(&error) {
                Some(_) => ExitCode::from(2),
                None => ExitCode::from(1),
            }
        }
    }
}
