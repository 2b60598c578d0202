//! The hostile-server suite: attacks a marketplace can mount, each against
//! the release-shaped `knockoff crawl` binary on loopback. After every one
//! the crawl finishes (exit 0), records the error by kind, keeps what it
//! could, and peaks under 300 MB of resident memory.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use knockoff::store::Store;

use crate::util::{self, Hits, Measured};

/// Peak resident memory any crawl here may reach.
const RSS_LIMIT_MB: f64 = 300.0;

/// Runs `knockoff crawl` in `workspace`, killed after `limit`.
fn crawl(workspace: &Path, limit: Duration) -> Measured {
    util::run_measured(workspace, &["crawl"], limit)
}

fn assert_finished(done: &Measured) {
    assert_eq!(done.code, 0, "the crawl failed:\n{}", done.stderr);
    eprintln!("crawl peaked at {:.0} MB", done.peak_rss_mb);
    assert!(
        done.peak_rss_mb < RSS_LIMIT_MB,
        "the crawl peaked at {:.0} MB",
        done.peak_rss_mb
    );
}

/// A workspace with one target on `base` whose search page is `/search`.
fn workspace(base: &url::Url, extra_settings: &str) -> tempfile::TempDir {
    let target = format!(
        "name = \"hostile\"\nbase_url = \"{base}\"\n[rate]\nrequests_per_second = 20.0\nconcurrency = 1\n\
         [search]\nurl = \"/search?q={{query}}&page={{page}}\"\nmax_pages = 1\n\
         [results]\nitem = \"a.l\"\nlink = \"a@href\"\n\
         [item]\ntitle = \"h1.t\"\nprice = \"span.p\"\nimages = \"img.i@src\"\n"
    );
    let dir = util::workspace_with_target(&target);
    let mut settings = std::fs::File::create(dir.path().join("knockoff.toml")).unwrap();
    write!(settings, "[crawl]\nmax_attempts = 2\n{extra_settings}").unwrap();
    dir
}

fn links(paths: &[&str]) -> String {
    paths
        .iter()
        .map(|p| format!("<a class=l href=\"{p}\">{p}</a>"))
        .collect()
}

fn listing_page(title: &str) -> String {
    format!("<h1 class=t>{title}</h1><span class=p>$12.00</span>")
}

fn store(dir: &Path) -> Store {
    Store::open(&dir.join("knockoff.db")).unwrap()
}

fn titles(store: &Store) -> Vec<String> {
    let mut titles: Vec<String> = store
        .listings(None)
        .unwrap()
        .into_iter()
        .filter_map(|l| l.listing.title)
        .collect();
    titles.sort();
    titles
}

/// (kind, url) of every error of the newest run.
fn errors(store: &Store) -> Vec<(String, String)> {
    let run = store.query_strings("SELECT MAX(id) FROM runs").unwrap()[0]
        .parse()
        .unwrap();
    store
        .run_errors(knockoff::store::RunId(run))
        .unwrap()
        .into_iter()
        .map(|(kind, url, _)| (kind.to_string(), url))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_delay_of_1e30_is_capped_and_the_crawl_finishes() {
    let hits = Hits::default();
    let router = {
        let hits = hits.clone();
        Router::new().fallback(move |uri: axum::http::Uri| {
            let hits = hits.clone();
            async move {
                hits.record(uri.path());
                match uri.path() {
                    "/robots.txt" => "User-agent: *\nCrawl-delay: 1e30\n".into_response(),
                    "/search" => axum::response::Html(links(&["/a"])).into_response(),
                    "/a" => axum::response::Html(listing_page("Kept")).into_response(),
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }
        })
    };
    let base = util::serve(router, "127.0.0.1").await;
    let dir = workspace(&base, "max_crawl_delay_secs = 0.5\n");
    let done = tokio::task::spawn_blocking({
        let path = dir.path().to_path_buf();
        move || crawl(&path, Duration::from_secs(60))
    })
    .await
    .unwrap();
    assert_finished(&done);
    assert_eq!(titles(&store(dir.path())), ["Kept"]);
    // The capped delay still spaces every request.
    let times: Vec<Instant> = hits.all().iter().map(|(t, _)| *t).collect();
    assert!(times.len() >= 3, "{:?}", hits.paths());
    for pair in times.windows(2).skip(1) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(480));
    }
}

