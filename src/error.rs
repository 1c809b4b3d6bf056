//! The error vocabulary shared by every command: which failures mean "your input is wrong" (exit 1)
//! and which mean "something else went wrong" (exit 2).
//!
//! Domain modules return their own `thiserror` enums. A domain error that means the checked input is
//! wrong wraps itself in [`Invalid`] (or the command returns [`Status::Failed`]); everything else is 2.

use std::fmt;
use std::process::ExitCode;

/// How a command that ran to completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything checked out.
    Ok,
    /// The input was checked and is wrong; the details were already reported (exit 1).
    Failed,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        match s {
            Status::Ok => ExitCode::SUCCESS,
            Status::Failed => ExitCode::from(1),
        }
    }
}

/// Marks an error as "the input was checked and is wrong" (exit code 1), e.g. an invalid chart,
/// an immutable tag that would be overwritten, or a version that was not raised.
#[derive(Debug)]
pub struct Invalid {
    pub message: String,
    pub hint: Option<String>,
}

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            hint: None,
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// A hint attached to any error (printed as `hint: …`).
#[derive(Debug)]
pub struct Hint(pub String);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}

/// Exit code for an error that ended a command: 1 when any cause is [`Invalid`], otherwise 2.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|c| c.is::<Invalid>()) {
        1
    } else {
        2
    }
}

/// The hint to show for an error, if any cause carries one.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        if let Some(i) = cause.downcast_ref::<Invalid>() {
            if let Some(h) = &i.hint {
                return Some(h.clone());
            }
        }
        if let Some(h) = cause.downcast_ref::<Hint>() {
            return Some(h.0.clone());
        }
    }
    None
}

/// True when the error is a broken pipe on output (e.g. `helm appkit versions … | head -1`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
