//! The policy of each verb, between `commands/` (arguments in, formatted output out) and the
//! domain (`chart`, `oci`, `values`, `flux`, `scaffold`) — Helm's `pkg/action`. An action takes
//! a resolved [`crate::workspace::Workspace`] and typed settings, decides and does, and returns a
//! typed outcome; it never prints and never parses arguments.

pub mod new;
pub mod render;
pub mod validate;
