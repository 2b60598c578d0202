//! knockoff beside the peer a brand team would build instead, crawling and
//! judging the same marketplace in one run: CPU time and peak memory.
//!
//! `cargo bench --bench peer`. The demo marketplace runs in this process
//! with drawn photos (remembered once drawn, so serving costs the children
//! nothing); each crawler is a child process measured alone (wait4):
//!
//! - `knockoff crawl` as shipped (the shopfront's cards judged first, then
//!   the item pages they call for: the two-stage crawl), crawl + judge;
//! - `knockoff crawl` with the shopfront's card fields removed (every item
//!   page fetched: the one-stage crawl), crawl + judge;
//! - `benches/scrapy_peer.py`: Scrapy with the same rate, concurrency and
//!   robots.txt, lxml selectors and imagehash's pHash against every
//!   reference photo. Skipped, loudly, where Python lacks scrapy, imagehash
//!   or chompjs.
//!
//! KNOCKOFF_BENCH_LISTINGS sets the catalogue (default 300);
//! KNOCKOFF_BENCH_COPIES relists each listing that many times under new
//! ids with the same photos (default 1): the at-scale run, many listings
//! over few distinct photos. KNOCKOFF_BENCH_BASELINE names another knockoff
//! binary (say, main's, built before a change) measured beside this one,
//! each run alternating with this build's: a change's cost before and after
//! in one run, on one machine's load. KNOCKOFF_BENCH_PEER=off leaves the
//! peer out (for a before/after run of knockoff alone);
//! KNOCKOFF_BENCH_LOG sets the crawls' RUST_LOG (default knockoff=error).
//! KNOCKOFF_BENCH_INDEXED=1 runs `knockoff index` on each workspace
//! before its measured crawl: the nightly run, whose reference photos
//! were printed and described when the catalogue last changed (the
//! default measures a fresh workspace's first crawl, which does that too).

mod support;

use std::path::Path;
use std::sync::Arc;

use knockoff::demo::catalog::{Catalog, DEMO_SEED};
use knockoff::demo::site::Host;
use knockoff::demo::{Marketplace, SiteOptions};
use knockoff::store::Store;

