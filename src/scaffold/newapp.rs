//! The scaffold of a new app: every key an app owner may set (the schema minus `platform`), grouped
//! as the schema groups them and commented with its description. What the flags give is set; every
//! other key is commented out with its default (a list that defaults to empty shows its example),
//! and a group with nothing set is commented out whole — an uncommented `key:` with nothing under
//! it would be `null`, which deletes the chart's default in Helm.
//!
//! This module checks the shape of what the user typed (name, image reference); whether the result
//! is valid for the platform (components, schema, rules) is decided by the values engine, which
//! `commands/new.rs` runs on the rendered files before anything is written.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::model::{Field, Schema};
use super::templates::{Templates, OVERLAY, VALUES};
use super::{wrap, yamlfmt, ChartMeta, ScaffoldError, PLATFORM_KEY};

/// Longest app name: Helm's release name limit.
pub const MAX_NAME: usize = 53;

/// Comment lines are wrapped to this width.
const WIDTH: usize = 100;

/// An image by digest: `repo@sha256:<64 hex>` or `repo:tag@sha256:<64 hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub repository: String,
    pub tag: Option<String>,
    pub digest: String,
}

impl ImageRef {
    pub fn parse(given: &str) -> Result<ImageRef, ScaffoldError> {
        let bad = |reason: &str| ScaffoldError::Image {
            given: given.to_string(),
            reason: reason.to_string(),
        };
        if given.contains("://") {
            return Err(bad(
                "leave out the scheme (`https://`, `oci://`): `host/path@sha256:…`",
            ));
        }
        let Some((name, digest)) = given.split_once('@') else {
            return Err(bad(
                "the platform pins images by digest: `repo@sha256:<64 hex>` or `repo:tag@sha256:<64 hex>` (the build prints the digest)",
            ));
        };
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| bad("the digest must start with `sha256:`"))?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad(
                "the digest must be `sha256:` followed by 64 characters 0-9/a-f",
            ));
        }
        // A `:` after the last `/` separates the tag; one before it is a registry port.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (name[..at].to_string(), Some(name[at + 1..].to_string()))
            }
            None => (name.to_string(), None),
        };
        if repository.is_empty() {
            return Err(bad("the repository is missing before `@`"));
        }
        if tag.as_deref() == Some("") {
            return Err(bad("empty tag after `:`"));
        }
        Ok(ImageRef {
            repository,
            tag,
            digest: digest.to_string(),
        })
    }
}

