//! `report`'s human output: per environment, plain-text tables (capacity per namespace, node
//! pool and app; chart versions; the app → app traffic and what only one side allows).

use super::{cpu, mem, pct, EdgeKind, EnvReport, Report};

/// Columns padded to their widest cell; the first row is the heading.
pub fn table(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut w = vec![0usize; n];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(c);
            if i + 1 < r.len() {
                line.extend(std::iter::repeat_n(' ', w[i] - c.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn s(x: impl Into<String>) -> String {
    x.into()
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    for e in &r.environments {
        env(&mut out, e);
    }
    for sk in &r.skipped {
        out.push_str(&format!(
            "skipped {} in {}: {}\n",
            sk.app, sk.env, sk.problem
        ));
    }
    out
}

fn env(out: &mut String, e: &EnvReport) {
    let t = &e.totals;
    out.push_str(&format!(
        "== {}: {} apps, requests {} CPU / {} memory (sidecars {} / {}), limits {} / {}\n\n",
        e.env,
        e.apps.len(),
        cpu(t.total.requests.cpu_millis),
        mem(t.total.requests.memory_bytes),
        pct(t.sidecar_share.cpu),
        pct(t.sidecar_share.memory),
        cpu(t.total.limits.cpu_millis),
        mem(t.total.limits.memory_bytes),
    ));
    let mut rows = vec![vec![
        s("NAMESPACE"),
        s("APPS"),
        s("REQ CPU"),
        s("REQ MEM"),
        s("LIM CPU"),
        s("LIM MEM"),
        s("SIDECAR"),
        s("ROLLOUT CPU"),
        s("QUOTA CPU"),
        s("HEADROOM CPU"),
        s("HEADROOM MEM"),
        s("HEADROOM PODS"),
    ]];
    for n in &e.namespaces {
        let hr = n.headroom;
        rows.push(vec![
            n.namespace.clone(),
            n.apps.len().to_string(),
            cpu(n.usage.total.requests.cpu_millis),
            mem(n.usage.total.requests.memory_bytes),
            cpu(n.usage.total.limits.cpu_millis),
            mem(n.usage.total.limits.memory_bytes),
            pct(n.usage.sidecar_share.cpu),
            cpu(n.rollout.requests.cpu_millis),
            n.quota.map_or(s("-"), |q| cpu(q.requests.cpu_millis)),
            hr.map_or(s("-"), |h| cpu(h.requests.cpu_millis)),
            hr.map_or(s("-"), |h| mem(h.requests.memory_bytes)),
            hr.map_or(s("-"), |h| h.pods.to_string()),
        ]);
    }
    out.push_str(&table(&rows));
    out.push('\n');
    let mut rows = vec![vec![
        s("NODE POOL"),
        s("APPS"),
        s("REQ CPU"),
        s("REQ MEM"),
        s("ALLOCATABLE"),
        s("FILL CPU"),
        s("FILL MEM"),
    ]];
    for p in &e.node_pools {
        rows.push(vec![
            if p.declared {
                p.name.clone()
            } else {
                format!("{} (not in nodePools)", p.name)
            },
            p.apps.len().to_string(),
            cpu(p.usage.total.requests.cpu_millis),
            mem(p.usage.total.requests.memory_bytes),
            p.allocatable.map_or(s("-"), |a| {
                format!("{} / {}", cpu(a.cpu_millis), mem(a.memory_bytes))
            }),
            pct(p.fill.and_then(|f| f.cpu)),
            pct(p.fill.and_then(|f| f.memory)),
        ]);
    }
    out.push_str(&table(&rows));
    out.push('\n');
    let mut rows = vec![vec![
        s("APP"),
        s("NAMESPACE"),
        s("POOL"),
        s("REPLICAS"),
        s("REQ CPU"),
        s("REQ MEM"),
        s("LIM CPU"),
        s("LIM MEM"),
        s("SIDECAR CPU"),
        s("CHART"),
        s("QUOTA"),
    ]];
    for a in &e.apps {
        let u = &a.usage;
        rows.push(vec![
            a.app.clone(),
            a.namespace.clone(),
            a.nodepool.clone(),
            format!("{} (+{})", a.replicas, a.max_surge),
            cpu(u.total.requests.cpu_millis),
            mem(u.total.requests.memory_bytes),
            cpu(u.total.limits.cpu_millis),
            mem(u.total.limits.memory_bytes),
            pct(u.sidecar_share.cpu),
            format!(
                "{}{}",
                a.chart_version,
                if a.lagging {
                    " (pinned, lagging)"
                } else if a.pinned {
                    " (pinned)"
                } else {
                    ""
                }
            ),
            if a.quota_fit.is_empty() {
                s("fits")
            } else {
                s("DOES NOT FIT")
            },
        ]);
    }
    out.push_str(&table(&rows));
    for a in e.apps.iter().filter(|a| !a.quota_fit.is_empty()) {
        for m in &a.quota_fit {
            out.push_str(&format!("  quota-fit {}: {m}\n", a.app));
        }
    }
    out.push('\n');
    let v = &e.versions;
    out.push_str(&format!(
        "chart {} {}\n",
        v.chart_version,
        v.chart_digest.as_deref().unwrap_or("(not in appkit.lock)")
    ));
    for (app, ver) in &v.pins {
        out.push_str(&format!(
            "  pin {app}: {ver}{}\n",
            if v.lagging.contains(app) {
                " (behind the environment)"
            } else {
                ""
            }
        ));
    }
    let inv: Vec<_> = e
        .graph
        .edges
        .iter()
        .filter(|x| x.kind == EdgeKind::Invocation)
        .collect();
    if !inv.is_empty() {
        out.push_str("\ntraffic (app → app):\n");
        for x in inv {
            out.push_str(&format!(
                "  {} → {}{}\n",
                x.from.trim_start_matches("app:"),
                x.to.trim_start_matches("app:"),
                if x.broken {
                    "  BROKEN (one side only)"
                } else {
                    ""
                }
            ));
        }
    }
    for m in &e.one_sided {
        out.push_str(&format!("  invocation-one-sided: {m}\n"));
    }
    out.push('\n');
}
