//! `render = "chromium"`: pages that build their listing in JavaScript,
//! rendered by headless Chromium over its DevTools protocol.
//!
//! Chromium is driven through [`crate::devtools`], and every request the page makes is paused
//! (`Fetch.enable`) and either refused — photos, fonts, media, beacons,
//! anything not a GET, known trackers: the DOM is what is wanted — or
//! fetched by knockoff's own [`Fetcher`] (robots.txt, the address guard,
//! the host gate, retries, bounded bodies) and handed to the page. The
//! frames and workers the page starts are served the same way; service
//! workers, shared workers and prerendered pages are never let run. And
//! the browser's own network is cut ([`NoNetwork`]): whatever escapes the
//! interception — a WebSocket, a speculation rule, WebRTC — meets a proxy
//! that refuses it. The rendered DOM is kept as an exchange of its own
//! (method `RENDER`) beside the raw ones.
//!
//! Bounded: one deadline per page covers its load and every request it
//! makes; a page gets at most [`MAX_REQUESTS`] requests and twice
//! `max_page_bytes` of bodies. At most [`MAX_BROWSERS`] Chromiums run at
//! once and each rendering target at most its share of them; each page
//! gets a fresh one with a throwaway profile, killed when the page is read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};
use url::Url;

use super::fetch::{BodyKind, FetchError, FetchFailure, Fetched, Fetcher};
use crate::devtools::{result_of, Chromium, Error as RenderError, NoNetwork};
use crate::store::Exchange;

/// Chromiums running at once, in the whole process.
pub(crate) const MAX_BROWSERS: usize = 2;
/// Longest a page may take to be read, every request it makes included.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Most requests a rendered page gets served besides its own document;
/// with twice `max_page_bytes` of bodies, its budget. The rest are refused.
const MAX_REQUESTS: usize = 64;
/// Quiet time after the load event that means the page's scripts are done.
const QUIET: Duration = Duration::from_millis(500);
/// Longest wait for the page's scripts after the load event.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests a rendered page never needs: the listing is in the DOM.
const BLOCKED_TYPES: &[&str] = &[
    "Image",
    "Media",
    "Font",
    "Ping",
    "CSPViolationReport",
    "Manifest",
    "WebSocket",
    "EventSource",
    "Prefetch",
    "SignedExchange",
    "TextTrack",
];
/// Hosts (and their subdomains) of analytics and advertising.
const TRACKERS: &[&str] = &[
    "google-analytics.com",
    "googletagmanager.com",
    "doubleclick.net",
    "googlesyndication.com",
    "facebook.net",
    "facebook.com",
    "hotjar.com",
    "scorecardresearch.com",
    "criteo.com",
    "criteo.net",
    "amazon-adsystem.com",
    "taboola.com",
    "outbrain.com",
    "segment.io",
    "mixpanel.com",
    "newrelic.com",
    "nr-data.net",
];

/// Whether a page's request is refused without being fetched.
pub(crate) fn is_blocked(url: &Url, method: &str, resource_type: &str) -> bool {
    let tracker = url.host_str().is_some_and(|host| {
        TRACKERS
            .iter()
            .any(|t| host == *t || host.ends_with(&format!(".{t}")))
    });
    method != "GET" || tracker || BLOCKED_TYPES.contains(&resource_type)
}

/// The browsers of a crawl: at most [`MAX_BROWSERS`] at once, and each
/// rendering target at most its share of them, so one target's slow
/// pages never hold another's.
#[derive(Debug)]
pub(crate) struct Renderer {
    chromium: PathBuf,
    slots: tokio::sync::Semaphore,
    /// Each rendering target's own slots.
    per_target: HashMap<String, tokio::sync::Semaphore>,
}

impl Renderer {
    /// The browsers for `targets`, the names of the targets that render.
    pub fn new(chromium: &Path, targets: &[String]) -> Renderer {
        let share = (MAX_BROWSERS / targets.len().max(1)).max(1);
        Renderer {
            chromium: chromium.to_path_buf(),
            slots: tokio::sync::Semaphore::new(MAX_BROWSERS),
            per_target: targets
                .iter()
                .map(|name| (name.clone(), tokio::sync::Semaphore::new(share)))
                .collect(),
        }
    }

