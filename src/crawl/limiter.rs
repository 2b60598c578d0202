//! The per-host gate every request passes: a concurrency cap, a rate that is a
//! hard ceiling, the robots.txt Crawl-delay, and pauses asked for by
//! `Retry-After`.
//!
//! Why not governor: its GCRA admits `burst + rate - 1` requests in some 1 s
//! windows once `burst > 1`, and it has no notion of "this host asked us to
//! stop until T". The contract is stricter — never more than the configured
//! rate in any 1 s window, retries and robots.txt included — so the gate
//! checks each send against a short log of when the previous ones really
//! went out, and records it, under one lock: easy to check by reading.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::config::Rate;
use crate::store::{SendRule, Store};

/// The longest wait anything from outside can ask for (a `Retry-After`, a
/// Crawl-delay, a spacing from a tiny rate): past it a `Duration` or an
/// `Instant` sum would overflow and panic.
pub const LONGEST_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// `secs` as a `Duration` in `0..=LONGEST_WAIT`: NaN and negatives are zero,
/// huge and infinite values are `LONGEST_WAIT`. Every number of seconds
/// that comes from a server or a file passes through here.
pub fn clamped_secs(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(secs).map_or(LONGEST_WAIT, |d| d.min(LONGEST_WAIT))
}

/// Slack added to the 1 s ceiling window, so that requests spaced exactly at
/// the limit by the client are not seen closer than that by the server.
const MARGIN: Duration = Duration::from_millis(20);

/// The margin of the 1 s ceiling window on a store crawls share: between
/// taking a turn from the database and the request reaching the host lie
/// a round trip and a thread hand-over more than in one process, and
/// they vary more from one request to the next.
const SHARED_MARGIN: Duration = Duration::from_millis(100);

/// Gate for one host (host:port).
pub(crate) struct HostGate {
    permits: Semaphore,
    schedule: Mutex<Schedule>,
    /// On a store other crawls share: the host's sends and pauses kept
    /// there, so its rate holds across all of them.
    shared: Option<Shared>,
}

struct Shared {
    store: Arc<Store>,
    host: String,
}

