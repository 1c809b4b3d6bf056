//! The official JSON-Schema-Test-Suite (draft-07 and draft 2020-12, `optional/` and
//! `optional/format/` included), decided by Helm: every case becomes a chart whose
//! `values.schema.json` is the case's schema and whose values file is the case's data, and the
//! verdict that matters is Helm's (`helm template` with the values), not the suite's — Helm decides
//! the install. Helm 4.1.4's and 3.17.3's verdicts are a committed fixture
//! (`tests/fixtures/schema-suite/verdicts.tsv`, re-derived by the ignored test
//! `derive_helm_verdicts`); every CI run compares appkit's verdict with Helm 4's on every runnable
//! case, and runs the first runnable case of each keyword file through both real Helm binaries.
//!
//! A case is made runnable like this: draft-07 schemas get `"$schema": draft-07` at the root
//! (Helm picks the draft from `$schema`, 2020-12 without one); data that is not a mapping — Helm's
//! values always are — is wrapped as the property `value` (`{"value": DATA}` against
//! `{"properties": {"value": SCHEMA}, "required": ["value"]}`), with `#…` JSON-pointer references
//! moved along. What cannot be made runnable is classified and counted in the table
//! (`docs/helm-fidelity/schema-suite.md`): references to the suite's remote server
//! (`http://localhost:1234`), wrappings that would change what a reference means (`$id`,
//! `$dynamicRef`, `$recursiveRef`, `$anchor` at the root of wrapped data).
//!
//! The suite comes from PyPI (jsonschema 4.23.0's sdist vendors it, with its licence):
//! `scripts/install-test-deps` puts it at `$APPKIT_SCHEMA_SUITE`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{helm, repo_root};

const DRAFTS: [&str; 2] = ["draft7", "draft2020-12"];
const DRAFT7_URI: &str = "http://json-schema.org/draft-07/schema#";

fn suite_root() -> PathBuf {
    let p = std::env::var_os("APPKIT_SCHEMA_SUITE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/appkit-test/json-schema-test-suite"))
        })
        .expect("HOME or APPKIT_SCHEMA_SUITE is set");
    assert!(
        p.join("tests/draft7/type.json").is_file(),
        "the JSON-Schema-Test-Suite is not at {}: run scripts/install-test-deps (or scripts/test)",
        p.display()
    );
    p.join("tests")
}

fn fixture() -> PathBuf {
    repo_root().join("tests/fixtures/schema-suite/verdicts.tsv")
}

/// One test of the suite.
#[derive(Debug, Clone)]
struct Case {
    /// `draft7/optional/format/date.json#3/1` (group 3, test 1; 0-based).
    id: String,
    draft: &'static str,
    /// The keyword file, relative to the draft's directory (`optional/format/date.json`).
    file: String,
    schema: Value,
    data: Value,
    suite_valid: bool,
}

fn json_files(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let r = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if p.is_dir() {
            json_files(&p, &r, out);
        } else if name.ends_with(".json") {
            out.push((r, p));
        }
    }
}

fn cases() -> Vec<Case> {
    let root = suite_root();
    let mut out = Vec::new();
    for draft in DRAFTS {
        let mut files = Vec::new();
        json_files(&root.join(draft), "", &mut files);
        for (file, path) in files {
            let groups: Vec<Value> =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for (g, group) in groups.iter().enumerate() {
                for (t, test) in group["tests"].as_array().unwrap().iter().enumerate() {
                    out.push(Case {
                        id: format!("{draft}/{file}#{g}/{t}"),
                        draft,
                        file: file.clone(),
                        schema: group["schema"].clone(),
                        data: test["data"].clone(),
                        suite_valid: test["valid"].as_bool().unwrap(),
                    });
                }
            }
        }
    }
    out
}

/// Why a case cannot be run as a chart.
const REMOTE: &str = "a reference to the suite's remote server (appkit and Helm never download)";
const WRAP: &str = "data that is not a mapping, in a schema a wrapper would change ($id, $anchor, $dynamicRef, $recursiveRef)";

