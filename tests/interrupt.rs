//! No partial state: real runs of package, render, publish (to an OCI layout) and pull --untar are
//! killed with SIGKILL at increasing delays, and after each kill every file they write is either
//! the old one or the complete new one — never a truncated file, a lock that names a missing
//! manifest, a tag that points to missing blobs, or a half-extracted chart.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{appkit, chart_dir, copy_dir, examples_dir, run_ok};

/// Kill delays in milliseconds: every millisecond of a debug build's run (10–30 ms), then a few
/// after its end.
const DELAYS: &[u64] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 28, 30, 35, 40, 50, 60, 80, 100, 150, 200, 400,
];

/// Run `cmd`, SIGKILL it after `ms`; true when it had already finished.
fn kill_after(cmd: &mut Command, ms: u64) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let done = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();
    done
}

/// Every file under `dir` (relative path → bytes), temp files of interrupted writes excluded
/// (they are reported separately).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(rd) = fs::read_dir(d) else { return };
        for e in rd {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if rel.contains(".appkit-") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Temp files and staging directories of interrupted runs anywhere under `dir`.
fn leftovers(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.map(|e| {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with(".appkit-") {
            1
        } else if e.file_type().unwrap().is_dir() {
            leftovers(&e.path())
        } else {
            0
        }
    })
    .sum()
}

/// After a kill left temp entries under `dir`, the next complete run of `cmd` removes them.
/// Returns how many there were.
fn next_run_sweeps(cmd: &mut Command, dir: &Path, what: &str) -> usize {
    let before = leftovers(dir);
    if before > 0 {
        run_ok(cmd);
        assert_eq!(
            leftovers(dir),
            0,
            "{what}: the next run left the {before} temp entries of the killed one"
        );
    }
    before
}

#[test]
fn killed_package_leaves_the_old_archive_or_the_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let reference = t.join("ref");
    run_ok(
        appkit()
            .arg("package")
            .arg(chart_dir())
            .arg("-d")
            .arg(&reference),
    );
    let name = "app-0.1.0.tgz";
    let new = fs::read(reference.join(name)).unwrap();
    let (mut finished, mut left) = (0, 0);
    for &ms in DELAYS {
        let out = t.join(format!("out{ms}"));
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join(name), b"OLD").unwrap();
        let mut c = appkit();
        c.arg("package").arg(chart_dir()).arg("-d").arg(&out);
        finished += kill_after(&mut c, ms) as usize;
        let now = fs::read(out.join(name)).unwrap();
        assert!(
            now == b"OLD" || now == new,
            "killed after {ms} ms: {} bytes",
            now.len()
        );
        let mut again = appkit();
        again.arg("package").arg(chart_dir()).arg("-d").arg(&out);
        left += next_run_sweeps(&mut again, &out, &format!("package killed after {ms} ms"));
    }
    eprintln!(
        "package: {} kills, {finished} runs had finished, {left} temp files left (all removed by the next run)",
        DELAYS.len()
    );
    assert!(
        finished < DELAYS.len(),
        "no run was interrupted: the test proves nothing"
    );
}

fn platform(t: &Path, name: &str) -> PathBuf {
    let root = t.join(name);
    copy_dir(&examples_dir(), &root.join("repo"));
    copy_dir(&chart_dir(), &root.join("chart"));
    root.join("repo")
}

