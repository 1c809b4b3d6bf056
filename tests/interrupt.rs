//! No partial state: real runs of package, render, publish (to an OCI layout) and pull --untar are
//! stopped at every write they make, and after each stop every file they write is either the old
//! one or the complete new one — never a truncated file, a lock that names a digest the layout
//! does not tag, a tag that points to missing blobs, or a half-extracted chart.
//!
//! The stops are deterministic: with `APPKIT_TEST_CRASH_AT_WRITE=N` the binary aborts itself (no
//! destructor runs, as after a SIGKILL) at its Nth write, after the new content is complete in a
//! temp entry and before it is renamed into place (`src/fsutil.rs` `before_rename`). Each test runs
//! its command with N = 1, 2, … until a run completes, so it stops once before every rename the
//! command does and knows exactly how many that was. After each stop the temp entry must be there
//! (the write went through one) and the next complete run must remove it.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{appkit, chart_dir, example_platform, examples_dir, run, run_ok, sha256};

/// More writes than any command here does: a run that has not completed by then is a bug.
const MAX_WRITES: usize = 100;

/// How one crashed run ended.
fn assert_crashed(out: &std::process::Output, what: &str, n: usize) {
    use std::os::unix::process::ExitStatusExt;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(6),
        "{what}: APPKIT_TEST_CRASH_AT_WRITE={n} did not abort the run ({}):\n{err}",
        out.status
    );
    assert!(err.contains("APPKIT_TEST_CRASH_AT_WRITE"), "{what}: {err}");
}

/// Run the command `make()` builds with `APPKIT_TEST_CRASH_AT_WRITE` = 1, 2, … (each on fresh
/// state from `setup(n)`), calling `check(n, state)` after each crashed run, until a run
/// completes. Returns how many writes the command does (the crashes before the completing run).
fn crash_at_every_write<S>(
    what: &str,
    mut setup: impl FnMut(usize) -> S,
    make: impl Fn(&S) -> Command,
    mut check: impl FnMut(usize, &S),
) -> usize {
    for n in 1..=MAX_WRITES {
        let state = setup(n);
        let mut c = make(&state);
        c.env("APPKIT_TEST_CRASH_AT_WRITE", n.to_string());
        let out = run(&mut c);
        if out.status.success() {
            eprintln!(
                "{what}: stopped before each of its {} renames in turn; after each stop every file was the old or the new one, and the next run removed the temp entry left",
                n - 1
            );
            return n - 1;
        }
        assert_crashed(&out, what, n);
        check(n, &state);
    }
    panic!("{what}: still crashing at write {MAX_WRITES}");
}

/// Every file under `dir` (relative path → bytes), temp entries of interrupted writes excluded
/// (they are counted by [`leftovers`]).
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

/// The crashed run left its temp entry under `dir` (its write went through one), and the next
/// complete run of `cmd` removes it.
fn next_run_sweeps(cmd: &mut Command, dir: &Path, what: &str) {
    let before = leftovers(dir);
    assert!(
        before >= 1,
        "{what}: no temp entry left: the interrupted write did not go through a temp file"
    );
    run_ok(cmd);
    assert_eq!(
        leftovers(dir),
        0,
        "{what}: the next run left the {before} temp entries of the crashed one"
    );
}

/// Each file under `dir` is the old or the new version of itself; returns how many are new.
fn old_or_new(
    dir: &Path,
    old: &[(String, Vec<u8>)],
    new: &[(String, Vec<u8>)],
    what: &str,
) -> usize {
    let mut changed = 0;
    for (rel, bytes) in files(dir) {
        let o = old.iter().find(|(r, _)| *r == rel).map(|(_, b)| b);
        let n = new.iter().find(|(r, _)| *r == rel).map(|(_, b)| b);
        assert!(
            Some(&bytes) == o || Some(&bytes) == n,
            "{what}: {rel} is neither old nor new ({} bytes):\n{}",
            bytes.len(),
            String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
        );
        changed += (Some(&bytes) != o) as usize;
    }
    changed
}

#[test]
fn crashed_package_leaves_the_old_archive_or_the_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let name = "app-0.2.0.tgz";
    let reference = t.join("ref");
    run_ok(
        appkit()
            .arg("package")
            .arg(chart_dir())
            .arg("-d")
            .arg(&reference),
    );
    let new = fs::read(reference.join(name)).unwrap();
    let package = |out: &Path| {
        let mut c = appkit();
        c.arg("package").arg(chart_dir()).arg("-d").arg(out);
        c
    };
    let writes = crash_at_every_write(
        "package",
        |n| {
            let out = t.join(format!("out{n}"));
            fs::create_dir_all(&out).unwrap();
            fs::write(out.join(name), b"OLD").unwrap();
            out
        },
        |out| package(out),
        |n, out| {
            let what = format!("package stopped at write {n}");
            let now = fs::read(out.join(name)).unwrap();
            assert!(
                now == b"OLD",
                "{what}: {} bytes, not the old file",
                now.len()
            );
            next_run_sweeps(&mut package(out), out, &what);
            assert!(
                fs::read(out.join(name)).unwrap() == new,
                "{what}: the next run"
            );
        },
    );
    assert_eq!(writes, 1, "package writes one file");
}

