//! `helm appkit package`: byte-reproducibility, what Helm 3.17 and 4.1 make of the archive, the
//! same file selection as `helm package` (fixtures in `tests/fixtures/package/`), and bad input.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{self, appkit, chart_dir, examples_dir, helm, repo_root, run, run_ok, stderr};

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/package").join(name)
}

/// (name, mode, uid, gid, mtime, data) of every tar entry, in order.
type Entry = (String, u32, u64, u64, u64, Vec<u8>);

fn entries(tgz: &[u8]) -> Vec<Entry> {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            (
                name,
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mtime().unwrap(),
                data,
            )
        })
        .collect()
}

/// Entry names without the top directory, sorted.
fn file_list(tgz: &Path) -> Vec<String> {
    let mut names: Vec<String> = entries(&fs::read(tgz).unwrap())
        .into_iter()
        .map(|e| e.0.split_once('/').unwrap().1.to_string())
        .collect();
    names.sort();
    names
}

/// Run appkit package and return (stdout lines, archive bytes).
fn package(
    chart: &Path,
    dest: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Vec<String>, Vec<u8>) {
    let mut cmd = appkit();
    cmd.arg("package")
        .arg(chart)
        .arg("-d")
        .arg(dest)
        .args(extra)
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_ok(&mut cmd);
    let lines: Vec<String> = out.lines().map(str::to_string).collect();
    let bytes = fs::read(&lines[0]).unwrap();
    (lines, bytes)
}

/// Copy `from` into `to` creating files in reverse order, with other modes and mtimes.
fn scrambled_copy(from: &Path, to: &Path, mtime: SystemTime) {
    let mut files = Vec::new();
    collect(from, from, &mut files);
    files.reverse();
    for rel in files {
        let target = to.join(&rel);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, fs::read(from.join(&rel)).unwrap()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        }
        fs::File::options()
            .write(true)
            .open(&target)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_path_buf());
        }
    }
}

#[test]
fn reproducible_across_mtimes_creation_order_umask_and_tz() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a/chart");
    let b = tmp.path().join("b/chart");
    common::copy_dir(&chart_dir(), &a);
    scrambled_copy(
        &chart_dir(),
        &b,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567_890),
    );

    let (lines_a, bytes_a) = package(&a, &tmp.path().join("out-a"), &[], &[("TZ", "UTC")]);
    // Second run: another umask (through a shell) and timezone.
    let out_b = tmp.path().join("out-b");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 077 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_helm-appkit"))
        .arg("package")
        .arg(&b)
        .arg("-d")
        .arg(&out_b)
        .env("TZ", "Pacific/Kiritimati")
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH");
    let stdout_b = run_ok(&mut cmd);
    let lines_b: Vec<&str> = stdout_b.lines().collect();
    let bytes_b = fs::read(lines_b[0]).unwrap();

    assert_eq!(
        bytes_a, bytes_b,
        "the same chart content must give the same bytes"
    );
    assert_eq!(lines_a[1], lines_b[1], "same digest");
    assert!(
        lines_a[1].starts_with("sha256:") && lines_a[1].len() == 7 + 64,
        "{lines_a:?}"
    );
    // A third run of the same dir gives the same bytes too.
    let (_, again) = package(&a, &tmp.path().join("out-c"), &[], &[]);
    assert_eq!(again, bytes_a);

    // SOURCE_DATE_EPOCH changes the times and nothing else.
    let (_, dated) = package(
        &a,
        &tmp.path().join("out-d"),
        &[],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    assert_ne!(dated, bytes_a);
    let (plain, dated) = (entries(&bytes_a), entries(&dated));
    assert_eq!(plain.len(), dated.len());
    for (p, d) in plain.iter().zip(&dated) {
        assert_eq!((&p.0, p.1, p.2, p.3, &p.5), (&d.0, d.1, d.2, d.3, &d.5));
        assert_eq!((p.4, d.4), (0, 1_700_000_000), "{}", p.0);
        assert_eq!(p.1, 0o644);
    }
    // The order of every entry: Chart.yaml, values.yaml, values.schema.json, then the rest
    // sorted by path bytes — whatever order the directory lists them in.
    let names: Vec<&str> = plain.iter().map(|e| e.0.as_str()).collect();
    let mut rest: Vec<&str> = names[3..].to_vec();
    rest.sort();
    let mut want = vec![
        "app/Chart.yaml",
        "app/values.yaml",
        "app/values.schema.json",
    ];
    want.extend(rest);
    assert_eq!(names, want, "entry order");
    assert!(names.len() >= 10, "{names:?}");

    // A copy created in sorted order lists in another order than the reverse-order copy on
    // every filesystem (tmpfs lists newest first, ext4 by name hash); a copy owned by another
    // user and group. Same bytes, owner 0:0 with empty names in every header.
    let c = tmp.path().join("c/chart");
    let mut files = Vec::new();
    collect(&chart_dir(), &chart_dir(), &mut files);
    for rel in &files {
        let target = c.join(rel);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(chart_dir().join(rel), &target).unwrap();
    }
    let listed = |dir: &Path| -> Vec<String> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir.join("templates")).unwrap() {
            out.push(e.unwrap().file_name().to_string_lossy().into_owned());
        }
        out
    };
    assert!(
        listed(&c) != listed(&b) || {
            let mut sorted = listed(&c);
            sorted.sort();
            sorted != listed(&c)
        },
        "the copies list templates/ in the same, sorted order: the order check proves nothing"
    );
    chown_tree(&b, 1234, 5678);
    let (_, bytes_c) = package(&c, &tmp.path().join("out-e"), &[], &[]);
    let (_, bytes_owned) = package(&b, &tmp.path().join("out-f"), &[], &[]);
    assert_eq!(bytes_c, bytes_a, "a copy listed in another order");
    assert_eq!(bytes_owned, bytes_a, "a copy owned by 1234:5678");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(bytes_owned.as_slice()));
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
        assert_eq!(h.username().unwrap(), Some(""));
        assert_eq!(h.groupname().unwrap(), Some(""));
    }

    // An empty SOURCE_DATE_EPOCH is unset (as reproducible-builds.org says): the same bytes.
    let (_, empty_epoch) = package(
        &a,
        &tmp.path().join("out-g"),
        &[],
        &[("SOURCE_DATE_EPOCH", "")],
    );
    assert_eq!(empty_epoch, bytes_a, "SOURCE_DATE_EPOCH=\"\"");
}

