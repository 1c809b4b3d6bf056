//! Platform rules beyond the schema: what the chart's schema cannot know (the platform's node pools,
//! namespaces and Dapr components) and what it should not decide alone (how strictly images must be
//! pinned per environment). The rules themselves — code, default severity, summary, the keys they
//! read — are registered in [`crate::rules`] (table: `docs/rules.md`); this module runs them, and
//! every diagnostic it emits names its rule's static, with the severity [`crate::rules::resolve`]
//! gives it.
//!
//! Dapr's `app-port` always equals the container port: the chart derives both from `port`, so
//! there is nothing to check here (it is structural, not a rule).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use super::components::{load_components, Component};
use super::contract::Contract;
use super::schema::{closest, display_path, to_pointer};
use super::secrets::{
    holds_literal as is_literal, is_secret_key, looks_like_secret, norm, url_credentials,
};
use super::yaml::{Node, Pos, Val};
use super::{AppValues, ValuesError};
use crate::config::{Loaded, RuleLevel};
use crate::diagnostics::{Diagnostic, Location};
use crate::rules::{self, Rule};

/// What the rules know about the platform (from `appkit.yaml`); empty without a config.
#[derive(Debug, Default)]
pub struct Platform {
    has_config: bool,
    levels: BTreeMap<String, RuleLevel>,
    node_pools: Vec<String>,
    /// Namespace of every app in the apps directory.
    app_namespaces: BTreeMap<String, String>,
    /// Helm release name of every app that has one other than its name (`releaseName`).
    release_names: BTreeMap<String, String>,
    /// App namespaces and platform namespaces: what network policy allows may name.
    known_namespaces: BTreeSet<String>,
    promoted: BTreeSet<String>,
    pub(super) components: Vec<Component>,
    /// The components directory as written in `appkit.yaml` (for messages).
    pub(super) components_rel: PathBuf,
}

impl Platform {
    pub fn load(loaded: Option<&Loaded>) -> Result<Platform, ValuesError> {
        let Some(l) = loaded else {
            return Ok(Platform::default());
        };
        let c = &l.config;
        let mut app_namespaces = BTreeMap::new();
        for app in crate::workspace::list_apps(&l.apps_dir()).unwrap_or_default() {
            app_namespaces.insert(app.clone(), l.app_namespace(&app));
        }
        for app in c.apps.settings.keys() {
            app_namespaces
                .entry(app.clone())
                .or_insert_with(|| l.app_namespace(app));
        }
        let release_names = app_namespaces
            .keys()
            .map(|app| (app.clone(), l.release_name(app)))
            .filter(|(app, release)| app != release)
            .collect();
        let mut known_namespaces: BTreeSet<String> =
            c.platform_namespaces.iter().cloned().collect();
        known_namespaces.extend(app_namespaces.values().cloned());
        // Allows may name apps too: the chart resolves them through `platform.appNamespaces`.
        known_namespaces.extend(app_namespaces.keys().cloned());
        Ok(Platform {
            has_config: true,
            known_namespaces,
            levels: c.rules.clone(),
            node_pools: c.node_pool_names(),
            app_namespaces,
            release_names,
            promoted: c
                .environments
                .iter()
                .filter(|(_, e)| e.promoted)
                .map(|(n, _)| n.clone())
                .collect(),
            components: load_components(&l.components_dir())?,
            components_rel: c.components.clone(),
        })
    }

    /// True when `env` is a promoted environment (images must be pinned by digest).
    fn promoted(&self, env: Option<&str>) -> bool {
        env.is_some_and(|e| self.promoted.contains(e))
    }

    /// Whether `rule` runs at all with this platform: the rules about node pools, namespaces
    /// and components need `appkit.yaml` (node pools: a non-empty `nodePools`).
    fn runs(&self, rule: &Rule) -> bool {
        if std::ptr::eq(rule, &rules::UNKNOWN_NODEPOOL) {
            self.has_config && !self.node_pools.is_empty()
        } else if std::ptr::eq(rule, &rules::NETWORK_NAMESPACE)
            || std::ptr::eq(rule, &rules::DAPR_COMPONENT)
            || std::ptr::eq(rule, &rules::DAPR_CONFIG_MISSING)
        {
            self.has_config
        } else {
            true
        }
    }

    pub(super) fn app_namespace(&self, app: &str) -> String {
        self.app_namespaces
            .get(app)
            .cloned()
            .unwrap_or_else(|| app.to_string())
    }

    /// The Helm release name of `app` (`apps.settings.<app>.releaseName`, else the app name).
    pub fn release_name<'a>(&'a self, app: &'a str) -> &'a str {
        self.release_names.get(app).map_or(app, String::as_str)
    }
}

/// Where an app's Dapr app id comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppIdSource {
    /// `dapr.appId` (non-empty) in the values.
    Values,
    /// The release name (`apps.settings.<app>.releaseName`), which the chart uses when
    /// `dapr.appId` is empty.
    ReleaseName,
    /// The app's name (its directory), the release name when none is set.
    AppName,
}

/// The Dapr app id the chart gives an app, as its sidecar and every scope see it: `dapr.appId`
/// when set, else the release name, else the app name; with the `dapr.appId` node when the id
/// comes from it.
pub fn app_id<'v>(p: &'v Platform, v: &'v AppValues) -> (String, AppIdSource, Option<&'v Node>) {
    if let Some(n) = v.merged.at(["dapr", "appId"]) {
        if let Some(id) = n.as_str().filter(|s| !s.is_empty()) {
            return (id.to_string(), AppIdSource::Values, Some(n));
        }
    }
    let release = p.release_name(&v.app);
    let source = if release == v.app {
        AppIdSource::AppName
    } else {
        AppIdSource::ReleaseName
    };
    (release.to_string(), source, None)
}

