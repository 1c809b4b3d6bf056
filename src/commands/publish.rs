//! `helm appkit publish`: the CI entry point, driven by `appkit.yaml`.
//!
//! 1. validate every app in every environment against the chart (the values engine); any error
//!    stops here (exit 1; unreadable files exit 2);
//! 2. package the chart reproducibly and build the OCI artifact offline;
//! 3. version-increment check against the target: the chart's version must be above the highest
//!    published one, unless that exact version already holds this exact content (then it is a
//!    no-op). Same version with other content → exit 1 with a hint to raise the version;
//! 4. push (only missing blobs, manifest last) — skipped with `--dry-run`;
//! 5. record `version → tag, digest` in `appkit.lock` next to appkit.yaml (atomic write, only after
//!    a successful push, never with `--dry-run`) — and the chart's repository when it changed,
//!    even if the version was already published there with this digest.
//!
//! Steps 2–5 are [`actions::publish`] (build → plan → decide → execute; a dry run stops after
//! decide); the target is read and written inside one `runtime::block_on`. This file keeps the
//! arguments, the validation report, and the wording of refusals and output.

use anyhow::{bail, Result};
use serde::Serialize;

use super::registry::{action_error, open_target_for};
use crate::actions::validate;
use crate::actions::{self, publish as action};
use crate::cli::{GlobalArgs, PublishArgs};
use crate::diagnostics;
use crate::error::{Invalid, Status};
use crate::oci::reference::Location;
use crate::oci::target::{with_target, Access, Opened};
use crate::printer::Printer;
use crate::progress::Progress;
use crate::runtime;
use crate::values::UNREADABLE_CODES;
use crate::workspace::Workspace;
use action::{Decision, PublishOutcome};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Published {
    #[serde(rename = "ref")]
    reference: String,
    version: String,
    tag: String,
    #[serde(rename = "manifestDigest")]
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
    let artifact = action::build(&loaded.chart_dir()).map_err(|e| action_error(e, None))?;
    printer.status(&format!(
        "packaged {} {} (manifest {})",
        artifact.name, artifact.version, artifact.manifest.digest
    ));

    // 3.–5. Plan against the target, decide, push and record — one runtime, one client.
    let remote = args
        .to
        .clone()
        .unwrap_or_else(|| loaded.config.chart.repository.clone());
    let location = Location::parse(&remote, true).map_err(anyhow::Error::new)?;
    let opened = open_target_for(
        &location,
        Access::Push {
            chart: &artifact.name,
        },
        &args.registry,
        printer,
        Some(loaded),
    )?;
    let chart_ref = action::lock_chart(&loaded.config.chart.repository, &artifact.name);
    let lock_path = loaded.lock_path();
    printer.status(&format!(
        "checking the published versions at {remote}{}",
        if args.dry_run {
            " (dry run: nothing is uploaded)"
        } else {
            ""
        }
    ));
    let progress = Progress::new(printer);
    let on_transfer = |ev| progress.event(ev);
    let steps = runtime::block_on(async {
        with_target!(&opened, |t| {
            let plan = action::plan(t, artifact).await?;
            let decision = action::decide(&plan);
            let executed = match decision {
                Decision::Push | Decision::AlreadyPublished { .. } if !args.dry_run => {
                    if decision == Decision::Push {
                        printer.status(&format!("pushing {}", plan.reference));
                    }
                    let outcome =
                        action::execute(t, &plan, &decision, &lock_path, &chart_ref, &on_transfer)
                            .await?;
                    Some(outcome)
                }
                _ => None,
            };
            Ok::<_, actions::Error>((plan, decision, executed))
        })
    });
    drop(progress);
    let (plan, decision, executed) = steps.map_err(|e| match e {
        // The tag was taken by a concurrent run between the plan and the push (or right after
        // it): exit 1 naming both digests, and say the lock was left alone.
        actions::Error::Oci(
            e @ (crate::oci::OciError::TagConflict { .. } | crate::oci::OciError::TagExists { .. }),
        ) => anyhow::Error::new(
            Invalid::new(format!("{e}; {} not written", lock_path.display()))
                .with_hint(super::registry::CONCURRENT_PUSH_HINT),
        ),
        e => action_error(e, Some(&location)),
    })?;

    let (artifact, reference) = (&plan.artifact, &plan.reference);
    match &decision {
        Decision::ContentChanged { published } => {
            return Err(anyhow::Error::new(
                Invalid::new(format!(
                    "the chart changed but its version {} was not raised: {reference} holds {published}, this chart is {}",
                    artifact.version, artifact.manifest.digest
                ))
                .with_hint(format!("raise `version` in {}/Chart.yaml", loaded.chart_dir().display())),
            ));
        }
        Decision::VersionNotRaised {
            highest: h,
            same_line,
        } => {
            let what = if *same_line {
                format!(
                    "the highest published version of its {}.{} line",
                    h.semver.major, h.semver.minor
                )
            } else {
                "published on a higher major.minor line (a new line must be above every published line)".to_string()
            };
            return Err(anyhow::Error::new(
                Invalid::new(format!(
                    "the chart version {} is not above {} ({}), {what}",
                    artifact.version, h.version, h.digest
                ))
                .with_hint(format!(
                    "raise `version` in {}/Chart.yaml above {}",
                    loaded.chart_dir().display(),
                    h.version
                )),
            ));
        }
        Decision::AlreadyPublished { .. } | Decision::Push => {}
    }
    let recorded_step = executed.is_some();
    let outcome = executed.unwrap_or_else(|| PublishOutcome::planned(&plan, &decision));

    if let Opened::Registry(repo) = &opened {
        if repo.base() != chart_ref {
            printer.status(&format!(
                "note: published to {}; appkit.lock keeps {chart_ref} (same digest once pushed there)",
                repo.base()
            ));
        }
    }
    if let Some(old) = &outcome.lock_chart_replaced {
        // Said even when the digest is unchanged: render pins the repository the lock names.
        printer.warn(&format!(
            "recorded the new repository {chart_ref} in {} (it named {old}); render now points Flux there",
            lock_path.display(),
        ));
    }
    match &outcome.lock_written {
        Some(lock) => printer.status(&format!(
            "recorded {} ({}) in {}",
            artifact.version,
            outcome.digest,
            lock.display()
        )),
        None if recorded_step => printer.status(&format!(
            "{} already records {} ({})",
            lock_path.display(),
            artifact.version,
            outcome.digest
        )),
        None => {}
    }
    if outcome.already_published {
        printer.status(&format!(
            "{reference} is already published with this content; nothing uploaded"
        ));
    } else if args.dry_run {
        printer.status(&format!(
            "dry run: would push {reference} ({}); nothing uploaded, appkit.lock untouched",
            outcome.digest
        ));
    }
    if printer.json_output() {
        printer.json(&Published {
            reference: reference.clone(),
            version: artifact.version.clone(),
            tag: plan.tag.clone(),
            digest: outcome.digest.clone(),
            uploaded: outcome.uploaded,
            already_published: outcome.already_published,
            dry_run: args.dry_run,
            apps_validated: apps,
            lock: outcome.lock_written.map(|p| p.display().to_string()),
        })?;
    } else {
        let verb = if args.dry_run {
            "Would publish"
        } else {
            "Published"
        };
        printer.data(&format!("{verb}: {reference}"))?;
        printer.data(&format!("Digest: {}", outcome.digest))?;
    }
    Ok(Status::Ok)
}
