//! The `cohort-agent` binary: parse the command line, set up logging to
//! stderr, run the command, print the error chain on failure.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use clap::Parser as _;
use cohort_agent::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("COHORT_AGENT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cohort-agent: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Deploy(args) => {
            let opts = args.options();
            let report = cohort_agent::deploy::run(&opts)
                .with_context(|| format!("deploy into {} failed", opts.root.display()))?;
            println!(
                "{}: {} files written under {}, reported {:?}{}",
                report.node,
                report.written.len(),
                opts.root.display(),
                report.status,
                if report.registered_key {
                    " (new API key registered)"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}
