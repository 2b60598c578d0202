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

pub mod auth;
mod charts;
mod dashboard;
mod pages;

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
use crate::store::{MatchId, QueueFilter, ReviewEntry, Session, SessionPolicy, Store};
use auth::{LoginLimiter, LoginLimits};
pub use pages::{DISMISS_REASONS, PAGE_SIZE};

/// Everything the handlers share.
pub struct AppState {
    pub config: Config,
    pub store: Arc<Store>,
    /// Full-text search over every crawled listing; `None` when the index
    /// could not be opened (search then says so).
    pub text: Option<TextIndex>,
    pub sessions: SessionPolicy,
    pub limiter: LoginLimiter,
    /// What the scheduler is doing, for the runs page.
    pub crawl_state: Arc<std::sync::Mutex<String>>,
}

impl AppState {
    /// State for `config` with default session and sign-in limits.
    pub fn new(config: Config, store: Arc<Store>, text: Option<TextIndex>) -> AppState {
        AppState {
            config,
            store,
            text,
            sessions: SessionPolicy::default(),
            limiter: LoginLimiter::new(LoginLimits::default()),
            crawl_state: Arc::default(),
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

async fn login_page() -> Markup {
    pages::login(None)
}

/// Whether the request reached us over TLS, as a proxy in front says.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    let name = auth::login_name(form.get("name").unwrap_or(""));
    // Not `get`, which trims: spaces may belong to a password.
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let address =
        auth::client_address(peer.ip(), forwarded, &state.config.settings.trusted_proxies)
            .to_string();
    if let Some(refusal) = state.limiter.check(&name, &address) {
        // One audit row per lock, not per attempt: refused attempts cost
        // an attacker nothing, so they must cost the disk nothing either.
        if refusal.first {
            let store = state.store.clone();
            let detail = format!(
                "from {address}: rate limited; further attempts until it lifts are not logged"
            );
            let actor = name.clone();
            blocking(move || store.record_event(&actor, "sign-in refused", &detail)).await?;
        }
        return Err(AppError::TooManyAttempts(refusal.wait));
    }
    let store = state.store.clone();
    let lookup = name.clone();
    // argon2 is deliberately slow: off the async workers.
    let user = blocking(move || {
        let credentials = store.user_credentials(&lookup)?;
        let verified = auth::verify_login(&password, credentials.as_ref().map(|(_, h)| h.as_str()));
        Ok(credentials.filter(|_| verified).map(|(user, _)| user))
    })
    .await?;
    let Some(user) = user else {
        state.limiter.failed(&name, &address);
        let store = state.store.clone();
        let detail = format!("from {address}");
        blocking(move || store.record_event(&name, "sign-in failed", &detail)).await?;
        return Ok((
            StatusCode::UNAUTHORIZED,
            pages::login(Some("Wrong user name or password.")),
        )
            .into_response());
    };
    let role = user.role;
    let token = auth::random_token();
    let csrf = auth::random_token();
    let store = state.store.clone();
    let digest = auth::token_digest(&token);
    let policy = state.sessions;
    blocking(move || store.create_session(&user, &digest, &csrf, policy)).await?;
    let cookie = auth::set_cookie(&token, state.sessions.lifetime, over_tls(&headers));
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?,
        )],
        Redirect::to(pages::home(role)),
    )
        .into_response())
}

async fn logout(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Extension(SessionDigest(digest)): Extension<SessionDigest>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    Form::parse(&body).check_csrf(&session)?;
    let store = state.store.clone();
    let name = session.user.name.clone();
    blocking(move || store.end_session(&digest, &name)).await?;
    let cookie = auth::clear_cookie(over_tls(&headers));
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?,
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

/// The queue page's query string.
#[derive(Debug, Default, serde::Deserialize)]
struct QueueQuery {
    status: Option<String>,
    product: Option<String>,
    target: Option<String>,
    seller: Option<String>,
    min: Option<String>,
    max: Option<String>,
    since: Option<String>,
    q: Option<String>,
    page: Option<usize>,
    network: Option<i64>,
    sort: Option<String>,
    view: Option<String>,
}

/// The list's `status` (pending when absent); an unknown one is refused.
fn status_filter(query: &QueueQuery) -> Result<StatusFilter> {
    match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(StatusFilter::Pending),
        Some(word) => word
            .parse()
            .map_err(|e| AppError::BadRequest(format!("`status`: {e}."))),
    }
}

