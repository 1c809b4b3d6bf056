//! Values files: loading YAML the way Helm reads it (YAML 1.1 scalars, merge keys, anchors) with
//! source positions ([`yaml`]), coalescing chart defaults + app values + environment overlay the
//! way Helm does ([`coalesce`]), checking the result against the chart's `values.schema.json`
//! ([`schema`]) and the platform's rules ([`rules`]). Never prints: it returns diagnostics.
//!
//! Public API used by other modules (keep these signatures stable):
//! - [`app_overlay_values`]: an app's `values.yaml` deep-merged with `values.<env>.yaml`
//!   (what goes into a HelmRelease's `spec.values`; chart defaults are NOT included).
//! - [`Validator::new`] (chart defaults and schema parsed/compiled once) then [`Validator::run`]
//!   over [`Job`]s (an app's files in an environment, as [`crate::workspace::app_files`] lists
//!   them) or [`Validator::validate_files`] → `Vec<Diagnostic>`;
//!   [`crate::diagnostics::render_human`] turns them into compiler-style text.
//!
//! Which files make an app and which environments are checked is the workspace's business, not
//! this module's.

pub mod backends;
pub mod coalesce;
pub mod components;
pub mod contract;
pub mod fanout;
pub mod fleet;
pub mod formats;
pub mod node;
pub mod platform;
pub mod rules;
pub mod scalar;
pub mod schema;
pub mod secrets;
pub mod yaml;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::config::Loaded;
use crate::diagnostics::{Diagnostic, Location};
use yaml::{Node, Pos, SourceFile, YamlError};

/// Diagnostic codes that mean "the input could not be read" (exit 2: missing, a directory, a
/// FIFO, no permission), not "the input is wrong". A file that was read and is malformed —
/// invalid YAML, an alias bomb, too deep, not UTF-8, too large — is `yaml`: wrong input, exit 1.
pub const UNREADABLE_CODES: [&str; 1] = ["unreadable"];

#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a chart directory (no Chart.yaml)", path.display())]
    NotAChart { path: PathBuf },
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    /// A file under the apps or components directory leads out of it through a symbolic link;
    #[error(transparent)]
    SymlinkEscape(Box<crate::fsutil::Refused>),
}

impl From<crate::fsutil::SymlinkEscape> for ValuesError {
    fn from(escape: crate::fsutil::SymlinkEscape) -> Self {
        ValuesError::SymlinkEscape(escape.into())
    }
}

/// An app's own values: `values.yaml` deep-merged with `values.<env>.yaml` when present.
/// The files are the workspace's verdict ([`crate::workspace::app_files`]).
pub fn app_overlay_values(app_dir: &Path, env: Option<&str>) -> Result<Value, ValuesError> {
    let files = crate::workspace::app_files(app_dir, env);
    let mut merged: Option<Node> = None;
    for (i, f) in files.iter().enumerate() {
        // The app's directory and files must stay inside the apps directory.
        if let Some(apps) = app_dir.parent() {
            crate::fsutil::confined(f, apps)?;
        }
        let text = yaml::read_source(f)?;
        let node = yaml::parse(&text, i as u32 + 1, f)?;
        match merged.as_mut() {
            None => merged = Some(node),
            Some(m) => coalesce::merge_user(m, node),
        }
    }
    Ok(merged
        .map(|m| m.to_json())
        .unwrap_or_else(|| Value::Object(Default::default())))
}

/// One app's values for one environment after coalescing, with the files they came from.
/// `files[0]` is the chart's `values.yaml`; the others are the app's files in merge order.
pub struct AppValues {
    pub app: String,
    pub env: Option<String>,
    pub files: Vec<Arc<SourceFile>>,
    pub merged: Node,
    pub json: Value,
    /// Chart defaults removed by a user `null`: (JSON pointer, position of the `null`'s key).
    pub removed: Vec<(String, Pos)>,
    /// Every secret of every file, as written and as read: never quoted in a message.
    pub secret_words: HashSet<String>,
    /// The index in `files` of `appkit.yaml` when platform values (`platformValues`) are part of
    /// the values: what comes from there is the platform's, not the app's.
    pub platform_file: Option<u32>,
    /// What the HelmRelease passes as `spec.values`: the app's files with the platform's layers
    /// ([`platform`]), before Helm coalesces the chart's defaults under them.
    pub release: Value,
    /// `platform-owned` errors for locked paths the app's files set.
    pub owned: Vec<Diagnostic>,
}

