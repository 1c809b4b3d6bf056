//! Credential helpers appkit does not control (SECURITY.md, "Credential helpers"): a Docker config
//! naming a `credHelpers` entry for the registry, and a `docker-credential-*` script on PATH that
//! hangs (with a child of its own), fails after printing the secret, or prints 200 MB. Each run
//! ends in the stated time with exit 2, the helper and what it started are gone, memory stays
//! bounded, and no byte of the secret appears in human or JSON output. A helper that answers
//! "not found" means anonymous.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::registry::Registry;
use crate::common::{stderr, stdout};
use crate::hostile::measure_with;
use crate::oci::appkit_in;

const SECRET: &str = "helper-S3cret-5d2b-TOKEN";

/// A Docker config dir whose `credHelpers` sends `host` to `docker-credential-appkit-liar`, a
/// script with `body`.
fn helper_env(dir: &Path, host: &str, body: &str) -> (PathBuf, PathBuf) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"credHelpers":{{"{host}":"appkit-liar"}}}}"#),
    )
    .unwrap();
    let script = bin.join("docker-credential-appkit-liar");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir.to_path_buf(), bin)
}

fn versions(reg: &Registry, cfg: &Path, bin: &Path, extra: &[&str]) -> Command {
    let chart = reg.oci("p/demo");
    let mut args = vec!["versions", chart.as_str()];
    args.extend_from_slice(extra);
    let mut c = appkit_in(&reg.appkit_flags(), &args);
    let path = std::env::var("PATH").unwrap_or_default();
    c.env("DOCKER_CONFIG", cfg)
        .env("PATH", format!("{}:{path}", bin.display()));
    c
}

fn running(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next())
        .is_some_and(|st| st != "Z" && st != "X")
}

#[test]
fn a_hanging_helper_is_stopped_at_the_timeout_with_what_it_started() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let (cfg, bin) = helper_env(
        dir.path(),
        &reg.host,
        &format!("sleep 600 &\necho $! > {}\nwait", pidfile.display()),
    );
    for (case, extra) in [
        (
            "credential helper: hangs (timeout 1 s)",
            vec!["--credential-helper-timeout", "1"],
        ),
        (
            "credential helper: hangs (timeout 1 s, -o json)",
            vec!["--credential-helper-timeout", "1", "-o", "json"],
        ),
    ] {
        let run = measure_with(case, &versions(&reg, &cfg, &bin, &extra), Some("error:"));
        assert_eq!(run.code, Some(2), "{case}: {}", run.stderr);
        assert!(
            run.stderr.contains(
                "error: credentials: the credential helper docker-credential-appkit-liar: did not answer within 1 s (--credential-helper-timeout); it was stopped"
            ),
            "{case}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("hint: "), "{case}: {}", run.stderr);
        assert!(run.secs > 0.9 && run.secs < 3.0, "{case}: {} s", run.secs);
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            !running(pid),
            "{case}: the helper's `sleep` ({pid}) survived"
        );
        // -o json: the failure as a JSON document (docs/json-output.md); otherwise nothing.
        let out = stdout(&run.output());
        if extra.contains(&"json") {
            let v: serde_json::Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{case}: {e}: {out}"));
            assert_eq!(v["error"]["exitCode"], 2, "{case}: {out}");
        } else {
            assert!(out.is_empty(), "{case}: {out}");
        }
    }
}

#[test]
fn a_failing_helper_that_prints_the_secret_is_not_echoed() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let (cfg, bin) = helper_env(
        dir.path(),
        &reg.host,
        &format!(
            "printf '{{\"Username\":\"robot\",\"Secret\":\"{SECRET}\"}}'\necho 'stderr also {SECRET}' >&2\nexit 3"
        ),
    );
    for extra in [vec![], vec!["-o", "json"], vec!["--debug"]] {
        let out = versions(&reg, &cfg, &bin, &extra).output().unwrap();
        let all = format!("{}\n{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{all}");
        assert!(
            stderr(&out).contains(
                "docker-credential-appkit-liar: failed (exit status: 3); its output is not shown"
            ),
            "{all}"
        );
        assert!(!all.contains(SECRET) && !all.contains("S3cret"), "{all}");
    }
}

#[test]
fn a_helper_printing_200_mb_is_stopped_with_bounded_memory() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let (cfg, bin) = helper_env(
        dir.path(),
        &reg.host,
        "head -c 200000000 /dev/zero | tr '\\0' 'A'",
    );
    let run = measure_with(
        "credential helper: prints 200 MB",
        &versions(&reg, &cfg, &bin, &[]),
        Some("error:"),
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("printed more than 1048576 bytes; it was stopped"),
        "{}",
        run.stderr
    );
    assert!(run.rss_kb > 0, "nothing was measured");
    // Measured 12–14 MiB; 40 MiB leaves room for allocator noise, far below the 199 MiB before.
    assert!(run.rss_kb < 40 * 1024, "{} KiB", run.rss_kb);
    assert!(run.secs < 5.0, "{} s", run.secs);
}

#[test]
fn a_helper_without_credentials_for_the_registry_means_anonymous() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let (cfg, bin) = helper_env(
        dir.path(),
        &reg.host,
        "echo 'credentials not found in native keychain'\nexit 1",
    );
    let out = versions(&reg, &cfg, &bin, &["--debug"]).output().unwrap();
    // The registry was asked anonymously and answered: the repository is not there (exit 1).
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("does not exist"), "{err}");
    assert!(
        err.contains("debug: no credentials found for the registry: anonymous")
            && !err.contains("credentials from"),
        "{err}"
    );
}
