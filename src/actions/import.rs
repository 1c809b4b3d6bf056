//! Import: turn a platform team's hand-written Flux files into apps of this platform repo — the
//! inverse of render. For each `HelmRelease` of the files given ([`manifest`]):
//!
//! 1. its inline values become `apps/<app>/values.yaml`, or, when that file exists and the
//!    release's environment is known, an overlay `values.<env>.yaml` holding only what differs
//!    ([`diff::overlay`]); the environment is `--env`, else the one whose `output` directory
//!    holds the file;
//! 2. its release name (Flux's `[targetNamespace-]name` rule), namespace and `dependsOn` become
//!    `apps.settings.<app>` in `appkit.yaml` where appkit's defaults differ, spliced into the
//!    file's text so comments and layout stay ([`splice`]);
//! 3. what the release's values and an existing values file (or appkit.yaml's settings) disagree
//!    on is **drift**: nothing is written for that app and every differing path is reported,
//!    unless `--prefer release` (the release wins) or `--prefer file` (the files win);
//! 4. everything appkit renders differently or not at all (`valuesFrom`, version ranges,
//!    `postRenderers`, a storage namespace that makes Flux reinstall, …) is reported per app with
//!    file:line; inline secrets are reported (never printed) and left out of the written file.
//!
//! Everything is decided in memory first; files are written only after the edited `appkit.yaml`
//! re-loads to exactly the config expected. Each file is written atomically (`crate::fsutil`),
//! `appkit.yaml` first (settings without values files name no app; values without their release
//! name would make Flux reinstall). A dry run decides the same and writes nothing.
//!
//! Validation of the imported apps ([`validate_imported`]) runs on the written files, with the
//! re-loaded workspace; its diagnostics are "what must change to pass validation" and do not fail
//! the import. Never prints.

mod diff;
mod manifest;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::Value;

/// A value of a setting.
pub use super::file_write::{FileAction, FileWrite};
pub use crate::yamlsplice::Value as SettingValue;

/// Set `apps.settings.<app>.<key>` to `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub app: String,
    /// `namespace`, `releaseName` or `dependsOn`.
    pub key: &'static str,
    pub value: SettingValue,
}

impl Edit {
    /// The edit of appkit.yaml's text.
    fn splice(&self) -> crate::yamlsplice::Edit {
        crate::yamlsplice::Edit::set(
            &["apps", "settings", &self.app, self.key],
            self.value.clone(),
        )
    }
}

use crate::config::{Config, Loaded};
use crate::diagnostics::{Diagnostic, Location, SourceFile};
use crate::values::yaml::{self, Node};
use crate::workspace::{self, Workspace, VALUES_FILE};
use manifest::{Inputs, Kind, Release};

/// Which side wins when a release and the existing files disagree (`--prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// Rewrite the values file (and the settings) from the release.
    Release,
    /// Keep the files; import only the settings appkit.yaml does not have yet.
    File,
}

/// What to import.
#[derive(Debug)]
pub struct Request<'a> {
    /// Flux files (multi-document YAML).
    pub files: &'a [PathBuf],
    pub dry_run: bool,
    pub prefer: Option<Prefer>,
    /// The environment the releases run in (`--env`).
    pub env: Option<&'a str>,
}

/// How one app's import ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    /// Something was (or, in a dry run, would be) written.
    Imported,
    /// The files and settings already say what the release says.
    Unchanged,
    /// The release disagrees with the files; nothing written for the app.
    Drift,
    /// appkit.yaml could not be edited safely; nothing written for the app.
    Refused,
    /// The release or the app's files could not be read; nothing written for the app.
    Failed,
}

/// One HelmRelease's import.
#[derive(Debug)]
pub struct AppReport {
    pub app: String,
    pub env: Option<String>,
    /// `file:line` of the HelmRelease.
    pub origin: String,
    pub status: AppStatus,
    /// The values files written for the app.
    pub files: Vec<FileWrite>,
    /// The `appkit.yaml` settings written for the app.
    pub settings: Vec<Edit>,
    /// Everything found about the app: not imported, rendered differently, drift, secrets.
    pub diagnostics: Vec<Diagnostic>,
}

