//! Fleet checks: what no per-app validator can decide because it needs every app of an
//! environment at once. Run by validate (and so by render and publish) after the per-app rules,
//! on a small summary of each app's coalesced values ([`Entry`]).
//!
//! - [`crate::rules::INVOCATION_ONE_SIDED`]: for every pair where one app's network egress
//!   (`networkPolicy.allowEgressTo[].namespace`, an app name or its namespace) or a platform
//!   `Resiliency` (scoped to the caller, `targets.apps` naming the callee: Dapr service invocation)
//!   names another app, the callee must admit the caller (`allowIngressFrom` names the caller or its
//!   namespace) and the caller must be allowed to reach the callee — both directions, each problem
//!   reported at the side that has the entry, naming the file:line of the other side.
//! - [`crate::rules::DAPR_APP_ID`] (fleet half): app ids are unique per namespace and never another
//!   app's name (Sentry would hand one app the other's identity and scoped secrets).
//! - [`crate::rules::COMPONENT_UNSCOPED`]: a Dapr resource with a fixed namespace and no `scopes`
//!   in a namespace several apps share is visible to all of them (a warning).
//! - Resiliency/Subscription/HTTPEndpoint `scopes` naming no app id of the environment
//!   ([`crate::rules::DAPR_COMPONENT`]).
//!
//! Same-namespace traffic is always allowed by the chart, so pairs in one namespace are skipped.
//!
//! [`edges`] lists the same pairs (the same matching: [`Entry::names`], the same Resiliency
//! scoping) as a graph for `report`: whether each side allows the call.

use std::collections::{BTreeMap, BTreeSet};

use super::components::Component;
use super::yaml::{Node, Val};
use super::AppValues;
use crate::config::RuleLevel;
use crate::diagnostics::{Diagnostic, Location};
use crate::rules::{self, Rule};

/// What the fleet checks need of one app in one environment.
#[derive(Debug, Clone)]
pub struct Entry {
    pub app: String,
    pub env: Option<String>,
    pub namespace: String,
    pub app_id: String,
    /// Where `dapr.appId` is (else the app's first file).
    pub app_id_at: Location,
    /// `allowIngressFrom` entries (names) and where each is.
    pub ingress: Vec<(String, Location)>,
    /// `allowEgressTo[].namespace` entries and where each is.
    pub egress: Vec<(String, Location)>,
    /// The app's first file (for messages without a closer place).
    pub file_at: Location,
}

impl Entry {
    /// The summary of one app's values; `namespace` and `release` as the platform decides them.
    pub fn of(v: &AppValues, namespace: &str, release: &str) -> Entry {
        let t = &v.merged;
        let file_at = v
            .place(Diagnostic::error("x", ""), None)
            .location
            .unwrap_or_else(|| Location::file_only(""));
        let at = |n: &Node| v.location(n.pos);
        let id_node = t
            .at(["dapr", "appId"])
            .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()));
        let app_id = id_node
            .and_then(Node::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                release
                    .chars()
                    .take(63)
                    .collect::<String>()
                    .trim_end_matches('-')
                    .to_string()
            });
        let mut ingress = Vec::new();
        if let Some(Val::Seq(items)) = t.at(["networkPolicy", "allowIngressFrom"]).map(|n| &n.val) {
            for i in items {
                if let Some(s) = i.as_str() {
                    ingress.push((s.to_string(), at(i)));
                }
            }
        }
        let mut egress = Vec::new();
        if let Some(Val::Seq(items)) = t.at(["networkPolicy", "allowEgressTo"]).map(|n| &n.val) {
            for i in items {
                if let Some(ns) = i.get("namespace") {
                    if let Some(s) = ns.as_str() {
                        egress.push((s.to_string(), at(ns)));
                    }
                }
            }
        }
        Entry {
            app: v.app.clone(),
            env: v.env.clone(),
            namespace: namespace.to_string(),
            app_id_at: id_node.map(at).unwrap_or_else(|| file_at.clone()),
            app_id,
            ingress,
            egress,
            file_at,
        }
    }

    fn names(&self, who: &str) -> bool {
        who == self.app || who == self.namespace
    }
}

