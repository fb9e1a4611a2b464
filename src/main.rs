//! The `bbb-connector` binary: parse the command line, then dispatch.

use std::process::ExitCode;

use clap::Parser;

/// glibc's allocator spent a fifth of the service's time under load (arenas contended between
/// worker threads); mimalloc's per-thread heaps do not. Built without transparent huge pages,
/// which doubled the resident memory of the SQLite workers' small heaps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = bbb_connector::cli::Cli::parse();
    bbb_connector::cli::run(cli).await
}