    /// Renders `url` for `target`: its rendered DOM as the body, and every
    /// exchange — the rendered DOM's first, the page's own raw exchange
    /// last (the listing's capture). A page whose own request fails fails
    /// as that request did (robots.txt, HTTP status…); a page not read
    /// within [`LOAD_TIMEOUT`], all its requests included, fails as
    /// `render`.
    pub async fn render(
        &self,
        fetcher: Arc<Fetcher>,
        target: &str,
        url: &Url,
    ) -> Result<Fetched, FetchFailure> {
        let render_error = |detail: String| FetchError::Render {
            url: url.to_string(),
            detail,
        };
        let Some(own) = self.per_target.get(target) else {
            return Err(FetchFailure {
                error: render_error(format!("target `{target}` does not render")),
                exchanges: Vec::new(),
            });
        };
        let _own = own.acquire().await;
        let _slot = self.slots.acquire().await;
        let chromium = self.chromium.clone();
        let page = url.clone();
        let target = target.to_string();
        let runtime = tokio::runtime::Handle::current();
        let max_bytes = fetcher.max_page_bytes().saturating_mul(2);
        let outcome = tokio::task::spawn_blocking(move || {
            let mut session = Session {
                fetcher: &fetcher,
                target: &target,
                runtime: &runtime,
                page: &page,
                deadline: Instant::now() + LOAD_TIMEOUT,
                document: None,
                exchanges: Vec::new(),
                requests: 0,
                bytes: 0,
                max_bytes,
                over_budget: 0,
            };
            let dom = session.run(&chromium);
            if session.over_budget > 0 {
                tracing::warn!(
                    url = %page,
                    refused = session.over_budget,
                    "a rendered page asked for more than {MAX_REQUESTS} requests or {max_bytes} bytes; the rest were refused"
                );
            }
            (dom, session.document, session.exchanges)
        })
        .await;
        let (dom, document, mut exchanges) = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                return Err(FetchFailure {
                    error: render_error(format!("the rendering task failed: {e}")),
                    exchanges: Vec::new(),
                })
            }
        };
        let document = match document {
            Some(Ok(document)) => document,
            Some(Err(failure)) => {
                exchanges.extend(failure.exchanges);
                return Err(FetchFailure {
                    error: failure.error,
                    exchanges,
                });
            }
            None => {
                let detail = match &dom {
                    Err(e) => e.to_string(),
                    Ok(_) => "the page never asked for its own document".to_string(),
                };
                return Err(FetchFailure {
                    error: render_error(detail),
                    exchanges,
                });
            }
        };
        let dom = match dom {
            Ok(dom) => dom,
            Err(e) => {
                exchanges.extend(document.exchanges);
                return Err(FetchFailure {
                    error: render_error(e.to_string()),
                    exchanges,
                });
            }
        };
        let rendered = Exchange {
            url: document.final_url.to_string(),
            method: "RENDER".into(),
            status: Some(200),
            request_headers: vec![("X-Rendered-By".into(), "headless Chromium".into())],
            response_headers: Some(vec![(
                "Content-Type".into(),
                "text/html; charset=utf-8".into(),
            )]),
            started_at: Utc::now(),
            body: Some(dom.clone().into_bytes()),
            ..Exchange::default()
        };
        let mut ordered = vec![rendered];
        ordered.append(&mut exchanges);
        ordered.extend(document.exchanges);
        Ok(Fetched {
            final_url: document.final_url,
            content_type: Some("text/html; charset=utf-8".into()),
            body: dom.into_bytes(),
            exchanges: ordered,
        })
    }
}

/// Targets a page may start whose requests are served like the page's:
/// frames and dedicated workers. Anything else it starts (a service or
/// shared worker, a prerendered page) is never let run.
const SERVED_TARGETS: &[&str] = &["iframe", "worker", "page"];

/// One page in one Chromium.
struct Session<'a> {
    fetcher: &'a Fetcher,
    /// The target the page is rendered for: its address guard applies.
    target: &'a str,
    runtime: &'a tokio::runtime::Handle,
    page: &'a Url,
    /// When the page must have been read, its requests included.
    deadline: Instant,
    /// The page's own request, as fetched.
    document: Option<Result<Fetched, FetchFailure>>,
    /// Every other request fetched for the page.
    exchanges: Vec<Exchange>,
    /// Requests fetched for the page besides its document, and their bytes.
    requests: usize,
    bytes: u64,
    max_bytes: u64,
    /// Requests refused because the page was over its budget.
    over_budget: usize,
}

