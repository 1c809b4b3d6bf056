//! Report: the typed [`Report`] of the selected environments, from the values `render` passes
//! (each app × environment coalesced by [`Validator::coalesce`], platform values included), with
//! no cluster: capacity (app and Dapr sidecar requests/limits × replicas, per namespace against
//! its quota with the rollout's surge, per node pool against what it declares), the chart
//! versions and pins (appkit.lock digests), and the traffic graph — app → app invocations from
//! the fleet check's own pairs ([`fleet::edges`]), the components' backends as
//! [`Validator::component_backends`] derives `platform.egress`, the platform ingress the chart
//! gets (`platform.ingress`). Never prints.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::report::{
    AppRow, EdgeKind, EnvReport, Graph, GraphEdge, GraphNode, NamespaceRow, NodeKind, Pair,
    PoolRow, Quota, Report, Res, Share, Skipped, Usage, Versions,
};
use crate::values::rules::quantity;
use crate::values::{fleet, Validator};
use crate::workspace::{self, Workspace};

/// What to report.
#[derive(Debug)]
pub struct Request<'a> {
    /// `--env` as given (empty: every environment).
    pub envs: &'a [String],
}

/// A quantity value (a number or a Kubernetes quantity string) in base units.
fn q(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => quantity(s),
        _ => None,
    }
}

/// Requests and limits of a `resources` mapping; a missing request counts as the limit
/// (Kubernetes' defaulting, what the quota admits and `quota-fit` reads).
fn pair(r: &Value) -> Pair {
    let get = |kind: &str, res: &str| q(&r[kind][res]);
    let one = |res: &str| {
        let lim = get("limits", res);
        (
            get("requests", res).or(lim).unwrap_or(0.0),
            lim.unwrap_or(0.0),
        )
    };
    let (rc, lc) = one("cpu");
    let (rm, lm) = one("memory");
    Pair {
        requests: Res::of(rc, rm),
        limits: Res::of(lc, lm),
    }
}

/// `platform.quota` as the chart's ResourceQuota holds it; `None` when disabled or absent.
fn quota(v: &Value) -> Option<Quota> {
    let qv = &v["platform"]["quota"];
    if !qv.is_object() || qv["enabled"] == Value::Bool(false) {
        return None;
    }
    let r = |k: &str| q(&qv[k]);
    let big = 1e15;
    Some(Quota {
        requests: Res::of(
            r("requestsCpu").unwrap_or(big),
            r("requestsMemory").unwrap_or(big),
        ),
        limits: Res::of(
            r("limitsCpu").unwrap_or(big),
            r("limitsMemory").unwrap_or(big),
        ),
        pods: r("pods").map_or(i64::MAX / 4, |p| p as i64),
    })
}

fn min_quota(a: Quota, b: Quota) -> Quota {
    let m = |x: Res, y: Res| Res {
        cpu_millis: x.cpu_millis.min(y.cpu_millis),
        memory_bytes: x.memory_bytes.min(y.memory_bytes),
    };
    Quota {
        requests: m(a.requests, b.requests),
        limits: m(a.limits, b.limits),
        pods: a.pods.min(b.pods),
    }
}

