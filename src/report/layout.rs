//! Where the traffic graph's nodes go: a layered layout with one column per kind of node, in
//! the direction traffic flows — platform namespaces (ingress) → apps, grouped by node pool and
//! namespace → Dapr components → their backends. The layers are fixed by what a node is, so
//! the only freedom a general layered-layout algorithm would use is the order within a column:
//! apps keep their group order (pool, namespace, name: a reader looks an app up), and the other
//! columns are ordered by the barycentre of their neighbours (the mean row of the apps or
//! components they connect to), which removes most crossings in one linear pass. Linear in the
//! nodes and edges; deterministic.

use std::collections::BTreeMap;

use super::{Graph, NodeKind};

/// Row height and node size, in SVG user units.
pub const ROW: f64 = 22.0;
pub const NODE_H: f64 = 16.0;
pub const NODE_W: f64 = 190.0;
/// Where each column starts (x), in the order platform, apps, components, backends.
pub const COLUMNS: [f64; 4] = [10.0, 330.0, 720.0, 1010.0];
const TOP: f64 = 40.0;

/// A node's box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    pub x: f64,
    pub y: f64,
}

/// The positions of a graph's nodes (same order as `graph.nodes`), the group headings of the
/// app column, and the size of the drawing.
#[derive(Debug, Clone)]
pub struct Layout {
    pub nodes: Vec<Placed>,
    /// (heading, y) of each app group.
    pub groups: Vec<(String, f64)>,
    pub width: f64,
    pub height: f64,
}

fn column(kind: NodeKind) -> usize {
    match kind {
        NodeKind::Platform => 0,
        NodeKind::App => 1,
        NodeKind::Component => 2,
        NodeKind::Backend => 3,
    }
}

pub fn layout(g: &Graph) -> Layout {
    let index: BTreeMap<&str, usize> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut row = vec![0.0f64; g.nodes.len()];
    let mut groups = Vec::new();
    // Apps: by group, then name; a heading row before each group.
    let mut apps: Vec<usize> = (0..g.nodes.len())
        .filter(|&i| g.nodes[i].kind == NodeKind::App)
        .collect();
    apps.sort_by(|&a, &b| {
        (&g.nodes[a].group, &g.nodes[a].label).cmp(&(&g.nodes[b].group, &g.nodes[b].label))
    });
    let mut r = 0.0;
    let mut last: Option<&str> = None;
    for &i in &apps {
        if last != Some(g.nodes[i].group.as_str()) {
            groups.push((g.nodes[i].group.clone(), TOP + r * ROW));
            r += 1.0;
            last = Some(&g.nodes[i].group);
        }
        row[i] = r;
        r += 1.0;
    }
    let app_rows = r;
    // Neighbours of each node (both directions), for the barycentres.
    let mut nbrs: Vec<Vec<usize>> = vec![Vec::new(); g.nodes.len()];
    for e in &g.edges {
        if let (Some(&a), Some(&b)) = (index.get(e.from.as_str()), index.get(e.to.as_str())) {
            nbrs[a].push(b);
            nbrs[b].push(a);
        }
    }
    let mut rows_used = [0.0f64; 4];
    rows_used[1] = app_rows;
    // Components from apps, backends from components, platform from apps.
    for (kind, from) in [
        (NodeKind::Component, NodeKind::App),
        (NodeKind::Backend, NodeKind::Component),
        (NodeKind::Platform, NodeKind::App),
    ] {
        let mut members: Vec<(f64, usize)> = (0..g.nodes.len())
            .filter(|&i| g.nodes[i].kind == kind)
            .map(|i| {
                let ys: Vec<f64> = nbrs[i]
                    .iter()
                    .filter(|&&n| g.nodes[n].kind == from)
                    .map(|&n| row[n])
                    .collect();
                let bary = if ys.is_empty() {
                    f64::MAX
                } else {
                    ys.iter().sum::<f64>() / ys.len() as f64
                };
                (bary, i)
            })
            .collect();
        members.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| g.nodes[a.1].label.cmp(&g.nodes[b.1].label))
        });
        // Each at its barycentre when free, else the next free row.
        let mut next = 0.0f64;
        for (bary, i) in members {
            let want = if bary == f64::MAX { next } else { bary.round() };
            let at = want.max(next);
            row[i] = at;
            next = at + 1.0;
        }
        rows_used[column(kind)] = next;
    }
    let nodes = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| Placed {
            x: COLUMNS[column(n.kind)],
            y: TOP + row[i] * ROW,
        })
        .collect();
    let rows = rows_used.iter().copied().fold(1.0, f64::max);
    Layout {
        nodes,
        groups,
        width: COLUMNS[3] + NODE_W + 20.0,
        height: TOP + rows * ROW + 20.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EdgeKind, GraphEdge, GraphNode};

    fn node(id: &str, kind: NodeKind, group: &str) -> GraphNode {
        GraphNode {
            id: id.into(),
            kind,
            label: id.split(':').nth(1).unwrap().into(),
            group: group.into(),
        }
    }

    #[test]
    fn columns_by_kind_and_components_beside_their_apps() {
        let g = Graph {
            nodes: vec![
                node("app:b", NodeKind::App, "p/ns2"),
                node("app:a", NodeKind::App, "p/ns1"),
                node("component:s", NodeKind::Component, ""),
                node("backend:redis", NodeKind::Backend, ""),
            ],
            edges: vec![
                GraphEdge {
                    from: "app:b".into(),
                    to: "component:s".into(),
                    kind: EdgeKind::Uses,
                    broken: false,
                    ports: vec![],
                },
                GraphEdge {
                    from: "component:s".into(),
                    to: "backend:redis".into(),
                    kind: EdgeKind::Egress,
                    broken: false,
                    ports: vec![],
                },
            ],
        };
        let l = layout(&g);
        assert_eq!(l.groups.len(), 2);
        assert!(l.nodes[1].y < l.nodes[0].y, "a (ns1) before b (ns2)");
        assert_eq!(
            l.nodes[2].y, l.nodes[0].y,
            "the component at its user's row"
        );
        assert_eq!(l.nodes[3].y, l.nodes[2].y);
        assert_eq!(l.nodes[2].x, COLUMNS[2]);
        assert!(l.height >= l.nodes[0].y + NODE_H);
    }
}
