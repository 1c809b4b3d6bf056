//! Editing a YAML file in place — `appkit.yaml` (import's settings, promote's chart versions and
//! pins) and an app's values files (set-image's digest) — by a positional text splice, so every
//! comment, blank line, key order and the author's spacing stay as they were: only the bytes of
//! the value being set change, or the lines of an entry being added or removed.
//!
//! An [`Edit`] names a path of mapping keys from the document's root and sets its value (a
//! scalar or a list of scalars, creating the missing mappings with the indentation of their
//! siblings) or removes the entry (and a mapping the removal leaves empty). Only block mappings
//! are edited; a file that uses anchors or aliases anywhere (an edit could change what an alias
//! stands for), or a flow mapping (`pins: {…}`) on the path of an edit, is refused with the byte
//! offset of the offending text ([`Unsafe`]) — the caller turns it into `file:line:col`.
//!
//! A removal takes the entry's own lines (a trailing comment on them goes too); comment lines
//! above it stay, as nothing says whose they are.
//!
//! Every edit is first tried alone on the original text, so a refusal points into the file as
//! it is on disk; then the edits are applied in order, each re-reading the text the previous one
//! produced (positions from [`crate::values::yaml`], which keeps the byte span of every key and
//! value). Callers re-load the result and compare it with what they meant before a byte is
//! written, so a wrong splice never reaches the disk.
//!
//! Owns: the splice. Does not own: what to edit (the actions), reading or writing files.

use std::path::Path;

use crate::values::yaml::{self, Node, Val};
use crate::yamlout::{self, Profile};

/// The value an edit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A scalar, written plain when YAML reads it back as this string, else quoted.
    Text(String),
    /// A list of scalars (written `[a, b]`, or as the block list already there).
    List(Vec<String>),
}

/// What an edit does at its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Set(Value),
    /// Remove the entry (nothing when it is not there); a mapping left empty goes too.
    Remove,
}

/// One edit: a path of mapping keys from the root, and what to do there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: Vec<String>,
    pub op: Op,
}

impl Edit {
    pub fn set(path: &[&str], value: Value) -> Edit {
        Edit {
            path: path.iter().map(|s| s.to_string()).collect(),
            op: Op::Set(value),
        }
    }
    pub fn remove(path: &[&str]) -> Edit {
        Edit {
            path: path.iter().map(|s| s.to_string()).collect(),
            op: Op::Remove,
        }
    }
}

/// Why the file cannot be edited safely, and where (byte offset into the original text).
#[derive(Debug, Clone)]
pub struct Unsafe {
    pub reason: String,
    pub at: Option<usize>,
}

fn refuse(reason: impl Into<String>, at: Option<usize>) -> Unsafe {
    Unsafe {
        reason: reason.into(),
        at,
    }
}