impl AppValues {
    /// Whether a value at `pos` was written by the app (its values file or an overlay), not by
    /// the chart's defaults nor by the platform's `platformValues`.
    pub fn from_app(&self, pos: Pos) -> bool {
        pos.file != 0 && Some(pos.file) != self.platform_file
    }
    pub fn location(&self, pos: Pos) -> Location {
        Location::in_source(
            &self.files[pos.file as usize],
            pos.line,
            pos.col,
            pos.start..pos.end,
        )
    }
    /// The source text of a node (e.g. `yes` for a boolean), when it is short; `None` for a
    /// secret (it is never quoted).
    pub fn raw(&self, n: &Node) -> Option<&str> {
        let f = self.files.get(n.pos.file as usize)?;
        if self.is_secret(n.pos) {
            return None;
        }
        f.text.get(n.pos.start..n.pos.end).map(|s| s.trim_end())
    }
    /// Whether the text at `pos` overlaps a secret of its file.
    pub fn is_secret(&self, pos: Pos) -> bool {
        self.files.get(pos.file as usize).is_some_and(|f| {
            let s = f.secrets();
            let i = s.partition_point(|r| r.end <= pos.start);
            s.get(i)
                .is_some_and(|r| r.start < pos.end.max(pos.start + 1))
        })
    }
    /// Take every secret of the app's files out of a diagnostic's message, help and path.
    pub fn redact(&self, d: &mut Diagnostic) {
        if self.secret_words.is_empty() {
            return;
        }
        if let Some(m) = crate::diagnostics::redact(&d.message, &self.secret_words) {
            d.message = m;
        }
        if let Some(h) = d
            .help
            .as_deref()
            .and_then(|h| crate::diagnostics::redact(h, &self.secret_words))
        {
            d.help = Some(h);
        }
        if let Some(p) = d
            .path
            .as_deref()
            .and_then(|p| crate::diagnostics::redact(p, &self.secret_words))
        {
            d.path = Some(p);
        }
    }
    /// Attach a position (or, without one, the app's first file).
    pub fn place(&self, mut d: Diagnostic, pos: Option<Pos>) -> Diagnostic {
        d.location = Some(match pos {
            Some(p) => self.location(p),
            None => self.location(Pos {
                file: if self.files.len() > 1 { 1 } else { 0 },
                line: 1,
                col: 1,
                ..Pos::default()
            }),
        });
        d
    }
    /// Like [`place`](Self::place), and say so when the value comes from the chart's defaults
    /// (or from the platform's values in `appkit.yaml`).
    pub fn place_default_note(&self, mut d: Diagnostic, pos: Option<Pos>) -> Diagnostic {
        if pos.is_some_and(|p| Some(p.file) == self.platform_file) {
            d.message
                .push_str(" (this value comes from the platform's platformValues in appkit.yaml)");
        } else if pos.is_some_and(|p| p.file == 0) {
            d.message
                .push_str(" (this value comes from the chart's defaults)");
            let extra = "set it in the app's values file to override the chart default";
            d.help = Some(match d.help.take() {
                Some(h) => format!("{}; {extra}", h.trim_end_matches('.')),
                None => extra.into(),
            });
        }
        self.place(d, pos)
    }
}

/// One unit of validation work: an app's files (merge order) in one environment.
#[derive(Debug, Clone)]
pub struct Job {
    pub app: String,
    pub files: Vec<PathBuf>,
    pub env: Option<String>,
    /// The directory the files were found in (the apps directory): a file that leads out of it
    /// through a symbolic link is refused unread. `None`: the user named the files.
    pub confine: Option<PathBuf>,
}

