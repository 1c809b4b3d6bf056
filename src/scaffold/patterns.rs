//! Regular expressions of the schema said in words, for the reference table. Only the patterns the
//! shared chart uses are known; any other pattern is shown as the expression itself.

/// Plain words for a schema `pattern`, when it is one the chart uses.
pub fn explain(pattern: &str) -> Option<&'static str> {
    Some(match pattern {
        "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" => {
            "lower case letters, digits and `-`, starting and ending with a letter or digit"
        }
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$" => {
            "empty, or lower case letters, digits and `-`, starting and ending with a letter or digit"
        }
        "^(sha256:[a-f0-9]{64})?$" => "empty, or `sha256:` followed by 64 characters 0-9/a-f",
        "^([0-9]+(\\.[0-9]+)?|\\.[0-9]+)m?$" => {
            "a CPU amount: cores (`0.5`, `1`) or thousandths of a core (`250m`)"
        }
        "^[0-9]+(\\.[0-9]+)?([KMGTPE]i|[kMGTPE])?$" => {
            "a size: a number with an optional unit `Ki` `Mi` `Gi` `Ti` `Pi` `Ei` or `k` `M` `G` `T` `P` `E` (e.g. `128Mi`)"
        }
        "^[A-Za-z_][A-Za-z0-9_]*$" => "letters, digits and `_`, not starting with a digit",
        "^[0-9]{1,3}%$" => "as text: a percentage such as `50%`",
        "^/[!-~]*$" => "starts with `/`; no spaces",
        "^([A-Za-z0-9_][A-Za-z0-9_.-]*)?$" => {
            "empty, or letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
        }
        "^[0-9]+$" => "as text: digits only",
        "^[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*((:[0-9]+)?(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)+)?$" => {
            "an image repository: lower case letters, digits, `.`, `_`, `-` and `/` (a registry host may carry a `:port`); no tag, no digest, no `https://`"
        }
        "^(([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*/[0-9]{1,3})$" => {
            "an IPv4 or IPv6 address range in CIDR notation, e.g. `10.20.0.0/16`"
        }
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" => {
            "a Kubernetes label key, optionally prefixed by a DNS name and `/`"
        }
        "^(app|dapr-metrics|metrics)$" => {
            "`app` (the app's port), `metrics` (the app's metrics port) or `dapr-metrics` (the sidecar's 9090)"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern of the shipped chart has words; a new pattern needs an entry here.
    #[test]
    fn every_chart_pattern_is_explained() {
        let text = include_str!("../../chart/values.schema.json");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let schema = super::super::model::Schema::from_value(&v);
        for f in schema.all() {
            if let Some(p) = &f.pattern {
                assert!(
                    explain(p).is_some(),
                    "no words for the pattern of {}: {p}",
                    f.dotted()
                );
            }
        }
    }
}