fn score_bound(value: &Option<String>, name: &str) -> Result<Option<f64>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Ok(Some(x)),
            _ => Err(AppError::BadRequest(format!(
                "`{name}` must be a score between 0 and 1, not `{v}`."
            ))),
        },
    }
}

/// Lists the queue under a filter; shared by the queue, seller and product pages.
async fn list(
    state: &Shared,
    session: Session,
    query: QueueQuery,
    heading: String,
    back: String,
    extra: Option<Markup>,
) -> Result<Markup> {
    let started = Instant::now();
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let status = status_filter(&query)?;
    if let Some(since) = query.since.as_deref().filter(|s| !s.is_empty()) {
        if chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d").is_err() {
            return Err(AppError::BadRequest(format!(
                "`since` must be a date such as 2026-11-01, not `{since}`."
            )));
        }
    }
    let search = query.q.clone().unwrap_or_default();
    let listing_ids = if search.trim().is_empty() {
        None
    } else {
        let text = state.text.as_ref().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "the full-text index under index/text could not be opened; run `knockoff index`"
            ))
        })?;
        Some(text.search(&search, 10_000)?)
    };
    // The search finds every crawled listing, matched or not: shown below
    // the matches, each with its matches or a way to open one.
    let found = match &listing_ids {
        Some(ids) => {
            let store = state.store.clone();
            let shown: Vec<i64> = ids.iter().take(FOUND_SHOWN).copied().collect();
            let total = ids.len();
            let rows = blocking(move || {
                let listings = store.listings_by_ids(&shown)?;
                listings
                    .into_iter()
                    .map(|l| {
                        let matches = store.listing_matches(l.id)?;
                        Ok((l, matches))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .await?;
            Some(pages::found_listings(&search, &rows, total))
        }
        None => None,
    };
    let extra = match (found, extra) {
        (Some(found), Some(extra)) => Some(maud::html! { (found) (extra) }),
        (found, extra) => found.or(extra),
    };
    let sort = match query.sort.as_deref().filter(|s| !s.is_empty()) {
        None => QueueSort::Score,
        Some(word) => word
            .parse()
            .map_err(|e| AppError::BadRequest(format!("`sort`: {e}.")))?,
    };
    let grid = match query.view.as_deref().unwrap_or("") {
        "" | "cards" => false,
        "grid" => true,
        other => {
            return Err(AppError::BadRequest(format!(
                "`view` is cards or grid, not `{other}`."
            )))
        }
    };
    let filter = QueueFilter {
        sort,
        status,
        product: query.product.clone(),
        target: query.target.clone(),
        seller: query.seller.clone(),
        min_score: score_bound(&query.min, "min")?,
        max_score: score_bound(&query.max, "max")?,
        seen_since: query.since.clone(),
        listing_ids,
        network: query.network,
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    let store = state.store.clone();
    let for_store = filter.clone();
    let actor = session.user.name.clone();
    let may_undo = session.user.role.can_decide();
    let (result, undo) = blocking(move || {
        let page = store.queue_page(&for_store)?;
        let undo = if may_undo {
            store.last_decision(&actor)?
        } else {
            None
        };
        Ok((page, undo))
    })
    .await?;
    let server_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(pages::queue(&pages::QueueView {
        config: &state.config,
        session: &session,
        filter: &filter,
        search: &search,
        entries: &result.entries,
        total: result.total,
        page,
        heading,
        back,
        server_ms,
        extra,
        grid,
        undo,
    }))
}

fn this_url(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

async fn queue_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    uri: axum::http::Uri,
    Query(query): Query<QueueQuery>,
) -> Result<Markup> {
    let heading = status_filter(&query)?.heading();
    list(&state, session, query, heading.into(), this_url(&uri), None).await
}

#[derive(serde::Deserialize)]
struct SellerQuery {
    name: String,
    /// The account's marketplace; without it, the name on every one.
    target: Option<String>,
}

async fn seller_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    uri: axum::http::Uri,
    Query(seller): Query<SellerQuery>,
) -> Result<Markup> {
    const SHOWN: usize = 500;
    let store = state.store.clone();
    let name = seller.name.clone();
    let target = seller.target.clone().filter(|t| !t.is_empty());
    let boilerplate = state.config.settings.network_boilerplate;
    let (listings, confirmed, profile) = blocking(move || {
        let profile = match &target {
            Some(target) => crate::networks::profile(&store, target, &name, boilerplate)?,
            None => None,
        };
        let listings: Vec<_> = store
            .seller_listings(&name, SHOWN)?
            .into_iter()
            .filter(|l| target.as_ref().is_none_or(|t| *t == l.target))
            .collect();
        let confirmed = store.seller_confirmed(&name, target.as_deref())?;
        Ok((listings, confirmed, profile))
    })
    .await?;
    let heading = match &seller.target {
        Some(target) if !target.is_empty() => format!("Seller {} on {target}", seller.name),
        _ => format!("Seller {}", seller.name),
    };
    let query = QueueQuery {
        status: Some("all".into()),
        seller: Some(seller.name.clone()),
        target: seller.target.clone(),
        ..QueueQuery::default()
    };
    let extra = Some(maud::html! {
        @if let Some(profile) = &profile { (pages::seller_profile(profile)) }
        (pages::seller_listings(&listings, SHOWN, confirmed))
    });
    list(&state, session, query, heading, this_url(&uri), extra).await
}

/// One seller network as the last judging pass grouped it.
async fn find_network(state: &Shared, id: i64) -> Result<crate::networks::NetworkReport> {
    let store = state.store.clone();
    let boilerplate = state.config.settings.network_boilerplate;
    blocking(move || crate::networks::network(&store, boilerplate, id))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no seller network #{id}.")))
}

/// A seller network: its matches, its graph, its accounts and links, and
/// the actions on all of it.
async fn network_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    uri: axum::http::Uri,
    Path(id): Path<i64>,
) -> Result<Markup> {
    let network = find_network(&state, id).await?;
    let sites: std::collections::BTreeSet<&str> =
        network.members.iter().map(|m| m.target.as_str()).collect();
    let heading = format!(
        "Seller network #{id}: {} accounts on {} marketplace{}",
        network.members.len(),
        sites.len(),
        if sites.len() == 1 { "" } else { "s" }
    );
    let back = this_url(&uri);
    let extra = Some(pages::network_section(&session, &network, &back));
    let query = QueueQuery {
        status: Some("all".into()),
        network: Some(id),
        ..QueueQuery::default()
    };
    list(&state, session, query, heading, back, extra).await
}

/// The matches of a network's accounts in one state (at most 10,000).
fn network_matches(
    store: &Store,
    network: i64,
    status: StatusFilter,
) -> anyhow::Result<Vec<ReviewEntry>> {
    Ok(store
        .queue_page(&QueueFilter {
            status,
            product: None,
            target: None,
            seller: None,
            min_score: None,
            max_score: None,
            seen_since: None,
            listing_ids: None,
            network: Some(network),
            sort: QueueSort::Score,
            offset: 0,
            limit: 10_000,
        })?
        .entries)
}

/// Exports a network's dossier (audited) and downloads it.
async fn network_dossier(
    state: &Shared,
    session: &Session,
    network: crate::networks::NetworkReport,
) -> Result<Response> {
    let id = network.id;
    let store = state.store.clone();
    let config = state.config.clone();
    let actor = session.user.name.clone();
    let bytes = blocking(move || {
        let out = config.workspace.join("evidence");
        let exported =
            crate::evidence::dossier::export_network(&config, &store, &network, &out, &actor)?;
        Ok(std::fs::read(&exported.path)?)
    })
    .await?;
    Ok(zip_download(&format!("network-{id}.zip"), bytes))
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

/// The bulk actions on a network: confirm every pending match of its
/// accounts, draft the notices of every confirmed one, or export its
/// dossier.
async fn network_act(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path((id, action)): Path<(i64, String)>,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    form.check_csrf(&session)?;
    require_decider(&session)?;
    let network = find_network(&state, id).await?;
    let store = state.store.clone();
    let actor = session.user.name.clone();
    match action.as_str() {
        "dossier" => network_dossier(&state, &session, network).await,
        "confirm" => {
            let note = form
                .get("note")
                .filter(|n| !n.trim().is_empty())
                .map(|n| n.chars().take(2000).collect::<String>());
            blocking(move || {
                for entry in network_matches(&store, id, StatusFilter::Pending)? {
                    apply(
                        &store,
                        MatchId(entry.entry.id),
                        Action::Confirm,
                        &actor,
                        note.as_deref(),
                    )?;
                }
                Ok(())
            })
            .await?;
            Ok(Redirect::to(&form.back()).into_response())
        }
        "notices" => {
            let template = template_of(&form)?;
            let config = state.config.clone();
            let drafted = blocking(move || {
                let ids: Vec<MatchId> = network_matches(&store, id, StatusFilter::Confirmed)?
                    .iter()
                    .map(|e| MatchId(e.entry.id))
                    .collect();
                if ids.is_empty() {
                    return Ok(Err(format!(
                        "Network #{id} has no confirmed match to draft a notice for."
                    )));
                }
                let out = config.workspace.join("takedowns");
                let notices =
                    crate::takedown::draft(&config, &store, &ids, &template, &out, &actor)?;
                Ok(Ok((ids.len(), notices)))
            })
            .await?
            .map_err(AppError::BadRequest)?;
            let (matches, notices) = drafted;
            let files: Vec<String> = notices
                .iter()
                .map(|n| n.path.display().to_string())
                .collect();
            Ok(pages::message(
                &format!("Notices drafted for network #{id}"),
                &format!(
                    "{} notice(s) for {matches} confirmed match(es), with their evidence bundles: {}",
                    notices.len(),
                    files.join(", ")
                ),
                Some(&session),
            )
            .into_response())
        }
        _ => Err(AppError::NotFound(format!(
            "There is no network action `{action}`."
        ))),
    }
}

async fn product_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    uri: axum::http::Uri,
    Path(product): Path<String>,
) -> Result<Markup> {
    let Some(found) = state
        .config
        .catalog
        .products
        .iter()
        .find(|p| p.id == product)
    else {
        return Err(AppError::NotFound(format!(
            "There is no product `{product}`."
        )));
    };
    let heading = format!("{} · {}", found.id, found.name);
    let query = QueueQuery {
        status: Some("all".into()),
        product: Some(product),
        ..QueueQuery::default()
    };
    list(&state, session, query, heading, this_url(&uri), None).await
}

async fn match_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Markup> {
    let store = state.store.clone();
    let config = state.config.clone();
    let (entry, history, explanation, contacts) = blocking(move || {
        let entry = store.review_entry(MatchId(id))?;
        let contacts = match &entry {
            Some(e) => store.contacts_of(crate::store::ListingId(e.listing_id))?,
            None => Vec::new(),
        };
        // The listing judged again against every product, as `knockoff
        // explain` does; a failure costs the section, not the page.
        let explanation = entry.as_ref().and_then(|_| {
            crate::explain::explain(
                &config,
                &store,
                &crate::explain::Subject::Match(MatchId(id)),
            )
            .map_err(|error| tracing::warn!("explaining match #{id}: {error:#}"))
            .ok()
        });
        Ok((
            entry,
            store.audit_log(Some(MatchId(id)))?,
            explanation,
            contacts,
        ))
    })
    .await?;
    let entry = entry.ok_or_else(|| AppError::NotFound(format!("There is no match #{id}.")))?;
    Ok(pages::match_page(
        &state.config,
        &session,
        &entry,
        &history,
        explanation.as_ref(),
        &contacts,
    ))
}

/// Most listings a search shows below the matches it finds.
const FOUND_SHOWN: usize = 100;

/// One crawled listing, matched or not: its fields, photos and matches,
/// and for a reviewer the form that opens a match on it by hand.
async fn listing_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Markup> {
    let store = state.store.clone();
    let (listing, matches) = blocking(move || {
        let listing = store.listings_by_ids(&[id])?.pop();
        let matches = match &listing {
            Some(l) => store.listing_matches(l.id)?,
            None => Vec::new(),
        };
        Ok((listing, matches))
    })
    .await?;
    let listing =
        listing.ok_or_else(|| AppError::NotFound(format!("There is no listing #{id}.")))?;
    Ok(pages::listing_page(
        &state.config,
        &session,
        &listing,
        &matches,
    ))
}

/// Opens a match by hand on listing `id`: a product and a reason
/// required, audited, then the new match's page.
async fn open_match(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    form.check_csrf(&session)?;
    require_decider(&session)?;
    let product = form.get("product").unwrap_or("").to_string();
    let reason: String = form
        .get("reason")
        .unwrap_or("")
        .chars()
        .take(2000)
        .collect();
    let (config, store) = (state.config.clone(), state.store.clone());
    let actor = session.user.name.clone();
    let opened = blocking(move || {
        crate::explain::open_by_hand(
            &config,
            &store,
            crate::store::ListingId(id),
            &product,
            &actor,
            &reason,
        )
    })
    .await?;
    Ok(Redirect::to(&format!("/match/{}", opened.0)).into_response())
}

/// Applies one action to one match; `Ok(false)` when it was no longer pending.
fn apply(
    store: &Store,
    id: MatchId,
    action: Action,
    actor: &str,
    text: Option<&str>,
) -> anyhow::Result<bool> {
    match action {
        Action::Confirm => store.decide_pending(id, Decision::Confirm, actor, text),
        Action::Dismiss => store.decide_pending(id, Decision::Dismiss, actor, text),
        Action::Escalate => store.escalate(id, actor, text),
        Action::Undo => store.undo_decision(id, actor).map(|_| true),
        Action::Note => {
            store.add_note(id, actor, text.unwrap_or(""))?;
            Ok(true)
        }
    }
}

async fn act(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path((id, action)): Path<(i64, String)>,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    form.check_csrf(&session)?;
    require_decider(&session)?;
    match action.as_str() {
        "notice" => return draft_notice(&state, &session, id, &form).await,
        "takedown" => return set_takedown(&state, &session, id, &form).await,
        _ => {}
    }
    let action: Action = action
        .parse()
        .map_err(|_| AppError::NotFound(format!("There is no action `{action}`.")))?;
    let text = match action {
        Action::Confirm | Action::Escalate => form.get("note").map(str::to_string),
        Action::Undo => None,
        Action::Dismiss => Some(
            form.get("other")
                .or(form.get("reason"))
                .unwrap_or(DISMISS_REASONS[0])
                .to_string(),
        ),
        Action::Note => Some(
            form.get("note")
                .map(str::to_string)
                .ok_or_else(|| AppError::BadRequest("A note needs some text.".into()))?,
        ),
    };
    let text = text.map(|t| t.chars().take(2000).collect::<String>());
    let store = state.store.clone();
    let actor = session.user.name.clone();
    let applied =
        blocking(move || apply(&store, MatchId(id), action, &actor, text.as_deref())).await?;
    if !applied {
        let store = state.store.clone();
        let now = blocking(move || store.review_entry(MatchId(id))).await?;
        let status = now.map_or("gone", |e| e.entry.status.as_str());
        return Err(AppError::Conflict(format!(
            "Match #{id} is {status} now: someone decided it first, so your {} changed nothing.",
            action.as_str()
        )));
    }
    Ok(Redirect::to(&form.back()).into_response())
}

async fn bulk(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    form.check_csrf(&session)?;
    require_decider(&session)?;
    let word = form.get("action").unwrap_or("");
    let action = word
        .parse::<Action>()
        .ok()
        .filter(|a| Action::BULK.contains(a))
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "A bulk action is confirm, dismiss or escalate, not `{word}`."
            ))
        })?;
    let ids: Vec<i64> = form
        .all("ids")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| AppError::BadRequest(format!("`{v}` is not a match id.")))
        })
        .collect::<Result<_>>()?;
    let reason = (action == Action::Dismiss)
        .then(|| form.get("reason").unwrap_or(DISMISS_REASONS[0]).to_string());
    let store = state.store.clone();
    let actor = session.user.name.clone();
    blocking(move || {
        for id in ids {
            apply(&store, MatchId(id), action, &actor, reason.as_deref())?;
        }
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&form.back()).into_response())
}