/// Why a pair of apps is an edge of the traffic graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Via {
    /// The caller's `allowEgressTo` names the callee.
    Egress,
    /// The callee's `allowIngressFrom` names the caller.
    Ingress,
    /// A platform Resiliency scoped to the caller targets the callee (Dapr service invocation).
    Resiliency,
}

/// One caller → callee pair (different namespaces) that some side declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub env: Option<String>,
    pub from: String,
    pub to: String,
    /// Every declaration that makes it an edge (sorted, unique).
    pub via: Vec<Via>,
    /// The caller's egress names the callee.
    pub reaches: bool,
    /// The callee's ingress admits the caller.
    pub admits: bool,
}

impl Edge {
    /// Only one side allows it: the fleet check reports it ([`crate::rules::INVOCATION_ONE_SIDED`]).
    pub fn broken(&self) -> bool {
        !(self.reaches && self.admits)
    }
}

/// The traffic graph's app → app edges: every pair [`check`] looks at for
/// [`crate::rules::INVOCATION_ONE_SIDED`], sorted by environment, caller, callee.
pub fn edges(entries: &[Entry], resources: &[Component]) -> Vec<Edge> {
    let mut by_env: BTreeMap<Option<&str>, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        by_env.entry(e.env.as_deref()).or_default().push(e);
    }
    let mut out: BTreeMap<(Option<String>, String, String), Edge> = BTreeMap::new();
    for (env, apps) in by_env {
        let mut add = |caller: &Entry, callee: &Entry, via: Via| {
            let e = out
                .entry((
                    env.map(str::to_string),
                    caller.app.clone(),
                    callee.app.clone(),
                ))
                .or_insert_with(|| Edge {
                    env: env.map(str::to_string),
                    from: caller.app.clone(),
                    to: callee.app.clone(),
                    via: Vec::new(),
                    reaches: caller.egress.iter().any(|(n, _)| callee.names(n)),
                    admits: callee.ingress.iter().any(|(n, _)| caller.names(n)),
                });
            if !e.via.contains(&via) {
                e.via.push(via);
                e.via.sort();
            }
        };
        let other = |a: &Entry, b: &Entry| a.app != b.app && a.namespace != b.namespace;
        for caller in &apps {
            for (name, _) in &caller.egress {
                for callee in apps.iter().filter(|c| c.names(name) && other(c, caller)) {
                    add(caller, callee, Via::Egress);
                }
            }
            for (name, _) in &caller.ingress {
                for peer in apps.iter().filter(|c| c.names(name) && other(c, caller)) {
                    add(peer, caller, Via::Ingress);
                }
            }
        }
        for r in resources.iter().filter(|r| r.kind == "Resiliency") {
            let Some(Val::Map(targets)) = r.doc.at(["spec", "targets", "apps"]).map(|n| &n.val)
            else {
                continue;
            };
            for (target, _) in targets {
                for caller in apps.iter().filter(|a| {
                    (r.scopes.is_empty() || r.scopes.contains(&a.app_id))
                        && r.namespace.as_deref().is_none_or(|n| n == a.namespace)
                }) {
                    for callee in apps
                        .iter()
                        .filter(|a| &a.app_id == target && a.namespace != caller.namespace)
                    {
                        add(caller, callee, Via::Resiliency);
                    }
                }
            }
        }
    }
    out.into_values().collect()
}

fn shown(l: &Location) -> String {
    let base = crate::workspace::current_dir();
    let f = crate::workspace::display_path(&l.file, &base);
    if l.line > 0 {
        format!("{f}:{}:{}", l.line, l.column)
    } else {
        f
    }
}

struct Out<'a> {
    levels: &'a BTreeMap<String, RuleLevel>,
    promoted: &'a BTreeSet<String>,
    diags: Vec<Diagnostic>,
}

