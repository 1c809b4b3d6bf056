//! Hostile chart archives, end to end: crafted `.tgz` files pushed with `push`, and the same
//! archives served from a crafted OCI image layout to `pull` (digests valid, content hostile).
//! `..` and absolute entry names, symlink/hard-link/device entries, oversized entries, a gzip bomb,
//! truncated and non-gzip data, hostile Chart.yaml inside. Nothing may be written: no layout on
//! push, no file in the destination on pull.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{accepted, refused};
use crate::common::{appkit, mkfifo, sha256 as sha};

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n";

/// One ustar header (512 bytes) for `name`, with type flag `kind`, `size` and `link`.
fn header(name: &str, kind: u8, size: u64, link: &str) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar stream of (name, type flag, data, link target), Chart.yaml first.
fn tar(entries: &[(&str, u8, &[u8], &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data, link) in entries {
        out.extend_from_slice(&header(name, *kind, data.len() as u64, link));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A gzip bomb: `files` entries of 5 MiB - 1 of zeros each (each under the per-file limit, the
/// sum over the 100 MiB archive limit), compressed by `gzip -1` (about 1000:1).
fn gzip_bomb(files: usize) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        stdin
            .write_all(&tar(&[("demo/Chart.yaml", b'0', CHART_YAML, "")])[..512 * 2])
            .unwrap();
        let size = 5 * 1024 * 1024 - 1;
        let zeros = vec![0u8; size + 1];
        for i in 0..files {
            stdin
                .write_all(&header(
                    &format!("demo/templates/z{i}"),
                    b'0',
                    size as u64,
                    "",
                ))
                .unwrap();
            stdin.write_all(&zeros).unwrap();
        }
        stdin.write_all(&[0u8; 1024]).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// The hostile archives: (case, .tgz bytes, expected stderr fragment).
fn hostile_archives() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let chart = ("demo/Chart.yaml", b'0', CHART_YAML, "");
    let e = |entries: &[(&str, u8, &[u8], &str)]| gzip(&tar(entries));
    let big = vec![b'a'; 6 * 1024 * 1024];
    let good = e(&[chart, ("demo/values.yaml", b'0', b"a: 1\n", "")]);
    vec![
        (
            "entry with ..",
            e(&[chart, ("demo/../../evil", b'0', b"x", "")]),
            "\"demo/../../evil\": `..` (parent directory) is not allowed",
        ),
        (
            "absolute entry",
            e(&[chart, ("/tmp/evil", b'0', b"x", "")]),
            "\"/tmp/evil\": absolute paths are not allowed",
        ),
        (
            "symlink entry",
            e(&[chart, ("demo/templates/l", b'2', b"", "/etc/passwd")]),
            "\"demo/templates/l\": links are not allowed",
        ),
        (
            "hard link entry",
            e(&[chart, ("demo/templates/h", b'1', b"", "/etc/passwd")]),
            "\"demo/templates/h\": links are not allowed",
        ),
        (
            "device entry",
            e(&[chart, ("demo/templates/d", b'3', b"", "")]),
            "\"demo/templates/d\": device files and FIFOs are not allowed",
        ),
        (
            "FIFO entry",
            e(&[chart, ("demo/templates/p", b'6', b"", "")]),
            "\"demo/templates/p\": device files and FIFOs are not allowed",
        ),
        (
            "6 MiB entry",
            e(&[chart, ("demo/templates/big.yaml", b'0', &big, "")]),
            "\"demo/templates/big.yaml\" is larger than the limit of 5242880 bytes",
        ),
        (
            "gzip bomb (125 MiB of zeros)",
            gzip_bomb(25),
            "decompressed chart is larger than 104857600 bytes",
        ),
        (
            "truncated gzip",
            good[..good.len() / 2].to_vec(),
            "cannot read the tar stream",
        ),
        (
            "not gzip",
            b"PK\x03\x04 this is a zip".to_vec(),
            "not a gzip-compressed archive",
        ),
        (
            "Chart.yaml name ../evil",
            e(&[(
                "demo/Chart.yaml",
                b'0',
                b"apiVersion: v2\nname: ../evil\nversion: 1.0.0\n",
                "",
            )]),
            "`name` \"../evil\" is invalid: a chart name must not contain path separators",
        ),
        (
            // `1.0` is a version Helm reads (and packages); this one it cannot read.
            "Chart.yaml version 1.0.0.0",
            e(&[(
                "demo/Chart.yaml",
                b'0',
                b"apiVersion: v2\nname: demo\nversion: \"1.0.0.0\"\n",
                "",
            )]),
            "`version` \"1.0.0.0\" is not a version Helm can read",
        ),
        (
            "Chart.yaml alias bomb",
            e(&[(
                "demo/Chart.yaml",
                b'0',
                [CHART_YAML, super::alias_bomb("x").as_bytes()]
                    .concat()
                    .as_slice(),
                "",
            )]),
            "invalid YAML: too many YAML nodes (at most 250000)",
        ),
        (
            "no Chart.yaml",
            e(&[("demo/values.yaml", b'0', b"a: 1\n", "")]),
            "no demo/Chart.yaml in the archive",
        ),
    ]
}

/// An OCI image layout at `dir` serving `tgz` as chart `demo:1.0.0` with Helm's media types and
/// valid digests (the content is what is hostile).
fn layout(dir: &Path, tgz: &[u8]) {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        fs::write(blobs.join(&d[7..]), b).unwrap();
        d
    };
    let config = br#"{"apiVersion":"v2","name":"demo","version":"1.0.0"}"#;
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
        put(config),
        config.len(),
        put(tgz),
        tgz.len()
    );
    let md = put(manifest.as_bytes());
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"1.0.0","org.opencontainers.image.title":"demo"}}}}]}}"#,
            manifest.len()
        ),
    )
    .unwrap();
}

