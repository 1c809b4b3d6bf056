//! Delivering the platform's Dapr resources with the apps: the chart names Dapr Components and
//! Configurations but never creates them (they are the platform's), so `render` writes them,
//! per environment, into `<environment output>/../platform/` with its own `kustomization.yaml`.
//!
//! Dapr resources are namespaced; a sidecar sees only those of its own namespace. So a resource
//! of the platform's Dapr directory:
//! - **with** `metadata.namespace` is delivered once, as written (its hand-written `scopes` are
//!   kept; `validate` checks that the apps using it are in them);
//! - **without** one is a template: a `Component` is copied into every app namespace where an app
//!   uses it (`dapr.components`), a `Configuration` where an app names it (`dapr.config`), a
//!   `Resiliency`, `Subscription` or `HTTPEndpoint` into the namespaces of the apps it scopes (every
//!   Dapr-enabled app namespace when it scopes none). A Component or Resiliency/Subscription/
//!   HTTPEndpoint copy gets `scopes` = the app ids using it there, unless it has its own `scopes`
//!   (kept). A template nobody uses is not delivered.
//!
//! One file per namespace (`<namespace>.yaml`), the resources sorted by kind and name: the output
//! depends only on the inputs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::values::components::Component;

/// What delivery needs to know of one app in one environment (from its coalesced values).
#[derive(Debug, Clone)]
pub struct AppDapr {
    pub namespace: String,
    pub app_id: String,
    pub components: Vec<String>,
    pub config: Option<String>,
}

impl AppDapr {
    /// From an app's coalesced values (chart defaults included); `None` when Dapr is off.
    pub fn from_values(values: &Value, namespace: &str, release_name: &str) -> Option<AppDapr> {
        let dapr = &values["dapr"];
        if dapr["enabled"] == json!(false) {
            return None;
        }
        let app_id = dapr["appId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                release_name
                    .chars()
                    .take(63)
                    .collect::<String>()
                    .trim_end_matches('-')
                    .to_string()
            });
        let components = dapr["components"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().or_else(|| c["name"].as_str()))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Some(AppDapr {
            namespace: namespace.to_string(),
            app_id,
            components,
            config: dapr["config"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        })
    }
}

/// The resources to deliver: namespace → documents (sorted by kind, then name).
pub fn deliver(resources: &[Component], apps: &[AppDapr]) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let app_namespaces: BTreeSet<&str> = apps.iter().map(|a| a.namespace.as_str()).collect();
    for r in resources {
        let doc = r.doc.to_json();
        if let Some(ns) = &r.namespace {
            out.entry(ns.clone()).or_default().push(doc);
            continue;
        }
        // Namespace → the app ids there that use this template.
        let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        match r.kind.as_str() {
            "Component" => {
                for a in apps.iter().filter(|a| a.components.contains(&r.name)) {
                    users.entry(&a.namespace).or_default().insert(&a.app_id);
                }
            }
            "Configuration" => {
                for a in apps
                    .iter()
                    .filter(|a| a.config.as_deref() == Some(r.name.as_str()))
                {
                    users.entry(&a.namespace).or_default().insert(&a.app_id);
                }
            }
            _ => {
                for a in apps {
                    if r.scopes.is_empty() || r.scopes.contains(&a.app_id) {
                        users.entry(&a.namespace).or_default().insert(&a.app_id);
                    }
                }
            }
        }
        for (ns, ids) in users {
            if !app_namespaces.contains(ns) {
                continue;
            }
            let mut copy = doc.clone();
            if !copy["metadata"].is_object() {
                copy["metadata"] = json!({});
            }
            copy["metadata"]["namespace"] = json!(ns);
            if r.kind != "Configuration" && r.scopes.is_empty() {
                copy["scopes"] = json!(ids.into_iter().collect::<Vec<_>>());
            }
            out.entry(ns.to_string()).or_default().push(copy);
        }
    }
    for docs in out.values_mut() {
        docs.sort_by(|a, b| {
            let key = |d: &Value| {
                (
                    d["kind"].as_str().unwrap_or_default().to_string(),
                    d["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            };
            key(a).cmp(&key(b))
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn resource(text: &str) -> Component {
        let doc = crate::values::yaml::parse(text, 0, Path::new("r.yaml")).unwrap();
        let s = |k: &[&str]| {
            doc.at(k.iter().copied())
                .and_then(|n| n.as_str())
                .map(str::to_string)
        };
        Component {
            name: s(&["metadata", "name"]).unwrap(),
            kind: s(&["kind"]).unwrap(),
            namespace: s(&["metadata", "namespace"]),
            scopes: doc
                .get("scopes")
                .and_then(|n| match &n.val {
                    crate::values::yaml::Val::Seq(i) => Some(
                        i.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect(),
                    ),
                    _ => None,
                })
                .unwrap_or_default(),
            file: "r.yaml".into(),
            doc,
        }
    }

    fn app(ns: &str, id: &str, components: &[&str], config: &str) -> AppDapr {
        AppDapr {
            namespace: ns.into(),
            app_id: id.into(),
            components: components.iter().map(|c| c.to_string()).collect(),
            config: Some(config.into()),
        }
    }

    #[test]
    fn templates_are_copied_where_used_and_scoped_to_their_users() {
        let store = resource("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\nspec:\n  type: state.redis\n  version: v1\n");
        let cfg = resource("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: appconfig\nspec: {}\n");
        let fixed = resource("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pinned\n  namespace: ops\nspec:\n  type: state.redis\n  version: v1\nscopes: [x]\n");
        let unused = resource("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: unused\nspec:\n  type: state.redis\n  version: v1\n");
        let res = resource("apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: r\nspec: {}\nscopes: [app2]\n");
        let apps = [
            app("app1-ns", "app1", &["statestore"], "appconfig"),
            app("shared", "a", &["statestore"], "appconfig"),
            app("shared", "b", &["statestore"], "other"),
            app("app2-ns", "app2", &[], "appconfig"),
        ];
        let out = deliver(&[store, cfg, fixed, unused, res], &apps);
        assert_eq!(
            out.keys().collect::<Vec<_>>(),
            ["app1-ns", "app2-ns", "ops", "shared"]
        );
        let names = |ns: &str| -> Vec<String> {
            out[ns]
                .iter()
                .map(|d| {
                    format!(
                        "{}/{}",
                        d["kind"].as_str().unwrap(),
                        d["metadata"]["name"].as_str().unwrap()
                    )
                })
                .collect()
        };
        assert_eq!(
            names("app1-ns"),
            ["Component/statestore", "Configuration/appconfig"]
        );
        assert_eq!(
            names("app2-ns"),
            ["Configuration/appconfig", "Resiliency/r"]
        );
        assert_eq!(out["shared"][0]["scopes"], json!(["a", "b"]));
        assert_eq!(out["shared"][0]["metadata"]["namespace"], "shared");
        assert!(
            out["app1-ns"][1].get("scopes").is_none(),
            "Configurations have no scopes"
        );
        assert_eq!(
            out["app2-ns"][1]["scopes"],
            json!(["app2"]),
            "hand-written scopes kept"
        );
        assert_eq!(out["ops"][0]["scopes"], json!(["x"]));
        assert!(!out
            .values()
            .flatten()
            .any(|d| d["metadata"]["name"] == "unused"));
    }
}