/// What an import found and did.
#[derive(Debug)]
pub struct Outcome {
    pub apps: Vec<AppReport>,
    /// Problems not about one app (unreadable files, other kinds, appkit.yaml refused).
    pub diagnostics: Vec<Diagnostic>,
    /// The edit of `appkit.yaml`, when settings were written.
    pub config: Option<FileWrite>,
    /// The YAML to add to appkit.yaml by hand when it could not be edited.
    pub by_hand: Option<String>,
    pub dry_run: bool,
}

impl Outcome {
    /// Any error: drift, a secret, a refusal, an unreadable file (exit 1).
    pub fn failed(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
            || self
                .apps
                .iter()
                .any(|a| a.diagnostics.iter().any(Diagnostic::is_error))
    }
    /// The app directories of the apps imported or already in sync (what validation checks).
    pub fn app_dirs(&self, ws: &Workspace) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for a in &self.apps {
            if matches!(a.status, AppStatus::Imported | AppStatus::Unchanged) {
                let d = ws.app_dir(&a.app);
                if !dirs.contains(&d) && workspace::is_app_dir(&d) {
                    dirs.push(d);
                }
            }
        }
        dirs
    }
}

pub fn run(ws: &Workspace, req: &Request<'_>) -> Result<Outcome> {
    let loaded = ws.config();
    let env = match req.env {
        Some(e) => ws.select_envs(&[e.to_string()])?.into_iter().next(),
        None => None,
    };
    let inputs = manifest::read(req.files);
    let chart_name = crate::chart::ChartMetadata::load(&loaded.chart_dir())
        .ok()
        .map(|m| m.name)
        .filter(|n| !n.is_empty());
    let ctx = manifest::Context {
        loaded,
        env: env.as_deref(),
        chart_name,
        cwd: ws.cwd(),
    };
    let mut global = inputs.diagnostics.clone();
    let mut releases = Vec::new();
    for (file, doc) in &inputs.docs {
        match manifest::kind(doc) {
            Kind::HelmRelease => match manifest::release(&inputs, *file, doc, &ctx) {
                Ok(mut r) => {
                    for d in std::mem::take(&mut r.source_diagnostics) {
                        if !global.contains(&d) {
                            global.push(d);
                        }
                    }
                    releases.push(r)
                }
                Err(d) => global.push(*d),
            },
            Kind::Source | Kind::FileList => {}
            Kind::Other(what) => global.push(
                Diagnostic::warning(
                    "not-imported",
                    format!("{what} is not imported: import reads HelmReleases and the HelmRepository / OCIRepository they use"),
                )
                .at(inputs.loc(doc.pos)),
            ),
        }
    }
    if releases.is_empty() && !global.iter().any(Diagnostic::is_error) {
        global.push(
            Diagnostic::error("import", "no HelmRelease in the files given")
                .help("pass the files holding the HelmReleases (helm.toolkit.fluxcd.io v2, v2beta2 or v2beta1)"),
        );
    }

    let repo_root = std::fs::canonicalize(&loaded.root).unwrap_or_else(|_| loaded.root.clone());
    let mut planner = Planner {
        ws,
        loaded,
        inputs: &inputs,
        prefer: req.prefer,
        repo_root,
        files: HashMap::new(),
        settings: BTreeMap::new(),
        seen: HashMap::new(),
        imported: releases.iter().map(|r| r.app.clone()).collect(),
    };
    let mut apps: Vec<AppReport> = releases.into_iter().map(|r| planner.plan(r)).collect();

    // appkit.yaml: every accepted app's settings, in one splice, re-loaded before anything is
    // written.
    let mut edits: Vec<Edit> = Vec::new();
    for a in apps.iter().filter(|a| a.status == AppStatus::Imported) {
        edits.extend(a.settings.iter().cloned());
    }
    let mut config = None;
    let mut by_hand = None;
    if !edits.is_empty() {
        match edit_config(loaded, &edits) {
            Ok(write) => config = Some(write),
            Err(refusal) => {
                let names: Vec<String> = apps
                    .iter()
                    .filter(|a| a.status == AppStatus::Imported && !a.settings.is_empty())
                    .map(|a| a.app.clone())
                    .collect();
                let yaml = settings_by_hand(&edits);
                let mut d = Diagnostic::error(
                    "import-settings",
                    format!(
                        "cannot edit {} safely: {}; nothing was written for {}",
                        ws.display(&loaded.path),
                        refusal.reason,
                        names.join(", ")
                    ),
                )
                .help(format!(
                    "add this to appkit.yaml by hand, then run the import again:\n{}",
                    yaml.trim_end()
                ));
                if let Some(at) = refusal.at {
                    d = d.at(at);
                }
                global.push(d);
                by_hand = Some(yaml);
                for a in apps
                    .iter_mut()
                    .filter(|a| a.status == AppStatus::Imported && !a.settings.is_empty())
                {
                    a.status = AppStatus::Refused;
                    a.files.clear();
                    a.settings.clear();
                }
            }
        }
    }

    let outcome = Outcome {
        apps,
        diagnostics: global,
        config,
        by_hand,
        dry_run: req.dry_run,
    };
    if !req.dry_run {
        write(ws, &outcome)?;
    }
    Ok(outcome)
}

