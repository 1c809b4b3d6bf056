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

use crate::common::{appkit, chart_dir, copy_dir, example_platform, mkfifo};

/// SECURITY.md's published bound on a hostile run: under 0.25 s in a release build, "up to ~1.3
/// s" in a debug build (what `cargo test` runs).
const PUBLISHED_SECS: f64 = if cfg!(debug_assertions) { 1.3 } else { 0.25 };
/// Headroom on the time bound, stated: the CPU time (user + system, what the run itself costs)
/// may be at most 2× the published wall time; the wall time at most 8× (a shared 2-core machine
/// running other test processes stretches wall time, not CPU time).
const CPU_HEADROOM: f64 = 2.0;
const WALL_HEADROOM: f64 = 8.0;
/// SECURITY.md's published bound on peak RSS (117 MiB, release build), plus 20 % headroom: a debug
/// build's values reader peaks near 128 MiB on the alias bomb. 140.4 MiB.
const MAX_RSS_KB: u64 = 117 * 1024 * 12 / 10;

/// What one measured run did.
pub struct Run {
    pub code: Option<i32>,
    pub stderr: String,
    pub stdout: String,
    pub secs: f64,
    /// User + system CPU seconds.
    pub cpu_secs: f64,
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
    w.args(["-k", "5", "60", "/usr/bin/time", "-f", "%e %U %S %M", "-o"])
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
    let (secs, cpu_secs, rss_kb) = parse_time_report(&fs::read_to_string(report.path()).unwrap())
        .unwrap_or_else(|e| panic!("{case}: nothing was measured: {e}\nstderr:\n{stderr}"));
    let line = format!(
        "| {case} | {} | {secs:.2} s ({cpu_secs:.2} s CPU) | {:.1} MiB | {} |\n",
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
        cpu_secs,
        rss_kb,
    }
}

/// `/usr/bin/time -f "%e %U %S %M"`'s last line as (wall s, user + sys s, peak RSS KiB); an error
/// when it wrote nothing usable (a run that was not measured must not pass the bounds).
fn parse_time_report(text: &str) -> Result<(f64, f64, u64), String> {
    let last = text.lines().last().ok_or("/usr/bin/time wrote nothing")?;
    let parts: Vec<&str> = last.split_whitespace().collect();
    let [wall, user, sys, rss] = parts[..] else {
        return Err(format!("/usr/bin/time wrote {last:?}"));
    };
    let num = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("/usr/bin/time wrote {last:?}"))
    };
    let rss: u64 = rss
        .parse()
        .map_err(|_| format!("/usr/bin/time wrote {last:?}"))?;
    if rss == 0 {
        return Err(format!("/usr/bin/time measured no memory: {last:?}"));
    }
    Ok((num(wall)?, num(user)? + num(sys)?, rss))
}

#[test]
fn an_unmeasured_run_fails_instead_of_passing_the_bounds() {
    assert_eq!(
        parse_time_report("0.12 0.10 0.01 65000\n"),
        Ok((0.12, 0.11, 65000))
    );
    assert!(parse_time_report("").is_err());
    assert!(parse_time_report("Command terminated by signal 9\n").is_err());
    assert!(parse_time_report("0.12 0.10 0.01 0\n").is_err());
}

/// Assert the published time and memory bounds on a measured run.
pub fn assert_bounded(case: &str, r: &Run) {
    assert!(
        r.cpu_secs <= PUBLISHED_SECS * CPU_HEADROOM,
        "{case}: {:.2} s of CPU; SECURITY.md promises under {PUBLISHED_SECS} s (allowed: {:.2} s)",
        r.cpu_secs,
        PUBLISHED_SECS * CPU_HEADROOM
    );
    assert!(
        r.secs <= PUBLISHED_SECS * WALL_HEADROOM,
        "{case}: took {:.2} s; SECURITY.md promises under {PUBLISHED_SECS} s (allowed on a loaded machine: {:.2} s)",
        r.secs,
        PUBLISHED_SECS * WALL_HEADROOM
    );
    assert!(
        r.rss_kb <= MAX_RSS_KB,
        "{case}: peak RSS {:.1} MiB; SECURITY.md promises at most 117 MiB (allowed: {:.1} MiB)",
        r.rss_kb as f64 / 1024.0,
        MAX_RSS_KB as f64 / 1024.0
    );
}

