//! Issue 16, items 1 and 2: the platform's values (`platformValues`) reach every app through the
//! one coalescer — what validate checks is what the HelmRelease passes — and a plain-HTTP
//! registry (`registry.insecure`) works for Flux and for appkit's own calls; `flux.sourceKind`
//! replaces `render --source`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::registry::Registry;
use crate::common::{appkit, example_platform, helm, run, stderr, stdout};

/// The example platform repo with `extra` appended to its appkit.yaml (and `edit` applied).
fn repo(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let root = example_platform(dir);
    let cfg = root.join("appkit.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    // Without the example's own platformValues: each test writes the ones it checks.
    let start = text
        .find("\nplatformValues:\n")
        .expect("the example has platformValues");
    let end = start
        + 1
        + text[start + 1..]
            .find("\nnetwork:\n")
            .expect("network after it");
    let text = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(&cfg, edit(text)).unwrap();
    root
}

const PLATFORM_VALUES: &str = "
platformValues:
  defaults:
    replicas: 2
    probes:
      initialDelaySeconds: 7
  locked:
    platform:
      nodepoolKey: app
";

fn with_prod_lock(text: String) -> String {
    let text = text.replace(
        "    promoted: true\n",
        "    promoted: true\n    platformValues:\n      locked:\n        probes:\n          periodSeconds: 15\n",
    );
    format!("{text}{PLATFORM_VALUES}")
}

/// The HelmRelease of a rendered app file.
fn release(root: &Path, env: &str, app: &str) -> Value {
    let text =
        std::fs::read_to_string(root.join(format!("clusters/{env}/apps/{app}.yaml"))).unwrap();
    text.split("\n---\n")
        .map(|d| serde_saphyr::from_str::<Value>(d).unwrap())
        .find(|d| d["kind"] == "HelmRelease")
        .unwrap()
}

#[test]
fn platform_values_reach_the_helm_release_in_precedence_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), with_prod_lock);
    let out = run(appkit().current_dir(&root).arg("render"));
    assert!(out.status.success(), "{}", stderr(&out));
    let dev2 = release(&root, "dev", "app2");
    let values = &dev2["spec"]["values"];
    assert_eq!(values["replicas"], 2, "a platform default: {values:#}");
    assert_eq!(
        values["probes"]["initialDelaySeconds"], 10,
        "app2 sets its own"
    );
    assert_eq!(values["probes"]["path"], "/api/health");
    assert_eq!(values["platform"]["nodepoolKey"], "app", "locked");
    assert!(
        values["probes"].get("periodSeconds").is_none(),
        "dev does not lock it"
    );
    let dev1 = release(&root, "dev", "app1");
    assert_eq!(
        dev1["spec"]["values"]["replicas"], 1,
        "app1's dev overlay wins over the default"
    );
    assert_eq!(
        dev1["spec"]["values"]["probes"]["initialDelaySeconds"], 7,
        "the default where app1 sets nothing"
    );
    let prod1 = release(&root, "prod", "app1");
    assert_eq!(
        prod1["spec"]["values"]["probes"]["periodSeconds"], 15,
        "prod locks it"
    );
    assert_eq!(
        prod1["spec"]["values"]["replicas"], 3,
        "app1's prod overlay"
    );
    assert_eq!(
        release(&root, "prod", "app2")["spec"]["values"]["probes"]["periodSeconds"],
        15
    );
    // What Helm renders from those values: the pool key is the platform's.
    let home = tempfile::tempdir().unwrap();
    let vals = home.path().join("v.yaml");
    std::fs::write(&vals, serde_json::to_string(values).unwrap()).unwrap();
    let chart = tmp.path().join("chart").display().to_string();
    let out = run(helm(4, home.path())
        .args(["template", "app2", &chart, "-f"])
        .arg(&vals));
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = stdout(&out);
    assert!(manifest.contains("- key: app\n"), "{manifest}");
    assert!(!manifest.contains("appkit.io/nodepool"), "{manifest}");
    assert!(manifest.contains("replicas: 2\n"), "{manifest}");
    // validate sees the same values: --print-values shows them.
    let out = run(appkit().current_dir(&root).args([
        "validate",
        "--print-values",
        "-o",
        "json",
        "--env",
        "prod",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let v = &printed["values"][0]["values"];
    assert_eq!(v["platform"]["nodepoolKey"], "app", "{printed:#}");
    assert_eq!(v["probes"]["periodSeconds"], 15, "{printed:#}");
}

#[test]
fn an_app_file_that_sets_a_locked_path_is_platform_owned_with_both_positions() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), with_prod_lock);
    let app1 = root.join("apps/app1/values.yaml");
    let text = std::fs::read_to_string(&app1).unwrap();
    let line = text.lines().position(|l| l == "  path: /healthz").unwrap() + 2;
    std::fs::write(
        &app1,
        text.replace(
            "  path: /healthz\n",
            "  path: /healthz\n  periodSeconds: 5\n",
        ),
    )
    .unwrap();
    let out = run(appkit().current_dir(&root).arg("validate"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("error[platform-owned]"), "{err}");
    assert!(
        err.contains(&format!("apps/app1/values.yaml:{line}:3")),
        "{err}"
    );
    assert!(
        err.contains("`probes.periodSeconds` is set by the platform"),
        "{err}"
    );
    let cfg = std::fs::read_to_string(root.join("appkit.yaml")).unwrap();
    let locked_line = cfg
        .lines()
        .position(|l| l == "          periodSeconds: 15")
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("appkit.yaml:{locked_line}:11")),
        "{err}"
    );
    // Only prod locks it: dev is fine, so exactly one such error.
    assert_eq!(err.matches("error[platform-owned]").count(), 1, "{err}");
    // Render refuses it too, and writes nothing.
    let before = std::fs::read(root.join("clusters/prod/apps/app1.yaml")).unwrap();
    let out = run(appkit().current_dir(&root).arg("render"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(root.join("clusters/prod/apps/app1.yaml")).unwrap(),
        before
    );
}

