//! Helm's chart artifact, built offline and digest-addressed before anything is uploaded (a push
//! is "build, then upload"): the config blob (Chart.yaml metadata as the JSON Helm writes), one
//! layer (the `.tgz`), and an OCI image manifest with the annotations Helm derives from the chart
//! (`generateOCIAnnotations` in Helm's `pkg/registry/chart.go`).
//!
//! The one deliberate difference from Helm: `org.opencontainers.image.created` comes only from
//! `SOURCE_DATE_EPOCH` (RFC 3339, UTC) and is left out otherwise, so the same chart always yields
//! the same manifest digest. The manifest is serialised canonically — fixed key order, no
//! whitespace, annotation keys sorted, `<`, `>`, `&` escaped the way Go's `encoding/json` does —
//! so its bytes (and digest) match on every machine.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::content::sha256_digest;
use super::error::OciError;
use super::media;

/// Content plus its descriptor fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_string(),
            digest: sha256_digest(&data),
            data,
        }
    }
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }
}

/// A chart ready to push: config, layer and the manifest that ties them together.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub name: String,
    pub version: String,
    pub config: Blob,
    pub layer: Blob,
    pub manifest: Blob,
}

/// A descriptor as found in a manifest or index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest as read back from a registry or layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// Build the artifact from the Helm config JSON (`ChartMetadata::to_helm_config_json`) and the
/// packaged chart. `created` is an RFC 3339 time or `None` (see [`created_from_epoch`]).
pub fn build(
    config_json: Vec<u8>,
    chart_tgz: Vec<u8>,
    created: Option<&str>,
) -> Result<Artifact, OciError> {
    let meta: Value = serde_json::from_slice(&config_json).map_err(|e| OciError::BadArtifact {
        what: "chart config".into(),
        reason: format!("not JSON: {e}"),
    })?;
    let field = |k: &str| {
        meta.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (name, version) = (field("name"), field("version"));
    if name.is_empty() || version.is_empty() {
        return Err(OciError::BadArtifact {
            what: "chart config".into(),
            reason: "the chart metadata has no name or version".into(),
        });
    }
    let config = Blob::new(media::HELM_CONFIG, config_json);
    let layer = Blob::new(media::HELM_CHART_CONTENT, chart_tgz);
    let annotations = annotations(&meta, created);
    let manifest = Blob::new(
        media::IMAGE_MANIFEST,
        manifest_bytes(&config, &layer, &annotations),
    );
    Ok(Artifact {
        name,
        version,
        config,
        layer,
        manifest,
    })
}

/// The annotations Helm sets for a chart, minus a clock-derived `created`.
pub fn annotations(meta: &Value, created: Option<&str>) -> BTreeMap<String, String> {
    let s = |k: &str| {
        meta.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut out = BTreeMap::new();
    let mut add = |k: &str, v: String| {
        if !v.trim().is_empty() {
            out.insert(k.to_string(), v);
        }
    };
    add(media::ANNOTATION_DESCRIPTION, s("description"));
    add(media::ANNOTATION_TITLE, s("name"));
    add(media::ANNOTATION_VERSION, s("version"));
    add(media::ANNOTATION_URL, s("home"));
    add(media::ANNOTATION_CREATED, created.unwrap_or("").to_string());
    if let Some(src) = meta
        .get("sources")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        add(
            media::ANNOTATION_SOURCE,
            src.as_str().unwrap_or("").to_string(),
        );
    }
    if let Some(ms) = meta
        .get("maintainers")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        let authors: Vec<String> = ms
            .iter()
            .map(|m| {
                let name = m.get("name").and_then(Value::as_str).unwrap_or("");
                let email = m.get("email").and_then(Value::as_str).unwrap_or("");
                if email.is_empty() {
                    name.to_string()
                } else {
                    format!("{name} ({email})")
                }
            })
            .collect();
        add(media::ANNOTATION_AUTHORS, authors.join(", "));
    }
    if let Some(extra) = meta.get("annotations").and_then(Value::as_object) {
        for (k, v) in extra {
            if media::IMMUTABLE_ANNOTATIONS.contains(&k.as_str()) {
                continue;
            }
            if let Some(v) = v.as_str() {
                out.insert(k.clone(), v.to_string());
            }
        }
    }
    out
}

