//! The second example platform repo, `examples/citizen-platform/`: the citizen-developer cluster the
//! design comes from (an in-cluster plain-HTTP Harbor, a Redis state store in `redis-system`, a Vault
//! secret store in `vault-system`, one node pool per app labelled and tainted `app=<name>`, apps in
//! `<app>-ns` calling each other through Dapr, ingress-nginx and Prometheus as platform namespaces).
//!
//! End to end, on a copy: the team's hand-written HelmReleases (`seed/`) are imported, the chart
//! is published to an OCI layout and the Flux files are rendered; what comes out must be the
//! committed `apps/`, `appkit.lock` and `clusters/`. Then every rendered HelmRelease is given to
//! real Helm 3 and 4 (`helm template` with its `spec.values`, release name and target namespace)
//! and the objects are checked for what the platform promises, validated with the strict
//! Kubernetes 1.31 schemas, and the Flux and Dapr objects with their CRDs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::chart_contract::{dapr::dapr_crd_errors, find, parse_docs};
use crate::common::{self, chart_dir, examples_dir, helm, kubernetes_validate_bin, run, run_ok};
use crate::render::crd::{crd_errors, crd_validators};

fn citizen_dir() -> PathBuf {
    examples_dir().join("citizen-platform")
}

/// A copy of the citizen platform under `dir` at `dir/examples/citizen-platform`, with the chart at
/// `dir/chart`, where its `../../chart` expects it. Returns the copy's root.
fn copy(dir: &Path) -> PathBuf {
    let repo = dir.join("examples/citizen-platform");
    common::copy_dir(&citizen_dir(), &repo);
    common::copy_dir(&chart_dir(), &dir.join("chart"));
    repo
}

/// Every file under `dir`, by path relative to it.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// `actual` must be the committed tree `committed`, file by file.
fn assert_same_tree(what: &str, actual: &Path, committed: &Path) {
    let (a, c) = (tree(actual), tree(committed));
    let names = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&a),
        names(&c),
        "{what}: other files than the committed ones"
    );
    for (name, bytes) in &a {
        assert!(
            bytes == &c[name],
            "{what}: {name} differs from the committed file (regenerate it as seed/README.md says):\n--- committed\n{}\n+++ produced\n{}",
            String::from_utf8_lossy(&c[name]),
            String::from_utf8_lossy(bytes)
        );
    }
}

fn appkit(repo: &Path) -> std::process::Command {
    let mut c = common::appkit();
    c.arg("--config").arg(repo.join("appkit.yaml"));
    c
}

/// The ports of a NetworkPolicy rule, as numbers.
fn ports(rule: &Value) -> BTreeSet<i64> {
    rule["ports"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["port"].as_i64()).collect())
        .unwrap_or_default()
}

/// Namespace → ports (empty: every port) of the rules of one direction (`ingress`/`from` or
/// `egress`/`to`) that select other namespaces by name.
fn by_namespace(policy: &Value, direction: &str, peers: &str) -> BTreeMap<String, BTreeSet<i64>> {
    let mut out: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for rule in policy["spec"][direction].as_array().unwrap() {
        for peer in rule[peers].as_array().unwrap() {
            if let Some(ns) =
                peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str()
            {
                out.entry(ns.to_string()).or_default().extend(ports(rule));
            }
        }
    }
    out
}

fn set(ports: &[i64]) -> BTreeSet<i64> {
    ports.iter().copied().collect()
}

/// What `helm template` of one rendered HelmRelease gives, with Helm `major`.
fn template(major: u8, home: &Path, release: &Value) -> String {
    let spec = &release["spec"];
    let values = home.join(format!(
        "{}-values.json",
        release["metadata"]["name"].as_str().unwrap()
    ));
    std::fs::write(&values, serde_json::to_vec(&spec["values"]).unwrap()).unwrap();
    run_ok(
        helm(major, home)
            .arg("template")
            .arg(spec["releaseName"].as_str().unwrap())
            .arg(chart_dir())
            .args(["--namespace", spec["targetNamespace"].as_str().unwrap()])
            .arg("-f")
            .arg(&values),
    )
}

