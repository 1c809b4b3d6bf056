//! Refusals (all-or-nothing, exit 1 with diagnostics) and the reinstall warning.

use super::*;
use crate::common::stderr;

// ---------------------------------------------------------------------------------------------
// Refusals and warnings

#[test]
fn reinstall_warning_when_the_target_namespace_changes() {
    let p = Platform::new();
    p.render_ok(&["--env", "dev"]);
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "    app2:\n      dependsOn: [app1]\n",
            "    app2:\n      dependsOn: [app1]\n      namespace: team-b\n",
        ),
    );
    let out = p.appkit(&["render", "--env", "dev", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("warning: clusters/dev/apps/app2.yaml: targetNamespace \"app2\" → \"team-b\", storageNamespace \"app2\" → \"team-b\""), "{err}");
    assert!(
        err.contains("Flux will uninstall the existing release and install a new one"),
        "{err}"
    );
    assert!(!err.contains("app1.yaml:"), "{err}");
    let status = p.render_ok(&["--env", "dev"]);
    assert!(status.contains("Flux will uninstall"), "{status}");
    assert!(
        !p.render_ok(&["--env", "dev"]).contains("warning"),
        "warns once, then the committed file is the new one"
    );
}

#[test]
fn missing_digest_fails_with_a_publish_hint_and_writes_nothing() {
    let p = Platform::new();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "    promoted: true\n",
            "    promoted: true\n    pins:\n      app1: 0.3.0\n",
        ),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_diag(
        &err,
        "error[missing-digest]: chart version 0.3.0 (app1 in prod) has no digest in appkit.lock",
        "appkit.yaml:25:13",
    );
    assert!(err.contains("help: run helm appkit publish"), "{err}");
    assert!(
        !p.path("clusters").exists(),
        "nothing may be written when any app fails"
    );

    std::fs::remove_file(p.path("appkit.lock")).unwrap();
    let out = p.appkit(&["render", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("appkit.lock does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("run helm appkit publish"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn release_name_over_53_characters_is_refused() {
    let p = Platform::new();
    p.render_ok(&[]);
    let before = p.snapshot("clusters");
    let long = "a".repeat(54);
    p.write(&format!("apps/{long}/values.yaml"), &app_values("x", ""));
    p.write(
        "apps/app1/values.yaml",
        &app_values("app1", "replicas: 3\n"),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "release name \"{long}\" is 54 characters; Helm allows at most 53"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        p.snapshot("clusters"),
        before,
        "all-or-nothing: app1's change must not be written either"
    );
    // 53 is fine.
    std::fs::rename(
        p.path(&format!("apps/{long}")),
        p.path(&format!("apps/{}", &long[..53])),
    )
    .unwrap();
    p.render_ok(&["--env", "dev"]);
}

#[test]
fn invalid_appkit_yaml_reports_file_line_col() {
    let p = Platform::new();
    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace(
            "    chartVersion: 0.1.0\n  prod",
            "    chartVersion: \"0.1\"\n  prod",
        ),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_diag(
        &stderr(&out),
        "error[version]: chartVersion \"0.1\" is not SemVer 2",
        "appkit.yaml:18:19",
    );

    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace("  timeout: 5m\n", "  timeout: 5m\n  retires: 3\n"),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_diag(
        &stderr(&out),
        "error[unknown-key]: unknown key `retires` in `flux`",
        "appkit.yaml:14:3",
    );
    assert!(
        stderr(&out).contains("did you mean `retries`?"),
        "{}",
        stderr(&out)
    );

    p.write(
        "appkit.yaml",
        &APPKIT_YAML.replace("dependsOn: [app1]", "dependsOn: [app9]"),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_diag(
        &stderr(&out),
        "error[depends-on]: app2 depends on \"app9\", which is not an app",
        "appkit.yaml:7:19",
    );
}

#[test]
fn out_overrides_the_output_directory_for_one_environment_only() {
    let p = Platform::new();
    let out = p.appkit(&["render", "--out", "elsewhere"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a usage error: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("--out needs exactly one environment"),
        "{}",
        stderr(&out)
    );
    let out = p.appkit(&["render", "--env", "qa"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown environment `qa`")
            && stderr(&out).contains("hint: environments in"),
        "{}",
        stderr(&out)
    );
    p.render_ok(&["--env", "prod", "--out", "elsewhere"]);
    assert!(
        p.path("elsewhere/app1.yaml").exists() && p.path("elsewhere/kustomization.yaml").exists()
    );
    assert!(!p.path("clusters").exists());
}

#[test]
fn invalid_app_values_are_refused_with_their_diagnostics() {
    let p = Platform::new();
    p.render_ok(&[]);
    let before = p.snapshot("clusters");
    p.write(
        "apps/app2/values.yaml",
        &app_values("app2", "replicas: many\n"),
    );
    let out = p.appkit(&["render"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("error[schema]"), "{err}");
    assert!(err.contains("--> apps/app2/values.yaml:4:11"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(
        p.snapshot("clusters"),
        before,
        "no file may change when an app is invalid"
    );
}

#[test]
fn fleet_flux_settings_are_checked_with_positions() {
    let p = Platform::new();
    let cases = [
        (
            "  retries: 3\n  version: \"2.8\"\n",
            "error[flux]: flux.version \"2.8\" is not a Flux version render knows the CRDs of",
        ),
        (
            "  retries: 3\n  sources: everywhere\n",
            "error[flux]: sources \"everywhere\" is not one of shared, per-app",
        ),
        (
            "  retries: 3\n  retryInterval: 2m\n",
            "error[flux]: retryInterval is set but strategy is not RetryOnFailure",
        ),
        (
            "  retries: 3\n  strategy: RetryOnFailure\n  retryInterval: soon\n",
            "error[duration]: \"soon\" is not a duration Flux accepts",
        ),
        (
            "  retries: 3\n  shards: [a, a]\n",
            "error[flux]: shard \"a\" is listed twice",
        ),
        (
            "  retries: 3\n  driftDetection:\n    mode: sometimes\n",
            "error[drift-detection]: driftDetection \"sometimes\" is not one of enabled, warn, disabled",
        ),
        (
            "  retries: 3\n  driftDetection:\n    ignore:\n      - paths: [spec/replicas]\n",
            "error[drift-detection]: ignore path \"spec/replicas\" is not a JSON Pointer",
        ),
        (
            "  retries: 3\n  commonMetadata:\n    label: {a: b}\n",
            "error[unknown-key]: unknown key `label` in `flux.commonMetadata`",
        ),
    ];
    for (flux, message) in cases {
        p.write("appkit.yaml", &APPKIT_YAML.replace("  retries: 3\n", flux));
        let out = p.appkit(&["render", "--check"]);
        assert_eq!(out.status.code(), Some(1), "{flux}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{flux}:\n{}", stderr(&out));
        assert!(
            stderr(&out).contains("--> appkit.yaml:1"),
            "{flux}: a position:\n{}",
            stderr(&out)
        );
    }
}
