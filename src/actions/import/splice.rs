//! Editing `appkit.yaml` in place for `import`: `apps.settings.<app>.{namespace, releaseName,
//! dependsOn}` set by a positional text splice, so every comment, blank line and the author's
//! layout stay as they were. Only block mappings are edited; a file that uses anchors or aliases,
//! or a flow mapping (`settings: {…}`) on the way to a setting, is refused ([`Unsafe`]) — the
//! caller then prints the YAML to add by hand ([`by_hand`]).
//!
//! Each edit re-reads the text it produces (positions from [`crate::values::yaml`], which keeps
//! the byte span of every key and value). The caller re-loads the result with
//! [`crate::config::load`] and compares the typed config with the one it expects before a byte is
//! written, so a wrong splice can never reach the disk.

use std::path::Path;

use crate::values::yaml::{self, Node, Val};
use crate::yamlout::{self, Profile};

/// A value of a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    Text(String),
    List(Vec<String>),
}

/// Set `apps.settings.<app>.<key>` to `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub app: String,
    /// `namespace`, `releaseName` or `dependsOn`.
    pub key: &'static str,
    pub value: SettingValue,
}

/// Why the file cannot be edited safely, and where (byte offset into the original text).
#[derive(Debug, Clone)]
pub(crate) struct Unsafe {
    pub reason: String,
    pub at: Option<usize>,
}

fn refuse(reason: impl Into<String>, at: Option<usize>) -> Unsafe {
    Unsafe {
        reason: reason.into(),
        at,
    }
}

/// Apply every edit to `text`, in order.
pub(crate) fn splice(text: &str, edits: &[Edit]) -> Result<String, Unsafe> {
    if let Some(at) = anchor_or_alias(text) {
        return Err(refuse(
            "appkit.yaml uses YAML anchors or aliases: an edit could change what an alias stands for",
            Some(at),
        ));
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = text.to_string();
    for e in edits {
        out = apply(&out, e, nl)?;
    }
    Ok(out)
}

/// The YAML a user adds by hand when the file cannot be edited.
pub(crate) fn by_hand(edits: &[Edit]) -> String {
    let mut apps: Vec<(&str, Vec<&Edit>)> = Vec::new();
    for e in edits {
        match apps.iter_mut().find(|(a, _)| *a == e.app) {
            Some((_, v)) => v.push(e),
            None => apps.push((&e.app, vec![e])),
        }
    }
    let mut s = String::from("apps:\n  settings:\n");
    for (app, es) in apps {
        s.push_str(&format!("    {}:\n", key_text(app)));
        for e in es {
            s.push_str(&format!("      {}: {}\n", e.key, inline(&e.value)));
        }
    }
    s
}

/// The first anchor or alias of the file (byte offset), if any.
fn anchor_or_alias(text: &str) -> Option<usize> {
    use saphyr_parser::{Event, Parser};
    let offsets: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect();
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((ev, span))) = parser.next_event() {
        let anchored = match ev {
            Event::Alias(_) => true,
            Event::Scalar(_, _, anchor, _)
            | Event::SequenceStart(anchor, _)
            | Event::MappingStart(anchor, _) => anchor > 0,
            _ => false,
        };
        if anchored {
            return Some(offsets.get(span.start.index()).copied().unwrap_or(0));
        }
    }
    None
}

