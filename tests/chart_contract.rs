//! The chart contract: what the shared chart promises every app, checked with the real Helm 3.17
//! and Helm 4.1 binaries and the strict Kubernetes schemas of `kubernetes-validate`.
//!
//! - every example app (with and without its environment overlays) lints cleanly with
//!   `helm lint --strict` and renders objects that pass `kubernetes-validate --strict`, and those
//!   objects show the promised properties (Dapr sidecar annotations, hardened pod with its own
//!   ServiceAccount, node pool, deny-all NetworkPolicy with explicit allows, image by digest, quota
//!   and LimitRange); `chart_platform` covers the platform-filled values branch by branch;
//! - `tests/fixtures/chart/accept/` renders valid objects too; every file in
//!   `tests/fixtures/chart/reject/` is refused by both `helm lint --strict -f` and `helm template -f`
//!   on both Helm versions, and the message names the offending key (first line `# offending: KEY`);
//! - `dapr`: the platform's Dapr manifests match the real Dapr CRDs and keep credentials out of
//!   plain text; `schema`: `values.schema.json` is closed, described and portable across both Helms.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use crate::common::{self, chart_dir, examples_dir, helm, kubernetes_validate_bin, run, run_ok};

pub(crate) mod dapr;
mod schema;

/// Kubernetes version whose strict schemas the rendered objects must pass.
const KUBERNETES_VERSION: &str = "1.33.0";

/// One example render: an app, its values files (base first), and what it must show.
struct Case {
    app: &'static str,
    files: &'static [&'static str],
    replicas: i64,
    port: i64,
    log_level: &'static str,
    nodepool: &'static str,
    /// `minAvailable` of the PodDisruptionBudget, when one is expected.
    pdb: Option<i64>,
}

const CASES: &[Case] = &[
    Case {
        app: "app1",
        files: &["apps/app1/values.yaml"],
        replicas: 1,
        port: 8080,
        log_level: "info",
        nodepool: "apps",
        pdb: None,
    },
    Case {
        app: "app1",
        files: &["apps/app1/values.yaml", "apps/app1/values.dev.yaml"],
        replicas: 1,
        port: 8080,
        log_level: "debug",
        nodepool: "apps",
        pdb: None,
    },
    Case {
        app: "app1",
        files: &["apps/app1/values.yaml", "apps/app1/values.prod.yaml"],
        replicas: 3,
        port: 8080,
        log_level: "warn",
        nodepool: "apps",
        pdb: Some(2),
    },
    Case {
        app: "app2",
        files: &["apps/app2/values.yaml"],
        replicas: 1,
        port: 3000,
        log_level: "info",
        nodepool: "apps-highmem",
        pdb: None,
    },
];

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("appkit-chart-")
        .tempdir()
        .expect("temp dir")
}

fn values_args(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .flat_map(|f| ["-f".to_string(), f.display().to_string()])
        .collect()
}

fn example_files(case: &Case) -> Vec<PathBuf> {
    case.files.iter().map(|f| examples_dir().join(f)).collect()
}

/// `helm template <release> chart/ -n <release> -f …`, asserting success; returns the YAML.
fn template(major: u8, home: &Path, release: &str, files: &[PathBuf]) -> String {
    run_ok(
        helm(major, home)
            .args(["template", release])
            .arg(chart_dir())
            .args(["--namespace", release])
            .args(values_args(files)),
    )
}

/// `helm lint --strict chart/ -f …`, asserting success and no warning.
fn lint_clean(major: u8, home: &Path, files: &[PathBuf]) {
    let out = run_ok(
        helm(major, home)
            .args(["lint", "--strict"])
            .arg(chart_dir())
            .args(values_args(files)),
    );
    assert!(
        !out.contains("[WARNING]") && !out.contains("[ERROR]"),
        "helm {major} lint {files:?}:\n{out}"
    );
}

