//! OCI: references (`oci://host/path`, `oci-layout:DIR`, `+`→`_` tags), Helm's media types and
//! annotations, the canonical manifest, content verification, credentials, and the two targets a
//! chart is pushed to or pulled from — a registry repository and an OCI image layout.
//!
//! Layering (one way): `ops` (push / pull / versions, generic over [`target::Target`]) →
//! `target` (the trait, [`target::open`]) → `repository` (registry) or `layout` (OCI layout) →
//! `client` (distribution API calls) → `transport` (TLS, the auth handshake) → `auth`
//! (credentials, challenges). `retry` is the one retry policy both `transport` and `client` use;
//! `content` is the one digest/size check both targets use. `reference`, `media` and `manifest`
//! are pure. Nothing here prints, and nothing here builds a runtime (`crate::runtime` does).
//!
//! Public API for other modules (the actions): parse a [`reference::Location`], build an
//! [`manifest::Artifact`] with [`manifest::build`], open a target with [`target::open`] (which
//! returns a [`target::Opened`]; reach the concrete target with `target::with_target!`), then
//! call [`ops::push`], [`ops::pull`], [`ops::versions`], [`ops::highest_published_version`],
//! [`ops::published_content`] inside one `crate::runtime::block_on`.

pub mod auth;
pub mod client;
pub mod content;
pub mod credhelper;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod media;
pub mod ops;
pub mod reference;
pub mod repository;
pub mod retry;
pub mod target;
pub mod tls;
pub mod transport;

pub use error::OciError;