/// A value on one line: a scalar, or a flow list of names.
fn inline(v: &SettingValue) -> String {
    match v {
        SettingValue::Text(t) => yamlout::scalar(t, Profile::Appkit),
        SettingValue::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| yamlout::scalar(i, Profile::Appkit))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn key_text(k: &str) -> String {
    yamlout::scalar(k, Profile::Appkit)
}

fn parse(text: &str) -> Result<Node, Unsafe> {
    yaml::parse(text, 0, Path::new("appkit.yaml"))
        .map_err(|e| refuse(format!("appkit.yaml does not parse: {}", e.message), None))
}

/// One edit: find (or create) the path `apps` → `settings` → `<app>` → `<key>`.
fn apply(text: &str, e: &Edit, nl: &str) -> Result<String, Unsafe> {
    let root = parse(text)?;
    block_map(text, &root, "appkit.yaml")?;
    let leaf = format!("{}: {}", e.key, inline(&e.value));
    // The missing part of the path, as lines below `indent`.
    let chain = |names: &[String], indent: usize, step: usize| -> String {
        let mut s = String::new();
        for (depth, n) in names.iter().enumerate() {
            s.push_str(&" ".repeat(indent + depth * step));
            s.push_str(&format!("{}:{nl}", key_text(n)));
        }
        s.push_str(&" ".repeat(indent + names.len() * step));
        s.push_str(&leaf);
        s.push_str(nl);
        s
    };
    let path = [
        "apps".to_string(),
        "settings".to_string(),
        e.app.clone(),
        e.key.to_string(),
    ];
    let mut node = &root;
    let mut step = 2;
    let mut parent_indent: Option<usize> = None;
    for (depth, name) in path.iter().enumerate() {
        let what = path[..depth].join(".");
        let what = if what.is_empty() {
            "appkit.yaml".to_string()
        } else {
            format!("`{what}`")
        };
        // `node` is a mapping here: a block mapping, or empty (`key:` with nothing after it).
        let entries = match &node.val {
            Val::Map(m) => {
                block_map(text, node, &what)?;
                m
            }
            Val::Null => {
                // `key:` with nothing after it: the rest of the path goes on the next lines.
                let key = node
                    .key
                    .ok_or_else(|| refuse(format!("{what} is empty"), None))?;
                if !empty_after(text, key.end) {
                    return Err(refuse(
                        format!("{what} is written as an explicit null"),
                        Some(node.pos.start),
                    ));
                }
                let indent = parent_indent.map_or(0, |i| i + step);
                let at = next_line_start(text, key.end);
                return Ok(insert(
                    text,
                    at,
                    &chain(&path[depth..path.len() - 1], indent, step),
                    nl,
                ));
            }
            _ => {
                return Err(refuse(
                    format!("{what} is not a mapping"),
                    Some(node.pos.start),
                ))
            }
        };
        let indent = entries
            .first()
            .and_then(|(_, v)| v.key)
            .map(|k| column_of(text, k.start));
        if let (Some(i), Some(p)) = (indent, parent_indent) {
            if i > p {
                step = i - p;
            }
        }
        match entries.iter().find(|(k, _)| k == name) {
            Some((_, child)) if depth + 1 == path.len() => {
                return replace_value(text, child, &e.value, nl);
            }
            Some((_, child)) => {
                parent_indent = indent;
                node = child;
            }
            None => {
                let indent = indent.unwrap_or(0);
                let at = match entries.last() {
                    Some((_, last)) => after_node(text, last),
                    None => text.len(),
                };
                return Ok(insert(
                    text,
                    at,
                    &chain(&path[depth..path.len() - 1], indent, step),
                    nl,
                ));
            }
        }
    }
    unreachable!("the loop returns at the last segment of the path")
}

/// Refuse a flow mapping (`{…}`): the edit is written in block style.
fn block_map(text: &str, node: &Node, what: &str) -> Result<(), Unsafe> {
    if text[node.pos.start..].starts_with('{') {
        return Err(refuse(
            format!("{what} is a flow mapping (`{{…}}`); appkit edits block mappings only"),
            Some(node.pos.start),
        ));
    }
    Ok(())
}

/// Replace the value of an existing setting.
fn replace_value(
    text: &str,
    node: &Node,
    value: &SettingValue,
    nl: &str,
) -> Result<String, Unsafe> {
    let start = node.pos.start;
    match (&node.val, value) {
        (Val::Null, _) => {
            let key = node
                .key
                .ok_or_else(|| refuse("a setting without a key", Some(start)))?;
            if !empty_after(text, key.end) {
                return Err(refuse("the setting is an explicit null", Some(start)));
            }
            let colon = text[key.end..]
                .find(':')
                .map(|i| key.end + i + 1)
                .ok_or_else(|| refuse("a setting without `:`", Some(key.end)))?;
            Ok(format!(
                "{} {}{}",
                &text[..colon],
                inline(value),
                &text[colon..]
            ))
        }
        (Val::Str(_) | Val::Num(_) | Val::Bool(_), _) => {
            let end = scalar_end(text, node);
            if text[start..end].contains('\n') {
                return Err(refuse(
                    "the setting's value spans several lines",
                    Some(start),
                ));
            }
            Ok(format!(
                "{}{}{}",
                &text[..start],
                inline(value),
                &text[end..]
            ))
        }
        (Val::Seq(_), _) if text[start..].starts_with('[') => {
            let close = matching_bracket(text, start)
                .ok_or_else(|| refuse("an unterminated flow list", Some(start)))?;
            Ok(format!(
                "{}{}{}",
                &text[..start],
                inline(value),
                &text[close + 1..]
            ))
        }
        (Val::Seq(items), SettingValue::List(new)) => {
            let indent = column_of(text, start);
            let from = line_start(text, start);
            let to = items.last().map_or(from, |l| after_node(text, l));
            let mut lines = String::new();
            for i in new {
                lines.push_str(&format!(
                    "{}- {}{nl}",
                    " ".repeat(indent),
                    yamlout::scalar(i, Profile::Appkit)
                ));
            }
            if new.is_empty() {
                // An empty block list cannot be written; keep the key with `[]`.
                return Err(refuse(
                    "a block list cannot be emptied in place",
                    Some(start),
                ));
            }
            Ok(format!("{}{lines}{}", &text[..from], &text[to..]))
        }
        _ => Err(refuse(
            "the setting has a value of another kind",
            Some(start),
        )),
    }
}

/// Where a scalar's text ends. The parser's span of a quoted scalar runs on over a trailing
/// comment, so a quoted one ends at its closing quote.
fn scalar_end(text: &str, node: &Node) -> usize {
    let start = node.pos.start;
    let rest = &text[start..node.pos.end.max(start)];
    match rest.chars().next() {
        Some('"') => {
            let mut escaped = false;
            for (i, c) in rest.char_indices().skip(1) {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return start + i + 1,
                    _ => escaped = false,
                }
            }
            node.pos.end
        }
        Some('\'') => {
            let b = rest.as_bytes();
            let mut i = 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return start + i + 1;
                }
                i += 1;
            }
            node.pos.end
        }
        _ => node.pos.end,
    }
}

