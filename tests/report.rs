//! `helm appkit report`: its numbers against an independent computation from what Helm really
//! renders (every app × environment of the example platform, Helm 3 and 4, with the values of
//! the HelmRelease `render` writes), and its HTML page in a real browser (headless Chromium:
//! a screenshot, and the DOM after the page's own script recorded which graph nodes and edges
//! are drawn). Also: `-o html` only on report, `-o github`/`markdown` refused on it.

use std::path::Path;

use serde_json::Value;

use crate::common::{self, appkit, example_platform, run, run_ok, stderr};

/// A Kubernetes quantity in base units (cores, bytes): written here again, not appkit's parser.
fn quantity(s: &str) -> f64 {
    let s = s.trim().trim_matches('"');
    let units = [
        ("Ki", 1024f64),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("m", 0.001),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
    ];
    for (u, f) in units {
        if let Some(n) = s.strip_suffix(u) {
            return n.parse::<f64>().unwrap() * f;
        }
    }
    s.parse().unwrap()
}

fn q(v: &Value) -> f64 {
    match v {
        Value::String(s) => quantity(s),
        Value::Number(n) => n.as_f64().unwrap(),
        Value::Null => 0.0,
        other => panic!("not a quantity: {other}"),
    }
}

/// (requests cpu m, requests memory B, limits cpu m, limits memory B) × replicas, app and sidecar.
#[derive(Debug, Default, PartialEq, Clone, Copy)]
struct Sums {
    app: [i64; 4],
    sidecar: [i64; 4],
}

fn to_units(cpu: f64, mem: f64) -> (i64, i64) {
    ((cpu * 1000.0).round() as i64, mem.round() as i64)
}

/// What the rendered Deployments of one release request: every container's requests (a missing
/// request is its limit, as Kubernetes defaults it) and limits, and the sidecar from its
/// `dapr.io/sidecar-*` annotations, × replicas.
fn from_manifests(docs: &[Value]) -> Sums {
    let mut s = Sums::default();
    for d in docs.iter().filter(|d| d["kind"] == "Deployment") {
        let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
        for c in d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
        {
            let r = &c["resources"];
            let lim_c = q(&r["limits"]["cpu"]);
            let lim_m = q(&r["limits"]["memory"]);
            let req_c = if r["requests"]["cpu"].is_null() {
                lim_c
            } else {
                q(&r["requests"]["cpu"])
            };
            let req_m = if r["requests"]["memory"].is_null() {
                lim_m
            } else {
                q(&r["requests"]["memory"])
            };
            let (a, b) = to_units(req_c, req_m);
            let (c2, d2) = to_units(lim_c, lim_m);
            for (i, x) in [a, b, c2, d2].into_iter().enumerate() {
                s.app[i] += x * replicas;
            }
        }
        let ann = &d["spec"]["template"]["metadata"]["annotations"];
        if ann["dapr.io/enabled"] == "true" {
            let a = |k: &str| q(&ann[format!("dapr.io/sidecar-{k}")]);
            let lim = to_units(a("cpu-limit"), a("memory-limit"));
            let req_c = if ann["dapr.io/sidecar-cpu-request"].is_null() {
                a("cpu-limit")
            } else {
                a("cpu-request")
            };
            let req_m = if ann["dapr.io/sidecar-memory-request"].is_null() {
                a("memory-limit")
            } else {
                a("memory-request")
            };
            let req = to_units(req_c, req_m);
            for (i, x) in [req.0, req.1, lim.0, lim.1].into_iter().enumerate() {
                s.sidecar[i] += x * replicas;
            }
        }
    }
    s
}

fn from_report(p: &Value) -> [i64; 4] {
    [
        p["requests"]["cpuMillis"].as_i64().unwrap(),
        p["requests"]["memoryBytes"].as_i64().unwrap(),
        p["limits"]["cpuMillis"].as_i64().unwrap(),
        p["limits"]["memoryBytes"].as_i64().unwrap(),
    ]
}

