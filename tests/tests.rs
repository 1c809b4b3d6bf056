//! The one integration test binary: each module covers one area, against real Helm binaries and a
//! real registry where the area needs them.

mod app_layer;
mod chart_contract;
mod chart_platform;
mod citizen_platform;
mod citizen_rules;
mod common;
mod concurrency;
mod credential_helpers;
mod fuzz_regressions;
mod helm_fidelity_charts;
mod hostile;
mod import;
mod interrupt;
mod oci;
mod oci_auth;
mod oci_faults;
mod oci_integrity;
mod oci_publish;
mod origin;
mod package;
mod platform_values;
mod plugin;
mod quickstart;
mod registry_faults;
mod registry_mismatch;
mod render;
mod rule_applicability;
mod scaffold;
mod schema_messages;
mod schema_suite;
mod secrets;
mod small_defects;
mod tls;
mod validate;
mod values_security;
