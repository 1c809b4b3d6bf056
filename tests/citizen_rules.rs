//! The platform rules of issue 16 that catch what citizen developers (and the LLMs writing their
//! apps) get wrong, run as the real binary on copies of the example platform repo:
//! `url-credentials`, `backend-host-in-env`, nested back-end config (`dapr-backend-config`),
//! the promoted environments' digest requirement that `rules:` cannot lower
//! (`image-tag-not-digest`), `dapr-config-missing`, `dapr-app-id`, Dapr scopes and visibility
//! with the real app id (`dapr-component`, `new --uses`) and `quota-fit`. Each test asserts the
//! code, severity, file:line:col, message and exit code; the credentials are never printed in
//! any output format.
//!
//! The examples carry no Dapr Configuration yet, so their apps' `dapr.config: appconfig` (the
//! chart default) fails `dapr-config-missing`; the copies here get [`APPCONFIG`], which is what
//! `examples/platform/components/` needs.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::common::{self, appkit, run};

/// The Configuration the examples need (`examples/platform/components/appconfig.yaml`): no
/// namespace, so render delivers it to every app namespace.
const APPCONFIG: &str = "\
# The Dapr Configuration every app's sidecar uses (`dapr.config: appconfig`, the chart default).
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: appconfig
spec:
  tracing:
    samplingRate: \"1\"
";

const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

/// A copy of the example platform repo: `root` is the repo (appkit.yaml), the chart beside it.
struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    /// The examples without the Dapr Configuration their apps name.
    fn bare() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = common::example_platform(tmp.path());
        std::fs::remove_file(root.join("platform/components/appconfig.yaml")).unwrap();
        Repo { _tmp: tmp, root }
    }
    /// The examples with the Configuration they need, and a chart sized as the quota arithmetic
    /// below expects (a 2-CPU quota, small sidecars, Kubernetes' default rollout): pinned here so
    /// that a change of the chart's defaults does not change what these tests check.
    fn new() -> Repo {
        let r = Repo::bare();
        r.write("platform/components/appconfig.yaml", APPCONFIG);
        r.edit("../chart/values.yaml", |t| {
            let sized = t
                .replace(
                    "      requests:\n        cpu: 100m\n        memory: 250Mi\n      limits:\n        cpu: 300m\n        memory: 1000Mi\n",
                    "      requests:\n        cpu: 50m\n        memory: 64Mi\n      limits:\n        cpu: 300m\n        memory: 128Mi\n",
                )
                .replace(
                    "    requestsCpu: \"4\"\n    requestsMemory: 4Gi\n    limitsCpu: \"8\"\n    limitsMemory: 8Gi\n",
                    "    requestsCpu: \"2\"\n    requestsMemory: 2Gi\n    limitsCpu: \"4\"\n    limitsMemory: 4Gi\n",
                )
                .replace("  rollout:\n    maxSurge: 1\n    maxUnavailable: 0\n", "");
            assert_eq!(sized.matches("cpu: 50m\n        memory: 64Mi").count(), 1, "chart fixture changed");
            assert!(sized.contains("requestsCpu: \"2\"") && !sized.contains("  rollout:\n"), "chart fixture changed");
            sized
        });
        // The chart without a rollout strategy: Kubernetes' default (maxSurge 25 %).
        let schema = r.chart().join("values.schema.json");
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
        let required = v["properties"]["platform"]["required"]
            .as_array_mut()
            .unwrap();
        required.retain(|k| k != "rollout");
        std::fs::write(&schema, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        r
    }
    fn chart(&self) -> PathBuf {
        self.root.join("../chart")
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn edit(&self, rel: &str, f: impl Fn(&str) -> String) {
        let p = self.root.join(rel);
        let text = std::fs::read_to_string(&p).unwrap();
        let new = f(&text);
        assert_ne!(new, text, "{rel}: the edit changed nothing");
        std::fs::write(p, new).unwrap();
    }
    /// An app `apps/<name>/values.yaml` with the given lines after a pinned image.
    fn app(&self, name: &str, rest: &str) {
        self.write(
            &format!("apps/{name}/values.yaml"),
            &format!(
                "image:\n  repository: harbor.example.com/apps/{name}\n  tag: \"1.0.0\"\n  digest: {DIGEST}\n{rest}"
            ),
        );
    }
    /// Add keys under `platform:` in the chart's values.yaml and declare them in its schema
    /// (what the parallel chart change does for `platform.rollout`).
    fn chart_rollout(&self, max_surge: &str) {
        let values = self.chart().join("values.yaml");
        let text = std::fs::read_to_string(&values).unwrap();
        let text = text.replace(
            "\nplatform:\n",
            &format!("\nplatform:\n  rollout:\n    maxSurge: {max_surge}\n"),
        );
        std::fs::write(&values, text).unwrap();
        let schema = self.chart().join("values.schema.json");
        let mut s: Value =
            serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
        s["properties"]["platform"]["properties"]["rollout"] = serde_json::json!({
            "type": "object", "additionalProperties": false,
            "properties": {"maxSurge": {"type": ["integer", "string"]}}
        });
        std::fs::write(&schema, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    }
    fn validate(&self, args: &[&str]) -> Output {
        run(appkit()
            .current_dir(&self.root)
            .env_remove("APPKIT_CONFIG")
            .arg("validate")
            .args(args))
    }
    /// `validate -o json ARGS`: exit code and diagnostics.
    fn json(&self, args: &[&str]) -> (i32, Vec<Value>) {
        let out = self.validate(&[&["-o", "json"], args].concat());
        assert!(!common::stderr(&out).contains("panicked"));
        let doc: Value = serde_json::from_str(&common::stdout(&out))
            .unwrap_or_else(|e| panic!("no JSON ({e}): {}", common::stderr(&out)));
        (
            out.status.code().unwrap(),
            doc["diagnostics"].as_array().unwrap().clone(),
        )
    }
}

fn with_code<'a>(diags: &'a [Value], code: &str) -> Vec<&'a Value> {
    diags.iter().filter(|d| d["code"] == code).collect()
}

