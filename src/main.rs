//! Entry point: parse the command line, run the command, map the outcome to an exit code.
//!
//! Exit codes (DESIGN.md): 0 ok · 1 the input was checked and is wrong (validation, policy, drift,
//! immutability) · 2 usage, I/O, network or unexpected errors. A broken pipe on stdout is success.

use std::process::ExitCode;

use clap::Parser;

mod chart;
mod cli;
mod commands;
mod config;
mod diagnostics;
mod error;
mod flux;
mod fsutil;
mod lock;
mod oci;
mod printer;
mod scaffold;
mod values;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let printer = printer::Printer::new(
        cli.global.quiet,
        cli.global.output_json(),
        cli.global.debug(),
    );
    match commands::run(cli, &printer) {
        Ok(status) => status.into(),
        Err(err) => {
            if error::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            printer.error(&err);
            ExitCode::from(error::exit_code(&err))
        }
    }
}