/// Why `name` cannot be an app name (DNS-1123 label, at most [`MAX_NAME`] characters), if it cannot.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > MAX_NAME {
        return Err(format!(
            "the name has {} characters; at most {MAX_NAME} are allowed (Helm's release name limit)",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{c}` is not allowed: use lower case letters, digits and `-` (it becomes a Kubernetes namespace and Dapr app id)"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("the name must start and end with a letter or digit".into());
    }
    Ok(())
}

/// One environment the app gets an overlay for.
#[derive(Debug, Clone, Serialize)]
pub struct EnvInfo {
    pub name: String,
    /// Promoted environments require images pinned by digest.
    pub promoted: bool,
}

/// What `helm appkit new` was asked for, checked for shape.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub app: String,
    pub image: ImageRef,
    pub port: Option<u16>,
    pub uses: Vec<String>,
    /// `--nodepool`: the node pool, checked against the platform's pools by `actions::new`.
    pub nodepool: Option<String>,
    pub envs: Vec<EnvInfo>,
}

/// One key line of the scaffold, with everything a template needs to lay it out.
#[derive(Debug, Clone, Serialize)]
struct Entry {
    /// `image.repository`.
    path: String,
    key: String,
    depth: usize,
    /// The text before the key: indentation, and `# ` when the key is commented out.
    lead: String,
    /// The text before each description line.
    desc_lead: String,
    description: Vec<String>,
    /// Set from the flags (written as a value, not commented out).
    set: bool,
    group: bool,
    /// The value after `key:` (empty for a group or a block value).
    value: String,
    /// Lines under the key line for a block value, already led and indented.
    block: Vec<String>,
}

/// The values the flags set, by path.
fn flag_values(req: &NewApp) -> Vec<(Vec<&'static str>, Value, &'static str)> {
    let mut v = vec![
        (
            vec!["image", "repository"],
            Value::String(req.image.repository.clone()),
            "--image",
        ),
        (
            vec!["image", "digest"],
            Value::String(req.image.digest.clone()),
            "--image",
        ),
    ];
    if let Some(tag) = &req.image.tag {
        v.push((vec!["image", "tag"], Value::String(tag.clone()), "--image"));
    }
    if let Some(port) = req.port {
        v.push((vec!["port"], Value::from(port), "--port"));
    }
    if let Some(pool) = &req.nodepool {
        v.push((vec!["nodepool"], Value::String(pool.clone()), "--nodepool"));
    }
    if !req.uses.is_empty() {
        v.push((
            vec!["dapr", "components"],
            Value::from(req.uses.clone()),
            "--uses",
        ));
    }
    v
}

/// Render `values.yaml` and one overlay per environment: `(file name, text)` in writing order.
pub fn render(
    templates: &Templates,
    schema: &Schema,
    chart: &ChartMeta,
    req: &NewApp,
) -> Result<Vec<(String, String)>, ScaffoldError> {
    let mut set: BTreeMap<String, Value> = BTreeMap::new();
    for (path, value, flag) in flag_values(req) {
        let f = schema
            .find(&path)
            .ok_or_else(|| ScaffoldError::MissingKey {
                key: path.join("."),
                what: flag.to_string(),
            })?;
        set.insert(f.dotted(), value);
    }
    let mut entries = Vec::new();
    for f in schema.fields.iter().filter(|f| f.key != PLATFORM_KEY) {
        flatten(f, 0, None, &set, &mut entries);
    }
    let top_keys: Vec<&str> = schema
        .fields
        .iter()
        .filter(|f| f.key != PLATFORM_KEY)
        .map(|f| f.key.as_str())
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("app", &req.app);
    ctx.insert("chart", chart);
    ctx.insert("image", &req.image.repository);
    ctx.insert("uses", &req.uses);
    ctx.insert("envs", &req.envs);
    ctx.insert("fields", &entries);
    ctx.insert("top_keys", &top_keys);
    let mut out = vec![("values.yaml".to_string(), templates.render(VALUES, &ctx)?)];
    for env in &req.envs {
        ctx.insert("env", env);
        out.push((
            format!("values.{}.yaml", env.name),
            templates.render(OVERLAY, &ctx)?,
        ));
    }
    Ok(out)
}

fn is_set(f: &Field, set: &BTreeMap<String, Value>) -> bool {
    set.contains_key(&f.dotted()) || f.children.iter().any(|c| is_set(c, set))
}

fn flatten(
    f: &Field,
    depth: usize,
    commented_from: Option<usize>,
    set: &BTreeMap<String, Value>,
    out: &mut Vec<Entry>,
) {
    let pad = |n: usize| "  ".repeat(n);
    let is = is_set(f, set);
    let c = commented_from.or(if is { None } else { Some(depth) });
    let lead = match c {
        None => pad(depth),
        Some(c) => format!("{}# {}", pad(c), pad(depth - c)),
    };
    let desc_lead = match c {
        Some(c) if c < depth => format!("{lead}# "),
        _ => format!("{}# ", pad(depth)),
    };
    let mut text = f.description.clone().unwrap_or_default();
    if !f.enum_values.is_empty() {
        let words: Vec<String> = f.enum_values.iter().map(yamlfmt::inline).collect();
        if !words.iter().all(|w| text.contains(w.as_str())) {
            text.push_str(&format!(" One of: {}.", words.join(", ")));
        }
    }
    let (mut value, mut block) = (String::new(), Vec::new());
    if !f.is_group() {
        let shown = match set.get(&f.dotted()) {
            Some(v) => Some(v.clone()),
            None => match (&f.default, f.examples.first()) {
                (Some(d), Some(ex)) if is_empty(d) && yamlfmt::is_block(ex) => {
                    text.push_str(&format!(
                        " Default: `{}` (none). An example:",
                        yamlfmt::inline(d)
                    ));
                    Some(ex.clone())
                }
                (Some(d), _) => Some(d.clone()),
                (None, Some(ex)) => {
                    text.push_str(" No default. An example:");
                    Some(ex.clone())
                }
                (None, None) => None,
            },
        };
        match shown {
            Some(v) if yamlfmt::is_block(&v) => {
                block = yamlfmt::block(&v, 0)
                    .into_iter()
                    .map(|l| format!("{lead}  {l}"))
                    .collect();
            }
            Some(v) => value = yamlfmt::inline(&v),
            None => {}
        }
    }
    let text = text.trim();
    let description = if text.is_empty() {
        Vec::new()
    } else {
        wrap(text, WIDTH.saturating_sub(desc_lead.chars().count()))
    };
    out.push(Entry {
        path: f.dotted(),
        key: yamlfmt::string(&f.key),
        depth,
        lead,
        desc_lead,
        description,
        set: set.contains_key(&f.dotted()),
        group: f.is_group(),
        value,
        block,
    });
    for child in &f.children {
        flatten(child, depth + 1, c, set, out);
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

    #[test]
    fn image_references() {
        let r = ImageRef::parse(&format!("harbor.example.com:5000/apps/x:1.2@{D}")).unwrap();
        assert_eq!(r.repository, "harbor.example.com:5000/apps/x");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        let r = ImageRef::parse(&format!("localhost:5000/x@{D}")).unwrap();
        assert_eq!((r.repository.as_str(), r.tag), ("localhost:5000/x", None));
        for bad in [
            "harbor.example.com/apps/x:1.2".to_string(),
            "harbor.example.com/apps/x@sha256:abc".into(),
            format!("https://h/x@{D}"),
            format!("@{D}"),
            format!("h/x:@{D}"),
            format!("h/x@{}", D.to_uppercase()),
        ] {
            assert!(ImageRef::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(check_name("app3").is_ok());
        assert!(check_name(&"a".repeat(53)).is_ok());
        for bad in ["", "App", "a_b", "-a", "a-", "a.b", &"a".repeat(54)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
