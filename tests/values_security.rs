//! Security and concurrency issue 14, items 6, 7, 12 and 13, through the real binary: each test
//! builds the hostile input from a copy of the example platform (`example_platform`) and checks
//! the exit code, the specific message, that no secret byte appears in any output format (human
//! on stderr, `-o json` and `-o github` on stdout), and — measured with `/usr/bin/time` under
//! `timeout` (`crate::hostile::measure_with`; a run that was not measured fails) — CPU time,
//! wall time and peak memory.
//!
//! Bounds (debug build, what `cargo test` runs; a release build is about 10× faster): the CPU time
//! of a run may be at most 2× what it took when measured (the published numbers in SECURITY.md),
//! the wall time at most 8× that (the test machine is shared by several builders), the peak RSS
//! at most [`MAX_RSS_KB`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{appkit, example_platform};
use crate::hostile::{measure_with, Run};

/// Published peak RSS of the largest case (the 670 KB file, 98 MiB in a debug build) + 40 %.
const MAX_RSS_KB: u64 = 140 * 1024;
/// Stated headroom on the measured CPU time, and on wall time over it (shared machine).
const CPU_HEADROOM: f64 = 2.0;
const WALL_HEADROOM: f64 = 8.0;

/// `measured` seconds of CPU in a debug build (release: a third, at least 0.1 s — measured: the
/// 40k-key case takes 1.9 s in a debug build and 0.48 s in a release build).
fn budget(measured: f64) -> f64 {
    if cfg!(debug_assertions) {
        measured
    } else {
        (measured / 3.0).max(0.1)
    }
}

/// Run measured; assert the exit code, no panic, the time bound (`secs` of CPU as published,
/// with the headroom above) and the memory bound.
fn bounded(case: &str, cmd: &Command, code: i32, secs: f64, needle: &str) -> Run {
    let r = measure_with(case, cmd, Some(needle));
    let out = format!("{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.code,
        Some(code),
        "{case}: exit {:?}\n{}",
        r.code,
        clip(&out)
    );
    assert!(!out.contains("panicked"), "{case}: {}", clip(&out));
    assert!(
        out.contains(needle),
        "{case}: expected {needle:?} in the output:\n{}",
        clip(&out)
    );
    let secs = budget(secs);
    assert!(
        r.cpu_secs <= secs * CPU_HEADROOM,
        "{case}: {:.2} s of CPU; published {secs} s (allowed {:.2} s)",
        r.cpu_secs,
        secs * CPU_HEADROOM
    );
    assert!(
        r.secs <= secs * WALL_HEADROOM,
        "{case}: took {:.2} s; published {secs} s (allowed on a loaded machine {:.2} s)",
        r.secs,
        secs * WALL_HEADROOM
    );
    assert!(
        r.rss_kb <= MAX_RSS_KB,
        "{case}: peak RSS {:.1} MiB (allowed {:.1} MiB)",
        r.rss_kb as f64 / 1024.0,
        MAX_RSS_KB as f64 / 1024.0
    );
    r
}

fn clip(s: &str) -> String {
    s.chars().take(4000).collect()
}

/// `args` run in `repo` once per output format: (format, command).
fn in_every_format(repo: &Path, args: &[&str]) -> Vec<(&'static str, Command)> {
    ["human", "json", "github"]
        .into_iter()
        .map(|o| {
            let mut c = appkit();
            c.current_dir(repo).args(["-o", o]).args(args);
            (o, c)
        })
        .collect()
}

/// No secret (nor a long enough piece of it) in stdout or stderr.
fn assert_no_secret(case: &str, r: &Run, secrets: &[&str]) {
    for s in secrets {
        for out in [&r.stdout, &r.stderr] {
            assert!(
                !out.contains(s),
                "{case}: the secret {s:?} was printed:\n{}",
                clip(out)
            );
            // Any 12 bytes of it (a partial mask would still leak).
            for w in s.as_bytes().windows(12) {
                let w = std::str::from_utf8(w).unwrap_or("");
                assert!(
                    w.is_empty() || !out.contains(w),
                    "{case}: part of the secret {s:?} ({w:?}) was printed:\n{}",
                    clip(out)
                );
            }
        }
    }
}

/// The runner's Docker config, outside the repo, with an `auth` and a `token`.
const DOCKER_AUTH: &str = "YXBwa2l0LXVzZXI6UzNjcmV0UGFzc3dvcmQ=";
const DOCKER_TOKEN: &str = "appkit-registry-token-5f4e3d2c1b";

