//! `report -o html`: one self-contained page — inline CSS, inline SVG, one inline script, no
//! network, no fonts or scripts from anywhere — that opens offline from a CI artifact. Per
//! environment: the traffic graph ([`super::layout`]) and the tables of the human output. Every
//! string that reaches the page goes through [`esc`].
//!
//! The inline script only reads the laid-out page: it records on `<body>` which graph nodes and
//! edges have a box inside their drawing (`data-visible-nodes`, `data-visible-edges`: space-
//! separated `<env>/<id>`, an edge's id `<from>|<to>`), so a headless browser can check that the
//! graph is really drawn.

use std::fmt::Write;

use super::layout::{self, NODE_H, NODE_W};
use super::{cpu, mem, pct, EdgeKind, EnvReport, NodeKind, Report};

/// Text and attribute escaping for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = "body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}h1{font-size:20px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}h3{font-size:14px}table{border-collapse:collapse;margin:6px 0 14px}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}.bad{color:#b00;font-weight:600}.note{color:#666}.wrap{overflow:auto;max-height:900px;border:1px solid #ddd}svg text{font:11px system-ui,sans-serif}svg .h{fill:#555;font-weight:600}.k0 rect{fill:#e8e0f5;stroke:#7a5ab8}.k1 rect{fill:#dcecff;stroke:#3b78c2}.k2 rect{fill:#e3f5e1;stroke:#4a9a43}.k3 rect{fill:#fdebd6;stroke:#c07a2a}svg.graph path{fill:none;stroke-width:1.2}.inv{stroke:#3b78c2;marker-end:url(#ar)}.use{stroke:#4a9a43;stroke-opacity:.6}.egr{stroke:#c07a2a;stroke-opacity:.7}.ing{stroke:#7a5ab8;stroke-opacity:.35}.brk{stroke:#d00;stroke-dasharray:5 4;stroke-width:2;marker-end:url(#arb)}.legend span{margin-right:14px}";

const SCRIPT: &str = "(function(){var vn=[],ve=[];document.querySelectorAll('svg.graph').forEach(function(s){var env=s.getAttribute('data-env'),b=s.getBoundingClientRect();function ins(r){return r.right>=b.left&&r.left<=b.right&&r.bottom>=b.top&&r.top<=b.bottom}s.querySelectorAll('[data-n]').forEach(function(n){var r=n.getBoundingClientRect();if(r.width>0&&r.height>0&&ins(r))vn.push(env+'/'+n.getAttribute('data-n'))});s.querySelectorAll('[data-e]').forEach(function(e){var r=e.getBoundingClientRect();if((r.width>0||r.height>0)&&ins(r))ve.push(env+'/'+e.getAttribute('data-e'))})});document.body.setAttribute('data-visible-nodes',vn.join(' '));document.body.setAttribute('data-visible-edges',ve.join(' '))})();";

pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(64 * 1024);
    o.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>appkit report</title><style>");
    o.push_str(CSS);
    o.push_str("</style></head><body><svg width=\"0\" height=\"0\" style=\"position:absolute\"><defs><marker id=\"ar\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0L8 4L0 8z\" fill=\"#3b78c2\"/></marker><marker id=\"arb\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0 0L8 4L0 8z\" fill=\"#d00\"/></marker></defs></svg><h1>appkit report</h1><p class=\"note\">What the fleet requests (app containers and Dapr sidecars × replicas), how it fits the namespace quotas during a rollout and the node pools, which chart runs where, and who may talk to whom — from the values <code>helm appkit render</code> passes.</p>");
    for e in &r.environments {
        env(&mut o, e);
    }
    if !r.skipped.is_empty() {
        o.push_str("<h2>Left out</h2><ul>");
        for s in &r.skipped {
            let _ = write!(
                o,
                "<li>{} in {}: {}</li>",
                esc(&s.app),
                esc(&s.env),
                esc(&s.problem)
            );
        }
        o.push_str("</ul>");
    }
    o.push_str("<script>");
    o.push_str(SCRIPT);
    o.push_str("</script></body></html>\n");
    o
}

fn row(o: &mut String, cells: &[String], head: bool) {
    o.push_str("<tr>");
    for c in cells {
        o.push_str(if head { "<th>" } else { "<td>" });
        o.push_str(c);
    }
    o.push('\n');
}

fn heads(o: &mut String, h: &[&str]) {
    o.push_str("<table>");
    row(
        o,
        &h.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        true,
    );
}

