//! The README's first command, run exactly as written, in a clean copy of the repository: the whole
//! main job (validate → package → publish to an OCI layout → render) on `examples/`, with no server.
//! The committed `examples/appkit.lock` and `examples/clusters/` must be what it produces.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{repo_root, run, run_ok, stderr};

/// The first command of the README's quick start code block.
fn readme_first_command() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("## Quick start")
        .expect("README has a Quick start section");
    let block = &readme[start..];
    let open = block.find("```sh\n").expect("a sh code block") + 6;
    let first = block[open..].lines().next().unwrap();
    first.split('#').next().unwrap().trim().to_string()
}

/// Copy the files git knows about (the working-tree versions) into `dest`.
fn copy_checkout(dest: &Path) {
    let root = repo_root();
    let listed = run_ok(Command::new("git").arg("-C").arg(&root).args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]));
    for rel in listed.split('\0').filter(|s| !s.is_empty()) {
        let from = root.join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dest.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
}

fn tree_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn readme_quickstart_runs_the_whole_flow_and_matches_the_committed_output() {
    let cmd = readme_first_command();
    assert_eq!(
        cmd, "scripts/quickstart",
        "the README's first command changed; update this test"
    );

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("appkit");
    copy_checkout(&repo);
    // Outputs the quickstart must produce itself.
    let _ = std::fs::remove_file(repo.join("examples/appkit.lock"));
    let _ = std::fs::remove_dir_all(repo.join("examples/clusters"));

    // By default the quick start uses the binary this test run built (APPKIT_BIN); with
    // APPKIT_QUICKSTART_FROM_SCRATCH=1 (`.ci/run`, once) it builds its own binary (quickstart profile) in the
    // clean copy, with a target directory of its own, exactly as a new user's first run does.
    let from_scratch = std::env::var_os("APPKIT_QUICKSTART_FROM_SCRATCH").is_some_and(|v| v == "1");
    let quickstart = || {
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(&cmd)
            .current_dir(&repo)
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("APPKIT_BIN");
        if from_scratch {
            c.env("CARGO_TARGET_DIR", tmp.path().join("target"));
        } else {
            c.env("APPKIT_BIN", env!("CARGO_BIN_EXE_helm-appkit"));
        }
        run(&mut c)
    };
    let out = quickstart();
    assert!(out.status.success(), "quickstart failed:\n{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("examples/appkit.lock") && err.contains("examples/clusters"),
        "{err}"
    );

    // The lock it wrote is the committed one, and the digest is in the OCI layout (read by skopeo).
    let lock = std::fs::read_to_string(repo.join("examples/appkit.lock")).unwrap();
    let committed = std::fs::read_to_string(repo_root().join("examples/appkit.lock")).unwrap();
    assert!(lock == committed, "{}", lock_changed(&committed, &lock));
    let digest = lock
        .lines()
        .find_map(|l| l.trim().strip_prefix("digest: "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let index = std::fs::read_to_string(repo.join("examples/out/registry/index.json")).unwrap();
    assert!(index.contains(&digest), "{index}");
    // The chart's own version is the tag (read from Chart.yaml, so a version bump needs no edit here).
    let chart_yaml = std::fs::read_to_string(repo.join("chart/Chart.yaml")).unwrap();
    let version = chart_yaml
        .lines()
        .find_map(|l| l.strip_prefix("version: "))
        .expect("Chart.yaml has a version")
        .trim();
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(format!(
                "oci:{}:{version}",
                repo.join("examples/out/registry").display()
            )),
    );
    assert!(
        raw.contains("application/vnd.cncf.helm.chart.content.v1.tar+gzip"),
        "{raw}"
    );

    // The Flux files it rendered are the committed ones.
    let rendered = tree_files(&repo.join("examples/clusters"));
    let committed = tree_files(&repo_root().join("examples/clusters"));
    assert!(!rendered.is_empty());
    assert_eq!(
        rendered.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        committed.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>()
    );
    for ((p, a), (_, b)) in rendered.iter().zip(&committed) {
        assert!(
            a == b,
            "the quick start renders examples/clusters/{} differently from the committed file:\n{}",
            p.display(),
            similar::TextDiff::from_lines(
                String::from_utf8_lossy(b).into_owned(),
                String::from_utf8_lossy(a).into_owned()
            )
            .unified_diff()
            .header("committed", "rendered")
        );
    }

    // Running it again changes nothing: already published, same files.
    let again = quickstart();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already published"),
        "{}",
        stderr(&again)
    );
    assert_eq!(tree_files(&repo.join("examples/clusters")), rendered);
    assert_eq!(
        std::fs::read_to_string(repo.join("examples/appkit.lock")).unwrap(),
        lock
    );
}

/// What changed when the quick start's lock differs from the committed one. The committed digest
/// is the one pin of reproducible packaging across machines (every machine must package the same
/// bytes), so the message names the two digests and what changed since the lock was committed,
/// instead of inviting a regeneration that would hide a reproducibility bug.
fn lock_changed(committed: &str, produced: &str) -> String {
    let digest = |t: &str| {
        t.lines()
            .find_map(|l| l.trim().strip_prefix("digest: "))
            .unwrap_or("(none)")
            .trim_matches('"')
            .to_string()
    };
    let root = repo_root();
    let git = |args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(&root).args(args).output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let since = git(&["log", "-1", "--format=%h", "--", "examples/appkit.lock"]);
    let changed = if since.is_empty() {
        "(no git history)".to_string()
    } else {
        let stat = git(&[
            "diff",
            "--stat",
            &since,
            "--",
            "chart",
            "src/chart",
            "src/yamlout.rs",
            "Cargo.lock",
        ]);
        if stat.is_empty() {
            format!("nothing under chart/, src/chart/, src/yamlout.rs or Cargo.lock changed since {since}: the packaging is not reproducible on this machine (file order, owners, times, modes?)")
        } else {
            format!("changed since {since} (the commit that last recorded the lock):\n{stat}")
        }
    };
    format!(
        "the quick start packaged the example chart as {} but examples/appkit.lock pins {}.\n{changed}\nIf the chart changed on purpose, the new digest belongs in the same commit; otherwise find what made the bytes differ.\n--- committed\n{committed}+++ produced\n{produced}",
        digest(produced),
        digest(committed)
    )
}
