//! The per-host gate every request passes: a concurrency cap, a rate that is a
//! hard ceiling, the robots.txt Crawl-delay, and pauses asked for by
//! `Retry-After`.
//!
//! Why not governor: its GCRA admits `burst + rate - 1` requests in some 1 s
//! windows once `burst > 1`, and it has no notion of "this host asked us to
//! stop until T". The contract is stricter — never more than the configured
//! rate in any 1 s window, retries and robots.txt included — so the gate
//! reserves each request's send time against a short log of the previous
//! ones, under one lock, which is easy to check by reading.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::config::Rate;

/// Slack added to every window, so that requests spaced exactly at the limit
/// by the client are not seen closer than that by the server.
const MARGIN: Duration = Duration::from_millis(20);

/// Gate for one host (host:port).
#[derive(Debug)]
pub struct HostGate {
    permits: Semaphore,
    schedule: Mutex<Schedule>,
}

#[derive(Debug)]
struct Schedule {
    /// Minimum spacing: 1 / requests_per_second, or the Crawl-delay if longer.
    interval: Duration,
    /// Requests that may go back to back before the spacing applies.
    burst: usize,
    /// Most requests in any 1 s window: ⌊requests_per_second⌋, at least 1.
    per_second: usize,
    /// Send times already handed out, oldest first.
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl HostGate {
    /// A gate enforcing `rate`.
    pub fn new(rate: &Rate) -> HostGate {
        let per_second = (rate.requests_per_second.floor() as usize).max(1);
        HostGate {
            permits: Semaphore::new(rate.concurrency.max(1) as usize),
            schedule: Mutex::new(Schedule {
                interval: Duration::from_secs_f64(1.0 / rate.requests_per_second),
                burst: (rate.burst.max(1) as usize).min(per_second),
                per_second,
                sent: VecDeque::new(),
                paused_until: None,
            }),
        }
    }

    fn schedule(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Widens the spacing to a robots.txt Crawl-delay when that is stricter.
    pub fn apply_crawl_delay(&self, delay: Duration) {
        let mut schedule = self.schedule();
        if delay > schedule.interval {
            schedule.interval = delay;
            schedule.burst = 1;
        }
    }

    /// Sends nothing to this host before `until` (a `Retry-After`).
    pub fn pause_until(&self, until: Instant) {
        let mut schedule = self.schedule();
        if schedule.paused_until.is_none_or(|current| current < until) {
            schedule.paused_until = Some(until);
        }
    }

    /// The spacing currently enforced.
    pub fn interval(&self) -> Duration {
        self.schedule().interval
    }

    /// Waits for a concurrency permit and a send slot; the request may go out
    /// as soon as this returns, and the permit is held until it is dropped.
    pub async fn acquire(&self) -> SemaphorePermit<'_> {
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the gate's semaphore is never closed");
        loop {
            let slot = self.reserve(Instant::now());
            tokio::time::sleep_until(slot).await;
            // A Retry-After may have arrived while we slept: check again.
            let paused = self.schedule().paused_until.is_some_and(|t| t > Instant::now());
            if !paused {
                return permit;
            }
        }
    }

    /// Books the earliest send time allowed after `now` and returns it.
    fn reserve(&self, now: Instant) -> Instant {
        let mut s = self.schedule();
        let mut at = now;
        if let Some(paused) = s.paused_until {
            at = at.max(paused);
        }
        if let Some(&last) = s.sent.back() {
            at = at.max(last);
        }
        let n = s.sent.len();
        if n >= s.burst {
            let window = s.interval * s.burst as u32 + MARGIN;
            at = at.max(s.sent[n - s.burst] + window);
        }
        if n >= s.per_second {
            at = at.max(s.sent[n - s.per_second] + Duration::from_secs(1) + MARGIN);
        }
        s.sent.push_back(at);
        let keep = s.burst.max(s.per_second);
        while s.sent.len() > keep {
            s.sent.pop_front();
        }
        at
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

    /// Most reservations in any window [t, t + 1 s).
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
    fn reservations_never_exceed_the_ceiling_in_any_second() {
        for (rps, burst, ceiling) in [(2.0, 1, 2), (2.0, 2, 2), (4.0, 3, 4), (2.5, 5, 2), (0.5, 1, 1), (10.0, 10, 10)] {
            let gate = HostGate::new(&rate(rps, burst));
            let now = Instant::now();
            let slots: Vec<Instant> = (0..40).map(|_| gate.reserve(now)).collect();
            assert!(busiest_second(&slots) <= ceiling, "rps {rps} burst {burst}");
            assert!(slots.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn burst_goes_back_to_back_then_spacing_applies() {
        let gate = HostGate::new(&rate(4.0, 2));
        let now = Instant::now();
        let slots: Vec<Instant> = (0..4).map(|_| gate.reserve(now)).collect();
        assert_eq!(slots[0], slots[1]);
        assert!(slots[2] - slots[0] >= Duration::from_millis(500));
    }

    #[test]
    fn pause_and_crawl_delay_push_slots_later() {
        let gate = HostGate::new(&rate(10.0, 1));
        let now = Instant::now();
        gate.pause_until(now + Duration::from_secs(3));
        assert!(gate.reserve(now) >= now + Duration::from_secs(3));
        gate.apply_crawl_delay(Duration::from_secs(2));
        let a = gate.reserve(now);
        let b = gate.reserve(now);
        assert!(b - a >= Duration::from_secs(2));
    }
}