/// `chown -R uid:gid dir` (tests run as root).
fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            chown_tree(&p, uid, gid);
        } else {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
        }
    }
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(dir).unwrap().uid(), uid, "chown needs root");
}

#[test]
fn helm_3_and_4_lint_template_and_show_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let (lines, _) = package(
        &chart_dir(),
        tmp.path(),
        &["--version", "1.2.3", "--app-version", "2.0.0"],
        &[],
    );
    let tgz = PathBuf::from(&lines[0]);
    assert!(tgz.ends_with("app-1.2.3.tgz"), "{tgz:?}");
    let values = examples_dir().join("apps/app1/values.yaml");
    for major in [3, 4] {
        let home = tmp.path().join(format!("helm{major}"));
        run_ok(
            helm(major, &home)
                .arg("lint")
                .arg("--strict")
                .arg(&tgz)
                .arg("-f")
                .arg(&values),
        );
        let rendered = run_ok(
            helm(major, &home)
                .args(["template", "app1"])
                .arg(&tgz)
                .arg("-f")
                .arg(&values),
        );
        assert!(
            rendered.contains("kind: Deployment"),
            "helm {major} template:\n{rendered}"
        );
        let shown = run_ok(helm(major, &home).args(["show", "chart"]).arg(&tgz));
        assert!(
            shown.contains("version: 1.2.3") && shown.contains("appVersion: 2.0.0"),
            "helm {major}:\n{shown}"
        );
        assert!(shown.contains("name: app"), "{shown}");

        // Helm's own archive of the same chart shows the same Chart.yaml.
        let helm_out = home.join("pkg");
        run_ok(
            helm(major, &home)
                .arg("package")
                .arg(chart_dir())
                .arg("-d")
                .arg(&helm_out)
                .args(["--version", "1.2.3", "--app-version", "2.0.0"]),
        );
        let helm_shown = run_ok(
            helm(major, &home)
                .args(["show", "chart"])
                .arg(helm_out.join("app-1.2.3.tgz")),
        );
        assert_eq!(
            shown, helm_shown,
            "helm {major} show chart differs between appkit's and Helm's archive"
        );
    }
}

