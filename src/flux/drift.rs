//! A render compared with the files on disk: which files are new, changed, unchanged or to be
//! pruned, which HelmReleases would make Flux uninstall and reinstall a release, and which pruned
//! files hold a HelmRelease Flux will uninstall ([`FileChange::uninstalls`]: an app whose
//! directory is gone). The same plan is either applied (atomic writes, then removals) or shown as
//! a unified diff (`--check`).
//!
//! Safety rules: a file in the output directory is only ever overwritten or removed when it starts
//! with [`super::GENERATED_MARKER`]; anything else there is left alone (and blocks overwriting).
//!
//! Applying a plan never edits the environment directory in place: [`stage`] builds the complete
//! new directory beside it (`.appkit-new-<pid>-…` in the same parent: new and changed files
//! written, unchanged ones hard-linked, and everything render did not generate — other files,
//! subdirectories, links — carried over as hard links), and [`Staged::commit`] switches it in with
//! one rename ([`crate::fsutil::replace_dir`]). A failure while staging (a full disk) or a kill
//! leaves the previous directory exactly as it was; a killed run's staging directory is swept by
//! the next run. Two renders into one directory are serialised by [`lock`] on
//! [`RENDER_LOCK`] beside the directory, never inside it.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::fsutil::FileLock;

use super::render::{EnvRender, ReleaseIdentity};
use super::{FluxError, GENERATED_MARKER};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Remove,
}

#[derive(Debug, Clone)]
pub struct FileChange {
    pub path: PathBuf,
    pub action: Action,
    /// What is on disk now (None for new files).
    pub old: Option<String>,
    /// What render produces (None for removed files).
    pub new: Option<String>,
    /// For a removed file: the Helm releases of its HelmReleases, which Flux uninstalls once the
    /// file is gone from the cluster's source (empty for any other change).
    pub uninstalls: Vec<Uninstall>,
}

/// A Helm release Flux uninstalls because the HelmRelease managing it is pruned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Uninstall {
    /// The Helm release name (`spec.releaseName`, else Flux's default).
    pub release: String,
    /// The namespace the release is installed in (`spec.targetNamespace`, else the
    /// HelmRelease's own namespace).
    pub namespace: String,
}

impl Uninstall {
    /// `Flux will uninstall release app3 in namespace app3`.
    pub fn sentence(&self) -> String {
        format!(
            "Flux will uninstall release {} in namespace {}",
            self.release, self.namespace
        )
    }
}

#[derive(Debug, Clone)]
pub struct PlanWarning {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct EnvPlan {
    pub env: String,
    pub out_dir: PathBuf,
    /// Sorted by path.
    pub changes: Vec<FileChange>,
    /// Warnings about files (e.g. a HelmRelease whose release identity changes).
    pub warnings: Vec<PlanWarning>,
    /// Entries of the directory that render did not generate (other files, subdirectories,
    /// links; appkit's temp entries excepted), sorted: kept as they are.
    pub kept: Vec<String>,
}

impl EnvPlan {
    /// True when applying the plan would change anything on disk.
    pub fn drifted(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::Unchanged)
    }
}

/// Compare one environment's render with its output directory.
pub fn plan(render: &EnvRender) -> Result<EnvPlan, FluxError> {
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    for (name, new) in &render.files {
        let path = render.out_dir.join(name);
        let old = read_optional(&path)?;
        let action = match &old {
            None => Action::Create,
            Some(o) if !o.starts_with(GENERATED_MARKER) => {
                return Err(FluxError::NotGenerated { path })
            }
            Some(o) if o == new => Action::Unchanged,
            Some(_) => Action::Update,
        };
        // Only a changed file can change the release identity (skips parsing unchanged files).
        if let (Action::Update, Some(o), Some(identity)) = (action, &old, render.releases.get(name))
        {
            if let Some(message) = reinstall_warning(o, identity) {
                warnings.push(PlanWarning {
                    path: path.clone(),
                    message,
                });
            }
        }
        changes.push(FileChange {
            path,
            action,
            old,
            new: Some(new.clone()),
            uninstalls: Vec::new(),
        });
    }
    for path in generated_files(&render.out_dir)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !render.files.contains_key(name) {
            let old = read_optional(&path)?;
            let uninstalls = old.as_deref().map(uninstalls).unwrap_or_default();
            changes.push(FileChange {
                path,
                action: Action::Remove,
                old,
                new: None,
                uninstalls,
            });
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    let kept = unmanaged_entries(&render.out_dir, &changes)?
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".appkit-"))
        .collect();
    Ok(EnvPlan {
        env: render.env.clone(),
        out_dir: render.out_dir.clone(),
        changes,
        warnings,
        kept,
    })
}

