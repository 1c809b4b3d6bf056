//! A diagnostic is one problem found in a user's file: severity, code, message, where (file and
//! byte span when known), and a hint. Values validation, `appkit.yaml` loading, Chart.yaml checks,
//! template overrides and render all produce them; this module is the one place that renders them:
//! for humans (annotate-snippets, like rustc/cargo), as JSON, or as GitHub Actions annotations.
//!
//! A [`Location`] carries the text of its file ([`SourceFile`], shared by `Arc`) as it was read
//! when the problem was found, so rendering never reads a file again (the file may have changed,
//! or be a FIFO the reader refused). Without the text only `--> file:line:col` is shown.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use serde::Serialize;

/// Human output shows at most this many diagnostics per file, then "… and N more problems in
/// FILE" (the JSON output has every one up to [`MAX_JSON_DIAGNOSTICS`]).
pub const MAX_HUMAN_PER_FILE: usize = 200;
/// The JSON output lists at most this many diagnostics; `truncated` counts the rest.
pub const MAX_JSON_DIAGNOSTICS: usize = 10_000;
/// A quoted source line longer than this is cut to a window around the carets.
const MAX_QUOTED_LINE: usize = 240;
/// Bytes of context shown left and right of the carets in a cut line.
const QUOTE_CONTEXT: usize = 60;
/// The most bytes of a span shown under carets in a cut line.
const MAX_CARETS: usize = 100;

/// One file's text as it was read, kept for quoting it in diagnostics, with the byte ranges of
/// the secrets in it: every quote of the file, by any diagnostic and in every output, masks them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Byte ranges of secret values (sorted by start, not overlapping).
    secrets: Vec<Range<usize>>,
    /// The secrets as written and as read, for [`redact`].
    secret_words: Vec<String>,
    /// Byte offset of each line's start (built on first use).
    line_starts: OnceLock<Vec<u32>>,
}

/// The path and size only: a diagnostic's `Debug` stays readable (and never dumps a file).
impl std::fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .field("bytes", &self.text.len())
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        Self::with_secrets(path, text, Vec::new())
    }

    /// A file whose secrets are never quoted: `found` holds each one's byte range (in any order,
    /// ranges may overlap) and its value as read (which messages must not quote either).
    pub fn with_secrets(
        path: impl Into<PathBuf>,
        text: impl Into<String>,
        found: Vec<(Range<usize>, String)>,
    ) -> Arc<SourceFile> {
        let text = text.into();
        let mut words: Vec<String> = Vec::new();
        let mut spans = Vec::with_capacity(found.len());
        for (r, value) in found {
            if let Some(raw) = text.get(r.clone()) {
                let raw = raw.trim();
                words.push(raw.to_string());
                let unquoted = raw.trim_matches(|c| c == '"' || c == '\'');
                if unquoted.len() != raw.len() {
                    words.push(unquoted.to_string());
                }
            }
            words.push(value.trim().to_string());
            spans.push(r);
        }
        words.retain(|w| !w.is_empty());
        words.sort();
        words.dedup();
        Arc::new(SourceFile {
            path: path.into(),
            secrets: normalise_spans(spans, text.len()),
            secret_words: words,
            text,
            line_starts: OnceLock::new(),
        })
    }

    /// The secret byte ranges of the file (sorted, not overlapping).
    pub fn secrets(&self) -> &[Range<usize>] {
        &self.secrets
    }

    /// Each secret as written and as read (for keeping them out of messages).
    pub fn secret_words(&self) -> &[String] {
        &self.secret_words
    }

    /// The byte range of the line holding byte `at` (without its line break).
    fn line_of(&self, at: usize) -> Range<usize> {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| (i + 1) as u32))
                .collect()
        });
        let i = starts
            .partition_point(|&s| s as usize <= at)
            .saturating_sub(1);
        let start = starts[i] as usize;
        let end = starts
            .get(i + 1)
            .map_or(self.text.len(), |&n| n as usize - 1);
        start..end
    }
}

