//! A hostile page rendered by Chromium: whatever the page asks the browser
//! to open — a service worker, speculation rules, a WebSocket, a worker,
//! an iframe, a form, WebRTC, beacons, preconnects — nothing reaches an
//! address the crawler's guard refuses. A second listener on loopback
//! (another port, which no target names) counts every connection it gets:
//! there must be none.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use knockoff::crawl::CrawlOptions;

use crate::util;

/// A TCP and a UDP socket on one loopback port that count what reaches them.
struct Refused {
    port: u16,
    tcp: Arc<AtomicUsize>,
    udp: Arc<AtomicUsize>,
}

impl Refused {
    fn start() -> Refused {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let udp_socket = std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap();
        let (tcp, udp) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counter = tcp.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        let counter = udp.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 2048];
            while udp_socket.recv_from(&mut buffer).is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Refused { port, tcp, udp }
    }
}

/// The listing page: it renders its listing, then tries every way out.
fn hostile_page(refused: u16) -> String {
    let away = format!("http://127.0.0.1:{refused}");
    format!(
        r#"<!DOCTYPE html><html><head><title>Orvane Thing</title>
<link rel="preconnect" href="{away}/">
<link rel="dns-prefetch" href="{away}/">
<link rel="prefetch" href="{away}/prefetch">
<link rel="stylesheet" href="{away}/style.css">
<script type="speculationrules">
{{"prefetch": [{{"source": "list", "urls": ["{away}/speculated-prefetch"]}}],
  "prerender": [{{"source": "list", "urls": ["{away}/speculated-prerender", "/prerendered"]}}]}}
</script>
</head><body>
<h1 class="t">Loading…</h1><span class="p"></span>
<iframe src="{away}/frame"></iframe>
<iframe srcdoc="<form action='{away}/form' method='post'><input name=a value=b></form><script>document.forms[0].submit()</script>"></iframe>
<img src="{away}/pixel.gif">
<script src="/app.js"></script>
</body></html>"#
    )
}

fn app_js(refused: u16) -> String {
    let away = format!("127.0.0.1:{refused}");
    format!(
        r#"
document.querySelector('h1.t').textContent = 'Orvane Thing rendered';
document.querySelector('span.p').textContent = '$12.00';
const away = '{away}';
const attempt = (what, f) => {{ try {{ f(); }} catch (e) {{}} }};
attempt('sw', () => navigator.serviceWorker.register('/sw.js').catch(() => {{}}));
attempt('ws', () => new WebSocket('ws://' + away + '/ws'));
attempt('es', () => new EventSource('http://' + away + '/events'));
attempt('worker', () => new Worker('/worker.js'));
attempt('shared', () => new SharedWorker('/worker.js'));
attempt('beacon', () => navigator.sendBeacon('http://' + away + '/beacon', 'x'));
attempt('fetch', () => fetch('http://' + away + '/fetch', {{mode: 'no-cors'}}).catch(() => {{}}));
attempt('post', () => fetch('http://' + away + '/post', {{method: 'POST', body: 'x', mode: 'no-cors'}}).catch(() => {{}}));
attempt('rtc', () => {{
  const pc = new RTCPeerConnection({{iceServers: [
    {{urls: 'stun:' + away}},
    {{urls: 'turn:' + away + '?transport=tcp', username: 'u', credential: 'p'}}]}});
  pc.createDataChannel('x');
  pc.createOffer().then(o => pc.setLocalDescription(o)).catch(() => {{}});
}});
attempt('window', () => window.open('http://' + away + '/popup'));
"#
    )
}

