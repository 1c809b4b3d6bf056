//! Concurrent runs and a full disk (issue 14, items 8–11): two publishes of one version racing
//! on a registry and on an OCI layout, eight pushes into one layout, two renders into one output
//! directory, and a render that runs out of space or is killed half-way.
//!
//! Every interleaving is forced, not hoped for: the fault proxy holds one job's request at a
//! [`Gate`] while the other job runs (`tests/common/fault_proxy.rs`), and
//! `APPKIT_TEST_STOP_BEFORE=<name>` stops a process (SIGSTOP) right before it renames something
//! of that name, holding its lock, until the test resumes (SIGCONT) or kills (SIGKILL) it; that a
//! competitor is waiting on the lock is read from `/proc/locks`. The free-running races run a few
//! rounds on top, as smoke tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::registry::{Fault, FaultAction, FaultProxy, Gate, Registry};
use crate::common::{appkit, example_platform, helm, run, run_ok, sha256, stderr, stdout};

/// How long a test waits for a held request or a stopped process before it fails.
const WAIT: Duration = Duration::from_secs(60);
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A copy of the example platform whose chart is at `version`; a non-empty `variant` changes the
/// chart's content (a comment in values.yaml), so two variants are two different charts.
fn platform(dir: &Path, version: &str, variant: &str) -> PathBuf {
    let root = example_platform(dir);
    let chart = root.join("../chart/Chart.yaml");
    let text = fs::read_to_string(&chart).unwrap();
    assert!(text.contains("\nversion: 0.2.0\n"), "fixture changed");
    fs::write(
        &chart,
        text.replace("\nversion: 0.2.0\n", &format!("\nversion: {version}\n")),
    )
    .unwrap();
    if !variant.is_empty() {
        let values = root.join("../chart/values.yaml");
        let mut v = fs::read_to_string(&values).unwrap();
        v.push_str(&format!("\n# variant {variant}\n"));
        fs::write(&values, v).unwrap();
    }
    root
}

/// `publish --to <to> -o json` in `root` (credentials and SOURCE_DATE_EPOCH of the host ignored).
fn publish(root: &Path, to: &str) -> Command {
    let mut c = appkit();
    c.current_dir(root)
        .args(["publish", "--to", to, "-o", "json"]);
    if to.starts_with("oci://") {
        c.arg("--plain-http");
    }
    c.env_remove("SOURCE_DATE_EPOCH")
        .env(
            "HELM_REGISTRY_CONFIG",
            "/nonexistent/appkit-test/config.json",
        )
        .env("DOCKER_CONFIG", "/nonexistent/appkit-test");
    c
}

fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {c:?}: {e}"))
}

fn digest_of(out: &Output) -> String {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), stderr(out)));
    v["manifestDigest"].as_str().unwrap().to_string()
}

/// The digest `appkit.lock` in `root` records for `version`.
fn lock_digest(root: &Path, version: &str) -> Option<String> {
    let text = fs::read_to_string(root.join("appkit.lock")).ok()?;
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() == format!("\"{version}\":") {
            let d = lines.next()?.trim().strip_prefix("digest: \"")?;
            return d.strip_suffix('"').map(str::to_string);
        }
    }
    None
}

/// The manifest digest the registry's tag `version` of `platform/app` points at.
fn tagged(reg: &Registry, version: &str) -> String {
    let (status, body) = reg.get(&format!("/v2/platform/app/manifests/{version}"), MANIFEST);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    sha256(&body)
}

/// The manifest digest a job pushed through `proxy` (its PUT by digest).
fn pushed_digest(proxy: &FaultProxy) -> String {
    let reqs = proxy.requests();
    let put = reqs
        .iter()
        .find(|(m, t, _)| m == "PUT" && t.contains("/manifests/sha256:"))
        .unwrap_or_else(|| panic!("no manifest PUT by digest: {reqs:?}"));
    put.1.rsplit_once('/').unwrap().1.to_string()
}

fn hold(method: &'static str, path: &'static str, after: usize, gate: &Gate) -> Fault {
    Fault {
        method,
        path_contains: path,
        action: FaultAction::After(after, Box::new(FaultAction::Hold(gate.clone()))),
        times: 1,
    }
}

fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// A's manifest PUT is held while B publishes the same version with other content to the end:
/// when A's PUT goes on, A checks the tag again before moving it, finds B's chart, and fails
/// (exit 1, both digests named, lock untouched); B's publish stands.
#[test]
fn registry_a_held_manifest_put_loses_to_a_publish_that_completes_meanwhile() {
    let reg = Registry::anonymous();
    let tmp = tempfile::tempdir().unwrap();
    let a = platform(&tmp.path().join("a"), "0.3.0", "a");
    let b = platform(&tmp.path().join("b"), "0.3.0", "b");
    let a_lock = fs::read(a.join("appkit.lock")).unwrap();
    let gate = Gate::new();
    let proxy = FaultProxy::start(&reg.host, vec![hold("PUT", "/manifests/sha256:", 0, &gate)]);
    let job_a = spawn(publish(&a, &proxy.oci("platform")));
    gate.wait_arrived(1, WAIT);
    let out_b = run(&mut publish(&b, &reg.oci("platform")));
    assert_exit(&out_b, 0, "B");
    let b_digest = digest_of(&out_b);
    gate.open();
    let out_a = job_a.wait_with_output().unwrap();
    assert_exit(&out_a, 1, "A");
    let a_digest = pushed_digest(&proxy);
    let err = stderr(&out_a);
    assert!(
        err.contains("a concurrent push with other content tagged it first")
            && err.contains(&b_digest)
            && err.contains(&a_digest)
            && err.contains("appkit.lock not written"),
        "{err}"
    );
    assert!(err.contains("hint:") && err.contains("immutab"), "{err}");
    assert_eq!(fs::read(a.join("appkit.lock")).unwrap(), a_lock, "A's lock");
    assert_eq!(tagged(&reg, "0.3.0"), b_digest);
    assert_eq!(lock_digest(&b, "0.3.0").as_deref(), Some(b_digest.as_str()));
    assert_eq!(
        proxy.count("PUT", "/manifests/0.3.0"),
        0,
        "A never moved the tag"
    );
}

/// B's tag PUT lands after A's: A read the tag back (right after its PUT, or after the settle
/// delay — both read-backs are tested) and finds B's chart there, so A fails and B stands.
/// B had checked the tag before A moved it (its tag PUT was held meanwhile).
#[test]
fn registry_a_tag_moved_right_after_its_push_is_caught_by_either_read_back() {
    // The HEADs of the tag A makes: pre-check, check before the tag PUT, read-back, read-back
    // after the settle delay. Hold the third, then the fourth.
    for (read_back, skipped) in [("first", 2), ("after the settle delay", 3)] {
        let what = format!("caught by the {read_back} read-back");
        let reg = Registry::anonymous();
        let tmp = tempfile::tempdir().unwrap();
        let a = platform(&tmp.path().join("a"), "0.3.0", "a");
        let b = platform(&tmp.path().join("b"), "0.3.0", "b");
        let a_lock = fs::read(a.join("appkit.lock")).unwrap();
        let (gate_a, gate_b) = (Gate::new(), Gate::new());
        let proxy_a = FaultProxy::start(
            &reg.host,
            vec![hold("HEAD", "/manifests/0.3.0", skipped, &gate_a)],
        );
        let proxy_b =
            FaultProxy::start(&reg.host, vec![hold("PUT", "/manifests/0.3.0", 0, &gate_b)]);
        let job_b = spawn(publish(&b, &proxy_b.oci("platform")));
        gate_b.wait_arrived(1, WAIT);
        let job_a = spawn(publish(&a, &proxy_a.oci("platform")));
        gate_a.wait_arrived(1, WAIT);
        let a_digest = pushed_digest(&proxy_a);
        assert_eq!(tagged(&reg, "0.3.0"), a_digest, "{what}: A moved the tag");
        gate_b.open();
        let out_b = job_b.wait_with_output().unwrap();
        assert_exit(&out_b, 0, &format!("{what}: B"));
        let b_digest = digest_of(&out_b);
        gate_a.open();
        let out_a = job_a.wait_with_output().unwrap();
        assert_exit(&out_a, 1, &format!("{what}: A"));
        let err = stderr(&out_a);
        assert!(
            err.contains("a concurrent push with other content moved the tag right after this push had tagged it")
                && err.contains(&a_digest)
                && err.contains(&b_digest)
                && err.contains("appkit.lock not written"),
            "{what}: {err}"
        );
        assert_eq!(
            fs::read(a.join("appkit.lock")).unwrap(),
            a_lock,
            "{what}: A's lock"
        );
        assert_eq!(tagged(&reg, "0.3.0"), b_digest, "{what}");
        assert_eq!(
            lock_digest(&b, "0.3.0").as_deref(),
            Some(b_digest.as_str()),
            "{what}"
        );
    }
}

