//! `report`'s model: what the fleet costs (capacity per environment, node pool, namespace and
//! app), which chart versions run where, and who may talk to whom (the traffic graph), as typed
//! data that serialises to the `-o json` document. Computed by [`crate::actions::report`];
//! formatted by [`human`] (tables) and [`html`] (one self-contained page, [`layout`] places the
//! graph). Owns no decisions about values: every number comes from the coalesced values.

pub mod html;
pub mod human;
pub mod layout;

use std::ops::{Add, AddAssign, Mul};

use serde::Serialize;

/// CPU in millicores and memory in bytes (rounded), the units every number of the report uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Res {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
}

impl Res {
    /// From quantities in base units (cores, bytes).
    pub fn of(cpu: f64, memory: f64) -> Res {
        Res {
            cpu_millis: (cpu * 1000.0).round() as i64,
            memory_bytes: memory.round() as i64,
        }
    }
}

impl Add for Res {
    type Output = Res;
    fn add(self, o: Res) -> Res {
        Res {
            cpu_millis: self.cpu_millis + o.cpu_millis,
            memory_bytes: self.memory_bytes + o.memory_bytes,
        }
    }
}

impl AddAssign for Res {
    fn add_assign(&mut self, o: Res) {
        *self = *self + o;
    }
}

impl std::ops::Sub for Res {
    type Output = Res;
    fn sub(self, o: Res) -> Res {
        Res {
            cpu_millis: self.cpu_millis - o.cpu_millis,
            memory_bytes: self.memory_bytes - o.memory_bytes,
        }
    }
}

impl Mul<u64> for Res {
    type Output = Res;
    fn mul(self, n: u64) -> Res {
        Res {
            cpu_millis: self.cpu_millis * n as i64,
            memory_bytes: self.memory_bytes * n as i64,
        }
    }
}

/// Requests and limits of one container (or a sum of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pair {
    pub requests: Res,
    pub limits: Res,
}

impl AddAssign for Pair {
    fn add_assign(&mut self, o: Pair) {
        self.requests += o.requests;
        self.limits += o.limits;
    }
}

impl Mul<u64> for Pair {
    type Output = Pair;
    fn mul(self, n: u64) -> Pair {
        Pair {
            requests: self.requests * n,
            limits: self.limits * n,
        }
    }
}

/// A fraction (0..1) per resource; `None` where the whole is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Share {
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
}

impl Share {
    pub fn of(part: Res, whole: Res) -> Share {
        let f = |p: i64, w: i64| (w > 0).then(|| ((p as f64 / w as f64) * 1e4).round() / 1e4);
        Share {
            cpu: f(part.cpu_millis, whole.cpu_millis),
            memory: f(part.memory_bytes, whole.memory_bytes),
        }
    }
}

/// What the app container and the sidecar need, per pod and for every replica.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// The app container (a missing request counts as its limit, as Kubernetes admits it).
    pub app: Pair,
    /// The Dapr sidecar (`dapr.io/sidecar-*` from `dapr.sidecar.resources`; 0 without Dapr).
    pub sidecar: Pair,
    /// app + sidecar.
    pub total: Pair,
    /// The sidecar's part of `total.requests`.
    pub sidecar_share: Share,
}

impl Usage {
    pub fn new(app: Pair, sidecar: Pair) -> Usage {
        let mut total = app;
        total += sidecar;
        Usage {
            app,
            sidecar,
            total,
            sidecar_share: Share::of(sidecar.requests, total.requests),
        }
    }
    pub fn add(&mut self, o: &Usage) {
        *self = Usage::new(
            {
                let mut a = self.app;
                a += o.app;
                a
            },
            {
                let mut s = self.sidecar;
                s += o.sidecar;
                s
            },
        );
    }
}

/// One app in one environment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRow {
    pub app: String,
    pub namespace: String,
    pub nodepool: String,
    pub replicas: u64,
    /// Extra pods during a rollout (`platform.rollout.maxSurge`, as `quota-fit` reads it).
    pub max_surge: u64,
    pub dapr: bool,
    /// One pod.
    pub per_pod: Usage,
    /// × replicas.
    pub usage: Usage,
    /// `quota-fit`'s findings for this app (empty: it fits).
    pub quota_fit: Vec<String>,
    pub chart_version: String,
    /// From appkit.lock; `None` when the version is not locked.
    pub chart_digest: Option<String>,
    /// The app is pinned (`environments.<env>.pins`).
    pub pinned: bool,
    /// Pinned to a version older than the environment's `chartVersion`.
    pub lagging: bool,
    /// The Dapr components it uses.
    pub components: Vec<String>,
}

