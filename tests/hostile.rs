//! Hostile files through the real binary: every command that reads a user file (appkit.yaml,
//! component manifests, appkit.lock, Chart.yaml, .helmignore, values.schema.json, a chart archive,
//! an OCI layout) gets alias bombs, deep nesting, huge files, non-UTF-8, NUL bytes, duplicate keys,
//! FIFOs and devices, and must answer with a clear error, exit 1 or 2, no panic, in bounded time and
//! memory. Each run is measured with `/usr/bin/time` under `timeout` (a hang fails the test instead
//! of blocking it); the measurements are appended to `$CARGO_TARGET_TMPDIR/hostile-report.md`.
//!
//! What the modules already test on their own (values files in `validate.rs`, chart directories'
//! symlinks and FIFOs in `package.rs`, archive entries in `src/chart/archive_tests.rs`) is not
//! repeated here; this covers the files those tests do not reach and the end-to-end paths.

mod archives;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{appkit, chart_dir, copy_dir, examples_dir};

/// Wall-clock seconds any hostile run may take (generous: the machine is shared).
const MAX_SECS: f64 = 20.0;
/// Peak RSS any hostile run may reach.
const MAX_RSS_KB: u64 = 256 * 1024;

/// What one measured run did.
pub struct Run {
    pub code: Option<i32>,
    pub stderr: String,
    pub stdout: String,
    pub secs: f64,
    pub rss_kb: u64,
}

impl Run {
    /// As a `std::process::Output`, for helpers that take one.
    pub fn output(&self) -> std::process::Output {
        use std::os::unix::process::ExitStatusExt;
        std::process::Output {
            status: std::process::ExitStatus::from_raw(self.code.unwrap_or(128) << 8),
            stdout: self.stdout.clone().into_bytes(),
            stderr: self.stderr.clone().into_bytes(),
        }
    }
}

/// Run `cmd` under `timeout` and `/usr/bin/time`, recording exit code, time and peak RSS.
pub fn measure(case: &str, cmd: &Command) -> Run {
    measure_with(case, cmd, None)
}

/// The message shown in the report for a run: stderr's first line, plus the line holding
/// `needle` when that is another one (`… is invalid:` says little without its cause); temp
/// directories shortened to `…`.
fn report_message(stderr: &str, needle: Option<&str>) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // The error, not a status line printed before it; with its cause when it ends in `:`.
    let at = lines
        .iter()
        .position(|l| l.starts_with("error"))
        .unwrap_or(0);
    let mut shown: Vec<&str> = lines.iter().skip(at).take(1).copied().collect();
    if shown.first().is_some_and(|l| l.ends_with(':')) {
        shown.extend(lines.get(at + 1));
    }
    match needle.filter(|n| !n.is_empty()) {
        Some(n) if !shown.iter().any(|l| l.contains(n)) => {
            shown.extend(lines.iter().find(|l| l.contains(n)));
        }
        Some(_) => {}
        // No needle: the root cause, when the error has a chain.
        None => shown.extend(
            lines
                .iter()
                .rev()
                .find(|l| l.starts_with("Caused by:"))
                .filter(|l| !shown.contains(l)),
        ),
    }
    let msg = shown.join(" — ");
    // /tmp/.tmpAbC123/repo/appkit.yaml → …/repo/appkit.yaml; upload session state → `…`
    let mut out = String::new();
    let mut rest = msg.as_str();
    while let Some(i) = rest.find("/tmp/.tmp") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "/tmp/.tmp".len()..];
        let end = after.find('/').unwrap_or(after.len());
        out.push('…');
        rest = &after[end..];
    }
    out.push_str(rest);
    if let Some(i) = out.find("?_state=") {
        let end = out[i..].find(' ').map_or(out.len(), |e| i + e);
        out.replace_range(i..end, "?_state=…");
    }
    out.replace('|', "\\|").chars().take(240).collect()
}

