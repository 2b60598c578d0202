//! Crawl progress: a bar per target on a terminal, periodic log lines
//! otherwise (cron, systemd, CI).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the log-line mode reports.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Progress of a crawl, per target: items discovered and finished.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    bars: Option<MultiProgress>,
    targets: HashMap<String, Counts>,
    last_log: Instant,
}

#[derive(Default)]
struct Counts {
    discovered: u64,
    finished: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Bars when `terminal`, log lines otherwise.
    pub fn new(terminal: bool) -> Progress {
        let bars = terminal.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            inner: Arc::new(Mutex::new(Inner {
                bars,
                targets: HashMap::new(),
                last_log: Instant::now(),
            })),
        }
    }

    /// No output at all (tests, benchmarks).
    pub fn hidden() -> Progress {
        Progress::new(false).quiet()
    }

    fn quiet(self) -> Progress {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_log = Instant::now() + Duration::from_secs(1 << 30);
        self
    }

    fn update(&self, target: &str, change: impl FnOnce(&mut Counts)) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let bars = inner.bars.clone();
        let counts = inner.targets.entry(target.to_string()).or_default();
        change(counts);
        if let Some(bars) = bars {
            let bar = counts.bar.get_or_insert_with(|| {
                let bar = bars.add(ProgressBar::new(0));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>12} [{bar:30}] {pos}/{len} items  {elapsed}",
                    )
                    .expect("the template is valid")
                    .progress_chars("=> "),
                );
                bar.set_prefix(target.to_string());
                bar
            });
            bar.set_length(counts.discovered);
            bar.set_position(counts.finished);
        } else if inner.last_log.elapsed() >= LOG_EVERY {
            inner.last_log = Instant::now();
            for (name, counts) in &inner.targets {
                tracing::info!(target_name = %name, finished = counts.finished, discovered = counts.discovered, "crawling");
            }
        }
    }

    /// An item of `target` joined the frontier.
    pub(crate) fn discovered(&self, target: &str) {
        self.update(target, |c| c.discovered += 1);
    }

    /// An item of `target` was finished.
    pub fn finished(&self, target: &str) {
        self.update(target, |c| c.finished += 1);
    }

    /// The crawl is over: bars are finished.
    pub fn done(&self) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for counts in inner.targets.values() {
            if let Some(bar) = &counts.bar {
                bar.finish();
            }
        }
    }
}
