//! `helm appkit render`: the Flux files it writes validate against the real Flux CRDs, their values
//! survive Helm's YAML 1.1 reading (Helm 3.17 and 4.1), and render is deterministic, prunes only
//! its own files, refuses bad input without writing anything, and `--check` catches every drift.

pub(crate) mod crd;
mod drift;
mod helm;
mod refusals;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::common::{self, appkit, run, stderr, stdout};

const DIGEST_010: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const DIGEST_020: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// A platform repo in a temp dir: appkit.yaml, a chart, apps, appkit.lock.
struct Platform {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

const APPKIT_YAML: &str = "\
chart:
  path: chart
  repository: oci://harbor.example.com/platform
apps:
  settings:
    app2:
      dependsOn: [app1]
registry:
  pullSecret: harbor-pull
  caSecret: harbor-ca
flux:
  interval: 10m
  timeout: 5m
  retries: 3
environments:
  dev:
    output: clusters/dev/apps
    chartVersion: 0.1.0
  prod:
    output: clusters/prod/apps
    namespace: flux-apps
    chartVersion: 0.1.0
    promoted: true
";

/// A valid app values file (image pinned by digest) plus `extra` lines.
fn app_values(app: &str, extra: &str) -> String {
    format!(
        "image:\n  repository: harbor.example.com/apps/{app}\n  digest: sha256:{}\n{extra}",
        "ab".repeat(32)
    )
}

impl Platform {
    fn new() -> Platform {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let p = Platform { _tmp: tmp, root };
        p.write("appkit.yaml", APPKIT_YAML);
        common::copy_dir(&common::chart_dir(), &p.path("chart"));
        p.lock(&[("0.1.0", DIGEST_010), ("0.2.0", DIGEST_020)]);
        p.write(
            "apps/app1/values.yaml",
            &app_values("app1", "replicas: 1\n"),
        );
        p.write("apps/app1/values.prod.yaml", "replicas: 3\n");
        p.write("apps/app2/values.yaml", &app_values("app2", ""));
        // The Dapr Configuration the chart's `dapr.config` names (dapr-config-missing).
        p.write(
            "platform/components/appconfig.yaml",
            "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: appconfig\nspec: {}\n",
        );
        p
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
    fn lock(&self, versions: &[(&str, &str)]) {
        let mut s = String::from(
            "lockVersion: 1\nchart: oci://harbor.example.com/platform/app\nversions:\n",
        );
        for (v, d) in versions {
            s.push_str(&format!("  \"{v}\":\n    digest: {d}\n    tag: \"{v}\"\n"));
        }
        self.write("appkit.lock", &s);
    }
    fn appkit(&self, args: &[&str]) -> Output {
        run(appkit().current_dir(&self.root).args(args))
    }
    fn render_ok(&self, args: &[&str]) -> String {
        let out = self.appkit(&[&["render"], args].concat());
        assert!(
            out.status.success(),
            "render failed:\nstdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        );
        stderr(&out)
    }
    /// `render --check`, asserting its exit code; its stdout (the diff).
    fn render_check(&self, code: i32) -> String {
        let out = self.appkit(&["render", "--check"]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }
    /// Every file under `dir` (relative path → bytes).
    fn snapshot(&self, dir: &str) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.insert(
                        p.strip_prefix(base).unwrap().display().to_string(),
                        std::fs::read(&p).unwrap(),
                    );
                }
            }
        }
        walk(&self.root, &self.path(dir), &mut out);
        out
    }
}

/// `stderr` shows the diagnostic `title` pointing at `at` (`file:line:col`).
fn assert_diag(stderr: &str, title: &str, at: &str) {
    let start = stderr
        .find(title)
        .unwrap_or_else(|| panic!("no {title:?} in:\n{stderr}"));
    let next = stderr[start..].lines().nth(1).unwrap_or("");
    assert_eq!(
        next.trim(),
        format!("--> {at}"),
        "{title:?} points elsewhere:\n{stderr}"
    );
}

fn docs(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(text)
        .unwrap_or_else(|e| panic!("rendered YAML does not parse: {e}\n{text}"))
}

fn doc_of_kind(text: &str, kind: &str) -> Value {
    docs(text)
        .into_iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in\n{text}"))
}

