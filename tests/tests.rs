//! The one integration test binary: each module covers one area, against real Helm binaries and a
//! real registry where the area needs them.

mod chart_contract;
mod common;
mod package;
mod plugin;
mod render;
mod scaffold;
mod validate;
