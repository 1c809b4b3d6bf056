//! `promote`: move the chart version one environment runs into another, in `appkit.yaml`.
//!
//! 1. **Decide** from the typed config: without apps, `--from`'s `chartVersion` becomes `--to`'s,
//!    and every pin of `--to` that now equals it is removed (it says nothing any more) while the
//!    other pins stay (deliberate hold-backs, reported by name). With apps (a canary subset), each
//!    app's version in `--from` (its pin there, else the environment's) becomes its pin in `--to`
//!    — or, when that is `--to`'s own version, its pin there is removed.
//! 2. **Check** every version written is in `appkit.lock` (published, with a digest): render
//!    pins that digest, so an unpublished version is refused before anything is edited.
//! 3. **Splice** the edits into the file's text ([`crate::yamlsplice`]: comments, order and
//!    spacing kept; anchors, aliases and flow mappings on the path refused with file:line:col),
//!    re-load the result in memory and compare it with the config meant: a wrong splice never
//!    reaches the disk.
//! 4. **Write** atomically ([`crate::fsutil::write_atomic`]) unless a dry run; nothing to do
//!    leaves the file untouched (not even re-written).
//!
//! Owns: those decisions. Does not own: printing, the plan of the result (the command runs
//! [`crate::actions::plan`] on it). Never prints.

use std::collections::BTreeSet;

use anyhow::{anyhow, Context as _, Result};
use serde::Serialize;

use super::file_write::{refused_edit, FileWrite};
use crate::config::{Config, Loaded};
use crate::diagnostics::Diagnostic;
use crate::error::{Hinted, Invalid};
use crate::lock::Lock;
use crate::workspace::Workspace;
use crate::yamlsplice::{self, Edit, Value};

/// What to promote.
#[derive(Debug)]
pub struct Request<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// Only these apps, as pins (empty: the environment's `chartVersion`).
    pub apps: &'a [String],
    pub dry_run: bool,
}

/// One key of `environments.<to>` set or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `None`: the environment's `chartVersion`; else the app whose pin this is.
    pub app: Option<String>,
    /// The key's dotted path in appkit.yaml.
    pub key: String,
    /// What the key held (`None`: absent).
    pub old: Option<String>,
    /// What it holds now (`None`: removed).
    pub new: Option<String>,
    /// The chart version this environment (or app) runs afterwards, and its locked digest.
    pub version: String,
    pub digest: String,
}

/// A pin and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    pub app: String,
    pub version: String,
}

/// What a promote did (or, in a dry run, would do).
#[derive(Debug)]
pub struct Outcome {
    pub from: String,
    pub to: String,
    /// Every key set or removed, in file order of the edits.
    pub changes: Vec<Change>,
    /// Pins of `--to` kept although the environment moved: they differ from its new version.
    pub held_back: Vec<Pin>,
    /// Pins of `--from` a promote of the whole environment does not carry (promote them with
    /// `--app`).
    pub not_moved: Vec<Pin>,
    /// The edit of `appkit.yaml`; `None`: nothing to do, the file was not touched.
    pub write: Option<FileWrite>,
    /// The edited config, loaded from the new text (what the repo is after the write).
    pub edited: Option<(Loaded, Vec<Diagnostic>)>,
    pub dry_run: bool,
}

impl Outcome {
    /// The version `--to` runs afterwards.
    pub fn to_version(&self) -> Option<&str> {
        self.changes
            .iter()
            .find(|c| c.app.is_none())
            .map(|c| c.version.as_str())
    }
}

