//! Helm's verdict on charts appkit did not write: real third-party charts (vendored with their
//! subcharts and licences in `tests/fixtures/third-party/`, see its README) packaged by appkit
//! and by `helm package` (3.17 and 4.1), compared member by member, Chart.yaml by Chart.yaml
//! (as values), by `helm template` output on Helm 3 and 4, and by `helm lint` of appkit's
//! archive; plus the charts Helm refuses (a `values.yaml` that is a string or a list).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::common::{self, appkit, helm, repo_root, run, run_ok, stderr};

/// Every vendored chart: (source, chart directory).
const CHARTS: &[&str] = &[
    "helm/frobnitz.v1",
    "helm/frobnitz.v2.reqs",
    "helm/mariner",
    "helm/subchart",
    "helm/chart-with-only-crds",
    "helm/chart-with-lib-dep",
    "helm/reqtest",
    "helm/issue1979",
    "prometheus-community/prometheus-pushgateway",
    "prometheus-community/prometheus-json-exporter",
    "prometheus-community/prometheus-adapter",
    "prometheus-community/kube-state-metrics",
    "bitnami/memcached",
];

fn third_party(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures/third-party").join(rel)
}

/// name → data of every regular file of an archive, without the top directory.
fn members(tgz: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let mut out = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if !e.header().entry_type().is_file() {
            continue;
        }
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let rest = name.split_once('/').unwrap().1.to_string();
        out.insert(rest, data);
    }
    out
}

/// appkit keeps a `charts/*.tgz` subchart as the archive it is (a documented difference); Helm
/// expands it into `charts/<name>/`. Expand appkit's the same way, recursively, to compare.
fn expanded(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (name, data) in files {
        let is_sub_tgz = name.ends_with(".tgz") && {
            let parts: Vec<&str> = name.split('/').collect();
            parts.len() >= 2 && parts[parts.len() - 2] == "charts"
        };
        if !is_sub_tgz {
            out.insert(name, data);
            continue;
        }
        let dir = &name[..name.rfind('/').unwrap()];
        let top = {
            let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(data.as_slice()));
            let first = ar.entries().unwrap().next().unwrap().unwrap();
            let p = first.path().unwrap().to_string_lossy().into_owned();
            p.split('/').next().unwrap().to_string()
        };
        for (n, d) in expanded(members(&data)) {
            out.insert(format!("{dir}/{top}/{n}"), d);
        }
    }
    out
}

/// A Chart.yaml or lock as Helm loads it: empty strings, nulls and empty lists are what Go's
/// `omitempty` leaves out (a `.tgz` subchart appkit keeps verbatim may spell `home: ""`).
fn yaml_value(data: &[u8]) -> serde_json::Value {
    fn strip(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k, strip(v)))
                    .filter(|(_, v)| {
                        !matches!(v, Value::Null)
                            && v.as_str() != Some("")
                            && v.as_array().is_none_or(|a| !a.is_empty())
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(strip).collect()),
            other => other,
        }
    }
    let mut v = strip(serde_saphyr::from_str(std::str::from_utf8(data).unwrap()).unwrap());
    // A v1 chart's Chart.yaml as Helm saves it has no dependencies (they are requirements.yaml's).
    if v["apiVersion"] == "v1" {
        v.as_object_mut().unwrap().remove("dependencies");
    }
    v
}

fn package(cmd: &mut std::process::Command, chart: &Path, dest: &Path) -> Option<Vec<u8>> {
    let out = run(cmd.arg("package").arg(chart).arg("-d").arg(dest));
    if !out.status.success() {
        eprintln!("{}", stderr(&out));
        return None;
    }
    let tgz = fs::read_dir(dest).unwrap().next().unwrap().unwrap().path();
    Some(fs::read(tgz).unwrap())
}

/// What one Helm major made of one chart, and whether appkit's archive agreed.
#[derive(Default)]
struct Verdict {
    members: bool,
    chart_yaml: bool,
    template: bool,
    lint: bool,
}