/// Two publishes of the same chart: A's tag PUT is held while B publishes it; A's PUT then
/// writes the same manifest again. Both succeed and both locks name the tagged digest.
#[test]
fn registry_the_same_chart_published_twice_at_once_succeeds_twice() {
    let reg = Registry::anonymous();
    let tmp = tempfile::tempdir().unwrap();
    let a = platform(&tmp.path().join("a"), "0.3.0", "same");
    let b = platform(&tmp.path().join("b"), "0.3.0", "same");
    let gate = Gate::new();
    let proxy = FaultProxy::start(&reg.host, vec![hold("PUT", "/manifests/0.3.0", 0, &gate)]);
    let job_a = spawn(publish(&a, &proxy.oci("platform")));
    gate.wait_arrived(1, WAIT);
    let out_b = run(&mut publish(&b, &reg.oci("platform")));
    assert_exit(&out_b, 0, "B");
    gate.open();
    let out_a = job_a.wait_with_output().unwrap();
    assert_exit(&out_a, 0, "A");
    let digest = tagged(&reg, "0.3.0");
    assert_eq!(digest_of(&out_a), digest);
    assert_eq!(digest_of(&out_b), digest);
    assert_eq!(lock_digest(&a, "0.3.0").as_deref(), Some(digest.as_str()));
    assert_eq!(lock_digest(&b, "0.3.0").as_deref(), Some(digest.as_str()));
}

/// `helm push` of the same chart archive makes another manifest (Helm's own annotations) with
/// the same config and chart layer: not a conflict. Helm 3 tags it right after the publish did
/// (caught by the read-back), Helm 4 before the publish moves the tag (caught by the check before
/// the PUT); either way the publish succeeds and its lock names the manifest the tag points at.
#[test]
fn registry_helm_push_of_the_same_chart_racing_a_publish_is_not_a_conflict() {
    // (Helm major, held request: method, path, matching requests let through first)
    let cases: [(u8, &str, &str, usize); 2] = [
        (3, "HEAD", "/manifests/0.3.0", 2),
        (4, "PUT", "/manifests/sha256:", 0),
    ];
    for (major, method, path, skipped) in cases {
        let what = format!("helm {major}");
        let reg = Registry::anonymous();
        let tmp = tempfile::tempdir().unwrap();
        let a = platform(&tmp.path().join("a"), "0.3.0", "");
        // The archive publish packages (same bytes: same chart, same SOURCE_DATE_EPOCH).
        let pkg = tmp.path().join("pkg");
        run_ok(
            appkit()
                .env_remove("SOURCE_DATE_EPOCH")
                .arg("package")
                .arg(a.join("../chart"))
                .arg("-d")
                .arg(&pkg),
        );
        let gate = Gate::new();
        let proxy = FaultProxy::start(&reg.host, vec![hold(method, path, skipped, &gate)]);
        let job = spawn(publish(&a, &proxy.oci("platform")));
        gate.wait_arrived(1, WAIT);
        let home = tmp.path().join("helm-home");
        run_ok(
            helm(major, &home)
                .arg("push")
                .arg(pkg.join("app-0.3.0.tgz"))
                .arg(reg.oci("platform"))
                .args(reg.helm_flags()),
        );
        let by_helm = tagged(&reg, "0.3.0");
        gate.open();
        let out = job.wait_with_output().unwrap();
        assert_exit(&out, 0, &what);
        let ours = pushed_digest(&proxy);
        assert_ne!(
            by_helm, ours,
            "{what}: Helm's manifest differs from appkit's"
        );
        assert_eq!(tagged(&reg, "0.3.0"), by_helm, "{what}: Helm's tag stands");
        assert_eq!(digest_of(&out), by_helm, "{what}: the digest reported");
        assert_eq!(
            lock_digest(&a, "0.3.0").as_deref(),
            Some(by_helm.as_str()),
            "{what}: the lock names the tagged manifest"
        );
    }
}