/// `file:line:col` of a JSON diagnostic.
fn at(d: &Value) -> String {
    format!(
        "{}:{}:{}",
        d["file"].as_str().unwrap(),
        d["line"],
        d["column"]
    )
}

fn msg(d: &Value) -> &str {
    d["message"].as_str().unwrap()
}

fn help(d: &Value) -> &str {
    d["help"].as_str().unwrap_or("")
}

/// The one diagnostic with `code` (fails with all of them shown otherwise).
fn one<'a>(diags: &'a [Value], code: &str) -> &'a Value {
    let v = with_code(diags, code);
    assert_eq!(v.len(), 1, "one `{code}` expected: {diags:#?}");
    v[0]
}

/// Defect: the examples must still validate with 0 errors — given the Configuration their
/// `dapr.config: appconfig` names; without it, every app's sidecar would not start, and
/// `dapr-config-missing` says so at the chart default.
#[test]
fn the_examples_validate_once_they_have_the_configuration_their_apps_name() {
    let repo = Repo::bare();
    let (code, diags) = repo.json(&[]);
    assert_eq!(code, 1, "{diags:#?}");
    let missing = with_code(&diags, "dapr-config-missing");
    assert!(!missing.is_empty(), "{diags:#?}");
    assert!(missing.iter().all(|d| {
        msg(d) == "no Dapr Configuration named `appconfig` among the platform's Dapr files (this value comes from the chart's defaults)"
            && at(d) == "../chart/values.yaml:56:11"
            && d["severity"] == "error"
    }), "{missing:#?}");
    assert_eq!(diags.len(), missing.len(), "{diags:#?}");

    let repo = Repo::new();
    let out = repo.validate(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("0 errors, 0 warnings"),
        "{}",
        common::stderr(&out)
    );
    let (code, diags) = repo.json(&["--strict"]);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");
}

const DB_PASSWORD: &str = "Sup3r-S3cret-DbPw";
const REDIS_PASSWORD: &str = "R3dis-Passw0rd-x9";
const API_TOKEN: &str = "T0ken-in-a-json-string";
const KV_PASSWORD: &str = "kv-Pa55word-42";

