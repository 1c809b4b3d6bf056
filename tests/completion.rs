//! Shell completion through Helm: the plugin installed into a temp Helm home (Helm 3.17 and 4.1,
//! as tests/plugin.rs does it), then the real `helm __complete appkit …` — what Helm's own
//! completion script (`helm completion bash|zsh|fish`) runs on every TAB. Helm calls the
//! plugin's `plugin.complete`, which asks `helm-appkit __complete`; Helm prints the completions,
//! one a line (`value<TAB>description`), and the `:<directive>` line.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{
    example_platform, helm, plugin_source, repo_root, run, run_ok, stderr, stdout,
};

/// Helm with the plugins dir where both Helm versions install and load local plugins.
fn helm_with_plugins(major: u8, home: &Path) -> Command {
    let mut c = helm(major, home);
    c.env("HELM_PLUGINS", home.join("data/plugins"))
        .env_remove("APPKIT_CONFIG");
    c
}

/// A Helm home under `tmp` with the plugin installed (the test binary as its binary).
fn installed(major: u8, tmp: &Path) -> PathBuf {
    let home = tmp.join(format!("home{major}"));
    let src = plugin_source(&tmp.join(format!("src{major}")));
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
    home
}

/// What Helm answers to `helm __complete appkit WORDS…` run in `cwd`: the completions (without
/// descriptions) and the directive.
struct Answer {
    values: Vec<String>,
    lines: Vec<String>,
    directive: u32,
}

fn complete(major: u8, home: &Path, cwd: &Path, words: &[&str]) -> Answer {
    let out = run_ok(
        helm_with_plugins(major, home)
            .current_dir(cwd)
            .args(["__complete", "appkit"])
            .args(words),
    );
    let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
    let last = lines.pop().unwrap_or_default();
    let directive = last
        .strip_prefix(':')
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("helm {major} {words:?}: no directive line:\n{out}"));
    let values = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    Answer {
        values,
        lines,
        directive,
    }
}

#[test]
fn completion_through_helm_3_and_4_subcommands_flags_and_values() {
    for major in [3u8, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let home = installed(major, tmp.path());
        let cwd = tmp.path();

        // Subcommands, from clap's definition; hidden ones (`__complete`) are not offered.
        let a = complete(major, &home, cwd, &[""]);
        for sub in [
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
            assert!(
                a.values.contains(&sub.to_string()),
                "helm {major}: {sub}: {:?}",
                a.lines
            );
        }
        assert!(
            !a.values.iter().any(|v| v.starts_with("__")),
            "helm {major}: {:?}",
            a.values
        );
        assert_eq!(
            a.directive, 4,
            "helm {major}: no file completion for a subcommand"
        );
        // With descriptions (Cobra's `value<TAB>description`), from the --help text.
        assert!(
            a.lines
                .iter()
                .any(|l| l.starts_with("render\tWrite the Flux OCIRepository")),
            "helm {major}: {:?}",
            a.lines
        );

        // A prefix.
        let a = complete(major, &home, cwd, &["ren"]);
        assert_eq!(a.values, vec!["render"], "helm {major}");
        assert_eq!(a.directive, 4);

        // The flags of the subcommand being typed, long and short.
        let a = complete(major, &home, cwd, &["render", "--"]);
        for f in [
            "--env", "--out", "--check", "--output", "--config", "--quiet",
        ] {
            assert!(
                a.values.contains(&f.to_string()),
                "helm {major}: {f}: {:?}",
                a.values
            );
        }
        assert!(
            !a.values.contains(&"--source".to_string()),
            "hidden flag offered"
        );
        assert!(
            !a.values.contains(&"--strict".to_string()),
            "validate's flag on render"
        );
        assert_eq!(a.directive, 4);
        let a = complete(major, &home, cwd, &["validate", "-"]);
        assert!(
            a.values.contains(&"-e".to_string()) && a.values.contains(&"--list-rules".to_string()),
            "helm {major}: {:?}",
            a.values
        );

        // Values of enum flags.
        // `-o`: only the formats the command writes.
        let a = complete(major, &home, cwd, &["render", "-o", ""]);
        assert_eq!(a.values, vec!["human", "json"], "helm {major}");
        let a = complete(major, &home, cwd, &["render", "--check", "-o", ""]);
        assert_eq!(a.values, vec!["human", "json", "github"], "helm {major}");
        let a = complete(major, &home, cwd, &["report", "-o", ""]);
        assert_eq!(a.values, vec!["human", "json", "html"], "helm {major}");
        assert_eq!(a.directive, 4);
        let a = complete(major, &home, cwd, &["import", "--prefer", ""]);
        assert_eq!(a.values, vec!["release", "file"], "helm {major}");
        let a = complete(major, &home, cwd, &["validate", "--output=j"]);
        assert_eq!(a.values, vec!["json"], "helm {major}");

        // Paths: the shell's files (0) or directories (16); a new app name: nothing (4).
        let a = complete(major, &home, cwd, &["render", "--out", ""]);
        assert_eq!((a.values.len(), a.directive), (0, 16), "helm {major}");
        let a = complete(major, &home, cwd, &["import", ""]);
        assert_eq!((a.values.len(), a.directive), (0, 0), "helm {major}");
        let a = complete(major, &home, cwd, &["new", ""]);
        assert_eq!((a.values.len(), a.directive), (0, 4), "helm {major}");

        // No appkit.yaml here: no environment names, and no error either.
        let a = complete(major, &home, cwd, &["render", "-e", ""]);
        assert_eq!(
            (a.values.len(), a.directive),
            (0, 4),
            "helm {major}: {:?}",
            a.lines
        );
        // An unknown subcommand: nothing.
        let a = complete(major, &home, cwd, &["nope", ""]);
        assert_eq!(
            (a.values.len(), a.directive),
            (0, 4),
            "helm {major}: {:?}",
            a.lines
        );
    }
}

