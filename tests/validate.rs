//! `helm appkit validate`: the differential test against real Helm 3.17 and 4.1 over the fixture
//! corpus, snapshots of the human / JSON / GitHub output, exit codes, and bad input (malformed
//! YAML, an alias bomb, a 50 MB file, non-UTF-8 bytes, a directory) that must fail cleanly.
//!
//! Snapshots live in `tests/fixtures/values/*.expected`; regenerate them with
//! `APPKIT_UPDATE_SNAPSHOTS=1 cargo test --test tests validate` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::{self, appkit, helm, run};

fn fixtures() -> PathBuf {
    common::repo_root().join("tests/fixtures/values")
}

fn platform() -> PathBuf {
    fixtures().join("platform")
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    assert!(v.len() >= 30, "the corpus shrank: {}", v.len());
    v
}

/// appkit's schema verdict for one file: fails when any schema/YAML/read diagnostic is reported.
fn appkit_schema_passes(file: &Path) -> bool {
    let out = run(appkit()
        .args(["validate", "--output", "json", "--chart"])
        .arg(common::chart_dir())
        .arg(file));
    let stdout = common::stdout(&out);
    assert!(
        !common::stderr(&out).contains("panicked"),
        "appkit panicked on {}",
        file.display()
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "appkit -o json printed no JSON for {} ({e}):\n{stdout}",
            file.display()
        )
    });
    !v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| ["schema", "yaml", "unreadable"].contains(&d["code"].as_str().unwrap()))
}

/// Helm's verdict: `helm template -f FILE` succeeds, or fails on the values (schema or parse).
fn helm_passes(major: u8, home: &Path, file: &Path) -> bool {
    let out = run(helm(major, home)
        .args(["template", "x"])
        .arg(common::chart_dir())
        .arg("-f")
        .arg(file));
    if out.status.success() {
        return true;
    }
    let err = common::stderr(&out);
    assert!(
        err.contains("values don't meet the specifications") || err.contains("failed to parse"),
        "Helm {major} failed on {} for a reason other than the values; fix the fixture:\n{err}",
        file.display()
    );
    false
}

