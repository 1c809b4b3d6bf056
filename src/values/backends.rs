//! Where a platform Dapr component's backend lives, as network egress the app's pods need: the
//! sidecar of an app that uses a Redis state store must reach `redis-system:6379`. App owners
//! do not know backend namespaces (the platform's business), so appkit derives the egress from
//! the component and hands it to the chart as `platform.egress` ([`super::platform`]).
//!
//! Two sources, the declaration winning:
//! 1. the annotation `appkit.io/egress: "redis-system:6379, vault-system:8200"` on the component
//!    (comma-separated `namespace:port`, or a bare `namespace` for every port);
//! 2. else the component's metadata values whose name says they hold an address (`redisHost`,
//!    `vaultAddr`, `brokers`, `connectionString`, `url`, …) when the host is a cluster service:
//!    `svc.ns.svc.cluster.local`, `svc.ns.svc`, or `svc.ns` where `ns` is a namespace the
//!    platform knows. The port is the one written, else the default of the component's type
//!    (Redis 6379, Vault 8200, …), else every port. External hosts (`vault.example.com`) give no
//!    namespace egress: the derivation says nothing rather than guess.

use std::collections::BTreeSet;

use super::components::Component;
use super::yaml::{Node, Pos, Val};

/// The annotation a component declares its backends with.
pub const EGRESS_ANNOTATION: &str = "appkit.io/egress";

/// One backend: a namespace and the TCP ports (empty: every port).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Backend {
    pub namespace: String,
    pub ports: Vec<u16>,
}

/// A malformed `appkit.io/egress` annotation: the entry and where the annotation is.
#[derive(Debug, Clone)]
pub struct BadDeclaration {
    pub entry: String,
    pub pos: Pos,
}

/// The backends of a component (sorted, ports merged per namespace), or the first bad entry
/// of its annotation. `known` are namespaces the platform knows (for `svc.ns` hosts).
pub fn backends(c: &Component, known: &BTreeSet<String>) -> Result<Vec<Backend>, BadDeclaration> {
    let mut found: Vec<(String, Option<u16>)> = Vec::new();
    if let Some(n) = c.doc.at(["metadata", "annotations", EGRESS_ANNOTATION]) {
        let text = n.as_str().unwrap_or_default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match parse_declared(entry) {
                Some(b) => found.push(b),
                None => {
                    return Err(BadDeclaration {
                        entry: entry.to_string(),
                        pos: n.pos,
                    })
                }
            }
        }
        if text.trim().is_empty() {
            return Err(BadDeclaration {
                entry: String::new(),
                pos: n.pos,
            });
        }
    } else {
        let kind = c
            .doc
            .at(["spec", "type"])
            .and_then(Node::as_str)
            .unwrap_or_default();
        let default_port = default_port(kind);
        if let Some(Val::Seq(items)) = c.doc.at(["spec", "metadata"]).map(|n| &n.val) {
            for item in items {
                let (Some(name), Some(value)) = (
                    item.get("name").and_then(Node::as_str),
                    item.get("value").and_then(Node::as_str),
                ) else {
                    continue;
                };
                if !holds_address(name) {
                    continue;
                }
                for one in value.split([',', ' ', ';']).filter(|s| !s.is_empty()) {
                    if let Some((ns, port)) = cluster_service(one, known) {
                        found.push((ns, port.or(default_port)));
                    }
                }
            }
        }
    }
    Ok(merge(found))
}

/// Per namespace, the ports (a `None` port means every port, which covers the others).
fn merge(found: Vec<(String, Option<u16>)>) -> Vec<Backend> {
    let mut out: Vec<Backend> = Vec::new();
    let mut all_ports: BTreeSet<String> = BTreeSet::new();
    for (ns, port) in found {
        if port.is_none() {
            all_ports.insert(ns.clone());
        }
        match out.iter_mut().find(|b| b.namespace == ns) {
            Some(b) => b.ports.extend(port),
            None => out.push(Backend {
                namespace: ns,
                ports: port.into_iter().collect(),
            }),
        }
    }
    for b in &mut out {
        if all_ports.contains(&b.namespace) {
            b.ports.clear();
        }
        b.ports.sort_unstable();
        b.ports.dedup();
    }
    out.sort();
    out
}

/// `ns:port` or `ns`.
fn parse_declared(entry: &str) -> Option<(String, Option<u16>)> {
    let (ns, port) = match entry.split_once(':') {
        Some((ns, port)) => (ns, Some(port.parse::<u16>().ok().filter(|p| *p > 0)?)),
        None => (entry, None),
    };
    is_label(ns).then(|| (ns.to_string(), port))
}