/// `url-credentials`: a URL with credentials in an env value (plain, in JSON text, in
/// `key=value` text) and in any other app-written string, one finding per value (it wins over
/// `backend-host-in-env` and `inline-secret`), the scheme and host named, the user and password
/// never printed — human (snippet masked), JSON and GitHub.
#[test]
fn url_credentials_are_found_and_never_printed() {
    let repo = Repo::new();
    repo.app(
        "app3",
        &format!(
            "env:
  - name: DATABASE_URL
    value: postgres://admin:{DB_PASSWORD}@db:5432/orders
  - name: CACHE
    value: \"redis://:{REDIS_PASSWORD}@redis-master.redis-system:6379\"
  - name: UPSTREAM
    value: '{{\"url\": \"https://robot:{API_TOKEN}@api.example.com/v1\"}}'
  - name: OPTIONS
    value: mode=fast dsn=mysql://app:{KV_PASSWORD}@mysql:3306/db
  - name: HOMEPAGE
    value: https://example.com/about
probes:
  path: /healthz?next=https://u:{KV_PASSWORD}@h
"
        ),
    );
    let secrets = [
        DB_PASSWORD,
        REDIS_PASSWORD,
        API_TOKEN,
        KV_PASSWORD,
        "admin:",
        "robot:",
    ];
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!(code, 1);
    let found = with_code(&diags, "url-credentials");
    let shown: Vec<(String, &str)> = found.iter().map(|d| (at(d), msg(d))).collect();
    assert_eq!(
        shown,
        [
            ("apps/app3/values.yaml:7:12".to_string(), "environment variable `DATABASE_URL` (`env[0].value`) holds a URL with credentials in it (`postgres://db:5432`): the user and password are written in plain text"),
            ("apps/app3/values.yaml:9:12".to_string(), "environment variable `CACHE` (`env[1].value`) holds a URL with credentials in it (`redis://redis-master.redis-system:6379`): the user and password are written in plain text"),
            ("apps/app3/values.yaml:11:12".to_string(), "environment variable `UPSTREAM` (`env[2].value`) holds a URL with credentials in it (`https://api.example.com`): the user and password are written in plain text"),
            ("apps/app3/values.yaml:13:12".to_string(), "environment variable `OPTIONS` (`env[3].value`) holds a URL with credentials in it (`mysql://mysql:3306`): the user and password are written in plain text"),
            ("apps/app3/values.yaml:17:9".to_string(), "`probes.path` holds a URL with credentials in it (`https://h`): the user and password are written in plain text"),
        ],
        "{diags:#?}"
    );
    assert!(found.iter().all(|d| d["severity"] == "error"));
    assert!(
        help(found[0]).contains("Dapr secret store"),
        "{}",
        help(found[0])
    );
    assert_eq!(found[1]["path"], "/env/1/value");
    // One finding per value: the redis URL is also a back end's address, DATABASE_URL a back
    // end's variable name; the credentials win.
    assert!(
        with_code(&diags, "backend-host-in-env").is_empty(),
        "{diags:#?}"
    );
    assert!(with_code(&diags, "inline-secret").is_empty(), "{diags:#?}");

    let human = repo.validate(&["apps/app3"]);
    assert_eq!(human.status.code(), Some(1));
    let err = common::stderr(&human);
    assert!(
        err.contains("error[url-credentials]: environment variable `DATABASE_URL`")
            && err.contains(" --> apps/app3/values.yaml:7:12")
            && err.contains("value: postgres://***********************@db:5432/orders"),
        "{err}"
    );
    let github = repo.validate(&["-o", "github", "apps/app3"]);
    assert_eq!(github.status.code(), Some(1));
    let gh = common::stdout(&github);
    assert!(
        gh.contains(
            "::error file=apps/app3/values.yaml,line=7,col=12,title=appkit url-credentials::"
        ),
        "{gh}"
    );
    let json = repo.validate(&["-o", "json", "apps/app3"]);
    for (what, out) in [("human", &human), ("github", &github), ("json", &json)] {
        let all = format!("{}{}", common::stdout(out), common::stderr(out));
        for s in secrets {
            assert!(!all.contains(s), "{what} output printed `{s}`:\n{all}");
        }
    }
    // A schema error quoting such a value masks it too.
    repo.write(
        "apps/app4/values.yaml",
        &format!("image:\n  repository: harbor.example.com/apps/app4\n  digest: {DIGEST}\n  pullPolicy: postgres://admin:{DB_PASSWORD}@db:5432/x\n"),
    );
    for fmt in ["human", "json", "github"] {
        let out = repo.validate(&["-o", fmt, "apps/app4"]);
        let all = format!("{}{}", common::stdout(&out), common::stderr(&out));
        assert_eq!(out.status.code(), Some(1), "{all}");
        assert!(
            !all.contains(DB_PASSWORD) && !all.contains("admin:"),
            "{fmt}:\n{all}"
        );
    }
}

