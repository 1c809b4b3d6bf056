//! Shell completion of `helm appkit …`, answered the way Helm asks for it.
//!
//! Users type `helm appkit`, so the shell's completion script is Helm's own (`helm completion
//! bash|zsh|fish`). For a plugin, Helm (3.17 and 4.1 alike) runs `$HELM_PLUGIN_DIR/plugin.complete`
//! with the words after `helm appkit` — Helm's own global flags (`--debug`, `--kube-context`,
//! `-n`, `--registry-config`, …) taken out — the last word being the one being completed (empty
//! after a space). It reads stdout: one completion per line (`value<TAB>description` is allowed),
//! then optionally a line `:<n>`, Cobra's `ShellCompDirective`. Helm 4 also reads the plugin's
//! *stderr* into the same buffer, so nothing here may print anything else.
//!
//! What is completed, all from clap's definition of the command line ([`crate::cli::Cli`]) except
//! the names that only the platform repo knows:
//! - subcommands, and the flags of the command being typed (long and short, without those given
//!   already unless repeatable);
//! - values of flags with possible values (`-o human|json|github`, `--prefer release|file`);
//! - environment names (`-e/--env`, comma lists too) and node pools (`new --nodepool`) from
//!   `appkit.yaml`, found as every command finds it ([`Workspace::open`], honouring `--config`
//!   and `APPKIT_CONFIG`);
//! - `validate`'s positionals: the app directories (`apps/<name>`), else files;
//! - `promote --from/--to`: the environments; `plan`/`promote --app` and `set-image`'s app: the
//!   apps;
//! - paths: the shell's file completion (`:0`), directories only where the value is a directory
//!   (`:16`); everything else (`new`'s new app name, versions, references) nothing (`:4`).
//!
//! Any failure (no appkit.yaml, an invalid one, an unknown subcommand) completes nothing; it is
//! never an error message.

use std::path::PathBuf;

use clap::builder::ValueHint;
use clap::{Arg, ArgAction, CommandFactory};

use crate::cli::{Cli, GlobalArgs, OutputFormat};
use crate::workspace::{display_path, Workspace};

/// Cobra's `ShellCompDirective` bits (spf13/cobra `completions.go`), as Helm passes them on.
pub mod directive {
    /// Let the shell complete file names when there are no completions.
    pub const DEFAULT: u32 = 0;
    /// Something went wrong: the shell completes nothing.
    pub const ERROR: u32 = 1;
    /// No file completion, even when there are no completions.
    pub const NO_FILE_COMP: u32 = 4;
    /// Complete directory names only.
    pub const FILTER_DIRS: u32 = 16;
}

/// One completion: the word, and optionally a one-line description the shell may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub value: String,
    pub help: Option<String>,
}

/// The answer to one completion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completions {
    pub items: Vec<Item>,
    pub directive: u32,
}

impl Completions {
    fn none(directive: u32) -> Self {
        Completions {
            items: Vec::new(),
            directive,
        }
    }

    /// Nothing, because something unexpected happened (e.g. a panic).
    pub fn error() -> Self {
        Self::none(directive::ERROR)
    }

    /// The words alone, for tests and callers that need no descriptions.
    pub fn values(&self) -> Vec<&str> {
        self.items.iter().map(|i| i.value.as_str()).collect()
    }

    /// What `plugin.complete` prints: a line per completion (`value<TAB>description`), then
    /// `:<directive>`. A value that would break the line protocol is left out.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            if item.value.is_empty() || item.value.contains(['\n', '\r', '\t']) {
                continue;
            }
            out.push_str(&item.value);
            if let Some(help) = item.help.as_deref().map(one_line).filter(|h| !h.is_empty()) {
                out.push('\t');
                out.push_str(&help);
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// A help text as a short description: its first line up to a `; `, without tabs, at most
/// [`MAX_HELP`] characters (cut at a word, with `…`); the shells show it next to the word.
fn one_line(help: &str) -> String {
    let line = help.lines().next().unwrap_or("").replace('\t', " ");
    let line = first_clause(&line).trim();
    if line.chars().count() <= MAX_HELP {
        return line.to_string();
    }
    let cut: String = line.chars().take(MAX_HELP).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > MAX_HELP / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ' ', ':']))
}

