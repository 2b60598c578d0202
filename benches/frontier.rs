//! Frontier leases on a shared store: how many items a second crawls
//! lease and finish together, and what one lease call costs, with one, two
//! and four crawls (threads, each with its own store and connections, as
//! crawls on other machines would have).
//!
//! `cargo bench --bench frontier` runs on a SQLite file (one crawl: a
//! SQLite store has one); KNOCKOFF_BENCH_STORE_URL=postgres://… runs on
//! that PostgreSQL database (a new run each round, so an old one does no
//! harm). KNOCKOFF_BENCH_ITEMS sets the items per round (default 20,000,
//! over 8 marketplaces).
//!
//! An item is finished as a listing page is (`complete_listing`: the
//! listing upserted, the item done, in one transaction), with no fetch:
//! the numbers are the store's alone.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use knockoff::extract::Listing;
use knockoff::store::{ItemKind, NewItem, PostgresUrl, RunId, Store};

const TARGETS: usize = 8;
/// Items a crawl leases per marketplace and kind at a time, as `crawl` does
/// on a shared store.
const PER_GROUP: usize = 16;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One crawl's part: lease, finish, lease again until the run is drained.
/// Returns its lease calls' times (ms) and the items it leased.
fn work(store: &Store, run: RunId) -> (Vec<f64>, Vec<i64>) {
    let mut leases = Vec::new();
    let mut finished = Vec::new();
    loop {
        let started = Instant::now();
        let items = store.claim_items(run, Some(PER_GROUP)).unwrap();
        leases.push(started.elapsed().as_secs_f64() * 1000.0);
        if items.is_empty() {
            if store.unfinished_items(run).unwrap() == 0 {
                return (leases, finished);
            }
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        for item in &items {
            finished.push(item.id.0);
            let listing = Listing {
                title: Some(format!("Orvane Cloudstep 3 lot {}", item.id.0)),
                price: Some(39.0),
                currency: Some("USD".into()),
                seller: Some(format!("seller-{}", item.id.0 % 300)),
                description: Some("Same as original.".into()),
                images: vec![format!("{}/photo.jpg", item.url)],
                seller_url: None,
            };
            store
                .complete_listing(run, item, &[], &listing, &[])
                .unwrap();
        }
    }
}

fn main() {
    let items: usize = std::env::var("KNOCKOFF_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let url: Option<PostgresUrl> = std::env::var("KNOCKOFF_BENCH_STORE_URL")
        .ok()
        .map(|url| url.parse().unwrap());
    let open = || match &url {
        Some(url) => Store::open_postgres(url).unwrap(),
        None => Store::open(&dir.path().join("knockoff.db")).unwrap(),
    };
    let crawls: &[usize] = if url.is_some() { &[1, 2, 4] } else { &[1] };
    let targets: Vec<String> = (0..TARGETS).map(|t| format!("site{t}")).collect();
    println!(
        "frontier on {}, {items} items over {TARGETS} marketplaces, {PER_GROUP} leased per \
         marketplace at a time:",
        if url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    for (r, &n) in crawls.iter().enumerate() {
        let first = open();
        let run = first.start_run(&targets, None, &[]).unwrap();
        let new: Vec<NewItem> = (0..items)
            .map(|i| NewItem {
                target: targets[i % TARGETS].clone(),
                kind: ItemKind::Listing,
                url: format!(
                    "http://{}/r{r}-{}/item/{i}",
                    targets[i % TARGETS],
                    std::process::id()
                ),
                query: None,
                page: None,
            })
            .collect();
        first.add_items(run.id, &new).unwrap();
        let stores: Vec<Arc<Store>> = (0..n).map(|_| Arc::new(open())).collect();
        let barrier = Arc::new(Barrier::new(n));
        let started = Instant::now();
        let handles: Vec<_> = stores
            .iter()
            .map(|store| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    work(&store, run.id)
                })
            })
            .collect();
        let mut leases = Vec::new();
        let mut finished = Vec::new();
        for handle in handles {
            let (l, f) = handle.join().unwrap();
            leases.extend(l);
            finished.extend(f);
        }
        let seconds = started.elapsed().as_secs_f64();
        let leased = finished.len();
        finished.sort_unstable();
        finished.dedup();
        assert_eq!(
            (leased, finished.len()),
            (items, items),
            "every item leased once"
        );
        first.finish_run(run.id, &Default::default()).unwrap();
        leases.sort_by(f64::total_cmp);
        println!(
            "  {n} crawl{}: {:.0} items leased and finished per second; {} lease calls, \
             p50 {:.2} ms, p99 {:.2} ms",
            if n == 1 { "" } else { "s" },
            items as f64 / seconds,
            leases.len(),
            percentile(&leases, 0.5),
            percentile(&leases, 0.99)
        );
    }
}