/// `backend-host-in-env`: a variable named after a back end's address (at its name), a value
/// that is a back end's cluster-service address (at the value); the hint names the building
/// block and the components this app can use. Plain settings and Dapr invocation ids pass.
#[test]
fn backend_addresses_in_env_are_refused_with_the_building_block_to_use() {
    let repo = Repo::new();
    repo.edit("apps/app1/values.yaml", |t| {
        t.replace(
            "  - name: CLASSIFIER_MODEL\n    value: small\n",
            "  - name: CLASSIFIER_MODEL\n    value: small\n  - name: REDIS_HOST\n    value: redis-master\n  - name: SESSIONS\n    value: redis-master.redis-system.svc.cluster.local:6379\n  - name: VAULT_ADDR\n    value: http://vault-system:8200\n  - name: DAPR_HTTP_PORT\n    value: \"3500\"\n  - name: KAFKA_BROKERS\n    value: localhost:9092\n",
        )
    });
    let (code, diags) = repo.json(&["apps/app1"]);
    assert_eq!(code, 1);
    let found = with_code(&diags, "backend-host-in-env");
    let shown: Vec<(String, &str, &str)> = found
        .iter()
        .map(|d| (at(d), d["path"].as_str().unwrap(), msg(d)))
        .collect();
    assert_eq!(
        shown,
        [
            ("apps/app1/values.yaml:39:11".to_string(), "/env/2/name", "environment variable `REDIS_HOST` hands the app the address of a redis back end; the app should not know where the platform's back ends live"),
            ("apps/app1/values.yaml:42:12".to_string(), "/env/3/value", "environment variable `SESSIONS` hands the app the address of a redis back end (`redis-master.redis-system.svc.cluster.local:6379`); the app should not know where the platform's back ends live"),
            ("apps/app1/values.yaml:44:12".to_string(), "/env/4/value", "environment variable `VAULT_ADDR` hands the app the address of a vault back end (`vault-system:8200`); the app should not know where the platform's back ends live"),
        ],
        "{diags:#?}"
    );
    assert!(found.iter().all(|d| d["severity"] == "error"));
    assert!(
        help(found[0]).contains("the state store (state)")
            && help(found[0]).contains("`dapr.components`")
            && help(found[0]).ends_with("components this app can use: secretstore, statestore"),
        "{}",
        help(found[0])
    );
    assert!(help(found[2]).contains("the secret store (secrets)"));
    // Nothing else: LOG_FORMAT, CLASSIFIER_MODEL, DAPR_HTTP_PORT and a localhost address pass.
    assert_eq!(diags.len(), 3, "{diags:#?}");
    let (code, diags) = repo.json(&["apps/app2"]);
    assert_eq!(
        (code, diags.len()),
        (0, 0),
        "app2's `app1.app1` is an app id: {diags:#?}"
    );
}

/// Defect (issue 16, item 7): `redisHost` was caught, `secretstore.vault.address` was not. An
/// address key at any depth under a key named after a back end or building block is.
#[test]
fn nested_backend_config_is_caught_at_any_depth() {
    let repo = Repo::new();
    repo.app(
        "app3",
        "secretstore:\n  vault:\n    address: https://vault-system:8200\n    kvPrefix: apps\nprobes:\n  path: /healthz\nstate:\n  redisCache:\n    tls:\n      port: 6380\n",
    );
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!(code, 1);
    let found = with_code(&diags, "dapr-backend-config");
    let shown: Vec<(String, &str)> = found.iter().map(|d| (at(d), msg(d))).collect();
    assert_eq!(
        shown,
        [
            ("apps/app3/values.yaml:7:5".to_string(), "`secretstore.vault.address` configures a Dapr back end; those settings live in the platform's Dapr Components, outside the chart"),
            ("apps/app3/values.yaml:14:7".to_string(), "`state.redisCache.tls.port` configures a Dapr back end; those settings live in the platform's Dapr Components, outside the chart"),
        ],
        "{diags:#?}"
    );
    assert!(found.iter().all(|d| d["severity"] == "error"));
    // `probes.path` and `secretstore.vault.kvPrefix` are not addresses.
    assert!(
        !diags
            .iter()
            .any(|d| d["path"] == "/secretstore/vault/kvPrefix"),
        "{diags:#?}"
    );
    // Still caught: a top-level `redisHost` (folded into the schema's unknown-key error).
    repo.app("app4", "redisHost: redis:6379\n");
    let (code, diags) = repo.json(&["apps/app4"]);
    assert_eq!(code, 1);
    let d = one(&diags, "schema");
    assert!(help(d).contains("configures a Dapr back end"), "{d:#?}");
}