/// One namespace of an environment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceRow {
    pub namespace: String,
    pub apps: Vec<String>,
    pub usage: Usage,
    /// What a rollout of every app at once needs: Σ (replicas + maxSurge) × (app + sidecar).
    pub rollout: Pair,
    pub rollout_pods: u64,
    /// The namespace's ResourceQuota (`platform.quota`; the smallest when apps differ);
    /// `None` when no app creates one.
    pub quota: Option<Quota>,
    /// quota − rollout (negative: does not fit).
    pub headroom: Option<Quota>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub requests: Res,
    pub limits: Res,
    pub pods: i64,
}

/// One node pool of an environment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolRow {
    pub name: String,
    pub apps: Vec<String>,
    pub usage: Usage,
    /// `nodePools[].allocatable`; `None` when not declared.
    pub allocatable: Option<Res>,
    /// usage.total.requests / allocatable.
    pub fill: Option<Share>,
    /// Listed in `nodePools`.
    pub declared: bool,
}

/// The chart versions of an environment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    pub chart_version: String,
    pub chart_digest: Option<String>,
    /// App → pinned version.
    pub pins: std::collections::BTreeMap<String, String>,
    /// Apps pinned below `chartVersion`.
    pub lagging: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeKind {
    Platform,
    App,
    Component,
    Backend,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphNode {
    /// `app:<name>`, `component:<name>`, `backend:<namespace>`, `platform:<namespace>`.
    pub id: String,
    pub kind: NodeKind,
    pub label: String,
    /// Apps: `<nodepool>/<namespace>`; others: empty.
    pub group: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EdgeKind {
    /// Dapr service invocation between apps (network allows or a Resiliency).
    Invocation,
    /// An app uses a Dapr component.
    Uses,
    /// A component's backend: the egress appkit derives (`platform.egress`).
    Egress,
    /// A platform namespace admitted to the app (`network.platformIngress`).
    Ingress,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    /// Invocation: only one side allows it (the fleet check's `invocation-one-sided`).
    pub broken: bool,
    /// Ports (numbers or the chart's names); empty: every port / not applicable.
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// One environment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvReport {
    pub env: String,
    pub totals: Usage,
    /// Per app, largest CPU requests first.
    pub apps: Vec<AppRow>,
    pub namespaces: Vec<NamespaceRow>,
    pub node_pools: Vec<PoolRow>,
    pub versions: Versions,
    pub graph: Graph,
    /// The fleet check's `invocation-one-sided` findings (messages).
    pub one_sided: Vec<String>,
}

/// An app whose values do not coalesce (it is left out of the numbers).
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub app: String,
    pub env: String,
    pub problem: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub environments: Vec<EnvReport>,
    pub skipped: Vec<Skipped>,
}

/// CPU as people read it: `250m`, `1.5` (cores).
pub fn cpu(m: i64) -> String {
    if m % 1000 == 0 {
        format!("{}", m / 1000)
    } else if m.abs() >= 1000 {
        format!("{:.2}", m as f64 / 1000.0)
    } else {
        format!("{m}m")
    }
}

/// Memory as people read it: `512Mi`, `1.5Gi`.
pub fn mem(b: i64) -> String {
    let a = b.abs() as f64;
    let (unit, div) = if a >= 1024f64.powi(3) {
        ("Gi", 1024f64.powi(3))
    } else if a >= 1024f64.powi(2) {
        ("Mi", 1024f64.powi(2))
    } else if a >= 1024.0 {
        ("Ki", 1024.0)
    } else {
        return format!("{b}");
    };
    let x = b as f64 / div;
    if x.fract() == 0.0 {
        format!("{x}{unit}")
    } else {
        format!("{x:.1}{unit}")
    }
}

/// A share as a percentage (`12 %`), `-` when undefined.
pub fn pct(s: Option<f64>) -> String {
    s.map_or_else(|| "-".into(), |f| format!("{:.0} %", f * 100.0))
}
