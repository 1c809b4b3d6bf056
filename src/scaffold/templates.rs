//! The tera templates `new` and `docs` render: embedded in the binary, and overridable file by file
//! from a platform's own directory (`appkit.yaml` `templates:`; a file there named like an embedded
//! one replaces it). A template that does not parse or render is reported with its file and line
//! (tera's parse errors carry `line:column`; for a missing variable the line of its first use is
//! looked up in the template's source).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tera::Tera;

use super::ScaffoldError;
use crate::diagnostics::{Diagnostic, Location, SourceFile};

/// The scaffold of `apps/<app>/values.yaml`.
pub const VALUES: &str = "values.yaml.tera";
/// An environment overlay `apps/<app>/values.<env>.yaml`.
pub const OVERLAY: &str = "overlay.yaml.tera";
/// The chart's `README.md`.
pub const README: &str = "README.md.tera";

/// The largest override template read (the embedded ones are a few KiB).
const TEMPLATE_LIMIT: u64 = 1024 * 1024;

const EMBEDDED: [(&str, &str); 3] = [
    (VALUES, include_str!("templates/values.yaml.tera")),
    (OVERLAY, include_str!("templates/overlay.yaml.tera")),
    (README, include_str!("templates/README.md.tera")),
];

/// Names of the templates a platform may override.
pub fn names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(n, _)| *n).collect()
}

/// Where a template came from, for error messages.
#[derive(Debug, Clone)]
struct Source {
    /// `None`: embedded in the binary.
    file: Option<PathBuf>,
    text: String,
}

impl Source {
    fn shown(&self, name: &str) -> String {
        match &self.file {
            Some(f) => f.display().to_string(),
            None => format!("<embedded>/{name}"),
        }
    }
}

pub struct Templates {
    tera: Tera,
    sources: BTreeMap<String, Source>,
    /// `*.tera` files of the override directory that replace nothing (a misspelt name?).
    pub ignored: Vec<PathBuf>,
}

impl Templates {
    /// The embedded templates named in `wanted`, each replaced by `<dir>/<name>` when that file
    /// exists (only these are parsed: a broken README template does not stop `new`).
    pub fn load(override_dir: Option<&Path>, wanted: &[&str]) -> Result<Templates, ScaffoldError> {
        if let Some(dir) = override_dir {
            if !dir.is_dir() {
                return Err(ScaffoldError::TemplateDir {
                    path: dir.to_path_buf(),
                });
            }
        }
        let mut tera = Tera::default();
        tera.autoescape_on(Vec::new());
        let mut sources = BTreeMap::new();
        for (name, embedded) in EMBEDDED.into_iter().filter(|(n, _)| wanted.contains(n)) {
            let source = match override_dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => {
                    if let Some(dir) = override_dir {
                        crate::fsutil::confined(&path, dir)
                            .map_err(|e| ScaffoldError::SymlinkEscape(e.into()))?;
                    }
                    let text = crate::fsutil::read_to_string_limited(&path, TEMPLATE_LIMIT)
                        .map_err(|source| ScaffoldError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    Source {
                        file: Some(path),
                        text,
                    }
                }
                None => Source {
                    file: None,
                    text: embedded.to_string(),
                },
            };
            tera.add_raw_template(name, &source.text)
                .map_err(|e| template_error(name, &source, &e))?;
            sources.insert(name.to_string(), source);
        }
        let mut ignored = Vec::new();
        if let Some(dir) = override_dir {
            let entries = std::fs::read_dir(dir).map_err(|source| ScaffoldError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".tera") && !names().contains(&name.as_str()) {
                    ignored.push(entry.path());
                }
            }
            ignored.sort();
        }
        Ok(Templates {
            tera,
            sources,
            ignored,
        })
    }

    /// The file a template comes from, when the platform's directory overrides it.
    pub fn override_file(&self, name: &str) -> Option<&Path> {
        self.sources.get(name).and_then(|s| s.file.as_deref())
    }

    /// Render a template; the text always ends with exactly one newline (generated files are
    /// text files, whatever the template's last line does).
    pub fn render(&self, name: &str, context: &tera::Context) -> Result<String, ScaffoldError> {
        let mut text = self.tera.render(name, context).map_err(|e| {
            let source = self.sources.get(name).cloned().unwrap_or(Source {
                file: None,
                text: String::new(),
            });
            template_error(name, &source, &e)
        })?;
        text.truncate(text.trim_end_matches('\n').len());
        text.push('\n');
        Ok(text)
    }
}

