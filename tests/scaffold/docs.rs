//! `helm appkit docs`: the committed chart README is what `docs` writes, `--check` reports stale
//! and missing READMEs with a diff, undescribed keys are reported, a bad schema fails cleanly.

use super::{assert_exit, Repo};
use crate::common::{self, appkit, run};

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
        serde_json::json!({"schemaVersion": 1, "readme": "../chart/README.md", "state": "current", "undescribed": []})
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

#[test]
fn docs_without_a_schema_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("chart")).unwrap();
    std::fs::write(
        tmp.path().join("chart/Chart.yaml"),
        "apiVersion: v2\nname: x\nversion: 0.1.0\n",
    )
    .unwrap();
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--chart", "chart"]));
    assert_exit(&out, 2, "docs without values.schema.json");
    assert!(
        common::stderr(&out).contains("cannot read chart/values.schema.json"),
        "{}",
        common::stderr(&out)
    );
    std::fs::write(
        tmp.path().join("chart/values.schema.json"),
        "{\n  \"type\": \"object\",\n  oops\n}\n",
    )
    .unwrap();
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--chart", "chart"]));
    assert_exit(&out, 2, "docs with a broken schema");
    assert!(
        common::stderr(&out).contains("chart/values.schema.json: line 3 column 3"),
        "{}",
        common::stderr(&out)
    );
    assert!(!tmp.path().join("chart/README.md").exists());
}
