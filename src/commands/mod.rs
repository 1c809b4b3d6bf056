//! One module per subcommand. Each is a thin function: resolve settings, call the action
//! (`crate::actions`) or the domain modules, print through the [`Printer`]. Nothing below
//! `commands/` prints.

use anyhow::Result;

use crate::cli::{Cli, Command, OutputFormat};
use crate::error::Status;
use crate::printer::Printer;

mod complete;
mod docs;
mod import;
mod new;
mod package;
mod plan;
mod promote;
mod publish;
mod pull;
mod push;
mod registry;
mod render;
mod report;
mod set_image;
mod validate;
mod versions;

pub fn run(cli: Cli, printer: &Printer) -> Result<Status> {
    refuse_unsupported_output(&cli)?;
    match cli.command {
        Command::Package(args) => package::run(&cli.global, args, printer),
        Command::Push(args) => push::run(&cli.global, args, printer),
        Command::Pull(args) => pull::run(&cli.global, args, printer),
        Command::Versions(args) => versions::run(&cli.global, args, printer),
        Command::Publish(args) => publish::run(&cli.global, args, printer),
        Command::Render(args) => render::run(&cli.global, args, printer),
        Command::Validate(args) => validate::run(&cli.global, args, printer),
        Command::New(args) => new::run(&cli.global, args, printer),
        Command::Docs(args) => docs::run(&cli.global, args, printer),
        Command::Import(args) => import::run(&cli.global, args, printer),
        Command::Plan(args) => plan::run(&cli.global, args, printer),
        Command::Report(args) => report::run(&cli.global, args, printer),
        Command::Promote(args) => promote::run(&cli.global, args, printer),
        Command::SetImage(args) => set_image::run(&cli.global, args, printer),
        Command::Version => version(printer),
        Command::Complete(args) => complete::run(args, printer),
    }
}

/// `-o github` (GitHub Actions annotations) means something only where there are diagnostics or
/// changes to annotate: validate, publish, `render --check` and plan; `-o markdown` (a
/// pull-request comment) only on plan; `-o html` (a page) only on report. Anywhere else they
/// would be silently ignored, so they are a usage error (exit 2).
fn refuse_unsupported_output(cli: &Cli) -> Result<()> {
    let format = cli.global.output;
    let (command, check) = match &cli.command {
        Command::Package(_) => ("package", false),
        Command::Push(_) => ("push", false),
        Command::Pull(_) => ("pull", false),
        Command::Versions(_) => ("versions", false),
        Command::Publish(_) => ("publish", false),
        Command::Validate(_) => ("validate", false),
        Command::Render(a) => ("render", a.check),
        Command::New(_) => ("new", false),
        Command::Docs(_) => ("docs", false),
        Command::Import(_) => ("import", false),
        Command::Plan(_) => ("plan", false),
        Command::Report(_) => ("report", false),
        Command::Promote(_) => ("promote", false),
        Command::SetImage(_) => ("set-image", false),
        Command::Version => ("version", false),
        Command::Complete(_) => ("__complete", false),
    };
    if format.accepted_by(command, check) {
        return Ok(());
    }
    let name = match command {
        "render" if check => "render --check",
        "render" => "render (without --check)",
        other => other,
    };
    let (flag, hint) = match format {
        OutputFormat::Github => ("github", "GitHub annotations are written by validate, publish, render --check and plan; use -o human or -o json here"),
        OutputFormat::Html => ("html", "an HTML page is written by report; use -o human or -o json here"),
        _ => ("markdown", "markdown (a pull-request comment) is written by plan; use -o human or -o json here"),
    };
    Err(crate::error::Hinted::new(
        anyhow::anyhow!("`-o {flag}` is not an output of `helm appkit {name}`"),
        hint,
    )
    .into())
}

/// `helm appkit version`: appkit's version on stdout (`-o json`: also the git commit it was built
/// from, which the plugin's install hook compares with its checkout).
fn version(printer: &Printer) -> Result<Status> {
    let version = env!("CARGO_PKG_VERSION");
    if printer.json_output() {
        printer.json(&serde_json::json!({
            "name": "helm-appkit",
            "version": version,
            "commit": env!("APPKIT_COMMIT"),
        }))?;
    } else {
        printer.data(&format!("helm-appkit {version}"))?;
    }
    Ok(Status::Ok)
}