impl Session<'_> {
    /// Loads the page in a new Chromium, its own network cut, and returns
    /// its rendered DOM.
    fn run(&mut self, chromium: &Path) -> Result<String, RenderError> {
        let offline = NoNetwork::start()
            .map_err(|e| RenderError(format!("starting the refusing proxy: {e}")))?;
        let args = offline.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut pipe = Chromium::launch(chromium, &args)?;
        let created = self.call(
            &mut pipe,
            "Target.createTarget",
            json!({"url": "about:blank"}),
            None,
        )?;
        let target = created["targetId"].as_str().unwrap_or_default().to_string();
        let attached = self.call(
            &mut pipe,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
            None,
        )?;
        let session = attached["sessionId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.serve_target(&mut pipe, &session)?;
        let session = Some(session.as_str());
        self.call(&mut pipe, "Page.enable", json!({}), session)?;
        self.call(
            &mut pipe,
            "Page.navigate",
            json!({"url": self.page.as_str()}),
            session,
        )?;
        // The load event, then quiet: the page's scripts have done their work.
        self.until(&mut pipe, |m| m["method"] == "Page.loadEventFired")?;
        let settle = (Instant::now() + SETTLE_TIMEOUT).min(self.deadline);
        while Instant::now() < settle {
            match pipe.next(QUIET.min(settle.saturating_duration_since(Instant::now())))? {
                None => break,
                Some(message) => self.handle(&mut pipe, message)?,
            }
        }
        let evaluated = self.call(
            &mut pipe,
            "Runtime.evaluate",
            json!({"expression": "document.documentElement.outerHTML", "returnByValue": true}),
            session,
        )?;
        if offline.attempts() > 0 {
            tracing::debug!(url = %self.page, attempts = offline.attempts(), "refused the browser's own connections");
        }
        evaluated["result"]["value"]
            .as_str()
            .map(|dom| format!("<!DOCTYPE html>{dom}"))
            .ok_or_else(|| RenderError("the page has no document to read".into()))
    }

    /// Pauses every request of the target behind `session` for
    /// [`Session::handle`], and holds every target it starts until served
    /// the same way.
    fn serve_target(&mut self, pipe: &mut Chromium, session: &str) -> Result<(), RenderError> {
        let session = Some(session);
        self.call(
            pipe,
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": "*"}]}),
            session,
        )?;
        self.call(
            pipe,
            "Target.setAutoAttach",
            json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
            session,
        )?;
        Ok(())
    }

    /// Sends a command and waits for its answer, serving the page's
    /// requests meanwhile.
    fn call(
        &mut self,
        pipe: &mut Chromium,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<Value, RenderError> {
        let id = pipe.send(method, params, session)?;
        let answer = self.until(pipe, |m| m["id"] == id)?;
        result_of(method, &answer)
    }

    fn timed_out(&self) -> RenderError {
        RenderError(format!(
            "{} was not read within {} s",
            self.page,
            LOAD_TIMEOUT.as_secs()
        ))
    }

    /// Reads messages (serving the page's requests) until one matches.
    fn until(
        &mut self,
        pipe: &mut Chromium,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value, RenderError> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out());
            }
            let Some(message) = pipe.next(left)? else {
                continue;
            };
            if wanted(&message) {
                return Ok(message);
            }
            self.handle(pipe, message)?;
        }
    }

    /// Serves one message: a paused request (refused, or fetched through
    /// the crawler), or a target the page started (served like the page,
    /// or never let run).
    fn handle(&mut self, pipe: &mut Chromium, message: Value) -> Result<(), RenderError> {
        match message["method"].as_str() {
            Some("Fetch.requestPaused") => self.serve_request(pipe, &message),
            Some("Target.attachedToTarget") => {
                let params = &message["params"];
                let kind = params["targetInfo"]["type"].as_str().unwrap_or("");
                let Some(child) = params["sessionId"].as_str().map(str::to_string) else {
                    return Ok(());
                };
                if !SERVED_TARGETS.contains(&kind) {
                    tracing::debug!(url = %self.page, kind, "held a target the page started");
                    return Ok(());
                }
                // Sent without waiting: the child answers once resumed.
                let child = Some(child.as_str());
                pipe.send(
                    "Fetch.enable",
                    json!({"patterns": [{"urlPattern": "*"}]}),
                    child,
                )?;
                pipe.send(
                    "Target.setAutoAttach",
                    json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
                    child,
                )?;
                pipe.send("Runtime.runIfWaitingForDebugger", json!({}), child)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Serves a paused request: refused, or fetched through the crawler.
    fn serve_request(&mut self, pipe: &mut Chromium, message: &Value) -> Result<(), RenderError> {
        let session = message["sessionId"].as_str().map(str::to_string);
        let params = &message["params"];
        let request_id = params["requestId"].clone();
        let method = params["request"]["method"].as_str().unwrap_or("");
        let resource_type = params["resourceType"].as_str().unwrap_or("");
        let fail = |pipe: &mut Chromium, reason: &str| {
            pipe.send(
                "Fetch.failRequest",
                json!({"requestId": request_id, "errorReason": reason}),
                session.as_deref(),
            )
            .map(|_| ())
        };
        let Some(url) = params["request"]["url"]
            .as_str()
            .and_then(|u| Url::parse(u).ok())
        else {
            return fail(pipe, "BlockedByClient");
        };
        if is_blocked(&url, method, resource_type) {
            tracing::debug!(%url, resource_type, "blocked a rendered page's request");
            return fail(pipe, "BlockedByClient");
        }
        let is_document = resource_type == "Document" && self.document.is_none();
        if !is_document && (self.requests >= MAX_REQUESTS || self.bytes >= self.max_bytes) {
            self.over_budget += 1;
            return fail(pipe, "BlockedByClient");
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        let fetched = self.runtime.block_on(async {
            tokio::time::timeout(left, self.fetcher.get(self.target, &url, BodyKind::Page)).await
        });
        let Ok(fetched) = fetched else {
            return Err(self.timed_out());
        };
        let answer = match &fetched {
            Ok(fetched) => {
                let content_type = fetched
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into());
                pipe.send(
                    "Fetch.fulfillRequest",
                    json!({
                        "requestId": request_id,
                        "responseCode": 200,
                        "responseHeaders": [{"name": "Content-Type", "value": content_type}],
                        "body": data_encoding::BASE64.encode(&fetched.body),
                    }),
                    session.as_deref(),
                )
                .map(|_| ())
            }
            Err(_) => fail(pipe, "Failed"),
        };
        if is_document {
            self.document = Some(fetched);
        } else {
            self.requests += 1;
            let exchanges = match fetched {
                Ok(f) => f.exchanges,
                Err(f) => f.exchanges,
            };
            self.bytes += exchanges
                .iter()
                .filter_map(|e| e.body.as_ref())
                .map(|b| b.len() as u64)
                .sum::<u64>();
            self.exchanges.extend(exchanges);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_fonts_trackers_and_posts_are_refused() {
        let url = |u: &str| Url::parse(u).unwrap();
        assert!(!is_blocked(
            &url("https://shop.example/l/1"),
            "GET",
            "Document"
        ));
        assert!(!is_blocked(
            &url("https://shop.example/app.js"),
            "GET",
            "Script"
        ));
        assert!(!is_blocked(
            &url("https://shop.example/api/1"),
            "GET",
            "Fetch"
        ));
        assert!(is_blocked(
            &url("https://shop.example/f.woff2"),
            "GET",
            "Font"
        ));
        assert!(is_blocked(
            &url("https://shop.example/p.jpg"),
            "GET",
            "Image"
        ));
        assert!(is_blocked(
            &url("https://shop.example/api/1"),
            "POST",
            "XHR"
        ));
        assert!(is_blocked(
            &url("https://www.google-analytics.com/collect"),
            "GET",
            "Script"
        ));
        assert!(!is_blocked(
            &url("https://notfacebook.com/x.js"),
            "GET",
            "Script"
        ));
    }
}
