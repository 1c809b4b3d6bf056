//! The HelmRelease values, exactly as render wrote them, read by Helm 3.17 and 4.1 (YAML 1.1):
//! strings stay strings and the chart renders valid Kubernetes objects.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use super::*;
use crate::common::{self, appkit, run, run_ok, stderr, stdout};

// ---------------------------------------------------------------------------------------------
// Values through Helm (YAML 1.1)

/// The `values:` block of the HelmRelease exactly as render wrote it, de-indented into a values
/// file — so Helm reads appkit's own YAML text, not a re-serialisation of it.
fn values_text(file_text: &str) -> String {
    let hr_start = file_text.find("kind: HelmRelease").expect("a HelmRelease");
    let mut lines = file_text[hr_start..]
        .lines()
        .skip_while(|l| *l != "  values:")
        .skip(1);
    let mut out = String::new();
    for line in lines.by_ref() {
        if !line.is_empty() && !line.starts_with("    ") {
            break;
        }
        out.push_str(line.get(4..).unwrap_or(""));
        out.push('\n');
    }
    assert!(!out.trim().is_empty(), "no values in\n{file_text}");
    out
}

fn helm_template_and_validate(major: u8, chart: &Path, values: &Path, release: &str) -> String {
    let home = tempfile::tempdir().unwrap();
    let manifest = run_ok(
        common::helm(major, home.path())
            .args(["template", release])
            .arg(chart)
            .arg("-f")
            .arg(values)
            .args(["--namespace", release]),
    );
    let file = home.path().join("manifest.yaml");
    std::fs::write(&file, &manifest).unwrap();
    let out = run(Command::new(common::kubernetes_validate_bin())
        .args(["--strict", "--quiet"])
        .arg(&file));
    assert!(
        out.status.success(),
        "Helm {major}: kubernetes-validate --strict failed:\n{}{}\n{manifest}",
        stdout(&out),
        stderr(&out)
    );
    manifest
}