fn docker_config(tmp: &Path) -> PathBuf {
    let dir = tmp.join("home/.docker");
    fs::create_dir_all(&dir).unwrap();
    let p = dir.join("config.json");
    fs::write(
        &p,
        format!("{{\"auths\": {{\"ghcr.io\": {{\"auth\": \"{DOCKER_AUTH}\"}}}}, \"token\": \"{DOCKER_TOKEN}\"}}\n"),
    )
    .unwrap();
    p
}

fn link(target: &Path, at: &Path) {
    let _ = fs::remove_file(at);
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// Item 6: a link out of the repo is refused unread — values.yaml, an app directory, a component
/// manifest, a template override, appkit.lock and appkit.yaml — in every format and command;
/// links that stay inside work; a file named on the command line is the user's choice.
#[test]
fn links_out_of_the_platform_repo_are_refused_without_reading_them() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let config = docker_config(tmp.path());
    let secrets = [DOCKER_AUTH, DOCKER_TOKEN, "S3cretPassword"];
    let outside = tmp.path().join("home/evil");
    fs::create_dir_all(&outside).unwrap();
    fs::copy(&config, outside.join("values.yaml")).unwrap();
    let layout = format!("oci-layout:{}", tmp.path().join("layout").display());
    let refused = |case: &str, cmd: &Command, needle: &str| {
        let r = bounded(case, cmd, 1, 0.25, needle);
        assert!(
            r.stderr.contains("error[symlink-escapes]") || r.stdout.contains("symlink-escapes"),
            "{case}: {}",
            clip(&r.stderr)
        );
        assert!(
            format!("{}{}", r.stdout, r.stderr).contains("it was not read"),
            "{case}"
        );
        assert_no_secret(case, &r, &secrets);
    };

    // apps/app1/values.yaml → ~/.docker/config.json
    let values = repo.join("apps/app1/values.yaml");
    let good = fs::read(&values).unwrap();
    link(&config, &values);
    let needle = format!(
        "apps/app1/values.yaml is a symbolic link to {}, outside apps",
        fs::canonicalize(&config).unwrap().display()
    );
    for (o, c) in in_every_format(&repo, &["validate"]) {
        refused(
            &format!("values.yaml linked out (validate -o {o})"),
            &c,
            &needle,
        );
    }
    for args in [
        &["validate", "apps/app1"][..],
        &["render", "--check"],
        &["render"],
        &["publish", "--to", &layout],
    ] {
        let mut c = appkit();
        c.current_dir(&repo).args(args);
        let label = args[..args.len().min(2)].join(" ");
        refused(&format!("values.yaml linked out ({label})"), &c, &needle);
    }
    assert!(
        !tmp.path().join("layout").exists(),
        "publish wrote to the layout"
    );
    // Named on the command line: the user's choice (read; its credentials are still masked).
    let mut c = appkit();
    c.current_dir(&repo)
        .args(["validate", "apps/app1/values.yaml"]);
    let r = measure_with("values.yaml linked out, named (validate FILE)", &c, None);
    assert!(!r.stderr.contains("symlink-escapes"), "{}", r.stderr);
    assert!(r.stderr.contains("unknown key `auths`"), "{}", r.stderr);
    assert_no_secret("values.yaml linked out, named", &r, &secrets);
    fs::remove_file(&values).unwrap();
    fs::write(&values, &good).unwrap();

    // A directory on the way: apps/app3 → a directory outside with a values.yaml.
    link(&outside, &repo.join("apps/app3"));
    for (o, c) in in_every_format(&repo, &["validate"]) {
        refused(
            &format!("app directory linked out (validate -o {o})"),
            &c,
            "apps/app3/values.yaml is under apps/app3, a symbolic link to",
        );
    }
    let mut c = appkit();
    c.current_dir(&repo).args(["render", "--check"]);
    refused(
        "app directory linked out (render)",
        &c,
        "apps/app3, a symbolic link",
    );
    fs::remove_file(repo.join("apps/app3")).unwrap();

    // A component manifest.
    let component = repo.join("platform/components/evil.yaml");
    link(&config, &component);
    for (o, c) in in_every_format(&repo, &["validate"]) {
        refused(
            &format!("component linked out (validate -o {o})"),
            &c,
            "platform/components/evil.yaml is a symbolic link to",
        );
    }
    fs::remove_file(&component).unwrap();

    // A template override (`templates:` of appkit.yaml), read by `new` and `docs`.
    let yaml = repo.join("appkit.yaml");
    let config_text = fs::read_to_string(&yaml).unwrap();
    fs::create_dir_all(repo.join("tpl")).unwrap();
    fs::write(&yaml, format!("{config_text}\ntemplates: tpl\n")).unwrap();
    link(&config, &repo.join("tpl/values.yaml.tera"));
    link(&config, &repo.join("tpl/README.md.tera"));
    let digest = format!("sha256:{}", "3f".repeat(32));
    for (label, args) in [
        (
            "new",
            vec!["new", "app9", "--image"]
                .into_iter()
                .map(String::from)
                .chain([format!("harbor.example.com/apps/app9@{digest}")])
                .collect::<Vec<_>>(),
        ),
        ("docs", vec!["docs".to_string(), "--check".to_string()]),
    ] {
        let mut c = appkit();
        c.current_dir(&repo).args(&args);
        refused(
            &format!("template linked out ({label})"),
            &c,
            "a symbolic link to",
        );
    }
    assert!(!repo.join("apps/app9").exists());
    fs::write(&yaml, &config_text).unwrap();

    // appkit.lock and appkit.yaml themselves.
    let lock = repo.join("appkit.lock");
    let lock_text = fs::read(&lock).unwrap();
    link(&config, &lock);
    for args in [&["render", "--check"][..], &["validate"]] {
        let mut c = appkit();
        c.current_dir(&repo).args(args);
        refused(
            &format!("appkit.lock linked out ({})", args[0]),
            &c,
            "appkit.lock is a symbolic link to",
        );
    }
    fs::remove_file(&lock).unwrap();
    fs::write(&lock, &lock_text).unwrap();
    link(&config, &yaml);
    for (label, args) in [
        ("found", &["validate"][..]),
        ("--config", &["--config", "appkit.yaml", "validate"]),
    ] {
        let mut c = appkit();
        c.current_dir(&repo).args(args);
        refused(
            &format!("appkit.yaml linked out ({label})"),
            &c,
            "appkit.yaml is a symbolic link to",
        );
    }
    fs::remove_file(&yaml).unwrap();
    fs::write(&yaml, &config_text).unwrap();

    // Links that stay inside are fine: app2's values.yaml in a hidden directory of apps/, the
    // lock in a subdirectory of the repo.
    let shared = repo.join("apps/.shared");
    fs::create_dir_all(&shared).unwrap();
    fs::rename(repo.join("apps/app2/values.yaml"), shared.join("app2.yaml")).unwrap();
    link(
        Path::new("../.shared/app2.yaml"),
        &repo.join("apps/app2/values.yaml"),
    );
    fs::create_dir_all(repo.join("state")).unwrap();
    fs::rename(&lock, repo.join("state/appkit.lock")).unwrap();
    link(Path::new("state/appkit.lock"), &lock);
    for args in [&["validate"][..], &["render", "--check"]] {
        let mut c = appkit();
        c.current_dir(&repo).args(args);
        let r = bounded(
            &format!("links inside the repo ({})", args[0]),
            &c,
            0,
            0.25,
            "",
        );
        assert!(!r.stderr.contains("symlink-escapes"), "{}", r.stderr);
    }
}

