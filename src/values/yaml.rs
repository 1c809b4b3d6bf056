//! YAML with positions, read the way Helm reads values files.
//!
//! Helm parses values with `sigs.k8s.io/yaml` (go-yaml v2, YAML 1.1, then converted to JSON). This
//! module reproduces that reading on top of the `saphyr-parser` event stream and keeps, for every
//! value and every mapping key, the byte span, line and column it came from. Behaviour verified
//! against Helm 3.17.3 and 4.1.4 (`helm template -f`):
//!
//! - booleans: `y Y yes Yes YES on On ON true True TRUE` and `n N no No NO off Off OFF false False
//!   FALSE`; mixed case such as `tRue` or `oN` stays a string. Keys are resolved too (`y:` is the key
//!   `"true"`), then turned into strings (`1:` → `"1"`, `0x1F:` → `"31"`); a `null` key is an error.
//! - integers like Go's `strconv.ParseInt(s, 0, 64)` after removing `_`: `0777` (octal), `0o17`,
//!   `0x1F`, `0b101`, `1_000`, `+12`; then `ParseUint`; then floats (`1e3`, `.5`, `1.`). A float that
//!   overflows (`1e400`) stays a string; `089` is the float 89. Sexagesimal (`190:20:30`) and
//!   timestamps stay strings.
//! - `.inf`, `.nan` and friends: Helm fails ("json: unsupported value: +Inf") — so do we.
//! - merge keys `<<` (a mapping or a list of mappings; earlier list entries win; a merged value
//!   overrides an explicit key written before the `<<`, as go-yaml v2 does), anchors and aliases.
//! - duplicate keys: no error, the last one wins.
//! - tags: `!!str` keeps text, `!!int`/`!!float`/`!!bool`/`!!null` convert, `!!binary` is decoded,
//!   unknown tags (`!foo`) are ignored and the scalar is a string.
//! - an empty file, a comment-only file or `~` is an empty mapping; a list or scalar is an error.
//! - several documents: Helm 3 reads the first only, Helm 4 merges them all. Because the two
//!   disagree, a file with more than one non-empty document is an error here.
//!
//! Bounded work: at most [`MAX_FILE_BYTES`] bytes, [`MAX_DEPTH`] levels of nesting and
//! [`MAX_NODES`] nodes after alias expansion (an alias bomb fails before it is expanded).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::Number;
#[cfg(test)]
use serde_json::Value;

pub use super::node::{Node, Pos, Val};
use super::scalar::{format_go_float, go_parse_float, go_parse_int, is_yaml_style_float};
use super::secrets::{self, Found};

/// Largest values file read (10 MiB).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Deepest nesting of mappings and lists.
pub const MAX_DEPTH: usize = 256;
/// Most nodes one file may produce once aliases are expanded. A real values file has hundreds;
/// each node costs ~150 bytes with its positions, so this caps one parse near 40 MiB (validate
/// parses up to 8 files at once, one per thread).
pub const MAX_NODES: usize = 250_000;

/// A problem reading one file, with its position when there is one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{}: {message}", path.display(), pos.map(|p| format!(":{}:{}", p.line, p.col)).unwrap_or_default())]
pub struct YamlError {
    pub path: PathBuf,
    pub pos: Option<Pos>,
    pub message: String,
    pub help: Option<Box<str>>,
    /// The file could not be read at all (missing, a directory, a FIFO, no permission): an I/O
    /// problem (exit 2). False when it was read and its content is wrong — malformed YAML, an
    /// alias bomb, too deep, not UTF-8, too large — which is wrong input (exit 1).
    pub unreadable: bool,
}

/// One loaded source file (the text is kept for diagnostics).
pub use crate::diagnostics::SourceFile;

