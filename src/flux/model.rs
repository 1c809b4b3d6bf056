//! Typed Flux and Kustomize objects, exactly the subset appkit writes. Field names follow the CRDs
//! (`helm.toolkit.fluxcd.io/v2` HelmRelease, `source.toolkit.fluxcd.io/v1` OCIRepository and
//! HelmRepository) and kustomize's `kustomize.config.k8s.io/v1beta1` Kustomization; optional
//! fields are left out when unset so files stay small. Field order here is the order in the
//! rendered YAML (apiVersion, kind, metadata, spec — then the spec's fields as declared).
//!
//! This module owns the shapes, not the decisions: [`super::render`] fills them in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::config::{CommonMetadata, DriftIgnore};

pub const SOURCE_API_VERSION: &str = "source.toolkit.fluxcd.io/v1";
pub const HELM_API_VERSION: &str = "helm.toolkit.fluxcd.io/v2";
pub const KUSTOMIZE_API_VERSION: &str = "kustomize.config.k8s.io/v1beta1";
/// The layer of a Helm chart artifact; Flux must *copy* it (not extract) to hand Helm a `.tgz`.
pub const HELM_CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    /// `sharding.fluxcd.io/key` when the fleet is sharded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A reference to a Secret in the object's namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalObjectReference {
    pub name: String,
}

// ---------------------------------------------------------------------------------------------
// OCIRepository (source.toolkit.fluxcd.io/v1)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciRepository {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: OciRepositorySpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciRepositorySpec {
    /// `oci://host/project/chart`, without a tag.
    pub url: String,
    #[serde(rename = "ref")]
    pub reference: OciRepositoryRef,
    pub layer_selector: OciLayerSelector,
    pub interval: String,
    /// The registry speaks plain HTTP (`registry.insecure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<OciRepositoryVerification>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciRepositoryRef {
    /// Flux pulls by digest when set; the tag is kept for humans and `flux get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciLayerSelector {
    pub media_type: String,
    /// `extract` | `copy`
    pub operation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciRepositoryVerification {
    /// `cosign` | `notation`
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

// ---------------------------------------------------------------------------------------------
// HelmRepository (source.toolkit.fluxcd.io/v1), only `type: oci` (legacy source)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepository {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: HelmRepositorySpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    /// `default` | `oci`
    #[serde(rename = "type")]
    pub repo_type: String,
    /// `oci://host/project` (the chart name is in the HelmRelease's `chart.spec.chart`).
    pub url: String,
    pub interval: String,
    /// The registry speaks plain HTTP (`registry.insecure`; Flux reads it for `type: oci`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
}

