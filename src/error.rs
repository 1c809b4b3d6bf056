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
/// It may carry the diagnostics that say what is wrong (with positions and source text): the
/// printer renders them, with carets, before the `error:` line.
#[derive(Debug)]
pub struct Invalid {
    pub message: String,
    pub hint: Option<String>,
    pub diagnostics: Vec<crate::diagnostics::Diagnostic>,
}

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            hint: None,
            diagnostics: Vec::new(),
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_diagnostics(mut self, diagnostics: Vec<crate::diagnostics::Diagnostic>) -> Self {
        self.diagnostics = diagnostics;
        self
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// An error with a hint for the user: the error keeps its own message and causes (it is shown
/// exactly as it would be without the hint), and the printer adds `hint: …` after them. Build it
/// with [`HintExt::hint`] / [`HintExt::with_hint`] or [`Hinted::new`]; never put a hint into a
/// context string.
#[derive(Debug)]
pub struct Hinted {
    pub error: anyhow::Error,
    pub hint: String,
}

impl Hinted {
    pub fn new(error: impl Into<anyhow::Error>, hint: impl Into<String>) -> Hinted {
        Hinted {
            error: error.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Hinted {
    // Transparent: the chain goes on with the wrapped error's own causes.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Marks a domain error as "the input was checked and is wrong" (exit 1) without changing how it
/// reads: transparent like [`Hinted`], its message and causes are the wrapped error's.
#[derive(Debug)]
pub struct Rejected(pub anyhow::Error);

impl Rejected {
    pub fn new(error: impl Into<anyhow::Error>) -> Rejected {
        Rejected(error.into())
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Attach a hint to an error or a failed result.
pub trait HintExt<T> {
    fn hint(self, hint: impl Into<String>) -> Result<T, anyhow::Error>;
    fn with_hint<H: Into<String>>(self, hint: impl FnOnce() -> H) -> Result<T, anyhow::Error>;
}

impl<T, E: Into<anyhow::Error>> HintExt<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> Result<T, anyhow::Error> {
        self.map_err(|e| anyhow::Error::new(Hinted::new(e, hint)))
    }
    fn with_hint<H: Into<String>>(self, hint: impl FnOnce() -> H) -> Result<T, anyhow::Error> {
        self.map_err(|e| anyhow::Error::new(Hinted::new(e, hint())))
    }
}

/// Every error of a chain, looking through [`Hinted`] wrappers (whose own `source` skips the
/// wrapped error itself).
fn causes<'a>(err: &'a anyhow::Error) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    for c in err.chain() {
        out.push(c);
        if let Some(h) = c.downcast_ref::<Hinted>() {
            out.extend(causes(&h.error));
        }
        if let Some(r) = c.downcast_ref::<Rejected>() {
            out.extend(causes(&r.0));
        }
    }
    out
}

/// Exit code for an error that ended a command: 1 when any cause is [`Invalid`] or
/// [`Rejected`], otherwise 2.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if causes(err)
        .iter()
        .any(|c| c.is::<Invalid>() || c.is::<Rejected>())
    {
        1
    } else {
        2
    }
}

/// The hint to show for an error, if any cause carries one.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    for cause in causes(err) {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            return Some(h.hint.clone());
        }
        if let Some(h) = cause
            .downcast_ref::<Invalid>()
            .and_then(|i| i.hint.as_ref())
        {
            return Some(h.clone());
        }
    }
    None
}

/// The diagnostics carried by the error's [`Invalid`] causes (rendered before the error line).
pub fn diagnostics(err: &anyhow::Error) -> Vec<&crate::diagnostics::Diagnostic> {
    causes(err)
        .into_iter()
        .filter_map(|c| c.downcast_ref::<Invalid>())
        .flat_map(|i| i.diagnostics.iter())
        .collect()
}

/// True when the error is a broken pipe on output (e.g. `helm appkit versions … | head -1`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    causes(err).iter().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
