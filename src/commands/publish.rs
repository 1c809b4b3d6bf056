//! `helm appkit publish`: the CI entry point, driven by `appkit.yaml`.
//!
//! 1. validate every app in every environment against the chart (the values engine); any error
//!    stops here (exit 1; unreadable files exit 2);
//! 2. package the chart reproducibly and build the OCI artifact offline;
//! 3. version-increment check against the registry: the chart's version must be above the highest
//!    published one, unless that exact version already holds this exact content (then it is a
//!    no-op). Same version with other content → exit 1 with a hint to raise the version;
//! 4. push (only missing blobs, manifest last) — skipped with `--dry-run`;
//! 5. record `version → tag, digest` in `appkit.lock` next to appkit.yaml (atomic write, only after
//!    a successful push, never with `--dry-run`).

use anyhow::{bail, Context, Result};
use semver::Version;
use serde::Serialize;

use super::registry::{connection, oci_error};
use crate::actions::validate;
use crate::chart::archive::{self, PackageOptions};
use crate::chart::ChartError;
use crate::cli::{GlobalArgs, PublishArgs};
use crate::diagnostics;
use crate::error::{Invalid, Status};
use crate::lock::Lock;
use crate::oci::manifest;
use crate::oci::ops::{self, PushOutcome};
use crate::oci::reference::{tag_for_version, Target};
use crate::oci::store::Store;
use crate::oci::{block_on, OciError};
use crate::printer::Printer;
use crate::values::UNREADABLE_CODES;
use crate::workspace::Workspace;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Published {
    #[serde(rename = "ref")]
    reference: String,
    version: String,
    tag: String,
    digest: String,
    uploaded: bool,
    already_published: bool,
    dry_run: bool,
    apps_validated: usize,
    lock: Option<String>,
}

