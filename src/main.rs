use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(feature = "failpoints")]
    let _crash_points = mfa_gateway::ops::crash::setup();
    mfa_gateway::cli::run(mfa_gateway::cli::Cli::parse())
}
