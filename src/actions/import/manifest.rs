//! Reading the Flux files `import` is given: every document of every file, with positions, then
//! each `HelmRelease` turned into what appkit would render for it — the app, its release name
//! (Flux's rule), namespace, dependencies and inline values — and everything appkit would render
//! differently or not at all, as warnings with file:line (the "not imported" list). The
//! `HelmRepository` / `OCIRepository` a release takes its chart from are compared with
//! `appkit.yaml`'s registry settings.
//!
//! Secrets in the release's values (found by the YAML loader with the same predicates as the
//! `inline-secret` rule) are taken out of the values here, so nothing after this point can write
//! or print them; the files' texts carry their byte ranges, so every quote masks them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::diff::{join_key, same};
use crate::config::Loaded;
use crate::diagnostics::{Diagnostic, Location, SourceFile};
use crate::values::yaml::{self, Node, Pos, Val};

/// The API groups and versions read.
const HELM_GROUP: &str = "helm.toolkit.fluxcd.io/";
const HELM_VERSIONS: [&str; 3] = ["v2", "v2beta2", "v2beta1"];
const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io/";
const SOURCE_VERSIONS: [&str; 3] = ["v1", "v1beta2", "v1beta1"];
/// Helm's limit on release names; Flux shortens a longer composed name.
const MAX_RELEASE_NAME: usize = 53;

/// The files read: their texts (with secrets), their documents, and what could not be read.
pub(crate) struct Inputs {
    pub sources: Vec<Arc<SourceFile>>,
    /// Canonical path of each file (for finding the environment whose output holds it).
    pub paths: Vec<PathBuf>,
    /// (file index, document).
    pub docs: Vec<(usize, Node)>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Inputs {
    pub fn loc(&self, pos: Pos) -> Location {
        match self.sources.get(pos.file as usize) {
            Some(s) => Location::in_source(s, pos.line, pos.col, pos.start..pos.end),
            None => Location::file_only("?"),
        }
    }
    /// Where a mapping entry's key is (else the value).
    pub fn key_loc(&self, n: &Node) -> Location {
        self.loc(n.key.unwrap_or(n.pos))
    }
    fn is_secret(&self, pos: Pos) -> bool {
        self.sources.get(pos.file as usize).is_some_and(|f| {
            f.secrets()
                .iter()
                .any(|r| r.start < pos.end.max(pos.start + 1) && r.end > pos.start)
        })
    }
}

/// Read and parse every file; a file that cannot be read or parsed is an error diagnostic (with
/// file:line:col) and contributes no document.
pub(crate) fn read(files: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs {
        sources: Vec::new(),
        paths: Vec::new(),
        docs: Vec::new(),
        diagnostics: Vec::new(),
    };
    for (i, path) in files.iter().enumerate() {
        let text = match yaml::read_source(path) {
            Ok(t) => t,
            Err(e) => {
                let loc = match e.pos {
                    Some(p) => Location::new(path, p.line, p.col, 0..0),
                    None => Location::file_only(path),
                };
                let mut d = Diagnostic::error("unreadable", e.message).at(loc);
                d.help = e.help.map(String::from);
                inputs.diagnostics.push(d);
                inputs.sources.push(SourceFile::new(path, String::new()));
                inputs.paths.push(path.clone());
                continue;
            }
        };
        let (parsed, found) = yaml::parse_documents_with_secrets(&text, i as u32, path);
        let source = SourceFile::with_secrets(path, text, found);
        inputs
            .paths
            .push(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()));
        match parsed {
            Ok(docs) => inputs.docs.extend(docs.into_iter().map(|d| (i, d))),
            Err(e) => {
                let loc = match e.pos {
                    Some(p) => Location::in_source(&source, p.line, p.col, p.start..p.end),
                    None => Location::file_only(path),
                };
                let mut d = Diagnostic::error("yaml", e.message).at(loc);
                d.help = e
                    .help
                    .map(String::from)
                    .or_else(|| Some("fix the file (nothing of it was imported)".into()));
                inputs.diagnostics.push(d);
            }
        }
        inputs.sources.push(source);
    }
    inputs
}

/// What a document is.
pub(crate) enum Kind {
    HelmRelease,
    Source,
    /// A kustomize `Kustomization` (the list of files render writes next to them): skipped.
    FileList,
    /// Another Flux or Kubernetes object (reported, not imported).
    Other(String),
}

pub(crate) fn kind(doc: &Node) -> Kind {
    let api = doc.get("apiVersion").and_then(Node::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Node::as_str).unwrap_or("");
    let in_group = |group: &str, versions: &[&str]| {
        api.strip_prefix(group)
            .is_some_and(|v| versions.contains(&v))
    };
    match kind {
        "HelmRelease" if in_group(HELM_GROUP, &HELM_VERSIONS) => Kind::HelmRelease,
        "HelmRepository" | "OCIRepository" if in_group(SOURCE_GROUP, &SOURCE_VERSIONS) => {
            Kind::Source
        }
        "Kustomization" if api.starts_with("kustomize.config.k8s.io/") => Kind::FileList,
        "" => Kind::Other("a document without `kind`".into()),
        k if api.is_empty() => Kind::Other(format!("a {k} without `apiVersion`")),
        k => Kind::Other(format!("{k} ({api})")),
    }
}

