//! `helm appkit __complete WORDS…` (hidden): what Helm's `plugin.complete` asks for. The logic is
//! [`crate::complete`]; this only makes sure it never fails loudly: a panic prints nothing on
//! stderr (Helm 4 would read it as completions) and answers `:1`, and the run always exits 0.

use anyhow::Result;

use crate::cli::CompleteArgs;
use crate::complete::{complete, Completions};
use crate::error::Status;
use crate::printer::Printer;

pub fn run(args: CompleteArgs, printer: &Printer) -> Result<Status> {
    std::panic::set_hook(Box::new(|_| {}));
    let words: Vec<String> = args
        .args
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let answer =
        std::panic::catch_unwind(|| complete(&words)).unwrap_or_else(|_| Completions::error());
    // A closed stdout (the shell gave up) is not worth a word.
    let _ = printer.raw(&answer.render());
    Ok(Status::Ok)
}
