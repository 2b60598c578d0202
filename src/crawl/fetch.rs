//! The only way knockoff talks to the network.
//!
//! Every request — listing pages, search pages, images, robots.txt, retries
//! and redirect hops — goes through [`Fetcher::get`], which checks robots.txt,
//! refuses private addresses, waits at the host's [`HostGate`], bounds the
//! body, retries what is worth retrying and records every exchange exactly
//! as it happened for the store.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use reqwest::header::{
    HeaderMap, ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, LOCATION, RETRY_AFTER, USER_AGENT,
};
use tokio::sync::OnceCell;
use tokio::time::Instant;
use url::Url;

use super::limiter::HostGate;
use crate::config::{Config, CrawlSettings, Rate};
use crate::store::Exchange;

/// Crawl-delay above this is capped: a site asking for an hour between
/// requests gets one request a minute.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);
/// Largest robots.txt read (RFC 9309 asks crawlers to parse at least 500 KiB).
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// What is being fetched, which decides the body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Page,
    Image,
}

/// A successful fetch: the final response and every exchange on the way.
#[derive(Debug)]
pub struct Fetched {
    pub final_url: Url,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub exchanges: Vec<Exchange>,
}

/// A failed fetch: why, and every exchange on the way.
#[derive(Debug)]
pub struct FetchFailure {
    pub error: FetchError,
    pub exchanges: Vec<Exchange>,
}

/// Why a URL could not be fetched. The crawl records it and moves on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("{url} is disallowed by robots.txt")]
    RobotsDenied { url: String },
    #[error("robots.txt of {url} is unavailable ({reason}); the host is treated as disallowing everything")]
    RobotsUnavailable { url: String, reason: String },
    #[error("{url} refused: {host} resolves to {addr}, a loopback/private/link-local/multicast address, and no target's base_url is there")]
    BlockedAddress {
        url: String,
        host: String,
        addr: IpAddr,
    },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} still answered HTTP {status} after {attempts} attempts")]
    GaveUp {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{url} asked us to wait {seconds} s (Retry-After), over the {limit} s limit")]
    RetryAfterTooLong {
        url: String,
        seconds: u64,
        limit: u64,
    },
    #[error("{url} body is over the {limit}-byte limit")]
    TooLarge { url: String, limit: u64 },
    #[error("{url} redirects in a loop back to {to}")]
    RedirectLoop { url: String, to: String },
    #[error("{url} redirected more than {limit} times")]
    TooManyRedirects { url: String, limit: u32 },
    #[error("{url} redirect has an unusable Location {location:?}")]
    BadRedirect { url: String, location: String },
    #[error("{url} timed out after {attempts} attempts")]
    Timeout { url: String, attempts: u32 },
    #[error("{url} could not be reached after {attempts} attempts: {detail}")]
    Connection {
        url: String,
        detail: String,
        attempts: u32,
    },
    #[error("{url} is not an http(s) URL")]
    BadUrl { url: String },
}

impl FetchError {
    /// A short stable name, used to count errors by kind in run summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::RobotsDenied { .. } => "robots_denied",
            FetchError::RobotsUnavailable { .. } => "robots_unavailable",
            FetchError::BlockedAddress { .. } => "blocked_address",
            FetchError::Status { status, .. } if *status >= 500 => "http_5xx",
            FetchError::Status { .. } => "http_4xx",
            FetchError::GaveUp { .. } => "gave_up",
            FetchError::RetryAfterTooLong { .. } => "retry_after_too_long",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::RedirectLoop { .. } => "redirect_loop",
            FetchError::TooManyRedirects { .. } => "too_many_redirects",
            FetchError::BadRedirect { .. } => "bad_redirect",
            FetchError::Timeout { .. } => "timeout",
            FetchError::Connection { .. } => "connection",
            FetchError::BadUrl { .. } => "bad_url",
        }
    }
}

/// "host:port" — the unit of politeness.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Whether knockoff may connect to `ip` without a target living there.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

