//! Command-line definitions, and nothing else: what the user can type. No I/O happens here; the
//! doc comments are the `--help` text. `commands/` turns these into resolved settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "helm-appkit",
    bin_name = "helm appkit",
    version,
    about = "Package, publish, validate and render the shared app chart for many small apps",
    long_about = "appkit owns a platform's shared application chart: it packages it reproducibly, publishes it to \
OCI registries (Harbor) with Helm's exact media types, validates every app's values against the chart's \
schema and the platform's rules with file:line diagnostics, and renders the Flux objects that deploy each app.",
    after_long_help = ROOT_LONG_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The root command's long help (`helm appkit --help`): what every command shares.
const ROOT_LONG_HELP: &str = "\
Exit codes:
  0  ok
  1  the input was checked and is wrong: validation errors, drift (render --check), a version not
     raised, a tag holding other content, a malformed file (invalid YAML, not UTF-8, too large)
  2  usage, I/O (a file that cannot be read), network or unexpected errors

Environment:
  APPKIT_CONFIG          the platform config file (as --config)
  HELM_REGISTRY_CONFIG   Helm's registry credentials file (`helm registry login`)
  DOCKER_CONFIG          where Docker's config.json is (credential helpers, auths)
  HELM_DEBUG             as --debug (set by `helm --debug`)
  NO_COLOR, HELM_COLOR   colour (see --color)
  SOURCE_DATE_EPOCH      the timestamp `package` writes (default 0: reproducible archives)

Config lookup: commands that act on a platform repo read ./appkit.yaml, searched upwards from the
current directory (or --config FILE). stdout carries data only (paths, digests, YAML, -o json:
docs/json-output.md); status and diagnostics go to stderr.";

