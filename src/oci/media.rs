//! Media types and annotation keys, in one place (like Helm's `pkg/registry/constants.go`), so a
//! chart pushed by appkit is indistinguishable from one pushed by `helm push`.

/// The OCI image manifest media type Helm's artifacts use.
pub const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image index media type (used by `index.json` in an OCI image layout).
pub const IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Helm's chart config: the Chart.yaml metadata as JSON.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm's chart content layer: the packaged `.tgz`.
pub const HELM_CHART_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The layer media type of charts pushed by Helm before 3.7; still accepted on pull, never written.
pub const HELM_CHART_CONTENT_LEGACY: &str = "application/tar+gzip";

/// Docker's manifest list (a multi-arch image, before OCI indexes).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker's image manifest (schema 2).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// `Accept` header for resolving a container image's tag (`set-image --resolve`): an index or a
/// manifest list is the image (every platform's manifest under one digest, what Kubernetes pulls
/// by), so it is asked for first; a single-platform manifest otherwise.
pub const IMAGE_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// `Accept` header for manifest requests.
pub const MANIFEST_ACCEPT: &str =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json;q=0.5";

pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
pub const ANNOTATION_URL: &str = "org.opencontainers.image.url";
pub const ANNOTATION_SOURCE: &str = "org.opencontainers.image.source";
pub const ANNOTATION_AUTHORS: &str = "org.opencontainers.image.authors";
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// The tag of a manifest in an OCI image layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Chart.yaml annotations that may not override the values Helm derives from the chart itself.
pub const IMMUTABLE_ANNOTATIONS: [&str; 2] = [ANNOTATION_VERSION, ANNOTATION_TITLE];