#[test]
fn renders_oci_repository_and_helm_release_per_app_with_kustomization() {
    let p = Platform::new();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace("  retries: 3\n", "  retries: 3\n  sources: per-app\n"),
    );
    p.render_ok(&[]);
    let app1 = p.read("clusters/prod/apps/app1.yaml");
    assert!(
        app1.starts_with("# Generated by helm appkit render (appkit "),
        "{app1}"
    );
    assert!(
        app1.lines()
            .next()
            .unwrap()
            .contains("chart app 0.1.0, environment prod. Do not edit."),
        "{app1}"
    );
    let oci = doc_of_kind(&app1, "OCIRepository");
    assert_eq!(
        oci["metadata"],
        json!({"name": "app1", "namespace": "flux-apps"})
    );
    assert_eq!(oci["spec"]["url"], "oci://harbor.example.com/platform/app");
    assert_eq!(
        oci["spec"]["ref"],
        json!({"digest": DIGEST_010, "tag": "0.1.0"})
    );
    assert_eq!(
        oci["spec"]["layerSelector"],
        json!({"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "operation": "copy"})
    );
    assert_eq!(oci["spec"]["secretRef"]["name"], "harbor-pull");
    assert_eq!(oci["spec"]["certSecretRef"]["name"], "harbor-ca");
    assert!(oci["spec"].get("verify").is_none());
    let hr = doc_of_kind(&app1, "HelmRelease");
    assert_eq!(
        hr["spec"]["chartRef"],
        json!({"kind": "OCIRepository", "name": "app1", "namespace": "flux-apps"})
    );
    assert_eq!(hr["spec"]["releaseName"], "app1");
    assert_eq!(hr["spec"]["targetNamespace"], "app1");
    assert_eq!(hr["spec"]["install"]["createNamespace"], true);
    assert_eq!(
        hr["spec"]["values"]["replicas"], 3,
        "the prod overlay is merged"
    );
    assert_eq!(
        doc_of_kind(&p.read("clusters/dev/apps/app1.yaml"), "HelmRelease")["spec"]["values"]
            ["replicas"],
        1
    );
    let app2 = doc_of_kind(&p.read("clusters/dev/apps/app2.yaml"), "HelmRelease");
    assert_eq!(app2["spec"]["dependsOn"], json!([{"name": "app1"}]));
    let k = p.read("clusters/dev/apps/kustomization.yaml");
    assert!(k.ends_with("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - app1.yaml\n  - app2.yaml\n"), "{k}");
    assert!(!p.path("clusters/dev/apps/sources.yaml").exists());
}

#[test]
fn shared_sources_one_per_environment_and_chart_version_and_switching_modes() {
    let p = Platform::new();
    p.lock(&[("0.1.0", DIGEST_010), ("0.2.0", DIGEST_020)]);
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "    promoted: true\n",
            "    promoted: true\n    pins:\n      app2: 0.2.0\n",
        ),
    );
    p.render_ok(&[]);
    // Each app's file holds its HelmRelease only, pointing at the shared source of its version.
    let app1 = p.read("clusters/prod/apps/app1.yaml");
    assert_eq!(docs(&app1).len(), 1, "{app1}");
    let hr = doc_of_kind(&app1, "HelmRelease");
    assert_eq!(
        hr["spec"]["chartRef"],
        json!({"kind": "OCIRepository", "name": "app-0-1-0", "namespace": "flux-apps"})
    );
    let app2 = doc_of_kind(&p.read("clusters/prod/apps/app2.yaml"), "HelmRelease");
    assert_eq!(app2["spec"]["chartRef"]["name"], "app-0-2-0");
    let sources = docs(&p.read("clusters/prod/apps/sources.yaml"));
    let names: Vec<_> = sources
        .iter()
        .map(|d| d["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("app-0-1-0"), json!("app-0-2-0")]);
    assert_eq!(
        sources[1]["spec"]["ref"],
        json!({"digest": DIGEST_020, "tag": "0.2.0"})
    );
    assert_eq!(sources[0]["metadata"]["namespace"], "flux-apps");
    assert_eq!(docs(&p.read("clusters/dev/apps/sources.yaml")).len(), 1);
    let k = p.read("clusters/prod/apps/kustomization.yaml");
    assert!(
        k.ends_with("resources:\n  - app1.yaml\n  - app2.yaml\n  - sources.yaml\n"),
        "{k}"
    );
    // --check is clean; dropping the pin prunes the source nobody uses any more.
    p.render_check(0);
    p.write("appkit.yaml", APPKIT_YAML);
    let out = p.render_check(1);
    assert!(out.contains("clusters/prod/apps/sources.yaml"), "{out}");
    p.render_ok(&[]);
    assert_eq!(docs(&p.read("clusters/prod/apps/sources.yaml")).len(), 1);
    // Switching to per-app: sources.yaml is pruned, each file gets its own source; and back.
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace("  retries: 3\n", "  retries: 3\n  sources: per-app\n"),
    );
    let out = p.render_check(1);
    assert!(out.contains("sources.yaml"), "{out}");
    p.render_ok(&[]);
    assert!(!p.path("clusters/prod/apps/sources.yaml").exists());
    assert_eq!(docs(&p.read("clusters/prod/apps/app1.yaml")).len(), 2);
    p.render_check(0);
    p.write("appkit.yaml", APPKIT_YAML);
    p.render_check(1);
    p.render_ok(&[]);
    assert!(p.path("clusters/prod/apps/sources.yaml").exists());
    assert_eq!(docs(&p.read("clusters/prod/apps/app1.yaml")).len(), 1);
    p.render_check(0);
}

