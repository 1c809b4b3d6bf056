//! `helm appkit plan`: arguments → [`actions::plan`](crate::actions::plan) (or, with `--merge`,
//! the shards' JSON joined) → human, markdown, GitHub annotations or JSON. The registry is
//! reached here, through the same target opening as `pull` (credentials, TLS, the platform's
//! plain-HTTP setting), for the locked charts the plan needs. [`plan_workspace`] is also what
//! `promote --plan` runs, on the promoted (or would-be) config.

use anyhow::Result;

use super::registry::{oci_error, open_target_for};
use crate::actions::plan::{self as action, FetchError, Request};
use crate::actions::pull::{self as pull, Select};
use crate::cli::{GlobalArgs, OutputFormat, PlanArgs, RegistryArgs};
use crate::error::{Invalid, Status};
use crate::oci::reference::Location;
use crate::oci::target::{with_target, Access};
use crate::oci::OciError;
use crate::plan::{output, Plan};
use crate::printer::Printer;
use crate::runtime;
use crate::workspace::Workspace;

/// The most a `--merge` file may hold.
const MAX_MERGE_FILE: u64 = 512 << 20;

pub fn run(global: &GlobalArgs, args: PlanArgs, printer: &Printer) -> Result<Status> {
    let plan = if args.merge.is_empty() {
        compute(global, &args, printer)?
    } else {
        merged(&args)?
    };
    match global.output {
        OutputFormat::Json => printer.json(&plan)?,
        OutputFormat::Human | OutputFormat::Html => printer.raw(&human(&plan, printer))?,
        OutputFormat::Markdown => {
            printer.raw(&output::markdown(&plan, output::GITHUB_COMMENT_LIMIT))?
        }
        OutputFormat::Github => printer.raw(&output::github(&plan))?,
    }
    if plan.failed() || (args.exit_code && plan.differs()) {
        return Ok(Status::Failed);
    }
    Ok(Status::Ok)
}

fn compute(global: &GlobalArgs, args: &PlanArgs, printer: &Printer) -> Result<Plan> {
    let shard = match &args.shard {
        Some(s) => Some(action::parse_shard(s).map_err(anyhow::Error::msg)?),
        None => None,
    };
    if let Some(from) = &args.from {
        Location::parse(from, true).map_err(anyhow::Error::new)?;
    }
    let ws = Workspace::open(global)?;
    let req = Request {
        base: &args.base,
        envs: &args.envs.env,
        apps: &args.apps,
        chart_preview: args.chart_preview,
        from: args.from.as_deref(),
        jobs: args.jobs,
        shard,
        helm: args.helm.as_deref(),
        cache_dir: crate::plan::cache::default_dir(),
    };
    plan_workspace(ws, &req, &args.registry, printer)
}

/// The plan of a workspace (the working tree, or an edit of it in memory) against `req.base`,
/// fetching locked charts through the registry flags: also what `promote --plan` runs.
pub(super) fn plan_workspace(
    ws: Workspace,
    req: &Request<'_>,
    registry: &RegistryArgs,
    printer: &Printer,
) -> Result<Plan> {
    let loaded = ws.config().clone();
    let fetch = |reference: &str| -> Result<Vec<u8>, FetchError> {
        let location = Location::parse(reference, false)
            .map_err(|e| FetchError::Other(anyhow::Error::new(e)))?;
        let digest = match &location {
            Location::Registry(r) => r.digest.clone(),
            Location::Layout(l) => l.digest.clone(),
        }
        .unwrap_or_default();
        printer.status(&format!("fetching {reference}"));
        let opened = open_target_for(&location, Access::Pull, registry, printer, Some(&loaded))
            .map_err(FetchError::Other)?;
        let fetched = runtime::block_on(async {
            with_target!(&opened, |t| pull::fetch(
                t,
                Select::Digest(digest),
                reference
            )
            .await)
        });
        match fetched {
            Ok(f) => Ok(f.chart.tgz),
            Err(OciError::NotFound { reference }) => Err(FetchError::NotFound(format!(
                "not found in the registry ({reference}): was it deleted, or is --from wrong?"
            ))),
            Err(e) => Err(FetchError::Other(oci_error(e, &location))),
        }
    };
    let plan = action::run(ws, req, &fetch)?;
    printer.status(&format!(
        "planned {} app × environment pair(s): {} helm template run(s), {} from the cache",
        plan.pairs.len(),
        plan.stats.helm_invocations,
        plan.stats.cache_hits
    ));
    Ok(plan)
}

/// The human plan (what `promote --plan` prints too).
pub(super) fn human(plan: &Plan, printer: &Printer) -> String {
    output::human(plan, printer.stdout_color())
}

fn merged(args: &PlanArgs) -> Result<Plan> {
    let mut plans = Vec::new();
    for f in &args.merge {
        let name = f.display().to_string();
        let text = crate::fsutil::read_to_string_limited(f, MAX_MERGE_FILE)
            .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
        let plan: Plan = serde_json::from_str(&text).map_err(|e| {
            anyhow::Error::new(
                Invalid::new(format!(
                    "{name}:{}:{}: not a plan -o json output: {e}",
                    e.line(),
                    e.column()
                ))
                .with_hint("give the files `helm appkit plan --shard K/N -o json` wrote"),
            )
        })?;
        plans.push((name, plan));
    }
    crate::plan::merge(plans).map_err(|e| anyhow::Error::new(Invalid::new(e)))
}