/// Item 7: masking is by span, for every snippet of every diagnostic in every format, and no
/// message quotes a secret: an inline secret under an unknown key, a flow-style line where
/// another diagnostic quotes the masked value, a secret as a key, a secret where a number is
/// expected or as a node pool name, and a file that does not parse.
#[test]
fn every_quote_of_a_file_masks_all_its_secrets_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let values = repo.join("apps/app1/values.yaml");
    let mut text = fs::read_to_string(&values).unwrap();
    let gh = "ghp_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7c";
    let key_secret = "glpat-Zq8xW7vU6tS5rR4qP3oN";
    let num_secret = "sk_live_9Yx8Wv7Ut6Sr5Qp4On3Ml2Kj";
    let pool_secret = "xoxb-11112222333344445555-abcdefgh";
    let flow = "hunter2hunter2secret";
    text.push_str(&format!(
        "apiToken: {gh}\nextra: {{password: {flow}, bogus: 1}}\n{key_secret}: 1\nreplicas: \"{num_secret}\"\nnodepool: \"{pool_secret}\"\n"
    ));
    fs::write(&values, &text).unwrap();
    let secrets = [gh, key_secret, num_secret, pool_secret, flow];
    for (o, c) in in_every_format(&repo, &["validate", "apps/app1/values.yaml"]) {
        let case = format!("secrets in app values (validate -o {o})");
        let r = bounded(
            &case,
            &c,
            1,
            0.25,
            "unknown key `apiToken` at the top level",
        );
        let out = format!("{}{}", r.stdout, r.stderr);
        for needle in [
            "unknown key `extra` at the top level",
            "`extra.password` looks like a credential",
            "unknown key `****` at the top level",
            "`replicas` must be a whole number, but it is text",
            "unknown node pool `****`",
        ] {
            assert!(
                out.contains(needle),
                "{case}: no {needle:?}:\n{}",
                clip(&out)
            );
        }
        if o == "human" {
            // The flow-style line is quoted by the `extra` and `password` diagnostics: masked in both.
            assert_eq!(
                out.matches("extra: {password: ********************, bogus: 1}")
                    .count(),
                2,
                "{case}: {}",
                clip(&out)
            );
        }
        assert_no_secret(&case, &r, &secrets);
    }
    // A file that does not parse: its secrets are found line by line.
    let overlay = repo.join("apps/app1/values.dev.yaml");
    fs::write(
        &overlay,
        format!("x: {{password: {flow}, token: {gh}, bad: [\n"),
    )
    .unwrap();
    for (o, c) in in_every_format(&repo, &["validate", "-e", "dev"]) {
        let case = format!("secrets in a broken file (validate -o {o})");
        let r = bounded(&case, &c, 1, 0.25, "values.dev.yaml");
        assert_no_secret(&case, &r, &secrets);
    }
    // A message that quotes the text it cannot read.
    fs::write(
        repo.join("apps/app1/values.prod.yaml"),
        format!(
            "password: !!int {flow}
"
        ),
    )
    .unwrap();
    for (o, c) in in_every_format(&repo, &["validate", "-e", "prod"]) {
        let case = format!("a secret in a tag error (validate -o {o})");
        let r = bounded(&case, &c, 1, 0.25, "cannot read `****` as !!int");
        assert_no_secret(&case, &r, &secrets);
    }
}