#[test]
fn shards_are_stable_when_apps_come_and_go() {
    let p = Platform::new();
    let cfg = APPKIT_YAML.replace("  retries: 3\n", "  retries: 3\n  shards: [s1, s2, s3]\n");
    p.write("appkit.yaml", &cfg);
    for i in 3..=12 {
        p.write(
            &format!("apps/app{i}/values.yaml"),
            &app_values(&format!("app{i}"), ""),
        );
    }
    let shards = |p: &Platform| -> BTreeMap<String, String> {
        p.render_ok(&["--env", "dev"]);
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(p.path("clusters/dev/apps"))
            .unwrap()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().to_string();
            if name == "kustomization.yaml" || name == "sources.yaml" {
                continue;
            }
            let hr = doc_of_kind(&std::fs::read_to_string(e.path()).unwrap(), "HelmRelease");
            out.insert(
                name,
                hr["metadata"]["labels"]["sharding.fluxcd.io/key"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        out
    };
    let before = shards(&p);
    assert_eq!(before.len(), 12);
    let used: std::collections::BTreeSet<_> = before.values().collect();
    assert!(
        used.len() >= 2,
        "twelve apps spread over the shards: {before:?}"
    );
    // The shared source serves several shards: labelled for none.
    let src = docs(&p.read("clusters/dev/apps/sources.yaml"));
    assert!(src[0]["metadata"].get("labels").is_none(), "{:#}", src[0]);
    // An app added: only its label is new. An app removed: nobody else moves.
    p.write("apps/app13/values.yaml", &app_values("app13", ""));
    let added = shards(&p);
    assert_eq!(added.len(), 13);
    for (k, v) in &before {
        assert_eq!(&added[k], v, "{k} moved when app13 was added");
    }
    std::fs::remove_dir_all(p.path("apps/app5")).unwrap();
    let removed = shards(&p);
    for (k, v) in &removed {
        assert_eq!(&added[k], v, "{k} moved when app5 was removed");
    }
    // All releases of a source in one shard: the source goes with it.
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace("  retries: 3\n", "  retries: 3\n  shards: [only]\n"),
    );
    shards(&p);
    let src = docs(&p.read("clusters/dev/apps/sources.yaml"));
    assert_eq!(
        src[0]["metadata"]["labels"]["sharding.fluxcd.io/key"],
        "only"
    );
    // A per-app shard must be one of the shards.
    p.write(
        "appkit.yaml",
        &cfg.replace(
            "      dependsOn: [app1]\n",
            "      dependsOn: [app1]\n      flux: {shard: s9}\n",
        ),
    );
    let out = common::run(
        appkit()
            .current_dir(&p.root)
            .args(["render", "--env", "dev"]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("shard \"s9\" is not one of flux.shards"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn version_with_build_metadata_becomes_an_oci_tag_with_underscore() {
    let p = Platform::new();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "chartVersion: 0.1.0\n  prod",
            "chartVersion: 1.0.0+build.7\n  prod",
        ),
    );
    p.lock(&[("1.0.0+build.7", DIGEST_020), ("0.1.0", DIGEST_010)]);
    p.render_ok(&["--env", "dev"]);
    let oci = doc_of_kind(&p.read("clusters/dev/apps/sources.yaml"), "OCIRepository");
    assert_eq!(oci["spec"]["ref"]["tag"], "1.0.0_build.7");
    assert_eq!(oci["spec"]["ref"]["digest"], DIGEST_020);
    assert_eq!(oci["metadata"]["name"], "app-1-0-0-build-7");
}