/// Apply every edit to `text` (the file `name`, for messages), in order.
pub fn splice(text: &str, edits: &[Edit], name: &str) -> Result<String, Unsafe> {
    if let Some(at) = anchor_or_alias(text) {
        return Err(refuse(
            format!("{name} uses YAML anchors or aliases: an edit could change what an alias stands for"),
            Some(at),
        ));
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    // Each edit alone on the original text: a refusal points into the file as it is.
    for e in edits {
        apply(text, e, nl, name)?;
    }
    let mut out = text.to_string();
    for e in edits {
        out = apply(&out, e, nl, name).map_err(|u| refuse(u.reason, None))?;
    }
    Ok(out)
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

/// A scalar as an edit writes it: plain when that reads back as the string (`0.3.0`), else
/// quoted (`"1.10"`, `"yes"`) — also for the YAML a caller shows to be added by hand.
pub fn scalar(s: &str) -> String {
    inline(&Value::Text(s.to_string()))
}

/// A value on one line: a scalar, or a flow list of scalars.
fn inline(v: &Value) -> String {
    match v {
        Value::Text(t) if reads_back_plain(t) => t.clone(),
        Value::Text(t) => yamlout::scalar(t, Profile::Appkit),
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| yamlout::scalar(i, Profile::Appkit))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A value replacing the scalar written `old`: a quoted one is quoted as [`yamlout::scalar`]
/// quotes, a plain one stays plain when that reads back as the same string (`0.2.0` → `0.3.0`).
fn inline_over(v: &Value, old: &str) -> String {
    match v {
        Value::Text(t) if old.starts_with(['"', '\'']) => yamlout::scalar(t, Profile::Appkit),
        _ => inline(v),
    }
}

/// True when `s` written plain after `key: ` reads back as the string `s` — by Helm's YAML 1.1
/// reading (which sees more numbers and booleans than YAML 1.2) and, for safety, only from
/// characters that never start a comment, a flow collection or an indicator.
fn reads_back_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !first.is_ascii_alphanumeric()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+@".contains(c))
    {
        return false;
    }
    // A leading date (`2001-12-14`) is a timestamp to YAML 1.1 readers other than Helm's.
    let b = s.as_bytes();
    if b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        return false;
    }
    match yaml::parse(&format!("k: {s}\n"), 0, Path::new("check")) {
        Ok(n) => n
            .as_map()
            .and_then(|m| m.first())
            .is_some_and(|(_, v)| matches!(&v.val, Val::Str(got) if got == s)),
        Err(_) => false,
    }
}

fn key_text(k: &str) -> String {
    yamlout::scalar(k, Profile::Appkit)
}

fn parse(text: &str, name: &str) -> Result<Node, Unsafe> {
    yaml::parse(text, 0, Path::new(name))
        .map_err(|e| refuse(format!("{name} does not parse: {}", e.message), None))
}

/// One edit on `text`.
fn apply(text: &str, e: &Edit, nl: &str, name: &str) -> Result<String, Unsafe> {
    if e.path.is_empty() {
        return Err(refuse("an edit without a path", None));
    }
    let root = parse(text, name)?;
    if matches!(root.val, Val::Map(_)) {
        block_map(text, &root, name)?;
    }
    match &e.op {
        Op::Set(v) => set(text, &root, &e.path, v, nl, name),
        Op::Remove => remove(text, &root, &e.path, name),
    }
}

/// `what` for messages: `` `a.b` `` of the first `depth` keys, or the file's name.
fn what(path: &[String], depth: usize, name: &str) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("`{}`", path[..depth].join("."))
    }
}

