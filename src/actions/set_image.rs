//! `set-image`: write an app's image digest — from the build platform — into its values, in
//! place. The steps:
//!
//! 1. **Target** ([`target`]): the file (`apps/<app>/values.yaml`, or with an environment its
//!    overlay `values.<env>.yaml`, created when missing) and the app's `image.repository` and
//!    `image.tag` as its files give them in that environment.
//! 2. **Digest**, from one of three sources: given (`--digest`); the Buildpacks lifecycle's
//!    `report.toml` ([`from_report`]: every exported tag must name the app's repository); or
//!    the registry ([`resolve`]: the tag's index or manifest digest). Each is checked to be
//!    `sha256:` + 64 lower-case hex digits (the chart schema's `image.digest`).
//! 3. **Splice** `image.digest` into the file's text ([`crate::yamlsplice`], comments kept),
//!    then **validate** the app with the new text in every environment it affects (the base file:
//!    all; an overlay: its environment), exactly as `validate` would: an error there and nothing
//!    is written.
//! 4. **Write** atomically (or nothing when the digest is already there).
//!
//! The values path is the shared chart's convention (`image.repository`, `image.tag`,
//! `image.digest`; `chart/values.schema.json`). Owns: those steps. Does not own: opening the
//! registry (the command does, with the registry flags) or printing. Never prints.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _, Result};
use serde_json::Value;

use super::file_write::{refused_edit, FileWrite};
use crate::diagnostics::{self, Diagnostic};
use crate::error::{Hinted, Invalid};
use crate::pack_report::Report;
use crate::values::Validator;
use crate::workspace::{self, Workspace};
use crate::yamlsplice::{self, Edit, Value as SpliceValue};

/// The values path of the image digest (and its neighbours) in the shared chart.
pub const DIGEST_PATH: [&str; 2] = ["image", "digest"];

/// Where the digest goes and what the app's files say about its image.
#[derive(Debug, Clone)]
pub struct Target {
    pub app: String,
    pub env: Option<String>,
    /// The file written.
    pub file: PathBuf,
    /// Its text now (`None`: the overlay does not exist yet).
    pub old: Option<String>,
    /// `image.repository` and `image.tag` of the app's files in `env` (base merged with overlay).
    pub repository: Option<String>,
    pub tag: Option<String>,
    /// `image.digest` there now.
    pub digest: Option<String>,
}

/// Where the digest came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Given,
    PackReport(PathBuf),
    Registry(String),
}

#[derive(Debug)]
pub struct Outcome {
    pub target: Target,
    pub digest: String,
    pub source: Source,
    /// `None`: the file already holds this digest; nothing was written.
    pub write: Option<FileWrite>,
    /// Validation warnings of the result (errors refuse the write).
    pub warnings: Vec<Diagnostic>,
}

/// Step 1: the file and what the app's files say about its image.
pub fn target(ws: &Workspace, app: &str, env: Option<&str>) -> Result<Target> {
    let apps = ws.apps()?;
    if !apps.iter().any(|a| a == app) {
        return Err(Hinted::new(
            anyhow!("no app {app} in {}", ws.display(&ws.config().apps_dir())),
            format!("the apps are: {}", apps.join(", ")),
        )
        .into());
    }
    if let Some(e) = env {
        ws.select_envs(&[e.to_string()])?;
    }
    let dir = ws.app_dir(app);
    let file = match env {
        Some(e) => dir.join(workspace::overlay_name(e)),
        None => dir.join(workspace::VALUES_FILE),
    };
    let old =
        match crate::fsutil::read_to_string_limited(&file, crate::values::yaml::MAX_FILE_BYTES) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && env.is_some() => None,
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot read {}", ws.display(&file)))
                )
            }
        };
    let values = crate::values::app_overlay_values(&dir, env)
        .map_err(|e| anyhow::Error::new(Invalid::new(e.to_string())))?;
    let get = |k: &str| {
        values
            .pointer(&format!("/image/{k}"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Target {
        app: app.into(),
        env: env.map(str::to_string),
        file,
        old,
        repository: get("repository"),
        tag: get("tag"),
        digest: get("digest"),
    })
}

/// An image digest as the chart takes it: `sha256:` and 64 lower-case hex digits.
pub fn check_digest(d: &str) -> Result<(), Invalid> {
    let ok = d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64 && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    });
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{d}` is not an image digest: expected sha256: followed by 64 characters 0-9/a-f"
        ))
        .with_hint("copy the digest the build printed (or use --from-pack-report / --resolve)"))
    }
}

/// Step 2, from a Buildpacks `report.toml`: its digest, when every exported tag is the app's
/// repository.
pub fn from_report(t: &Target, path: &std::path::Path, shown: &str) -> Result<String> {
    let report = Report::load(path).map_err(|e| anyhow::Error::new(Invalid::new(e.to_string())))?;
    let Some(repo) = t.repository.as_deref() else {
        return Err(no_repository(t));
    };
    let exported = report.exported();
    if exported.is_empty() {
        return Err(Invalid::new(format!("{shown}: the report names no image tags")).into());
    }
    let other: Vec<&str> = report
        .image
        .tags
        .iter()
        .zip(&exported)
        .filter(|(_, e)| e.repository != repo)
        .map(|(name, _)| name.as_str())
        .collect();
    if !other.is_empty() {
        return Err(Invalid::new(format!(
            "{shown} is the build of another image: it names {} but {}'s image.repository is {repo}",
            other.join(", "),
            t.app
        ))
        .with_hint("pass the report of this app's build, or fix image.repository in its values")
        .into());
    }
    let digest = report.image.digest.ok_or_else(|| {
        Invalid::new(format!(
            "{shown} has no image digest (image.digest): the image was not pushed to a registry"
        ))
        .with_hint("build with `pack build --publish` (or the lifecycle exporting to a registry)")
    })?;
    check_digest(&digest)?;
    Ok(digest)
}

/// Step 2, from the registry: the reference `oci://<repository>:<tag>` to resolve.
pub fn registry_reference(t: &Target) -> Result<String> {
    let Some(repo) = t.repository.as_deref() else {
        return Err(no_repository(t));
    };
    let Some(tag) = t.tag.as_deref() else {
        return Err(Invalid::new(format!(
            "{} has no image.tag{}: there is nothing to resolve",
            t.app,
            t.env
                .as_deref()
                .map_or(String::new(), |e| format!(" in {e}"))
        ))
        .with_hint("set image.tag to the tag the build pushed, or pass --digest")
        .into());
    };
    Ok(format!("oci://{repo}:{tag}"))
}

