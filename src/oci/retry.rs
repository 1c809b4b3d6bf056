//! The one retry policy for registry traffic: how often a failure is tried again, how long to wait
//! in between, and which failures are worth another attempt. The transport (one request) and the
//! client (a body that broke off, a whole blob upload) both take their numbers from here, so a
//! change of policy is one change.
//!
//! * A request is retried on a connection error, a timeout, a 5xx or a 429, up to `retries` times
//!   (`--retries`); a GET whose body broke off mid-read is retried the same number of times.
//! * A blob upload (POST + PUT) is restarted with a new session up to [`UPLOAD_ATTEMPTS`] times in
//!   all, whatever `--retries` says (the PUT itself is never retried: its session may be spent).
//! * The wait is exponential: 250 ms, doubling, at most 8 s; a `Retry-After` in seconds replaces
//!   it, capped at 60 s.
//!
//! * Each retry of a body or an upload is told to a [`Notice`] before its wait (the client prints it
//!   as a retry line, in the words the transport uses for a request's retry).
//!
//! Owns: the numbers and the loop. Does not own: sending requests (`transport`) or what a request
//! is (`client`).

use std::future::Future;
use std::time::Duration;

use super::error::OciError;

/// Attempts of one blob upload in all (a restart needs a new upload session).
pub const UPLOAD_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF_MS: u64 = 250;
const MAX_BACKOFF: Duration = Duration::from_secs(8);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Told of a retry about to happen: the error, the retry's number (1-based), how many retries
/// there may be in all, and the wait before it.
pub type Notice<'a> = &'a dyn Fn(&OciError, u32, u32, Duration);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one request (and of a body read), on top of its first attempt.
    pub retries: u32,
    /// Attempts of one blob upload in all.
    pub upload_attempts: u32,
}

impl RetryPolicy {
    pub fn new(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            upload_attempts: UPLOAD_ATTEMPTS,
        }
    }

    /// Attempts of one request in all (`retry`: false for a request the caller restarts itself).
    pub fn request_attempts(&self, retry: bool) -> u32 {
        if retry {
            self.retries + 1
        } else {
            1
        }
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        Duration::from_millis(FIRST_BACKOFF_MS << attempt.saturating_sub(1).min(5)).min(MAX_BACKOFF)
    }

    /// The wait a server asked for with `Retry-After: <seconds>`, capped.
    pub fn retry_after(&self, seconds: u64) -> Duration {
        Duration::from_secs(seconds).min(MAX_RETRY_AFTER)
    }

    /// Run `attempt_fn` (a GET and the read of its body) again while its body broke off
    /// ([`OciError::Body`]), up to `retries` more times; the final error says how many attempts
    /// were made. Other outcomes return at once.
    /// `notice` hears of each retry: the error, the retry's number, how many there may be, the wait.
    pub async fn body<T, F, Fut>(&self, attempt_fn: F, notice: Notice<'_>) -> Result<T, OciError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciError>>,
    {
        let is_body = |e: &OciError| matches!(e, OciError::Body { .. });
        match self
            .run(self.retries + 1, is_body, attempt_fn, notice)
            .await
        {
            (
                Err(OciError::Body {
                    method,
                    url,
                    source,
                    ..
                }),
                attempts,
            ) => Err(OciError::Body {
                method,
                url,
                attempts,
                source,
            }),
            (other, _) => other,
        }
    }

    /// Run a whole blob upload again (a new session) when it failed in a way a new session can
    /// fix: the connection, a 5xx or 429, or a 404 for a session the registry lost.
    pub async fn upload<T, F, Fut>(&self, attempt_fn: F, notice: Notice<'_>) -> Result<T, OciError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciError>>,
    {
        let restartable = |e: &OciError| match e {
            OciError::Transport { .. } => true,
            OciError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 404,
            _ => false,
        };
        self.run(self.upload_attempts, restartable, attempt_fn, notice)
            .await
            .0
    }

    /// Up to `attempts` attempts, waiting [`RetryPolicy::backoff`] after each retryable failure;
    /// the result and the number of attempts made.
    async fn run<T, F, Fut>(
        &self,
        attempts: u32,
        retryable: impl Fn(&OciError) -> bool,
        mut attempt_fn: F,
        notice: Notice<'_>,
    ) -> (Result<T, OciError>, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciError>>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match attempt_fn().await {
                Err(e) if attempt < attempts && retryable(&e) => {
                    let wait = self.backoff(attempt);
                    notice(&e, attempt, attempts - 1, wait);
                    tokio::time::sleep(wait).await;
                }
                other => return (other, attempt),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::new(4);
        assert_eq!(p.backoff(1), Duration::from_millis(250));
        assert_eq!(p.backoff(2), Duration::from_millis(500));
        assert_eq!(p.backoff(30), Duration::from_millis(8_000));
        assert_eq!(p.retry_after(3600), Duration::from_secs(60));
        assert_eq!(p.request_attempts(true), 5);
        assert_eq!(p.request_attempts(false), 1);
    }
}
