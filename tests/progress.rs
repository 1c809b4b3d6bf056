//! Progress of transfers (issue 17), through a throttling proxy in front of the real registry so
//! a small chart's transfer lasts over a second: on a terminal (a pseudo-terminal made by
//! util-linux `script`) a bar with bytes, rate and ETA; without one, one line per blob at its start
//! and end and one per retry; nothing of it on stdout, none under `-q`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::fault_proxy::{Fault, FaultAction, FaultProxy};
use crate::common::registry::Registry;
use crate::common::throttle::Throttle;
use crate::common::{appkit, run, stderr, stdout};

/// What the throttle lets through each way: the chart's ~100 KiB layer takes about 2 s.
const RATE: u64 = 48 * 1024;

/// A chart whose archive does not compress away: ~100 KiB of pseudo-random bytes in a file.
fn noisy_chart(dir: &Path) -> PathBuf {
    let chart = dir.join("noisy");
    std::fs::create_dir_all(chart.join("files")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: noisy\nversion: 0.1.0\n",
    )
    .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..100 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(chart.join("files/noise.bin"), noise).unwrap();
    chart
}

fn quiet_settle(c: &mut Command) -> &mut Command {
    c.env("APPKIT_PUSH_SETTLE_MS", "0")
}

/// Run `cmd` with stderr on a pseudo-terminal (`script`) and stdout into a file: what the
/// terminal showed, what stdout got, and whether it succeeded.
fn on_terminal(cmd: &Command, dir: &Path) -> (String, String, bool) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let out_file = dir.join("stdout.txt");
    // A terminal 100 columns wide (a pty made without one has no size).
    let mut line = format!(
        "stty cols 100 rows 30; {}",
        quote(&cmd.get_program().to_string_lossy())
    );
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&quote(&a.to_string_lossy()));
    }
    line.push_str(&format!(" >{}", quote(&out_file.display().to_string())));
    let mut script = Command::new("script");
    script
        .args(["-qfec", &line, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let out = script.output().expect("run util-linux `script`");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read_to_string(&out_file).unwrap_or_default(),
        out.status.success(),
    )
}

/// The chart's layer digest as the registry holds it (from the pushed manifest).
fn layer_digest(reg: &Registry, repo: &str, tag: &str) -> String {
    blob_digests(reg, repo, tag).1
}

/// The config and layer digests of a pushed chart.
fn blob_digests(reg: &Registry, repo: &str, tag: &str) -> (String, String) {
    let (status, body) = reg.get(
        &format!("/v2/{repo}/manifests/{tag}"),
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 200);
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let digest = |v: &serde_json::Value| v["digest"].as_str().unwrap().to_string();
    (digest(&m["config"]), digest(&m["layers"][0]))
}

/// The line of `text` holding `needle`, from there to its end.
fn line_from<'a>(text: &'a str, needle: &str) -> &'a str {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle}:\n{text}"));
    text[at..].split(['\n', '\r']).next().unwrap()
}

