//! `helm appkit package`: chart directory → reproducible `.tgz`.

use anyhow::Result;

use crate::cli::{GlobalArgs, PackageArgs};
use crate::error::Status;
use crate::printer::Printer;

pub fn run(_global: &GlobalArgs, _args: PackageArgs, _printer: &Printer) -> Result<Status> {
    anyhow::bail!("package: being built")
}
