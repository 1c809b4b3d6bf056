//! `helm appkit promote`, run as the real binary on copies of the example platform repo whose
//! `appkit.yaml` has comments, blank lines and odd spacing in its environments, and whose
//! `appkit.lock` also holds 0.1.0 and 0.3.0 (dev runs 0.3.0, prod 0.2.0). Asserted: the lines
//! that change and, byte for byte, every other line; refusals (unpublished version, flow
//! mapping, anchor) leaving the file byte-identical; pins for a canary and their removal by a
//! later promote that keeps and names a hold-back; a dry run writing nothing; nothing to do not
//! touching the file (bytes and mtime); `render --check` failing before and passing after
//! `render`; and `--plan` (real Helm, a git repo) on the written and on the would-be file.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::common::{self, appkit, git, run, stderr, stdout};

const ENVIRONMENTS: &str = "environments:
  # Where apps are tried first.
  dev:
    output: clusters/dev/apps
    namespace:   flux-system      # odd spacing
    chartVersion: 0.3.0   # dev runs the newest chart

  # Production: promoted from dev.
  prod:
    output: clusters/prod/apps

    namespace: flux-system
    chartVersion:   0.2.0     # what prod runs
    promoted: true   # digests only
";

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

struct Repo {
    tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    /// The example platform with the commented environments and a lock of 0.1.0, 0.2.0, 0.3.0.
    fn new() -> Repo {
        Repo::with_environments(ENVIRONMENTS)
    }