/// Validate rendered manifests against the strict Kubernetes schemas, all files in one run.
fn kubernetes_validate(files: &[PathBuf]) {
    let out = run(std::process::Command::new(kubernetes_validate_bin())
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .args(files));
    assert!(
        out.status.success(),
        "kubernetes-validate --strict -k {KUBERNETES_VERSION} rejected the rendered objects:\n{}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
}

/// Parse a multi-document YAML stream (Helm's output) into JSON values, dropping empty documents.
pub(crate) fn parse_docs(yaml: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(yaml)
        .unwrap_or_else(|e| panic!("rendered YAML does not parse: {e}\n{yaml}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

pub(crate) fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            panic!(
                "no {kind} {name} in {}",
                serde_json::to_string_pretty(docs).unwrap()
            )
        })
}

/// Render every example case with one Helm version, validate them strictly, return the objects.
fn render_examples(major: u8) -> Vec<Vec<Value>> {
    let tmp = tempdir();
    let mut paths = Vec::new();
    let mut rendered = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let yaml = template(major, tmp.path(), case.app, &example_files(case));
        let path = tmp.path().join(format!("{i}-{}.yaml", case.app));
        std::fs::write(&path, &yaml).unwrap();
        paths.push(path);
        rendered.push(parse_docs(&yaml));
    }
    kubernetes_validate(&paths);
    rendered
}

fn annotation<'a>(meta: &'a Value, key: &str) -> &'a str {
    meta["annotations"][key]
        .as_str()
        .unwrap_or_else(|| panic!("annotation {key} missing in {meta}"))
}