#[test]
fn completion_through_helm_3_and_4_names_from_the_platform_repo() {
    for major in [3u8, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let home = installed(major, tmp.path());
        let repo = example_platform(&tmp.path().join("platform"));

        // Environments of appkit.yaml, found from the current directory (and above it).
        let a = complete(major, &home, &repo, &["render", "-e", ""]);
        assert_eq!(a.values, vec!["dev", "prod"], "helm {major}: {:?}", a.lines);
        assert_eq!(a.directive, 4);
        let a = complete(major, &home, &repo.join("apps"), &["render", "--env", "p"]);
        assert_eq!(a.values, vec!["prod"], "helm {major}");
        let a = complete(major, &home, &repo, &["validate", "--env", "dev,"]);
        assert_eq!(a.values, vec!["dev,prod"], "helm {major}");

        // --config from elsewhere.
        let cfg = repo.join("appkit.yaml");
        let a = complete(
            major,
            &home,
            tmp.path(),
            &["render", "--config", cfg.to_str().unwrap(), "-e", ""],
        );
        assert_eq!(a.values, vec!["dev", "prod"], "helm {major}");

        // Node pools for `new --nodepool`.
        let a = complete(major, &home, &repo, &["new", "shop", "--nodepool", ""]);
        assert_eq!(a.values, vec!["apps", "apps-highmem"], "helm {major}");

        // validate's positionals: the app directories; none matching: the shell's files.
        let a = complete(major, &home, &repo, &["validate", ""]);
        assert_eq!(a.values, vec!["apps/app1", "apps/app2"], "helm {major}");
        assert_eq!(a.directive, 0);
        // plan --app: the apps of the platform repo.
        let a = complete(major, &home, &repo, &["plan", "--app", ""]);
        assert_eq!(a.values, vec!["app1", "app2"], "helm {major}");
        let a = complete(major, &home, &repo, &["validate", "-e", "dev", "apps/app2"]);
        assert_eq!(a.values, vec!["apps/app2"], "helm {major}");
        let a = complete(major, &home, &repo, &["validate", "apps/app1/values"]);
        assert_eq!((a.values.len(), a.directive), (0, 0), "helm {major}");
    }
}

#[test]
fn helm_completion_scripts_still_work_with_the_plugin_installed() {
    for major in [3u8, 4] {
        let tmp = tempfile::tempdir().unwrap();
        let home = installed(major, tmp.path());
        for shell in ["bash", "zsh", "fish"] {
            let script = run_ok(helm_with_plugins(major, &home).args(["completion", shell]));
            assert!(
                script.contains("__complete"),
                "helm {major} completion {shell}:\n{script}"
            );
        }
    }

    // plugin.complete before the hook put a binary in place: no completions, no error.
    let tmp = tempfile::tempdir().unwrap();
    let out = run(Command::new(repo_root().join("plugin.complete"))
        .arg("")
        .env("HELM_PLUGIN_DIR", tmp.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), ":4\n");
    assert_eq!(stderr(&out), "");
}