/// [`measure`], reporting the stderr line that holds `needle`.
pub fn measure_with(case: &str, cmd: &Command, needle: Option<&str>) -> Run {
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut w = Command::new("timeout");
    w.args(["-k", "5", "60", "/usr/bin/time", "-f", "%e %M", "-o"])
        .arg(report.path())
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        w.current_dir(d);
    }
    let out = w
        .output()
        .unwrap_or_else(|e| panic!("cannot run timeout/time (coreutils, time): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    assert_ne!(
        code,
        Some(124),
        "{case}: hung (killed after 60 s)\n{stderr}"
    );
    let timing = fs::read_to_string(report.path()).unwrap();
    let last = timing.lines().last().unwrap_or_default().to_string();
    let mut parts = last.split_whitespace();
    let secs: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(-1.0);
    let rss_kb: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let line = format!(
        "| {case} | {} | {secs:.2} s | {:.1} MiB | {} |\n",
        code.map_or("signal".into(), |c| c.to_string()),
        rss_kb as f64 / 1024.0,
        report_message(&stderr, needle)
    );
    eprint!("{line}");
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-report.md");
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(log) {
        let _ = f.write_all(line.as_bytes());
    }
    Run {
        code,
        stderr,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        secs,
        rss_kb,
    }
}

/// Measure and assert a refusal: one of `codes`, `needle` in stderr, no panic, bounded.
pub fn refused(case: &str, cmd: &Command, codes: &[i32], needle: &str) -> Run {
    let r = measure_with(case, cmd, Some(needle).filter(|n| !n.is_empty()));
    assert!(
        r.code.is_some_and(|c| codes.contains(&c)),
        "{case}: exit {:?}, expected one of {codes:?}\n{}",
        r.code,
        r.stderr
    );
    assert!(
        r.stderr.contains(needle),
        "{case}: expected {needle:?} in stderr:\n{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{case}: {}", r.stderr);
    assert!(
        r.stderr.starts_with("error") || r.stderr.contains("\nerror"),
        "{case}: {}",
        r.stderr
    );
    assert!(r.secs < MAX_SECS, "{case}: took {} s", r.secs);
    assert!(r.rss_kb < MAX_RSS_KB, "{case}: peak RSS {} KiB", r.rss_kb);
    r
}

/// A platform repo (examples/) with the chart next to it, as `../chart` in appkit.yaml expects.
pub fn platform(t: &Path) -> PathBuf {
    let repo = t.join("repo");
    copy_dir(&examples_dir(), &repo);
    copy_dir(&chart_dir(), &t.join("chart"));
    repo
}

pub fn mkfifo(p: &Path) {
    let _ = fs::remove_file(p);
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
}

/// A YAML "billion laughs": 10 levels of 10 aliases each (10^10 nodes if expanded).
pub fn alias_bomb(key: &str) -> String {
    let mut s = format!("{key}:\n  - &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("  - &a{i} [{refs}]\n"));
    }
    s
}

/// The hostile contents every YAML reader gets: (case, file bytes, expected stderr fragment).
/// `key` is a top-level key of the file and `ok` a value of the right type for it (so that the
/// duplicate key is the first problem).
pub fn hostile_yaml(key: &str, ok: &str) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("alias bomb", alias_bomb(key).into_bytes(), ""),
        (
            "deep flow nesting (100k)",
            format!("{key}: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            "",
        ),
        (
            "deep block nesting (500)",
            {
                let mut s = format!("{key}:\n");
                for i in 1..500 {
                    s.push_str(&" ".repeat(i));
                    s.push_str("a:\n");
                }
                s.into_bytes()
            },
            "",
        ),
        (
            "non-UTF-8",
            [format!("{key}: \"").as_bytes(), b"\xff\xfe\"\n"].concat(),
            "UTF-8",
        ),
        ("NUL byte", format!("{key}: a\0b\n").into_bytes(), ""),
        (
            "duplicate key",
            format!("{key}: {ok}\n{key}: {ok}\n").into_bytes(),
            "duplicate",
        ),
    ]
}