/// Smoke test: two publishes of one version with different content, free-running, a few
/// rounds. Never both succeed; whoever succeeds has its digest tagged and in its lock; the other
/// exits 1 with its lock untouched.
#[test]
fn registry_free_running_publish_race_smoke() {
    let reg = Registry::anonymous();
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..4 {
        let version = format!("0.{}.0", round + 2);
        let dir = tmp.path().join(format!("r{round}"));
        let a = platform(&dir.join("a"), &version, "a");
        let b = platform(&dir.join("b"), &version, "b");
        let locks = [
            fs::read(a.join("appkit.lock")).unwrap(),
            fs::read(b.join("appkit.lock")).unwrap(),
        ];
        let jobs = [
            spawn(publish(&a, &reg.oci("platform"))),
            spawn(publish(&b, &reg.oci("platform"))),
        ];
        let outs: Vec<Output> = jobs
            .into_iter()
            .map(|j| j.wait_with_output().unwrap())
            .collect();
        let won: Vec<usize> = (0..2).filter(|&i| outs[i].status.success()).collect();
        assert_eq!(won.len(), 1, "round {round}: exactly one wins: {outs:?}");
        let w = won[0];
        let digest = tagged(&reg, &version);
        assert_eq!(digest_of(&outs[w]), digest, "round {round}");
        let roots = [&a, &b];
        assert_eq!(
            lock_digest(roots[w], &version).as_deref(),
            Some(digest.as_str())
        );
        let l = 1 - w;
        assert_exit(&outs[l], 1, &format!("round {round}: the loser"));
        assert_eq!(fs::read(roots[l].join("appkit.lock")).unwrap(), locks[l]);
    }
}

// --- OCI layout -----------------------------------------------------------------------------

