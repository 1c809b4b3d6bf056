//! How a command shows its blob transfers, decided once here: on a terminal (stderr is one and
//! not `-q`: [`Printer::progress_enabled`]) a progress bar for each transfer that has lasted over
//! [`BAR_DELAY`] — bytes, total, rate, ETA and the blob's short digest — and nothing for the quick
//! ones; otherwise (CI) one status line when a blob starts and one when it ends, none under `-q`.
//! Never anything on stdout.
//!
//! The bars live in one [`MultiProgress`] on stderr. While it is active every other line the
//! printer writes (a retry notice, a warning, debug output, even stdout's data on the same
//! terminal) goes through [`suspend`]: the bars are cleared, the line written, the bars drawn
//! again below it, so nothing tears a bar apart.
//!
//! A bar is made hidden when its transfer starts and shown by a ticker thread once the transfer
//! has lasted [`BAR_DELAY`] (also when no byte has moved since: a stalled upload is what a bar is
//! for); the thread also redraws shown bars so rate and ETA move during a stall.
//!
//! Owns: the bar-or-lines decision and the wording of transfer lines. Does not own: the events
//! (`oci::target::TransferEvent`, sent by `oci::ops` and the registry client) or where stderr is
//! (`printer`).

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{BinaryBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::oci::target::{Direction, TransferEvent};
use crate::printer::Printer;

/// How long a transfer runs before its bar is shown.
pub const BAR_DELAY: Duration = Duration::from_secs(1);

/// How often the ticker looks for transfers to show and redraws the shown ones.
const TICK: Duration = Duration::from_millis(100);

/// The bars of this process while a [`Progress`] draws them (what [`suspend`] clears).
static ACTIVE: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Run `write` (a line to stderr or stdout) with the progress bars cleared and redrawn after it,
/// when bars are being drawn; else just run it.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    let multi = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match multi {
        Some(m) => m.suspend(write),
        None => write(),
    }
}

/// The short form of a digest on a bar: the algorithm and 12 hex digits.
pub fn short_digest(digest: &str) -> &str {
    match digest.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => &digest[..alg.len() + 1 + 12],
        _ => digest,
    }
}

/// The status line for a transfer event without a terminal (`None`: no line for it).
pub fn line(ev: &TransferEvent) -> Option<String> {
    match ev {
        TransferEvent::Started {
            digest,
            size,
            direction,
        } => Some(format!(
            "{} {digest} ({size} bytes)",
            match direction {
                Direction::Upload => "uploading",
                Direction::Download => "downloading",
            }
        )),
        TransferEvent::Finished { digest, direction } => Some(format!(
            "{} {digest}",
            match direction {
                Direction::Upload => "uploaded",
                Direction::Download => "downloaded",
            }
        )),
        TransferEvent::Progress { .. } => None,
    }
}

/// One command's transfer display; give [`Progress::event`] every [`TransferEvent`]. Dropping it
/// stops the bars (before the command prints its result).
pub struct Progress {
    mode: Mode,
}

enum Mode {
    Lines(Printer),
    Bars {
        bars: Arc<Bars>,
        /// Dropped to stop the ticker.
        stop: Option<mpsc::Sender<()>>,
        ticker: Option<JoinHandle<()>>,
    },
}

struct Bars {
    multi: MultiProgress,
    active: Mutex<HashMap<String, Transfer>>,
}

struct Transfer {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
}

impl Progress {
    /// Bars when `printer` may draw progress, else lines (which `-q` silences).
    pub fn new(printer: &Printer) -> Progress {
        if !printer.progress_enabled() {
            return Progress {
                mode: Mode::Lines(printer.clone()),
            };
        }
        Progress::bars(ProgressDrawTarget::stderr())
    }