/// Defect (issue 16, item 7): `rules: {image-tag-not-digest: warning}` (the example's own
/// setting) turned "environment `prod` requires a digest" into a warning. In a promoted
/// environment it is an error whatever `rules:` says (`off` too); elsewhere `rules:` applies.
#[test]
fn a_promoted_environment_requires_a_digest_whatever_rules_say() {
    let repo = Repo::new();
    repo.write(
        "apps/app3/values.yaml",
        "image:\n  repository: harbor.example.com/apps/app3\n  tag: \"1.0.0\"\n",
    );
    let cfg = std::fs::read_to_string(repo.root.join("appkit.yaml")).unwrap();
    assert!(
        cfg.contains("rules:\n  image-tag-not-digest: warning\n"),
        "{cfg}"
    );
    for level in ["warning", "off"] {
        repo.write(
            "appkit.yaml",
            &cfg.replace(
                "image-tag-not-digest: warning",
                &format!("image-tag-not-digest: {level}"),
            ),
        );
        let (code, diags) = repo.json(&["--env", "prod", "apps/app3"]);
        assert_eq!(code, 1, "{level}: {diags:#?}");
        let d = one(&diags, "image-tag-not-digest");
        assert_eq!(
            (d["severity"].as_str().unwrap(), at(d).as_str(), msg(d)),
            (
                "error",
                "apps/app3/values.yaml:3:8",
                "the image is pinned by tag `1.0.0` only; environment `prod` requires a digest"
            ),
            "{level}"
        );
        let (code, diags) = repo.json(&["--env", "dev", "apps/app3"]);
        assert_eq!(code, 0, "{level}: {diags:#?}");
        let dev = with_code(&diags, "image-tag-not-digest");
        match level {
            "off" => assert!(dev.is_empty(), "{diags:#?}"),
            _ => {
                assert_eq!(dev.len(), 1, "{diags:#?}");
                assert_eq!(dev[0]["severity"], "warning");
                assert!(!msg(dev[0]).contains("requires"), "{}", msg(dev[0]));
            }
        }
    }
    // The rule table says so.
    let out = run(appkit().args(["validate", "--list-rules", "-o", "json"]));
    let rules: Value =
        serde_json::from_str::<Value>(&common::stdout(&out)).unwrap()["rules"].clone();
    let r = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "image-tag-not-digest")
        .unwrap();
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains("a `promoted: true` environment requires a digest whatever `rules:` says"),
        "{r}"
    );
    let table = common::stdout(&run(appkit().args(["validate", "--list-rules"])));
    assert!(
        table.contains("error in promoted envs (always), else warning"),
        "{table}"
    );
}

/// Defect (issue 16): `dapr.config: does-not-exist` passed and daprd failed to start. The
/// Configuration must be among the platform's Dapr files and visible in the app's namespace;
/// the message lists what exists ("did you mean").
#[test]
fn dapr_config_must_exist_and_be_visible_in_the_apps_namespace() {
    let repo = Repo::new();
    repo.write(
        "platform/components/configs.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: tracing\n  namespace: app1\nspec: {}\n",
    );
    repo.app("app3", "dapr:\n  config: appconfg\n");
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!(code, 1);
    let d = one(&diags, "dapr-config-missing");
    assert_eq!(
        (d["severity"].as_str().unwrap(), at(d).as_str(), msg(d)),
        (
            "error",
            "apps/app3/values.yaml:6:11",
            "no Dapr Configuration named `appconfg` among the platform's Dapr files"
        )
    );
    assert!(
        help(d).starts_with("did you mean `appconfig`? daprd does not start without the Configuration it is given; Configurations the platform defines in platform/components for namespace `app3`: appconfig;"),
        "{}",
        help(d)
    );
    // It exists, in another namespace only.
    repo.app("app3", "dapr:\n  config: tracing\n");
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!(code, 1);
    let d = one(&diags, "dapr-config-missing");
    assert_eq!(
        (at(d).as_str(), msg(d)),
        (
            "apps/app3/values.yaml:6:11",
            "Dapr Configuration `tracing` exists, but not in this app's namespace `app3` (it is in namespace `app1`)"
        )
    );
    // In its namespace, or empty (Dapr's default), or without a sidecar: fine.
    for rest in [
        "dapr:\n  config: \"\"\n",
        "dapr:\n  enabled: false\n  config: nope\n",
    ] {
        repo.app("app3", rest);
        let (code, diags) = repo.json(&["apps/app3"]);
        assert_eq!((code, diags.len()), (0, 0), "{rest}: {diags:#?}");
    }
    repo.edit("apps/app1/values.yaml", |t| {
        t.replace("  appId: app1\n", "  appId: app1\n  config: tracing\n")
    });
    let (code, diags) = repo.json(&["apps/app1"]);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");
}