#[test]
fn progress_push_on_a_terminal_draws_a_bar_and_a_whole_retry_line() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::anonymous();
    // appkit → throttle → fault proxy → registry: the throttle is what appkit talks to.
    // One 503 for the manifest, after the blobs' bars are on the screen.
    let faults = FaultProxy::start(
        &reg.host,
        vec![Fault {
            method: "PUT",
            path_contains: "/manifests/",
            action: FaultAction::Status(503, None),
            times: 1,
        }],
    );
    let slow = Throttle::start(&faults.host, RATE);
    let chart = noisy_chart(tmp.path());
    let mut cmd = appkit();
    quiet_settle(&mut cmd)
        .args(["push", "--plain-http"])
        .arg(&chart)
        .arg(slow.oci("charts"));
    let started = Instant::now();
    let (term, out, ok) = on_terminal(&cmd, tmp.path());
    let secs = started.elapsed().as_secs_f64();
    assert!(ok, "{term}");
    assert!(
        secs > 1.0,
        "the throttled push took {secs:.1} s: too fast to see a bar"
    );
    let layer = layer_digest(&reg, "charts/noisy", "0.1.0");
    let short = &layer[..7 + 12];
    // The bar: its blob, bytes of the total, the rate and the ETA, redrawn in place.
    assert!(term.contains(&format!("uploading {short}")), "{term}");
    assert!(term.contains("KiB/") && term.contains("KiB/s"), "{term}");
    assert!(term.contains("ETA "), "{term}");
    assert!(term.contains("\x1b["), "no cursor control: {term}");
    // Its final state, and no CI lines on a terminal.
    assert!(term.contains(&format!("uploaded {short}")), "{term}");
    assert!(!term.contains(" bytes)"), "{term}");
    // The retry notice is a whole line of its own, not torn by a redraw.
    let retry = line_from(&term, "503 from ");
    assert!(
        retry.contains("(PUT ") && retry.contains(", retry 1 of 4 in ") && retry.ends_with(" s"),
        "{retry:?}"
    );
    assert!(!retry.contains('\x1b'), "{retry:?}");
    // stdout: the data, and only it.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("Pushed: oci://") && lines[0].ends_with("/charts/noisy:0.1.0"));
    assert!(lines[1].starts_with("Digest: sha256:"), "{out}");

    // `-q` on the same terminal: nothing at all, not even the bar (another repository: uploads).
    let mut cmd = appkit();
    quiet_settle(&mut cmd)
        .args(["-q", "push", "--plain-http"])
        .arg(&chart)
        .arg(slow.oci("quiet"));
    let (term, out, ok) = on_terminal(&cmd, tmp.path());
    assert!(ok, "{term}");
    assert_eq!(term, "", "-q drew on the terminal");
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn progress_push_without_a_terminal_prints_one_line_per_blob_and_per_retry() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::anonymous();
    let faults = FaultProxy::start(
        &reg.host,
        vec![
            Fault {
                method: "PUT",
                path_contains: "/manifests/",
                action: FaultAction::Status(503, None),
                times: 1,
            },
            // A blob upload restarted with a new session is a retry too.
            Fault {
                method: "PUT",
                path_contains: "/blobs/uploads/",
                action: FaultAction::Status(503, None),
                times: 1,
            },
        ],
    );
    let slow = Throttle::start(&faults.host, RATE);
    let chart = noisy_chart(tmp.path());
    let out = run(quiet_settle(&mut appkit())
        .args(["push", "--plain-http"])
        .arg(&chart)
        .arg(slow.oci("charts")));
    let (err, data) = (stderr(&out), stdout(&out));
    assert!(out.status.success(), "{err}");
    let layer = layer_digest(&reg, "charts/noisy", "0.1.0");
    let lines: Vec<&str> = err.lines().collect();
    // Two blobs (config and layer), each started and ended once; the layer's line says its size.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("uploading sha256:"))
            .count(),
        2,
        "{err}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("uploaded sha256:"))
            .count(),
        2,
        "{err}"
    );
    let size = std::fs::metadata(tmp.path().join("noisy/files/noise.bin"))
        .unwrap()
        .len();
    let start = line_from(&err, &format!("uploading {layer} ("));
    let bytes: u64 = start
        .trim_start_matches(&format!("uploading {layer} ("))
        .trim_end_matches(" bytes)")
        .parse()
        .unwrap();
    assert!(
        bytes > size * 9 / 10,
        "{start}: it did not stay incompressible"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| **l == format!("uploaded {layer}"))
            .count(),
        1,
        "{err}"
    );
    // One line per retry, in the registry's words: the manifest PUT's, the upload's restart.
    let retries: Vec<&&str> = lines.iter().filter(|l| l.contains(", retry ")).collect();
    assert_eq!(retries.len(), 2, "{err}");
    let from = format!("503 from {} (PUT http://", slow.host);
    assert!(
        retries
            .iter()
            .all(|l| l.starts_with(&from) && l.ends_with(" s")),
        "{err}"
    );
    assert!(
        retries
            .iter()
            .any(|l| l.contains("/manifests/") && l.contains(", retry 1 of 4 in ")),
        "{err}"
    );
    assert!(
        retries
            .iter()
            .any(|l| l.contains("/blobs/uploads/") && l.contains(", retry 1 of 2 in ")),
        "{err}"
    );
    // No bar, no control characters; stdout is data only.
    assert!(!err.contains('\r') && !err.contains("\x1b["), "{err:?}");
    assert!(!err.contains("KiB/s"), "{err}");
    assert_eq!(data.lines().count(), 2, "{data}");
    assert!(
        data.starts_with("Pushed: ") && !data.contains("upload"),
        "{data}"
    );

    // `-q`: nothing on stderr, the data on stdout.
    let out = run(quiet_settle(&mut appkit())
        .args(["-q", "push", "--plain-http"])
        .arg(&chart)
        .arg(slow.oci("quiet")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
}

#[test]
fn progress_pull_on_a_terminal_draws_a_bar_and_without_one_prints_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::anonymous();
    let chart = noisy_chart(tmp.path());
    let out = run(quiet_settle(&mut appkit())
        .args(["-q", "push", "--plain-http"])
        .arg(&chart)
        .arg(reg.oci("charts")));
    assert!(out.status.success(), "{}", stderr(&out));
    let (config, layer) = blob_digests(&reg, "charts/noisy", "0.1.0");
    // The config blob's first GET hangs 1.5 s and breaks: its retry line comes while the
    // layer's bar is on the screen.
    let config_path: &'static str = Box::leak(format!("/blobs/{config}").into_boxed_str());
    let faults = FaultProxy::start(
        &reg.host,
        vec![Fault {
            method: "GET",
            path_contains: config_path,
            action: FaultAction::Stall(std::time::Duration::from_millis(1500)),
            times: 1,
        }],
    );
    let slow = Throttle::start(&faults.host, RATE);

    let dest = tmp.path().join("tty");
    std::fs::create_dir_all(&dest).unwrap();
    let mut cmd = appkit();
    cmd.args(["pull", "--plain-http", "--version", "0.1.0", "-d"])
        .arg(&dest)
        .arg(slow.oci("charts/noisy"));
    let (term, out, ok) = on_terminal(&cmd, tmp.path());
    assert!(ok, "{term}");
    let short = &layer[..7 + 12];
    let bar = format!("downloading {short} ");
    assert!(term.contains(&bar), "{term}");
    assert!(term.contains("KiB/s") && term.contains("ETA "), "{term}");
    assert!(term.contains(&format!("downloaded {short}")), "{term}");
    assert!(!term.contains(" bytes)"), "{term}");
    // The bar moved: it was drawn part way, below the total.
    let renders: Vec<&str> = term.split(&bar).skip(1).collect();
    assert!(
        renders.iter().any(|r| {
            r.split_once("] ")
                .and_then(|(_, bytes)| bytes.split_once('/'))
                .is_some_and(|(done, total)| !total.starts_with(done))
        }),
        "never drawn part way: {term}"
    );
    // The retry line: whole, while the layer's bar runs (cleared for the line, drawn again
    // below it).
    let at = term
        .find("connection error to ")
        .unwrap_or_else(|| panic!("no retry line: {term}"));
    let retry = line_from(&term, "connection error to ");
    assert!(
        retry.contains(&format!(
            "(GET http://{}/v2/charts/noisy/blobs/{config})",
            slow.host
        )) && retry.contains(", retry 1 of 4 in "),
        "{retry:?}"
    );
    assert!(!retry.contains('\x1b'), "{retry:?}");
    assert!(term[..at].contains(&bar), "no bar before the line: {term}");
    assert!(
        term[at..].contains(&bar) && term[at.saturating_sub(8)..at].contains("\x1b["),
        "the bar was not cleared for the line and drawn again: {term:?}"
    );
    assert!(
        out.starts_with("Pulled: ") && out.contains("\nSaved to: "),
        "{out}"
    );
    assert!(dest.join("noisy-0.1.0.tgz").is_file());

    // Without a terminal: one line at each blob's start and end (straight from the registry).
    let dest = tmp.path().join("ci");
    std::fs::create_dir_all(&dest).unwrap();
    let out = run(appkit()
        .args(["pull", "--plain-http", "--version", "0.1.0", "-d"])
        .arg(&dest)
        .arg(reg.oci("charts/noisy")));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("downloading sha256:").count(), 2, "{err}");
    assert_eq!(err.matches("downloaded sha256:").count(), 2, "{err}");
    assert!(err.contains(&format!("downloading {layer} (")), "{err}");
    assert!(!err.contains('\r') && !err.contains("\x1b["), "{err:?}");
    assert!(!stdout(&out).contains("download"), "{}", stdout(&out));
}

