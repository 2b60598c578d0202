//! Matching and the review queue end to end: a crawl of the demo
//! marketplace judged into a real SQLite queue, re-crawled without
//! duplicates; decided on through the binary (on copies of one judged
//! workspace), and audited.

use knockoff::config;
use knockoff::crawl::CrawlOptions;
use knockoff::demo::catalog::Catalog;
use knockoff::judge::judge_workspace;
use knockoff::status::{MatchStatus, StatusFilter};
use knockoff::store::Store;

use crate::util::{self, DemoFixture};

/// The demo listing id in a shopfront (`/item/ID`) or bazaar (`/listing/ID-slug`) URL.
pub fn demo_id(url: &str) -> u32 {
    let tail = url
        .split("/item/")
        .nth(1)
        .or_else(|| url.split("/listing/").nth(1))
        .unwrap();
    tail.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_queues_the_fakes_once() {
    let catalog = Catalog::generate(31, 48);
    let fixture = DemoFixture::start(catalog.clone(), false, util::FAST).await;
    let (store, _) = util::crawl_workspace(fixture.path(), CrawlOptions::default()).await;
    let config = config::load(fixture.path()).unwrap();
    let first = judge_workspace(&config, &store).unwrap();
    // A card the crawl judged not worth its item page was judged then,
    // once; the pass after the crawl judges every other listing.
    let cards_kept = store
        .listings(None)
        .unwrap()
        .iter()
        .filter(|l| l.stage == knockoff::store::Stage::Card)
        .count();
    assert!(cards_kept > 0, "the shopfront's cards are judged first");
    assert_eq!(first.judged + cards_kept, first.listings);
    // The crawl's first stage (judging the shopfront's search cards) has
    // already printed the reference photos into index/.
    assert!(fixture.path().join("index/references.json").is_file());
    assert_eq!(first.reference_images, 20);
    assert_eq!(first.references_printed, 0, "printed once, by the crawl");

    // Every queued match is a fake of the product it names.
    let pending = store.queue(StatusFilter::Pending).unwrap();
    assert!(!pending.is_empty());
    for entry in &pending {
        let listing = catalog.listing(demo_id(&entry.listing_url)).unwrap();
        assert!(
            listing.kind.is_infringing(),
            "{} is {:?}",
            entry.listing_url,
            listing.kind
        );
        let product = &catalog.products[listing.product.unwrap()];
        assert_eq!(entry.product_id, product.id, "{}", entry.listing_url);
        assert!(entry.score >= 0.5 && entry.score <= 1.0);
        assert!(entry.signals.as_ref().unwrap().identity > 0.0);
    }
    // And nearly every stored fake is queued.
    let stored_fakes = store
        .listings(None)
        .unwrap()
        .iter()
        .filter(|l| {
            catalog
                .listing(demo_id(&l.url))
                .unwrap()
                .kind
                .is_infringing()
        })
        .count();
    assert!(
        pending.len() * 10 >= stored_fakes * 9,
        "{} of {stored_fakes}",
        pending.len()
    );

    // A second crawl changes nothing: no duplicates, nothing re-judged.
    drop(store);
    let (store, _) = util::crawl_workspace(fixture.path(), CrawlOptions::default()).await;
    let second = judge_workspace(&config, &store).unwrap();
    assert_eq!((second.judged, second.changes.queued), (0, 0));
    assert_eq!(
        second.references_printed, 0,
        "reference prints come from index/"
    );
    let all = store.queue(knockoff::status::StatusFilter::All).unwrap();
    assert_eq!(all.len(), pending.len());
}

/// A copy of the judged queue workspace with its top match confirmed
/// (note "same photo") and the next dismissed through the binary:
/// (workspace, confirmed id, dismissed id).
async fn decided() -> (tempfile::TempDir, i64, i64) {
    let (dir, _, store) = util::judged_copy("queue 31", || Catalog::generate(31, 48)).await;
    let pending = store.queue(StatusFilter::Pending).unwrap();
    drop(store);
    let (confirm, dismiss) = (pending[0].id, pending[1].id);
    let ok = util::knockoff(
        dir.path(),
        &[
            "queue",
            "confirm",
            &confirm.to_string(),
            "--note",
            "same photo",
        ],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let ok = util::knockoff(dir.path(), &["queue", "dismiss", &dismiss.to_string()]);
    assert!(ok.status.success());
    (dir, confirm, dismiss)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_through_the_binary_are_listed_with_every_field() {
    let (dir, confirm, dismiss) = decided().await;
    let missing = util::knockoff(dir.path(), &["queue", "confirm", "999999"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no match with id 999999"));

    let listed = util::knockoff(
        dir.path(),
        &["queue", "list", "--status", "all", "--format", "json"],
    );
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    for field in [
        "id",
        "status",
        "score",
        "product_id",
        "target",
        "listing_url",
        "title",
        "price",
        "currency",
        "seller",
        "first_seen",
        "last_seen",
        "signals",
    ] {
        assert!(
            entries[0].get(field).is_some(),
            "queue JSON lacks `{field}`"
        );
    }
    let status_of = |id: i64| entries.iter().find(|e| e["id"] == id).unwrap()["status"].clone();
    assert_eq!(status_of(confirm), "confirmed");
    assert_eq!(status_of(dismiss), "dismissed");
    let table = util::knockoff(dir.path(), &["queue", "list"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("why: ") && table.contains("% of MSRP"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_survive_rejudging_and_the_audit_log_is_append_only() {
    let (dir, confirm, dismiss) = decided().await;
    // New settings force every listing to be judged again.
    util::edit_toml(&dir.path().join("knockoff.toml"), |doc| {
        util::set(doc, "matching.threshold", 0.45);
    });
    let reindex = util::knockoff(dir.path(), &["index"]);
    assert!(
        reindex.status.success(),
        "{}",
        String::from_utf8_lossy(&reindex.stderr)
    );
    let store = Store::open(&dir.path().join("knockoff.db")).unwrap();
    let after: Vec<_> = store.queue(knockoff::status::StatusFilter::All).unwrap();
    let find = |id: i64| after.iter().find(|e| e.id == id).unwrap();
    assert_eq!(find(confirm).status, MatchStatus::Confirmed);
    assert_eq!(
        find(dismiss).status,
        MatchStatus::Dismissed,
        "unchanged listing stays dismissed"
    );
    let audit = store
        .audit_log(Some(knockoff::store::MatchId(confirm)))
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["queued", "confirmed"]);
    assert_eq!(audit[1].detail.as_deref(), Some("same photo"));
    // The audit log refuses edits even from SQL, in another connection.
    let db = rusqlite::Connection::open(dir.path().join("knockoff.db")).unwrap();
    let edit = db.execute("UPDATE audit_log SET actor = 'x'", []);
    assert!(
        edit.as_ref()
            .is_err_and(|e| e.to_string().contains("append-only")),
        "{edit:?}"
    );
    assert!(db.execute("DELETE FROM audit_log", []).is_err());
}

/// `knockoff demo` in a workspace that also watches a real marketplace (a
/// server on loopback that counts what it hears) and one on the internet:
/// the demo crawls its own marketplace only, and ends with a correct queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knockoff_demo_ends_with_a_correct_non_empty_queue_and_touches_no_other_target() {
    let hits = util::Hits::default();
    let watched = {
        let hits = hits.clone();
        util::serve(
            axum::Router::new().fallback(move |uri: axum::http::Uri| {
                let hits = hits.clone();
                async move {
                    hits.record(uri.path());
                    "User-agent: *\nAllow: /\n"
                }
            }),
            "127.0.0.1",
        )
        .await
    };
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::generate(knockoff::demo::DEMO_SEED, knockoff::demo::DEMO_LISTINGS);
    knockoff::demo::write_workspace(dir.path(), &catalog).unwrap();
    std::fs::write(
        dir.path().join("targets/watched.toml"),
        format!(
            "base_url = \"{watched}\"\n[search]\nurl = \"/s?q={{query}}&p={{page}}\"\n\
             [results]\nitem = \"a\"\nlink = \"a@href\"\n"
        ),
    )
    .unwrap();
    let added = util::knockoff(dir.path(), &["target", "add", "https://www.ebay.de"]);
    assert!(added.status.success());
    let path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || util::knockoff(&path, &["demo"]))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        hits.paths().is_empty(),
        "the demo reached {:?}",
        hits.paths()
    );
    assert!(stderr.contains("leaving out target `watched`"), "{stderr}");
    assert!(stderr.contains("leaving out target `ebay-de`"), "{stderr}");
    assert!(stdout.contains("top of the review queue"), "{stdout}");
    assert!(stdout.contains("why: "), "{stdout}");
    let catalog = Catalog::generate(knockoff::demo::DEMO_SEED, knockoff::demo::DEMO_LISTINGS);
    let store = Store::open(&dir.path().join("knockoff.db")).unwrap();
    let pending = store.queue(StatusFilter::Pending).unwrap();
    let fakes = catalog
        .listings
        .iter()
        .filter(|l| l.kind.is_infringing())
        .count();
    // Nearly every fake is queued.
    assert!(
        pending.len() * 100 >= fakes * 95,
        "{} of {fakes}",
        pending.len()
    );
    // Recall first: a listing that is not a fake enters the queue only
    // through the official-photo rule (a look-alike photographed the way
    // the brand photographs its product), and rarely; every fake's
    // highest-scored entry names the product it copies (the queue is
    // sorted by score).
    let mut seen = std::collections::BTreeSet::new();
    let mut not_fakes = 0;
    for entry in &pending {
        let listing = catalog.listing(demo_id(&entry.listing_url)).unwrap();
        if !listing.kind.is_infringing() {
            let fired: Vec<&str> = entry
                .signals
                .as_ref()
                .unwrap()
                .rules
                .iter()
                .filter(|r| r.fired)
                .map(|r| r.rule.as_str())
                .collect();
            assert_eq!(fired, ["official photo"], "{}", entry.listing_url);
            not_fakes += 1;
            continue;
        }
        if seen.insert(listing.id) {
            assert_eq!(
                entry.product_id,
                catalog.products[listing.product.unwrap()].id,
                "{}",
                entry.listing_url
            );
        }
    }
    assert!(seen.len() * 100 >= fakes * 95, "{} of {fakes}", seen.len());
    assert!(
        not_fakes * 100 <= pending.len() * 5,
        "{not_fakes} of {} queued are not fakes",
        pending.len()
    );
}
