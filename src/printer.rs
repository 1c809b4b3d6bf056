//! Where output goes. stdout carries data only (paths, digests, rendered YAML, JSON); status,
//! progress, warnings and diagnostics go to stderr. Errors render as `error: …` / `  Caused by: …`
//! / `hint: …`. Colour follows `--color`, `NO_COLOR`, `HELM_COLOR` and the terminal ([`color_enabled`]).

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

/// The version of the `-o json` shapes (`docs/json-output.md`); raised when a shape changes in a
/// way a reader would notice (a key removed or renamed, a type changed).
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// Set by the first write to stdout.
static STDOUT_WRITTEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set once stdout was found closed (the reader of a pipe went away, `… | head -1`).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Every write to stdout goes through here. A closed pipe stops the output quietly: the write
/// reports success and nothing more is written, so the command still finishes and exits with its
/// own verdict (`render --check | head -2` with drift is exit 1, not 0). Other errors propagate.
fn write_stdout(text: &str) -> io::Result<()> {
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    STDOUT_WRITTEN.store(true, Ordering::Relaxed);
    let written = crate::progress::suspend(|| {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|()| out.flush())
    });
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// Every write to stderr goes through here: with progress bars on the terminal, they are
/// cleared for the text and drawn again below it (`crate::progress::suspend`).
fn write_stderr(text: &[u8]) {
    crate::progress::suspend(|| {
        let _ = io::stderr().lock().write_all(text);
    });
}

#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    json: bool,
    debug: bool,
    color: bool,
    /// Colour on stdout (the `render --check` diff): the same choice, for stdout's terminal.
    stdout_color: bool,
}

/// `--color`: `always`, `never`, or `auto` (a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Whether to colour a stream: `--color` wins; then `NO_COLOR` (set and not empty: no colour,
/// per no-color.org); then Helm's `HELM_COLOR` (`always`/`never`/`auto`, as Helm 4 reads it);
/// else colour when the stream is a terminal. `--color auto` is the same as no flag.
pub fn color_enabled(flag: Option<ColorChoice>, terminal: bool) -> bool {
    match flag {
        Some(ColorChoice::Always) => return true,
        Some(ColorChoice::Never) => return false,
        Some(ColorChoice::Auto) | None => {}
    }
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    match std::env::var("HELM_COLOR").as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => terminal,
    }
}

impl Printer {
    pub fn new(quiet: bool, json: bool, debug: bool) -> Self {
        Printer::with_color(quiet, json, debug, None)
    }

    pub fn with_color(quiet: bool, json: bool, debug: bool, color: Option<ColorChoice>) -> Self {
        Printer {
            quiet,
            json,
            debug,
            color: color_enabled(color, io::stderr().is_terminal()),
            stdout_color: color_enabled(color, io::stdout().is_terminal()),
        }
    }

