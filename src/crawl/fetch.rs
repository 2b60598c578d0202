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
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use tokio::sync::OnceCell;
use tokio::time::Instant;
use url::Url;

use super::limiter::{clamped_secs, HostGate, LONGEST_WAIT};
use crate::config::{Config, CrawlSettings, Rate};
use crate::store::{Exchange, FailureKind};

/// Redirects followed for robots.txt (RFC 9309: at least five).
const MAX_ROBOTS_REDIRECTS: usize = 5;
/// Largest robots.txt read (RFC 9309 asks crawlers to parse at least 500 KiB).
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// What is being fetched, which decides the body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Page,
    Image,
}

/// A request to a marketplace's API ([`Fetcher::send`]): a method, headers
/// and body besides the URL.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub method: Method,
    pub url: Url,
    /// Sent as they are; a header named in `secret` is recorded in the
    /// exchange as `[redacted]` (credentials never reach the store).
    pub headers: Vec<(String, String)>,
    pub secret: &'static [&'static str],
    pub body: Option<Vec<u8>>,
    /// Keep the response body in the exchange (not for a token response).
    pub keep_body: bool,
}

/// The HTTP methods knockoff sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    fn as_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        }
    }
}

impl ApiRequest {
    /// A plain GET, as pages and images are fetched.
    fn get(url: &Url) -> ApiRequest {
        ApiRequest {
            method: Method::Get,
            url: url.clone(),
            headers: vec![(
                "Accept".to_string(),
                "text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.8".to_string(),
            )],
            secret: &[],
            body: None,
            keep_body: true,
        }
    }
}

/// A successful fetch: the final response and every exchange on the way.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub final_url: Url,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub exchanges: Vec<Exchange>,
}

/// A failed fetch: why, and every exchange on the way.
#[derive(Debug)]
pub(crate) struct FetchFailure {
    pub error: FetchError,
    pub exchanges: Vec<Exchange>,
}

/// Why a URL could not be fetched. The crawl records it and moves on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FetchError {
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
    #[error("{url} refused: {origin} is in loopback/private address space but is not an origin of target `{target}` (its base_url or private_origins)")]
    PrivateOrigin {
        url: String,
        origin: String,
        target: String,
    },
    #[error("{url} refused: this crawl may reach only {allowed}")]
    Confined { url: String, allowed: String },
    #[error("{url} deferred to the next run: {host} asked us to wait {seconds} s (Retry-After), over the max_wait limit")]
    HostDeferred {
        url: String,
        host: String,
        seconds: u64,
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
    #[error("{url} could not be rendered: {detail}")]
    Render { url: String, detail: String },
    #[error("{url}: the answer is not what the API documents: {detail}")]
    BadResponse { url: String, detail: String },
}

impl FetchError {
    /// Whether the item should be tried again in the next run rather than
    /// given up: its host asked for a pause longer than `max_wait`.
    pub(crate) fn is_deferral(&self) -> bool {
        matches!(
            self,
            FetchError::HostDeferred { .. } | FetchError::RetryAfterTooLong { .. }
        )
    }

    /// The failure's kind, as run summaries count it.
    pub fn kind(&self) -> FailureKind {
        match self {
            FetchError::RobotsDenied { .. } => FailureKind::RobotsDenied,
            FetchError::RobotsUnavailable { .. } => FailureKind::RobotsUnavailable,
            FetchError::BlockedAddress { .. }
            | FetchError::PrivateOrigin { .. }
            | FetchError::Confined { .. } => FailureKind::BlockedAddress,
            FetchError::HostDeferred { .. } => FailureKind::Deferred,
            FetchError::Status { status, .. } if *status >= 500 => FailureKind::Http5xx,
            FetchError::Status { .. } => FailureKind::Http4xx,
            FetchError::GaveUp { .. } => FailureKind::GaveUp,
            FetchError::RetryAfterTooLong { .. } => FailureKind::RetryAfterTooLong,
            FetchError::TooLarge { .. } => FailureKind::TooLarge,
            FetchError::RedirectLoop { .. } => FailureKind::RedirectLoop,
            FetchError::TooManyRedirects { .. } => FailureKind::TooManyRedirects,
            FetchError::BadRedirect { .. } => FailureKind::BadRedirect,
            FetchError::Timeout { .. } => FailureKind::Timeout,
            FetchError::Connection { .. } => FailureKind::Connection,
            FetchError::BadUrl { .. } => FailureKind::BadUrl,
            FetchError::Render { .. } => FailureKind::Render,
            FetchError::BadResponse { .. } => FailureKind::BadResponse,
        }
    }
}

