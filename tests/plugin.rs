//! The Helm plugin: `helm plugin install <dir>` on Helm 3.17 and 4.1 into a temp plugins dir, then
//! `helm appkit …` runs the binary with its arguments intact (no `ignoreFlags`).
//!
//! The plugin source is a temp copy of `plugin.yaml` + `scripts/` (Helm installs a local dir as a
//! symlink and the hook writes `bin/` into it, which must not happen in the repo during tests).
//! The hook gets the test binary through `APPKIT_PREBUILT`, so no second cargo build runs.
//! Helm 4.1 installs local plugins under `$HELM_DATA_HOME/plugins` whatever `HELM_PLUGINS` says,
//! but loads them from `HELM_PLUGINS`; the tests point both at the same temp dir.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{chart_dir, helm, plugin_source, run, run_ok, stderr, stdout};

/// Helm with the plugins dir where both Helm versions install and load local plugins.
fn helm_with_plugins(major: u8, home: &Path) -> Command {
    let mut c = helm(major, home);
    c.env("HELM_PLUGINS", home.join("data/plugins"));
    c
}

#[test]
fn plugin_installs_and_runs_on_helm_3_and_4() {
    for major in [3u8, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let src = plugin_source(tmp.path());
        let out = run(helm_with_plugins(major, &home)
            .args(["plugin", "install"])
            .arg(&src)
            .env("APPKIT_PREBUILT", env!("CARGO_BIN_EXE_helm-appkit")));
        assert!(
            out.status.success(),
            "helm {major} plugin install:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            src.join("bin/helm-appkit").is_file(),
            "the hook put the binary in place"
        );

        let list = run_ok(helm_with_plugins(major, &home).args(["plugin", "list"]));
        assert!(
            list.lines()
                .any(|l| l.starts_with("appkit") && l.contains("0.1.0")),
            "helm {major}:\n{list}"
        );

        let help = run_ok(helm_with_plugins(major, &home).args(["appkit", "--help"]));
        assert!(
            help.contains("package") && help.contains("Usage: helm appkit"),
            "helm {major}:\n{help}"
        );

        // Flags reach the binary: --version here is the chart version, -o json the output format.
        let dest = tmp.path().join("out");
        let json = run_ok(
            helm_with_plugins(major, &home)
                .args(["appkit", "package"])
                .arg(chart_dir())
                .arg("-d")
                .arg(&dest)
                .args(["--version", "7.7.7", "--output", "json"]),
        );
        let v: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(v["version"], "7.7.7", "helm {major}: {json}");
        assert!(dest.join("app-7.7.7.tgz").is_file());

        // A failing run fails through Helm too.
        let out = run(helm_with_plugins(major, &home)
            .args(["appkit", "package"])
            .arg(tmp.path()));
        assert!(!out.status.success(), "helm {major}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("has no Chart.yaml"),
            "helm {major}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn hook_uses_an_existing_binary_and_fails_clearly_without_one() {
    let tmp = tempfile::tempdir().unwrap();

    // A prebuilt bin/helm-appkit in the plugin dir is used as is (Helm 3 here; the hook is the same).
    let src = plugin_source(&tmp.path().join("a"));
    fs::create_dir_all(src.join("bin")).unwrap();
    fs::copy(
        env!("CARGO_BIN_EXE_helm-appkit"),
        src.join("bin/helm-appkit"),
    )
    .unwrap();
    let home = tmp.path().join("home-a");
    let out = run(helm_with_plugins(3, &home)
        .args(["plugin", "install"])
        .arg(&src)
        .env_remove("APPKIT_PREBUILT"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("using the prebuilt"),
        "{}",
        stderr(&out)
    );
    run_ok(helm_with_plugins(3, &home).args(["appkit", "--version"]));

    // No binary, no target/, no cargo on PATH: the hook fails with a hint, and Helm reports it.
    let src = plugin_source(&tmp.path().join("b"));
    let out = run(Command::new("/bin/sh")
        .arg(src.join("scripts/plugin-install"))
        .env("HELM_PLUGIN_DIR", &src)
        .env("PATH", "/usr/bin:/bin")
        .env_remove("APPKIT_PREBUILT"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hint: install Rust"),
        "{}",
        stderr(&out)
    );
    assert!(!src.join("bin/helm-appkit").exists());

    // A wrong APPKIT_PREBUILT is reported, not silently ignored.
    let out = run(Command::new("/bin/sh")
        .arg(src.join("scripts/plugin-install"))
        .env("HELM_PLUGIN_DIR", &src)
        .env("APPKIT_PREBUILT", tmp.path().join("nope")));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not an executable file"),
        "{}",
        stderr(&out)
    );
}

/// Helm 4 installs a local plugin under `$HELM_DATA_HOME/plugins` whatever `HELM_PLUGINS` says,
/// but loads from `HELM_PLUGINS`: the install hook warns when they differ (the plugin would
/// install and never load), and says nothing when they agree.
#[test]
fn install_warns_when_helm_would_not_load_the_plugin() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let src = plugin_source(tmp.path());
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let out = run(helm(4, &home)
        .env("HELM_PLUGINS", &elsewhere)
        .args(["plugin", "install"])
        .arg(&src)
        .env("APPKIT_PREBUILT", env!("CARGO_BIN_EXE_helm-appkit")));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("will not be found"), "{all}");
    assert!(all.contains("hint: unset HELM_PLUGINS"), "{all}");
    let out = run(helm(4, &home)
        .env("HELM_PLUGINS", &elsewhere)
        .args(["appkit", "version"]));
    assert!(
        !out.status.success(),
        "it really does not load: {}",
        stdout(&out)
    );

    let home = tmp.path().join("home2");
    let src = plugin_source(&tmp.path().join("2"));
    let out = run(helm_with_plugins(4, &home)
        .args(["plugin", "install"])
        .arg(&src)
        .env("APPKIT_PREBUILT", env!("CARGO_BIN_EXE_helm-appkit")));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        out.status.success() && !all.contains("will not be found"),
        "{all}"
    );
}

