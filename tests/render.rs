//! `helm appkit render`: the Flux files it writes validate against the real Flux CRDs, their values
//! survive Helm's YAML 1.1 reading (Helm 3.17 and 4.1), and render is deterministic, prunes only
//! its own files, refuses bad input without writing anything, and `--check` catches every drift.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::{self, appkit, run, run_ok, stderr, stdout};

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

// ---------------------------------------------------------------------------------------------
// Flux CRD schemas

/// `../shared/reference/flux` next to the repository (or next to any parent, for worktrees), or
/// `$APPKIT_REFERENCE_DIR/flux`.
fn flux_crd_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("APPKIT_REFERENCE_DIR") {
        return PathBuf::from(d).join("flux");
    }
    let root = common::repo_root();
    for dir in root.ancestors().skip(1) {
        let candidate = dir.join("shared/reference/flux");
        if candidate.is_dir() {
            return candidate;
        }
    }
    panic!(
        "\n\n*** The Flux CRDs are missing: expected {}/../shared/reference/flux (or set APPKIT_REFERENCE_DIR).\n\
         *** These tests check every rendered object against the real CRD schemas and cannot run without them.\n\n",
        root.display()
    );
}

/// Kubernetes structural schema (OpenAPI v3) → JSON Schema. Objects with `properties` reject
/// unknown fields (the API server would silently prune them — a typo'd field name is a bug);
/// `x-kubernetes-preserve-unknown-fields` keeps anything; `nullable` allows null.
fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, val) in m {
                if k.starts_with("x-kubernetes-") || k == "nullable" || k == "format" {
                    continue;
                }
                let converted = match k.as_str() {
                    "properties" => Value::Object(
                        val.as_object()
                            .unwrap()
                            .iter()
                            .map(|(pk, pv)| (pk.clone(), to_json_schema(pv)))
                            .collect(),
                    ),
                    "items" | "additionalProperties" | "not" if val.is_object() => {
                        to_json_schema(val)
                    }
                    "allOf" | "anyOf" | "oneOf" => {
                        Value::Array(val.as_array().unwrap().iter().map(to_json_schema).collect())
                    }
                    _ => val.clone(),
                };
                out.insert(k.clone(), converted);
            }
            let preserve =
                m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if m.contains_key("properties") && !m.contains_key("additionalProperties") && !preserve
            {
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            if m.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
            }
            if m.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
                out.remove("type");
                out.insert(
                    "anyOf".into(),
                    json!([{"type": "integer"}, {"type": "string"}]),
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// (apiVersion, kind) → validator, from every CRD file.
fn crd_validators() -> BTreeMap<(String, String), jsonschema::Validator> {
    let dir = flux_crd_dir();
    let mut out = BTreeMap::new();
    for file in [
        "helm.toolkit.fluxcd.io_helmreleases.yaml",
        "source.toolkit.fluxcd.io_ocirepositories.yaml",
        "source.toolkit.fluxcd.io_helmrepositories.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()));
        let crd: Value = serde_saphyr::from_str(&text).unwrap();
        let group = crd["spec"]["group"].as_str().unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            let schema = to_json_schema(&version["schema"]["openAPIV3Schema"]);
            let validator =
                jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{file}: {e}"));
            out.insert(
                (
                    format!("{group}/{}", version["name"].as_str().unwrap()),
                    kind.to_string(),
                ),
                validator,
            );
        }
    }
    out
}

/// Every problem the CRD (schema + the CEL rules appkit's objects touch) finds in `doc`.
fn crd_errors(
    validators: &BTreeMap<(String, String), jsonschema::Validator>,
    doc: &Value,
) -> Vec<String> {
    let key = (
        doc["apiVersion"].as_str().unwrap_or("").to_string(),
        doc["kind"].as_str().unwrap_or("").to_string(),
    );
    let Some(v) = validators.get(&key) else {
        return vec![format!("no CRD for {key:?}")];
    };
    let mut errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if key.1 == "HelmRelease" {
        let spec = &doc["spec"];
        if spec.get("chart").is_some() == spec.get("chartRef").is_some() {
            errors.push("CEL: exactly one of spec.chart / spec.chartRef must be set".into());
        }
    }
    let name = doc["metadata"]["name"].as_str().unwrap_or("");
    if name.is_empty()
        || name.len() > 63
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errors.push(format!("metadata.name {name:?} is not a DNS-1123 label"));
    }
    errors
}