/// Sort, clamp to `len` and merge overlapping ranges.
fn normalise_spans(mut spans: Vec<Range<usize>>, len: usize) -> Vec<Range<usize>> {
    spans.retain(|r| r.start < r.end.min(len));
    spans.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for r in spans {
        let r = r.start..r.end.min(len);
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Replace every whole quoted word of `text` that is one of `secrets` by `****`: the pieces
/// between backticks or double quotes, and blank-separated words (trimmed of punctuation). Linear
/// in the length of `text`.
pub fn redact(text: &str, secrets: &std::collections::HashSet<String>) -> Option<String> {
    if secrets.is_empty() {
        return None;
    }
    let mut hits: Vec<Range<usize>> = Vec::new();
    let mut piece_start = 0;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), '`')))
    {
        if c == '`' || c == '"' {
            let piece = &text[piece_start..i];
            if secrets.contains(piece) || secrets.contains(piece.trim()) {
                hits.push(piece_start..i);
            }
            piece_start = i + c.len_utf8();
        }
    }
    let mut word_start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let sep = c.is_whitespace() || c == '`' || c == '"' || c == '/';
        match (sep, word_start) {
            (false, None) => word_start = Some(i),
            (true, Some(s)) => {
                let word = &text[s..i];
                let trimmed = word.trim_matches(|c: char| "()[]{},.;:'".contains(c));
                if !trimmed.is_empty() && secrets.contains(trimmed) {
                    let off = s + word.find(trimmed).unwrap_or(0);
                    hits.push(off..off + trimmed.len());
                }
                word_start = None;
            }
            _ => {}
        }
    }
    if hits.is_empty() {
        return None;
    }
    let hits = normalise_spans(hits, text.len());
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for h in hits {
        out.push_str(&text[at..h.start]);
        out.push_str("****");
        at = h.end;
    }
    out.push_str(&text[at..]);
    Some(out)
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
    /// The app whose values the problem is in (`-o json`'s `app`), when it is one app's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The environment it was found in (`-o json`'s `env`), when it is one environment's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
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
            app: None,
            env: None,
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
/// (the same problem found for several environments of one app: its `env` is then none).
pub fn sort_dedup(diags: &mut Vec<Diagnostic>) {
    fn key(d: &Diagnostic) -> (Option<(&Path, usize, usize)>, &str, &str, Severity) {
        (
            d.location
                .as_ref()
                .map(|l| (l.file.as_path(), l.line, l.column)),
            d.code.as_str(),
            d.message.as_str(),
            d.severity,
        )
    }
    diags.sort_by(|a, b| key(a).cmp(&key(b)));
    diags.dedup_by(|a, b| {
        let same = key(a) == key(b) && a.help == b.help;
        // One problem of several environments (or apps) names none of them.
        if same && a.env != b.env {
            b.env = None;
        }
        if same && a.app != b.app {
            b.app = None;
        }
        same
    });
}

/// How a path is shown: relative to `base` when it is inside it (the workspace's one rule,
/// [`crate::workspace::display_path`]).
pub fn display_path(p: &Path, base: Option<&Path>) -> String {
    crate::workspace::display_path(p, base.unwrap_or(Path::new("")))
}

/// The diagnostics to show when at most `per_file` are shown per file: their indexes, and (file,
/// count) of those left out, in the order the files first appear. Diagnostics without a file
/// are all shown.
fn capped(diags: &[Diagnostic], per_file: usize) -> (Vec<usize>, Vec<(&Path, usize)>) {
    let mut counts: HashMap<&Path, usize> = HashMap::new();
    let mut order: Vec<&Path> = Vec::new();
    let mut shown = Vec::with_capacity(diags.len().min(per_file * 4));
    for (i, d) in diags.iter().enumerate() {
        let Some(loc) = &d.location else {
            shown.push(i);
            continue;
        };
        let n = counts.entry(loc.file.as_path()).or_insert_with(|| {
            order.push(loc.file.as_path());
            0
        });
        *n += 1;
        if *n <= per_file {
            shown.push(i);
        }
    }
    let left_out = order
        .into_iter()
        .filter_map(|f| {
            let n = counts[f];
            (n > per_file).then(|| (f, n - per_file))
        })
        .collect();
    (shown, left_out)
}