/// The resolver reqwest uses: drops every address that is not public and not
/// where a target's own base_url lives, so a hostile link or redirect cannot
/// reach the operator's network.
#[derive(Clone)]
struct GuardedResolver {
    allowed: Arc<HashSet<IpAddr>>,
}

/// Returned by the resolver when a host has only forbidden addresses.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to forbidden address {addr}")]
struct Forbidden {
    host: String,
    addr: IpAddr,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()) || allowed.contains(&a.ip()))
                .collect();
            match (usable.is_empty(), addrs.first()) {
                (true, Some(first)) => Err(Box::new(Forbidden {
                    host,
                    addr: first.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

fn forbidden_in(error: &reqwest::Error) -> Option<(String, IpAddr)> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(f) = e.downcast_ref::<Forbidden>() {
            return Some((f.host.clone(), f.addr));
        }
        source = e.source();
    }
    None
}

/// robots.txt as understood for one host.
enum Robots {
    AllowAll,
    Unavailable(FetchError),
    Rules(Box<texting_robots::Robot>),
}

/// The network side of a crawl: one per run.
pub struct Fetcher {
    client: reqwest::Client,
    settings: CrawlSettings,
    /// The robots.txt product token, from the User-Agent.
    agent: String,
    /// Rates of the hosts targets name; every other host gets the default.
    host_rates: HashMap<String, Rate>,
    default_rate: Rate,
    allowed: Arc<HashSet<IpAddr>>,
    gates: Mutex<HashMap<String, Arc<HostGate>>>,
    robots: Mutex<HashMap<String, Arc<OnceCell<Arc<Robots>>>>>,
}

impl Fetcher {
    /// Builds the fetcher for `config`'s targets. Loopback and private
    /// addresses are allowed only where a target's base_url resolves.
    pub async fn new(config: &Config) -> anyhow::Result<Fetcher> {
        let mut allowed = HashSet::new();
        let mut host_rates: HashMap<String, Rate> = HashMap::new();
        for target in &config.targets {
            let host = target
                .base_url
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']']);
            let port = target.base_url.port_or_known_default().unwrap_or(80);
            if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
                allowed.extend(addrs.map(|a| a.ip()));
            }
            let key = host_key(&target.base_url);
            let rate = match host_rates.remove(&key) {
                // Two targets on one host: the stricter of each setting.
                Some(other) => Rate {
                    requests_per_second: other
                        .requests_per_second
                        .min(target.rate.requests_per_second),
                    burst: other.burst.min(target.rate.burst),
                    concurrency: other.concurrency.min(target.rate.concurrency),
                    respect_robots: other.respect_robots || target.rate.respect_robots,
                },
                None => target.rate.clone(),
            };
            host_rates.insert(key, rate);
        }
        let settings = config.settings.crawl.clone();
        let allowed = Arc::new(allowed);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .dns_resolver(Arc::new(GuardedResolver {
                allowed: allowed.clone(),
            }))
            .build()?;
        let agent = settings
            .user_agent
            .split(['/', ' '])
            .next()
            .unwrap_or("knockoff")
            .to_string();
        Ok(Fetcher {
            client,
            default_rate: Rate {
                requests_per_second: settings.default_requests_per_second,
                burst: 1,
                concurrency: settings.default_concurrency,
                respect_robots: true,
            },
            settings,
            agent,
            host_rates,
            allowed,
            gates: Mutex::new(HashMap::new()),
            robots: Mutex::new(HashMap::new()),
        })
    }

    fn rate_for(&self, host: &str) -> &Rate {
        self.host_rates.get(host).unwrap_or(&self.default_rate)
    }

    /// The gate of `host` (host:port), created on first use.
    pub fn gate(&self, host: &str) -> Arc<HostGate> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(HostGate::new(self.rate_for(host))))
            .clone()
    }

    /// How many requests `host` may have in flight.
    pub fn concurrency(&self, host: &str) -> usize {
        self.rate_for(host).concurrency.max(1) as usize
    }

    /// Fetches `url`: robots.txt, address guard, rate limit, redirects,
    /// retries and the body limit all apply.
    pub async fn get(&self, url: &Url, kind: BodyKind) -> Result<Fetched, FetchFailure> {
        let mut exchanges = Vec::new();
        let mut visited: Vec<Url> = Vec::new();
        let mut current = url.clone();
        let limit = match kind {
            BodyKind::Page => self.settings.max_page_bytes,
            BodyKind::Image => self.settings.max_image_bytes,
        };
        loop {
            let fail = |error, exchanges| Err(FetchFailure { error, exchanges });
            if let Err(error) = self.check_allowed(&current, &mut exchanges).await {
                return fail(error, exchanges);
            }
            visited.push(current.clone());
            match self.get_with_retries(&current, limit, &mut exchanges).await {
                Ok(Step::Done { content_type, body }) => {
                    return Ok(Fetched {
                        final_url: current,
                        content_type,
                        body,
                        exchanges,
                    })
                }
                Ok(Step::Redirect(location)) => {
                    let Some(next) = current
                        .join(&location)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                    else {
                        return fail(
                            FetchError::BadRedirect {
                                url: current.to_string(),
                                location,
                            },
                            exchanges,
                        );
                    };
                    if visited.contains(&next) {
                        return fail(
                            FetchError::RedirectLoop {
                                url: url.to_string(),
                                to: next.to_string(),
                            },
                            exchanges,
                        );
                    }
                    if visited.len() > self.settings.max_redirects as usize {
                        return fail(
                            FetchError::TooManyRedirects {
                                url: url.to_string(),
                                limit: self.settings.max_redirects,
                            },
                            exchanges,
                        );
                    }
                    current = next;
                }
                Err(error) => return fail(error, exchanges),
            }
        }
    }

    /// Scheme, literal-address and robots.txt checks for one URL.
    async fn check_allowed(
        &self,
        url: &Url,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(FetchError::BadUrl {
                url: url.to_string(),
            });
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            if !is_public(ip) && !self.allowed.contains(&ip) {
                return Err(FetchError::BlockedAddress {
                    url: url.to_string(),
                    host: ip.to_string(),
                    addr: ip,
                });
            }
        }
        let host = host_key(url);
        if !self.rate_for(&host).respect_robots {
            return Ok(());
        }
        match &*self.robots_for(url, exchanges).await {
            Robots::AllowAll => Ok(()),
            // The guard refused the host itself: say that, not "robots.txt unavailable".
            Robots::Unavailable(FetchError::BlockedAddress { host, addr, .. }) => {
                Err(FetchError::BlockedAddress {
                    url: url.to_string(),
                    host: host.clone(),
                    addr: *addr,
                })
            }
            Robots::Unavailable(error) => Err(FetchError::RobotsUnavailable {
                url: url.to_string(),
                reason: error.to_string(),
            }),
            Robots::Rules(robot) if robot.allowed(url.as_str()) => Ok(()),
            Robots::Rules(_) => Err(FetchError::RobotsDenied {
                url: url.to_string(),
            }),
        }
    }

    /// robots.txt of `url`'s host, fetched once per run; the exchanges of
    /// that fetch are added to the first caller's.
    async fn robots_for(&self, url: &Url, exchanges: &mut Vec<Exchange>) -> Arc<Robots> {
        let host = host_key(url);
        let cell = {
            let mut map = self.robots.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(host.clone()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let mut robots_url = url.clone();
            robots_url.set_path("/robots.txt");
            robots_url.set_query(None);
            robots_url.set_fragment(None);
            let robots = match self
                .get_with_retries(&robots_url, MAX_ROBOTS_BYTES, exchanges)
                .await
            {
                Ok(Step::Done { body, .. }) => match texting_robots::Robot::new(&self.agent, &body)
                {
                    Ok(robot) => {
                        if let Some(delay) = robot.delay.filter(|d| d.is_finite() && *d > 0.0) {
                            let delay = Duration::from_secs_f32(delay).min(MAX_CRAWL_DELAY);
                            self.gate(&host).apply_crawl_delay(delay);
                        }
                        Robots::Rules(Box::new(robot))
                    }
                    Err(_) => Robots::AllowAll,
                },
                // RFC 9309: a redirect we do not follow and 4xx mean no rules.
                Ok(Step::Redirect(_)) => Robots::AllowAll,
                Err(FetchError::Status { status, .. }) if status < 500 => Robots::AllowAll,
                Err(error) => Robots::Unavailable(error),
            };
            Arc::new(robots)
        })
        .await
        .clone()
    }

    /// One URL, without following redirects, retried on 429/503 (after
    /// Retry-After), other 5xx, timeouts and connection failures.
    async fn get_with_retries(
        &self,
        url: &Url,
        limit: u64,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<Step, FetchError> {
        let host = host_key(url);
        let gate = self.gate(&host);
        let max_attempts = self.settings.max_attempts;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= max_attempts;
            let (outcome, exchange) = self.attempt(url, limit, &gate).await;
            exchanges.push(exchange);
            let retry_in = match outcome {
                Attempt::Done(step) => return Ok(step),
                Attempt::Fatal(error) => return Err(error),
                Attempt::Throttled {
                    status,
                    retry_after,
                } => {
                    if let Some(wait) = retry_after {
                        if wait > self.settings.max_wait {
                            gate.pause_until(Instant::now() + wait);
                            return Err(FetchError::RetryAfterTooLong {
                                url: url.to_string(),
                                seconds: wait.as_secs(),
                                limit: self.settings.max_wait.as_secs(),
                            });
                        }
                        // The whole host waits, not just this request.
                        gate.pause_until(Instant::now() + wait);
                    }
                    if last {
                        return Err(FetchError::GaveUp {
                            url: url.to_string(),
                            status,
                            attempts: attempt,
                        });
                    }
                    retry_after.unwrap_or_else(|| backoff(attempt))
                }
                Attempt::Retryable(error) => {
                    if last {
                        return Err(match error {
                            Retryable::Status(status) => FetchError::GaveUp {
                                url: url.to_string(),
                                status,
                                attempts: attempt,
                            },
                            Retryable::Timeout => FetchError::Timeout {
                                url: url.to_string(),
                                attempts: attempt,
                            },
                            Retryable::Connection(detail) => FetchError::Connection {
                                url: url.to_string(),
                                detail,
                                attempts: attempt,
                            },
                        });
                    }
                    backoff(attempt)
                }
            };
            tracing::debug!(%url, attempt, wait_ms = retry_in.as_millis() as u64, "retrying");
            tokio::time::sleep(retry_in).await;
        }
    }

    /// One HTTP exchange through the host's gate.
    async fn attempt(&self, url: &Url, limit: u64, gate: &HostGate) -> (Attempt, Exchange) {
        let request_headers = vec![
            (
                "Host".to_string(),
                url.host_str().unwrap_or_default().to_string(),
            ),
            ("User-Agent".to_string(), self.settings.user_agent.clone()),
            (
                "Accept".to_string(),
                "text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.8".to_string(),
            ),
            // Identity keeps the bytes stored exactly the bytes on the wire.
            ("Accept-Encoding".to_string(), "identity".to_string()),
        ];
        let permit = gate.acquire().await;
        let started_at = Utc::now();
        let clock = Instant::now();
        let mut exchange = Exchange {
            url: url.to_string(),
            method: "GET".to_string(),
            request_headers,
            started_at,
            ..Exchange::default()
        };
        let sent = self
            .client
            .get(url.clone())
            .header(USER_AGENT, &self.settings.user_agent)
            .header(
                ACCEPT,
                "text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.8",
            )
            .header(ACCEPT_ENCODING, "identity")
            .send()
            .await;
        let outcome = match sent {
            Err(error) => {
                exchange.error = Some(error_chain(&error));
                classify_send_error(url, &error)
            }
            Ok(mut response) => {
                let status = response.status().as_u16();
                exchange.status = Some(status);
                exchange.remote_addr = response.remote_addr().map(|a| a.to_string());
                exchange.response_headers = Some(header_pairs(response.headers()));
                let header = |name| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                        .map(str::to_string)
                };
                let content_type = header(CONTENT_TYPE);
                if status == 429 || status == 503 {
                    let retry_after = header(RETRY_AFTER).and_then(|v| parse_retry_after(&v));
                    Attempt::Throttled {
                        status,
                        retry_after,
                    }
                } else if (300..400).contains(&status) && status != 304 {
                    match header(LOCATION) {
                        Some(location) => Attempt::Done(Step::Redirect(location)),
                        None => Attempt::Fatal(FetchError::Status {
                            url: url.to_string(),
                            status,
                        }),
                    }
                } else if status >= 500 {
                    Attempt::Retryable(Retryable::Status(status))
                } else if status >= 400 {
                    Attempt::Fatal(FetchError::Status {
                        url: url.to_string(),
                        status,
                    })
                } else {
                    match read_body(&mut response, limit).await {
                        Ok(body) => {
                            exchange.body = Some(body.clone());
                            Attempt::Done(Step::Done { content_type, body })
                        }
                        Err(BodyError::TooLarge) => {
                            exchange.error = Some(format!("body over {limit} bytes, not kept"));
                            Attempt::Fatal(FetchError::TooLarge {
                                url: url.to_string(),
                                limit,
                            })
                        }
                        Err(BodyError::Read(error)) => {
                            exchange.error = Some(error_chain(&error));
                            if error.is_timeout() {
                                Attempt::Retryable(Retryable::Timeout)
                            } else {
                                Attempt::Retryable(Retryable::Connection(error_chain(&error)))
                            }
                        }
                    }
                }
            }
        };
        drop(permit);
        exchange.elapsed_ms = clock.elapsed().as_millis() as u64;
        (outcome, exchange)
    }
}

