//! The semantic checks of `appkit.yaml` (what serde cannot express): SemVer versions, DNS-1123
//! names, distinct output directories, an `oci://` repository, Go durations; and the checks that
//! need the list of apps (known `dependsOn` targets, no cycles, valid app names). All return
//! [`Diagnostic`]s with positions from the [`SourceMap`]; none stops at the first problem.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::{AppSettings, Config, Loaded, SourceMap};
use crate::diagnostics::Diagnostic;

impl Loaded {
    /// Checks that need the list of apps (the apps directory), with positions in appkit.yaml:
    /// app names are DNS-1123 labels, settings and pins name existing apps, `dependsOn` names
    /// existing apps without cycles.
    pub fn check_apps(&self, apps: &[String]) -> Vec<Diagnostic> {
        let known: BTreeSet<&str> = apps.iter().map(String::as_str).collect();
        let sm = &self.source_map;
        let mut out = Vec::new();
        for app in apps {
            if let Some(why) = dns1123_label(app) {
                out.push(
                    Diagnostic::error("app-name", format!("app directory name {app:?} {why}"))
                        .help("app names become Kubernetes object names: lowercase letters, digits and '-'"),
                );
            } else if let Some(pattern) = &self.config.apps.namespace {
                let ns = self.app_namespace(app);
                let own = self
                    .config
                    .apps
                    .settings
                    .get(app)
                    .is_some_and(|s| s.namespace.is_some());
                if let (false, Some(why)) = (own, dns1123_label(&ns)) {
                    out.push(
                        Diagnostic::error(
                            "name",
                            format!("app {app:?} gets namespace {ns:?} from apps.namespace {pattern:?}, which {why}"),
                        )
                        .at(sm.value("apps/namespace"))
                        .help(format!("set apps.settings.{app}.namespace to a shorter name, or shorten the pattern")),
                    );
                }
            }
        }
        for (app, settings) in &self.config.apps.settings {
            if !known.contains(app.as_str()) {
                out.push(
                    Diagnostic::warning(
                        "unknown-app",
                        format!("apps.settings names {app:?}, which has no apps/{app}/values.yaml"),
                    )
                    .at(sm.key(&format!("apps/settings/{app}")))
                    .help(suggest(app, &known)),
                );
            }
            for (i, dep) in settings.depends_on.iter().enumerate() {
                let at = sm.value(&format!("apps/settings/{app}/dependsOn/{i}"));
                if dep == app {
                    out.push(
                        Diagnostic::error("depends-on", format!("{app} depends on itself")).at(at),
                    );
                } else if !known.contains(dep.as_str()) {
                    out.push(
                        Diagnostic::error(
                            "depends-on",
                            format!("{app} depends on {dep:?}, which is not an app"),
                        )
                        .at(at)
                        .help(suggest(dep, &known)),
                    );
                }
            }
        }
        if let Some(cycle) = self.dependency_cycle() {
            let first = &cycle[0];
            out.push(
                Diagnostic::error(
                    "depends-on",
                    format!("dependency cycle: {}", cycle.join(" → ")),
                )
                .at(sm.key(&format!("apps/settings/{first}/dependsOn")))
                .help("Flux would wait forever: remove one of these dependsOn entries"),
            );
        }
        for (env, e) in &self.config.environments {
            for app in e.pins.keys() {
                if !known.contains(app.as_str()) {
                    out.push(
                        Diagnostic::warning(
                            "unknown-app",
                            format!("environments.{env}.pins names {app:?}, which is not an app"),
                        )
                        .at(sm.key(&format!("environments/{env}/pins/{app}")))
                        .help(suggest(app, &known)),
                    );
                }
            }
        }
        out
    }