/// One HelmRelease, as appkit would render it.
pub(crate) struct Release {
    pub app: String,
    /// Where the HelmRelease is (its `metadata.name`).
    pub at: Location,
    /// "file:line" of the HelmRelease, for headers and messages.
    pub origin: String,
    pub file: usize,
    pub env: Option<String>,
    /// `metadata.namespace` (or the one assumed).
    pub flux_namespace: String,
    /// Flux's release name: `spec.releaseName`, else `[targetNamespace-]name`, shortened as
    /// Flux shortens names over 53 characters.
    pub release_name: String,
    pub release_name_at: Location,
    /// `spec.targetNamespace`, else `metadata.namespace`.
    pub namespace: String,
    pub namespace_at: Location,
    /// `spec.dependsOn` names, sorted.
    pub depends_on: Vec<String>,
    pub depends_on_at: Location,
    /// `spec.values` without the secrets.
    pub values: Node,
    /// The paths of the secrets left out of `values`.
    pub secret_paths: Vec<String>,
    /// Warnings (not imported, rendered differently) and secret errors, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Warnings about the chart's source document (shared by the releases that use it).
    pub source_diagnostics: Vec<Diagnostic>,
}

/// What reading a release needs from the platform.
pub(crate) struct Context<'a> {
    pub loaded: &'a Loaded,
    /// `--env`, when given.
    pub env: Option<&'a str>,
    /// The chart's name (`name` in Chart.yaml), when readable.
    pub chart_name: Option<String>,
    /// How paths are shown.
    pub cwd: &'a Path,
}