#[derive(Debug)]
struct Schedule {
    /// Minimum spacing: 1 / requests_per_second, or the Crawl-delay if longer.
    interval: Duration,
    /// Requests that may go back to back before the spacing applies.
    burst: usize,
    /// Most requests in any 1 s window: ⌊requests_per_second⌋, at least 1.
    per_second: usize,
    /// When the latest requests went out, oldest first.
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl HostGate {
    /// A gate enforcing `rate` for this process, and through `store` (one
    /// other crawls share) for all of them.
    pub fn shared(rate: &Rate, store: Arc<Store>, host: &str) -> HostGate {
        HostGate {
            shared: Some(Shared {
                store,
                host: host.to_string(),
            }),
            ..HostGate::new(rate)
        }
    }

    /// A gate enforcing `rate`.
    pub fn new(rate: &Rate) -> HostGate {
        let per_second = (rate.requests_per_second.floor() as usize).max(1);
        HostGate {
            permits: Semaphore::new(rate.concurrency.max(1) as usize),
            schedule: Mutex::new(Schedule {
                interval: clamped_secs(1.0 / rate.requests_per_second),
                burst: (rate.burst.max(1) as usize).min(per_second),
                per_second,
                sent: VecDeque::new(),
                paused_until: None,
            }),
            shared: None,
        }
    }

    fn schedule(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Widens the spacing to a robots.txt Crawl-delay when that is stricter.
    pub(crate) fn apply_crawl_delay(&self, delay: Duration) {
        let mut schedule = self.schedule();
        if delay > schedule.interval {
            schedule.interval = delay;
            schedule.burst = 1;
        }
    }

    /// Sends nothing to this host for `wait` (a `Retry-After`).
    pub(crate) fn pause_for(&self, wait: Duration) {
        let now = Instant::now();
        let until = now
            .checked_add(wait.min(LONGEST_WAIT))
            .unwrap_or(now + LONGEST_WAIT);
        let mut schedule = self.schedule();
        if schedule.paused_until.is_none_or(|current| current < until) {
            schedule.paused_until = Some(until);
        }
        drop(schedule);
        if let Some(shared) = &self.shared {
            let (store, host) = (shared.store.clone(), shared.host.clone());
            tokio::task::spawn_blocking(move || {
                if let Err(e) = store.pause_host(&host, wait) {
                    tracing::warn!("{e:#}; other crawls sharing the store may not pause");
                }
            });
        }
    }

    /// The spacing currently enforced.
    #[cfg(test)]
    pub(crate) fn interval(&self) -> Duration {
        self.schedule().interval
    }

    /// Waits for a concurrency permit and a send slot; the request may go out
    /// as soon as this returns, and the permit is held until it is dropped.
    pub(crate) async fn acquire(&self) -> SemaphorePermit<'_> {
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the gate's semaphore is never closed");
        loop {
            match self.try_send(Instant::now()) {
                Ok(()) => break,
                Err(at) => tokio::time::sleep_until(at).await,
            }
        }
        if let Some(shared) = &self.shared {
            self.take_shared_turn(shared).await;
        }
        permit
    }

    /// Waits for the host's turn among every crawl sharing the store. A
    /// store that cannot be reached is warned about and this process's own
    /// gate alone holds (the crawl stops at its next write anyway).
    async fn take_shared_turn(&self, shared: &Shared) {
        loop {
            let rule = self.send_rule();
            let (store, host) = (shared.store.clone(), shared.host.clone());
            match tokio::task::spawn_blocking(move || store.take_send_slot(&host, &rule)).await {
                Ok(Ok(None)) => return,
                Ok(Ok(Some(wait))) => tokio::time::sleep(wait.min(LONGEST_WAIT)).await,
                Ok(Err(e)) => {
                    tracing::warn!("{e:#}; this crawl's own rate limit alone holds");
                    return;
                }
                Err(e) => {
                    tracing::warn!("taking a turn to send to {}: {e}", shared.host);
                    return;
                }
            }
        }
    }

    /// The rules of this gate in milliseconds, for the store's shared gate.
    fn send_rule(&self) -> SendRule {
        let s = self.schedule();
        SendRule {
            interval_ms: i64::try_from(s.interval.as_millis()).unwrap_or(i64::MAX),
            burst: s.burst,
            per_second: s.per_second,
            window_ms: i64::try_from((Duration::from_secs(1) + SHARED_MARGIN).as_millis())
                .expect("a second and a margin"),
        }
    }

    /// Records a send at `now` if every rule allows it; otherwise returns the
    /// earliest time worth trying again. Rules are checked against the times
    /// requests actually went out, never against planned ones, so a task
    /// that was scheduled late cannot squeeze the next window.
    fn try_send(&self, now: Instant) -> Result<(), Instant> {
        let mut s = self.schedule();
        let mut at = now;
        if let Some(paused) = s.paused_until {
            at = at.max(paused);
        }
        let n = s.sent.len();
        if n >= s.burst {
            // Spacing is politeness, not the contract: no margin, or a fast
            // host would be held to one request per MARGIN.
            at = at.max(s.sent[n - s.burst] + s.interval * s.burst as u32);
        }
        if n >= s.per_second {
            at = at.max(s.sent[n - s.per_second] + Duration::from_secs(1) + MARGIN);
        }
        if at > now {
            return Err(at);
        }
        s.sent.push_back(now);
        let keep = s.burst.max(s.per_second);
        while s.sent.len() > keep {
            s.sent.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(rps: f64, burst: u32) -> Rate {
        Rate {
            requests_per_second: rps,
            burst,
            concurrency: 4,
            respect_robots: true,
        }
    }

    /// Sends `count` requests as early as the gate allows, on a simulated clock.
    fn send_times(gate: &HostGate, count: usize) -> Vec<Instant> {
        let mut clock = Instant::now();
        let mut sent = Vec::new();
        while sent.len() < count {
            match gate.try_send(clock) {
                Ok(()) => sent.push(clock),
                Err(at) => {
                    assert!(at > clock);
                    clock = at;
                }
            }
        }
        sent
    }

    /// Most sends in any window [t, t + 1 s).
    fn busiest_second(slots: &[Instant]) -> usize {
        slots
            .iter()
            .map(|&start| {
                slots
                    .iter()
                    .filter(|&&t| t >= start && t < start + Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn sends_never_exceed_the_ceiling_in_any_second() {
        for (rps, burst, ceiling) in [
            (2.0, 1, 2),
            (2.0, 2, 2),
            (4.0, 3, 4),
            (2.5, 5, 2),
            (0.5, 1, 1),
            (10.0, 10, 10),
        ] {
            let gate = HostGate::new(&rate(rps, burst));
            let sent = send_times(&gate, 40);
            assert!(busiest_second(&sent) <= ceiling, "rps {rps} burst {burst}");
            // And no slower than it must be: a fractional rate above 1 is held
            // to its floor, so 2.5/s means at most 2 in any second.
            let effective = rps.min(ceiling as f64);
            let span = (sent[39] - sent[0]).as_secs_f64();
            assert!(
                span < 40.0 / effective * 1.1,
                "rps {rps} burst {burst}: {span} s"
            );
        }
    }

    #[test]
    fn a_late_send_pushes_the_next_ones_back() {
        let gate = HostGate::new(&rate(2.0, 1));
        let start = Instant::now();
        gate.try_send(start).unwrap();
        // The second request was allowed at +0.52 s but its task only ran at +0.9 s.
        gate.try_send(start + Duration::from_millis(900)).unwrap();
        let next = gate
            .try_send(start + Duration::from_millis(1000))
            .unwrap_err();
        assert!(next >= start + Duration::from_millis(1400));
    }

    #[test]
    fn outside_numbers_of_seconds_never_overflow() {
        assert_eq!(clamped_secs(f64::NAN), Duration::ZERO);
        assert_eq!(clamped_secs(-3.0), Duration::ZERO);
        assert_eq!(clamped_secs(1e30), LONGEST_WAIT);
        assert_eq!(clamped_secs(f64::INFINITY), LONGEST_WAIT);
        assert_eq!(clamped_secs(1.5), Duration::from_millis(1500));
        // A rate of 1e-300 per second is a spacing of 1e300 s: clamped, no panic.
        let gate = HostGate::new(&rate(1e-300, 1));
        assert_eq!(gate.interval(), LONGEST_WAIT);
        gate.pause_for(Duration::MAX);
        assert!(gate.try_send(Instant::now()).is_err());
    }

    #[test]
    fn burst_goes_back_to_back_then_spacing_applies() {
        let gate = HostGate::new(&rate(4.0, 2));
        let sent = send_times(&gate, 4);
        assert_eq!(sent[0], sent[1]);
        assert!(sent[2] - sent[0] >= Duration::from_millis(500));
    }

    #[test]
    fn pause_and_crawl_delay_push_slots_later() {
        let gate = HostGate::new(&rate(10.0, 1));
        let now = Instant::now();
        gate.pause_for(Duration::from_secs(3));
        assert!(gate.try_send(now).unwrap_err() >= now + Duration::from_secs(3));
        gate.apply_crawl_delay(Duration::from_secs(2));
        let sent = send_times(&gate, 2);
        assert!(sent[0] >= now + Duration::from_secs(3));
        assert!(sent[1] - sent[0] >= Duration::from_secs(2));
    }
}
