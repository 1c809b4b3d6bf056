//! The position-carrying value tree: what [`super::yaml`] builds, [`super::coalesce`] merges and
//! [`super::schema`] / [`super::rules`] read. Every value remembers the file, byte span, line and
//! column it came from, and the position of the mapping key that holds it.

use serde_json::{Number, Value};

/// Where a value or key came from: which loaded file, the byte range, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub file: u32,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
}

/// A value with its position, and the position of the mapping key that holds it (if any).
#[derive(Debug, Clone)]
pub struct Node {
    pub val: Val,
    pub pos: Pos,
    pub key: Option<Pos>,
}

#[derive(Debug, Clone)]
pub enum Val {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// An empty mapping at the start of the first user file (what an empty values file parses to).
    pub fn empty_map() -> Node {
        Node {
            val: Val::Map(Vec::new()),
            pos: Pos {
                file: 1,
                line: 1,
                col: 1,
                ..Pos::default()
            },
            key: None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.val, Val::Null)
    }
    pub fn as_map(&self) -> Option<&Vec<(String, Node)>> {
        match &self.val {
            Val::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.val {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The child under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
    /// Follow a path of keys / list indexes.
    pub fn at<'a, I: IntoIterator<Item = &'a str>>(&self, path: I) -> Option<&Node> {
        let mut n = self;
        for seg in path {
            n = match &n.val {
                Val::Map(m) => m.iter().find(|(k, _)| k == seg).map(|(_, v)| v)?,
                Val::Seq(s) => s.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(n)
    }
    /// The JSON value (what Helm validates and templates).
    pub fn to_json(&self) -> Value {
        match &self.val {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(n) => Value::Number(n.clone()),
            Val::Str(s) => Value::String(s.clone()),
            Val::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Val::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
    /// A short word for the kind of value, for messages.
    pub fn kind_word(&self) -> &'static str {
        match &self.val {
            Val::Null => "null",
            Val::Bool(_) => "a boolean",
            Val::Num(_) => "a number",
            Val::Str(_) => "text",
            Val::Seq(_) => "a list",
            Val::Map(_) => "a mapping",
        }
    }
    pub(super) fn count(&self) -> usize {
        1 + match &self.val {
            Val::Seq(s) => s.iter().map(Node::count).sum(),
            Val::Map(m) => m.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }
}
