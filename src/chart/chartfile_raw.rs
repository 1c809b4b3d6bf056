//! The raw shape of Chart.yaml as it is read: every field optional, every scalar any type, with
//! source positions, so that `metadata.rs` can report wrong types as problems (with line and
//! column) instead of failing the whole parse at the first one. Only `metadata.rs` uses this.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_saphyr::Spanned;

use std::sync::Arc;

use crate::diagnostics::{Diagnostic, Location, SourceFile};
/// Any YAML scalar (or null), so that a wrong type becomes a reported problem, not a parse abort.
#[derive(Debug, Clone)]
pub(super) enum Scalar {
    Str(String),
    Int(String),
    Float(f64),
    Bool(bool),
    Null,
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.to_string()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.to_string()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                Scalar::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("a list"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Scalar::Other("a mapping"))
            }
        }
        d.deserialize_any(V)
    }
}

pub(super) type S = Spanned<Scalar>;

/// A value that may be a list or something else (reported).
#[derive(Debug)]
pub(super) enum ListOr<T> {
    List(Vec<Option<T>>),
    Not(Scalar),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListOr<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<T> {
            List(Vec<Option<T>>),
            Not(Scalar),
        }
        Ok(match Raw::<T>::deserialize(d)? {
            Raw::List(v) => ListOr::List(v),
            Raw::Not(s) => ListOr::Not(s),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RawMaintainer {
    pub(super) name: Option<S>,
    pub(super) email: Option<S>,
    pub(super) url: Option<S>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawDependency {
    pub(super) name: Option<S>,
    pub(super) version: Option<S>,
    pub(super) repository: Option<S>,
    pub(super) condition: Option<S>,
    pub(super) tags: Option<Spanned<ListOr<S>>>,
    pub(super) enabled: Option<S>,
    #[serde(rename = "import-values")]
    pub(super) import_values: Option<Vec<serde_json::Value>>,
    pub(super) alias: Option<S>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawChart {
    pub(super) name: Option<S>,
    pub(super) home: Option<S>,
    pub(super) sources: Option<Spanned<ListOr<S>>>,
    pub(super) version: Option<S>,
    pub(super) description: Option<S>,
    pub(super) keywords: Option<Spanned<ListOr<S>>>,
    pub(super) maintainers: Option<Spanned<ListOr<Spanned<RawMaintainer>>>>,
    pub(super) icon: Option<S>,
    pub(super) api_version: Option<S>,
    pub(super) condition: Option<S>,
    pub(super) tags: Option<S>,
    pub(super) app_version: Option<S>,
    pub(super) deprecated: Option<S>,
    pub(super) annotations: Option<Spanned<Option<BTreeMap<String, S>>>>,
    pub(super) kube_version: Option<S>,
    pub(super) dependencies: Option<Spanned<ListOr<Spanned<RawDependency>>>>,
    #[serde(rename = "type")]
    pub(super) chart_type: Option<S>,
}

pub(super) fn pos<T>(s: &Spanned<T>) -> (u64, u64) {
    (s.referenced.line(), s.referenced.column())
}

/// Collects conversions of raw values and the problems they raise.
pub(super) struct Reader {
    pub(super) source: Arc<SourceFile>,
    pub(super) problems: Vec<Diagnostic>,
}

/// A Chart.yaml problem at a position (`(0, _)`: the file only).
pub(super) fn problem(
    source: &Arc<SourceFile>,
    at: Option<(u64, u64)>,
    message: String,
) -> Diagnostic {
    let location = match at {
        Some((l, c)) if l > 0 => Location::at_line_column(source, l as usize, c.max(1) as usize),
        _ => {
            let mut l = Location::file_only(source.path.clone());
            l.source = Some(source.clone());
            l
        }
    };
    Diagnostic::error("chart", message).at(location)
}

impl Reader {
    pub(super) fn problem(&mut self, at: (u64, u64), message: String) {
        let d = problem(&self.source, Some(at), message);
        self.problems.push(d);
    }

    /// A string field. Numbers and booleans become their text, as Helm's YAML loader does; when
    /// `strict` (version, appVersion) they are reported instead, because `1.10` would silently become
    /// `1.1` in Helm.
    pub(super) fn string(&mut self, field: &str, v: &Option<S>, strict: bool) -> String {
        let Some(v) = v else { return String::new() };
        match &v.value {
            Scalar::Str(s) => s.clone(),
            Scalar::Null => String::new(),
            Scalar::Int(s) if !strict => s.clone(),
            Scalar::Bool(b) if !strict => b.to_string(),
            Scalar::Float(f) if !strict => f.to_string(),
            Scalar::Int(s) => {
                self.problem(
                    pos(v),
                    format!("`{field}` must be a string, found the number {s} (quote it)"),
                );
                s.clone()
            }
            Scalar::Float(f) => {
                self.problem(
                    pos(v),
                    format!("`{field}` must be a string, found the number {f:?} (quote it)"),
                );
                f.to_string()
            }
            Scalar::Bool(b) => {
                self.problem(
                    pos(v),
                    format!("`{field}` must be a string, found the boolean {b} (quote it)"),
                );
                b.to_string()
            }
            Scalar::Other(what) => {
                self.problem(pos(v), format!("`{field}` must be a string, found {what}"));
                String::new()
            }
        }
    }

    pub(super) fn bool(&mut self, field: &str, v: &Option<S>) -> bool {
        let Some(v) = v else { return false };
        match &v.value {
            Scalar::Bool(b) => *b,
            Scalar::Null => false,
            other => {
                self.problem(
                    pos(v),
                    format!("`{field}` must be true or false, found {}", describe(other)),
                );
                false
            }
        }
    }

    pub(super) fn strings(&mut self, field: &str, v: &Option<Spanned<ListOr<S>>>) -> Vec<String> {
        let Some(v) = v else { return Vec::new() };
        match &v.value {
            ListOr::List(items) => items
                .iter()
                .map(|i| match i {
                    Some(s) => self.string(field, &Some(s.clone()), false),
                    None => String::new(),
                })
                .collect(),
            ListOr::Not(Scalar::Null) => Vec::new(),
            ListOr::Not(other) => {
                self.problem(
                    pos(v),
                    format!(
                        "`{field}` must be a list of strings, found {}",
                        describe(other)
                    ),
                );
                Vec::new()
            }
        }
    }
}

pub(super) fn describe(s: &Scalar) -> String {
    match s {
        Scalar::Str(s) => format!("the string {s:?}"),
        Scalar::Int(s) => format!("the number {s}"),
        Scalar::Float(f) => format!("the number {f:?}"),
        Scalar::Bool(b) => format!("the boolean {b}"),
        Scalar::Null => "null".into(),
        Scalar::Other(w) => (*w).into(),
    }
}