#[test]
fn crashed_render_leaves_each_file_old_or_new() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // The new state: a changed interval re-renders every HelmRelease.
    let change = |repo: &Path| {
        let p = repo.join("appkit.yaml");
        let y = fs::read_to_string(&p).unwrap();
        assert!(y.contains("interval: 10m"), "fixture changed");
        fs::write(&p, y.replace("interval: 10m", "interval: 7m")).unwrap();
    };
    let reference = example_platform(&t.join("ref"));
    change(&reference);
    run_ok(appkit().current_dir(&reference).arg("render"));
    let new = files(&reference.join("clusters"));
    let old = files(&examples_dir().join("clusters"));
    let differ = new
        .iter()
        .filter(|(r, b)| old.iter().find(|(o, _)| o == r).map(|(_, ob)| ob) != Some(b))
        .count();
    assert!(differ >= 2, "the change re-renders several files");
    // Each environment's directory is switched in one rename (src/flux/drift.rs).
    let env_of = |rel: &str| rel.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let envs_changed = {
        let mut dirs: Vec<String> = new
            .iter()
            .filter(|(r, b)| old.iter().find(|(o, _)| o == r).map(|(_, ob)| ob) != Some(b))
            .map(|(r, _)| env_of(r))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    };
    assert!(envs_changed.len() >= 2, "{envs_changed:?}");
    let in_env = |all: &[(String, Vec<u8>)], env: &str| -> Vec<(String, Vec<u8>)> {
        all.iter()
            .filter(|(r, _)| env_of(r) == env)
            .cloned()
            .collect()
    };
    let render = |repo: &Path| {
        let mut c = appkit();
        c.current_dir(repo).arg("render");
        c
    };
    let writes = crash_at_every_write(
        "render",
        |n| {
            let repo = example_platform(&t.join(format!("p{n}")));
            change(&repo);
            repo
        },
        |repo| render(repo),
        |n, repo| {
            let what = format!("render stopped at write {n}");
            let clusters = repo.join("clusters");
            old_or_new(&clusters, &old, &new, &what);
            // Never a mix inside one environment: each is wholly old or wholly new.
            let now = files(&clusters);
            let mut switched = 0;
            for env in &envs_changed {
                let here = in_env(&now, env);
                if here == in_env(&new, env) {
                    switched += 1;
                } else {
                    assert_eq!(here, in_env(&old, env), "{what}: {env} is a mix");
                }
            }
            assert!(switched < n, "{what}: {switched} environments switched");
            next_run_sweeps(&mut render(repo), &clusters, &what);
            assert_eq!(files(&clusters), new, "{what}: the next run");
        },
    );
    assert_eq!(
        writes,
        envs_changed.len(),
        "render switches each changed environment's directory once"
    );
}

/// Publish a changed chart (a new version, so a new digest and a new lock entry) to an OCI
/// layout, stopped at every write: every tag's manifest and blobs exist and match their digests,
/// and the lock is the old one or names a digest the layout tags — it is written last.
#[test]
fn crashed_publish_never_leaves_a_tag_without_its_blobs_or_a_lock_without_its_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let bump = |repo: &Path| {
        let p = repo.join("../chart/Chart.yaml");
        let y = fs::read_to_string(&p).unwrap();
        assert!(y.contains("\nversion: 0.2.0\n"), "fixture changed");
        fs::write(&p, y.replace("\nversion: 0.2.0\n", "\nversion: 0.3.0\n")).unwrap();
    };
    let publish = |(repo, layout): &(std::path::PathBuf, std::path::PathBuf)| {
        let mut c = appkit();
        c.current_dir(repo)
            .args(["publish", "--to"])
            .arg(format!("oci-layout:{}", layout.display()));
        c
    };
    let lock_before = fs::read(examples_dir().join("appkit.lock")).unwrap();
    let (mut old_lock_runs, mut new_lock_runs) = (0, 0);
    let writes = crash_at_every_write(
        "publish",
        |n| {
            let repo = example_platform(&t.join(format!("p{n}")));
            bump(&repo);
            (repo, t.join(format!("layout{n}")))
        },
        |s| publish(s),
        |n, state| {
            let (repo, layout) = state;
            let what = format!("publish stopped at write {n}");
            let tagged = tagged_digests(layout, &what);
            let lock = fs::read(repo.join("appkit.lock")).unwrap();
            if lock == lock_before {
                old_lock_runs += 1;
            } else {
                new_lock_runs += 1;
                let text = String::from_utf8(lock).unwrap();
                assert!(
                    text.contains("\"0.3.0\":")
                        && tagged.iter().any(|d| text.contains(d.as_str())),
                    "{what}: appkit.lock names a digest the layout does not tag ({tagged:?}):\n{text}"
                );
            }
            let left = leftovers(layout) + leftovers(repo);
            assert!(left >= 1, "{what}: no temp entry left");
            run_ok(&mut publish(state));
            assert_eq!(leftovers(layout) + leftovers(repo), 0, "{what}: not swept");
            assert!(!tagged_digests(layout, &what).is_empty());
        },
    );
    // The layout marker, the config, chart layer and manifest blobs, index.json, then the lock.
    assert!(writes >= 4, "publish did {writes} writes");
    assert_eq!(
        (old_lock_runs, new_lock_runs),
        (writes, 0),
        "every stop before the lock is renamed leaves the old lock"
    );
}