/// Wait until process `pid` is stopped (SIGSTOP: `APPKIT_TEST_STOP_BEFORE`).
fn wait_stopped(child: &mut Child) {
    let pid = child.id();
    let deadline = Instant::now() + WAIT;
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, r)| &r[..1]);
        if state == Some("T") {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("process {pid} ended ({status}) instead of stopping");
        }
        assert!(Instant::now() < deadline, "process {pid} did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until process `pid` is blocked waiting for a `flock` (a `->` line in `/proc/locks`).
fn wait_blocked_on_lock(child: &mut Child) {
    let pid = child.id().to_string();
    let deadline = Instant::now() + WAIT;
    loop {
        let locks = fs::read_to_string("/proc/locks").unwrap();
        if locks.lines().any(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            t.get(1) == Some(&"->") && t.get(5) == Some(&pid.as_str())
        }) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("process {pid} ended ({status}) without waiting for the lock");
        }
        assert!(
            Instant::now() < deadline,
            "process {pid} never waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// kill(2), not a `kill` executable (a minimal Debian has no procps).
fn signal(child: &Child, sig: rustix::process::Signal) {
    rustix::process::kill_process(rustix::process::Pid::from_child(child), sig)
        .unwrap_or_else(|e| panic!("kill({}, {sig:?}): {e}", child.id()));
}

/// `(chart, tag, digest)` of every entry of a layout's index.json.
fn layout_tags(layout: &Path) -> Vec<(String, String, String)> {
    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut out: Vec<(String, String, String)> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let a = &m["annotations"];
            (
                a["org.opencontainers.image.title"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                a["org.opencontainers.image.ref.name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every tagged manifest's blobs are in the layout.
fn assert_layout_complete(layout: &Path) {
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    for (_, tag, digest) in layout_tags(layout) {
        let m: Value = serde_json::from_slice(&fs::read(blob(&digest)).unwrap()).unwrap();
        assert!(
            blob(m["config"]["digest"].as_str().unwrap()).is_file(),
            "{tag}"
        );
        for l in m["layers"].as_array().unwrap() {
            assert!(blob(l["digest"].as_str().unwrap()).is_file(), "{tag}");
        }
    }
}

/// Eight pushes of distinct versions at once into one (new) layout, 20 rounds: every push
/// succeeds and every tag is kept (index.json is updated under the layout's lock).
#[test]
fn layout_eight_concurrent_pushes_keep_every_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let a = platform(&tmp.path().join("p"), "0.2.0", "");
    let pkg = tmp.path().join("pkg");
    let versions: Vec<String> = (0..8).map(|i| format!("1.0.{i}")).collect();
    for v in &versions {
        run_ok(
            appkit()
                .arg("package")
                .arg(a.join("../chart"))
                .args(["--version", v, "-d"])
                .arg(&pkg),
        );
    }
    for round in 0..20 {
        let layout = tmp.path().join(format!("layout{round}"));
        let jobs: Vec<Child> = versions
            .iter()
            .map(|v| {
                let mut c = appkit();
                c.arg("push")
                    .arg(pkg.join(format!("app-{v}.tgz")))
                    .arg(format!("oci-layout:{}", layout.display()));
                spawn(c)
            })
            .collect();
        for j in jobs {
            let out = j.wait_with_output().unwrap();
            assert_exit(&out, 0, &format!("round {round}"));
        }
        let tags: Vec<String> = layout_tags(&layout).into_iter().map(|t| t.1).collect();
        assert_eq!(tags, versions, "round {round}: a tag was lost");
        assert_layout_complete(&layout);
        let left: Vec<String> = fs::read_dir(&layout)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".appkit-"))
            .collect();
        assert!(left.is_empty(), "round {round}: {left:?}");
    }
}

/// Two publishes of one version with different content into one layout. A is stopped right
/// before it writes the index that tags its chart (holding the layout's lock) while B has pushed
/// its blobs and waits for the lock; then A goes on. Exactly one succeeds: B re-checks the tag
/// under the lock, finds A's chart and exits 1 with its lock untouched. Then a few free-running
/// rounds, as a smoke test: exactly one succeeds, never a lock naming an untagged digest.
#[test]
fn layout_two_publishes_of_one_version_exactly_one_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let to = format!("oci-layout:{}", layout.display());
    // An existing layout (another chart), so that A's first index.json write is its tag.
    let seed = platform(&tmp.path().join("seed"), "0.0.1", "");
    let pkg = tmp.path().join("pkg");
    run_ok(
        appkit()
            .arg("package")
            .arg(seed.join("../chart"))
            .arg("-d")
            .arg(&pkg),
    );
    run_ok(appkit().arg("push").arg(pkg.join("app-0.0.1.tgz")).arg(&to));

    let a = platform(&tmp.path().join("a"), "0.3.0", "a");
    let b = platform(&tmp.path().join("b"), "0.3.0", "b");
    let b_lock = fs::read(b.join("appkit.lock")).unwrap();
    let mut cmd_a = publish(&a, &to);
    cmd_a.env("APPKIT_TEST_STOP_BEFORE", "index.json");
    let mut job_a = spawn(cmd_a);
    wait_stopped(&mut job_a);
    let mut job_b = spawn(publish(&b, &to));
    wait_blocked_on_lock(&mut job_b);
    signal(&job_a, rustix::process::Signal::CONT);
    let out_a = job_a.wait_with_output().unwrap();
    assert_exit(&out_a, 0, "A");
    let out_b = job_b.wait_with_output().unwrap();
    assert_exit(&out_b, 1, "B");
    let a_digest = digest_of(&out_a);
    let err = stderr(&out_b);
    assert!(
        err.contains("a concurrent push with other content tagged it first")
            && err.contains(&a_digest)
            && err.contains("appkit.lock not written"),
        "{err}"
    );
    assert_eq!(fs::read(b.join("appkit.lock")).unwrap(), b_lock, "B's lock");
    assert_eq!(lock_digest(&a, "0.3.0").as_deref(), Some(a_digest.as_str()));
    let tags = layout_tags(&layout);
    assert!(
        tags.contains(&("app".into(), "0.3.0".into(), a_digest.clone())),
        "{tags:?}"
    );
    assert_layout_complete(&layout);

    for round in 0..3 {
        let version = format!("0.{}.0", round + 3);
        let dir = tmp.path().join(format!("r{round}"));
        let roots = [
            platform(&dir.join("a"), &version, "a"),
            platform(&dir.join("b"), &version, "b"),
        ];
        let locks: Vec<Vec<u8>> = roots
            .iter()
            .map(|r| fs::read(r.join("appkit.lock")).unwrap())
            .collect();
        let jobs: Vec<Child> = roots.iter().map(|r| spawn(publish(r, &to))).collect();
        let outs: Vec<Output> = jobs
            .into_iter()
            .map(|j| j.wait_with_output().unwrap())
            .collect();
        let won: Vec<usize> = (0..2).filter(|&i| outs[i].status.success()).collect();
        assert_eq!(won.len(), 1, "round {round}: exactly one wins: {outs:?}");
        let (w, l) = (won[0], 1 - won[0]);
        assert_exit(&outs[l], 1, &format!("round {round}: the loser"));
        assert_eq!(fs::read(roots[l].join("appkit.lock")).unwrap(), locks[l]);
        let digest = digest_of(&outs[w]);
        assert!(layout_tags(&layout).contains(&("app".into(), version.clone(), digest.clone())));
        assert_eq!(
            lock_digest(&roots[w], &version).as_deref(),
            Some(digest.as_str())
        );
    }
    assert_layout_complete(&layout);
}

// --- render ---------------------------------------------------------------------------------

/// The file names in `dir` (sorted), and the resources its kustomization.yaml lists.
fn env_state(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let k = fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    let listed = k
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(str::to_string)
        .collect();
    (names, listed)
}

/// kustomization.yaml lists exactly the other files of the directory.
fn assert_consistent(dir: &Path, what: &str) {
    let (names, listed) = env_state(dir);
    let others: Vec<String> = names
        .into_iter()
        .filter(|n| n != "kustomization.yaml")
        .collect();
    assert_eq!(others, listed, "{what}: kustomization.yaml vs the files");
}

/// Every `.appkit-*` entry under `dir` (temp entries, staging directories, lock files).
fn appkit_entries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with(".appkit-") {
            out.push(e.path());
        } else if e.file_type().unwrap().is_dir() {
            out.extend(appkit_entries(&e.path()));
        }
    }
    out
}