/// Whether the app runs a Dapr sidecar (`dapr.enabled` is not `false`).
pub(super) fn dapr_enabled(v: &AppValues) -> bool {
    !matches!(
        v.merged.at(["dapr", "enabled"]).map(|n| &n.val),
        Some(Val::Bool(false))
    )
}

pub(super) struct Ctx<'a> {
    pub(super) p: &'a Platform,
    /// Which key groups of each rule the chart declares ([`Contract::applies`]).
    pub(super) c: &'a Contract,
    pub(super) v: &'a AppValues,
    out: Vec<Diagnostic>,
}

impl Ctx<'_> {
    pub(super) fn emit(
        &mut self,
        rule: &Rule,
        msg: String,
        help: String,
        path: &[String],
        pos: Option<Pos>,
    ) {
        let promoted = self.p.promoted(self.v.env.as_deref());
        let Some(sev) = rules::resolve(rule, &self.p.levels, promoted) else {
            return;
        };
        let mut d = Diagnostic::error(rule.code, msg).help(help);
        d.severity = sev;
        d.path = Some(to_pointer(path));
        let d = self.v.place_default_note(d, pos);
        self.out.push(d);
    }
}

/// Run every rule over one app's coalesced values: a rule that reads chart keys only where the
/// chart declares them ([`Contract`]; [`chart_notes`] says what is left out).
pub fn check(p: &Platform, c: &Contract, v: &AppValues) -> Vec<Diagnostic> {
    let mut cx = Ctx {
        p,
        c,
        v,
        out: Vec::new(),
    };
    // Both image rules read the same keys.
    if c.applies(&rules::IMAGE_NOT_PINNED, 0) {
        image(&mut cx);
    }
    walk_user(&mut cx, &v.merged, &mut Vec::new());
    resources(&mut cx);
    if c.applies(&rules::DAPR_APP_ID, 0) {
        dapr_app_id(&mut cx);
    }
    if c.applies(&rules::QUOTA_FIT, 0) {
        quota_fit(&mut cx);
    }
    if p.has_config {
        if c.applies(&rules::UNKNOWN_NODEPOOL, 0) {
            nodepool(&mut cx);
        }
        network(&mut cx);
        if c.applies(&rules::DAPR_COMPONENT, 0) {
            super::components::check(&mut cx);
        }
        if c.applies(&rules::DAPR_CONFIG_MISSING, 0) {
            super::components::check_config(&mut cx);
        }
    }
    cx.out
}

/// The position of the app's own first values file (line 1), for a finding about values the
/// app did not write.
pub(super) fn app_file_pos(v: &AppValues) -> Option<Pos> {
    (1..v.files.len() as u32)
        .map(|file| Pos {
            file,
            line: 1,
            col: 1,
            ..Pos::default()
        })
        .find(|p| v.from_app(*p))
}

/// What holds for the whole run, once: the chart has no `values.schema.json`
/// ([`rules::SCHEMA_MISSING`]), and one [`rules::RULE_SKIPPED`] per rule (that runs here and is
/// not `off`) reading keys the chart does not declare, naming them.
pub fn chart_notes(p: &Platform, c: &Contract) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let chart_dir = c.source.parent().map(PathBuf::from).unwrap_or_default();
    if !c.has_schema {
        if let Some(sev) = rules::resolve(&rules::SCHEMA_MISSING, &p.levels, false) {
            let mut d = Diagnostic::warning(
                rules::SCHEMA_MISSING.code,
                "the chart has no values.schema.json: schema checks are skipped",
            )
            .help("Helm skips validation too, so a typo or a key the chart ignores is accepted; add a values.schema.json to the chart (`additionalProperties: false` refuses unknown keys)")
            .at(Location::file_only(chart_dir.clone()));
            d.severity = sev;
            out.push(d);
        }
    }
    let Some(sev) = rules::resolve(&rules::RULE_SKIPPED, &p.levels, false) else {
        return out;
    };
    let ticked = |keys: &[&str]| {
        keys.iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for rule in rules::RULES {
        if rule.reads.is_empty()
            || !p.runs(rule)
            || rules::resolve(rule, &p.levels, false).is_none()
        {
            continue;
        }
        let Some((missing, partly)) = c.skipped(rule) else {
            continue;
        };
        let message = if partly {
            let kept: Vec<&[&str]> = (0..rule.reads.len())
                .filter(|&g| c.applies(rule, g))
                .map(|g| rule.reads[g])
                .collect();
            format!(
                "rule `{}` partly skipped: the chart does not declare {}; it still checks {}",
                rule.code,
                ticked(&missing),
                rules::groups_text(&kept, |k| format!("`{k}`"))
            )
        } else {
            format!(
                "rule `{}` skipped: the chart does not declare {}",
                rule.code,
                ticked(&missing)
            )
        };
        let declare = if c.has_schema {
            "declare them in its values.schema.json"
        } else {
            "declare them in a values.schema.json (the chart has none, and its values.yaml does \
             not set them)"
        };
        let help = format!(
            "if the chart uses these values, {declare} so the rule protects its apps; if it does \
             not, `rules: {{{}: off}}` in appkit.yaml accepts that nothing checks them and \
             silences this warning",
            rule.code
        );
        let mut d = Diagnostic::warning(rules::RULE_SKIPPED.code, message)
            .help(help)
            .at(Location::file_only(c.source.clone()));
        d.severity = sev;
        out.push(d);
    }
    out
}

