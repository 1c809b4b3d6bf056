//! The check Helm's loader makes of a chart's `values.yaml` (`cannot load values.yaml`): it must
//! unmarshal into a mapping. Helm 3 reads the first document only, Helm 4 every document; a chart
//! must load in both, so every document must be a mapping (or empty). The YAML is read by
//! `crate::values::yaml`, the reader that follows Helm's go-yaml, so positions are exact.

use std::path::Path;

use super::ChartError;
use crate::values::yaml::{parse_documents, Val};

/// Refuse a `values.yaml` Helm cannot load, at its line and column.
pub fn check_values(bytes: &[u8], path: &Path) -> Result<(), ChartError> {
    let bad = |line: Option<u64>, column: Option<u64>, message: String| ChartError::BadValues {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    let text =
        std::str::from_utf8(bytes).map_err(|e| bad(None, None, format!("not UTF-8 text ({e})")))?;
    let docs = parse_documents(text, 0, path).map_err(|e| {
        bad(
            e.pos.map(|p| p.line as u64),
            e.pos.map(|p| p.col as u64),
            e.message,
        )
    })?;
    for doc in docs {
        let found = match &doc.val {
            Val::Map(_) | Val::Null => continue,
            Val::Seq(_) => "a list",
            Val::Str(_) => "a string",
            Val::Num(_) => "a number",
            Val::Bool(_) => "a boolean",
        };
        return Err(bad(
            Some(doc.pos.line as u64),
            Some(doc.pos.col as u64),
            format!(
                "Helm cannot load it: values.yaml must be a mapping of keys to values, found {found}"
            ),
        ));
    }
    Ok(())
}