/// The base values file a validation thread loaded last. The jobs of one app (one per
/// environment) come one after the other and all start with its `values.yaml`, which is then read
/// and parsed once instead of once per environment.
#[derive(Default)]
pub struct LoadCache {
    last: Option<(PathBuf, Arc<SourceFile>, Node)>,
}

impl LoadCache {
    fn get(&self, path: &Path) -> Option<(&Arc<SourceFile>, &Node)> {
        match &self.last {
            Some((p, source, node)) if p == path => Some((source, node)),
            _ => None,
        }
    }
    fn put(&mut self, path: &Path, source: &Arc<SourceFile>, node: &Node) {
        self.last = Some((path.to_path_buf(), source.clone(), node.clone()));
    }
}

/// The values as Helm's schema check sees them: Helm decodes values through `encoding/json`
/// into `float64`, so an integer beyond 2^53 arrives rounded (`9007199254740993` is checked as
/// `9007199254740992`; `18446744073709551600` as `18446744073709551616`). Smaller integers are
/// exact either way and stay integers (their messages print as written).
fn as_helm_decodes(v: &mut serde_json::Value) {
    use serde_json::Value;
    const EXACT: u64 = 1 << 53;
    match v {
        Value::Number(n) => {
            let big = n.as_u64().is_some_and(|u| u > EXACT)
                || n.as_i64().is_some_and(|i| i.unsigned_abs() > EXACT);
            if big {
                if let Some(f) = n.as_f64().and_then(serde_json::Number::from_f64) {
                    *n = f;
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(as_helm_decodes),
        Value::Object(m) => m.values_mut().for_each(as_helm_decodes),
        _ => {}
    }
}

/// Validates apps against one chart and one platform config. Build it once, use it for every app:
/// the chart defaults are parsed and the schema compiled here.
pub struct Validator {
    chart_values: Arc<SourceFile>,
    defaults: Node,
    schema: Option<schema::Schema>,
    /// Which keys the platform rules read the chart declares (schema, else defaults).
    contract: contract::Contract,
    platform: rules::Platform,
    /// The platform's values (`platformValues`, derived `platform.*`), with `appkit.yaml`.
    layers: Option<platform::Layers>,
    /// The apps directory of `appkit.yaml` ([`Validator::validate_files`] confines to it).
    apps_dir: Option<PathBuf>,
}

impl Validator {
    /// A validator for the chart and apps of `appkit.yaml`.
    pub fn new(loaded: &Loaded) -> Result<Validator, ValuesError> {
        Self::with_chart(&loaded.chart_dir(), Some(loaded))
    }

    /// A validator for an explicit chart directory; platform rules that need `appkit.yaml` (node
    /// pools, namespaces, components) are skipped when `loaded` is `None`.
    pub fn with_chart(chart_dir: &Path, loaded: Option<&Loaded>) -> Result<Validator, ValuesError> {
        if !chart_dir.join("Chart.yaml").is_file() {
            return Err(ValuesError::NotAChart {
                path: chart_dir.into(),
            });
        }
        let path = chart_dir.join("values.yaml");
        let text = if path.is_file() {
            yaml::read_source(&path)?
        } else {
            String::new()
        };
        let (defaults, secrets) = yaml::parse_with_secrets(&text, 0, &path);
        let defaults = defaults?;
        let schema = schema::Schema::load(chart_dir)?;
        let contract = match &schema {
            Some(s) => {
                contract::Contract::from_schema(s.doc(), &chart_dir.join("values.schema.json"))
            }
            None => contract::Contract::from_defaults(&defaults, &path),
        };
        let platform = rules::Platform::load(loaded)?;
        let layers = loaded.map(platform::Layers::load).transpose()?;
        Ok(Validator {
            chart_values: SourceFile::with_secrets(path, text, secrets),
            defaults,
            schema,
            contract,
            platform,
            layers,
            apps_dir: loaded.map(Loaded::apps_dir),
        })
    }

    /// Run jobs on a few threads (the machine's cores, at most 8); diagnostics in job order.
    /// Each thread takes a contiguous chunk, so the environments of one app run one after the
    /// other and share one load of its `values.yaml` ([`LoadCache`]).
    /// With `appkit.yaml`, the fleet checks ([`fleet`]) run over every job's values at the end.
    pub fn run(&self, jobs: &[Job]) -> Vec<Diagnostic> {
        let chunk_diags = |c: &[Job]| {
            let mut cache = LoadCache::default();
            c.iter()
                .map(|j| {
                    let confine = j.confine.as_deref();
                    let (mut diags, entry) = match self.coalesce_with(
                        &j.app,
                        &j.files,
                        j.env.as_deref(),
                        confine,
                        &mut cache,
                    ) {
                        Ok(values) => (self.check(&values), self.fleet_entry(&values)),
                        Err(diags) => (diags, None),
                    };
                    // Each problem says whose it is (`-o json`: `app`, `env`).
                    for d in &mut diags {
                        if d.app.is_none() {
                            d.app = Some(j.app.clone());
                            d.env.clone_from(&j.env);
                        }
                    }
                    (diags, entry)
                })
                .collect::<Vec<_>>()
        };
        let results = crate::par::map_chunks(jobs, 1, |c: &[Job]| chunk_diags(c));
        let mut out = Vec::new();
        let mut entries = Vec::new();
        for (d, e) in results {
            out.extend(d);
            entries.extend(e);
        }
        out.extend(self.fleet(&entries));
        out
    }

    /// Validate an app's files (merged in order) as the values of `app` in `env`; files under the
    /// apps directory must stay inside it.
    pub fn validate_files(
        &self,
        app: &str,
        files: &[PathBuf],
        env: Option<&str>,
    ) -> Vec<Diagnostic> {
        let confine = self.apps_dir.as_deref();
        match self.coalesce_with(app, files, env, confine, &mut LoadCache::default()) {
            Ok(values) => self.check(&values),
            Err(diags) => diags,
        }
    }

    /// Load and coalesce; load problems come back as diagnostics (codes in [`UNREADABLE_CODES`]).
    /// Files under `confine` must stay inside it ([`Job::confine`]).
    pub fn coalesce(
        &self,
        app: &str,
        paths: &[PathBuf],
        env: Option<&str>,
        confine: Option<&Path>,
    ) -> Result<AppValues, Vec<Diagnostic>> {
        self.coalesce_with(app, paths, env, confine, &mut LoadCache::default())
    }

    /// [`Self::coalesce`], reusing the first file's load from `cache` when it is the same file.
    fn coalesce_with(
        &self,
        app: &str,
        paths: &[PathBuf],
        env: Option<&str>,
        confine: Option<&Path>,
        cache: &mut LoadCache,
    ) -> Result<AppValues, Vec<Diagnostic>> {
        let mut files = vec![self.chart_values.clone()];
        let mut user: Option<Node> = None;
        let mut errors = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            if let Some(root) = confine {
                if let Err(escape) = crate::fsutil::confined(path, root) {
                    errors.push(escape.diagnostic());
                    continue;
                }
            }
            if i == 0 {
                if let Some((source, node)) = cache.get(path) {
                    user = Some(node.clone());
                    files.push(source.clone());
                    continue;
                }
            }
            let text = match yaml::read_source(path) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(yaml_diagnostic(e, None, "unreadable"));
                    continue;
                }
            };
            let (parsed, secrets) = yaml::parse_with_secrets(&text, i as u32 + 1, path);
            let source = SourceFile::with_secrets(path.clone(), text, secrets);
            match parsed {
                Ok(node) => {
                    if i == 0 {
                        cache.put(path, &source, &node);
                    }
                    match user.as_mut() {
                        None => user = Some(node),
                        Some(u) => coalesce::merge_user(u, node),
                    }
                }
                Err(e) => errors.push(yaml_diagnostic(e, Some(&source), "yaml")),
            }
            files.push(source);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let user = user.unwrap_or_else(Node::empty_map);
        let (mut merged, platform_file, owned) = match &self.layers {
            Some(l) => self.with_platform(l, app, env, user, &mut files),
            None => (user, None, Vec::new()),
        };
        let release = merged.to_json();
        let mut removed = Vec::new();
        coalesce::coalesce_at(
            &mut merged,
            &self.defaults,
            &mut String::new(),
            &mut removed,
        );
        let mut json = merged.to_json();
        as_helm_decodes(&mut json);
        let secret_words = files
            .iter()
            .flat_map(|f| f.secret_words().iter().cloned())
            .collect();
        Ok(AppValues {
            app: app.into(),
            env: env.map(Into::into),
            files,
            merged,
            json,
            removed,
            secret_words,
            platform_file,
            release,
            owned,
        })
    }

    /// The app's values `user` with the platform's layers (see [`platform`]): the tree, the index
    /// of `appkit.yaml` in `files` when it contributed, and the `platform-owned` errors.
    fn with_platform(
        &self,
        layers: &platform::Layers,
        app: &str,
        env: Option<&str>,
        user: Node,
        files: &mut Vec<Arc<SourceFile>>,
    ) -> (Node, Option<u32>, Vec<Diagnostic>) {
        let idx = files.len() as u32;
        let platform::ForEnv { defaults, locked } = layers.for_env(env, idx);
        let owned = match &locked {
            Some(lk) => layers.owned(&user, lk, files),
            None => Vec::new(),
        };
        let mut used = defaults.is_some() || locked.is_some();
        let mut tree = match defaults {
            Some(mut d) => {
                let keep = (user.pos, user.key);
                coalesce::merge_user(&mut d, user);
                (d.pos, d.key) = keep;
                d
            }
            None => user,
        };
        if let Some(lk) = locked {
            let keep = (tree.pos, tree.key);
            coalesce::merge_user(&mut tree, lk);
            (tree.pos, tree.key) = keep;
        }
        let ns = self.platform.app_namespace(app);
        let derived =
            platform::Derived::for_app(layers, &self.platform.components, &ns, &tree, idx);
        if !derived.is_empty() {
            used = true;
            derived.apply(&mut tree, &self.contract, layers.anchor(idx));
        }
        if used {
            files.push(layers.source.clone());
            (tree, Some(idx), owned)
        } else {
            (tree, None, owned)
        }
    }

    /// What the fleet checks need of one app's values (`None` without `appkit.yaml`).
    pub fn fleet_entry(&self, values: &AppValues) -> Option<fleet::Entry> {
        let l = self.layers.as_ref()?;
        let release = l
            .releases
            .get(&values.app)
            .cloned()
            .unwrap_or_else(|| values.app.clone());
        Some(fleet::Entry::of(
            values,
            &self.platform.app_namespace(&values.app),
            &release,
        ))
    }

    /// The backends of each Dapr component an app in namespace `ns` uses (`names`), found as
    /// [`platform::Derived`] finds them for `platform.egress`: the same components (a fixed
    /// namespace must be `ns`), the same [`backends::backends`].
    pub fn component_backends(
        &self,
        ns: &str,
        names: &[String],
    ) -> Vec<(String, Vec<backends::Backend>)> {
        let Some(l) = self.layers.as_ref() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for name in names {
            let mut found = Vec::new();
            for c in self.platform.components.iter().filter(|c| {
                c.is_component()
                    && &c.name == name
                    && c.namespace.as_deref().is_none_or(|n| n == ns)
            }) {
                if let Ok(b) = backends::backends(c, &l.known) {
                    found.extend(b);
                }
            }
            found.sort();
            found.dedup();
            out.push((name.clone(), found));
        }
        out
    }

    /// The platform's Dapr resources (components, Resiliencies, ...).
    pub fn components(&self) -> &[components::Component] {
        &self.platform.components
    }

    /// The fleet checks over every app's entry ([`fleet`]); nothing without `appkit.yaml`.
    pub fn fleet(&self, entries: &[fleet::Entry]) -> Vec<Diagnostic> {
        let Some(l) = self.layers.as_ref() else {
            return Vec::new();
        };
        // Scopes naming no app id can only be judged with every app in view.
        let complete = l.apps.keys().all(|a| entries.iter().any(|e| &e.app == a));
        fleet::check(
            entries,
            &self.platform.components,
            l.levels(),
            &l.promoted,
            complete,
        )
    }

    /// What holds for every app of the run, said once: the chart has no schema
    /// (`schema-missing`), and each rule the chart's keys leave out (`rule-skipped`).
    pub fn chart_notes(&self) -> Vec<Diagnostic> {
        rules::chart_notes(&self.platform, &self.contract)
    }

    /// Schema and platform rules over coalesced values.
    pub fn check(&self, values: &AppValues) -> Vec<Diagnostic> {
        let mut rule_diags: Vec<Option<Diagnostic>> =
            rules::check(&self.platform, &self.contract, values)
                .into_iter()
                .map(Some)
                .collect();
        // Path → the first rule diagnostic about it (folding stays linear in the diagnostics).
        let mut by_path: std::collections::HashMap<String, usize> = Default::default();
        for (i, r) in rule_diags.iter().enumerate() {
            if let Some(p) = r.as_ref().and_then(|r| r.path.clone()) {
                by_path.entry(p).or_insert(i);
            }
        }
        let mut out = Vec::new();
        if let Some(schema) = &self.schema {
            for mut d in schema.check(values) {
                // A rule that explains an unknown key (e.g. `build:`) is folded into the schema
                // error: one problem, one diagnostic, with the platform's explanation as help.
                if d.message.starts_with("unknown key") {
                    if let Some(r) = d
                        .path
                        .as_ref()
                        .and_then(|p| by_path.remove(p))
                        .and_then(|i| rule_diags[i].take())
                    {
                        d.help = Some(format!("{}; {}", r.message, r.help.unwrap_or_default()));
                    }
                }
                out.push(d);
            }
        }
        out.extend(rule_diags.into_iter().flatten());
        out.extend(values.owned.iter().cloned());
        for d in &mut out {
            values.redact(d);
        }
        out
    }
}

fn yaml_diagnostic(e: YamlError, source: Option<&Arc<SourceFile>>, code: &str) -> Diagnostic {
    let source = source.filter(|s| !s.text.is_empty());
    let code = if (e.pos.is_some() && source.is_some()) || !e.unreadable {
        "yaml"
    } else {
        code
    };
    let mut d = Diagnostic::error(code, e.message.clone());
    d.help = e.help.as_deref().map(String::from);
    // A message that quotes the text (`cannot read `…` as !!int`) never quotes a secret.
    if let Some(words) = source.map(|s| s.secret_words().iter().cloned().collect::<HashSet<_>>()) {
        if let Some(m) = crate::diagnostics::redact(&d.message, &words) {
            d.message = m;
        }
    }
    d.location = Some(match e.pos {
        Some(p) => {
            let mut l = Location::new(e.path.clone(), p.line, p.col, p.start..p.end.max(p.start));
            l.source = source.cloned();
            l
        }
        None => Location::file_only(e.path.clone()),
    });
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_values_merge_like_helm_without_chart_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("values.yaml"),
            "port: 0x1F90\nenv: [{name: A, value: x}]\nm: {a: 1, b: 2}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("values.prod.yaml"),
            "m: {b: 3}\nenv: []\nflag: on\n",
        )
        .unwrap();
        let v = app_overlay_values(dir.path(), Some("prod")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"port": 8080, "env": [], "m": {"a": 1, "b": 3}, "flag": true})
        );
        let v = app_overlay_values(dir.path(), Some("dev")).unwrap();
        assert_eq!(v["m"], serde_json::json!({"a": 1, "b": 2}));
        assert!(app_overlay_values(&dir.path().join("missing"), None).is_err());
    }
}