/// Turn one HelmRelease document into a [`Release`], or the error that stops it.
pub(crate) fn release(
    inputs: &Inputs,
    file: usize,
    doc: &Node,
    ctx: &Context<'_>,
) -> Result<Release, Box<Diagnostic>> {
    let doc_at = inputs.loc(doc.pos);
    let name_node = doc.at(["metadata", "name"]);
    let Some(app) = name_node.and_then(Node::as_str).map(str::to_string) else {
        return Err(Box::new(
            Diagnostic::error("import", "a HelmRelease without `metadata.name`")
                .at(doc_at)
                .help("every HelmRelease needs a name; it becomes the app's name"),
        ));
    };
    let name_node = name_node.expect("checked above");
    let at = inputs.loc(name_node.pos);
    if let Some(why) = app_name_problem(&app) {
        return Err(Box::new(Diagnostic::error(
            "app-name",
            format!("HelmRelease {app:?} cannot be an app: its name {why}"),
        )
        .at(at)
        .help("app names are lower-case letters, digits and '-', at most 53 characters; rename the HelmRelease or import it by hand")));
    }
    let origin = format!(
        "{}:{}",
        crate::workspace::display_path(&inputs.sources[file].path, ctx.cwd),
        name_node.pos.line
    );
    let spec = doc.get("spec");
    let empty = Node::empty_map();
    let spec = match spec {
        Some(s) if s.as_map().is_some() => s,
        Some(s) if !s.is_null() => {
            return Err(Box::new(
                Diagnostic::error(
                    "import",
                    format!(
                        "HelmRelease {app}: `spec` is {}, not a mapping",
                        s.kind_word()
                    ),
                )
                .at(inputs.loc(s.pos)),
            ))
        }
        _ => &empty,
    };
    let env = match ctx.env {
        Some(e) => Some(e.to_string()),
        None => env_of(ctx.loaded, &inputs.paths[file]),
    };
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut r = Reader {
        inputs,
        ctx,
        app: &app,
        diags: &mut diags,
        in_source: false,
        source_diags: Vec::new(),
    };

    let text = |n: &Node, path: &[&str]| {
        n.at(path.iter().copied())
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    let flux_namespace = match text(doc, &["metadata", "namespace"]) {
        Some(ns) => ns,
        None => {
            let assumed = env
                .as_ref()
                .map(|e| ctx.loaded.config.environments[e].namespace.clone())
                .unwrap_or_else(|| "flux-system".into());
            r.warn(
                "import",
                format!("the HelmRelease has no `metadata.namespace`; assuming `{assumed}`"),
                inputs.loc(name_node.pos),
                "Flux applies it to the namespace of the Kustomization that holds it; check that this is that namespace",
            );
            assumed
        }
    };
    let target = spec.get("targetNamespace");
    let namespace = target
        .and_then(Node::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| flux_namespace.clone());
    let namespace_at = target.map_or_else(|| at.clone(), |t| inputs.loc(t.pos));
    let explicit_name = spec.get("releaseName");
    let (release_name, release_name_at) = match explicit_name.and_then(Node::as_str) {
        Some(n) => (n.to_string(), inputs.loc(explicit_name.expect("some").pos)),
        None => {
            let composed = match target.and_then(Node::as_str) {
                Some(t) => format!("{t}-{app}"),
                None => app.clone(),
            };
            (shorten_name(&composed), at.clone())
        }
    };
    let deps = spec.get("dependsOn");
    let mut depends_on = Vec::new();
    if let Some(Val::Seq(items)) = deps.map(|d| &d.val) {
        for item in items {
            let Some(name) = item.get("name").and_then(Node::as_str) else {
                r.warn(
                    "not-imported",
                    "a `dependsOn` entry without a name is not imported".into(),
                    inputs.loc(item.pos),
                    "",
                );
                continue;
            };
            if let Some(ns) = item.get("namespace").and_then(Node::as_str) {
                if ns != flux_namespace {
                    r.warn(
                        "not-imported",
                        format!("dependsOn {ns}/{name}: appkit's HelmReleases depend on HelmReleases of their own namespace ({flux_namespace})"),
                        inputs.loc(item.pos),
                        "the dependency is imported by name only",
                    );
                }
            }
            depends_on.push(name.to_string());
        }
    }
    depends_on.sort();
    depends_on.dedup();
    let depends_on_at = deps.map_or_else(|| at.clone(), |d| inputs.key_loc(d));

    let mut values = match spec.get("values") {
        None => Node::empty_map(),
        Some(v) if v.is_null() => Node::empty_map(),
        Some(v) if v.as_map().is_some() => v.clone(),
        Some(v) => {
            return Err(Box::new(
                Diagnostic::error(
                    "import",
                    format!(
                        "HelmRelease {app}: `spec.values` is {}, not a mapping",
                        v.kind_word()
                    ),
                )
                .at(inputs.loc(v.pos)),
            ))
        }
    };
    let mut secrets = Vec::new();
    strip_secrets(inputs, &mut values, String::new(), &mut secrets);
    let secret_paths: Vec<String> = secrets.iter().map(|(p, _, _)| p.clone()).collect();
    for (path, label, pos) in secrets {
        let label = label.map_or(String::new(), |l| format!(" ({l})"));
        r.diags.push(
            Diagnostic::error(
                "inline-secret",
                format!("{path}{label}: the release's values hold a secret in plain text; it is not imported"),
            )
            .at(inputs.loc(pos))
            .help("move it to the platform's Dapr secret store (the app reads it through its sidecar), then delete it from the HelmRelease; the written values file leaves it out"),
        );
    }

    let not_ours = strip_platform(ctx.loaded, env.as_deref(), &mut values);
    if !not_ours.is_empty() {
        r.warn(
            "not-imported",
            format!(
                "{}: the platform's values, not the app's; appkit renders its own from appkit.yaml",
                not_ours.join(", ")
            ),
            inputs.loc(values.pos),
            "an app file may not set them (`platform-owned`); if every app needs them, set them in `platformValues` in appkit.yaml",
        );
    }
    r.metadata(doc);
    r.spec(spec, env.as_deref(), &flux_namespace, &namespace);
    r.chart_source(spec, env.as_deref(), &flux_namespace);
    let source_diagnostics = std::mem::take(&mut r.source_diags);
    if let (Some(e), Some(ns_node)) = (env.as_deref(), doc.at(["metadata", "namespace"])) {
        let want = &ctx.loaded.config.environments[e].namespace;
        if want != &flux_namespace {
            r.warn(
                "release-reinstall",
                format!("the HelmRelease is in namespace {flux_namespace}; appkit writes environment {e}'s HelmReleases to {want} (environments.{e}.namespace)"),
                inputs.loc(ns_node.pos),
                "a HelmRelease that moves is a new object: pruning the old one uninstalls the release; move it in a maintenance window, or set environments.<env>.namespace",
            );
        }
    }

    Ok(Release {
        app,
        at,
        origin,
        file,
        env,
        flux_namespace,
        release_name,
        release_name_at,
        namespace,
        namespace_at,
        depends_on,
        depends_on_at,
        values,
        secret_paths,
        diagnostics: diags,
        source_diagnostics,
    })
}

/// The environment whose `output` directory holds `file` (the deepest, when outputs nest).
fn env_of(loaded: &Loaded, file: &Path) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for (name, env) in &loaded.config.environments {
        let Ok(out) = std::fs::canonicalize(loaded.root.join(&env.output)) else {
            continue;
        };
        if file.starts_with(&out) {
            let depth = out.components().count();
            if best.as_ref().is_none_or(|(d, _)| depth > *d) {
                best = Some((depth, name.clone()));
            }
        }
    }
    best.map(|(_, n)| n)
}

/// Why a name cannot be an app's (a DNS-1123 label of at most 53 characters), if it cannot.
fn app_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > MAX_RELEASE_NAME {
        return Some("must be 1 to 53 characters long");
    }
    let ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Some("may hold only lower-case letters, digits and '-'");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must start and end with a letter or digit");
    }
    None
}

/// Flux's release-name shortening (helm-controller `ShortenName`): a name over 53 characters
/// becomes its first 40 characters, `-`, and the first 12 hex digits of its SHA-256.
pub(crate) fn shorten_name(name: &str) -> String {
    if name.len() <= MAX_RELEASE_NAME {
        return name.to_string();
    }
    use sha2::Digest;
    let sum = hex::encode(sha2::Sha256::digest(name.as_bytes()));
    let keep = MAX_RELEASE_NAME - 13;
    let mut cut = keep;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}", &name[..cut], &sum[..12])
}