/// A host that answers 429 with `retry_after` while it is angry.
fn throttling_site(retry_after: &'static str, angry: Arc<AtomicBool>) -> Router {
    Router::new().fallback(move |uri: axum::http::Uri| {
        let angry = angry.clone();
        async move {
            match uri.path() {
                "/search" => axum::response::Html(links(&["/a", "/b"])).into_response(),
                "/robots.txt" => StatusCode::NOT_FOUND.into_response(),
                _ if angry.load(Ordering::SeqCst) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, retry_after)],
                )
                    .into_response(),
                "/a" => axum::response::Html(listing_page("A")).into_response(),
                "/b" => axum::response::Html(listing_page("B")).into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    })
}

/// Retry-After over max_wait: the run finishes at once, the host's items
/// wait for the next run, and the next run does them.
async fn long_retry_after_defers_the_host(retry_after: &'static str) {
    let angry = Arc::new(AtomicBool::new(true));
    let base = util::serve(throttling_site(retry_after, angry.clone()), "127.0.0.1").await;
    let dir = workspace(&base, "max_wait_secs = 5\n");
    let path = dir.path().to_path_buf();
    let first = tokio::task::spawn_blocking({
        let path = path.clone();
        move || crawl(&path, Duration::from_secs(60))
    })
    .await
    .unwrap();
    assert_finished(&first);
    assert!(
        first.seconds < 30.0,
        "the run waited {:.0} s",
        first.seconds
    );
    assert!(
        first.stdout.contains("retry_after_too_long 1"),
        "{}",
        first.stdout
    );
    let kinds: Vec<String> = errors(&store(&path)).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["retry_after_too_long", "deferred"]);
    assert!(titles(&store(&path)).is_empty());

    angry.store(false, Ordering::SeqCst);
    let second = tokio::task::spawn_blocking(move || crawl(&path, Duration::from_secs(60)))
        .await
        .unwrap();
    assert_finished(&second);
    assert_eq!(titles(&store(dir.path())), ["A", "B"]);
    assert!(errors(&store(dir.path())).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_of_u64_max_defers_the_host_instead_of_panicking() {
    long_retry_after_defers_the_host("18446744073709551615").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_of_a_day_defers_the_host_instead_of_holding_the_run() {
    long_retry_after_defers_the_host("100000").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_behind_redirects_is_followed_and_obeyed() {
    let hits = Hits::default();
    let router = {
        let hits = hits.clone();
        Router::new().fallback(move |uri: axum::http::Uri| {
            let hits = hits.clone();
            async move {
                hits.record(uri.path());
                let moved = |to: &'static str| {
                    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
                };
                match uri.path() {
                    "/robots.txt" => moved("/r1"),
                    "/r1" => moved("/r2"),
                    "/r2" => "User-agent: *\nDisallow: /secret\n".into_response(),
                    "/search" => axum::response::Html(links(&["/secret/x", "/ok"])).into_response(),
                    "/ok" => axum::response::Html(listing_page("Ok")).into_response(),
                    _ => axum::response::Html(listing_page("Secret")).into_response(),
                }
            }
        })
    };
    let base = util::serve(router, "127.0.0.1").await;
    let dir = workspace(&base, "");
    let path = dir.path().to_path_buf();
    let done = tokio::task::spawn_blocking(move || crawl(&path, Duration::from_secs(60)))
        .await
        .unwrap();
    assert_finished(&done);
    assert_eq!(titles(&store(dir.path())), ["Ok"]);
    assert!(!hits.paths().iter().any(|p| p.starts_with("/secret")));
    assert!(errors(&store(dir.path()))
        .iter()
        .any(|(k, u)| k == "robots_denied" && u.ends_with("/secret/x")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_ports_on_the_targets_own_address_are_refused() {
    let victim_hits = Hits::default();
    let victim = {
        let hits = victim_hits.clone();
        util::serve(
            Router::new().fallback(move |uri: axum::http::Uri| {
                let hits = hits.clone();
                async move {
                    hits.record(uri.path());
                    axum::response::Html(listing_page("Internal admin"))
                }
            }),
            "127.0.0.1",
        )
        .await
    };
    let port = victim.port().unwrap();
    let page = format!(
        "{}<img class=i src=\"http://127.0.0.1:{port}/a.png\"><img class=i src=\"http://localhost:{port}/b.png\">\
         <img class=i src=\"http://2130706433:{port}/c.png\"><img class=i src=\"https://127.0.0.1:{port}/d.png\">",
        listing_page("Lure")
    );
    let router = Router::new().fallback(move |uri: axum::http::Uri| {
        let page = page.clone();
        async move {
            match uri.path() {
                "/search" => axum::response::Html(links(&["/lure", "/jump"])).into_response(),
                "/lure" => axum::response::Html(page).into_response(),
                "/jump" => (
                    StatusCode::FOUND,
                    [(header::LOCATION, format!("http://127.0.0.1:{port}/admin"))],
                )
                    .into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let base = util::serve(router, "127.0.0.1").await;
    let dir = workspace(&base, "");
    let path = dir.path().to_path_buf();
    let done = tokio::task::spawn_blocking(move || crawl(&path, Duration::from_secs(60)))
        .await
        .unwrap();
    assert_finished(&done);
    assert!(
        victim_hits.paths().is_empty(),
        "reached another port: {:?}",
        victim_hits.paths()
    );
    assert_eq!(titles(&store(dir.path())), ["Lure"]);
    // The photos on other ports are dropped from the listing (never
    // fetched, stored or linked to); the redirect there is refused.
    let stored = store(dir.path()).listings(None).unwrap();
    assert!(stored[0].listing.images.is_empty(), "{stored:?}");
    let blocked: Vec<String> = errors(&store(dir.path()))
        .into_iter()
        .filter(|(k, _)| k == "blocked_address")
        .map(|(_, url)| url)
        .collect();
    assert_eq!(blocked, [format!("{base}jump")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_thousand_nested_divs_cost_a_page_not_the_night() {
    let deep = format!(
        "<html><head><meta property=\"og:title\" content=\"Deep\"></head><body>{}</body></html>",
        "<div>".repeat(200_000)
    );
    let router = Router::new().fallback(move |uri: axum::http::Uri| {
        let deep = deep.clone();
        async move {
            match uri.path() {
                "/search" => axum::response::Html(links(&["/deep", "/after"])).into_response(),
                "/deep" => axum::response::Html(deep).into_response(),
                "/after" => axum::response::Html(listing_page("After")).into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let base = util::serve(router, "127.0.0.1").await;
    let dir = workspace(&base, "");
    let path = dir.path().to_path_buf();
    let done = tokio::task::spawn_blocking(move || crawl(&path, Duration::from_secs(90)))
        .await
        .unwrap();
    assert_finished(&done);
    assert_eq!(titles(&store(dir.path())), ["After", "Deep"]);
}

/// A complete, valid PNG of 6300×6300 RGBA at 16 bits, all zero: 317 MB of
/// pixels in about 300 KB.
fn huge_png() -> Vec<u8> {
    const SIDE: u32 = 6300;
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    };
    let mut pixels = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Each row: filter type 0, then 8 bytes a pixel.
    let row = vec![0u8; 1 + SIDE as usize * 8];
    for _ in 0..SIDE {
        pixels.write_all(&row).unwrap();
    }
    let pixels = pixels.finish().unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(SIDE.to_be_bytes());
    ihdr.extend(SIDE.to_be_bytes());
    ihdr.extend([16, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &pixels);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_huge_sixteen_bit_pngs_stay_under_the_memory_limit() {
    let png = Arc::new(huge_png());
    let page = format!(
        "{}{}",
        listing_page("Heavy"),
        (0..12)
            .map(|i| format!("<img class=i src=\"/img/{i}.png\">"))
            .collect::<String>()
    );
    let router = Router::new().fallback(move |uri: axum::http::Uri| {
        let page = page.clone();
        let png = png.clone();
        async move {
            match uri.path() {
                "/search" => axum::response::Html(links(&["/heavy"])).into_response(),
                "/heavy" => axum::response::Html(page).into_response(),
                p if p.starts_with("/img/") => {
                    ([(header::CONTENT_TYPE, "image/png")], png.to_vec()).into_response()
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let base = util::serve(router, "127.0.0.1").await;
    let dir = workspace(&base, "max_images_per_listing = 12\n");
    let path = dir.path().to_path_buf();
    let done = tokio::task::spawn_blocking(move || crawl(&path, Duration::from_secs(120)))
        .await
        .unwrap();
    assert_finished(&done);
    let store = store(dir.path());
    assert_eq!(titles(&store), ["Heavy"]);
    let stored = store
        .query_strings("SELECT COUNT(*) FROM images WHERE width = 6300 AND error IS NULL")
        .unwrap();
    assert_eq!(stored, ["12"]);
}