/// appkit.yaml: every hostile content, through each command that reads it.
#[test]
fn appkit_yaml_hostile_inputs_are_refused_in_bounded_time_and_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = platform(tmp.path());
    let config = repo.join("appkit.yaml");
    let good = fs::read_to_string(&config).unwrap();
    let mut cases = hostile_yaml("nodePools", "[a]");
    // Huge: 2 MiB of comments after a valid config (limit: 1 MiB).
    let mut huge = good.clone().into_bytes();
    huge.extend(format!("# {}\n", "x".repeat(2 * 1024 * 1024)).into_bytes());
    cases.push(("2 MiB file", huge, "limit is 1048576 bytes"));
    for (case, bytes, needle) in &cases {
        fs::write(&config, bytes).unwrap();
        for verb in [
            &["validate"][..],
            &["render", "--check"],
            &["package", "-d", "out"],
            &["new", "app9", "--image", "harbor.example.com/apps/app9@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            &["docs", "--check"],
        ] {
            let mut c = appkit();
            c.current_dir(&repo).args(verb);
            refused(
                &format!("appkit.yaml {case} ({})", verb[0]),
                &c,
                &[1, 2],
                needle,
            );
        }
    }
    // Not regular files, through --config: never opened (a FIFO would block, /dev/zero never ends).
    let fifo = tmp.path().join("fifo.yaml");
    mkfifo(&fifo);
    for (case, path, needle) in [
        ("FIFO", fifo.as_path(), "FIFO"),
        ("/dev/zero", Path::new("/dev/zero"), "device"),
        ("/dev/urandom", Path::new("/dev/urandom"), "device"),
    ] {
        let mut c = appkit();
        c.current_dir(&repo)
            .arg("--config")
            .arg(path)
            .arg("validate");
        refused(&format!("appkit.yaml {case} (validate)"), &c, &[2], needle);
    }
    // And the good file still works.
    fs::write(&config, good).unwrap();
    let mut c = appkit();
    c.current_dir(&repo).arg("validate");
    let r = measure("appkit.yaml good (validate)", &c);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// An app's values file — the input app owners control — through every command that reads it:
/// validate (the app, and the file named directly), render and publish. Duplicate keys are not
/// refused here: the last one wins, exactly as Helm reads the file, so appkit's verdict matches
/// what Helm deploys (`tests/validate.rs` checks that against Helm 3 and 4 with the fixtures
/// `good-duplicate-keys.yaml` and `bad-duplicate-last-wins.yaml`).
#[test]
fn app_values_hostile_inputs_are_refused_by_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = platform(tmp.path());
    let values = repo.join("apps/app1/values.yaml");
    let good = fs::read(&values).unwrap();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = hostile_yaml("replicas", "1")
        .into_iter()
        .filter(|(case, _, _)| *case != "duplicate key")
        .collect();
    // An alias bomb where the schema would accept anything: stopped by the node budget.
    cases.push((
        "alias bomb under podAnnotations",
        alias_bomb("podAnnotations").into_bytes(),
        "",
    ));
    let mut huge = good.clone();
    huge.extend(format!("# {}\n", "x".repeat(11 * 1024 * 1024)).into_bytes());
    cases.push(("11 MiB file", huge, "limited to 10485760 bytes"));
    for (case, bytes, needle) in &cases {
        fs::write(&values, bytes).unwrap();
        let layout = format!("oci-layout:{}", tmp.path().join("layout").display());
        for verb in [
            &["validate"][..],
            &["validate", "apps/app1/values.yaml"],
            &["render", "--check"],
            &["publish", "--to", &layout],
        ] {
            let mut c = appkit();
            c.current_dir(&repo).args(verb);
            let label = verb[..verb.len().min(2)]
                .join(" ")
                .replace(&layout, "oci-layout");
            refused(
                &format!("values.yaml {case} ({label})"),
                &c,
                &[1, 2],
                needle,
            );
        }
    }
    // Not regular files: never opened.
    fs::write(&values, &good).unwrap();
    let fifo = tmp.path().join("values.fifo.yaml");
    mkfifo(&fifo);
    for (case, path, needle) in [
        ("FIFO", fifo.as_path(), "FIFO"),
        ("/dev/zero", Path::new("/dev/zero"), "device"),
    ] {
        let mut c = appkit();
        c.current_dir(&repo).arg("validate").arg(path);
        refused(&format!("values file {case} (validate)"), &c, &[2], needle);
    }
    // An app whose values.yaml is not a regular file is reported, not silently skipped.
    fs::remove_file(&values).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &values).unwrap();
    for verb in ["validate", "render"] {
        let mut c = appkit();
        c.current_dir(&repo).arg(verb);
        refused(
            &format!("values.yaml symlink to /dev/zero ({verb})"),
            &c,
            &[1, 2],
            "device",
        );
    }
    fs::remove_file(&values).unwrap();
    mkfifo(&values);
    let mut c = appkit();
    c.current_dir(&repo).arg("validate");
    refused("values.yaml is a FIFO (validate)", &c, &[2], "FIFO");
}