/// The schema and values of the chart for `case`, or why there is none.
fn materialize(case: &Case) -> Result<(Value, Value), &'static str> {
    let text = case.schema.to_string();
    if text.contains("localhost:1234") {
        return Err(REMOTE);
    }
    let mut schema = case.schema.clone();
    if case.data.is_object() {
        if case.draft == "draft7" {
            match &mut schema {
                Value::Object(m) if !m.contains_key("$schema") => {
                    // First, like a hand-written schema.
                    let mut with = serde_json::Map::new();
                    with.insert("$schema".into(), json!(DRAFT7_URI));
                    with.extend(std::mem::take(m));
                    *m = with;
                }
                Value::Bool(b) => {
                    // `true`/`false` as a schema: the same meaning, with a draft.
                    schema = if *b {
                        json!({"$schema": DRAFT7_URI})
                    } else {
                        json!({"$schema": DRAFT7_URI, "not": {}})
                    };
                }
                _ => {}
            }
        }
        return Ok((schema, case.data.clone()));
    }
    for word in [
        "\"$id\"",
        "\"id\"",
        "\"$anchor\"",
        "\"$dynamicRef\"",
        "\"$dynamicAnchor\"",
        "\"$recursiveRef\"",
        "\"$recursiveAnchor\"",
    ] {
        if text.contains(word) {
            return Err(WRAP);
        }
    }
    let declared = schema.get("$schema").cloned();
    if let Value::Object(m) = &mut schema {
        m.remove("$schema");
    }
    move_refs(&mut schema);
    let draft_uri = match (declared, case.draft) {
        (Some(d), _) => d,
        (None, "draft7") => json!(DRAFT7_URI),
        (None, _) => Value::Null,
    };
    let mut wrapper = json!({
        "type": "object",
        "properties": {"value": schema},
        "required": ["value"],
    });
    if !draft_uri.is_null() {
        wrapper
            .as_object_mut()
            .unwrap()
            .insert("$schema".into(), draft_uri);
    }
    Ok((wrapper, json!({"value": case.data})))
}

/// `#` and `#/…` references point into the schema now at `#/properties/value`.
fn move_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "$ref" {
                    if let Some(r) = x.as_str() {
                        if r == "#" || r.starts_with("#/") {
                            *x = json!(format!("#/properties/value{}", &r[1..]));
                        }
                    }
                } else {
                    move_refs(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(move_refs),
        _ => {}
    }
}

/// A chart in `dir` with this schema and values (`values.json`, given with `-f`).
fn write_chart(dir: &Path, schema: &Value, values: &Value) -> PathBuf {
    let chart = dir.join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: suite\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("values.schema.json"),
        serde_json::to_string_pretty(schema).unwrap(),
    )
    .unwrap();
    let values_file = dir.join("values.json");
    std::fs::write(&values_file, serde_json::to_string(values).unwrap()).unwrap();
    values_file
}

/// `valid`, `invalid` (the values do not meet the schema) or `error` (the schema or values could
/// not be used at all).
fn helm_verdict(major: u8, dir: &Path) -> &'static str {
    let home = dir.join(format!("helm{major}"));
    let out = helm(major, &home)
        .args(["template", "suite"])
        .arg(dir.join("chart"))
        .arg("-f")
        .arg(dir.join("values.json"))
        .output()
        .unwrap();
    if out.status.success() {
        return "valid";
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("values don't meet the specifications of the schema") {
        "invalid"
    } else {
        "error"
    }
}

fn appkit_verdict(dir: &Path) -> &'static str {
    let validator = match appkit::values::Validator::with_chart(&dir.join("chart"), None) {
        Ok(v) => v,
        Err(_) => return "error",
    };
    let diags = validator.validate_files("suite", &[dir.join("values.json")], None);
    let schema_errors = diags
        .iter()
        .any(|d| d.code == "schema" && d.severity == appkit::diagnostics::Severity::Error);
    let unusable = diags
        .iter()
        .any(|d| d.code == "yaml" || d.code == "unreadable");
    if unusable {
        "error"
    } else if schema_errors {
        "invalid"
    } else {
        "valid"
    }
}

