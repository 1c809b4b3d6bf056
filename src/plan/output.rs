//! How a [`Plan`] reads: human (coloured on a terminal), markdown for a pull-request comment
//! (summary table, grouped changes, collapsible per-app details, cut to fit GitHub's 65,536
//! characters with a count of what was left out), GitHub annotations on the files that cause a
//! change. JSON is the [`Plan`] itself (through the printer's envelope).
//!
//! Every value shown went through `manifest::mask` before it got here; long values are shortened.
//!
//! Owns: the text of every plan output but JSON.

use serde_json::Value;

use super::manifest::{Change, FieldChange, ObjectChange};
use super::{groups, PairPlan, Plan, Status};

/// GitHub's limit on a pull-request comment.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// A value as one line, at most `max` characters.
fn short(v: &Value, max: usize) -> String {
    let s = v.to_string();
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// `path: old → new`, `+ path: new`, `- path: old`.
pub fn field_text(f: &FieldChange, max: usize) -> String {
    match (&f.old, &f.new) {
        (Some(o), Some(n)) => format!("{}: {} → {}", f.path, short(o, max), short(n, max)),
        (None, Some(n)) => format!("+ {}: {}", f.path, short(n, max)),
        (Some(o), None) => format!("- {}: {}", f.path, short(o, max)),
        (None, None) => f.path.clone(),
    }
}

fn object_head(o: &ObjectChange) -> String {
    let sign = match o.change {
        Change::Added => "+",
        Change::Removed => "-",
        Change::Changed => "~",
    };
    match &o.source {
        Some(s) => format!("{sign} {} ({s})", o.id),
        None => format!("{sign} {}", o.id),
    }
}

fn pair_head(p: &PairPlan) -> String {
    let v = |s: &Option<super::SideInfo>| {
        s.as_ref()
            .map(|i| format!("{} ({})", i.chart_version, i.chart_source))
            .unwrap_or_else(|| "—".into())
    };
    let chart = match (&p.old, &p.new) {
        (Some(o), Some(n))
            if o.chart_version == n.chart_version
                && (o.chart_source == n.chart_source
                    || o.chart_digest.is_some() && o.chart_digest == n.chart_digest) =>
        {
            format!("chart {}", n.chart_version)
        }
        _ => format!("chart {} → {}", v(&p.old), v(&p.new)),
    };
    let what = match p.status {
        Status::Added => "added".to_string(),
        Status::Removed => "removed".to_string(),
        Status::Failed => "failed to render".to_string(),
        Status::Unchanged => "unchanged".to_string(),
        Status::Changed => {
            let n = p.objects.len();
            format!("{n} object{} changed", if n == 1 { "" } else { "s" })
        }
    };
    format!("{} × {}: {what}, {chart}", p.app, p.env)
}

fn summary_line(plan: &Plan) -> String {
    let n = plan.pairs.len();
    let mut parts = Vec::new();
    for (s, word) in [
        (Status::Changed, "changed"),
        (Status::Added, "added"),
        (Status::Removed, "removed"),
        (Status::Failed, "failed"),
        (Status::Unchanged, "unchanged"),
    ] {
        let c = plan.count(s);
        if c > 0 || s == Status::Changed {
            parts.push(format!("{c} {word}"));
        }
    }
    format!(
        "Plan against {} ({}){}: {n} app × environment pair{}: {}",
        plan.base,
        &plan.base_commit[..plan.base_commit.len().min(12)],
        if plan.chart_preview {
            ", chart preview"
        } else {
            ""
        },
        if n == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

fn stats_line(plan: &Plan) -> String {
    format!(
        "Helm {}: {} render(s), {} from the cache, {} pair(s) unchanged without rendering",
        plan.helm, plan.stats.helm_invocations, plan.stats.cache_hits, plan.stats.skipped
    )
}

fn apps_list(apps: &[String], max: usize) -> String {
    if apps.len() <= max {
        return apps.join(", ");
    }
    format!("{}, … ({} more)", apps[..max].join(", "), apps.len() - max)
}

/// The human output.
pub fn human(plan: &Plan, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let line_color = |l: &str| {
        if l.starts_with('+') || l.contains(": + ") {
            paint("32", l)
        } else if l.starts_with('-') || l.contains(": - ") {
            paint("31", l)
        } else {
            paint("33", l)
        }
    };
    let mut out = String::new();
    out.push_str(&summary_line(plan));
    out.push('\n');
    let groups = groups(plan);
    if !groups.is_empty() {
        out.push_str("\nChanges, grouped:\n");
        for (env, lines, apps) in &groups {
            out.push_str(&format!(
                "  {} app{} × {env} ({}):\n",
                apps.len(),
                if apps.len() == 1 { "" } else { "s" },
                apps_list(apps, 8)
            ));
            for l in lines {
                out.push_str(&format!("    {}\n", line_color(l)));
            }
        }
    }
    let failed: Vec<&PairPlan> = plan
        .pairs
        .iter()
        .filter(|p| p.status == Status::Failed)
        .collect();
    if !failed.is_empty() {
        out.push_str(&format!("\n{}\n", paint("1;31", "Failed to render:")));
        for p in failed {
            for e in &p.errors {
                out.push_str(&format!("  {} × {}, {}:\n", p.app, p.env, e.side.label()));
                for l in e.message.lines() {
                    out.push_str(&format!("    {l}\n"));
                }
            }
        }
    }
    let detailed: Vec<&PairPlan> = plan.pairs.iter().filter(|p| p.differs()).collect();
    if !detailed.is_empty() {
        out.push_str("\nPer app:\n");
        for p in detailed {
            out.push_str(&format!("  {}\n", paint("1", &pair_head(p))));
            for o in &p.objects {
                out.push_str(&format!("    {}\n", line_color(&object_head(o))));
                for f in &o.fields {
                    out.push_str(&format!("        {}\n", line_color(&field_text(f, 120))));
                }
            }
        }
    }
    out.push('\n');
    out.push_str(&stats_line(plan));
    out.push('\n');
    out
}

/// Markdown that `s` shows literally inside inline code.
fn code(s: &str) -> String {
    let s = s.replace('`', "'").replace('\n', " ");
    format!("`{s}`")
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '|' | '<' | '>' | '*' | '_' | '[' | ']' | '`' | '\\' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The markdown output, at most `limit` characters (GitHub's comment limit).
pub fn markdown(plan: &Plan, limit: usize) -> String {
    let mut head = String::new();
    head.push_str(&format!(
        "### appkit plan\n\n{}\n\n",
        md_escape(&summary_line(plan))
    ));
    head.push_str("| Environment | Changed | Added | Removed | Failed | Unchanged |\n");
    head.push_str("|---|---:|---:|---:|---:|---:|\n");
    for (env, c) in plan.per_env() {
        head.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            md_escape(&env),
            c.changed,
            c.added,
            c.removed,
            c.failed,
            c.unchanged
        ));
    }
    let mut sections: Vec<String> = Vec::new();
    let groups = groups(plan);
    if !groups.is_empty() {
        let mut s = String::from("\n#### Changes, grouped\n\n");
        for (env, lines, apps) in &groups {
            s.push_str(&format!(
                "- **{} app{} × {}** ({})\n",
                apps.len(),
                if apps.len() == 1 { "" } else { "s" },
                md_escape(env),
                md_escape(&apps_list(apps, 10))
            ));
            for l in lines.iter().take(20) {
                s.push_str(&format!("  - {}\n", code(l)));
            }
            if lines.len() > 20 {
                s.push_str(&format!("  - … {} more\n", lines.len() - 20));
            }
        }
        sections.push(s);
    }
    for p in plan.pairs.iter().filter(|p| p.status == Status::Failed) {
        let mut s = format!(
            "\n> [!CAUTION]\n> **{} × {}** failed to render\n",
            md_escape(&p.app),
            md_escape(&p.env)
        );
        for e in &p.errors {
            s.push_str(&format!(
                "\n<details><summary>{}</summary>\n\n```text\n",
                e.side.label()
            ));
            s.push_str(&e.message.replace("```", "'''"));
            s.push_str("\n```\n\n</details>\n");
        }
        sections.push(s);
    }
    let mut first_detail = true;
    for p in plan.pairs.iter().filter(|p| p.differs()) {
        let mut s = String::new();
        if first_detail {
            s.push_str("\n#### Per app\n");
            first_detail = false;
        }
        s.push_str(&format!(
            "\n<details><summary>{}</summary>\n\n```diff\n",
            md_escape(&pair_head(p))
        ));
        for o in &p.objects {
            s.push_str(&object_head(o).replace("```", "'''"));
            s.push('\n');
            for f in &o.fields {
                let t = field_text(f, 200).replace("```", "'''");
                let sign = if f.old.is_none() {
                    '+'
                } else if f.new.is_none() {
                    '-'
                } else {
                    '!'
                };
                s.push_str(&format!("{sign}   {t}\n"));
            }
        }
        s.push_str("```\n\n</details>\n");
        sections.push(s);
    }
    let foot = format!("\n<sub>{}</sub>\n", md_escape(&stats_line(plan)));
    let mut out = head;
    let reserve = foot.len() + 200;
    let mut left_out = 0usize;
    for s in sections {
        if left_out == 0 && out.len() + s.len() + reserve <= limit {
            out.push_str(&s);
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        out.push_str(&format!(
            "\n**{left_out} more section{} left out** to fit GitHub's {limit}-character comment limit: run `helm appkit plan` for all of it.\n",
            if left_out == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&foot);
    out
}

/// GitHub annotations: a notice on each file that causes a change (aggregated per file and line),
/// an error for each side that failed to render.
pub fn github(plan: &Plan) -> String {
    use crate::diagnostics::{github_escape_data as data, github_escape_prop as prop};
    let mut by: std::collections::BTreeMap<(String, Option<usize>), Vec<String>> =
        std::collections::BTreeMap::new();
    let mut out = String::new();
    for p in &plan.pairs {
        if p.status == Status::Failed {
            let file = p.causes.first();
            for e in &p.errors {
                let loc = file
                    .map(|c| {
                        let mut s = format!("file={}", prop(&c.file));
                        if let Some(l) = c.line {
                            s.push_str(&format!(",line={l}"));
                        }
                        s.push(',');
                        s
                    })
                    .unwrap_or_default();
                out.push_str(&format!(
                    "::error {loc}title={}::{}\n",
                    prop("appkit plan"),
                    data(&format!(
                        "{} × {}: the {} failed to render: {}",
                        p.app,
                        p.env,
                        e.side.label(),
                        e.message
                    ))
                ));
            }
            continue;
        }
        if !p.differs() {
            continue;
        }
        for c in &p.causes {
            by.entry((c.file.clone(), c.line))
                .or_default()
                .push(format!("{} × {}", p.app, p.env));
        }
    }
    for ((file, line), pairs) in by {
        let mut loc = format!("file={}", prop(&file));
        if let Some(l) = line {
            loc.push_str(&format!(",line={l}"));
        }
        out.push_str(&format!(
            "::notice {loc},title={}::{}\n",
            prop("appkit plan"),
            data(&format!(
                "changes what {} app × environment pair{} deploy{}: {}",
                pairs.len(),
                if pairs.len() == 1 { "" } else { "s" },
                if pairs.len() == 1 { "s" } else { "" },
                apps_list(&pairs, 20)
            ))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::manifest::ObjectId;
    use crate::plan::{Side, SideError, SideInfo, Stats};
    use serde_json::json;

    fn changed(app: &str) -> PairPlan {
        PairPlan {
            app: app.into(),
            env: "prod".into(),
            release: app.into(),
            status: Status::Changed,
            old: Some(SideInfo {
                chart_version: "0.1.0".into(),
                chart_source: "base tree".into(),
                chart_digest: None,
                key: None,
            }),
            new: Some(SideInfo {
                chart_version: "0.1.0".into(),
                chart_source: "working tree".into(),
                chart_digest: None,
                key: None,
            }),
            objects: vec![ObjectChange {
                id: ObjectId {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    namespace: app.into(),
                    name: app.into(),
                },
                change: Change::Changed,
                source: Some("templates/deployment.yaml".into()),
                fields: vec![FieldChange {
                    path: "metadata.labels.tier".into(),
                    old: None,
                    new: Some(json!("web")),
                }],
            }],
            errors: Vec::new(),
            causes: vec![crate::plan::Cause {
                file: "chart/templates/deployment.yaml".into(),
                line: None,
            }],
        }
    }

    fn plan(n: usize) -> Plan {
        let mut pairs: Vec<PairPlan> = (0..n).map(|i| changed(&format!("app{i}"))).collect();
        let mut f = changed("broken");
        f.status = Status::Failed;
        f.objects.clear();
        f.errors.push(SideError {
            side: Side::New,
            message: "Error: template: x".into(),
        });
        pairs.push(f);
        Plan {
            base: "HEAD".into(),
            base_commit: "0123456789abcdef".into(),
            chart_preview: false,
            helm: "v3.17.3".into(),
            shard: None,
            stats: Stats::default(),
            pairs,
        }
    }

    #[test]
    fn groups_identical_changes() {
        let h = human(&plan(3), false);
        assert!(h.contains("3 apps × prod (app0, app1, app2):"), "{h}");
        assert!(
            h.contains("~ Deployment {app}/{app}: + metadata.labels.tier: \"web\""),
            "{h}"
        );
        assert!(h.contains("broken × prod, new side (working tree):"), "{h}");
    }

    #[test]
    fn markdown_fits_the_comment_limit_and_counts_what_is_left_out() {
        let md = markdown(&plan(3000), GITHUB_COMMENT_LIMIT);
        assert!(md.len() <= GITHUB_COMMENT_LIMIT, "{}", md.len());
        assert!(md.contains("more sections left out"));
        assert!(md.contains("| prod | 3000 | 0 | 0 | 1 | 0 |"));
        let small = markdown(&plan(2), GITHUB_COMMENT_LIMIT);
        assert!(!small.contains("left out"));
        assert!(small.contains("<details><summary>app1 × prod"));
    }

    #[test]
    fn github_aggregates_per_file() {
        let g = github(&plan(2));
        assert!(g.contains("::notice file=chart/templates/deployment.yaml,title=appkit plan::changes what 2 app × environment pairs deploy: app0 × prod, app1 × prod"), "{g}");
        assert!(
            g.contains(
                "::error file=chart/templates/deployment.yaml,title=appkit plan::broken × prod"
            ),
            "{g}"
        );
    }
}