/// The manifests `index.json` of an OCI layout tags, after checking each exists with its config
/// and layers, every blob matching its digest.
fn tagged_digests(layout: &Path, what: &str) -> Vec<String> {
    let index = layout.join("index.json");
    let mut tagged = Vec::new();
    if !index.exists() {
        return tagged;
    }
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap())
        .unwrap_or_else(|e| panic!("{what}: index.json is not JSON: {e}"));
    let blob = |d: &str| layout.join("blobs/sha256").join(&d[7..]);
    for m in v["manifests"].as_array().unwrap() {
        let d = m["digest"].as_str().unwrap();
        let bytes = fs::read(blob(d))
            .unwrap_or_else(|e| panic!("{what}: tagged manifest {d} missing: {e}"));
        assert_eq!(sha256(&bytes), d, "{what}: manifest {d}");
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let mut refs = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
        for l in manifest["layers"].as_array().unwrap() {
            refs.push(l["digest"].as_str().unwrap().to_string());
        }
        for r in refs {
            let bytes =
                fs::read(blob(&r)).unwrap_or_else(|e| panic!("{what}: blob {r} missing: {e}"));
            assert_eq!(sha256(&bytes), r, "{what}: blob {r}");
        }
        tagged.push(d.to_string());
    }
    tagged
}

#[test]
fn crashed_pull_untar_leaves_no_chart_or_the_whole_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let layout = t.join("layout");
    run_ok(
        appkit()
            .arg("push")
            .arg(chart_dir())
            .arg(format!("oci-layout:{}", layout.display())),
    );
    let pull = |dest: &Path| {
        let mut c = appkit();
        c.arg("pull")
            .arg(format!("oci-layout:{}/app", layout.display()))
            .args(["--untar", "-d"])
            .arg(dest);
        c
    };
    let reference = t.join("ref");
    run_ok(&mut pull(&reference));
    let whole = files(&reference.join("app"));
    assert!(whole.len() > 5);
    let writes = crash_at_every_write(
        "pull --untar",
        |n| t.join(format!("d{n}")),
        |dest| pull(dest),
        |n, dest| {
            let what = format!("pull --untar stopped at write {n}");
            assert!(!dest.join("app").exists(), "{what}: a partial chart");
            next_run_sweeps(&mut pull(dest), dest, &what);
            assert_eq!(files(&dest.join("app")), whole, "{what}: the next run");
        },
    );
    assert_eq!(writes, 1, "pull --untar renames one staging directory");
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
            .arg(out.join("app-0.2.0.tgz"))
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

    let repo = example_platform(&t.join("p"));
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

/// The age rule: a temp entry whose process is alive (pids are reused) is still removed once it is
/// over an hour old; a younger one of the same live process is kept.
#[test]
fn temp_entries_over_an_hour_old_are_removed_even_when_their_pid_is_alive() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let alive = std::process::id();
    let old = out.join(format!(".appkit-tmp-{alive}-Old1"));
    let young = out.join(format!(".appkit-tmp-{alive}-New1"));
    let nopid_old = out.join(".appkit-tmp-Old2");
    for p in [&old, &young, &nopid_old] {
        fs::write(p, b"x").unwrap();
    }
    let hours_ago =
        |h: u64| std::time::SystemTime::now() - std::time::Duration::from_secs(h * 3600);
    for p in [&old, &nopid_old] {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(hours_ago(2))
            .unwrap();
    }
    // 59 minutes: not yet stale.
    fs::File::options()
        .write(true)
        .open(&young)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(59 * 60))
        .unwrap();
    run_ok(appkit().arg("package").arg(chart_dir()).arg("-d").arg(&out));
    assert!(
        !old.exists(),
        "an entry 2 h old is removed though its pid runs"
    );
    assert!(!nopid_old.exists(), "an old entry without a pid is removed");
    assert!(
        young.exists(),
        "an entry 59 min old of a live process is kept"
    );
}