/// Component manifests (platform/components/*.yaml), read by validate.
#[test]
fn component_manifest_hostile_inputs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = platform(tmp.path());
    let file = repo.join("platform/components/hostile.yaml");
    // Duplicate keys are not an error here: component manifests are read by the values loader,
    // which keeps the last value like Helm (tested below).
    let mut cases: Vec<_> = hostile_yaml("metadata", "{}")
        .into_iter()
        .filter(|c| c.0 != "duplicate key")
        .collect();
    let mut huge = b"kind: Component\n".to_vec();
    huge.extend(format!("# {}\n", "x".repeat(11 * 1024 * 1024)).into_bytes());
    cases.push(("11 MiB file", huge, "limited to 10485760 bytes"));
    for (case, bytes, needle) in &cases {
        fs::write(&file, bytes).unwrap();
        let mut c = appkit();
        c.current_dir(&repo).arg("validate");
        refused(&format!("component {case} (validate)"), &c, &[1, 2], needle);
    }
    // The last `name` wins: the component is `other`, so app1's `statestore` is missing (exit 1).
    let statestore = repo.join("platform/components/statestore.yaml");
    let text = fs::read_to_string(&statestore).unwrap();
    fs::write(&statestore, format!("{text}\nmetadata:\n  name: other\n")).unwrap();
    fs::remove_file(&file).unwrap();
    let mut c = appkit();
    c.current_dir(&repo).arg("validate");
    refused(
        "component duplicate key (validate)",
        &c,
        &[1],
        "no Dapr component named `statestore`",
    );
    fs::write(&statestore, text).unwrap();

    mkfifo(&file);
    let mut c = appkit();
    c.current_dir(&repo).arg("validate");
    refused("component FIFO (validate)", &c, &[1, 2], "FIFO");
}

/// appkit.lock, read by render (and publish).
#[test]
fn lock_file_hostile_inputs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = platform(tmp.path());
    let lock = repo.join("appkit.lock");
    let cases = hostile_yaml("versions", "{}");
    let original = fs::read(&lock).unwrap();
    for (case, bytes, needle) in &cases {
        fs::write(&lock, bytes).unwrap();
        let mut c = appkit();
        c.current_dir(&repo).args(["render", "--check"]);
        refused(&format!("appkit.lock {case} (render)"), &c, &[1, 2], needle);
    }
    // A lock that cannot be read at all is an I/O error (exit 2), not a finding about the input.
    let mut huge = original.clone();
    huge.extend(format!("# {}\n", "x".repeat(11 * 1024 * 1024)).into_bytes());
    fs::write(&lock, &huge).unwrap();
    let mut c = appkit();
    c.current_dir(&repo).args(["render", "--check"]);
    refused(
        "appkit.lock 11 MiB file (render)",
        &c,
        &[2],
        "limit is 10485760 bytes",
    );
    fs::remove_file(&lock).unwrap();
    fs::create_dir(&lock).unwrap();
    let mut c = appkit();
    c.current_dir(&repo).args(["render", "--check"]);
    refused("appkit.lock is a directory (render)", &c, &[2], "directory");
    fs::remove_dir(&lock).unwrap();
    mkfifo(&lock);
    let mut c = appkit();
    c.current_dir(&repo).args(["render", "--check"]);
    refused("appkit.lock FIFO (render)", &c, &[2], "FIFO");
    let mut c = appkit();
    c.current_dir(&repo).args(["publish", "--to"]).arg(format!(
        "oci-layout:{}",
        tmp.path().join("layout").display()
    ));
    refused("appkit.lock FIFO (publish)", &c, &[2], "FIFO");
}