// ---------------------------------------------------------------------------------------------
// HelmRelease (helm.toolkit.fluxcd.io/v2)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmRelease {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: HelmReleaseSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    /// Exactly one of `chart_ref` / `chart` is set (the CRD's CEL rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceSourceReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,
    pub release_name: String,
    pub target_namespace: String,
    pub storage_namespace: String,
    pub interval: String,
    pub timeout: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    pub install: Install,
    pub upgrade: Upgrade,
    pub drift_detection: DriftDetection,
    pub test: Test,
    /// The ServiceAccount helm-controller impersonates for this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Labels and annotations on every object the release creates (Flux >= 2.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// The app's values (its `values.yaml` merged with the environment overlay), keys sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// `OCIRepository` | `HelmChart` | `ExternalArtifact` (chartRef); `HelmRepository` (chart.spec.sourceRef)
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplate {
    pub spec: HelmChartTemplateSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    pub chart: String,
    pub version: String,
    pub source_ref: CrossNamespaceSourceReference,
    pub interval: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<HelmChartVerification>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartVerification {
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Install {
    pub create_namespace: bool,
    /// Left out with the RetryOnFailure strategy (it does not remediate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
}

/// helm-controller's install/upgrade strategy (Flux >= 2.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upgrade {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    pub retries: i64,
    /// Upgrade only: remediate (roll back) the last failure when retries run out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftDetection {
    /// `enabled` | `warn` | `disabled`
    pub mode: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<DriftIgnore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Test {
    pub enable: bool,
}

// ---------------------------------------------------------------------------------------------
// Kustomization (kustomize.config.k8s.io/v1beta1)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Kustomization {
    pub api_version: String,
    pub kind: String,
    pub resources: Vec<String>,
}

impl Kustomization {
    pub fn new(mut resources: Vec<String>) -> Self {
        resources.sort();
        Kustomization {
            api_version: KUSTOMIZE_API_VERSION.into(),
            kind: "Kustomization".into(),
            resources,
        }
    }
}

/// Any object appkit writes, serialised through the deterministic emitter.
pub fn to_yaml<T: Serialize>(object: &T) -> String {
    let value = serde_json::to_value(object).expect("typed Flux objects always serialise");
    crate::yamlout::to_yaml(&value, crate::yamlout::Profile::Appkit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn release(chart_ref: bool) -> HelmRelease {
        let remediation = Remediation {
            retries: 3,
            remediate_last_failure: None,
        };
        HelmRelease {
            api_version: HELM_API_VERSION.into(),
            kind: "HelmRelease".into(),
            metadata: ObjectMeta {
                name: "app1".into(),
                namespace: "flux-system".into(),
                labels: BTreeMap::new(),
            },
            spec: HelmReleaseSpec {
                chart_ref: chart_ref.then(|| CrossNamespaceSourceReference {
                    kind: "OCIRepository".into(),
                    name: "app1".into(),
                    namespace: Some("flux-system".into()),
                }),
                chart: (!chart_ref).then(|| HelmChartTemplate {
                    spec: HelmChartTemplateSpec {
                        chart: "app".into(),
                        version: "0.1.0".into(),
                        source_ref: CrossNamespaceSourceReference {
                            kind: "HelmRepository".into(),
                            name: "app1".into(),
                            namespace: None,
                        },
                        interval: "10m".into(),
                        verify: None,
                    },
                }),
                release_name: "app1".into(),
                target_namespace: "app1".into(),
                storage_namespace: "app1".into(),
                interval: "10m".into(),
                timeout: "5m".into(),
                depends_on: vec![],
                install: Install {
                    create_namespace: true,
                    remediation: Some(remediation.clone()),
                    strategy: None,
                },
                upgrade: Upgrade {
                    remediation: Some(remediation),
                    strategy: None,
                },
                drift_detection: DriftDetection {
                    mode: "enabled".into(),
                    ignore: Vec::new(),
                },
                test: Test { enable: false },
                service_account_name: None,
                common_metadata: None,
                values: Some(json!({"replicas": 2, "flag": "yes"})),
            },
        }
    }

    #[test]
    fn helm_release_serialises_with_crd_field_names_and_omits_unset_fields() {
        let v = serde_json::to_value(release(true)).unwrap();
        let spec = &v["spec"];
        assert_eq!(spec["chartRef"]["kind"], "OCIRepository");
        assert!(spec.get("chart").is_none());
        assert!(spec.get("dependsOn").is_none());
        assert!(spec["upgrade"]["remediation"]
            .get("remediateLastFailure")
            .is_none());
        for key in [
            "releaseName",
            "targetNamespace",
            "storageNamespace",
            "driftDetection",
            "install",
            "test",
        ] {
            assert!(spec.get(key).is_some(), "{key} missing in {spec}");
        }
        let legacy = serde_json::to_value(release(false)).unwrap();
        assert!(legacy["spec"].get("chartRef").is_none());
        assert_eq!(
            legacy["spec"]["chart"]["spec"]["sourceRef"]["kind"],
            "HelmRepository"
        );
    }

    #[test]
    fn yaml_round_trips_to_the_same_typed_object() {
        for r in [release(true), release(false)] {
            let text = to_yaml(&r);
            assert!(
                text.starts_with(
                    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n"
                ),
                "{text}"
            );
            assert!(text.contains("flag: \"yes\""), "{text}");
            let back: HelmRelease = serde_saphyr::from_str(&text).unwrap();
            assert_eq!(back, r);
        }
    }

    #[test]
    fn oci_repository_uses_ref_and_layer_selector() {
        let o = OciRepository {
            api_version: SOURCE_API_VERSION.into(),
            kind: "OCIRepository".into(),
            metadata: ObjectMeta {
                name: "app1".into(),
                namespace: "flux-system".into(),
                labels: BTreeMap::new(),
            },
            spec: OciRepositorySpec {
                url: "oci://h/p/app".into(),
                reference: OciRepositoryRef {
                    digest: Some("sha256:ab".into()),
                    tag: Some("1.0.0_b".into()),
                },
                layer_selector: OciLayerSelector {
                    media_type: HELM_CHART_LAYER_MEDIA_TYPE.into(),
                    operation: "copy".into(),
                },
                interval: "10m".into(),
                insecure: None,
                secret_ref: Some(LocalObjectReference {
                    name: "pull".into(),
                }),
                cert_secret_ref: None,
                verify: Some(OciRepositoryVerification {
                    provider: "cosign".into(),
                    secret_ref: Some(LocalObjectReference {
                        name: "cosign-pub".into(),
                    }),
                }),
            },
        };
        let text = to_yaml(&o);
        assert!(
            text.contains("  ref:\n    digest: sha256:ab\n    tag: \"1.0.0_b\"\n"),
            "{text}"
        );
        assert!(text.contains("  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n"), "{text}");
        assert!(!text.contains("certSecretRef"), "{text}");
        let back: OciRepository = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn kustomization_sorts_resources() {
        let k = Kustomization::new(vec!["b.yaml".into(), "a.yaml".into()]);
        assert_eq!(
            to_yaml(&k),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - a.yaml\n  - b.yaml\n"
        );
    }
}
