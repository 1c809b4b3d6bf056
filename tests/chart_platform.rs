//! The shared chart's platform side (issue 16), rendered by the real Helm 3.17 and Helm 4.1 and
//! validated with `kubernetes-validate --strict` for Kubernetes 1.31:
//!
//! - every app gets its own ServiceAccount, and neither it nor the pod mounts an API token;
//! - the namespace LimitRange gives containers without resources defaults that the ResourceQuota
//!   admits, next to a full rolling update of the chart's defaults;
//! - the Deployment rolls with `platform.rollout.maxSurge` / `maxUnavailable`;
//! - the Dapr sidecar gets Dapr's production requests and limits and `dapr.io/env:
//!   GOMEMLIMIT=…` at 90 % of its memory limit (the expected value is computed here, exactly,
//!   from the quantity, never taken from the template);
//! - `platform.egress`, `platform.ingress` and `platform.appNamespaces` (filled by appkit, never
//!   by apps) and the app's `metricsPort` open exactly the flows they name;
//! - no app value reaches a `dapr.io/*` annotation outside the chart's fixed set: hostile keys are
//!   refused by the schema, schema-valid hostile text stays inside its field, and even with the
//!   schema skipped a value cannot start a new annotation line (every annotation is quoted).
//!
//! The values files stand for what appkit passes: an app file plus a platform file.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

use serde_json::{json, Value};

use crate::chart_contract::{find, names_key, parse_docs};
use crate::common::{self, chart_dir, helm, kubernetes_validate_bin, run};

/// Kubernetes version whose strict schemas the rendered objects must pass.
const KUBERNETES_VERSION: &str = "1.31.0";

const MAJORS: [u8; 2] = [3, 4];
const RELEASE: &str = "demo";
const NAMESPACE: &str = "demo-ns";

/// The smallest app file: the image every app must name.
const APP: &str = r#"{"image": {"repository": "harbor.example.com/apps/demo",
  "digest": "sha256:3f1c9a7e5b2d4c6a8e0f1b3d5c7e9a1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f"}}"#;

/// The `dapr.io/*` annotations the chart writes on a Dapr-enabled pod with the default values:
/// its whole, fixed set.
const CHART_DAPR_ANNOTATIONS: &[&str] = &[
    "dapr.io/app-id",
    "dapr.io/app-port",
    "dapr.io/app-protocol",
    "dapr.io/config",
    "dapr.io/enabled",
    "dapr.io/env",
    "dapr.io/log-level",
    "dapr.io/metrics-port",
    "dapr.io/sidecar-cpu-limit",
    "dapr.io/sidecar-cpu-request",
    "dapr.io/sidecar-memory-limit",
    "dapr.io/sidecar-memory-request",
];

/// Renders the chart from values files written into one temp dir; keeps every successful render
/// so `validate` checks them all in one kubernetes-validate run.
struct Renders {
    tmp: tempfile::TempDir,
    files: usize,
    rendered: Vec<PathBuf>,
}

impl Renders {
    fn new() -> Renders {
        Renders {
            tmp: tempfile::Builder::new()
                .prefix("appkit-chart-platform-")
                .tempdir()
                .expect("temp dir"),
            files: 0,
            rendered: Vec::new(),
        }
    }

    fn write(&mut self, yaml: &str) -> PathBuf {
        self.files += 1;
        let path = self.tmp.path().join(format!("values-{}.yaml", self.files));
        std::fs::write(&path, yaml).unwrap();
        path
    }

    /// `helm <cmd> … chart/ -f <each values text>` plus `extra` flags.
    fn helm(&mut self, major: u8, cmd: &[&str], values: &[&str], extra: &[&str]) -> Output {
        let files: Vec<PathBuf> = values.iter().map(|v| self.write(v)).collect();
        let mut c = helm(major, self.tmp.path());
        c.args(cmd).arg(chart_dir()).args(extra);
        for f in &files {
            c.arg("-f").arg(f);
        }
        run(&mut c)
    }

    fn template(&mut self, major: u8, values: &[&str], extra: &[&str]) -> Output {
        let mut args = extra.to_vec();
        args.extend(["--namespace", NAMESPACE]);
        self.helm(major, &["template", RELEASE], values, &args)
    }

