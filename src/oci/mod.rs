//! OCI: references (`oci://host/path`, `oci-layout:DIR`, `+`→`_` tags), Helm's media types and
//! annotations, the canonical manifest, credentials, and the registry / OCI-layout stores.
//!
//! Layering (one way): `ops` (push / pull / versions) → `store` (registry or layout) → `client`
//! (distribution API calls) → `transport` (TLS, retries, auth handshake) → `auth` (credentials,
//! challenges). `reference`, `media` and `manifest` are pure. Nothing here prints.
//!
//! Public API for other modules (e.g. `publish`): build an [`manifest::Artifact`] with
//! [`manifest::build`], open a [`store::Store`] with [`store::Store::open`], then
//! [`ops::push`], [`ops::pull`], [`ops::versions`], [`ops::highest_published_version`],
//! [`ops::published_content`]; run them with [`block_on`].

pub mod auth;
pub mod client;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod media;
pub mod ops;
pub mod reference;
pub mod store;
pub mod transport;

pub use error::OciError;

/// Run an OCI operation to completion on a current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can always be built")
        .block_on(f)
}