fn more_problems(n: usize, file: &Path, base: Option<&Path>) -> String {
    format!(
        "… and {n} more problem{} in {}",
        if n == 1 { "" } else { "s" },
        display_path(file, base)
    )
}

/// Render diagnostics like a compiler (`error[code]: …` / `--> file:line:col` / source line with
/// carets / `= help: …`). Source lines come from the text each location carries, with every
/// secret of that file masked; without it only the file name and position are shown. Paths are
/// shown relative to `base`. At most [`MAX_HUMAN_PER_FILE`] diagnostics per file are rendered,
/// then one "… and N more problems in FILE" line; a long line is cut around the carets, so the
/// work and the output are linear in the number of diagnostics shown.
pub fn render_human(diags: &[Diagnostic], base: Option<&Path>, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let (shown, left_out) = capped(diags, MAX_HUMAN_PER_FILE);
    let mut out = String::new();
    for d in shown.into_iter().map(|i| &diags[i]) {
        let mut cut = false;
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(d.message.as_str()).id(d.code.as_str());
        let mut group = Group::with_title(title);
        if let Some(loc) = &d.location {
            let shown = display_path(&loc.file, base);
            // The flagged value of an inline-secret diagnostic is masked even when the file's
            // secrets were not computed.
            let own_secret = (d.code == crate::rules::INLINE_SECRET.code).then(|| loc.span.clone());
            match loc.source.as_ref().and_then(|s| quote(s, loc, own_secret)) {
                Some(q) if !q.cut => {
                    group = group.element(
                        Snippet::source(q.text)
                            .line_start(loc.line)
                            .path(shown)
                            .annotation(AnnotationKind::Primary.span(q.carets)),
                    );
                }
                Some(q) => {
                    // A cut line: the position comes from the location, not from the window
                    // (a snippet without a path after it adds an empty `:::` line, dropped below).
                    cut = true;
                    group = group
                        .element(
                            Origin::path(shown)
                                .line(loc.line)
                                .char_column(loc.column.max(1)),
                        )
                        .element(
                            Snippet::source(q.text)
                                .line_start(loc.line)
                                .annotation(AnnotationKind::Primary.span(q.carets)),
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
        let rendered = renderer.render(&[group]);
        if cut {
            for line in rendered.lines() {
                if visible(line).trim() != ":::" {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out.pop();
        } else {
            out.push_str(&rendered);
        }
        out.push_str("\n\n");
    }
    for (file, n) in left_out {
        out.push_str(&more_problems(n, file, base));
        out.push_str("\n\n");
    }
    out
}

/// A rendered line without its ANSI colour sequences.
fn visible(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A source line as quoted under a diagnostic.
#[derive(Debug, PartialEq)]
struct Quote {
    /// The line (or a window of it, with `…` where it was cut), secrets masked.
    text: String,
    /// The caret range in `text` (at least one character).
    carets: Range<usize>,
    /// The line was cut to a window.
    cut: bool,
}

/// The source line of a location, with its secrets (and `extra`) masked and cut to a window
/// around the carets when it is long. Work: the window's length plus a binary search.
fn quote(src: &SourceFile, loc: &Location, extra: Option<Range<usize>>) -> Option<Quote> {
    let text = src.text.as_str();
    if loc.line == 0 {
        return None;
    }
    let start = loc.span.start;
    if start > text.len() || !text.is_char_boundary(start) {
        return None;
    }
    let lines = src.line_of(start);
    let line_start = lines.start;
    let line = text[lines].trim_end_matches('\r');
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
    let (from, to, cut) = if line.len() <= MAX_QUOTED_LINE {
        (0, line.len(), false)
    } else {
        end = floor_char(line, end.min(rel + MAX_CARETS)).max(rel);
        let from = floor_char(line, rel.saturating_sub(QUOTE_CONTEXT));
        let to = floor_char(line, (end + QUOTE_CONTEXT).min(line.len())).max(end);
        (from, to, true)
    };
    let mut out = String::with_capacity(to - from + 8);
    if from > 0 {
        out.push('…');
    }
    let secrets = src.secrets();
    let mut next = secrets.partition_point(|r| r.end <= line_start + from);
    let (mut c_start, mut c_end) = (None, None);
    for (i, c) in line[from..to].char_indices() {
        let at = from + i;
        if at == rel {
            c_start = Some(out.len());
        }
        if at == end {
            c_end = Some(out.len());
        }
        let abs = line_start + at;
        while next < secrets.len() && secrets[next].end <= abs {
            next += 1;
        }
        let secret = secrets.get(next).is_some_and(|r| r.start <= abs)
            || extra.as_ref().is_some_and(|r| r.contains(&abs));
        out.push(if secret { '*' } else { c });
    }
    let c_start = c_start.unwrap_or(out.len());
    let c_end = c_end.unwrap_or(out.len());
    let carets = if c_end > c_start {
        c_start..c_end
    } else {
        c_start
            ..out[c_start..]
                .chars()
                .next()
                .map_or(c_start, |c| c_start + c.len_utf8())
    };
    if to < line.len() {
        out.push('…');
    }
    Some(Quote {
        text: out,
        carets,
        cut,
    })
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A GitHub workflow command's message, escaped.
pub fn github_escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A GitHub workflow command's property value (`file=`, `title=`), escaped.
pub fn github_escape_prop(s: &str) -> String {
    github_escape_data(s)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// GitHub Actions workflow commands (`::error file=…,line=…,col=…,title=…::message`), at most
/// [`MAX_HUMAN_PER_FILE`] per file, then one `::warning` saying how many more there are.
pub fn render_github(diags: &[Diagnostic], base: Option<&Path>) -> String {
    let esc_data = github_escape_data;
    let esc_prop = github_escape_prop;
    let (shown, left_out) = capped(diags, MAX_HUMAN_PER_FILE);
    let mut out = String::new();
    for d in shown.into_iter().map(|i| &diags[i]) {
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
    for (file, n) in left_out {
        out.push_str(&format!(
            "::warning file={},title=appkit::{}\n",
            esc_prop(&display_path(file, base)),
            esc_data(&more_problems(n, file, base))
        ));
    }
    out
}

/// The stable JSON form: `{"diagnostics": [...], "errors": N, "warnings": N, "truncated": N}`
/// with paths relative to `base`. At most [`MAX_JSON_DIAGNOSTICS`] are listed; `truncated`
/// counts those left out (`errors` and `warnings` count all of them).
pub fn to_json(diags: &[Diagnostic], base: Option<&Path>) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .take(MAX_JSON_DIAGNOSTICS)
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
            if let Some(a) = &d.app {
                v["app"] = a.clone().into();
            }
            if let Some(e) = &d.env {
                v["env"] = e.clone().into();
            }
            v
        })
        .collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    serde_json::json!({
        "diagnostics": items,
        "errors": errors,
        "warnings": diags.len() - errors,
        "truncated": diags.len().saturating_sub(MAX_JSON_DIAGNOSTICS),
    })
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
        let src = SourceFile::new("v.yaml", "a: 1\r\nb: 2\r");
        for start in 0..=src.text.len() {
            let loc = Location::new("v.yaml", 1, 1, start..start + 1);
            let _ = quote(&src, &loc, None);
        }
        let loc = Location::new("v.yaml", 2, 5, 11..12);
        let q = quote(&src, &loc, None).unwrap();
        assert_eq!((q.text.as_str(), q.carets), ("b: 2", 4..4));
    }

    #[test]
    fn every_secret_of_the_file_is_masked_in_every_quote() {
        let text = "m: {password: hünter2secret, bogus: 1}\nnext: x\n";
        let at = text.find("hünter2secret").unwrap();
        let src = SourceFile::with_secrets(
            "v.yaml",
            text,
            vec![(at..at + "hünter2secret".len(), "hünter2secret".into())],
        );
        assert_eq!(src.secret_words(), ["hünter2secret".to_string()]);
        // A diagnostic about `bogus` on the same line quotes the line with the secret masked.
        let b = text.find("bogus").unwrap();
        let loc = Location::in_source(&src, 1, 30, b..b + 5);
        let q = quote(&src, &loc, None).unwrap();
        assert_eq!(q.text, "m: {password: *************, bogus: 1}");
        assert_eq!(&q.text[q.carets.clone()], "bogus");
        let d = Diagnostic::error("schema", "unknown key `bogus`").at(loc);
        let shown = render_human(&[d], None, false);
        assert!(!shown.contains("hünter2secret"), "{shown}");
        assert!(
            shown.contains("-->") && shown.contains("v.yaml:1:30"),
            "{shown}"
        );
    }

    #[test]
    fn a_long_line_is_cut_around_the_carets_and_keeps_its_column() {
        let text = format!(
            "l: [{}]\n",
            (0..5000)
                .map(|i| format!("n{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let src = SourceFile::new("v.yaml", text.clone());
        let at = text.find("n4000").unwrap();
        let loc = Location::at_byte(&src, at, at + 5);
        let q = quote(&src, &loc, None).unwrap();
        assert!(q.cut && q.text.len() < 2 * QUOTE_CONTEXT + 20, "{}", q.text);
        assert_eq!(&q.text[q.carets.clone()], "n4000");
        let shown = render_human(&[Diagnostic::error("x", "y").at(loc.clone())], None, false);
        assert!(shown.contains(&format!("v.yaml:1:{}", at + 1)), "{shown}");
        assert!(shown.lines().all(|l| l.len() < 400), "{shown}");
        assert!(!shown.contains(":::"), "{shown}");
        let styled = render_human(&[Diagnostic::error("x", "y").at(loc)], None, true);
        assert!(!visible(&styled).contains(":::"), "{styled}");
    }

    #[test]
    fn human_and_github_output_are_capped_per_file_and_json_overall() {
        let src = SourceFile::new("v.yaml", "a: 1\n");
        let diags: Vec<Diagnostic> = (0..MAX_HUMAN_PER_FILE + 5)
            .map(|i| {
                Diagnostic::error("x", format!("problem {i}")).at(Location::in_source(
                    &src,
                    1,
                    1,
                    0..1,
                ))
            })
            .collect();
        let shown = render_human(&diags, None, false);
        assert_eq!(shown.matches("error[x]").count(), MAX_HUMAN_PER_FILE);
        assert!(
            shown.ends_with("… and 5 more problems in v.yaml\n\n"),
            "{shown}"
        );
        let gh = render_github(&diags, None);
        assert_eq!(gh.lines().count(), MAX_HUMAN_PER_FILE + 1);
        assert!(gh.ends_with("::… and 5 more problems in v.yaml\n"), "{gh}");
        let many: Vec<Diagnostic> = (0..MAX_JSON_DIAGNOSTICS + 3)
            .map(|_| Diagnostic::warning("x", "y"))
            .collect();
        let j = to_json(&many, None);
        assert_eq!(
            j["diagnostics"].as_array().unwrap().len(),
            MAX_JSON_DIAGNOSTICS
        );
        assert_eq!(
            (j["truncated"].as_u64(), j["warnings"].as_u64()),
            (Some(3), Some(many.len() as u64))
        );
    }

    #[test]
    fn quoted_secrets_are_redacted_from_messages() {
        let secrets: std::collections::HashSet<String> =
            ["ghp_abc".to_string(), "two words".to_string()].into();
        assert_eq!(
            redact("unknown key `ghp_abc` at the top level", &secrets).as_deref(),
            Some("unknown key `****` at the top level")
        );
        assert_eq!(
            redact(
                "write \"two words\" in quotes; /a/ghp_abc, (ghp_abc)",
                &secrets
            )
            .as_deref(),
            Some("write \"****\" in quotes; /a/****, (****)")
        );
        assert_eq!(redact("ghp_abcd is fine", &secrets), None);
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