/// Validate the imported apps (their directories) in every environment, exactly as
/// `helm appkit validate` would, with the workspace as it is after the import.
pub fn validate_imported(
    ws: &Workspace,
    outcome: &Outcome,
) -> Result<Option<super::validate::Report>> {
    let dirs = outcome.app_dirs(ws);
    if dirs.is_empty() {
        return Ok(None);
    }
    super::validate::run(
        Some(ws),
        &super::validate::Request {
            inputs: &dirs,
            envs: &[],
            chart: None,
            print_values: false,
        },
    )
    .map(Some)
}

/// Write `appkit.yaml` first, then the values files, each atomically.
fn write(ws: &Workspace, outcome: &Outcome) -> Result<()> {
    let files = outcome.config.iter().chain(
        outcome
            .apps
            .iter()
            .filter(|a| a.status == AppStatus::Imported)
            .flat_map(|a| a.files.iter()),
    );
    for f in files {
        crate::fsutil::write_atomic(&f.path, f.new.as_bytes())
            .with_context(|| format!("cannot write {}", ws.display(&f.path)))?;
    }
    Ok(())
}

/// Decides each release's files and settings, remembering what earlier releases of the run
/// planned (a second environment of an app builds on the first one's values.yaml).
struct Planner<'a> {
    ws: &'a Workspace,
    loaded: &'a Loaded,
    inputs: &'a Inputs,
    prefer: Option<Prefer>,
    repo_root: PathBuf,
    /// Planned file contents.
    files: HashMap<PathBuf, String>,
    /// Settings planned by earlier releases: app → key → (value, origin).
    settings: BTreeMap<String, BTreeMap<&'static str, (SettingValue, String)>>,
    /// (app, env) → origin of the release that imported it.
    seen: HashMap<(String, Option<String>), String>,
    /// The apps of this run.
    imported: Vec<String>,
}

/// An app's existing values file: its text (with secrets) and tree.
struct Existing {
    source: Arc<SourceFile>,
    node: Node,
}

