//! `knockoff explain`: every product considered, every rule fired or not,
//! for queued and unqueued listings, as text and JSON, and on the review
//! UI's match page.

use knockoff::demo::catalog::{Catalog, Kind};
use knockoff::status::StatusFilter;

use crate::queue::demo_id;
use crate::util;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_says_why_a_listing_is_or_is_not_queued() {
    let catalog = Catalog::generate(83, 40);
    let (fixture, _, store) = util::judged_workspace(catalog.clone()).await;
    let kind_of = |url: &str| {
        let id = demo_id(url);
        catalog.listings.iter().find(|l| l.id == id).unwrap().kind
    };
    let listings = store.listings(None).unwrap();
    let queued = store.queue(StatusFilter::Pending).unwrap().remove(0);
    let unqueued = listings
        .iter()
        .find(|l| kind_of(&l.url) == Kind::SecondHand)
        .expect("the catalogue has second-hand listings");

    // A queued listing, by its id: the queued product first, with its match.
    let queued_listing = listings
        .iter()
        .find(|l| l.url == queued.listing_url)
        .unwrap();
    let (code, out, err) = util::knockoff_outcome(
        fixture.path(),
        &[
            "explain",
            "--listing",
            &queued_listing.id.0.to_string(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["match_id"], serde_json::Value::Null);
    let first = &json["products"][0];
    assert_eq!(first["queued"], true);
    assert_eq!(first["match_id"], queued.id);
    assert_eq!(first["status"], "pending");
    let rules = first["signals"]["rules"].as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "official photo",
            "price floor",
            "counterfeit vocabulary",
            "score",
            "seller list",
            "relisted"
        ]
    );
    assert!(rules.iter().any(|r| r["fired"] == true));
    assert!(rules.iter().all(|r| !r["why"].as_str().unwrap().is_empty()));
    assert!(
        json["products"].as_array().unwrap().len() > 1,
        "every product is considered"
    );

    // A second-hand listing, by URL: nothing fires, and the text says why.
    let (code, text, err) = util::knockoff_outcome(fixture.path(), &["explain", &unqueued.url]);
    assert_eq!(code, 0, "{err}");
    assert!(!text.contains("QUEUED"), "{text}");
    assert!(text.contains("[ ] official photo:"), "{text}");
    assert!(text.contains("[ ] price floor:"), "{text}");
    assert!(text.contains("condition: second-hand"), "{text}");

    let (code, _, err) = util::knockoff_outcome(fixture.path(), &["explain", "99999"]);
    assert_eq!(code, 2);
    assert!(err.contains("there is no match with id 99999"), "{err}");
    let (code, _, err) = util::knockoff_outcome(fixture.path(), &["explain", "--listing", "99999"]);
    assert_eq!(code, 2);
    assert!(err.contains("no listing with id 99999"), "{err}");

    // The id `queue list` shows is a match id, and `explain` takes it —
    // for every pending match, whose listing id is another number.
    let pending = store.queue(StatusFilter::Pending).unwrap();
    let differs = pending
        .iter()
        .find(|e| {
            listings
                .iter()
                .find(|l| l.url == e.listing_url)
                .is_some_and(|l| l.id.0 != e.id)
        })
        .expect("a match whose id is not its listing's");
    let (code, out, err) = util::knockoff_outcome(
        fixture.path(),
        &["explain", &differs.id.to_string(), "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["match_id"], differs.id);
    assert_eq!(json["url"], differs.listing_url.as_str());
    let (_, text, _) =
        util::knockoff_outcome(fixture.path(), &["explain", &differs.id.to_string()]);
    assert!(
        text.starts_with(&format!("match #{} ({}", differs.id, differs.product_id)),
        "{text}"
    );
}