/// Take every secret out of a values tree: an entry whose key or value is a secret, a list item
/// that is one, and a `{name, value}` item whose value is one (the whole item: an environment
/// variable without its value would be wrong too). Records each one's path and position.
fn strip_secrets(
    inputs: &Inputs,
    node: &mut Node,
    path: String,
    out: &mut Vec<(String, Option<String>, Pos)>,
) {
    let scalar = |n: &Node| matches!(n.val, Val::Str(_) | Val::Num(_) | Val::Bool(_));
    match &mut node.val {
        Val::Map(entries) => {
            entries.retain(|(k, v)| {
                let key_secret = v.key.is_some_and(|kp| inputs.is_secret(kp));
                if key_secret || (scalar(v) && inputs.is_secret(v.pos)) {
                    let at = if key_secret {
                        v.key.unwrap_or(v.pos)
                    } else {
                        v.pos
                    };
                    out.push((join_key(&path, k), None, at));
                    false
                } else {
                    true
                }
            });
            for (k, v) in entries.iter_mut() {
                strip_secrets(inputs, v, join_key(&path, k), out);
            }
        }
        Val::Seq(items) => {
            // Paths keep the release's own indexes (as written), whatever is left out.
            let mut kept = Vec::with_capacity(items.len());
            for (i, mut item) in std::mem::take(items).into_iter().enumerate() {
                let p = format!("{path}[{i}]");
                if scalar(&item) && inputs.is_secret(item.pos) {
                    out.push((p, None, item.pos));
                    continue;
                }
                if let (Some(name), Some(value)) = (item.get("name"), item.get("value")) {
                    if scalar(value) && inputs.is_secret(value.pos) {
                        let label = name.as_str().map(str::to_string);
                        out.push((p, label, value.pos));
                        continue;
                    }
                }
                strip_secrets(inputs, &mut item, p, out);
                kept.push(item);
            }
            *items = kept;
        }
        _ => {}
    }
}

/// Reads the parts of a HelmRelease appkit renders from `appkit.yaml`, reporting differences.
struct Reader<'a, 'b> {
    inputs: &'a Inputs,
    ctx: &'a Context<'a>,
    app: &'a str,
    diags: &'b mut Vec<Diagnostic>,
    /// While true, warnings are about a source document (shared by releases): they go to
    /// `source_diags`.
    in_source: bool,
    source_diags: Vec<Diagnostic>,
}

/// The spec paths appkit renders or imports; anything else in a HelmRelease's spec is reported.
const RENDERED: [&str; 14] = [
    "chart",
    "chartRef",
    "releaseName",
    "targetNamespace",
    "dependsOn",
    "values",
    "interval",
    "timeout",
    "storageNamespace",
    "install.createNamespace",
    "install.remediation.retries",
    "upgrade.remediation.retries",
    "upgrade.remediation.remediateLastFailure",
    "test.enable",
];

