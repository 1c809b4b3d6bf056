//! A diagnostic is one problem found in a user's file: severity, code, message, where (file and
//! byte span when known), and a hint. Values validation, `appkit.yaml` loading, Chart.yaml checks,
//! template overrides and render all produce them; this module is the one place that renders them:
//! for humans (annotate-snippets, like rustc/cargo), as JSON, or as GitHub Actions annotations.
//!
//! A [`Location`] carries the text of its file ([`SourceFile`], shared by `Arc`) as it was read
//! when the problem was found, so rendering never reads a file again (the file may have changed,
//! or be a FIFO the reader refused). Without the text only `--> file:line:col` is shown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use serde::Serialize;

/// One file's text as it was read, kept for quoting it in diagnostics.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// The path and size only: a diagnostic's `Debug` stays readable (and never dumps a file).
impl std::fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .field("bytes", &self.text.len())
            .finish()
    }
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A position in a file: 1-based line and column, plus the byte range it covers and the file's
/// text (for the quoted line). `line == 0`: only the file is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Byte range in the file (for carets); empty when only the line is known.
    #[serde(skip)]
    pub span: std::ops::Range<usize>,
    /// The text of `file` the span points into; `None`: quote nothing, show the position only.
    #[serde(skip)]
    pub source: Option<Arc<SourceFile>>,
}

impl Location {
    /// A position without source text (rendered as `--> file:line:col`).
    pub fn new(
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        span: std::ops::Range<usize>,
    ) -> Location {
        Location {
            file: file.into(),
            line,
            column,
            span,
            source: None,
        }
    }
    /// A position in a file whose text is in memory: the line is quoted with carets under `span`.
    pub fn in_source(
        source: &Arc<SourceFile>,
        line: usize,
        column: usize,
        span: std::ops::Range<usize>,
    ) -> Location {
        Location {
            file: source.path.clone(),
            line,
            column,
            span,
            source: Some(source.clone()),
        }
    }
    /// The position of byte `start` (line and character column computed from the text), with
    /// carets under `start..end`.
    pub fn at_byte(source: &Arc<SourceFile>, start: usize, end: usize) -> Location {
        let text = &source.text;
        let mut start = start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        Location::in_source(source, line, column, start..end.max(start))
    }
    /// The 1-based `line` and character `column` of a file in memory, with carets from there to
    /// the end of the line (a YAML value on its line); past the end of the text: the file only.
    pub fn at_line_column(source: &Arc<SourceFile>, line: usize, column: usize) -> Location {
        let text = &source.text;
        let Some(line_start) = (line > 0)
            .then(|| {
                if line == 1 {
                    Some(0)
                } else {
                    text.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)
                }
            })
            .flatten()
        else {
            let mut l = Location::file_only(source.path.clone());
            l.source = Some(source.clone());
            return l;
        };
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        let line_text = &text[line_start..line_end];
        let start = line_start
            + line_text
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(line_text.len(), |(b, _)| b);
        let end = line_start + line_text.trim_end().len();
        Location::in_source(source, line, column.max(1), start..end.max(start))
    }
    /// Only the file is known (no line): rendered as `--> file`.
    pub fn file_only(file: impl Into<PathBuf>) -> Location {
        Location::new(file, 0, 0, 0..0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code, e.g. `schema`, `image-not-pinned`, `inline-secret`.
    pub code: String,
    pub message: String,
    /// Where the problem is; `None` when no file position applies.
    pub location: Option<Location>,
    /// JSON pointer into the merged values, when the problem is about a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: code.into(),
            message: message.into(),
            location: None,
            path: None,
            help: None,
        }
    }
    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sort diagnostics by file, line, column, then code and message, and drop exact duplicates
/// (the same problem found for several environments of one app).
pub fn sort_dedup(diags: &mut Vec<Diagnostic>) {
    let key = |d: &Diagnostic| {
        let (f, l, c) = d.location.as_ref().map_or((PathBuf::new(), 0, 0), |l| {
            (l.file.clone(), l.line, l.column)
        });
        (f, l, c, d.code.clone(), d.message.clone(), d.severity)
    };
    diags.sort_by_key(|a| key(a));
    diags.dedup_by(|a, b| key(a) == key(b) && a.help == b.help);
}

/// How a path is shown: relative to `base` when it is inside it (the workspace's one rule,
/// [`crate::workspace::display_path`]).
pub fn display_path(p: &Path, base: Option<&Path>) -> String {
    crate::workspace::display_path(p, base.unwrap_or(Path::new("")))
}