/// The promises every rendered app keeps.
fn assert_promises(case: &Case, docs: &[Value]) {
    let what = format!("{} {:?}", case.app, case.files);
    let deploy = find(docs, "Deployment", case.app);
    assert_eq!(
        deploy["spec"]["replicas"], case.replicas,
        "{what}: replicas"
    );
    let pod_meta = &deploy["spec"]["template"]["metadata"];
    let pod = &deploy["spec"]["template"]["spec"];

    // Dapr sidecar annotations.
    let port = case.port.to_string();
    for (key, want) in [
        ("dapr.io/enabled", "true"),
        ("dapr.io/app-id", case.app),
        ("dapr.io/app-port", port.as_str()),
        ("dapr.io/app-protocol", "http"),
        ("dapr.io/config", "appconfig"),
        ("dapr.io/log-level", case.log_level),
        ("dapr.io/metrics-port", "9090"),
        ("dapr.io/sidecar-cpu-request", "100m"),
        ("dapr.io/sidecar-cpu-limit", "300m"),
        ("dapr.io/sidecar-memory-request", "250Mi"),
        ("dapr.io/sidecar-memory-limit", "1000Mi"),
        ("dapr.io/env", "GOMEMLIMIT=900MiB"),
    ] {
        assert_eq!(annotation(pod_meta, key), want, "{what}: {key}");
    }

    // Hardened pod.
    assert_eq!(pod["automountServiceAccountToken"], false, "{what}");
    assert_eq!(pod["serviceAccountName"], case.app, "{what}");
    assert_eq!(
        find(docs, "ServiceAccount", case.app)["automountServiceAccountToken"],
        false,
        "{what}"
    );
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true, "{what}");
    assert_eq!(psc["runAsUser"], 10001, "{what}");
    assert_eq!(psc["runAsGroup"], 10001, "{what}");
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{what}");
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(
        containers.len(),
        1,
        "{what}: only the app container (Dapr injects its sidecar at admission)"
    );
    let c = &containers[0];
    let csc = &c["securityContext"];
    assert_eq!(csc["readOnlyRootFilesystem"], true, "{what}");
    assert_eq!(csc["allowPrivilegeEscalation"], false, "{what}");
    assert_eq!(csc["runAsNonRoot"], true, "{what}");
    assert_eq!(csc["capabilities"]["drop"], json!(["ALL"]), "{what}");
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "tmp", "mountPath": "/tmp"}]),
        "{what}"
    );
    assert_eq!(
        pod["volumes"],
        json!([{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]),
        "{what}"
    );
    assert_eq!(c["ports"][0]["containerPort"], case.port, "{what}");
    assert!(
        c["readinessProbe"]["httpGet"]["path"].is_string(),
        "{what}: readiness probe"
    );
    assert!(
        c["livenessProbe"]["httpGet"]["path"].is_string(),
        "{what}: liveness probe"
    );
    assert!(
        c["resources"]["requests"]["memory"].is_string()
            && c["resources"]["limits"]["cpu"].is_string(),
        "{what}"
    );

    // Image by digest.
    let image = c["image"].as_str().unwrap();
    let (repo, digest) = image
        .split_once("@sha256:")
        .unwrap_or_else(|| panic!("{what}: image not by digest: {image}"));
    assert_eq!(
        repo,
        format!("harbor.example.com/apps/{}", case.app),
        "{what}"
    );
    assert!(
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{what}: {image}"
    );

    // Node pool: required affinity and the toleration for the pool's taint.
    let term = &pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"];
    assert_eq!(
        term,
        &json!([{"matchExpressions": [{"key": "appkit.io/nodepool", "operator": "In", "values": [case.nodepool]}]}]),
        "{what}"
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "appkit.io/nodepool", "operator": "Equal", "value": case.nodepool, "effect": "NoSchedule"}]),
        "{what}"
    );

    // Deny-all baseline for ingress and egress of the app's pods.
    let selector = json!({"matchLabels": {"app.kubernetes.io/name": case.app, "app.kubernetes.io/instance": case.app}});
    let deny = find(docs, "NetworkPolicy", &format!("{}-deny-all", case.app));
    assert_eq!(
        deny["spec"],
        json!({"podSelector": selector, "policyTypes": ["Ingress", "Egress"]}),
        "{what}"
    );
    let allow = &find(docs, "NetworkPolicy", &format!("{}-allow", case.app))["spec"];
    assert_eq!(allow["podSelector"], selector, "{what}");
    let egress = allow["egress"].as_array().unwrap();
    let ns_peer = |ns: &str| json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}});
    assert!(
        egress.contains(&json!({"to": [ns_peer("kube-system")], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]})),
        "{what}: DNS egress in {egress:?}"
    );
    assert!(
        egress.contains(&json!({"to": [ns_peer("dapr-system")]})),
        "{what}: Dapr control plane egress"
    );
    assert!(
        egress.contains(&json!({"to": [{"podSelector": {}}]})),
        "{what}: same-namespace egress"
    );
    let ingress = allow["ingress"].as_array().unwrap();
    assert!(
        ingress.contains(&json!({"from": [{"podSelector": {}}]})),
        "{what}: same-namespace ingress"
    );
    match case.app {
        "app1" => {
            assert!(
                ingress.contains(&json!({"from": [ns_peer("app2")], "ports": [{"protocol": "TCP", "port": 50002}]})),
                "{what}: app2 may reach app1's sidecar: {ingress:?}"
            );
            assert_eq!(
                annotation(&deploy["metadata"], "appkit.io/dapr-components"),
                "secretstore,statestore",
                "{what}"
            );
        }
        "app2" => {
            assert!(
                egress.contains(&json!({"to": [ns_peer("app1")]})),
                "{what}: app2 may reach app1: {egress:?}"
            );
            assert_eq!(ingress.len(), 1, "{what}: nobody else may call app2");
        }
        _ => unreachable!(),
    }

    // Quota, PodDisruptionBudget, and never a Dapr Component.
    assert_eq!(
        find(docs, "ResourceQuota", case.app)["spec"]["hard"]["limits.cpu"],
        "8",
        "{what}"
    );
    assert_eq!(
        find(docs, "LimitRange", case.app)["spec"]["limits"][0]["type"],
        "Container",
        "{what}"
    );
    let pdb = docs.iter().find(|d| d["kind"] == "PodDisruptionBudget");
    match case.pdb {
        Some(min) => assert_eq!(
            pdb.expect("a PodDisruptionBudget")["spec"]["minAvailable"],
            min,
            "{what}"
        ),
        None => assert!(
            pdb.is_none(),
            "{what}: no PodDisruptionBudget unless enabled"
        ),
    }
    for d in docs {
        let api = d["apiVersion"].as_str().unwrap_or_default();
        assert!(
            !api.starts_with("dapr.io/"),
            "{what}: the chart must never create Dapr objects: {d}"
        );
    }
}