#[test]
fn rendered_objects_validate_against_the_flux_crds() {
    let validators = crd_validators();
    let p = Platform::new();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML
            .replace(
                "  caSecret: harbor-ca\n",
                "  caSecret: harbor-ca\n  cosignSecret: cosign-pub\n",
            )
            .replace(
                "    promoted: true\n",
                "    promoted: true\n    pins:\n      app2: 0.2.0\n",
            ),
    );
    let mut seen = BTreeMap::new();
    for source in ["ocirepository", "helmrepository"] {
        let out = format!("out-{source}");
        for env in ["dev", "prod"] {
            p.render_ok(&[
                "--env",
                env,
                "--out",
                &format!("{out}/{env}"),
                "--source",
                source,
            ]);
        }
        for (file, bytes) in p.snapshot(&out) {
            if file.ends_with("kustomization.yaml") {
                continue;
            }
            for doc in docs(std::str::from_utf8(&bytes).unwrap()) {
                let errors = crd_errors(&validators, &doc);
                assert!(
                    errors.is_empty(),
                    "{file}: {} does not validate:\n{}\n{doc:#}",
                    doc["kind"],
                    errors.join("\n")
                );
                *seen
                    .entry(doc["kind"].as_str().unwrap().to_string())
                    .or_insert(0) += 1;
            }
        }
    }
    assert_eq!(seen.get("HelmRelease"), Some(&8), "{seen:?}");
    assert_eq!(seen.get("OCIRepository"), Some(&4), "{seen:?}");
    assert_eq!(seen.get("HelmRepository"), Some(&4), "{seen:?}");

    // The check can fail: a typo'd field, a wrong enum value and a missing chart are all caught.
    let text = p.read("out-ocirepository/prod/app2.yaml");
    let mut oci = doc_of_kind(&text, "OCIRepository");
    assert_eq!(
        oci["spec"]["ref"]["tag"], "0.2.0",
        "prod pins app2 to 0.2.0"
    );
    assert_eq!(oci["spec"]["ref"]["digest"], DIGEST_020);
    assert_eq!(oci["spec"]["verify"]["provider"], "cosign");
    oci["spec"]["layerSelector"]["operation"] = json!("unpack");
    oci["spec"]["layerselector"] = json!({});
    let errors = crd_errors(&validators, &oci);
    assert!(errors.iter().any(|e| e.contains("unpack")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("layerselector")),
        "{errors:?}"
    );
    // The legacy source: a HelmRepository of type oci and chart.spec with the pinned version.
    let legacy = p.read("out-helmrepository/prod/app2.yaml");
    let repo = doc_of_kind(&legacy, "HelmRepository");
    assert_eq!(repo["spec"]["type"], "oci");
    assert_eq!(repo["spec"]["url"], "oci://harbor.example.com/platform");
    let chart = &doc_of_kind(&legacy, "HelmRelease")["spec"]["chart"]["spec"];
    assert_eq!(chart["chart"], "app");
    assert_eq!(chart["version"], "0.2.0");
    assert_eq!(
        chart["sourceRef"],
        json!({"kind": "HelmRepository", "name": "app2", "namespace": "flux-apps"})
    );
    assert_eq!(chart["verify"]["provider"], "cosign");

    let mut hr = doc_of_kind(&text, "HelmRelease");
    hr["spec"].as_object_mut().unwrap().remove("chartRef");
    assert!(crd_errors(&validators, &hr)
        .iter()
        .any(|e| e.starts_with("CEL")));
}

#[test]
fn renders_oci_repository_and_helm_release_per_app_with_kustomization() {
    let p = Platform::new();
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
    let oci = doc_of_kind(&p.read("clusters/dev/apps/app1.yaml"), "OCIRepository");
    assert_eq!(oci["spec"]["ref"]["tag"], "1.0.0_build.7");
    assert_eq!(oci["spec"]["ref"]["digest"], DIGEST_020);
}

// ---------------------------------------------------------------------------------------------
// Values through Helm (YAML 1.1)

/// The `values:` block of the HelmRelease exactly as render wrote it, de-indented into a values
/// file — so Helm reads appkit's own YAML text, not a re-serialisation of it.
fn values_text(file_text: &str) -> String {
    let hr_start = file_text.find("kind: HelmRelease").expect("a HelmRelease");
    let mut lines = file_text[hr_start..]
        .lines()
        .skip_while(|l| *l != "  values:")
        .skip(1);
    let mut out = String::new();
    for line in lines.by_ref() {
        if !line.is_empty() && !line.starts_with("    ") {
            break;
        }
        out.push_str(line.get(4..).unwrap_or(""));
        out.push('\n');
    }
    assert!(!out.trim().is_empty(), "no values in\n{file_text}");
    out
}

