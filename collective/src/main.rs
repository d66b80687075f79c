//! `cohort`: the member daemon (`cohort serve`) and the admin CLI, one binary.
//! Invoked through a symlink named like a confluent command (`nodeattrib`),
//! it behaves as `cohort nodeattrib`.

mod cli;
mod config;
mod identity;
mod server;

fn main() -> std::process::ExitCode {
    cli::main()
}