#[derive(Debug, Args)]
#[command(next_help_heading = "Global flags")]
pub struct GlobalArgs {
    /// Output format: human text, JSON on stdout (one object, docs/json-output.md), GitHub
    /// Actions annotations (validate, publish, render --check, plan) or markdown (plan: a
    /// pull-request comment)
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Print nothing but data and errors
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Print debug information on stderr (also on when Helm's HELM_DEBUG is set)
    #[arg(long, global = true)]
    pub debug: bool,
    /// When to colour diagnostics and diffs: auto (a terminal), always or never. Without it:
    /// NO_COLOR (set, not empty) turns colour off, then Helm's HELM_COLOR decides, then auto
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorArg>,
    /// The platform config file (default: ./appkit.yaml, searched upwards from the current directory)
    #[arg(
        long = "config",
        global = true,
        env = "APPKIT_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
}

impl GlobalArgs {
    pub fn output_json(&self) -> bool {
        self.output == OutputFormat::Json
    }
    pub fn debug(&self) -> bool {
        self.debug
            || std::env::var("HELM_DEBUG")
                .map(|v| !v.is_empty() && v != "0" && v != "false")
                .unwrap_or(false)
    }
}

/// `--env`, the same on every command that acts on environments: repeatable (`-e a -e b`) and
/// comma-separated (`--env a,b`); the workspace resolves the names (unknown → usage error).
#[derive(Debug, Clone, Default, Args)]
pub struct EnvArgs {
    /// Only these environments of appkit.yaml (repeatable: `-e dev -e prod`, or comma-separated:
    /// `--env dev,prod`; default: every environment)
    #[arg(long = "env", short = 'e', value_name = "ENV", value_delimiter = ',')]
    pub env: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

impl From<ColorArg> for crate::printer::ColorChoice {
    fn from(c: ColorArg) -> Self {
        match c {
            ColorArg::Auto => crate::printer::ColorChoice::Auto,
            ColorArg::Always => crate::printer::ColorChoice::Always,
            ColorArg::Never => crate::printer::ColorChoice::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    Github,
    Markdown,
    /// One self-contained HTML page (`report` only)
    Html,
}

impl OutputFormat {
    /// Whether the subcommand `command` (its name; `render_check`: `render` was given
    /// `--check`) writes this format. The one answer to it: the command line refuses the others
    /// (exit 2) and completion offers only these. `human` and `json` are outputs of every
    /// command; `github` of validate, publish, render --check and plan; `markdown` of plan;
    /// `html` of report.
    pub fn accepted_by(self, command: &str, render_check: bool) -> bool {
        match self {
            OutputFormat::Human | OutputFormat::Json => true,
            OutputFormat::Github => {
                matches!(command, "validate" | "publish" | "plan")
                    || (command == "render" && render_check)
            }
            OutputFormat::Markdown => command == "plan",
            OutputFormat::Html => command == "report",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Package a chart directory into a byte-reproducible .tgz that Helm 3 and 4 accept
    // `--version` is the chart version here and on `pull` (Helm's meaning); appkit's own version
    // is `helm appkit --version` and `helm appkit version` only (no subcommand has the flag).
    #[command(
        after_help = "Examples:\n  helm appkit package                       # the chart of appkit.yaml, into .
  helm appkit package chart/ -d dist --version 1.2.3"
    )]
    Package(PackageArgs),
    /// Push a chart (.tgz or directory) to an OCI registry or an OCI image layout, Helm-compatible
    #[command(
        after_help = "Examples:\n  helm appkit push dist/app-0.2.0.tgz oci://harbor.example.com/platform
  helm appkit push chart/ oci-layout:out/registry"
    )]
    Push(PushArgs),
    /// Download a published chart, verifying every digest
    #[command(
        after_help = "Examples:\n  helm appkit pull oci://harbor.example.com/platform/app --version 0.2.0
  helm appkit pull oci://harbor.example.com/platform/app --version '^0.2' --untar -d vendor"
    )]
    Pull(PullArgs),
    /// List a chart's published versions (SemVer-sorted) with their manifest digests
    #[command(
        after_help = "Examples:\n  helm appkit versions oci://harbor.example.com/platform/app
  helm appkit versions oci://harbor.example.com/platform/app -o json"
    )]
    Versions(VersionsArgs),
    /// CI entry point: validate every app, package, check the version was raised, push, update appkit.lock
    #[command(
        after_help = "Examples:\n  echo \"$HARBOR_TOKEN\" | helm appkit publish --username 'robot$platform+ci' --password-stdin
  helm appkit publish --dry-run                 # validate, package, version check; no upload
  helm appkit publish --to oci-layout:out/registry"
    )]
    Publish(PublishArgs),
    /// Write the Flux OCIRepository + HelmRelease of every app, per environment (--check: fail on drift)
    #[command(
        after_help = "Examples:\n  helm appkit render                            # every environment of appkit.yaml
  helm appkit render --check -o github          # in CI: exit 1 on drift
  helm appkit render -e prod --out /tmp/prod"
    )]
    Render(RenderArgs),
    /// Check app values files against the chart's schema and the platform's rules (file:line:col diagnostics)
    #[command(
        after_help = "Examples:\n  helm appkit validate                          # every app, every environment
  helm appkit validate apps/app1 -e prod
  helm appkit validate --list-rules
  helm appkit validate --chart ./chart my-values.yaml"
    )]
    Validate(ValidateArgs),
    /// Start a new app: a commented apps/<APP>/values.yaml (and environment overlays) that validates
    #[command(
        after_help = "Examples:\n  helm appkit new app3 --image harbor.example.com/apps/app3@sha256:<digest> --port 5000 --uses statestore"
    )]
    New(NewArgs),
    /// Write the chart's README.md values reference from its values.schema.json
    #[command(after_help = "Examples:\n  helm appkit docs
  helm appkit docs --check                      # in CI: exit 1 when README.md is stale")]
    Docs(DocsArgs),
    /// Turn existing Flux HelmReleases into apps: values files, appkit.yaml settings, and a report
    /// of what must change to pass validation
    #[command(after_help = "Examples:\n  helm appkit import legacy/*.yaml --dry-run
  helm appkit import legacy/app2.yaml --prefer release")]
    Import(ImportArgs),
    /// What a chart or values change does to every app × environment, rendered by the real Helm
    /// on both sides (the --base revision and the working tree), before merge
    #[command(after_help = "Examples:
  helm appkit plan                              # the working tree against HEAD
  helm appkit plan --base origin/main -o markdown > plan.md   # a pull-request comment
  helm appkit plan --chart-preview -e prod      # the working-tree chart for every prod app
  helm appkit plan --shard 1/4 -o json > plan-1.json          # one CI runner of four
  helm appkit plan --merge plan-*.json -o markdown

Exit codes: 0 the plan was computed (with --exit-code: and nothing changes); 1 an app ×
environment failed to render on a side (the others are still reported), or with --exit-code
something changes; 2 no plan (usage, I/O, network, no Helm, no git).