impl<'a> Reader<'a, '_> {
    fn warn(&mut self, code: &str, message: String, at: Location, help: &str) {
        let mut d = Diagnostic::warning(code, message).at(at);
        if !help.is_empty() {
            d = d.help(help);
        }
        if self.in_source {
            self.source_diags.push(d);
        } else {
            self.diags.push(d);
        }
    }

    fn metadata(&mut self, doc: &Node) {
        for key in ["labels", "annotations", "finalizers"] {
            if let Some(n) = doc.at(["metadata", key]) {
                if n.as_map().is_some_and(|m| !m.is_empty())
                    || matches!(&n.val, Val::Seq(s) if !s.is_empty())
                {
                    self.warn(
                        "not-imported",
                        format!("metadata.{key} is not imported: appkit's HelmReleases carry none"),
                        self.inputs.key_loc(n),
                        "",
                    );
                }
            }
        }
    }

    fn spec(&mut self, spec: &Node, env: Option<&str>, flux_ns: &str, target_ns: &str) {
        let cfg = &self.ctx.loaded.config;
        let flux = &cfg.flux;
        let allowed: Vec<&str> = RENDERED
            .iter()
            .copied()
            .chain(["driftDetection.mode"])
            .collect();
        self.unknown(spec, "spec", "", &allowed);
        // What appkit renders for every app, against what this release does (Flux's default
        // when it leaves a field out).
        let retries = Value::from(flux.retries);
        let table: [(&[&str], Option<Value>, Value, &str); 8] = [
            (
                &["interval"],
                None,
                Value::from(flux.interval.clone()),
                "flux.interval",
            ),
            (
                &["timeout"],
                Some(Value::from("5m")),
                Value::from(flux.timeout.clone()),
                "flux.timeout",
            ),
            (
                &["install", "createNamespace"],
                Some(Value::Bool(false)),
                Value::Bool(flux.create_namespace),
                "flux.createNamespace",
            ),
            (
                &["install", "remediation", "retries"],
                Some(Value::from(0)),
                retries.clone(),
                "flux.retries",
            ),
            (
                &["upgrade", "remediation", "retries"],
                Some(Value::from(0)),
                retries,
                "flux.retries",
            ),
            (
                &["upgrade", "remediation", "remediateLastFailure"],
                None,
                Value::Bool(flux.retries > 0),
                "flux.retries",
            ),
            (
                &["driftDetection", "mode"],
                Some(Value::from("disabled")),
                Value::from(flux.drift_detection.mode_or_default()),
                "flux.driftDetection",
            ),
            (
                &["test", "enable"],
                Some(Value::Bool(false)),
                Value::Bool(flux.test),
                "flux.test",
            ),
        ];
        let mut left_out: Vec<String> = Vec::new();
        for (path, flux_default, appkit, key) in table {
            let node = spec.at(path.iter().copied());
            let mut flux_default = flux_default;
            if path == ["upgrade", "remediation", "remediateLastFailure"] {
                // Flux: false unless the upgrade retries are more than 0.
                let r = spec
                    .at(["upgrade", "remediation", "retries"])
                    .and_then(|n| n.to_json().as_i64())
                    .unwrap_or(0);
                flux_default = Some(Value::Bool(r > 0));
            }
            let Some(effective) = node.map(Node::to_json).or(flux_default) else {
                continue;
            };
            let differs = match (&effective, &appkit) {
                (Value::String(a), Value::String(b)) if path.len() == 1 => {
                    duration_secs(a) != duration_secs(b) || duration_secs(a).is_none()
                }
                _ => !same(&effective, &appkit),
            };
            if !differs {
                continue;
            }
            match node {
                Some(n) => {
                    let at = self.inputs.loc(n.pos);
                    self.warn(
                        "not-imported",
                        format!(
                            "spec.{}: the release has {}; appkit renders {} for every app ({key} in appkit.yaml)",
                            path.join("."),
                            compact(&effective),
                            compact(&appkit)
                        ),
                        at,
                        "appkit.yaml sets this for all apps; change it there if every app should have the release's value",
                    );
                }
                None => left_out.push(format!(
                    "{} {} (Flux's default: {})",
                    path.join("."),
                    compact(&appkit),
                    compact(&effective)
                )),
            }
        }
        if !left_out.is_empty() {
            let at = self.inputs.key_loc(spec);
            self.warn(
                "not-imported",
                format!(
                    "the release leaves out what appkit sets for every app (`flux:` in appkit.yaml): {}",
                    left_out.join(", ")
                ),
                at,
                "after render the app gets appkit's settings; change `flux:` in appkit.yaml if they do not suit",
            );
        }
        let storage = spec.get("storageNamespace");
        let storage_ns = storage.and_then(Node::as_str).unwrap_or(flux_ns);
        if storage_ns != target_ns {
            let why = if storage.is_some() {
                "spec.storageNamespace"
            } else {
                "no spec.storageNamespace: the HelmRelease's namespace"
            };
            self.warn(
                "release-reinstall",
                format!("Helm keeps this release's history in namespace {storage_ns} ({why}); appkit's HelmRelease keeps it in {target_ns}, the target namespace: Flux will uninstall the release and install it again"),
                storage.map_or_else(|| self.inputs.key_loc(spec), |n| self.inputs.loc(n.pos)),
                "the app is down between the uninstall and the install; switch it over in a maintenance window",
            );
        }
        if let Some(vf) = spec.get("valuesFrom") {
            match &vf.val {
                Val::Seq(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        let what = match (
                            item.get("kind").and_then(Node::as_str),
                            item.get("name").and_then(Node::as_str),
                        ) {
                            (Some(k), Some(n)) => format!(" ({k} {n})"),
                            _ => String::new(),
                        };
                        self.warn(
                            "not-imported",
                            format!("spec.valuesFrom[{i}]{what} is not imported: appkit renders inline values only"),
                            self.inputs.loc(item.pos),
                            &format!("move plain values into apps/{}/values.yaml and secrets into the platform's Dapr secret store", self.app),
                        );
                    }
                }
                Val::Seq(_) | Val::Null => {}
                _ => self.warn(
                    "not-imported",
                    "spec.valuesFrom is not imported".into(),
                    self.inputs.key_loc(vf),
                    "",
                ),
            }
        }
        if let Some(pr) = spec.get("postRenderers") {
            if !matches!(&pr.val, Val::Seq(s) if s.is_empty()) && !pr.is_null() {
                self.warn(
                    "not-imported",
                    "spec.postRenderers is not imported: appkit renders no post-renderers".into(),
                    self.inputs.key_loc(pr),
                    "what they change must come from the chart or the app's values; without them the release renders differently",
                );
            }
        }
        let _ = env;
    }

    /// Report every key of `node` (at `path`) that no entry of `allowed` names.
    fn unknown(&mut self, node: &Node, shown: &str, path: &str, allowed: &[&str]) {
        let Some(entries) = node.as_map() else { return };
        for (k, v) in entries {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if allowed.contains(&p.as_str())
                || ["valuesFrom", "postRenderers"].contains(&p.as_str())
            {
                continue;
            }
            let prefix = format!("{p}.");
            if v.as_map().is_some() && allowed.iter().any(|a| a.starts_with(&prefix)) {
                self.unknown(v, shown, &p, allowed);
                continue;
            }
            self.warn(
                "not-imported",
                format!("{shown}.{p} is not imported: appkit does not render it"),
                self.inputs.key_loc(v),
                "appkit's HelmRelease leaves it out, so Flux's default applies",
            );
        }
    }

    /// The chart: name, version and source, against the chart and registry of appkit.yaml.
    fn chart_source(&mut self, spec: &Node, env: Option<&str>, flux_ns: &str) {
        let cfg = &self.ctx.loaded.config;
        let env_version = env.map(|e| {
            (
                e,
                cfg.environments[e].chart_version_for(self.app).to_string(),
            )
        });
        if let Some(chart_ref) = spec.get("chartRef") {
            let kind = chart_ref.get("kind").and_then(Node::as_str).unwrap_or("");
            if kind != "OCIRepository" {
                self.warn(
                    "not-imported",
                    format!("spec.chartRef is a {kind}: appkit renders the chart from its OCI registry (chart.repository)"),
                    self.inputs.loc(chart_ref.pos),
                    "",
                );
                return;
            }
            let Some(src) = self.find_source("OCIRepository", chart_ref, flux_ns) else {
                return;
            };
            let url = src.at(["spec", "url"]).and_then(Node::as_str).unwrap_or("");
            let expected = format!(
                "{}/{}",
                cfg.chart.repository.trim_end_matches('/'),
                self.ctx.chart_name.as_deref().unwrap_or("<chart>")
            );
            if url.trim_end_matches('/') != expected {
                let at = src.at(["spec", "url"]).unwrap_or(src);
                self.warn(
                    "import-source",
                    format!("OCIRepository {url}: appkit renders the chart from {expected} (chart.repository and the chart's name)"),
                    self.inputs.loc(at.pos),
                    "after render the app takes its chart from appkit.yaml's repository; publish the chart there first",
                );
            }
            if let Some(semver) = src.at(["spec", "ref", "semver"]) {
                self.warn(
                    "not-imported",
                    format!("OCIRepository ref.semver {} is a version range: not imported; appkit runs exact chart versions{}", compact(&semver.to_json()), env_note(&env_version)),
                    self.inputs.loc(semver.pos),
                    "",
                );
            } else if let Some(tag) = src.at(["spec", "ref", "tag"]).and_then(Node::as_str) {
                self.version_check(
                    &tag.replace('_', "+"),
                    src.at(["spec", "ref", "tag"]).expect("some"),
                    &env_version,
                );
            }
            self.in_source = true;
            self.registry_settings(src, "OCIRepository");
            self.unknown(
                src.get("spec").unwrap_or(src),
                "OCIRepository spec",
                "",
                &[
                    "url",
                    "ref.tag",
                    "ref.digest",
                    "ref.semver",
                    "layerSelector",
                    "interval",
                    "insecure",
                    "secretRef",
                    "certSecretRef",
                    "verify",
                    "provider",
                    "timeout",
                ],
            );
            self.in_source = false;
            return;
        }
        let Some(cs) = spec.at(["chart", "spec"]) else {
            return;
        };
        self.unknown(
            cs,
            "spec.chart.spec",
            "",
            &[
                "chart",
                "version",
                "sourceRef",
                "interval",
                "verify",
                "reconcileStrategy",
            ],
        );
        if let Some(meta) = spec.at(["chart", "metadata"]) {
            self.warn(
                "not-imported",
                "spec.chart.metadata is not imported: appkit does not render it".into(),
                self.inputs.key_loc(meta),
                "",
            );
        }
        if let Some(rs) = cs.get("reconcileStrategy") {
            if rs.as_str() != Some("ChartVersion") {
                self.warn("not-imported", format!("spec.chart.spec.reconcileStrategy {} is not imported (appkit: ChartVersion)", compact(&rs.to_json())), self.inputs.loc(rs.pos), "");
            }
        }
        if let (Some(name), Some(chart)) = (cs.get("chart"), self.ctx.chart_name.as_deref()) {
            if name.as_str() != Some(chart) {
                self.warn(
                    "import-source",
                    format!("the release runs chart {}; appkit.yaml's chart is {chart:?}", compact(&name.to_json())),
                    self.inputs.loc(name.pos),
                    "appkit renders every app with the platform's one chart; check that these values fit it (the validation below says)",
                );
            }
        }
        match cs.get("version") {
            None => self.warn(
                "not-imported",
                format!("spec.chart.spec.version is not set (Flux takes the latest version): not imported; appkit runs exact chart versions{}", env_note(&env_version)),
                self.inputs.key_loc(cs),
                "",
            ),
            Some(v) => {
                let text = match &v.val {
                    Val::Str(s) => s.clone(),
                    _ => v.to_json().to_string(),
                };
                if semver::Version::parse(text.trim_start_matches('v')).is_ok() {
                    self.version_check(text.trim_start_matches('v'), v, &env_version);
                } else {
                    self.warn(
                        "not-imported",
                        format!("spec.chart.spec.version {} is a version range: not imported; appkit runs exact chart versions{}", compact(&Value::String(text)), env_note(&env_version)),
                        self.inputs.loc(v.pos),
                        "set the version in appkit.yaml (environments.<env>.chartVersion, or a pin per app)",
                    );
                }
            }
        }
        if let Some(src_ref) = cs.get("sourceRef") {
            let kind = src_ref.get("kind").and_then(Node::as_str).unwrap_or("");
            if kind != "HelmRepository" {
                self.warn(
                    "import-source",
                    format!("the chart comes from a {kind}: appkit renders it from its OCI registry (chart.repository)"),
                    self.inputs.loc(src_ref.pos),
                    "",
                );
                return;
            }
            let Some(src) = self.find_source("HelmRepository", src_ref, flux_ns) else {
                return;
            };
            self.in_source = true;
            let ty = src
                .at(["spec", "type"])
                .and_then(Node::as_str)
                .unwrap_or("default");
            let url = src.at(["spec", "url"]).and_then(Node::as_str).unwrap_or("");
            if ty != "oci" {
                self.warn(
                    "import-source",
                    format!("HelmRepository {url} is a Helm HTTP repository (type {ty}): appkit renders the chart from the OCI registry {}", cfg.chart.repository),
                    self.inputs.loc(src.at(["spec", "url"]).unwrap_or(src).pos),
                    "",
                );
            } else if url.trim_end_matches('/') != cfg.chart.repository.trim_end_matches('/') {
                self.warn(
                    "import-source",
                    format!("the chart comes from {url}; appkit.yaml's chart.repository is {}: after render the app takes its chart from there", cfg.chart.repository),
                    self.inputs.loc(src.at(["spec", "url"]).unwrap_or(src).pos),
                    "set chart.repository to the registry the cluster reaches, or publish the chart there",
                );
            }
            self.registry_settings(src, "HelmRepository");
            self.unknown(
                src.get("spec").unwrap_or(src),
                "HelmRepository spec",
                "",
                &[
                    "type",
                    "url",
                    "interval",
                    "insecure",
                    "secretRef",
                    "certSecretRef",
                    "provider",
                    "timeout",
                ],
            );
            self.in_source = false;
        }
    }

    /// The exact chart version a release runs, against the environment's.
    fn version_check(&mut self, version: &str, node: &Node, env_version: &Option<(&str, String)>) {
        if let Some((env, want)) = env_version {
            if want != version {
                self.warn(
                    "import-source",
                    format!("the release runs chart version {version}; environment {env} runs {want}: render moves the app to {want}"),
                    self.inputs.loc(node.pos),
                    &format!("pin the app to {version} in appkit.yaml (environments.{env}.pins.{}) to keep it", self.app),
                );
            }
        }
    }

    /// `insecure`, `secretRef`, `certSecretRef` of a source against `registry:` of appkit.yaml.
    fn registry_settings(&mut self, src: &Node, kind: &str) {
        let registry = serde_json::to_value(&self.ctx.loaded.config.registry).unwrap_or_default();
        if let Some(ins) = src.at(["spec", "insecure"]) {
            if matches!(ins.val, Val::Bool(true))
                && registry.get("insecure") != Some(&Value::Bool(true))
            {
                self.warn(
                    "import-source",
                    format!("{kind} uses plain HTTP (insecure: true); appkit renders its sources without it"),
                    self.inputs.loc(ins.pos),
                    "set `registry.insecure: true` in appkit.yaml for a plain-HTTP registry (see SECURITY.md)",
                );
            }
        }
        for (field, key) in [("secretRef", "pullSecret"), ("certSecretRef", "caSecret")] {
            let theirs = src.at(["spec", field, "name"]).and_then(Node::as_str);
            let ours = registry.get(key).and_then(Value::as_str);
            if theirs != ours {
                let at = src.at(["spec", field]).map_or_else(
                    || self.inputs.key_loc(src.get("spec").unwrap_or(src)),
                    |n| self.inputs.key_loc(n),
                );
                self.warn(
                    "import-source",
                    format!(
                        "{kind} {field}: the release uses {}, appkit renders {} (registry.{key} in appkit.yaml)",
                        theirs.map_or("none".to_string(), |t| format!("{t:?}")),
                        ours.map_or("none".to_string(), |t| format!("{t:?}")),
                    ),
                    at,
                    "",
                );
            }
        }
    }

    /// The source a reference names, among the documents given (the reference's namespace
    /// defaults to the HelmRelease's).
    fn find_source(&mut self, wanted: &str, reference: &Node, flux_ns: &str) -> Option<&'a Node> {
        let inputs: &'a Inputs = self.inputs;
        let name = reference.get("name").and_then(Node::as_str)?;
        let ns = reference
            .get("namespace")
            .and_then(Node::as_str)
            .unwrap_or(flux_ns);
        let found = inputs.docs.iter().map(|(_, d)| d).find(|d| {
            matches!(kind(d), Kind::Source)
                && d.get("kind").and_then(Node::as_str) == Some(wanted)
                && d.at(["metadata", "name"]).and_then(Node::as_str) == Some(name)
                && d.at(["metadata", "namespace"])
                    .and_then(Node::as_str)
                    .is_none_or(|n| n == ns)
        });
        if found.is_none() {
            self.warn(
                "import-source",
                format!("the {wanted} {ns}/{name} is not among the files imported: its URL and settings were not compared with appkit.yaml"),
                inputs.loc(reference.get("name").unwrap_or(reference).pos),
                "pass the file that defines it too",
            );
        }
        found
    }
}