#[test]
fn killed_render_leaves_each_file_old_or_new() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // The new state: a changed interval re-renders every HelmRelease.
    let change = |repo: &Path| {
        let p = repo.join("appkit.yaml");
        let y = fs::read_to_string(&p).unwrap();
        fs::write(&p, y.replace("interval: 10m", "interval: 7m")).unwrap();
    };
    let reference = platform(t, "ref");
    change(&reference);
    run_ok(appkit().current_dir(&reference).arg("render"));
    let new = files(&reference.join("clusters"));
    let old = files(&examples_dir().join("clusters"));
    assert_ne!(old, new);
    let (mut finished, mut left) = (0, 0);
    for &ms in DELAYS {
        let repo = platform(t, &format!("p{ms}"));
        change(&repo);
        let mut c = appkit();
        c.current_dir(&repo).arg("render");
        finished += kill_after(&mut c, ms) as usize;
        for (rel, bytes) in files(&repo.join("clusters")) {
            let o = old.iter().find(|(r, _)| *r == rel).map(|(_, b)| b);
            let n = new.iter().find(|(r, _)| *r == rel).map(|(_, b)| b);
            assert!(
                Some(&bytes) == o || Some(&bytes) == n,
                "killed after {ms} ms: {rel} is neither old nor new:\n{}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let mut again = appkit();
        again.current_dir(&repo).arg("render");
        left += next_run_sweeps(
            &mut again,
            &repo.join("clusters"),
            &format!("render killed after {ms} ms"),
        );
    }
    eprintln!(
        "render: {} kills, {finished} runs had finished, {left} temp files left (all removed by the next run)",
        DELAYS.len()
    );
    assert!(finished < DELAYS.len(), "no run was interrupted");
}

#[test]
fn killed_publish_never_leaves_a_tag_without_its_blobs_or_a_lock_without_its_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (mut finished, mut left) = (0, 0);
    for &ms in DELAYS {
        let repo = platform(t, &format!("p{ms}"));
        let lock_before = fs::read(repo.join("appkit.lock")).unwrap();
        let layout = t.join(format!("layout{ms}"));
        let mut c = appkit();
        c.current_dir(&repo)
            .args(["publish", "--to"])
            .arg(format!("oci-layout:{}", layout.display()));
        finished += kill_after(&mut c, ms) as usize;
        // Every manifest the index names exists, and so does every blob it references.
        let index = layout.join("index.json");
        let mut tagged = Vec::new();
        if index.exists() {
            let v: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap())
                .unwrap_or_else(|e| panic!("killed after {ms} ms: index.json is not JSON: {e}"));
            for m in v["manifests"].as_array().unwrap() {
                let d = m["digest"].as_str().unwrap();
                let blob = |d: &str| layout.join("blobs/sha256").join(&d[7..]);
                let manifest: serde_json::Value =
                    serde_json::from_slice(&fs::read(blob(d)).unwrap_or_else(|e| {
                        panic!("killed after {ms} ms: tagged manifest {d} missing: {e}")
                    }))
                    .unwrap();
                let mut refs = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
                for l in manifest["layers"].as_array().unwrap() {
                    refs.push(l["digest"].as_str().unwrap().to_string());
                }
                for r in refs {
                    let bytes = fs::read(blob(&r))
                        .unwrap_or_else(|e| panic!("killed after {ms} ms: blob {r} missing: {e}"));
                    assert_eq!(
                        crate::oci::sha256(&bytes),
                        r,
                        "killed after {ms} ms: blob {r}"
                    );
                }
                tagged.push(d.to_string());
            }
        }
        // The lock is the old one, or a new one whose digest is tagged in the layout.
        let lock = fs::read(repo.join("appkit.lock")).unwrap();
        if lock != lock_before {
            let text = String::from_utf8(lock).unwrap();
            assert!(
                tagged.iter().any(|d| text.contains(d.as_str())),
                "killed after {ms} ms: appkit.lock names a digest the layout does not tag:\n{text}"
            );
        }
        let what = format!("publish killed after {ms} ms");
        let publish = || {
            let mut c = appkit();
            c.current_dir(&repo)
                .args(["publish", "--to"])
                .arg(format!("oci-layout:{}", layout.display()));
            c
        };
        left += next_run_sweeps(&mut publish(), &layout, &what);
        left += next_run_sweeps(&mut publish(), &repo, &what);
    }
    eprintln!(
        "publish: {} kills, {finished} runs had finished, {left} temp files left (all removed by the next run)",
        DELAYS.len()
    );
    assert!(finished < DELAYS.len(), "no run was interrupted");
}

