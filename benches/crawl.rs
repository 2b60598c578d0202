//! End-to-end crawl cost: the real `knockoff crawl` binary against the demo
//! marketplace on loopback, rate limits lifted.
//!
//! `cargo bench --bench crawl` (KNOCKOFF_BENCH_LISTINGS sets the size,
//! default 2000). The marketplace runs in this process and serves one
//! pre-drawn photo per URL (unique bytes, no drawing), so the child's
//! rusage is the crawler's own cost: fetch + extract + store + image checks,
//! search pages included. Prints wall time, CPU per listing and peak RSS.

// getrusage (the crawl child's CPU time and peak memory) has no safe wrapper here.
#![allow(unsafe_code)]

use std::sync::Arc;
use std::time::Instant;

use knockoff::demo::catalog::{Catalog, DEMO_SEED};
use knockoff::demo::site::Host;
use knockoff::demo::{self, Marketplace, SiteOptions};
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
        demo::write_workspace(dir.path(), &catalog).unwrap();
        for (file, port, url) in [("shopfront", "7801", &market.shopfront), ("bazaar", "7802", &market.bazaar)] {
            let path = dir.path().join(format!("targets/{file}.toml"));
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace(&format!("http://127.0.0.1:{port}"), url.as_str().trim_end_matches('/'))
                // The image CDN, the targets' private origin, is on its own free port too.
                .replace("http://127.0.0.1:7803", market.cdn.as_str().trim_end_matches('/'))
                .replace("requests_per_second = 8.0", &format!("requests_per_second = {RATE:.1}"))
                .replace("concurrency = 4", &format!("concurrency = {CONCURRENCY}"));
            std::fs::write(path, text).unwrap();
        }
        let settings = std::fs::read_to_string(dir.path().join("knockoff.toml"))
            .unwrap()
            .replace("default_requests_per_second = 20.0", &format!("default_requests_per_second = {RATE:.1}"))
            .replace("default_concurrency = 4", &format!("default_concurrency = {CONCURRENCY}"));
        std::fs::write(dir.path().join("knockoff.toml"), settings).unwrap();

        let started = Instant::now();
        let workspace = dir.path().to_path_buf();
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_knockoff"))
                .arg("--workspace")
                .arg(&workspace)
                .args(["crawl", "--max-pages", "100000"])
                .env("RUST_LOG", "knockoff=warn")
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap()
        })
        .await
        .unwrap();
        let wall = started.elapsed().as_secs_f64();
        assert!(status.success(), "the crawl failed");

        // SAFETY: getrusage only writes into the struct we pass.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
            usage
        };
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        let cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime);
        let peak_rss_mb = usage.ru_maxrss as f64 / 1024.0;

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