/// The lock file two renders into `out_dir` share: [`RENDER_LOCK`] in its parent directory, so it
/// is never inside what render writes, lists, prunes or compares.
pub fn lock_path(out_dir: &Path) -> PathBuf {
    parent_dir(out_dir).join(RENDER_LOCK)
}

/// The name of the render lock file (present only while a render holds it).
pub const RENDER_LOCK: &str = ".appkit-render.lock";

/// The render locks a run holds ([`lock`]). Dropping them releases the locks, then removes the
/// directories taken only to hold a lock file when the run left them empty (a render that failed
/// before writing anything leaves no empty directories).
#[derive(Debug)]
pub struct RenderLocks {
    locks: Vec<FileLock>,
    created: Vec<PathBuf>,
}

impl Drop for RenderLocks {
    fn drop(&mut self) {
        self.locks.clear();
        for d in self.created.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    }
}

/// Take the render locks of every directory in `out_dirs`, in one order (sorted real paths), so
/// two renders of overlapping environments cannot deadlock. `check`: a read-only run (a missing
/// parent needs no lock: there is nothing to read; a lock that cannot be created — a read-only
/// checkout — is skipped).
pub fn lock(out_dirs: &[&Path], check: bool) -> Result<RenderLocks, FluxError> {
    let mut held = RenderLocks {
        locks: Vec::new(),
        created: Vec::new(),
    };
    let mut parents = Vec::new();
    for d in out_dirs {
        let parent = parent_dir(d);
        if !check {
            let missing: Vec<PathBuf> = parent
                .ancestors()
                .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
                .map(Path::to_path_buf)
                .collect();
            fs::create_dir_all(parent).map_err(|source| FluxError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
            held.created.extend(missing.into_iter().rev());
        }
        if let Ok(real) = fs::canonicalize(parent) {
            parents.push(real);
        }
    }
    parents.sort();
    parents.dedup();
    for p in parents {
        let path = p.join(RENDER_LOCK);
        // A run that just released this lock may have removed the (empty) directory it made.
        let mut tries = 0;
        let lock = loop {
            match FileLock::acquire(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !check && tries < 100 => {
                    tries += 1;
                    let _ = fs::create_dir_all(&p);
                }
                other => break other,
            }
        };
        match lock {
            Ok(l) => held.locks.push(l),
            Err(_) if check => {}
            Err(source) => return Err(FluxError::Lock { path, source }),
        }
    }
    Ok(held)
}

fn parent_dir(dir: &Path) -> &Path {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Names in `dir` that `changes` (the generated files, written or pruned) do not cover.
fn unmanaged_entries(dir: &Path, changes: &[FileChange]) -> Result<Vec<OsString>, FluxError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(FluxError::Read {
                path: dir.into(),
                source,
            })
        }
    };
    let managed: std::collections::HashSet<&std::ffi::OsStr> =
        changes.iter().filter_map(|c| c.path.file_name()).collect();
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| FluxError::Read {
            path: dir.into(),
            source,
        })?;
        let name = entry.file_name();
        if !managed.contains(name.as_os_str()) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Apply `plan`: stage the new directory and switch it in ([`stage`], [`Staged::commit`]).
/// Nothing happens when nothing changed.
pub fn apply(plan: &EnvPlan) -> Result<(), FluxError> {
    if let Some(staged) = stage(plan)? {
        staged.commit()?;
    }
    Ok(())
}

/// An environment's complete new directory, beside the current one, ready to be switched in.
#[derive(Debug)]
pub struct Staged {
    dir: tempfile::TempDir,
    out_dir: PathBuf,
}