/// Every file under `dir` (relative path → bytes).
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A third app in the workspace at `root` (`helm appkit new`).
fn add_app3(root: &Path) {
    run_ok(
        appkit()
            .current_dir(root)
            .args(["new", "app3", "--image"])
            .arg(format!("ghcr.io/acme/app3@sha256:{}", "a".repeat(64))),
    );
}

fn render(root: &Path, args: &[&str]) -> Command {
    let mut c = appkit();
    c.current_dir(root).arg("render").args(args);
    c
}

/// Render A (apps app1 and app2) is stopped right before it switches the environment directory,
/// holding the render lock, and render B (app3 added) starts: B waits for the lock, then
/// plans against A's result. The lock lives beside the environment directory
/// (`clusters/dev/.appkit-render.lock`) only while held; the directory ends as B rendered it,
/// its kustomization.yaml listing exactly its files, and `render --check` is clean.
#[test]
fn render_two_renders_into_one_directory_are_serialised() {
    let tmp = tempfile::tempdir().unwrap();
    let root = example_platform(tmp.path());
    let env_dir = root.join("clusters/dev/apps");
    fs::remove_dir_all(root.join("clusters")).unwrap();
    let mut cmd_a = render(&root, &["-e", "dev"]);
    cmd_a.env("APPKIT_TEST_STOP_BEFORE", "apps");
    let mut job_a = spawn(cmd_a);
    wait_stopped(&mut job_a);
    let lock = root.join("clusters/dev/.appkit-render.lock");
    assert!(
        lock.is_file(),
        "the lock is beside the environment directory"
    );
    add_app3(&root);
    let mut job_b = spawn(render(&root, &["-e", "dev"]));
    wait_blocked_on_lock(&mut job_b);
    signal(&job_a, rustix::process::Signal::CONT);
    let out_a = job_a.wait_with_output().unwrap();
    assert_exit(&out_a, 0, "A");
    let out_b = job_b.wait_with_output().unwrap();
    assert_exit(&out_b, 0, "B");
    assert!(
        stderr(&out_b).contains("(1 new, 1 changed, 0 removed)"),
        "B planned against A's result: {}",
        stderr(&out_b)
    );
    let apps: Vec<String> = ["app1.yaml", "app2.yaml", "app3.yaml"]
        .map(String::from)
        .into();
    let mut files = apps.clone();
    files.push("kustomization.yaml".into());
    files.push("sources.yaml".into());
    let mut generated = apps.clone();
    generated.push("sources.yaml".into());
    assert_eq!(env_state(&env_dir), (files, generated));
    assert!(!lock.exists(), "the lock file is removed when released");
    assert_eq!(
        appkit_entries(&root.join("clusters")),
        Vec::<PathBuf>::new()
    );
    let check = run(&mut render(&root, &["-e", "dev", "--check", "-o", "json"]));
    assert_exit(&check, 0, "render --check");
    assert!(
        !stdout(&check).contains("appkit-render"),
        "{}",
        stdout(&check)
    );
}