/// Rate and concurrency of every host: limits lifted, still enforced.
const RATE: f64 = 1000.0;
const CONCURRENCY: u32 = 8;
/// Result pages a query may read: all of them.
const MAX_PAGES: u32 = 1000;
/// Cards per search results page, as real marketplaces show.
const PAGE_SIZE: usize = 48;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n_listings = env_count("KNOCKOFF_BENCH_LISTINGS", 300);
    let copies = env_count("KNOCKOFF_BENCH_COPIES", 1).max(1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let catalog = Arc::new(Catalog::generate(DEMO_SEED, n_listings).relisted(copies));
        let options = SiteOptions { faults: false, remember_photos: true, page_size: PAGE_SIZE, ..Default::default() };
        let market = Marketplace::start(catalog.clone(), options).await.unwrap();
        println!(
            "peer bench: {} listings ({n_listings} × {copies}), limits {RATE} req/s and {CONCURRENCY} in flight per host",
            catalog.listings.len()
        );
        println!("| crawler | listings | wall | CPU | CPU per listing | peak RSS |");
        println!("|---|---|---|---|---|---|");

        let baseline = std::env::var_os("KNOCKOFF_BENCH_BASELINE").map(std::path::PathBuf::from);
        let mut runs = Vec::new();
        for stages in ["two-stage", "one-stage"] {
            let builds = std::iter::once(("knockoff", support::this_knockoff()))
                .chain(baseline.clone().map(|b| ("knockoff baseline", b)));
            for (name, binary) in builds {
                let dir = tempfile::tempdir().unwrap();
                support::lifted_workspace(dir.path(), &catalog, &market, RATE, CONCURRENCY, MAX_PAGES);
                if stages == "one-stage" {
                    one_stage(dir.path());
                }
                if std::env::var("KNOCKOFF_BENCH_INDEXED").is_ok_and(|v| v == "1") {
                    let indexed = std::process::Command::new(&binary)
                        .arg("--workspace")
                        .arg(dir.path())
                        .arg("index")
                        .stdout(std::process::Stdio::null())
                        .status()
                        .unwrap();
                    assert!(indexed.success(), "`knockoff index` of {name} failed");
                }
                let cost = support::knockoff_crawl(binary, dir.path().to_path_buf(), &[], "knockoff=error").await;
                assert!(cost.success, "the {stages} crawl of {name} failed");
                let store = Store::open(&dir.path().join("knockoff.db")).unwrap();
                let listings: f64 = store.query_strings("SELECT COUNT(*) FROM listings").unwrap()[0].parse().unwrap();
                report(&format!("{name}, {stages}"), listings, &cost);
                if name == "knockoff" {
                    runs.push((listings, cost));
                }
            }
        }

        let peer = match std::env::var("KNOCKOFF_BENCH_PEER").as_deref() {
            Ok("off") => Err("KNOCKOFF_BENCH_PEER=off".to_string()),
            _ => peer_ready(),
        };
        match peer {
            Err(why) => println!(
                "\n!!! SKIPPED the Scrapy + imagehash peer: {why}.\n"
            ),
            Ok(()) => {
                let dir = tempfile::tempdir().unwrap();
                support::lifted_workspace(dir.path(), &catalog, &market, RATE, CONCURRENCY, MAX_PAGES);
                let out = dir.path().join("peer.jsonl");
                let (workspace, feed) = (dir.path().to_path_buf(), out.clone());
                let cost = tokio::task::spawn_blocking(move || {
                    let mut command = std::process::Command::new("python3");
                    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scrapy_peer.py")).arg(&workspace).arg(&feed);
                    support::measure(command)
                })
                .await
                .unwrap();
                assert!(cost.success, "the peer failed");
                let peer_listings = std::fs::read_to_string(&out).unwrap().lines().count() as f64;
                report("Scrapy + imagehash", peer_listings, &cost);
                for (stages, (listings, run)) in ["two-stage", "one-stage"].iter().zip(&runs) {
                    let per_listing = |cpu: f64, n: f64| cpu / n.max(1.0);
                    println!(
                        "knockoff {stages} against the peer: CPU per listing {:.2}×, peak RSS {:.2}×",
                        per_listing(run.cpu_s, *listings) / per_listing(cost.cpu_s, peer_listings),
                        run.peak_rss_mb / cost.peak_rss_mb
                    );
                }
            }
        }
        for host in [Host::Shopfront, Host::Bazaar, Host::Cdn] {
            let busiest = market.log.busiest_second(host);
            println!("{host:?}: busiest 1 s window {busiest} requests (limit {RATE})");
            assert!(busiest as f64 <= RATE);
        }
    });
}

fn report(crawler: &str, listings: f64, cost: &support::ChildCost) {
    println!(
        "| {crawler} | {listings} | {:.1} s | {:.2} s | {:.2} ms | {:.0} MB |",
        cost.wall_s,
        cost.cpu_s,
        cost.cpu_s * 1000.0 / listings.max(1.0),
        cost.peak_rss_mb
    );
}

/// The shopfront's card fields removed: no card is judged, every item page
/// fetched.
fn one_stage(workspace: &Path) {
    let path = workspace.join("targets/shopfront.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut section = String::new();
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| {
            if line.starts_with('[') {
                section = line.trim().to_string();
            }
            let key = line.split('=').next().unwrap_or("").trim();
            !(section == "[results]" && ["title", "price", "image"].contains(&key))
        })
        .collect();
    std::fs::write(path, kept.join("\n")).unwrap();
}

/// Whether Python has what the peer needs.
fn peer_ready() -> Result<(), String> {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import scrapy, imagehash, chompjs"])
        .output()
        .map_err(|e| format!("python3 did not start ({e})"))?;
    match probe.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{}\n!!! pip install scrapy imagehash chompjs, then run this again",
            String::from_utf8_lossy(&probe.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
    }
}