Plan cannot emulate what needs a cluster: `lookup` returns nothing, .Capabilities are Helm's
defaults unless environments.<env>.kubeVersion / apiVersions say otherwise, and helm-controller's
post-renderers are not applied.")]
    Plan(PlanArgs),
    /// What the fleet costs and who may talk to whom: capacity per environment, node pool,
    /// namespace and app (app + Dapr sidecar requests and limits × replicas, quota headroom during
    /// a rollout), chart versions and pins, and the traffic graph — from the values render passes,
    /// no cluster needed
    #[command(after_help = "Examples:
  helm appkit report                            # tables for every environment
  helm appkit report -e prod -o json            # one JSON object (docs/json-output.md)
  helm appkit report -o html --out report.html  # one self-contained page (tables and the graph)")]
    Report(ReportArgs),
    /// Move the chart version one environment runs into another in appkit.yaml (or, with --app,
    /// into pins for a canary subset), keeping its comments; prints the diff
    #[command(after_help = "Examples:
  helm appkit promote --from dev --to prod                 # prod runs what dev runs
  helm appkit promote --from dev --to prod --app app1      # a canary: pin app1 in prod
  helm appkit promote --from dev --to prod --dry-run --plan

Exit codes: 0 promoted (or nothing to do); 1 a version not in appkit.lock (unpublished), a part
of appkit.yaml that cannot be edited safely (anchors, aliases, flow mappings), or with --plan a
pair that fails to render; 2 usage, I/O.")]
    Promote(PromoteArgs),
    /// Write an app's image digest into its values (or an environment's overlay) in place,
    /// keeping comments: given, from a Buildpacks report.toml, or resolved from the registry
    #[command(
        name = "set-image",
        after_help = "Examples:
  helm appkit set-image app1 --digest sha256:<64 hex>
  helm appkit set-image app1 --env prod --from-pack-report report.toml
  helm appkit set-image app1 --resolve                      # the digest of image.repository:image.tag