/// Smoke test: two workspaces render into one `--out` directory at once, a few rounds; each
/// time the directory is one render's whole result, never a kustomization.yaml naming a file
/// that is not there.
#[test]
fn render_free_running_renders_into_one_directory_smoke() {
    let tmp = tempfile::tempdir().unwrap();
    let two = example_platform(&tmp.path().join("two"));
    let three = example_platform(&tmp.path().join("three"));
    add_app3(&three);
    let out = tmp.path().join("out/dev");
    let out_arg = out.display().to_string();
    for round in 0..6 {
        let jobs: Vec<Child> = [&two, &three]
            .iter()
            .map(|r| spawn(render(r, &["-e", "dev", "--out", &out_arg])))
            .collect();
        for j in jobs {
            assert_exit(&j.wait_with_output().unwrap(), 0, &format!("round {round}"));
        }
        assert_consistent(&out, &format!("round {round}"));
        assert_eq!(
            appkit_entries(&tmp.path().join("out")),
            Vec::<PathBuf>::new()
        );
    }
}

/// A tmpfs mounted at `dir` (we run as root); unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        run_ok(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir),
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fill the file system of `dir` with `filler` until it is full, then free `keep` bytes.
fn fill(filler: &Path, keep: u64) {
    use std::io::Write;
    let mut f = fs::File::create(filler).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    drop(f);
    let len = fs::metadata(filler).unwrap().len();
    fs::File::options()
        .write(true)
        .open(filler)
        .unwrap()
        .set_len(len.saturating_sub(keep))
        .unwrap();
}