#[test]
fn progress_publish_says_its_steps_and_each_blob_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = crate::common::example_platform(&tmp.path().join("p"));
    let layout = format!("oci-layout:{}", tmp.path().join("layout").display());
    let out = run(appkit()
        .current_dir(&repo)
        .args(["publish", "--to", &layout]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let steps = [
        "validated 2 app(s)",
        "packaged app ",
        "checking the published versions at",
        "pushing oci-layout:",
        "uploading sha256:",
        "uploaded sha256:",
        // The example repo's lock already names this (reproducible) digest.
        "appkit.lock already records 0.",
    ];
    let mut at = 0;
    for step in steps {
        let found = err[at..]
            .find(step)
            .unwrap_or_else(|| panic!("{step}: {err}"));
        at += found;
    }
    assert_eq!(err.matches("uploading sha256:").count(), 2, "{err}");
    assert!(!stdout(&out).contains("upload"), "{}", stdout(&out));
    // Published again without a lock: nothing to push, so no push step and no blob lines; the
    // lock is written and said.
    let lock = repo.join("appkit.lock");
    std::fs::remove_file(&lock).unwrap();
    let out = run(appkit()
        .current_dir(&repo)
        .args(["publish", "--to", &layout]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        !err.contains("pushing ") && !err.contains("uploading"),
        "{err}"
    );
    let recorded = line_from(&err, "recorded 0.");
    assert!(
        recorded.contains(" (sha256:") && recorded.ends_with(&format!("in {}", lock.display())),
        "{recorded}"
    );
    let out = run(appkit()
        .current_dir(&repo)
        .args(["-q", "publish", "--to", &layout]));
    assert!(
        out.status.success() && stderr(&out).is_empty(),
        "{}",
        stderr(&out)
    );
}
