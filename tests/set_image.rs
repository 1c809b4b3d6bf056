//! `helm appkit set-image`, run as the real binary on copies of the example platform repo:
//! `--digest` rewriting app1's commented values.yaml (every other line byte-identical), `--env`
//! creating an overlay or adding to one, refusals that write nothing (a malformed digest, values
//! that would not validate, a Buildpacks report of another image), the report fixture
//! (`tests/fixtures/pack/report.toml`), and `--resolve` against a real registry holding a
//! multi-platform image index pushed with `skopeo copy --all` — the digest written is the
//! index's, as `skopeo inspect --raw` hashes it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::registry::Registry;
use crate::common::{self, appkit, run, sha256, stderr, stdout};

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

const OLD: &str = "sha256:3f1c9a7e5b2d4c6a8e0f1b3d5c7e9a1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f";

struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = common::example_platform(tmp.path());
        // Odd spacing and a comment on the digest line.
        let r = Repo { _tmp: tmp, root };
        r.edit("apps/app1/values.yaml", |t| {
            t.replace(
                &format!("  digest: {OLD}\n"),
                &format!("  digest:   {OLD}   # the tested build\n"),
            )
        });
        r
    }
    fn set_image(&self, args: &[&str]) -> Output {
        run(appkit().current_dir(&self.root).arg("set-image").args(args))
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap()
    }
    fn edit(&self, rel: &str, f: impl FnOnce(String) -> String) {
        let old = self.read(rel);
        let new = f(old.clone());
        assert_ne!(new, old, "the edit of {rel} changed nothing");
        std::fs::write(self.root.join(rel), new).unwrap();
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn digest_rewrites_only_the_digest_line_of_values_yaml() {
    let r = Repo::new();
    let before = r.read("apps/app1/values.yaml");
    let d = digest('c');
    let out = r.set_image(&["app1", "--digest", &d]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = r.read("apps/app1/values.yaml");
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b.len(), a.len());
    for (i, (x, y)) in b.iter().zip(&a).enumerate() {
        if x.contains(OLD) {
            assert_eq!(
                *y,
                format!("  digest:   {d}   # the tested build"),
                "line {i}"
            );
        } else {
            assert_eq!(x, y, "line {}", i + 1);
        }
    }
    assert!(stdout(&out).contains(&format!("+  digest:   {d}   # the tested build\n")));
    // Again: nothing to do.
    let out = r.set_image(&["app1", "--digest", &d]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing to do"), "{}", stderr(&out));
    assert_eq!(r.read("apps/app1/values.yaml"), after);
    // validate agrees with the result.
    let out = run(appkit()
        .current_dir(&r.root)
        .args(["validate", "apps/app1"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn env_writes_the_overlay_creating_it_when_missing() {
    let r = Repo::new();
    let d = digest('d');
    assert!(!r.root.join("apps/app2/values.prod.yaml").exists());
    let out = r.set_image(&["app2", "--env", "prod", "--digest", &d]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        r.read("apps/app2/values.prod.yaml"),
        format!("image:\n  digest: {d}\n")
    );
    assert!(stdout(&out).starts_with("--- /dev/null\n+++ b/apps/app2/values.prod.yaml\n"));
    // An existing overlay without an image block gets one at its end; values.yaml is untouched.
    let base = r.read("apps/app1/values.yaml");
    let overlay = r.read("apps/app1/values.prod.yaml");
    let out = r.set_image(&["app1", "-e", "prod", "--digest", &d]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        r.read("apps/app1/values.prod.yaml"),
        format!("{overlay}image:\n  digest: {d}\n")
    );
    assert_eq!(r.read("apps/app1/values.yaml"), base);
    // An unknown environment is a usage error.
    let out = r.set_image(&["app1", "-e", "nope", "--digest", &d]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn refusals_write_nothing() {
    let r = Repo::new();
    let before = r.read("apps/app1/values.yaml");
    for bad in [
        "sha256:abc",
        "sha256:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
        "md5:0123",
    ] {
        let out = r.set_image(&["app1", "--digest", bad]);
        assert_eq!(code(&out), 1, "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is not an image digest"),
            "{}",
            stderr(&out)
        );
    }
    // Exactly one source.
    let out = r.set_image(&["app1"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = r.set_image(&["app1", "--digest", &digest('c'), "--resolve"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = r.set_image(&["app9", "--digest", &digest('c')]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(r.read("apps/app1/values.yaml"), before);

    // Values that would not validate: the new file is checked before it is written.
    r.edit("apps/app1/values.yaml", |t| {
        t.replace("port: 8080", "port: many")
    });
    let before = r.read("apps/app1/values.yaml");
    let out = r.set_image(&["app1", "--digest", &digest('c')]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("would not validate"), "{err}");
    assert!(
        err.contains("apps/app1/values.yaml:"),
        "the real file is named: {err}"
    );
    assert!(!err.contains(".appkit-"), "not the staged copy: {err}");
    assert_eq!(r.read("apps/app1/values.yaml"), before);
    let staged: Vec<_> = std::fs::read_dir(r.root.join("apps/app1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".appkit"))
        .collect();
    assert!(staged.is_empty(), "{staged:?}");
}

fn fixture() -> PathBuf {
    common::repo_root().join("tests/fixtures/pack/report.toml")
}

#[test]
fn a_pack_report_sets_its_digest_and_one_of_another_image_is_refused() {
    let r = Repo::new();
    let report = fixture();
    let fixture_digest = "sha256:7e0c9b3f1a2d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6";
    let out = run(appkit().current_dir(&r.root).args([
        "-o",
        "json",
        "set-image",
        "app1",
        "--from-pack-report",
        report.to_str().unwrap(),
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["digest"], fixture_digest);
    assert_eq!(v["previous"], OLD);
    assert_eq!(v["source"]["kind"], "packReport");
    assert!(r.read("apps/app1/values.yaml").contains(&format!(
        "  digest:   {fixture_digest}   # the tested build\n"
    )));

    // The same report for app2 names app1's repository: refused, both named.
    let before = r.read("apps/app2/values.yaml");
    let out = r.set_image(&["app2", "--from-pack-report", report.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("harbor.example.com/apps/app1:1.4.2")
            && err.contains("app2's image.repository is harbor.example.com/apps/app2"),
        "{err}"
    );
    assert_eq!(r.read("apps/app2/values.yaml"), before);

    // A report without a digest (exported to a daemon) and a broken one.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&report).unwrap();
    let no_digest = dir.path().join("daemon.toml");
    std::fs::write(
        &no_digest,
        text.lines()
            .filter(|l| !l.trim_start().starts_with("digest ="))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let out = r.set_image(&["app1", "--from-pack-report", no_digest.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has no image digest"),
        "{}",
        stderr(&out)
    );
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[image]\ntags = 1\n").unwrap();
    let out = r.set_image(&["app1", "--from-pack-report", broken.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let out = r.set_image(&["app1", "--from-pack-report", "/nonexistent/report.toml"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
}

/// An OCI layout holding a two-platform image (an index over two manifests), tagged `tag`.
fn multi_arch_layout(dir: &Path, tag: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| -> (String, usize) {
        let d = sha256(bytes);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes).unwrap();
        (d, bytes.len())
    };
    let mut manifests = Vec::new();
    for (arch, text) in [("amd64", "hello amd64\n"), ("arm64", "hello arm64\n")] {
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "hello", text.as_bytes()).unwrap();
        let tar = tar.into_inner().unwrap();
        let diff_id = sha256(&tar);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        let (layer, layer_size) = put(&gz.finish().unwrap());
        let config = json!({
            "architecture": arch, "os": "linux",
            "config": {}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}
        });
        let (config, config_size) = put(config.to_string().as_bytes());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}]
        });
        let (m, m_size) = put(manifest.to_string().as_bytes());
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": m, "size": m_size,
            "platform": {"architecture": arch, "os": "linux"}
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests
    });
    let (i, i_size) = put(index.to_string().as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let top = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": i, "size": i_size,
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }]
    });
    std::fs::write(dir.join("index.json"), top.to_string()).unwrap();
}

fn skopeo(args: &[&str]) -> Output {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is installed (run scripts/test)");
    assert!(out.status.success(), "skopeo {args:?}: {}", stderr(&out));
    out
}

#[test]
fn resolve_asks_the_registry_for_the_index_digest_of_the_tag() {
    let registry = Registry::anonymous();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("image");
    multi_arch_layout(&layout, "1.4.2");
    let image = format!("{}/apps/app1", registry.host);
    skopeo(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:1.4.2", layout.display()),
        &format!("docker://{image}:1.4.2"),
    ]);
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{image}:1.4.2"),
    ]);
    let index_digest = sha256(&raw.stdout);
    let index: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");

    let r = Repo::new();
    r.edit("apps/app1/values.yaml", |t| {
        t.replace("harbor.example.com/apps/app1", &image)
    });
    let mut args = vec!["app1", "--resolve"];
    let flags = registry.appkit_flags();
    args.extend(flags.iter().map(String::as_str));
    let out = r.set_image(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        r.read("apps/app1/values.yaml").contains(&format!(
            "  digest:   {index_digest}   # the tested build\n"
        )),
        "{}",
        r.read("apps/app1/values.yaml")
    );
    assert!(
        stderr(&out).contains(&format!("(oci://{image}:1.4.2)")),
        "{}",
        stderr(&out)
    );
    assert!(registry.count("HEAD", "/v2/apps/app1/manifests/1.4.2") >= 1);

    // A tag the registry does not have: exit 1, nothing written.
    r.edit("apps/app1/values.yaml", |t| {
        t.replace("tag: \"1.4.2\"", "tag: \"9.9.9\"")
    });
    let before = r.read("apps/app1/values.yaml");
    let out = r.set_image(&args);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert_eq!(r.read("apps/app1/values.yaml"), before);
}

#[test]
fn a_flow_mapping_image_is_refused_with_its_position_and_a_dry_run_writes_nothing() {
    let r = Repo::new();
    let d = digest('e');
    // A dry run: the diff, nothing written.
    let before = r.read("apps/app1/values.yaml");
    let out = r.set_image(&["app1", "--digest", &d, "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("+  digest:   {d}")),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("dry run: nothing was written"));
    assert_eq!(r.read("apps/app1/values.yaml"), before);
    let out = r.set_image(&["app2", "-e", "prod", "--digest", &d, "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!r.root.join("apps/app2/values.prod.yaml").exists());

    // `image: {…}`: refused at the brace, the file untouched.
    let text = r.read("apps/app2/values.yaml");
    let start = text.find("image:\n").expect("app2 has an image block");
    let block_end = start
        + 7
        + text[start + 7..]
            .lines()
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.len() + 1)
            .sum::<usize>();
    let flow = "image: {repository: harbor.example.com/apps/app2, tag: \"2.0.1\"}\n";
    let new = format!("{}{flow}{}", &text[..start], &text[block_end..]);
    std::fs::write(r.root.join("apps/app2/values.yaml"), &new).unwrap();
    let line = new[..start].matches('\n').count() + 1;
    let out = r.set_image(&["app2", "--digest", &d]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("apps/app2/values.yaml:{line}:8 safely"))
            && err.contains("`image` is a flow mapping"),
        "{err}"
    );
    assert_eq!(r.read("apps/app2/values.yaml"), new);
}