/// Build the new directory of `plan`'s environment next to it (`None` when nothing changes).
/// New and changed files are written; unchanged ones are hard-linked from the current directory;
/// everything render did not generate is carried over (hard links; directories recreated; links
/// copied as links). Any failure removes the staging directory and leaves the current one alone.
pub fn stage(plan: &EnvPlan) -> Result<Option<Staged>, FluxError> {
    if !plan.drifted() {
        return Ok(None);
    }
    // A symlinked environment directory: the directory it names is the one replaced.
    let out_dir = match fs::symlink_metadata(&plan.out_dir) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(&plan.out_dir).map_err(|source| FluxError::Read {
                path: plan.out_dir.clone(),
                source,
            })?
        }
        _ => plan.out_dir.clone(),
    };
    let parent = parent_dir(&out_dir);
    let fail = |path: &Path, source: std::io::Error| FluxError::Stage {
        out_dir: plan.out_dir.clone(),
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(parent).map_err(|e| fail(parent, e))?;
    // Staging directories of killed runs (and, inside, temp files of older per-file writes).
    crate::fsutil::sweep_stale(parent);
    crate::fsutil::sweep_stale(&out_dir);
    let dir = tempfile::Builder::new()
        .prefix(&crate::fsutil::temp_prefix("new"))
        .tempdir_in(parent)
        .map_err(|e| fail(parent, e))?;
    let staged = dir.path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // tempfile makes it 0700; the environment directory keeps its mode (new: 0755).
        let mode = fs::metadata(&out_dir).map_or(0o755, |m| m.permissions().mode() & 0o7777);
        fs::set_permissions(staged, fs::Permissions::from_mode(mode))
            .map_err(|e| fail(staged, e))?;
    }
    for name in unmanaged_entries(&out_dir, &plan.changes)? {
        link_tree(&out_dir.join(&name), &staged.join(&name)).map_err(|(p, e)| fail(&p, e))?;
    }
    let files: Vec<&FileChange> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Remove)
        .collect();
    let write = |c: &FileChange| -> Result<(), FluxError> {
        let Some(name) = c.path.file_name() else {
            return Ok(());
        };
        let (from, to) = (out_dir.join(name), staged.join(name));
        if c.action == Action::Unchanged && fs::hard_link(&from, &to).is_ok() {
            return Ok(());
        }
        let new = c.new.as_deref().unwrap_or_default();
        fs::write(&to, new).map_err(|e| fail(&to, e))?;
        if c.action == Action::Update {
            // Keep the mode the file had.
            if let Ok(m) = fs::metadata(&from) {
                fs::set_permissions(&to, m.permissions()).map_err(|e| fail(&to, e))?;
            }
        }
        Ok(())
    };
    // A few threads for large environments: each file is a create, write and close.
    crate::par::map_chunks(&files, 64, |part| {
        vec![part.iter().try_for_each(|c| write(c))]
    })
    .into_iter()
    .collect::<Result<(), FluxError>>()?;
    Ok(Some(Staged { dir, out_dir }))
}

impl Staged {
    /// Switch the staged directory in, in one rename; the previous one is removed.
    pub fn commit(self) -> Result<(), FluxError> {
        let staged = self.dir.keep();
        crate::fsutil::replace_dir(&staged, &self.out_dir).map_err(|source| {
            let _ = fs::remove_dir_all(&staged);
            FluxError::Switch {
                out_dir: self.out_dir.clone(),
                source,
            }
        })
    }
}

/// Recreate `from` at `to` without copying data: files (and other non-directories) hard-linked,
/// directories made anew with the same mode, symbolic links copied as links; a file that cannot
/// be linked is copied. On error, the path that failed.
fn link_tree(from: &Path, to: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    let meta = fs::symlink_metadata(from).map_err(|e| (from.to_path_buf(), e))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(from).map_err(|e| (from.to_path_buf(), e))?;
        #[cfg(unix)]
        return std::os::unix::fs::symlink(&target, to).map_err(|e| (to.to_path_buf(), e));
        #[cfg(not(unix))]
        return fs::copy(from, to)
            .map(drop)
            .map_err(|e| (to.to_path_buf(), e));
    }
    if ft.is_dir() {
        fs::create_dir(to).map_err(|e| (to.to_path_buf(), e))?;
        fs::set_permissions(to, meta.permissions()).map_err(|e| (to.to_path_buf(), e))?;
        for entry in fs::read_dir(from).map_err(|e| (from.to_path_buf(), e))? {
            let entry = entry.map_err(|e| (from.to_path_buf(), e))?;
            link_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    match fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(_) if ft.is_file() => fs::copy(from, to)
            .map(drop)
            .map_err(|e| (to.to_path_buf(), e)),
        Err(e) => Err((to.to_path_buf(), e)),
    }
}

