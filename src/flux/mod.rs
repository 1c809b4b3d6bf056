//! Flux: typed OCIRepository / HelmRepository / HelmRelease / Kustomization objects, rendering
//! them per app and environment, and the drift check.
