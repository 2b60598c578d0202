//! End-to-end crawl cost: the real `knockoff crawl` binary against the demo
//! marketplace on loopback, rate limits lifted.
//!
//! `cargo bench --bench crawl` (KNOCKOFF_BENCH_LISTINGS sets the size,
//! default 2000). The marketplace runs in this process and serves one
//! pre-drawn photo per URL (unique bytes, no drawing), so the child's
//! rusage is the crawler's own cost: fetch + extract + store + image checks,
//! search pages included. Prints wall time, CPU per listing and peak RSS.

mod support;

use std::sync::Arc;

use knockoff::demo::catalog::{Catalog, DEMO_SEED};
use knockoff::demo::site::Host;
use knockoff::demo::{Marketplace, SiteOptions};
use knockoff::store::Store;

/// Rate and concurrency of every host: limits lifted, still enforced.
const RATE: f64 = 1000.0;
const CONCURRENCY: u32 = 8;

fn main() {
    let n_listings: usize = std::env::var("KNOCKOFF_BENCH_LISTINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let catalog = Arc::new(Catalog::generate(DEMO_SEED, n_listings));
        let market = Marketplace::start(catalog.clone(), SiteOptions { ports: [0, 0, 0], faults: false, cheap_photos: true, ..Default::default() })
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        support::lifted_workspace(dir.path(), &catalog, &market, RATE, CONCURRENCY, 5);

        let cost = support::knockoff_crawl(support::this_knockoff(), dir.path().to_path_buf(), &["--max-pages", "100000"], "knockoff=warn").await;
        assert!(cost.success, "the crawl failed");
        let (wall, cpu, peak_rss_mb) = (cost.wall_s, cost.cpu_s, cost.peak_rss_mb);

        let store = Store::open(&dir.path().join("knockoff.db")).unwrap();
        let count = |sql: &str| store.query_strings(sql).unwrap()[0].parse::<f64>().unwrap();
        let listings = count("SELECT COUNT(*) FROM listings");
        let images = count("SELECT COUNT(*) FROM images WHERE error IS NULL");
        let requests = count("SELECT COUNT(*) FROM fetches");
        // A bench that fetched no photo measures a crawl nobody runs.
        assert!(images > 0.0, "no image was stored: the CDN is not reachable");
        let db_mb = std::fs::metadata(dir.path().join("knockoff.db")).unwrap().len() as f64 / 1e6;

        println!("crawl bench: {n_listings} catalogue listings, limits {RATE} req/s and {CONCURRENCY} in flight per host");
        println!("  stored      {listings} listings, {images} images, {requests} requests, db {db_mb:.0} MB");
        println!("  wall        {wall:.1} s  ({:.0} listings/s, {:.0} requests/s)", listings / wall, requests / wall);
        println!("  crawler CPU {cpu:.2} s  = {:.2} ms per listing end to end", cpu * 1000.0 / listings);
        println!("  peak RSS    {peak_rss_mb:.0} MB");
        for host in [Host::Shopfront, Host::Bazaar, Host::Cdn] {
            let busiest = market.log.busiest_second(host);
            println!("  {host:?}: busiest 1 s window {busiest} requests (limit {RATE})");
            assert!(busiest as f64 <= RATE);
        }
    });
}