/// 20,000 namespaces on one 150 KB line: 20,001 diagnostics on one line.
fn long_line(repo: &Path) {
    let values = repo.join("apps/app1/values.yaml");
    let text = fs::read_to_string(&values).unwrap();
    let items: Vec<String> = (0..20_000).map(|i| format!("n{i}")).collect();
    let text = text.replace(
        "  allowIngressFrom:\n    - app2\n",
        &format!("  allowIngressFrom: [{}]\n", items.join(", ")),
    );
    assert!(text.contains("n19999"), "fixture changed");
    fs::write(&values, text).unwrap();
}

/// Item 12: many diagnostics render in linear time and bounded memory; human output shows 200
/// per file and a count, JSON at most 10,000 with a `truncated` count, GitHub 200 per file.
#[test]
fn many_diagnostics_render_in_linear_time_and_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let values = repo.join("apps/app1/values.yaml");
    let good = fs::read_to_string(&values).unwrap();
    long_line(&repo);
    // Before: over 60 s (human), 2.4 s of CPU (JSON). Measured after: 1.1 s / 1.9 s of CPU; with
    // the fleet checks and platform layers (issue 16), on a slower 2-core machine: 1.8 s / 2.9 s
    // (debug build). The bound guards against the quadratic blow-up, not against noise.
    for (o, c) in in_every_format(&repo, &["validate", "-e", "dev"]) {
        let case = format!("20k diagnostics on one 150 KB line (validate -o {o})");
        let needle = match o {
            "human" => "… and 19801 more problems in apps/app1/values.yaml",
            "json" => "\"truncated\": 10003",
            _ => "::… and 19801 more problems in apps/app1/values.yaml",
        };
        let r = bounded(&case, &c, 1, 2.5, needle);
        match o {
            "human" => {
                // 200 of app1's file, and the fleet check's two (app2's egress and the
                // Resiliency now name an app1 that admits n0…n19999 but not app2).
                assert_eq!(r.stderr.matches("error[").count(), 202, "{case}");
                assert_eq!(
                    r.stderr.matches("error[invocation-one-sided]").count(),
                    2,
                    "{case}"
                );
                assert!(
                    r.stderr.lines().all(|l| l.len() < 400),
                    "{case}: a long line"
                );
                assert!(r.stderr.len() < 200_000, "{case}: {} bytes", r.stderr.len());
            }
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
                assert_eq!(v["diagnostics"].as_array().unwrap().len(), 10_000);
                assert_eq!(v["errors"], 20_003);
            }
            _ => assert_eq!(
                r.stdout.lines().count(),
                203,
                "{case}: 200 of app1, its count, the 2 fleet errors"
            ),
        }
    }
    // 40,000 unknown keys in one mapping (390 KB). Before: 29.7 s of CPU with -o json.
    let mut text = good.clone();
    for i in 0..40_000 {
        text.push_str(&format!("k{i}: 1\n"));
    }
    fs::write(&values, &text).unwrap();
    let mut c = appkit();
    c.current_dir(&repo)
        .args(["-o", "json", "validate", "-e", "dev"]);
    // Measured on the 2-core CI machine (debug build): 3.5–4.2 s of CPU since diagnostics carry
    // `app` and `env` (issue 17); the bound guards against the quadratic 29.7 s, not noise.
    let r = bounded(
        "40k unknown keys in one mapping (validate -o json)",
        &c,
        1,
        3.0,
        "\"truncated\": 30000",
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["errors"], 40_000);
    // A 670 KB file of unknown keys, both environments: memory bounded by the input. Before:
    // 32 s of CPU, 135 MiB (debug). After: 2.7 s, 95 MiB.
    let mut text = good.clone();
    for i in 0..24_000 {
        text.push_str(&format!("unknown_key_number_{i:06}: 1\n"));
    }
    assert!(text.len() > 670_000);
    fs::write(&values, &text).unwrap();
    let mut c = appkit();
    c.current_dir(&repo).args(["-o", "json", "validate"]);
    bounded(
        "670 KB of unknown keys, two environments (validate -o json)",
        &c,
        1,
        3.0,
        "\"truncated\": 14000",
    );
}

