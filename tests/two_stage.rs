//! The two-stage crawl on the demo marketplace: search cards stored and
//! judged first, item pages fetched only for the cards the judge picks out.

use std::collections::BTreeSet;

use knockoff::crawl::CrawlOptions;
use knockoff::demo::catalog::{Catalog, Site};
use knockoff::demo::site::Host;
use knockoff::demo::SiteOptions;
use knockoff::store::{Stage, Store};

use crate::util::{self, DemoFixture, Rates};

/// Fast enough for a test, and still a ceiling the server's log checks.
const RATES: Rates = Rates {
    shopfront: 40.0,
    bazaar: 40.0,
    default: 80.0,
};

/// What crawling and judging the shopfront found: the infringing demo
/// listings queued, requests to the marketplace (pages) and to its image
/// CDN, and listings judged.
struct Outcome {
    caught: BTreeSet<u32>,
    page_requests: usize,
    cdn_requests: usize,
    judged: usize,
}

/// Crawls and judges the shopfront of a marketplace serving `catalog` (48
/// cards per search page, no faults), one-stage when `cards` is false (the
/// target names no card fields: every item page and photo is fetched).
async fn crawl_shopfront(catalog: &Catalog, cards: bool) -> (DemoFixture, Outcome) {
    let options = SiteOptions {
        faults: false,
        page_size: 48,
        ..Default::default()
    };
    let fixture = DemoFixture::start_with(catalog.clone(), options, RATES).await;
    if !cards {
        util::edit_toml(&fixture.path().join("targets/shopfront.toml"), |doc| {
            util::remove(doc, "results.title");
        });
    }
    let options = CrawlOptions {
        targets: vec!["shopfront".into()],
        ..Default::default()
    };
    let (store, _) = util::crawl_workspace(fixture.path(), options).await;
    let config = knockoff::config::load(fixture.path()).unwrap();
    let for_judge = store.clone();
    let report =
        tokio::task::spawn_blocking(move || knockoff::judge::judge_workspace(&config, &for_judge))
            .await
            .unwrap()
            .unwrap();
    fixture.assert_polite();
    let requests = fixture.market.log.requests();
    let count = |host: Host| requests.iter().filter(|r| r.host == host).count();
    let outcome = Outcome {
        caught: caught(&store, catalog),
        page_requests: count(Host::Shopfront),
        cdn_requests: count(Host::Cdn),
        judged: report.listings,
    };
    (fixture, outcome)
}

/// The infringing demo listings with a pending match.
fn caught(store: &Store, catalog: &Catalog) -> BTreeSet<u32> {
    store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap()
        .iter()
        .filter_map(|e| e.listing_url.rsplit('/').next()?.parse::<u32>().ok())
        .filter(|id| catalog.listing(*id).is_some_and(|l| l.kind.is_infringing()))
        .collect()
}

