//! appkit as a library: the domain (`chart`, `oci`, `values`, `flux`, `scaffold`), the layer that
//! answers the cross-cutting questions once (e.g. [`yamlout`]: how every YAML file appkit writes
//! quotes its strings), and the commands. `src/main.rs` only parses, runs and maps the outcome to
//! an exit code; the fuzz targets (`fuzz/`) and benches link this crate.
//!
//! Nothing but [`printer`] writes to stdout or stderr (enforced by the lints below).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod actions;
pub mod chart;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod config;
pub mod diagnostics;
pub mod error;
pub mod flux;
pub mod fsutil;
pub mod lock;
pub mod oci;
pub mod pack_report;
pub mod par;
pub mod plan;
pub mod printer;
pub mod progress;
pub mod report;
pub mod rules;
pub mod runtime;
pub mod scaffold;
pub mod values;
pub mod workspace;
pub mod yamlout;
pub mod yamlsplice;