/// Defect (issue 16): a 60-character app id passed, but Dapr needs `<id>-dapr` to be a DNS
/// label. The id is `dapr.appId`, else the release name: at `dapr.appId` when written, else
/// at the app file.
#[test]
fn dapr_app_id_must_leave_room_for_the_dapr_suffix() {
    let repo = Repo::new();
    let long = format!("classifier-{}", "x".repeat(49));
    assert_eq!(long.len(), 60);
    repo.app("app3", &format!("dapr:\n  appId: {long}\n"));
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!(code, 1);
    let d = one(&diags, "dapr-app-id");
    assert_eq!(
        (d["severity"].as_str().unwrap(), at(d).as_str(), msg(d)),
        (
            "error",
            "apps/app3/values.yaml:6:10",
            format!("the Dapr app id `{long}` is 60 characters long: `{long}-dapr` would be 65 characters, more than the 63 of a DNS label (at most 58 for the id)").as_str()
        )
    );
    assert!(
        help(d).starts_with(&format!("set `dapr.appId: {}`", &long[..58])),
        "{}",
        help(d)
    );
    // 58 characters are fine.
    repo.app("app3", &format!("dapr:\n  appId: {}\n", &long[..58]));
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");

    // Without `dapr.appId`, the release name is the id (here the app's name: a directory
    // of 59 characters, which `appkit.yaml` does not rename): reported at the app file.
    let name = "y".repeat(59);
    repo.write(
        &format!("apps/{name}/values.yaml"),
        &format!("image:\n  repository: harbor.example.com/apps/x\n  digest: {DIGEST}\n"),
    );
    let (code, diags) = repo.json(&[&format!("apps/{name}")]);
    assert_eq!(code, 1, "{diags:#?}");
    let d = one(&diags, "dapr-app-id");
    assert_eq!(
        (at(d), msg(d)),
        (
            format!("apps/{name}/values.yaml:1:1"),
            format!("the Dapr app id `{name}` (the app's name, used because `dapr.appId` is empty) is 59 characters long: `{name}-dapr` would be 64 characters, more than the 63 of a DNS label (at most 58 for the id)").as_str()
        )
    );
}

/// Defect (issue 16): the scope check used the directory name, not the release's real app id.
/// With `releaseName: classifier` and no `dapr.appId`, app1's sidecar is `classifier`: a
/// component scoped to `app1` is not its, one scoped to `classifier` is.
#[test]
fn scopes_are_checked_against_the_real_app_id() {
    let repo = Repo::new();
    repo.edit("appkit.yaml", |t| {
        t.replace(
            "  settings:\n",
            "  settings:\n    app1:\n      releaseName: classifier\n",
        )
    });
    repo.edit("apps/app1/values.yaml", |t| {
        t.replace("  appId: app1\n", "  logLevel: info\n")
    });
    let (code, diags) = repo.json(&["apps/app1"]);
    assert_eq!(code, 1, "{diags:#?}");
    let found = with_code(&diags, "dapr-component");
    let shown: Vec<(String, &str)> = found.iter().map(|d| (at(d), msg(d))).collect();
    assert_eq!(
        shown,
        [
            ("apps/app1/values.yaml:45:7".to_string(), "Dapr component `statestore` is scoped to app1 and not to this app's Dapr id `classifier` (the release name, as `dapr.appId` is empty)"),
            ("apps/app1/values.yaml:46:7".to_string(), "Dapr component `secretstore` is scoped to app1 and not to this app's Dapr id `classifier` (the release name, as `dapr.appId` is empty)"),
        ],
        "{diags:#?}"
    );
    assert!(found.iter().all(|d| d["severity"] == "error"));
    for f in ["statestore", "secretstore"] {
        repo.edit(&format!("platform/components/{f}.yaml"), |t| {
            t.replace("scopes:\n  - app1\n", "scopes:\n  - classifier\n")
        });
    }
    let (code, diags) = repo.json(&["apps/app1"]);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");
}

