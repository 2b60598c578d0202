//! `render = "chromium"`: pages that build their listing in JavaScript,
//! rendered by headless Chromium over its DevTools protocol.
//!
//! Chromium talks over `--remote-debugging-pipe` (file descriptors 3 and 4,
//! NUL-separated JSON), and every request the page makes is paused
//! (`Fetch.enable`) and either refused — photos, fonts, media, beacons,
//! anything not a GET, known trackers: the DOM is what is wanted — or
//! fetched by knockoff's own [`Fetcher`] (robots.txt, the address guard,
//! the host gate, retries, bounded bodies) and handed to the page. So the
//! browser itself never opens a socket. The rendered DOM is kept as an
//! exchange of its own (method `RENDER`) beside the raw ones.
//!
//! At most [`MAX_BROWSERS`] Chromiums run at once; each page gets a fresh
//! one with a throwaway profile, killed when the page is read.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use command_fds::{CommandFdExt, FdMapping};
use serde_json::{json, Value};
use url::Url;

use super::fetch::{BodyKind, FetchError, FetchFailure, Fetched, Fetcher};
use crate::store::Exchange;

/// Chromiums running at once, in the whole process.
pub const MAX_BROWSERS: usize = 2;
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
pub fn is_blocked(url: &Url, method: &str, resource_type: &str) -> bool {
    let tracker = url.host_str().is_some_and(|host| {
        TRACKERS
            .iter()
            .any(|t| host == *t || host.ends_with(&format!(".{t}")))
    });
    method != "GET" || tracker || BLOCKED_TYPES.contains(&resource_type)
}

/// The browsers of a crawl.
#[derive(Debug)]
pub struct Renderer {
    chromium: PathBuf,
    slots: tokio::sync::Semaphore,
}

/// Why Chromium did not render a page.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RenderError(String);

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

/// Chromium's end of the pipe: commands out, messages in.
struct Pipe {
    child: Child,
    commands: std::io::PipeWriter,
    messages: mpsc::Receiver<Value>,
    /// Events read while waiting for something else.
    held: VecDeque<Value>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    false
}

impl Pipe {
    fn launch(chromium: &Path) -> Result<Pipe, RenderError> {
        let io = |what: &str, e: std::io::Error| RenderError(format!("{what}: {e}"));
        let (to_chromium, commands) = std::io::pipe().map_err(|e| io("a pipe", e))?;
        let (mut from_chromium, chromium_out) = std::io::pipe().map_err(|e| io("a pipe", e))?;
        let profile = tempfile::tempdir().map_err(|e| io("a profile folder", e))?;
        let mut command = Command::new(chromium);
        command
            .args([
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-gpu",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--mute-audio",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if running_as_root() {
            command.arg("--no-sandbox");
        }
        command.arg("about:blank");
        command
            .fd_mappings(vec![
                FdMapping {
                    parent_fd: to_chromium.into(),
                    child_fd: 3,
                },
                FdMapping {
                    parent_fd: chromium_out.into(),
                    child_fd: 4,
                },
            ])
            .map_err(|e| RenderError(format!("mapping the pipe: {e}")))?;
        let child = command
            .spawn()
            .map_err(|e| io(&format!("starting {}", chromium.display()), e))?;
        // The command holds our copies of Chromium's ends: drop them, so
        // the reader sees the end of the pipe when Chromium exits.
        drop(command);
        let (send, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 64 * 1024];
            loop {
                let n = match from_chromium.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buffer.extend_from_slice(&chunk[..n]);
                while let Some(end) = buffer.iter().position(|&b| b == 0) {
                    let message: Vec<u8> = buffer.drain(..=end).collect();
                    if let Ok(value) = serde_json::from_slice(&message[..end]) {
                        if send.send(value).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Pipe {
            child,
            commands,
            messages,
            held: VecDeque::new(),
            next_id: 0,
            _profile: profile,
        })
    }

    /// Sends a command; returns its id.
    fn send(
        &mut self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<u64, RenderError> {
        self.next_id += 1;
        let mut message = json!({ "id": self.next_id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .map_err(|e| RenderError(format!("Chromium stopped listening: {e}")))?;
        Ok(self.next_id)
    }

    /// The next message, or `None` after `wait` without one.
    fn next(&mut self, wait: Duration) -> Result<Option<Value>, RenderError> {
        if let Some(held) = self.held.pop_front() {
            return Ok(Some(held));
        }
        match self.messages.recv_timeout(wait) {
            Ok(message) => Ok(Some(message)),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(RenderError("Chromium exited".into())),
        }
    }
}

impl Session<'_> {
    /// Loads the page in a new Chromium and returns its rendered DOM.
    fn run(&mut self, chromium: &Path) -> Result<String, RenderError> {
        let mut pipe = Pipe::launch(chromium)?;
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
        let _ = pipe.send("Browser.close", json!({}), None);
        evaluated["result"]["value"]
            .as_str()
            .map(|dom| format!("<!DOCTYPE html>{dom}"))
            .ok_or_else(|| RenderError("the page has no document to read".into()))
    }

    /// Sends a command and waits for its answer, serving the page's
    /// requests meanwhile.
    fn call(
        &mut self,
        pipe: &mut Pipe,
        method: &str,
        params: Value,
        session: Option<&str>,
        deadline: Instant,
    ) -> Result<Value, RenderError> {
        let id = pipe.send(method, params, session)?;
        let answer = self.until(pipe, deadline, |m| m["id"] == id)?;
        match answer.get("error") {
            Some(error) => Err(RenderError(format!("Chromium refused {method}: {error}"))),
            None => Ok(answer["result"].clone()),
        }
    }

    /// Reads messages (serving the page's requests) until one matches.
    fn until(
        &mut self,
        pipe: &mut Pipe,
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
    fn handle(&mut self, pipe: &mut Pipe, message: Value) -> Result<(), RenderError> {
        if message["method"] != "Fetch.requestPaused" {
            return Ok(());
        }
        let session = message["sessionId"].as_str().map(str::to_string);
        let params = &message["params"];
        let request_id = params["requestId"].clone();
        let method = params["request"]["method"].as_str().unwrap_or("");
        let resource_type = params["resourceType"].as_str().unwrap_or("");
        let fail = |pipe: &mut Pipe, reason: &str| {
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
