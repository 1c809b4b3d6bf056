//! Platform values: what `appkit.yaml` adds to every app's values, decided in one place so that
//! validate, render (the HelmRelease's `spec.values`), `plan` and `report` all see the same tree.
//!
//! Precedence, lowest first (each layer merged over the one before the way Helm merges `-f`
//! files: maps recursively, anything else replaces):
//! 1. the chart's `values.yaml` (coalesced last, by [`super::coalesce::coalesce_at`], as Helm does);
//! 2. `platformValues.defaults`, then `environments.<env>.platformValues.defaults`;
//! 3. the app's `values.yaml`, then its `values.<env>.yaml`;
//! 4. `platformValues.locked`, then `environments.<env>.platformValues.locked` — an app file that
//!    sets a locked path is a [`crate::rules::PLATFORM_OWNED`] error, with both positions;
//! 5. what appkit derives from the platform for the app ([`Derived`]): `platform.appNamespaces`
//!    (app names in network allows → their namespaces), `platform.egress` (the backends of the Dapr
//!    components the app uses, [`super::backends`]) and `platform.ingress`
//!    (`network.platformIngress`). Each is added only when the chart declares the key, so a chart
//!    without them is not handed values its schema refuses.
//!
//! Layers 2–5 are what the HelmRelease passes (`spec.values`); the chart's defaults are Helm's.
//! Values from layers 2, 4 and 5 carry positions in `appkit.yaml` (a file of their own in
//! [`super::AppValues::files`]), so a schema error in a platform value points at `appkit.yaml`,
//! and the app-file rules ([`super::AppValues::from_app`]) leave them alone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::contract::Contract;
use super::yaml::{self, Node, Pos, SourceFile, Val};
use super::ValuesError;
use crate::config::{Loaded, RuleLevel};
use crate::diagnostics::{Diagnostic, Location};

/// The chart keys appkit fills from the platform (layer 5), when the chart declares them.
pub const DERIVED_KEYS: [&str; 3] = [
    "platform.appNamespaces",
    "platform.egress",
    "platform.ingress",
];

/// File index the platform layers are parsed with before [`reindex`] gives them their place.
const UNPLACED: u32 = u32::MAX;

/// `defaults` and `locked` of one level (top or an environment).
#[derive(Debug, Clone, Default)]
struct Level {
    defaults: Option<Node>,
    locked: Option<Node>,
}

/// The platform's layers, parsed once per run from `appkit.yaml`.
#[derive(Debug)]
pub struct Layers {
    pub(super) source: Arc<SourceFile>,
    top: Level,
    envs: BTreeMap<String, Level>,
    levels: BTreeMap<String, RuleLevel>,
    /// `network.platformIngress` as chart values (`platform.ingress`), with positions.
    ingress: Option<Node>,
    /// Where `network` is (the position derived values are given).
    anchor: Pos,
    /// Every app of the apps directory → its namespace.
    pub(super) apps: BTreeMap<String, String>,
    /// Namespaces the platform knows (platform and app namespaces), for `svc.ns` backend hosts.
    pub(super) known: BTreeSet<String>,
    /// Every app → its Helm release name.
    pub(super) releases: BTreeMap<String, String>,
    /// The promoted environments.
    pub(super) promoted: BTreeSet<String>,
}

/// The platform layers for one app in one environment, placed at file index `file`.
pub(super) struct ForEnv {
    pub defaults: Option<Node>,
    pub locked: Option<Node>,
}

impl Layers {
    /// The layers of `appkit.yaml`.
    pub fn load(loaded: &Loaded) -> Result<Layers, ValuesError> {
        let c = &loaded.config;
        let mut apps = BTreeMap::new();
        let mut releases = BTreeMap::new();
        for app in crate::workspace::list_apps(&loaded.apps_dir()).unwrap_or_default() {
            apps.insert(app.clone(), loaded.app_namespace(&app));
            releases.insert(app.clone(), loaded.release_name(&app));
        }
        let promoted = c
            .environments
            .iter()
            .filter(|(_, e)| e.promoted)
            .map(|(n, _)| n.clone())
            .collect();
        let mut known: BTreeSet<String> = c.platform_namespaces.iter().cloned().collect();
        known.extend(apps.values().cloned());
        let text = yaml::read_source(&loaded.path)?;
        let (doc, secrets) = yaml::parse_with_secrets(&text, UNPLACED, &loaded.path);
        let doc = doc?;
        let level = |base: Option<&Node>| Level {
            defaults: base
                .and_then(|n| n.get("defaults"))
                .filter(|n| n.as_map().is_some())
                .cloned(),
            locked: base
                .and_then(|n| n.get("locked"))
                .filter(|n| n.as_map().is_some())
                .cloned(),
        };
        let top = level(doc.get("platformValues"));
        let mut envs = BTreeMap::new();
        for name in c.environments.keys() {
            envs.insert(
                name.clone(),
                level(doc.at(["environments", name.as_str(), "platformValues"])),
            );
        }
        let network = doc.get("network");
        let anchor = network.map(|n| n.key.unwrap_or(n.pos)).unwrap_or(doc.pos);
        let ingress = network
            .and_then(|n| n.get("platformIngress"))
            .filter(|n| matches!(n.val, Val::Seq(_)))
            .cloned();
        Ok(Layers {
            source: SourceFile::with_secrets(loaded.path.clone(), text, secrets),
            top,
            envs,
            levels: c.rules.clone(),
            ingress,
            anchor,
            apps,
            releases,
            known,
            promoted,
        })
    }