/// Insert `lines` at byte `at` (a line start, or the end of the text).
fn insert(text: &str, at: usize, lines: &str, nl: &str) -> String {
    let mut out = String::with_capacity(text.len() + lines.len() + 1);
    out.push_str(&text[..at]);
    if at > 0 && !text[..at].ends_with('\n') {
        out.push_str(nl);
    }
    out.push_str(lines);
    out.push_str(&text[at..]);
    out
}

/// Nothing but blanks and a comment between byte `from` (after a key) and the end of its line.
fn empty_after(text: &str, from: usize) -> bool {
    let rest = &text[from..];
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let line = line.trim_start().strip_prefix(':').unwrap_or(line).trim();
    line.is_empty() || line.starts_with('#')
}

/// The byte after the last line a node's text is on (where a sibling entry may be inserted).
fn after_node(text: &str, node: &Node) -> usize {
    let end = last_end(node);
    if end > 0 && text.as_bytes().get(end - 1) == Some(&b'\n') {
        return end;
    }
    next_line_start(text, end)
}

/// Where a node's text ends: the end of its last scalar (or of itself).
fn last_end(node: &Node) -> usize {
    match &node.val {
        Val::Map(m) if !m.is_empty() => last_end(&m[m.len() - 1].1).max(node.pos.end),
        Val::Seq(s) if !s.is_empty() => last_end(&s[s.len() - 1]).max(node.pos.end),
        _ => node.pos.end,
    }
}

fn next_line_start(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |i| from + i + 1)
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The indentation (in characters) of the text at byte `at`.
fn column_of(text: &str, at: usize) -> usize {
    text[line_start(text, at)..at].chars().count()
}

