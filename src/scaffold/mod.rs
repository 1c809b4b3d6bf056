//! Files generated from the chart's one source of truth, `values.schema.json`: the commented values
//! scaffold of a new app (`helm appkit new`) and the chart's values reference (`helm appkit docs`).
//!
//! The schema is read into a tree of fields ([`model`]), turned into a tera context here
//! ([`newapp`], [`docs`]) and rendered by templates that are embedded in the binary and may be
//! overridden by the platform ([`templates`]). This module never prints and never writes files:
//! it returns text, and the commands decide where it goes.
//!
//! Public API (used by `actions/new.rs` and `commands/docs.rs`):
//! - [`templates::Templates::load`]`(override_dir, names)` (embedded, or overridden from a
//!   directory; only the named templates are parsed);
//! - [`model::Schema::load`] and [`ChartMeta::load`];
//! - [`newapp::check_name`], [`newapp::ImageRef::parse`], [`newapp::render`];
//! - [`docs::render`] → README text plus the keys that have no description.

pub mod docs;
pub mod model;
pub mod newapp;
pub mod patterns;
pub mod templates;
pub mod yamlfmt;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The top-level key the platform owns: never scaffolded, documented in its own section.
pub const PLATFORM_KEY: &str = "platform";

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    ChartYaml { path: PathBuf, message: String },
    #[error("the templates directory {} does not exist", path.display())]
    TemplateDir { path: PathBuf },
    /// A template override is a symbolic link out of the templates directory; not read (exit 1).
    #[error(transparent)]
    SymlinkEscape(Box<crate::fsutil::Refused>),
    /// A template that does not parse or render: a [`crate::diagnostics::Diagnostic`] (code
    /// `template`) at its file, line and column, carrying the template's text.
    #[error("{}", template_location(.0))]
    Template(Box<crate::diagnostics::Diagnostic>),
    #[error("the chart's schema has no key `{key}`, which {what} sets")]
    MissingKey { key: String, what: String },
    #[error("invalid image reference `{given}`: {reason}")]
    Image { given: String, reason: String },
}

/// `file:line:col: message` (the error's one-line text).
fn template_location(d: &crate::diagnostics::Diagnostic) -> String {
    let msg = &d.message;
    match &d.location {
        Some(l) if l.line > 0 && l.column > 0 => {
            format!("{}:{}:{}: {msg}", l.file.display(), l.line, l.column)
        }
        Some(l) if l.line > 0 => format!("{}:{}: {msg}", l.file.display(), l.line),
        Some(l) => format!("{}: {msg}", l.file.display()),
        None => msg.clone(),
    }
}

/// What the templates show about the chart itself (from `Chart.yaml`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ChartMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
}

impl ChartMeta {
    pub fn load(chart_dir: &Path) -> Result<ChartMeta, ScaffoldError> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            name: String,
            #[serde(default)]
            version: serde_json::Value,
            #[serde(default)]
            description: String,
        }
        let path = chart_dir.join("Chart.yaml");
        let text =
            crate::fsutil::read_to_string_limited(&path, crate::chart::archive::MAX_FILE_SIZE)
                .map_err(|source| ScaffoldError::Read {
                    path: path.clone(),
                    source,
                })?;
        let raw: Raw = serde_saphyr::from_str(&text).map_err(|e| ScaffoldError::ChartYaml {
            path: path.clone(),
            message: crate::fsutil::yaml_error_message(&e.to_string()),
        })?;
        Ok(ChartMeta {
            name: raw.name,
            version: match raw.version {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            },
            description: raw.description.trim().to_string(),
        })
    }
}

/// Wrap text into lines of at most `width` characters (a longer word gets its own line).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(20);
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(
            wrap("aaaa bbbb cccc dddd eeee ffff gggg", 20),
            ["aaaa bbbb cccc dddd", "eeee ffff gggg"]
        );
        assert!(wrap("", 30).is_empty());
    }

    #[test]
    fn reads_the_example_chart() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("chart");
        let meta = ChartMeta::load(&dir).unwrap();
        assert_eq!(meta.name, "app");
        assert!(meta
            .description
            .starts_with("The platform's shared application chart"));
    }
}