#[test]
fn killed_pull_untar_leaves_no_chart_or_the_whole_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let layout = t.join("layout");
    run_ok(
        appkit()
            .arg("push")
            .arg(chart_dir())
            .arg(format!("oci-layout:{}", layout.display())),
    );
    let reference = t.join("ref");
    run_ok(
        appkit()
            .arg("pull")
            .arg(format!("oci-layout:{}/app", layout.display()))
            .args(["--untar", "-d"])
            .arg(&reference),
    );
    let whole = files(&reference.join("app"));
    assert!(whole.len() > 5);
    let (mut finished, mut left) = (0, 0);
    for &ms in DELAYS {
        let dest = t.join(format!("d{ms}"));
        let mut c = appkit();
        c.arg("pull")
            .arg(format!("oci-layout:{}/app", layout.display()))
            .args(["--untar", "-d"])
            .arg(&dest);
        finished += kill_after(&mut c, ms) as usize;
        let chart = dest.join("app");
        if chart.exists() {
            assert_eq!(
                files(&chart),
                whole,
                "killed after {ms} ms: a partial chart"
            );
            fs::remove_dir_all(&chart).unwrap();
        }
        let mut again = appkit();
        again
            .arg("pull")
            .arg(format!("oci-layout:{}/app", layout.display()))
            .args(["--untar", "-d"])
            .arg(&dest);
        left += next_run_sweeps(&mut again, &dest, &format!("pull killed after {ms} ms"));
    }
    eprintln!(
        "pull --untar: {} kills, {finished} runs had finished, {left} temp dirs left (all removed by the next run)",
        DELAYS.len()
    );
    assert!(finished < DELAYS.len(), "no run was interrupted");
}

/// Temp entries named for a process that is gone are removed by the next run writing to their
/// directory; those of a running process (a concurrent appkit) and other dot files are kept.
#[test]
fn next_run_removes_temp_entries_of_dead_processes_only() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let alive = std::process::id();
    let plant = |dir: &Path| {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(format!(".appkit-tmp-{dead}-Ab12")), b"partial").unwrap();
        fs::create_dir_all(dir.join(format!(".appkit-untar-{dead}-Cd34/app/templates"))).unwrap();
        fs::create_dir_all(dir.join(format!(".appkit-new-{dead}-Ef56"))).unwrap();
        fs::write(dir.join(format!(".appkit-tmp-{alive}-Gh78")), b"in flight").unwrap();
        fs::write(dir.join(".keep"), b"user's").unwrap();
    };
    let kept = |dir: &Path| {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.'))
            .collect();
        names.sort();
        names
    };
    let want = vec![format!(".appkit-tmp-{alive}-Gh78"), ".keep".to_string()];

    let out = t.join("out");
    plant(&out);
    run_ok(appkit().arg("package").arg(chart_dir()).arg("-d").arg(&out));
    assert_eq!(kept(&out), want, "package");

    let layout = t.join("layout");
    run_ok(
        appkit()
            .arg("push")
            .arg(out.join("app-0.1.0.tgz"))
            .arg(format!("oci-layout:{}", layout.display())),
    );
    let dest = t.join("dest");
    plant(&dest);
    run_ok(
        appkit()
            .arg("pull")
            .arg(format!("oci-layout:{}/app", layout.display()))
            .args(["--untar", "-d"])
            .arg(&dest),
    );
    assert_eq!(kept(&dest), want, "pull --untar");

    let repo = platform(t, "p");
    let env_dir = repo.join("clusters/dev/apps");
    plant(&env_dir);
    fs::remove_file(env_dir.join("app1.yaml")).unwrap();
    run_ok(appkit().current_dir(&repo).arg("render"));
    assert_eq!(kept(&env_dir), want, "render");

    let apps = repo.join("apps");
    plant(&apps);
    run_ok(
        appkit()
            .current_dir(&repo)
            .args(["new", "app3", "--image"])
            .arg(format!("ghcr.io/acme/app3@sha256:{}", "a".repeat(64))),
    );
    assert_eq!(kept(&apps), want, "new");
}