fn is_empty_dir(p: &Path) -> bool {
    fs::read_dir(p).map_or(true, |mut d| d.next().is_none())
}

#[test]
fn hostile_archives_are_refused_by_push_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for (i, (case, tgz, needle)) in hostile_archives().iter().enumerate() {
        let file = t.join(format!("a{i}.tgz"));
        fs::write(&file, tgz).unwrap();
        let dest = t.join(format!("layout{i}"));
        let mut c = appkit();
        c.arg("push")
            .arg(&file)
            .arg(format!("oci-layout:{}", dest.display()));
        refused(&format!("archive {case} (push)"), &c, &[1, 2], needle);
        assert!(!dest.exists(), "{case}: push created {}", dest.display());
    }
}

#[test]
fn hostile_archives_from_an_oci_layout_are_refused_by_pull_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for (i, (case, tgz, needle)) in hostile_archives().iter().enumerate() {
        let dir = t.join(format!("layout{i}"));
        layout(&dir, tgz);
        for untar in [false, true] {
            let dest = t.join(format!("dest{i}-{untar}"));
            fs::create_dir_all(&dest).unwrap();
            let mut c = appkit();
            c.arg("pull")
                .arg(format!("oci-layout:{}/demo", dir.display()))
                .args(["--version", "1.0.0", "-d"])
                .arg(&dest);
            if untar {
                c.arg("--untar");
            }
            let how = if untar { "pull --untar" } else { "pull" };
            refused(&format!("archive {case} ({how})"), &c, &[1, 2], needle);
            assert!(
                is_empty_dir(&dest),
                "{case} ({how}): wrote into {}",
                dest.display()
            );
        }
    }
    assert!(!t.join("evil").exists());
    // The crafted layout itself is sound: a good archive pulls.
    let good = gzip(&tar(&[
        ("demo/Chart.yaml", b'0', CHART_YAML, ""),
        ("demo/values.yaml", b'0', b"a: 1\n", ""),
    ]));
    let dir = t.join("good");
    layout(&dir, &good);
    let mut c = appkit();
    c.arg("pull")
        .arg(format!("oci-layout:{}/demo", dir.display()))
        .args(["--version", "1.0.0", "--untar", "-d"])
        .arg(t.join("good-dest"));
    accepted("archive good (pull --untar)", &c);
    assert_eq!(
        fs::read(t.join("good-dest/demo/values.yaml")).unwrap(),
        b"a: 1\n"
    );
}

/// A crafted layout whose files are FIFOs or oversized: pull neither blocks nor reads them whole.
#[test]
fn hostile_oci_layout_files_are_refused_by_pull() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let good = gzip(&tar(&[("demo/Chart.yaml", b'0', CHART_YAML, "")]));
    let layer = sha(&good);
    type Spoil = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Spoil, &str)> = vec![
        (
            "index.json FIFO",
            Box::new(|d: &Path| mkfifo(&d.join("index.json"))),
            "FIFO",
        ),
        (
            "index.json 5 MiB",
            Box::new(|d: &Path| {
                let mut f = fs::OpenOptions::new()
                    .append(true)
                    .open(d.join("index.json"))
                    .unwrap();
                f.write_all(&vec![b' '; 5 * 1024 * 1024]).unwrap();
            }),
            "limit is 4194304 bytes",
        ),
        (
            "chart layer blob FIFO",
            Box::new(move |d: &Path| mkfifo(&d.join("blobs/sha256").join(&layer[7..]))),
            "FIFO",
        ),
        (
            "oci-layout FIFO",
            Box::new(|d: &Path| mkfifo(&d.join("oci-layout"))),
            "not an OCI image layout (no `oci-layout` file)",
        ),
    ];
    for (i, (case, spoil, needle)) in cases.iter().enumerate() {
        let dir = t.join(format!("layout{i}"));
        layout(&dir, &good);
        spoil(&dir);
        let dest = t.join(format!("dest{i}"));
        fs::create_dir_all(&dest).unwrap();
        let mut c = appkit();
        c.arg("pull")
            .arg(format!("oci-layout:{}/demo", dir.display()))
            .args(["--version", "1.0.0", "-d"])
            .arg(&dest);
        refused(&format!("OCI layout {case} (pull)"), &c, &[1, 2], needle);
        assert!(is_empty_dir(&dest), "{case}: wrote into {}", dest.display());
    }
}