fn image(cx: &mut Ctx) {
    let m = &cx.v.merged;
    let Some(img) = m.get("image") else { return };
    let text = |k: &str| {
        img.get(k)
            .and_then(Node::as_str)
            .map(str::trim)
            .unwrap_or("")
    };
    let (tag, digest) = (text("tag"), text("digest"));
    if !digest.is_empty() {
        return;
    }
    let seg = |k: &str| vec!["image".to_string(), k.to_string()];
    if tag == "latest" {
        let pos = img.get("tag").map(|n| n.pos);
        cx.emit(
            &rules::IMAGE_NOT_PINNED,
            "the image tag `latest` is not pinned: it can change under a running app".into(),
            "set `image.digest: sha256:…` to the digest your build produced (Buildpacks prints it)"
                .into(),
            &seg("tag"),
            pos,
        );
    } else if tag.is_empty() {
        let pos = img.key.or(Some(img.pos));
        cx.emit(
            &rules::IMAGE_NOT_PINNED,
            "the image has neither a tag nor a digest".into(),
            "set `image.digest: sha256:…` to the digest your build produced".into(),
            &["image".to_string()],
            pos,
        );
    } else {
        let env = cx.v.env.clone().unwrap_or_default();
        let promoted = cx.p.promoted(cx.v.env.as_deref());
        let msg = if promoted {
            format!(
                "the image is pinned by tag `{tag}` only; environment `{env}` requires a digest"
            )
        } else {
            format!("the image is pinned by tag `{tag}` only, not by digest")
        };
        let pos = img.get("tag").map(|n| n.pos);
        cx.emit(
            &rules::IMAGE_TAG_NOT_DIGEST,
            msg,
            "add `image.digest: sha256:…` (tags can be moved; promote images by digest)".into(),
            &seg("tag"),
            pos,
        );
    }
}

const BUILD_KEYS: [&str; 6] = [
    "build",
    "buildpacks",
    "builder",
    "dockerfile",
    "pack",
    "buildargs",
];
const BACKEND_KEYS: [&str; 9] = [
    "redishost",
    "redispassword",
    "vaultaddr",
    "vaultaddress",
    "host",
    "hosts",
    "metadata",
    "connectionstring",
    "brokers",
];
/// Keys that hold a back end's address when they sit (at any depth) under a key named after a
/// back end or a Dapr building block ([`BACKEND_PARENTS`]): `secretstore.vault.address`.
const NESTED_BACKEND_KEYS: [&str; 12] = [
    "address",
    "addr",
    "url",
    "uri",
    "host",
    "hostname",
    "endpoint",
    "endpoints",
    "port",
    "servers",
    "dsn",
    "brokers",
];
/// Back-end products and Dapr building blocks, as parts of a key (`vault`, `redisCache`,
/// `secretstore`).
const BACKEND_PARENTS: [&str; 30] = [
    "vault",
    "redis",
    "postgres",
    "mysql",
    "mariadb",
    "mongo",
    "kafka",
    "rabbitmq",
    "amqp",
    "nats",
    "memcache",
    "cassandra",
    "elasticsearch",
    "opensearch",
    "etcd",
    "consul",
    "zookeeper",
    "couchdb",
    "cosmosdb",
    "dynamodb",
    "minio",
    "pulsar",
    "mqtt",
    "servicebus",
    "database",
    "datasource",
    "secretstore",
    "statestore",
    "pubsub",
    "keyvault",
];
/// Short back-end words, matched only as a whole key or name part (`db`, not `feedback`).
const BACKEND_SHORT: [&str; 6] = ["db", "pg", "sql", "cache", "broker", "queue"];

/// The parts of a name: split at non-alphanumerics and lower-to-upper case changes
/// (`DATABASE_URL`, `redisHost` → `database`, `url`; `redis`, `host`), lower case.
fn name_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// The back end a key or name is named after (`redisCache` → `redis`, `DB` → `db`).
fn backend_word(name: &str) -> Option<&'static str> {
    let n = norm(name);
    if let Some(w) = BACKEND_PARENTS.iter().find(|w| n.contains(**w)) {
        return Some(w);
    }
    let parts = name_parts(name);
    BACKEND_SHORT
        .iter()
        .find(|w| parts.iter().any(|p| p == **w))
        .copied()
}

/// Suffixes of an environment variable that hands over an address (`REDIS_HOST`, `MONGO_URI`).
const ENV_ADDRESS_SUFFIXES: [&str; 16] = [
    "hostname",
    "hostaddr",
    "host",
    "hosts",
    "address",
    "addr",
    "url",
    "uri",
    "port",
    "brokers",
    "endpoint",
    "endpoints",
    "servers",
    "dsn",
    "connectionstring",
    "connstr",
];

/// The back end whose address an environment variable's name says it holds: a back-end word
/// and an address suffix (`REDIS_HOST`, `VAULT_ADDR`, `DATABASE_URL`, `KAFKA_BROKERS`), or
/// libpq's `PGHOST`/`PGPORT`/`PGHOSTADDR`.
fn backend_env_name(name: &str) -> Option<&'static str> {
    let n = norm(name);
    if ["pghost", "pgport", "pghostaddr"].contains(&n.as_str()) {
        return Some("postgres");
    }
    let suffix = ENV_ADDRESS_SUFFIXES.iter().find(|s| n.ends_with(**s))?;
    let prefix = &n[..n.len() - suffix.len()];
    if prefix.is_empty() {
        return None;
    }
    if let Some(w) = BACKEND_PARENTS.iter().find(|w| prefix.contains(**w)) {
        return Some(w);
    }
    // A short word must be a whole part before the suffix (`DB_HOST`, `APP_DB_URL`, `PG_PORT`).
    let parts = name_parts(name);
    let before = &parts[..parts.len().saturating_sub(1)];
    BACKEND_SHORT
        .iter()
        .find(|w| before.iter().any(|p| p == **w) || prefix == **w)
        .copied()
}

