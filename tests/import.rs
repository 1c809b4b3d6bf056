//! `helm appkit import`, run as the real binary on copies of the example platform repo (its own
//! apps removed: the platform is adopting appkit) with the seed platform's hand-written Flux files
//! (`tests/fixtures/import/`): two HelmReleases in `flux-system` with `targetNamespace`, a plain-HTTP
//! Harbor HelmRepository. Asserted on real outputs: exit codes, the files written (byte for
//! byte), appkit.yaml's comments kept, file:line of every finding, secrets in no output and no
//! file, a dry run and every refusal leaving the tree byte-identical, `validate` after the import
//! reporting exactly what the import said, importing render's own output changing nothing, and
//! real Helm 3 and 4 reading the written values exactly as they read the release's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{self, appkit, run, stderr, stdout};

fn fixtures() -> PathBuf {
    common::repo_root().join("tests/fixtures/import")
}

/// A copy of the example platform repo without its apps, the seed's Flux files in `legacy/`.
struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = common::example_platform(tmp.path());
        std::fs::remove_dir_all(root.join("apps")).unwrap();
        std::fs::create_dir(root.join("apps")).unwrap();
        common::copy_dir(&fixtures().join("seed"), &root.join("legacy"));
        Repo { _tmp: tmp, root }
    }
    /// The unmodified example repo (its apps and rendered `clusters/` included).
    fn examples() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = common::example_platform(tmp.path());
        Repo { _tmp: tmp, root }
    }
    fn import(&self, args: &[&str]) -> Output {
        run(appkit().current_dir(&self.root).arg("import").args(args))
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    /// Every file of the repo (and the chart beside it) with its bytes.
    fn tree(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                if e.file_type().unwrap().is_dir() {
                    walk(&p, base, out);
                } else {
                    out.insert(
                        p.strip_prefix(base).unwrap().to_path_buf(),
                        std::fs::read(&p).unwrap(),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        let base = self.root.parent().unwrap();
        walk(base, base, &mut out);
        out
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(o), stderr(o)))
}

const SEED: [&str; 3] = ["legacy/harbor.yaml", "legacy/app1.yaml", "legacy/app2.yaml"];

const APP1_VALUES: &str = "\
# Imported by `helm appkit import` from legacy/app1.yaml:5 (HelmRelease flux-system/app1, spec.values).
# This is the app's values file now: edit it here, then run `helm appkit validate` and `helm appkit render`.
image:
  repository: harbor.harbor.svc.cluster.local/apps/app1
  tag: \"1.4.2\"
  pullPolicy: Always
port: 8080
nodepool: app1
dapr:
  appId: app1
  components:
    - statestore
    - secretstore
";

const APP2_VALUES: &str = "\
# Imported by `helm appkit import` from legacy/app2.yaml:5 (HelmRelease flux-system/app2, spec.values).
# This is the app's values file now: edit it here, then run `helm appkit validate` and `helm appkit render`.
image:
  repository: harbor.harbor.svc.cluster.local/apps/app2
  tag: \"0.9.0\"
  pullPolicy: Always
port: 3000
nodepool: app2
env:
  - name: CLASSIFIER_APP_ID
    value: app1.app1-ns
dapr:
  appId: app2
";

/// The example's appkit.yaml with `after` inserted after app2's `dependsOn` line.
fn appkit_yaml_with(after: &str) -> String {
    let original = std::fs::read_to_string(common::examples_dir().join("appkit.yaml")).unwrap();
    let anchor = "      dependsOn: [app1]\n";
    assert!(original.contains(anchor), "the example appkit.yaml changed");
    original.replacen(anchor, &format!("{anchor}{after}"), 1)
}

#[test]
fn imports_two_apps_into_values_files_and_appkit_yaml_settings_keeping_its_comments() {
    let repo = Repo::new();
    let out = repo.import(&SEED);
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert_eq!(repo.read("apps/app1/values.yaml"), APP1_VALUES);
    assert_eq!(repo.read("apps/app2/values.yaml"), APP2_VALUES);
    // Flux's release name rule: no releaseName, so `<targetNamespace>-<name>`; the namespace is
    // the targetNamespace; app2's dependsOn is already in appkit.yaml (nothing written for it).
    let expected = appkit_yaml_with(
        "      namespace: app2-ns\n      releaseName: app2-ns-app2\n    app1:\n      namespace: app1-ns\n      releaseName: app1-ns-app1\n",
    );
    assert_eq!(repo.read("appkit.yaml"), expected);
    assert!(expected.contains("# appkit platform config for the example platform repo"));
    let err = stderr(&out);
    for want in [
        "app1 (legacy/app1.yaml:5): wrote apps/app1/values.yaml (new); appkit.yaml apps.settings.app1: namespace, releaseName",
        "warning[release-reinstall]: Helm keeps this release's history in namespace flux-system",
        "warning[import-source]: HelmRepository uses plain HTTP (insecure: true)",
        " --> legacy/harbor.yaml:10:13",
        "validation of the imported apps (what must change to pass `helm appkit validate`",
        "error[unknown-nodepool]: unknown node pool `app1`",
        " --> apps/app1/values.yaml:8:11",
        "2 apps imported",
    ] {
        assert!(err.contains(want), "{want:?} not in\n{err}");
    }
    // The Harbor source is shared: its findings are reported once, not per app.
    assert_eq!(
        err.matches("HelmRepository uses plain HTTP").count(),
        1,
        "{err}"
    );

    // Again: nothing left to do.
    let before = repo.tree();
    let again = repo.import(&SEED);
    assert_eq!(code(&again), 0, "{}", both(&again));
    assert!(
        stderr(&again).contains("0 apps imported, 2 unchanged"),
        "{}",
        stderr(&again)
    );
    assert_eq!(repo.tree(), before);
}

#[test]
fn drift_exits_1_writes_nothing_for_that_app_and_imports_the_other() {
    let repo = Repo::new();
    let drifted = std::fs::read_to_string(fixtures().join("drifted/values.yaml")).unwrap();
    repo.write("apps/app2/values.yaml", &drifted);
    let out = repo.import(&SEED);
    assert_eq!(code(&out), 1, "{}", both(&out));
    let err = stderr(&out);
    for want in [
        "error[import-drift]: image.repository: release has \"harbor.harbor.svc.cluster.local/apps/app2\" (legacy/app2.yaml:21), values.yaml has \"harbor.example.com/apps/app2\" (apps/app2/values.yaml:3)",
        "error[import-drift]: image.pullPolicy: release has \"Always\" (legacy/app2.yaml:23), values.yaml has \"IfNotPresent\" (apps/app2/values.yaml:5)",
        "app2 (legacy/app2.yaml:5): the release disagrees with the existing files (below): nothing written",
        "hint: pass --prefer release",
    ] {
        assert!(err.contains(want), "{want:?} not in\n{err}");
    }
    assert_eq!(err.matches("error[import-drift]").count(), 2, "{err}");
    assert_eq!(repo.read("apps/app2/values.yaml"), drifted);
    assert_eq!(repo.read("apps/app1/values.yaml"), APP1_VALUES);
    assert_eq!(
        repo.read("appkit.yaml"),
        appkit_yaml_with("    app1:\n      namespace: app1-ns\n      releaseName: app1-ns-app1\n")
    );
}

#[test]
fn prefer_release_rewrites_the_values_file_and_prefer_file_keeps_it() {
    let drifted = std::fs::read_to_string(fixtures().join("drifted/values.yaml")).unwrap();

    let repo = Repo::new();
    repo.write("apps/app2/values.yaml", &drifted);
    let out = repo.import(&[SEED.as_slice(), &["--prefer", "file"]].concat());
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert_eq!(repo.read("apps/app2/values.yaml"), drifted);
    // The settings are imported all the same.
    assert!(repo.read("appkit.yaml").contains(
        "      dependsOn: [app1]\n      namespace: app2-ns\n      releaseName: app2-ns-app2\n"
    ));
    assert!(
        stderr(&out).contains("warning[import-drift]: image.pullPolicy: release has \"Always\""),
        "{}",
        stderr(&out)
    );

    let repo = Repo::new();
    repo.write("apps/app2/values.yaml", &drifted);
    let out = repo.import(&[SEED.as_slice(), &["--prefer", "release"]].concat());
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert_eq!(repo.read("apps/app2/values.yaml"), APP2_VALUES);
    assert!(
        stderr(&out).contains("app2 (legacy/app2.yaml:5): wrote apps/app2/values.yaml (changed)")
    );
}

#[test]
fn a_setting_appkit_yaml_already_has_differently_is_drift_too() {
    let repo = Repo::new();
    let text = repo.read("appkit.yaml").replace(
        "      dependsOn: [app1]\n",
        "      dependsOn: [app1]\n      namespace: dashboards\n",
    );
    repo.write("appkit.yaml", &text);
    let before = repo.tree();
    let out = repo.import(&["legacy/app2.yaml", "legacy/harbor.yaml"]);
    assert_eq!(code(&out), 1, "{}", both(&out));
    assert!(
        stderr(&out).contains("error[import-drift]: apps.settings.app2.namespace: release has \"app2-ns\" (legacy/app2.yaml:9), appkit.yaml has \"dashboards\" (appkit.yaml:13)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(repo.tree(), before);
    let out = repo.import(&[
        "legacy/app2.yaml",
        "legacy/harbor.yaml",
        "--prefer",
        "release",
    ]);
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert!(repo.read("appkit.yaml").contains(
        "      dependsOn: [app1]\n      namespace: app2-ns\n      releaseName: app2-ns-app2\n"
    ));
}

#[test]
fn dry_run_leaves_the_tree_byte_identical_and_shows_every_file() {
    let repo = Repo::new();
    let before = repo.tree();
    let out = repo.import(&[SEED.as_slice(), &["--dry-run"]].concat());
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert_eq!(repo.tree(), before);
    let diff = stdout(&out);
    for want in [
        "--- a/appkit.yaml\n+++ b/appkit.yaml\n",
        "+    app1:\n+      namespace: app1-ns\n+      releaseName: app1-ns-app1\n",
        "--- /dev/null\n+++ b/apps/app1/values.yaml\n",
        "+  pullPolicy: Always\n",
        "--- /dev/null\n+++ b/apps/app2/values.yaml\n",
    ] {
        assert!(diff.contains(want), "{want:?} not in\n{diff}");
    }
    assert!(
        stderr(&out).contains("(dry run: nothing was written)"),
        "{}",
        stderr(&out)
    );
    let j = repo.import(&[SEED.as_slice(), &["--dry-run", "-o", "json"]].concat());
    assert_eq!(repo.tree(), before);
    let j = json(&j);
    assert_eq!(j["dryRun"], true);
    assert_eq!(j["apps"][0]["files"][0]["path"], "apps/app1/values.yaml");
    assert_eq!(j["apps"][0]["files"][0]["action"], "create");
    assert_eq!(j["apps"][0]["settings"]["releaseName"], "app1-ns-app1");
    assert_eq!(j["config"]["action"], "update");
}

#[test]
fn values_from_version_ranges_and_post_renderers_are_reported_with_file_and_line() {
    let repo = Repo::new();
    std::fs::copy(
        fixtures().join("unsupported/app3.yaml"),
        repo.root.join("legacy/app3.yaml"),
    )
    .unwrap();
    let out = repo.import(&["legacy/app3.yaml", "legacy/harbor.yaml"]);
    // Reported, not refused: the values are imported.
    assert_eq!(code(&out), 0, "{}", both(&out));
    let err = stderr(&out);
    for (want, at) in [
        ("warning[not-imported]: spec.chart.spec.version \">=1.0\" is a version range: not imported", " --> legacy/app3.yaml:12:16\n"),
        ("warning[not-imported]: spec.valuesFrom[0] (Secret app3-values) is not imported", " --> legacy/app3.yaml:17:7\n"),
        ("warning[not-imported]: spec.postRenderers is not imported", " --> legacy/app3.yaml:19:3\n"),
        ("warning[not-imported]: spec.maxHistory is not imported", " --> legacy/app3.yaml:8:3\n"),
    ] {
        let i = err.find(want).unwrap_or_else(|| panic!("{want:?} not in\n{err}"));
        assert!(
            err[i..].lines().nth(1).is_some_and(|l| l.trim() == at.trim()),
            "{want:?} is not at {at:?}:\n{err}"
        );
    }
    let j = json(&repo.import(&["legacy/app3.yaml", "legacy/harbor.yaml", "-o", "json"]));
    let lines: Vec<(String, u64)> = j["apps"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "not-imported")
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    for line in [8, 12, 17, 19] {
        assert!(
            lines.contains(&("legacy/app3.yaml".into(), line)),
            "{lines:?}"
        );
    }
    assert!(repo
        .read("apps/app3/values.yaml")
        .contains("repository: harbor.example.com/apps/app3"));
}

#[test]
fn an_inline_secret_is_never_printed_nor_written() {
    const SECRETS: [&str; 2] = ["Sup3r-S3cret-Hunter2", "tok-9f8e7d6c5b4a"];
    let repo = Repo::new();
    std::fs::copy(
        fixtures().join("secret/app4.yaml"),
        repo.root.join("legacy/app4.yaml"),
    )
    .unwrap();
    let mut outputs = Vec::new();
    for extra in [
        &["--dry-run"][..],
        &["-o", "json", "--dry-run"],
        &["--debug"],
        &["-o", "json"],
    ] {
        let out = repo.import(&[&["legacy/app4.yaml"][..], extra].concat());
        assert_eq!(code(&out), 1, "{extra:?}: {}", both(&out));
        outputs.push(both(&out));
    }
    for text in &outputs {
        for s in SECRETS {
            assert!(!text.contains(s), "the secret {s:?} was printed:\n{text}");
        }
    }
    assert!(outputs[0].contains("error[inline-secret]: db.password: the release's values hold a secret in plain text; it is not imported"), "{}", outputs[0]);
    assert!(
        outputs[0].contains(" --> legacy/app4.yaml:16:17"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[0].contains("error[inline-secret]: env[1] (API_TOKEN)"),
        "{}",
        outputs[0]
    );
    assert!(outputs[0].contains("Dapr secret store"), "{}", outputs[0]);
    for (path, bytes) in repo.tree() {
        let text = String::from_utf8_lossy(&bytes);
        if path.ends_with("legacy/app4.yaml") {
            continue;
        }
        for s in SECRETS {
            assert!(
                !text.contains(s),
                "the secret {s:?} is in {}",
                path.display()
            );
        }
    }
    let values = repo.read("apps/app4/values.yaml");
    assert!(
        values.contains("# Left out: secrets (db.password, env[1])"),
        "{values}"
    );
    assert!(
        values.contains("  host: postgres\n") && values.contains("    value: json\n"),
        "{values}"
    );
    assert!(
        !values.contains("password:") && !values.contains("API_TOKEN"),
        "{values}"
    );
}

#[test]
fn an_appkit_yaml_with_a_flow_mapping_is_refused_and_left_unchanged() {
    let repo = Repo::new();
    let text = repo.read("appkit.yaml").replace(
        "  settings:\n    app2:\n      dependsOn: [app1]\n",
        "  settings: {app2: {dependsOn: [app1]}}\n",
    );
    repo.write("appkit.yaml", &text);
    let before = repo.tree();
    let out = repo.import(&SEED);
    assert_eq!(code(&out), 1, "{}", both(&out));
    assert_eq!(repo.tree(), before, "something was written");
    let err = stderr(&out);
    for want in [
        "error[import-settings]: cannot edit appkit.yaml safely: `apps.settings` is a flow mapping",
        " --> appkit.yaml:10:13",
        "add this to appkit.yaml by hand, then run the import again:",
        "             settings:\n               app1:\n                 namespace: app1-ns\n                 releaseName: app1-ns-app1\n",
    ] {
        assert!(err.contains(want), "{want:?} not in\n{err}");
    }
    let j = json(&repo.import(&[SEED.as_slice(), &["-o", "json"]].concat()));
    assert_eq!(
        j["byHand"],
        "apps:\n  settings:\n    app1:\n      namespace: app1-ns\n      releaseName: app1-ns-app1\n    app2:\n      namespace: app2-ns\n      releaseName: app2-ns-app2\n"
    );
    assert_eq!(j["apps"][0]["status"], "refused");
    // The YAML printed is what makes the import go through.
    let fixed = text.replace(
        "  settings: {app2: {dependsOn: [app1]}}\n",
        "  settings:\n    app1:\n      namespace: app1-ns\n      releaseName: app1-ns-app1\n    app2:\n      dependsOn: [app1]\n      namespace: app2-ns\n      releaseName: app2-ns-app2\n",
    );
    repo.write("appkit.yaml", &fixed);
    let out = repo.import(&SEED);
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert_eq!(repo.read("appkit.yaml"), fixed);
    assert_eq!(repo.read("apps/app1/values.yaml"), APP1_VALUES);
}

#[test]
fn malformed_yaml_is_exit_1_with_file_line_and_column() {
    let repo = Repo::new();
    std::fs::copy(
        fixtures().join("malformed.yaml"),
        repo.root.join("legacy/broken.yaml"),
    )
    .unwrap();
    let before = repo.tree();
    let out = repo.import(&["legacy/broken.yaml", "legacy/app1.yaml"]);
    assert_eq!(code(&out), 1, "{}", both(&out));
    let err = stderr(&out);
    assert!(err.contains("error[yaml]: invalid YAML: while parsing a block mapping, did not find expected key\n  --> legacy/broken.yaml:11:6\n"), "{err}");
    // The other file is imported.
    assert_ne!(repo.tree(), before);
    assert_eq!(
        repo.read("apps/app1/values.yaml").lines().count(),
        APP1_VALUES.lines().count()
    );
    let out = repo.import(&["legacy/missing.yaml"]);
    assert_eq!(code(&out), 1, "{}", both(&out));
    assert!(
        stderr(&out).contains("legacy/missing.yaml"),
        "{}",
        stderr(&out)
    );
}

/// Import, then `helm appkit validate` on the repo: the same diagnostics the import reported.
#[test]
fn validate_after_import_reports_exactly_what_the_import_said() {
    let repo = Repo::new();
    let imported = json(&repo.import(&[SEED.as_slice(), &["-o", "json"]].concat()));
    assert_eq!(imported["failed"], false, "{imported:#}");
    let said = &imported["validation"]["diagnostics"];
    assert!(
        said.as_array().is_some_and(|d| !d.is_empty()),
        "{imported:#}"
    );
    let validate = run(appkit()
        .current_dir(&repo.root)
        .args(["validate", "-o", "json"]));
    assert_eq!(code(&validate), 1, "{}", both(&validate));
    assert_eq!(&json(&validate)["diagnostics"], said);
}

/// Render's own output, imported, is already what the repo says: nothing to write, no finding.
#[test]
fn importing_what_render_wrote_changes_nothing() {
    let repo = Repo::examples();
    let before = repo.tree();
    let out = repo.import(&[
        "clusters/dev/apps/app1.yaml",
        "clusters/dev/apps/app2.yaml",
        "clusters/dev/apps/kustomization.yaml",
        "clusters/dev/apps/sources.yaml",
        "clusters/prod/apps/app1.yaml",
        "clusters/prod/apps/app2.yaml",
        "clusters/prod/apps/sources.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert_eq!(repo.tree(), before);
    let j = json(&out);
    let apps = j["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 4);
    for a in apps {
        assert_eq!(a["status"], "unchanged", "{a:#}");
        assert_eq!(a["diagnostics"], Value::Array(vec![]), "{a:#}");
    }
    // Found from the file's place: clusters/prod/apps is the prod environment's output.
    assert_eq!(apps[2]["env"], "prod");
    assert_eq!(j["diagnostics"], Value::Array(vec![]));
}

/// With the environment known and values.yaml there, the overlay holds only what differs, and
/// render then gives the release's values back.
#[test]
fn an_environment_overlay_holds_only_what_differs() {
    let repo = Repo::examples();
    let rendered = repo.read("clusters/dev/apps/app2.yaml");
    let release = rendered.replace("    port: 3000\n", "    port: 3000\n    replicas: 2\n");
    assert_ne!(release, rendered);
    repo.write("legacy/app2-dev.yaml", &release);
    let out = repo.import(&["legacy/app2-dev.yaml", "--env", "dev"]);
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert_eq!(
        repo.read("apps/app2/values.dev.yaml"),
        "# Imported by `helm appkit import` from legacy/app2-dev.yaml:6 (HelmRelease flux-system/app2, spec.values):\n# what environment dev runs differently from values.yaml (the rest comes from there).\nreplicas: 2\n"
    );
    let r = run(appkit()
        .current_dir(&repo.root)
        .args(["render", "--env", "dev"]));
    assert_eq!(code(&r), 0, "{}", both(&r));
    let after = repo.read("clusters/dev/apps/app2.yaml");
    assert_eq!(after.replace("    replicas: 2\n", ""), rendered);
    assert!(after.contains("    probes:\n      initialDelaySeconds: 10\n      path: /api/health\n    replicas: 2\n"), "{after}");
}

/// Real Helm reads the written values.yaml exactly as it reads the release's values (YAML 1.1
/// booleans, octal-looking and exponent-looking text, block text, big numbers).
#[test]
fn helm_reads_the_written_values_as_it_reads_the_releases() {
    const VALUES: &str = "\
image:
  repository: harbor.example.com/apps/app6
  tag: \"1.0\"
env:
  - name: FLAG
    value: \"yes\"
  - name: MODE
    value: \"0777\"
  - name: N
    value: \"1e3\"
  - name: WHEN
    value: \"2001-12-14\"
replicas: 2
flag: yes
octal: 0777
ratio: 0.5
big: 12345678901
note: \"a: b # c\"
multi: |
  line one
  line two
empty: \"\"
nothing: ~
";
    let repo = Repo::new();
    let indented: String = VALUES.lines().map(|l| format!("    {l}\n")).collect();
    repo.write(
        "legacy/app6.yaml",
        &format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app6\n  namespace: flux-system\nspec:\n  interval: 10m\n  values:\n{indented}"),
    );
    repo.write("legacy/app6-values.yaml", VALUES);
    let out = repo.import(&["legacy/app6.yaml"]);
    assert_eq!(code(&out), 0, "{}", both(&out));

    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("dump");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: dump\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/values.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dump\ndata:\n  values: {{ toJson .Values | quote }}\n",
    )
    .unwrap();
    for major in [3, 4] {
        let seen = |file: &Path| {
            common::run_ok(
                common::helm(major, &tmp.path().join(format!("home{major}")))
                    .args(["template", "x"])
                    .arg(&chart)
                    .arg("-f")
                    .arg(file),
            )
        };
        let release = seen(&repo.root.join("legacy/app6-values.yaml"));
        let written = seen(&repo.root.join("apps/app6/values.yaml"));
        assert!(
            release.contains("\\\"flag\\\":true"),
            "Helm {major}: {release}"
        );
        assert_eq!(
            written, release,
            "Helm {major} reads the written file differently"
        );
    }
}

/// The platform's values in a release are not the app's: the `platform` block, locked paths and
/// values equal to `platformValues.defaults` are left out of the written file (an app file may not
/// set them); those that differ from what appkit renders are named in a warning.
#[test]
fn the_platforms_values_in_a_release_are_left_out_and_differences_named() {
    let repo = Repo::new();
    let release = repo.read("legacy/app1.yaml").replace(
        "    port: 8080\n",
        "    port: 8080\n    dapr:\n      logLevel: info\n    platform:\n      nodepoolKey: appkit.io/nodepool\n      egress:\n        - namespace: redis-system\n      quota:\n        pods: \"5\"\n",
    );
    assert!(release.contains("pods: \"5\""), "the seed changed");
    repo.write("legacy/app1.yaml", &release);
    let out = repo.import(&["legacy/harbor.yaml", "legacy/app1.yaml", "-o", "json"]);
    assert_eq!(code(&out), 0, "{}", both(&out));
    let written = repo.read("apps/app1/values.yaml");
    assert!(!written.contains("platform"), "{written}");
    // dapr.logLevel info is the example's platform default: left out, the rest of `dapr` kept.
    assert!(!written.contains("logLevel"), "{written}");
    assert!(written.contains("  appId: app1\n"), "{written}");
    let v = json(&out);
    let warnings: Vec<String> = v["apps"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "not-imported")
        .map(|d| d["message"].as_str().unwrap().to_string())
        .collect();
    // nodepoolKey is what the example locks and egress is derived: only the quota is named.
    assert!(
        warnings
            .iter()
            .any(|m| m.starts_with("platform.quota.pods: the platform's values")),
        "{warnings:#?}"
    );
    assert!(
        !warnings
            .iter()
            .any(|m| m.contains("nodepoolKey") || m.contains("egress")),
        "{warnings:#?}"
    );
    // And the imported app validates (no `platform-owned` error).
    let out = run(appkit()
        .current_dir(&repo.root)
        .args(["validate", "apps/app1"]));
    assert!(!both(&out).contains("platform-owned"), "{}", both(&out));
}