    /// Render, assert success, keep the output for `validate`, return the objects.
    fn ok_with(&mut self, major: u8, values: &[&str], extra: &[&str]) -> Vec<Value> {
        let out = self.template(major, values, extra);
        assert!(
            out.status.success(),
            "helm {major} template {values:?} {extra:?} failed:\n{}",
            common::stderr(&out)
        );
        let yaml = common::stdout(&out);
        let path = self
            .tmp
            .path()
            .join(format!("rendered-{}.yaml", self.rendered.len()));
        std::fs::write(&path, &yaml).unwrap();
        self.rendered.push(path);
        parse_docs(&yaml)
    }

    fn ok(&mut self, major: u8, values: &[&str]) -> Vec<Value> {
        self.ok_with(major, values, &[])
    }

    /// Render, assert failure, return Helm's whole message.
    fn refused(&mut self, major: u8, values: &[&str], extra: &[&str]) -> String {
        let out = self.template(major, values, extra);
        let message = format!("{}{}", common::stdout(&out), common::stderr(&out));
        assert!(
            !out.status.success(),
            "helm {major} template accepted {values:?} {extra:?}:\n{message}"
        );
        message
    }

    /// Every kept render passes the strict Kubernetes 1.31 schemas.
    fn validate(&self) {
        assert!(!self.rendered.is_empty(), "nothing rendered to validate");
        let out = run(std::process::Command::new(kubernetes_validate_bin())
            .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
            .args(&self.rendered));
        assert!(
            out.status.success(),
            "kubernetes-validate --strict -k {KUBERNETES_VERSION} rejected the rendered objects:\n{}{}",
            common::stdout(&out),
            common::stderr(&out)
        );
    }
}

fn deployment(docs: &[Value]) -> &Value {
    find(docs, "Deployment", RELEASE)
}

fn pod_annotations(docs: &[Value]) -> &serde_json::Map<String, Value> {
    deployment(docs)["spec"]["template"]["metadata"]["annotations"]
        .as_object()
        .expect("pod annotations")
}

fn dapr_keys(docs: &[Value]) -> BTreeSet<String> {
    pod_annotations(docs)
        .keys()
        .filter(|k| k.starts_with("dapr.io/"))
        .cloned()
        .collect()
}

fn chart_set() -> BTreeSet<String> {
    CHART_DAPR_ANNOTATIONS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn allow_policy(docs: &[Value]) -> &Value {
    &find(docs, "NetworkPolicy", &format!("{RELEASE}-allow"))["spec"]
}

fn ns_peer(ns: &str) -> Value {
    json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}})
}

fn tcp(ports: &[i64]) -> Value {
    ports
        .iter()
        .map(|p| json!({"protocol": "TCP", "port": p}))
        .collect()
}

