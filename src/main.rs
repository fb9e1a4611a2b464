//! The `bbb-connector` binary: parse the command line, then dispatch.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = bbb_connector::cli::Cli::parse();
    bbb_connector::cli::run(cli).await
}