#[test]
fn a_platform_value_the_schema_refuses_points_at_appkit_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), |t| {
        format!("{t}\nplatformValues:\n  defaults:\n    replicas: many\n")
    });
    let out = run(appkit()
        .current_dir(&root)
        .args(["validate", "--env", "dev"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let cfg = std::fs::read_to_string(root.join("appkit.yaml")).unwrap();
    let line = cfg.lines().position(|l| l == "    replicas: many").unwrap() + 1;
    assert!(err.contains(&format!("appkit.yaml:{line}:15")), "{err}");
    assert!(err.contains("platformValues"), "{err}");
}

#[test]
fn render_source_is_a_setting_not_a_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path(), |t| t);
    let before = std::fs::read(root.join("clusters/dev/apps/app1.yaml")).unwrap();
    let out = run(appkit()
        .current_dir(&root)
        .args(["render", "--source", "helmrepository"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sourceKind: helmrepository"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(root.join("clusters/dev/apps/app1.yaml")).unwrap(),
        before
    );
    // The setting: `render --check` then needs no flag, and reports the source change as drift.
    let cfg = root.join("appkit.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            "  createNamespace: true\n",
            "  createNamespace: true\n  sourceKind: helmrepository\n",
        ),
    )
    .unwrap();
    let out = run(appkit().current_dir(&root).args(["render", "--check"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+kind: HelmRepository"),
        "{}",
        stdout(&out)
    );
    let bad = run(appkit()
        .current_dir(&root)
        .arg("validate")
        .env("APPKIT_CONFIG", &cfg));
    assert!(bad.status.success(), "{}", stderr(&bad));
    std::fs::write(
        &cfg,
        text.replace(
            "  createNamespace: true\n",
            "  createNamespace: true\n  sourceKind: helmrepo\n",
        ),
    )
    .unwrap();
    let out = run(appkit().current_dir(&root).arg("validate"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("sourceKind \"helmrepo\" is not one of ocirepository, helmrepository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn registry_insecure_means_plain_http_for_flux_and_for_appkit() {
    let reg = Registry::anonymous();
    let tmp = tempfile::tempdir().unwrap();
    let repository = reg.oci("platform");
    let root = repo(tmp.path(), |t| {
        t.replace("oci://harbor.example.com/platform", &repository)
            .replace("  caSecret: harbor-ca\n", "  insecure: true\n")
    });
    let _ = std::fs::remove_file(root.join("appkit.lock"));
    let publish = |root: &Path| {
        let mut c = appkit();
        c.current_dir(root)
            .arg("publish")
            .env(
                "HELM_REGISTRY_CONFIG",
                "/nonexistent/appkit-test/config.json",
            )
            .env("DOCKER_CONFIG", "/nonexistent/appkit-test");
        run(&mut c)
    };
    // No --plain-http: appkit.yaml says so.
    let out = publish(&root);
    assert!(out.status.success(), "{}", stderr(&out));
    let lock = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    assert!(
        lock.contains(&format!("chart: \"{repository}/app\"")),
        "{lock}"
    );
    assert!(reg.count("PUT", "/manifests/") >= 1);
    // The versions command, also in the repo, reads it over HTTP.
    let out = run(appkit()
        .current_dir(&root)
        .args(["versions", &format!("{repository}/app")]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("0.2.0"), "{}", stdout(&out));
    // Flux gets `insecure: true` on its source.
    let out = run(appkit().current_dir(&root).arg("render"));
    assert!(out.status.success(), "{}", stderr(&out));
    let file = std::fs::read_to_string(root.join("clusters/dev/apps/sources.yaml")).unwrap();
    assert!(file.contains("  insecure: true\n"), "{file}");
    // Its client certificate flags cannot apply to a plain-HTTP registry either.
    let out = run(appkit().current_dir(&root).args([
        "versions",
        &format!("{repository}/app"),
        "--cert-file",
        "/nonexistent/c.pem",
        "--key-file",
        "/nonexistent/c.key",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("plain-HTTP registry"),
        "{}",
        stderr(&out)
    );
    // Without the setting, the same registry is spoken to over TLS and fails, with the hint.
    let cfg = root.join("appkit.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("  insecure: true\n", "")).unwrap();
    let out = run(appkit().current_dir(&root).args([
        "versions",
        &format!("{repository}/app"),
        "--retries",
        "0",
    ]));
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("--plain-http"), "{}", stderr(&out));
    // insecure with a CA secret is a contradiction the config refuses.
    std::fs::write(
        &cfg,
        text.replace(
            "  insecure: true\n",
            "  insecure: true\n  caSecret: harbor-ca\n",
        ),
    )
    .unwrap();
    let out = run(appkit().current_dir(&root).arg("validate"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("registry.insecure"),
        "{}",
        stderr(&out)
    );
}
