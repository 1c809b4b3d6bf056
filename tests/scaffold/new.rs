//! `helm appkit new`: the scaffold validates (appkit and real Helm), matches its snapshot, stays
//! valid when every optional key is uncommented, and every refusal writes nothing.

use super::{assert_exit, fixtures, image, snapshot, Repo, DIGEST};
use crate::common::{self, appkit, helm, run};

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
        serde_json::json!({"schemaVersion": 1, "app": "app3", "files": ["apps/app3/values.yaml"]})
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
            "Dapr component `statestore` exists but not for app `app3` (Dapr app id `app3`) in namespace `app3`",
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
            // `platform` is the platform team's: the scaffold never writes it.
            for (k, v) in props.iter().filter(|(k, _)| k.as_str() != "platform") {
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
    // (In a directory named like the app: outside a repo the app's name is its directory's.)
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("app3")).unwrap();
    let file = tmp.path().join("app3/values.yaml");
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