/// `text` up to its first `; ` outside parentheses and backquotes.
fn first_clause(text: &str) -> &str {
    let (mut depth, mut quoted) = (0usize, false);
    for (i, c) in text.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth = depth.saturating_sub(1),
            ';' if !quoted && depth == 0 && text[i + 1..].starts_with(' ') => return &text[..i],
            _ => {}
        }
    }
    text
}

/// The longest description [`one_line`] makes.
const MAX_HELP: usize = 80;

/// Complete the last of `words` (the words after `helm appkit`; an empty list is one empty word).
pub fn complete(words: &[String]) -> Completions {
    let mut root = Cli::command();
    root.build();
    let (cur, before) = match words.split_last() {
        Some((cur, before)) => (cur.as_str(), before),
        None => ("", &[][..]),
    };
    let Some(state) = State::walk(&root, before) else {
        return Completions::none(directive::NO_FILE_COMP);
    };
    state.complete(cur)
}

/// Where the words before the one being completed left the command line.
struct State<'a> {
    /// The command being typed (the root until a subcommand was named).
    cmd: &'a clap::Command,
    /// A flag waiting for its value (the word being completed is that value).
    pending: Option<&'a Arg>,
    /// Positional values given to `cmd` so far.
    positionals: usize,
    /// After `--`: every word is a positional.
    escaped: bool,
    /// The flags given (by id) and their values, in order.
    given: Vec<(String, Option<String>)>,
}

