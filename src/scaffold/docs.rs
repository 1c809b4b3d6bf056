//! The chart's values reference (`README.md`): one row per key an app owner may set (key, type,
//! default, description, allowed values), the platform-owned settings, and the schema's keys that
//! have no description (the command reports them). Markdown table cells are escaped here so a
//! template only places them.

use serde::Serialize;
use serde_json::Value;

use super::model::{Field, Schema};
use super::templates::{Templates, README};
use super::{patterns, yamlfmt, ChartMeta, ScaffoldError, PLATFORM_KEY};

/// One row of the reference table; every text is Markdown, ready for a table cell.
#[derive(Debug, Clone, Serialize)]
struct Row {
    key: String,
    depth: usize,
    group: bool,
    #[serde(rename = "type")]
    type_: String,
    default: String,
    description: String,
    allowed: String,
}

/// The rendered README and the keys (dotted paths) without a description.
#[derive(Debug)]
pub struct Docs {
    pub text: String,
    pub undescribed: Vec<String>,
}

pub fn render(
    templates: &Templates,
    schema: &Schema,
    chart: &ChartMeta,
) -> Result<Docs, ScaffoldError> {
    let mut rows = Vec::new();
    let mut platform_rows = Vec::new();
    for f in schema.all() {
        if f.key == "[]" {
            continue; // described by its list's row
        }
        let row = row(f);
        if f.path.first().is_some_and(|k| k == PLATFORM_KEY) {
            platform_rows.push(row);
        } else {
            rows.push(row);
        }
    }
    let undescribed: Vec<String> = schema
        .all()
        .into_iter()
        .filter(|f| f.key != "[]" && f.description.is_none())
        .map(Field::dotted)
        .collect();
    let platform_defaults = schema
        .top(PLATFORM_KEY)
        .map(defaults_of)
        .unwrap_or(Value::Null);
    let mut ctx = tera::Context::new();
    ctx.insert("chart", chart);
    ctx.insert("schema_description", &schema.description);
    ctx.insert("rows", &rows);
    ctx.insert("platform_rows", &platform_rows);
    ctx.insert("platform", &platform_defaults);
    ctx.insert("undescribed", &undescribed);
    let text = templates.render(README, &ctx)?;
    Ok(Docs { text, undescribed })
}

/// The defaults of a group as a nested map (what the templates quote in prose).
fn defaults_of(f: &Field) -> Value {
    if f.is_group() {
        Value::Object(
            f.children
                .iter()
                .map(|c| (c.key.clone(), defaults_of(c)))
                .collect(),
        )
    } else {
        f.default.clone().unwrap_or(Value::Null)
    }
}

fn row(f: &Field) -> Row {
    // Required by the schema and without a default: every app must set it.
    let default = match &f.default {
        Some(d) => code(&yamlfmt::inline(d)),
        None if f.required && !f.is_group() => "**required**".into(),
        None => String::new(),
    };
    let description = match &f.description {
        Some(d) => cell(d),
        None => "*(no description)*".into(),
    };
    let mut allowed = constraints(f);
    if let Some(items) = &f.items {
        if !items.is_group() {
            let each = constraints(items);
            if !each.is_empty() {
                allowed.push(format!("each: {}", each.join(", ")));
            }
        }
    }
    if !f.examples.is_empty() {
        let ex: Vec<String> = f
            .examples
            .iter()
            .map(|e| code(&yamlfmt::inline(e)))
            .collect();
        allowed.push(format!("e.g. {}", ex.join(", ")));
    }
    Row {
        key: f.dotted(),
        depth: f.path.len().saturating_sub(1),
        group: f.is_group(),
        type_: f.type_label(),
        default,
        description,
        allowed: allowed.join("; "),
    }
}

/// The schema's constraints on a value, in words.
fn constraints(f: &Field) -> Vec<String> {
    let mut out = Vec::new();
    let list = |vs: &[Value]| {
        vs.iter()
            .map(|v| code(&yamlfmt::inline(v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !f.enum_values.is_empty() {
        out.push(format!("one of {}", list(&f.enum_values)));
    }
    match (&f.minimum, &f.maximum) {
        (Some(a), Some(b)) => out.push(format!("{a} to {b}")),
        (Some(a), None) if a.as_f64() != Some(0.0) || f.types == ["integer"] => {
            out.push(format!("at least {a}"))
        }
        (None, Some(b)) => out.push(format!("at most {b}")),
        _ => {}
    }
    if !f.not_enum.is_empty() {
        out.push(format!("not {}", list(&f.not_enum)));
    }
    if let Some(p) = &f.pattern {
        out.push(match patterns::explain(p) {
            Some(words) => cell(words),
            None => format!("matches {}", code(p)),
        });
    }
    match (f.min_length, f.max_length) {
        (Some(1), Some(n)) => out.push(format!("1 to {n} characters")),
        (Some(1), None) => out.push("not empty".into()),
        (_, Some(n)) => out.push(format!("at most {n} characters")),
        _ => {}
    }
    match (f.min_items, f.max_items) {
        (Some(a), Some(b)) => out.push(format!("{a} to {b} items")),
        (None, Some(b)) => out.push(format!("at most {b} items")),
        (Some(a), None) => out.push(format!("at least {a} items")),
        _ => {}
    }
    if f.unique_items {
        out.push("no duplicates".into());
    }
    out
}

/// Text for a Markdown table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// Inline code for a table cell (backticks inside are fenced with double backticks).
fn code(s: &str) -> String {
    let s = cell(s);
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_keys_without_description_and_escapes_cells() {
        let v: Value = serde_json::from_str(
            r#"{"type":"object","properties":{
                "a":{"type":"string","pattern":"^(x|y)$","description":"A | B"},
                "b":{"type":"integer","minimum":1,"maximum":5}}}"#,
        )
        .unwrap();
        let schema = Schema::from_value(&v);
        let t = Templates::load(None, &[README]).unwrap();
        let docs = render(&t, &schema, &ChartMeta::default()).unwrap();
        assert_eq!(docs.undescribed, ["b"]);
        assert!(docs.text.contains("A \\| B"), "{}", docs.text);
        assert!(docs.text.contains("matches `^(x\\|y)$`"), "{}", docs.text);
        assert!(docs.text.contains("1 to 5"), "{}", docs.text);
    }
}