pub fn run(ws: &Workspace, req: &Request<'_>) -> Result<Outcome> {
    let loaded = ws.config();
    let config = &loaded.config;
    ws.select_envs(&[req.from.to_string(), req.to.to_string()])?;
    if req.from == req.to {
        return Err(Hinted::new(
            anyhow!("--from and --to are both {}", req.from),
            "promote moves a version from one environment to another, e.g. --from dev --to prod",
        )
        .into());
    }
    let from = &config.environments[req.from];
    let to = &config.environments[req.to];
    let apps = requested_apps(ws, req.apps)?;

    // 1. Decide.
    let mut changes = Vec::new();
    let mut held_back = Vec::new();
    let mut not_moved = Vec::new();
    let env_key = |rest: &str| format!("environments.{}.{rest}", req.to);
    if apps.is_empty() {
        let v = &from.chart_version;
        if &to.chart_version != v {
            changes.push(Change {
                app: None,
                key: env_key("chartVersion"),
                old: Some(to.chart_version.clone()),
                new: Some(v.clone()),
                version: v.clone(),
                digest: String::new(),
            });
        }
        for (app, pv) in &to.pins {
            if pv == v {
                changes.push(Change {
                    app: Some(app.clone()),
                    key: env_key(&format!("pins.{app}")),
                    old: Some(pv.clone()),
                    new: None,
                    version: v.clone(),
                    digest: String::new(),
                });
            } else {
                held_back.push(Pin {
                    app: app.clone(),
                    version: pv.clone(),
                });
            }
        }
        for (app, pv) in &from.pins {
            if pv != v && to.pins.get(app) != Some(pv) {
                not_moved.push(Pin {
                    app: app.clone(),
                    version: pv.clone(),
                });
            }
        }
    } else {
        for app in &apps {
            let v = from.chart_version_for(app).to_string();
            let pin = to.pins.get(app.as_str());
            let new = if v == to.chart_version {
                None
            } else {
                Some(v.clone())
            };
            if pin != new.as_ref() {
                changes.push(Change {
                    app: Some(app.clone()),
                    key: env_key(&format!("pins.{app}")),
                    old: pin.cloned(),
                    new,
                    version: v,
                    digest: String::new(),
                });
            }
        }
    }

    // 2. Every version written is published (in appkit.lock).
    if !changes.is_empty() {
        let lock_path = loaded.lock_path();
        let lock = Lock::load(&lock_path)
            .with_context(|| format!("cannot read {}", ws.display(&lock_path)))?;
        for c in changes.iter_mut() {
            if let Some(d) = lock.as_ref().and_then(|l| l.digest_of(&c.version)) {
                c.digest = d.to_string();
            }
        }
        // Every unpublished version at once, each once.
        let mut missing: Vec<&Change> = Vec::new();
        for c in changes.iter().filter(|c| c.digest.is_empty()) {
            if !missing.iter().any(|m| m.version == c.version) {
                missing.push(c);
            }
        }
        if !missing.is_empty() {
            return Err(not_published(ws, req, &missing, lock.as_ref()).into());
        }
    }
    if changes.is_empty() {
        return Ok(Outcome {
            from: req.from.into(),
            to: req.to.into(),
            changes,
            held_back,
            not_moved,
            write: None,
            edited: None,
            dry_run: req.dry_run,
        });
    }

    // 3. Splice, re-load, compare.
    let text = crate::fsutil::read_to_string_limited(&loaded.path, crate::config::MAX_CONFIG_BYTES)
        .with_context(|| format!("cannot read {}", ws.display(&loaded.path)))?;
    let edits: Vec<Edit> = changes
        .iter()
        .map(|c| {
            let path: Vec<&str> = match &c.app {
                None => vec!["environments", req.to, "chartVersion"],
                Some(app) => vec!["environments", req.to, "pins", app],
            };
            match &c.new {
                Some(v) => Edit::set(&path, Value::Text(v.clone())),
                None => Edit::remove(&path),
            }
        })
        .collect();
    let shown = ws.display(&loaded.path);
    let new_text = yamlsplice::splice(&text, &edits, "appkit.yaml").map_err(|u| {
        refused_edit(
            &u,
            &loaded.path,
            &text,
            &shown,
            "promote",
            format!(
                "write that part of appkit.yaml as block mappings without anchors (one `key: value` a line), or set by hand:\n{}",
                yaml_by_hand(req.to, &changes)
            ),
        )
    })?;
    let mut expected: Config = config.clone();
    {
        let env = expected
            .environments
            .get_mut(req.to)
            .expect("the environment was selected");
        for c in &changes {
            match (&c.app, &c.new) {
                (None, Some(v)) => env.chart_version = v.clone(),
                (Some(app), Some(v)) => {
                    env.pins.insert(app.clone(), v.clone());
                }
                (Some(app), None) => {
                    env.pins.remove(app);
                }
                (None, None) => {}
            }
        }
    }
    let edited = crate::config::load_text(&loaded.path, new_text.clone()).map_err(|e| {
        anyhow::Error::new(e).context("the edited appkit.yaml would not load (nothing was written)")
    })?;
    if serde_json::to_value(&edited.0.config).ok() != serde_json::to_value(&expected).ok() {
        return Err(anyhow!(
            "the edited appkit.yaml would not read back as the versions meant (a bug in the edit; nothing was written)"
        ));
    }

    // 4. Write.
    let write = FileWrite {
        path: loaded.path.clone(),
        old: Some(text),
        new: new_text,
    };
    if !req.dry_run {
        crate::fsutil::write_atomic(&write.path, write.new.as_bytes())
            .with_context(|| format!("cannot write {shown}"))?;
    }
    Ok(Outcome {
        from: req.from.into(),
        to: req.to.into(),
        changes,
        held_back,
        not_moved,
        write: Some(write),
        edited: Some(edited),
        dry_run: req.dry_run,
    })
}