#[test]
fn same_file_list_as_helm_package() {
    let tmp = tempfile::tempdir().unwrap();
    let charts = [
        ("chart", chart_dir()),
        ("ignore-rules", fixture("ignore-rules")),
        ("negation", fixture("negation")),
        ("rooted-dir", fixture("rooted-dir")),
        ("subcharts", fixture("subcharts")),
    ];
    for (label, dir) in charts {
        let (lines, _) = package(&dir, &tmp.path().join(format!("appkit-{label}")), &[], &[]);
        let ours = file_list(Path::new(&lines[0]));
        let file_name = Path::new(&lines[0]).file_name().unwrap().to_owned();
        for major in [3, 4] {
            let home = tmp.path().join(format!("helm{major}-{label}"));
            let out = home.join("out");
            run_ok(
                helm(major, &home)
                    .arg("package")
                    .arg(&dir)
                    .arg("-d")
                    .arg(&out),
            );
            let theirs = file_list(&out.join(&file_name));
            assert_eq!(ours, theirs, "{label}: appkit vs helm {major} package");
        }
    }
    // The fixtures really exercise the rules (a rule that ignores nothing would pass above too).
    let (lines, _) = package(
        &fixture("ignore-rules"),
        &tmp.path().join("check"),
        &[],
        &[],
    );
    let list = file_list(Path::new(&lines[0]));
    for gone in [
        "notes.bak",
        "sub/deep.bak",
        "docs/a.md",
        "other/docs/b.md",
        "top-only.txt",
        "ci/a.yaml",
        "file1.md",
        "a.log",
        "templates/.cm.yaml.swp",
    ] {
        assert!(
            !list.contains(&gone.to_string()),
            "{gone} should be ignored: {list:?}"
        );
    }
    for kept in [
        "sub/top-only.txt",
        "ci/b.txt",
        "file10.md",
        "d.log",
        "README.md",
        ".helmignore",
    ] {
        assert!(
            list.contains(&kept.to_string()),
            "{kept} should be kept: {list:?}"
        );
    }
    let (lines, _) = package(&fixture("negation"), &tmp.path().join("check2"), &[], &[]);
    assert_eq!(
        file_list(Path::new(&lines[0])),
        ["Chart.yaml", "keep.yaml", "values.yaml"]
    );
}

#[test]
fn json_output_and_default_chart_from_appkit_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_ok(
        appkit()
            .current_dir(examples_dir())
            .env_remove("APPKIT_CONFIG")
            .args(["package", "-o", "json", "-d"])
            .arg(tmp.path()),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["name"], "app");
    let path = PathBuf::from(v["path"].as_str().unwrap());
    let bytes = fs::read(&path).unwrap();
    assert_eq!(v["size"], bytes.len());
    let digest = v["archiveDigest"].as_str().unwrap();
    assert_eq!(digest, common::sha256(&bytes));
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("app-{}.tgz", v["version"].as_str().unwrap())
    );
}

