//! `helm appkit new` and `helm appkit docs`, run as the real binary on copies of the example
//! platform repo: the scaffold validates (appkit's own `validate` and `helm template` with real
//! Helm 3 and 4), matches its snapshot byte for byte, and every refusal writes nothing; the chart's
//! committed README.md is exactly what `docs` writes (`--check` is the CI guard), a stale or missing
//! README fails `--check` with a diff, a key without a description is reported, and a broken
//! platform template is reported with its file and line.
//!
//! Snapshots: `tests/fixtures/scaffold/app3/`; regenerate with
//! `APPKIT_UPDATE_SNAPSHOTS=1 cargo test --test tests scaffold` and review the diff.

use std::path::PathBuf;
use std::process::Output;

use crate::common::{self, appkit, helm, run};

const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

fn fixtures() -> PathBuf {
    common::repo_root().join("tests/fixtures/scaffold")
}

/// A copy of the example platform repo (`<tmp>/examples`, with `<tmp>/chart` beside it, as the
/// example's `chart.path: ../chart` expects).
struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        common::copy_dir(&common::examples_dir(), &tmp.path().join("examples"));
        common::copy_dir(&common::chart_dir(), &tmp.path().join("chart"));
        let root = tmp.path().join("examples");
        Repo { _tmp: tmp, root }
    }
    fn chart(&self) -> PathBuf {
        self.root.join("../chart")
    }
    fn appkit(&self) -> std::process::Command {
        let mut c = appkit();
        c.current_dir(&self.root);
        c
    }
    fn new_app(&self, args: &[&str]) -> Output {
        run(self.appkit().arg("new").args(args))
    }
    /// Entries of the apps directory (staging leftovers would show here).
    fn apps(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root.join("apps"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

fn image(tag: &str) -> String {
    format!("harbor.example.com/apps/app3{tag}@{DIGEST}")
}

fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        common::stdout(out),
        common::stderr(out)
    );
    assert!(!common::stderr(out).contains("panicked"), "{what} panicked");
}

/// Compare with (or, with APPKIT_UPDATE_SNAPSHOTS=1, write) an expected file.
fn snapshot(rel: &str, actual: &str) {
    let path = fixtures().join(rel);
    if std::env::var_os("APPKIT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with APPKIT_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual);
        panic!(
            "{rel} differs from the snapshot:\n{}",
            diff.unified_diff().header("expected", "actual")
        );
    }
}

#[test]
fn new_app_validates_with_appkit_and_helm_and_matches_its_snapshot() {
    let repo = Repo::new();
    std::fs::copy(
        fixtures().join("app3-statestore.yaml"),
        repo.root.join("platform/components/app3-statestore.yaml"),
    )
    .unwrap();
    let out = repo.new_app(&[
        "app3",
        "--image",
        &image(":1.0.0"),
        "--port",
        "5000",
        "--uses",
        "statestore",
        "--env",
        "dev,prod",
    ]);
    assert_exit(&out, 0, "new app3");
    assert_eq!(
        common::stdout(&out),
        "apps/app3/values.yaml\napps/app3/values.dev.yaml\napps/app3/values.prod.yaml\n"
    );
    assert_eq!(repo.apps(), ["app1", "app2", "app3"]);
    let dir = repo.root.join("apps/app3");
    for f in ["values.yaml", "values.dev.yaml", "values.prod.yaml"] {
        snapshot(
            &format!("app3/{f}"),
            &std::fs::read_to_string(dir.join(f)).unwrap(),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "the app directory is not left private");
    }

    // appkit validate, every app in every environment, as written: no error, no warning.
    let out = run(repo.appkit().args(["validate", "--strict"]));
    assert_exit(&out, 0, "validate after new");
    assert!(
        common::stderr(&out).contains("validated 3 apps in 2 environments: 0 errors, 0 warnings"),
        "{}",
        common::stderr(&out)
    );

    // Real Helm reads the same values: the schema passes and the scaffold's choices reach the
    // manifests.
    let home = tempfile::tempdir().unwrap();
    for major in [3, 4] {
        let rendered = common::run_ok(
            helm(major, home.path())
                .args(["template", "app3"])
                .arg(repo.chart())
                .arg("-f")
                .arg(dir.join("values.yaml"))
                .arg("-f")
                .arg(dir.join("values.prod.yaml")),
        );
        assert!(
            rendered.contains(&format!("harbor.example.com/apps/app3@{DIGEST}")),
            "helm {major}: image not pinned by digest:\n{rendered}"
        );
        assert!(rendered.contains("containerPort: 5000"), "helm {major}");
        assert!(
            rendered.contains("dapr.io/app-port: \"5000\""),
            "helm {major}"
        );
    }
}

