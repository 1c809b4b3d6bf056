//! Unit tests for building and reading chart archives.

use super::*;

fn write(dir: &Path, rel: &str, data: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

fn chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n# comment\n",
    );
    write(dir, "values.yaml", "\u{feff}replicas: 1\n");
    write(dir, "values.schema.json", "{\"type\":\"object\"}");
    write(dir, "templates/deploy.yaml", "kind: Deployment\n");
    write(dir, "templates/.swp", "junk");
    write(dir, "README.md", "# demo\n");
    write(
        dir,
        "charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
    );
    write(dir, "charts/.gitkeep", "");
}

#[test]
fn packages_in_helm_order_with_fixed_headers() {
    let d = tempfile::tempdir().unwrap();
    chart(d.path());
    let p = package(d.path(), &PackageOptions::default()).unwrap();
    assert_eq!(p.file_name, "demo-0.1.0.tgz");
    assert_eq!(
        p.files,
        [
            "Chart.yaml",
            "values.yaml",
            "values.schema.json",
            "README.md",
            "charts/sub/Chart.yaml",
            "templates/deploy.yaml"
        ]
    );
    // gzip header: magic, deflate, no flags, mtime 0, OS unknown
    assert_eq!(&p.bytes[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(p.bytes.as_slice()));
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert!(h.path().unwrap().starts_with("demo/"));
        assert_eq!(h.mode().unwrap(), 0o644);
        assert_eq!(
            (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
            (0, 0, 0)
        );
        assert_eq!(h.username().unwrap(), Some(""));
        assert_eq!(h.entry_type(), tar::EntryType::Regular);
    }
    let back = read_tgz(&p.bytes).unwrap();
    assert_eq!(back.top_dir, "demo");
    assert_eq!(
        back.files[1].data, b"replicas: 1\n",
        "BOM dropped like Helm"
    );
    assert_eq!(
        back.metadata.to_helm_config_json(),
        p.metadata.to_helm_config_json()
    );
    assert_eq!(p.sha256, hex::encode(Sha256::digest(&p.bytes)));
}

#[test]
fn overrides_reach_the_archived_chart_yaml() {
    let d = tempfile::tempdir().unwrap();
    chart(d.path());
    let opts = PackageOptions {
        version: Some("2.0.0-rc.1".into()),
        app_version: Some("9.9".into()),
        source_date_epoch: Some(1_700_000_000),
    };
    let p = package(d.path(), &opts).unwrap();
    assert_eq!(p.file_name, "demo-2.0.0-rc.1.tgz");
    let back = read_tgz(&p.bytes).unwrap();
    assert_eq!(back.metadata.version, "2.0.0-rc.1");
    assert_eq!(back.metadata.app_version, "9.9");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(p.bytes.as_slice()));
    assert_eq!(
        ar.entries()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .header()
            .mtime()
            .unwrap(),
        1_700_000_000
    );
}

#[test]
fn invalid_override_is_reported() {
    let d = tempfile::tempdir().unwrap();
    chart(d.path());
    let opts = PackageOptions {
        version: Some("1.2.3.4".into()),
        ..Default::default()
    };
    let err = package(d.path(), &opts).unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
}

