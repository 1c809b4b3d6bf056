//! The platform's Dapr resources and the rules about them: `dapr-component`
//! ([`crate::rules::DAPR_COMPONENT`]) and `dapr-config-missing`
//! ([`crate::rules::DAPR_CONFIG_MISSING`]).
//!
//! Every Dapr component an app names must exist in the platform's components directory as a
//! `Component` (apiVersion `dapr.io/…`) visible in the app's namespace and, when it has
//! `scopes`, scoped to the app's real Dapr app id ([`super::rules::app_id`]: `dapr.appId`,
//! else the release name, else the app name). The Configuration `dapr.config` names must exist
//! there too, visible in the app's namespace: daprd does not start without it.
//!
//! Visibility follows how `render` delivers these files: a resource WITHOUT
//! `metadata.namespace` is a platform template copied into every app namespace that uses it,
//! so every app sees it; one WITH a namespace exists only there ([`Component::visible_in`]).
//! This catches "the component is in Git but the sidecar cannot find it" before deploy.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::rules::Ctx;
use super::schema::closest;
use super::yaml::{self, Node, Val};
use super::ValuesError;
use crate::rules;

/// The Dapr resource kinds the platform's Dapr directory may hold (`apiVersion: dapr.io/…`).
pub const DAPR_KINDS: [&str; 5] = [
    "Component",
    "Configuration",
    "Resiliency",
    "Subscription",
    "HTTPEndpoint",
];

/// A Dapr resource found in the platform's components directory: a `Component` (what
/// `dapr.components` names), or another Dapr kind ([`DAPR_KINDS`]: the `Configuration` that
/// `dapr.config` names, a `Resiliency`, …).
#[derive(Debug, Clone)]
pub struct Component {
    pub name: String,
    /// `Component`, `Configuration`, `Resiliency`, `Subscription` or `HTTPEndpoint`.
    pub kind: String,
    pub namespace: Option<String>,
    pub scopes: Vec<String>,
    pub file: PathBuf,
    /// The whole document, with positions in `file` (file index 0).
    pub doc: Node,
}

impl Component {
    /// Whether this is a Dapr `Component` (what `dapr.components` names).
    pub fn is_component(&self) -> bool {
        self.kind == "Component"
    }
    /// Whether this is a Dapr `Configuration` (what `dapr.config` names).
    pub fn is_configuration(&self) -> bool {
        self.kind == "Configuration"
    }
    /// Whether an app in `namespace` sees this resource: it has no `metadata.namespace` (a
    /// platform template `render` copies into every app namespace that uses it), or that one.
    pub fn visible_in(&self, namespace: &str) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == namespace)
    }
    /// Whether app id `app_id` may use it: no `scopes`, or scopes that name it.
    pub fn scoped_to(&self, app_id: &str) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|s| s == app_id)
    }
}

