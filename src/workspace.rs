//! The workspace: what a run knows about the platform repo it works in, answered once.
//!
//! Built once per run from the global arguments, it is the single place that
//! - finds and loads `appkit.yaml` ([`Workspace::open`], [`Workspace::open_optional`]), with the
//!   one error and hint when there is none;
//! - knows the apps ([`list_apps`]) and the files that make an app's values in an environment
//!   ([`app_files`]): one verdict on what counts as a file, used by validate, render, publish and
//!   new alike — an entry named `values.yaml` (or `values.<env>.yaml`) of any kind makes the file
//!   part of the app, so a FIFO, a device link or a dangling link is *read* and refused with a
//!   clear error instead of silently dropping the app or the overlay;
//! - selects environments ([`Workspace::select_envs`]): one semantics for `--env` on every
//!   command (repeatable and comma-separated, order kept, duplicates dropped, unknown names a
//!   usage error naming the known ones);
//! - displays paths ([`display_path`]): relative to the current directory when below it.
//!
//! It does not validate values, render or publish; the domain modules do, given what this module
//! resolved. It never prints: config warnings are handed to the command to report.

use std::path::{Component, Path, PathBuf};

use anyhow::Result;

use crate::cli::GlobalArgs;
use crate::config::{self, ConfigError, Loaded};
use crate::diagnostics::Diagnostic;
use crate::error::Hinted;

/// The hint when no `appkit.yaml` is found (the same on every command).
pub const NO_CONFIG_HINT: &str =
    "run inside a platform repo (a directory with appkit.yaml, or below one), or pass --config FILE";

/// The name of an app's base values file.
pub const VALUES_FILE: &str = "values.yaml";

/// The environment overlay of an app's values (`values.<env>.yaml`).
pub fn overlay_name(env: &str) -> String {
    format!("values.{env}.yaml")
}

/// A platform repo as one run sees it.
#[derive(Debug)]
pub struct Workspace {
    loaded: Loaded,
    warnings: Vec<Diagnostic>,
    cwd: PathBuf,
}

impl Workspace {
    /// Find and load `appkit.yaml` (`--config`, `APPKIT_CONFIG`, else the current directory and
    /// its parents). None found → an error with [`NO_CONFIG_HINT`] (exit 2); an invalid file →
    /// its diagnostics (exit 1).
    pub fn open(global: &GlobalArgs) -> Result<Workspace> {
        match locate(global)? {
            Ok(path) => Self::load(&path),
            Err(not_found) => Err(Hinted::new(not_found, NO_CONFIG_HINT).into()),
        }
    }