    /// `defaults` and `locked` for `env` (the environment's merged over the top level's), with
    /// positions in file `file`.
    pub(super) fn for_env(&self, env: Option<&str>, file: u32) -> ForEnv {
        let lv = env.and_then(|e| self.envs.get(e));
        let pick = |f: fn(&Level) -> &Option<Node>| -> Option<Node> {
            let mut out = f(&self.top).clone();
            if let Some(over) = lv.and_then(|l| f(l).clone()) {
                match out.as_mut() {
                    Some(o) => super::coalesce::merge_user(o, over),
                    None => out = Some(over),
                }
            }
            out.map(|mut n| {
                reindex(&mut n, file);
                n
            })
        };
        ForEnv {
            defaults: pick(|l| &l.defaults),
            locked: pick(|l| &l.locked),
        }
    }

    /// `platform-owned` errors: every path of `locked` the app's own values (`user`, before any
    /// platform layer) set, at the app's key, naming where appkit.yaml locks it.
    pub(super) fn owned(
        &self,
        user: &Node,
        locked: &Node,
        files: &[Arc<SourceFile>],
    ) -> Vec<Diagnostic> {
        let Some(sev) = crate::rules::resolve(&crate::rules::PLATFORM_OWNED, &self.levels, false)
        else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        owned_walk(user, locked, &mut Vec::new(), &mut hits);
        let config =
            crate::workspace::display_path(&self.source.path, &crate::workspace::current_dir());
        hits.into_iter()
            .map(|(path, at, locked_at)| {
                let shown = path.join(".");
                let mut d = Diagnostic::error(
                    crate::rules::PLATFORM_OWNED.code,
                    format!("`{shown}` is set by the platform (locked in appkit.yaml); an app may not set it"),
                )
                .help(format!(
                    "remove `{shown}` from this file; the platform locks it at {config}:{}:{} (platformValues.locked)",
                    locked_at.line, locked_at.col
                ));
                d.severity = sev;
                d.path = Some(super::schema::to_pointer(&path));
                d.location = files.get(at.file as usize).map(|f| {
                    Location::in_source(f, at.line, at.col, at.start..at.end)
                });
                d
            })
            .collect()
    }

    /// The `appkit.yaml` `rules:` levels.
    pub(super) fn levels(&self) -> &BTreeMap<String, RuleLevel> {
        &self.levels
    }

    /// `network.platformIngress` as the chart value `platform.ingress`, placed in file `file`.
    pub(super) fn ingress(&self, file: u32) -> Option<Node> {
        self.ingress.clone().map(|mut n| {
            reindex(&mut n, file);
            n
        })
    }

    /// Where derived values are said to come from (`network:` in appkit.yaml), in file `file`.
    pub(super) fn anchor(&self, file: u32) -> Pos {
        Pos {
            file,
            ..self.anchor
        }
    }
}

/// Where the app set a path `locked` holds: (path, the app's key position, the locked position).
fn owned_walk(
    user: &Node,
    locked: &Node,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Pos, Pos)>,
) {
    let (Some(u), Some(l)) = (user.as_map(), locked.as_map()) else {
        return;
    };
    for (k, lv) in l {
        let Some((_, uv)) = u.iter().find(|(uk, _)| uk == k) else {
            continue;
        };
        path.push(k.clone());
        if lv.as_map().is_some() && uv.as_map().is_some() {
            owned_walk(uv, lv, path, out);
        } else {
            // A leaf the platform locks, or a whole mapping the app replaces with something
            // else (or the other way round): either way the app sets what the platform owns.
            out.push((
                path.clone(),
                uv.key.unwrap_or(uv.pos),
                lv.key.unwrap_or(lv.pos),
            ));
        }
        path.pop();
    }
}