/// Back ends recognised in a cluster-service host name (`redis-master`, `vault-system`).
const BACKEND_HOST_WORDS: [&str; 26] = [
    "redis",
    "vault",
    "postgres",
    "postgresql",
    "pg",
    "pgbouncer",
    "mysql",
    "mariadb",
    "mongo",
    "mongodb",
    "kafka",
    "rabbitmq",
    "nats",
    "memcached",
    "cassandra",
    "elasticsearch",
    "opensearch",
    "etcd",
    "consul",
    "zookeeper",
    "couchdb",
    "minio",
    "pulsar",
    "mqtt",
    "emqx",
    "db",
];

/// A back end's address inside the cluster in `value` (`redis-master.redis-system.svc.cluster.local:6379`,
/// `vault-system:8200`, `redis://redis-master:6379`, a comma-separated broker list): the
/// address as written and the back end it names. A host is a cluster service when it ends in
/// `.svc` / `.svc.cluster.local`, or has a port and at most two labels (`name`, `name.namespace`);
/// it is a back end's when a part of a label is one ([`BACKEND_HOST_WORDS`]).
fn backend_service(value: &str) -> Option<(String, &'static str)> {
    for part in value.split(|c: char| c == ',' || c.is_whitespace()) {
        let part = part.trim();
        let rest = part.split_once("://").map_or(part, |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
            _ => (authority, None),
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            continue;
        }
        let labels: Vec<&str> = host.split('.').collect();
        if labels.iter().any(|l| l.is_empty()) {
            continue;
        }
        let in_cluster = host.ends_with(".svc")
            || host.ends_with(".svc.cluster.local")
            || (port.is_some() && labels.len() <= 2);
        if !in_cluster {
            continue;
        }
        let named = labels
            .iter()
            .take(2)
            .flat_map(|l| l.split('-'))
            .find_map(|w| BACKEND_HOST_WORDS.iter().find(|b| **b == w).copied());
        if let Some(b) = named {
            return Some((authority.to_string(), b));
        }
    }
    None
}

/// The Dapr building block that replaces talking to `backend` directly.
fn building_block(backend: &str) -> &'static str {
    match backend {
        "vault" | "keyvault" | "secretstore" => "the secret store (secrets)",
        "kafka" | "rabbitmq" | "amqp" | "nats" | "pulsar" | "mqtt" | "emqx" | "servicebus"
        | "broker" | "queue" | "pubsub" => "pub/sub",
        _ => "the state store (state)",
    }
}

/// A host as a message shows it: `localhost` and loopback addresses are the pod itself (the
/// Dapr sidecar is `localhost:3500`).
fn is_local(value: &str) -> bool {
    let v = value.trim();
    let rest = v.split_once("://").map_or(v, |(_, r)| r);
    ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"]
        .iter()
        .any(|l| {
            rest == *l || rest.starts_with(&format!("{l}:")) || rest.starts_with(&format!("{l}/"))
        })
}

impl Ctx<'_> {
    /// The Components this app may name (visible in its namespace), for hints.
    fn usable_components(&self) -> String {
        let ns = self.p.app_namespace(&self.v.app);
        let (id, _, _) = app_id(self.p, self.v);
        let names: BTreeSet<&str> = self
            .p
            .components
            .iter()
            .filter(|c| c.is_component() && c.visible_in(&ns) && c.scoped_to(&id))
            .map(|c| c.name.as_str())
            .collect();
        if names.is_empty() {
            String::new()
        } else {
            format!(
                "; components this app can use: {}",
                names.into_iter().collect::<Vec<_>>().join(", ")
            )
        }
    }

    /// `url-credentials` when `node` is a string holding a URL with credentials; whether it was.
    fn url_credentials(&mut self, node: &Node, path: &[String], env_name: Option<&str>) -> bool {
        let Val::Str(s) = &node.val else {
            return false;
        };
        let found = url_credentials(s);
        let Some(first) = found.first() else {
            return false;
        };
        let urls: Vec<String> = found
            .iter()
            .map(|c| format!("`{}://{}`", c.scheme, c.host))
            .collect();
        let what = match env_name {
            Some(n) => format!("environment variable `{n}` (`{}`)", display_path(path)),
            None => format!("`{}`", display_path(path)),
        };
        let msg = format!(
            "{what} holds a URL with credentials in it ({}): the user and password are written in plain text",
            urls.join(", ")
        );
        let help = format!(
            "never write credentials in values files: let the platform's Dapr component for `{}` hold the connection (name it in `dapr.components`), or read the password at run time from the Dapr secret store (http://localhost:3500/v1.0/secrets/<store>/<key>){}",
            first.scheme,
            self.usable_components()
        );
        self.emit(&rules::URL_CREDENTIALS, msg, help, path, Some(node.pos));
        true
    }
}

