//! `render = "chromium"`: a demo page that builds its listing in
//! JavaScript, rendered by headless Chromium whose every request goes
//! through the crawler (counted by the demo marketplace's own log).

use knockoff::crawl::CrawlOptions;
use knockoff::demo::catalog::{Catalog, Site};
use knockoff::demo::site::{self, Host};
use knockoff::store::Store;

use crate::util::{self, DemoFixture, FAST};

/// The bazaar target reading the pages built in the browser.
fn render_target(fixture: &DemoFixture) {
    util::edit_toml(&fixture.path().join("targets/bazaar.toml"), |doc| {
        util::rewrite(doc, "search.url", |url| format!("{url}&app=1"));
        util::set(doc, "render", "chromium");
        // The page built in the browser has the markup; the script selectors stay as fallbacks.
        for (field, css) in [
            ("title", "h1.title"),
            ("price", "span.price"),
            ("currency", "span.price@data-currency"),
            ("seller", "a.seller"),
            ("description", "#description"),
            ("images", "div.gallery img@data-src"),
        ] {
            util::rewrite(doc, &format!("item.{field}"), |old| {
                format!("{css} || {old}")
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_built_in_javascript_are_rendered_and_every_request_goes_through_the_crawler() {
    if !util::have_chromium() {
        return;
    }
    let catalog = Catalog::generate(23, 24);
    let fixture = DemoFixture::start(catalog.clone(), false, FAST).await;
    render_target(&fixture);
    let options = CrawlOptions {
        targets: vec!["bazaar".into()],
        max_pages: Some(1),
        ..CrawlOptions::default()
    };
    let (store, summary) = util::crawl_workspace(fixture.path(), options).await;
    fixture.assert_polite();

    // Every listing read from its rendered page, exactly.
    let listings = store.listings(Some("bazaar")).unwrap();
    assert!(listings.len() >= 3, "{summary:?}");
    for got in &listings {
        let id: u32 = got.url.rsplit('/').next().unwrap().parse().expect(&got.url);
        let listing = catalog.listing(id).unwrap();
        assert_eq!(listing.site, Site::Bazaar);
        assert_eq!(got.listing.title.as_deref(), Some(listing.title.as_str()));
        assert_eq!(got.listing.price, Some(listing.price));
        assert_eq!(
            got.listing.currency.as_deref(),
            Some(listing.currency.as_str())
        );
        assert_eq!(got.listing.seller.as_deref(), Some(listing.seller.as_str()));
        assert_eq!(
            got.listing.images,
            site::photo_urls(&fixture.market.cdn, listing)
        );
    }

    // What the server saw: per page its document, script and data, all
    // through the crawler (its User-Agent, after robots.txt); never the
    // font or the tracking pixel.
    let requests = fixture.market.log.requests();
    let bazaar: Vec<_> = requests.iter().filter(|r| r.host == Host::Bazaar).collect();
    let count = |prefix: &str| bazaar.iter().filter(|r| r.path.starts_with(prefix)).count();
    assert_eq!(count("/app/listing/"), listings.len());
    assert_eq!(count("/api/listing/"), listings.len());
    assert!(count("/static/listing.js") >= 1);
    assert_eq!(count("/static/brand.woff2") + count("/pixel.gif"), 0);
    assert_eq!(count("/robots.txt"), 1);
    let agent = "knockoff/0.1 (+https://orvane.example/bot)";
    assert!(bazaar.iter().all(|r| r.user_agent == agent), "{bazaar:?}");

    // Every page (search and listing) rendered; the rendered DOM is kept
    // beside the raw page, which stays the capture.
    let rendered = store
        .query_strings("SELECT COUNT(*) FROM fetches WHERE method = 'RENDER'")
        .unwrap();
    assert_eq!(rendered, [summary.pages.to_string()]);
    let capture = store.page_capture(listings[0].id.0).unwrap().unwrap();
    assert_eq!(capture.method, "GET");
    assert!(String::from_utf8_lossy(&capture.body).contains("Loading…"));
}

#[test]
fn without_chromium_the_crawl_says_which_target_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::generate(23, 4);
    knockoff::demo::write_workspace(dir.path(), &catalog).unwrap();
    util::edit_toml(&dir.path().join("targets/bazaar.toml"), |doc| {
        util::set(doc, "render", "chromium");
    });
    util::edit_toml(&dir.path().join("knockoff.toml"), |doc| {
        util::set(doc, "evidence.chromium", "/nonexistent/chromium");
    });
    let (code, _, stderr) = util::knockoff_outcome(dir.path(), &["crawl"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("target `bazaar`") && stderr.contains("/nonexistent/chromium"),
        "{stderr}"
    );
    let _ = Store::open(&dir.path().join("knockoff.db"));
}
