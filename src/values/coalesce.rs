//! Combining values the way Helm does, on position-carrying trees, so every value still knows the
//! file it came from.
//!
//! Two steps, as in `helm template -f a.yaml -f b.yaml` (verified with Helm 3.17.3 and 4.1.4):
//! 1. [`merge_user`]: user files are merged in order (`mergeMaps` in Helm's `pkg/cli/values`): maps
//!    merge recursively, anything else — including `null` — replaces.
//! 2. [`coalesce`]: the result is coalesced over the chart's `values.yaml` (`pkg/chartutil/coalesce.go`):
//!    keys missing from the user values are copied from the defaults; maps on both sides coalesce
//!    recursively; a user `null` for a key the defaults have deletes that key (a `null` for a key the
//!    defaults do not have stays `null`); on a type mismatch (a scalar over a default mapping or a
//!    mapping over a default scalar) the user value wins.

use super::yaml::{Node, Pos, Val};

/// Merge `over` into `base` (later user file wins).
pub fn merge_user(base: &mut Node, over: Node) {
    match (&mut base.val, over.val) {
        (Val::Map(b), Val::Map(o)) => {
            // Key → index in `b`, so that merging large mappings stays linear.
            let mut index: std::collections::HashMap<String, usize> = b
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect();
            for (k, v) in o {
                match index.get(&k).copied() {
                    Some(i) if b[i].1.as_map().is_some() && v.as_map().is_some() => {
                        merge_user(&mut b[i].1, v)
                    }
                    Some(i) => b[i].1 = v,
                    None => {
                        index.insert(k.clone(), b.len());
                        b.push((k, v));
                    }
                }
            }
        }
        (_, val) => {
            base.val = val;
            base.pos = over.pos;
            base.key = over.key;
        }
    }
}

/// Coalesce user values (a mapping) over the chart defaults (a mapping).
#[cfg(test)]
pub fn coalesce(user: &mut Node, defaults: &Node) {
    coalesce_at(user, defaults, &mut String::new(), &mut Vec::new());
}

/// Coalesce (as described above), recording every default removed by a user `null` as (JSON pointer, key position).
pub fn coalesce_at(
    user: &mut Node,
    defaults: &Node,
    ptr: &mut String,
    removed: &mut Vec<(String, Pos)>,
) {
    let (Val::Map(u), Some(d)) = (&mut user.val, defaults.as_map()) else {
        return;
    };
    for (k, dv) in d {
        match u.iter().position(|(uk, _)| uk == k) {
            Some(i) if u[i].1.is_null() => {
                let (_, gone) = u.remove(i);
                removed.push((
                    format!("{ptr}/{}", k.replace('~', "~0").replace('/', "~1")),
                    gone.key.unwrap_or(gone.pos),
                ));
            }
            Some(i) => {
                if u[i].1.as_map().is_some() && dv.as_map().is_some() {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    coalesce_at(&mut u[i].1, dv, ptr, removed);
                    ptr.truncate(len);
                }
            }
            None => u.push((k.clone(), dv.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::yaml::parse;
    use std::path::Path;

    fn n(s: &str) -> Node {
        parse(s, 1, Path::new("t")).unwrap()
    }

    #[test]
    fn null_deletes_defaults_and_user_wins_on_mismatch() {
        let defaults = n("m: {a: 1, b: 2}\ns: str\nk: {x: 1}\n");
        let mut user = n("m: {a: null, zz: null}\ns: {x: 1}\nk: 5\nnew: null\n");
        coalesce(&mut user, &defaults);
        assert_eq!(
            user.to_json(),
            serde_json::json!({"m": {"zz": null, "b": 2}, "s": {"x": 1}, "k": 5, "new": null})
        );
    }

    #[test]
    fn user_files_merge_in_order() {
        let mut a = n("m: {a: 1, b: 2}\nl: [1]\n");
        merge_user(&mut a, n("m: {b: 3}\nl: [2]\n"));
        assert_eq!(
            a.to_json(),
            serde_json::json!({"m": {"a": 1, "b": 3}, "l": [2]})
        );
        merge_user(&mut a, n("m: null\n"));
        assert_eq!(a.to_json(), serde_json::json!({"m": null, "l": [2]}));
    }
}
