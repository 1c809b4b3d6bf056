//! Regression tests for the defects the application-layer consolidation fixed: each was a
//! cross-cutting question answered differently by different commands.

use std::fs;
use std::path::Path;

use crate::common::{appkit, example_platform, mkfifo, run, stderr, stdout};

const IMAGE: &str =
    "harbor.example.com/apps/app3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The `error:` and `hint:` lines of a run.
fn error_and_hint(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("hint:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn render_new_and_publish_outside_a_platform_repo_print_the_same_error_and_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut seen = Vec::new();
    for args in [
        vec!["render"],
        vec!["new", "app3", "--image", IMAGE],
        vec!["publish", "--dry-run"],
    ] {
        let out = run(appkit()
            .current_dir(dir)
            .env_remove("APPKIT_CONFIG")
            .args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let lines = error_and_hint(&stderr(&out));
        assert_eq!(lines.len(), 2, "{args:?}: {}", stderr(&out));
        assert!(
            lines[0].starts_with("error: no appkit.yaml found in ")
                && lines[0].ends_with(" or any parent directory"),
            "{args:?}: {lines:?}"
        );
        assert!(
            lines[1].starts_with("hint: run inside a platform repo"),
            "{lines:?}"
        );
        seen.push(lines);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

#[test]
fn a_fifo_values_file_gets_one_verdict_from_validate_app_and_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    mkfifo(&repo.join("apps/app2/values.yaml"));
    for args in [vec!["validate", "apps/app2"], vec!["validate"]] {
        let out = run(appkit().current_dir(&repo).args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("apps/app2/values.yaml") && err.contains("FIFO"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("without a values.yaml"), "{args:?}: {err}");
    }
    // A FIFO overlay is not silently skipped either.
    let repo = example_platform(&tmp.path().join("overlay"));
    mkfifo(&repo.join("apps/app2/values.prod.yaml"));
    for args in [
        vec!["validate", "apps/app2"],
        vec!["validate"],
        vec!["render"],
    ] {
        let out = run(appkit().current_dir(&repo).args(&args));
        let err = stderr(&out);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            err.contains("values.prod.yaml") && err.contains("FIFO"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn env_is_repeatable_and_comma_separated_on_every_command_that_takes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    for cmd in [vec!["validate"], vec!["render", "--check"]] {
        let repeated = run(appkit()
            .current_dir(&repo)
            .args(&cmd)
            .args(["-e", "dev", "-e", "prod"]));
        let commas = run(appkit()
            .current_dir(&repo)
            .args(&cmd)
            .args(["--env", "dev,prod"]));
        let all = run(appkit().current_dir(&repo).args(&cmd));
        assert_eq!(
            repeated.status.code(),
            Some(0),
            "{cmd:?}: {}",
            stderr(&repeated)
        );
        assert_eq!(stderr(&repeated), stderr(&commas), "{cmd:?}");
        assert_eq!(stdout(&repeated), stdout(&commas), "{cmd:?}");
        assert_eq!(stderr(&repeated), stderr(&all), "{cmd:?}");
        let one = run(appkit().current_dir(&repo).args(&cmd).args(["-e", "prod"]));
        assert_eq!(one.status.code(), Some(0), "{cmd:?}: {}", stderr(&one));
        assert_ne!(
            stderr(&one),
            stderr(&all),
            "{cmd:?}: one environment is not all"
        );
        let unknown = run(appkit()
            .current_dir(&repo)
            .args(&cmd)
            .args(["--env", "dev,staging"]));
        assert_eq!(unknown.status.code(), Some(2), "{cmd:?}");
        let err = stderr(&unknown);
        assert!(
            err.contains("error: unknown environment `staging`"),
            "{err}"
        );
        assert!(err.contains("hint:") && err.contains("dev, prod"), "{err}");
    }
    // `new`: overlays for the environments named either way.
    for (i, flags) in [vec!["-e", "dev", "-e", "prod"], vec!["--env", "dev,prod"]]
        .into_iter()
        .enumerate()
    {
        let repo = example_platform(&tmp.path().join(format!("new{i}")));
        let out = run(appkit()
            .current_dir(&repo)
            .args(["new", "app3", "--image", IMAGE])
            .args(&flags));
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", stderr(&out));
        for f in ["values.yaml", "values.dev.yaml", "values.prod.yaml"] {
            assert!(repo.join("apps/app3").join(f).is_file(), "{flags:?}: {f}");
        }
    }
}

/// A chart whose schema has a key without a description, and a README that is not current.
fn undocumented_chart(dir: &Path) -> std::path::PathBuf {
    let chart = dir.join("chart");
    crate::common::copy_dir(&crate::common::chart_dir(), &chart);
    let schema_path = chart.join("values.schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&schema_path).unwrap()).unwrap();
    schema["properties"]["zzUndocumented"] = serde_json::json!({"type": "string"});
    fs::write(&schema_path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
    chart
}

#[test]
fn docs_errors_are_shown_under_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = undocumented_chart(tmp.path());
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--chart", "chart", "--check", "--strict", "-q"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("error: chart/values.schema.json: key `zzUndocumented` has no description"),
        "{err}"
    );
    assert!(err.contains("error: chart/README.md is stale"), "{err}");
    assert!(err.contains("hint: run `helm appkit docs`"), "{err}");
    // Without --check, --strict alone still fails loudly under -q (and writes the README).
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["docs", "--chart", "chart", "--strict", "-q"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("error: chart/values.schema.json: key `zzUndocumented`"));
    assert!(fs::read_to_string(chart.join("README.md"))
        .unwrap()
        .contains("zzUndocumented"));
}
