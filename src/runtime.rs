//! The one tokio runtime of the process, built here and nowhere else (uv's shape: one
//! current-thread runtime for the whole run).
//!
//! appkit's network work is a handful of concurrent requests to one registry, so a current-thread
//! runtime is enough, and building it once means everything async in a run — every registry
//! client, every connection pool — lives on the same runtime (a `reqwest::Client` used from two
//! runtimes can hang on a pooled connection whose driver belongs to a dropped runtime,
//! reqwest#2501). It is built lazily, so commands that never touch the network never pay for it.
//!
//! Owns: building and entering the runtime. Does not own: what runs on it (`oci`, `actions`).

use std::future::Future;
use std::sync::OnceLock;

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// Run `future` to completion on the process-wide runtime. Not re-entrant: never call it from
/// inside a future it is running (do the whole async step in one call instead).
pub fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread tokio runtime can always be built")
        })
        .block_on(future)
}
