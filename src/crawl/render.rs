//! `render = "chromium"`: pages that build their listing in JavaScript,
//! rendered by headless Chromium over its DevTools protocol.
//!
//! Chromium is driven through [`crate::devtools`], and every request the page makes is paused
//! (`Fetch.enable`) and either refused — photos, fonts, media, beacons,
//! anything not a GET, known trackers: the DOM is what is wanted — or
//! fetched by knockoff's own [`Fetcher`] (robots.txt, the address guard,
//! the host gate, retries, bounded bodies) and handed to the page. So the
//! browser itself never opens a socket. The rendered DOM is kept as an
//! exchange of its own (method `RENDER`) beside the raw ones.
//!
//! At most [`MAX_BROWSERS`] Chromiums run at once; each page gets a fresh
//! one with a throwaway profile, killed when the page is read.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};
use url::Url;

use super::fetch::{BodyKind, FetchError, FetchFailure, Fetched, Fetcher};
use crate::devtools::{result_of, Chromium, Error as RenderError};
use crate::store::Exchange;

/// Chromiums running at once, in the whole process.
pub(crate) const MAX_BROWSERS: usize = 2;
/// Longest a page may take to load.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);
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

/// The browsers of a crawl.
#[derive(Debug)]
pub(crate) struct Renderer {
    chromium: PathBuf,
    slots: tokio::sync::Semaphore,
}

impl Renderer {
    pub fn new(chromium: &Path) -> Renderer {
        Renderer {
            chromium: chromium.to_path_buf(),
            slots: tokio::sync::Semaphore::new(MAX_BROWSERS),
        }
    }

    /// Renders `url`: its rendered DOM as the body, and every exchange —
    /// the rendered DOM's first, the page's own raw exchange last (the
    /// listing's capture). A page whose own request fails fails as that
    /// request did (robots.txt, HTTP status…).
    pub async fn render(&self, fetcher: Arc<Fetcher>, url: &Url) -> Result<Fetched, FetchFailure> {
        let _slot = self.slots.acquire().await;
        let chromium = self.chromium.clone();
        let page = url.clone();
        let runtime = tokio::runtime::Handle::current();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut session = Session {
                fetcher: &fetcher,
                runtime: &runtime,
                page: &page,
                document: None,
                exchanges: Vec::new(),
            };
            let dom = session.run(&chromium);
            (dom, session.document, session.exchanges)
        })
        .await;
        let render_error = |detail: String| FetchError::Render {
            url: url.to_string(),
            detail,
        };
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

/// One page in one Chromium.
struct Session<'a> {
    fetcher: &'a Fetcher,
    runtime: &'a tokio::runtime::Handle,
    page: &'a Url,
    /// The page's own request, as fetched.
    document: Option<Result<Fetched, FetchFailure>>,
    /// Every other request fetched for the page.
    exchanges: Vec<Exchange>,
}

impl Session<'_> {
    /// Loads the page in a new Chromium and returns its rendered DOM.
    fn run(&mut self, chromium: &Path) -> Result<String, RenderError> {
        let mut pipe = Chromium::launch(chromium, &[])?;
        let deadline = Instant::now() + LOAD_TIMEOUT;
        let created = self.call(
            &mut pipe,
            "Target.createTarget",
            json!({"url": "about:blank"}),
            None,
            deadline,
        )?;
        let target = created["targetId"].as_str().unwrap_or_default().to_string();
        let attached = self.call(
            &mut pipe,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
            None,
            deadline,
        )?;
        let session = attached["sessionId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let session = Some(session.as_str());
        self.call(
            &mut pipe,
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": "*"}]}),
            session,
            deadline,
        )?;
        self.call(&mut pipe, "Page.enable", json!({}), session, deadline)?;
        self.call(
            &mut pipe,
            "Page.navigate",
            json!({"url": self.page.as_str()}),
            session,
            deadline,
        )?;
        // The load event, then quiet: the page's scripts have done their work.
        self.until(&mut pipe, deadline, |m| {
            m["method"] == "Page.loadEventFired"
        })?;
        let settle = Instant::now() + SETTLE_TIMEOUT;
        while Instant::now() < settle {
            match pipe.next(QUIET)? {
                None => break,
                Some(message) => self.handle(&mut pipe, message)?,
            }
        }
        let evaluated = self.call(
            &mut pipe,
            "Runtime.evaluate",
            json!({"expression": "document.documentElement.outerHTML", "returnByValue": true}),
            session,
            Instant::now() + LOAD_TIMEOUT,
        )?;
        evaluated["result"]["value"]
            .as_str()
            .map(|dom| format!("<!DOCTYPE html>{dom}"))
            .ok_or_else(|| RenderError("the page has no document to read".into()))
    }

    /// Sends a command and waits for its answer, serving the page's
    /// requests meanwhile.
    fn call(
        &mut self,
        pipe: &mut Chromium,
        method: &str,
        params: Value,
        session: Option<&str>,
        deadline: Instant,
    ) -> Result<Value, RenderError> {
        let id = pipe.send(method, params, session)?;
        let answer = self.until(pipe, deadline, |m| m["id"] == id)?;
        result_of(method, &answer)
    }

    /// Reads messages (serving the page's requests) until one matches.
    fn until(
        &mut self,
        pipe: &mut Chromium,
        deadline: Instant,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Value, RenderError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RenderError(format!(
                    "{} did not load within {} s",
                    self.page,
                    LOAD_TIMEOUT.as_secs()
                )));
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

    /// Serves a paused request: refused, or fetched through the crawler.
    fn handle(&mut self, pipe: &mut Chromium, message: Value) -> Result<(), RenderError> {
        if message["method"] != "Fetch.requestPaused" {
            return Ok(());
        }
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
        let fetched = self
            .runtime
            .block_on(self.fetcher.get(&url, BodyKind::Page));
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
            match fetched {
                Ok(f) => self.exchanges.extend(f.exchanges),
                Err(f) => self.exchanges.extend(f.exchanges),
            }
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