/// Rules over everything an app file wrote: build/back-end settings, platform keys, secrets,
/// credentials in URLs, back-end addresses in environment variables.
fn walk_user(cx: &mut Ctx, node: &Node, path: &mut Vec<String>) {
    match &node.val {
        Val::Map(entries) => {
            for (k, v) in entries {
                if !cx.v.from_app(v.pos) {
                    continue;
                }
                path.push(k.clone());
                let kpos = v.key.or(Some(v.pos));
                let n = norm(k);
                // A credential in a URL is the finding about its value, whatever the key.
                if cx.url_credentials(v, path, None) {
                    path.pop();
                    continue;
                }
                let nested_backend = NESTED_BACKEND_KEYS.contains(&n.as_str())
                    && path[..path.len() - 1]
                        .iter()
                        .any(|p| backend_word(p).is_some());
                if path.len() == 1 && k == "platform" {
                    cx.emit(
                        &rules::PLATFORM_OWNED,
                        "`platform` settings belong to the platform team, not to an app".into(),
                        "remove the `platform:` block; ask the platform team if you need a different setting".into(),
                        path,
                        kpos,
                    );
                } else if BUILD_KEYS.contains(&n.as_str()) {
                    cx.emit(
                        &rules::BUILD_CONFIG,
                        format!("`{}` is a build setting; the chart only runs an image that was already built", display_path(path)),
                        "images are built outside the chart (Buildpacks `pack build` / the build platform); reference the result with `image.repository` and `image.digest`".into(),
                        path,
                        kpos,
                    );
                } else if BACKEND_KEYS.contains(&n.as_str()) || nested_backend {
                    let help = format!(
                        "name the component in `dapr.components` (e.g. `statestore`, `secretstore`) and talk to it through the Dapr sidecar; the platform team owns its address and metadata{}",
                        cx.usable_components()
                    );
                    cx.emit(
                        &rules::DAPR_BACKEND_CONFIG,
                        format!("`{}` configures a Dapr back end; those settings live in the platform's Dapr Components, outside the chart", display_path(path)),
                        help,
                        path,
                        kpos,
                    );
                } else if is_secret_key(k) && is_literal(v) {
                    cx.emit(
                        &rules::INLINE_SECRET,
                        format!("`{}` looks like a credential written in plain text", display_path(path)),
                        "never put secrets in values files; read them at run time from the Dapr secret store (http://localhost:3500/v1.0/secrets/…)".into(),
                        path,
                        Some(v.pos),
                    );
                } else {
                    walk_user(cx, v, path);
                }
                path.pop();
            }
        }
        Val::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                if !cx.v.from_app(item.pos) {
                    continue;
                }
                path.push(i.to_string());
                if env_item(cx, item, path) {
                    path.pop();
                    continue;
                }
                walk_user(cx, item, path);
                path.pop();
            }
        }
        Val::Str(s) => {
            if cx.url_credentials(node, path, None) {
                return;
            }
            if let Some(kind) = looks_like_secret(s) {
                cx.emit(
                    &rules::INLINE_SECRET,
                    format!("`{}` holds what looks like {kind}", display_path(path)),
                    "never put secrets in values files; store it in the Dapr secret store and read it at run time".into(),
                    path,
                    Some(node.pos),
                );
            }
        }
        _ => {}
    }
}

/// An environment variable list item (`{name: DATABASE_URL, value: "…"}`): one finding for
/// its value, the most serious — credentials in a URL, then a credential-named variable with
/// a literal, then a back end's address. Whether there was one.
fn env_item(cx: &mut Ctx, item: &Node, path: &[String]) -> bool {
    let Some(name_node) = item.get("name") else {
        return false;
    };
    let Some(name) = name_node.as_str() else {
        return false;
    };
    let value = item.get("value").filter(|v| cx.v.from_app(v.pos));
    let mut vp = path.to_vec();
    vp.push("value".into());
    if let Some(value) = value {
        if cx.url_credentials(value, &vp, Some(name)) {
            return true;
        }
        if is_secret_key(name) && is_literal(value) {
            cx.emit(
                &rules::INLINE_SECRET,
                format!("environment variable `{name}` has a credential written in plain text"),
                "never put secrets in values files; read them at run time from the Dapr secret store".into(),
                &vp,
                Some(value.pos),
            );
            return true;
        }
    }
    let text = value.and_then(Node::as_str).unwrap_or("");
    let by_value = backend_service(text);
    let by_name = backend_env_name(name).filter(|_| !is_local(text));
    let (backend, at, at_path, shown) = match (&by_value, by_name) {
        (Some((addr, b)), _) => (*b, value.map(|v| v.pos), vp, format!(" (`{addr}`)")),
        (None, Some(b)) if cx.v.from_app(name_node.pos) => {
            let mut np = path.to_vec();
            np.push("name".into());
            (b, Some(name_node.pos), np, String::new())
        }
        _ => return false,
    };
    let msg = format!(
        "environment variable `{name}` hands the app the address of a {backend} back end{shown}; the app should not know where the platform's back ends live"
    );
    let help = format!(
        "use the Dapr building block instead — {} through the sidecar (http://localhost:3500) — and name the platform's component in `dapr.components`; the platform team owns the back end's address{}",
        building_block(backend),
        cx.usable_components()
    );
    cx.emit(&rules::BACKEND_HOST_IN_ENV, msg, help, &at_path, at);
    true
}