/// Read a file within the size limit, as UTF-8.
pub fn read_source(path: &Path) -> Result<String, YamlError> {
    let err = |message: String, help: Option<&str>, unreadable: bool| YamlError {
        path: path.into(),
        pos: None,
        message,
        help: help.map(Into::into),
        unreadable,
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| err(format!("cannot read the file: {e}"), None, true))?;
    if meta.is_dir() {
        return Err(err(
            "is a directory, not a values file".into(),
            Some("pass a values file (apps/<app>/values.yaml) or an app directory containing values.yaml"),
            true,
        ));
    }
    let too_large = |len: u64| {
        err(
            format!("the file is {len} bytes; values files are limited to {MAX_FILE_BYTES} bytes (10 MiB)"),
            Some("a values file holds a few settings; is this the right file?"),
            false,
        )
    };
    if meta.is_file() && meta.len() > MAX_FILE_BYTES {
        return Err(too_large(meta.len()));
    }
    let bytes = crate::fsutil::read_limited(path, MAX_FILE_BYTES).map_err(|e| {
        // A file that grew past the limit while read is too large; anything else is I/O.
        if e.kind() == std::io::ErrorKind::InvalidData {
            too_large(MAX_FILE_BYTES + 1)
        } else {
            err(format!("cannot read the file: {e}"), None, true)
        }
    })?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            let offset = good.len();
            Err(YamlError {
                path: path.into(),
                pos: Some(Pos {
                    file: 0,
                    start: offset,
                    end: offset,
                    line,
                    col,
                }),
                message: format!(
                    "the file is not UTF-8 text (invalid byte 0x{:02x} at byte {offset})",
                    e.as_bytes()[offset]
                ),
                help: Some("save the file as UTF-8".into()),
                unreadable: false,
            })
        }
    }
}

/// Parse values text into a mapping node. `file` is stored in every position.
pub fn parse(text: &str, file: u32, path: &Path) -> Result<Node, YamlError> {
    parse_with_secrets(text, file, path).0
}

/// [`parse`], and the secrets of the file ([`super::secrets`]): found while parsing, or — when
/// the file does not parse — line by line, so that the error's quote of the file masks them too.
pub fn parse_with_secrets(text: &str, file: u32, path: &Path) -> (Result<Node, YamlError>, Found) {
    let mut loader = Loader::new(text, file, path);
    let result = loader.run().and_then(|docs| loader.document(docs));
    let mut found = std::mem::take(&mut loader.secrets);
    if result.is_err() {
        found.extend(secrets::lexical(text));
    }
    (result, found)
}

/// Parse every document of a multi-document file (e.g. Kubernetes manifests); empty ones are skipped.
pub fn parse_documents(text: &str, file: u32, path: &Path) -> Result<Vec<Node>, YamlError> {
    Ok(Loader::new(text, file, path)
        .run()?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect())
}

/// [`parse_documents`], and the secrets of the file as [`parse_with_secrets`] finds them (line by
/// line when the file does not parse), so every quote of the file can mask them.
pub fn parse_documents_with_secrets(
    text: &str,
    file: u32,
    path: &Path,
) -> (Result<Vec<Node>, YamlError>, Found) {
    let mut loader = Loader::new(text, file, path);
    let result = loader
        .run()
        .map(|docs| docs.into_iter().filter(|d| !d.is_null()).collect());
    let mut found = std::mem::take(&mut loader.secrets);
    if result.is_err() {
        found.extend(secrets::lexical(text));
    }
    (result, found)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map(MapFrame),
}

struct MapFrame {
    entries: Vec<(String, Node)>,
    index: HashMap<String, usize>,
    pos: Pos,
    anchor: usize,
    /// The key read, waiting for its value (`None` key = merge key `<<`).
    pending: Option<(Option<String>, Pos)>,
}

impl MapFrame {
    fn insert(&mut self, k: String, v: Node) {
        if let Some(&i) = self.index.get(&k) {
            self.entries[i].1 = v;
        } else {
            self.index.insert(k.clone(), self.entries.len());
            self.entries.push((k, v));
        }
    }
}

struct Loader<'a> {
    text: &'a str,
    file: u32,
    path: &'a Path,
    /// Byte offset of each char index, when the text is not ASCII.
    offsets: Option<Vec<u32>>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    /// Secrets seen so far (byte range, value).
    secrets: Found,
}

impl<'a> Loader<'a> {
    fn new(text: &'a str, file: u32, path: &'a Path) -> Self {
        let offsets = if text.is_ascii() {
            None
        } else {
            let mut v: Vec<u32> = text.char_indices().map(|(i, _)| i as u32).collect();
            v.push(text.len() as u32);
            Some(v)
        };
        Loader {
            text,
            file,
            path,
            offsets,
            anchors: HashMap::new(),
            nodes: 0,
            secrets: Found::new(),
        }
    }

    fn byte(&self, char_idx: usize) -> usize {
        match &self.offsets {
            None => char_idx.min(self.text.len()),
            Some(v) => v.get(char_idx).copied().unwrap_or(self.text.len() as u32) as usize,
        }
    }