/// The evidence bundle of a confirmed match. A bundle that states the
/// match as it stands is served as it is, never re-exported behind
/// counsel's back; when there is none, or a later decision (a note, an
/// escalation, the match reopened and confirmed again) made it stale, a
/// reviewer's download exports a fresh one — the old one kept, both
/// hashes audited — and a viewer is told to ask one.
async fn bundle(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let store = state.store.clone();
    let config = state.config.clone();
    let may_export = session.user.role.can_decide();
    let actor = session.user.name.clone();
    let bytes = blocking(move || {
        let Some(entry) = store.review_entry(MatchId(id))? else {
            return Ok(Err(AppError::NotFound(format!("There is no match #{id}."))));
        };
        if entry.entry.status != MatchStatus::Confirmed {
            return Ok(Err(AppError::BadRequest(format!(
                "Match #{id} is {}; bundles are for confirmed matches.",
                entry.entry.status
            ))));
        }
        let out = config.workspace.join("evidence");
        let path = match crate::evidence::current_bundle(&store, MatchId(id), &out)? {
            Some(path) => path,
            None if !may_export => {
                return Ok(Err(AppError::Forbidden(format!(
                    "Match #{id} has no current evidence bundle; a reviewer's download exports it."
                ))))
            }
            None => crate::evidence::current_or_export(&config, &store, MatchId(id), &out, &actor)?,
        };
        Ok(Ok(std::fs::read(&path)?))
    })
    .await?;
    Ok(zip_download(&format!("bundle-{id}.zip"), bytes?))
}

