//! The `dapr-component` rule ([`crate::rules::DAPR_COMPONENT`]): every Dapr component an app names must exist in the platform's
//! components directory as a `Component` (apiVersion `dapr.io/…`), in the app's namespace (a
//! component without `metadata.namespace` is not counted as visible: where it lands depends on how
//! it is applied), and, when it has `scopes`, scoped to the app's Dapr app id (`dapr.appId`, else
//! the app name). This catches "the component is in Git but the sidecar cannot find it" before
//! deploy.

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
    let app_id =
        cx.v.merged
            .at(["dapr", "appId"])
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(&cx.v.app)
            .to_string();
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
        let in_ns: Vec<&&Component> = same_name
            .iter()
            .filter(|c| c.namespace.as_deref() == Some(ns.as_str()))
            .collect();
        if in_ns.is_empty() {
            let wheres: Vec<String> = same_name
                .iter()
                .map(|c| match &c.namespace {
                    Some(n) => format!("namespace `{n}`"),
                    None => format!("no namespace ({})", c.file.display()),
                })
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
        if in_ns
            .iter()
            .all(|c| !c.scopes.is_empty() && !c.scopes.contains(&app_id))
        {
            cx.emit(
                &rules::DAPR_COMPONENT,
                format!("Dapr component `{name}` is scoped to {} and not to this app's Dapr id `{app_id}`", in_ns[0].scopes.join(", ")),
                format!("ask the platform team to add `{app_id}` to the component's `scopes`, or set `dapr.appId` to a scoped id"),
                &path,
                Some(item.pos),
            );
        }
    }
}