/// Find (or create) the path and set its value.
fn set(
    text: &str,
    root: &Node,
    path: &[String],
    value: &Value,
    nl: &str,
    name: &str,
) -> Result<String, Unsafe> {
    let leaf = format!("{}: {}", key_text(&path[path.len() - 1]), inline(value));
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
    let mut node = root;
    let mut step = 2;
    let mut parent_indent: Option<usize> = None;
    for (depth, key) in path.iter().enumerate() {
        let what = what(path, depth, name);
        // `node` is a mapping here: a block mapping, or empty (`key:` with nothing after it,
        // or an empty file).
        let entries = match &node.val {
            Val::Map(m) => {
                block_map(text, node, &what)?;
                m
            }
            Val::Null => {
                let Some(k) = node.key else {
                    // An empty document: the whole path goes at the end.
                    return Ok(insert(
                        text,
                        text.len(),
                        &chain(&path[..path.len() - 1], 0, step),
                        nl,
                    ));
                };
                if !empty_after(text, k.end) {
                    return Err(refuse(
                        format!("{what} is written as an explicit null"),
                        Some(node.pos.start),
                    ));
                }
                let indent = parent_indent.map_or(0, |i| i + step);
                let at = next_line_start(text, k.end);
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
        match entries.iter().rev().find(|(k, _)| k == key) {
            Some((_, child)) if depth + 1 == path.len() => {
                return replace_value(text, child, value, nl);
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

/// Remove the entry at the path (and the mappings it leaves empty); the text unchanged when the
/// path is not there.
fn remove(text: &str, root: &Node, path: &[String], name: &str) -> Result<String, Unsafe> {
    // The entries along the path, and the mapping each is in.
    let mut chain: Vec<(&Node, usize)> = Vec::new(); // (entry's value, entries in its mapping)
    let mut node = root;
    for (depth, key) in path.iter().enumerate() {
        let what = what(path, depth, name);
        let entries = match &node.val {
            Val::Map(m) => {
                block_map(text, node, &what)?;
                m
            }
            Val::Null => return Ok(text.to_string()),
            _ => {
                return Err(refuse(
                    format!("{what} is not a mapping"),
                    Some(node.pos.start),
                ))
            }
        };
        if entries.iter().filter(|(k, _)| k == key).count() > 1 {
            return Err(refuse(
                format!("{} is written twice", self::what(path, depth + 1, name)),
                node.pos.start.into(),
            ));
        }
        let Some((_, child)) = entries.iter().find(|(k, _)| k == key) else {
            return Ok(text.to_string());
        };
        chain.push((child, entries.len()));
        node = child;
    }
    // The outermost entry below the root that holds nothing but the path: removing the leaf
    // would leave those mappings empty (`pins:` with nothing under it reads as null).
    let mut cut = chain.len() - 1;
    while cut > 0 && chain[cut].1 == 1 {
        cut -= 1;
    }
    let entry = chain[cut].0;
    let key = entry
        .key
        .ok_or_else(|| refuse("an entry without a key", Some(entry.pos.start)))?;
    let from = line_start(text, key.start);
    if !text[from..key.start].trim().is_empty() {
        return Err(refuse(
            format!("{} does not start its line", what(path, cut + 1, name)),
            Some(key.start),
        ));
    }
    let to = after_node(text, entry);
    Ok(format!("{}{}", &text[..from], &text[to..]))
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
fn replace_value(text: &str, node: &Node, value: &Value, nl: &str) -> Result<String, Unsafe> {
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
                inline_over(value, &text[start..end]),
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
        (Val::Seq(items), Value::List(new)) => {
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

    fn edit(app: &str, key: &str, v: Value) -> Edit {
        Edit::set(&["apps", "settings", app, key], v)
    }
    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }
    fn splice(text: &str, edits: &[Edit]) -> Result<String, Unsafe> {
        super::splice(text, edits, "appkit.yaml")
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
                Value::List(vec!["app0".into(), "app1".into()]),
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
                edit("a", "dependsOn", Value::List(vec!["d".into()])),
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

    const ENVS: &str = "environments:\n  dev:\n    output: d # out\n    chartVersion: 0.3.0   # dev first\n\n  prod:\n    output: p\n    chartVersion: \"0.2.0\" # quoted\n    promoted: true\n\n# the end\nx: 1\n";

    fn at(path: &[&str], v: &str) -> Edit {
        Edit::set(path, Value::Text(v.into()))
    }

    #[test]
    fn sets_a_scalar_keeping_its_comment_and_spacing() {
        let out = splice(
            ENVS,
            &[at(&["environments", "prod", "chartVersion"], "0.3.0")],
        )
        .unwrap();
        assert_eq!(
            out,
            ENVS.replace("\"0.2.0\" # quoted", "\"0.3.0\" # quoted")
        );
        // A version YAML would read as a number stays a string.
        let out = splice(
            ENVS,
            &[at(&["environments", "dev", "chartVersion"], "1.10")],
        )
        .unwrap();
        assert!(
            out.contains("    chartVersion: \"1.10\"   # dev first\n"),
            "{out}"
        );
    }

    #[test]
    fn plain_only_when_every_reader_reads_the_string_back() {
        for plain in ["0.3.0", "1.2.3-rc.1", "a-ns", "sha256:abc", "v1"] {
            assert_eq!(scalar(plain), plain);
        }
        for quoted in [
            "1.10",
            "1e3",
            "0x1F",
            "0777",
            "1_000",
            "yes",
            "null",
            "2001-12-14",
            "+1",
            ".5",
            "",
            "a b",
            "a #b",
        ] {
            assert!(
                scalar(quoted).starts_with('"'),
                "{quoted}: {}",
                scalar(quoted)
            );
        }
    }

    #[test]
    fn creates_a_missing_mapping_with_the_siblings_indentation() {
        let out = splice(
            ENVS,
            &[at(&["environments", "prod", "pins", "app1"], "0.3.0")],
        )
        .unwrap();
        assert_eq!(
            out,
            ENVS.replace(
                "    promoted: true\n",
                "    promoted: true\n    pins:\n      app1: 0.3.0\n"
            )
        );
        let four = "envs:\n    prod:\n        v: 1\n";
        let out = splice(four, &[at(&["envs", "prod", "pins", "a"], "2")]).unwrap();
        assert_eq!(
            out,
            "envs:\n    prod:\n        v: 1\n        pins:\n            a: \"2\"\n"
        );
    }

    #[test]
    fn removes_entries_and_the_mappings_they_leave_empty() {
        let text =
            "e:\n  prod:\n    v: 1\n    pins:\n      a: 0.1.0 # held\n      b: 0.2.0\n# after\n";
        let out = splice(text, &[Edit::remove(&["e", "prod", "pins", "b"])]).unwrap();
        assert_eq!(
            out,
            "e:\n  prod:\n    v: 1\n    pins:\n      a: 0.1.0 # held\n# after\n"
        );
        let out = splice(
            text,
            &[
                Edit::remove(&["e", "prod", "pins", "b"]),
                Edit::remove(&["e", "prod", "pins", "a"]),
            ],
        )
        .unwrap();
        assert_eq!(out, "e:\n  prod:\n    v: 1\n# after\n");
        // Not there: unchanged.
        let out = splice(text, &[Edit::remove(&["e", "dev", "pins", "a"])]).unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn refuses_flow_mappings_on_the_path_with_their_offset() {
        let text = "e:\n  prod:\n    pins: {a: 0.1.0}\n";
        for edit in [
            at(&["e", "prod", "pins", "a"], "0.2.0"),
            Edit::remove(&["e", "prod", "pins", "a"]),
        ] {
            let err = splice(text, &[edit]).unwrap_err();
            assert!(
                err.reason.contains("`e.prod.pins` is a flow mapping"),
                "{err:?}"
            );
            assert_eq!(err.at, Some(text.find('{').unwrap()));
        }
        // A flow mapping elsewhere does not matter.
        let text = "e:\n  prod:\n    v: 1\nx: {a: 1}\n";
        assert!(splice(text, &[at(&["e", "prod", "v"], "2")]).is_ok());
        // An anchor anywhere: refused, at the anchor.
        let text = "e:\n  prod: &p\n    v: 1\n  dev: *p\n";
        let err = splice(text, &[at(&["e", "prod", "v"], "2")]).unwrap_err();
        assert!(err.reason.contains("anchors"), "{err:?}");
    }

    #[test]
    fn sets_an_image_digest_in_a_values_file() {
        let text = "# app1\nimage:\n  repository: r/app1 # the build's\n  tag: \"1.0\"\n  # digest: none yet\nport: 80\n";
        let d = format!("sha256:{}", "a".repeat(64));
        let out = super::splice(text, &[at(&["image", "digest"], &d)], "values.yaml").unwrap();
        assert_eq!(
            out,
            format!("# app1\nimage:\n  repository: r/app1 # the build's\n  tag: \"1.0\"\n  digest: {d}\n  # digest: none yet\nport: 80\n")
        );
        // An empty file gets the whole path.
        let out = super::splice("", &[at(&["image", "digest"], &d)], "values.yaml").unwrap();
        assert_eq!(out, format!("image:\n  digest: {d}\n"));
    }
}
