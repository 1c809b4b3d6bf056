//! Docker credential helpers (`credsStore`, `credHelpers`): `docker-credential-<name> get` with the
//! server on stdin, `{"Username": …, "Secret": …}` on stdout.
//!
//! A helper is a program appkit does not control, and its stdout holds the secret. So:
//! * it gets [`HelperLimits::timeout`] (`--credential-helper-timeout`, default 10 s) to answer;
//!   then it is killed — its whole process group, so a `sleep` it started does not keep the pipes
//!   open — and the command ends with exit 2;
//! * at most [`MAX_HELPER_OUTPUT`] bytes of stdout (and of stderr) are read; a helper printing
//!   more is killed (a 200 MB answer cost 199 MiB before);
//! * its output is **never** copied into a message: a failing helper's stdout is the place a
//!   secret would be. Only "not found" (Docker's `credentials not found` answer) is recognised in
//!   it, and means anonymous.
//!
//! [`parse_answer`] is the protocol's pure part (fuzzed: `fuzz/fuzz_targets/credential_helper.rs`).

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The most bytes read from a helper's stdout or stderr (the credential-file limit).
pub const MAX_HELPER_OUTPUT: u64 = super::auth::MAX_CREDENTIALS_FILE_BYTES;

/// The default of `--credential-helper-timeout`.
pub const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct HelperLimits {
    pub timeout: Duration,
}

impl Default for HelperLimits {
    fn default() -> Self {
        HelperLimits {
            timeout: DEFAULT_HELPER_TIMEOUT,
        }
    }
}

/// What a helper's answer means.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// User name and secret.
    Found(String, String),
    /// No credentials for this server: anonymous.
    NotFound,
}

/// Why a helper gave no usable answer. None of these carries a byte of the helper's output.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HelperError {
    #[error("cannot run it ({0}); install it or remove it from the Docker config")]
    Spawn(String),
    #[error("did not answer within {0} s (--credential-helper-timeout); it was stopped")]
    Timeout(u64),
    #[error("printed more than {MAX_HELPER_OUTPUT} bytes; it was stopped")]
    TooMuch,
    #[error(
        "failed ({0}); its output is not shown, it may hold the secret (run `docker-credential-NAME get` yourself to see it)"
    )]
    Failed(String),
    #[error("printed something that is not a credential answer (`{{\"Username\": …, \"Secret\": …}}`); it is not shown")]
    NotAnAnswer,
}

/// Interpret a helper's exit and stdout (the protocol: success + JSON, or failure + a message).
pub fn parse_answer(success: bool, stdout: &[u8]) -> Result<Answer, HelperError> {
    if !success {
        // Docker's helpers answer a missing entry with exit 1 and this message (the
        // `credentials.ErrCredentialsNotFound` text); matching it does not print it.
        let text = String::from_utf8_lossy(stdout).to_ascii_lowercase();
        if text.contains("credentials not found") || text.trim() == "not found" {
            return Ok(Answer::NotFound);
        }
        return Err(HelperError::Failed("exit status non-zero".into()));
    }
    let v: Value = serde_json::from_slice(stdout).map_err(|_| HelperError::NotAnAnswer)?;
    let obj = v.as_object().ok_or(HelperError::NotAnAnswer)?;
    let field = |k: &str| match obj.get(k) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(HelperError::NotAnAnswer),
    };
    let (user, secret) = (field("Username")?, field("Secret")?);
    if secret.is_empty() {
        return Ok(Answer::NotFound);
    }
    Ok(Answer::Found(user.to_string(), secret.to_string()))
}

/// Run `program get` for `server` within `limits`.
pub fn run(program: &str, server: &str, limits: HelperLimits) -> Result<Answer, HelperError> {
    let mut cmd = Command::new(program);
    cmd.arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so a timeout can stop whatever it started.
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| HelperError::Spawn(e.to_string()))?;
    let deadline = Instant::now() + limits.timeout;
    let (tx, rx) = mpsc::channel();
    for (i, pipe) in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(pipe) = pipe else { continue };
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let read = pipe.take(MAX_HELPER_OUTPUT + 1).read_to_end(&mut buf);
            let _ = tx.send((i, read.map(|_| buf)));
        });
    }
    drop(tx);
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that does not read stdin must not stall us: the server name fits in the pipe.
        let _ = stdin.write_all(server.as_bytes());
    }
    let mut stdout = None;
    let mut open = 2;
    while open > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, Ok(buf))) => {
                open -= 1;
                if buf.len() as u64 > MAX_HELPER_OUTPUT {
                    stop(&mut child);
                    return Err(HelperError::TooMuch);
                }
                if i == 0 {
                    stdout = Some(buf);
                }
            }
            Ok((_, Err(_))) => open -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                stop(&mut child);
                return Err(HelperError::Timeout(limits.timeout.as_secs().max(1)));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Both pipes are closed: the helper has exited or is about to.
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                stop(&mut child);
                return Err(HelperError::Timeout(limits.timeout.as_secs().max(1)));
            }
            Err(e) => return Err(HelperError::Failed(e.to_string())),
        }
    };
    match parse_answer(status.success(), &stdout.unwrap_or_default()) {
        Err(HelperError::Failed(_)) => Err(HelperError::Failed(status.to_string())),
        other => other,
    }
}

/// Kill the helper and its process group, and reap it.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    {
        // The process group the helper leads (created by `process_group(0)` above).
        if let Some(pid) = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(
            parse_answer(true, br#"{"ServerURL":"r","Username":"u","Secret":"s"}"#),
            Ok(Answer::Found("u".into(), "s".into()))
        );
        assert_eq!(
            parse_answer(true, br#"{"Username":"u","Secret":""}"#),
            Ok(Answer::NotFound)
        );
        assert_eq!(
            parse_answer(false, b"credentials not found in native keychain\n"),
            Ok(Answer::NotFound)
        );
        assert_eq!(
            parse_answer(true, br#"{"Username":1,"Secret":"s"}"#),
            Err(HelperError::NotAnAnswer)
        );
        assert_eq!(parse_answer(true, b"[]"), Err(HelperError::NotAnAnswer));
        assert_eq!(parse_answer(true, b"\xff"), Err(HelperError::NotAnAnswer));
        // A failing helper's output is never part of the error.
        let e = parse_answer(false, br#"{"Secret":"hunter2"}"#).unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[cfg(unix)]
    #[test]
    fn a_hanging_helper_is_stopped_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = dir.path().join("docker-credential-hang");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsleep 600 &\necho $! > {}\nwait\n",
                pidfile.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let started = Instant::now();
        let r = run(
            script.to_str().unwrap(),
            "r.example",
            HelperLimits {
                timeout: Duration::from_millis(300),
            },
        );
        assert_eq!(r, Err(HelperError::Timeout(1)));
        assert!(started.elapsed() < Duration::from_secs(3));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The `sleep` the helper started is gone too (dead, or a zombie waiting to be reaped).
        std::thread::sleep(Duration::from_millis(50));
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let running = state
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X");
        assert!(!running, "the helper's child {pid} survived: {state}");
    }
}
