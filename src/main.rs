use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    mfa_gateway::cli::run(mfa_gateway::cli::Cli::parse())
}