fn report_json(repo: &Path, extra: &[&str]) -> Value {
    let out = run_ok(
        appkit()
            .current_dir(repo)
            .args(["report", "-o", "json"])
            .args(extra),
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn report_numbers_are_what_helm_renders_for_every_release() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    run_ok(appkit().current_dir(&repo).arg("render"));
    let report = report_json(&repo, &[]);
    assert_eq!(report["schemaVersion"], 1);
    let envs = report["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2, "dev and prod");
    let mut checked = 0;
    for major in [3u8, 4] {
        let home = tmp.path().join(format!("helm{major}"));
        for env in envs {
            let name = env["env"].as_str().unwrap();
            let mut total = Sums::default();
            let apps = env["apps"].as_array().unwrap();
            assert_eq!(apps.len(), 2);
            for row in apps {
                let app = row["app"].as_str().unwrap();
                let file = repo.join(format!("clusters/{name}/apps/{app}.yaml"));
                let text = std::fs::read_to_string(&file).unwrap();
                let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
                let hr = docs.iter().find(|d| d["kind"] == "HelmRelease").unwrap();
                let values = tmp.path().join(format!("{name}-{app}.json"));
                std::fs::write(&values, hr["spec"]["values"].to_string()).unwrap();
                let rendered = run_ok(
                    common::helm(major, &home)
                        .arg("template")
                        .arg(hr["spec"]["releaseName"].as_str().unwrap())
                        .arg(tmp.path().join("chart"))
                        .arg("--namespace")
                        .arg(hr["spec"]["targetNamespace"].as_str().unwrap())
                        .arg("-f")
                        .arg(&values),
                );
                let manifests: Vec<Value> = serde_saphyr::from_multiple(&rendered).unwrap();
                let want = from_manifests(&manifests);
                assert_eq!(
                    from_report(&row["usage"]["app"]),
                    want.app,
                    "helm {major} {name}/{app}: app"
                );
                assert_eq!(
                    from_report(&row["usage"]["sidecar"]),
                    want.sidecar,
                    "helm {major} {name}/{app}: sidecar"
                );
                let replicas = row["replicas"].as_i64().unwrap();
                let dep = manifests
                    .iter()
                    .find(|d| d["kind"] == "Deployment")
                    .unwrap();
                assert_eq!(dep["spec"]["replicas"].as_i64().unwrap(), replicas);
                assert_eq!(row["namespace"], hr["spec"]["targetNamespace"]);
                for i in 0..4 {
                    total.app[i] += want.app[i];
                    total.sidecar[i] += want.sidecar[i];
                }
                checked += 1;
            }
            assert_eq!(
                from_report(&env["totals"]["app"]),
                total.app,
                "{name} totals"
            );
            assert_eq!(
                from_report(&env["totals"]["sidecar"]),
                total.sidecar,
                "{name} totals"
            );
        }
    }
    assert_eq!(checked, 8, "2 Helm majors × 2 environments × 2 apps");

    // prod: app1 runs 3 (+1 surge) pods of (200m + 100m) in its quota of 4 CPUs.
    let prod = &envs[1];
    let ns = prod["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["namespace"] == "app1")
        .unwrap();
    assert_eq!(ns["rollout"]["requests"]["cpuMillis"], 1200);
    assert_eq!(ns["headroom"]["requests"]["cpuMillis"], 4000 - 1200);
    assert_eq!(ns["headroom"]["pods"], 20 - 4);
    // Largest CPU requests first; the sidecar's share.
    assert_eq!(prod["apps"][0]["app"], "app1");
    assert_eq!(prod["apps"][0]["usage"]["sidecarShare"]["cpu"], 0.3333);
    // Node pools declared with allocatable get a fill.
    let pool = prod["nodePools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "apps")
        .unwrap();
    let fill = pool["fill"]["cpu"].as_f64().unwrap();
    assert!((fill - 900.0 / 16000.0).abs() < 1e-3, "{fill}");
    // Versions from appkit.lock.
    assert_eq!(prod["versions"]["chartVersion"], "0.2.0");
    assert!(prod["apps"][0]["chartDigest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    // The graph: app2 → app1 allowed on both sides; the component's backend; platform ingress.
    let edges = prod["graph"]["edges"].as_array().unwrap();
    let has = |from: &str, to: &str, kind: &str| {
        edges
            .iter()
            .any(|e| e["from"] == from && e["to"] == to && e["kind"] == kind)
    };
    assert!(has("app:app2", "app:app1", "invocation"));
    assert!(has("app:app1", "component:statestore", "uses"));
    assert!(has("component:statestore", "backend:redis", "egress"));
    assert!(has("platform:monitoring", "app:app2", "ingress"));
    assert!(edges.iter().all(|e| e["broken"] == false));
}

#[test]
fn one_sided_traffic_is_a_broken_edge_and_the_fleet_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let app1 = repo.join("apps/app1/values.yaml");
    let text = std::fs::read_to_string(&app1).unwrap();
    std::fs::write(
        &app1,
        text.replace(
            "  allowIngressFrom:\n    - app2\n",
            "  allowIngressFrom: []\n",
        ),
    )
    .unwrap();
    let report = report_json(&repo, &["-e", "dev"]);
    let dev = &report["environments"][0];
    let e = dev["graph"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "invocation")
        .unwrap();
    assert_eq!(
        (e["from"].as_str(), e["to"].as_str(), e["broken"].as_bool()),
        (Some("app:app2"), Some("app:app1"), Some(true))
    );
    let found = dev["oneSided"].as_array().unwrap();
    assert!(
        found
            .iter()
            .any(|m| m.as_str().unwrap().contains("app1 does not admit app2")),
        "{found:?}"
    );
}

fn chromium(tmp: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir_in(tmp).unwrap();
    run(std::process::Command::new(common::chromium_bin())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display())))
}

#[test]
fn the_html_page_draws_the_graph_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    let page = tmp.path().join("out/report.html");
    run_ok(
        appkit()
            .current_dir(&repo)
            .args(["report", "-o", "html", "--out"])
            .arg(&page),
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Self-contained: nothing fetched from anywhere.
    for needle in ["http://", "https://", "<link", "src=", "@import"] {
        let hits: Vec<_> = html
            .match_indices(needle)
            .map(|(i, _)| &html[i.saturating_sub(40)..(i + 40).min(html.len())])
            .filter(|ctx| !ctx.contains("xmlns=\"http://www.w3.org/2000/svg\""))
            .collect();
        assert!(hits.is_empty(), "`{needle}` in the page: {hits:?}");
    }
    assert!(html.len() < 200 * 1024, "{} bytes for 2 apps", html.len());

    let shot = tmp.path().join("shot.png");
    let out = chromium(
        tmp.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1000",
        ],
        &page,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1400, 1000));
    assert!(
        png.len() > 20_000,
        "a blank page compresses to a few KB: {} bytes",
        png.len()
    );

    let out = chromium(tmp.path(), &["--dump-dom"], &page);
    assert!(out.status.success(), "{}", stderr(&out));
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let attr = |name: &str| -> Vec<String> {
        let start = dom
            .find(&format!("{name}=\""))
            .unwrap_or_else(|| panic!("no {name} on <body>"))
            + name.len()
            + 2;
        let end = start + dom[start..].find('"').unwrap();
        dom[start..end].split(' ').map(str::to_string).collect()
    };
    let nodes = attr("data-visible-nodes");
    let edges = attr("data-visible-edges");
    for env in ["dev", "prod"] {
        for app in ["app1", "app2"] {
            assert!(
                nodes.contains(&format!("{env}/app:{app}")),
                "{env}/{app} not drawn: {nodes:?}"
            );
        }
        assert!(nodes.contains(&format!("{env}/component:statestore")));
        assert!(nodes.contains(&format!("{env}/backend:redis")));
        assert!(
            edges.contains(&format!("{env}/app:app2|app:app1")),
            "{edges:?}"
        );
    }
}

#[test]
fn html_is_an_output_of_report_only_and_report_takes_no_annotations() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_platform(tmp.path());
    for args in [
        &["validate", "-o", "html"][..],
        &["render", "-o", "html"],
        &["plan", "-o", "html"],
        &["report", "-o", "github"],
        &["report", "-o", "markdown"],
    ] {
        let out = run(appkit().current_dir(&repo).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is not an output of `helm appkit"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // Human tables by default.
    let out = run_ok(appkit().current_dir(&repo).args(["report", "-e", "prod"]));
    assert!(
        out.contains("NAMESPACE") && out.contains("NODE POOL") && out.contains("app2 → app1"),
        "{out}"
    );
}
