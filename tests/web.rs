//! The review UI over real HTTP on 127.0.0.1: sign-in, roles, CSRF,
//! session expiry, escaping of hostile listing text, photos, the crawl lock
//! and the scheduler's webhook — against a workspace crawled from the demo
//! marketplace into a real SQLite file.

use std::sync::Arc;
use std::time::Duration;

use knockoff::config::{self, Config};
use knockoff::demo::catalog::{Catalog, Kind};
use knockoff::status::{MatchStatus, StatusFilter};
use knockoff::store::{MatchId, Role, SessionPolicy, Store};
use knockoff::web::{self, auth, AppState};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::util::{self, DemoFixture};

pub const HOSTILE_TITLE: &str = "<script>alert(1)</script> Orvane Cloudstep 3 replica";
pub const HOSTILE_SELLER: &str = "<img src=x onerror=alert(2)>";
pub const PASSWORD: &str = "correct horse battery";

/// A crawled, judged workspace with three users and the UI on a free port.
pub struct Reviewed {
    pub workspace: Workspace,
    pub config: Config,
    pub store: Arc<Store>,
    pub base: String,
}

/// Where a [`Reviewed`] workspace lives.
pub enum Workspace {
    /// A copy of the crawled template: no marketplace behind it.
    Copied(tempfile::TempDir),
    /// Crawled for this test, its marketplace still serving.
    Live(Box<DemoFixture>),
}

impl Workspace {
    pub fn path(&self) -> &std::path::Path {
        match self {
            Workspace::Copied(dir) => dir.path(),
            Workspace::Live(fixture) => fixture.path(),
        }
    }
}

/// The demo catalogue with one fake's title and seller made hostile.
pub fn hostile_catalog(seed: u64, listings: usize) -> Catalog {
    let mut catalog = Catalog::generate(seed, listings);
    let fake = catalog
        .listings
        .iter_mut()
        .find(|l| l.kind == Kind::CopiedPhoto)
        .expect("every catalogue has copied-photo fakes");
    fake.title = HOSTILE_TITLE.into();
    fake.seller = HOSTILE_SELLER.into();
    catalog
}

impl Reviewed {
    /// The UI over a fresh copy of the template workspace.
    pub async fn start(sessions: SessionPolicy) -> Reviewed {
        Reviewed::start_configured(sessions, |_| {}).await
    }

    /// [`Reviewed::start`] with `edit` applied to the loaded config.
    pub async fn start_configured(
        sessions: SessionPolicy,
        edit: impl FnOnce(&mut Config),
    ) -> Reviewed {
        let (dir, config, store) =
            util::judged_copy("hostile 41", || hostile_catalog(41, 30)).await;
        Reviewed::serve(Workspace::Copied(dir), config, store, sessions, edit).await
    }

    /// The UI over a workspace crawled for this test, its marketplace
    /// still serving (for tests that crawl again).
    pub async fn start_live(sessions: SessionPolicy) -> Reviewed {
        let (fixture, config, store) = util::judged_workspace(hostile_catalog(41, 30)).await;
        Reviewed::serve(
            Workspace::Live(Box::new(fixture)),
            config,
            store,
            sessions,
            |_| {},
        )
        .await
    }

    /// The UI over `workspace` (crawled by the caller), with the three users.
    pub async fn serve(
        workspace: Workspace,
        mut config: Config,
        store: Arc<Store>,
        sessions: SessionPolicy,
        edit: impl FnOnce(&mut Config),
    ) -> Reviewed {
        edit(&mut config);
        let hash = auth::hash_password(PASSWORD).unwrap();
        for (name, role) in [
            ("ana", Role::Admin),
            ("rita", Role::Reviewer),
            ("vic", Role::Viewer),
        ] {
            store.add_user(name, role, &hash, "test").unwrap();
        }
        let (text, _) = knockoff::index::text_index(&config, &store).unwrap();
        let mut state = AppState::new(config.clone(), store.clone(), Some(text));
        state.sessions = sessions;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(web::serve(Arc::new(state), listener));
        Reviewed {
            workspace,
            config,
            store,
            base,
        }
    }

