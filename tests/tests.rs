//! The one integration test binary: each module covers one area, against real Helm binaries and a
//! real registry where the area needs them.

mod common;
mod render;