/// The `]` closing the flow list opening at byte `open`.
fn matching_bracket(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(app: &str, key: &'static str, v: SettingValue) -> Edit {
        Edit {
            app: app.into(),
            key,
            value: v,
        }
    }
    fn text(s: &str) -> SettingValue {
        SettingValue::Text(s.into())
    }

    const BASE: &str = "# platform\nchart:\n  path: chart # the chart\n  repository: oci://h/p\napps:\n  dir: apps\n  settings:\n    app2:\n      dependsOn: [app1] # first app1\n\n# environments\nenvironments: {}\n";

    #[test]
    fn inserts_into_existing_mappings_keeping_comments() {
        let out = splice(
            BASE,
            &[
                edit("app2", "namespace", text("app2-ns")),
                edit("app1", "releaseName", text("app1-ns-app1")),
                edit("app1", "namespace", text("app1-ns")),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "# platform\nchart:\n  path: chart # the chart\n  repository: oci://h/p\napps:\n  dir: apps\n  settings:\n    app2:\n      dependsOn: [app1] # first app1\n      namespace: app2-ns\n    app1:\n      releaseName: app1-ns-app1\n      namespace: app1-ns\n\n# environments\nenvironments: {}\n"
        );
    }

    #[test]
    fn replaces_scalars_and_flow_lists() {
        let out = splice(
            BASE,
            &[edit(
                "app2",
                "dependsOn",
                SettingValue::List(vec!["app0".into(), "app1".into()]),
            )],
        )
        .unwrap();
        assert!(
            out.contains("      dependsOn: [app0, app1] # first app1\n"),
            "{out}"
        );
        let block = "apps:\n  settings:\n    a:\n      namespace: \"x\" # quoted\n      dependsOn:\n        - b\n        - c\n    z:\n      namespace: q\n";
        let single = splice(
            "apps:\n  settings:\n    a:\n      releaseName: 'it''s' # q\n",
            &[edit("a", "releaseName", text("r"))],
        )
        .unwrap();
        assert_eq!(
            single,
            "apps:\n  settings:\n    a:\n      releaseName: r # q\n"
        );
        let out = splice(
            block,
            &[
                edit("a", "namespace", text("a-ns")),
                edit("a", "dependsOn", SettingValue::List(vec!["d".into()])),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "apps:\n  settings:\n    a:\n      namespace: a-ns # quoted\n      dependsOn:\n        - d\n    z:\n      namespace: q\n"
        );
    }

    #[test]
    fn creates_missing_levels_with_the_files_indentation() {
        let out = splice(
            "chart:\n    path: c\n",
            &[edit("a", "namespace", text("a-ns"))],
        )
        .unwrap();
        assert_eq!(
            out,
            "chart:\n    path: c\napps:\n  settings:\n    a:\n      namespace: a-ns\n"
        );
        let out = splice(
            "apps:\n    dir: apps\nx: 1",
            &[edit("a", "namespace", text("a-ns"))],
        )
        .unwrap();
        assert_eq!(
            out,
            "apps:\n    dir: apps\n    settings:\n        a:\n            namespace: a-ns\nx: 1"
        );
        let out = splice(
            "apps:\n  settings: # none yet\nx: 1\n",
            &[edit("a", "namespace", text("a-ns"))],
        )
        .unwrap();
        assert_eq!(
            out,
            "apps:\n  settings: # none yet\n    a:\n      namespace: a-ns\nx: 1\n"
        );
    }

    #[test]
    fn refuses_flow_mappings_and_anchors() {
        let e = [edit("a", "namespace", text("a-ns"))];
        let err = splice("apps: {dir: apps}\n", &e).unwrap_err();
        assert!(err.reason.contains("flow mapping"), "{err:?}");
        assert_eq!(err.at, Some(6));
        let err = splice("apps:\n  settings: {}\n", &e).unwrap_err();
        assert!(
            err.reason.contains("`apps.settings` is a flow mapping"),
            "{err:?}"
        );
        let err = splice("d: &d x\napps:\n  dir: *d\n", &e).unwrap_err();
        assert!(err.reason.contains("anchors"), "{err:?}");
    }

    #[test]
    fn by_hand_yaml_groups_per_app() {
        assert_eq!(
            by_hand(&[
                edit("a", "namespace", text("a-ns")),
                edit("a", "dependsOn", SettingValue::List(vec!["b".into()])),
            ]),
            "apps:\n  settings:\n    a:\n      namespace: a-ns\n      dependsOn: [b]\n"
        );
    }
}
