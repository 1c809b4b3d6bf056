//! One module per subcommand. Each is a thin function: resolve settings, call the action
//! (`crate::actions`) or the domain modules, print through the [`Printer`]. Nothing below
//! `commands/` prints.

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::error::Status;
use crate::printer::Printer;

mod docs;
mod import;
mod new;
mod package;
mod publish;
mod pull;
mod push;
mod registry;
mod render;
mod validate;
mod versions;

pub fn run(cli: Cli, printer: &Printer) -> Result<Status> {
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
    }
}