/// The Dapr resources ([`DAPR_KINDS`]) of every `*.yaml`/`*.yml` file in the directory (other
/// kinds are ignored).
/// A FIFO or device with such a name is an error (read_source refuses it), not silently skipped;
/// a file that leads out of the directory through a symbolic link is refused unread.
pub fn load_components(dir: &std::path::Path) -> Result<Vec<Component>, ValuesError> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml") && !p.is_dir())
        .collect();
    paths.sort();
    for path in paths {
        crate::fsutil::confined(&path, dir)?;
        let text = yaml::read_source(&path)?;
        for doc in yaml::parse_documents(&text, 0, &path)? {
            let s = |k: &[&str]| {
                doc.at(k.iter().copied())
                    .and_then(Node::as_str)
                    .map(str::to_string)
            };
            let Some(kind) = s(&["kind"]).filter(|k| DAPR_KINDS.contains(&k.as_str())) else {
                continue;
            };
            if !s(&["apiVersion"]).is_some_and(|a| a.starts_with("dapr.io/")) {
                continue;
            }
            let Some(name) = s(&["metadata", "name"]) else {
                continue;
            };
            let scopes = match doc.get("scopes").map(|n| &n.val) {
                Some(Val::Seq(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            out.push(Component {
                name,
                kind,
                namespace: s(&["metadata", "namespace"]),
                scopes,
                file: path.clone(),
                doc: doc.clone(),
            });
        }
    }
    Ok(out)
}

/// Run the rule over one app.
pub(super) fn check(cx: &mut Ctx) {
    let Some(Val::Seq(items)) = cx.v.merged.at(["dapr", "components"]).map(|n| &n.val) else {
        return;
    };
    let ns = cx.p.app_namespace(&cx.v.app);
    let (app_id, source, _) = super::rules::app_id(cx.p, cx.v);
    let dir = cx.p.components_rel.display().to_string();
    for (i, item) in items.iter().enumerate() {
        let Some(name) = item
            .as_str()
            .or_else(|| item.get("name").and_then(Node::as_str))
        else {
            continue;
        };
        let path = vec!["dapr".to_string(), "components".into(), i.to_string()];
        let same_name: Vec<&Component> =
            cx.p.components
                .iter()
                .filter(|c| c.is_component() && c.name == name)
                .collect();
        if same_name.is_empty() {
            let names: Vec<String> =
                cx.p.components
                    .iter()
                    .filter(|c| c.is_component())
                    .map(|c| c.name.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
            let mut help = format!(
                "components are defined by the platform in {dir}; available: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            );
            if let Some(best) = closest(name, &names) {
                help = format!("did you mean `{best}`? {help}");
            }
            cx.emit(
                &rules::DAPR_COMPONENT,
                format!("no Dapr component named `{name}`"),
                help,
                &path,
                Some(item.pos),
            );
            continue;
        }
        let in_ns: Vec<&&Component> = same_name.iter().filter(|c| c.visible_in(&ns)).collect();
        if in_ns.is_empty() {
            let wheres: Vec<String> = same_name
                .iter()
                .filter_map(|c| c.namespace.as_ref())
                .map(|n| format!("namespace `{n}`"))
                .collect();
            cx.emit(
                &rules::DAPR_COMPONENT,
                format!("Dapr component `{name}` exists, but not in this app's namespace `{ns}` (it is in {})", wheres.join(", ")),
                format!("the sidecar only sees components of its own namespace; ask the platform team to add `{name}` to namespace `{ns}`"),
                &path,
                Some(item.pos),
            );
            continue;
        }
        if in_ns.iter().all(|c| !c.scoped_to(&app_id)) {
            let whence = match source {
                super::rules::AppIdSource::Values => "from `dapr.appId`",
                super::rules::AppIdSource::ReleaseName => {
                    "the release name, as `dapr.appId` is empty"
                }
                super::rules::AppIdSource::AppName => "the app's name, as `dapr.appId` is empty",
            };
            cx.emit(
                &rules::DAPR_COMPONENT,
                format!("Dapr component `{name}` is scoped to {} and not to this app's Dapr id `{app_id}` ({whence})", in_ns[0].scopes.join(", ")),
                format!("ask the platform team to add `{app_id}` to the component's `scopes`, or set `dapr.appId` to a scoped id"),
                &path,
                Some(item.pos),
            );
        }
    }
}

/// `dapr-config-missing`: the Configuration `dapr.config` names (when not empty) must be among
/// the platform's Dapr files, visible in the app's namespace.
pub(super) fn check_config(cx: &mut Ctx) {
    if !super::rules::dapr_enabled(cx.v) {
        return;
    }
    let Some(node) = cx.v.merged.at(["dapr", "config"]) else {
        return;
    };
    let Some(name) = node.as_str().map(str::trim).filter(|s| !s.is_empty()) else {
        return;
    };
    let ns = cx.p.app_namespace(&cx.v.app);
    let configs: Vec<&Component> =
        cx.p.components
            .iter()
            .filter(|c| c.is_configuration())
            .collect();
    let same: Vec<&&Component> = configs.iter().filter(|c| c.name == name).collect();
    if same.iter().any(|c| c.visible_in(&ns)) {
        return;
    }
    let dir = cx.p.components_rel.display().to_string();
    let path = vec!["dapr".to_string(), "config".into()];
    if same.is_empty() {
        let names: Vec<String> = configs
            .iter()
            .filter(|c| c.visible_in(&ns))
            .map(|c| c.name.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut help = format!(
            "daprd does not start without the Configuration it is given; Configurations the platform defines in {dir} for namespace `{ns}`: {}; set `dapr.config` to one of them, or ask the platform team to add `{name}`",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
        if let Some(best) = closest(name, &names) {
            help = format!("did you mean `{best}`? {help}");
        }
        cx.emit(
            &rules::DAPR_CONFIG_MISSING,
            format!("no Dapr Configuration named `{name}` among the platform's Dapr files"),
            help,
            &path,
            Some(node.pos),
        );
        return;
    }
    let wheres: Vec<String> = same
        .iter()
        .filter_map(|c| c.namespace.as_ref())
        .map(|n| format!("namespace `{n}`"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    cx.emit(
        &rules::DAPR_CONFIG_MISSING,
        format!(
            "Dapr Configuration `{name}` exists, but not in this app's namespace `{ns}` (it is in {})",
            wheres.join(", ")
        ),
        format!("the sidecar only reads a Configuration of its own namespace; ask the platform team to add `{name}` to namespace `{ns}` (or to drop its `metadata.namespace`, so that it is delivered to every app namespace)"),
        &path,
        Some(node.pos),
    );
}