/// Measure and assert a refusal: one of `codes`, `needle` (the message the guard the case is named
/// after produces) in stderr, no panic, bounded.
pub fn refused(case: &str, cmd: &Command, codes: &[i32], needle: &str) -> Run {
    assert!(
        needle.len() >= 4,
        "{case}: name the message the case must produce, not {needle:?}"
    );
    let r = measure_with(case, cmd, Some(needle));
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
    assert_bounded(case, &r);
    r
}

/// Measure a run that must succeed, bounded like a refusal.
pub fn accepted(case: &str, cmd: &Command) -> Run {
    let r = measure(case, cmd);
    assert_eq!(r.code, Some(0), "{case}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{case}: {}", r.stderr);
    assert_bounded(case, &r);
    r
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

/// One hostile file: (case, file bytes, the message of the guard it is named after).
pub type Case = (&'static str, Vec<u8>, String);

/// `key:` nested 500 levels deep in block style.
fn deep_block(key: &str) -> String {
    let mut s = format!("{key}:\n");
    for i in 1..500 {
        s.push_str(&" ".repeat(i));
        s.push_str("a:\n");
    }
    s
}

/// `key:` nested 100,000 levels deep in flow style.
fn deep_flow(key: &str) -> String {
    format!("{key}: {}{}\n", "[".repeat(100_000), "]".repeat(100_000))
}

/// `key:` a flat list of 60,000 aliases of one string (valid wherever a list of strings is).
fn flat_aliases(key: &str) -> String {
    format!("{key}: [&s v{}]\n", ", *s".repeat(60_000))
}

/// A valid YAML file with `snippet` (top-level lines) added: indented by `indent` after the line
/// `after` of `good`, or appended. `@FF@` in the snippet becomes the bytes 0xFF 0xFE.
fn with(good: &str, after: Option<&str>, indent: usize, snippet: &str) -> Vec<u8> {
    let pad = " ".repeat(indent);
    let block: String = snippet.lines().map(|l| format!("{pad}{l}\n")).collect();
    let text = match after {
        Some(line) => {
            let at = good
                .find(&format!("{line}\n"))
                .unwrap_or_else(|| panic!("fixture changed: no line {line:?}"))
                + line.len()
                + 1;
            format!("{}{block}{}", &good[..at], &good[at..])
        }
        None => format!(
            "{good}{}{block}",
            if good.ends_with('\n') { "" } else { "\n" }
        ),
    };
    let bytes = text.into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"@FF@") {
            out.extend([0xff, 0xfe]);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Files read with serde-saphyr's budget (appkit.lock, Chart.yaml), each case a valid `good` file
/// plus a key `x` the reader parses and ignores (placed after the line `after`, indented by
/// `indent`), so the parser's guard is what stops it; `dup` is a top-level key of `good`.
pub fn budget_cases(good: &str, after: Option<&str>, indent: usize, dup: &str) -> Vec<Case> {
    let w = |snippet: &str| with(good, after, indent, snippet);
    vec![
        (
            "alias bomb",
            w(&alias_bomb("x")),
            "too many YAML nodes (at most 250000)".into(),
        ),
        (
            "60k aliases",
            w(&flat_aliases("x")),
            "too many aliases (at most 50000)".into(),
        ),
        (
            "deep block nesting (500)",
            w(&deep_block("x")),
            "nesting too deep (at most 64 levels)".into(),
        ),
        (
            "deep flow nesting (100k)",
            w(&deep_flow("x")),
            "recursion limit exceeded".into(),
        ),
        ("non-UTF-8", w("x: \"@FF@\""), "not UTF-8 text".into()),
        (
            "NUL byte",
            w("x: a\0b"),
            "unexpected character: `\\u{0}'".into(),
        ),
        (
            "duplicate key",
            with(good, None, 0, &format!("{dup}: again")),
            format!("duplicate mapping key: {dup}"),
        ),
    ]
}

/// Files read by the values reader (app values, component manifests): a valid `good` file with a
/// top-level key `x` appended, parsed whole before any schema sees it.
pub fn values_cases(good: &str) -> Vec<Case> {
    let w = |snippet: &str| with(good, None, 0, snippet);
    vec![
        (
            "alias bomb",
            w(&alias_bomb("x")),
            "aliases expand to more than 250000 values (an \"alias bomb\")".into(),
        ),
        (
            "deep block nesting (500)",
            w(&deep_block("x")),
            "nesting deeper than 256 levels".into(),
        ),
        (
            "deep flow nesting (100k)",
            w(&deep_flow("x")),
            "invalid YAML: recursion limit exceeded".into(),
        ),
        (
            "non-UTF-8",
            w("x: \"@FF@\""),
            "the file is not UTF-8 text (invalid byte 0xff".into(),
        ),
        (
            "NUL byte",
            w("x: a\0b"),
            "invalid YAML: found unprintable character".into(),
        ),
    ]
}

/// appkit.yaml: every hostile content, through each command that reads it.
#[test]
fn appkit_yaml_hostile_inputs_are_refused_in_bounded_time_and_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let config = repo.join("appkit.yaml");
    let good = fs::read_to_string(&config).unwrap();
    // appkit.yaml refuses unknown keys and every value has a type, so hostile content goes where
    // the schema takes a list of strings (`nodePools`), or meets the first key it does not know.
    let pools = r#"nodePools: [{name: apps, allocatable: {cpu: "16", memory: 64Gi}}, {name: apps-highmem, allocatable: {cpu: "8", memory: 128Gi}}]"#;
    assert!(good.contains(pools), "fixture changed");
    let nodepools = |v: &str| good.replace(pools, v).into_bytes();
    let mut cases: Vec<Case> = vec![
        (
            "60k aliases in nodePools",
            nodepools(flat_aliases("nodePools").trim_end()),
            "too many aliases (at most 50000)".into(),
        ),
        (
            "deep flow nesting (100k) in nodePools",
            nodepools(deep_flow("nodePools").trim_end()),
            "recursion limit exceeded".into(),
        ),
        (
            "alias bomb in nodePools (refused at its first nested list, before any expansion)",
            nodepools(alias_bomb("nodePools").trim_end()),
            "error[config]: invalid type: sequence, expected a node pool name".into(),
        ),
        (
            "deep block nesting (500) under apps.settings.app2 (refused at its first level)",
            with(&good, Some("      dependsOn: [app1]"), 6, &deep_block("x")),
            "unknown key `x` in `apps.settings.app2`".into(),
        ),
        (
            "non-UTF-8",
            with(&good, None, 0, "platformNamespaces: [\"@FF@\"]")
                .into_iter()
                .collect(),
            "not UTF-8 text".into(),
        ),
        (
            "NUL byte",
            good.replace("interval: 10m", "interval: 10\0m")
                .into_bytes(),
            "unexpected character: `\\u{0}'".into(),
        ),
        (
            "duplicate key",
            with(&good, None, 0, "nodePools: [a]"),
            "duplicate mapping key: nodePools".into(),
        ),
    ];
    // Huge: 2 MiB of comments after a valid config (limit: 1 MiB).
    let mut huge = good.clone().into_bytes();
    huge.extend(format!("# {}\n", "x".repeat(2 * 1024 * 1024)).into_bytes());
    cases.push(("2 MiB file", huge, "limit is 1048576 bytes".into()));
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
                &[1],
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
    accepted("appkit.yaml good (validate)", &c);
}

/// An app's values file — the input app owners control — through every command that reads it:
/// validate (the app, and the file named directly), render and publish. Duplicate keys are not
/// refused here: the last one wins, exactly as Helm reads the file, so appkit's verdict matches
/// what Helm deploys (`tests/validate.rs` checks that against Helm 3 and 4 with the fixtures
/// `good-duplicate-keys.yaml` and `bad-duplicate-last-wins.yaml`).
#[test]
fn app_values_hostile_inputs_are_refused_by_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let values = repo.join("apps/app1/values.yaml");
    let good = fs::read(&values).unwrap();
    let mut cases = values_cases(std::str::from_utf8(&good).unwrap());
    let mut huge = good.clone();
    huge.extend(format!("# {}\n", "x".repeat(11 * 1024 * 1024)).into_bytes());
    cases.push(("11 MiB file", huge, "limited to 10485760 bytes".into()));
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
            refused(&format!("values.yaml {case} ({label})"), &c, &[1], needle);
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
    // An app whose values.yaml is not a regular file is reported, not silently skipped; a link
    // out of the apps directory is refused before anything else (symlink-escapes, exit 1).
    fs::remove_file(&values).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &values).unwrap();
    for verb in ["validate", "render"] {
        let mut c = appkit();
        c.current_dir(&repo).arg(verb);
        refused(
            &format!("values.yaml symlink to /dev/zero ({verb})"),
            &c,
            &[1],
            "symbolic link to /dev/zero, outside apps",
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
    let repo = example_platform(tmp.path());
    let file = repo.join("platform/components/hostile.yaml");
    // Duplicate keys are not an error here: component manifests are read by the values loader,
    // which keeps the last value like Helm (tested below).
    let good = fs::read_to_string(repo.join("platform/components/statestore.yaml"))
        .unwrap()
        .replace("name: statestore", "name: hostile");
    let mut cases = values_cases(&good);
    let mut huge = good.into_bytes();
    huge.extend(format!("# {}\n", "x".repeat(11 * 1024 * 1024)).into_bytes());
    cases.push(("11 MiB file", huge, "limited to 10485760 bytes".into()));
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
    let repo = example_platform(tmp.path());
    let lock = repo.join("appkit.lock");
    let original = fs::read(&lock).unwrap();
    // The extra key goes inside the 0.2.0 entry, which ignores keys it does not know.
    let cases = budget_cases(
        std::str::from_utf8(&original).unwrap(),
        Some("    tag: \"0.2.0\""),
        4,
        "lockVersion",
    );
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
    // Chart.yaml ignores keys it does not know (as Helm does): the extra key is appended.
    let mut cases = budget_cases(GOOD_CHART, None, 0, "name");
    let mut huge = GOOD_CHART.as_bytes().to_vec();
    huge.extend(format!("# {}\n", "x".repeat(6 * 1024 * 1024)).into_bytes());
    cases.push(("6 MiB file", huge, "limit is 5242880 bytes".into()));
    cases.push((
        "name with path separators",
        b"apiVersion: v2\nname: ../../evil\nversion: 1.0.0\n".to_vec(),
        "`name` \"../../evil\" is invalid: a chart name must not contain path separators".into(),
    ));
    cases.push((
        "name with backslash",
        b"apiVersion: v2\nname: a\\\\b\nversion: 1.0.0\n".to_vec(),
        "`name` \"a\\\\\\\\b\" is invalid: a chart name must not contain path separators".into(),
    ));
    // Helm packages `v1.2.3`, `1.2` and duplicate keys (the last wins): so does appkit
    // (tests/helm_fidelity_charts.rs); what Helm cannot read is refused.
    cases.retain(|(case, _, _)| *case != "duplicate key");
    cases.push((
        "version 1.2.3.4",
        b"apiVersion: v2\nname: demo\nversion: 1.2.3.4\n".to_vec(),
        "`version` \"1.2.3.4\" is not a version Helm can read".into(),
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
        "values.schema.json is not valid JSON: recursion limit exceeded",
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
        "values.schema.json is not valid JSON: recursion limit exceeded",
    );

    let dir = chart_with(&t.join("nul/chart"), GOOD_CHART.as_bytes());
    fs::write(dir.join(".helmignore"), b"cm\0.yaml\n\xff\xfe\n").unwrap();
    let mut c = appkit();
    c.arg("package").arg(&dir).arg("-d").arg(t.join("nul/out"));
    accepted(".helmignore NUL + non-UTF-8 (package)", &c);
    // Helm reads .helmignore as bytes; a rule with odd bytes matches nothing, so packaging works
    // and every file is still in the archive.
    let names = archive_names(&t.join("nul/out/demo-1.0.0.tgz"));
    assert_eq!(
        names,
        [
            "demo/Chart.yaml",
            "demo/values.yaml",
            "demo/.helmignore",
            "demo/templates/cm.yaml"
        ]
        .map(String::from)
        .to_vec(),
        "the NUL rule ignored nothing"
    );
}

/// The entry names of a .tgz, in archive order (read with `tar`).
fn archive_names(tgz: &Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tzf").arg(tgz).output().unwrap();
    assert!(out.status.success(), "tar -tzf {}", tgz.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
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
    let r = accepted("hard link inside the chart (package)", &c);
    assert!(r.stdout.contains("demo-1.0.0.tgz"), "{}", r.stdout);
    // Both names are packaged as regular files with the content.
    let tgz = t.join("in/dest/demo-1.0.0.tgz");
    let names = archive_names(&tgz);
    assert!(
        names.contains(&"demo/templates/cm.yaml".to_string())
            && names.contains(&"demo/templates/cm2.yaml".to_string()),
        "{names:?}"
    );
    let listing = String::from_utf8(
        Command::new("tar")
            .args(["-xOzf"])
            .arg(&tgz)
            .arg("demo/templates/cm2.yaml")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(listing, "kind: ConfigMap\n");
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
    let repo = example_platform(&t.join("new"));
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
