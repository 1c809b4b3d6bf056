//! Docs: the chart's `README.md` values reference rendered from its schema (with the platform's
//! template override, if any), compared with the file on disk, and written only when it changed.
//! `--check` is the same plan without the write.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::scaffold::model::Schema;
use crate::scaffold::templates::{Templates, README};
use crate::scaffold::{docs, ChartMeta};

/// What `docs` would write, and what is there now.
#[derive(Debug)]
pub struct Plan {
    pub readme: PathBuf,
    pub schema: PathBuf,
    /// The generated reference.
    pub text: String,
    /// The README on disk (`None`: missing).
    pub current: Option<Vec<u8>>,
    /// Schema keys without a description.
    pub undescribed: Vec<String>,
    /// Keys documented.
    pub keys: usize,
    /// The README template taken from the platform's directory, if overridden.
    pub template_override: Option<PathBuf>,
    /// Files in the template directory that are not appkit templates.
    pub ignored_templates: Vec<PathBuf>,
}

impl Plan {
    pub fn up_to_date(&self) -> bool {
        self.current.as_deref() == Some(self.text.as_bytes())
    }
}

/// Render the reference for the chart at `chart_dir` and read what is on disk.
pub fn plan(chart_dir: &Path, templates_dir: Option<&Path>) -> Result<Plan> {
    let templates = Templates::load(templates_dir, &[README])?;
    let schema = Schema::load(chart_dir)?;
    let chart = ChartMeta::load(chart_dir)?;
    let out = docs::render(&templates, &schema, &chart)?;
    let readme = chart_dir.join("README.md");
    let current = match crate::fsutil::read_limited(&readme, crate::chart::archive::MAX_FILE_SIZE) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", readme.display())),
    };
    Ok(Plan {
        schema: chart_dir.join("values.schema.json"),
        keys: schema.all().iter().filter(|f| f.key != "[]").count(),
        text: out.text,
        current,
        undescribed: out.undescribed,
        template_override: templates.override_file(README).map(Path::to_path_buf),
        ignored_templates: templates.ignored.clone(),
        readme,
    })
}

/// Write the README (atomically) when it is not up to date; true when it was written.
pub fn write(plan: &Plan) -> Result<bool> {
    if plan.up_to_date() {
        return Ok(false);
    }
    crate::fsutil::write_atomic(&plan.readme, plan.text.as_bytes())
        .with_context(|| format!("cannot write {}", plan.readme.display()))?;
    Ok(true)
}