    /// A client that follows no redirects, so tests see them.
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap()
    }

    /// Signs in and returns the session cookie.
    pub async fn sign_in(&self, name: &str) -> String {
        let response = Self::client()
            .post(format!("{}/login", self.base))
            .form(&[("name", name), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{name} signs in");
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    /// GETs `path` with the session cookie: the whole response.
    pub async fn fetch(&self, path: &str, cookie: &str) -> reqwest::Response {
        Self::client()
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let response = self.fetch(path, cookie).await;
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> StatusCode {
        Self::client()
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Signs `name` in: the session cookie and its CSRF token.
    pub async fn session(&self, name: &str) -> (String, String) {
        let cookie = self.sign_in(name).await;
        let (_, page) = self.get("/", &cookie).await;
        let csrf = Reviewed::csrf(&page);
        (cookie, csrf)
    }

    /// The CSRF token in a page's forms.
    pub fn csrf(page: &str) -> String {
        let at = page
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + 19;
        page[at..at + 64].to_string()
    }

    pub fn pending_ids(&self) -> Vec<i64> {
        self.store
            .queue(StatusFilter::Pending)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect()
    }

    pub fn status_of(&self, id: i64) -> MatchStatus {
        self.store
            .review_entry(MatchId(id))
            .unwrap()
            .unwrap()
            .entry
            .status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_only_the_sign_in_page_and_assets_are_served() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let client = Reviewed::client();
    for path in [
        "/",
        "/runs",
        "/audit",
        "/match/1",
        "/photo/1/0",
        "/seller?name=x",
    ] {
        let response = client
            .get(format!("{}{path}", ui.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/login", "{path}");
    }
    let css = client
        .get(format!("{}/static/app.css", ui.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_and_the_session_cookie_is_guarded() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let client = Reviewed::client();
    let sign_in = |password: &'static str, https: bool| {
        let mut request = client
            .post(format!("{}/login", ui.base))
            .form(&[("name", "rita"), ("password", password)]);
        if https {
            request = request.header("x-forwarded-proto", "https");
        }
        request.send()
    };
    let wrong = sign_in("guess", false).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("Wrong user name or password"));

    let right = sign_in(PASSWORD, false).await.unwrap();
    let cookie = right.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback");
    let proxied = sign_in(PASSWORD, true).await.unwrap();
    let cookie = proxied.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "behind an HTTPS proxy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_scraped_text_is_shown_as_text_under_a_strict_policy() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let rita = ui.sign_in("rita").await;
    let response = ui.fetch("/", &rita).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    let page = response.text().await.unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the hostile title is queued"
    );
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!page.contains("<img src=x"));
    assert!(!page.contains("src=\"http"), "no hot-linked images");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_and_captures_come_from_the_store_never_the_marketplace() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let rita = ui.sign_in("rita").await;
    let pending = ui.pending_ids();
    let photo = ui.fetch(&format!("/photo/{}/0", pending[0]), &rita).await;
    assert_eq!(photo.status(), StatusCode::OK);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    let product = &ui.config.catalog.products[0].id;
    let reference = ui.fetch(&format!("/reference/{product}/0"), &rita).await;
    assert_eq!(reference.headers()["content-type"], "image/png");
    let entry = ui.store.review_entry(MatchId(pending[0])).unwrap().unwrap();
    let capture = ui
        .fetch(&format!("/capture/{}", entry.listing_id), &rita)
        .await;
    assert_eq!(capture.status(), StatusCode::OK);
    assert!(capture.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_needs_the_sessions_csrf_token_and_is_made_once() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let (rita, csrf) = ui.session("rita").await;
    let target = ui.pending_ids()[0];
    let path = format!("/match/{target}/confirm");
    assert_eq!(ui.post(&path, &rita, &[]).await, StatusCode::FORBIDDEN);
    assert_eq!(
        ui.post(&path, &rita, &[("csrf", &"0".repeat(64))]).await,
        StatusCode::FORBIDDEN
    );
    let cross_site = Reviewed::client()
        .post(format!("{}{path}", ui.base))
        .header("cookie", &rita)
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        ui.status_of(target),
        MatchStatus::Pending,
        "nothing changed so far"
    );

    assert_eq!(
        ui.post(&path, &rita, &[("csrf", &csrf), ("back", "/")])
            .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(ui.status_of(target), MatchStatus::Confirmed);
    let history = ui.store.audit_log(Some(MatchId(target))).unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("rita", "confirmed")
    );
    // Deciding it again is a no-op, not a second decision, and says so.
    let again = ui
        .post(
            &format!("/match/{target}/dismiss"),
            &rita,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(again, StatusCode::CONFLICT);
    assert_eq!(ui.status_of(target), MatchStatus::Confirmed);
    assert_eq!(
        ui.store.audit_log(Some(MatchId(target))).unwrap().len(),
        history.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_match_has_a_bundle_a_notice_and_a_tracked_takedown() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let (rita, csrf) = ui.session("rita").await;
    let pending = ui.pending_ids();
    let target = pending[0];
    ui.post(
        &format!("/match/{target}/confirm"),
        &rita,
        &[("csrf", &csrf)],
    )
    .await;

    let zip = ui.fetch(&format!("/match/{target}/bundle"), &rita).await;
    assert_eq!(zip.status(), StatusCode::OK);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let saved = tempfile::tempdir().unwrap();
    let bundle = saved.path().join("bundle.zip");
    std::fs::write(&bundle, zip.bytes().await.unwrap()).unwrap();
    let verified = knockoff::evidence::verify(&bundle, None).unwrap();
    match verified.manifest {
        knockoff::evidence::Signed::Match(m) => assert_eq!(m.match_id, target),
        other => panic!("a match's bundle verified as {other:?}"),
    }

    let notice = Reviewed::client()
        .post(format!("{}/match/{target}/notice", ui.base))
        .header("cookie", &rita)
        .form(&[("csrf", csrf.as_str()), ("template", "dmca")])
        .send()
        .await
        .unwrap();
    assert_eq!(notice.status(), StatusCode::OK);
    assert!(notice.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = notice.text().await.unwrap();
    let entry = ui.store.review_entry(MatchId(target)).unwrap().unwrap();
    assert!(
        text.contains("512(c)(3)") && text.contains(&entry.entry.listing_url),
        "{text}"
    );
    assert_eq!(
        ui.store.takedown(MatchId(target)).unwrap(),
        Some(knockoff::store::TakedownState::Drafted)
    );
    let submitted = ui
        .post(
            &format!("/match/{target}/takedown"),
            &rita,
            &[("csrf", &csrf), ("state", "submitted")],
        )
        .await;
    assert_eq!(submitted, StatusCode::SEE_OTHER);
    assert_eq!(
        ui.store.takedown(MatchId(target)).unwrap(),
        Some(knockoff::store::TakedownState::Submitted)
    );
    let (_, confirmed_page) = ui.get(&format!("/match/{target}"), &rita).await;
    assert!(confirmed_page.contains("Evidence bundle") && confirmed_page.contains("submitted"));
    let pending_bundle = ui
        .fetch(&format!("/match/{}/bundle", pending[1]), &rita)
        .await;
    assert_eq!(
        pending_bundle.status(),
        StatusCode::BAD_REQUEST,
        "pending: no bundle"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dismissals_escalations_and_notes_are_recorded_and_escaped() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let (rita, csrf) = ui.session("rita").await;
    let pending = ui.pending_ids();
    let (dismissed, escalated) = (pending[0], pending[1]);
    ui.post(
        &format!("/match/{dismissed}/dismiss"),
        &rita,
        &[("csrf", &csrf), ("reason", "authorized seller")],
    )
    .await;
    assert_eq!(ui.status_of(dismissed), MatchStatus::Dismissed);
    let entry = ui.store.review_entry(MatchId(dismissed)).unwrap().unwrap();
    assert_eq!(entry.entry.note.as_deref(), Some("authorized seller"));

    ui.post(
        &format!("/match/{escalated}/escalate"),
        &rita,
        &[("csrf", &csrf)],
    )
    .await;
    ui.post(
        &format!("/match/{escalated}/note"),
        &rita,
        &[("csrf", &csrf), ("note", "<b>ask legal</b>")],
    )
    .await;
    let entry = ui.store.review_entry(MatchId(escalated)).unwrap().unwrap();
    assert_eq!(entry.entry.status, MatchStatus::Pending);
    assert_eq!(entry.escalated_by.as_deref(), Some("rita"));
    let (_, detail) = ui.get(&format!("/match/{escalated}"), &rita).await;
    assert!(
        detail.contains("&lt;b&gt;ask legal&lt;/b&gt;"),
        "notes are escaped too"
    );
    assert_eq!(
        ui.post("/match/999999/confirm", &rita, &[("csrf", &csrf)])
            .await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_but_decides_drafts_and_bulk_edits_nothing() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let vic = ui.sign_in("vic").await;
    let (status, page) = ui.get("/", &vic).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("/confirm\""), "no action buttons");
    let csrf = Reviewed::csrf(&page);
    let pending = ui.pending_ids();
    let confirm = ui
        .post(
            &format!("/match/{}/confirm", pending[0]),
            &vic,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(confirm, StatusCode::FORBIDDEN);
    let notice = ui
        .post(
            &format!("/match/{}/notice", pending[0]),
            &vic,
            &[("csrf", &csrf), ("template", "generic")],
        )
        .await;
    assert_eq!(notice, StatusCode::FORBIDDEN, "viewers draft nothing");
    let (a, b) = (pending[0].to_string(), pending[1].to_string());
    let bulk = [
        ("csrf", csrf.as_str()),
        ("action", "dismiss"),
        ("ids", a.as_str()),
        ("ids", b.as_str()),
    ];
    assert_eq!(ui.post("/bulk", &vic, &bulk).await, StatusCode::FORBIDDEN);
    assert_eq!(ui.pending_ids(), pending, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_page_is_for_admins_and_shows_every_kind_of_action() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let wrong = Reviewed::client()
        .post(format!("{}/login", ui.base))
        .form(&[("name", "rita"), ("password", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (rita, csrf) = ui.session("rita").await;
    let pending = ui.pending_ids();
    for (id, action) in [
        (pending[0], "confirm"),
        (pending[1], "dismiss"),
        (pending[2], "escalate"),
    ] {
        ui.post(&format!("/match/{id}/{action}"), &rita, &[("csrf", &csrf)])
            .await;
    }
    ui.post(
        &format!("/match/{}/note", pending[2]),
        &rita,
        &[("csrf", &csrf), ("note", "ask legal")],
    )
    .await;

    assert_eq!(ui.get("/audit", &rita).await.0, StatusCode::FORBIDDEN);
    let ana = ui.sign_in("ana").await;
    let (status, audit) = ui.get("/audit", &ana).await;
    assert_eq!(status, StatusCode::OK);
    for action in [
        "sign-in failed",
        "signed in",
        "confirmed",
        "dismissed",
        "escalated",
        "note",
    ] {
        assert!(audit.contains(action), "{action} in the audit page");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_and_the_seller_product_and_runs_pages() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let rita = ui.sign_in("rita").await;
    let (status, search) = ui.get("/?status=all&q=cloudstep", &rita).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        search.contains("&lt;script&gt;"),
        "search finds the hostile title"
    );
    let (status, _) = ui.get("/?min=2", &rita).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a score above 1");
    let (status, deep) = ui.get("/?page=401", &rita).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "past the listed depth");
    assert!(deep.contains("`page` goes up to 400"), "{deep}");
    let (status, seller) = ui
        .get(
            "/seller?name=%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E",
            &rita,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(seller.contains("Seller &lt;img"));
    assert!(seller.contains("All listings by this seller"));
    assert!(seller.contains("confirmed infringement"));
    let product = &ui.config.catalog.products[0].id;
    assert_eq!(
        ui.get(&format!("/product/{product}"), &rita).await.0,
        StatusCode::OK
    );
    let (status, runs) = ui.get("/runs", &rita).await;
    assert_eq!(status, StatusCode::OK);
    assert!(runs.contains("#1"), "{runs}");
    assert!(
        runs.contains("shopfront") && runs.contains("bazaar"),
        "{runs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_dismisses_a_selection_with_one_reason() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let (rita, csrf) = ui.session("rita").await;
    let selection: Vec<i64> = ui.pending_ids().into_iter().take(2).collect();
    let (a, b) = (selection[0].to_string(), selection[1].to_string());
    let bulk = [
        ("csrf", csrf.as_str()),
        ("action", "dismiss"),
        ("reason", "not our product"),
        ("ids", a.as_str()),
        ("ids", b.as_str()),
    ];
    assert_eq!(ui.post("/bulk", &rita, &bulk).await, StatusCode::SEE_OTHER);
    for id in &selection {
        let entry = ui.store.review_entry(MatchId(*id)).unwrap().unwrap();
        assert_eq!(entry.entry.status, MatchStatus::Dismissed);
        assert_eq!(entry.entry.note.as_deref(), Some("not our product"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session_on_the_server() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let (rita, csrf) = ui.session("rita").await;
    ui.post("/logout", &rita, &[("csrf", &csrf)]).await;
    assert_eq!(ui.get("/", &rita).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_lists_and_actions_are_refused_by_name_and_change_nothing() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let rita = ui.sign_in("rita").await;
    let (status, page) = ui.get("/?status=pendng", &rita).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("`pendng` is not a status filter"),
        "the word is named: {page}"
    );
    let (_, queue) = ui.get("/", &rita).await;
    let csrf = Reviewed::csrf(&queue);
    let id = ui.pending_ids()[0];
    let unknown = ui
        .post(&format!("/match/{id}/delete"), &rita, &[("csrf", &csrf)])
        .await;
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    let bulk = ui
        .post(
            "/bulk",
            &rita,
            &[
                ("csrf", &csrf),
                ("action", "note"),
                ("ids", &id.to_string()),
            ],
        )
        .await;
    assert_eq!(bulk, StatusCode::BAD_REQUEST, "a note is not a bulk action");
    assert_eq!(ui.status_of(id), MatchStatus::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_and_sign_ins_are_rate_limited() {
    let ui = Reviewed::start(SessionPolicy {
        idle: Duration::from_millis(1500),
        lifetime: Duration::from_secs(3600),
    })
    .await;
    let rita = ui.sign_in("rita").await;
    assert_eq!(ui.get("/", &rita).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let (status, _) = ui.get("/", &rita).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "idle too long");

    // Five failures lock the account, even against the right password.
    let client = Reviewed::client();
    for _ in 0..5 {
        let response = client
            .post(format!("{}/login", ui.base))
            .form(&[("name", "ana"), ("password", "nope")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = client
        .post(format!("{}/login", ui.base))
        .form(&[("name", "ana"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another account from the same address still may.
    ui.sign_in("vic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_crawl_at_a_time_and_the_webhook_hears_of_each_run() {
    let fixture = DemoFixture::start(Catalog::generate(43, 12), false, util::FAST).await;
    let config = config::load(fixture.path()).unwrap();
    let store = Arc::new(Store::open(&config.db_path()).unwrap());

    // While the lock is held (by a crawl from cron, say), neither the
    // binary nor the scheduler crawls.
    let lock = knockoff::crawl::lock(&config).unwrap();
    let out = util::knockoff(fixture.path(), &["crawl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another knockoff crawl is running"));
    let skipped = knockoff::schedule::run_once(&config, store.clone()).await;
    assert!(
        matches!(skipped, knockoff::schedule::Outcome::Skipped(_)),
        "{skipped:?}"
    );
    drop(lock);

    // The scheduler inside `serve`, firing every second, crawls, judges
    // and posts Slack-compatible JSON to the webhook after each run.
    let heard = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = heard.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let hook = util::serve(router, "127.0.0.1").await.join("hook").unwrap();
    let mut config = config;
    config.settings.notify_webhook = Some(hook);
    let schedule = knockoff::schedule::Schedule::parse("* * * * * *", "UTC").unwrap();
    let state = Arc::new(std::sync::Mutex::new(String::new()));
    let scheduler = tokio::spawn(knockoff::serve::scheduler(
        config,
        store.clone(),
        schedule,
        state.clone(),
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while heard.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no webhook call");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    scheduler.abort();
    let body = heard.lock().unwrap()[0].clone();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let text = json["text"].as_str().unwrap();
    assert!(
        text.contains("crawl #1 finished") && text.contains("new matches queued"),
        "{text}"
    );
    assert!(
        store.pending_count().unwrap() > 0,
        "the scheduled crawl was judged"
    );
}

#[test]
fn serve_refuses_to_start_without_users() {
    let dir = tempfile::tempdir().unwrap();
    knockoff::demo::write_workspace(dir.path(), &Catalog::generate(1, 0)).unwrap();
    let out = util::knockoff(dir.path(), &["serve", "--bind", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no users yet") && stderr.contains("user add"),
        "{stderr}"
    );
}

#[test]
fn user_add_reads_the_password_from_stdin_and_refuses_duplicates() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    knockoff::demo::write_workspace(dir.path(), &Catalog::generate(1, 0)).unwrap();
    let add = |name: &str, password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_knockoff"))
            .arg("--workspace")
            .arg(dir.path())
            .args(["user", "add", name, "--role", "reviewer"])
            .env_remove("KNOCKOFF_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("rita", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&dir.path().join("knockoff.db")).unwrap();
    let (user, hash) = store.user_credentials("rita").unwrap().unwrap();
    assert_eq!(user.role, Role::Reviewer);
    assert!(
        auth::verify_password(PASSWORD, &hash),
        "the newline is not part of it"
    );
    let log = store.audit_log(None).unwrap();
    assert_eq!(log.last().unwrap().action, "user added");

    let again = add("rita", PASSWORD);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already a user named `rita`"));
    let short = add("bo", "short");
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("too short"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_and_reviewers_write_to_the_store_side_by_side() {
    let ui = Reviewed::start_live(SessionPolicy::default()).await;
    let (rita, csrf) = ui.session("rita").await;
    let id = ui.pending_ids()[0];
    // A second night's crawl in another process, through the same file.
    let workspace = ui.workspace.path().to_path_buf();
    let crawl = tokio::task::spawn_blocking(move || util::knockoff_outcome(&workspace, &["crawl"]));
    let mut notes = 0;
    while !crawl.is_finished() {
        let status = ui
            .post(
                &format!("/match/{id}/note"),
                &rita,
                &[("csrf", &csrf), ("note", &format!("note {notes}"))],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "note {notes} refused");
        notes += 1;
    }
    let (code, _, stderr) = crawl.await.unwrap();
    assert_eq!(code, 0, "the crawl failed beside the review UI: {stderr}");
    assert!(
        notes >= 5,
        "only {notes} notes were posted during the crawl"
    );
    let audited = ui
        .store
        .audit_log(Some(MatchId(id)))
        .unwrap()
        .iter()
        .filter(|row| row.action == "note")
        .count();
    assert_eq!(audited, notes);
}

/// Audit rows and their bytes (actor and detail) so far.
fn audit_size(store: &Store) -> (usize, usize) {
    let rows = store.audit_log(None).unwrap();
    let bytes = rows
        .iter()
        .map(|r| r.actor.len() + r.detail.as_deref().map_or(0, str::len))
        .sum();
    (rows.len(), bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_floods_cannot_fill_the_disk() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let before = audit_size(&ui.store);
    let client = Reviewed::client();
    let huge = "n".repeat(2 << 20);
    for _ in 0..30 {
        // Refused with 413 — or, when the server answers before the client
        // has finished sending 2 MB, the connection closes under the send.
        let sent = client
            .post(format!("{}/login", ui.base))
            .form(&[("name", huge.as_str()), ("password", "nope")])
            .send()
            .await;
        if let Ok(response) = sent {
            assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        }
    }
    assert_eq!(
        audit_size(&ui.store),
        before,
        "refused bodies are not logged"
    );
    // Under the body limit: the name is cut before lookup and logging, and
    // once the limiter refuses, one row says so for the whole lock.
    let long = "m".repeat(40_000);
    for _ in 0..30 {
        client
            .post(format!("{}/login", ui.base))
            .form(&[("name", long.as_str()), ("password", "nope")])
            .send()
            .await
            .unwrap();
    }
    let after = audit_size(&ui.store);
    assert_eq!(after.0 - before.0, 6, "five failures and one refusal");
    assert!(
        after.1 - before.1 < 2_000,
        "{} bytes logged",
        after.1 - before.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_one_client_cannot_lock_out_the_others() {
    let ui = Reviewed::start_configured(SessionPolicy::default(), |config| {
        config.settings.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let client = Reviewed::client();
    let attempt = |from: &'static str, name: &'static str, password: &'static str| {
        client
            .post(format!("{}/login", ui.base))
            .header("x-forwarded-for", from)
            .form(&[("name", name), ("password", password)])
            .send()
    };
    // One client fails thirty times, against several names and ana's.
    for name in ["ana", "bo", "cy", "dee", "ed", "flo"]
        .iter()
        .cycle()
        .take(30)
    {
        attempt("198.51.100.7", name, "nope").await.unwrap();
    }
    let attacker = attempt("198.51.100.7", "ana", PASSWORD).await.unwrap();
    assert_eq!(attacker.status(), StatusCode::TOO_MANY_REQUESTS);
    // Ana, at her own desk behind the same proxy, signs in.
    let ana = attempt("192.0.2.44", "ana", PASSWORD).await.unwrap();
    assert_eq!(ana.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let address = ui.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer))
        .await
        .expect("the server still holds the connection after 30 s");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_accepting_and_returns_on_shutdown() {
    let (fixture, config, store) = util::judged_workspace(Catalog::generate(47, 4)).await;
    let state = Arc::new(AppState::new(config, store, None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve_until(state, listener, async {
        let _ = stopped.await;
    }));
    let login = reqwest::get(format!("http://{address}/login"))
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
    drop(fixture);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_are_exported_once_by_a_reviewer_and_races_are_reported() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let (rita, ana, vic) = (
        ui.sign_in("rita").await,
        ui.sign_in("ana").await,
        ui.sign_in("vic").await,
    );
    let (_, page) = ui.get("/", &rita).await;
    let rita_csrf = Reviewed::csrf(&page);
    let (_, page) = ui.get("/", &ana).await;
    let ana_csrf = Reviewed::csrf(&page);
    let id = ui.pending_ids()[0];
    let path = format!("/match/{id}/confirm");
    assert_eq!(
        ui.post(&path, &rita, &[("csrf", &rita_csrf)]).await,
        StatusCode::SEE_OTHER
    );
    // Ana was looking at the same match: she is told, and nothing changes.
    let late = Reviewed::client()
        .post(format!("{}/match/{id}/dismiss", ui.base))
        .header("cookie", &ana)
        .form(&[("csrf", ana_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert!(late.text().await.unwrap().contains("is confirmed now"));
    assert_eq!(ui.status_of(id), MatchStatus::Confirmed);

    let bundle = format!("/match/{id}/bundle");
    assert_eq!(
        ui.fetch(&bundle, &vic).await.status(),
        StatusCode::FORBIDDEN
    );
    let first = ui.fetch(&bundle, &rita).await.bytes().await.unwrap();
    let again = ui.fetch(&bundle, &vic).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.bytes().await.unwrap(),
        first,
        "served, not re-exported"
    );
    let exports = ui
        .store
        .audit_log(Some(MatchId(id)))
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "evidence exported" && row.actor == "rita")
        .count();
    assert_eq!(exports, 1);
}

/// The red team's case: a bundle exported (unreviewed) while the match
/// was pending, the match then confirmed in the UI. The UI must not serve
/// the frozen bundle that still says "pending".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_made_before_a_decision_is_never_served_as_current() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let rita = ui.sign_in("rita").await;
    let id = ui.pending_ids()[0];
    let early = util::knockoff(
        ui.workspace.path(),
        &["evidence", "export", "--unreviewed", &id.to_string()],
    );
    assert!(
        early.status.success(),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    let (_, page) = ui.get("/", &rita).await;
    let csrf = Reviewed::csrf(&page);
    assert_eq!(
        ui.post(&format!("/match/{id}/confirm"), &rita, &[("csrf", &csrf)])
            .await,
        StatusCode::SEE_OTHER
    );
    let served = ui
        .fetch(&format!("/match/{id}/bundle"), &rita)
        .await
        .bytes()
        .await
        .unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(served.to_vec())).unwrap();
    let mut manifest = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("manifest.json").unwrap(), &mut manifest)
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["match_status"], "confirmed");
    assert_eq!(manifest["unreviewed"], false);
    // The early one is kept; both exports are in the audit log.
    let kept = std::fs::read_dir(ui.workspace.path().join("evidence/superseded"))
        .unwrap()
        .count();
    assert_eq!(kept, 1);
    let exports = ui
        .store
        .audit_log(Some(MatchId(id)))
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "evidence exported")
        .count();
    assert_eq!(exports, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_match_page_explains_every_product_and_rule() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let vic = ui.sign_in("vic").await;
    let id = ui.pending_ids()[0];
    let (status, page) = ui.get(&format!("/match/{id}"), &vic).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Why (every product, every rule)"), "{page}");
    for rule in [
        "official photo",
        "price floor",
        "counterfeit vocabulary",
        "score",
    ] {
        assert!(page.contains(&format!("<strong>{rule}</strong>")), "{rule}");
    }
    assert!(page.contains("identity"));
}

/// The red team held an unauthenticated `POST /login` open past 90 s by
/// sending 5 of the 60,000 bytes it announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_body_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let address = ui.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nname=")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server still holds the connection after 30 s");
    assert!(read.is_ok(), "{read:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// "Search all listings" finds a crawled listing no match points at, and
/// a reviewer can open a match on it by hand (a reason required, audited);
/// a viewer cannot; the judge's next pass leaves it pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_every_listing_and_a_reviewer_opens_a_match_by_hand() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let (rita, csrf) = ui.session("rita").await;
    let vic = ui.sign_in("vic").await;
    let matched: Vec<String> = ui
        .store
        .query_strings("SELECT DISTINCT listing_id FROM matches")
        .unwrap();
    let listing = ui
        .store
        .listings(None)
        .unwrap()
        .into_iter()
        .find(|l| !matched.contains(&l.id.0.to_string()) && l.listing.title.is_some())
        .expect("a crawled listing without a match");
    let title = listing.listing.title.clone().unwrap();
    let query: String = url::form_urlencoded::byte_serialize(title.as_bytes()).collect();
    let (status, page) = ui.get(&format!("/?q={query}"), &rita).await;
    assert_eq!(status, StatusCode::OK);
    let link = format!("href=\"/listing/{}\"", listing.id.0);
    assert!(
        page.contains(&link),
        "the search does not find listing {}: {page}",
        listing.id.0
    );

    let path = format!("/listing/{}", listing.id.0);
    let (status, page) = ui.get(&path, &rita).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Open a match by hand") && page.contains("no match"),
        "{page}"
    );
    let (_, viewer_page) = ui.get(&path, &vic).await;
    assert!(!viewer_page.contains("Open a match by hand"));

    let product = ui.config.catalog.products[0].id.clone();
    let open = format!("{path}/open");
    let (_, vic_page) = ui.get("/", &vic).await;
    let vic_csrf = Reviewed::csrf(&vic_page);
    let refused = ui
        .post(
            &open,
            &vic,
            &[("csrf", &vic_csrf), ("product", &product), ("reason", "x")],
        )
        .await;
    assert_eq!(refused, StatusCode::FORBIDDEN, "a viewer opens nothing");
    let no_reason = ui
        .post(
            &open,
            &rita,
            &[("csrf", &csrf), ("product", &product), ("reason", "  ")],
        )
        .await;
    assert_eq!(no_reason, StatusCode::BAD_REQUEST);
    let opened = Reviewed::client()
        .post(format!("{}{open}", ui.base))
        .header("cookie", &rita)
        .form(&[
            ("csrf", csrf.as_str()),
            ("product", product.as_str()),
            ("reason", "seller known from another marketplace"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let location = opened.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location.trim_start_matches("/match/").parse().unwrap();
    let entry = ui.store.review_entry(MatchId(id)).unwrap().unwrap();
    assert_eq!(entry.entry.status, MatchStatus::Pending);
    assert_eq!(entry.listing_id, listing.id.0);
    assert_eq!(entry.escalated_by.as_deref(), Some("rita"));
    let audit = ui.store.audit_log(Some(MatchId(id))).unwrap();
    assert_eq!(audit[0].action, "opened by hand");
    assert_eq!(audit[0].actor, "rita");
    assert_eq!(
        audit[0].detail.as_deref(),
        Some("seller known from another marketplace")
    );
    let again = ui
        .post(
            &open,
            &rita,
            &[("csrf", &csrf), ("product", &product), ("reason", "again")],
        )
        .await;
    assert_eq!(again, StatusCode::CONFLICT);

    // Every listing judged again: no rule queues it, and it stays pending.
    let db = rusqlite::Connection::open(ui.workspace.path().join("knockoff.db")).unwrap();
    db.execute("DELETE FROM judged", []).unwrap();
    drop(db);
    let (code, out, err) = util::knockoff_outcome(ui.workspace.path(), &["index"]);
    assert!(
        out.contains(&format!(
            "judged {}",
            ui.store.listings(None).unwrap().len()
        )),
        "{out}"
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(ui.status_of(id), MatchStatus::Pending);
}