fn examples_render_valid_and_keep_promises(major: u8) {
    for (case, docs) in CASES.iter().zip(render_examples(major)) {
        assert_promises(case, &docs);
    }
}

#[test]
fn examples_render_valid_and_keep_promises_helm3() {
    examples_render_valid_and_keep_promises(3);
}

#[test]
fn examples_render_valid_and_keep_promises_helm4() {
    examples_render_valid_and_keep_promises(4);
}

#[test]
fn helm3_and_helm4_render_the_same_objects() {
    let tmp = tempdir();
    for case in CASES {
        let h3 = parse_docs(&template(3, tmp.path(), case.app, &example_files(case)));
        let h4 = parse_docs(&template(4, tmp.path(), case.app, &example_files(case)));
        assert_eq!(h3, h4, "{} {:?}", case.app, case.files);
    }
}

fn examples_lint_strict_clean(major: u8) {
    let tmp = tempdir();
    for case in CASES {
        lint_clean(major, tmp.path(), &example_files(case));
    }
}

#[test]
fn examples_lint_strict_clean_helm3() {
    examples_lint_strict_clean(3);
}

#[test]
fn examples_lint_strict_clean_helm4() {
    examples_lint_strict_clean(4);
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = common::repo_root().join("tests/fixtures/chart").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// What each accepted fixture must render (the template branches the examples do not reach).
fn assert_accepted_fixture(file: &Path, docs: &[Value]) {
    let name = file.file_stem().unwrap().to_string_lossy();
    let deploy = find(docs, "Deployment", "fixture");
    let pod_meta = &deploy["spec"]["template"]["metadata"];
    let c = &deploy["spec"]["template"]["spec"]["containers"][0];
    let egress = &find(docs, "NetworkPolicy", "fixture-allow")["spec"]["egress"];
    let has = |kind: &str| docs.iter().any(|d| d["kind"] == kind);
    match name.as_ref() {
        "grpc-app" => {
            assert_eq!(
                c["image"], "harbor.example.com:5443/apps/grpc-worker:2",
                "{name}"
            );
            assert_eq!(c["readinessProbe"]["grpc"], json!({"port": 5000}), "{name}");
            assert_eq!(c["livenessProbe"]["grpc"], json!({"port": 5000}), "{name}");
            assert_eq!(c["ports"][0]["name"], "grpc", "{name}");
            let svc = &find(docs, "Service", "fixture")["spec"]["ports"][0];
            assert_eq!(svc["targetPort"], "grpc", "{name}");
            assert_eq!(
                annotation(pod_meta, "dapr.io/app-protocol"),
                "grpc",
                "{name}"
            );
            assert!(deploy["metadata"]["annotations"]["appkit.io/dapr-components"] == "pubsub");
        }
        "dapr-disabled" => {
            assert_eq!(
                pod_meta["annotations"],
                json!({"dapr.io/enabled": "false"}),
                "{name}"
            );
            assert_eq!(c["resources"]["requests"]["cpu"], "0.25", "{name}");
            assert_eq!(c["resources"]["limits"]["cpu"], "1", "{name}");
            // Whole numbers are written as such, not in Go's float notation (1.34217728e+08).
            assert_eq!(c["resources"]["requests"]["memory"], "134217728", "{name}");
            assert_eq!(
                find(docs, "PodDisruptionBudget", "fixture")["spec"]["minAvailable"],
                "50%"
            );
            let peers = |i: usize| egress.as_array().unwrap()[i].clone();
            let n = egress.as_array().unwrap().len();
            assert_eq!(
                peers(n - 2),
                json!({"to": [{"ipBlock": {"cidr": "203.0.113.7/32"}}],
                       "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8443}]}),
                "{name}"
            );
            assert_eq!(
                peers(n - 1),
                json!({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
                              {"ipBlock": {"cidr": "10.20.0.0/16"}}]}),
                "{name}"
            );
        }
        "https-app-no-quota" => {
            assert_eq!(
                c["image"], "harbor.example.com/apps/secure:1.0.0-rc.1",
                "{name}"
            );
            assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTPS", "{name}");
            assert!(
                pod_meta["annotations"].get("dapr.io/config").is_none(),
                "{name}: empty config omitted"
            );
            assert!(!has("ResourceQuota"), "{name}: quota disabled");
        }
        other => panic!(
            "{}: add the expectations of the new fixture {other}",
            file.display()
        ),
    }
}

fn accept_fixtures_lint_and_render_valid(major: u8) {
    let tmp = tempdir();
    let mut rendered = Vec::new();
    for (i, file) in fixtures("accept").iter().enumerate() {
        lint_clean(major, tmp.path(), std::slice::from_ref(file));
        let yaml = template(major, tmp.path(), "fixture", std::slice::from_ref(file));
        assert_accepted_fixture(file, &parse_docs(&yaml));
        let out = tmp.path().join(format!("{i}.yaml"));
        std::fs::write(&out, yaml).unwrap();
        rendered.push(out);
    }
    kubernetes_validate(&rendered);
}

#[test]
fn accept_fixtures_lint_and_render_valid_helm3() {
    accept_fixtures_lint_and_render_valid(3);
}

#[test]
fn accept_fixtures_lint_and_render_valid_helm4() {
    accept_fixtures_lint_and_render_valid(4);
}

/// Does `word` appear, as a whole key name, in one of Helm's error lines (`- path: message`)?
pub(crate) fn names_key(message: &str, word: &str) -> bool {
    message
        .lines()
        .filter_map(|l| l.split_once("- ").map(|(_, rest)| rest))
        .any(|rest| {
            rest.match_indices(word).any(|(i, _)| {
                let before = rest[..i].chars().next_back();
                let after = rest[i + word.len()..].chars().next();
                let boundary =
                    |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
                boundary(before) && boundary(after)
            })
        })
}

/// Run `f` over `items` on a few threads (each item starts Helm processes; the machine is small).
fn for_each_parallel<T: Sync>(items: &[T], f: impl Fn(&T) -> Vec<String> + Sync) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                failures.lock().unwrap().extend(f(item));
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    failures
}

fn reject_fixtures_are_refused(major: u8) {
    let tmp = tempdir();
    let files = fixtures("reject");
    let failures = for_each_parallel(&files, |file| {
        let text = std::fs::read_to_string(file).unwrap();
        let key = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# offending: "))
            .unwrap_or_else(|| panic!("{}: first line must be `# offending: KEY`", file.display()))
            .trim()
            .to_string();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let lint = run(helm(major, tmp.path())
            .args(["lint", "--strict"])
            .arg(chart_dir())
            .arg("-f")
            .arg(file));
        let tmpl = run(helm(major, tmp.path())
            .args(["template", "fixture"])
            .arg(chart_dir())
            .arg("-f")
            .arg(file));
        let mut problems = Vec::new();
        for (what, out) in [("lint --strict", &lint), ("template", &tmpl)] {
            let message = format!("{}{}", common::stdout(out), common::stderr(out));
            if out.status.success() {
                problems.push(format!(
                    "helm {major} {what} accepted {name} (it must refuse `{key}`)"
                ));
            } else if !names_key(&message, &key) {
                problems.push(format!(
                    "helm {major} {what} refused {name} without naming `{key}`:\n{message}"
                ));
            }
        }
        problems
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reject_fixtures_are_refused_helm3() {
    reject_fixtures_are_refused(3);
}

#[test]
fn reject_fixtures_are_refused_helm4() {
    reject_fixtures_are_refused(4);
}

#[test]
fn names_key_matches_whole_keys_in_error_lines_only() {
    let h3 = "Error: values don't meet the specifications of the schema(s) in the following chart(s):\napp:\n- env.0.value: Invalid type";
    assert!(names_key(h3, "value"));
    assert!(!names_key(
        "Error: values don't meet the specifications\n- env.0.name: bad",
        "value"
    ));
    assert!(names_key(
        "- at '/dapr': additional properties 'redisHost' not allowed",
        "redisHost"
    ));
    assert!(!names_key(
        "- at '/dapr': additional properties 'redisHostX' not allowed",
        "redisHost"
    ));
}
