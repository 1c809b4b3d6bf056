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

    let quickstart = || {
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(&cmd)
            .current_dir(&repo)
            // Share the build directory so the release build is incremental.
            .env("CARGO_TARGET_DIR", repo_root().join("target"))
            .env_remove("SOURCE_DATE_EPOCH");
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
    assert_eq!(
        lock,
        std::fs::read_to_string(repo_root().join("examples/appkit.lock")).unwrap(),
        "committed examples/appkit.lock is stale: run scripts/quickstart"
    );
    let digest = lock
        .lines()
        .find_map(|l| l.trim().strip_prefix("digest: "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let index = std::fs::read_to_string(repo.join("examples/out/registry/index.json")).unwrap();
    assert!(index.contains(&digest), "{index}");
    let raw = run_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(format!(
                "oci:{}:0.1.0",
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
            "committed examples/clusters/{} is stale: run scripts/quickstart",
            p.display()
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