/// The notice template a form names (`generic` when it names none).
fn template_of(form: &Form) -> Result<String> {
    let template = form.get("template").unwrap_or("generic").to_string();
    if !crate::takedown::TEMPLATES
        .iter()
        .any(|(name, _)| *name == template)
    {
        return Err(AppError::BadRequest(format!(
            "There is no template `{template}`."
        )));
    }
    Ok(template)
}

/// Drafts the takedown notice of one confirmed match and downloads it.
async fn draft_notice(state: &Shared, session: &Session, id: i64, form: &Form) -> Result<Response> {
    let template = template_of(form)?;
    let store = state.store.clone();
    let config = state.config.clone();
    let actor = session.user.name.clone();
    let mut notices = blocking(move || {
        let out = config.workspace.join("takedowns");
        crate::takedown::draft(&config, &store, &[MatchId(id)], &template, &out, &actor)
    })
    .await?;
    let notice = notices.remove(0);
    let name = notice
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "notice.txt".into());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        notice.text,
    )
        .into_response())
}

/// Records where a confirmed match's takedown stands.
async fn set_takedown(state: &Shared, session: &Session, id: i64, form: &Form) -> Result<Response> {
    let takedown = form
        .get("state")
        .and_then(|word| word.parse::<crate::store::TakedownState>().ok())
        .filter(|s| *s != crate::store::TakedownState::Drafted)
        .ok_or_else(|| {
            AppError::BadRequest("A takedown is submitted, removed or rejected.".into())
        })?;
    let store = state.store.clone();
    let actor = session.user.name.clone();
    blocking(move || store.set_takedown(MatchId(id), takedown, &actor, "")).await?;
    Ok(Redirect::to(&form.back()).into_response())
}

