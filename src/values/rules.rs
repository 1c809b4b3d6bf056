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
use super::secrets::{holds_literal as is_literal, is_secret_key, looks_like_secret, norm};
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
        let mut known_namespaces: BTreeSet<String> =
            c.platform_namespaces.iter().cloned().collect();
        known_namespaces.extend(app_namespaces.values().cloned());
        Ok(Platform {
            has_config: true,
            known_namespaces,
            levels: c.rules.clone(),
            node_pools: c.node_pools.clone(),
            app_namespaces,
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
    if p.has_config {
        if c.applies(&rules::UNKNOWN_NODEPOOL, 0) {
            nodepool(&mut cx);
        }
        network(&mut cx);
        if c.applies(&rules::DAPR_COMPONENT, 0) {
            super::components::check(&mut cx);
        }
    }
    cx.out
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
/// Rules over everything an app file wrote: build/back-end settings, platform keys, secrets.
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
                } else if BACKEND_KEYS.contains(&n.as_str()) {
                    cx.emit(
                        &rules::DAPR_BACKEND_CONFIG,
                        format!("`{}` configures a Dapr back end; those settings live in the platform's Dapr Components, outside the chart", display_path(path)),
                        "name the component in `dapr.components` (e.g. `statestore`) and talk to it through the Dapr sidecar; the platform team owns its host and metadata".into(),
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
                // `env: [{name: API_TOKEN, value: "…"}]`
                let name = item.get("name").and_then(Node::as_str);
                let value = item.get("value");
                if let (Some(name), Some(value)) = (name, value) {
                    if is_secret_key(name) && is_literal(value) {
                        let mut vp = path.clone();
                        vp.push("value".into());
                        cx.emit(
                            &rules::INLINE_SECRET,
                            format!("environment variable `{name}` has a credential written in plain text"),
                            "never put secrets in values files; read them at run time from the Dapr secret store".into(),
                            &vp,
                            Some(value.pos),
                        );
                        path.pop();
                        continue;
                    }
                }
                walk_user(cx, item, path);
                path.pop();
            }
        }
        Val::Str(s) => {
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
    fn quantities() {
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("64Mi"), Some(64.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1G"), Some(1e9));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("lots"), None);
    }
}