impl<'a> State<'a> {
    fn walk(root: &'a clap::Command, words: &[String]) -> Option<State<'a>> {
        let mut s = State {
            cmd: root,
            pending: None,
            positionals: 0,
            escaped: false,
            given: Vec::new(),
        };
        for word in words {
            if let Some(arg) = s.pending.take() {
                s.given.push((arg.get_id().to_string(), Some(word.clone())));
                continue;
            }
            if s.escaped {
                s.positionals += 1;
                continue;
            }
            if word == "--" {
                s.escaped = true;
                continue;
            }
            if let Some(long) = word.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (long, None),
                };
                if let Some(arg) = find_long(s.cmd, name) {
                    s.flag(arg, value);
                }
                continue;
            }
            if let Some(shorts) = word.strip_prefix('-').filter(|r| !r.is_empty()) {
                for (i, c) in shorts.char_indices() {
                    let Some(arg) = find_short(s.cmd, c) else {
                        break;
                    };
                    if takes_value(arg) {
                        let rest = &shorts[i + c.len_utf8()..];
                        let rest = rest.strip_prefix('=').unwrap_or(rest);
                        s.flag(arg, (!rest.is_empty()).then(|| rest.to_string()));
                        break;
                    }
                    s.flag(arg, None);
                }
                continue;
            }
            if s.expects_subcommand() {
                s.cmd = s.cmd.find_subcommand(word)?;
                s.positionals = 0;
            } else {
                s.positionals += 1;
            }
        }
        Some(s)
    }

    /// Record a flag; one that takes a value and has none yet makes the next word its value.
    fn flag(&mut self, arg: &'a Arg, value: Option<String>) {
        if takes_value(arg) && value.is_none() {
            self.pending = Some(arg);
        } else {
            self.given.push((arg.get_id().to_string(), value));
        }
    }

    fn expects_subcommand(&self) -> bool {
        self.cmd.has_subcommands() && self.cmd.get_positionals().next().is_none()
    }

    fn complete(&self, cur: &str) -> Completions {
        if let Some(arg) = self.pending {
            return self.values(arg, cur);
        }
        if !self.escaped && cur.starts_with('-') {
            if let Some((flag, value)) = cur.split_once('=') {
                // `--output=j`, `-o=j`: the shell scripts of Cobra put the `flag=` back.
                let arg = match flag.strip_prefix("--") {
                    Some(long) => find_long(self.cmd, long),
                    None => single_short(flag).and_then(|c| find_short(self.cmd, c)),
                };
                return match arg.filter(|a| takes_value(a)) {
                    Some(arg) => self.values(arg, value),
                    None => Completions::none(directive::NO_FILE_COMP),
                };
            }
            return self.flags(cur);
        }
        if self.expects_subcommand() {
            return subcommands(self.cmd, cur);
        }
        let positional = self
            .cmd
            .get_positionals()
            .nth(self.positionals)
            .or_else(|| {
                // Past the last positional: more of it only when it takes many values.
                self.cmd
                    .get_positionals()
                    .last()
                    .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
            });
        match positional {
            Some(arg) => self.values(arg, cur),
            None => Completions::none(directive::NO_FILE_COMP),
        }
    }

    /// The flags of the command being typed that start with `cur`, except those given already
    /// (unless they can be repeated).
    fn flags(&self, cur: &str) -> Completions {
        let mut items = Vec::new();
        for arg in self.cmd.get_arguments() {
            if arg.is_positional() || arg.is_hide_set() {
                continue;
            }
            let id = arg.get_id().as_str();
            let repeatable = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
            if !repeatable && self.given.iter().any(|(g, _)| g == id) {
                continue;
            }
            let help = arg.get_help().map(|h| h.to_string());
            let mut names: Vec<String> = Vec::new();
            if let Some(long) = arg.get_long() {
                names.push(format!("--{long}"));
            }
            if let Some(short) = arg.get_short() {
                names.push(format!("-{short}"));
            }
            for name in names.into_iter().filter(|n| n.starts_with(cur)) {
                items.push(Item {
                    value: name,
                    help: help.clone(),
                });
            }
        }
        Completions {
            items,
            directive: directive::NO_FILE_COMP,
        }
    }

    /// The values `arg` can take that start with `cur`.
    fn values(&self, arg: &Arg, cur: &str) -> Completions {
        let possible: Vec<_> = arg
            .get_possible_values()
            .into_iter()
            .filter(|p| !p.is_hide_set())
            .collect();
        if !possible.is_empty() {
            // `-o`: only the formats the command being typed writes (at the root, all).
            let output_of = (arg.get_id() == "output" && !self.cmd.has_subcommands()).then(|| {
                let check = self.given.iter().any(|(g, _)| g == "check");
                (self.cmd.get_name().to_string(), check)
            });
            let items = possible
                .iter()
                .filter(|p| p.get_name().starts_with(cur))
                .filter(|p| match &output_of {
                    Some((command, check)) => {
                        <crate::cli::OutputFormat as clap::ValueEnum>::from_str(p.get_name(), false)
                            .map_or(true, |f| f.accepted_by(command, *check))
                    }
                    None => true,
                })
                .map(|p| Item {
                    value: p.get_name().to_string(),
                    help: p.get_help().map(|h| h.to_string()),
                })
                .collect();
            return Completions {
                items,
                directive: directive::NO_FILE_COMP,
            };
        }
        match (self.cmd.get_name(), arg.get_id().as_str()) {
            (_, "env") => {
                let envs = self.workspace().map(|ws| {
                    let known: Vec<String> =
                        ws.config().config.environments.keys().cloned().collect();
                    known
                });
                return self.names(arg, cur, envs.unwrap_or_default());
            }
            (_, "nodepool") => {
                let pools = self
                    .workspace()
                    .map(|ws| ws.config().config.node_pool_names());
                return self.names(arg, cur, pools.unwrap_or_default());
            }
            ("validate", "inputs") => return self.app_dirs(cur),
            ("promote", "from" | "to") => {
                let envs = self.workspace().map(|ws| {
                    let known: Vec<String> =
                        ws.config().config.environments.keys().cloned().collect();
                    known
                });
                return self.names(arg, cur, envs.unwrap_or_default());
            }
            ("plan" | "promote" | "set-image", "apps" | "app") => {
                let apps = self.workspace().and_then(|ws| ws.apps().ok());
                return self.names(arg, cur, apps.unwrap_or_default());
            }
            _ => {}
        }
        let hint = arg.get_value_hint();
        let value_name = arg
            .get_value_names()
            .and_then(|n| n.first())
            .map(|n| n.as_str())
            .unwrap_or("");
        let dir = hint == ValueHint::DirPath
            || (hint == ValueHint::AnyPath && (value_name.contains("DIR") || value_name == "DEST"));
        if dir {
            Completions::none(directive::FILTER_DIRS)
        } else if matches!(
            hint,
            ValueHint::AnyPath | ValueHint::FilePath | ValueHint::ExecutablePath
        ) {
            Completions::none(directive::DEFAULT)
        } else {
            Completions::none(directive::NO_FILE_COMP)
        }
    }

    /// Names from the platform repo that start with `cur`. A flag with a value delimiter
    /// (`--env dev,prod`) completes the last item of a list, without the names already in it or
    /// given in earlier occurrences.
    fn names(&self, arg: &Arg, cur: &str, known: Vec<String>) -> Completions {
        let id = arg.get_id().as_str();
        let delimiter = arg.get_value_delimiter();
        let (head, last) = match delimiter.and_then(|d| cur.rfind(d).map(|i| (d, i))) {
            Some((d, i)) => (&cur[..i + d.len_utf8()], &cur[i + d.len_utf8()..]),
            None => ("", cur),
        };
        let mut taken: Vec<&str> = Vec::new();
        if let Some(d) = delimiter {
            taken.extend(head.split(d).filter(|s| !s.is_empty()));
            for (g, v) in &self.given {
                if g == id {
                    taken.extend(v.iter().flat_map(|v| v.split(d)));
                }
            }
        }
        let items = known
            .iter()
            .filter(|n| n.starts_with(last) && !taken.contains(&n.as_str()))
            .map(|n| Item {
                value: format!("{head}{n}"),
                help: None,
            })
            .collect();
        Completions {
            items,
            directive: directive::NO_FILE_COMP,
        }
    }

    /// `validate`'s positionals: the app directories (as the user would type them from here)
    /// that start with `cur`; when none does, the shell's file completion (values files).
    fn app_dirs(&self, cur: &str) -> Completions {
        let mut items = Vec::new();
        if let Some(ws) = self.workspace() {
            for app in ws.apps().unwrap_or_default() {
                let shown = display_path(&ws.app_dir(&app), ws.cwd());
                if shown.starts_with(cur) && shown != "." {
                    items.push(Item {
                        value: shown,
                        help: None,
                    });
                }
            }
        }
        Completions {
            items,
            directive: directive::DEFAULT,
        }
    }

    /// The platform repo, found as every command finds it: the last `--config` on the line,
    /// else `APPKIT_CONFIG`, else `appkit.yaml` here or above. `None` when there is none or it
    /// does not load.
    fn workspace(&self) -> Option<Workspace> {
        let config = self
            .given
            .iter()
            .rev()
            .find(|(id, v)| id == "config" && v.as_deref().is_some_and(|v| !v.is_empty()))
            .and_then(|(_, v)| v.clone())
            .or_else(|| {
                std::env::var("APPKIT_CONFIG")
                    .ok()
                    .filter(|v| !v.is_empty())
            })
            .map(PathBuf::from);
        let global = GlobalArgs {
            output: OutputFormat::Human,
            quiet: true,
            debug: false,
            color: None,
            config,
        };
        Workspace::open(&global).ok()
    }
}