fn helm_template_and_validate(major: u8, chart: &Path, values: &Path, release: &str) -> String {
    let home = tempfile::tempdir().unwrap();
    let manifest = run_ok(
        common::helm(major, home.path())
            .args(["template", release])
            .arg(chart)
            .arg("-f")
            .arg(values)
            .args(["--namespace", release]),
    );
    let file = home.path().join("manifest.yaml");
    std::fs::write(&file, &manifest).unwrap();
    let out = run(Command::new(common::kubernetes_validate_bin())
        .args(["--strict", "--quiet"])
        .arg(&file));
    assert!(
        out.status.success(),
        "Helm {major}: kubernetes-validate --strict failed:\n{}{}\n{manifest}",
        stdout(&out),
        stderr(&out)
    );
    manifest
}

#[test]
fn yaml_1_1_ambiguous_strings_stay_strings_through_helm_3_and_4() {
    let p = Platform::new();
    // A chart without a schema that shows how Helm typed each value (see the fixture).
    let echo_chart = common::repo_root().join("tests/fixtures/render/echo-chart");
    std::fs::remove_dir_all(p.path("chart")).unwrap();
    common::copy_dir(&echo_chart, &p.path("chart"));
    p.write("appkit.lock", "lockVersion: 1\nchart: oci://harbor.example.com/platform/echo\nversions:\n  \"0.1.0\":\n    digest: sha256:1111111111111111111111111111111111111111111111111111111111111111\n    tag: \"0.1.0\"\n");
    std::fs::remove_dir_all(p.path("apps/app2")).unwrap();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "apps:\n  settings:\n    app2:\n      dependsOn: [app1]\n",
            "",
        ),
    );
    let tricky = [
        ("yes", "yes"),
        ("on", "on"),
        ("off", "Off"),
        ("y", "y"),
        ("n", "N"),
        ("true", "True"),
        ("null", "null"),
        ("tilde", "~"),
        ("empty", ""),
        ("octal", "0777"),
        ("octal2", "0o17"),
        ("hex", "0x1F"),
        ("exp", "1e3"),
        ("int", "12"),
        ("float", "1.5"),
        ("sexagesimal", "1:20"),
        ("underscore", "1_000"),
        ("inf", ".inf"),
        ("date", "2001-12-14"),
        ("colon", "a: b"),
        ("hash", "a #b"),
        ("star", "*x"),
        ("amp", "&x"),
        ("bang", "!x"),
        ("pipe", "|x"),
        ("gt", ">x"),
        ("pct", "%x"),
        ("at", "@x"),
        ("dash", "- x"),
        ("version", "0.1.0"),
        ("multiline", "line1\nline2\n"),
        ("quote", "say \"hi\""),
        ("unicode", "grüße"),
    ];
    let mut values = String::from("data:\n");
    for (k, v) in tricky {
        values.push_str(&format!(
            "  {}: {}\n",
            serde_json::to_string(k).unwrap(),
            serde_json::to_string(v).unwrap()
        ));
    }
    p.write("apps/app1/values.yaml", &values);
    p.render_ok(&["--env", "dev"]);
    let rendered = p.read("clusters/dev/apps/app1.yaml");
    for (k, _) in tricky {
        assert!(
            rendered.contains(&format!("{k}:")) || rendered.contains(&format!("\"{k}\":")),
            "{k} missing:\n{rendered}"
        );
    }
    let values_file = p.path("extracted-values.yaml");
    std::fs::write(&values_file, values_text(&rendered)).unwrap();
    let chart = common::repo_root().join("tests/fixtures/render/echo-chart");
    for major in [3, 4] {
        let manifest = helm_template_and_validate(major, &chart, &values_file, "app1");
        let cm = doc_of_kind(&manifest, "ConfigMap");
        let kinds = cm["metadata"]["annotations"]["appkit.test/kinds"]
            .as_str()
            .unwrap();
        for entry in kinds.split(';').filter(|e| !e.is_empty()) {
            assert!(
                entry.ends_with("=string"),
                "Helm {major} read {entry} (not a string):\n{manifest}"
            );
        }
        let seen: Value = serde_json::from_str(
            cm["metadata"]["annotations"]["appkit.test/json"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        for (k, v) in tricky {
            assert_eq!(seen[k], json!(v), "Helm {major}: data.{k}\n{manifest}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Determinism, prune, --check

#[test]
fn render_is_deterministic_across_runs_and_environments() {
    let p = Platform::new();
    p.render_ok(&[]);
    let first = p.snapshot("clusters");
    assert_eq!(first.len(), 6, "{:?}", first.keys());
    // Another process with a different time zone, locale and unrelated environment.
    let out = run(appkit()
        .current_dir(&p.root)
        .args(["render", "--out", "again", "--env", "dev"])
        .env("TZ", "Pacific/Kiritimati")
        .env("LANG", "tr_TR.UTF-8")
        .env("LC_ALL", "tr_TR.UTF-8")
        .env("SOURCE_DATE_EPOCH", "1")
        .env("RANDOM_NOISE", "x"));
    assert!(out.status.success(), "{}", stderr(&out));
    let again = p.snapshot("again");
    for (name, bytes) in &again {
        let original = first
            .get(&name.replacen("again", "clusters/dev/apps", 1))
            .expect(name);
        assert_eq!(bytes, original, "{name} differs between runs");
    }
    // A second render in place changes nothing, not even modification times.
    let mtime = std::fs::metadata(p.path("clusters/dev/apps/app1.yaml"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let status = p.render_ok(&[]);
    assert!(status.contains("(0 new, 0 changed, 0 removed)"), "{status}");
    assert_eq!(p.snapshot("clusters"), first);
    assert_eq!(
        std::fs::metadata(p.path("clusters/dev/apps/app1.yaml"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
}

#[test]
fn prune_removes_only_generated_files_of_removed_apps() {
    let p = Platform::new();
    p.render_ok(&[]);
    p.write(
        "clusters/dev/apps/hand-written.yaml",
        "apiVersion: v1\nkind: ConfigMap\n",
    );
    p.write(
        "clusters/dev/apps/README.md",
        "# Generated by helm appkit render (not yaml)\n",
    );
    std::fs::remove_dir_all(p.path("apps/app2")).unwrap();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace("    app2:\n      dependsOn: [app1]\n", "    app1: {}\n"),
    );
    let status = p.render_ok(&["--env", "dev"]);
    assert!(status.contains("1 removed"), "{status}");
    assert!(!p.path("clusters/dev/apps/app2.yaml").exists());
    assert!(p.path("clusters/dev/apps/hand-written.yaml").exists());
    assert!(p.path("clusters/dev/apps/README.md").exists());
    assert!(
        p.path("clusters/prod/apps/app2.yaml").exists(),
        "other environments are untouched"
    );
    let k = p.read("clusters/dev/apps/kustomization.yaml");
    assert!(!k.contains("app2") && !k.contains("hand-written"), "{k}");
}

#[test]
fn refuses_to_overwrite_a_file_appkit_did_not_generate() {
    let p = Platform::new();
    p.write("clusters/dev/apps/app1.yaml", "# mine\nkind: HelmRelease\n");
    let out = p.appkit(&["render", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was not generated by appkit"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        p.read("clusters/dev/apps/app1.yaml"),
        "# mine\nkind: HelmRelease\n"
    );
}

#[test]
fn check_is_clean_after_render_and_catches_changed_new_and_removed_apps() {
    let p = Platform::new();
    // Nothing rendered yet: everything is new.
    let out = p.appkit(&["render", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("--- /dev/null\n+++ b/clusters/dev/apps/app1.yaml\n"),
        "{}",
        stdout(&out)
    );
    assert!(!p.path("clusters").exists(), "--check wrote files");

    p.render_ok(&[]);
    let out = p.appkit(&["render", "--check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("dev: clusters/dev/apps is up to date"),
        "{}",
        stderr(&out)
    );

    // Changed values.
    p.write(
        "apps/app1/values.yaml",
        &app_values("app1", "replicas: 2\n"),
    );
    let before = p.snapshot("clusters");
    let out = p.appkit(&["render", "--check", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    let diff = stdout(&out);
    assert!(
        diff.contains("--- a/clusters/dev/apps/app1.yaml\n+++ b/clusters/dev/apps/app1.yaml\n"),
        "{diff}"
    );
    assert!(
        diff.contains("-    replicas: 1\n+    replicas: 2\n"),
        "{diff}"
    );
    assert!(
        stderr(&out).contains("dev: clusters/dev/apps would change (0 new, 1 changed, 0 removed)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.snapshot("clusters"), before, "--check wrote files");

    // New app.
    p.render_ok(&[]);
    p.write("apps/app3/values.yaml", &app_values("app3", ""));
    let out = p.appkit(&["render", "--check", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("--- /dev/null\n+++ b/clusters/dev/apps/app3.yaml\n"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("+  - app3.yaml\n"),
        "{}",
        stdout(&out)
    );

    // Removed app.
    p.render_ok(&[]);
    std::fs::remove_dir_all(p.path("apps/app3")).unwrap();
    let out = p.appkit(&["render", "--check", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("--- a/clusters/dev/apps/app3.yaml\n+++ /dev/null\n"),
        "{}",
        stdout(&out)
    );
    assert!(
        p.path("clusters/dev/apps/app3.yaml").exists(),
        "--check removed a file"
    );

    // JSON report.
    let out = p.appkit(&["render", "--check", "--env", "dev", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["drift"], true);
    let files = &report["environments"][0]["files"];
    assert!(
        files
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "clusters/dev/apps/app3.yaml"
                && f["action"] == "remove"
                && f["diff"]
                    .as_str()
                    .is_some_and(|d| d.contains("+++ /dev/null"))),
        "{report:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Refusals and warnings

#[test]
fn reinstall_warning_when_the_target_namespace_changes() {
    let p = Platform::new();
    p.render_ok(&["--env", "dev"]);
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "    app2:\n      dependsOn: [app1]\n",
            "    app2:\n      dependsOn: [app1]\n      namespace: team-b\n",
        ),
    );
    let out = p.appkit(&["render", "--env", "dev", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("warning: clusters/dev/apps/app2.yaml: targetNamespace \"app2\" → \"team-b\", storageNamespace \"app2\" → \"team-b\""), "{err}");
    assert!(
        err.contains("Flux will uninstall the existing release and install a new one"),
        "{err}"
    );
    assert!(!err.contains("app1.yaml:"), "{err}");
    let status = p.render_ok(&["--env", "dev"]);
    assert!(status.contains("Flux will uninstall"), "{status}");
    assert!(
        !p.render_ok(&["--env", "dev"]).contains("warning"),
        "warns once, then the committed file is the new one"
    );
}

#[test]
fn missing_digest_fails_with_a_publish_hint_and_writes_nothing() {
    let p = Platform::new();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "    promoted: true\n",
            "    promoted: true\n    pins:\n      app1: 0.3.0\n",
        ),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_diag(
        &err,
        "error[missing-digest]: chart version 0.3.0 (app1 in prod) has no digest in appkit.lock",
        "appkit.yaml:25:13",
    );
    assert!(err.contains("help: run helm appkit publish"), "{err}");
    assert!(
        !p.path("clusters").exists(),
        "nothing may be written when any app fails"
    );

    std::fs::remove_file(p.path("appkit.lock")).unwrap();
    let out = p.appkit(&["render", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("appkit.lock does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("run helm appkit publish"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn release_name_over_53_characters_is_refused() {
    let p = Platform::new();
    p.render_ok(&[]);
    let before = p.snapshot("clusters");
    let long = "a".repeat(54);
    p.write(&format!("apps/{long}/values.yaml"), &app_values("x", ""));
    p.write(
        "apps/app1/values.yaml",
        &app_values("app1", "replicas: 5\n"),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "release name \"{long}\" is 54 characters; Helm allows at most 53"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        p.snapshot("clusters"),
        before,
        "all-or-nothing: app1's change must not be written either"
    );
    // 53 is fine.
    std::fs::rename(
        p.path(&format!("apps/{long}")),
        p.path(&format!("apps/{}", &long[..53])),
    )
    .unwrap();
    p.render_ok(&["--env", "dev"]);
}

#[test]
fn invalid_appkit_yaml_reports_file_line_col() {
    let p = Platform::new();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "    chartVersion: 0.1.0\n  prod",
            "    chartVersion: \"0.1\"\n  prod",
        ),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_diag(
        &stderr(&out),
        "error[version]: chartVersion \"0.1\" is not SemVer 2",
        "appkit.yaml:18:19",
    );

    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace("  timeout: 5m\n", "  timeout: 5m\n  retires: 3\n"),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_diag(&stderr(&out), "error[config]", "appkit.yaml:14:3");
    assert!(stderr(&out).contains("retires"), "{}", stderr(&out));

    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace("dependsOn: [app1]", "dependsOn: [app9]"),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_diag(
        &stderr(&out),
        "error[depends-on]: app2 depends on \"app9\", which is not an app",
        "appkit.yaml:7:19",
    );
}

#[test]
fn out_overrides_the_output_directory_for_one_environment_only() {
    let p = Platform::new();
    let out = p.appkit(&["render", "--out", "elsewhere"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--out needs exactly one environment"),
        "{}",
        stderr(&out)
    );
    let out = p.appkit(&["render", "--env", "qa"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("environment \"qa\" is not in"),
        "{}",
        stderr(&out)
    );
    p.render_ok(&["--env", "prod", "--out", "elsewhere"]);
    assert!(
        p.path("elsewhere/app1.yaml").exists() && p.path("elsewhere/kustomization.yaml").exists()
    );
    assert!(!p.path("clusters").exists());
}

#[test]
fn invalid_app_values_are_refused_with_their_diagnostics() {
    let p = Platform::new();
    p.render_ok(&[]);
    let before = p.snapshot("clusters");
    p.write(
        "apps/app2/values.yaml",
        &app_values("app2", "replicas: many\n"),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("error[schema]"), "{err}");
    assert!(err.contains("--> apps/app2/values.yaml:4:11"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(
        p.snapshot("clusters"),
        before,
        "no file may change when an app is invalid"
    );
}

#[test]
fn example_platform_renders_and_its_values_template_to_valid_objects_on_helm_3_and_4() {
    // The example platform repo next to the real chart, plus an app whose env values are all
    // strings YAML 1.1 would otherwise read as booleans or numbers.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("examples");
    common::copy_dir(&common::examples_dir(), &root);
    common::copy_dir(&common::chart_dir(), &tmp.path().join("chart"));
    let _ = std::fs::remove_dir_all(root.join("clusters"));
    std::fs::write(
        root.join("appkit.lock"),
        format!("lockVersion: 1\nchart: oci://harbor.example.com/platform/app\nversions:\n  \"0.1.0\":\n    digest: {DIGEST_010}\n    tag: \"0.1.0\"\n"),
    )
    .unwrap();
    let tricky = [
        "yes",
        "on",
        "off",
        "y",
        "n",
        "true",
        "null",
        "~",
        "",
        "0777",
        "0x1F",
        "1e3",
        "12",
        "1:20",
        "2001-12-14",
        "a: b",
        "*x",
    ];
    let mut env = String::from("env:\n");
    for (i, v) in tricky.iter().enumerate() {
        env.push_str(&format!(
            "  - name: TRICKY_{i}\n    value: {}\n",
            serde_json::to_string(v).unwrap()
        ));
    }
    std::fs::create_dir_all(root.join("apps/app3")).unwrap();
    std::fs::write(root.join("apps/app3/values.yaml"), app_values("app3", &env)).unwrap();

    let out = run(appkit().current_dir(&root).arg("render"));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut checked = 0;
    for env_name in ["dev", "prod"] {
        for app in ["app1", "app2", "app3"] {
            let text =
                std::fs::read_to_string(root.join(format!("clusters/{env_name}/apps/{app}.yaml")))
                    .unwrap();
            let hr = doc_of_kind(&text, "HelmRelease");
            let values_file = tmp.path().join(format!("{env_name}-{app}.yaml"));
            std::fs::write(&values_file, values_text(&text)).unwrap();
            let release = hr["spec"]["releaseName"].as_str().unwrap();
            for major in [3, 4] {
                let manifest = helm_template_and_validate(
                    major,
                    &tmp.path().join("chart"),
                    &values_file,
                    release,
                );
                if app == "app3" {
                    let deployment = doc_of_kind(&manifest, "Deployment");
                    let containers = deployment["spec"]["template"]["spec"]["containers"]
                        .as_array()
                        .unwrap();
                    let env_vars = containers
                        .iter()
                        .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default());
                    let got: BTreeMap<String, Value> = env_vars
                        .map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].clone()))
                        .collect();
                    for (i, v) in tricky.iter().enumerate() {
                        assert_eq!(
                            got.get(&format!("TRICKY_{i}")),
                            Some(&json!(v)),
                            "Helm {major}:\n{manifest}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
}
