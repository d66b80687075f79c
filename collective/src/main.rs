//! `cohort`: the member daemon (`cohort serve`) and the admin CLI, one binary.
//! Invoked through a symlink named like a confluent command (`nodeattrib`),
//! it behaves as `cohort nodeattrib`.

mod chunks;
mod cli;
mod config;
mod crypt;
mod https;
mod identity;
mod nodeapi;
// Two accessors of `osdeploy::iso9660::IsoImage` have no caller outside
// tests: `volume_id` (none at all) and `name_source` (the ISO tests). The
// CLI never holds an image. `expect` rather than `allow`, so this reports
// itself once they are used or removed.
#[expect(dead_code, reason = "IsoImage::volume_id and name_source")]
mod osdeploy;
mod server;
mod tree;

// jemalloc: freed transfer buffers are reused instead of handed back to the
// kernel and faulted in again (see the workspace Cargo.toml).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