/// Render diagnostics like a compiler (`error[code]: …` / `--> file:line:col` / source line with
/// carets / `= help: …`). Source lines come from the text each location carries; without it only
/// the file name and position are shown. Paths are shown relative to `base`.
pub fn render_human(diags: &[Diagnostic], base: Option<&Path>, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(d.message.as_str()).id(d.code.as_str());
        let mut group = Group::with_title(title);
        if let Some(loc) = &d.location {
            let shown = display_path(&loc.file, base);
            let text = loc.source.as_ref().map(|s| s.text.as_str());
            match text.and_then(|t| line_around(t, loc)) {
                Some((line_text, span)) => {
                    // Never echo a secret: mask the flagged value in the quoted source line.
                    let line_text = if d.code == crate::rules::INLINE_SECRET.code {
                        let mut masked = line_text[..span.start].to_string();
                        masked.push_str(&"*".repeat(line_text[span.clone()].chars().count()));
                        masked.push_str(&line_text[span.end..]);
                        std::borrow::Cow::Owned(masked)
                    } else {
                        std::borrow::Cow::Borrowed(line_text)
                    };
                    let span = if d.code == crate::rules::INLINE_SECRET.code {
                        span.start
                            ..span.start
                                + line_text[span.start..]
                                    .chars()
                                    .take_while(|c| *c == '*')
                                    .count()
                    } else {
                        span
                    };
                    group = group.element(
                        Snippet::source(line_text)
                            .line_start(loc.line)
                            .path(shown)
                            .annotation(AnnotationKind::Primary.span(span)),
                    );
                }
                None => {
                    let mut origin = Origin::path(shown);
                    if loc.line > 0 {
                        origin = origin.line(loc.line).char_column(loc.column);
                    }
                    group = group.element(origin);
                }
            }
        }
        if let Some(h) = &d.help {
            group = group.element(Level::HELP.message(h.as_str()));
        }
        out.push_str(&renderer.render(&[group]));
        out.push_str("\n\n");
    }
    out
}

/// The source line of a location and the caret span inside it (at least one character).
fn line_around<'t>(text: &'t str, loc: &Location) -> Option<(&'t str, std::ops::Range<usize>)> {
    if loc.line == 0 {
        return None;
    }
    let start = if loc.span.start <= text.len() && text.is_char_boundary(loc.span.start) {
        loc.span.start
    } else {
        return None;
    };
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[line_start..line_end].trim_end_matches('\r');
    // A span can start on the `\r` of a CRLF line end, which the trimmed line no longer holds
    // (found by fuzzing: `clamp` panicked with min > max).
    let rel = (start - line_start).min(line.len());
    let mut end = loc
        .span
        .end
        .clamp(line_start + rel, line_start + line.len())
        - line_start;
    if end <= rel {
        end = line[rel..]
            .chars()
            .next()
            .map_or(rel, |c| rel + c.len_utf8());
    }
    // Trim trailing blanks inside the span (a block scalar's span runs to the next line).
    while end > rel + 1 && line.as_bytes()[end - 1] == b' ' {
        end -= 1;
    }
    Some((line, rel..end))
}

/// GitHub Actions workflow commands (`::error file=…,line=…,col=…,title=…::message`).
pub fn render_github(diags: &[Diagnostic], base: Option<&Path>) -> String {
    fn esc_data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn esc_prop(s: &str) -> String {
        esc_data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for d in diags {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = Vec::new();
        if let Some(loc) = &d.location {
            props.push(format!("file={}", esc_prop(&display_path(&loc.file, base))));
            if loc.line > 0 {
                props.push(format!("line={}", loc.line));
                props.push(format!("col={}", loc.column));
            }
        }
        props.push(format!("title={}", esc_prop(&format!("appkit {}", d.code))));
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        out.push_str(&format!(
            "::{kind} {}::{}\n",
            props.join(","),
            esc_data(&msg)
        ));
    }
    out
}

/// The stable JSON form: `{"diagnostics": [...], "errors": N, "warnings": N}` with paths relative to `base`.
pub fn to_json(diags: &[Diagnostic], base: Option<&Path>) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut v = serde_json::json!({
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
            });
            if let Some(loc) = &d.location {
                v["file"] = display_path(&loc.file, base).into();
                if loc.line > 0 {
                    v["line"] = loc.line.into();
                    v["column"] = loc.column.into();
                }
            }
            if let Some(p) = &d.path {
                v["path"] = p.clone().into();
            }
            if let Some(h) = &d.help {
                v["help"] = h.clone().into();
            }
            v
        })
        .collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    serde_json::json!({"diagnostics": items, "errors": errors, "warnings": diags.len() - errors})
}

/// The candidate closest to `given`, when it is close enough for "did you mean" (Jaro-Winkler
/// ≥ 0.8 on lower-cased text). The one suggestion rule for every kind of name: keys, codes,
/// environments, apps, components, node pools.
pub fn closest<'a, S: AsRef<str> + ?Sized + 'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a S>,
) -> Option<&'a str> {
    let lw = given.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let c = c.as_ref();
            (strsim::jaro_winkler(&lw, &c.to_lowercase()), c)
        })
        .filter(|(s, _)| *s >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_on_the_cr_of_a_crlf_line_end_does_not_panic() {
        let text = "a: 1\r\nb: 2\r";
        for start in 0..=text.len() {
            let loc = Location::new("v.yaml", 1, 1, start..start + 1);
            let _ = line_around(text, &loc);
        }
        let loc = Location::new("v.yaml", 2, 5, 11..12);
        assert_eq!(line_around(text, &loc), Some(("b: 2", 4..4)));
    }

    #[test]
    fn github_escapes() {
        let d = Diagnostic::error("schema", "bad: 100%\nvalue").help("x");
        let s = render_github(&[d], None);
        assert_eq!(
            s,
            "::error title=appkit schema::bad: 100%25%0Avalue%0Ahelp: x\n"
        );
    }
}