/// The egress every app has: its namespace, DNS, the Dapr control plane.
fn baseline_egress() -> Vec<Value> {
    vec![
        json!({"to": [{"podSelector": {}}]}),
        json!({"to": [ns_peer("kube-system")],
               "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}),
        json!({"to": [ns_peer("dapr-system")]}),
    ]
}

/// A Kubernetes quantity in billionths of its unit (cores or bytes), exactly: `250m`, `1.5Gi`,
/// `512M`, `1073741824`.
fn nano(q: &Value) -> u128 {
    let s = match q {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a quantity: {other}"),
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    assert!(
        !num.is_empty() && frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()),
        "not a quantity: {s}"
    );
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse().unwrap()
    };
    let frac: u128 = format!("{frac:0<9}").parse().unwrap();
    let value = int * 1_000_000_000 + frac;
    let (mul, div): (u128, u128) = match suffix {
        "" => (1, 1),
        "m" => (1, 1000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        other => panic!("unknown quantity suffix {other:?} in {s}"),
    };
    value * mul / div
}

/// What the sidecar's `dapr.io/env` must say for a memory limit: 90 % of it, whole MiB rounded
/// down (whole bytes below 1 MiB).
fn expected_gomemlimit(limit: &Value) -> String {
    const GIGA: u128 = 1_000_000_000;
    let tenths = nano(limit) * 9 / 10;
    let mib = tenths / (GIGA << 20);
    if mib >= 1 {
        format!("GOMEMLIMIT={mib}MiB")
    } else {
        format!("GOMEMLIMIT={}", tenths / GIGA)
    }
}

#[test]
fn quantities_and_gomemlimit_are_computed_exactly() {
    assert_eq!(nano(&json!("250m")), 250_000_000);
    assert_eq!(nano(&json!("1.5Gi")), 3 * (1 << 29) * 1_000_000_000);
    assert_eq!(nano(&json!(2)), 2_000_000_000);
    assert_eq!(expected_gomemlimit(&json!("1000Mi")), "GOMEMLIMIT=900MiB");
    assert_eq!(expected_gomemlimit(&json!("2Gi")), "GOMEMLIMIT=1843MiB");
    // 512 MB = 512e6 bytes; 90 % is 460.8e6 bytes = 439.45 MiB.
    assert_eq!(expected_gomemlimit(&json!("512M")), "GOMEMLIMIT=439MiB");
    assert_eq!(expected_gomemlimit(&json!("100k")), "GOMEMLIMIT=90000");
}

#[test]
fn each_app_has_a_service_account_and_no_token_is_mounted() {
    let mut r = Renders::new();
    let no_sa = r#"{"platform": {"serviceAccount": {"create": false}}}"#;
    for major in MAJORS {
        let docs = r.ok(major, &[APP]);
        let sa = find(&docs, "ServiceAccount", RELEASE);
        assert_eq!(sa["apiVersion"], "v1", "helm {major}");
        assert_eq!(
            sa["automountServiceAccountToken"], false,
            "helm {major}: the ServiceAccount itself mounts no token"
        );
        let pod = &deployment(&docs)["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], RELEASE, "helm {major}");
        assert_eq!(pod["automountServiceAccountToken"], false, "helm {major}");

        let docs = r.ok(major, &[APP, no_sa]);
        assert!(
            !docs.iter().any(|d| d["kind"] == "ServiceAccount"),
            "helm {major}: serviceAccount.create false creates none"
        );
        let pod = &deployment(&docs)["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "default", "helm {major}");
        assert_eq!(pod["automountServiceAccountToken"], false, "helm {major}");
    }
    r.validate();
}

#[test]
fn limit_range_defaults_fit_the_quota_next_to_a_rolling_update() {
    let mut r = Renders::new();
    let disabled = r#"{"platform": {"limitRange": {"enabled": false}}}"#;
    for major in MAJORS {
        let docs = r.ok(major, &[APP]);
        let limits = &find(&docs, "LimitRange", RELEASE)["spec"]["limits"];
        assert_eq!(
            limits.as_array().map(Vec::len),
            Some(1),
            "helm {major}: {limits}"
        );
        let lr = &limits[0];
        assert_eq!(lr["type"], "Container", "helm {major}");
        let hard = &find(&docs, "ResourceQuota", RELEASE)["spec"]["hard"];
        for res in ["cpu", "memory"] {
            let (req, lim) = (&lr["defaultRequest"][res], &lr["default"][res]);
            assert!(
                nano(req) > 0 && nano(req) <= nano(lim),
                "helm {major}: {lr}"
            );
            assert!(
                nano(req) <= nano(&hard[format!("requests.{res}")]),
                "helm {major}: {lr} {hard}"
            );
            assert!(
                nano(lim) <= nano(&hard[format!("limits.{res}")]),
                "helm {major}: {lr} {hard}"
            );
        }

        // A `kubectl run` pod (no resources: it gets the LimitRange defaults) is admitted while
        // the app rolls: (replicas + maxSurge) pods of app + sidecar at their defaults, and
        // likewise for the example's production app (3 replicas, more room) under the default
        // quota.
        assert_rollout_and_test_pod_fit(major, "defaults", &docs);
        let example = |f: &str| {
            std::fs::read_to_string(common::examples_dir().join("apps/app1").join(f)).unwrap()
        };
        let (base, prod) = (example("values.yaml"), example("values.prod.yaml"));
        let docs = r.ok(major, &[&base, &prod]);
        assert_rollout_and_test_pod_fit(major, "examples/apps/app1 prod", &docs);

        let docs = r.ok(major, &[APP, disabled]);
        assert!(
            !docs.iter().any(|d| d["kind"] == "LimitRange"),
            "helm {major}: limitRange.enabled false"
        );
    }
    r.validate();
}

/// (replicas + maxSurge) pods of app + sidecar, plus one pod with the LimitRange defaults, fit the
/// ResourceQuota: requests and limits, CPU and memory, and the pod count.
fn assert_rollout_and_test_pod_fit(major: u8, what: &str, docs: &[Value]) {
    let lr = &find(docs, "LimitRange", RELEASE)["spec"]["limits"][0];
    let hard = &find(docs, "ResourceQuota", RELEASE)["spec"]["hard"];
    let deploy = deployment(docs);
    let surge = deploy["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        .as_i64()
        .expect("an integer maxSurge by default");
    let pods = (deploy["spec"]["replicas"].as_i64().unwrap() + surge) as u128;
    let app = &deploy["spec"]["template"]["spec"]["containers"][0]["resources"];
    let ann = pod_annotations(docs);
    let sidecar = |kind: &str, res: &str| nano(&ann[&format!("dapr.io/sidecar-{res}-{kind}")]);
    for (kind, quota_kind, lr_kind) in [
        ("request", "requests", "defaultRequest"),
        ("limit", "limits", "default"),
    ] {
        for res in ["cpu", "memory"] {
            let per_pod = nano(&app[quota_kind][res]) + sidecar(kind, res);
            let total = pods * per_pod + nano(&lr[lr_kind][res]);
            let quota = nano(&hard[format!("{quota_kind}.{res}")]);
            assert!(
                total <= quota,
                "helm {major} {what}: {quota_kind}.{res}: {pods} pods x {per_pod} + a test pod = {total} > quota {quota} (billionths)"
            );
        }
    }
    assert!(
        pods < nano(&hard["pods"]) / 1_000_000_000,
        "helm {major} {what}: {pods} pods and a test pod exceed the quota's pods"
    );
}

#[test]
fn the_deployment_rolls_with_the_platform_surge_and_unavailability() {
    let mut r = Renders::new();
    let cases = [
        (APP.to_string(), json!({"maxSurge": 1, "maxUnavailable": 0})),
        (
            r#"{"platform": {"rollout": {"maxSurge": "25%", "maxUnavailable": "10%"}}}"#.into(),
            json!({"maxSurge": "25%", "maxUnavailable": "10%"}),
        ),
        (
            r#"{"platform": {"rollout": {"maxSurge": 0, "maxUnavailable": 1}}}"#.into(),
            json!({"maxSurge": 0, "maxUnavailable": 1}),
        ),
    ];
    for major in MAJORS {
        for (values, want) in &cases {
            let docs = r.ok(major, &[APP, values]);
            assert_eq!(
                deployment(&docs)["spec"]["strategy"],
                json!({"type": "RollingUpdate", "rollingUpdate": want}),
                "helm {major} {values}"
            );
        }
        let both_zero = r#"{"platform": {"rollout": {"maxSurge": "0%", "maxUnavailable": 0}}}"#;
        let msg = r.refused(major, &[APP, both_zero], &[]);
        assert!(
            msg.contains(
                "platform.rollout.maxSurge and platform.rollout.maxUnavailable are both 0"
            ),
            "helm {major}: {msg}"
        );
        let not_percent = r#"{"platform": {"rollout": {"maxSurge": "50"}}}"#;
        let msg = r.refused(major, &[APP, not_percent], &[]);
        assert!(names_key(&msg, "maxSurge"), "helm {major}: {msg}");
    }
    r.validate();
}

#[test]
fn the_sidecar_gets_production_resources_and_gomemlimit_at_90_percent_of_its_limit() {
    let mut r = Renders::new();
    // Memory limits as YAML text (a bare number is bytes), with the sidecar request under each.
    let limits = [
        ("1000Mi", "250Mi"),
        ("2Gi", "250Mi"),
        ("512M", "250Mi"),
        ("1G", "250Mi"),
        ("1024000Ki", "250Mi"),
        ("1.5Gi", "250Mi"),
        ("3Ti", "250Mi"),
        ("1073741824", "250Mi"),
        ("\"1073741824\"", "250Mi"),
        ("100k", "10k"),
    ];
    for major in MAJORS {
        let docs = r.ok(major, &[APP]);
        let ann = pod_annotations(&docs);
        for (key, want) in [
            ("dapr.io/sidecar-cpu-request", "100m"),
            ("dapr.io/sidecar-memory-request", "250Mi"),
            ("dapr.io/sidecar-cpu-limit", "300m"),
            ("dapr.io/sidecar-memory-limit", "1000Mi"),
            ("dapr.io/env", "GOMEMLIMIT=900MiB"),
            ("dapr.io/metrics-port", "9090"),
        ] {
            assert_eq!(ann[key], want, "helm {major}: {key} by default");
        }
        assert_eq!(dapr_keys(&docs), chart_set(), "helm {major}");

        for (limit, request) in limits {
            let values = format!(
                "dapr: {{sidecar: {{resources: {{requests: {{memory: {request}}}, limits: {{memory: {limit}}}}}}}}}\n"
            );
            let docs = r.ok(major, &[APP, &values]);
            let parsed: Value = serde_saphyr::from_str(&values).unwrap();
            let limit_value = &parsed["dapr"]["sidecar"]["resources"]["limits"]["memory"];
            assert_eq!(
                pod_annotations(&docs)["dapr.io/env"],
                expected_gomemlimit(limit_value).as_str(),
                "helm {major}: memory limit {limit}"
            );
        }

        // No memory limit, no soft limit.
        let unlimited = "dapr: {sidecar: {resources: {limits: {memory: null}}}}\n";
        let docs = r.ok(major, &[APP, unlimited]);
        let ann = pod_annotations(&docs);
        assert!(
            ann.get("dapr.io/sidecar-memory-limit").is_none() && ann.get("dapr.io/env").is_none(),
            "helm {major}: {ann:?}"
        );
    }
    r.validate();
}

/// The platform file appkit would pass for an app using Redis and Vault components.
const PLATFORM_EGRESS: &str = r#"{"platform": {"egress": [
  {"namespace": "redis-system", "ports": [6379]},
  {"namespace": "vault-system", "ports": [8200, 8201]},
  {"namespace": "nats-system"}]}}"#;

#[test]
fn platform_egress_opens_only_the_given_namespaces_and_ports() {
    let mut r = Renders::new();
    for major in MAJORS {
        let docs = r.ok(major, &[APP]);
        assert_eq!(
            allow_policy(&docs)["egress"],
            Value::Array(baseline_egress()),
            "helm {major}: no platform egress by default"
        );

        let docs = r.ok(major, &[APP, PLATFORM_EGRESS]);
        let mut want = baseline_egress();
        want.push(json!({"to": [ns_peer("redis-system")], "ports": tcp(&[6379])}));
        want.push(json!({"to": [ns_peer("vault-system")], "ports": tcp(&[8200, 8201])}));
        // No ports: every port of that namespace.
        want.push(json!({"to": [ns_peer("nats-system")]}));
        assert_eq!(
            allow_policy(&docs)["egress"],
            Value::Array(want),
            "helm {major}"
        );
        // Egress only: no platform namespace may call in.
        assert_eq!(
            allow_policy(&docs)["ingress"],
            json!([{"from": [{"podSelector": {}}]}]),
            "helm {major}"
        );

        let no_namespace = r#"{"platform": {"egress": [{"ports": [6379]}]}}"#;
        let msg = r.refused(major, &[APP, no_namespace], &[]);
        assert!(names_key(&msg, "namespace"), "helm {major}: {msg}");
    }
    r.validate();
}

const PLATFORM_INGRESS: &str = r#"{"platform": {"ingress": [
  {"namespace": "ingress-nginx", "ports": ["app"]},
  {"namespace": "monitoring", "ports": ["dapr-metrics", "metrics"]},
  {"namespace": "backup-system", "ports": [7000, "app"]},
  {"namespace": "app-metrics-only", "ports": ["metrics"]}]}}"#;

