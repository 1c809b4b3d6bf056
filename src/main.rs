//! Entry point: parse the command line, run the command, map the outcome to an exit code.
//!
//! Exit codes (README, "Conventions"): 0 ok · 1 the input was checked and is wrong (validation, policy, drift,
//! immutability, a file that was read and is malformed) · 2 usage, I/O, network or unexpected errors. A
//! closed stdout stops the output quietly and the exit code stays the command's verdict
//! ([`printer`]); an error that still carries the broken pipe ends the run with 0.
#![deny(clippy::print_stdout)]

use std::process::ExitCode;

use clap::Parser;

use appkit::{cli, commands, error, printer};

fn main() -> ExitCode {
    install_panic_hook();
    let cli = cli::Cli::parse();
    let printer = printer::Printer::with_color(
        cli.global.quiet,
        cli.global.output_json(),
        cli.global.debug(),
        cli.global.color.map(Into::into),
    );
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // A test seam: the only way to prove the panic path without a known bug.
        if std::env::var_os("APPKIT_TEST_PANIC").is_some() {
            panic!("APPKIT_TEST_PANIC is set");
        }
        commands::run(cli, &printer)
    }));
    let Ok(outcome) = outcome else {
        // The hook has reported it.
        return ExitCode::from(2);
    };
    match outcome {
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

/// A panic is a bug in appkit, never the user's fault: say so in one error line with where it
/// happened, and exit 2 (unexpected error) like any other failure instead of Rust's 101 and
/// backtrace advice. The payload is shown (it names the broken invariant); secrets never reach it
/// because they are only ever formatted through their masking `Debug`/`Display`. Temp files of an
/// interrupted write are removed as the stack unwinds, so a panic leaves no partial file either.
#[allow(clippy::print_stderr)] // the panic hook cannot go through a Printer
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error: appkit panicked{at}: {what}\n\
             hint: this is a bug in appkit, not in your input; please report it with the command you \
             ran and, if you can, the input (see SECURITY.md)"
        );
    }));
}