pub fn run(global: &GlobalArgs, args: PublishArgs, printer: &Printer) -> Result<Status> {
    let ws = Workspace::open(global)?;
    let loaded = ws.config();

    // 1. Validate every app in every environment.
    let report = validate::run(Some(&ws), &validate::Request::default())?;
    let apps = report.apps;
    let diags = report.diagnostics;
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if !diags.is_empty() {
        let base = std::env::current_dir().ok();
        printer.stderr_raw(&diagnostics::render_human(
            &diags,
            base.as_deref(),
            printer.color(),
        ));
    }
    if diags
        .iter()
        .any(|d| UNREADABLE_CODES.contains(&d.code.as_str()))
    {
        bail!("some values files could not be read or parsed (see above); nothing was published");
    }
    if errors > 0 {
        printer.status(&format!(
            "publish stopped: {errors} error(s) in app values; nothing was published"
        ));
        return Ok(Status::Failed);
    }
    printer.status(&format!("validated {apps} app(s)"));

    // 2. Package and build the artifact.
    let sde = archive::source_date_epoch_from_env().map_err(chart_error)?;
    let packaged = archive::package(
        &loaded.chart_dir(),
        &PackageOptions {
            source_date_epoch: sde,
            ..Default::default()
        },
    )
    .map_err(chart_error)?;
    let created = sde
        .map(|s| manifest::created_from_epoch(&s.to_string()))
        .transpose()?;
    let artifact = manifest::build(
        packaged.metadata.to_helm_config_json(),
        packaged.bytes,
        created.as_deref(),
    )?;

    // 3. Compare with the registry.
    let remote = args
        .to
        .clone()
        .unwrap_or_else(|| loaded.config.chart.repository.clone());
    let target = Target::parse(&remote, true).map_err(anyhow::Error::new)?;
    let conn = connection(&args.registry, printer)?;
    let (store, source) = Store::open(&target, Some(&artifact.name), true, &conn)
        .map_err(|e| oci_error(e, &target))?;
    super::registry::report_credentials(printer, source.as_ref());
    let version = Version::parse(&artifact.version).context("the chart version is not SemVer")?;
    let (highest, existing) = block_on(async {
        let highest = ops::highest_published_version(&store).await?;
        let existing = ops::published_content(&store, &artifact.version).await?;
        Ok::<_, OciError>((highest, existing))
    })
    .map_err(|e| oci_error(e, &target))?;
    let tag = tag_for_version(&artifact.version);
    let reference = store.display(&tag);
    let mut outcome: Option<PushOutcome> = None;
    let mut digest = artifact.manifest.digest.clone();
    let already = match &existing {
        Some(c) if c.manifest == artifact.manifest.digest || c.same_content(&artifact) => {
            digest = c.manifest.clone();
            true
        }
        Some(c) => {
            return Err(anyhow::Error::new(
                Invalid::new(format!(
                    "the chart changed but its version {} was not raised: {reference} holds {}, this chart is {}",
                    artifact.version, c.manifest, artifact.manifest.digest
                ))
                .with_hint(format!("raise `version` in {}/Chart.yaml", loaded.chart_dir().display())),
            ));
        }
        None => false,
    };
    if !already {
        if let Some(h) = &highest {
            let hv = Version::parse(&h.version).expect("versions() returns SemVer");
            if version.cmp_precedence(&hv).is_le() {
                return Err(anyhow::Error::new(
                    Invalid::new(format!(
                        "the chart version {} is not above the highest published version {} ({})",
                        artifact.version, h.version, h.digest
                    ))
                    .with_hint(format!(
                        "raise `version` in {}/Chart.yaml above {}",
                        loaded.chart_dir().display(),
                        h.version
                    )),
                ));
            }
        }
    }

    // 4. Push.
    if !already && !args.dry_run {
        let progress = |_ev: ops::PushEvent| {};
        let o = block_on(ops::push(&store, &artifact, false, &progress))
            .map_err(|e| oci_error(e, &target))?;
        digest = o.digest.clone();
        outcome = Some(o);
    }

    // 5. Record in appkit.lock.
    let lock_path = loaded.lock_path();
    // The lock names the chart where appkit.yaml says it lives (what render points Flux at), even
    // when `--to` published elsewhere (an OCI layout for air-gapped transfer, a staging registry):
    // appkit's manifests are canonical, so the digest is the same wherever this artifact is pushed.
    let chart_ref = format!(
        "{}/{}",
        loaded.config.chart.repository.trim_end_matches('/'),
        artifact.name
    );
    if let Store::Registry { reference, .. } = &store {
        if reference.base() != chart_ref {
            printer.status(&format!(
                "note: published to {}; appkit.lock keeps {chart_ref} (same digest once pushed there)",
                reference.base()
            ));
        }
    }
    let mut lock_written = None;
    if !args.dry_run {
        let mut lock = Lock::load(&lock_path)?.unwrap_or_else(|| Lock::new(chart_ref.clone()));
        if lock.chart != chart_ref {
            printer.warn(&format!(
                "{} recorded {}; now publishing to {chart_ref}",
                lock_path.display(),
                lock.chart
            ));
            lock.chart = chart_ref.clone();
        }
        if lock.digest_of(&artifact.version) != Some(digest.as_str()) {
            lock.record(&artifact.version, &tag, &digest);
            lock.save(&lock_path)?;
            lock_written = Some(lock_path.display().to_string());
        }
    }

    let uploaded = outcome.as_ref().is_some_and(|o| o.uploaded);
    if already {
        printer.status(&format!(
            "{reference} is already published with this content; nothing uploaded"
        ));
    } else if args.dry_run {
        printer.status(&format!(
            "dry run: would push {reference} ({digest}); nothing uploaded, appkit.lock untouched"
        ));
    }
    if printer.json_output() {
        printer.json(&Published {
            reference,
            version: artifact.version.clone(),
            tag,
            digest,
            uploaded,
            already_published: already,
            dry_run: args.dry_run,
            apps_validated: apps,
            lock: lock_written,
        })?;
    } else {
        let verb = if args.dry_run {
            "Would publish"
        } else {
            "Published"
        };
        printer.data(&format!("{verb}: {reference}"))?;
        printer.data(&format!("Digest: {digest}"))?;
    }
    Ok(Status::Ok)
}

fn chart_error(e: ChartError) -> anyhow::Error {
    if e.is_invalid() {
        anyhow::Error::new(Invalid::new(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}