fn worker_js(refused: u16) -> String {
    let away = format!("http://127.0.0.1:{refused}");
    format!(
        r#"
self.addEventListener('install', () => self.skipWaiting());
fetch('{away}/from-worker').catch(() => {{}});
fetch('{away}/from-worker-post', {{method: 'POST', body: 'x'}}).catch(() => {{}});
try {{ new WebSocket('ws://127.0.0.1:{refused}/worker-ws'); }} catch (e) {{}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rendered_page_reaches_nothing_the_crawler_refuses() {
    if !util::have_chromium() {
        return;
    }
    let refused = Refused::start();
    let port = refused.port;
    // (path, User-Agent) of every request the target's server saw.
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let router = {
        let seen = seen.clone();
        Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
                let seen = seen.clone();
                async move {
                    let agent = headers
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    seen.lock().unwrap().push((uri.path().to_string(), agent));
                    let js = |body: String| {
                        ([(header::CONTENT_TYPE, "text/javascript")], body).into_response()
                    };
                    match uri.path() {
                        "/robots.txt" => "User-agent: *\nAllow: /\n".into_response(),
                        "/search" => axum::response::Html(
                            "<a class=l href=\"/listing/1\">one</a>".to_string(),
                        )
                        .into_response(),
                        "/listing/1" => axum::response::Html(hostile_page(port)).into_response(),
                        "/prerendered" => axum::response::Html(hostile_page(port)).into_response(),
                        "/app.js" => js(app_js(port)),
                        "/sw.js" | "/worker.js" => js(worker_js(port)),
                        _ => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            },
        )
    };
    let base = util::serve(router, "127.0.0.1").await;
    let target = format!(
        "name = \"hostile\"\nbase_url = \"{base}\"\nrender = \"chromium\"\n\
         [rate]\nrequests_per_second = 50.0\nconcurrency = 2\n\
         [search]\nurl = \"/search?q={{query}}&page={{page}}\"\nmax_pages = 1\n\
         [results]\nitem = \"a.l\"\nlink = \"a@href\"\n\
         [item]\ntitle = \"h1.t\"\nprice = \"span.p\"\n"
    );
    let dir = util::workspace_with_target(&target);
    let started = Instant::now();
    let (store, summary) = util::crawl_workspace(dir.path(), CrawlOptions::default()).await;
    // Let anything the browser left behind try its luck.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The page still rendered: the crawler served what it may.
    let listings = store.listings(None).unwrap();
    assert_eq!(listings.len(), 1, "{summary:?}");
    assert_eq!(
        listings[0].listing.title.as_deref(),
        Some("Orvane Thing rendered")
    );
    // Nothing reached the refused port, by TCP or UDP.
    assert_eq!(
        refused.tcp.load(Ordering::SeqCst),
        0,
        "connections to the refused port"
    );
    assert_eq!(
        refused.udp.load(Ordering::SeqCst),
        0,
        "datagrams to the refused port"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().any(|(path, _)| path == "/app.js"), "{seen:?}");
    // Even on the target's own origin, every request was the crawler's
    // (robots.txt, the rate): the browser fetched nothing itself, not the
    // service worker's script, not a prerendered page.
    let agent = "knockoff/0.1";
    assert!(
        seen.iter().all(|(_, ua)| ua.starts_with(agent)),
        "requests not sent by the crawler: {seen:?}"
    );

    // The rendered page's own requests for the refused port were refused by
    // the guard, never sent.
    let sent = store
        .query_strings(&format!(
            "SELECT COUNT(*) FROM fetches WHERE url LIKE 'http://127.0.0.1:{port}/%'"
        ))
        .unwrap();
    assert_eq!(sent, ["0"]);
    eprintln!("rendered the hostile page in {:?}", started.elapsed());
}

/// A rendering target on `router`'s server: its search page links to
/// `/listing/N` pages.
fn rendered_target(name: &str, base: &url::Url) -> String {
    format!(
        "name = \"{name}\"\nbase_url = \"{base}\"\nrender = \"chromium\"\n\
         [rate]\nrequests_per_second = 100.0\nconcurrency = 4\n\
         [search]\nurl = \"/search?q={{query}}&page={{page}}\"\nmax_pages = 1\n\
         [results]\nitem = \"a.l\"\nlink = \"a@href\"\n\
         [item]\ntitle = \"h1.t\"\nprice = \"span.p\"\n"
    )
}

/// A server whose search page links to `listings` pages, each `page(n)`,
/// recording when each request arrived.
async fn rendered_site(
    listings: usize,
    page: impl Fn(usize) -> String + Clone + Send + Sync + 'static,
    extra: impl Fn(&str) -> Option<axum::response::Response> + Clone + Send + Sync + 'static,
) -> (url::Url, util::Hits) {
    let hits = util::Hits::default();
    let router = {
        let hits = hits.clone();
        Router::new().fallback(move |uri: axum::http::Uri| {
            let (hits, page, extra) = (hits.clone(), page.clone(), extra.clone());
            async move {
                hits.record(uri.path());
                let path = uri.path();
                if path == "/robots.txt" {
                    return "User-agent: *\nAllow: /\n".into_response();
                }
                if path == "/search" {
                    let links: String = (1..=listings)
                        .map(|n| format!("<a class=l href=\"/listing/{n}\">{n}</a>"))
                        .collect();
                    return axum::response::Html(links).into_response();
                }
                if let Some(n) = path.strip_prefix("/listing/").and_then(|n| n.parse().ok()) {
                    return axum::response::Html(page(n)).into_response();
                }
                extra(path).unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
            }
        })
    };
    (util::serve(router, "127.0.0.1").await, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_script_never_ends_holds_one_browser_for_its_deadline_and_no_other_target() {
    if !util::have_chromium() {
        return;
    }
    let (slow, _) = rendered_site(
        1,
        |_| "<h1 class=t>never</h1><script>while (true) {}</script>".to_string(),
        |_| None,
    )
    .await;
    let fast_page = |n| format!("<h1 class=t>Orvane Thing {n}</h1><span class=p>$1{n}.00</span>");
    let (fast, fast_hits) = rendered_site(4, fast_page, |_| None).await;
    let dir = util::workspace_with_target(&rendered_target("slow", &slow));
    std::fs::write(
        dir.path().join("targets/fast.toml"),
        rendered_target("fast", &fast),
    )
    .unwrap();
    let started = Instant::now();
    let (store, summary) = util::crawl_workspace(dir.path(), CrawlOptions::default()).await;
    let took = started.elapsed();

    // The fast target's pages were all read, and none waited for the
    // slow target's browser: all their requests came well before its
    // page's deadline.
    assert_eq!(
        store.listings(Some("fast")).unwrap().len(),
        4,
        "{summary:?}"
    );
    let last_fast = fast_hits.all().last().unwrap().0 - started;
    assert!(
        last_fast < Duration::from_secs(25),
        "fast done at {last_fast:?}"
    );
    // The slow page failed as a rendering at its deadline, not later.
    assert_eq!(
        summary.errors.get(&knockoff::store::FailureKind::Render),
        Some(&1),
        "{summary:?}"
    );
    assert!(took < Duration::from_secs(50), "the crawl took {took:?}");
    assert!(store.listings(Some("slow")).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rendered_page_gets_a_bounded_number_of_requests_and_bytes() {
    if !util::have_chromium() {
        return;
    }
    // 300 scripts of 1 MiB each: far over any page's budget.
    let page = |_| {
        let scripts: String = (0..300)
            .map(|i| format!("<script src=\"/big/{i}.js\"></script>"))
            .collect();
        format!("<h1 class=t>Orvane Thing</h1><span class=p>$12.00</span>{scripts}")
    };
    let big = |path: &str| {
        path.starts_with("/big/").then(|| {
            let body = format!("/*{}*/", "x".repeat(1 << 20));
            ([(header::CONTENT_TYPE, "text/javascript")], body).into_response()
        })
    };
    let (base, hits) = rendered_site(1, page, big).await;
    let dir = util::workspace_with_target(&rendered_target("heavy", &base));
    let (store, summary) = util::crawl_workspace(dir.path(), CrawlOptions::default()).await;
    assert_eq!(store.listings(None).unwrap().len(), 1, "{summary:?}");
    let scripts = hits
        .paths()
        .iter()
        .filter(|p| p.starts_with("/big/"))
        .count();
    // 64 requests, or 10 MiB (twice the default page limit) of bodies,
    // whichever comes first; both searches' and listing's pages are renders.
    assert!(scripts <= 2 * 64, "{scripts} scripts fetched");
    let stored: Vec<String> = store
        .query_strings("SELECT COALESCE(SUM(body_bytes), 0) FROM fetches WHERE url LIKE '%/big/%'")
        .unwrap();
    let bytes: u64 = stored[0].parse().unwrap();
    assert!(
        bytes <= 2 * (10 << 20) + (2 << 20),
        "{bytes} bytes of scripts kept"
    );
}
