//! A file an action rewrites or creates — import's values files and `appkit.yaml`, promote's
//! `appkit.yaml`, set-image's values file — as the old and the new text, so the command can show
//! the unified diff and a dry run can stop before the write. Writing is the action's (atomic,
//! `crate::fsutil::write_atomic`); this module owns the diff only.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diagnostics::{Diagnostic, Location, SourceFile};
use crate::error::Invalid;
use crate::yamlsplice::Unsafe;

/// The error of an edit [`crate::yamlsplice`] refused in `file` (its `text`, shown as `shown`):
/// the reason at `file:line:col` when the splice said where, as a diagnostic with code `code`,
/// and `hint` (what to write by hand).
pub fn refused_edit(
    u: &Unsafe,
    file: &Path,
    text: &str,
    shown: &str,
    code: &'static str,
    hint: String,
) -> Invalid {
    let mut d = Diagnostic::error(code, u.reason.clone());
    let mut place = shown.to_string();
    if let Some(at) = u.at {
        let source = SourceFile::new(file, text.to_string());
        let loc = Location::at_byte(&source, at, at + 1);
        place = format!("{shown}:{}:{}", loc.line, loc.column);
        d = d.at(loc);
    }
    Invalid::new(format!("cannot edit {place} safely: {}", u.reason))
        .with_hint(hint)
        .with_diagnostics(vec![d])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileAction {
    Create,
    Update,
}

/// A file an action writes (or would write, in a dry run): its path, what it held and what it will.
#[derive(Debug, Clone)]
pub struct FileWrite {
    pub path: PathBuf,
    pub old: Option<String>,
    pub new: String,
}

impl FileWrite {
    pub fn action(&self) -> FileAction {
        if self.old.is_some() {
            FileAction::Update
        } else {
            FileAction::Create
        }
    }
    /// A unified diff from the old content (or nothing) to the new, paths shown as `shown`.
    pub fn diff(&self, shown: &str) -> String {
        let old = self.old.as_deref().unwrap_or("");
        let from = if self.old.is_some() {
            format!("a/{shown}")
        } else {
            "/dev/null".into()
        };
        similar::TextDiff::from_lines(old, &self.new)
            .unified_diff()
            .context_radius(3)
            .header(&from, &format!("b/{shown}"))
            .to_string()
    }
}
