//! Shared test helpers: the appkit binary, the real Helm binaries, the repo's example files.
//!
//! Helm 3.17 and 4.1 are installed by `scripts/install-test-deps` (run by `scripts/test`), which
//! exports APPKIT_HELM3 / APPKIT_HELM4 / APPKIT_KUBERNETES_VALIDATE. Tests never skip when a tool is
//! missing: they fail with a hint to run `scripts/test`.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod liar;
pub mod registry;
pub mod throttle;
pub mod token_issuer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reference CRDs of `kind` (`flux`, `dapr`): `$APPKIT_REFERENCE_DIR/<kind>`, else the copy in
/// `tests/fixtures/reference/<kind>`.
pub fn reference_dir(kind: &str) -> PathBuf {
    let dir = match std::env::var_os("APPKIT_REFERENCE_DIR") {
        Some(d) => PathBuf::from(d).join(kind),
        None => repo_root().join("tests/fixtures/reference").join(kind),
    };
    assert!(
        dir.is_dir(),
        "the {kind} reference CRDs are missing: expected {}",
        dir.display()
    );
    dir
}

pub fn chart_dir() -> PathBuf {
    repo_root().join("chart")
}

pub fn examples_dir() -> PathBuf {
    repo_root().join("examples")
}

/// A copy of the example platform repo under `dir`: `dir/repo` (examples/) with the chart at
/// `dir/chart`, where `../chart` in its appkit.yaml expects it. Returns `dir/repo`.
pub fn example_platform(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    copy_dir(&examples_dir(), &repo);
    copy_dir(&chart_dir(), &dir.join("chart"));
    repo
}

/// A plugin source dir under `tmp` (`helm-appkit/`: plugin.yaml, plugin.complete and the install
/// hook), to `helm plugin install` in tests: Helm links a local dir and the hook writes `bin/`
/// into it, which must not happen in the repo.
pub fn plugin_source(tmp: &Path) -> PathBuf {
    let src = tmp.join("helm-appkit");
    std::fs::create_dir_all(src.join("scripts")).unwrap();
    for f in ["plugin.yaml", "plugin.complete", "scripts/plugin-install"] {
        std::fs::copy(repo_root().join(f), src.join(f)).unwrap();
    }
    src
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Make a FIFO at `p` (replacing a file there).
pub fn mkfifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
}

/// The appkit binary under test.
pub fn appkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_helm-appkit"));
    // The suite asserts the default settle delay's read-backs (request counts), whatever the host sets.
    c.env_remove("HELM_DEBUG")
        .env_remove("APPKIT_PUSH_SETTLE_MS")
        .env("NO_COLOR", "1");
    c
}

fn tool(var: &str, cache_rel: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    // Fall back to the default cache location used by scripts/install-test-deps.
    let cache = std::env::var_os("APPKIT_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/appkit-test")))
        .expect("HOME or APPKIT_CACHE is set");
    let p = cache.join(cache_rel);
    assert!(
        p.exists(),
        "{var} is not set and {} does not exist: run scripts/test (it installs the test tools)",
        p.display()
    );
    p
}

/// Path of the real Helm binary of a major version (3 or 4).
pub fn helm_bin(major: u8) -> PathBuf {
    match major {
        3 => tool("APPKIT_HELM3", "helm/3/helm"),
        4 => tool("APPKIT_HELM4", "helm/4/helm"),
        _ => panic!("no Helm {major}"),
    }
}

/// A Helm command isolated from the user's Helm config, cache and plugins (all under `home`).
pub fn helm(major: u8, home: &Path) -> Command {
    let mut c = Command::new(helm_bin(major));
    c.env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_PLUGINS", home.join("plugins"))
        .env(
            "HELM_REGISTRY_CONFIG",
            home.join("config/registry/config.json"),
        )
        .env(
            "HELM_REPOSITORY_CONFIG",
            home.join("config/repositories.yaml"),
        )
        .env_remove("HELM_DEBUG");
    c
}

/// Headless Chromium (Debian `chromium`, installed by scripts/install-test-deps).
pub fn chromium_bin() -> PathBuf {
    let p = std::env::var_os("APPKIT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        p.exists(),
        "APPKIT_CHROMIUM is not set and {} does not exist: run scripts/test (it installs the test tools)",
        p.display()
    );
    p
}

pub fn kubernetes_validate_bin() -> PathBuf {
    tool("APPKIT_KUBERNETES_VALIDATE", "venv/bin/kubernetes-validate")
}

/// Run a command and return its output, panicking with both streams when it fails to start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Run and assert success, returning stdout as a string.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// `git -C dir ARGS…` with a fixed author; panics with git's stderr when it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copy a directory tree (files and dirs only).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Whether snapshots are rewritten instead of compared, from `APPKIT_UPDATE_SNAPSHOTS` and `CI`:
/// only the value `1` updates; any other value (`0`, empty, `yes`) is a mistake, not a quiet
/// "no"; and under CI (a non-empty `CI`) updating is refused, so a pipeline can never rewrite the
/// expected files it is meant to check.
pub fn snapshot_update_mode(
    update: Option<&std::ffi::OsStr>,
    ci: Option<&std::ffi::OsStr>,
) -> Result<bool, String> {
    let Some(update) = update else {
        return Ok(false);
    };
    if update != "1" {
        return Err(format!(
            "APPKIT_UPDATE_SNAPSHOTS={update:?}: set it to 1 to rewrite the snapshots, or unset it"
        ));
    }
    if ci.is_some_and(|c| !c.is_empty()) {
        return Err(
            "APPKIT_UPDATE_SNAPSHOTS=1 under CI: snapshots are only rewritten on a developer's \
             machine, where the diff is reviewed"
                .to_string(),
        );
    }
    Ok(true)
}

#[test]
fn snapshots_are_rewritten_only_with_1_and_never_under_ci() {
    use std::ffi::OsStr;
    let o = |s: &'static str| Some(OsStr::new(s));
    assert_eq!(snapshot_update_mode(None, None), Ok(false));
    assert_eq!(snapshot_update_mode(None, o("true")), Ok(false));
    assert_eq!(snapshot_update_mode(o("1"), None), Ok(true));
    assert_eq!(snapshot_update_mode(o("1"), o("")), Ok(true));
    for bad in ["0", "", "yes", "true", "2"] {
        assert!(snapshot_update_mode(o(bad), None).is_err(), "{bad:?}");
    }
    assert!(snapshot_update_mode(o("1"), o("true")).is_err());
    assert!(snapshot_update_mode(o("1"), o("1")).is_err());
}

/// Compare `actual` with the expected file at `path` (or, with APPKIT_UPDATE_SNAPSHOTS=1 outside
/// CI, write it), panicking with a unified diff when they differ.
pub fn assert_snapshot(path: &Path, actual: &str) {
    let update = snapshot_update_mode(
        std::env::var_os("APPKIT_UPDATE_SNAPSHOTS").as_deref(),
        std::env::var_os("CI").as_deref(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if update {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with APPKIT_UPDATE_SNAPSHOTS=1 (not under CI) and review it",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual);
        panic!(
            "{} differs from the snapshot:\n{}",
            path.display(),
            diff.unified_diff().header("expected", "actual")
        );
    }
}