impl Out<'_> {
    fn emit(&mut self, rule: &Rule, env: Option<&str>, msg: String, help: String, at: Location) {
        let promoted = env.is_some_and(|e| self.promoted.contains(e));
        let Some(sev) = rules::resolve(rule, self.levels, promoted) else {
            return;
        };
        let mut d = Diagnostic::error(rule.code, msg).help(help).at(at);
        d.severity = sev;
        self.diags.push(d);
    }
}

/// Run the fleet checks over every app of every environment.
pub fn check(
    entries: &[Entry],
    resources: &[Component],
    levels: &BTreeMap<String, RuleLevel>,
    promoted: &BTreeSet<String>,
    complete: bool,
) -> Vec<Diagnostic> {
    let mut out = Out {
        levels,
        promoted,
        diags: Vec::new(),
    };
    let mut by_env: BTreeMap<Option<&str>, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        by_env.entry(e.env.as_deref()).or_default().push(e);
    }
    for (env, apps) in by_env {
        invocations(&mut out, env, &apps, resources);
        app_ids(&mut out, env, &apps);
        if complete {
            scopes(&mut out, env, &apps, resources);
        }
    }
    out.diags
}

fn invocations(out: &mut Out, env: Option<&str>, apps: &[&Entry], resources: &[Component]) {
    for caller in apps {
        // Egress the caller declares → the callee must admit it.
        for (name, at) in &caller.egress {
            for callee in apps
                .iter()
                .filter(|c| c.names(name) && c.app != caller.app && c.namespace != caller.namespace)
            {
                if !callee.ingress.iter().any(|(n, _)| caller.names(n)) {
                    let other = callee
                        .ingress
                        .first()
                        .map(|(_, l)| shown(l))
                        .unwrap_or_else(|| shown(&callee.file_at));
                    out.emit(
                        &rules::INVOCATION_ONE_SIDED,
                        env,
                        format!("{} may reach {} (`networkPolicy.allowEgressTo`), but {} does not admit {}: the calls are dropped", caller.app, callee.app, callee.app, caller.app),
                        format!("add `{}` to {}'s `networkPolicy.allowIngressFrom` ({other}), or remove this entry", caller.app, callee.app),
                        at.clone(),
                    );
                }
            }
        }
        // Ingress the callee (here: `caller` as the admitting side) declares → the admitted app
        // must be allowed to reach it.
        for (name, at) in &caller.ingress {
            for peer in apps
                .iter()
                .filter(|c| c.names(name) && c.app != caller.app && c.namespace != caller.namespace)
            {
                if !peer.egress.iter().any(|(n, _)| caller.names(n)) {
                    let other = peer
                        .egress
                        .first()
                        .map(|(_, l)| shown(l))
                        .unwrap_or_else(|| shown(&peer.file_at));
                    out.emit(
                        &rules::INVOCATION_ONE_SIDED,
                        env,
                        format!("{} admits {} (`networkPolicy.allowIngressFrom`), but {} may not reach {}: its egress is denied", caller.app, peer.app, peer.app, caller.app),
                        format!("add `{{namespace: {}}}` to {}'s `networkPolicy.allowEgressTo` ({other}), or remove this entry", caller.app, peer.app),
                        at.clone(),
                    );
                }
            }
        }
    }
    // Dapr service invocation the platform declares: a Resiliency scoped to the caller whose
    // `targets.apps` names the callee.
    for r in resources.iter().filter(|r| r.kind == "Resiliency") {
        let Some(Val::Map(targets)) = r.doc.at(["spec", "targets", "apps"]).map(|n| &n.val) else {
            continue;
        };
        for (target, tnode) in targets {
            let at = Location::new(
                r.file.clone(),
                tnode.key.unwrap_or(tnode.pos).line,
                tnode.key.unwrap_or(tnode.pos).col,
                0..0,
            );
            for caller in apps
                .iter()
                .filter(|a| r.scopes.is_empty() || r.scopes.contains(&a.app_id))
            {
                if r.namespace
                    .as_deref()
                    .is_some_and(|n| n != caller.namespace)
                {
                    continue;
                }
                for callee in apps
                    .iter()
                    .filter(|a| &a.app_id == target && a.namespace != caller.namespace)
                {
                    let reaches = caller.egress.iter().any(|(n, _)| callee.names(n));
                    let admits = callee.ingress.iter().any(|(n, _)| caller.names(n));
                    if reaches && admits {
                        continue;
                    }
                    let missing = match (reaches, admits) {
                        (false, false) => format!(
                            "{} has no egress to {} and {} does not admit {}",
                            caller.app, callee.app, callee.app, caller.app
                        ),
                        (false, true) => format!("{} has no egress to {}", caller.app, callee.app),
                        _ => format!("{} does not admit {}", callee.app, caller.app),
                    };
                    out.emit(
                        &rules::INVOCATION_ONE_SIDED,
                        env,
                        format!("Resiliency `{}` says {} calls {} through Dapr, but {missing}", r.name, caller.app, callee.app),
                        format!("{} needs `{{namespace: {}}}` in `networkPolicy.allowEgressTo` ({}) and {} needs `{}` in `networkPolicy.allowIngressFrom` ({})", caller.app, callee.app, shown(&caller.file_at), callee.app, caller.app, shown(&callee.file_at)),
                        at.clone(),
                    );
                }
            }
        }
    }
}