/// A URL's host as politeness and the guard know it: lower case, without
/// the trailing dot that names the same host (`www.ebay.de.`).
fn host_of(url: &Url) -> String {
    url.host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// "host:port" — the unit of politeness.
pub(crate) fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        host_of(url),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Whether `host` is a name for loopback whatever DNS says (RFC 6761).
fn is_localhost(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// Whether knockoff may connect to `ip` without a target living there.
pub(crate) fn is_public(ip: IpAddr) -> bool {
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

/// (scheme, host, port): the unit the address guard allows.
type Origin = (String, String, u16);

fn origin_of(url: &Url) -> Origin {
    (
        url.scheme().to_string(),
        host_of(url),
        url.port_or_known_default().unwrap_or(0),
    )
}

/// The resolver reqwest uses: drops every address that is not public unless
/// the name is the host of a target origin in private space, so a hostile
/// link, redirect or DNS answer cannot reach the operator's network. (The
/// port is checked before the request: a resolver never sees it.)
#[derive(Clone)]
struct GuardedResolver {
    private_hosts: Arc<HashSet<String>>,
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
        let host = name.as_str().to_ascii_lowercase();
        let trusted = self.private_hosts.contains(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| trusted || is_public(a.ip()))
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
pub(crate) struct Fetcher {
    client: reqwest::Client,
    settings: CrawlSettings,
    /// The robots.txt product token, from the User-Agent.
    agent: String,
    /// Rates of the hosts targets name; every other host gets the default.
    host_rates: HashMap<String, Rate>,
    default_rate: Rate,
    /// Each target's origins (base_url and private_origins) that live in
    /// loopback/private space: the only such origins knockoff may reach,
    /// and only for the target that names them.
    private_origins: HashMap<String, HashSet<Origin>>,
    /// Their hosts: a URL on one of these is in private space, whatever
    /// its port or scheme.
    private_hosts: Arc<HashSet<String>>,
    /// When set, the only origins this fetcher reaches ([`Fetcher::confine_to`]).
    confined: Option<HashSet<Origin>>,
    gates: Mutex<HashMap<String, Arc<HostGate>>>,
    /// A store other crawls share, whose gates hold each host's rate
    /// across them all ([`Fetcher::share_gates`]).
    shared_gates: Option<Arc<crate::store::Store>>,
    robots: Mutex<HashMap<String, Arc<OnceCell<Arc<Robots>>>>>,
    /// Hosts that asked for a pause over `max_wait`, with the seconds asked:
    /// their remaining items wait for the next run.
    deferred: Mutex<HashMap<String, u64>>,
}

impl Fetcher {
    /// Builds the fetcher for `config`'s targets. Loopback and private
    /// addresses are reachable only at the exact origins targets name.
    pub async fn new(config: &Config) -> anyhow::Result<Fetcher> {
        let mut private_origins: HashMap<String, HashSet<Origin>> = HashMap::new();
        let mut host_rates: HashMap<String, Rate> = HashMap::new();
        for target in &config.targets {
            for url in std::iter::once(&target.base_url).chain(&target.private_origins) {
                let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
                let port = url.port_or_known_default().unwrap_or(80);
                let private = is_localhost(&host_of(url))
                    || tokio::net::lookup_host((host, port))
                        .await
                        .is_ok_and(|mut addrs| addrs.any(|a| !is_public(a.ip())));
                if private {
                    private_origins
                        .entry(target.name.clone())
                        .or_default()
                        .insert(origin_of(url));
                }
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
        let private_hosts: Arc<HashSet<String>> = Arc::new(
            private_origins
                .values()
                .flatten()
                .map(|(_, host, _)| host.clone())
                .collect(),
        );
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .dns_resolver(Arc::new(GuardedResolver {
                private_hosts: private_hosts.clone(),
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
            private_origins,
            private_hosts,
            confined: None,
            gates: Mutex::new(HashMap::new()),
            shared_gates: None,
            robots: Mutex::new(HashMap::new()),
            deferred: Mutex::new(HashMap::new()),
        })
    }

    fn rate_for(&self, host: &str) -> &Rate {
        self.host_rates.get(host).unwrap_or(&self.default_rate)
    }

    /// The gate of `host` (host:port), created on first use.
    pub(crate) fn gate(&self, host: &str) -> Arc<HostGate> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates
            .entry(host.to_string())
            .or_insert_with(|| {
                let rate = self.rate_for(host);
                Arc::new(match &self.shared_gates {
                    Some(store) => HostGate::shared(rate, store.clone(), host),
                    None => HostGate::new(rate),
                })
            })
            .clone()
    }

    /// Holds every host's rate, pauses and Crawl-delay across all the
    /// crawls sharing `store`, not only this one's requests.
    pub(crate) fn share_gates(&mut self, store: Arc<crate::store::Store>) {
        self.shared_gates = Some(store);
    }

    /// Refuses every origin but `origins`, whatever a target or a page
    /// names: the demo's crawl reaches its own marketplace and nothing else.
    pub(crate) fn confine_to(&mut self, origins: &[Url]) {
        self.confined = Some(origins.iter().map(origin_of).collect());
    }

    /// The body limit of a page.
    pub(crate) fn max_page_bytes(&self) -> u64 {
        self.settings.max_page_bytes
    }

    /// How many requests `host` may have in flight.
    pub fn concurrency(&self, host: &str) -> usize {
        self.rate_for(host).concurrency.max(1) as usize
    }

    /// Fetches `url` for `target`: robots.txt, the address guard (the
    /// target's own private origins only), rate limit, redirects, retries
    /// and the body limit all apply.
    pub async fn get(
        &self,
        target: &str,
        url: &Url,
        kind: BodyKind,
    ) -> Result<Fetched, FetchFailure> {
        let mut exchanges = Vec::new();
        let mut visited: Vec<Url> = Vec::new();
        let mut current = url.clone();
        let limit = match kind {
            BodyKind::Page => self.settings.max_page_bytes,
            BodyKind::Image => self.settings.max_image_bytes,
        };
        loop {
            let fail = |error, exchanges| Err(FetchFailure { error, exchanges });
            if let Err(error) = self.check_allowed(target, &current, &mut exchanges).await {
                return fail(error, exchanges);
            }
            visited.push(current.clone());
            let request = ApiRequest::get(&current);
            match self.get_with_retries(&request, limit, &mut exchanges).await {
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

    /// Sends an API request: the address guard, the host gate, retries
    /// (429 with Retry-After pauses the host) and the body limit apply;
    /// robots.txt does not (an API's terms and limits govern it) and
    /// redirects are not followed.
    pub async fn send(&self, target: &str, request: &ApiRequest) -> Result<Fetched, FetchFailure> {
        let mut exchanges = Vec::new();
        let url = &request.url;
        let checked = if !matches!(url.scheme(), "http" | "https") {
            Err(FetchError::BadUrl {
                url: url.to_string(),
            })
        } else if self.deferred_seconds(&host_key(url)).is_some() {
            Err(self.deferral(url))
        } else {
            self.check_address(target, url)
        };
        if let Err(error) = checked {
            return Err(FetchFailure { error, exchanges });
        }
        match self
            .get_with_retries(request, self.settings.max_page_bytes, &mut exchanges)
            .await
        {
            Ok(Step::Done { content_type, body }) => Ok(Fetched {
                final_url: url.clone(),
                content_type,
                body,
                exchanges,
            }),
            Ok(Step::Redirect(_)) => Err(FetchFailure {
                error: FetchError::Status {
                    url: url.to_string(),
                    status: exchanges.last().and_then(|e| e.status).unwrap_or(300),
                },
                exchanges,
            }),
            Err(error) => Err(FetchFailure { error, exchanges }),
        }
    }

    /// Scheme, address-guard, deferral and robots.txt checks for one URL.
    async fn check_allowed(
        &self,
        target: &str,
        url: &Url,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<(), FetchError> {
        self.check_address(target, url)?;
        let host = host_key(url);
        let rate = self.rate_for(&host);
        if !rate.respect_robots {
            return Ok(());
        }
        match &*self.robots_for(target, url, exchanges).await {
            Robots::AllowAll => Ok(()),
            // The guard refused the host itself: say that, not "robots.txt unavailable".
            Robots::Unavailable(FetchError::BlockedAddress { host, addr, .. }) => {
                Err(FetchError::BlockedAddress {
                    url: url.to_string(),
                    host: host.clone(),
                    addr: *addr,
                })
            }
            Robots::Unavailable(error) if error.is_deferral() => Err(self.deferral(url)),
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

    /// The checks that need no request: an http(s) URL with a host; in
    /// loopback/private space only at an exact origin of `target`; its
    /// host not deferred to the next run.
    fn check_address(&self, target: &str, url: &Url) -> Result<(), FetchError> {
        self.check_origin(target, url)?;
        if self.deferred_seconds(&host_key(url)).is_some() {
            return Err(self.deferral(url));
        }
        Ok(())
    }

    /// Whether `target` may ever reach `url`, by its scheme and origin
    /// alone: what the crawl asks of a link before it stores one.
    pub(crate) fn check_origin(&self, target: &str, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(FetchError::BadUrl {
                url: url.to_string(),
            });
        }
        if let Some(confined) = &self.confined {
            if !confined.contains(&origin_of(url)) {
                let mut allowed: Vec<String> = confined
                    .iter()
                    .map(|(scheme, host, port)| format!("{scheme}://{host}:{port}"))
                    .collect();
                allowed.sort();
                return Err(FetchError::Confined {
                    url: url.to_string(),
                    allowed: allowed.join(", "),
                });
            }
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        let origin = origin_of(url);
        let private = match literal {
            Some(ip) => !is_public(ip),
            None => is_localhost(&origin.1) || self.private_hosts.contains(&origin.1),
        };
        let allowed = || {
            self.private_origins
                .get(target)
                .is_some_and(|origins| origins.contains(&origin))
        };
        if private && !allowed() {
            return Err(FetchError::PrivateOrigin {
                url: url.to_string(),
                origin: url.origin().ascii_serialization(),
                target: target.to_string(),
            });
        }
        Ok(())
    }

    fn deferred_seconds(&self, host: &str) -> Option<u64> {
        let deferred = self.deferred.lock().unwrap_or_else(|e| e.into_inner());
        deferred.get(host).copied()
    }

    fn deferral(&self, url: &Url) -> FetchError {
        let host = host_key(url);
        FetchError::HostDeferred {
            url: url.to_string(),
            seconds: self.deferred_seconds(&host).unwrap_or_default(),
            host,
        }
    }

    /// robots.txt of `url`'s host, fetched once per run; the exchanges of
    /// that fetch are added to the first caller's.
    async fn robots_for(
        &self,
        target: &str,
        url: &Url,
        exchanges: &mut Vec<Exchange>,
    ) -> Arc<Robots> {
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
            let robots = match self.get_robots_txt(target, robots_url, exchanges).await {
                Ok(Some(body)) => match texting_robots::Robot::new(&self.agent, &body) {
                    Ok(robot) => {
                        if let Some(delay) = robot.delay {
                            let delay =
                                clamped_secs(delay.into()).min(self.settings.max_crawl_delay);
                            if !delay.is_zero() {
                                self.gate(&host).apply_crawl_delay(delay);
                            }
                        }
                        Robots::Rules(Box::new(robot))
                    }
                    Err(_) => Robots::AllowAll,
                },
                // RFC 9309: 4xx, or more than five redirects, mean no rules.
                Ok(None) => Robots::AllowAll,
                Err(FetchError::Status { status, .. }) if status < 500 => Robots::AllowAll,
                Err(error) => Robots::Unavailable(error),
            };
            Arc::new(robots)
        })
        .await
        .clone()
    }

    /// robots.txt's bytes, following up to five redirects as RFC 9309 asks
    /// (`example.com` → `www.example.com` is common); every hop passes the
    /// address guard and its host's gate. `None` when there are more.
    async fn get_robots_txt(
        &self,
        target: &str,
        mut current: Url,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        for _ in 0..=MAX_ROBOTS_REDIRECTS {
            self.check_address(target, &current)?;
            match self
                .get_with_retries(&ApiRequest::get(&current), MAX_ROBOTS_BYTES, exchanges)
                .await?
            {
                Step::Done { body, .. } => return Ok(Some(body)),
                Step::Redirect(location) => match current.join(&location) {
                    Ok(next) if next != current => current = next,
                    _ => return Ok(None),
                },
            }
        }
        Ok(None)
    }

    /// One URL, without following redirects, retried on 429/503 (after
    /// Retry-After), other 5xx, timeouts and connection failures.
    async fn get_with_retries(
        &self,
        request: &ApiRequest,
        limit: u64,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<Step, FetchError> {
        let url = &request.url;
        let host = host_key(url);
        let gate = self.gate(&host);
        let max_attempts = self.settings.max_attempts;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= max_attempts;
            let (outcome, exchange) = self.attempt(request, limit, &gate).await;
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
                            // Waiting would hold the run (and the crawl lock)
                            // for hours: the host's items go to the next run.
                            let mut deferred =
                                self.deferred.lock().unwrap_or_else(|e| e.into_inner());
                            deferred.insert(host.clone(), wait.as_secs());
                            return Err(FetchError::RetryAfterTooLong {
                                url: url.to_string(),
                                seconds: wait.as_secs(),
                                limit: self.settings.max_wait.as_secs(),
                            });
                        }
                        // The whole host waits, not just this request.
                        gate.pause_for(wait);
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
    async fn attempt(
        &self,
        request: &ApiRequest,
        limit: u64,
        gate: &HostGate,
    ) -> (Attempt, Exchange) {
        let url = &request.url;
        let mut headers = vec![
            (
                "Host".to_string(),
                url.host_str().unwrap_or_default().to_string(),
            ),
            ("User-Agent".to_string(), self.settings.user_agent.clone()),
            // Identity keeps the bytes stored exactly the bytes on the wire.
            ("Accept-Encoding".to_string(), "identity".to_string()),
        ];
        headers.extend(request.headers.iter().cloned());
        let request_headers = headers
            .iter()
            .map(|(name, value)| {
                let secret = request.secret.iter().any(|s| s.eq_ignore_ascii_case(name));
                let shown = if secret { "[redacted]" } else { value.as_str() };
                (name.clone(), shown.to_string())
            })
            .collect();
        let permit = gate.acquire().await;
        let started_at = Utc::now();
        let clock = Instant::now();
        let mut exchange = Exchange {
            url: url.to_string(),
            method: request.method.as_reqwest().to_string(),
            request_headers,
            started_at,
            ..Exchange::default()
        };
        let mut builder = self
            .client
            .request(request.method.as_reqwest(), url.clone());
        for (name, value) in headers.iter().skip(1) {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let sent = builder.send().await;
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
                            if request.keep_body {
                                exchange.body = Some(body.clone());
                            }
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
/// At most [`LONGEST_WAIT`], however long the server asks for.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still just "very long".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
    };
    Some(wait.min(LONGEST_WAIT))
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
    fn a_trailing_dot_names_the_same_host_for_politeness_and_the_guard() {
        let url = |u: &str| Url::parse(u).unwrap();
        assert_eq!(
            host_key(&url("https://www.ebay.de./sch/i.html")),
            host_key(&url("https://WWW.ebay.de/itm/1"))
        );
        assert_eq!(
            origin_of(&url("http://localhost.:7801/")),
            origin_of(&url("http://localhost:7801/x"))
        );
        assert!(is_localhost("localhost") && is_localhost("shop.localhost"));
        assert!(!is_localhost("localhost.example"));
    }

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
        assert_eq!(
            parse_retry_after("18446744073709551615"),
            Some(LONGEST_WAIT)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999999"),
            Some(LONGEST_WAIT)
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(500));
        assert!(backoff(3) >= Duration::from_secs(1));
        assert!(backoff(30) <= Duration::from_secs(30));
    }
}
