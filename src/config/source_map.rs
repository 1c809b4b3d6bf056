//! Where each key and value of `appkit.yaml` is (line, column, byte range), by path
//! (`environments/dev/chartVersion`), so checks that run after deserialising can still point at
//! the exact spot. Built with saphyr's marked YAML; never fails (an unparsable file just yields an
//! empty map — serde-saphyr reports the syntax error with its own position). Every location carries
//! the file's text, so diagnostics quote it without reading the file again.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diagnostics::{Location, SourceFile};

/// Positions of the config's keys and values, by path (`environments/dev/chartVersion`), so
/// checks that run after parsing can still point at the right line.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    source: Arc<SourceFile>,
    /// path → (line, column (1-based), byte range) of the value; for mapping entries also the key.
    entries: BTreeMap<String, (Location, Location)>,
}

impl SourceMap {
    /// Where the value at `path` is (`a/b/0/c`); falls back to the closest parent that exists,
    /// then to the file itself (line 1).
    pub fn value(&self, path: &str) -> Location {
        self.lookup(path)
            .map(|e| e.1.clone())
            .unwrap_or_else(|| self.file_start())
    }
    /// Where the key of the mapping entry at `path` is (same fallbacks as [`Self::value`]).
    pub fn key(&self, path: &str) -> Location {
        self.lookup(path)
            .map(|e| e.0.clone())
            .unwrap_or_else(|| self.file_start())
    }
    fn lookup(&self, path: &str) -> Option<&(Location, Location)> {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.get(p) {
                return Some(e);
            }
            p = p.rsplit_once('/')?.0;
        }
    }
    fn file_start(&self) -> Location {
        Location::in_source(&self.source, 1, 1, 0..0)
    }
    /// The file and its text.
    pub fn source(&self) -> &Arc<SourceFile> {
        &self.source
    }

    pub(super) fn build(source: &Arc<SourceFile>) -> SourceMap {
        use saphyr::{LoadableYamlNode, MarkedYaml};
        let text = source.text.as_str();
        let mut map = SourceMap {
            source: source.clone(),
            entries: BTreeMap::new(),
        };
        // Character index → byte offset (saphyr's markers count characters).
        let offsets: Vec<usize> = text
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(text.len()))
            .collect();
        // A node's location; the byte range covers the node when it ends on the same line.
        let loc = |m: saphyr::Marker, end: saphyr::Marker| {
            let start = offsets.get(m.index()).copied().unwrap_or(text.len());
            let stop = if end.line() == m.line() && end.index() > m.index() {
                offsets.get(end.index()).copied().unwrap_or(start)
            } else {
                start
            };
            Location::in_source(source, m.line(), m.col() + 1, start..stop)
        };
        let Ok(docs) = MarkedYaml::load_from_str(text) else {
            return map;
        };
        fn walk(
            node: &MarkedYaml<'_>,
            path: &str,
            key_loc: Location,
            loc: &dyn Fn(saphyr::Marker, saphyr::Marker) -> Location,
            out: &mut BTreeMap<String, (Location, Location)>,
        ) {
            let value_loc = loc(node.span.start, node.span.end);
            out.insert(path.to_string(), (key_loc, value_loc));
            match &node.data {
                saphyr::YamlData::Mapping(m) => {
                    for (k, v) in m.iter() {
                        let name = match &k.data {
                            saphyr::YamlData::Value(s) => scalar_text(s),
                            _ => continue,
                        };
                        let child = if path.is_empty() {
                            name
                        } else {
                            format!("{path}/{name}")
                        };
                        walk(v, &child, loc(k.span.start, k.span.end), loc, out);
                    }
                }
                saphyr::YamlData::Sequence(items) => {
                    for (i, v) in items.iter().enumerate() {
                        let child = if path.is_empty() {
                            i.to_string()
                        } else {
                            format!("{path}/{i}")
                        };
                        let l = loc(v.span.start, v.span.end);
                        walk(v, &child, l, loc, out);
                    }
                }
                _ => {}
            }
        }
        if let Some(doc) = docs.first() {
            let l = loc(doc.span.start, doc.span.start);
            walk(doc, "", l, &loc, &mut map.entries);
        }
        map
    }
}

fn scalar_text(s: &saphyr::Scalar<'_>) -> String {
    match s {
        saphyr::Scalar::String(t) => t.to_string(),
        saphyr::Scalar::Integer(i) => i.to_string(),
        saphyr::Scalar::Boolean(b) => b.to_string(),
        saphyr::Scalar::FloatingPoint(f) => f.to_string(),
        saphyr::Scalar::Null => "null".into(),
    }
}