/// A chart whose Chart.yaml is `bytes`, with a template and values.
pub fn chart_with(dir: &Path, chart_yaml: &[u8]) -> PathBuf {
    fs::create_dir_all(dir.join("templates")).unwrap();
    fs::write(dir.join("Chart.yaml"), chart_yaml).unwrap();
    fs::write(dir.join("values.yaml"), "a: 1\n").unwrap();
    fs::write(dir.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    dir.to_path_buf()
}

const GOOD_CHART: &str = "apiVersion: v2\nname: demo\nversion: 1.0.0\n";

/// Chart.yaml through package and through push (chart dir → OCI layout): no layout is created.
#[test]
fn chart_yaml_hostile_inputs_are_refused_by_package_and_push() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut cases = hostile_yaml("annotations", "{a: b}");
    let mut huge = GOOD_CHART.as_bytes().to_vec();
    huge.extend(format!("# {}\n", "x".repeat(6 * 1024 * 1024)).into_bytes());
    cases.push(("6 MiB file", huge, "limit is 5242880 bytes"));
    cases.push((
        "name with path separators",
        b"apiVersion: v2\nname: ../../evil\nversion: 1.0.0\n".to_vec(),
        "`name` \"../../evil\" is invalid",
    ));
    cases.push((
        "name with backslash",
        b"apiVersion: v2\nname: a\\\\b\nversion: 1.0.0\n".to_vec(),
        "is invalid",
    ));
    cases.push((
        "version v1.2.3",
        b"apiVersion: v2\nname: demo\nversion: v1.2.3\n".to_vec(),
        "not a SemVer 2 version",
    ));
    cases.push((
        "version 1.2",
        b"apiVersion: v2\nname: demo\nversion: \"1.2\"\n".to_vec(),
        "not a SemVer 2 version",
    ));
    for (i, (case, bytes, needle)) in cases.iter().enumerate() {
        let dir = chart_with(&t.join(format!("c{i}/chart")), bytes);
        let mut c = appkit();
        c.arg("package")
            .arg(&dir)
            .arg("-d")
            .arg(t.join(format!("c{i}/out")));
        refused(&format!("Chart.yaml {case} (package)"), &c, &[1, 2], needle);
        let layout = t.join(format!("c{i}/layout"));
        let mut c = appkit();
        c.arg("push")
            .arg(&dir)
            .arg(format!("oci-layout:{}", layout.display()));
        refused(&format!("Chart.yaml {case} (push)"), &c, &[1, 2], needle);
        assert!(!layout.exists(), "{case}: push left a layout behind");
        assert!(
            !t.join(format!("c{i}/out")).exists(),
            "{case}: package left output"
        );
    }
    let dir = chart_with(&t.join("fifo/chart"), GOOD_CHART.as_bytes());
    mkfifo(&dir.join("Chart.yaml"));
    let mut c = appkit();
    c.arg("package").arg(&dir).arg("-d").arg(t.join("fifo/out"));
    refused("Chart.yaml FIFO (package)", &c, &[2], "FIFO");
}

/// .helmignore and values.schema.json: FIFOs and huge files never hang or exhaust memory.
#[test]
fn helmignore_and_schema_hostile_inputs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let big = format!("# {}\n", "x".repeat(6 * 1024 * 1024)).into_bytes();
    for (name, kind) in [
        (".helmignore", "FIFO"),
        (".helmignore", "huge"),
        ("values.schema.json", "FIFO"),
        ("values.schema.json", "huge"),
    ] {
        let dir = chart_with(
            &t.join(format!("{name}-{kind}/chart")),
            GOOD_CHART.as_bytes(),
        );
        if kind == "FIFO" {
            mkfifo(&dir.join(name));
        } else {
            fs::write(dir.join(name), &big).unwrap();
        }
        let needle = if kind == "FIFO" {
            "FIFO"
        } else {
            "5242880 bytes"
        };
        let mut c = appkit();
        c.arg("package").arg(&dir).arg("-d").arg(t.join("out"));
        refused(&format!("{name} {kind} (package)"), &c, &[1, 2], needle);
    }
    // Deeply nested JSON schema and a NUL byte in .helmignore (validate and package).
    let dir = chart_with(&t.join("deep/chart"), GOOD_CHART.as_bytes());
    fs::write(
        dir.join("values.schema.json"),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    let mut c = appkit();
    c.arg("package").arg(&dir).arg("-d").arg(t.join("out"));
    refused(
        "values.schema.json 100k nesting (package)",
        &c,
        &[1],
        "values.schema.json",
    );
    let values = t.join("values.yaml");
    fs::write(&values, "image: x\n").unwrap();
    let mut c = appkit();
    c.current_dir(t)
        .arg("validate")
        .arg("--chart")
        .arg(&dir)
        .arg(&values);
    refused(
        "values.schema.json 100k nesting (validate)",
        &c,
        &[1, 2],
        "values.schema.json",
    );

    let dir = chart_with(&t.join("nul/chart"), GOOD_CHART.as_bytes());
    fs::write(dir.join(".helmignore"), b"cm\0.yaml\n\xff\xfe\n").unwrap();
    let mut c = appkit();
    c.arg("package").arg(&dir).arg("-d").arg(t.join("nul/out"));
    let r = measure(".helmignore NUL + non-UTF-8 (package)", &c);
    // Helm reads .helmignore as bytes; a rule with odd bytes matches nothing, so packaging works.
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}