#[test]
fn differential_helm3_helm4_and_appkit_agree_on_every_fixture() {
    let files = cases();
    let tmp = tempfile::tempdir().unwrap();
    let results: Vec<(PathBuf, bool, bool, bool)> = std::thread::scope(|s| {
        let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(3)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let home = tmp.path().join(format!("home{i}"));
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|f| {
                            (
                                f.clone(),
                                helm_passes(3, &home, f),
                                helm_passes(4, &home, f),
                                appkit_schema_passes(f),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut disagreements = Vec::new();
    for (file, h3, h4, ak) in &results {
        let name = file.file_name().unwrap().to_string_lossy();
        let expected = name.starts_with("good-");
        if !(*h3 == *h4 && *h4 == *ak && *ak == expected) {
            disagreements.push(format!(
                "{name}: helm3={h3} helm4={h4} appkit={ak} expected={expected}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "verdicts differ:\n{}",
        disagreements.join("\n")
    );
    let good = results.iter().filter(|r| r.3).count();
    assert!(
        good >= 10 && results.len() - good >= 10,
        "the corpus needs both good and bad files"
    );
}

/// Compare with (or, with APPKIT_UPDATE_SNAPSHOTS=1, write) an expected file.
fn snapshot(name: &str, actual: &str) {
    // Paths outside the working directory are absolute: make them independent of the checkout.
    let actual = actual.replace(&common::repo_root().display().to_string(), "<repo>");
    common::assert_snapshot(&fixtures().join(name), &actual);
}

fn validate_in_platform(args: &[&str]) -> Output {
    run(appkit()
        .current_dir(platform())
        .env_remove("APPKIT_CONFIG")
        .arg("validate")
        .args(args))
}

#[test]
fn human_output_snapshot() {
    let out = validate_in_platform(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "human diagnostics go to stderr only");
    let err = common::stderr(&out);
    assert!(err.contains("--> apps/broken/values.yaml:5:7"), "{err}");
    assert!(!err.contains("s3cr3t-value"), "a secret was echoed:\n{err}");
    snapshot("human.expected", &err);
}

#[test]
fn json_output_snapshot() {
    let out = validate_in_platform(&["--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = common::stdout(&out);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["errors"], 13);
    assert_eq!(v["warnings"], 2);
    assert!(!stdout.contains("s3cr3t-value"));
    snapshot("json.expected", &stdout);
}

#[test]
fn github_output_snapshot() {
    let out = validate_in_platform(&["--output", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = common::stdout(&out);
    assert!(
        stdout.contains("::error file=apps/broken/values.yaml,line=5,col=7,title=appkit schema::"),
        "{stdout}"
    );
    // The inline-secret finding is reported; the secret itself is not.
    assert!(stdout.contains("title=appkit inline-secret::"), "{stdout}");
    assert!(
        !stdout.contains("s3cr3t-value"),
        "a secret was echoed:\n{stdout}"
    );
    snapshot("github.expected", &stdout);
}

#[test]
fn promoted_environment_turns_tag_only_into_an_error_and_strict_fails_on_warnings() {
    let dir = platform().join("apps/tagonly");
    let dev = validate_in_platform(&["--env", "dev", dir.to_str().unwrap()]);
    assert_eq!(dev.status.code(), Some(0), "{}", common::stderr(&dev));
    assert!(common::stderr(&dev).contains("warning[image-tag-not-digest]"));
    let strict = validate_in_platform(&["--env", "dev", "--strict", dir.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(1));
    let prod = validate_in_platform(&["--env", "prod", dir.to_str().unwrap()]);
    assert_eq!(prod.status.code(), Some(1));
    assert!(common::stderr(&prod).contains("error[image-tag-not-digest]"));
}

#[test]
fn clean_app_and_the_examples_pass() {
    let out = validate_in_platform(&["apps/shop"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("validated 1 app in 2 environments: 0 errors, 0 warnings")
    );
    let out = run(appkit()
        .current_dir(common::examples_dir())
        .env_remove("APPKIT_CONFIG")
        .arg("validate"));
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
}

#[test]
fn unknown_environment_is_a_usage_error() {
    let out = validate_in_platform(&["--env", "staging"]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("unknown environment `staging`") && err.contains("dev, prod"),
        "{err}"
    );
}

/// Run validate on one bad file: the exit code (1: the file was read and its content is wrong —
/// malformed, an alias bomb, too large, not UTF-8; 2: it could not be read), a message, no
/// panic, quickly.
fn bad_input(file: &Path, expect: &str, code: i32) -> String {
    let start = Instant::now();
    let out = run(appkit()
        .args(["validate", "--chart"])
        .arg(common::chart_dir())
        .arg(file));
    let took = start.elapsed();
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(expect), "expected `{expect}` in:\n{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    err
}

#[test]
fn malformed_yaml_reports_its_line() {
    let err = bad_input(
        &fixtures().join("cases/bad-malformed.yaml"),
        "invalid YAML",
        1,
    );
    // The scanner points at the plain scalar the tab-indented line continues (`8080`).
    assert!(err.contains("bad-malformed.yaml:4:7"), "{err}");
}

#[test]
fn alias_bomb_fails_fast() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        s.push_str(&format!("a{i}: &a{i} [{}]\n", [p.as_str(); 10].join(", ")));
    }
    let f = tmp.path().join("bomb.yaml");
    std::fs::write(&f, s).unwrap();
    bad_input(&f, "alias bomb", 1);
}

#[test]
fn file_of_50_mb_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("big.yaml");
    let line = "k: 0123456789012345678901234567890123456789012345678901234567890123456789\n";
    std::fs::write(&f, line.repeat(50 * 1024 * 1024 / line.len())).unwrap();
    bad_input(&f, "limited to 10485760 bytes", 1);
}

#[test]
fn non_utf8_bytes_are_reported_with_their_position() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("latin1.yaml");
    std::fs::write(&f, b"port: 8080\nname: caf\xe9\n").unwrap();
    let err = bad_input(&f, "not UTF-8", 1);
    assert!(err.contains("latin1.yaml:2:10"), "{err}");
}

#[test]
fn directory_without_values_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    bad_input(tmp.path(), "is a directory without a values.yaml", 2);
}

#[test]
fn missing_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    bad_input(&tmp.path().join("nope.yaml"), "does not exist", 2);
}

#[test]
fn a_second_document_is_refused_because_helm3_and_helm4_disagree() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("two.yaml");
    std::fs::write(&f, "port: 8080\n---\nreplicas: 2\n").unwrap();
    bad_input(&f, "Helm 3 ignores it, Helm 4 merges it", 1);
}

#[test]
fn an_overlay_file_is_validated_on_top_of_its_values_yaml_in_its_environment() {
    let out = validate_in_platform(&["apps/broken/values.prod.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(
        err.contains("--> apps/broken/values.prod.yaml:2:12"),
        "{err}"
    );
    assert!(err.contains("--> apps/broken/values.yaml:5:7"), "{err}");
    assert!(err.contains("validated 1 app in 1 environment:"), "{err}");
}

#[test]
fn every_bad_case_renders_as_in_the_snapshot() {
    let dir = fixtures().join("cases");
    let mut names: Vec<String> = cases()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("bad-"))
        .collect();
    names.sort();
    let mut all = String::new();
    for name in names {
        let out = run(appkit()
            .current_dir(&dir)
            .args(["validate", "--chart"])
            .arg(common::chart_dir())
            .arg(&name));
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{name}: {:?}",
            out.status
        );
        all.push_str(&format!(
            "===== {name} (exit {})\n",
            out.status.code().unwrap()
        ));
        all.push_str(&common::stderr(&out));
    }
    snapshot("cases.expected", &all);
}

#[test]
fn a_chart_directory_without_chart_yaml_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(appkit()
        .args(["validate", "--chart"])
        .arg(tmp.path())
        .arg(fixtures().join("cases/good-minimal.yaml")));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("is not a chart directory (no Chart.yaml)"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn no_inputs_and_no_config_is_a_usage_error_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(appkit()
        .current_dir(tmp.path())
        .env_remove("APPKIT_CONFIG")
        .arg("validate"));
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("no appkit.yaml found") && err.contains("hint:"),
        "{err}"
    );
}

/// Numbers compare by value (Helm's JSON has only float64; appkit keeps integers).
fn normalise_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => *v = serde_json::json!(n.as_f64().unwrap()),
        serde_json::Value::Array(a) => a.iter_mut().for_each(normalise_numbers),
        serde_json::Value::Object(o) => o.values_mut().for_each(normalise_numbers),
        _ => {}
    }
}

#[test]
fn differential_coalesced_values_equal_helms_dot_values() {
    // A throwaway copy of the chart whose only template prints .Values (no schema, so Helm
    // renders even the values the schema rejects).
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    for f in ["Chart.yaml", "values.yaml"] {
        std::fs::copy(common::chart_dir().join(f), chart.join(f)).unwrap();
    }
    std::fs::write(
        chart.join("templates/values.yaml"),
        "{{ toJson .Values }}\n",
    )
    .unwrap();
    let files: Vec<PathBuf> = cases();
    let compared = std::sync::atomic::AtomicUsize::new(0);
    let compared = &compared;
    let results: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(files.len().div_ceil(3))
            .enumerate()
            .map(|(i, chunk)| {
                let home = tmp.path().join(format!("home{i}"));
                let chart = chart.clone();
                s.spawn(move || {
                    let mut problems = Vec::new();
                    for f in chunk {
                        let out = run(appkit()
                            .args(["validate", "--print-values", "--chart"])
                            .arg(&chart)
                            .arg(f));
                        let mine: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                        let Some(mine) = mine["values"].get(0).map(|v| v["values"].clone()) else {
                            continue; // appkit could not parse it; the verdict test covers Helm's side
                        };
                        for major in [3, 4] {
                            let out = run(helm(major, &home)
                                .args(["template", "x"])
                                .arg(&chart)
                                .arg("-f")
                                .arg(f));
                            let text = common::stdout(&out);
                            let Some(json) = text.lines().find(|l| l.starts_with('{')) else {
                                problems.push(format!(
                                    "{}: Helm {major} printed no values:\n{}",
                                    f.display(),
                                    common::stderr(&out)
                                ));
                                continue;
                            };
                            compared.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let mut theirs: serde_json::Value = serde_json::from_str(json).unwrap();
                            let mut ours = mine.clone();
                            normalise_numbers(&mut theirs);
                            normalise_numbers(&mut ours);
                            if theirs != ours {
                                problems.push(format!(
                                    "{}: Helm {major} sees\n{theirs}\nappkit sees\n{ours}",
                                    f.display()
                                ));
                            }
                        }
                    }
                    problems
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(results.is_empty(), "{}", results.join("\n\n"));
    let compared = compared.load(std::sync::atomic::Ordering::Relaxed);
    assert!(compared >= 2 * 30, "only {compared} comparisons");
}

/// A copy of the example platform repo (with the chart next to it, as `../chart` expects) whose
/// appkit.yaml is `edit(original)`.
fn example_repo_with_config(tmp: &Path, edit: impl Fn(&str) -> String) -> PathBuf {
    let repo = tmp.join("repo");
    common::copy_dir(&common::examples_dir(), &repo);
    common::copy_dir(&common::chart_dir(), &tmp.join("chart"));
    let cfg = repo.join("appkit.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, edit(&text)).unwrap();
    repo
}

/// Issue 12, defect 1: `rules: {image-tag-not-digst: error}` was silently accepted.
#[test]
fn defect_1_an_unknown_rule_code_in_appkit_yaml_is_exit_1_at_its_line_with_did_you_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_repo_with_config(tmp.path(), |t| {
        t.replace(
            "  image-tag-not-digest: warning",
            "  image-tag-not-digst: error",
        )
    });
    let text = std::fs::read_to_string(repo.join("appkit.yaml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("image-tag-not-digst"))
        .unwrap()
        + 1;
    let out = run(appkit()
        .current_dir(&repo)
        .env_remove("APPKIT_CONFIG")
        .arg("validate"));
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("appkit.yaml:{line}:3")), "{err}");
    assert!(
        err.contains("did you mean `image-tag-not-digest`?"),
        "{err}"
    );
    assert!(err.contains("unknown rule `image-tag-not-digst`"), "{err}");
    assert!(err.contains("\nerror: "), "{err}");
}

/// Issue 12, defect 6: only the first serde error of appkit.yaml was shown, as `invalid u32`,
/// without a snippet; now every problem, each with a caret, unknown keys with "did you mean".
#[test]
fn defect_6_appkit_yaml_problems_are_reported_all_at_once_with_carets_and_did_you_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_repo_with_config(tmp.path(), |t| {
        t.replace("  retries: 3\n", "  retries: many\n")
            .replace("  timeout: 5m\n", "  timeuot: 5m\n")
            .replace(
                "    output: clusters/prod/apps\n    namespace: flux-system\n    chartVersion: 0.2.0\n",
                "    output: clusters/prod/apps\n    namespace: flux-system\n    chartVersion: latest\n",
            )
    });
    let out = run(appkit()
        .current_dir(&repo)
        .env_remove("APPKIT_CONFIG")
        .arg("validate"));
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("invalid u32"), "{err}");
    for needle in [
        "error[unknown-key]: unknown key `timeuot` in `flux`",
        "did you mean `timeout`?",
        "error[type]: `flux.retries` must be an unsigned integer (0 to 4294967295), found `many` (a string)",
        "error[version]: chartVersion \"latest\" is not SemVer 2",
        "--> appkit.yaml:",
        "  timeuot: 5m\n   |   ^^^^^^^",
        "  retries: many\n   |            ^^^^",
        "    chartVersion: latest\n   |                   ^^^^^^",
        "appkit.yaml is invalid\n  Caused by: 3 problems in appkit.yaml\nhint: ",
    ] {
        assert!(err.contains(needle), "{needle:?} in:\n{err}");
    }
}

#[test]
fn list_rules_prints_the_registry_without_appkit_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(appkit()
        .current_dir(tmp.path())
        .env_remove("APPKIT_CONFIG")
        .args(["validate", "--list-rules"]));
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let table = common::stdout(&out);
    assert!(table.starts_with("CODE "), "{table}");
    assert!(table.contains("\nimage-tag-not-digest "), "{table}");
    let out = run(appkit()
        .current_dir(tmp.path())
        .env_remove("APPKIT_CONFIG")
        .args(["validate", "--list-rules", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let rules = v["rules"].as_array().unwrap();
    assert!(rules.len() >= 10, "{v}");
    for r in rules {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["code", "defaultSeverity", "summary", "reads"], "{r}");
        assert!(r["reads"].is_array(), "{r}");
    }
    let nodepool = rules
        .iter()
        .find(|r| r["code"] == "unknown-nodepool")
        .unwrap();
    assert_eq!(nodepool["reads"], serde_json::json!(["nodepool"]));
    assert_eq!(nodepool["defaultSeverity"], "error");
}