    fn with_environments(envs: &str) -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = common::example_platform(tmp.path());
        let cfg = std::fs::read_to_string(root.join("appkit.yaml")).unwrap();
        let start = cfg.find("environments:\n").unwrap();
        let end = start + cfg[start..].find("\n\n").unwrap() + 1;
        let cfg = format!("{}{envs}{}", &cfg[..start], &cfg[end..]);
        std::fs::write(root.join("appkit.yaml"), cfg).unwrap();
        let mut lock = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
        for (v, c) in [("0.1.0", '1'), ("0.3.0", '3')] {
            lock.push_str(&format!(
                "  \"{v}\":\n    digest: \"{}\"\n    tag: \"{v}\"\n",
                digest(c)
            ));
        }
        std::fs::write(root.join("appkit.lock"), lock).unwrap();
        Repo { tmp, root }
    }

    fn appkit(&self, args: &[&str]) -> Output {
        run(appkit().current_dir(&self.root).args(args))
    }
    fn promote(&self, args: &[&str]) -> Output {
        run(appkit().current_dir(&self.root).arg("promote").args(args))
    }
    fn config(&self) -> String {
        std::fs::read_to_string(self.root.join("appkit.yaml")).unwrap()
    }
    fn set_config(&self, f: impl FnOnce(String) -> String) {
        let old = self.config();
        let new = f(old.clone());
        assert_ne!(new, old, "the edit changed nothing");
        std::fs::write(self.root.join("appkit.yaml"), new).unwrap();
    }
    fn mtime(&self) -> std::time::SystemTime {
        std::fs::metadata(self.root.join("appkit.yaml"))
            .unwrap()
            .modified()
            .unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `new` is `old` with exactly these lines replaced (by index), every other line byte-identical.
fn assert_only_lines_changed(old: &str, new: &str, changed: &[(&str, &str)]) {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    assert_eq!(old_lines.len(), new_lines.len(), "{new}");
    let mut seen = 0;
    for (o, n) in old_lines.iter().zip(&new_lines) {
        if o == n {
            continue;
        }
        assert!(
            changed
                .iter()
                .any(|(from, to)| o.trim_end_matches('\n') == *from
                    && n.trim_end_matches('\n') == *to),
            "unexpected change:\n-{o}+{n}"
        );
        seen += 1;
    }
    assert_eq!(seen, changed.len(), "{new}");
}

#[test]
fn promote_changes_only_the_chart_version_line() {
    let r = Repo::new();
    let before = r.config();
    let out = r.promote(&["--from", "dev", "--to", "prod"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = r.config();
    assert_only_lines_changed(
        &before,
        &after,
        &[(
            "    chartVersion:   0.2.0     # what prod runs",
            "    chartVersion:   0.3.0     # what prod runs",
        )],
    );
    // The diff on stdout, what moved (and its digest) on stderr.
    let diff = stdout(&out);
    assert!(
        diff.starts_with("--- a/appkit.yaml\n+++ b/appkit.yaml\n"),
        "{diff}"
    );
    assert!(
        diff.contains("-    chartVersion:   0.2.0     # what prod runs\n+    chartVersion:   0.3.0     # what prod runs\n"),
        "{diff}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("prod: chartVersion 0.2.0 → 0.3.0") && err.contains(&digest('3')),
        "{err}"
    );

    // Again: nothing to do, the file not even re-written.
    let mtime = r.mtime();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = r.promote(&["--from", "dev", "--to", "prod"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing to do"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(r.config(), after);
    assert_eq!(r.mtime(), mtime);
}

#[test]
fn an_unpublished_version_is_refused_and_nothing_is_written() {
    let r = Repo::new();
    r.set_config(|c| c.replace("chartVersion: 0.3.0   #", "chartVersion: 0.4.0   #"));
    let before = std::fs::read(r.root.join("appkit.yaml")).unwrap();
    for args in [
        &["--from", "dev", "--to", "prod"][..],
        &["--from", "dev", "--to", "prod", "--app", "app1"],
    ] {
        let out = r.promote(args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("chart version 0.4.0") && err.contains("not published"),
            "{err}"
        );
        assert!(err.contains("helm appkit publish"), "{err}");
        assert_eq!(stdout(&out), "");
        assert_eq!(std::fs::read(r.root.join("appkit.yaml")).unwrap(), before);
    }
    // Every unpublished version is named at once.
    r.set_config(|c| {
        c.replace(
            "    chartVersion: 0.4.0   # dev runs the newest chart\n",
            "    chartVersion: 0.4.0   # dev runs the newest chart\n    pins:\n      app2: 0.5.0\n",
        )
    });
    let before = std::fs::read(r.root.join("appkit.yaml")).unwrap();
    let out = r.promote(&["--from", "dev", "--to", "prod", "--app", "app1,app2"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("chart version 0.4.0 (app1 runs in dev), chart version 0.5.0 (app2 runs in dev) are not published"),
        "{err}"
    );
    assert_eq!(std::fs::read(r.root.join("appkit.yaml")).unwrap(), before);
}

#[test]
fn canary_pins_then_a_promote_removes_equal_pins_and_keeps_hold_backs() {
    let r = Repo::new();
    // dev holds app2 back at 0.1.0.
    r.set_config(|c| {
        c.replace(
            "    chartVersion: 0.3.0   # dev runs the newest chart\n",
            "    chartVersion: 0.3.0   # dev runs the newest chart\n    pins:\n      app2: 0.1.0 # not yet\n",
        )
    });
    let before = r.config();
    let out = r.promote(&["--from", "dev", "--to", "prod", "--app", "app1,app2"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = r.config();
    // The pins mapping is created under prod, indented like its siblings; nothing else moves.
    assert_eq!(
        after,
        before.replace(
            "    promoted: true   # digests only\n",
            "    promoted: true   # digests only\n    pins:\n      app1: 0.3.0\n      app2: 0.1.0\n"
        )
    );
    let err = stderr(&out);
    assert!(
        err.contains("pin app1 (none) → 0.3.0") && err.contains("pin app2 (none) → 0.1.0"),
        "{err}"
    );

    // The whole environment follows: app1's pin is now prod's version (removed), app2's is a
    // hold-back (kept, named).
    let out = run(appkit()
        .current_dir(&r.root)
        .args(["-o", "json", "promote", "--from", "dev", "--to", "prod"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["changed"], true);
    assert_eq!(
        v["heldBack"],
        serde_json::json!([{"app": "app2", "version": "0.1.0"}])
    );
    let keys: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec![
            "environments.prod.chartVersion",
            "environments.prod.pins.app1"
        ]
    );
    assert_eq!(
        r.config(),
        before
            .replace(
                "    chartVersion:   0.2.0     # what prod runs\n",
                "    chartVersion:   0.3.0     # what prod runs\n"
            )
            .replace(
                "    promoted: true   # digests only\n",
                "    promoted: true   # digests only\n    pins:\n      app2: 0.1.0\n"
            )
    );
    // Human output names the hold-back.
    let r2 = Repo::new();
    r2.set_config(|c| {
        c.replace(
            "    promoted: true   # digests only\n",
            "    promoted: true   # digests only\n    pins:\n      app2: 0.1.0   # waits for a fix\n",
        )
    });
    let out = r2.promote(&["--from", "dev", "--to", "prod"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("kept the pins of app2 at 0.1.0 in prod (held back from 0.3.0;"),
        "{err}"
    );
    assert!(r2
        .config()
        .contains("      app2: 0.1.0   # waits for a fix\n"));
}

#[test]
fn a_flow_mapping_or_an_anchor_on_the_path_is_refused_with_its_position() {
    let r = Repo::new();
    r.set_config(|c| {
        c.replace(
            "    promoted: true   # digests only\n",
            "    promoted: true   # digests only\n    pins: {app2: 0.1.0}\n",
        )
    });
    let before = std::fs::read(r.root.join("appkit.yaml")).unwrap();
    let text = String::from_utf8(before.clone()).unwrap();
    let line = text[..text.find("{app2").unwrap()].matches('\n').count() + 1;
    let out = r.promote(&["--from", "dev", "--to", "prod", "--app", "app1"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("appkit.yaml:{line}:11 safely"))
            && err.contains("`environments.prod.pins` is a flow mapping"),
        "{err}"
    );
    assert!(
        err.contains("app1: 0.3.0"),
        "the YAML to set by hand: {err}"
    );
    assert_eq!(std::fs::read(r.root.join("appkit.yaml")).unwrap(), before);

    // An anchor (and its alias) anywhere: refused at the anchor.
    let r = Repo::with_environments(
        &ENVIRONMENTS
            .replace("namespace:   flux-system ", "namespace:   &ns flux-system ")
            .replace("\n    namespace: flux-system\n", "\n    namespace: *ns\n"),
    );
    let before = std::fs::read(r.root.join("appkit.yaml")).unwrap();
    let text = String::from_utf8(before.clone()).unwrap();
    let line = text[..text.find("&ns").unwrap()].matches('\n').count() + 1;
    let out = r.promote(&["--from", "dev", "--to", "prod"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("appkit.yaml:{line}:18 safely")) && err.contains("anchors"),
        "{err}"
    );
    assert_eq!(std::fs::read(r.root.join("appkit.yaml")).unwrap(), before);
}

#[test]
fn a_dry_run_prints_the_diff_and_writes_nothing() {
    let r = Repo::new();
    let before = std::fs::read(r.root.join("appkit.yaml")).unwrap();
    let mtime = r.mtime();
    let out = r.promote(&[
        "--from",
        "dev",
        "--to",
        "prod",
        "--app",
        "app1",
        "--dry-run",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+    pins:\n+      app1: 0.3.0\n"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("dry run: nothing was written"));
    assert_eq!(std::fs::read(r.root.join("appkit.yaml")).unwrap(), before);
    assert_eq!(r.mtime(), mtime);
    let names: Vec<_> = std::fs::read_dir(&r.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".appkit"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn render_check_fails_after_promote_until_render_writes_the_new_version() {
    let r = Repo::new();
    // The committed Flux files match the config before the promote.
    let out = r.appkit(&["render"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(code(&r.appkit(&["render", "--check"])), 0);

    let out = r.promote(&["--from", "dev", "--to", "prod"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = r.appkit(&["render", "--check"]);
    assert_eq!(code(&out), 1, "drift expected: {}", stderr(&out));
    assert!(stdout(&out).contains("0.3.0"), "{}", stdout(&out));

    let out = r.appkit(&["render"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = r.appkit(&["render", "--check"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let sources = std::fs::read_to_string(r.root.join("clusters/prod/apps/sources.yaml")).unwrap();
    assert!(sources.contains(&digest('3')), "{sources}");
}

#[test]
fn plan_shows_what_the_promote_does_to_prod_written_or_not() {
    // HEAD: chart 0.2.0 everywhere. The working tree: the chart raised to 0.3.0 (published:
    // in the lock), dev running it. Both sides render from a chart directory: no registry.
    let r = Repo::new();
    r.set_config(|c| c.replace("chartVersion: 0.3.0   #", "chartVersion: 0.2.0   #"));
    let top = r.tmp.path();
    git(top, &["init", "-q", "-b", "main"]);
    git(top, &["add", "-A"]);
    git(top, &["commit", "-qm", "base"]);
    let chart_yaml = top.join("chart/Chart.yaml");
    let chart = std::fs::read_to_string(&chart_yaml).unwrap();
    std::fs::write(
        &chart_yaml,
        chart.replace("\nversion: 0.2.0\n", "\nversion: 0.3.0\n"),
    )
    .unwrap();
    r.set_config(|c| c.replace("chartVersion: 0.2.0   #", "chartVersion: 0.3.0   #"));
    let helm = common::helm_bin(3).display().to_string();
    let promote = |args: &[&str]| {
        run(appkit()
            .current_dir(&r.root)
            .env("XDG_CACHE_HOME", top.join("cache"))
            .args([
                "promote", "--from", "dev", "--to", "prod", "--plan", "--helm", &helm,
            ])
            .args(args))
    };

    let before = r.config();
    let out = promote(&["--dry-run", "--app", "app1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(r.config(), before, "a dry run writes nothing");
    let text = stdout(&out);
    assert!(text.contains("+      app1: 0.3.0\n"), "{text}");
    assert!(text.contains("app1") && text.contains("prod"), "{text}");
    assert!(
        text.contains("app-0.3.0"),
        "the plan of the would-be file: {text}"
    );

    // -o json: the plan document inside promote's, only prod's pairs, app1 changed.
    let out = run(appkit()
        .current_dir(&r.root)
        .env("XDG_CACHE_HOME", top.join("cache"))
        .args([
            "-o", "json", "promote", "--from", "dev", "--to", "prod", "--plan",
        ])
        .args(["--helm", &helm, "--dry-run", "--app", "app1"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let pairs = v["plan"]["pairs"].as_array().expect("a plan");
    assert!(!pairs.is_empty(), "{v:#}");
    assert!(
        pairs
            .iter()
            .all(|p| p["env"] == "prod" && p["app"] == "app1"),
        "{v:#}"
    );
    assert_eq!(r.config(), before);

    let out = promote(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("+    chartVersion:   0.3.0     # what prod runs\n"),
        "{text}"
    );
    assert!(text.contains("app-0.3.0"), "{text}");
    assert!(r
        .config()
        .contains("chartVersion:   0.3.0     # what prod runs"));
}