/// The committed verdicts: id → (Helm 4, Helm 3).
fn read_fixture() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(fixture()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; derive it with `cargo test --test tests schema_suite::derive_helm_verdicts -- --ignored`",
            fixture().display()
        )
    });
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let id = f.next().unwrap().to_string();
            let h4 = f.next().unwrap().to_string();
            let h3 = f.next().unwrap().to_string();
            (id, (h4, h3))
        })
        .collect()
}

/// Run `f` over `items` on a few threads, results in order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Re-derive the fixture from real Helm (slow: two Helm runs per case, ~3,300 cases).
#[test]
#[ignore = "slow (minutes): re-derives tests/fixtures/schema-suite/verdicts.tsv from real Helm 3 and 4"]
fn derive_helm_verdicts() {
    let all = cases();
    let runnable: Vec<(Case, Value, Value)> = all
        .iter()
        .filter_map(|c| materialize(c).ok().map(|(s, v)| (c.clone(), s, v)))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let lines = par_map(&runnable, |(case, schema, values)| {
        let dir = tmp.path().join(case.id.replace(['/', '#'], "_"));
        write_chart(&dir, schema, values);
        let line = format!(
            "{}\t{}\t{}",
            case.id,
            helm_verdict(4, &dir),
            helm_verdict(3, &dir)
        );
        let _ = std::fs::remove_dir_all(&dir);
        line
    });
    let v4 = String::from_utf8_lossy(
        &helm(4, tmp.path())
            .arg("version")
            .arg("--short")
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    let v3 = String::from_utf8_lossy(
        &helm(3, tmp.path())
            .arg("version")
            .arg("--short")
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    let mut text = format!(
        "# JSON-Schema-Test-Suite (jsonschema 4.23.0 sdist) verdicts: case id, Helm {v4}, Helm {v3}\n# valid | invalid | error; derived by tests/schema_suite.rs derive_helm_verdicts\n"
    );
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    std::fs::create_dir_all(fixture().parent().unwrap()).unwrap();
    std::fs::write(fixture(), text).unwrap();
}

/// Every runnable case: appkit's verdict is Helm 4's. The table of agreement (and of what
/// cannot run, and where Helm 3.17 differs) is `docs/helm-fidelity/schema-suite.md`.
#[test]
fn appkit_agrees_with_helm_4_on_every_runnable_case() {
    let all = cases();
    let fixture = read_fixture();
    let tmp = tempfile::tempdir().unwrap();
    let results = par_map(&all, |case| match materialize(case) {
        Err(why) => (case.clone(), Err(why)),
        Ok((schema, values)) => {
            let dir = tmp.path().join(case.id.replace(['/', '#'], "_"));
            write_chart(&dir, &schema, &values);
            let v = appkit_verdict(&dir);
            let _ = std::fs::remove_dir_all(&dir);
            (case.clone(), Ok(v))
        }
    });
    #[derive(Default)]
    struct Row {
        cases: usize,
        runnable: usize,
        agree: usize,
        dangerous: usize,
        stricter: usize,
        helm3_differs: usize,
        helm4_not_suite: usize,
        not_runnable: BTreeMap<&'static str, usize>,
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let mut missing = Vec::new();
    for (case, verdict) in &results {
        let group = if case.file.starts_with("optional/format/") {
            format!("{} optional/format", case.draft)
        } else if case.file.starts_with("optional/") {
            format!("{} optional", case.draft)
        } else {
            case.draft.to_string()
        };
        let row = rows.entry(group).or_default();
        row.cases += 1;
        let ours = match verdict {
            Err(why) => {
                *row.not_runnable.entry(why).or_default() += 1;
                continue;
            }
            Ok(v) => *v,
        };
        let Some((h4, h3)) = fixture.get(&case.id) else {
            missing.push(case.id.clone());
            continue;
        };
        row.runnable += 1;
        if (h3 == "valid") != (h4 == "valid") {
            row.helm3_differs += 1;
        }
        let suite = if case.suite_valid { "valid" } else { "invalid" };
        if h4 != suite {
            row.helm4_not_suite += 1;
        }
        // Both refuse the install whether the values fail the schema or the schema fails: what
        // counts is whether the release goes ahead.
        if (ours == "valid") == (h4 == "valid") {
            row.agree += 1;
        } else {
            if ours == "valid" {
                row.dangerous += 1;
            } else {
                row.stricter += 1;
            }
            disagreements.push(format!(
                "{}: appkit {ours}, Helm 4 {h4} (suite: {suite})",
                case.id
            ));
        }
    }
    let mut table = String::from(
        "| cases | total | runnable | appkit = Helm 4 | dangerous (appkit valid, Helm 4 not) | appkit stricter | Helm 4 ≠ suite | Helm 3.17 ≠ Helm 4 | not runnable |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut totals = [0usize; 7];
    for (group, r) in &rows {
        let nr: usize = r.not_runnable.values().sum();
        let why: Vec<String> = r
            .not_runnable
            .iter()
            .map(|(k, n)| format!("{n}: {k}"))
            .collect();
        table.push_str(&format!(
            "| {group} | {} | {} | {} | {} | {} | {} | {} | {}{} |\n",
            r.cases,
            r.runnable,
            r.agree,
            r.dangerous,
            r.stricter,
            r.helm4_not_suite,
            r.helm3_differs,
            nr,
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join("; "))
            }
        ));
        for (t, v) in totals.iter_mut().zip([
            r.cases,
            r.runnable,
            r.agree,
            r.dangerous,
            r.stricter,
            r.helm4_not_suite,
            r.helm3_differs,
        ]) {
            *t += v;
        }
    }
    table.push_str(&format!(
        "| **all** | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        totals[0],
        totals[1],
        totals[2],
        totals[3],
        totals[4],
        totals[5],
        totals[6],
        totals[0] - totals[1]
    ));
    eprintln!("{table}");
    assert!(
        missing.is_empty(),
        "{} runnable case(s) have no Helm verdict in the fixture (re-derive it): {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let doc = repo_root().join("docs/helm-fidelity/schema-suite.md");
    crate::common::assert_snapshot(
        &doc,
        &format!(
            "<!-- generated by tests/schema_suite.rs (appkit_agrees_with_helm_4_on_every_runnable_case); APPKIT_UPDATE_SNAPSHOTS=1 rewrites it -->\n# JSON-Schema-Test-Suite: appkit against Helm\n\nThe suite of jsonschema 4.23.0's sdist, every case as a chart (see `tests/schema_suite.rs` for how a case becomes a chart, and `docs/helm-fidelity.md` for what the columns mean). Helm verdicts: `tests/fixtures/schema-suite/verdicts.tsv`.\n\n{table}"
        ),
    );
    assert!(
        disagreements.is_empty(),
        "appkit disagrees with Helm 4 on {} case(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// The fixture is Helm's verdict: the first runnable case of each keyword file, through both real
/// Helm binaries, gives the committed verdicts.
#[test]
fn one_case_per_keyword_file_through_real_helm() {
    let fixture = read_fixture();
    let mut seen = std::collections::BTreeSet::new();
    let picked: Vec<(Case, Value, Value)> = cases()
        .into_iter()
        .filter_map(|c| {
            let (s, v) = materialize(&c).ok()?;
            seen.insert(format!("{}/{}", c.draft, c.file))
                .then_some((c, s, v))
        })
        .collect();
    assert!(picked.len() > 80, "{} keyword files", picked.len());
    let tmp = tempfile::tempdir().unwrap();
    let wrong = par_map(&picked, |(case, schema, values)| {
        let dir = tmp.path().join(case.id.replace(['/', '#'], "_"));
        write_chart(&dir, schema, values);
        let got = (helm_verdict(4, &dir), helm_verdict(3, &dir));
        let want = fixture.get(&case.id).expect("in the fixture");
        (got.0 != want.0 || got.1 != want.1)
            .then(|| format!("{}: Helm gives {got:?}, the fixture {want:?}", case.id))
    });
    let wrong: Vec<String> = wrong.into_iter().flatten().collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
