//! `-o json` is an interface (issue 17): every command prints one object with `schemaVersion`,
//! and its shape is the one `docs/json-output.md` shows. Each command runs for real (on a copy of
//! the example platform, an OCI layout as the registry); the set of key paths and types of its
//! output is compared with the example's: a key the doc does not show, or a documented key that
//! is missing and not listed as optional, fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::common::{self, appkit, example_platform, run, stderr, stdout};

/// Paths whose content is data, not shape (maps keyed by the user's names, merged values).
const OPAQUE: [&str; 9] = [
    "values[].values",
    "apps[].settings",
    "apps[].files[]",
    "config",
    "byHand",
    "validation",
    "environments[].files[].releases[]",
    "environments[].versions.pins",
    "plan",
];

/// `path: type` for every key of `v` (arrays: `[]`; `null` matches any type, shown as `null`).
fn shape(v: &Value, path: &str, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    let ty = match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !path.is_empty() {
        out.entry(path.to_string()).or_default().insert(ty);
    }
    if OPAQUE.contains(&path) {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                shape(c, &p, out);
            }
        }
        Value::Array(items) => {
            for c in items {
                shape(c, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

fn shape_of(v: &Value) -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut out = BTreeMap::new();
    shape(v, "", &mut out);
    out
}

/// The doc's sections: (heading, example, optional paths).
fn documented() -> BTreeMap<String, (Value, BTreeSet<String>)> {
    let text = std::fs::read_to_string(common::repo_root().join("docs/json-output.md")).unwrap();
    let mut out = BTreeMap::new();
    for section in text.split("\n## ").skip(1) {
        let heading = section.lines().next().unwrap().to_string();
        let start = section
            .find("```json\n")
            .unwrap_or_else(|| panic!("docs/json-output.md `{heading}`: no json example"))
            + 8;
        let end = start + section[start..].find("\n```").unwrap();
        let example: Value = serde_json::from_str(&section[start..end])
            .unwrap_or_else(|e| panic!("docs/json-output.md `{heading}`: {e}"));
        let mut optional = BTreeSet::new();
        if let Some(i) = section.find("\nOptional: ") {
            let line_end = section[i + 1..]
                .find("\n\n")
                .map_or(section.len(), |j| i + 1 + j);
            for part in section[i..line_end].split('`').skip(1).step_by(2) {
                optional.insert(part.to_string());
            }
        }
        out.insert(heading, (example, optional));
    }
    out
}

/// Run `args` in `repo` with `-o json` and parse the one object it prints.
fn json_of(repo: &Path, args: &[&str], code: i32) -> Value {
    let out = run(appkit().current_dir(repo).args(["-o", "json"]).args(args));
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}):\n{}", stdout(&out)))
}

