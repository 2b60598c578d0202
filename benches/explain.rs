//! `knockoff explain` on a large store: `cargo bench --bench explain`
//! (KNOCKOFF_BENCH_LISTINGS sets the size, default 100,000). The demo
//! workspace's products and reference photos, a store filled with that
//! many listings (each with a photo whose prints are cached, as after a
//! crawl), and `explain` — the library call behind the command, reference
//! index load included — timed for 200 random listings, by id and by URL;
//! then by id with the judge kept between calls, as the review UI's match
//! page keeps it.

use std::time::Instant;

use knockoff::config;
use knockoff::demo::catalog::{Catalog, DEMO_SEED};
use knockoff::explain::{JudgeCache, Subject};
use knockoff::extract::Listing;
use knockoff::store::{ItemKind, NewItem, Store};
use rand::{Rng, SeedableRng};

fn main() {
    let n: usize = std::env::var("KNOCKOFF_BENCH_LISTINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::generate(DEMO_SEED, 10);
    knockoff::demo::write_workspace(dir.path(), &catalog).unwrap();
    let config = config::load(dir.path()).unwrap();
    let store = Store::open(&config.db_path()).unwrap();
    let filling = Instant::now();
    let run = store.start_run(&["shopfront".into()], None, &[]).unwrap();
    let items: Vec<NewItem> = (0..n)
        .map(|i| NewItem {
            target: "shopfront".into(),
            kind: ItemKind::Listing,
            url: format!("http://127.0.0.1:7801/item/{i}"),
            query: None,
            page: None,
        })
        .collect();
    store.add_items(run.id, &items).unwrap();
    for (i, item) in store.pending_items(run.id).unwrap().iter().enumerate() {
        let listing = Listing {
            title: Some(format!("Orvane Cloudstep 3 replica AAA grade lot {i}")),
            price: Some(20.0 + (i % 50) as f64),
            currency: Some("USD".into()),
            seller: Some(format!("seller-{}", i % 300)),
            description: Some("Same as original. Fast shipping.".into()),
            images: vec![],
            seller_url: None,
        };
        store
            .complete_listing(run.id, item, &[], &listing, &[])
            .unwrap();
    }
    store.finish_run(run.id, &Default::default()).unwrap();
    println!(
        "explain bench: {n} listings stored in {:.1} s",
        filling.elapsed().as_secs_f64()
    );
    // The reference index is built once, as `knockoff index` would.
    knockoff::index::references(&config).unwrap();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let kept = JudgeCache::default();
    for (label, by_url, keep) in [
        ("by id", false, false),
        ("by URL", true, false),
        ("by id, judge kept", false, true),
    ] {
        let mut times: Vec<f64> = (0..200)
            .map(|_| {
                let i = rng.random_range(0..n);
                let subject = if by_url {
                    Subject::Url(format!("http://127.0.0.1:7801/item/{i}"))
                } else {
                    Subject::Listing(knockoff::store::ListingId(i as i64 + 1))
                };
                let started = Instant::now();
                let fresh = JudgeCache::default();
                let judges = if keep { &kept } else { &fresh };
                let explanation =
                    knockoff::explain::explain(&config, &store, judges, &subject).unwrap();
                assert!(!explanation.products.is_empty());
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "  explain {label}: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  (bar 100 ms)",
            times[100], times[197], times[199]
        );
    }
}