/// Render on a full disk: the output tree is a small tmpfs with room for one new file only, so
/// staging the first environment fails half-way (its first changed file written, the second
/// not). Exit 2 naming the directory and the cause; every environment as it was, nothing of the
/// staging left; with room again, the next render succeeds.
#[test]
fn render_on_a_full_disk_leaves_the_previous_state_and_no_staging() {
    let tmp = tempfile::tempdir().unwrap();
    let root = example_platform(tmp.path());
    let clusters = root.join("clusters");
    let saved = tmp.path().join("clusters-before");
    fs::rename(&clusters, &saved).unwrap();
    let _mnt = Tmpfs::mount(&clusters, "256k");
    crate::common::copy_dir(&saved, &clusters);
    let before = tree(&clusters);
    // A changed interval re-renders every app file (the kustomization stays).
    let p = root.join("appkit.yaml");
    let y = fs::read_to_string(&p).unwrap();
    fs::write(&p, y.replace("interval: 10m", "interval: 7m")).unwrap();
    let filler = clusters.join("filler");
    fill(&filler, 4096);
    let out = run(&mut render(&root, &[]));
    let err = stderr(&out);
    assert_exit(&out, 2, "render on a full disk");
    assert!(
        err.contains("cannot build the new")
            && err.contains("clusters/dev/apps")
            && err.contains("app2.yaml failed")
            && err.contains("is left as it was")
            && err.contains("No space left on device"),
        "{err}"
    );
    fs::remove_file(&filler).unwrap();
    assert_eq!(tree(&clusters), before, "the previous state");
    assert_eq!(appkit_entries(&clusters), Vec::<PathBuf>::new());
    run_ok(&mut render(&root, &[]));
    assert_ne!(tree(&clusters), before);
    assert_consistent(&clusters.join("dev/apps"), "after");
    assert_consistent(&clusters.join("prod/apps"), "after");
}

/// A render killed (SIGKILL) right before it switches the environment directory: the directory is
/// the previous one, the complete staging directory is left beside it, and the next render sweeps
/// it (its process is gone), takes the lock the killed run left and ends with the new state.
/// A file render did not generate is carried into the new directory.
#[test]
fn render_killed_before_the_switch_leaves_the_old_directory_and_the_next_run_sweeps() {
    let tmp = tempfile::tempdir().unwrap();
    let root = example_platform(tmp.path());
    let env_dir = root.join("clusters/dev/apps");
    fs::write(env_dir.join("README.md"), "hand-written\n").unwrap();
    fs::create_dir_all(env_dir.join("extra")).unwrap();
    fs::write(env_dir.join("extra/patch.yaml"), "kind: Mine\n").unwrap();
    let before = tree(&root.join("clusters"));
    let p = root.join("appkit.yaml");
    let y = fs::read_to_string(&p).unwrap();
    fs::write(&p, y.replace("interval: 10m", "interval: 7m")).unwrap();
    let mut cmd = render(&root, &["-e", "dev"]);
    cmd.env("APPKIT_TEST_STOP_BEFORE", "apps");
    let mut job = spawn(cmd);
    wait_stopped(&mut job);
    signal(&job, rustix::process::Signal::KILL);
    let _ = job.wait_with_output().unwrap();
    let left = appkit_entries(&root.join("clusters/dev"));
    let staging: Vec<&PathBuf> = left
        .iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".appkit-new-")
        })
        .collect();
    assert_eq!(staging.len(), 1, "{left:?}");
    assert!(
        staging[0].join("app1.yaml").is_file() && staging[0].join("README.md").is_file(),
        "the staging directory is complete"
    );
    let now: Vec<(String, Vec<u8>)> = tree(&root.join("clusters"))
        .into_iter()
        .filter(|(r, _)| !r.contains(".appkit-"))
        .collect();
    assert_eq!(now, before, "the environment directory is the previous one");
    let out = run(&mut render(&root, &["-e", "dev"]));
    assert_exit(&out, 0, "the next render");
    assert_eq!(
        appkit_entries(&root.join("clusters")),
        Vec::<PathBuf>::new()
    );
    assert_eq!(
        fs::read_to_string(env_dir.join("README.md")).unwrap(),
        "hand-written\n"
    );
    assert_eq!(
        fs::read_to_string(env_dir.join("extra/patch.yaml")).unwrap(),
        "kind: Mine\n"
    );
    assert!(fs::read_to_string(env_dir.join("app1.yaml"))
        .unwrap()
        .contains("interval: 7m"));
    assert_consistent_with_extra(&env_dir);
}

/// kustomization.yaml lists exactly the generated files (the hand-written ones are not listed).
fn assert_consistent_with_extra(dir: &Path) {
    let (names, listed) = env_state(dir);
    let generated: Vec<String> = names
        .into_iter()
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(generated, listed);
}