impl Planner<'_> {
    fn plan(&mut self, r: Release) -> AppReport {
        let mut rep = AppReport {
            app: r.app.clone(),
            env: r.env.clone(),
            origin: r.origin.clone(),
            status: AppStatus::Imported,
            files: Vec::new(),
            settings: Vec::new(),
            diagnostics: r.diagnostics.clone(),
        };
        let key = (r.app.clone(), r.env.clone());
        if let Some(first) = self.seen.get(&key) {
            let within = r
                .env
                .as_ref()
                .map_or(String::new(), |e| format!(" for environment {e}"));
            rep.diagnostics.push(
                Diagnostic::error(
                    "import-duplicate",
                    format!("a second HelmRelease {}{within}: the first one, {first}, is imported", r.app),
                )
                .at(r.at.clone())
                .help("import each environment's releases with its own --env, or from its environment's output directory"),
            );
            rep.status = AppStatus::Failed;
            return rep;
        }
        match self.plan_values(&r, &mut rep) {
            Ok(files) => rep.files = files,
            Err(d) => {
                rep.diagnostics.push(*d);
                rep.status = AppStatus::Failed;
                return rep;
            }
        }
        rep.settings = self.plan_settings(&r, &mut rep);
        if rep.status == AppStatus::Failed || rep.status == AppStatus::Drift {
            rep.files.clear();
            rep.settings.clear();
            return rep;
        }
        if rep.files.is_empty() && rep.settings.is_empty() {
            rep.status = AppStatus::Unchanged;
        }
        for f in &rep.files {
            self.files.insert(f.path.clone(), f.new.clone());
        }
        for e in &rep.settings {
            self.settings
                .entry(e.app.clone())
                .or_default()
                .insert(e.key, (e.value.clone(), r.origin.clone()));
        }
        self.seen.insert(key, r.origin.clone());
        for dep in &r.depends_on {
            if !self.imported.contains(dep) && !workspace::is_app_dir(&self.ws.app_dir(dep)) {
                rep.diagnostics.push(
                    Diagnostic::warning(
                        "import",
                        format!("{} depends on {dep:?}, which is not an app of this repo (nor imported now)", r.app),
                    )
                    .at(r.depends_on_at.clone())
                    .help(format!("import {dep}'s HelmRelease too, or render fails on the unknown dependency")),
                );
            }
        }
        rep
    }

    /// The values file to write (none when the files already say what the release says).
    fn plan_values(
        &mut self,
        r: &Release,
        rep: &mut AppReport,
    ) -> Result<Vec<FileWrite>, Box<Diagnostic>> {
        let app_dir = self.ws.app_dir(&r.app);
        let base_path = app_dir.join(VALUES_FILE);
        let base = self.existing(&base_path, 0)?;
        let overlay_path = r
            .env
            .as_ref()
            .map(|e| app_dir.join(workspace::overlay_name(e)));
        let overlay = match &overlay_path {
            Some(p) => self.existing(p, 1)?,
            None => None,
        };
        let release = &r.values;
        let secrets_left_out = &r.secret_paths;
        let header = |what: &str| {
            let mut h = format!(
                "# Imported by `helm appkit import` from {} (HelmRelease {}/{}, spec.values){what}.\n",
                self.origin_in_repo(r),
                r.flux_namespace,
                r.app
            );
            if !secrets_left_out.is_empty() {
                h.push_str(&format!(
                    "# Left out: secrets ({}); the app reads them from the platform's Dapr secret store.\n",
                    secrets_left_out.join(", ")
                ));
            }
            h
        };
        let body = |v: Value| match v {
            Value::Object(m) if m.is_empty() => String::new(),
            v => crate::yamlout::to_yaml(&v, crate::yamlout::Profile::Scaffold),
        };
        let base_header = header(
            ".\n# This is the app's values file now: edit it here, then run `helm appkit validate` and `helm appkit render`",
        );
        let overlay_header = |env: &str| {
            header(&format!(
                ":\n# what environment {env} runs differently from values.yaml (the rest comes from there)"
            ))
        };
        let file_write = |path: &Path, old: Option<&Existing>, new: String| -> Vec<FileWrite> {
            let old_text = old.map(|e| e.source.text.clone());
            if old_text.as_deref() == Some(new.as_str()) {
                return Vec::new();
            }
            vec![FileWrite {
                path: path.to_path_buf(),
                old: old_text,
                new,
            }]
        };
        let Some(base) = base else {
            if let (Some(p), Some(_)) = (&overlay_path, &overlay) {
                return Err(Box::new(
                    Diagnostic::error(
                        "import",
                        format!(
                            "{} exists without {}: cannot tell the app's base values",
                            self.ws.display(p),
                            self.ws.display(&base_path)
                        ),
                    )
                    .at(r.at.clone()),
                ));
            }
            return Ok(file_write(
                &base_path,
                None,
                format!("{base_header}{}", body(release.to_json())),
            ));
        };
        let names = [
            base_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            overlay_path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ];
        let sources = [
            Some(base.source.clone()),
            overlay.as_ref().map(|o| o.source.clone()),
        ];
        match (&r.env, &overlay) {
            // A known environment and no overlay yet: the overlay holds what differs.
            (Some(env), None) => {
                let (o, unset) = diff::overlay(release, &base.node);
                if o.is_empty() {
                    return Ok(Vec::new());
                }
                if !unset.is_empty() && self.prefer != Some(Prefer::Release) {
                    // "Not set" cannot be written as an overlay: the release and values.yaml
                    // disagree (with --prefer release the overlay sets them to null).
                    let diffs: Vec<diff::Difference<'_>> = diff::differences(release, &base.node)
                        .into_iter()
                        .filter(|d| d.release.is_none())
                        .collect();
                    self.report_drift(r, rep, &diffs, &names, &sources);
                    return Ok(Vec::new());
                }
                let path = overlay_path.expect("env known");
                Ok(file_write(
                    &path,
                    None,
                    format!("{}{}", overlay_header(env), body(Value::Object(o))),
                ))
            }
            (Some(env), Some(ov)) => {
                let mut merged = base.node.clone();
                crate::values::coalesce::merge_user(&mut merged, ov.node.clone());
                let diffs = diff::differences(release, &merged);
                if diffs.is_empty() || self.report_drift(r, rep, &diffs, &names, &sources) {
                    return Ok(Vec::new());
                }
                let (o, _) = diff::overlay(release, &base.node);
                let path = overlay_path.expect("env known");
                Ok(file_write(
                    &path,
                    Some(ov),
                    format!("{}{}", overlay_header(env), body(Value::Object(o))),
                ))
            }
            (None, _) => {
                let diffs = diff::differences(release, &base.node);
                if diffs.is_empty() || self.report_drift(r, rep, &diffs, &names, &sources) {
                    return Ok(Vec::new());
                }
                Ok(file_write(
                    &base_path,
                    Some(&base),
                    format!("{base_header}{}", body(release.to_json())),
                ))
            }
        }
    }

    /// Report the differences between the release and the app's files. Without `--prefer` they
    /// are drift (errors; the app is not imported: returns true); with `--prefer` they are
    /// warnings saying which side won (`--prefer file`: keep the files, returns true).
    fn report_drift(
        &self,
        r: &Release,
        rep: &mut AppReport,
        diffs: &[diff::Difference<'_>],
        names: &[String; 2],
        sources: &[Option<Arc<SourceFile>>; 2],
    ) -> bool {
        let secret = |p: &str| {
            r.secret_paths.iter().any(|s| {
                p == s || p.starts_with(&format!("{s}.")) || p.starts_with(&format!("{s}["))
            })
        };
        let diffs: Vec<&diff::Difference<'_>> = diffs.iter().filter(|d| !secret(&d.path)).collect();
        if diffs.is_empty() {
            // Only the secrets left out differ: the files stay as they are.
            return true;
        }
        let file_side = |n: &Node| -> (String, String) {
            let i = (n.pos.file as usize).min(1);
            let source = sources[i].as_ref();
            let secret = source.is_some_and(|s| {
                s.secrets()
                    .iter()
                    .any(|x| x.start < n.pos.end.max(n.pos.start + 1) && x.end > n.pos.start)
            });
            let shown = if secret {
                "a secret (not shown)".to_string()
            } else {
                diff::show(n)
            };
            let at = source.map_or(String::new(), |s| {
                format!("{}:{}", self.ws.display(&s.path), n.pos.line)
            });
            (format!("{} has {shown} ({at})", names[i]), at)
        };
        let (severity_error, help) = match self.prefer {
            None => (true, "pass --prefer release to write the release's values, or --prefer file to keep the file (then only the appkit.yaml settings are imported)"),
            Some(Prefer::Release) => (false, "--prefer release: the release's value is written"),
            Some(Prefer::File) => (false, "--prefer file: the file's value is kept"),
        };
        for d in diffs {
            let (release_side, at) = match d.release {
                Some(n) => {
                    let l = self.inputs.loc(n.pos);
                    (
                        format!(
                            "release has {} ({}:{})",
                            diff::show(n),
                            self.ws.display(&l.file),
                            l.line
                        ),
                        Some(l),
                    )
                }
                None => ("release does not set it".to_string(), None),
            };
            let file = match d.file {
                Some(n) => file_side(n).0,
                None => format!(
                    "{} does not set it",
                    if names[1].is_empty() || sources[1].is_none() {
                        &names[0]
                    } else {
                        &names[1]
                    }
                ),
            };
            let at = at.or_else(|| {
                d.file.and_then(|n| {
                    let i = (n.pos.file as usize).min(1);
                    sources[i].as_ref().map(|s| {
                        Location::in_source(s, n.pos.line, n.pos.col, n.pos.start..n.pos.end)
                    })
                })
            });
            let message = format!("{}: {release_side}, {file}", d.path);
            let mut diag = if severity_error {
                Diagnostic::error("import-drift", message)
            } else {
                Diagnostic::warning("import-drift", message)
            }
            .help(help);
            diag.location = at.or_else(|| Some(r.at.clone()));
            rep.diagnostics.push(diag);
        }
        if severity_error {
            rep.status = AppStatus::Drift;
        }
        self.prefer != Some(Prefer::Release)
    }

    /// The settings appkit.yaml must get for the release, where appkit's defaults differ.
    fn plan_settings(&self, r: &Release, rep: &mut AppReport) -> Vec<Edit> {
        let loaded = self.loaded;
        let sm = &loaded.source_map;
        let current = loaded.config.apps.settings.get(&r.app);
        let mut current_deps: Vec<String> = loaded.depends_on(&r.app).to_vec();
        current_deps.sort();
        current_deps.dedup();
        let wanted: [(&'static str, SettingValue, SettingValue, bool, &Location); 3] = [
            (
                "namespace",
                SettingValue::Text(r.namespace.clone()),
                SettingValue::Text(loaded.app_namespace(&r.app)),
                current.is_some_and(|s| s.namespace.is_some()),
                &r.namespace_at,
            ),
            (
                "releaseName",
                SettingValue::Text(r.release_name.clone()),
                SettingValue::Text(loaded.release_name(&r.app)),
                current.is_some_and(|s| s.release_name.is_some()),
                &r.release_name_at,
            ),
            (
                "dependsOn",
                SettingValue::List(r.depends_on.clone()),
                SettingValue::List(current_deps.clone()),
                !current_deps.is_empty(),
                &r.depends_on_at,
            ),
        ];
        let mut edits = Vec::new();
        for (key, want, have, explicit, at) in wanted {
            if let Some((planned, origin)) = self.settings.get(&r.app).and_then(|m| m.get(key)) {
                if planned != &want {
                    rep.diagnostics.push(
                        Diagnostic::error(
                            "import-conflict",
                            format!(
                                "apps.settings.{}.{key}: this release has {}, the release {origin} has {}; appkit.yaml settings hold for every environment",
                                r.app,
                                show_setting(&want),
                                show_setting(planned)
                            ),
                        )
                        .at(at.clone())
                        .help("make the releases agree, or import them one at a time and settle the setting in appkit.yaml"),
                    );
                    rep.status = AppStatus::Failed;
                }
                continue;
            }
            if want == have {
                continue;
            }
            if explicit {
                let cfg_at = sm.value(&format!("apps/settings/{}/{key}", r.app));
                let message = format!(
                    "apps.settings.{}.{key}: release has {} ({}:{}), appkit.yaml has {} ({}:{})",
                    r.app,
                    show_setting(&want),
                    self.ws.display(&at.file),
                    at.line,
                    show_setting(&have),
                    self.ws.display(&cfg_at.file),
                    cfg_at.line
                );
                match self.prefer {
                    None => {
                        rep.diagnostics.push(
                            Diagnostic::error("import-drift", message)
                                .at(at.clone())
                                .help("pass --prefer release to write the release's setting, or --prefer file to keep appkit.yaml's"),
                        );
                        rep.status = AppStatus::Drift;
                        continue;
                    }
                    Some(Prefer::File) => {
                        rep.diagnostics.push(
                            Diagnostic::warning("import-drift", message)
                                .at(at.clone())
                                .help("--prefer file: appkit.yaml's setting is kept"),
                        );
                        continue;
                    }
                    Some(Prefer::Release) => rep.diagnostics.push(
                        Diagnostic::warning("import-drift", message)
                            .at(at.clone())
                            .help("--prefer release: the release's setting is written"),
                    ),
                }
            }
            edits.push(Edit {
                app: r.app.clone(),
                key,
                value: want,
            });
        }
        edits
    }

    /// An app's existing values file (as planned earlier in this run, else on disk).
    fn existing(&self, path: &Path, index: u32) -> Result<Option<Existing>, Box<Diagnostic>> {
        let fail = |message: String, loc: Location| {
            Box::new(
                Diagnostic::error("unreadable", message)
                    .at(loc)
                    .help("fix or remove the file, then run the import again"),
            )
        };
        let text = match self.files.get(path) {
            Some(t) => t.clone(),
            None => {
                if std::fs::symlink_metadata(path).is_err() {
                    return Ok(None);
                }
                if let Err(escape) = crate::fsutil::confined(path, &self.loaded.apps_dir()) {
                    return Err(Box::new(escape.diagnostic()));
                }
                match yaml::read_source(path) {
                    Ok(t) => t,
                    Err(e) => {
                        return Err(fail(
                            format!("cannot read {}: {}", self.ws.display(path), e.message),
                            Location::file_only(path),
                        ))
                    }
                }
            }
        };
        let (parsed, found) = yaml::parse_with_secrets(&text, index, path);
        let source = SourceFile::with_secrets(path, text, found);
        match parsed {
            Ok(node) => Ok(Some(Existing { source, node })),
            Err(e) => {
                let loc = match e.pos {
                    Some(p) => Location::in_source(&source, p.line, p.col, p.start..p.end),
                    None => Location::file_only(path),
                };
                Err(fail(
                    format!(
                        "{} cannot be compared with the release: {}",
                        self.ws.display(path),
                        e.message
                    ),
                    loc,
                ))
            }
        }
    }

    /// Where a release came from, relative to the platform repo (stable in a generated header).
    fn origin_in_repo(&self, r: &Release) -> String {
        let path = &self.inputs.paths[r.file];
        let line = r.at.line;
        let shown = match path.strip_prefix(&self.repo_root) {
            Ok(rel) => workspace::display_path(rel, Path::new("")),
            Err(_) => path.display().to_string(),
        };
        format!("{shown}:{line}")
    }
}

fn show_setting(v: &SettingValue) -> String {
    match v {
        SettingValue::Text(t) => format!("{t:?}"),
        SettingValue::List(l) => format!("[{}]", l.join(", ")),
    }
}

/// The YAML a user adds by hand when appkit.yaml cannot be edited.
fn settings_by_hand(edits: &[Edit]) -> String {
    let mut apps: Vec<(&str, Vec<&Edit>)> = Vec::new();
    for e in edits {
        match apps.iter_mut().find(|(a, _)| *a == e.app) {
            Some((_, v)) => v.push(e),
            None => apps.push((&e.app, vec![e])),
        }
    }
    let scalar = |s: &str| crate::yamlout::scalar(s, crate::yamlout::Profile::Appkit);
    let mut s = String::from("apps:\n  settings:\n");
    for (app, es) in apps {
        s.push_str(&format!("    {}:\n", scalar(app)));
        for e in es {
            let value = match &e.value {
                SettingValue::Text(t) => scalar(t),
                SettingValue::List(l) => format!(
                    "[{}]",
                    l.iter().map(|i| scalar(i)).collect::<Vec<_>>().join(", ")
                ),
            };
            s.push_str(&format!("      {}: {value}\n", e.key));
        }
    }
    s
}

/// Why appkit.yaml was not edited.
struct Refusal {
    reason: String,
    at: Option<Location>,
}

/// Splice the settings into appkit.yaml's text, re-load the result from a file next to it and
/// check it is exactly the config expected; the edit to write, or why not.
fn edit_config(loaded: &Loaded, edits: &[Edit]) -> Result<FileWrite, Refusal> {
    let path = &loaded.path;
    let text = crate::fsutil::read_to_string_limited(path, crate::config::MAX_CONFIG_BYTES)
        .map_err(|e| Refusal {
            reason: format!("cannot read it again ({e})"),
            at: None,
        })?;
    let source = SourceFile::new(path, text.clone());
    let splices: Vec<_> = edits.iter().map(Edit::splice).collect();
    let new = crate::yamlsplice::splice(&text, &splices, "appkit.yaml").map_err(|u| Refusal {
        reason: u.reason,
        at: u.at.map(|b| Location::at_byte(&source, b, b + 1)),
    })?;
    let mut expected: Config = loaded.config.clone();
    for e in edits {
        let s = expected.apps.settings.entry(e.app.clone()).or_default();
        match (e.key, &e.value) {
            ("namespace", SettingValue::Text(t)) => s.namespace = Some(t.clone()),
            ("releaseName", SettingValue::Text(t)) => s.release_name = Some(t.clone()),
            ("dependsOn", SettingValue::List(l)) => s.depends_on = l.clone(),
            _ => {}
        }
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let check = || -> std::result::Result<Config, String> {
        let mut tmp = tempfile::Builder::new()
            .prefix(&crate::fsutil::temp_prefix("tmp"))
            .suffix(".yaml")
            .tempfile_in(dir)
            .map_err(|e| format!("cannot check the edit ({e})"))?;
        std::io::Write::write_all(&mut tmp, new.as_bytes())
            .map_err(|e| format!("cannot check the edit ({e})"))?;
        match crate::config::load(tmp.path()) {
            Ok(l) => Ok(l.config),
            Err(crate::config::ConfigError::Diagnostics { diagnostics, .. }) => Err(format!(
                "the edited file would be invalid: {}",
                diagnostics
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            Err(e) => Err(format!("the edited file does not load ({e})")),
        }
    };
    let got = check().map_err(|reason| Refusal { reason, at: None })?;
    let same = serde_json::to_value(&got).ok() == serde_json::to_value(&expected).ok();
    if !same {
        return Err(Refusal {
            reason: "the edited file would not read back as the settings meant (a bug in the edit; nothing was written)".into(),
            at: None,
        });
    }
    Ok(FileWrite {
        path: path.clone(),
        old: Some(text),
        new,
    })
}