#[test]
fn import_publish_render_reproduce_the_example_and_helm_renders_what_the_platform_promises() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = copy(tmp.path());
    std::fs::remove_dir_all(repo.join("apps")).unwrap();
    std::fs::remove_dir_all(repo.join("clusters")).unwrap();
    std::fs::remove_file(repo.join("appkit.lock")).unwrap();

    // 1. Import the team's hand-written Flux files.
    let seed: Vec<PathBuf> = ["harbor.yaml", "app1.yaml", "app2.yaml"]
        .iter()
        .map(|f| repo.join("seed").join(f))
        .collect();
    let out = run(appkit(&repo).arg("import").args(&seed));
    assert!(
        out.status.success(),
        "import of the seed failed:\n{}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    assert_same_tree("import", &repo.join("apps"), &citizen_dir().join("apps"));

    // 2. Publish to an OCI layout (the lock records the in-cluster Harbor) and render.
    let layout = tmp.path().join("registry");
    run_ok(
        appkit(&repo)
            .args(["publish", "--to"])
            .arg(format!("oci-layout:{}", layout.display())),
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("appkit.lock")).unwrap(),
        std::fs::read_to_string(citizen_dir().join("appkit.lock")).unwrap(),
        "publish wrote another appkit.lock than the committed one"
    );
    run_ok(appkit(&repo).arg("render"));
    assert_same_tree(
        "render",
        &repo.join("clusters"),
        &citizen_dir().join("clusters"),
    );
    // And the committed files are current: `render --check` needs no flags.
    run_ok(
        common::appkit()
            .arg("--config")
            .arg(citizen_dir().join("appkit.yaml"))
            .args(["render", "--check"]),
    );

    // 3. The Flux objects: valid under the Flux CRDs, the sources plain HTTP.
    let validators = crd_validators();
    let mut releases = Vec::new();
    for (name, bytes) in tree(&repo.join("clusters/kind/apps")) {
        if name == "kustomization.yaml" {
            continue;
        }
        for doc in parse_docs(std::str::from_utf8(&bytes).unwrap()) {
            let errors = crd_errors(&validators, &doc);
            assert!(errors.is_empty(), "{name}: {errors:?}\n{doc:#}");
            if doc["kind"] == "HelmRelease" {
                releases.push(doc);
            } else {
                assert_eq!(doc["spec"]["insecure"], json!(true), "{name}: {doc:#}");
                assert_eq!(
                    doc["spec"]["url"],
                    json!("oci://harbor.harbor.svc.cluster.local/platform/app")
                );
            }
        }
    }
    assert_eq!(releases.len(), 2);

    // 4. The Dapr objects: valid under the Dapr CRDs, one copy per app namespace, scoped.
    let mut dapr: BTreeMap<(String, String, String), Value> = BTreeMap::new();
    for (name, bytes) in tree(&repo.join("clusters/kind/platform")) {
        if name == "kustomization.yaml" {
            continue;
        }
        for doc in parse_docs(std::str::from_utf8(&bytes).unwrap()) {
            let errors = dapr_crd_errors(&doc);
            assert!(errors.is_empty(), "{name}: {errors:?}\n{doc:#}");
            let key = |k: &str| doc["metadata"][k].as_str().unwrap_or("").to_string();
            dapr.insert(
                (
                    doc["kind"].as_str().unwrap().to_string(),
                    key("namespace"),
                    key("name"),
                ),
                doc["scopes"].clone(),
            );
        }
    }
    let k = |kind: &str, ns: &str, name: &str| (kind.to_string(), ns.to_string(), name.to_string());
    assert_eq!(
        dapr,
        BTreeMap::from([
            (k("Component", "app1-ns", "statestore"), json!(["app1"])),
            (k("Component", "app1-ns", "secretstore"), json!(["app1"])),
            (k("Configuration", "app1-ns", "appconfig"), Value::Null),
            (k("Configuration", "app2-ns", "appconfig"), Value::Null),
            (
                k("Resiliency", "app2-ns", "app2-calls-app1"),
                json!(["app2"])
            ),
        ]),
        "the Dapr resources rendered into clusters/kind/platform"
    );

    // 5. Helm 3 and 4 render every HelmRelease into what the platform promises.
    for major in [3, 4] {
        let home = tmp.path().join(format!("helm{major}"));
        std::fs::create_dir_all(&home).unwrap();
        let mut files = Vec::new();
        for release in &releases {
            let app = release["spec"]["releaseName"].as_str().unwrap().to_string();
            let yaml = template(major, &home, release);
            let file = home.join(format!("{app}.yaml"));
            std::fs::write(&file, &yaml).unwrap();
            files.push(file);
            let docs = parse_docs(&yaml);
            let ns = format!("{app}-ns");
            assert_eq!(release["spec"]["targetNamespace"], json!(ns));

            // The pool: required and tolerated under the platform's key `app`.
            let pod = &find(&docs, "Deployment", &app)["spec"]["template"]["spec"];
            assert_eq!(
                pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                    ["nodeSelectorTerms"][0]["matchExpressions"],
                json!([{"key": "app", "operator": "In", "values": [app]}]),
                "helm {major}, {app}"
            );
            assert_eq!(
                pod["tolerations"],
                json!([{"key": "app", "operator": "Equal", "value": app, "effect": "NoSchedule"}])
            );

            // Identity and quota: a ServiceAccount without token, a LimitRange, the locked quota.
            let sa = find(&docs, "ServiceAccount", &app);
            assert_eq!(sa["automountServiceAccountToken"], json!(false));
            assert_eq!(pod["serviceAccountName"], json!(app));
            assert!(
                docs.iter().any(|d| d["kind"] == "LimitRange"),
                "helm {major}, {app}: no LimitRange"
            );
            let quota = docs.iter().find(|d| d["kind"] == "ResourceQuota").unwrap();
            assert_eq!(quota["spec"]["hard"]["requests.cpu"], json!("2"));

            // The network: exactly the platform's promises, nothing else across namespaces.
            let policy = find(&docs, "NetworkPolicy", &format!("{app}-allow"));
            let ingress = by_namespace(policy, "ingress", "from");
            let egress = by_namespace(policy, "egress", "to");
            let app_port = release["spec"]["values"]["port"].as_i64().unwrap();
            match app.as_str() {
                "app1" => {
                    assert_eq!(
                        ingress,
                        BTreeMap::from([
                            ("app2-ns".into(), set(&[50002])),
                            ("ingress-nginx".into(), set(&[app_port])),
                            ("monitoring".into(), set(&[9090])),
                        ]),
                        "helm {major}: app1's ingress"
                    );
                    assert_eq!(
                        egress,
                        BTreeMap::from([
                            ("kube-system".into(), set(&[53])),
                            ("dapr-system".into(), set(&[])),
                            ("redis-system".into(), set(&[6379])),
                            ("vault-system".into(), set(&[8200])),
                        ]),
                        "helm {major}: app1's egress"
                    );
                }
                "app2" => {
                    assert_eq!(
                        ingress,
                        BTreeMap::from([
                            ("ingress-nginx".into(), set(&[app_port])),
                            ("monitoring".into(), set(&[9090])),
                        ]),
                        "helm {major}: app2's ingress"
                    );
                    assert_eq!(
                        egress,
                        BTreeMap::from([
                            ("kube-system".into(), set(&[53])),
                            ("dapr-system".into(), set(&[])),
                            ("app1-ns".into(), set(&[])),
                        ]),
                        "helm {major}: app2's egress (no Redis, no Vault)"
                    );
                }
                other => panic!("unexpected release {other}"),
            }

            // Dapr: the platform's Configuration and the production sidecar settings.
            let annotations =
                &find(&docs, "Deployment", &app)["spec"]["template"]["metadata"]["annotations"];
            assert_eq!(annotations["dapr.io/app-id"], json!(app));
            assert_eq!(annotations["dapr.io/config"], json!("appconfig"));
            assert!(
                annotations["dapr.io/env"]
                    .as_str()
                    .unwrap_or("")
                    .contains("GOMEMLIMIT="),
                "helm {major}, {app}: {annotations:#}"
            );
        }
        let out = run(std::process::Command::new(kubernetes_validate_bin())
            .args(["--strict", "--quiet", "-k", "1.31.0"])
            .args(&files));
        assert!(
            out.status.success(),
            "kubernetes-validate --strict -k 1.31.0 rejected helm {major}'s objects:\n{}{}",
            common::stdout(&out),
            common::stderr(&out)
        );
    }
}

/// The fleet check on this platform: drop one side of app2 → app1 and validation fails, naming
/// both files.
#[test]
fn one_side_of_app2_calling_app1_missing_fails_validation_with_both_places() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = copy(tmp.path());
    let file = repo.join("apps/app1/values.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let cut = text
        .find("networkPolicy:")
        .expect("app1 admits app2 in its values");
    std::fs::write(&file, &text[..cut]).unwrap();
    let out = run(appkit(&repo).arg("validate"));
    let err = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("invocation-one-sided"), "{err}");
    assert!(
        err.contains("apps/app1/values.yaml") && err.contains("apps/app2/values.yaml"),
        "{err}"
    );
}
