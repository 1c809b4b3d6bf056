//! Comparing a release's inline values with an app's values files, leaf by leaf, on
//! position-carrying trees (so each difference can say where both sides are), and computing the
//! overlay that turns a base values file into the release's values. Numbers compare as Helm sees
//! them (all numbers are float64 once Helm has read them: `1` and `1.0` are the same value).

use serde_json::{Map, Value};

use crate::values::yaml::{Node, Val};

/// One path where the two sides disagree; `None`: that side does not set it.
pub(crate) struct Difference<'a> {
    /// Dotted, with list indexes: `image.repository`, `env[1].value`.
    pub path: String,
    pub release: Option<&'a Node>,
    pub file: Option<&'a Node>,
}

/// Every leaf where `release` and `file` differ, in the release's key order (then the file's
/// keys the release does not have). Lists of the same length compare item by item, others whole.
pub(crate) fn differences<'a>(release: &'a Node, file: &'a Node) -> Vec<Difference<'a>> {
    let mut out = Vec::new();
    walk(release, file, String::new(), &mut out);
    out
}

fn walk<'a>(r: &'a Node, f: &'a Node, path: String, out: &mut Vec<Difference<'a>>) {
    match (&r.val, &f.val) {
        (Val::Map(rm), Val::Map(fm)) if !rm.is_empty() || !fm.is_empty() => {
            for (k, rv) in rm {
                let p = join_key(&path, k);
                match fm.iter().find(|(fk, _)| fk == k) {
                    Some((_, fv)) => walk(rv, fv, p, out),
                    None => out.push(Difference {
                        path: p,
                        release: Some(rv),
                        file: None,
                    }),
                }
            }
            for (k, fv) in fm {
                if !rm.iter().any(|(rk, _)| rk == k) {
                    out.push(Difference {
                        path: join_key(&path, k),
                        release: None,
                        file: Some(fv),
                    });
                }
            }
        }
        (Val::Seq(rs), Val::Seq(fs)) if rs.len() == fs.len() && !rs.is_empty() => {
            for (i, (rv, fv)) in rs.iter().zip(fs).enumerate() {
                walk(rv, fv, format!("{path}[{i}]"), out);
            }
        }
        _ => {
            if !same(&r.to_json(), &f.to_json()) {
                out.push(Difference {
                    path: if path.is_empty() {
                        "(all values)".into()
                    } else {
                        path
                    },
                    release: Some(r),
                    file: Some(f),
                });
            }
        }
    }
}

/// The overlay that, merged over `base` the way Helm merges `-f` files (mappings recursively,
/// anything else replaced), gives `release`: only what differs. Keys `base` has and `release`
/// does not are set to `null` there (which also drops the chart's default for them); their paths
/// are returned too, since no overlay can express "not set" exactly.
pub(crate) fn overlay(release: &Node, base: &Node) -> (Map<String, Value>, Vec<String>) {
    let mut unset = Vec::new();
    let out = overlay_map(release, base, String::new(), &mut unset);
    (out, unset)
}

fn overlay_map(r: &Node, b: &Node, path: String, unset: &mut Vec<String>) -> Map<String, Value> {
    let mut out = Map::new();
    let (Some(rm), Some(bm)) = (r.as_map(), b.as_map()) else {
        return out;
    };
    for (k, rv) in rm {
        match bm.iter().find(|(bk, _)| bk == k) {
            None => {
                out.insert(k.clone(), rv.to_json());
            }
            Some((_, bv)) if rv.as_map().is_some() && bv.as_map().is_some() => {
                let inner = overlay_map(rv, bv, join_key(&path, k), unset);
                if !inner.is_empty() {
                    out.insert(k.clone(), Value::Object(inner));
                }
            }
            Some((_, bv)) => {
                if !same(&rv.to_json(), &bv.to_json()) {
                    out.insert(k.clone(), rv.to_json());
                }
            }
        }
    }
    for (k, _) in bm {
        if !rm.iter().any(|(rk, _)| rk == k) {
            unset.push(join_key(&path, k));
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}

/// Equal as Helm sees values: numbers by their float64 value, mappings regardless of key order.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// `a.b`, or `a."b.c"` for a key that is not a plain name.
pub(crate) fn join_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '/');
    let k = if plain {
        key.to_string()
    } else {
        serde_json::to_string(key).unwrap_or_else(|_| key.to_string())
    };
    if path.is_empty() {
        k
    } else {
        format!("{path}.{k}")
    }
}

/// A value for a message: text quoted, others as compact JSON, cut at 60 characters.
pub(crate) fn show(n: &Node) -> String {
    let s = match &n.val {
        Val::Str(s) => serde_json::to_string(s).unwrap_or_default(),
        _ => n.to_json().to_string(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn node(s: &str) -> Node {
        crate::values::yaml::parse(s, 0, Path::new("t.yaml")).unwrap()
    }

    #[test]
    fn differences_are_leaves_with_paths() {
        let r = node("image:\n  repository: a\n  pullPolicy: Always\nenv:\n  - {name: X, value: \"1\"}\nport: 8080\nnew: 1\n");
        let f = node(
            "image:\n  repository: b\nenv:\n  - {name: X, value: \"2\"}\nport: 8080.0\nold: true\n",
        );
        let d = differences(&r, &f);
        let got: Vec<(&str, bool, bool)> = d
            .iter()
            .map(|d| (d.path.as_str(), d.release.is_some(), d.file.is_some()))
            .collect();
        assert_eq!(
            got,
            [
                ("image.repository", true, true),
                ("image.pullPolicy", true, false),
                ("env[0].value", true, true),
                ("new", true, false),
                ("old", false, true),
            ]
        );
        assert_eq!(show(d[0].release.unwrap()), "\"a\"");
        assert_eq!(d[0].file.unwrap().pos.line, 2);
    }

    #[test]
    fn overlay_holds_only_what_differs() {
        let r = node("image:\n  repository: a\n  tag: \"1\"\nreplicas: 3\nenv: [x]\n");
        let b = node("image:\n  repository: a\n  tag: \"0\"\nreplicas: 3\nenv: [y]\nold: 1\n");
        let (o, unset) = overlay(&r, &b);
        assert_eq!(
            Value::Object(o),
            serde_json::json!({"image": {"tag": "1"}, "env": ["x"], "old": null})
        );
        assert_eq!(unset, ["old"]);
        assert_eq!(join_key("a", "b.c"), "a.\"b.c\"");
    }
}