fn env_note(env_version: &Option<(&str, String)>) -> String {
    match env_version {
        Some((env, v)) => format!(" (environment {env} runs {v})"),
        None => String::new(),
    }
}

/// A value for a message, compact.
fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// A Go duration (`1h30m`, `10m0s`, `1.5s`) in seconds.
fn duration_secs(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else {
            return None;
        };
        total += n * unit;
        rest = &rest[len..];
    }
    Some(total)
}

/// Leave out of the imported values what the platform gives every app
/// ([`crate::values::platform`]): the chart's `platform` block (apps may not set it; appkit fills
/// its derived keys), the paths `platformValues.locked` holds, and values equal to
/// `platformValues.defaults` (the app gets them anyway). Returns the paths left out whose value
/// is not what the platform gives (under `platform`: not a derived key either), for a warning.
fn strip_platform(loaded: &Loaded, env: Option<&str>, values: &mut Node) -> Vec<String> {
    let pv = &loaded.config.platform_values;
    let env_pv = env
        .and_then(|e| loaded.config.environments.get(e))
        .map(|e| &e.platform_values);
    let merged = |top: &serde_json::Map<String, Value>,
                  over: Option<&serde_json::Map<String, Value>>| {
        let mut out = Value::Object(top.clone());
        if let Some(o) = over {
            merge_json(&mut out, &Value::Object(o.clone()));
        }
        out
    };
    let defaults = merged(&pv.defaults, env_pv.map(|p| &p.defaults));
    let locked = merged(&pv.locked, env_pv.map(|p| &p.locked));
    let mut differing = Vec::new();
    strip_at(values, "", Some(&defaults), Some(&locked), &mut differing);
    differing
}

