//! `cohort`: the member daemon (`cohort serve`) and the admin CLI, one binary.
//! Invoked through a symlink named like a confluent command (`nodeattrib`),
//! it behaves as `cohort nodeattrib`.

mod cli;
mod config;
mod https;
mod identity;
// Media, profiles and boot files for `cohort osdeploy`. Only its tests use it
// until the CLI wiring lands together with the synchronized tree.
#[allow(dead_code)]
mod osdeploy;
mod server;
mod tree;

fn main() -> std::process::ExitCode {
    cli::main()
}