#[test]
fn third_party_charts_package_like_helm_3_and_4() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut agreed = 0;
    let mut cases = 0;
    for (i, rel) in CHARTS.iter().enumerate() {
        // A copy, so that nothing is written next to the vendored chart.
        let chart = tmp
            .path()
            .join(format!("src{i}"))
            .join(rel.rsplit('/').next().unwrap());
        common::copy_dir(&third_party(rel), &chart);
        let ours = package(
            appkit().env_remove("SOURCE_DATE_EPOCH"),
            &chart,
            &tmp.path().join(format!("appkit{i}")),
        )
        .unwrap_or_else(|| panic!("{rel}: appkit package failed"));
        let our_files = expanded(members(&ours));
        let our_tgz = tmp.path().join(format!("appkit{i}.tgz"));
        fs::write(&our_tgz, &ours).unwrap();
        for major in [3u8, 4] {
            let home = tmp.path().join(format!("home{i}-{major}"));
            let theirs = package(
                &mut helm(major, &home),
                &chart,
                &tmp.path().join(format!("helm{i}-{major}")),
            )
            .unwrap_or_else(|| panic!("{rel}: helm {major} package failed"));
            let their_tgz = tmp.path().join(format!("helm{i}-{major}.tgz"));
            fs::write(&their_tgz, &theirs).unwrap();
            let their_files = members(&theirs);
            let mut v = Verdict {
                members: our_files.keys().eq(their_files.keys()),
                ..Default::default()
            };
            if !v.members {
                let a: Vec<_> = our_files
                    .keys()
                    .filter(|k| !their_files.contains_key(*k))
                    .collect();
                let b: Vec<_> = their_files
                    .keys()
                    .filter(|k| !our_files.contains_key(*k))
                    .collect();
                failures.push(format!(
                    "{rel} helm {major}: members only in appkit's {a:?}, only in Helm's {b:?}"
                ));
            }
            v.chart_yaml = their_files
                .iter()
                .filter(|(n, _)| n.ends_with("Chart.yaml") || n.ends_with("Chart.lock"))
                .all(|(n, d)| {
                    let same = our_files.get(n).map(|o| yaml_value(o)) == Some(yaml_value(d));
                    if !same {
                        failures.push(format!(
                            "{rel} helm {major}: {n} differs:\nappkit:\n{}\nhelm:\n{}",
                            our_files
                                .get(n)
                                .map(|o| String::from_utf8_lossy(o).into_owned())
                                .unwrap_or_default(),
                            String::from_utf8_lossy(d)
                        ));
                    }
                    same
                });
            let template = |tgz: &Path| {
                let out = run(helm(major, &home).args(["template", "r"]).arg(tgz));
                (
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                )
            };
            let (a, b) = (template(&our_tgz), template(&their_tgz));
            v.template = a == b;
            if !v.template {
                failures.push(format!(
                    "{rel} helm {major}: helm template differs ({:?} vs {:?})",
                    a.0, b.0
                ));
            }
            let lint = |tgz: &Path| run(helm(major, &home).arg("lint").arg(tgz)).status.code();
            let (ours_lint, theirs_lint) = (lint(&our_tgz), lint(&their_tgz));
            v.lint = ours_lint == Some(0) || ours_lint == theirs_lint;
            if !v.lint {
                let out = run(helm(major, &home).arg("lint").arg(&our_tgz));
                failures.push(format!(
                    "{rel} helm {major}: helm lint of appkit's archive failed ({ours_lint:?}, Helm's own: {theirs_lint:?}):\n{}",
                    common::stdout(&out)
                ));
            }
            for ok in [v.members, v.chart_yaml, v.template, v.lint] {
                cases += 1;
                agreed += usize::from(ok);
            }
        }
    }
    eprintln!(
        "third-party charts: {} charts, {agreed}/{cases} cases agree with Helm 3 and 4",
        CHARTS.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A disabled subchart of a chart whose dependencies are in `requirements.yaml` does not render
/// from appkit's archive either (its `condition` reached the packaged Chart.yaml).
#[test]
fn requirements_yaml_conditions_reach_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("req");
    fs::create_dir_all(chart.join("charts/sub-dir/templates")).unwrap();
    fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: req\nversion: 1.0.0\n",
    )
    .unwrap();
    fs::write(chart.join("values.yaml"), "sub:\n  enabled: false\n").unwrap();
    fs::write(
        chart.join("requirements.yaml"),
        "dependencies:\n- name: sub\n  version: 0.1.0\n  repository: https://example.com\n  condition: sub.enabled\n  alias: mysub\n",
    )
    .unwrap();
    fs::write(
        chart.join("requirements.lock"),
        "dependencies:\n- name: sub\n  repository: https://example.com\n  version: 0.1.0\ndigest: sha256:abc\ngenerated: \"2020-01-02T03:04:05.123Z\"\n",
    )
    .unwrap();
    fs::write(
        chart.join("charts/sub-dir/Chart.yaml"),
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    )
    .unwrap();
    fs::write(
        chart.join("charts/sub-dir/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-sub\n",
    )
    .unwrap();
    let ours = package(
        appkit().env_remove("SOURCE_DATE_EPOCH"),
        &chart,
        &tmp.path().join("a"),
    )
    .unwrap();
    let files = members(&ours);
    // Stored under the chart name (`sub`), not the directory name, as Helm stores it.
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "Chart.lock",
            "Chart.yaml",
            "charts/sub/Chart.yaml",
            "charts/sub/templates/cm.yaml",
            "values.yaml"
        ]
    );
    let tgz = tmp.path().join("req.tgz");
    fs::write(&tgz, &ours).unwrap();
    for major in [3u8, 4] {
        let home = tmp.path().join(format!("h{major}"));
        let theirs = package(
            &mut helm(major, &home),
            &chart,
            &tmp.path().join(format!("h{major}-out")),
        )
        .unwrap();
        let theirs = members(&theirs);
        assert!(
            files.keys().eq(theirs.keys()),
            "helm {major}: {:?}",
            theirs.keys()
        );
        for n in ["Chart.yaml", "Chart.lock"] {
            assert_eq!(
                yaml_value(&files[n]),
                yaml_value(&theirs[n]),
                "helm {major} {n}"
            );
        }
        let rendered = run_ok(helm(major, &home).args(["template", "r"]).arg(&tgz));
        assert!(
            !rendered.contains("from-sub"),
            "helm {major}: disabled subchart rendered:\n{rendered}"
        );
        run_ok(helm(major, &home).arg("lint").arg(&tgz));
    }
}