fn merge_json(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge_json(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

fn strip_at(
    node: &mut Node,
    path: &str,
    defaults: Option<&Value>,
    locked: Option<&Value>,
    differing: &mut Vec<String>,
) {
    let Val::Map(entries) = &mut node.val else {
        return;
    };
    entries.retain_mut(|(key, child)| {
        let here = join_key(path, key);
        let d = defaults.and_then(|d| d.get(key.as_str()));
        let l = locked.and_then(|l| l.get(key.as_str()));
        let value = child.to_json();
        if path.is_empty() && key == "platform" {
            // What the platform renders there: the locked values and appkit's derived keys.
            let mut leaves = Vec::new();
            leaf_paths(&value, &here, &mut leaves);
            for (p, v) in leaves {
                let derived = crate::values::platform::DERIVED_KEYS.iter().any(|k| {
                    p == *k || p.starts_with(&format!("{k}.")) || p.starts_with(&format!("{k}["))
                });
                let given = lookup(l, &p[here.len()..]).or_else(|| lookup(d, &p[here.len()..]));
                if !derived && !given.is_some_and(|g| same(g, &v)) {
                    differing.push(p);
                }
            }
            return false;
        }
        if let Some(l) = l {
            if !(l.is_object() && value.is_object()) {
                if !same(l, &value) {
                    differing.push(here);
                }
                return false;
            }
        }
        if let Some(d) = d {
            if !(d.is_object() && value.is_object()) && same(d, &value) {
                return false;
            }
        }
        if value.is_object() && (d.is_some_and(Value::is_object) || l.is_some_and(Value::is_object))
        {
            strip_at(child, &here, d, l, differing);
            // A map emptied by the strip is left out too.
            return !matches!(&child.val, Val::Map(m) if m.is_empty());
        }
        true
    });
}

/// Every leaf of `v` with its dotted path under `path` (a list is a leaf).
fn leaf_paths(v: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                leaf_paths(c, &join_key(path, k), out);
            }
        }
        _ => out.push((path.to_string(), v.clone())),
    }
}