/// Run with a deadline so that a FIFO that blocks fails the test instead of hanging it.
fn run_with_deadline(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{cmd:?} did not finish within 60s (blocked on a FIFO?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Package `chart`, expect `code`, a message containing `needle`, and no archive left behind.
fn expect_failure(
    chart: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
    code: i32,
    needle: &str,
) -> String {
    let dest = chart.parent().unwrap().join("dest");
    let mut cmd = appkit();
    cmd.arg("package")
        .arg(chart)
        .arg("-d")
        .arg(&dest)
        .args(extra)
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_with_deadline(&mut cmd);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{chart:?} {extra:?}: {err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    let left: Vec<_> = fs::read_dir(&dest)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "archive or temp file left behind: {left:?}"
    );
    err
}

fn bad_chart(tmp: &Path, name: &str, chart_yaml: &str) -> PathBuf {
    let dir = tmp.join(name).join("chart");
    fs::create_dir_all(dir.join("templates")).unwrap();
    fs::write(dir.join("Chart.yaml"), chart_yaml).unwrap();
    fs::write(dir.join("values.yaml"), "a: 1\n").unwrap();
    dir
}

const GOOD: &str = "apiVersion: v2\nname: demo\nversion: 1.0.0\n";

#[test]
fn bad_input_is_refused_with_a_clear_error_and_no_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();

    // Not a chart: exit 2.
    let dir = t.join("nochart/chart");
    fs::create_dir_all(&dir).unwrap();
    let err = expect_failure(&dir, &[], &[], 2, "has no Chart.yaml");
    assert!(err.contains("hint:"), "{err}");

    // Invalid charts: exit 1, every problem with file:line:col.
    let dir = bad_chart(
        t,
        "badversion",
        "apiVersion: v2\nname: demo\nversion: \"1.0.0.0\"\n",
    );
    expect_failure(
        &dir,
        &[],
        &[],
        1,
        "Chart.yaml:3:10: `version` \"1.0.0.0\" is not a version Helm can read",
    );
    let dir = bad_chart(
        t,
        "slash",
        "apiVersion: v2\nname: a/b\nversion: 1.0.0\ntype: other\n",
    );
    let err = expect_failure(
        &dir,
        &[],
        &[],
        1,
        "Chart.yaml:2:7: `name` \"a/b\" is invalid",
    );
    assert!(
        err.contains("Chart.yaml:4:7: `type` must be application or library"),
        "all problems: {err}"
    );
    let dir = bad_chart(t, "yaml", "apiVersion: v2\nname: [demo\n");
    expect_failure(&dir, &[], &[], 1, "invalid YAML");
    let dir = bad_chart(t, "override", GOOD);
    expect_failure(
        &dir,
        &["--version", "1.2.3.4"],
        &[],
        1,
        "is not a version Helm can read",
    );
    let dir = bad_chart(t, "ignore", GOOD);
    fs::write(dir.join(".helmignore"), "ok\nfoo/**/bar\n").unwrap();
    expect_failure(
        &dir,
        &[],
        &[],
        1,
        ".helmignore:2: invalid .helmignore rule \"foo/**/bar\"",
    );
    let dir = bad_chart(t, "schema", GOOD);
    fs::write(dir.join("values.schema.json"), "{not json").unwrap();
    expect_failure(&dir, &[], &[], 1, "values.schema.json is not valid JSON");

    // A bad SOURCE_DATE_EPOCH: exit 2.
    let dir = bad_chart(t, "epoch", GOOD);
    expect_failure(
        &dir,
        &[],
        &[("SOURCE_DATE_EPOCH", "yesterday")],
        2,
        "SOURCE_DATE_EPOCH",
    );
}

#[cfg(unix)]
#[test]
fn links_fifos_and_unreadable_files_are_refused() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();

    // A symlink pointing outside the chart directory: exit 2.
    fs::write(t.join("secret.txt"), "s3cret").unwrap();
    let dir = bad_chart(t, "outside", GOOD);
    symlink(t.join("secret.txt"), dir.join("templates/secret.txt")).unwrap();
    let err = expect_failure(&dir, &[], &[], 2, "outside the chart directory");
    assert!(!err.contains("s3cret"));

    // A dangling symlink (a file that cannot be read): exit 2.
    let dir = bad_chart(t, "dangling", GOOD);
    symlink(dir.join("gone.yaml"), dir.join("templates/cm.yaml")).unwrap();
    expect_failure(&dir, &[], &[], 2, "cannot be resolved");

    // Unreadable Chart.yaml. Tests run as root, for whom chmod 000 changes nothing, so the
    // unreadable file is a directory where Chart.yaml must be a file (read fails with EISDIR).
    let dir = t.join("isdir/chart");
    fs::create_dir_all(dir.join("Chart.yaml")).unwrap();
    expect_failure(&dir, &[], &[], 2, "cannot read");

    // A FIFO: refused without being opened (opening it would block forever).
    let dir = bad_chart(t, "fifo", GOOD);
    let status = Command::new("mkfifo")
        .arg(dir.join("templates/pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    expect_failure(&dir, &[], &[], 2, "is a FIFO (named pipe)");
    // ...unless .helmignore leaves it out: then Helm 3 and 4 package the chart, and appkit gives
    // the same file list, without the pipe.
    fs::write(dir.join(".helmignore"), "pipe\n").unwrap();
    let out = run(appkit()
        .arg("package")
        .arg(&dir)
        .arg("-d")
        .arg(t.join("fifo-ok")));
    assert!(out.status.success(), "{}", stderr(&out));
    let ours = file_list(&t.join("fifo-ok/demo-1.0.0.tgz"));
    assert!(
        !ours.iter().any(|n| n.ends_with("templates/pipe")) && ours.len() >= 2,
        "{ours:?}"
    );
    for major in [3, 4] {
        let home = t.join(format!("helm{major}-home"));
        let dest = t.join(format!("fifo-helm{major}"));
        let out = run_with_deadline(
            crate::common::helm(major, &home)
                .arg("package")
                .arg(&dir)
                .arg("-d")
                .arg(&dest),
        );
        assert!(out.status.success(), "Helm {major}: {}", stderr(&out));
        assert_eq!(
            file_list(&dest.join("demo-1.0.0.tgz")),
            ours,
            "Helm {major}"
        );
    }

    // A symlink inside the chart is followed (its content is packaged as a regular file).
    let dir = bad_chart(t, "inside", GOOD);
    fs::write(dir.join("templates/real.yaml"), "kind: x\n").unwrap();
    symlink("real.yaml", dir.join("templates/link.yaml")).unwrap();
    let (lines, bytes) = package(&dir, &t.join("inside-out"), &[], &[]);
    let names: Vec<_> = entries(&bytes).into_iter().map(|e| (e.0, e.5)).collect();
    assert!(
        names.contains(&(
            "demo/templates/link.yaml".to_string(),
            b"kind: x\n".to_vec()
        )),
        "{lines:?} {names:?}"
    );
}

#[test]
fn tgz_subcharts_are_kept_as_archives_and_missing_dependencies_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("tgz-subchart");
    let (lines, _) = package(&dir, &tmp.path().join("out"), &[], &[]);
    let tgz = PathBuf::from(&lines[0]);
    let ours = file_list(&tgz);
    assert_eq!(
        ours,
        ["Chart.yaml", "charts/dep-0.1.0.tgz", "templates/cm.yaml"]
    );
    // Helm expands a .tgz subchart into a directory; otherwise the lists are the same.
    let expanded: Vec<String> = {
        let mut v: Vec<String> = ours
            .iter()
            .filter(|n| *n != "charts/dep-0.1.0.tgz")
            .cloned()
            .chain(
                file_list(&dir.join("charts/dep-0.1.0.tgz"))
                    .into_iter()
                    .map(|n| format!("charts/dep/{n}")),
            )
            .collect();
        v.sort();
        v
    };
    for major in [3, 4] {
        let home = tmp.path().join(format!("helm{major}"));
        let rendered = run_ok(helm(major, &home).args(["template", "r"]).arg(&tgz));
        assert!(
            rendered.contains("name: from-tgz-subchart"),
            "helm {major}:\n{rendered}"
        );
        run_ok(
            helm(major, &home)
                .arg("package")
                .arg(&dir)
                .arg("-d")
                .arg(home.join("out")),
        );
        assert_eq!(
            file_list(&home.join("out/tgz-subchart-1.0.0.tgz")),
            expanded,
            "helm {major}"
        );
    }

    // A dependency listed in Chart.yaml but absent from charts/: exit 1, like `helm package`.
    let copy = tmp.path().join("missing/chart");
    common::copy_dir(&fixture("subcharts"), &copy);
    fs::remove_dir_all(copy.join("charts/sub")).unwrap();
    let err = expect_failure(
        &copy,
        &[],
        &[],
        1,
        "Chart.yaml lists dependencies that are not in",
    );
    assert!(err.contains("helm dependency build"), "{err}");
}

#[test]
fn warns_when_the_archive_lands_inside_the_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chart");
    common::copy_dir(&fixture("ignore-rules"), &dir);
    let out = run(appkit().current_dir(&dir).arg("package"));
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("warning: ./ignore-rules-1.0.0.tgz is inside the chart directory"),
        "{}",
        stderr(&out)
    );
    // With *.tgz ignored, the second run neither warns nor packages the first archive.
    fs::write(dir.join(".helmignore"), "*.tgz\n").unwrap();
    let first = run_ok(appkit().current_dir(&dir).arg("package"));
    let out = run(appkit().current_dir(&dir).arg("package"));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(common::stdout(&out), first, "same digest on the second run");
}
