//! Progress bars on stderr for long work (reading, inflating, parsing,
//! laying out, writing, querying), drawn by `indicatif`.
//!
//! Off unless the command line calls [`enable`] (it does when stderr is a
//! terminal and `--quiet` is not given). A [`Stage`] shows nothing for its
//! first second (`BREAKDOWN_TRACE_PROGRESS_DELAY_MS` overrides the delay, for
//! tests), so quick commands never flicker; the bar is removed when the
//! stage ends. The work itself only adds to an atomic counter: a helper
//! thread draws. Nothing is ever written to stdout.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

static ENABLED: AtomicBool = AtomicBool::new(false);
static DELAY_MS: AtomicU64 = AtomicU64::new(1000);

/// Turns progress bars on (stderr must be a terminal: indicatif draws
/// nothing otherwise).
pub fn enable() {
    let delay = std::env::var("BREAKDOWN_TRACE_PROGRESS_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    DELAY_MS.store(delay, Ordering::Relaxed);
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether [`enable`] was called.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// One piece of long work. Dropping it ends (and clears) its bar.
pub struct Stage {
    pos: Arc<AtomicU64>,
    done: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts a stage labelled `label`: a bar over `total` bytes when known, a
/// spinner otherwise (showing the count of bytes or rows so far when
/// `unit` is `Some`).
pub fn stage(label: impl Into<String>, total: Option<u64>, unit: Option<Unit>) -> Stage {
    let pos = Arc::new(AtomicU64::new(0));
    if !enabled() {
        return Stage {
            pos,
            done: None,
            thread: None,
        };
    }
    let label = label.into();
    let (tx, rx) = mpsc::channel::<()>();
    let delay = Duration::from_millis(DELAY_MS.load(Ordering::Relaxed));
    let p = Arc::clone(&pos);
    // Without a delay the bar is drawn before the work starts, however
    // soon the stage ends (what the tests rely on).
    let bar = delay.is_zero().then(|| new_bar(&label, total, unit));
    let thread = std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || draw(label, total, unit, p, rx, delay, bar))
        .ok();
    Stage {
        pos,
        done: Some(tx),
        thread,
    }
}

/// What a stage counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Rows,
}

fn new_bar(label: &str, total: Option<u64>, unit: Option<Unit>) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = match (total, unit) {
        (Some(_), _) => "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {elapsed})",
        (None, Some(Unit::Bytes)) => "{spinner} {msg} {bytes} ({elapsed})",
        (None, Some(Unit::Rows)) => "{spinner} {msg} {human_pos} rows ({elapsed})",
        (None, None) => "{spinner} {msg} ({elapsed})",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar.tick();
    bar
}

fn draw(
    label: String,
    total: Option<u64>,
    unit: Option<Unit>,
    pos: Arc<AtomicU64>,
    rx: mpsc::Receiver<()>,
    delay: Duration,
    bar: Option<indicatif::ProgressBar>,
) {
    let bar = match bar {
        Some(b) => b,
        None => {
            if !matches!(rx.recv_timeout(delay), Err(mpsc::RecvTimeoutError::Timeout)) {
                return; // finished before the delay
            }
            new_bar(&label, total, unit)
        }
    };
    bar.set_position(pos.load(Ordering::Relaxed));
    bar.tick();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bar.set_position(pos.load(Ordering::Relaxed));
                bar.tick();
            }
            _ => break,
        }
    }
    bar.finish_and_clear();
}

impl Stage {
    /// Adds `n` to the stage's count.
    pub fn inc(&self, n: u64) {
        self.pos.fetch_add(n, Ordering::Relaxed);
    }

    /// Wraps `r` so that every byte read counts.
    pub fn reader<R: Read>(&self, r: R) -> CountingReader<'_, R> {
        CountingReader {
            inner: r,
            stage: self,
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A reader that counts what passes through it into a [`Stage`].
pub struct CountingReader<'a, R> {
    inner: R,
    stage: &'a Stage,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.stage.inc(n as u64);
        Ok(n)
    }
}

/// A writer that counts what passes through it into a [`Stage`].
pub struct CountingWriter<'a, W> {
    pub inner: W,
    pub stage: &'a Stage,
}

impl<W: std::io::Write> std::io::Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.stage.inc(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