/// Charts Helm refuses to load are refused with the same verdict: exit 1, file:line:col.
#[test]
fn values_yaml_helm_cannot_load_is_refused_like_helm() {
    let tmp = tempfile::tempdir().unwrap();
    for (label, values, needle) in [
        (
            "string",
            "just a string\n",
            "values.yaml:1:1: Helm cannot load it",
        ),
        ("list", "- a\n- b\n", "found a list"),
        ("number", "42\n", "found a number"),
        (
            "second document a list",
            "a: 1\n---\n- x\n",
            "values.yaml:3:1",
        ),
        ("accepted: multi-document mappings", "a: 1\n---\nb: 2\n", ""),
        ("accepted: null", "null\n", ""),
        ("accepted: comment only", "# nothing\n", ""),
    ] {
        let chart = tmp.path().join(label.replace([' ', ':'], "-")).join("c");
        fs::create_dir_all(chart.join("templates")).unwrap();
        fs::write(
            chart.join("Chart.yaml"),
            "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        )
        .unwrap();
        fs::write(chart.join("values.yaml"), values).unwrap();
        let out = run(appkit()
            .arg("package")
            .arg(&chart)
            .arg("-d")
            .arg(chart.parent().unwrap().join("out")));
        let ours_ok = out.status.success();
        // Helm 4 reads every document, Helm 3 the first: appkit refuses what either refuses.
        let helm_ok = [3u8, 4].iter().all(|m| {
            let home = chart.parent().unwrap().join(format!("h{m}"));
            run(helm(*m, &home)
                .arg("package")
                .arg(&chart)
                .arg("-d")
                .arg(home.join("out")))
            .status
            .success()
        });
        assert_eq!(ours_ok, helm_ok, "{label}: {}", stderr(&out));
        if !ours_ok {
            assert_eq!(out.status.code(), Some(1), "{label}");
            assert!(stderr(&out).contains(needle), "{label}: {}", stderr(&out));
        }
    }
}

/// `pull --version <constraint>` (and no --version, and --devel) picks what `helm pull` picks, on
/// a real registry holding stable and pre-release versions. Where Helm 3 (Masterminds v3.3) and
/// Helm 4 (v3.4) disagree, appkit follows Helm 4.
#[test]
fn pull_selects_the_version_helm_pull_selects() {
    use crate::common::registry::Registry;
    let reg = Registry::anonymous();
    let tmp = tempfile::tempdir().unwrap();
    let versions = [
        "0.1.0",
        "0.2.0",
        "0.2.1",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.0",
        "1.5.0-rc.1",
        "2.0.0-beta.1",
    ];
    for v in versions {
        let chart = tmp.path().join(format!("src-{v}")).join("pick");
        fs::create_dir_all(&chart).unwrap();
        fs::write(
            chart.join("Chart.yaml"),
            format!("apiVersion: v2\nname: pick\nversion: {v}\n"),
        )
        .unwrap();
        run_ok(
            appkit()
                .arg("push")
                .arg(&chart)
                .arg(reg.oci("p"))
                .args(reg.appkit_flags()),
        );
    }
    let reference = format!("{}/pick", reg.oci("p"));
    let picked_by_appkit = |extra: &[&str], dir: &Path| {
        let out = run(appkit()
            .arg("pull")
            .arg(&reference)
            .args(extra)
            .arg("-d")
            .arg(dir)
            .args(reg.appkit_flags()));
        out.status.success().then(|| {
            fs::read_dir(dir)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .file_name()
                .into_string()
                .unwrap()
        })
    };
    let picked_by_helm = |major: u8, extra: &[&str], dir: &Path| {
        let home = tmp.path().join(format!("home{major}"));
        fs::create_dir_all(dir).unwrap(); // helm pull needs it to exist
        let out = run(helm(major, &home)
            .arg("pull")
            .arg(&reference)
            .args(extra)
            .arg("-d")
            .arg(dir)
            .args(reg.helm_flags()));
        out.status.success().then(|| {
            fs::read_dir(dir)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .file_name()
                .into_string()
                .unwrap()
        })
    };
    let mut agreed = 0;
    let cases: &[(&[&str], bool)] = &[
        (&[], true),
        (&["--devel"], true),
        (&["--version", "*"], true),
        (&["--version", "^1.0.0"], true),
        (&["--version", "~0.2"], true),
        (&["--version", "~0.1"], true),
        (&["--version", ">=1.0.0-0"], true),
        (&["--version", "1.x"], true),
        (&["--version", "<1.0.0"], true),
        // Helm 4 (and appkit) pick 1.5.0-rc.1 (below 1.5.0); Helm 3 picks 1.2.0.
        (&["--version", ">=1.0.0-0 <1.5.0"], false),
        (&["--version", "^3.0.0"], true),
        (&["--version", "1.0.0-rc.1"], true),
        // Helm 4's alternative-wide pre-release rule; Helm 3 picks 1.2.0 here.
        (&["--version", ">=1.0.0-0, <2.0.0"], false),
    ];
    for (i, (extra, helm3_agrees)) in cases.iter().enumerate() {
        let ours = picked_by_appkit(extra, &tmp.path().join(format!("a{i}")));
        let h4 = picked_by_helm(4, extra, &tmp.path().join(format!("h4-{i}")));
        let h3 = picked_by_helm(3, extra, &tmp.path().join(format!("h3-{i}")));
        assert_eq!(ours, h4, "{extra:?}: appkit vs helm 4");
        if *helm3_agrees {
            assert_eq!(ours, h3, "{extra:?}: appkit vs helm 3");
        } else {
            assert_ne!(ours, h3, "{extra:?}: Helm 3 and 4 disagree here");
        }
        agreed += 1;
    }
    eprintln!(
        "pull: {agreed}/{} constraint cases pick what helm pull picks",
        cases.len()
    );
}

/// Item 10: a chart `helm push` published is "already published" for `appkit push` of the same
/// archive (the manifests differ — Helm sets `created`, appkit `mediaType` — the config and layer
/// do not): exit 0, no manifest written. Other content under that tag is refused (exit 1).
#[test]
fn push_onto_a_tag_helm_push_made_with_the_same_chart_is_already_published() {
    use crate::common::registry::Registry;
    use crate::oci::{appkit_in, helm_push, Work};
    for major in [3, 4] {
        let reg = Registry::anonymous();
        let w = Work::new();
        let tgz = w.tgz("0.3.0");
        helm_push(major, &w.home(), &tgz, &reg.oci("p"), &reg.helm_flags());
        let puts = reg.count("PUT", "/manifests/");
        let out = run(&mut appkit_in(
            &reg.appkit_flags(),
            &["push", tgz.to_str().unwrap(), &reg.oci("p"), "-o", "json"],
        ));
        assert!(out.status.success(), "Helm {major}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["alreadyPublished"], true, "Helm {major}: {v}");
        assert!(puts >= 1);
        assert_eq!(
            reg.count("PUT", "/manifests/"),
            puts,
            "Helm {major}: no manifest written"
        );
        // The same version with other content is refused, and the tag keeps Helm's manifest.
        let other = w.chart("other", "0.3.0");
        fs::write(other.join("templates/extra.yaml"), "kind: ConfigMap\n").unwrap();
        let other_tgz = w.package(&other, "other-out", "0.3.0");
        let out = run(&mut appkit_in(
            &reg.appkit_flags(),
            &["push", other_tgz.to_str().unwrap(), &reg.oci("p")],
        ));
        assert_eq!(out.status.code(), Some(1), "Helm {major}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("already exists with digest"),
            "{}",
            stderr(&out)
        );
        assert_eq!(reg.count("PUT", "/manifests/"), puts);
    }
}

/// Item 8: a chart name Helm packages but that cannot be an OCI repository (upper case) is
/// refused by `helm push` and by `appkit push` alike (exit 1), and `validate` warns about it
/// and about the other things Helm packages that are not portable, each under its rule code.
#[test]
fn an_upper_case_chart_name_is_refused_at_push_like_helm_and_validate_warns() {
    use crate::common::registry::Registry;
    use crate::oci::appkit_in;
    let reg = Registry::anonymous();
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("MyChart");
    fs::create_dir_all(chart.join("templates")).unwrap();
    fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v1\nname: MyChart\nversion: v0.1.0\n",
    )
    .unwrap();
    let home = tmp.path().join("home");
    let out = run(helm(4, &home)
        .arg("package")
        .arg(&chart)
        .arg("-d")
        .arg(tmp.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    let tgz = tmp.path().join("MyChart-v0.1.0.tgz");
    let helm_says = run(helm(4, &home)
        .arg("push")
        .arg(&tgz)
        .arg(reg.oci("p"))
        .args(reg.helm_flags()));
    assert!(!helm_says.status.success(), "Helm 4 pushes it?");
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["push", tgz.to_str().unwrap(), &reg.oci("p")],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("MyChart"), "{}", stderr(&out));
    assert_eq!(reg.count("PUT", "/manifests/"), 0);
    // appkit packages it as Helm does; `validate --chart` warns, under each rule's code.
    let dest = tmp.path().join("ours");
    let out = run(appkit().arg("package").arg(&chart).arg("-d").arg(&dest));
    assert!(out.status.success(), "{}", stderr(&out));
    let values = tmp.path().join("v.yaml");
    fs::write(&values, "{}\n").unwrap();
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["validate", "-o", "json", "--chart"])
        .arg(&chart)
        .arg(&values));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    for code in [
        "chart-legacy-api-version",
        "chart-version-not-strict",
        "chart-name-not-lowercase",
    ] {
        assert!(
            text.contains(code),
            "{code} missing: {text}\n{}",
            stderr(&out)
        );
    }
}
