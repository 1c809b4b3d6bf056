//! `plan`: what a chart or values change does to every app × environment, before merge.
//!
//! The model here is what one plan run found, in the form `-o json` prints and `plan --merge`
//! reads back (so CI shards join into one report in any output format):
//! - [`Plan`]: the base revision, the Helm that rendered, counters, and one [`PairPlan`] per app
//!   × environment — its status, each side's chart and render key, the objects that changed
//!   (field by field), each side's render error, and what caused the change where that is
//!   knowable (the values files that differ, the chart templates, the `chartVersion` line).
//! - [`groups`]: identical changes across apps, with the app's own name written `{app}`, so
//!   "412 apps × prod: Deployment {app}: + metadata.labels.tier" is one line.
//!
//! Submodules: `helm` (runs the real Helm), `cache` (the content-addressed render cache),
//! `manifest` (parse, mask, diff), `output` (human, markdown, github). The steps are in
//! `actions::plan`.
//!
//! Owns: the plan's shape, grouping and merging.

pub mod cache;
pub mod helm;
pub mod manifest;
pub mod output;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use manifest::{Change, ObjectChange};

/// One plan: every selected app × environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `--base` as given (`HEAD`, a branch, a commit).
    pub base: String,
    /// The commit it named.
    pub base_commit: String,
    /// `--chart-preview`: every new side rendered with the working-tree chart.
    pub chart_preview: bool,
    /// The Helm that rendered (`v3.17.3`).
    pub helm: String,
    /// `K/N` when this is one shard (absent once merged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub stats: Stats,
    pub pairs: Vec<PairPlan>,
}

/// What the run did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// `helm template` runs.
    pub helm_invocations: u64,
    /// Sides read from the render cache instead of rendering.
    pub cache_hits: u64,
    /// Pairs whose two render keys were equal: unchanged without rendering either side.
    pub skipped: u64,
}

/// What a pair's change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Unchanged,
    Changed,
    /// On the new side only (a new app, or a new environment).
    Added,
    /// On the old side only.
    Removed,
    /// A side failed to render (or could not be prepared): see `errors`.
    Failed,
}

/// Which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    Old,
    New,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Side::Old => "old side (base)",
            Side::New => "new side (working tree)",
        }
    }
}

/// One side of a pair, as rendered (or as it would have been).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SideInfo {
    pub chart_version: String,
    /// Where the chart came from: `working tree`, `base tree`, or the locked manifest digest.
    pub chart_source: String,
    /// sha256 of the chart archive rendered (the identity in the render key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_digest: Option<String>,
    /// The render key (equal keys on both sides: unchanged, nothing rendered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A side that could not be rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideError {
    pub side: Side,
    pub message: String,
}

/// What made a pair change, where that is knowable: a file, and a line when one is known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cause {
    /// Relative to the repository's top directory (as GitHub wants it).
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// One app in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairPlan {
    pub app: String,
    pub env: String,
    /// The Helm release (for grouping: its name is written `{app}` in grouped changes).
    pub release: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<SideInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<SideInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SideError>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
}

impl PairPlan {
    pub fn differs(&self) -> bool {
        matches!(
            self.status,
            Status::Changed | Status::Added | Status::Removed
        )
    }
}

/// Per environment: how many pairs ended how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnvCounts {
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
    pub failed: usize,
    pub unchanged: usize,
}

impl Plan {
    pub fn count(&self, status: Status) -> usize {
        self.pairs.iter().filter(|p| p.status == status).count()
    }

    pub fn failed(&self) -> bool {
        self.count(Status::Failed) > 0
    }

    pub fn differs(&self) -> bool {
        self.pairs.iter().any(PairPlan::differs)
    }

    /// Counts per environment, environments in the order first seen.
    pub fn per_env(&self) -> Vec<(String, EnvCounts)> {
        let mut order: Vec<String> = Vec::new();
        let mut by: BTreeMap<String, EnvCounts> = BTreeMap::new();
        for p in &self.pairs {
            if !by.contains_key(&p.env) {
                order.push(p.env.clone());
            }
            let c = by.entry(p.env.clone()).or_default();
            match p.status {
                Status::Changed => c.changed += 1,
                Status::Added => c.added += 1,
                Status::Removed => c.removed += 1,
                Status::Failed => c.failed += 1,
                Status::Unchanged => c.unchanged += 1,
            }
        }
        order
            .into_iter()
            .map(|e| {
                let c = by.remove(&e).unwrap_or_default();
                (e, c)
            })
            .collect()
    }

    /// Sort pairs the one way every output shows them: by environment as configured, then app.
    pub fn sort(&mut self, env_order: &[String]) {
        let rank = |e: &str| env_order.iter().position(|x| x == e).unwrap_or(usize::MAX);
        self.pairs
            .sort_by(|a, b| (rank(&a.env), &a.env, &a.app).cmp(&(rank(&b.env), &b.env, &b.app)));
    }
}

