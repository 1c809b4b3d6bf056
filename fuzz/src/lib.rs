//! appkit's domain modules, compiled for fuzzing straight from the main crate's sources.
//!
//! The main crate is a binary (`src/main.rs`) and stays one: adding a `src/lib.rs` there would
//! change the layout every other module and test relies on. Instead this crate includes the same
//! files with `#[path]`, under the same module names at the crate root, so their `crate::…` paths
//! resolve unchanged. Only the modules the fuzz targets reach (and what they use) are included;
//! the CLI, commands, printer, flux and scaffold are not. Nothing here is a copy: a fix in
//! `../src` is what the targets test.
#![allow(dead_code, unused_imports, clippy::all)]

#[path = "../../src/chart/mod.rs"]
pub mod chart;
#[path = "../../src/config.rs"]
pub mod config;
#[path = "../../src/diagnostics.rs"]
pub mod diagnostics;
#[path = "../../src/error.rs"]
pub mod error;
#[path = "../../src/fsutil.rs"]
pub mod fsutil;
#[path = "../../src/lock.rs"]
pub mod lock;
#[path = "../../src/oci/mod.rs"]
pub mod oci;
#[path = "../../src/values/mod.rs"]
pub mod values;