fn env(o: &mut String, e: &EnvReport) {
    let t = &e.totals;
    let _ = write!(
        o,
        "<h2>{}</h2><p>{} apps · requests <b>{}</b> CPU / <b>{}</b> memory (Dapr sidecars: {} / {}) · limits {} / {} · chart {}</p>",
        esc(&e.env),
        e.apps.len(),
        cpu(t.total.requests.cpu_millis),
        mem(t.total.requests.memory_bytes),
        pct(t.sidecar_share.cpu),
        pct(t.sidecar_share.memory),
        cpu(t.total.limits.cpu_millis),
        mem(t.total.limits.memory_bytes),
        esc(&e.versions.chart_version)
    );
    graph(o, e);
    o.push_str("<h3>Namespaces</h3>");
    heads(
        o,
        &[
            "namespace",
            "apps",
            "req CPU",
            "req mem",
            "lim CPU",
            "lim mem",
            "sidecar CPU",
            "rollout CPU",
            "quota CPU",
            "headroom CPU",
            "headroom mem",
            "headroom pods",
        ],
    );
    for n in &e.namespaces {
        let h = n.headroom;
        let bad = |x: i64| {
            if x < 0 {
                "<span class=\"bad\">".to_string()
            } else {
                String::new()
            }
        };
        row(
            o,
            &[
                esc(&n.namespace),
                n.apps.len().to_string(),
                cpu(n.usage.total.requests.cpu_millis),
                mem(n.usage.total.requests.memory_bytes),
                cpu(n.usage.total.limits.cpu_millis),
                mem(n.usage.total.limits.memory_bytes),
                pct(n.usage.sidecar_share.cpu),
                cpu(n.rollout.requests.cpu_millis),
                n.quota.map_or("-".into(), |q| cpu(q.requests.cpu_millis)),
                h.map_or("-".into(), |h| {
                    bad(h.requests.cpu_millis) + &cpu(h.requests.cpu_millis)
                }),
                h.map_or("-".into(), |h| {
                    bad(h.requests.memory_bytes) + &mem(h.requests.memory_bytes)
                }),
                h.map_or("-".into(), |h| bad(h.pods) + &h.pods.to_string()),
            ],
            false,
        );
    }
    o.push_str("</table><h3>Node pools</h3>");
    heads(
        o,
        &[
            "pool",
            "apps",
            "req CPU",
            "req mem",
            "allocatable",
            "fill CPU",
            "fill mem",
        ],
    );
    for p in &e.node_pools {
        row(
            o,
            &[
                if p.declared {
                    esc(&p.name)
                } else {
                    format!(
                        "{} <span class=\"bad\">(not in nodePools)</span>",
                        esc(&p.name)
                    )
                },
                p.apps.len().to_string(),
                cpu(p.usage.total.requests.cpu_millis),
                mem(p.usage.total.requests.memory_bytes),
                p.allocatable.map_or("-".into(), |a| {
                    format!("{} / {}", cpu(a.cpu_millis), mem(a.memory_bytes))
                }),
                pct(p.fill.and_then(|f| f.cpu)),
                pct(p.fill.and_then(|f| f.memory)),
            ],
            false,
        );
    }
    o.push_str("</table><h3>Apps (largest CPU requests first)</h3>");
    heads(
        o,
        &[
            "app",
            "namespace",
            "pool",
            "replicas",
            "req CPU",
            "req mem",
            "lim CPU",
            "lim mem",
            "sidecar CPU",
            "sidecar mem",
            "chart",
            "digest",
            "quota",
        ],
    );
    for a in &e.apps {
        let u = &a.usage;
        row(
            o,
            &[
                esc(&a.app),
                esc(&a.namespace),
                esc(&a.nodepool),
                format!("{} (+{})", a.replicas, a.max_surge),
                cpu(u.total.requests.cpu_millis),
                mem(u.total.requests.memory_bytes),
                cpu(u.total.limits.cpu_millis),
                mem(u.total.limits.memory_bytes),
                pct(u.sidecar_share.cpu),
                pct(u.sidecar_share.memory),
                format!(
                    "{}{}",
                    esc(&a.chart_version),
                    if a.lagging {
                        " <span class=\"bad\">pinned, behind</span>"
                    } else if a.pinned {
                        " (pinned)"
                    } else {
                        ""
                    }
                ),
                a.chart_digest
                    .as_deref()
                    .map_or("-".into(), |d| esc(&d.chars().take(19).collect::<String>())),
                if a.quota_fit.is_empty() {
                    "fits".into()
                } else {
                    format!(
                        "<span class=\"bad\" title=\"{}\">does not fit</span>",
                        esc(&a.quota_fit.join("\n"))
                    )
                },
            ],
            false,
        );
    }
    o.push_str("</table>");
    let v = &e.versions;
    let _ = write!(
        o,
        "<h3>Versions</h3><p>chart <b>{}</b> <code>{}</code></p>",
        esc(&v.chart_version),
        esc(v.chart_digest.as_deref().unwrap_or("not in appkit.lock"))
    );
    if !v.pins.is_empty() {
        o.push_str("<ul>");
        for (app, ver) in &v.pins {
            let _ = write!(
                o,
                "<li>{} pinned to {}{}</li>",
                esc(app),
                esc(ver),
                if v.lagging.contains(app) {
                    " <span class=\"bad\">behind the environment</span>"
                } else {
                    ""
                }
            );
        }
        o.push_str("</ul>");
    }
    if !e.one_sided.is_empty() {
        o.push_str("<h3>Allowed by one side only (invocation-one-sided)</h3><ul>");
        for m in &e.one_sided {
            let _ = write!(o, "<li class=\"bad\">{}</li>", esc(m));
        }
        o.push_str("</ul>");
    }
}