/// The dashboard's and the report's filter, as typed.
#[derive(serde::Deserialize)]
struct ReportParams {
    since: Option<String>,
    until: Option<String>,
    target: Option<String>,
    product: Option<String>,
    format: Option<String>,
}

impl ReportParams {
    /// The report query; `default_weeks` back from today when neither end
    /// is given at all (an empty field means "no bound").
    fn query(&self, default_weeks: Option<i64>) -> Result<crate::store::ReportQuery> {
        let day = |name: &str, value: &Option<String>| -> Result<Option<chrono::NaiveDate>> {
            match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        AppError::BadRequest(format!("`{name}` must be a day as YYYY-MM-DD."))
                    }),
            }
        };
        let mut since = day("since", &self.since)?;
        let until = day("until", &self.until)?;
        if let (Some(weeks), None, None) = (default_weeks, &self.since, &self.until) {
            since = Some(chrono::Utc::now().date_naive() - chrono::Duration::weeks(weeks));
        }
        if let (Some(from), Some(to)) = (since, until) {
            if from > to {
                return Err(AppError::BadRequest(format!(
                    "The period starts ({from}) after it ends ({to})."
                )));
            }
        }
        let named = |v: &Option<String>| {
            v.as_ref()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(crate::store::ReportQuery {
            since,
            until,
            target: named(&self.target),
            product: named(&self.product),
        })
    }
}