    fn dependency_cycle(&self) -> Option<Vec<String>> {
        let settings = &self.config.apps.settings;
        // Depth-first search with colours; report the first cycle found (deterministic: sorted).
        fn visit<'a>(
            n: &'a str,
            s: &'a BTreeMap<String, AppSettings>,
            state: &mut BTreeMap<&'a str, u8>,
            stack: &mut Vec<&'a str>,
        ) -> Option<Vec<String>> {
            match state.get(n) {
                Some(2) => return None,
                Some(1) => {
                    let start = stack.iter().position(|x| *x == n).unwrap_or(0);
                    let mut c: Vec<String> = stack[start..].iter().map(|x| x.to_string()).collect();
                    c.push(n.to_string());
                    return Some(c);
                }
                _ => {}
            }
            state.insert(n, 1);
            stack.push(n);
            if let Some(st) = s.get(n) {
                for d in &st.depends_on {
                    if d != n {
                        if let Some(c) = visit(d, s, state, stack) {
                            return Some(c);
                        }
                    }
                }
            }
            stack.pop();
            state.insert(n, 2);
            None
        }
        let mut state = BTreeMap::new();
        for n in settings.keys() {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, settings, &mut state, &mut stack) {
                return Some(c);
            }
        }
        None
    }
}

fn suggest(name: &str, known: &BTreeSet<&str>) -> String {
    match crate::diagnostics::closest(name, known.iter().copied()) {
        Some(k) => format!("did you mean {k:?}?"),
        None if known.is_empty() => "there are no apps (directories with a values.yaml)".into(),
        None => format!(
            "known apps: {}",
            known.iter().copied().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Semantic checks that need no file system access.
pub fn check(config: &Config, sm: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |path: &str, code: &str, msg: String, help: &str| {
        let mut d = Diagnostic::error(code, msg).at(sm.value(path));
        if !help.is_empty() {
            d = d.help(help);
        }
        out.push(d);
    };

    let repo = &config.chart.repository;
    match repo.strip_prefix("oci://") {
        None => err(
            "chart/repository",
            "repository",
            format!("chart.repository {repo:?} is not an oci:// reference"),
            "write it as oci://<registry host>/<project>, e.g. oci://harbor.example.com/platform",
        ),
        Some(rest) => {
            let bad = rest.is_empty()
                || rest.ends_with('/')
                || rest.contains("//")
                || rest.contains(char::is_whitespace);
            if bad
                || rest
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains(':') || last.contains('@'))
            {
                err("chart/repository", "repository", format!("chart.repository {repo:?} must be oci://host/project without a tag, digest or trailing '/'"),
                    "the chart name and version are added by appkit");
            }
        }
    }

    if config.environments.is_empty() {
        err(
            "environments",
            "environments",
            "no environments: define at least one under `environments:`".into(),
            "",
        );
    }
    let mut outputs: BTreeMap<PathBuf, &str> = BTreeMap::new();
    for (name, env) in &config.environments {
        let p = format!("environments/{name}");
        if let Some(why) = dns1123_label(name) {
            err(&p, "name", format!("environment name {name:?} {why}"), "environment names appear in file names (values.<env>.yaml): use lowercase letters, digits and '-'");
        }
        if let Some(why) = dns1123_label(&env.namespace) {
            err(
                &format!("{p}/namespace"),
                "name",
                format!("namespace {:?} {why}", env.namespace),
                "",
            );
        }
        if let Err(e) = semver::Version::parse(&env.chart_version) {
            err(
                &format!("{p}/chartVersion"),
                "version",
                format!("chartVersion {:?} is not SemVer 2: {e}", env.chart_version),
                "write a full version like 1.2.0; quote it if YAML would read it as a number",
            );
        }
        for (app, v) in &env.pins {
            if let Err(e) = semver::Version::parse(v) {
                err(
                    &format!("{p}/pins/{app}"),
                    "version",
                    format!("pin {app}: {v:?} is not SemVer 2: {e}"),
                    "",
                );
            }
        }
        if env.output.as_os_str().is_empty() {
            err(
                &format!("{p}/output"),
                "output",
                "output directory is empty".into(),
                "",
            );
        }
        let norm = normalize(&env.output);
        if let Some(other) = outputs.insert(norm, name) {
            err(&format!("{p}/output"), "output", format!("environments {other} and {name} write to the same output directory {}", env.output.display()),
                "each environment needs its own directory, or render would overwrite one with the other");
        }
    }
    for (app, s) in &config.apps.settings {
        let p = format!("apps/settings/{app}");
        if let Some(ns) = &s.namespace {
            if let Some(why) = dns1123_label(ns) {
                err(
                    &format!("{p}/namespace"),
                    "name",
                    format!("namespace {ns:?} {why}"),
                    "",
                );
            }
        }
        if let Some(rn) = &s.release_name {
            if let Some(why) = dns1123_label(rn) {
                err(
                    &format!("{p}/releaseName"),
                    "name",
                    format!("releaseName {rn:?} {why}"),
                    "",
                );
            } else if rn.len() > 53 {
                err(
                    &format!("{p}/releaseName"),
                    "release-name",
                    format!(
                        "releaseName {rn:?} is {} characters; Helm allows at most 53",
                        rn.len()
                    ),
                    "",
                );
            }
        }
    }
    for (key, v) in [
        ("registry/pullSecret", &config.registry.pull_secret),
        ("registry/caSecret", &config.registry.ca_secret),
        ("registry/cosignSecret", &config.registry.cosign_secret),
    ] {
        if let Some(name) = v {
            if let Some(why) = dns1123_subdomain(name) {
                err(key, "name", format!("secret name {name:?} {why}"), "");
            }
        }
    }
    for (key, v) in [
        ("flux/interval", &config.flux.interval),
        ("flux/timeout", &config.flux.timeout),
    ] {
        if !is_go_duration(v) {
            err(
                key,
                "duration",
                format!("{v:?} is not a duration Flux accepts"),
                "use a number with ms, s, m or h, e.g. 10m or 1h30m",
            );
        }
    }
    let mut drift = |at: &str, d: &crate::config::DriftSetting| {
        if let Some(mode) = d.mode() {
            if !["enabled", "warn", "disabled"].contains(&mode) {
                let at = match d {
                    crate::config::DriftSetting::Mode(_) => at.to_string(),
                    _ => format!("{at}/mode"),
                };
                err(
                    &at,
                    "drift-detection",
                    format!("driftDetection {mode:?} is not one of enabled, warn, disabled"),
                    "",
                );
            }
        }
        for (i, rule) in d.ignore().iter().enumerate() {
            for (j, p) in rule.paths.iter().enumerate() {
                if !p.starts_with('/') {
                    err(
                        &format!("{at}/ignore/{i}/paths/{j}"),
                        "drift-detection",
                        format!("ignore path {p:?} is not a JSON Pointer"),
                        "write it as helm-controller expects, from the object's root: e.g. /spec/replicas",
                    );
                }
            }
        }
    };
    drift("flux/driftDetection", &config.flux.drift_detection);
    for (app, s) in &config.apps.settings {
        if let Some(d) = s.flux.as_ref().and_then(|f| f.drift_detection.as_ref()) {
            drift(&format!("apps/settings/{app}/flux/driftDetection"), d);
        }
    }
    let flux = &config.flux;
    if !crate::config::SOURCE_MODES.contains(&flux.sources.as_str()) {
        err(
            "flux/sources",
            "flux",
            format!("sources {:?} is not one of shared, per-app", flux.sources),
            "shared: one OCIRepository per environment and chart version (sources.yaml); per-app: one in each app's file",
        );
    }
    if !crate::config::FLUX_VERSIONS.contains(&flux.version.as_str()) {
        err(
            "flux/version",
            "flux",
            format!(
                "flux.version {:?} is not a Flux version render knows the CRDs of",
                flux.version
            ),
            &format!(
                "one of {} (the minor version of the Flux the cluster runs)",
                crate::config::FLUX_VERSIONS.join(", ")
            ),
        );
    }
    let mut seen_shards = std::collections::BTreeSet::new();
    for (i, shard) in flux.shards.iter().enumerate() {
        let ok = !shard.is_empty()
            && shard.len() <= 63
            && shard
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && shard.starts_with(|c: char| c.is_ascii_alphanumeric())
            && shard.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            err(
                &format!("flux/shards/{i}"),
                "flux",
                format!("shard {shard:?} is not a Kubernetes label value"),
                "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit: it must match the controllers' --watch-label-selector",
            );
        }
        if !seen_shards.insert(shard) {
            err(
                &format!("flux/shards/{i}"),
                "flux",
                format!("shard {shard:?} is listed twice"),
                "list each shard once",
            );
        }
    }
    let mut strategy = |at: &str, strategy: Option<&String>, interval: Option<&String>| {
        if let Some(s) = strategy {
            if !crate::config::STRATEGIES.contains(&s.as_str()) {
                err(
                    &format!("{at}/strategy"),
                    "flux",
                    format!("strategy {s:?} is not one of RemediateOnFailure, RetryOnFailure"),
                    "RetryOnFailure retries a failed install or upgrade every retryInterval instead of remediating (Flux >= 2.7)",
                );
            }
        }
        if let Some(i) = interval {
            if strategy.map(String::as_str) != Some("RetryOnFailure") {
                err(
                    &format!("{at}/retryInterval"),
                    "flux",
                    "retryInterval is set but strategy is not RetryOnFailure".into(),
                    "helm-controller accepts retryInterval only with strategy RetryOnFailure",
                );
            } else if !is_go_duration(i) {
                err(
                    &format!("{at}/retryInterval"),
                    "duration",
                    format!("{i:?} is not a duration Flux accepts"),
                    "use a number with ms, s, m or h, e.g. 10m or 1h30m",
                );
            }
        }
    };
    strategy("flux", flux.strategy.as_ref(), flux.retry_interval.as_ref());
    for (app, s) in &config.apps.settings {
        let Some(f) = &s.flux else { continue };
        let at = format!("apps/settings/{app}/flux");
        strategy(
            &at,
            f.strategy.as_ref().or(flux.strategy.as_ref()),
            f.retry_interval.as_ref(),
        );
    }
    for (app, s) in &config.apps.settings {
        let Some(f) = &s.flux else { continue };
        let at = format!("apps/settings/{app}/flux");
        if let Some(shard) = &f.shard {
            if !flux.shards.contains(shard) {
                err(
                    &format!("{at}/shard"),
                    "flux",
                    format!("shard {shard:?} is not one of flux.shards"),
                    "add it to flux.shards, or remove the app's shard to let its name choose one",
                );
            }
        }
    }
    if config.registry.insecure && config.registry.ca_secret.is_some() {
        err(
            "registry/caSecret",
            "registry",
            "registry.caSecret is set but registry.insecure says the registry speaks plain HTTP"
                .into(),
            "a CA certificate is for a TLS registry: remove caSecret, or remove insecure: true",
        );
    }
    if !crate::config::SOURCE_KINDS.contains(&config.flux.source_kind.as_str()) {
        err(
            "flux/sourceKind",
            "source-kind",
            format!(
                "sourceKind {:?} is not one of ocirepository, helmrepository",
                config.flux.source_kind
            ),
            "ocirepository (OCIRepository + chartRef, pins the chart digest; Flux >= 2.6) or helmrepository (HelmRepository type oci + chart.spec, for older Flux)",
        );
    }
    if let Some(pattern) = &config.apps.namespace {
        // The pattern with a typical app name must be a namespace name.
        let sample = pattern.replace("{app}", "app");
        if !pattern.contains("{app}") {
            err(
                "apps/namespace",
                "name",
                format!("apps.namespace {pattern:?} does not contain `{{app}}`, so every app would share one namespace"),
                "write a pattern such as \"{app}-ns\"; to put one app elsewhere use apps.settings.<app>.namespace",
            );
        } else if let Some(why) = dns1123_label(&sample) {
            err(
                "apps/namespace",
                "name",
                format!("apps.namespace {pattern:?} gives namespace {sample:?}, which {why}"),
                "namespaces are DNS-1123 labels: lowercase letters, digits and '-'",
            );
        }
    }
    for (i, entry) in config.network.platform_ingress.iter().enumerate() {
        let p = format!("network/platformIngress/{i}");
        if let Some(why) = dns1123_label(&entry.namespace) {
            err(
                &format!("{p}/namespace"),
                "name",
                format!("namespace {:?} {why}", entry.namespace),
                "",
            );
        }
        if entry.ports.is_empty() {
            err(
                &format!("{p}/ports"),
                "port",
                format!("network.platformIngress[{i}] names no ports"),
                "name the ports the namespace may reach: app, dapr-metrics, metrics or a number",
            );
        }
        for (j, port) in entry.ports.iter().enumerate() {
            let ok = match port {
                serde_json::Value::Number(n) => {
                    n.as_u64().is_some_and(|n| (1..=65535).contains(&n))
                }
                serde_json::Value::String(s) => {
                    crate::config::PORT_NAMES.contains(&s.as_str())
                        || s.parse::<u64>().is_ok_and(|n| (1..=65535).contains(&n))
                }
                _ => false,
            };
            if !ok {
                err(
                    &format!("{p}/ports/{j}"),
                    "port",
                    format!("port {port} is neither a port number (1-65535) nor one of app, dapr-metrics, metrics"),
                    "app = the app's port, dapr-metrics = the Dapr sidecar's metrics port (9090), metrics = the app's metricsPort",
                );
            }
        }
    }
    for (i, ns) in config.platform_namespaces.iter().enumerate() {
        if let Some(why) = dns1123_label(ns) {
            err(
                &format!("platformNamespaces/{i}"),
                "name",
                format!("namespace {ns:?} {why}"),
                "",
            );
        }
    }
    for (i, pool) in config.node_pools.iter().enumerate() {
        let pool = pool.name();
        if let Some(why) = label_value(pool) {
            err(
                &format!("nodePools/{i}"),
                "name",
                format!("node pool {pool:?} {why}"),
                "node pools are node label values",
            );
        }
    }
    out
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `None` when `s` is a DNS-1123 label (Kubernetes namespace / object name), else why not.
pub fn dns1123_label(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("is empty".into());
    }
    if s.len() > 63 {
        return Some(format!("is {} characters long (at most 63)", s.len()));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("must consist of lowercase letters, digits and '-'".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("must start and end with a letter or digit".into());
    }
    None
}

/// `None` when `s` is a DNS-1123 subdomain (Secret names), else why not.
pub fn dns1123_subdomain(s: &str) -> Option<String> {
    if s.len() > 253 {
        return Some("is longer than 253 characters".into());
    }
    for part in s.split('.') {
        if let Some(why) = dns1123_label(part) {
            return Some(format!("is not a DNS-1123 subdomain: part {part:?} {why}"));
        }
    }
    None
}

fn label_value(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric();
    (!ok).then(|| "is not a valid Kubernetes label value".into())
}

/// Go durations as the Flux CRDs accept them: `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`.
pub fn is_go_duration(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.is_empty() {
        return false;
    }
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let f = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == f {
                return false;
            }
        }
        if b[i..].starts_with(b"ms") {
            i += 2;
        } else if i < b.len() && matches!(b[i], b's' | b'm' | b'h') {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_durations() {
        assert!(dns1123_label("app-1").is_none());
        assert!(dns1123_label("App").is_some());
        assert!(dns1123_label(&"a".repeat(64)).is_some());
        assert!(dns1123_subdomain("harbor.pull-secret").is_none());
        for ok in ["10m", "1h30m", "500ms", "1.5h"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "10", "m", "10 m", "1d", "1.m"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
