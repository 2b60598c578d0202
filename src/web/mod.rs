//! `knockoff serve`: the review queue in a browser.
//!
//! axum, server-rendered HTML (`pages`, maud), a little plain JavaScript
//! for the keyboard, assets compiled into the binary. Every route but
//! `/login` and `/static/*` needs a session ([`auth`]); every state change
//! is a POST carrying the session's CSRF token and is written to the audit
//! log by the store. Responses carry a strict Content-Security-Policy;
//! photos are served only from the store (listing photos) or
//! `reference-images/`, only as JPEG, PNG, GIF or WebP.
//!
//! Store calls block, so handlers run them on the blocking pool.
//!
//! This file holds what every page shares: the state, the errors (refusals
//! told from failures once, in `From<anyhow::Error> for AppError`), the
//! router, the accept loop and the middleware. The handlers are in a file
//! per page: `queue` (the lists and search), `matches` (a match, a
//! listing, and what reviewers do to them), `network`, `report` (the
//! dashboard and the report download), `activity` (runs and the audit
//! log), `photos`, `account` (sign-in); `pages` draws them.

mod account;
mod activity;
pub mod auth;
mod charts;
mod dashboard;
mod matches;
mod network;
mod pages;
mod photos;
mod queue;
mod report;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::Markup;

use crate::config::Config;
use crate::index::TextIndex;
use crate::photo;
use crate::refusal::RefusalKind;
use crate::status::{Action, Decision, MatchStatus, QueueSort, StatusFilter};
use crate::store::{MatchId, QueueFilter, ReviewEntry, Session, SessionPolicy, Store, QUEUE_DEPTH};
use account::*;
use activity::*;
use auth::{LoginLimiter, LoginLimits};
use matches::*;
use network::*;
pub use pages::{DISMISS_REASONS, PAGE_SIZE};
use photos::*;
use queue::*;
use report::*;

/// Everything the handlers share.
pub struct AppState {
    /// Shared, not copied: handlers hand it to blocking work by `Arc`.
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    /// Full-text search over every crawled listing; `None` when the index
    /// could not be opened (search then says so).
    pub text: Option<TextIndex>,
    pub sessions: SessionPolicy,
    pub limiter: LoginLimiter,
    /// What the scheduler is doing, for the runs page.
    pub crawl_state: Arc<std::sync::Mutex<String>>,
    /// The judge match pages explain listings with, kept between requests.
    pub judges: Arc<crate::explain::JudgeCache>,
}

impl AppState {
    /// State for `config` with default session and sign-in limits.
    pub fn new(config: Config, store: Arc<Store>, text: Option<TextIndex>) -> AppState {
        AppState {
            config: Arc::new(config),
            store,
            text,
            sessions: SessionPolicy::default(),
            limiter: LoginLimiter::new(LoginLimits::default()),
            crawl_state: Arc::default(),
            judges: Arc::default(),
        }
    }
}

type Shared = Arc<AppState>;

/// Why a request failed, as the status and page the reviewer sees.
#[derive(Debug)]
pub(crate) enum AppError {
    NotFound(String),
    Forbidden(String),
    BadRequest(String),
    /// Someone else changed it first (two reviewers, one match).
    Conflict(String),
    TooManyAttempts(std::time::Duration),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    /// The one place a refusal is told from a failure: refusals are the
    /// reviewer's to read; anything else is the server's, shown as a
    /// reference into the log.
    fn from(error: anyhow::Error) -> AppError {
        let Some(refused) = crate::refusal::refusal(&error) else {
            return AppError::Internal(error);
        };
        let text = match refused.reason::<crate::store::MatchExists>() {
            Some(held) => format!(
                "This listing already has match #{} for that product; decide it there.",
                held.0 .0
            ),
            None => format!("{}.", capitalised(&refused.to_string())),
        };
        match refused.kind {
            RefusalKind::NotFound => AppError::NotFound(text),
            RefusalKind::Conflict => AppError::Conflict(text),
            RefusalKind::Invalid => AppError::BadRequest(text),
        }
    }
}

/// `text` with its first letter upper case, as a page's sentence.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            AppError::NotFound(text) => (StatusCode::NOT_FOUND, "Not found", text),
            AppError::Forbidden(text) => (StatusCode::FORBIDDEN, "Not allowed", text),
            AppError::BadRequest(text) => (StatusCode::BAD_REQUEST, "Bad request", text),
            AppError::Conflict(text) => (StatusCode::CONFLICT, "Already decided", text),
            AppError::TooManyAttempts(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!(
                    "Too many failed sign-ins; try again in {} minute(s).",
                    wait.as_secs().div_ceil(60).max(1)
                ),
            ),
            AppError::Internal(error) => {
                // The chain names files, paths and SQL: for the log only.
                let reference = &auth::random_token()[..8];
                tracing::error!(reference, "{error:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    format!(
                        "The server could not do that. The server's log has the details under reference {reference}."
                    ),
                )
            }
        };
        (status, pages::message(title, &text, None)).into_response()
    }
}

type Result<T, E = AppError> = std::result::Result<T, E>;

/// Runs a blocking store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::from)
}