/// Join shard plans (`plan --merge`): same base commit, Helm and mode; no pair twice.
pub fn merge(plans: Vec<(String, Plan)>) -> Result<Plan, String> {
    let mut it = plans.into_iter();
    let Some((first_name, mut out)) = it.next() else {
        return Err("plan --merge needs at least one file".into());
    };
    out.shard = None;
    let mut seen: std::collections::HashSet<(String, String)> = out
        .pairs
        .iter()
        .map(|p| (p.app.clone(), p.env.clone()))
        .collect();
    let mut env_order: Vec<String> = Vec::new();
    for p in &out.pairs {
        if !env_order.contains(&p.env) {
            env_order.push(p.env.clone());
        }
    }
    for (name, p) in it {
        for (what, a, b) in [
            ("base commit", &out.base_commit, &p.base_commit),
            ("Helm version", &out.helm, &p.helm),
        ] {
            if a != b {
                return Err(format!(
                    "{name} was planned with {what} {b}, {first_name} with {a}: shards of one plan must share it"
                ));
            }
        }
        if p.chart_preview != out.chart_preview {
            return Err(format!(
                "{name} and {first_name} differ in --chart-preview: shards of one plan must share it"
            ));
        }
        for pair in p.pairs {
            if !seen.insert((pair.app.clone(), pair.env.clone())) {
                return Err(format!(
                    "{} × {} is in {name} and in an earlier file: give each shard once",
                    pair.app, pair.env
                ));
            }
            if !env_order.contains(&pair.env) {
                env_order.push(pair.env.clone());
            }
            out.pairs.push(pair);
        }
        out.stats.helm_invocations += p.stats.helm_invocations;
        out.stats.cache_hits += p.stats.cache_hits;
        out.stats.skipped += p.stats.skipped;
    }
    out.sort(&env_order);
    Ok(out)
}

/// `s` with the whole-word occurrences of `name` written `{app}`.
pub fn generalise(s: &str, name: &str) -> String {
    if name.is_empty() || !s.contains(name) {
        return s.to_string();
    }
    let word = |c: char| c.is_ascii_alphanumeric();
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut prev: Option<char> = None;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back().or(prev);
        let after = rest[i + name.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(word) || after.is_some_and(word) {
            out.push_str(name);
        } else {
            out.push_str("{app}");
        }
        prev = name.chars().next_back();
        rest = &rest[i + name.len()..];
    }
    out.push_str(rest);
    out
}

/// One line of a grouped change: what happened to which object (names generalised).
fn change_lines(p: &PairPlan) -> Vec<String> {
    let g = |s: &str| generalise(&generalise(s, &p.release), &p.app);
    let mut lines = Vec::new();
    for o in &p.objects {
        let id = g(&o.id.to_string());
        match o.change {
            Change::Added => lines.push(format!("+ {id}")),
            Change::Removed => lines.push(format!("- {id}")),
            Change::Changed => {
                for f in &o.fields {
                    lines.push(format!("~ {id}: {}", g(&output::field_text(f, 80))));
                }
            }
        }
    }
    lines
}

/// Identical changes across apps: (environment, the change's lines, the apps), the largest first.
pub fn groups(plan: &Plan) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut by: BTreeMap<(String, Vec<String>), Vec<String>> = BTreeMap::new();
    for p in plan.pairs.iter().filter(|p| p.status == Status::Changed) {
        by.entry((p.env.clone(), change_lines(p)))
            .or_default()
            .push(p.app.clone());
    }
    let mut out: Vec<_> = by.into_iter().map(|((e, l), a)| (e, l, a)).collect();
    out.sort_by(|a, b| {
        b.2.len()
            .cmp(&a.2.len())
            .then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1)))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalises_whole_words_only() {
        assert_eq!(
            generalise("Deployment app1/app1", "app1"),
            "Deployment {app}/{app}"
        );
        assert_eq!(generalise("app10 app1-x", "app1"), "app10 {app}-x");
        assert_eq!(generalise("a-b", "a"), "{app}-b");
        assert_eq!(generalise("data", "a"), "data");
    }

    fn pair(app: &str, env: &str, status: Status) -> PairPlan {
        PairPlan {
            app: app.into(),
            env: env.into(),
            release: app.into(),
            status,
            old: None,
            new: None,
            objects: Vec::new(),
            errors: Vec::new(),
            causes: Vec::new(),
        }
    }

    fn plan(pairs: Vec<PairPlan>) -> Plan {
        Plan {
            base: "HEAD".into(),
            base_commit: "abc".into(),
            chart_preview: false,
            helm: "v3.17.3".into(),
            shard: Some("1/2".into()),
            stats: Stats::default(),
            pairs,
        }
    }

    #[test]
    fn merge_joins_and_refuses_overlap_or_mismatch() {
        let a = plan(vec![pair("a", "dev", Status::Changed)]);
        let b = plan(vec![pair("b", "dev", Status::Unchanged)]);
        let m = merge(vec![
            ("a.json".into(), a.clone()),
            ("b.json".into(), b.clone()),
        ])
        .unwrap();
        assert_eq!(m.pairs.len(), 2);
        assert_eq!(m.shard, None);
        assert!(
            merge(vec![("a".into(), a.clone()), ("a2".into(), a.clone())])
                .unwrap_err()
                .contains("a × dev")
        );
        let mut c = b;
        c.helm = "v4.1.4".into();
        assert!(merge(vec![("a".into(), a), ("c".into(), c)])
            .unwrap_err()
            .contains("Helm version"));
    }
}