/// Parse a Kubernetes quantity (`500m`, `0.5`, `64Mi`, `1G`, `1e3`) into base units.
pub fn quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let suffixes: [(&str, f64); 14] = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (suf, mult) in suffixes {
        if let Some(num) = s.strip_suffix(suf) {
            return num
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f * mult);
        }
    }
    if let Some(num) = s.strip_suffix('E') {
        return num.parse::<f64>().ok().map(|f| f * 1e18);
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn node_quantity(n: &Node) -> Option<f64> {
    match &n.val {
        Val::Num(x) => x.as_f64(),
        Val::Str(s) => quantity(s),
        _ => None,
    }
}

fn resources(cx: &mut Ctx) {
    let bases = [vec!["resources"], vec!["dapr", "sidecar", "resources"]];
    for (group, base) in bases.into_iter().enumerate() {
        if !cx.c.applies(&rules::REQUESTS_EXCEED_LIMITS, group) {
            continue;
        }
        for res in ["cpu", "memory"] {
            let at = |kind: &'static str| {
                let mut p: Vec<&str> = base.clone();
                p.push(kind);
                p.push(res);
                p
            };
            let (rp, lp) = (at("requests"), at("limits"));
            let (Some(req), Some(lim)) = (
                cx.v.merged.at(rp.iter().copied()),
                cx.v.merged.at(lp.iter().copied()),
            ) else {
                continue;
            };
            if !cx.v.from_app(req.pos) && !cx.v.from_app(lim.pos) {
                continue;
            }
            if let (Some(r), Some(l)) = (node_quantity(req), node_quantity(lim)) {
                if r > l * (1.0 + 1e-9) {
                    let path: Vec<String> = rp.iter().map(|s| s.to_string()).collect();
                    let (rs, ls) = (
                        cx.v.raw(req).unwrap_or("?").to_string(),
                        cx.v.raw(lim).unwrap_or("?").to_string(),
                    );
                    let lim_field =
                        display_path(&lp.iter().map(|s| s.to_string()).collect::<Vec<_>>());
                    cx.emit(
                        &rules::REQUESTS_EXCEED_LIMITS,
                        format!("`{}` ({rs}) is more than `{lim_field}` ({ls})", display_path(&path)),
                        "Kubernetes rejects a pod whose request is above its limit; lower the request or raise the limit".into(),
                        &path,
                        Some(if cx.v.from_app(req.pos) { req.pos } else { lim.pos }),
                    );
                }
            }
        }
    }
}

/// `dapr-app-id`: the id must be a DNS-1123 label such that `<id>-dapr` (the Service the
/// sidecar injector creates) is one too: at most 58 characters.
fn dapr_app_id(cx: &mut Ctx) {
    if !dapr_enabled(cx.v) {
        return;
    }
    let (id, source, node) = app_id(cx.p, cx.v);
    let Some(problem) = app_id_problem(&id) else {
        return;
    };
    let whence = match source {
        AppIdSource::Values => format!("the Dapr app id `{id}`"),
        AppIdSource::ReleaseName => format!(
            "the Dapr app id `{id}` (the release name `apps.settings.{}.releaseName`, used because `dapr.appId` is empty)",
            cx.v.app
        ),
        AppIdSource::AppName => format!(
            "the Dapr app id `{id}` (the app's name, used because `dapr.appId` is empty)"
        ),
    };
    let fixed = suggest_app_id(&id);
    let mut help = "Dapr names the sidecar's Service `<id>-dapr`, which must be a DNS-1123 label (at most 63 lower-case letters, digits and `-`, alphanumeric at both ends), so the id has at most 58 characters".to_string();
    if !fixed.is_empty() {
        help = format!("set `dapr.appId: {fixed}`; {help}");
    }
    let pos = node.map(|n| n.pos).or_else(|| app_file_pos(cx.v));
    cx.emit(
        &rules::DAPR_APP_ID,
        format!("{whence} {problem}"),
        help,
        &["dapr".to_string(), "appId".into()],
        pos,
    );
}

/// What is wrong with a Dapr app id, if anything.
pub fn app_id_problem(id: &str) -> Option<String> {
    let n = id.chars().count();
    if n > 58 {
        return Some(format!(
            "is {n} characters long: `{id}-dapr` would be {} characters, more than the 63 of a DNS label (at most 58 for the id)",
            n + 5
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "has `{c}`: a DNS-1123 label holds only lower-case letters, digits and `-`"
        ));
    }
    if id.starts_with('-') || id.ends_with('-') {
        return Some(
            "starts or ends with `-`: a DNS-1123 label is alphanumeric at both ends".into(),
        );
    }
    None
}

/// A valid id close to `id` (lower case, other characters as `-`, cut to 58), or empty.
fn suggest_app_id(id: &str) -> String {
    let mut s: String = id
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(58);
    s.trim_matches('-').to_string()
}

/// A quantity as the message shows it: cpu in millicores (`2400m`), memory in the largest
/// binary unit that divides it (`1280Mi`), else bytes.
pub fn show_quantity(x: f64, cpu: bool) -> String {
    if cpu {
        let m = (x * 1000.0).round();
        return format!("{m}m");
    }
    let b = x.round();
    for (suf, unit) in [
        ("Gi", 1024f64.powi(3)),
        ("Mi", 1024f64.powi(2)),
        ("Ki", 1024f64),
    ] {
        if b >= unit && (b / unit).fract() == 0.0 {
            return format!("{}{suf}", b / unit);
        }
    }
    format!("{b}")
}

