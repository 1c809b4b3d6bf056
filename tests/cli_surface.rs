//! Issue 17, the command surface: `--version` means one thing, a closed stdout keeps the verdict,
//! `-o github` only where there is something to annotate, data on stdout. Through the real binary,
//! and through `helm appkit` on Helm 3.17 and 4.1 for the version and exit codes.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{
    self, appkit, example_platform, helm, plugin_source, run, run_ok, stderr, stdout,
};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// `--version` exists only where it is the chart version (package, pull); elsewhere it is a usage
/// error (exit 2), never appkit's version with exit 0 (which made `publish --version 3.0.0` a
/// silent success that published nothing).
#[test]
fn version_is_the_chart_version_or_a_usage_error_and_appkit_has_a_version_command() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    for args in [
        &["publish", "--version", "3.0.0"][..],
        &["render", "--version"],
        &["validate", "--version"],
        &["versions", "oci://127.0.0.1:1/p/app", "--version"],
        &["push", "x.tgz", "oci://127.0.0.1:1/p", "--version"],
        &["new", "app9", "--image", "r@sha256:0", "--version"],
        &["docs", "--version"],
        &["import", "f.yaml", "--version"],
    ] {
        let out = run(appkit().current_dir(&repo).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("unexpected argument '--version'"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    }
    // The chart version where Helm has it.
    let json = run_ok(
        appkit()
            .args(["package"])
            .arg(common::chart_dir())
            .arg("-d")
            .arg(tmp.path())
            .args(["--version", "9.9.9", "-o", "json"]),
    );
    assert!(json.contains("\"version\": \"9.9.9\""), "{json}");
    let pull = run(appkit().args(["pull", "oci://127.0.0.1:1/p/app", "--version", "1.0.0"]));
    assert!(
        !stderr(&pull).contains("unexpected argument"),
        "{}",
        stderr(&pull)
    );
    // appkit's own version.
    let want = format!("helm-appkit {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(run_ok(appkit().arg("--version")), want);
    assert_eq!(run_ok(appkit().arg("version")), want);
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(appkit().args(["version", "-o", "json"]))).unwrap();
    assert_eq!(v["schemaVersion"], 1);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

/// Run `cmd` with its stdout a pipe whose reader is already gone: every write fails with EPIPE.
fn with_closed_stdout(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code(), err)
}

/// A closed stdout (`… | head -1`) stops the output quietly, and the exit code stays the
/// verdict: drift and errors are exit 1, not 0.
#[test]
fn a_closed_stdout_keeps_the_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    // Drift: app1's model changed after the committed render.
    let values = repo.join("apps/app1/values.yaml");
    let text = fs::read_to_string(&values).unwrap();
    assert!(text.contains("value: small"), "the example changed");
    fs::write(&values, text.replace("value: small", "value: large")).unwrap();
    let (code, err) = with_closed_stdout(appkit().current_dir(&repo).args(["render", "--check"]));
    assert_eq!(code, Some(1), "render --check with drift: {err}");
    assert!(err.contains("would change"), "{err}");
    assert!(
        !err.contains("Broken pipe") && !err.contains("panicked"),
        "{err}"
    );
    // Errors in -o github (annotations on stdout) and -o json.
    fs::write(&values, text.replace("port: 8080", "port: many")).unwrap();
    for o in ["github", "json"] {
        let (code, err) =
            with_closed_stdout(appkit().current_dir(&repo).args(["validate", "-o", o]));
        assert_eq!(code, Some(1), "validate -o {o} with errors: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked"),
            "{err}"
        );
    }
    // And a clean run with a closed stdout is still 0.
    fs::write(&values, &text).unwrap();
    let (code, err) =
        with_closed_stdout(appkit().current_dir(&repo).args(["validate", "-o", "json"]));
    assert_eq!(code, Some(0), "{err}");
}