    fn pos(&self, span: Span) -> Pos {
        Pos {
            file: self.file,
            start: self.byte(span.start.index()),
            end: self.byte(span.end.index()),
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }

    fn err(&self, pos: Option<Pos>, message: impl Into<String>, help: Option<&str>) -> YamlError {
        YamlError {
            path: self.path.into(),
            pos,
            message: message.into(),
            help: help.map(Into::into),
            unreadable: false,
        }
    }

    fn run(&mut self) -> Result<Vec<Node>, YamlError> {
        let mut parser = Parser::new_from_str(self.text);
        let mut stack: Vec<Frame> = Vec::new();
        let mut docs: Vec<Node> = Vec::new();
        while let Some(ev) = parser.next_event() {
            let (ev, span) = ev.map_err(|e| {
                let m = e.marker();
                let at = self.byte(m.index());
                let pos = Pos { file: self.file, start: at, end: at, line: m.line(), col: m.col() + 1 };
                self.err(Some(pos), format!("invalid YAML: {}", e.info()), Some("check the indentation (spaces, not tabs) and the `key: value` layout of this line and the next"))
            })?;
            let done: Option<Node> = match ev {
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => None,
                Event::DocumentStart(_) => None,
                Event::Alias(id) => {
                    let pos = self.pos(span);
                    let Some((node, size)) = self.anchors.get(&id) else {
                        return Err(self.err(Some(pos), "unknown alias", None));
                    };
                    if self.nodes + size > MAX_NODES {
                        return Err(self.err(
                            Some(pos),
                            format!("aliases expand to more than {MAX_NODES} values (an \"alias bomb\")"),
                            Some("values files do not need nested aliases; write the values out"),
                        ));
                    }
                    self.nodes += size;
                    let mut n = node.clone();
                    n.key = None;
                    Some(n)
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let pos = self.pos(span);
                    self.bump(pos)?;
                    // A plain `<<` in key position is a merge key.
                    if style == ScalarStyle::Plain && tag.is_none() && value == "<<" {
                        if let Some(Frame::Map(m)) = stack.last_mut() {
                            if m.pending.is_none() {
                                m.pending = Some((None, pos));
                                continue;
                            }
                        }
                    }
                    let val = self.scalar(&value, style, tag.as_deref(), pos)?;
                    let node = Node {
                        val,
                        pos,
                        key: None,
                    };
                    if anchor > 0 {
                        self.anchors.insert(anchor, (node.clone(), 1));
                    }
                    Some(node)
                }
                Event::SequenceStart(anchor, _) => {
                    let pos = self.open_collection(span, stack.len())?;
                    stack.push(Frame::Seq {
                        items: Vec::new(),
                        pos,
                        anchor,
                    });
                    None
                }
                Event::MappingStart(anchor, _) => {
                    let pos = self.open_collection(span, stack.len())?;
                    stack.push(Frame::Map(MapFrame {
                        entries: Vec::new(),
                        index: HashMap::new(),
                        pos,
                        anchor,
                        pending: None,
                    }));
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (node, anchor) = match stack.pop() {
                        Some(Frame::Seq { items, pos, anchor }) => (
                            Node {
                                val: Val::Seq(items),
                                pos,
                                key: None,
                            },
                            anchor,
                        ),
                        Some(Frame::Map(m)) => (
                            {
                                secrets::name_value(&m.entries, &mut self.secrets);
                                Node {
                                    val: Val::Map(m.entries),
                                    pos: m.pos,
                                    key: None,
                                }
                            },
                            m.anchor,
                        ),
                        None => return Err(self.err(None, "unbalanced YAML events", None)),
                    };
                    if anchor > 0 {
                        let size = node.count();
                        self.anchors.insert(anchor, (node.clone(), size));
                    }
                    Some(node)
                }
            };
            let Some(node) = done else { continue };
            secrets::scalar(&node, self.text, &mut self.secrets);
            match stack.last_mut() {
                None => docs.push(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map(m)) => match m.pending.take() {
                    None => {
                        let key = self.key_string(&node)?;
                        m.pending = Some((Some(key), node.pos));
                    }
                    Some((Some(k), kpos)) => {
                        secrets::entry(&k, &node, &mut self.secrets);
                        let mut node = node;
                        node.key = Some(kpos);
                        m.insert(k, node);
                    }
                    Some((None, kpos)) => self.merge(m, node, kpos)?,
                },
            }
        }
        Ok(docs)
    }

    fn bump(&mut self, pos: Pos) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.err(
                Some(pos),
                format!("more than {MAX_NODES} values in one file"),
                None,
            ));
        }
        Ok(())
    }

    /// Count a sequence or mapping that starts at `span`, `depth` levels deep, against the limits.
    fn open_collection(&mut self, span: Span, depth: usize) -> Result<Pos, YamlError> {
        let pos = self.pos(span);
        self.bump(pos)?;
        if depth >= MAX_DEPTH {
            return Err(self.err(
                Some(pos),
                format!("nesting deeper than {MAX_DEPTH} levels"),
                None,
            ));
        }
        Ok(pos)
    }

    fn document(&self, docs: Vec<Node>) -> Result<Node, YamlError> {
        let mut non_empty = docs.into_iter().filter(|d| !d.is_null());
        let first = non_empty.next();
        if let Some(second) = non_empty.next() {
            return Err(self.err(
                Some(second.pos),
                "a second YAML document (after `---`): Helm 3 ignores it, Helm 4 merges it",
                Some("keep one document per values file; remove the `---` line"),
            ));
        }
        match first {
            None => Ok(Node {
                val: Val::Map(Vec::new()),
                pos: Pos {
                    file: self.file,
                    line: 1,
                    col: 1,
                    ..Pos::default()
                },
                key: None,
            }),
            Some(n) if n.as_map().is_some() => Ok(n),
            Some(n) => Err(self.err(
                Some(n.pos),
                format!(
                    "a values file must be a mapping of `key: value` lines, but this file is {}",
                    n.kind_word()
                ),
                Some("start with a top-level key, e.g. `image:`"),
            )),
        }
    }

    fn merge(&self, m: &mut MapFrame, value: Node, kpos: Pos) -> Result<(), YamlError> {
        let bad = || {
            self.err(
                Some(kpos),
                "a merge key `<<` needs a mapping or a list of mappings as its value",
                Some("write `<<: *anchor` where the anchor names a mapping"),
            )
        };
        match value.val {
            Val::Map(entries) => {
                for (k, v) in entries {
                    m.insert(k, v);
                }
            }
            Val::Seq(items) => {
                if items.iter().any(|i| i.as_map().is_none()) {
                    return Err(bad());
                }
                // Earlier mappings take precedence: apply them last.
                for item in items.into_iter().rev() {
                    if let Val::Map(entries) = item.val {
                        for (k, v) in entries {
                            m.insert(k, v);
                        }
                    }
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    fn key_string(&self, node: &Node) -> Result<String, YamlError> {
        match &node.val {
            Val::Str(s) => Ok(s.clone()),
            Val::Bool(b) => Ok(b.to_string()),
            Val::Num(n) => Ok(match n.as_f64() {
                Some(f) if n.is_f64() => format_go_float(f),
                _ => n.to_string(),
            }),
            Val::Null => Err(self.err(
                Some(node.pos),
                "a mapping key is empty or null, which Helm cannot read",
                Some("give the key a name, or quote it: \"~\""),
            )),
            Val::Seq(_) | Val::Map(_) => Err(self.err(
                Some(node.pos),
                "a mapping key must be text, not a list or mapping",
                None,
            )),
        }
    }

    fn scalar(
        &self,
        v: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        pos: Pos,
    ) -> Result<Val, YamlError> {
        let core = tag.and_then(|t| {
            if t.is_yaml_core_schema() || t.handle == "!!" {
                Some(t.suffix.as_str())
            } else {
                None
            }
        });
        match (tag, core) {
            (None, _) if style == ScalarStyle::Plain => self.resolve_plain(v, pos),
            (None, _) => Ok(Val::Str(v.to_string())),
            (Some(_), None) | (Some(_), Some("str" | "timestamp")) => Ok(Val::Str(v.to_string())),
            (Some(_), Some("binary")) => {
                use base64::Engine;
                let clean: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(clean)
                    .map_err(|e| {
                        self.err(Some(pos), format!("invalid !!binary value: {e}"), None)
                    })?;
                Ok(Val::Str(String::from_utf8_lossy(&bytes).into_owned()))
            }
            (Some(_), Some(kind)) => {
                let resolved = self.resolve_plain(v, pos)?;
                let ok = match (kind, &resolved) {
                    ("int", Val::Num(n)) => !n.is_f64(),
                    ("float", Val::Num(n)) => {
                        let f = n.as_f64().unwrap_or(0.0);
                        return Ok(Val::Num(Number::from_f64(f).unwrap_or_else(|| n.clone())));
                    }
                    ("bool", Val::Bool(_)) | ("null", Val::Null) => true,
                    ("map" | "seq" | "merge", _) => false,
                    _ => false,
                };
                if ok {
                    Ok(resolved)
                } else {
                    Err(self.err(
                        Some(pos),
                        format!("cannot read `{v}` as !!{kind}"),
                        Some("remove the tag or fix the value"),
                    ))
                }
            }
        }
    }

    /// YAML 1.1 resolution of a plain scalar, as go-yaml v2 does it.
    fn resolve_plain(&self, v: &str, pos: Pos) -> Result<Val, YamlError> {
        match v {
            "" | "~" | "null" | "Null" | "NULL" => return Ok(Val::Null),
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Ok(Val::Bool(true)),
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
                return Ok(Val::Bool(false))
            }
            ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" => {
                return Err(self.err(
                    Some(pos),
                    format!("`{v}` is a special float (infinity or not-a-number), which Helm cannot convert to JSON"),
                    Some(&format!("quote it if you mean the text: \"{v}\"")),
                ))
            }
            _ => {}
        }
        let first = v.as_bytes()[0];
        if first == b'.' {
            if let Some(n) = go_parse_float(v) {
                return Ok(Val::Num(n));
            }
            return Ok(Val::Str(v.into()));
        }
        if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
            return Ok(Val::Str(v.into()));
        }
        let plain: String = v.chars().filter(|c| *c != '_').collect();
        if let Some(i) = go_parse_int(&plain) {
            return Ok(Val::Num(i));
        }
        if is_yaml_style_float(&plain) {
            if let Some(n) = go_parse_float(&plain) {
                return Ok(Val::Num(n));
            }
        }
        Ok(Val::Str(v.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(s: &str) -> Value {
        parse(s, 0, Path::new("t.yaml")).unwrap().to_json()
    }

    #[test]
    fn yaml11_scalars_like_helm() {
        let v = load("b1: yes\nb2: oN\nb3: n\nb4: OFF\no: 0777\no2: 0o17\nh: 0x1F\nu: 1_000\nsx: 190:20:30\nf: .5\ne: 1e400\nq: 089\nv: 0b2\nd: 2001-12-14\nt: !!str 123\nti: !!int \"12\"\n");
        assert_eq!(
            v,
            serde_json::json!({"b1": true, "b2": "oN", "b3": false, "b4": false, "o": 511, "o2": 15, "h": 31, "u": 1000,
                "sx": "190:20:30", "f": 0.5, "e": "1e400", "q": 89.0, "v": "0b2", "d": "2001-12-14", "t": "123", "ti": 12})
        );
    }

    #[test]
    fn keys_are_resolved_then_stringified() {
        let v = load("q: {0x1F: a, 1.5e3: b, y: c, 1.5: d}\n");
        assert_eq!(
            v,
            serde_json::json!({"q": {"31": "a", "1500": "b", "true": "c", "1.5": "d"}})
        );
    }

    #[test]
    fn merge_keys_and_duplicates() {
        let v = load("b: &b {x: 1, y: 2}\nc: &c {z: 3, x: 9}\nm:\n  <<: [*b, *c]\n  k: 5\nq: {a: 1, <<: {a: 2}}\nd: 1\nd: 2\n");
        assert_eq!(
            v["m"],
            serde_json::json!({"x": 1, "true": 2, "z": 3, "k": 5})
        );
        assert_eq!(v["q"]["a"], 2);
        assert_eq!(v["d"], 2);
    }

    #[test]
    fn positions_are_line_and_column() {
        let n = parse("a:\n  bé: x\n  c: 5\n", 3, Path::new("t.yaml")).unwrap();
        let c = n.at(["a", "c"]).unwrap();
        assert_eq!((c.pos.line, c.pos.col, c.pos.file), (3, 6, 3));
        assert_eq!(&"a:\n  bé: x\n  c: 5\n"[c.pos.start..c.pos.end], "5");
        assert_eq!(c.key.unwrap().col, 3);
    }

    #[test]
    fn alias_bomb_fails_fast() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            s.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let e = parse(&s, 0, Path::new("t.yaml")).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e}");
    }

    #[test]
    fn special_floats_and_null_keys_fail() {
        assert!(parse("a: .inf\n", 0, Path::new("t")).is_err());
        assert!(parse("~: 1\n", 0, Path::new("t")).is_err());
        assert!(parse("- a\n", 0, Path::new("t")).is_err());
        assert!(parse("a: 1\n---\nb: 2\n", 0, Path::new("t")).is_err());
        assert_eq!(load("# only a comment\n"), serde_json::json!({}));
    }
}