/// Listings judged per request to the marketplace's pages, and per request
/// of any host (its image CDN too), one-stage and two-stage, as a line.
fn gains(crowd: usize, before: &Outcome, after: &Outcome) -> (f64, String) {
    let per_page = |o: &Outcome| o.judged as f64 / o.page_requests as f64;
    let per_request = |o: &Outcome| o.judged as f64 / (o.page_requests + o.cdn_requests) as f64;
    let gain = per_page(after) / per_page(before);
    let line = format!(
        "crowd {crowd}/product: listings judged per marketplace request one-stage {:.2} ({} \
         listings, {} requests), two-stage {:.2} ({} listings, {} requests) = {gain:.1}x; per \
         request of any host (photos too) {:.2} ({}) vs {:.2} ({}) = {:.1}x",
        per_page(before),
        before.judged,
        before.page_requests,
        per_page(after),
        after.judged,
        after.page_requests,
        per_request(before),
        before.page_requests + before.cdn_requests,
        per_request(after),
        after.page_requests + after.cdn_requests,
        per_request(after) / per_request(before),
    );
    (gain, line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_judge_ten_times_the_listings_per_marketplace_request_and_catch_the_same_counterfeits(
) {
    // On the demo alone, half of whose listings are counterfeits, the
    // cards save little; a real results page shows mostly other products:
    // here 40 of other brands per product beside the demo's 60 listings.
    for crowd in [0, 40] {
        let catalog = Catalog::generate(21, 60).with_crowd(crowd);
        let (_one, before) = crawl_shopfront(&catalog, false).await;
        let (two, after) = crawl_shopfront(&catalog, true).await;

        let infringing = catalog
            .listings
            .iter()
            .filter(|l| l.site == Site::Shopfront && l.kind.is_infringing())
            .count();
        assert!(
            before.caught.len() * 10 >= infringing * 9,
            "{:?}",
            before.caught
        );
        assert_eq!(
            after.caught, before.caught,
            "the same counterfeits are caught"
        );
        assert!(
            after.judged >= before.judged,
            "{} vs {}",
            after.judged,
            before.judged
        );
        let (gain, line) = gains(crowd, &before, &after);
        eprintln!("{line}");
        if crowd == 0 {
            continue;
        }
        assert!(gain >= 10.0, "{line}");

        // Item pages were fetched for candidates: for hardly any of the crowd.
        let config = knockoff::config::load(two.path()).unwrap();
        let store = Store::open(&config.db_path()).unwrap();
        let listings = store.listings(Some("shopfront")).unwrap();
        let from_pages: Vec<u32> = listings
            .iter()
            .filter(|l| l.stage == Stage::Item)
            .filter_map(|l| l.url.rsplit('/').next()?.parse().ok())
            .collect();
        let crowd_pages = from_pages.iter().filter(|id| **id >= 1060).count();
        assert!(
            crowd_pages * 50 <= crowd * 10,
            "{crowd_pages} of {from_pages:?}"
        );
        assert!(from_pages.len() * 10 <= listings.len(), "{from_pages:?}");
    }
}

/// The workspace's pending matches, as `queue list --format json` prints them.
fn pending_json(workspace: &std::path::Path) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) = util::knockoff_outcome(
        workspace,
        &["queue", "list", "--status", "pending", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_match_seen_only_on_its_card_is_queued_explained_and_bundled_with_the_search_page() {
    let catalog = Catalog::generate(21, 60);
    let fixture = DemoFixture::start(catalog.clone(), false, RATES).await;
    // The shopfront's counterfeits are gone by the time their item pages
    // are asked for (404): what their cards showed is all there is.
    for listing in &catalog.listings {
        if listing.site == Site::Shopfront && listing.kind.is_infringing() {
            fixture.market.take_down(listing.id);
        }
    }
    let workspace = fixture.path().to_path_buf();
    let (code, stdout, stderr) = tokio::task::spawn_blocking({
        let workspace = workspace.clone();
        move || util::knockoff_outcome(&workspace, &["crawl", "--target", "shopfront"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("http_4xx"), "{stdout}");

    let pending = pending_json(&workspace);
    let card_only: Vec<&serde_json::Value> =
        pending.iter().filter(|e| e["stage"] == "card").collect();
    assert!(card_only.len() >= 3, "{pending:#?}");
    assert!(pending
        .iter()
        .all(|e| e["stage"] == "card" || e["stage"] == "item"));
    let entry = card_only[0];
    let (id, url) = (
        entry["id"].to_string(),
        entry["listing_url"].as_str().unwrap(),
    );

    let (code, text, stderr) = util::knockoff_outcome(&workspace, &["explain", url]);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains("search results card only"), "{text}");
    let (_, table, _) = util::knockoff_outcome(&workspace, &["queue", "list"]);
    assert!(
        table.contains("judged from its search card only"),
        "{table}"
    );

    // Confirmed, its bundle carries the search page it was read from, and verifies.
    let (code, _, err) = util::knockoff_outcome(&workspace, &["queue", "confirm", &id]);
    assert_eq!(code, 0, "{err}");
    let out = util::knockoff(&workspace, &["evidence", "export", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    knockoff::evidence::verify(&bundle, None).unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&bundle).unwrap()).unwrap();
    let mut page = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("page.html").unwrap(), &mut page).unwrap();
    let path = url::Url::parse(url).unwrap().path().to_string();
    assert!(page.contains("Search:") && page.contains(&path), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_crawl_skips_the_item_pages_and_thumbnails_of_unchanged_cards() {
    let catalog = Catalog::generate(22, 60);
    let fixture = DemoFixture::start(catalog, false, RATES).await;
    let options = || CrawlOptions {
        targets: vec!["shopfront".into()],
        ..Default::default()
    };
    let (store, first) = util::crawl_workspace(fixture.path(), options()).await;
    let before = fixture.market.log.requests().len();
    let item_pages = store
        .listings(Some("shopfront"))
        .unwrap()
        .iter()
        .filter(|l| l.stage == Stage::Item)
        .count();
    assert!(item_pages > 0 && first.listings_new > item_pages as u64);

    let (_, second) = util::crawl_workspace(fixture.path(), options()).await;
    let again: Vec<_> = fixture.market.log.requests()[before..].to_vec();
    let paths: Vec<&str> = again.iter().map(|r| r.path.as_str()).collect();
    assert!(
        again.iter().all(|r| r.host == Host::Shopfront
            && (r.path.starts_with("/search") || r.path == "/robots.txt")),
        "only search pages: {paths:?}"
    );
    assert_eq!(second.listings_new, 0);
    assert_eq!(second.listings_unchanged, first.listings_new);
}

/// What a workspace's listings and matches are, row by row.
fn snapshot(store: &Store) -> (Vec<String>, Vec<String>) {
    let listings = store
        .query_strings(
            "SELECT json_array(id, url, target, title, price, seller, images, content_hash, stage, \
             fetch_id) FROM listings ORDER BY id",
        )
        .unwrap();
    let matches = store
        .query_strings(
            "SELECT json_array(id, listing_id, product_id, status, score, updated_at) FROM matches \
             ORDER BY id",
        )
        .unwrap();
    (listings, matches)
}

/// The red team's cross-target attack: a search page of target `mirror`
/// whose cards and links name the shopfront's and the bazaar's listings
/// (with other titles, prices and photos), a photo on the demo's image
/// CDN (a private origin only the demo targets name) and addresses the
/// guard refuses. None of it may change another target's listing, match
/// or evidence, or reach anything but the mirror's own server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_on_one_target_never_speaks_for_another_targets_listing() {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    let (fixture, config, store) = util::judged_workspace(Catalog::generate(31, 40)).await;
    let shopfront = store.listings(Some("shopfront")).unwrap();
    let bazaar = store.listings(Some("bazaar")).unwrap();
    let from_card = shopfront.iter().find(|l| l.stage == Stage::Card).unwrap();
    let from_page = bazaar.iter().find(|l| l.stage == Stage::Item).unwrap();
    // A confirmed match and its bundle, as counsel holds it.
    let entry = store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap()
        .into_iter()
        .find(|e| e.target == "shopfront")
        .unwrap();
    let id = knockoff::store::MatchId(entry.id);
    store
        .decide(id, knockoff::status::Decision::Confirm, "cli:ana", None)
        .unwrap();
    let page_of = |store: &Store| {
        let out = tempfile::tempdir().unwrap();
        let bundle = knockoff::evidence::export(
            &config,
            store,
            id,
            out.path(),
            knockoff::evidence::Review::Confirmed,
        )
        .unwrap()
        .path;
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&bundle).unwrap()).unwrap();
        let mut page = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name("page.html").unwrap(), &mut page).unwrap();
        page
    };
    // Judged again: the seller's confirmed record moves its other scores.
    let (for_judge, judged_config) = (store.clone(), config.clone());
    tokio::task::spawn_blocking(move || {
        knockoff::judge::judge_workspace(&judged_config, &for_judge)
    })
    .await
    .unwrap()
    .unwrap();
    let page_before = page_of(&store);
    let before = snapshot(&store);

    let entry_url = entry.listing_url.clone();
    let cdn_photo = format!("{}thumb/1001.jpg", fixture.market.cdn);
    let search = format!(
        "<div class=c><a href=\"{card}\">Orvane replica</a><b>$1.00</b><img src=\"{cdn_photo}\"></div>\
         <div class=c><a href=\"{page}\">Orvane replica</a><b>$1.00</b></div>\
         <div class=c><a href=\"{entry_url}\">Orvane replica</a><b>$1.00</b></div>\
         <div class=c><a href=\"{page}?again=1\">plain link</a></div>\
         <div class=c><a href=\"http://localhost:1/x\">Orvane</a><b>$1.00</b></div>\
         <div class=c><a href=\"http://2130706433/x\">Orvane</a><b>$1.00</b></div>\
         <div class=c><a href=\"http://169.254.169.254/latest/meta-data\">Orvane</a><b>$1.00</b></div>\
         <div class=c><a href=\"/own/1\">Orvane Thing of the mirror</a><b>$9.00</b><img src=\"{cdn_photo}\"></div>",
        card = from_card.url,
        page = from_page.url,
    );
    let mirror_hits = util::Hits::default();
    let router = {
        let hits = mirror_hits.clone();
        axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (hits, search) = (hits.clone(), search.clone());
            async move {
                hits.record(uri.path());
                match uri.path() {
                    "/robots.txt" => "User-agent: *\nAllow: /\n".into_response(),
                    "/search" => axum::response::Html(search).into_response(),
                    "/own/1" => axum::response::Html(
                        "<h1 class=t>Orvane Thing of the mirror</h1><span class=p>$9.00</span>",
                    )
                    .into_response(),
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }
        })
    };
    let base = util::serve(router, "127.0.0.1").await;
    std::fs::write(
        fixture.path().join("targets/mirror.toml"),
        format!(
            "base_url = \"{base}\"\n[rate]\nrequests_per_second = 50.0\n\
             [search]\nurl = \"/search?q={{query}}&page={{page}}\"\nmax_pages = 1\n\
             [results]\nitem = \"div.c\"\nlink = \"a@href\"\ntitle = \"a\"\nprice = \"b\"\nimage = \"img@src\"\n\
             [crawl]\nitem_pages = \"all\"\n\
             [item]\ntitle = \"h1.t\"\nprice = \"span.p\"\n"
        ),
    )
    .unwrap();
    let market_before = fixture.market.log.requests().len();
    let options = CrawlOptions {
        targets: vec!["mirror".into()],
        ..Default::default()
    };
    let (store, summary) = util::crawl_workspace(fixture.path(), options).await;
    let with_mirror = knockoff::config::load(fixture.path()).unwrap();
    let for_judge = store.clone();
    tokio::task::spawn_blocking(move || knockoff::judge::judge_workspace(&with_mirror, &for_judge))
        .await
        .unwrap()
        .unwrap();

    // The demo marketplace (its shops and its image CDN) heard nothing.
    let heard: Vec<String> = fixture.market.log.requests()[market_before..]
        .iter()
        .map(|r| format!("{:?} {}", r.host, r.path))
        .collect();
    assert!(heard.is_empty(), "the mirror's crawl reached {heard:?}");
    // The mirror's one own listing, nothing else of its page.
    let mirrored = store.listings(Some("mirror")).unwrap();
    let urls: Vec<&str> = mirrored.iter().map(|l| l.url.as_str()).collect();
    assert_eq!(urls, [format!("{base}own/1")], "{summary:?}");
    assert!(mirrored[0].listing.images.is_empty(), "{mirrored:?}");
    // The other targets' listings and matches are as they were, row by
    // row, and the confirmed match's bundle still carries its own page.
    let (listings, matches) = snapshot(&store);
    let (listings_before, matches_before) = before;
    assert_eq!(
        listings[..listings_before.len()],
        listings_before[..],
        "listings changed"
    );
    assert_eq!(listings.len(), listings_before.len() + 1);
    assert_eq!(
        matches[..matches_before.len()],
        matches_before[..],
        "matches changed"
    );
    assert_eq!(page_of(&store), page_before);
    let paths = mirror_hits.paths();
    assert!(
        paths
            .iter()
            .all(|p| p == "/robots.txt" || p == "/search" || p == "/own/1"),
        "{paths:?}"
    );
}