/// What one request led to, before any retry.
enum Step {
    Done {
        content_type: Option<String>,
        body: Vec<u8>,
    },
    Redirect(String),
}

enum Attempt {
    Done(Step),
    Fatal(FetchError),
    Throttled {
        status: u16,
        retry_after: Option<Duration>,
    },
    Retryable(Retryable),
}

enum Retryable {
    Status(u16),
    Timeout,
    Connection(String),
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

async fn read_body(response: &mut reqwest::Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn classify_send_error(url: &Url, error: &reqwest::Error) -> Attempt {
    if let Some((host, addr)) = forbidden_in(error) {
        return Attempt::Fatal(FetchError::BlockedAddress {
            url: url.to_string(),
            host,
            addr,
        });
    }
    if error.is_timeout() {
        Attempt::Retryable(Retryable::Timeout)
    } else {
        Attempt::Retryable(Retryable::Connection(error_chain(error)))
    }
}

/// The error and its causes in one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| *name != reqwest::header::SET_COOKIE)
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Exponential backoff with full jitter: up to 0.5 s, 1 s, 2 s, … capped at 30 s.
fn backoff(attempt: u32) -> Duration {
    let ceiling =
        Duration::from_millis(500) * 2u32.saturating_pow(attempt.saturating_sub(1).min(6));
    let ceiling = ceiling.min(Duration::from_secs(30));
    let millis =
        rand::rng().random_range(ceiling.as_millis() as u64 / 2..=ceiling.as_millis() as u64);
    Duration::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "224.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(90);
        let wait = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(
            wait > Duration::from_secs(85) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(500));
        assert!(backoff(3) >= Duration::from_secs(1));
        assert!(backoff(30) <= Duration::from_secs(30));
    }
}