fn admitted(ns: &str, ports: &[i64]) -> Value {
    json!({"from": [ns_peer(ns)], "ports": tcp(ports)})
}

#[test]
fn platform_ingress_resolves_app_dapr_metrics_metrics_and_numbers() {
    let mut r = Renders::new();
    let app_port = r#"{"port": 3000}"#;
    let with_metrics = r#"{"port": 3000, "metricsPort": 9100}"#;
    let no_dapr = r#"{"port": 3000, "dapr": {"enabled": false}}"#;
    let other_dapr_port = r#"{"platform": {"daprMetricsPort": 9191}}"#;
    let same_ns = json!({"from": [{"podSelector": {}}]});
    for major in MAJORS {
        let docs = r.ok(major, &[APP, with_metrics, PLATFORM_INGRESS]);
        assert_eq!(
            allow_policy(&docs)["ingress"],
            json!([
                same_ns,
                admitted("ingress-nginx", &[3000]),
                admitted("monitoring", &[9090, 9100]),
                admitted("backup-system", &[7000, 3000]),
                admitted("app-metrics-only", &[9100]),
            ]),
            "helm {major}: metricsPort set"
        );
        let c = &deployment(&docs)["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            c["ports"],
            json!([{"name": "http", "containerPort": 3000, "protocol": "TCP"},
                   {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]),
            "helm {major}"
        );
        assert_eq!(
            find(&docs, "Service", RELEASE)["spec"]["ports"],
            json!([{"name": "http", "port": 3000, "targetPort": "http", "protocol": "TCP"},
                   {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"}]),
            "helm {major}"
        );

        // Without metricsPort, `metrics` opens nothing; a rule left without ports is dropped
        // (never widened to all ports). The sidecar's metrics port follows the platform's.
        let docs = r.ok(major, &[APP, app_port, other_dapr_port, PLATFORM_INGRESS]);
        assert_eq!(
            allow_policy(&docs)["ingress"],
            json!([
                same_ns,
                admitted("ingress-nginx", &[3000]),
                admitted("monitoring", &[9191]),
                admitted("backup-system", &[7000, 3000]),
            ]),
            "helm {major}: no metricsPort"
        );
        assert_eq!(
            pod_annotations(&docs)["dapr.io/metrics-port"],
            "9191",
            "helm {major}"
        );
        let c = &deployment(&docs)["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["ports"].as_array().map(Vec::len), Some(1), "helm {major}");

        // Without a sidecar there is no dapr-metrics port either.
        let docs = r.ok(major, &[APP, no_dapr, PLATFORM_INGRESS]);
        assert_eq!(
            allow_policy(&docs)["ingress"],
            json!([
                same_ns,
                admitted("ingress-nginx", &[3000]),
                admitted("backup-system", &[7000, 3000]),
            ]),
            "helm {major}: dapr disabled"
        );

        let unknown = r#"{"platform": {"ingress": [{"namespace": "x", "ports": ["grafana"]}]}}"#;
        let msg = r.refused(major, &[APP, unknown], &[]);
        assert!(names_key(&msg, "ports"), "helm {major}: {msg}");
        let clash = r#"{"port": 9100, "metricsPort": 9100}"#;
        let msg = r.refused(major, &[APP, clash], &[]);
        assert!(
            msg.contains("metricsPort 9100 is the app's port"),
            "helm {major}: {msg}"
        );
        let taken = r#"{"metricsPort": 9090}"#;
        let msg = r.refused(major, &[APP, taken], &[]);
        assert!(names_key(&msg, "metricsPort"), "helm {major}: {msg}");
    }
    r.validate();
}

#[test]
fn network_policy_entries_naming_apps_resolve_through_app_namespaces() {
    let mut r = Renders::new();
    let app = r#"{"networkPolicy": {
      "allowIngressFrom": ["app2", "legacy"],
      "allowEgressTo": [{"namespace": "app1", "ports": [50002]}, {"namespace": "shared-db"},
                        {"namespace": "app2", "cidr": "10.0.0.0/8"}]}}"#;
    let platform = r#"{"platform": {"appNamespaces": {"app1": "app1-ns", "app2": "app2-ns"}}}"#;
    let callers =
        |a: &str, b: &str| json!({"from": [ns_peer(a), ns_peer(b)], "ports": tcp(&[50002])});
    let egress = |one: &str, two: &str| {
        let mut e = baseline_egress();
        e.push(json!({"to": [ns_peer(one)], "ports": tcp(&[50002])}));
        e.push(json!({"to": [ns_peer("shared-db")]}));
        e.push(json!({"to": [ns_peer(two), {"ipBlock": {"cidr": "10.0.0.0/8"}}]}));
        Value::Array(e)
    };
    for major in MAJORS {
        let docs = r.ok(major, &[APP, app, platform]);
        let allow = allow_policy(&docs);
        assert_eq!(
            allow["ingress"][1],
            callers("app2-ns", "legacy"),
            "helm {major}"
        );
        assert_eq!(
            allow["egress"],
            egress("app1-ns", "app2-ns"),
            "helm {major}"
        );

        // Unknown to the platform: the names stay namespace names, as before.
        let docs = r.ok(major, &[APP, app]);
        let allow = allow_policy(&docs);
        assert_eq!(
            allow["ingress"][1],
            callers("app2", "legacy"),
            "helm {major}"
        );
        assert_eq!(allow["egress"], egress("app1", "app2"), "helm {major}");

        let bad = r#"{"platform": {"appNamespaces": {"app1": "Not_A_Namespace"}}}"#;
        let msg = r.refused(major, &[APP, bad], &[]);
        assert!(names_key(&msg, "app1"), "helm {major}: {msg}");
    }
    r.validate();
}

#[test]
fn lint_strict_is_clean_with_defaults_and_with_every_platform_value() {
    let mut r = Renders::new();
    let platform = r#"{"metricsPort": 9100, "platform": {
      "egress": [{"namespace": "redis-system", "ports": [6379]}],
      "ingress": [{"namespace": "ingress-nginx", "ports": ["app"]},
                  {"namespace": "monitoring", "ports": ["dapr-metrics", "metrics"]}],
      "appNamespaces": {"app2": "app2-ns"},
      "rollout": {"maxSurge": "25%", "maxUnavailable": 0}}}"#;
    for major in MAJORS {
        for values in [vec![APP], vec![APP, platform]] {
            let out = r.helm(major, &["lint", "--strict"], &values, &[]);
            let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
            assert!(
                out.status.success() && !text.contains("[WARNING]") && !text.contains("[ERROR]"),
                "helm {major} lint --strict {values:?}:\n{text}"
            );
        }
        r.ok(major, &[APP, platform]);
    }
    r.validate();
}

/// App values that try to reach a `dapr.io/*` annotation; the schema refuses each, naming the key.
const REFUSED: &[(&str, &str)] = &[
    (
        r#"{"dapr.io/app-token-secret": "stolen"}"#,
        "dapr.io/app-token-secret",
    ),
    (
        r#"{"podAnnotations": {"dapr.io/enable-api-logging": "true"}}"#,
        "podAnnotations",
    ),
    (
        r#"{"annotations": {"dapr.io/config": "other"}}"#,
        "annotations",
    ),
    (
        r#"{"dapr": {"dapr.io/env": "GOMEMLIMIT=1"}}"#,
        "dapr.io/env",
    ),
    (
        r#"{"dapr": {"annotations": {"dapr.io/enable-profiling": "true"}}}"#,
        "annotations",
    ),
    (r#"{"dapr": {"env": "GODEBUG=x"}}"#, "env"),
    (r#"{"dapr": {"sidecar": {"env": "GOMEMLIMIT=1"}}}"#, "env"),
    (
        r#"{"dapr": {"sidecar": {"annotations": {"dapr.io/x": "y"}}}}"#,
        "annotations",
    ),
    (
        r#"{"dapr": {"appId": "app\ndapr.io/config: evil"}}"#,
        "appId",
    ),
    (
        r#"{"dapr": {"config": "x\"\n        dapr.io/enable-profiling: \"true"}}"#,
        "config",
    ),
    (
        r#"{"dapr": {"logLevel": "info\ndapr.io/log-as-json: true"}}"#,
        "logLevel",
    ),
    (
        r#"{"dapr": {"protocol": "http\"\ndapr.io/x: \""}}"#,
        "protocol",
    ),
    (
        r#"{"dapr": {"components": ["a\ndapr.io/x: y"]}}"#,
        "components",
    ),
    (
        r#"{"dapr": {"sidecar": {"resources": {"limits": {"memory": "1Gi\n        dapr.io/env: x"}}}}}"#,
        "memory",
    ),
    (
        r#"{"dapr": {"sidecar": {"resources": {"requests": {"cpu": "1\ndapr.io/x: y"}}}}}"#,
        "cpu",
    ),
    (r#"{"port": "8080\"\n        dapr.io/x: \"y"}"#, "port"),
    (
        r#"{"platform": {"daprMetricsPort": "9090\"\n        dapr.io/x: \"y"}}"#,
        "daprMetricsPort",
    ),
];

#[test]
fn no_app_value_reaches_a_dapr_annotation_outside_the_charts_set() {
    let mut r = Renders::new();
    // Schema-valid but hostile: annotation-like text where the schema takes free text or names.
    let accepted = r#"{
      "env": [{"name": "DAPR_IO", "value": "x\"\n        dapr.io/enable-api-logging: \"true\""}],
      "dapr": {"appId": "dapr-io-app-token-secret", "config": "dapr-io-env",
               "components": ["dapr-io-enabled"]},
      "probes": {"path": "/dapr.io/env:GOMEMLIMIT=1"}}"#;
    // Hostile text in every dapr.* string, with the schema skipped: each stays one quoted value.
    let hostile = [
        (
            "appId",
            "dapr.io/app-id",
            "evil\"\n        dapr.io/enable-profiling: \"true",
        ),
        (
            "config",
            "dapr.io/config",
            "cfg\n        dapr.io/app-token-secret: stolen",
        ),
        (
            "logLevel",
            "dapr.io/log-level",
            "info'\ndapr.io/env: \"GOMEMLIMIT=1\"",
        ),
        (
            "protocol",
            "dapr.io/app-protocol",
            "http\\\"\n  dapr.io/x: y",
        ),
    ];
    let mut skipped = json!({"dapr": {}});
    for (key, _, text) in hostile {
        skipped["dapr"][key] = json!(text);
    }
    let skipped = skipped.to_string();
    for major in MAJORS {
        let docs = r.ok(major, &[APP, accepted]);
        assert_eq!(
            dapr_keys(&docs),
            chart_set(),
            "helm {major}: schema-valid hostile values"
        );
        assert_eq!(
            pod_annotations(&docs).len(),
            CHART_DAPR_ANNOTATIONS.len(),
            "helm {major}: the pod carries the chart's Dapr annotations and nothing else"
        );
        assert_eq!(
            pod_annotations(&docs)["dapr.io/app-id"],
            "dapr-io-app-token-secret",
            "helm {major}"
        );
        let env = &deployment(&docs)["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            env[0]["value"], "x\"\n        dapr.io/enable-api-logging: \"true\"",
            "helm {major}: the env value arrives whole, in the container"
        );

        for (values, key) in REFUSED {
            let msg = r.refused(major, &[APP, values], &[]);
            assert!(
                names_key(&msg, key),
                "helm {major} refused {values} without naming `{key}`:\n{msg}"
            );
        }

        let docs = r.ok_with(major, &[APP, &skipped], &["--skip-schema-validation"]);
        assert_eq!(
            dapr_keys(&docs),
            chart_set(),
            "helm {major}: schema skipped, hostile dapr.* strings"
        );
        for (_, annotation, text) in hostile {
            assert_eq!(
                pod_annotations(&docs)[annotation],
                text,
                "helm {major}: {annotation} keeps the whole value, quoted"
            );
        }
        // The memory limit is read as a quantity: text that is not one stops the render.
        let memory = r#"{"dapr": {"sidecar": {"resources": {"limits": {"memory": "1Gi\n        dapr.io/x: y"}}}}}"#;
        let msg = r.refused(major, &[APP, memory], &["--skip-schema-validation"]);
        assert!(
            msg.contains("dapr.sidecar.resources.limits.memory")
                && msg.contains("is not a memory quantity"),
            "helm {major}: {msg}"
        );
    }
    r.validate();
}
