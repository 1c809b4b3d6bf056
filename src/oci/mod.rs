//! OCI: references (`oci://host/path`, `+`→`_` tags), Helm's media types and annotations, the
//! canonical manifest, credentials, and the registry / OCI-layout clients.