/// Whether a metadata field's name says it holds an address.
fn holds_address(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "host",
        "addr",
        "url",
        "broker",
        "endpoint",
        "server",
        "connectionstring",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// The namespace and port of a cluster-service address (`redis://:pw@redis.redis-system:6379/0`,
/// `vault.vault-system.svc.cluster.local:8200`); `None` for anything else.
pub fn cluster_service(addr: &str, known: &BTreeSet<String>) -> Option<(String, Option<u16>)> {
    let mut rest = addr.trim();
    if let Some((_, after)) = rest.split_once("://") {
        rest = after;
    }
    let rest = rest.split(['/', '?', '#']).next()?;
    let rest = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p.parse::<u16>().ok()?)),
        Some(_) => return None,
        None => (rest, None),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    if labels.iter().any(|l| !is_label(l)) {
        return None;
    }
    let ns = match labels.as_slice() {
        [_, ns, "svc"] | [_, ns, "svc", "cluster", "local"] => ns,
        [_, ns] if known.contains(*ns) => ns,
        _ => return None,
    };
    Some((ns.to_string(), port))
}

/// The port a Dapr component type's backend listens on by default.
fn default_port(kind: &str) -> Option<u16> {
    let k = kind.to_ascii_lowercase();
    let table: [(&str, u16); 9] = [
        ("redis", 6379),
        ("hashicorp.vault", 8200),
        ("postgres", 5432),
        ("mysql", 3306),
        ("mongodb", 27017),
        ("kafka", 9092),
        ("rabbitmq", 5672),
        ("jetstream", 4222),
        ("nats", 4222),
    ];
    table.iter().find(|(w, _)| k.contains(w)).map(|(_, p)| *p)
}

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn component(text: &str) -> Component {
        let doc = super::super::yaml::parse(text, 0, Path::new("c.yaml")).unwrap();
        Component {
            name: "c".into(),
            kind: "Component".into(),
            namespace: None,
            scopes: vec![],
            file: "c.yaml".into(),
            doc,
        }
    }

    fn known() -> BTreeSet<String> {
        ["redis-system".to_string(), "vault-system".into()].into()
    }

    #[test]
    fn metadata_hosts_in_the_cluster_become_egress_with_default_ports() {
        let c = component("spec:\n  type: state.redis\n  metadata:\n    - name: redisHost\n      value: redis-master.redis-system.svc.cluster.local:6379\n    - name: enableTLS\n      value: \"false\"\n");
        assert_eq!(
            backends(&c, &known()).unwrap(),
            vec![Backend {
                namespace: "redis-system".into(),
                ports: vec![6379]
            }]
        );
        let v = component("spec:\n  type: secretstores.hashicorp.vault\n  metadata:\n    - name: vaultAddr\n      value: http://vault.vault-system:8200\n");
        assert_eq!(backends(&v, &known()).unwrap()[0].ports, vec![8200]);
        let no_port = component("spec:\n  type: state.redis\n  metadata:\n    - name: redisHost\n      value: redis.redis-system.svc\n");
        assert_eq!(backends(&no_port, &known()).unwrap()[0].ports, vec![6379]);
    }

    #[test]
    fn external_and_unknown_hosts_give_nothing() {
        for v in [
            "https://vault.example.internal:8200",
            "example.com",
            "10.0.0.1:6379",
            "redis.elsewhere:6379",
        ] {
            let c = component(&format!(
                "spec:\n  type: state.redis\n  metadata:\n    - name: redisHost\n      value: {v}\n"
            ));
            assert_eq!(backends(&c, &known()).unwrap(), vec![], "{v}");
        }
    }

    #[test]
    fn the_declaration_wins_and_a_bad_one_is_refused() {
        let c = component("metadata:\n  annotations:\n    appkit.io/egress: \"redis-system:6379, vault-system:8200,redis-system:26379\"\nspec:\n  type: state.redis\n  metadata:\n    - name: redisHost\n      value: other.other-ns.svc:1\n");
        assert_eq!(
            backends(&c, &known()).unwrap(),
            vec![
                Backend {
                    namespace: "redis-system".into(),
                    ports: vec![6379, 26379]
                },
                Backend {
                    namespace: "vault-system".into(),
                    ports: vec![8200]
                }
            ]
        );
        let all =
            component("metadata:\n  annotations:\n    appkit.io/egress: \"kafka, kafka:9092\"\n");
        assert_eq!(
            backends(&all, &known()).unwrap()[0].ports,
            Vec::<u16>::new()
        );
        for bad in ["redis-system:http", "Redis:1", "a:0", ""] {
            let c = component(&format!(
                "metadata:\n  annotations:\n    appkit.io/egress: \"{bad}\"\n"
            ));
            assert!(backends(&c, &known()).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_in_urls_do_not_confuse_the_host() {
        assert_eq!(
            cluster_service("redis://:p%40ss@redis.redis-system:6379/0", &known()),
            Some(("redis-system".into(), Some(6379)))
        );
    }
}
