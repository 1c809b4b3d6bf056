//! `helm appkit new <APP>`: check the request against the platform (name, existing apps, platform
//! namespaces, environments, Dapr components), render the scaffold, validate it with the values
//! engine exactly as `helm appkit validate` would (every environment), and only then move the new
//! app directory into place in one rename — nothing is written when any check fails.
//!
//! `--image` is required: the file must validate as written, and a placeholder image would either
//! fail validation or deploy nothing. `--nodepool` is written as `nodepool:`; when appkit.yaml lists
//! `nodePools` it must be one of them, and it is required when the chart's default pool is not
//! (suggestions come from the platform's pools only). Exit 2: usage (no or malformed `--image`,
//! unknown environment, a `--nodepool` the platform does not have or a missing one), I/O. Exit 1: the request was checked and refused (bad or taken name, platform
//! namespace, component missing or not visible to the app, generated values that do not validate).
//! A refused `new` leaves nothing behind: not the app directory, not an apps directory it created.

use anyhow::{bail, Result};

use crate::actions::new::{self, DoesNotValidate, Outcome, Request};
use crate::cli::{GlobalArgs, NewArgs};
use crate::diagnostics;
use crate::error::{Hinted, Invalid, Status};
use crate::printer::Printer;
use crate::scaffold::newapp::ImageRef;
use crate::workspace::Workspace;

pub fn run(global: &GlobalArgs, args: NewArgs, printer: &Printer) -> Result<Status> {
    let ws = Workspace::open(global)?;
    let app = args.app.clone();
    let Some(image) = args.image.as_deref() else {
        return Err(Hinted::new(
            anyhow::anyhow!("--image is required: the new values file must validate as written, and the platform deploys images by digest"),
            format!("pass the image the build printed, e.g. `helm appkit new {app} --image harbor.example.com/apps/{app}@sha256:<64 hex>`"),
        )
        .into());
    };
    let image = ImageRef::parse(image).map_err(|e| {
        Hinted::new(
            anyhow::anyhow!("{e}"),
            "copy the reference with its digest from the build output (`pack build` prints it)",
        )
    })?;
    let outcome = new::run(
        &ws,
        &Request {
            app: &app,
            image,
            port: args.port,
            uses: &args.uses,
            nodepool: args.nodepool.as_deref(),
            envs: &args.env,
        },
    );
    let Outcome {
        dir,
        files,
        warnings,
        ignored_templates,
        overridden_templates,
    } = match outcome {
        Ok(o) => o,
        Err(e) => {
            let Some(refused) = e.downcast_ref::<DoesNotValidate>() else {
                return Err(e);
            };
            printer.stderr_raw(&diagnostics::render_human(
                &refused.diagnostics,
                Some(ws.cwd()),
                printer.color(),
            ));
            bail!(Invalid::new(format!(
                "the values generated for `{app}` do not validate (see above); nothing was written"
            ))
            .with_hint("fix the flags (image, port, components) or the chart's schema defaults"));
        }
    };
    for (name, file) in &overridden_templates {
        printer.debug(&format!("template {name}: {}", file.display()));
    }
    super::docs::report_ignored_templates(&ignored_templates, printer);
    if !warnings.is_empty() {
        printer.stderr_raw(&diagnostics::render_human(
            &warnings,
            Some(ws.cwd()),
            printer.color(),
        ));
    }
    let written: Vec<String> = files.iter().map(|f| ws.display(f)).collect();
    if printer.json_output() {
        printer.json(&serde_json::json!({ "app": app, "files": written }))?;
    } else {
        for f in &written {
            printer.data(f)?;
        }
    }
    printer.status(&format!(
        "created app `{app}` from the chart's schema; edit {} and check it with `helm appkit validate`",
        ws.display(&dir.join(crate::workspace::VALUES_FILE))
    ));
    Ok(Status::Ok)
}