/// Hard links: a file whose other name is outside the chart is refused like a symlink out; hard
/// links between two files of the chart are fine.
#[cfg(unix)]
#[test]
fn hard_links_out_of_the_chart_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(t.join("secret.txt"), "s3cret").unwrap();
    let dir = chart_with(&t.join("out/chart"), GOOD_CHART.as_bytes());
    fs::hard_link(t.join("secret.txt"), dir.join("templates/secret.txt")).unwrap();
    let mut c = appkit();
    c.arg("package").arg(&dir).arg("-d").arg(t.join("out/dest"));
    let r = refused(
        "hard link out of the chart (package)",
        &c,
        &[2],
        "templates/secret.txt is a hard link with 2 names, 1 of them outside the chart directory",
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(!r.stderr.contains("s3cret"));
    assert!(!t.join("out/dest").exists());

    let dir = chart_with(&t.join("in/chart"), GOOD_CHART.as_bytes());
    fs::hard_link(
        dir.join("templates/cm.yaml"),
        dir.join("templates/cm2.yaml"),
    )
    .unwrap();
    let mut c = appkit();
    c.arg("package").arg(&dir).arg("-d").arg(t.join("in/dest"));
    let r = measure("hard link inside the chart (package)", &c);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("demo-1.0.0.tgz"), "{}", r.stdout);
}

/// `docs` and `new` read Chart.yaml, values.schema.json, README.md and template overrides: a FIFO
/// in any of those places is refused, never opened.
#[test]
fn docs_and_new_refuse_special_files() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for name in ["Chart.yaml", "values.schema.json", "README.md"] {
        let chart = t.join(format!("c-{name}"));
        copy_dir(&chart_dir(), &chart);
        mkfifo(&chart.join(name));
        let mut c = appkit();
        c.current_dir(t)
            .args(["docs", "--check", "--chart"])
            .arg(&chart);
        refused(&format!("{name} FIFO (docs)"), &c, &[1, 2], "FIFO");
    }
    let repo = platform(&t.join("new"));
    mkfifo(&repo.join("../chart/values.schema.json"));
    let mut c = appkit();
    c.current_dir(&repo).args(["new", "app9", "--image", "harbor.example.com/apps/app9@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]);
    refused("values.schema.json FIFO (new)", &c, &[1, 2], "FIFO");
    assert!(!repo.join("apps/app9").exists());
}

/// A panic (a bug, never the user's fault) is one error line naming where it happened, a hint to
/// report it, exit 2 — not Rust's exit 101 with backtrace advice.
#[test]
fn a_panic_is_reported_as_an_internal_error_with_exit_2() {
    let out = appkit()
        .args(["package", "/nonexistent/chart"])
        .env("APPKIT_TEST_PANIC", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: internal error: appkit panicked at src/main.rs:")
            && err.contains(": APPKIT_TEST_PANIC is set\n")
            && err.contains("hint: this is a bug in appkit"),
        "{err}"
    );
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    // Without the seam the same command is an ordinary error.
    let plain = appkit()
        .args(["package", "/nonexistent/chart"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&plain.stderr);
    assert_eq!(plain.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