Exit codes: 0 written (or already that digest); 1 a digest that is not sha256:<64 hex>, a report
of another image, a tag the registry does not have, or values that would not validate (nothing
is written); 2 usage, I/O, network."
    )]
    SetImage(SetImageArgs),
    /// Print appkit's version (the plugin convention; also `helm appkit --version`)
    #[command(after_help = "Examples:\n  helm appkit version\n  helm appkit version -o json")]
    Version,
    /// Shell completion for Helm's `plugin.complete`: the words after `helm appkit`, the last
    /// being completed; prints a completion per line and `:<directive>` (src/complete.rs)
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The words after `helm appkit` (plugin.complete passes them after `--`)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The chart directory (default: the chart of appkit.yaml, else the current directory)
    #[arg(value_name = "CHART_DIR")]
    pub chart: Option<PathBuf>,
    /// Directory to write the archive to
    #[arg(long, short = 'd', value_name = "DEST", default_value = ".")]
    pub destination: PathBuf,
    /// Override the chart version (SemVer 2)
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Override the chart's appVersion
    #[arg(long = "app-version", value_name = "V")]
    pub app_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Values files (validated alone, merged in order per app directory) or app directories
    /// (their values.yaml + values.<env>.yaml). Default: every app of appkit.yaml
    #[arg(value_name = "VALUES_FILES|APP_DIRS")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub envs: EnvArgs,
    /// The chart directory (default: the chart of appkit.yaml)
    #[arg(long, value_name = "DIR")]
    pub chart: Option<PathBuf>,
    /// Treat warnings as errors (exit 1)
    #[arg(long)]
    pub strict: bool,
    /// Also print, as JSON on stdout, the values each app gets in each environment (chart defaults +
    /// app files, coalesced as Helm does): `[{"app", "env", "values"}]` (with `--output json`:
    /// under the `values` key of the report)
    #[arg(long = "print-values")]
    pub print_values: bool,
    /// Print the platform rules (code, default severity, the chart keys each reads, summary) and
    /// exit; with `--output json`: `[{"code", "defaultSeverity", "summary", "reads"}]`. Needs no
    /// appkit.yaml (docs/rules.md has the same table)
    #[arg(long = "list-rules", conflicts_with_all = ["inputs", "env", "chart", "strict", "print_values"])]
    pub list_rules: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub envs: EnvArgs,
    /// Write to this directory instead of the environment's `output` (needs exactly one --env)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write nothing; print a unified diff of what would change and exit 1 if anything would
    #[arg(long)]
    pub check: bool,
    /// Removed: the chart source is `flux.sourceKind` in appkit.yaml, so `render --check` needs
    /// no flags. Kept hidden to say so.
    #[arg(long, hide = true, value_name = "KIND")]
    pub source: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub envs: EnvArgs,
    /// Write the report to this file (atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The revision the working tree is compared with (read with git, not the working tree)
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    pub base: String,
    #[command(flatten)]
    pub envs: EnvArgs,
    /// Only these apps (repeatable or comma-separated; default: every app of either side)
    #[arg(long = "app", value_name = "APP", value_delimiter = ',')]
    pub apps: Vec<String>,
    /// Render every new side with the working-tree chart, whatever the versions and pins say:
    /// what this chart change would do to everyone
    #[arg(long)]
    pub chart_preview: bool,
    /// Fetch locked charts from here instead of the lock's repository: oci://HOST/PROJECT or
    /// oci-layout:DIR (like publish --to)
    #[arg(long, value_name = "REMOTE")]
    pub from: Option<String>,
    /// Renders run in parallel on this many threads (default: the cores)
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub jobs: usize,
    /// Plan only the K-th of N deterministic parts of the app × environment pairs (a CI matrix
    /// runs one per runner; join them with --merge)
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// The Helm binary (default: $HELM_BIN, which Helm sets for plugins, else helm on PATH)
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
    /// Exit 1 when anything changes (for a CI gate)
    #[arg(long)]
    pub exit_code: bool,
    /// Join the -o json outputs of --shard runs into one plan and print it in any output format
    /// (renders nothing)
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["shard", "chart_preview", "from", "apps"])]
    pub merge: Vec<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The environment whose chart version moves
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment that gets it: its `chartVersion`, or with --app its pins
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// Only these apps, as `environments.<to>.pins.<app>` (repeatable or comma-separated): each
    /// gets its version in --from (its pin there, else the environment's)
    #[arg(long = "app", value_name = "APP", value_delimiter = ',')]
    pub apps: Vec<String>,
    /// Then run `helm appkit plan` of the result for --to against HEAD and print it
    #[arg(long)]
    pub plan: bool,
    /// Write nothing: print the diff (and with --plan the plan of the would-be appkit.yaml)
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// With --plan: the Helm binary (default: $HELM_BIN, else helm on PATH)
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["digest", "from_pack_report", "resolve"])))]
pub struct SetImageArgs {
    /// The app (a directory of the apps directory)
    #[arg(value_name = "APP")]
    pub app: String,
    /// Write into this environment's overlay `values.<ENV>.yaml` (created when missing) instead
    /// of the app's values.yaml
    #[arg(long = "env", short = 'e', value_name = "ENV")]
    pub env: Option<String>,
    /// The digest: sha256:<64 hex>
    #[arg(long, value_name = "DIGEST")]
    pub digest: Option<String>,
    /// The Buildpacks lifecycle's report.toml of the build (`[image] digest`; its tags must name
    /// the app's image.repository)
    #[arg(long = "from-pack-report", value_name = "FILE")]
    pub from_pack_report: Option<PathBuf>,
    /// Ask the registry for the digest of the app's image.repository:image.tag (its index when
    /// multi-platform)
    #[arg(long)]
    pub resolve: bool,
    /// Write nothing: print the diff
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Registry connection options shared by push, pull, versions and publish.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Registry flags")]
pub struct RegistryArgs {
    /// Registry user name (e.g. a Harbor robot account `robot$project+ci`)
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// Read the registry password or token from stdin (Helm's `--password` is left out on
    /// purpose: a password in the command line is visible to every user in `ps`)
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Use plain HTTP instead of HTTPS
    #[arg(long = "plain-http")]
    pub plain_http: bool,
    /// Verify the registry's certificate with this CA bundle (PEM)
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Skip TLS certificate verification (insecure)
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
    /// Identify appkit to the registry with this TLS client certificate (PEM; with --key-file),
    /// for registries that require mutual TLS
    #[arg(long = "cert-file", value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// The private key (PEM) of the --cert-file client certificate
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Helm's registry config file with `helm registry login` credentials
    #[arg(
        long = "registry-config",
        env = "HELM_REGISTRY_CONFIG",
        value_name = "FILE"
    )]
    pub registry_config: Option<PathBuf>,
    /// Seconds to wait for a connection
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Seconds to wait for one HTTP request to complete
    #[arg(long = "request-timeout", value_name = "SECS", default_value_t = 120)]
    pub request_timeout: u64,
    /// How many times to retry a request that failed with 5xx, 429 or a connection error
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub retries: u32,
    /// Seconds a Docker credential helper (`credsStore`, `credHelpers`) may take to answer; then
    /// it is stopped and the command fails
    #[arg(
        long = "credential-helper-timeout",
        value_name = "SECS",
        default_value_t = 10
    )]
    pub credential_helper_timeout: u64,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The packaged chart (.tgz) or a chart directory (packaged reproducibly first)
    #[arg(value_name = "CHART")]
    pub chart: PathBuf,
    /// Where to push: oci://HOST[:PORT]/NAMESPACE (the chart name is appended) or oci-layout:DIR
    #[arg(
        value_name = "REMOTE",
        required_unless_present = "to_layout",
        conflicts_with = "to_layout"
    )]
    pub remote: Option<String>,
    /// Write an OCI image layout directory instead of talking to a registry (= oci-layout:DIR)
    #[arg(long = "to-layout", value_name = "DIR")]
    pub to_layout: Option<PathBuf>,
    /// Replace a tag that already points at different content (breaks immutability)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The chart: oci://HOST[:PORT]/PATH/CHART[:TAG|@DIGEST] or oci-layout:DIR/CHART
    #[arg(value_name = "CHART_REF")]
    pub chart_ref: String,
    /// The chart version: a version (exact; `+` is mapped to `_` as Helm does) or a SemVer
    /// constraint with Helm's semantics (`^1.0.0`, `~0.1`, `>=1.0.0-0`, `1.x`, `*`): the highest
    /// published version satisfying it. Default: the highest published stable version
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Include pre-releases when no --version is given (Helm's `--devel`: `>0.0.0-0`)
    #[arg(long)]
    pub devel: bool,
    /// Directory to write the chart to
    #[arg(long, short = 'd', value_name = "DIR", default_value = ".")]
    pub destination: PathBuf,
    /// Extract the chart into DIR/<chart name> instead of keeping the .tgz
    #[arg(long)]
    pub untar: bool,
    /// With --untar: the directory the chart is extracted into (the chart is
    /// `<untardir>/<chart name>`); a relative one is relative to --destination, as in Helm
    #[arg(long, value_name = "DIR", default_value = ".", requires = "untar")]
    pub untardir: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// The chart: oci://HOST[:PORT]/PATH/CHART or oci-layout:DIR/CHART
    #[arg(value_name = "CHART_REF")]
    pub chart_ref: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Upload nothing and write nothing (no appkit.lock): validate, package and check the version
    /// against the registry, then stop
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Publish somewhere else than `chart.repository` of appkit.yaml (oci://… or oci-layout:DIR)
    #[arg(long = "to", value_name = "REMOTE")]
    pub to: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The app's name: lower case letters, digits and `-`, at most 53 characters. It becomes the
    /// app's directory, Helm release, namespace and Dapr app id
    #[arg(value_name = "APP")]
    pub app: String,
    /// The image the build produced, pinned by digest: `REPO@sha256:<64 hex>` or
    /// `REPO:TAG@sha256:<64 hex>`. Required: the written file must validate as it is, and the
    /// platform deploys images by digest
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// The port the app listens on (default: the chart's default)
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Dapr components the app uses (comma-separated); each must be defined for the app in the
    /// platform's components directory
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub uses: Vec<String>,
    /// The node pool the app runs on, written as `nodepool:` in values.yaml; one of appkit.yaml
    /// `nodePools` when the platform lists pools (then required when the chart's default is not one)
    #[arg(long, value_name = "POOL")]
    pub nodepool: Option<String>,
    /// Also write an empty, commented overlay `values.<ENV>.yaml` for these environments of
    /// appkit.yaml (repeatable: `-e a -e b`, or comma-separated: `--env a,b`)
    #[arg(long = "env", short = 'e', value_name = "ENV", value_delimiter = ',')]
    pub env: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// The chart directory (default: the chart of appkit.yaml, else the current directory)
    #[arg(long, value_name = "DIR")]
    pub chart: Option<PathBuf>,
    /// Write nothing; exit 1 with a diff when the chart's README.md is not what `docs` would write
    #[arg(long)]
    pub check: bool,
    /// A schema key without a description is an error (exit 1), not a warning
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Flux files (multi-document YAML): HelmReleases (helm.toolkit.fluxcd.io v2, v2beta2,
    /// v2beta1) and the HelmRepository / OCIRepository they take their chart from
    #[arg(value_name = "FILES", required = true)]
    pub files: Vec<PathBuf>,
    /// Write nothing (no values file, no appkit.yaml edit); show what would be written, a unified
    /// diff per file
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// When a release's values (or settings) disagree with the existing files: `release` writes
    /// the release's, `file` keeps the files (then only missing appkit.yaml settings are written).
    /// Without it such an app is not imported (exit 1)
    #[arg(long, value_enum, value_name = "SIDE")]
    pub prefer: Option<ImportPrefer>,
    /// The environment the releases run in: an existing values.yaml then gets the
    /// `values.<ENV>.yaml` overlay of what differs (default: the environment whose `output`
    /// directory holds the file, else none)
    #[arg(long = "env", short = 'e', value_name = "ENV")]
    pub env: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportPrefer {
    Release,
    File,
}