/// A unified diff of one change (`--- a/path` / `+++ b/path`; `/dev/null` for new/removed files);
/// empty for unchanged files. `shown` is the path as the user should see it.
pub fn unified_diff(change: &FileChange, shown: &str) -> String {
    if change.action == Action::Unchanged {
        return String::new();
    }
    let old = change.old.as_deref().unwrap_or("");
    let new = change.new.as_deref().unwrap_or("");
    let from = if change.old.is_some() {
        format!("a/{shown}")
    } else {
        "/dev/null".into()
    };
    let to = if change.new.is_some() {
        format!("b/{shown}")
    } else {
        "/dev/null".into()
    };
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &to)
        .to_string()
}

fn read_optional(path: &Path) -> Result<Option<String>, FluxError> {
    // Bounded, never a FIFO: a rendered file is a few KiB.
    match crate::fsutil::read_limited(path, crate::values::yaml::MAX_FILE_BYTES) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FluxError::Read {
            path: path.into(),
            source,
        }),
    }
}

/// `*.yaml` files directly in `dir` that start with the generated marker (sorted).
fn generated_files(dir: &Path) -> Result<Vec<PathBuf>, FluxError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(FluxError::Read {
                path: dir.into(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| FluxError::Read {
            path: dir.into(),
            source,
        })?;
        let path = entry.path();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if !is_file || path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        if starts_with_marker(&path).map_err(|source| FluxError::Read {
            path: path.clone(),
            source,
        })? {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn starts_with_marker(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut buf = vec![0u8; GENERATED_MARKER.len()];
    let mut f = std::fs::File::open(path)?;
    let mut read = 0;
    while read < buf.len() {
        let n = f.read(&mut buf[read..])?;
        if n == 0 {
            return Ok(false);
        }
        read += n;
    }
    Ok(buf == GENERATED_MARKER.as_bytes())
}

/// When the committed HelmRelease names another release identity than the new render, Flux will
/// uninstall the old release and install a new one (downtime, lost release history).
/// The Helm releases of the HelmReleases in a generated file (what pruning it uninstalls). Flux's
/// defaults: the release name is `spec.releaseName`, else `<targetNamespace>-<name>` when a target
/// namespace is set, else `metadata.name`; the namespace is `spec.targetNamespace`, else the
/// HelmRelease's. A file that does not parse names none.
fn uninstalls(old_text: &str) -> Vec<Uninstall> {
    let Ok(docs) = serde_saphyr::from_multiple::<Value>(old_text) else {
        return Vec::new();
    };
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    docs.iter()
        .filter(|d| d["kind"] == "HelmRelease")
        .filter_map(|d| {
            let meta = d.get("metadata")?;
            let name = text(meta, "name")?;
            let own_ns = text(meta, "namespace").unwrap_or_else(|| "default".into());
            let spec = d.get("spec").cloned().unwrap_or(Value::Null);
            let target = text(&spec, "targetNamespace");
            let release = text(&spec, "releaseName").unwrap_or_else(|| match &target {
                Some(t) => format!("{t}-{name}"),
                None => name.clone(),
            });
            Some(Uninstall {
                release,
                namespace: target.unwrap_or(own_ns),
            })
        })
        .collect()
}

fn reinstall_warning(old_text: &str, new: &ReleaseIdentity) -> Option<String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(old_text).ok()?;
    let spec = docs
        .iter()
        .find(|d| d["kind"] == "HelmRelease")?
        .get("spec")?;
    let field = |k: &str| {
        spec.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut changed = Vec::new();
    for (key, new_value) in [
        ("releaseName", &new.release_name),
        ("targetNamespace", &new.target_namespace),
        ("storageNamespace", &new.storage_namespace),
    ] {
        let old_value = field(key);
        if &old_value != new_value {
            changed.push(format!("{key} {old_value:?} → {new_value:?}"));
        }
    }
    if changed.is_empty() {
        return None;
    }
    Some(format!(
        "{}; Flux will uninstall the existing release and install a new one (the app is down meanwhile and its release history is lost)",
        changed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env_render(dir: &Path, files: &[(&str, &str)]) -> EnvRender {
        EnvRender {
            env: "dev".into(),
            out_dir: dir.to_path_buf(),
            files: files
                .iter()
                .map(|(n, c)| (n.to_string(), c.to_string()))
                .collect(),
            releases: BTreeMap::new(),
        }
    }

    #[test]
    fn plans_create_update_unchanged_and_prunes_only_generated_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let gen = |body: &str| format!("{GENERATED_MARKER} (test)\n{body}");
        std::fs::write(d.join("same.yaml"), gen("a: 1\n")).unwrap();
        std::fs::write(d.join("changed.yaml"), gen("a: 1\n")).unwrap();
        std::fs::write(d.join("gone.yaml"), gen("a: 1\n")).unwrap();
        std::fs::write(d.join("mine.yaml"), "# hand-written\n").unwrap();
        std::fs::write(d.join("notes.txt"), gen("")).unwrap();
        let r = env_render(
            d,
            &[
                ("same.yaml", &gen("a: 1\n")),
                ("changed.yaml", &gen("a: 2\n")),
                ("new.yaml", &gen("")),
            ],
        );
        let p = plan(&r).unwrap();
        let got: Vec<(String, Action)> = p
            .changes
            .iter()
            .map(|c| {
                (
                    c.path.file_name().unwrap().to_string_lossy().into_owned(),
                    c.action,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("changed.yaml".into(), Action::Update),
                ("gone.yaml".into(), Action::Remove),
                ("new.yaml".into(), Action::Create),
                ("same.yaml".into(), Action::Unchanged),
            ]
        );
        assert!(p.drifted());
        let diff = unified_diff(&p.changes[0], "out/changed.yaml");
        assert!(
            diff.starts_with("--- a/out/changed.yaml\n+++ b/out/changed.yaml\n"),
            "{diff}"
        );
        assert!(diff.contains("-a: 1\n+a: 2\n"), "{diff}");
        assert!(unified_diff(&p.changes[1], "gone.yaml").contains("+++ /dev/null"));
        apply(&p).unwrap();
        assert!(!d.join("gone.yaml").exists());
        assert!(d.join("mine.yaml").exists() && d.join("notes.txt").exists());
        assert!(!plan(&r).unwrap().drifted());
    }

    #[test]
    fn refuses_to_overwrite_a_hand_written_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app1.yaml"), "kind: Mine\n").unwrap();
        let r = env_render(dir.path(), &[("app1.yaml", "x")]);
        assert!(matches!(plan(&r), Err(FluxError::NotGenerated { .. })));
    }

    #[test]
    fn a_pruned_helmrelease_names_the_release_flux_uninstalls() {
        let old = "# c\nkind: OCIRepository\n---\nkind: HelmRelease\nmetadata:\n  name: app3\n  namespace: flux-system\nspec:\n  releaseName: app3\n  targetNamespace: app3-ns\n";
        assert_eq!(
            uninstalls(old),
            vec![Uninstall {
                release: "app3".into(),
                namespace: "app3-ns".into()
            }]
        );
        // Flux's defaults without releaseName / targetNamespace.
        let bare = "kind: HelmRelease\nmetadata:\n  name: x\n  namespace: team\nspec:\n  targetNamespace: t\n---\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: team\n";
        let got: Vec<(String, String)> = uninstalls(bare)
            .into_iter()
            .map(|u| (u.release, u.namespace))
            .collect();
        assert_eq!(
            got,
            [("t-x".into(), "t".into()), ("web".into(), "team".into())]
        );
        assert!(uninstalls("kind: Kustomization\n").is_empty());
        assert!(uninstalls(": : not yaml [").is_empty());
        assert_eq!(
            uninstalls(old)[0].sentence(),
            "Flux will uninstall release app3 in namespace app3-ns"
        );
    }

    #[test]
    fn reinstall_warning_names_the_changed_fields() {
        let old = "# c\nkind: OCIRepository\n---\nkind: HelmRelease\nspec:\n  releaseName: app1\n  targetNamespace: app1\n  storageNamespace: app1\n";
        let same = ReleaseIdentity {
            release_name: "app1".into(),
            target_namespace: "app1".into(),
            storage_namespace: "app1".into(),
        };
        assert!(reinstall_warning(old, &same).is_none());
        let moved = ReleaseIdentity {
            target_namespace: "team-a".into(),
            storage_namespace: "team-a".into(),
            ..same
        };
        let w = reinstall_warning(old, &moved).unwrap();
        assert!(
            w.contains("targetNamespace \"app1\" → \"team-a\", storageNamespace"),
            "{w}"
        );
        assert!(w.contains("uninstall"), "{w}");
    }
}