    /// Like [`Workspace::open`], but `Ok(None)` when there is no `appkit.yaml` (commands that
    /// also work on a bare chart or bare values files). An explicit `--config` must exist.
    pub fn open_optional(global: &GlobalArgs) -> Result<Option<Workspace>> {
        match locate(global)? {
            Ok(path) => Self::load(&path).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Load `appkit.yaml` at `path`. The platform repo is its directory: `appkit.yaml` and
    /// `appkit.lock` must not be symbolic links out of it (refused unread, exit 1) — also with
    /// `--config`, which names the repo's file, not whatever a link there leads to. To use a
    /// config kept elsewhere, name the real file.
    pub fn load(path: &Path) -> Result<Workspace> {
        let repo = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        crate::fsutil::confined(path, repo).map_err(|e| e.invalid())?;
        let lock = repo.join(crate::lock::LOCK_FILE);
        crate::fsutil::confined(&lock, repo).map_err(|e| e.invalid())?;
        let (loaded, warnings) = config::load_with_warnings(path)?;
        Ok(Workspace {
            loaded,
            warnings,
            cwd: current_dir(),
        })
    }

    /// A workspace of a config loaded by the caller, e.g. an edit of `appkit.yaml` checked in
    /// memory before it is written ([`config::load_text`]): what the repo will be.
    pub fn from_loaded(loaded: Loaded, warnings: Vec<Diagnostic>) -> Workspace {
        Workspace {
            loaded,
            warnings,
            cwd: current_dir(),
        }
    }

    /// The loaded `appkit.yaml`.
    pub fn config(&self) -> &Loaded {
        &self.loaded
    }

    /// Warnings found while loading `appkit.yaml` (the command reports them).
    pub fn config_warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The apps of the apps directory, sorted.
    pub fn apps(&self) -> Result<Vec<String>> {
        let dir = self.loaded.apps_dir();
        list_apps(&dir).map_err(|e| {
            anyhow::Error::new(e).context(format!("cannot list the apps in {}", self.display(&dir)))
        })
    }

    /// The directory of an app.
    pub fn app_dir(&self, app: &str) -> PathBuf {
        self.loaded.apps_dir().join(app)
    }

    /// The files of an app in an environment, in merge order (see [`app_files`]).
    pub fn app_files(&self, app: &str, env: Option<&str>) -> Vec<PathBuf> {
        app_files(&self.app_dir(app), env)
    }

    /// The environments a command acts on: every environment of `appkit.yaml` when none was
    /// asked for, else the asked ones in the order given (duplicates dropped). An unknown name is
    /// a usage error (exit 2) that lists the known ones.
    pub fn select_envs(&self, asked: &[String]) -> Result<Vec<String>> {
        let known = &self.loaded.config.environments;
        if asked.is_empty() {
            return Ok(known.keys().cloned().collect());
        }
        let mut out: Vec<String> = Vec::new();
        for e in asked {
            if !known.contains_key(e) {
                let names: Vec<&str> = known.keys().map(String::as_str).collect();
                let hint = match crate::diagnostics::closest(e, names.iter().copied()) {
                    Some(m) => format!(
                        "did you mean `{m}`? environments in {}: {}",
                        self.display(&self.loaded.path),
                        names.join(", ")
                    ),
                    None => format!(
                        "environments in {}: {}",
                        self.display(&self.loaded.path),
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                };
                return Err(Hinted::new(anyhow::anyhow!("unknown environment `{e}`"), hint).into());
            }
            if !out.contains(e) {
                out.push(e.clone());
            }
        }
        Ok(out)
    }

    /// A path as the user sees it (see [`display_path`]).
    pub fn display(&self, p: &Path) -> String {
        display_path(p, &self.cwd)
    }

    /// The directory paths are shown relative to.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }
}

/// The one lookup of `appkit.yaml`: its path, or (inner `Err`) the "not found" error saying
/// where it was searched; an outer error for anything else (the current directory unreadable).
fn locate(global: &GlobalArgs) -> Result<Result<PathBuf, ConfigError>> {
    match config::locate(global.config.as_deref()) {
        Ok(p) => Ok(Ok(p)),
        Err(e @ ConfigError::NotFound { .. }) => Ok(Err(e)),
        Err(e) => Err(e.into()),
    }
}

/// Whether `p` names an entry of any kind (file, directory, FIFO, device, dangling link).
fn entry_exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// Whether `dir` is an app directory: a directory with a `values.yaml` entry (of any kind, so a
/// broken one is reported when read instead of the app disappearing).
pub fn is_app_dir(dir: &Path) -> bool {
    dir.is_dir() && entry_exists(&dir.join(VALUES_FILE))
}

/// The apps of an apps directory: its subdirectories that are app directories, sorted. Hidden
/// directories (`.git`, a staging directory a killed `helm appkit new` left) are never apps.
pub fn list_apps(apps_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(apps_dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        // A link to a directory counts (whether it may be read is decided when its files are:
        // one that leads out of the apps directory is refused then, not silently skipped).
        let kind = entry.file_type()?;
        let is_dir = kind.is_dir() || (kind.is_symlink() && entry.path().is_dir());
        if name.starts_with('.') || !is_dir {
            continue;
        }
        if entry_exists(&entry.path().join(VALUES_FILE)) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The files that make an app's values in an environment, in merge order: `values.yaml`, then
/// `values.<env>.yaml` when an entry of that name exists (of any kind: reading it decides).
pub fn app_files(app_dir: &Path, env: Option<&str>) -> Vec<PathBuf> {
    let mut files = vec![app_dir.join(VALUES_FILE)];
    if let Some(env) = env {
        let overlay = app_dir.join(overlay_name(env));
        if entry_exists(&overlay) {
            files.push(overlay);
        }
    }
    files
}

/// `apps/x/values.<env>.yaml` next to `apps/x/values.yaml` → (that values.yaml, env).
pub fn overlay_of(input: &Path) -> Option<(PathBuf, String)> {
    if input.is_dir() {
        return None;
    }
    let name = input.file_name()?.to_str()?;
    let env = name.strip_prefix("values.")?.strip_suffix(".yaml")?;
    let base = input.parent()?.join(VALUES_FILE);
    (!env.is_empty() && entry_exists(&base) && entry_exists(input)).then(|| (base, env.to_string()))
}

/// The current directory (`.` when it cannot be read).
pub fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// A path relative to `base` when it is below it, without `./`, with `/` separators; other
/// paths as given.
pub fn display_path(p: &Path, base: &Path) -> String {
    let rel = p.strip_prefix(base).unwrap_or(p);
    if rel.is_absolute() {
        return rel.display().to_string();
    }
    let parts: Vec<String> = rel
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_values_file_is_part_of_the_app_and_a_fifo_overlay_is_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("a");
        std::fs::create_dir(&app).unwrap();
        let fifo = app.join(VALUES_FILE);
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let overlay = app.join("values.dev.yaml");
        std::os::unix::fs::symlink("/nonexistent", &overlay).unwrap();
        assert!(is_app_dir(&app));
        assert_eq!(list_apps(dir.path()).unwrap(), vec!["a".to_string()]);
        assert_eq!(app_files(&app, Some("dev")), vec![fifo, overlay.clone()]);
        assert_eq!(app_files(&app, Some("prod")).len(), 1);
        assert_eq!(
            overlay_of(&overlay),
            Some((app.join(VALUES_FILE), "dev".into()))
        );
    }

    #[test]
    fn hidden_and_plain_directories_are_not_apps() {
        let dir = tempfile::tempdir().unwrap();
        for d in [".appkit-new-1-x", "b", "c"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join(".appkit-new-1-x/values.yaml"), "").unwrap();
        std::fs::write(dir.path().join("c/values.yaml"), "").unwrap();
        assert_eq!(list_apps(dir.path()).unwrap(), vec!["c".to_string()]);
    }

    #[test]
    fn paths_are_shown_relative_without_dot() {
        let base = Path::new("/r");
        assert_eq!(display_path(Path::new("/r/a/./b.yaml"), base), "a/b.yaml");
        assert_eq!(display_path(Path::new("/r"), base), ".");
        assert_eq!(display_path(Path::new("/x/y"), base), "/x/y");
        assert_eq!(display_path(Path::new("./c"), base), "c");
    }
}