/// The pods a Deployment may run during a rollout: `replicas` + maxSurge, maxSurge being
/// `platform.rollout.maxSurge` when the values set it (a number, or `N%` of replicas rounded up
/// as Kubernetes does), else Kubernetes' default 25 % rounded up. `None` when it cannot be read
/// (the schema reports a malformed value).
pub fn surge(v: &AppValues, replicas: u64) -> Option<(u64, String)> {
    let pct = |p: f64| ((replicas as f64) * p / 100.0 - 1e-9).ceil().max(0.0) as u64;
    match v
        .merged
        .at(["platform", "rollout", "maxSurge"])
        .map(|n| &n.val)
    {
        None | Some(Val::Null) => Some((pct(25.0), "maxSurge 25 %".into())),
        Some(Val::Num(n)) => n.as_u64().map(|s| (s, format!("maxSurge {s}"))),
        Some(Val::Str(s)) => {
            let t = s.trim();
            if let Some(p) = t.strip_suffix('%') {
                let p: f64 = p
                    .trim()
                    .parse()
                    .ok()
                    .filter(|p: &f64| p.is_finite() && *p >= 0.0)?;
                Some((pct(p), format!("maxSurge {t}")))
            } else {
                t.parse::<u64>().ok().map(|s| (s, format!("maxSurge {s}")))
            }
        }
        _ => None,
    }
}

/// `quota-fit`: every pod of a rollout (replicas + maxSurge), app container and sidecar, must
/// fit in the namespace's ResourceQuota (the chart's `platform.quota`).
fn quota_fit(cx: &mut Ctx) {
    let m = &cx.v.merged;
    let Some(quota) = m.at(["platform", "quota"]) else {
        return;
    };
    if matches!(quota.get("enabled").map(|n| &n.val), Some(Val::Bool(false))) {
        return;
    }
    let Some(replicas_node) = m.get("replicas") else {
        return;
    };
    let Some(replicas) = (match &replicas_node.val {
        Val::Num(n) => n.as_u64(),
        _ => None,
    }) else {
        return;
    };
    let Some((surge, surge_text)) = surge(cx.v, replicas) else {
        return;
    };
    let pods = replicas + surge;
    let app_set = |n: &Node| cx.v.from_app(n.pos);
    let replicas_pos = app_set(replicas_node).then_some(replicas_node.pos);
    let sidecar = cx.c.applies(&rules::QUOTA_FIT, 1) && dapr_enabled(cx.v);
    let mut found = Vec::new();
    if let Some(limit) = quota.get("pods") {
        let max = match &limit.val {
            Val::Num(n) => n.as_f64(),
            Val::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        if let Some(max) = max.filter(|&q| (pods as f64) > q) {
            found.push((
                format!(
                    "{replicas} + {surge} = {pods} pods during a rollout ({surge_text}) > quota pods {max}"
                ),
                vec!["replicas".to_string()],
                replicas_pos,
            ));
        }
    }
    for kind in ["requests", "limits"] {
        for res in ["cpu", "memory"] {
            let quota_key = format!("{kind}{}", if res == "cpu" { "Cpu" } else { "Memory" });
            let Some(q_node) = quota.get(&quota_key) else {
                continue;
            };
            let Some(q) = node_quantity(q_node) else {
                continue;
            };
            // A container without a request gets its limit as request (Kubernetes' rule).
            let container = |base: &[&str]| -> Option<(&Node, f64)> {
                let at = |k: &str| {
                    let mut p = base.to_vec();
                    p.extend([k, res]);
                    m.at(p).and_then(|n| node_quantity(n).map(|x| (n, x)))
                };
                if kind == "requests" {
                    at("requests").or_else(|| at("limits"))
                } else {
                    at("limits")
                }
            };
            let Some((app_node, app_q)) = container(&["resources"]) else {
                continue;
            };
            let side = if sidecar {
                container(&["dapr", "sidecar", "resources"])
            } else {
                None
            };
            let per_pod = app_q + side.map_or(0.0, |s| s.1);
            let total = per_pod * pods as f64;
            if total <= q * (1.0 + 1e-9) {
                continue;
            }
            let cpu = res == "cpu";
            let shown = |n: &Node, x: f64| {
                cx.v.raw(n)
                    .map(|r| r.trim_matches(|c| c == '"' || c == '\'').to_string())
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| show_quantity(x, cpu))
            };
            let per = match side {
                Some((sn, sq)) => format!("({} + {})", shown(app_node, app_q), shown(sn, sq)),
                None => shown(app_node, app_q),
            };
            let msg = format!(
                "({replicas} + {surge}) × {per} = {} > quota {kind}.{res} {} ({} pods during a rollout, {surge_text}{})",
                show_quantity(total, cpu),
                shown(q_node, q),
                pods,
                if sidecar { ", app + Dapr sidecar" } else { "" }
            );
            let app_path = vec!["resources".to_string(), kind.to_string(), res.to_string()];
            let side_node = side.map(|s| s.0).filter(|n| app_set(n));
            let (path, pos) = if app_set(app_node) {
                (app_path, Some(app_node.pos))
            } else if let Some(sn) = side_node {
                (
                    vec![
                        "dapr".to_string(),
                        "sidecar".into(),
                        "resources".into(),
                        kind.into(),
                        res.into(),
                    ],
                    Some(sn.pos),
                )
            } else if replicas_pos.is_some() {
                (vec!["replicas".to_string()], replicas_pos)
            } else {
                (app_path, None)
            };
            found.push((msg, path, pos));
        }
    }
    for (msg, path, pos) in found {
        let pos = pos.or_else(|| app_file_pos(cx.v));
        cx.emit(
            &rules::QUOTA_FIT,
            msg,
            "the namespace's ResourceQuota refuses the pods that do not fit, so a rollout stalls (or the app never gets all its replicas): lower `replicas` or the resources, or ask the platform team for a larger quota (`platform.quota`)".into(),
            &path,
            pos,
        );
    }
}