/// The review UI's routes.
pub fn router(state: Shared) -> Router {
    let private = Router::new()
        .route("/", get(queue_page))
        .route("/match/{id}", get(match_page))
        .route("/match/{id}/{action}", post(act))
        .route("/match/{id}/bundle", get(bundle))
        .route("/bulk", post(bulk))
        .route("/seller", get(seller_page))
        .route("/network/{id}", get(network_page))
        .route("/network/{id}/{action}", post(network_act))
        .route("/product/{id}", get(product_page))
        .route("/runs", get(runs_page))
        .route("/dashboard", get(dashboard_page))
        .route("/report", get(report_download))
        .route("/audit", get(audit_page))
        .route("/photo/{id}/{n}", get(listing_photo))
        .route("/listing/{id}", get(listing_page))
        .route("/listing/{id}/open", post(open_match))
        .route("/listing/{id}/photo/{n}", get(listing_photo_of_listing))
        .route("/reference/{product}/{n}", get(reference_photo))
        .route("/capture/{listing}", get(capture))
        .route("/logout", post(logout))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_session,
        ));
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .merge(private)
        .fallback(|| async { AppError::NotFound("There is no such page.".into()) })
        .layer(middleware::from_fn(same_origin_posts))
        .layer(middleware::from_fn(body_within_deadline))
        .layer(middleware::map_response(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Longest a client may take to send a request's headers (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a client may take to send a request's body, after its headers.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest requests in flight get to finish once shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request body: forms are small; a 2 MB user name is an attack.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Serves the router on `listener` until SIGINT or SIGTERM, then stops
/// accepting and lets requests in flight finish (for up to 10 s).
pub async fn serve(state: Shared, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    serve_until(state, listener, shutdown_signal()).await
}

/// [`serve`] until `shutdown` completes.
pub async fn serve_until(
    state: Shared,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    use tower::ServiceExt as _;
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait, do not spin.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    tracing::info!("shutting down: letting requests in flight finish");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some requests were still running after {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM (systemd, docker stop).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(e) => {
                    tracing::warn!("SIGTERM will not stop the server gracefully: {e}");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Reads the whole request body (at most [`MAX_BODY_BYTES`]) within
/// [`BODY_READ_TIMEOUT`] before any handler runs: a client that sends its
/// headers and then trickles the body (or stops) is answered 408 and its
/// connection closed, instead of holding it open for as long as it likes.
async fn body_within_deadline(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await;
    let refusal = match read {
        Ok(Ok(bytes)) => {
            return next
                .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is too large or broken off.",
        ),
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            "The request body did not arrive in time.",
        ),
    };
    (refusal.0, [(header::CONNECTION, "close")], refusal.1).into_response()
}

const CSP: &str = "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // A handler that set its own (the stored capture's sandbox CSP, an
    // image's cache lifetime) keeps it. The referrer policy is not
    // "no-referrer": with it, browsers send `Origin: null` on our own form
    // posts, which the origin check must refuse; marketplace links carry
    // rel=noreferrer instead.
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Refuses a POST whose Origin is another site (belt and braces beside
/// the SameSite cookie and the CSRF token).
async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::POST {
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            let origin_host = origin.split("://").nth(1);
            if origin == "null" || origin_host != host {
                return AppError::Forbidden("This form was sent from another site.".into())
                    .into_response();
            }
        }
    }
    next.run(request).await
}

/// The session of the request's cookie, or a redirect to /login.
async fn require_session(
    State(state): State<Shared>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(auth::session_cookie)
        .map(auth::token_digest);
    let session = match token {
        Some(digest) => {
            let store = state.store.clone();
            let policy = state.sessions;
            let digest_for_store = digest.clone();
            match blocking(move || store.session(&digest_for_store, policy)).await {
                Ok(session) => session.map(|s| (s, digest)),
                Err(e) => return e.into_response(),
            }
        }
        None => None,
    };
    match session {
        Some((session, digest)) => {
            request.extensions_mut().insert(session);
            request.extensions_mut().insert(SessionDigest(digest));
            next.run(request).await
        }
        None if request.method() == Method::GET => Redirect::to("/login").into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            pages::message("Signed out", "Your session has ended; sign in again.", None),
        )
            .into_response(),
    }
}

/// The stored digest of the request's session token.
#[derive(Clone)]
struct SessionDigest(String);

/// A urlencoded form body: every pair, repeated keys kept.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Checks the CSRF token against the session's.
    fn check_csrf(&self, session: &Session) -> Result<()> {
        match self.get("csrf") {
            Some(token) if auth::same_secret(token, &session.csrf) => Ok(()),
            _ => Err(AppError::Forbidden(
                "This form has expired or did not come from knockoff; reload the page and try again."
                    .into(),
            )),
        }
    }

    /// Where to go after an action: the page it came from (a local path
    /// only), at the next match.
    fn back(&self) -> String {
        let back = self.get("back").filter(|b| is_local_path(b)).unwrap_or("/");
        match self
            .get("next")
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            Some(next) => format!("{back}#m{next}"),
            None => back.to_string(),
        }
    }
}

/// A path on this server and nothing else. Browsers drop tabs and
/// newlines from URLs and read `\\` as `/`, so `/\t/evil.example` would be
/// `//evil.example`: no control characters, no backslash, and never a
/// second slash at the start.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && path.as_bytes().get(1) != Some(&b'/')
        && !path.chars().any(|c| c.is_control() || c == '\\')
}

fn require_decider(session: &Session) -> Result<()> {
    if session.user.role.can_decide() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "{} is a viewer: viewers cannot change anything.",
            session.user.name
        )))
    }
}

fn this_url(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

/// `bytes` as a zip file named `name` to save.
fn zip_download(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("assets/app.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("assets/app.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_back() {
        for good in [
            "/",
            "/?status=pending&q=orvane bag",
            "/match/12#m13",
            "/seller?name=café",
        ] {
            assert!(is_local_path(good), "{good}");
        }
        for evil in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "evil",
            "",
        ] {
            assert!(!is_local_path(evil), "{evil:?}");
        }
    }
}