#[test]
fn every_json_output_has_the_documented_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let layout = format!("oci-layout:{}", tmp.path().join("layout").display());
    let pkg = tmp.path().join("pkg");
    let pulled = tmp.path().join("pulled");
    std::fs::create_dir(&pulled).unwrap();
    let pkg_s = pkg.display().to_string();
    let pulled_s = pulled.display().to_string();
    let app_ref = format!("{layout}/app");
    let tgz = pkg.join("app-0.2.0.tgz").display().to_string();

    let mut outputs: Vec<(&str, Value)> = vec![
        ("`package`", json_of(&repo, &["package", "-d", &pkg_s], 0)),
        ("`push`", json_of(&repo, &["push", &tgz, &layout], 0)),
        (
            "`pull`",
            json_of(&repo, &["pull", &app_ref, "-d", &pulled_s], 0),
        ),
        ("`versions`", json_of(&repo, &["versions", &app_ref], 0)),
        (
            "`publish`",
            json_of(&repo, &["publish", "--to", &layout], 0),
        ),
        (
            "`render` (and `render --check`)",
            json_of(&repo, &["render"], 0),
        ),
        ("`report`", json_of(&repo, &["report"], 0)),
        ("`validate`", json_of(&repo, &["validate"], 0)),
        (
            "`validate`",
            json_of(
                &repo,
                &["validate", "--print-values", "-e", "dev", "apps/app2"],
                0,
            ),
        ),
        (
            "`validate --list-rules`",
            json_of(&repo, &["validate", "--list-rules"], 0),
        ),
        ("`docs`", json_of(&repo, &["docs", "--check"], 0)),
        (
            "`import`",
            json_of(
                &repo,
                &[
                    "import",
                    "--dry-run",
                    "clusters/dev/apps/app1.yaml",
                    "clusters/dev/apps/sources.yaml",
                ],
                0,
            ),
        ),
        ("`version`", json_of(&repo, &["version"], 0)),
        (
            "`promote`",
            json_of(&repo, &["promote", "--from", "dev", "--to", "prod"], 0),
        ),
        (
            "Any command, failed",
            json_of(&repo, &["render", "--env", "nope"], 2),
        ),
    ];
    // Without -o json, --print-values prints its own document.
    let out = run(appkit().current_dir(&repo).args([
        "validate",
        "--print-values",
        "-e",
        "dev",
        "apps/app2",
    ]));
    outputs.push((
        "`validate --print-values` (without `-o json`)",
        serde_json::from_str(&stdout(&out)).unwrap(),
    ));
    // Errors (with positions, app and env), drift with diffs, a new app.
    let values = repo.join("apps/app1/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    std::fs::write(&values, text.replace("port: 8080", "port: many")).unwrap();
    outputs.push(("`validate`", json_of(&repo, &["validate", "-e", "dev"], 1)));
    std::fs::write(&values, text.replace("value: small", "value: large")).unwrap();
    outputs.push((
        "`render` (and `render --check`)",
        json_of(&repo, &["render", "--check"], 1),
    ));
    outputs.push((
        "`new`",
        json_of(
            &repo,
            &["new", "app9", "--image", "harbor.example.com/apps/app9@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            0,
        ),
    ));
    // An invalid appkit.yaml: the error document carries its diagnostics.
    let cfg = repo.join("appkit.yaml");
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{good}\nbogus: 1\n")).unwrap();
    outputs.push((
        "`render` (and `render --check`)",
        json_of(&repo, &["render"], 1),
    ));
    outputs.push((
        "Any command, failed",
        json_of(
            &repo,
            &["new", "app8", "--image", "harbor.example.com/apps/app8@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            1,
        ),
    ));
    // promote (a dry run): dev runs 0.3.0 and pins app1 at 0.1.0; prod holds app2 back at
    // 0.1.0 and pins app1 at 0.3.0 (removed: it is prod's new version).
    let lock_path = repo.join("appkit.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let mut more = lock.clone();
    for (v, c) in [("0.1.0", '1'), ("0.3.0", '3')] {
        more.push_str(&format!(
            "  \"{v}\":\n    digest: \"sha256:{}\"\n    tag: \"{v}\"\n",
            c.to_string().repeat(64)
        ));
    }
    std::fs::write(&lock_path, more).unwrap();
    let promoted = good
        .replace(
            "    chartVersion: 0.2.0\n  prod:",
            "    chartVersion: 0.3.0\n    pins:\n      app1: 0.1.0\n  prod:",
        )
        .replace(
            "    promoted: true\n",
            "    promoted: true\n    pins:\n      app1: 0.3.0\n      app2: 0.1.0\n",
        );
    assert_ne!(promoted, good);
    std::fs::write(&cfg, &promoted).unwrap();
    outputs.push((
        "`promote`",
        json_of(
            &repo,
            &["promote", "--from", "dev", "--to", "prod", "--dry-run"],
            0,
        ),
    ));
    std::fs::write(&lock_path, lock).unwrap();
    std::fs::write(&cfg, good).unwrap();
    // set-image: an overlay created from the pack report fixture (then removed), and the same
    // digest again (nothing to do).
    let report = common::repo_root().join("tests/fixtures/pack/report.toml");
    let report = report.display().to_string();
    let set_image = [
        "set-image",
        "app1",
        "-e",
        "dev",
        "--from-pack-report",
        &report,
    ];
    let overlay = repo.join("apps/app1/values.dev.yaml");
    let overlay_text = std::fs::read_to_string(&overlay).unwrap();
    outputs.push(("`set-image`", json_of(&repo, &set_image, 0)));
    outputs.push(("`set-image`", json_of(&repo, &set_image, 0)));
    std::fs::write(&overlay, overlay_text).unwrap();
    // plan: in a git repository of the copy, one app changed (values.yaml was edited above) and
    // one that fails to render on the new side; then the two shards merged.
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "x",
        ],
    ] {
        assert!(std::process::Command::new("git")
            .arg("-C")
            .arg(tmp.path())
            .args(args)
            .status()
            .unwrap()
            .success());
    }
    std::fs::write(&values, text.replace("port: 8080", "port: 8081")).unwrap();
    let app2 = repo.join("apps/app2/values.yaml");
    let app2_text = std::fs::read_to_string(&app2).unwrap();
    std::fs::write(&app2, app2_text.replace("port: 3000", "port: 0")).unwrap();
    let helm = common::helm_bin(3).display().to_string();
    let cache = tmp.path().join("cache");
    let plan = |args: &[&str], code: i32| {
        let out = run(appkit()
            .current_dir(&repo)
            .env("XDG_CACHE_HOME", &cache)
            .args(["-o", "json", "plan", "--helm", &helm])
            .args(args));
        assert_eq!(
            out.status.code(),
            Some(code),
            "plan {args:?}: {}",
            stderr(&out)
        );
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        (v, stdout(&out))
    };
    let (full, _) = plan(&[], 1);
    outputs.push(("`plan` (and `plan --merge`)", full));
    let (shard, text1) = plan(&["--shard", "1/2"], 1);
    outputs.push(("`plan` (and `plan --merge`)", shard));
    let shard_file = tmp.path().join("plan-1.json");
    std::fs::write(&shard_file, text1).unwrap();
    outputs.push((
        "`plan` (and `plan --merge`)",
        json_of(
            &repo,
            &["plan", "--merge", &shard_file.display().to_string()],
            1,
        ),
    ));

    let docs = documented();
    let mut seen: BTreeMap<&str, BTreeMap<String, BTreeSet<&'static str>>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (heading, v) in &outputs {
        assert_eq!(
            v.as_object()
                .and_then(|m| m.keys().next())
                .map(String::as_str),
            Some("schemaVersion"),
            "{heading}: the first key is schemaVersion:\n{v:#}"
        );
        assert_eq!(v["schemaVersion"], 1, "{heading}");
        let Some((example, _)) = docs.get(*heading) else {
            panic!("docs/json-output.md has no section `## {heading}`");
        };
        let doc = shape_of(example);
        let actual = shape_of(v);
        for (path, types) in &actual {
            match doc.get(path) {
                None => problems.push(format!(
                    "{heading}: `{path}` ({types:?}) is not in docs/json-output.md"
                )),
                Some(d) => {
                    fn typed(t: &BTreeSet<&'static str>) -> BTreeSet<&'static str> {
                        t.iter().copied().filter(|t| *t != "null").collect()
                    }
                    let (a, d) = (typed(types), typed(d));
                    if !a.is_empty() && !d.is_empty() && a.is_disjoint(&d) {
                        problems.push(format!(
                            "{heading}: `{path}` is {a:?}; docs/json-output.md shows {d:?}"
                        ));
                    }
                }
            }
        }
        let entry = seen.entry(heading).or_default();
        for (p, t) in actual {
            entry.entry(p).or_default().extend(t);
        }
    }
    // Every documented key appears in some run of its command, unless it is optional.
    for (heading, (example, optional)) in &docs {
        let Some(actual) = seen.get(heading.as_str()) else {
            problems.push(format!(
                "docs/json-output.md `## {heading}`: no test runs it"
            ));
            continue;
        };
        for path in shape_of(example).keys() {
            let covered = optional.iter().any(|o| {
                path == o
                    || path.starts_with(&format!("{o}."))
                    || path.starts_with(&format!("{o}["))
            });
            if !actual.contains_key(path) && !covered {
                problems.push(format!(
                    "{heading}: docs/json-output.md shows `{path}`, the output has none (mark it optional, or the output lost it)"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