#[test]
fn charts_dir_rules() {
    let d = tempfile::tempdir().unwrap();
    chart(d.path());
    write(d.path(), "charts/README", "x");
    let err = package(d.path(), &PackageOptions::default()).unwrap_err();
    assert!(matches!(err, ChartError::BadChartsEntry { .. }), "{err:?}");
    fs::remove_file(d.path().join("charts/README")).unwrap();
    write(d.path(), "charts/nochart/values.yaml", "a: 1\n");
    let err = package(d.path(), &PackageOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("must contain a Chart.yaml"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_followed_outside_refused_loops_detected() {
    use std::os::unix::fs::symlink;
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("c");
    chart(&c);
    symlink("README.md", c.join("LINK.md")).unwrap();
    let p = package(&c, &PackageOptions::default()).unwrap();
    assert!(p.files.contains(&"LINK.md".to_string()));

    symlink(".", c.join("templates/self")).unwrap();
    let err = package(&c, &PackageOptions::default()).unwrap_err();
    assert!(matches!(err, ChartError::SymlinkLoop { .. }), "{err:?}");
    fs::remove_file(c.join("templates/self")).unwrap();

    write(d.path(), "secret.txt", "s");
    symlink("../secret.txt", c.join("stolen.txt")).unwrap();
    let err = package(&c, &PackageOptions::default()).unwrap_err();
    assert!(matches!(err, ChartError::SymlinkOutside { .. }), "{err:?}");
    // ...unless .helmignore leaves it out
    write(&c, ".helmignore", "stolen.txt\n");
    package(&c, &PackageOptions::default()).unwrap();
}

type Entry<'a> = (&'a str, tar::EntryType, &'a [u8]);

fn tgz(entries: &[Entry]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (name, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        // set the raw name so that unsafe names survive the tar crate's own checks
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        if *kind == tar::EntryType::Symlink {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

const CY: &[u8] = b"apiVersion: v2\nname: x\nversion: 1.0.0\n";

#[test]
fn read_tgz_refuses_unsafe_entries() {
    use tar::EntryType::*;
    let cases: Vec<(Vec<Entry>, &str)> = vec![
        (
            vec![
                ("x/Chart.yaml", Regular, CY),
                ("x/../../evil", Regular, b"e"),
            ],
            "..",
        ),
        (vec![("/x/Chart.yaml", Regular, CY)], "absolute"),
        (
            vec![("x/Chart.yaml", Regular, CY), ("x/l", Symlink, b"")],
            "links",
        ),
        (
            vec![("x/Chart.yaml", Regular, CY), ("x/dev", Char, b"")],
            "device",
        ),
        (
            vec![("x/Chart.yaml", Regular, CY), ("x/p", Fifo, b"")],
            "FIFO",
        ),
        (vec![("Chart.yaml", Regular, CY)], "top directory"),
        (
            vec![("x/Chart.yaml", Regular, CY), ("y/a", Regular, b"")],
            "one top directory",
        ),
        (
            vec![("x/Chart.yaml", Regular, CY), ("x/Chart.yaml", Regular, CY)],
            "twice",
        ),
        (vec![("x\\Chart.yaml", Regular, CY)], "backslash"),
    ];
    for (entries, want) in cases {
        let err = read_tgz(&tgz(&entries)).unwrap_err().to_string();
        assert!(err.contains(want), "{entries:?}: {err}");
    }
    assert!(read_tgz(b"not gzip")
        .unwrap_err()
        .to_string()
        .contains("gzip"));
    assert!(read_tgz(&tgz(&[("x/a", Regular, b"")]))
        .unwrap_err()
        .to_string()
        .contains("Chart.yaml"));
}

#[test]
fn read_tgz_caps_sizes() {
    let big = vec![b'a'; (MAX_FILE_SIZE + 1) as usize];
    let err = read_tgz(&tgz(&[
        ("x/Chart.yaml", tar::EntryType::Regular, CY),
        ("x/big", tar::EntryType::Regular, &big),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[test]
fn extract_safely_writes_once_and_refuses_overwrite() {
    let d = tempfile::tempdir().unwrap();
    chart(&d.path().join("src"));
    let p = package(&d.path().join("src"), &PackageOptions::default()).unwrap();
    let out = d.path().join("out");
    let dir = extract_safely(&p.bytes, &out).unwrap();
    assert_eq!(dir, out.join("demo"));
    assert_eq!(
        fs::read_to_string(dir.join("templates/deploy.yaml")).unwrap(),
        "kind: Deployment\n"
    );
    let err = extract_safely(&p.bytes, &out).unwrap_err();
    assert!(
        err.to_string().contains("already exists") || format!("{err:?}").contains("AlreadyExists"),
        "{err:?}"
    );
    let names: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temp dirs left: {names:?}");
}