fn graph(o: &mut String, e: &EnvReport) {
    let g = &e.graph;
    let l = layout::layout(g);
    let index: std::collections::HashMap<&str, usize> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    o.push_str("<h3>Traffic</h3><p class=\"legend\"><span style=\"color:#7a5ab8\">■ platform namespaces (ingress)</span><span style=\"color:#3b78c2\">■ apps by pool/namespace, → Dapr invocation</span><span style=\"color:#4a9a43\">■ Dapr components</span><span style=\"color:#c07a2a\">■ backends (derived egress)</span><span class=\"bad\">- - allowed by one side only</span></p><div class=\"wrap\">");
    let _ = write!(
        o,
        "<svg class=\"graph\" data-env=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
        esc(&e.env),
        w = l.width as i64,
        h = l.height as i64
    );
    for (i, title) in ["platform", "apps", "components", "backends"]
        .iter()
        .enumerate()
    {
        let _ = write!(
            o,
            "<text class=\"h\" x=\"{}\" y=\"20\">{title}</text>",
            layout::COLUMNS[i] as i64
        );
    }
    for (name, y) in &l.groups {
        let _ = write!(
            o,
            "<text class=\"h\" x=\"{}\" y=\"{}\">{}</text>",
            layout::COLUMNS[1] as i64,
            (*y + 12.0) as i64,
            esc(name)
        );
    }
    let mid = NODE_H / 2.0;
    for ed in &g.edges {
        let (Some(&a), Some(&b)) = (index.get(ed.from.as_str()), index.get(ed.to.as_str())) else {
            continue;
        };
        let (pa, pb) = (l.nodes[a], l.nodes[b]);
        let (x1, y1) = (pa.x + NODE_W, pa.y + mid);
        let d = if ed.kind == EdgeKind::Invocation {
            // Both in the app column: an arc on its right, wider for farther rows.
            let (x2, y2) = (pb.x + NODE_W, pb.y + mid);
            let bulge = 30.0 + ((y2 - y1).abs() / 6.0).min(120.0);
            format!(
                "M{} {}C{} {} {} {} {} {}",
                x1 as i64,
                y1 as i64,
                (x1 + bulge) as i64,
                y1 as i64,
                (x2 + bulge) as i64,
                y2 as i64,
                (x2 + 4.0) as i64,
                y2 as i64
            )
        } else {
            let x2 = pb.x;
            let y2 = pb.y + mid;
            let c = (x1 + x2) / 2.0;
            format!(
                "M{} {}C{} {} {} {} {} {}",
                x1 as i64,
                y1 as i64,
                c as i64,
                y1 as i64,
                c as i64,
                y2 as i64,
                x2 as i64,
                y2 as i64
            )
        };
        let class = match (ed.kind, ed.broken) {
            (EdgeKind::Invocation, true) => "inv brk",
            (EdgeKind::Invocation, false) => "inv",
            (EdgeKind::Uses, _) => "use",
            (EdgeKind::Egress, _) => "egr",
            (EdgeKind::Ingress, _) => "ing",
        };
        let title = match ed.kind {
            EdgeKind::Invocation if ed.broken => " (allowed by one side only)".to_string(),
            _ if !ed.ports.is_empty() => format!(" ports {}", ed.ports.join(", ")),
            _ => String::new(),
        };
        let _ = write!(
            o,
            "<path class=\"{class}\" data-e=\"{}|{}\" d=\"{d}\"><title>{} → {}{}</title></path>",
            esc(&ed.from),
            esc(&ed.to),
            esc(&ed.from),
            esc(&ed.to),
            esc(&title)
        );
    }
    for (n, p) in g.nodes.iter().zip(&l.nodes) {
        let k = match n.kind {
            NodeKind::Platform => 0,
            NodeKind::App => 1,
            NodeKind::Component => 2,
            NodeKind::Backend => 3,
        };
        let label: String = n.label.chars().take(30).collect();
        let _ = write!(
            o,
            "<g class=\"k{k}\" data-n=\"{}\" transform=\"translate({},{})\"><rect width=\"{}\" height=\"{}\" rx=\"3\"/><text x=\"6\" y=\"12\">{}</text><title>{}</title></g>",
            esc(&n.id),
            p.x as i64,
            p.y as i64,
            NODE_W as i64,
            NODE_H as i64,
            esc(&label),
            esc(&n.id)
        );
    }
    o.push_str("</svg></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
