//! A file an action rewrites or creates — import's values files and `appkit.yaml`, promote's
//! `appkit.yaml`, set-image's values file — as the old and the new text, so the command can show
//! the unified diff and a dry run can stop before the write. Writing is the action's (atomic,
//! `crate::fsutil::write_atomic`); this module owns the diff only.

use std::path::PathBuf;

use serde::Serialize;

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