/// Turn tera's error chain into `file:line:column: message`.
fn template_error(name: &str, source: &Source, err: &tera::Error) -> ScaffoldError {
    let mut parts = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cur {
        parts.push(e.to_string());
        cur = e.source();
    }
    let full = parts.join("\n");
    let (mut line, mut column) = (None, None);
    // Parse errors (pest): ` --> 3:5` followed by the source line and the expectation.
    if let Some(i) = full.find("--> ") {
        let rest = &full[i + 4..];
        let pos: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ':')
            .collect();
        let mut it = pos.split(':').map(|n| n.parse::<usize>().ok());
        line = it.next().flatten();
        column = it.next().flatten();
    }
    // An unclosed tag fails at the end of the input: point at the tag that was left open instead.
    if let Some(l) = line {
        if l > source.text.lines().count() {
            if let Some((ol, oc)) = unclosed_tag(&source.text) {
                line = Some(ol);
                column = Some(oc);
            }
        }
    }
    // Render errors name the variable (or filter, function) but no position: find its first use.
    if line.is_none() {
        if let Some(what) = backticked(&full) {
            for (i, l) in source.text.lines().enumerate() {
                if let Some(c) = l.find(what.as_str()) {
                    if l.contains("{{") || l.contains("{%") || l.contains('|') {
                        line = Some(i + 1);
                        column = Some(c + 1);
                        break;
                    }
                }
            }
        }
    }
    // The useful part: pest's `= expected …`, else the innermost cause.
    let message = full
        .lines()
        .find_map(|l| l.trim().strip_prefix("= ").map(str::to_string))
        .or_else(|| parts.last().cloned())
        .unwrap_or_default()
        .trim()
        .to_string();
    let text = SourceFile::new(source.shown(name), source.text.clone());
    let location = match line {
        Some(l) => {
            let mut at = Location::at_line_column(&text, l, column.unwrap_or(1));
            if column.is_none() {
                at.column = 0;
            }
            at
        }
        None => {
            let mut at = Location::file_only(text.path.clone());
            at.source = Some(text.clone());
            at
        }
    };
    ScaffoldError::Template(Box::new(
        Diagnostic::error("template", message).at(location),
    ))
}

/// Line and column (1-based) of the last `{{`, `{%` or `{#` that is never closed.
fn unclosed_tag(text: &str) -> Option<(usize, usize)> {
    let mut open: Option<usize> = None;
    let mut i = 0;
    let b = text.as_bytes();
    while i + 1 < b.len() {
        let pair = &text[i..i + 2];
        match (open, pair) {
            (None, "{{" | "{%" | "{#") => {
                open = Some(i);
                i += 2;
                continue;
            }
            (Some(o), "}}" | "%}" | "#}") if b[o + 1] == closer_for(b[i]) => {
                open = None;
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let o = open?;
    let line = text[..o].matches('\n').count() + 1;
    let col = o - text[..o].rfind('\n').map_or(0, |n| n + 1) + 1;
    Some((line, col))
}

/// The second byte of the opener a closer ends: `}}` ends `{{`, `%}` ends `{%`, `#}` ends `{#`.
fn closer_for(first: u8) -> u8 {
    match first {
        b'}' => b'{',
        other => other,
    }
}

/// The first `…` quoted name in a message (tera quotes variables, filters and functions so).
fn backticked(s: &str) -> Option<String> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some(s[start..start + len].to_string()).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_templates_parse() {
        let t = Templates::load(None, &names()).unwrap();
        for n in names() {
            assert!(t.override_file(n).is_none());
        }
    }

    #[test]
    fn broken_override_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(README), "# ok\n\nline two {{ chart.name \n").unwrap();
        let err = Templates::load(Some(dir.path()), &[README])
            .err()
            .expect("must fail");
        let text = err.to_string();
        let file = dir.path().join(README).display().to_string();
        assert!(text.starts_with(&format!("{file}:3:10: ")), "{text}");
        std::fs::write(dir.path().join(README), "a\n{% if %}\nb\n{% endif %}\n").unwrap();
        let text = Templates::load(Some(dir.path()), &[README])
            .err()
            .unwrap()
            .to_string();
        assert!(text.starts_with(&format!("{file}:2:7: ")), "{text}");
    }

    #[test]
    fn render_error_points_at_first_use() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(README), "a\n\nb {{ nope.x }}\n").unwrap();
        let t = Templates::load(Some(dir.path()), &[README]).unwrap();
        let err = t.render(README, &tera::Context::new()).err().unwrap();
        let file = dir.path().join(README).display().to_string();
        assert!(
            err.to_string().starts_with(&format!("{file}:3:6: ")),
            "{err}"
        );
    }
}