#[test]
fn new_app_with_defaults_only_sets_the_image() {
    let repo = Repo::new();
    let out = repo.new_app(&["app3", "--image", &image(""), "--output", "json"]);
    assert_exit(&out, 0, "new app3");
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"app": "app3", "files": ["apps/app3/values.yaml"]})
    );
    let text = std::fs::read_to_string(repo.root.join("apps/app3/values.yaml")).unwrap();
    let set: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        set,
        [
            "image:",
            "  repository: harbor.example.com/apps/app3",
            &format!("  digest: {DIGEST}")
        ]
    );
    assert!(text.contains("# port: 8080"), "{text}");
    assert!(
        !text.contains("platform:") && !text.contains("runAsUser"),
        "platform-owned keys leaked:\n{text}"
    );
    let out = run(repo.appkit().args(["validate", "--strict", "apps/app3"]));
    assert_exit(&out, 0, "validate app3");
}

#[test]
fn new_refuses_and_writes_nothing() {
    let repo = Repo::new();
    let img = image("");
    let before = repo.apps();
    let app1_before = std::fs::read(repo.root.join("apps/app1/values.yaml")).unwrap();
    let long = "a".repeat(54);
    let upper_digest = format!("harbor.example.com/apps/app3@sha256:{}", "A".repeat(64));
    let upper_repo = format!("Harbor.example.com/App3@{DIGEST}");
    // (args, exit code, text the error must contain)
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["app1", "--image", &img], 1, "`app1` is already an app"),
        (vec!["App_3", "--image", &img], 1, "cannot be an app name"),
        (vec!["-app3", "--image", &img], 2, ""), // clap: looks like a flag
        (vec![&long, "--image", &img], 1, "at most 53"),
        (
            vec!["kube-system", "--image", &img],
            1,
            "which the platform owns",
        ),
        (
            vec!["app3", "--image", &img, "--uses", "statestore,nope"],
            1,
            "no Dapr component named `nope`",
        ),
        (
            vec!["app3", "--image", &img, "--uses", "statestore"],
            1,
            "Dapr component `statestore` exists but not for app `app3` in namespace `app3`",
        ),
        (
            vec!["app3", "--image", &img, "--env", "staging"],
            2,
            "unknown environment `staging`",
        ),
        (vec!["app3"], 2, "--image is required"),
        (
            vec!["app3", "--image", "harbor.example.com/apps/app3:1.0"],
            2,
            "pins images by digest",
        ),
        (
            vec!["app3", "--image", &upper_digest],
            2,
            "64 characters 0-9/a-f",
        ),
        // Well-formed flags whose values the schema rejects: reported against the file it would
        // have written, and nothing is written.
        (
            vec!["app3", "--image", &img, "--port", "3500"],
            1,
            "apps/app3/values.yaml:",
        ),
        (
            vec!["app3", "--image", &upper_repo],
            1,
            "`image.repository` is not in the expected format",
        ),
    ];
    for (args, code, needle) in cases {
        let out = repo.new_app(&args);
        assert_exit(&out, code, &format!("new {args:?}"));
        let err = common::stderr(&out);
        assert!(
            err.contains(needle),
            "new {args:?}: no `{needle}` in:\n{err}"
        );
        assert!(common::stdout(&out).is_empty(), "new {args:?} printed data");
        assert_eq!(repo.apps(), before, "new {args:?} left something in apps/");
    }
    // A directory that is in the way (not an app yet) is not overwritten either.
    std::fs::create_dir(repo.root.join("apps/app3")).unwrap();
    std::fs::write(repo.root.join("apps/app3/notes.txt"), "mine").unwrap();
    let out = repo.new_app(&["app3", "--image", &img]);
    assert_exit(&out, 1, "new over a directory");
    assert_eq!(
        std::fs::read_to_string(repo.root.join("apps/app3/notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read(repo.root.join("apps/app1/values.yaml")).unwrap(),
        app1_before
    );
}

#[test]
fn unknown_component_suggests_what_exists() {
    let repo = Repo::new();
    let out = repo.new_app(&["app3", "--image", &image(""), "--uses", "statestor"]);
    assert_exit(&out, 1, "new --uses statestor");
    let err = common::stderr(&out);
    assert!(err.contains("(defined: secretstore, statestore)"), "{err}");
    assert!(
        err.contains("hint: components are defined by the platform team"),
        "{err}"
    );
}

#[test]
fn committed_chart_readme_is_what_docs_writes() {
    // The CI guard: the README in the repo is generated and current.
    let out = run(appkit()
        .args(["docs", "--check", "--strict", "--chart"])
        .arg(common::chart_dir()));
    assert_exit(&out, 0, "docs --check on the repo's chart");
    assert!(common::stdout(&out).is_empty());

    // And writing it from scratch gives the same bytes.
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("chart");
    common::copy_dir(&common::chart_dir(), &chart);
    std::fs::remove_file(chart.join("README.md")).unwrap();
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--chart", "chart"]));
    assert_exit(&out, 0, "docs");
    assert_eq!(common::stdout(&out), "chart/README.md\n");
    assert_eq!(
        std::fs::read_to_string(chart.join("README.md")).unwrap(),
        std::fs::read_to_string(common::chart_dir().join("README.md")).unwrap()
    );
    let readme = std::fs::read_to_string(chart.join("README.md")).unwrap();
    for needle in [
        "| `image.repository` | string | **required** |",
        "| `dapr.protocol` | string | `http` |",
        "one of `http`, `grpc`, `https`, `grpcs`, `h2c`",
        "## What the platform gives every app",
        "(uid 10001, gid 10001)",
        "| `platform.quota.pods` |",
    ] {
        assert!(readme.contains(needle), "README lacks {needle}");
    }

    // Through appkit.yaml (chart path relative to it) it is the same file.
    let repo = Repo::new();
    let out = run(repo.appkit().args(["docs", "--check", "--output", "json"]));
    assert_exit(&out, 0, "docs --check via appkit.yaml");
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"readme": "../chart/README.md", "state": "current", "undescribed": []})
    );
}