/// The delivery model: a Dapr resource without `metadata.namespace` is a platform template
/// render copies into every app namespace that uses it (visible to every app); one with a
/// namespace exists only there. `new --uses` follows the same rule, with the new app's id.
#[test]
fn a_component_without_a_namespace_is_visible_to_every_app_and_to_new() {
    let repo = Repo::new();
    repo.write(
        "platform/components/shared.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.redis\n  version: v1\n",
    );
    repo.edit("apps/app2/values.yaml", |t| {
        t.replace(
            "  appId: app2\n",
            "  appId: app2\n  components: [pubsub, statestore]\n",
        )
    });
    let (code, diags) = repo.json(&["apps/app2"]);
    assert_eq!(code, 1, "{diags:#?}");
    let d = one(&diags, "dapr-component");
    assert_eq!(
        (at(d).as_str(), msg(d)),
        (
            "apps/app2/values.yaml:38:24",
            "Dapr component `statestore` exists, but not in this app's namespace `app2` (it is in namespace `app1`)"
        )
    );
    // `new --uses`: the template is visible in the new app's namespace; statestore is not;
    // scopes name the new app's id (its release name).
    let new = |args: &[&str]| {
        run(appkit()
            .current_dir(&repo.root)
            .env_remove("APPKIT_CONFIG")
            .arg("new")
            .args(args))
    };
    let image = format!("harbor.example.com/apps/app3@{DIGEST}");
    let out = new(&["app3", "--image", &image, "--uses", "statestore"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("Dapr component `statestore` exists but not for app `app3` (Dapr app id `app3`) in namespace `app3`: it is in namespace `app1`, scoped to app1"),
        "{}",
        common::stderr(&out)
    );
    repo.write(
        "platform/components/scoped.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: state.redis\n  version: v1\nscopes: [ordering]\n",
    );
    let out = new(&["app3", "--image", &image, "--uses", "orders"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("Dapr component `orders` exists but not for app `app3` (Dapr app id `app3`) in namespace `app3`: it is in every app namespace (no `metadata.namespace`), scoped to ordering"),
        "{}",
        common::stderr(&out)
    );
    repo.edit("appkit.yaml", |t| {
        t.replace(
            "  settings:\n",
            "  settings:\n    app3:\n      releaseName: ordering\n",
        )
    });
    let out = new(&["app3", "--image", &image, "--uses", "pubsub,orders"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(repo.root.join("apps/app3/values.yaml").is_file());
}

/// `quota-fit`, the brief's example: (2 + 1) × (500m + 300m) = 2400m > quota requests.cpu 2,
/// at the app's `resources.requests.cpu`; maxSurge from `platform.rollout.maxSurge` (a number
/// or a percentage rounded up), else Kubernetes' 25 %; the pods quota; no sidecar without Dapr.
#[test]
fn quota_fit_shows_the_arithmetic_at_what_the_app_set() {
    let repo = Repo::new();
    repo.chart_rollout("1");
    repo.app(
        "app3",
        "replicas: 2\nresources:\n  requests:\n    cpu: 500m\n    memory: 128Mi\n  limits:\n    cpu: 500m\n    memory: 256Mi\ndapr:\n  sidecar:\n    resources:\n      requests:\n        cpu: 300m\n        memory: 64Mi\n      limits:\n        cpu: 300m\n        memory: 128Mi\n",
    );
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!(code, 1);
    let d = one(&diags, "quota-fit");
    assert_eq!(
        (d["severity"].as_str().unwrap(), at(d).as_str(), d["path"].as_str().unwrap(), msg(d)),
        (
            "error",
            "apps/app3/values.yaml:8:10",
            "/resources/requests/cpu",
            "(2 + 1) × (500m + 300m) = 2400m > quota requests.cpu 2 (3 pods during a rollout, maxSurge 1, app + Dapr sidecar)"
        )
    );
    assert!(help(d).contains("ResourceQuota"), "{}", help(d));

    // Without the sidecar it fits.
    repo.edit("apps/app3/values.yaml", |t| {
        t.replace("dapr:\n", "dapr:\n  enabled: false\n")
    });
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");

    // A percentage of replicas, rounded up: 3 + ceil(1.5) = 5 pods × (50m + 50m) requests fit,
    // 5 × (500m + 300m) = 4000m limits fit exactly, 5 × (256Mi + 128Mi) = 1920Mi too.
    repo.edit("../chart/values.yaml", |t| {
        t.replace("maxSurge: 1", "maxSurge: \"50%\"")
    });
    repo.app("app4", "replicas: 3\n");
    let (code, diags) = repo.json(&["apps/app4"]);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");
    repo.app("app4", "replicas: 4\n");
    let (code, diags) = repo.json(&["apps/app4"]);
    assert_eq!(code, 1);
    let d = one(&diags, "quota-fit");
    assert_eq!(
        (at(d).as_str(), d["path"].as_str().unwrap(), msg(d)),
        (
            "apps/app4/values.yaml:5:11",
            "/replicas",
            "(4 + 2) × (500m + 300m) = 4800m > quota limits.cpu 4 (6 pods during a rollout, maxSurge 50%, app + Dapr sidecar)"
        )
    );
}

/// `quota-fit` with Kubernetes' default maxSurge (the chart sets none): 25 % rounded up; the
/// pods quota; values the app did not write are reported at the app file.
#[test]
fn quota_fit_uses_kubernetes_default_surge_and_the_pods_quota() {
    let repo = Repo::new();
    repo.app(
        "app3",
        "replicas: 17\nresources:\n  requests:\n    cpu: 10m\n    memory: 16Mi\n  limits:\n    cpu: 20m\n    memory: 32Mi\ndapr:\n  enabled: false\n",
    );
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!(code, 1);
    let d = one(&diags, "quota-fit");
    assert_eq!(
        (at(d).as_str(), msg(d)),
        (
            "apps/app3/values.yaml:5:11",
            "17 + 5 = 22 pods during a rollout (maxSurge 25 %) > quota pods 20"
        )
    );
    // 16 + ceil(4) = 20 pods: fits.
    repo.edit("apps/app3/values.yaml", |t| {
        t.replace("replicas: 17", "replicas: 16")
    });
    let (code, diags) = repo.json(&["apps/app3"]);
    assert_eq!((code, diags.len()), (0, 0), "{diags:#?}");

    // A smaller quota in the chart: nothing the app wrote is the cause → at the app file.
    repo.edit("../chart/values.yaml", |t| {
        t.replace("limitsMemory: 4Gi", "limitsMemory: 300Mi")
    });
    let (code, diags) = repo.json(&["apps/app2"]);
    assert_eq!(code, 1);
    let d = one(&diags, "quota-fit");
    assert_eq!(
        (at(d).as_str(), msg(d)),
        (
            "apps/app2/values.yaml:27:13",
            "(1 + 1) × (256Mi + 128Mi) = 768Mi > quota limits.memory 300Mi (2 pods during a rollout, maxSurge 25 %, app + Dapr sidecar)"
        )
    );
    repo.app("app4", "dapr:\n  logLevel: info\n");
    let (code, diags) = repo.json(&["apps/app4"]);
    assert_eq!(code, 1);
    let d = one(&diags, "quota-fit");
    assert_eq!(at(d), "apps/app4/values.yaml:1:1");
    assert!(
        msg(d).starts_with("(1 + 1) × (256Mi + 128Mi) = 768Mi > quota limits.memory 300Mi"),
        "{}",
        msg(d)
    );
}

/// Every new rule is in the registry, `--list-rules` and docs/rules.md.
#[test]
fn the_new_rules_are_registered_and_documented() {
    let out = run(appkit().args(["validate", "--list-rules", "-o", "json"]));
    let rules: Value =
        serde_json::from_str::<Value>(&common::stdout(&out)).unwrap()["rules"].clone();
    let docs = std::fs::read_to_string(common::repo_root().join("docs/rules.md")).unwrap();
    for code in [
        "url-credentials",
        "backend-host-in-env",
        "dapr-config-missing",
        "dapr-app-id",
        "quota-fit",
    ] {
        let r = rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap_or_else(|| panic!("{code} missing: {rules}"));
        assert_eq!(r["defaultSeverity"], "error", "{r}");
        assert!(docs.contains(&format!("| `{code}` | error |")), "{code}");
    }
    let reads = |code: &str| {
        rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap()["reads"]
            .clone()
    };
    assert_eq!(
        reads("dapr-config-missing"),
        serde_json::json!(["dapr.config"])
    );
    assert!(reads("quota-fit")
        .as_array()
        .unwrap()
        .contains(&Value::from("platform.quota.pods")));
}