/// `-o github` where there are diagnostics to annotate (validate, publish, render --check); a
/// usage error (exit 2) anywhere else instead of being silently ignored.
#[test]
fn github_output_only_where_it_means_something() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    for args in [
        &["package", "-d", "pkg-out"][..],
        &["versions", "oci://127.0.0.1:1/p/app"],
        &["pull", "oci://127.0.0.1:1/p/app"],
        &["push", "x.tgz", "oci://127.0.0.1:1/p"],
        &["render"],
        &[
            "new",
            "app9",
            "--image",
            &format!("harbor.example.com/apps/app9@{DIGEST}"),
        ],
        &["docs", "--check"],
        &["import", "x.yaml"],
        &["version"],
    ] {
        let out = run(appkit()
            .current_dir(&repo)
            .args(["-o", "github"])
            .args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("`-o github` is not an output of `helm appkit"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!repo.join("pkg-out").exists() && !repo.join("apps/app9").exists());
    }
    for args in [&["validate"][..], &["render", "--check"]] {
        let out = run(appkit()
            .current_dir(&repo)
            .args(["-o", "github"])
            .args(args));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    let layout = format!("oci-layout:{}", tmp.path().join("layout").display());
    let out = run(appkit().current_dir(&repo).args([
        "-o",
        "github",
        "publish",
        "--dry-run",
        "--to",
        &layout,
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// `pull` prints what it saved on stdout (data), like every other command's paths and digests.
#[test]
fn pull_prints_the_saved_path_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    run_ok(
        appkit()
            .arg("push")
            .arg(common::chart_dir())
            .arg(format!("oci-layout:{}", layout.display())),
    );
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let out = run(appkit()
        .arg("pull")
        .arg(format!("oci-layout:{}/app", layout.display()))
        .arg("-d")
        .arg(&dest));
    assert!(out.status.success(), "{}", stderr(&out));
    let saved: PathBuf = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("Saved to: "))
        .unwrap_or_else(|| panic!("no `Saved to:` on stdout:\n{}", stdout(&out)))
        .into();
    assert!(saved.is_file(), "{}", saved.display());
    assert!(!stderr(&out).contains("Saved to"), "{}", stderr(&out));
}

/// Through Helm 3 and 4: `helm appkit version` prints appkit's version, and a usage error keeps
/// its exit code 2.
#[test]
fn version_and_exit_codes_through_helm_3_and_4() {
    for major in [3u8, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let src = plugin_source(tmp.path());
        let plugins = home.join("data/plugins");
        let out = run(helm(major, &home)
            .env("HELM_PLUGINS", &plugins)
            .args(["plugin", "install"])
            .arg(&src)
            .env("APPKIT_PREBUILT", env!("CARGO_BIN_EXE_helm-appkit")));
        assert!(out.status.success(), "helm {major}: {}", stderr(&out));
        let h = |args: &[&str]| {
            run(helm(major, &home)
                .env("HELM_PLUGINS", &plugins)
                .arg("appkit")
                .args(args))
        };
        let out = h(&["version"]);
        assert_eq!(
            stdout(&out),
            format!("helm-appkit {}\n", env!("CARGO_PKG_VERSION")),
            "helm {major}: {}",
            stderr(&out)
        );
        // Help like Helm's, through Helm: sections, examples, exit codes.
        let help = stdout(&h(&["publish", "--help"]));
        for section in [
            "Registry flags:",
            "Global flags:",
            "Examples:",
            "--password-stdin",
        ] {
            assert!(help.contains(section), "helm {major}: {section} in\n{help}");
        }
        let help = stdout(&h(&["--help"]));
        assert!(
            help.contains("Exit codes:") && help.contains("Environment:"),
            "helm {major}:\n{help}"
        );
        let out = h(&["publish", "--version", "3.0.0"]);
        assert_eq!(out.status.code(), Some(2), "helm {major}: {}", stderr(&out));
        assert!(stderr(&out).contains("unexpected argument '--version'"));
    }
}

/// Run `bin args` in a pseudo-terminal (`script`), with `env` set: what a user's terminal shows
/// (stdout and stderr together).
fn in_terminal(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut line = String::from("env -u NO_COLOR -u HELM_COLOR");
    for (k, v) in env {
        line.push_str(&format!(" {k}={v}"));
    }
    line.push(' ');
    line.push_str(env!("CARGO_BIN_EXE_helm-appkit"));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let out =
        run(Command::new("script")
            .current_dir(dir)
            .args(["-q", "-e", "-c", &line, "/dev/null"]));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `--color auto|always|never`, `NO_COLOR` and Helm's `HELM_COLOR`, in that order, then the
/// terminal: the `render --check` diff and the diagnostics are coloured on a terminal only.
#[test]
fn colour_follows_the_flag_no_color_helm_color_then_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let values = repo.join("apps/app1/values.yaml");
    let text = fs::read_to_string(&values).unwrap();
    fs::write(&values, text.replace("value: small", "value: large")).unwrap();
    let esc = "\x1b[";
    // A terminal: coloured diff (removed red, added green) and coloured diagnostics.
    let shown = in_terminal(&repo, &[], &["render", "--check"]);
    assert!(shown.contains("\x1b[31m-        value: small"), "{shown:?}");
    assert!(shown.contains("\x1b[32m+        value: large"), "{shown:?}");
    fs::write(&values, text.replace("port: 8080", "port: many")).unwrap();
    let shown = in_terminal(&repo, &[], &["validate", "-e", "dev"]);
    assert!(shown.contains(esc) && shown.contains("port"), "{shown:?}");
    // Turned off on a terminal: NO_COLOR, HELM_COLOR=never, --color never.
    for (env, flag) in [
        (&[("NO_COLOR", "1")][..], None),
        (&[("HELM_COLOR", "never")][..], None),
        (&[][..], Some("never")),
        (&[("NO_COLOR", "1"), ("HELM_COLOR", "always")][..], None),
    ] {
        let mut args = vec!["validate", "-e", "dev"];
        if let Some(f) = flag {
            args.extend(["--color", f]);
        }
        let shown = in_terminal(&repo, env, &args);
        assert!(
            shown.contains("port") && !shown.contains(esc),
            "{env:?} {flag:?}: {shown:?}"
        );
    }
    // An empty NO_COLOR does not count.
    let shown = in_terminal(&repo, &[("NO_COLOR", "")], &["validate", "-e", "dev"]);
    assert!(shown.contains(esc), "{shown:?}");
    // Without a terminal: no colour, unless asked for (the flag beats NO_COLOR).
    for (env, flag, coloured) in [
        (&[][..], None, false),
        (&[("HELM_COLOR", "always")][..], None, true),
        (&[][..], Some("always"), true),
        (&[("NO_COLOR", "1")][..], Some("always"), true),
    ] {
        let mut c = appkit();
        c.current_dir(&repo)
            .env_remove("NO_COLOR")
            .env_remove("HELM_COLOR");
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(["validate", "-e", "dev"]);
        if let Some(f) = flag {
            c.args(["--color", f]);
        }
        let err = stderr(&run(&mut c));
        assert_eq!(err.contains(esc), coloured, "{env:?} {flag:?}: {err:?}");
    }
}

/// Every command's help has examples, the flags in Helm's sections, and `--dry-run` says what it
/// does not do.
#[test]
fn help_has_sections_and_examples_on_every_command() {
    for cmd in [
        "package",
        "push",
        "pull",
        "versions",
        "publish",
        "render",
        "validate",
        "new",
        "docs",
        "import",
        "promote",
        "set-image",
        "version",
    ] {
        let help = run_ok(appkit().args([cmd, "--help"]));
        assert!(
            help.contains("\nExamples:\n") && help.contains(&format!("helm appkit {cmd}")),
            "{cmd}:\n{help}"
        );
        assert!(help.contains("\nGlobal flags:\n"), "{cmd}:\n{help}");
        assert!(!help.contains("(validate only)"), "{cmd}:\n{help}");
    }
    for cmd in [
        "push",
        "pull",
        "versions",
        "publish",
        "promote",
        "set-image",
    ] {
        let help = run_ok(appkit().args([cmd, "--help"]));
        assert!(help.contains("\nRegistry flags:\n"), "{cmd}:\n{help}");
    }
    let help = run_ok(appkit().args(["publish", "--help"]));
    assert!(help.contains("Upload nothing and write nothing"), "{help}");
    let root = run_ok(appkit().arg("--help"));
    for section in [
        "Exit codes:",
        "Environment:",
        "APPKIT_CONFIG",
        "HELM_REGISTRY_CONFIG",
        "NO_COLOR",
        "Config lookup:",
    ] {
        assert!(root.contains(section), "{section}:\n{root}");
    }
}

/// Without a terminal (CI): one line per blob at its start and end, and publish says its steps;
/// nothing of it on stdout, none under `-q`.
#[test]
fn push_and_publish_report_their_steps_on_stderr_only() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = format!("oci-layout:{}", tmp.path().join("layout").display());
    let out = run(appkit().arg("push").arg(common::chart_dir()).arg(&layout));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("uploading sha256:").count(), 2, "{err}");
    assert_eq!(err.matches("uploaded sha256:").count(), 2, "{err}");
    assert!(!stdout(&out).contains("upload"), "{}", stdout(&out));
    let layout2 = format!("oci-layout:{}", tmp.path().join("layout2").display());
    let out = run(appkit()
        .args(["-q", "push"])
        .arg(common::chart_dir())
        .arg(&layout2));
    assert!(
        out.status.success() && stderr(&out).is_empty(),
        "{}",
        stderr(&out)
    );

    let repo = example_platform(&tmp.path().join("p"));
    let out = run(appkit()
        .current_dir(&repo)
        .args(["publish", "--dry-run", "--to", &layout]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    for step in [
        "validated 2 app(s)",
        "packaged app ",
        "checking the published versions at",
    ] {
        assert!(err.contains(step), "{step}: {err}");
    }
}