    fn bars(target: ProgressDrawTarget) -> Progress {
        let multi = MultiProgress::with_draw_target(target);
        *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some(multi.clone());
        let bars = Arc::new(Bars {
            multi,
            active: Mutex::new(HashMap::new()),
        });
        let (stop, stopped) = mpsc::channel::<()>();
        let ticking = bars.clone();
        let ticker = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    ticking.tick();
                }
            })
            .ok();
        Progress {
            mode: Mode::Bars {
                bars,
                stop: Some(stop),
                ticker,
            },
        }
    }

    /// Show `ev`: a line (start and end of a blob) or a bar's update.
    pub fn event(&self, ev: TransferEvent) {
        match &self.mode {
            Mode::Lines(printer) => {
                if let Some(l) = line(&ev) {
                    printer.status(&l);
                }
            }
            Mode::Bars { bars, .. } => bars.event(ev),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Mode::Bars {
            bars, stop, ticker, ..
        } = &mut self.mode
        {
            drop(stop.take());
            if let Some(t) = ticker.take() {
                let _ = t.join();
            }
            // A transfer still open here failed: its bar stays as it stopped.
            for (_, t) in bars
                .active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .drain()
            {
                if t.shown {
                    t.bar.abandon();
                }
            }
            *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

fn running_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:>11} {msg} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .expect("a valid template")
    .progress_chars("=> ")
}

/// The line a shown bar leaves when its transfer ends: what moved, how long it took, how fast.
pub fn summary(direction: Direction, digest: &str, size: u64, took: Duration) -> String {
    let secs = took.as_secs_f64().max(0.001);
    format!(
        "{:>11} {} {} in {:.1} s ({}/s)",
        match direction {
            Direction::Upload => "uploaded",
            Direction::Download => "downloaded",
        },
        short_digest(digest),
        BinaryBytes(size),
        secs,
        BinaryBytes((size as f64 / secs) as u64)
    )
}

impl Bars {
    fn event(&self, ev: TransferEvent) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        match ev {
            TransferEvent::Started {
                digest,
                size,
                direction,
            } => {
                let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::hidden())
                    .with_style(running_style())
                    .with_prefix(match direction {
                        Direction::Upload => "uploading",
                        Direction::Download => "downloading",
                    })
                    .with_message(short_digest(&digest).to_string());
                active.insert(
                    digest,
                    Transfer {
                        bar,
                        started: Instant::now(),
                        shown: false,
                    },
                );
            }
            TransferEvent::Progress { digest, bytes } => {
                if let Some(t) = active.get_mut(&digest) {
                    t.bar.set_position(bytes);
                    self.show_if_slow(t);
                }
            }
            TransferEvent::Finished { digest, direction } => {
                // The bar gives way to a line that stays above the running ones.
                if let Some(t) = active.remove(&digest) {
                    if t.shown {
                        let size = t.bar.length().unwrap_or(0);
                        t.bar.finish_and_clear();
                        let line = summary(direction, &digest, size, t.started.elapsed());
                        let _ = self.multi.println(line);
                    }
                }
            }
        }
    }

    /// Show the bar of a transfer that has lasted [`BAR_DELAY`].
    fn show_if_slow(&self, t: &mut Transfer) {
        if !t.shown && t.started.elapsed() >= BAR_DELAY {
            t.bar = self.multi.add(t.bar.clone());
            t.shown = true;
        }
    }

    fn tick(&self) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        for t in active.values_mut() {
            self.show_if_slow(t);
            if t.shown {
                t.bar.tick();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_each_blob_at_its_start_and_end() {
        let d = "sha256:0123456789abcdef0123".to_string();
        let up = |ev| line(&ev).unwrap();
        assert_eq!(
            up(TransferEvent::Started {
                digest: d.clone(),
                size: 42,
                direction: Direction::Upload
            }),
            "uploading sha256:0123456789abcdef0123 (42 bytes)"
        );
        assert_eq!(
            up(TransferEvent::Finished {
                digest: d.clone(),
                direction: Direction::Download
            }),
            "downloaded sha256:0123456789abcdef0123"
        );
        assert_eq!(
            line(&TransferEvent::Progress {
                digest: d.clone(),
                bytes: 1
            }),
            None
        );
        assert_eq!(short_digest(&d), "sha256:0123456789ab");
        assert_eq!(
            summary(Direction::Upload, &d, 3 * 1024, Duration::from_millis(1500)),
            "   uploaded sha256:0123456789ab 3.00 KiB in 1.5 s (2.00 KiB/s)"
        );
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
    }

    #[test]
    fn a_bar_is_shown_only_once_its_transfer_lasted_the_delay() {
        let p = Progress::bars(ProgressDrawTarget::hidden());
        let Mode::Bars { bars, .. } = &p.mode else {
            unreachable!()
        };
        let d = "sha256:aa".to_string();
        p.event(TransferEvent::Started {
            digest: d.clone(),
            size: 10,
            direction: Direction::Upload,
        });
        p.event(TransferEvent::Progress {
            digest: d.clone(),
            bytes: 5,
        });
        assert!(!bars.active.lock().unwrap()[&d].shown);
        bars.active.lock().unwrap().get_mut(&d).unwrap().started -= BAR_DELAY;
        std::thread::sleep(TICK * 3);
        assert!(bars.active.lock().unwrap()[&d].shown, "the ticker shows it");
        assert_eq!(bars.active.lock().unwrap()[&d].bar.position(), 5);
        p.event(TransferEvent::Finished {
            digest: d.clone(),
            direction: Direction::Upload,
        });
        assert!(bars.active.lock().unwrap().is_empty());
        drop(p);
        assert!(ACTIVE.lock().unwrap().is_none());
    }
}