/// The `--app` names, sorted and unique; each must be an app of the workspace.
fn requested_apps(ws: &Workspace, asked: &[String]) -> Result<Vec<String>> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let known = ws.apps()?;
    let apps: BTreeSet<String> = asked.iter().cloned().collect();
    let unknown: Vec<&str> = apps
        .iter()
        .filter(|a| !known.contains(a))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(Hinted::new(
            anyhow!(
                "no app {} in {}",
                unknown.join(", "),
                ws.display(&ws.config().apps_dir())
            ),
            format!("the apps are: {}", known.join(", ")),
        )
        .into());
    }
    Ok(apps.into_iter().collect())
}

/// The refusal of the versions that `appkit.lock` does not hold.
fn not_published(
    ws: &Workspace,
    req: &Request<'_>,
    missing: &[&Change],
    lock: Option<&Lock>,
) -> Invalid {
    let lock_path = ws.display(&ws.config().lock_path());
    let what: Vec<String> = missing
        .iter()
        .map(|c| {
            let whose = match &c.app {
                Some(app) => format!("{app} runs in {}", req.from),
                None => format!("{} runs", req.from),
            };
            format!("chart version {} ({whose})", c.version)
        })
        .collect();
    let versions: Vec<&str> = missing.iter().map(|c| c.version.as_str()).collect();
    let known = lock
        .map(|l| l.versions.keys().cloned().collect::<Vec<_>>().join(", "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "none".into());
    let (is, it) = if missing.len() == 1 {
        ("is", "it")
    } else {
        ("are", "them")
    };
    Invalid::new(format!(
        "{} {is} not published: {lock_path} has no digest for {it} (it holds: {known}); nothing was written",
        what.join(", ")
    ))
    .with_hint(format!(
        "publish first: `helm appkit publish` from the commit whose chart is version {}, then promote again",
        versions.join(" / ")
    ))
}

/// The YAML to set by hand when the file cannot be edited.
fn yaml_by_hand(to: &str, changes: &[Change]) -> String {
    let mut s = format!("environments:\n  {to}:\n");
    for c in changes.iter().filter(|c| c.app.is_none()) {
        if let Some(v) = &c.new {
            s.push_str(&format!("    chartVersion: {}\n", quote(v)));
        }
    }
    let pins: Vec<&Change> = changes.iter().filter(|c| c.app.is_some()).collect();
    if !pins.is_empty() {
        s.push_str("    pins:\n");
        for c in pins {
            let app = c.app.as_deref().unwrap_or_default();
            match &c.new {
                Some(v) => s.push_str(&format!("      {app}: {}\n", quote(v))),
                None => s.push_str(&format!("      # remove the pin of {app}\n")),
            }
        }
    }
    s.trim_end().to_string()
}

fn quote(v: &str) -> String {
    yamlsplice::scalar(v)
}