/// How far back the dashboard looks when no period is asked for.
const DASHBOARD_WEEKS: i64 = 12;

async fn dashboard_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Query(params): Query<ReportParams>,
) -> Result<Markup> {
    let started = std::time::Instant::now();
    let query = params.query(Some(DASHBOARD_WEEKS))?;
    let store = state.store.clone();
    let asked = query.clone();
    let report = blocking(move || store.report(&asked)).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(dashboard::dashboard(
        &state.config,
        &session,
        &report,
        &query,
        ms,
    ))
}

/// `/report?format=csv|json` with the dashboard's filter: what `knockoff
/// report` prints, as a download.
async fn report_download(
    State(state): State<Shared>,
    Query(params): Query<ReportParams>,
) -> Result<Response> {
    let query = params.query(None)?;
    let csv = match params.format.as_deref().unwrap_or("json") {
        "csv" => true,
        "json" => false,
        other => {
            return Err(AppError::BadRequest(format!(
                "`{other}` is not a report format: csv or json."
            )))
        }
    };
    let store = state.store.clone();
    let report = blocking(move || store.report(&query)).await?;
    let (body, kind, name) = if csv {
        (
            crate::report::render_csv(&report)?,
            "text/csv; charset=utf-8",
            "knockoff-report.csv",
        )
    } else {
        (
            serde_json::to_string_pretty(&report).map_err(|e| AppError::Internal(e.into()))?,
            "application/json",
            "knockoff-report.json",
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(serde::Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn audit_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Query(query): Query<PageQuery>,
) -> Result<Markup> {
    if session.user.role != crate::store::Role::Admin {
        return Err(AppError::Forbidden(
            "The audit log page is for admins.".into(),
        ));
    }
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let store = state.store.clone();
    let (rows, total) = blocking(move || store.audit_page((page - 1) * 100, 100)).await?;
    Ok(pages::audit_page(&session, &rows, total, page))
}

async fn runs_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
) -> Result<Markup> {
    let store = state.store.clone();
    let runs = blocking(move || store.runs(50)).await?;
    let crawl_state = state
        .crawl_state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(pages::runs_page(&session, &runs, &crawl_state))
}

/// An image response, if the bytes are a JPEG, PNG, GIF or WebP.
fn image_response(bytes: Vec<u8>, what: &str) -> Result<Response> {
    let info = photo::inspect(&bytes, u64::MAX)
        .map_err(|e| AppError::NotFound(format!("{what} is not a photo knockoff serves ({e}).")))?;
    let content_type = info.format.mime();
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

async fn listing_photo(
    State(state): State<Shared>,
    Path((id, n)): Path<(i64, usize)>,
) -> Result<Response> {
    let store = state.store.clone();
    let bytes = blocking(move || {
        let Some(entry) = store.review_entry(MatchId(id))? else {
            return Ok(None);
        };
        match entry.images.get(n) {
            Some(url) => stored_photo(&store, url),
            None => Ok(None),
        }
    })
    .await?;
    let bytes = bytes.ok_or_else(|| {
        AppError::NotFound(format!("Photo {} of match #{id} was not captured.", n + 1))
    })?;
    image_response(bytes, &format!("Photo {} of match #{id}", n + 1))
}

/// Photo `n` of listing `id`, as the store holds it.
async fn listing_photo_of_listing(
    State(state): State<Shared>,
    Path((id, n)): Path<(i64, usize)>,
) -> Result<Response> {
    let store = state.store.clone();
    let bytes = blocking(move || {
        let Some(listing) = store.listings_by_ids(&[id])?.pop() else {
            return Ok(None);
        };
        match listing.listing.images.get(n) {
            Some(url) => stored_photo(&store, url),
            None => Ok(None),
        }
    })
    .await?;
    let bytes = bytes.ok_or_else(|| {
        AppError::NotFound(format!(
            "Photo {} of listing #{id} was not captured.",
            n + 1
        ))
    })?;
    image_response(bytes, &format!("Photo {} of listing #{id}", n + 1))
}

/// The stored bytes of the photo at `url`, if it was captured.
fn stored_photo(store: &Store, url: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match store.image_sha256(url)? {
        Some(sha) => store.blob(&sha),
        None => Ok(None),
    }
}

async fn reference_photo(
    State(state): State<Shared>,
    Path((product, n)): Path<(String, usize)>,
) -> Result<Response> {
    let path = state
        .config
        .catalog
        .products
        .iter()
        .find(|p| p.id == product)
        .and_then(|p| p.images.get(n))
        .map(|image| state.config.workspace.join("reference-images").join(image))
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "There is no reference photo {} of {product}.",
                n + 1
            ))
        })?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| AppError::NotFound(format!("{} cannot be read ({e}).", path.display())))?;
    image_response(bytes, &path.display().to_string())
}

/// The listing page as captured, in a sandbox: no scripts, no requests,
/// a unique origin, so hostile markup can do nothing.
async fn capture(State(state): State<Shared>, Path(listing): Path<i64>) -> Result<Response> {
    let store = state.store.clone();
    let page = blocking(move || store.listing_capture(listing)).await?;
    let (_, bytes) = page
        .ok_or_else(|| AppError::NotFound(format!("No capture of listing {listing} is stored.")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        bytes,
    )
        .into_response())
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