    /// A unified diff on stdout, coloured (added green, removed red, hunks cyan) when stdout's
    /// colour is on.
    pub fn diff(&self, text: &str) -> io::Result<()> {
        if !self.stdout_color {
            return self.raw(text);
        }
        let mut out = String::with_capacity(text.len() + text.len() / 8);
        for line in text.split_inclusive('\n') {
            let code = if line.starts_with("+++") || line.starts_with("---") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                ""
            };
            if code.is_empty() {
                out.push_str(line);
            } else {
                let body = line.strip_suffix('\n').unwrap_or(line);
                out.push_str(&format!("\x1b[{code}m{body}\x1b[0m"));
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        self.raw(&out)
    }

    /// True when `--output json` was asked for.
    pub fn json_output(&self) -> bool {
        self.json
    }

    pub fn color(&self) -> bool {
        self.color
    }

    /// True when what goes to stdout may be coloured (stdout's own terminal test).
    pub fn stdout_color(&self) -> bool {
        self.stdout_color
    }

    /// True when stderr is a terminal and progress may be drawn (not under `-q`, not on a
    /// `TERM=dumb` terminal, which cannot move the cursor back over a bar).
    pub fn progress_enabled(&self) -> bool {
        !self.quiet
            && io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    }

    /// One line of data on stdout.
    pub fn data(&self, line: &str) -> io::Result<()> {
        write_stdout(&format!("{line}\n"))
    }

    /// Text on stdout as it is (a diff, rendered YAML).
    pub fn raw(&self, text: &str) -> io::Result<()> {
        write_stdout(text)
    }

    /// A JSON document on stdout (pretty, stable key order as serialised): always one top-level
    /// object whose first key is `schemaVersion` ([`JSON_SCHEMA_VERSION`]), the one place that
    /// says which shape of `docs/json-output.md` a reader gets.
    pub fn json<T: Serialize>(&self, value: &T) -> io::Result<()> {
        self.data(&json_text(value)?)
    }

    /// True once anything was written to stdout (a failed command then prints no second JSON
    /// document).
    pub fn wrote_stdout(&self) -> bool {
        STDOUT_WRITTEN.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A status line on stderr (suppressed by `--quiet`).
    pub fn status(&self, line: &str) {
        if !self.quiet {
            write_stderr(format!("{line}\n").as_bytes());
        }
    }

    /// A warning on stderr (never suppressed).
    pub fn warn(&self, msg: &str) {
        let label = if self.color {
            "\x1b[1;33mwarning\x1b[0m"
        } else {
            "warning"
        };
        write_stderr(format!("{label}: {msg}\n").as_bytes());
    }

    /// An error that fails the command without ending it (the command goes on to report the
    /// rest, then exits 1). Never suppressed: `--quiet` hides status, not errors.
    pub fn problem(&self, msg: &str) {
        write_stderr(format!("{}: {msg}\n", self.error_label()).as_bytes());
    }

    /// A hint for the [`Printer::problem`] before it; never suppressed.
    pub fn hint(&self, msg: &str) {
        write_stderr(format!("hint: {msg}\n").as_bytes());
    }

    fn error_label(&self) -> &'static str {
        if self.color {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        }
    }

    /// Debug detail on stderr, only with `--debug`/`HELM_DEBUG`. Callers must never pass secrets.
    pub fn debug(&self, msg: &str) {
        if self.debug {
            write_stderr(format!("debug: {msg}\n").as_bytes());
        }
    }

    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Raw text on stderr (pre-rendered diagnostics).
    pub fn stderr_raw(&self, text: &str) {
        write_stderr(text.as_bytes());
    }

    /// Render an error that ended the command: first the diagnostics it carries (compiler-style,
    /// with carets, paths relative to the current directory), then `error: …`, its causes and hint.
    pub fn error(&self, err: &anyhow::Error) {
        let diags: Vec<crate::diagnostics::Diagnostic> = crate::error::diagnostics(err)
            .into_iter()
            .cloned()
            .collect();
        let mut s = String::new();
        if !diags.is_empty() {
            let base = std::env::current_dir().ok();
            s.push_str(&crate::diagnostics::render_human(
                &diags,
                base.as_deref(),
                self.color,
            ));
        }
        s.push_str(&format!("{}: {err}\n", self.error_label()));
        for cause in err.chain().skip(1) {
            s.push_str(&format!("  Caused by: {cause}\n"));
        }
        let hint = crate::error::hint(err);
        if let Some(h) = &hint {
            s.push_str(&format!("hint: {h}\n"));
        }
        write_stderr(s.as_bytes());
        // `-o json` asked for a JSON document: a failed command still prints one (the error),
        // unless the command already printed its own.
        if self.json && !self.wrote_stdout() {
            let base = std::env::current_dir().ok();
            let mut doc = serde_json::json!({
                "error": {
                    "message": err.to_string(),
                    "causes": err.chain().skip(1).map(|c| c.to_string()).collect::<Vec<_>>(),
                    "hint": hint,
                    "exitCode": crate::error::exit_code(err),
                }
            });
            if !diags.is_empty() {
                doc["diagnostics"] =
                    crate::diagnostics::to_json(&diags, base.as_deref())["diagnostics"].take();
            }
            let _ = self.json(&doc);
        }
    }
}

/// The `-o json` document of `value` as [`Printer::json`] prints it (`schemaVersion` first), for
/// a command that writes it to a file (`report --out`).
pub fn json_text<T: Serialize>(value: &T) -> io::Result<String> {
    /// `schemaVersion` first, then the document's own keys (written straight through: no
    /// copy of a large document). A document that is not an object is refused.
    #[derive(Serialize)]
    struct Versioned<'a, T> {
        #[serde(rename = "schemaVersion")]
        schema_version: u32,
        #[serde(flatten)]
        doc: &'a T,
    }
    serde_json::to_string_pretty(&Versioned {
        schema_version: JSON_SCHEMA_VERSION,
        doc: value,
    })
    .map_err(io::Error::other)
}
