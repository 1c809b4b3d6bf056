//! A render compared with the files on disk: which files are new, changed, unchanged or to be
//! pruned, and which HelmReleases would make Flux uninstall and reinstall a release. The same
//! plan is either applied (atomic writes, then removals) or shown as a unified diff (`--check`).
//!
//! Safety rules: a file in the output directory is only ever overwritten or removed when it starts
//! with [`super::GENERATED_MARKER`]; anything else there is left alone (and blocks overwriting).

use std::path::{Path, PathBuf};

use serde_json::Value;

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
        });
    }
    for path in generated_files(&render.out_dir)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !render.files.contains_key(name) {
            let old = read_optional(&path)?;
            changes.push(FileChange {
                path,
                action: Action::Remove,
                old,
                new: None,
            });
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(EnvPlan {
        env: render.env.clone(),
        out_dir: render.out_dir.clone(),
        changes,
        warnings,
    })
}

/// Write new and changed files atomically, then remove pruned ones.
pub fn apply(plan: &EnvPlan) -> Result<(), FluxError> {
    // App files first (in parallel for large environments: each atomic write is a temp-file
    // create, write and rename, and a few threads overlap those syscalls), then the
    // kustomization that lists them, then removals — so an interrupted run never leaves a
    // kustomization.yaml naming a file that is not there.
    let is_kustomization = |c: &FileChange| {
        c.path
            .file_name()
            .is_some_and(|n| n == "kustomization.yaml")
    };
    let writes: Vec<&FileChange> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Update))
        .collect();
    let (last, first): (Vec<&FileChange>, Vec<&FileChange>) =
        writes.into_iter().partition(|c| is_kustomization(c));
    write_all(&first)?;
    write_all(&last)?;
    for c in &plan.changes {
        if c.action == Action::Remove {
            match std::fs::remove_file(&c.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(FluxError::Remove {
                        path: c.path.clone(),
                        source,
                    })
                }
            }
        }
    }
    Ok(())
}

/// Write files with [`crate::fsutil::write_atomic`] on a few threads ([`crate::par`]); the
/// first error wins.
fn write_all(changes: &[&FileChange]) -> Result<(), FluxError> {
    let write = |c: &FileChange| match &c.new {
        Some(new) => crate::fsutil::write_atomic(&c.path, new.as_bytes()).map_err(|source| {
            FluxError::Write {
                path: c.path.clone(),
                source,
            }
        }),
        None => Ok(()),
    };
    crate::par::map_chunks(changes, 2, |part| {
        vec![part.iter().try_for_each(|c| write(c))]
    })
    .into_iter()
    .collect()
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