/// `d0 … d<depth>`, each `allOf` two references to the one below, under the chart's schema.
fn doubling_schema(chart: &Path, depth: usize) {
    let path = chart.join("values.schema.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let mut defs = serde_json::Map::new();
    defs.insert("d0".into(), serde_json::json!({"type": "object"}));
    for i in 1..=depth {
        let r = format!("#/$defs/d{}", i - 1);
        defs.insert(
            format!("d{i}"),
            serde_json::json!({"allOf": [{"$ref": r}, {"$ref": r}]}),
        );
    }
    doc["$defs"] = defs.into();
    doc["allOf"] = serde_json::json!([{"$ref": format!("#/$defs/d{depth}")}]);
    fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

/// Item 13: a schema whose fan-out doubles per level (depth 40) is refused before it is compiled,
/// at the subschema's file:line:col; a fan-out within the budget (depth 14) and the bundled chart
/// validate as before.
#[test]
fn a_schema_whose_fan_out_doubles_per_level_is_refused_at_its_position() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let chart = tmp.path().join("chart");
    let original = fs::read(chart.join("values.schema.json")).unwrap();
    let mut c = appkit();
    c.current_dir(&repo).arg("validate");
    bounded("bundled chart schema (validate)", &c, 0, 0.25, "0 errors");
    doubling_schema(&chart, 14);
    let mut c = appkit();
    c.current_dir(&repo).arg("validate");
    bounded("schema fan-out 2^14 (validate)", &c, 0, 0.5, "0 errors");
    doubling_schema(&chart, 40);
    let text = fs::read_to_string(chart.join("values.schema.json")).unwrap();
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("\"d16\": {"))
        .unwrap()
        + 1;
    let col = text.lines().nth(line - 1).unwrap().find('{').unwrap() + 1;
    let at = format!("../chart/values.schema.json:{line}:{col}");
    for (o, c) in in_every_format(&repo, &["validate"]) {
        let case = format!("schema fan-out 2^40 (validate -o {o})");
        let r = bounded(
            &case,
            &c,
            1,
            0.25,
            "error[schema-fan-out]: `#/$defs/d16` expands to more than 250000 schema nodes",
        );
        assert!(r.stderr.contains(&at), "{case}: no {at}\n{}", r.stderr);
        assert!(r.stderr.contains("help: a $ref or combinator"), "{case}");
    }
    let image = format!("harbor.example.com/apps/app9@sha256:{}", "3f".repeat(32));
    for args in [
        &["render", "--check"][..],
        &["new", "app9", "--image", &image],
    ] {
        let mut c = appkit();
        c.current_dir(&repo).args(args);
        bounded(
            &format!("schema fan-out 2^40 ({})", args[0]),
            &c,
            1,
            0.25,
            "expands to more than 250000 schema nodes",
        );
    }
    fs::write(chart.join("values.schema.json"), original).unwrap();
}
