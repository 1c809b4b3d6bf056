//! `helm appkit new` and `helm appkit docs`, run as the real binary on copies of the example
//! platform repo: the scaffold validates (appkit's own `validate` and `helm template` with real
//! Helm 3 and 4), matches its snapshot byte for byte, and every refusal writes nothing; the chart's
//! committed README.md is exactly what `docs` writes (`--check` is the CI guard), a stale or missing
//! README fails `--check` with a diff, a key without a description is reported, and a broken
//! platform template is reported with its file and line.
//!
//! `new` and `docs` hold their commands' tests; the platform-template tests are here.
//!
//! Snapshots: `tests/fixtures/scaffold/app3/`; regenerate with
//! `APPKIT_UPDATE_SNAPSHOTS=1 cargo test --test tests scaffold` and review the diff.

use std::path::PathBuf;
use std::process::Output;

use crate::common::{self, appkit, run};

mod docs;
mod new;

const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

fn fixtures() -> PathBuf {
    common::repo_root().join("tests/fixtures/scaffold")
}

/// A copy of the example platform repo (`<tmp>/examples`, with `<tmp>/chart` beside it, as the
/// example's `chart.path: ../chart` expects).
struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        common::copy_dir(&common::examples_dir(), &tmp.path().join("examples"));
        common::copy_dir(&common::chart_dir(), &tmp.path().join("chart"));
        let root = tmp.path().join("examples");
        Repo { _tmp: tmp, root }
    }
    fn chart(&self) -> PathBuf {
        self.root.join("../chart")
    }
    fn appkit(&self) -> std::process::Command {
        let mut c = appkit();
        c.current_dir(&self.root);
        c
    }
    fn new_app(&self, args: &[&str]) -> Output {
        run(self.appkit().arg("new").args(args))
    }
    /// Entries of the apps directory (staging leftovers would show here).
    fn apps(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root.join("apps"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

fn image(tag: &str) -> String {
    format!("harbor.example.com/apps/app3{tag}@{DIGEST}")
}

fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        common::stdout(out),
        common::stderr(out)
    );
    assert!(!common::stderr(out).contains("panicked"), "{what} panicked");
}

/// Compare with (or, with APPKIT_UPDATE_SNAPSHOTS=1, write) an expected file.
fn snapshot(rel: &str, actual: &str) {
    common::assert_snapshot(&fixtures().join(rel), actual);
}

/// A platform's template directory (appkit.yaml `templates:`) in a copy of the examples.
fn with_templates(repo: &Repo, files: &[(&str, &str)]) -> PathBuf {
    let dir = repo.root.join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let cfg = repo.root.join("appkit.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}\ntemplates: templates\n")).unwrap();
    dir
}

#[test]
fn broken_override_templates_are_reported_with_file_and_line() {
    let repo = Repo::new();
    let dir = with_templates(
        &repo,
        &[
            (
                "README.md.tera",
                "# {{ chart.name }}\n\n{% for r in rows %}\n| {{ r.key }\n{% endfor %}\n",
            ),
            (
                "values.yaml.tera",
                "# {{ app }}\nimage:\n  repository: {{ image }}\n  digest: {{ digest_typo }}\n",
            ),
        ],
    );
    let out = run(repo.appkit().args(["docs", "--check"]));
    assert_exit(&out, 2, "docs with a broken README template");
    let err = common::stderr(&out);
    let file = dir.join("README.md.tera").display().to_string();
    assert!(err.contains(&format!("error: {file}:4:")), "{err}");

    let out = repo.new_app(&["app3", "--image", &image("")]);
    assert_exit(&out, 2, "new with a broken values template");
    let err = common::stderr(&out);
    let file = dir.join("values.yaml.tera").display().to_string();
    assert!(err.contains(&format!("error: {file}:4:")), "{err}");
    assert!(err.contains("digest_typo"), "{err}");
    assert_eq!(repo.apps(), ["app1", "app2"]);
}

#[test]
fn override_templates_replace_the_embedded_ones() {
    let repo = Repo::new();
    with_templates(
        &repo,
        &[
            (
                "overlay.yaml.tera",
                "# {{ app }} on {{ env.name }}: ask #platform before changing anything here.\n",
            ),
            ("values.yml.tera", "misspelt: and ignored\n"),
        ],
    );
    let out = repo.new_app(&["app3", "--image", &image(""), "--env", "prod"]);
    assert_exit(&out, 0, "new with an overlay template");
    assert_eq!(
        std::fs::read_to_string(repo.root.join("apps/app3/values.prod.yaml")).unwrap(),
        "# app3 on prod: ask #platform before changing anything here.\n"
    );
    // values.yaml still comes from the embedded template.
    let values = std::fs::read_to_string(repo.root.join("apps/app3/values.yaml")).unwrap();
    assert!(
        values.starts_with("# app3: the values of this app"),
        "{values}"
    );
    assert!(common::stderr(&out).contains("values.yml.tera is not one of appkit's templates"));
}