fn ports(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One app × environment, computed on a worker thread.
struct Computed {
    row: AppRow,
    quota: Option<Quota>,
    rollout_pods: u64,
    entry: Option<fleet::Entry>,
    /// Component → backends (namespace, ports).
    backends: Vec<(String, Vec<crate::values::backends::Backend>)>,
    /// `platform.ingress` as the chart gets it: (namespace, ports).
    ingress: Vec<(String, Vec<String>)>,
}

fn older(a: &str, b: &str) -> bool {
    match (
        crate::chart::version::parse_helm(a),
        crate::chart::version::parse_helm(b),
    ) {
        (Ok(x), Ok(y)) => x < y,
        _ => false,
    }
}

pub fn run(ws: &Workspace, req: &Request<'_>) -> Result<Report> {
    let envs = ws.select_envs(req.envs)?;
    let loaded = ws.config();
    let config = &loaded.config;
    let apps = ws.apps()?;
    let validator = Validator::new(loaded)
        .with_context(|| format!("cannot load the chart at {}", loaded.chart_dir().display()))?;
    let lock = crate::lock::Lock::load(&loaded.root.join(crate::lock::LOCK_FILE))?;
    let digest = |v: &str| {
        lock.as_ref()
            .and_then(|l| l.versions.get(v))
            .map(|lv| lv.digest.clone())
    };
    let jobs: Vec<(&str, &str)> = envs
        .iter()
        .flat_map(|e| apps.iter().map(move |a| (e.as_str(), a.as_str())))
        .collect();
    let apps_dir = loaded.apps_dir();
    let computed = crate::par::map(&jobs, 8, |&(env, app)| -> Result<Computed, Skipped> {
        let files = workspace::app_files(&apps_dir.join(app), Some(env));
        let values = validator
            .coalesce(app, &files, Some(env), Some(&apps_dir))
            .map_err(|d| Skipped {
                app: app.into(),
                env: env.into(),
                problem: d
                    .first()
                    .map(|d| d.message.clone())
                    .unwrap_or_else(|| "its values do not load".into()),
            })?;
        let v = &values.json;
        let namespace = loaded.app_namespace(app);
        let dapr = v["dapr"]["enabled"] != Value::Bool(false);
        let replicas = v["replicas"].as_u64().unwrap_or(1);
        let max_surge = crate::values::rules::surge(&values, replicas).map_or(0, |s| s.0);
        let app_pair = pair(&v["resources"]);
        let side = if dapr {
            pair(&v["dapr"]["sidecar"]["resources"])
        } else {
            Pair::default()
        };
        let per_pod = Usage::new(app_pair, side);
        let usage = Usage::new(app_pair * replicas, side * replicas);
        let quota_fit = validator
            .check(&values)
            .into_iter()
            .filter(|d| d.code == crate::rules::QUOTA_FIT.code)
            .map(|d| d.message)
            .collect();
        let e = &config.environments[env];
        let chart_version = e.chart_version_for(app).to_string();
        let pinned = e.pins.contains_key(app);
        let components: Vec<String> = if dapr {
            crate::flux::dapr::AppDapr::from_values(v, &namespace, &loaded.release_name(app))
                .map(|d| d.components)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let backends = validator.component_backends(&namespace, &components);
        let ingress = v["platform"]["ingress"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| {
                        Some((i["namespace"].as_str()?.to_string(), ports(&i["ports"])))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Computed {
            row: AppRow {
                app: app.into(),
                nodepool: v["nodepool"].as_str().unwrap_or_default().to_string(),
                namespace,
                replicas,
                max_surge,
                dapr,
                per_pod,
                usage,
                quota_fit,
                chart_digest: digest(&chart_version),
                lagging: pinned && older(&chart_version, &e.chart_version),
                chart_version,
                pinned,
                components,
            },
            quota: quota(v),
            rollout_pods: replicas + max_surge,
            entry: validator.fleet_entry(&values),
            backends,
            ingress,
        })
    });
    let mut skipped = Vec::new();
    let mut per_env: BTreeMap<&str, Vec<Computed>> = BTreeMap::new();
    for ((env, _), c) in jobs.iter().zip(computed) {
        match c {
            Ok(c) => per_env.entry(env).or_default().push(c),
            Err(s) => skipped.push(s),
        }
    }
    // The fleet check over every app of the run, as validate runs it: its one-sided findings.
    let mut all_entries: Vec<fleet::Entry> = per_env
        .values()
        .flatten()
        .filter_map(|c| c.entry.clone())
        .collect();
    all_entries.sort_by(|a, b| (&a.env, &a.app).cmp(&(&b.env, &b.app)));
    let pairs = fleet::edges(&all_entries, validator.components());
    let mut environments = Vec::new();
    for env in &envs {
        let list = per_env.remove(env.as_str()).unwrap_or_default();
        let env_edges: Vec<&fleet::Edge> = pairs
            .iter()
            .filter(|e| e.env.as_deref() == Some(env.as_str()))
            .collect();
        // The fleet check of this environment, as validate runs it: its one-sided findings.
        let entries: Vec<fleet::Entry> = all_entries
            .iter()
            .filter(|e| e.env.as_deref() == Some(env.as_str()))
            .cloned()
            .collect();
        let findings: Vec<String> = validator
            .fleet(&entries)
            .into_iter()
            .filter(|d| d.code == crate::rules::INVOCATION_ONE_SIDED.code)
            .map(|d| d.message)
            .collect();
        environments.push(env_report(env, list, &env_edges, findings, config, &digest));
    }
    Ok(Report {
        environments,
        skipped,
    })
}

fn env_report(
    env: &str,
    list: Vec<Computed>,
    pairs: &[&fleet::Edge],
    one_sided: Vec<String>,
    config: &crate::config::Config,
    digest: &dyn Fn(&str) -> Option<String>,
) -> EnvReport {
    let e = &config.environments[env];
    let mut totals = Usage::default();
    let mut namespaces: BTreeMap<String, NamespaceRow> = BTreeMap::new();
    let mut pools: BTreeMap<String, PoolRow> = BTreeMap::new();
    for p in &config.node_pools {
        pools.insert(
            p.name().to_string(),
            PoolRow {
                name: p.name().to_string(),
                apps: Vec::new(),
                usage: Usage::default(),
                allocatable: p.allocatable().map(|a| {
                    Res::of(
                        a.cpu.as_deref().and_then(quantity).unwrap_or(0.0),
                        a.memory.as_deref().and_then(quantity).unwrap_or(0.0),
                    )
                }),
                fill: None,
                declared: true,
            },
        );
    }
    let mut graph = Graph::default();
    let mut components: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut backends: BTreeSet<String> = BTreeSet::new();
    let mut platform: BTreeSet<String> = BTreeSet::new();
    let mut egress_edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for c in &list {
        let r = &c.row;
        totals.add(&r.usage);
        let ns = namespaces
            .entry(r.namespace.clone())
            .or_insert_with(|| NamespaceRow {
                namespace: r.namespace.clone(),
                apps: Vec::new(),
                usage: Usage::default(),
                rollout: Pair::default(),
                rollout_pods: 0,
                quota: None,
                headroom: None,
            });
        ns.apps.push(r.app.clone());
        ns.usage.add(&r.usage);
        ns.rollout += r.per_pod.total * c.rollout_pods;
        ns.rollout_pods += c.rollout_pods;
        if let Some(q) = c.quota {
            ns.quota = Some(ns.quota.map_or(q, |o| min_quota(o, q)));
        }
        let pool = pools.entry(r.nodepool.clone()).or_insert_with(|| PoolRow {
            name: r.nodepool.clone(),
            apps: Vec::new(),
            usage: Usage::default(),
            allocatable: None,
            fill: None,
            declared: false,
        });
        pool.apps.push(r.app.clone());
        pool.usage.add(&r.usage);
        graph.nodes.push(GraphNode {
            id: format!("app:{}", r.app),
            kind: NodeKind::App,
            label: r.app.clone(),
            group: format!("{}/{}", r.nodepool, r.namespace),
        });
        for (comp, bs) in &c.backends {
            components
                .entry(comp.clone())
                .or_default()
                .insert(r.app.clone());
            for b in bs {
                backends.insert(b.namespace.clone());
                egress_edges
                    .entry((comp.clone(), b.namespace.clone()))
                    .or_default()
                    .extend(b.ports.iter().map(|p| p.to_string()));
            }
        }
        for (pns, ports) in &c.ingress {
            platform.insert(pns.clone());
            graph.edges.push(GraphEdge {
                from: format!("platform:{pns}"),
                to: format!("app:{}", r.app),
                kind: EdgeKind::Ingress,
                broken: false,
                ports: ports.clone(),
            });
        }
    }
    for ns in namespaces.values_mut() {
        if let Some(q) = ns.quota {
            ns.headroom = Some(Quota {
                requests: q.requests - ns.rollout.requests,
                limits: q.limits - ns.rollout.limits,
                pods: q.pods - ns.rollout_pods as i64,
            });
        }
    }
    for p in pools.values_mut() {
        p.fill = p.allocatable.map(|a| Share::of(p.usage.total.requests, a));
    }
    for (comp, users) in &components {
        graph.nodes.push(GraphNode {
            id: format!("component:{comp}"),
            kind: NodeKind::Component,
            label: comp.clone(),
            group: String::new(),
        });
        for u in users {
            graph.edges.push(GraphEdge {
                from: format!("app:{u}"),
                to: format!("component:{comp}"),
                kind: EdgeKind::Uses,
                broken: false,
                ports: Vec::new(),
            });
        }
    }
    for b in &backends {
        graph.nodes.push(GraphNode {
            id: format!("backend:{b}"),
            kind: NodeKind::Backend,
            label: b.clone(),
            group: String::new(),
        });
    }
    for ((comp, b), ports) in egress_edges {
        graph.edges.push(GraphEdge {
            from: format!("component:{comp}"),
            to: format!("backend:{b}"),
            kind: EdgeKind::Egress,
            broken: false,
            ports: ports.into_iter().collect(),
        });
    }
    for p in &platform {
        graph.nodes.push(GraphNode {
            id: format!("platform:{p}"),
            kind: NodeKind::Platform,
            label: p.clone(),
            group: String::new(),
        });
    }
    for pe in pairs {
        graph.edges.push(GraphEdge {
            from: format!("app:{}", pe.from),
            to: format!("app:{}", pe.to),
            kind: EdgeKind::Invocation,
            broken: pe.broken(),
            ports: Vec::new(),
        });
    }
    let mut apps: Vec<AppRow> = list.into_iter().map(|c| c.row).collect();
    apps.sort_by(|a, b| {
        b.usage
            .total
            .requests
            .cpu_millis
            .cmp(&a.usage.total.requests.cpu_millis)
            .then_with(|| a.app.cmp(&b.app))
    });
    let mut lagging: Vec<String> = apps
        .iter()
        .filter(|a| a.lagging)
        .map(|a| a.app.clone())
        .collect();
    lagging.sort();
    EnvReport {
        env: env.to_string(),
        totals,
        apps,
        namespaces: namespaces.into_values().collect(),
        node_pools: pools.into_values().collect(),
        versions: Versions {
            chart_version: e.chart_version.clone(),
            chart_digest: digest(&e.chart_version),
            pins: e.pins.clone().into_iter().collect(),
            lagging,
        },
        graph,
        one_sided,
    }
}