#[test]
fn yaml_1_1_ambiguous_strings_stay_strings_through_helm_3_and_4() {
    let p = Platform::new();
    // A chart without a schema that shows how Helm typed each value (see the fixture).
    let echo_chart = common::repo_root().join("tests/fixtures/render/echo-chart");
    std::fs::remove_dir_all(p.path("chart")).unwrap();
    common::copy_dir(&echo_chart, &p.path("chart"));
    p.write("appkit.lock", "lockVersion: 1\nchart: oci://harbor.example.com/platform/echo\nversions:\n  \"0.1.0\":\n    digest: sha256:1111111111111111111111111111111111111111111111111111111111111111\n    tag: \"0.1.0\"\n");
    std::fs::remove_dir_all(p.path("apps/app2")).unwrap();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "apps:\n  settings:\n    app2:\n      dependsOn: [app1]\n",
            "",
        ),
    );
    let tricky = [
        ("yes", "yes"),
        ("on", "on"),
        ("off", "Off"),
        ("y", "y"),
        ("n", "N"),
        ("true", "True"),
        ("null", "null"),
        ("tilde", "~"),
        ("empty", ""),
        ("octal", "0777"),
        ("octal2", "0o17"),
        ("hex", "0x1F"),
        ("exp", "1e3"),
        ("int", "12"),
        ("float", "1.5"),
        ("sexagesimal", "1:20"),
        ("underscore", "1_000"),
        ("inf", ".inf"),
        ("date", "2001-12-14"),
        ("colon", "a: b"),
        ("hash", "a #b"),
        ("star", "*x"),
        ("amp", "&x"),
        ("bang", "!x"),
        ("pipe", "|x"),
        ("gt", ">x"),
        ("pct", "%x"),
        ("at", "@x"),
        ("dash", "- x"),
        ("version", "0.1.0"),
        ("multiline", "line1\nline2\n"),
        ("quote", "say \"hi\""),
        ("unicode", "grüße"),
    ];
    let mut values = String::from("data:\n");
    for (k, v) in tricky {
        values.push_str(&format!(
            "  {}: {}\n",
            serde_json::to_string(k).unwrap(),
            serde_json::to_string(v).unwrap()
        ));
    }
    p.write("apps/app1/values.yaml", &values);
    p.render_ok(&["--env", "dev"]);
    let rendered = p.read("clusters/dev/apps/app1.yaml");
    for (k, _) in tricky {
        assert!(
            rendered.contains(&format!("{k}:")) || rendered.contains(&format!("\"{k}\":")),
            "{k} missing:\n{rendered}"
        );
    }
    let values_file = p.path("extracted-values.yaml");
    std::fs::write(&values_file, values_text(&rendered)).unwrap();
    let chart = common::repo_root().join("tests/fixtures/render/echo-chart");
    for major in [3, 4] {
        let manifest = helm_template_and_validate(major, &chart, &values_file, "app1");
        let cm = doc_of_kind(&manifest, "ConfigMap");
        let kinds = cm["metadata"]["annotations"]["appkit.test/kinds"]
            .as_str()
            .unwrap();
        for entry in kinds.split(';').filter(|e| !e.is_empty()) {
            assert!(
                entry.ends_with("=string"),
                "Helm {major} read {entry} (not a string):\n{manifest}"
            );
        }
        let seen: Value = serde_json::from_str(
            cm["metadata"]["annotations"]["appkit.test/json"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        for (k, v) in tricky {
            assert_eq!(seen[k], json!(v), "Helm {major}: data.{k}\n{manifest}");
        }
    }
}

#[test]
fn example_platform_renders_and_its_values_template_to_valid_objects_on_helm_3_and_4() {
    // The example platform repo next to the real chart, plus an app whose env values are all
    // strings YAML 1.1 would otherwise read as booleans or numbers.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("examples");
    common::copy_dir(&common::examples_dir(), &root);
    common::copy_dir(&common::chart_dir(), &tmp.path().join("chart"));
    let _ = std::fs::remove_dir_all(root.join("clusters"));
    std::fs::write(
        root.join("appkit.lock"),
        format!("lockVersion: 1\nchart: oci://harbor.example.com/platform/app\nversions:\n  \"0.2.0\":\n    digest: {DIGEST_010}\n    tag: \"0.2.0\"\n"),
    )
    .unwrap();
    let tricky = [
        "yes",
        "on",
        "off",
        "y",
        "n",
        "true",
        "null",
        "~",
        "",
        "0777",
        "0x1F",
        "1e3",
        "12",
        "1:20",
        "2001-12-14",
        "a: b",
        "*x",
    ];
    let mut env = String::from("env:\n");
    for (i, v) in tricky.iter().enumerate() {
        env.push_str(&format!(
            "  - name: TRICKY_{i}\n    value: {}\n",
            serde_json::to_string(v).unwrap()
        ));
    }
    std::fs::create_dir_all(root.join("apps/app3")).unwrap();
    std::fs::write(root.join("apps/app3/values.yaml"), app_values("app3", &env)).unwrap();

    let out = run(appkit().current_dir(&root).arg("render"));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut checked = 0;
    for env_name in ["dev", "prod"] {
        for app in ["app1", "app2", "app3"] {
            let text =
                std::fs::read_to_string(root.join(format!("clusters/{env_name}/apps/{app}.yaml")))
                    .unwrap();
            let hr = doc_of_kind(&text, "HelmRelease");
            let values_file = tmp.path().join(format!("{env_name}-{app}.yaml"));
            std::fs::write(&values_file, values_text(&text)).unwrap();
            let release = hr["spec"]["releaseName"].as_str().unwrap();
            for major in [3, 4] {
                let manifest = helm_template_and_validate(
                    major,
                    &tmp.path().join("chart"),
                    &values_file,
                    release,
                );
                if app == "app3" {
                    let deployment = doc_of_kind(&manifest, "Deployment");
                    let containers = deployment["spec"]["template"]["spec"]["containers"]
                        .as_array()
                        .unwrap();
                    let env_vars = containers
                        .iter()
                        .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default());
                    let got: BTreeMap<String, Value> = env_vars
                        .map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].clone()))
                        .collect();
                    for (i, v) in tricky.iter().enumerate() {
                        assert_eq!(
                            got.get(&format!("TRICKY_{i}")),
                            Some(&json!(v)),
                            "Helm {major}:\n{manifest}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
}