fn nodepool(cx: &mut Ctx) {
    if cx.p.node_pools.is_empty() {
        return;
    }
    let Some(n) = cx.v.merged.get("nodepool") else {
        return;
    };
    let Some(pool) = n.as_str() else { return };
    if !cx.p.node_pools.iter().any(|p| p == pool) {
        let mut help = format!(
            "node pools the platform has: {}",
            cx.p.node_pools.join(", ")
        );
        if let Some(best) = closest(pool, &cx.p.node_pools) {
            help = format!("did you mean `{best}`? {help}");
        }
        cx.emit(
            &rules::UNKNOWN_NODEPOOL,
            format!("unknown node pool `{pool}`"),
            help,
            &["nodepool".into()],
            Some(n.pos),
        );
    }
}

fn network(cx: &mut Ctx) {
    let known = &cx.p.known_namespaces;
    for (group, list) in ["allowIngressFrom", "allowEgressTo"]
        .into_iter()
        .enumerate()
    {
        if !cx.c.applies(&rules::NETWORK_NAMESPACE, group) {
            continue;
        }
        let Some(Val::Seq(items)) = cx.v.merged.at(["networkPolicy", list]).map(|n| &n.val) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let (ns_node, mut path) = match &item.val {
                Val::Str(_) => (
                    item,
                    vec!["networkPolicy".to_string(), list.into(), i.to_string()],
                ),
                Val::Map(_) => match item.get("namespace") {
                    Some(n) => (
                        n,
                        vec!["networkPolicy".to_string(), list.into(), i.to_string()],
                    ),
                    None => continue,
                },
                _ => continue,
            };
            if matches!(item.val, Val::Map(_)) {
                path.push("namespace".into());
            }
            let Some(ns) = ns_node.as_str() else { continue };
            if !known.contains(ns) {
                let known_list: Vec<String> = known.iter().cloned().collect();
                let mut help = format!("known namespaces: {}", known_list.join(", "));
                if let Some(best) = closest(ns, &known_list) {
                    help = format!("did you mean `{best}`? {help}");
                }
                cx.emit(
                    &rules::NETWORK_NAMESPACE,
                    format!("`{}` names namespace `{ns}`, which is neither an app's nor a platform namespace", display_path(&path)),
                    help,
                    &path,
                    Some(ns_node.pos),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_addresses_in_env_names_and_values() {
        for name in [
            "REDIS_HOST",
            "REDIS_URL",
            "VAULT_ADDR",
            "DATABASE_URL",
            "POSTGRES_HOST",
            "MONGO_URI",
            "KAFKA_BROKERS",
            "AMQP_URL",
            "PGHOST",
            "DB_PORT",
            "APP_DB_URL",
            "redisHost",
            "SPRING_DATASOURCE_URL",
            "KAFKA_BOOTSTRAP_SERVERS",
            "CELERY_BROKER_URL",
        ] {
            assert!(backend_env_name(name).is_some(), "{name}");
        }
        for name in [
            "FEEDBACK_URL",
            "LOG_FORMAT",
            "DAPR_HTTP_PORT",
            "CLASSIFIER_APP_ID",
            "STATESTORE_NAME",
            "PORT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ] {
            assert_eq!(backend_env_name(name), None, "{name}");
        }
        let svc = |v: &str| backend_service(v).map(|(a, b)| (a, b.to_string()));
        assert_eq!(
            svc("redis-master.redis-system.svc.cluster.local:6379"),
            Some((
                "redis-master.redis-system.svc.cluster.local:6379".into(),
                "redis".into()
            ))
        );
        assert_eq!(
            svc("vault-system:8200"),
            Some(("vault-system:8200".into(), "vault".into()))
        );
        assert_eq!(
            svc("http://vault.vault-system.svc:8200/v1"),
            Some(("vault.vault-system.svc:8200".into(), "vault".into()))
        );
        assert_eq!(
            svc("kafka-0.kafka:9092,kafka-1.kafka:9092"),
            Some(("kafka-0.kafka:9092".into(), "kafka".into()))
        );
        for v in [
            "app1.app1",
            "json",
            "redis",
            "https://redis.example.com",
            "http://localhost:3500",
            "app1-ns:8080",
        ] {
            assert_eq!(svc(v), None, "{v}");
        }
        assert!(is_local("http://localhost:3500") && !is_local("redis:6379"));
    }

    #[test]
    fn dapr_app_ids() {
        assert_eq!(app_id_problem("app1"), None);
        assert_eq!(app_id_problem(&"a".repeat(58)), None);
        assert!(app_id_problem(&"a".repeat(59))
            .unwrap()
            .contains("would be 64 characters"));
        assert!(app_id_problem("App1").unwrap().contains("`A`"));
        assert!(app_id_problem("app_1").unwrap().contains("`_`"));
        assert!(app_id_problem("-app").unwrap().contains("both ends"));
        assert_eq!(suggest_app_id("My_App"), "my-app");
        assert_eq!(suggest_app_id(&"b".repeat(70)).len(), 58);
    }

    #[test]
    fn quantities_are_shown_in_readable_units() {
        assert_eq!(show_quantity(2.4, true), "2400m");
        assert_eq!(show_quantity(1280.0 * 1024.0 * 1024.0, false), "1280Mi");
        assert_eq!(show_quantity(2.0 * 1024f64.powi(3), false), "2Gi");
        assert_eq!(show_quantity(1e9, false), "1000000000");
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("64Mi"), Some(64.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1G"), Some(1e9));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("lots"), None);
    }
}