/// The value at the dotted `rest` (".a.b", from [`leaf_paths`]) under `v`.
fn lookup<'a>(v: Option<&'a Value>, rest: &str) -> Option<&'a Value> {
    let mut cur = v?;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        cur = cur.get(part)?;
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_are_shortened_like_flux() {
        // helm-controller's own test vectors (internal/release/name_test.go).
        assert_eq!(shorten_name("release-name"), "release-name");
        assert_eq!(
            shorten_name("release-name-with-very-long-name-which-is-longer-than-53-characters"),
            "release-name-with-very-long-name-which-i-788ca0d0d7b0"
        );
        assert_eq!(
            shorten_name(
                "another-release-name-with-very-long-name-which-is-longer-than-53-characters"
            ),
            "another-release-name-with-very-long-name-7e72150d5a36"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(duration_secs("5m"), duration_secs("5m0s"));
        assert_eq!(duration_secs("1h30m"), Some(5400.0));
        assert_eq!(duration_secs("1.5s"), Some(1.5));
        assert_eq!(duration_secs("10"), None);
    }

    #[test]
    fn app_names() {
        assert!(app_name_problem("app1").is_none());
        assert!(app_name_problem("App1").is_some());
        assert!(app_name_problem("-a").is_some());
        assert!(app_name_problem(&"a".repeat(54)).is_some());
    }
}