/// The visible subcommands of `cmd` that start with `cur`.
fn subcommands(cmd: &clap::Command, cur: &str) -> Completions {
    let items = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name().starts_with(cur))
        .map(|c| Item {
            value: c.get_name().to_string(),
            help: c.get_about().map(|a| a.to_string()),
        })
        .collect();
    Completions {
        items,
        directive: directive::NO_FILE_COMP,
    }
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn find_long<'a>(cmd: &'a clap::Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
    })
}

fn find_short(cmd: &clap::Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| {
        a.get_short() == Some(c) || a.get_all_short_aliases().is_some_and(|al| al.contains(&c))
    })
}

/// `-o` → `o`.
fn single_short(flag: &str) -> Option<char> {
    let mut chars = flag.strip_prefix('-')?.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &[&str]) -> Vec<String> {
        // No platform repo: a --config that does not exist.
        let mut w = vec![
            "--config".to_string(),
            "/nonexistent/appkit.yaml".to_string(),
        ];
        w.extend(line.iter().map(|s| s.to_string()));
        w
    }

    fn values(line: &[&str]) -> (Vec<String>, u32) {
        let c = complete(&words(line));
        (
            c.values().iter().map(|s| s.to_string()).collect(),
            c.directive,
        )
    }

    #[test]
    fn subcommands_come_from_clap_and_hidden_ones_stay_hidden() {
        let (v, d) = values(&[""]);
        for sub in ["package", "publish", "render", "validate", "new", "version"] {
            assert!(v.contains(&sub.to_string()), "{sub}: {v:?}");
        }
        assert!(!v.iter().any(|s| s.starts_with("__")), "{v:?}");
        assert_eq!(d, directive::NO_FILE_COMP);
        assert_eq!(values(&["ren"]).0, vec!["render"]);
        assert_eq!(
            values(&["p"]).0,
            vec!["package", "push", "pull", "publish", "plan", "promote"]
        );
        // No subcommand of that name: nothing.
        assert_eq!(values(&["nope", ""]), (vec![], directive::NO_FILE_COMP));
        assert!(complete(&[]).values().contains(&"render"));
    }

    #[test]
    fn flags_of_the_subcommand_long_and_short_without_those_given() {
        let line = ["render".to_string(), "--".into()];
        let c = complete(&line);
        let (v, d): (Vec<String>, u32) = (
            c.values().iter().map(|s| s.to_string()).collect(),
            c.directive,
        );
        for f in [
            "--env", "--out", "--check", "--output", "--config", "--help",
        ] {
            assert!(v.contains(&f.to_string()), "{f}: {v:?}");
        }
        assert!(!v.contains(&"--source".to_string()), "hidden: {v:?}");
        assert_eq!(d, directive::NO_FILE_COMP);
        let (v, _) = values(&["render", "-"]);
        assert!(v.contains(&"-e".to_string()) && v.contains(&"-o".to_string()));
        // --check given: not offered again; --env (repeatable) still is.
        let (v, _) = values(&["render", "--check", "-e", "dev", "--"]);
        assert!(!v.contains(&"--check".to_string()), "{v:?}");
        assert!(v.contains(&"--env".to_string()), "{v:?}");
        assert_eq!(values(&["validate", "--li"]).0, vec!["--list-rules"]);
    }

    #[test]
    fn promote_is_completed_with_its_flags() {
        let (v, d) = values(&["promote", "--"]);
        for f in [
            "--from",
            "--to",
            "--app",
            "--plan",
            "--dry-run",
            "--plain-http",
        ] {
            assert!(v.contains(&f.to_string()), "{f}: {v:?}");
        }
        assert_eq!(d, directive::NO_FILE_COMP);
        // --plan given: not offered again; --app (repeatable) still is.
        let (v, _) = values(&["promote", "--plan", "--app", "a", "--"]);
        assert!(!v.contains(&"--plan".to_string()), "{v:?}");
        assert!(v.contains(&"--app".to_string()), "{v:?}");
    }

    #[test]
    fn set_image_is_completed_with_its_sources() {
        let (v, _) = values(&["set-image", "app1", "--"]);
        for f in [
            "--digest",
            "--from-pack-report",
            "--resolve",
            "--env",
            "--dry-run",
            "--plain-http",
        ] {
            assert!(v.contains(&f.to_string()), "{f}: {v:?}");
        }
        // The report is a file: the shell's file completion.
        assert_eq!(
            values(&["set-image", "app1", "--from-pack-report", ""]).1,
            directive::DEFAULT
        );
    }

    #[test]
    fn plan_is_completed_with_its_flags_and_markdown() {
        assert!(values(&["pl"]).0.contains(&"plan".to_string()));
        let (v, _) = values(&["plan", "--"]);
        for f in [
            "--base",
            "--chart-preview",
            "--shard",
            "--merge",
            "--exit-code",
            "--app",
        ] {
            assert!(v.contains(&f.to_string()), "{f}: {v:?}");
        }
        assert!(values(&["plan", "-o", ""])
            .0
            .contains(&"markdown".to_string()));
    }

    #[test]
    fn report_is_completed_with_its_outputs_and_a_file() {
        assert!(values(&["rep"]).0.contains(&"report".to_string()));
        assert_eq!(
            values(&["report", "-o", ""]).0,
            vec!["human", "json", "html"]
        );
        assert_eq!(values(&["report", "-o", "h"]).0, vec!["human", "html"]);
        assert_eq!(values(&["report", "--out", ""]).1, directive::DEFAULT);
        let (v, _) = values(&["report", "--"]);
        assert!(v.contains(&"--out".to_string()) && v.contains(&"--env".to_string()));
    }

    #[test]
    fn enum_values_from_clap() {
        // At the root every format; on a command only those it writes (as the command line
        // refuses the others).
        assert_eq!(
            values(&["-o", ""]),
            (
                vec![
                    "human".into(),
                    "json".into(),
                    "github".into(),
                    "markdown".into(),
                    "html".into()
                ],
                directive::NO_FILE_COMP
            )
        );
        assert_eq!(values(&["render", "-o", ""]).0, vec!["human", "json"]);
        assert_eq!(
            values(&["render", "--check", "-o", ""]).0,
            vec!["human", "json", "github"]
        );
        assert_eq!(
            values(&["plan", "-o", ""]).0,
            vec!["human", "json", "github", "markdown"]
        );
        assert_eq!(values(&["-o", "j"]).0, vec!["json"]);
        assert_eq!(values(&["validate", "--output=g"]).0, vec!["github"]);
        assert_eq!(values(&["validate", "-o=h"]).0, vec!["human"]);
        assert_eq!(
            values(&["import", "--prefer", ""]).0,
            vec!["release", "file"]
        );
        // A flag's value is not a subcommand: `-o json` then the subcommand.
        assert!(values(&["-o", "json", "re"])
            .0
            .contains(&"render".to_string()));
    }

    #[test]
    fn paths_use_the_shells_file_completion() {
        assert_eq!(
            values(&["render", "--out", ""]),
            (vec![], directive::FILTER_DIRS)
        );
        assert_eq!(values(&["package", "-d", ""]).1, directive::FILTER_DIRS);
        assert_eq!(values(&["package", ""]).1, directive::FILTER_DIRS);
        assert_eq!(values(&["push", "--ca-file", ""]).1, directive::DEFAULT);
        assert_eq!(values(&["--config", ""]).1, directive::DEFAULT);
        assert_eq!(values(&["import", "a.yaml", ""]).1, directive::DEFAULT);
        assert_eq!(values(&["push", "c.tgz", ""]).1, directive::NO_FILE_COMP);
        // `new` takes a new name: nothing to complete.
        assert_eq!(values(&["new", ""]), (vec![], directive::NO_FILE_COMP));
        assert_eq!(
            values(&["pull", "--version", ""]).1,
            directive::NO_FILE_COMP
        );
        // After `--` every word is a positional.
        assert_eq!(values(&["validate", "--", "-"]).1, directive::DEFAULT);
    }

    #[test]
    fn environments_pools_and_apps_come_from_the_platform_repo() {
        // The example platform repo, read only; the tests run in the crate's directory.
        let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/appkit.yaml");
        let with = |line: &[&str]| {
            let mut w = vec!["--config".to_string(), cfg.to_string()];
            w.extend(line.iter().map(|s| s.to_string()));
            complete(&w)
        };
        assert_eq!(with(&["render", "-e", ""]).values(), vec!["dev", "prod"]);
        assert_eq!(with(&["render", "--env=p"]).values(), vec!["prod"]);
        assert_eq!(
            with(&["render", "--env", "dev,"]).values(),
            vec!["dev,prod"]
        );
        assert_eq!(
            with(&["render", "-e", "prod", "-e", ""]).values(),
            vec!["dev"]
        );
        assert_eq!(with(&["import", "-e", "d"]).values(), vec!["dev"]);
        assert_eq!(with(&["report", "-e", ""]).values(), vec!["dev", "prod"]);
        assert_eq!(
            with(&["promote", "--from", ""]).values(),
            vec!["dev", "prod"]
        );
        assert_eq!(
            with(&["promote", "--from", "dev", "--to", "p"]).values(),
            vec!["prod"]
        );
        assert_eq!(
            with(&["promote", "--from", "dev", "--app", ""]).values(),
            vec!["app1", "app2"]
        );
        assert_eq!(with(&["set-image", ""]).values(), vec!["app1", "app2"]);
        assert_eq!(
            with(&["set-image", "app1", "-e", ""]).values(),
            vec!["dev", "prod"]
        );
        assert_eq!(with(&["new", "x", "-e", ""]).values(), vec!["dev", "prod"]);
        assert_eq!(
            with(&["new", "x", "--nodepool", ""]).values(),
            vec!["apps", "apps-highmem"]
        );
        // `--config` after the subcommand counts too.
        let line = [
            "render".to_string(),
            "--config".into(),
            cfg.into(),
            "-e".into(),
            "".into(),
        ];
        assert_eq!(complete(&line).values(), vec!["dev", "prod"]);
        // Apps as paths from the current directory; none matching: the shell's files.
        let apps = with(&["validate", ""]);
        assert_eq!(
            apps.values(),
            vec!["examples/apps/app1", "examples/apps/app2"]
        );
        assert_eq!(apps.directive, directive::DEFAULT);
        assert_eq!(
            with(&["validate", "examples/apps/app1", "examples/apps/app"]).values(),
            vec!["examples/apps/app1", "examples/apps/app2"]
        );
        assert_eq!(
            with(&["validate", "x"]),
            Completions::none(directive::DEFAULT)
        );
        // No platform repo: no names, and no error.
        assert_eq!(
            values(&["render", "-e", ""]),
            (vec![], directive::NO_FILE_COMP)
        );
    }

    #[test]
    fn the_output_is_helms_line_protocol() {
        let c = Completions {
            items: vec![
                Item {
                    value: "render".into(),
                    help: Some("Write\tthe objects\nmore".into()),
                },
                Item {
                    value: "bad\nname".into(),
                    help: None,
                },
                Item {
                    value: "dev".into(),
                    help: None,
                },
            ],
            directive: 4,
        };
        assert_eq!(c.render(), "render\tWrite the objects\ndev\n:4\n");
        assert_eq!(
            one_line("Print the rules and exit; with `-o json`: more"),
            "Print the rules and exit"
        );
        assert_eq!(
            one_line("Print the version (the convention; also `--version`)"),
            "Print the version (the convention; also `--version`)"
        );
        let long = one_line(&"word ".repeat(40));
        assert!(
            long.ends_with("word…") && long.chars().count() <= MAX_HELP + 1,
            "{long}"
        );
        assert_eq!(Completions::error().render(), ":1\n");
    }
}
