//! Three small defects of issue 16 (item 8), each pinned by a test against the real binary:
//! `publish` recording a changed repository when the digest is unchanged (a real registry),
//! `new --nodepool` with no leftover directories, and `render` warning about the uninstalls its
//! pruning causes (and `render --check` listing them).

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::registry::Registry;
use crate::common::{appkit, example_platform, run, stderr, stdout};

fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    assert!(!stderr(out).contains("panicked"), "{what} panicked");
}

/// Replace `from` (which must occur) by `to` in `path`.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "fixture changed: {from:?} not in {text}"
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn appkit_in(root: &Path, args: &[&str]) -> Output {
    let mut c = appkit();
    c.current_dir(root).args(args);
    c.env_remove("SOURCE_DATE_EPOCH")
        .env(
            "HELM_REGISTRY_CONFIG",
            "/nonexistent/appkit-test/config.json",
        )
        .env("DOCKER_CONFIG", "/nonexistent/appkit-test");
    run(&mut c)
}

fn lock_chart(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("chart: "))
        .unwrap_or_else(|| panic!("no chart: line in {text}"))
        .trim_matches('"')
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// 1. publish records a changed repository even when the digest is unchanged

/// The copied-examples story: publish to project A; the same chart is pushed to project B
/// (`publish --to`, which keeps the lock on A); appkit.yaml is pointed at B. `publish` finds the
/// version already published at B with the same digest — and must still record B in the lock,
/// or render refuses forever with a hint back to `publish`.
#[test]
fn publish_records_a_changed_repository_when_the_digest_is_unchanged() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let root = example_platform(dir.path());
    let cfg = root.join("appkit.yaml");
    let (a, b) = (reg.oci("team-a"), reg.oci("team-b"));
    edit(&cfg, "oci://harbor.example.com/platform", &a);
    let _ = std::fs::remove_file(root.join("appkit.lock"));

    let out = appkit_in(&root, &["publish", "--plain-http", "-o", "json"]);
    assert_exit(&out, 0, "publish to A");
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["uploaded"], true);
    assert_eq!(lock_chart(&root), format!("{a}/app"));

    // The same chart to B; the lock keeps naming A (appkit.yaml still says A).
    let out = appkit_in(
        &root,
        &["publish", "--plain-http", "--to", &b, "-o", "json"],
    );
    assert_exit(&out, 0, "publish --to B");
    assert_eq!(lock_chart(&root), format!("{a}/app"));

    // appkit.yaml now points at B: render refuses until publish records B.
    edit(&cfg, &a, &b);
    let out = appkit_in(&root, &["render"]);
    assert_exit(&out, 1, "render with the lock naming A");
    assert!(
        stderr(&out).contains(&format!("appkit.lock records chart {a}/app")),
        "{}",
        stderr(&out)
    );

    let out = appkit_in(&root, &["publish", "--plain-http", "-o", "json"]);
    assert_exit(&out, 0, "publish to B, already published there");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alreadyPublished"], true, "{v}");
    assert_eq!(v["uploaded"], false, "{v}");
    assert_eq!(v["manifestDigest"], first["manifestDigest"], "same digest");
    assert!(
        v["lock"]
            .as_str()
            .is_some_and(|l| l.ends_with("appkit.lock")),
        "{v}"
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("recorded the new repository {b}/app in "))
            && err.contains(&format!("appkit.lock (it named {a}/app)")),
        "{err}"
    );
    assert!(err.contains("already published"), "{err}");
    assert_eq!(lock_chart(&root), format!("{b}/app"), "the lock names B");
    let text = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    assert!(
        text.contains(&format!(
            "digest: \"{}\"",
            first["manifestDigest"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(
        !root.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".appkit")),
        "no temporary file left beside the lock"
    );

    // render works now, and its sources name B.
    let out = appkit_in(&root, &["render"]);
    assert_exit(&out, 0, "render after publish recorded B");
    let rendered = std::fs::read_to_string(root.join("clusters/dev/apps/sources.yaml")).unwrap();
    assert!(rendered.contains(&format!("{b}/app")), "{rendered}");

    // A second publish changes nothing and says nothing about a new repository.
    let before = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    let out = appkit_in(&root, &["publish", "--plain-http"]);
    assert_exit(&out, 0, "publish to B again");
    assert!(!stderr(&out).contains("new repository"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(root.join("appkit.lock")).unwrap(),
        before
    );
}

// ---------------------------------------------------------------------------------------------
// 2. new --nodepool, suggestions from the platform's pools only, no leftover directories

const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

/// The example platform with one pool per app (`nodePools: [app1, app2]`, the chart's default
/// `apps` not among them) and no apps directory yet.
fn pools_platform(dir: &Path) -> std::path::PathBuf {
    let root = example_platform(dir);
    edit(
        &root.join("appkit.yaml"),
        r#"nodePools: [{name: apps, allocatable: {cpu: "16", memory: 64Gi}}, {name: apps-highmem, allocatable: {cpu: "8", memory: 128Gi}}]"#,
        "nodePools: [app1, app2]",
    );
    std::fs::remove_dir_all(root.join("apps")).unwrap();
    root
}

fn new_app(root: &Path, extra: &[&str]) -> Output {
    let image = format!("harbor.example.com/apps/app1@{DIGEST}");
    let mut args = vec!["new", "app1", "--image", &image, "--uses", "statestore"];
    args.extend_from_slice(extra);
    appkit_in(root, &args)
}

#[test]
fn new_without_nodepool_on_a_per_app_pool_platform_is_a_usage_error_listing_the_pools() {
    let dir = tempfile::tempdir().unwrap();
    let root = pools_platform(dir.path());
    let out = new_app(&root, &[]);
    assert_exit(&out, 2, "new without --nodepool");
    let err = stderr(&out);
    assert!(
        err.contains("--nodepool is required: the chart's default node pool `apps` is not one of the platform's (`nodePools` in appkit.yaml: `app1`, `app2`)"),
        "{err}"
    );
    assert!(
        err.contains("hint: pass one of `app1`, `app2`, e.g. `--nodepool app1`"),
        "{err}"
    );
    assert!(
        !err.contains("did you mean"),
        "no guess from the chart's default: {err}"
    );
    assert!(!root.join("apps").exists(), "no apps/ left behind");
}

#[test]
fn new_nodepool_must_be_a_platform_pool_and_is_written_into_values_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let root = pools_platform(dir.path());

    let out = new_app(&root, &["--nodepool", "app11"]);
    assert_exit(&out, 2, "new --nodepool app11");
    let err = stderr(&out);
    assert!(
        err.contains("--nodepool app11: `app11` is not a node pool of the platform (`nodePools` in appkit.yaml: `app1`, `app2`)"),
        "{err}"
    );
    assert!(
        err.contains("hint: did you mean `app1`? pass one of `app1`, `app2`"),
        "{err}"
    );
    assert!(!err.contains("`apps`"), "never the chart's default: {err}");
    assert!(!root.join("apps").exists(), "no apps/ left behind");

    let out = new_app(&root, &["--nodepool", "app1"]);
    assert_exit(&out, 0, "new --nodepool app1");
    let values = std::fs::read_to_string(root.join("apps/app1/values.yaml")).unwrap();
    assert!(
        values.lines().any(|l| l == "nodepool: app1"),
        "nodepool written, uncommented:\n{values}"
    );
    assert!(
        stdout(&out).contains("apps/app1/values.yaml"),
        "{}",
        stdout(&out)
    );
}

/// A request that passes every check before staging and fails validation of the staged files
/// (a port the sidecar takes) leaves neither the staging directory nor the apps directory that
/// `new` created for it.
#[test]
fn a_failed_new_leaves_no_apps_directory_it_created() {
    let dir = tempfile::tempdir().unwrap();
    let root = pools_platform(dir.path());
    let out = new_app(&root, &["--nodepool", "app1", "--port", "3500"]);
    assert_exit(&out, 1, "new --port 3500");
    let err = stderr(&out);
    assert!(err.contains("apps/app1/values.yaml:"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(
        !root.join("apps").exists(),
        "apps/ did not exist before and must not after: {:?}",
        std::fs::read_dir(root.join("apps")).map(|d| d.count())
    );

    // An apps directory that existed stays, empty of leftovers.
    std::fs::create_dir(root.join("apps")).unwrap();
    let out = new_app(&root, &["--nodepool", "app1", "--port", "3500"]);
    assert_exit(&out, 1, "again, with apps/ present");
    let left: Vec<_> = std::fs::read_dir(root.join("apps")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. render warns about the uninstalls its pruning causes; --check lists them

/// The example platform with a third app, `app3`, rendered; then its directory is removed.
fn platform_with_app3_removed(dir: &Path) -> std::path::PathBuf {
    let root = example_platform(dir);
    let image = format!("harbor.example.com/apps/app3@{DIGEST}");
    assert_exit(
        &appkit_in(&root, &["new", "app3", "--image", &image]),
        0,
        "new app3",
    );
    assert_exit(&appkit_in(&root, &["render"]), 0, "render with app3");
    let file = root.join("clusters/dev/apps/app3.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("kind: HelmRelease"), "{text}");
    assert!(text.contains("releaseName: app3"), "{text}");
    std::fs::remove_dir_all(root.join("apps/app3")).unwrap();
    root
}

const UNINSTALL_DEV: &str =
    "clusters/dev/apps/app3.yaml: Flux will uninstall release app3 in namespace app3";

#[test]
fn render_check_lists_the_removal_of_an_app_as_an_uninstall() {
    let dir = tempfile::tempdir().unwrap();
    let root = platform_with_app3_removed(dir.path());

    let out = appkit_in(&root, &["render", "--check"]);
    assert_exit(&out, 1, "render --check after removing app3");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("warning: would remove {UNINSTALL_DEV}\n")),
        "{err}"
    );
    assert!(
        err.contains("warning: would remove clusters/prod/apps/app3.yaml: Flux will uninstall release app3 in namespace app3"),
        "{err}"
    );
    assert!(err.contains("1 removed, 1 release uninstalled)"), "{err}");
    assert!(stdout(&out).contains("+++ /dev/null"), "{}", stdout(&out));

    let out = appkit_in(&root, &["render", "--check", "-o", "json"]);
    assert_exit(&out, 1, "render --check -o json");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dev = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["env"] == "dev")
        .unwrap();
    let files = dev["files"].as_array().unwrap();
    let app3 = files
        .iter()
        .find(|f| f["path"] == "clusters/dev/apps/app3.yaml")
        .unwrap_or_else(|| panic!("{dev}"));
    assert_eq!(app3["action"], "remove");
    assert_eq!(app3["uninstall"], true, "{app3}");
    assert_eq!(
        app3["releases"],
        serde_json::json!([{"release": "app3", "namespace": "app3"}])
    );
    // Only the pruned HelmRelease carries the marker (the kustomization only changes).
    for f in files.iter().filter(|f| f["path"] != app3["path"]) {
        assert!(f.get("uninstall").is_none(), "{f}");
    }
    assert!(
        dev["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str() == Some(&format!("would remove {UNINSTALL_DEV}"))),
        "{dev}"
    );
    assert!(
        root.join("clusters/dev/apps/app3.yaml").exists(),
        "--check writes nothing"
    );
}

#[test]
fn render_warns_loudly_when_pruning_an_app_flux_will_uninstall() {
    let dir = tempfile::tempdir().unwrap();
    let root = platform_with_app3_removed(dir.path());
    let out = appkit_in(&root, &["render", "--quiet"]);
    assert_exit(&out, 0, "render after removing app3");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("warning: removing {UNINSTALL_DEV}\n")),
        "the warning survives --quiet: {err}"
    );
    assert!(!root.join("clusters/dev/apps/app3.yaml").exists());

    // Nothing left to prune: no warning.
    let out = appkit_in(&root, &["render"]);
    assert_exit(&out, 0, "render again");
    assert!(!stderr(&out).contains("uninstall"), "{}", stderr(&out));
}
