//! `helm appkit plan` on a small fleet (the example platform repo and four more apps, in a git
//! repository of the test's own), rendered by the real Helm 3.17 and 4.1: a template change, a
//! values change, a chart version bump in one environment (the other side fetched by digest
//! from an OCI layout), an app added and one removed, a render failure, a secret in a rendered
//! Secret — each asserted in human, markdown and JSON output — and `--shard` halves that
//! `--merge` joins back into the full plan.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{self, appkit, example_platform, git, helm_bin, stderr, stdout};

struct Fleet {
    _tmp: tempfile::TempDir,
    top: PathBuf,
    repo: PathBuf,
    cache: PathBuf,
}

/// The example platform plus app3..app6 (copies of app1 under their own names), committed.
fn fleet() -> Fleet {
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path().to_path_buf();
    let repo = example_platform(&top);
    for i in 3..=6 {
        let dir = repo.join(format!("apps/app{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["values.yaml", "values.dev.yaml", "values.prod.yaml"] {
            let text = std::fs::read_to_string(repo.join("apps/app1").join(f)).unwrap();
            std::fs::write(dir.join(f), text.replace("app1", &format!("app{i}"))).unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(repo.join("out"));
    git(&top, &["init", "-q", "-b", "main"]);
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-qm", "fleet"]);
    let cache = top.join("cache");
    Fleet {
        _tmp: tmp,
        top,
        repo,
        cache,
    }
}

impl Fleet {
    fn plan(&self, major: u8, args: &[&str]) -> Output {
        let mut c = appkit();
        c.current_dir(&self.repo)
            .env("XDG_CACHE_HOME", &self.cache)
            .arg("plan")
            .arg("--helm")
            .arg(helm_bin(major))
            .args(args);
        common::run(&mut c)
    }

    fn json(&self, major: u8, args: &[&str]) -> (Value, Output) {
        let mut a = vec!["-o", "json"];
        a.extend_from_slice(args);
        let out = self.plan(major, &a);
        let v: Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
        (v, out)
    }

    fn edit(&self, rel: &str, f: impl FnOnce(String) -> String) {
        let p = self.top.join(rel);
        let text = std::fs::read_to_string(&p).unwrap();
        let new = f(text.clone());
        assert_ne!(new, text, "the edit of {rel} changed nothing");
        std::fs::write(p, new).unwrap();
    }

    fn commit(&self) {
        git(&self.top, &["add", "-A"]);
        git(&self.top, &["commit", "-qm", "change"]);
    }
}

fn pair<'a>(plan: &'a Value, app: &str, env: &str) -> &'a Value {
    plan["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["app"] == app && p["env"] == env)
        .unwrap_or_else(|| panic!("no pair {app} × {env} in {plan:#}"))
}

fn statuses(plan: &Value) -> Vec<(String, String, String)> {
    plan["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["app"].as_str().unwrap().to_string(),
                p["env"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn unchanged_fleet_renders_nothing_and_exits_0() {
    let f = fleet();
    for major in [3, 4] {
        let (v, out) = f.json(major, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(v["schemaVersion"], 1);
        assert_eq!(v["pairs"].as_array().unwrap().len(), 12);
        assert!(statuses(&v).iter().all(|s| s.2 == "unchanged"), "{v:#}");
        assert_eq!(v["stats"]["helmInvocations"], 0);
        assert_eq!(v["stats"]["skipped"], 12);
        assert!(v["helm"]
            .as_str()
            .unwrap()
            .starts_with(&format!("v{major}.")));
    }
}

#[test]
fn template_change_touches_every_app_and_is_grouped() {
    let f = fleet();
    f.edit("chart/templates/_helpers.tpl", |t| {
        t.replace(
            "app.kubernetes.io/part-of: appkit\n",
            "app.kubernetes.io/part-of: appkit\ntier: web\n",
        )
    });
    for major in [3, 4] {
        let (v, out) = f.json(major, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(statuses(&v).iter().all(|s| s.2 == "changed"), "{v:#}");
        let p = pair(&v, "app3", "prod");
        let dep = p["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"]["kind"] == "Deployment")
            .unwrap();
        assert_eq!(dep["change"], "changed");
        assert_eq!(dep["source"], "templates/deployment.yaml");
        assert!(dep["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|fc| fc["path"] == "metadata.labels.tier"
                && fc["new"] == "web"
                && fc.get("old").is_none()));
        assert!(p["causes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["file"] == "chart/templates/deployment.yaml"));

        // Human: one group for the six apps of each environment.
        let out = f.plan(major, &[]);
        let h = stdout(&out);
        assert!(
            h.contains("6 apps × dev (app1, app2, app3, app4, app5, app6):"),
            "{h}"
        );
        assert!(
            h.contains("~ Deployment {app}/{app}: + metadata.labels.tier: \"web\""),
            "{h}"
        );
        assert!(h.contains("12 changed"), "{h}");
        // Markdown: the table and a details block per app.
        let md = stdout(&f.plan(major, &["-o", "markdown"]));
        assert!(md.contains("| dev | 6 | 0 | 0 | 0 | 0 |"), "{md}");
        assert!(md.contains("<details><summary>app4 × prod: "), "{md}");
        // GitHub: one notice on each template that changed, counting the pairs.
        let gh = stdout(&f.plan(major, &["-o", "github"]));
        assert!(gh.contains("::notice file=chart/templates/deployment.yaml,title=appkit plan::changes what 12 app × environment pairs deploy"), "{gh}");
        // --exit-code gates on changes.
        assert_eq!(f.plan(major, &["--exit-code", "-q"]).status.code(), Some(1));
    }
}

#[test]
fn values_change_renders_only_that_apps_environments_and_the_cache_serves_a_replan() {
    let f = fleet();
    f.edit("repo/apps/app4/values.yaml", |t| {
        t.replace("port: 8080", "port: 8081")
    });
    let (v, out) = f.json(3, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let changed: Vec<_> = statuses(&v)
        .into_iter()
        .filter(|s| s.2 != "unchanged")
        .collect();
    assert_eq!(
        changed,
        [
            ("app4".into(), "dev".into(), "changed".into()),
            ("app4".into(), "prod".into(), "changed".into())
        ]
    );
    // Two sides × two environments, nothing else.
    assert_eq!(v["stats"]["helmInvocations"], 4);
    assert_eq!(v["stats"]["skipped"], 10);
    let p = pair(&v, "app4", "dev");
    assert_eq!(p["causes"][0]["file"], "repo/apps/app4/values.yaml");
    let svc = p["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"]["kind"] == "Service")
        .unwrap();
    assert_eq!(svc["fields"][0]["path"], "spec.ports[http].port");
    assert_eq!(svc["fields"][0]["old"], 8080);
    assert_eq!(svc["fields"][0]["new"], 8081);
    // A re-plan: every side from the cache, no Helm run; same plan.
    let (again, _) = f.json(3, &[]);
    assert_eq!(again["stats"]["helmInvocations"], 0);
    assert_eq!(again["stats"]["cacheHits"], 4);
    assert_eq!(again["pairs"], v["pairs"]);
    // Cache files are private.
    use std::os::unix::fs::PermissionsExt;
    let renders = f.cache.join("appkit/renders");
    let entries: Vec<_> = std::fs::read_dir(&renders).unwrap().flatten().collect();
    assert_eq!(entries.len(), 4);
    for e in entries {
        assert_eq!(e.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }
    let human = stdout(&f.plan(3, &[]));
    assert!(
        human.contains("app4 × dev: 2 objects changed, chart 0.2.0\n"),
        "{human}"
    );
    assert!(
        human.contains("spec.ports[http].port: 8080 → 8081"),
        "{human}"
    );
    let md = stdout(&f.plan(3, &["-o", "markdown"]));
    assert!(md.contains("| prod | 1 | 0 | 0 | 0 | 5 |"), "{md}");
    let gh = stdout(&f.plan(3, &["-o", "github"]));
    assert!(gh.contains("::notice file=repo/apps/app4/values.yaml,title=appkit plan::changes what 2 app × environment pairs deploy: app4 × dev, app4 × prod"), "{gh}");
    // --app narrows.
    let (only, _) = f.json(3, &["--app", "app1,app4", "-e", "prod"]);
    assert_eq!(
        statuses(&only),
        [
            ("app1".into(), "prod".into(), "unchanged".into()),
            ("app4".into(), "prod".into(), "changed".into())
        ]
    );
}

#[test]
fn chart_bump_in_one_environment_fetches_the_other_by_digest() {
    let f = fleet();
    // The published 0.2.0, as the lock records it, in a layout the plan fetches from.
    let layout = f.top.join("layout");
    let out = common::run(
        appkit()
            .arg("push")
            .arg(f.top.join("chart"))
            .arg(format!("oci-layout:{}", layout.display())),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lock = std::fs::read_to_string(f.repo.join("appkit.lock")).unwrap();
    assert!(
        stdout(&out).contains(
            lock.split("digest: \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        ),
        "the pushed 0.2.0 is the locked one: {}",
        stdout(&out)
    );
    f.edit("chart/Chart.yaml", |t| {
        t.replace("version: 0.2.0", "version: 0.3.0")
    });
    f.edit("chart/templates/_helpers.tpl", |t| {
        t.replace(
            "app.kubernetes.io/part-of: appkit\n",
            "app.kubernetes.io/part-of: appkit\ntier: web\n",
        )
    });
    f.edit("repo/appkit.yaml", |t| {
        let (head, tail) = t.split_once("  prod:\n").unwrap();
        format!(
            "{head}  prod:\n{}",
            tail.replacen("chartVersion: 0.2.0", "chartVersion: 0.3.0", 1)
        )
    });
    let from = format!("oci-layout:{}", layout.display());
    for major in [3, 4] {
        let (v, out) = f.json(major, &["--from", &from]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        for app in ["app1", "app2", "app3", "app4", "app5", "app6"] {
            assert_eq!(pair(&v, app, "dev")["status"], "unchanged", "{v:#}");
            let p = pair(&v, app, "prod");
            assert_eq!(p["status"], "changed");
            assert_eq!(p["old"]["chartVersion"], "0.2.0");
            assert_eq!(p["new"]["chartVersion"], "0.3.0");
            assert_eq!(p["new"]["chartSource"], "working tree");
            // helm.sh/chart and the new label.
            let text = p.to_string();
            assert!(
                text.contains("app-0.3.0") && text.contains("labels.tier"),
                "{text}"
            );
            let line = p["causes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["file"] == "repo/appkit.yaml")
                .unwrap_or_else(|| panic!("{p:#}"));
            assert!(line["line"].as_u64().unwrap() > 1);
        }
        // dev's new side is the locked 0.2.0 (fetched from the layout), not the tree's 0.3.0.
        assert!(pair(&v, "app1", "dev")["new"]["chartSource"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        // --chart-preview: the working-tree chart for dev too.
        let (pv, _) = f.json(major, &["--from", &from, "--chart-preview"]);
        assert_eq!(pair(&pv, "app1", "dev")["status"], "changed", "{pv:#}");
        let human = stdout(&f.plan(major, &["--from", &from]));
        assert!(
            human.contains("chart 0.2.0 (base tree) → 0.3.0 (working tree)"),
            "{human}"
        );
        let md = stdout(&f.plan(major, &["--from", &from, "-o", "markdown"]));
        assert!(
            md.contains("| prod | 6 | 0 | 0 | 0 | 0 |")
                && md.contains("| dev | 0 | 0 | 0 | 0 | 6 |"),
            "{md}"
        );
    }
    // Without --from the lock's registry (harbor.example.com) is asked: no plan (exit 2) when it
    // cannot be reached — not a silent "unchanged".
    let out = f.plan(3, &["-e", "dev", "--chart-preview"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "preview needs no registry: {}",
        stderr(&out)
    );
    // A digest the layout does not have: those pairs fail (exit 1), naming app, env and side.
    let empty = f.top.join("empty-layout");
    let out = common::run(
        appkit()
            .arg("push")
            .arg(f.top.join("chart"))
            .arg(format!("oci-layout:{}", empty.display())),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // (The cache holds charts by digest, verified when fetched: an empty cache must fetch.)
    std::fs::remove_dir_all(&f.cache).unwrap();
    let (v, out) = f.json(
        3,
        &[
            "--from",
            &format!("oci-layout:{}", empty.display()),
            "-e",
            "dev",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let p = pair(&v, "app2", "dev");
    assert_eq!(p["status"], "failed");
    assert_eq!(p["errors"][0]["side"], "new");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{p:#}"
    );
}

#[test]
fn app_added_and_removed() {
    let f = fleet();
    std::fs::rename(f.repo.join("apps/app6"), f.repo.join("apps/app7")).unwrap();
    for file in ["values.yaml", "values.dev.yaml", "values.prod.yaml"] {
        let p = f.repo.join("apps/app7").join(file);
        let t = std::fs::read_to_string(&p).unwrap().replace("app6", "app7");
        std::fs::write(p, t).unwrap();
    }
    for major in [3, 4] {
        let (v, out) = f.json(major, &["-e", "dev"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let added = pair(&v, "app7", "dev");
        assert_eq!(added["status"], "added");
        assert!(added.get("old").is_none());
        assert!(added["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["change"] == "added"));
        assert!(added["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"]["kind"] == "Deployment" && o["id"]["name"] == "app7"));
        let removed = pair(&v, "app6", "dev");
        assert_eq!(removed["status"], "removed");
        assert!(removed["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["change"] == "removed"));
        let h = stdout(&f.plan(major, &["-e", "dev"]));
        assert!(h.contains("1 added, 1 removed"), "{h}");
        assert!(h.contains("app7 × dev: added"), "{h}");
        assert!(
            h.contains("    + Deployment app7/app7 (templates/deployment.yaml)"),
            "{h}"
        );
        assert!(h.contains("    - Deployment app6/app6"), "{h}");
        let md = stdout(&f.plan(major, &["-o", "markdown", "-e", "dev"]));
        assert!(md.contains("| dev | 0 | 1 | 1 | 0 | 5 |"), "{md}");
    }
}

#[test]
fn a_render_failure_is_reported_with_helms_error_and_hides_no_other_result() {
    let f = fleet();
    std::fs::write(
        f.top.join("chart/templates/guard.yaml"),
        "{{- if eq .Release.Name \"app3\" }}{{ fail \"app3 cannot be rendered: guard\" }}{{ end }}\n",
    )
    .unwrap();
    f.edit("repo/apps/app5/values.yaml", |t| {
        t.replace("port: 8080", "port: 8082")
    });
    for major in [3, 4] {
        let (v, out) = f.json(major, &[]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let p = pair(&v, "app3", "prod");
        assert_eq!(p["status"], "failed");
        assert_eq!(p["errors"][0]["side"], "new");
        let msg = p["errors"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains("app3 cannot be rendered: guard"),
            "Helm's own error: {msg}"
        );
        // The others are still planned: app5's change is there.
        assert_eq!(pair(&v, "app5", "dev")["status"], "changed");
        assert_eq!(pair(&v, "app1", "dev")["status"], "unchanged");
        let h = f.plan(major, &[]);
        assert_eq!(h.status.code(), Some(1));
        let h = stdout(&h);
        assert!(
            h.contains("Failed to render:\n  app3 × dev, new side (working tree):"),
            "{h}"
        );
        assert!(h.contains("app3 cannot be rendered: guard"), "{h}");
        let md = stdout(&f.plan(major, &["-o", "markdown"]));
        assert!(md.contains("**app3 × prod** failed to render"), "{md}");
        let gh = stdout(&f.plan(major, &["-o", "github"]));
        assert!(
            gh.contains("::error ") && gh.contains("app3 × dev%3A")
                || gh.contains("app3 × dev: the new side"),
            "{gh}"
        );
    }
}

#[test]
fn secrets_in_rendered_secrets_are_masked_in_every_output_and_the_cache() {
    let f = fleet();
    let secret = |v: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{{{ .Release.Name }}}}-db\nstringData:\n  password: {v}\n  mode: plain-setting\n")
    };
    std::fs::write(
        f.top.join("chart/templates/secret.yaml"),
        secret("hunter2-old-Zq81"),
    )
    .unwrap();
    f.commit();
    std::fs::write(
        f.top.join("chart/templates/secret.yaml"),
        secret("hunter2-new-Xk42"),
    )
    .unwrap();
    let (v, out) = f.json(3, &["-e", "dev", "--app", "app1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = pair(&v, "app1", "dev");
    let s = p["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"]["kind"] == "Secret")
        .unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(
        s["fields"].as_array().unwrap().len(),
        1,
        "the password changed, nothing else: {s:#}"
    );
    assert_eq!(s["fields"][0]["path"], "stringData.password");
    let (old, new) = (
        s["fields"][0]["old"].as_str().unwrap(),
        s["fields"][0]["new"].as_str().unwrap(),
    );
    assert!(old.starts_with("(masked, 16 bytes, #") && new.starts_with("(masked, 16 bytes, #"));
    assert_ne!(old, new, "a changed secret shows as changed");
    let mut all = stdout(&out) + &stderr(&out);
    for o in ["human", "markdown", "github"] {
        let out = f.plan(3, &["-e", "dev", "--app", "app1", "-o", o]);
        all += &stdout(&out);
        all += &stderr(&out);
    }
    for entry in walk(&f.cache) {
        all += &String::from_utf8_lossy(&std::fs::read(entry).unwrap());
    }
    for leaked in ["hunter2", "Zq81", "Xk42"] {
        assert!(!all.contains(leaked), "{leaked} leaked");
    }
    // Every value of a Secret's data is masked (not only those named like a credential).
    assert!(!all.contains("plain-setting"));
    assert!(
        all.contains("~ Secret app1/app1-db (templates/secret.yaml)"),
        "{all}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn shards_merge_back_into_the_full_plan() {
    let f = fleet();
    f.edit("repo/apps/app2/values.yaml", |t| {
        t.replacen("\nport: ", "\nport: 1", 1)
    });
    f.edit("repo/apps/app5/values.yaml", |t| {
        t.replace("port: 8080", "port: 8083")
    });
    let (full, _) = f.json(3, &[]);
    let dir = f.top.join("shards");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    let mut counts = Vec::new();
    for k in 1..=2 {
        let (v, out) = f.json(3, &["--shard", &format!("{k}/2")]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(v["shard"], format!("{k}/2"));
        counts.push(v["pairs"].as_array().unwrap().len());
        let p = dir.join(format!("plan-{k}.json"));
        std::fs::write(&p, stdout(&out)).unwrap();
        files.push(p);
    }
    assert_eq!(counts, [6, 6]);
    let merged = |fmt: &str| {
        let mut c = appkit();
        c.current_dir(&f.repo)
            .args(["plan", "-o", fmt, "--merge"])
            .args(&files);
        common::run(&mut c)
    };
    let out = merged("json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let m: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        m["pairs"], full["pairs"],
        "the halves join into the full plan"
    );
    assert!(m.get("shard").is_none());
    let md = stdout(&merged("markdown"));
    assert!(md.contains("| dev | 2 | 0 | 0 | 0 | 4 |"), "{md}");
    // The same file twice, or not a plan: refused (exit 1), naming the file.
    let mut c = appkit();
    c.current_dir(&f.repo)
        .args(["plan", "--merge"])
        .arg(&files[0])
        .arg(&files[0]);
    let out = common::run(&mut c);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("give each shard once"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("bad.json"), "{\"pairs\": 3}").unwrap();
    let mut c = appkit();
    c.current_dir(&f.repo)
        .args(["plan", "--merge"])
        .arg(dir.join("bad.json"));
    let out = common::run(&mut c);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad.json:1:"), "{}", stderr(&out));
}

#[test]
fn no_plan_without_helm_git_base_or_config() {
    let f = fleet();
    // No Helm.
    let mut c = appkit();
    c.current_dir(&f.repo)
        .env("XDG_CACHE_HOME", &f.cache)
        .env("HELM_BIN", "/nonexistent/helm")
        .arg("plan");
    let out = common::run(&mut c);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/helm (from $HELM_BIN)"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--helm PATH"));
    // No such base.
    let out = f.plan(3, &["--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--base no-such-branch: no such revision"),
        "{}",
        stderr(&out)
    );
    // A base without appkit.yaml.
    git(&f.top, &["checkout", "-q", "--orphan", "empty"]);
    git(&f.top, &["rm", "-rq", "--cached", "."]);
    std::fs::write(f.top.join("README"), "x").unwrap();
    git(&f.top, &["add", "README"]);
    git(&f.top, &["commit", "-qm", "empty"]);
    let out = f.plan(3, &["--base", "empty"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has no repo/appkit.yaml"),
        "{}",
        stderr(&out)
    );
    // -o markdown is plan's alone.
    let mut c = appkit();
    c.current_dir(&f.repo).args(["validate", "-o", "markdown"]);
    let out = common::run(&mut c);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`-o markdown` is not an output of `helm appkit validate`"));
}

#[test]
fn a_killed_plan_leaves_no_partial_cache_entry_and_the_next_run_sweeps_its_files() {
    let f = fleet();
    f.edit("chart/templates/_helpers.tpl", |t| {
        t.replace(
            "app.kubernetes.io/part-of: appkit\n",
            "app.kubernetes.io/part-of: appkit\ntier: web\n",
        )
    });
    let mut c = appkit();
    c.current_dir(&f.repo)
        .env("XDG_CACHE_HOME", &f.cache)
        .args(["plan", "-q", "--jobs", "2", "--helm"])
        .arg(helm_bin(3))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    // Kill it once some renders are stored and others are still running.
    let renders = f.cache.join("appkit/renders");
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(20) {
        let n = std::fs::read_dir(&renders).map_or(0, |d| d.count());
        if n >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for e in walk(&renders) {
        let name = e.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with(".appkit-tmp-") {
            continue; // a temp file, never read as an entry
        }
        assert!(name.ends_with(".json"), "{name}");
        let v: Value = serde_json::from_slice(&std::fs::read(&e).unwrap())
            .unwrap_or_else(|err| panic!("a partial entry {name}: {err}"));
        assert!(v["objects"].is_array());
    }
    // The next run completes the plan and sweeps what the killed one left (its base revision).
    let (v, out) = f.json(3, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(statuses(&v).iter().all(|s| s.2 == "changed"));
    let leftovers: Vec<PathBuf> = walk(&f.cache.join("appkit"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".appkit-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let fresh = f.top.join("fresh-cache");
    let mut c = appkit();
    c.current_dir(&f.repo)
        .env("XDG_CACHE_HOME", &fresh)
        .args(["plan", "-o", "json", "--helm"])
        .arg(helm_bin(3));
    let clean: Value = serde_json::from_str(&stdout(&common::run(&mut c))).unwrap();
    let strip = |v: &Value| {
        let mut v = v["pairs"].clone();
        for p in v.as_array_mut().unwrap() {
            // Masked values carry each cache's own key: compare what is not masked.
            p.as_object_mut().unwrap().remove("objects");
        }
        v
    };
    assert_eq!(strip(&v), strip(&clean));
}

#[test]
fn flux_common_metadata_is_rendered_as_helm_controller_applies_it() {
    let f = fleet();
    f.edit("repo/appkit.yaml", |t| {
        t.replacen(
            "flux:\n",
            "flux:\n  commonMetadata:\n    labels: {owner: platform}\n",
            1,
        )
    });
    let (v, out) = f.json(3, &["-e", "dev", "--app", "app2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = pair(&v, "app2", "dev");
    assert_eq!(p["status"], "changed");
    let objects = p["objects"].as_array().unwrap();
    assert!(objects.len() >= 5, "{p:#}");
    for o in objects {
        assert_eq!(
            o["fields"],
            serde_json::json!([{"path": "metadata.labels.owner", "new": "platform"}]),
            "{o:#}"
        );
    }
    assert_eq!(p["causes"][0]["file"], "repo/appkit.yaml");
}

#[test]
fn two_plans_at_once_share_the_cache_safely() {
    let f = fleet();
    f.edit("chart/templates/_helpers.tpl", |t| {
        t.replace(
            "app.kubernetes.io/part-of: appkit\n",
            "app.kubernetes.io/part-of: appkit\ntier: web\n",
        )
    });
    let spawn = || {
        let mut c = appkit();
        c.current_dir(&f.repo)
            .env("XDG_CACHE_HOME", &f.cache)
            .args(["plan", "-o", "json", "--jobs", "2", "--helm"])
            .arg(helm_bin(3))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    let (va, vb): (Value, Value) = (
        serde_json::from_str(&stdout(&a)).unwrap(),
        serde_json::from_str(&stdout(&b)).unwrap(),
    );
    assert_eq!(va["pairs"], vb["pairs"]);
    assert!(statuses(&va).iter().all(|s| s.2 == "changed"));
    // Every entry is whole, and a third run is served from the cache alone.
    let (vc, _) = f.json(3, &[]);
    assert_eq!(vc["stats"]["helmInvocations"], 0);
    assert_eq!(vc["pairs"], va["pairs"]);
}