#[test]
fn docs_check_reports_a_stale_or_missing_readme_with_a_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("chart");
    common::copy_dir(&common::chart_dir(), &chart);
    let readme = chart.join("README.md");
    let good = std::fs::read_to_string(&readme).unwrap();
    let stale = good.replace("How many copies (pods)", "How many pods");
    assert_ne!(stale, good);
    std::fs::write(&readme, &stale).unwrap();

    let check = || {
        run(appkit()
            .current_dir(tmp.path())
            .args(["docs", "--check", "--chart", "chart"]))
    };
    let out = check();
    assert_exit(&out, 1, "docs --check on a stale README");
    let diff = common::stdout(&out);
    assert!(
        diff.starts_with("--- a/chart/README.md\n+++ b/chart/README.md\n"),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with("-| `replicas` |") && l.contains("How many pods")),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with("+| `replicas` |") && l.contains("How many copies (pods)")),
        "{diff}"
    );
    assert!(common::stderr(&out).contains("chart/README.md is stale"));
    assert_eq!(
        std::fs::read_to_string(&readme).unwrap(),
        stale,
        "--check wrote"
    );

    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--check", "-o", "json", "--chart", "chart"]));
    assert_exit(&out, 1, "docs --check -o json on a stale README");
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(v["state"], "stale");
    assert!(v["diff"].as_str().unwrap().contains("+| `replicas` |"));

    std::fs::remove_file(&readme).unwrap();
    let out = check();
    assert_exit(&out, 1, "docs --check without a README");
    assert!(common::stderr(&out).contains("chart/README.md is missing"));
    assert!(!readme.exists(), "--check wrote");

    // Writing fixes it, and a second run changes nothing.
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--chart", "chart"]));
    assert_exit(&out, 0, "docs");
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), good);
    assert_exit(&check(), 0, "docs --check after docs");
}

#[test]
fn a_key_without_description_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("chart");
    common::copy_dir(&common::chart_dir(), &chart);
    let path = chart.join("values.schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    schema["properties"]["probes"]["properties"]["periodSeconds"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    std::fs::write(&path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();

    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--chart", "chart"]));
    assert_exit(&out, 0, "docs (warning only)");
    let err = common::stderr(&out);
    assert!(
        err.contains(
            "warning: chart/values.schema.json: key `probes.periodSeconds` has no description"
        ),
        "{err}"
    );
    let readme = std::fs::read_to_string(chart.join("README.md")).unwrap();
    assert!(readme.contains("| `probes.periodSeconds` | integer | `10` | *(no description)* |"));

    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--strict", "--chart", "chart"]));
    assert_exit(&out, 1, "docs --strict");
    assert!(common::stderr(&out)
        .contains("error: chart/values.schema.json: key `probes.periodSeconds`"));
}

/// A platform's template directory (appkit.yaml `templates:`) in a copy of the examples.
fn with_templates(repo: &Repo, files: &[(&str, &str)]) -> PathBuf {
    let dir = repo.root.join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let cfg = repo.root.join("appkit.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}\ntemplates: templates\n")).unwrap();
    dir
}