/// A prebuilt `bin/helm-appkit` built from another commit than the plugin directory's is not
/// reused: the hook says so and rebuilds (a stand-in `cargo` records the build).
#[test]
fn a_prebuilt_binary_from_another_commit_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let src = plugin_source(tmp.path());
    let git = |args: &[&str]| {
        run_ok(
            Command::new("git")
                .arg("-C")
                .arg(&src)
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args),
        )
    };
    git(&["init", "-q"]);
    git(&["add", "plugin.yaml"]);
    git(&["commit", "-q", "-m", "plugin"]);
    let head = git(&["rev-parse", "HEAD"]).trim().to_string();
    fs::create_dir_all(src.join("bin")).unwrap();
    fs::copy(
        env!("CARGO_BIN_EXE_helm-appkit"),
        src.join("bin/helm-appkit"),
    )
    .unwrap();
    // The stand-in cargo: records its arguments and "builds" the test binary.
    let fake = tmp.path().join("fakebin");
    fs::create_dir_all(&fake).unwrap();
    fs::write(
        fake.join("cargo"),
        format!(
            "#!/bin/sh\necho \"$@\" > {}\nmkdir -p target/release\ncp {} target/release/helm-appkit\n",
            tmp.path().join("cargo-ran").display(),
            env!("CARGO_BIN_EXE_helm-appkit")
        ),
    )
    .unwrap();
    run_ok(Command::new("chmod").arg("+x").arg(fake.join("cargo")));
    let out = run(Command::new("/bin/sh")
        .arg(src.join("scripts/plugin-install"))
        .env("HELM_PLUGIN_DIR", &src)
        .env("PATH", format!("{}:/usr/bin:/bin", fake.display()))
        .env_remove("APPKIT_PREBUILT")
        .env_remove("HELM_PLUGINS"));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("was built from commit") && err.contains(&format!("is at {head}: rebuilding")),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("cargo-ran"))
            .unwrap()
            .trim(),
        "build --release --locked"
    );
    assert!(src.join("bin/helm-appkit").is_file());
}