fn app_ids(out: &mut Out, env: Option<&str>, apps: &[&Entry]) {
    let mut seen: BTreeMap<(&str, &str), &Entry> = BTreeMap::new();
    for a in apps {
        if let Some(first) = seen.get(&(a.namespace.as_str(), a.app_id.as_str())) {
            out.emit(
                &rules::DAPR_APP_ID,
                env,
                format!("{} and {} both have Dapr app id `{}` in namespace `{}`", first.app, a.app, a.app_id, a.namespace),
                format!("app ids must be unique per namespace: Sentry would give both the same identity; {} sets it at {}", first.app, shown(&first.app_id_at)),
                a.app_id_at.clone(),
            );
        } else {
            seen.insert((&a.namespace, &a.app_id), a);
        }
        if let Some(owner) = apps.iter().find(|o| o.app != a.app && o.app == a.app_id) {
            out.emit(
                &rules::DAPR_APP_ID,
                env,
                format!("{} uses the Dapr app id `{}`, which is the app {}", a.app, a.app_id, owner.app),
                format!("an app never takes another app's id: it would get {}'s identity and the components scoped to it; remove `dapr.appId` or use `{}`", owner.app, a.app),
                a.app_id_at.clone(),
            );
        }
    }
}

fn scopes(out: &mut Out, env: Option<&str>, apps: &[&Entry], resources: &[Component]) {
    let ids: BTreeSet<&str> = apps.iter().map(|a| a.app_id.as_str()).collect();
    for r in resources {
        let at = Location::new(
            r.file.clone(),
            r.doc.pos.line.max(1),
            r.doc.pos.col.max(1),
            0..0,
        );
        if matches!(
            r.kind.as_str(),
            "Resiliency" | "Subscription" | "HTTPEndpoint"
        ) {
            for s in &r.scopes {
                if !ids.contains(s.as_str()) {
                    let known: Vec<&str> = ids.iter().copied().collect();
                    out.emit(
                        &rules::DAPR_COMPONENT,
                        env,
                        format!(
                            "{} `{}` is scoped to `{s}`, which is no app's Dapr id",
                            r.kind, r.name
                        ),
                        format!("app ids here: {}", known.join(", ")),
                        at.clone(),
                    );
                }
            }
        }
        if let (Some(ns), true) = (
            &r.namespace,
            r.scopes.is_empty() && r.kind != "Configuration",
        ) {
            let sharing: Vec<&str> = apps
                .iter()
                .filter(|a| &a.namespace == ns)
                .map(|a| a.app.as_str())
                .collect();
            if sharing.len() > 1 {
                out.emit(
                    &rules::COMPONENT_UNSCOPED,
                    env,
                    format!("{} `{}` in namespace `{ns}` has no `scopes`, so every app there sees it: {}", r.kind, r.name, sharing.join(", ")),
                    "add `scopes:` with the app ids that need it, or leave out `metadata.namespace` and let render scope each copy to its users".into(),
                    at.clone(),
                );
            }
        }
    }
}