#[test]
fn broken_override_templates_are_reported_with_file_and_line() {
    let repo = Repo::new();
    let dir = with_templates(
        &repo,
        &[
            (
                "README.md.tera",
                "# {{ chart.name }}\n\n{% for r in rows %}\n| {{ r.key }\n{% endfor %}\n",
            ),
            (
                "values.yaml.tera",
                "# {{ app }}\nimage:\n  repository: {{ image }}\n  digest: {{ digest_typo }}\n",
            ),
        ],
    );
    let out = run(repo.appkit().args(["docs", "--check"]));
    assert_exit(&out, 2, "docs with a broken README template");
    let err = common::stderr(&out);
    let file = dir.join("README.md.tera").display().to_string();
    assert!(err.contains(&format!("error: {file}:4:")), "{err}");

    let out = repo.new_app(&["app3", "--image", &image("")]);
    assert_exit(&out, 2, "new with a broken values template");
    let err = common::stderr(&out);
    let file = dir.join("values.yaml.tera").display().to_string();
    assert!(err.contains(&format!("error: {file}:4:")), "{err}");
    assert!(err.contains("digest_typo"), "{err}");
    assert_eq!(repo.apps(), ["app1", "app2"]);
}

#[test]
fn override_templates_replace_the_embedded_ones() {
    let repo = Repo::new();
    with_templates(
        &repo,
        &[
            (
                "overlay.yaml.tera",
                "# {{ app }} on {{ env.name }}: ask #platform before changing anything here.\n",
            ),
            ("values.yml.tera", "misspelt: and ignored\n"),
        ],
    );
    let out = repo.new_app(&["app3", "--image", &image(""), "--env", "prod"]);
    assert_exit(&out, 0, "new with an overlay template");
    assert_eq!(
        std::fs::read_to_string(repo.root.join("apps/app3/values.prod.yaml")).unwrap(),
        "# app3 on prod: ask #platform before changing anything here.\n"
    );
    // values.yaml still comes from the embedded template.
    let values = std::fs::read_to_string(repo.root.join("apps/app3/values.yaml")).unwrap();
    assert!(
        values.starts_with("# app3: the values of this app"),
        "{values}"
    );
    assert!(common::stderr(&out).contains("values.yml.tera is not one of appkit's templates"));
}

/// Remove the `# ` in front of every commented-out key (and list item) of a scaffold, as an app
/// owner would, leaving description comments alone.
fn uncomment_all(text: &str, keys: &[String]) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let uncommented = line[indent..]
            .strip_prefix("# ")
            .map(|rest| format!("{}{rest}", &line[..indent]));
        let is_key = uncommented.as_deref().is_some_and(|u| {
            let t = u.trim_start();
            t.starts_with("- ")
                || keys
                    .iter()
                    .any(|k| t == format!("{k}:") || t.starts_with(&format!("{k}: ")))
        });
        match uncommented {
            Some(u) if is_key => out.push_str(&u),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn uncommenting_every_optional_key_still_validates() {
    let repo = Repo::new();
    let out = repo.new_app(&["app3", "--image", &image(":1.0.0")]);
    assert_exit(&out, 0, "new app3");
    let text = std::fs::read_to_string(repo.root.join("apps/app3/values.yaml")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::chart_dir().join("values.schema.json")).unwrap(),
    )
    .unwrap();
    let mut keys = Vec::new();
    fn collect(s: &serde_json::Value, keys: &mut Vec<String>) {
        if let Some(props) = s.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                keys.push(k.clone());
                collect(v, keys);
            }
        }
        if let Some(items) = s.get("items") {
            collect(items, keys);
        }
    }
    collect(&schema, &mut keys);
    let full = uncomment_all(&text, &keys);
    assert!(full.contains("\nreplicas: 1\n"), "{full}");
    assert!(full.contains("\nenv:\n  - name: LOG_FORMAT\n"), "{full}");
    assert!(full.contains("\n        cpu: 300m\n"), "{full}");

    // Outside any platform repo: the schema and the platform-independent rules.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("values.yaml");
    std::fs::write(&file, &full).unwrap();
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["validate", "--strict", "--chart"])
        .arg(common::chart_dir())
        .arg(&file));
    assert_exit(&out, 0, "validate the fully uncommented scaffold");
    let home = tempfile::tempdir().unwrap();
    common::run_ok(
        helm(4, home.path())
            .args(["template", "app3"])
            .arg(common::chart_dir())
            .arg("-f")
            .arg(&file),
    );
}