/// Step 2, from the registry: the tag's digest (its index when multi-platform).
pub async fn resolve(repo: &crate::oci::repository::Repository, reference: &str) -> Result<String> {
    let tag = reference.rsplit_once(':').map_or("", |(_, t)| t);
    let digest = repo
        .resolve_image(tag)
        .await?
        .ok_or_else(|| Invalid::new(format!("{reference} does not exist in the registry")))?;
    check_digest(&digest)?;
    Ok(digest)
}

fn no_repository(t: &Target) -> anyhow::Error {
    Invalid::new(format!("{} has no image.repository in its values", t.app))
        .with_hint("set image.repository (e.g. harbor.example.com/apps/<app>) first")
        .into()
}

/// Steps 3 and 4: splice, validate, write.
pub fn apply(
    ws: &Workspace,
    target: Target,
    digest: String,
    source: Source,
    dry_run: bool,
) -> Result<Outcome> {
    check_digest(&digest)?;
    let shown = ws.display(&target.file);
    let old = target.old.clone().unwrap_or_default();
    let path: Vec<&str> = DIGEST_PATH.to_vec();
    let name = target
        .file
        .file_name()
        .map_or("values.yaml".into(), |n| n.to_string_lossy().into_owned());
    let new = yamlsplice::splice(
        &old,
        &[Edit::set(&path, SpliceValue::Text(digest.clone()))],
        &name,
    )
    .map_err(|u| {
        refused_edit(
            &u,
            &target.file,
            &old,
            &shown,
            "set-image",
            format!("set it by hand:\nimage:\n  digest: {digest}"),
        )
    })?;
    if target.old.as_deref() == Some(new.as_str()) {
        return Ok(Outcome {
            target,
            digest,
            source,
            write: None,
            warnings: Vec::new(),
        });
    }
    let warnings = validate(ws, &target, &new)?;
    let write = FileWrite {
        path: target.file.clone(),
        old: target.old.clone(),
        new,
    };
    if !dry_run {
        crate::fsutil::write_atomic(&write.path, write.new.as_bytes())
            .with_context(|| format!("cannot write {shown}"))?;
    }
    Ok(Outcome {
        target,
        digest,
        source,
        write: Some(write),
        warnings,
    })
}

/// Validate the app with `text` in place of its file, in every environment that file is part of:
/// errors refuse (exit 1, with the diagnostics), warnings are returned.
fn validate(ws: &Workspace, t: &Target, text: &str) -> Result<Vec<Diagnostic>> {
    let loaded = ws.config();
    let validator = Validator::new(loaded).with_context(|| {
        format!(
            "cannot load the chart at {}",
            ws.display(&loaded.chart_dir())
        )
    })?;
    let dir = ws.app_dir(&t.app);
    // The new text beside the real file (inside the apps directory, as validate requires).
    let mut staged = tempfile::Builder::new()
        .prefix(&crate::fsutil::temp_prefix("tmp"))
        .suffix(".yaml")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot stage the edit in {}", ws.display(&dir)))?;
    std::io::Write::write_all(&mut staged, text.as_bytes())
        .with_context(|| format!("cannot stage the edit in {}", ws.display(&dir)))?;
    let envs: Vec<Option<String>> = match &t.env {
        Some(e) => vec![Some(e.clone())],
        None => {
            let all: Vec<Option<String>> = loaded
                .config
                .environments
                .keys()
                .cloned()
                .map(Some)
                .collect();
            if all.is_empty() {
                vec![None]
            } else {
                all
            }
        }
    };
    let mut diags = Vec::new();
    for env in &envs {
        let mut files = ws.app_files(&t.app, env.as_deref());
        match files.iter_mut().find(|f| **f == t.file) {
            Some(f) => *f = staged.path().to_path_buf(),
            None => files.push(staged.path().to_path_buf()),
        }
        for mut d in validator.validate_files(&t.app, &files, env.as_deref()) {
            if let Some(l) = d.location.as_mut() {
                if l.file == staged.path() {
                    l.file = t.file.clone();
                }
            }
            if d.app.is_none() {
                d.app = Some(t.app.clone());
                d.env.clone_from(env);
            }
            diags.push(d);
        }
    }
    diagnostics::sort_dedup(&mut diags);
    let (errors, warnings): (Vec<_>, Vec<_>) = diags.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        let n = errors.len();
        return Err(Invalid::new(format!(
            "{} would not validate with the new digest ({n} error{}); nothing was written",
            t.app,
            if n == 1 { "" } else { "s" }
        ))
        .with_hint("fix the errors above (`helm appkit validate` shows them too), then set the image again")
        .with_diagnostics(errors)
        .into());
    }
    Ok(warnings)
}