/// Give every position of `n` the file index `file`.
pub(super) fn reindex(n: &mut Node, file: u32) {
    n.pos.file = file;
    if let Some(k) = n.key.as_mut() {
        k.file = file;
    }
    match &mut n.val {
        Val::Seq(items) => items.iter_mut().for_each(|i| reindex(i, file)),
        Val::Map(m) => m.iter_mut().for_each(|(_, v)| reindex(v, file)),
        _ => {}
    }
}

/// What appkit derives for one app from the platform (layer 5), as chart values under
/// `platform`; each only when the chart declares the key.
#[derive(Debug, Default)]
pub(super) struct Derived {
    /// App name → namespace, for the apps the app's network allows name.
    pub app_namespaces: BTreeMap<String, String>,
    /// (namespace, ports) the app's Dapr components' backends listen on.
    pub egress: Vec<super::backends::Backend>,
    pub ingress: Option<Node>,
}

impl Derived {
    /// What appkit derives for `app` (namespace `ns`) from its values `tree` (the app's values
    /// over the platform defaults, under the locked ones).
    pub fn for_app(
        layers: &Layers,
        components: &[super::components::Component],
        ns: &str,
        tree: &Node,
        file: u32,
    ) -> Derived {
        let mut d = Derived {
            ingress: layers.ingress(file),
            ..Derived::default()
        };
        let mut name_app = |name: &str| {
            if let Some(app_ns) = layers.apps.get(name) {
                if app_ns != name {
                    d.app_namespaces.insert(name.to_string(), app_ns.clone());
                }
            }
        };
        if let Some(Val::Seq(items)) = tree
            .at(["networkPolicy", "allowIngressFrom"])
            .map(|n| &n.val)
        {
            items
                .iter()
                .filter_map(Node::as_str)
                .for_each(&mut name_app);
        }
        if let Some(Val::Seq(items)) = tree.at(["networkPolicy", "allowEgressTo"]).map(|n| &n.val) {
            items
                .iter()
                .filter_map(|i| i.get("namespace").and_then(Node::as_str))
                .for_each(&mut name_app);
        }
        let dapr_on = !matches!(
            tree.at(["dapr", "enabled"]).map(|n| &n.val),
            Some(Val::Bool(false))
        );
        if let (true, Some(Val::Seq(used))) =
            (dapr_on, tree.at(["dapr", "components"]).map(|n| &n.val))
        {
            let mut found = Vec::new();
            for name in used
                .iter()
                .filter_map(|u| u.as_str().or_else(|| u.get("name").and_then(Node::as_str)))
            {
                for c in components.iter().filter(|c| {
                    c.is_component()
                        && c.name == name
                        && c.namespace.as_deref().is_none_or(|n| n == ns)
                }) {
                    if let Ok(b) = super::backends::backends(c, &layers.known) {
                        found.extend(b);
                    }
                }
            }
            found.sort();
            found.dedup();
            d.egress = found;
        }
        d
    }

    /// Whether there is anything to add.
    pub fn is_empty(&self) -> bool {
        self.app_namespaces.is_empty() && self.egress.is_empty() && self.ingress.is_none()
    }

    /// Merge into `tree` (the app's values with the platform layers) at `platform.*`.
    pub fn apply(self, tree: &mut Node, contract: &Contract, at: Pos) {
        let node = |val: Val| Node {
            val,
            pos: at,
            key: Some(at),
        };
        let mut platform: Vec<(String, Node)> = Vec::new();
        if contract.declares("platform.appNamespaces") && !self.app_namespaces.is_empty() {
            let m = self
                .app_namespaces
                .into_iter()
                .map(|(k, v)| (k, node(Val::Str(v))))
                .collect();
            platform.push(("appNamespaces".into(), node(Val::Map(m))));
        }
        if contract.declares("platform.egress") && !self.egress.is_empty() {
            let items = self
                .egress
                .into_iter()
                .map(|b| {
                    let mut m = vec![("namespace".to_string(), node(Val::Str(b.namespace)))];
                    if !b.ports.is_empty() {
                        let ports = b
                            .ports
                            .into_iter()
                            .map(|p| node(Val::Num(p.into())))
                            .collect();
                        m.push(("ports".into(), node(Val::Seq(ports))));
                    }
                    node(Val::Map(m))
                })
                .collect();
            platform.push(("egress".into(), node(Val::Seq(items))));
        }
        if let Some(ingress) = self
            .ingress
            .filter(|_| contract.declares("platform.ingress"))
        {
            platform.push(("ingress".into(), ingress));
        }
        if platform.is_empty() {
            return;
        }
        let over = node(Val::Map(vec![(
            "platform".into(),
            node(Val::Map(platform)),
        )]));
        let keep = (tree.pos, tree.key);
        super::coalesce::merge_user(tree, over);
        (tree.pos, tree.key) = keep;
    }
}