fn descriptor(b: &Blob) -> Value {
    let mut m = Map::new();
    m.insert("mediaType".into(), Value::from(b.media_type.clone()));
    m.insert("digest".into(), Value::from(b.digest.clone()));
    m.insert("size".into(), Value::from(b.size()));
    Value::Object(m)
}

/// The canonical manifest bytes.
fn manifest_bytes(config: &Blob, layer: &Blob, annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("schemaVersion".into(), Value::from(2));
    m.insert("mediaType".into(), Value::from(media::IMAGE_MANIFEST));
    m.insert("config".into(), descriptor(config));
    m.insert("layers".into(), Value::Array(vec![descriptor(layer)]));
    if !annotations.is_empty() {
        let a: Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        m.insert("annotations".into(), Value::Object(a));
    }
    canonical_json(&Value::Object(m))
}

/// Compact JSON with Go's `encoding/json` string escaping (`<`, `>`, `&`, U+2028, U+2029 as
/// `\uXXXX`). Those characters can only occur inside strings, so replacing them after
/// serialisation is exact.
pub fn canonical_json(v: &Value) -> Vec<u8> {
    let s = serde_json::to_string(v).expect("a serde_json::Value always serialises");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

/// `SOURCE_DATE_EPOCH` (seconds since 1970) as RFC 3339 UTC, e.g. `2024-01-02T03:04:05Z`.
pub fn created_from_epoch(value: &str) -> Result<String, OciError> {
    let secs: i64 = value.trim().parse().map_err(|_| OciError::BadArtifact {
        what: "SOURCE_DATE_EPOCH".into(),
        reason: format!("`{value}` is not a number of seconds since 1970-01-01"),
    })?;
    if secs < 0 {
        return Err(OciError::BadArtifact {
            what: "SOURCE_DATE_EPOCH".into(),
            reason: format!("`{value}` is before 1970"),
        });
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Ok(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// Parse a manifest read back from a registry or layout, checking it is a Helm chart.
pub fn parse_chart_manifest(what: &str, bytes: &[u8]) -> Result<Manifest, OciError> {
    let bad = |reason: String| OciError::BadArtifact {
        what: what.to_string(),
        reason,
    };
    // Read with oci-client's OCI image-spec model (the reference Rust implementation of the
    // wire format), then keep the fields appkit checks.
    let spec: oci_client::manifest::OciImageManifest = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not an OCI image manifest: {e}")))?;
    let descriptor = |d: oci_client::manifest::OciDescriptor| -> Result<Descriptor, OciError> {
        Ok(Descriptor {
            size: u64::try_from(d.size)
                .map_err(|_| bad(format!("descriptor {} has a negative size", d.digest)))?,
            media_type: d.media_type,
            digest: d.digest,
            annotations: d.annotations.unwrap_or_default().into_iter().collect(),
        })
    };
    let m = Manifest {
        schema_version: u32::from(spec.schema_version),
        media_type: spec.media_type,
        config: descriptor(spec.config)?,
        layers: spec
            .layers
            .into_iter()
            .map(descriptor)
            .collect::<Result<_, _>>()?,
    };
    if let Some(mt) = m
        .media_type
        .as_deref()
        .filter(|mt| *mt != media::IMAGE_MANIFEST)
    {
        return Err(bad(format!(
            "unsupported manifest media type {mt} (expected {})",
            media::IMAGE_MANIFEST
        )));
    }
    if m.schema_version != 2 {
        return Err(bad(format!(
            "unsupported schemaVersion {}",
            m.schema_version
        )));
    }
    if m.config.media_type != media::HELM_CONFIG {
        return Err(bad(format!(
            "not a Helm chart (config media type is {}, expected {})",
            m.config.media_type,
            media::HELM_CONFIG
        )));
    }
    Ok(m)
}

impl Manifest {
    /// The chart content layer (exactly one is expected).
    pub fn chart_layer(&self, what: &str) -> Result<&Descriptor, OciError> {
        let layers: Vec<&Descriptor> = self
            .layers
            .iter()
            .filter(|l| {
                l.media_type == media::HELM_CHART_CONTENT
                    || l.media_type == media::HELM_CHART_CONTENT_LEGACY
            })
            .collect();
        match layers.as_slice() {
            [one] => Ok(one),
            [] => Err(OciError::BadArtifact {
                what: what.into(),
                reason: "the manifest has no chart layer".into(),
            }),
            _ => Err(OciError::BadArtifact {
                what: what.into(),
                reason: "the manifest has several chart layers".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Vec<u8> {
        br#"{"name":"app","home":"https://x.example/?a=1&b=<2>","sources":["https://git/src","https://other"],"version":"1.2.0+b1","description":"An app","maintainers":[{"name":"Ann","email":"ann@x"},{"name":"Bob"}],"apiVersion":"v2","annotations":{"org.opencontainers.image.title":"evil","team":"platform"}}"#.to_vec()
    }

    #[test]
    fn manifest_is_canonical_and_carries_helm_annotations() {
        let a = build(config(), b"tgz".to_vec(), None).unwrap();
        let text = String::from_utf8(a.manifest.data.clone()).unwrap();
        let expected = format!(
            concat!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
                r#""config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{}","size":{}}},"#,
                r#""layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"{}","size":3}}],"#,
                r#""annotations":{{"org.opencontainers.image.authors":"Ann (ann@x), Bob","#,
                r#""org.opencontainers.image.description":"An app","#,
                r#""org.opencontainers.image.source":"https://git/src","#,
                r#""org.opencontainers.image.title":"app","#,
                r#""org.opencontainers.image.url":"https://x.example/?a=1\u0026b=\u003c2\u003e","#,
                r#""org.opencontainers.image.version":"1.2.0+b1","team":"platform"}}}}"#
            ),
            a.config.digest,
            a.config.size(),
            a.layer.digest
        );
        assert_eq!(text, expected);
        assert_eq!(a.manifest.digest, sha256_digest(text.as_bytes()));
        assert_eq!((a.name.as_str(), a.version.as_str()), ("app", "1.2.0+b1"));
        // Same input → same digest.
        assert_eq!(
            build(config(), b"tgz".to_vec(), None)
                .unwrap()
                .manifest
                .digest,
            a.manifest.digest
        );
    }

    #[test]
    fn created_only_from_source_date_epoch() {
        assert_eq!(created_from_epoch("0").unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            created_from_epoch("1700000000").unwrap(),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            created_from_epoch("951782400").unwrap(),
            "2000-02-29T00:00:00Z"
        );
        assert!(created_from_epoch("soon").is_err());
        let a = build(config(), b"t".to_vec(), Some("2023-11-14T22:13:20Z")).unwrap();
        let m: Value = serde_json::from_slice(&a.manifest.data).unwrap();
        assert_eq!(
            m["annotations"][media::ANNOTATION_CREATED],
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn rejects_config_without_name_or_version() {
        assert!(build(br#"{"name":"x"}"#.to_vec(), vec![], None).is_err());
        assert!(build(b"nope".to_vec(), vec![], None).is_err());
    }

    #[test]
    fn parses_chart_manifests_and_refuses_images() {
        let a = build(config(), b"tgz".to_vec(), None).unwrap();
        let m = parse_chart_manifest("x", &a.manifest.data).unwrap();
        assert_eq!(m.chart_layer("x").unwrap().digest, a.layer.digest);
        let image = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:00","size":1},"layers":[]}"#;
        assert!(parse_chart_manifest("x", image)
            .unwrap_err()
            .to_string()
            .contains("not a Helm chart"));
    }
}
