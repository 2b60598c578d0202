//! Judging shared between machines: how many listings one `knockoff index`
//! judges a second on a PostgreSQL store, and how many two judge together
//! (two workspaces, as two machines would have, on one store; each
//! listing leased to one of them).
//!
//! `KNOCKOFF_BENCH_STORE_URL=postgres://…/empty_db cargo bench --bench
//! judging`: the demo marketplace (KNOCKOFF_BENCH_LISTINGS, default 2,000
//! listings, each with photos of its own) crawled and judged by one crawl
//! into a database of its own (`empty_db_alone`, made and dropped here),
//! then by two crawls at once into that empty database (sharing one run);
//! then, KNOCKOFF_BENCH_ROUNDS times (default 2), alternating,
//! every judgement and photo print dropped and the store judged again by
//! one process, then by two at once. Each process is measured alone
//! (wall, CPU, peak RSS); a round's wall time runs from the first start
//! to the last exit. Without a PostgreSQL URL it says so and stops: on a
//! SQLite store judging is not shared.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use knockoff::demo::catalog::{Catalog, DEMO_SEED};
use knockoff::demo::{Marketplace, SiteOptions};

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `knockoff --workspace DIR SUBCOMMAND` on the store at `url`, measured.
fn knockoff(workspace: &Path, url: &str, subcommand: &str) -> support::ChildCost {
    let mut command = std::process::Command::new(support::this_knockoff());
    command
        .arg("--workspace")
        .arg(workspace)
        .arg(subcommand)
        .env("KNOCKOFF_STORE_URL", url)
        .env("RUST_LOG", "knockoff=error")
        .stdout(std::process::Stdio::null());
    let cost = support::measure(command);
    assert!(
        cost.success,
        "knockoff {subcommand} in {} failed",
        workspace.display()
    );
    cost
}

/// Every judgement, lease and photo print dropped: the next pass judges
/// every listing again from its stored photos.
fn forget_judging(url: &str) {
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    db.batch_execute("DELETE FROM judged; DELETE FROM judging; DELETE FROM photo_prints;")
        .unwrap();
}

/// Judged listings (each once: a listing judged twice would show here as
/// fewer than the store holds only if another was skipped).
fn judged(url: &str) -> (i64, i64) {
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let row = db
        .query_one(
            "SELECT (SELECT COUNT(*) FROM judged), (SELECT COUNT(*) FROM listings)",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

/// One round: `workspaces` judge the store together; returns the round's
/// wall time and each process's cost.
fn round(workspaces: &[PathBuf], url: &str) -> (f64, Vec<support::ChildCost>) {
    forget_judging(url);
    let started = Instant::now();
    let costs = std::thread::scope(|s| {
        let running: Vec<_> = workspaces
            .iter()
            .map(|w| s.spawn(move || knockoff(w, url, "index")))
            .collect();
        running
            .into_iter()
            .map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    let wall = started.elapsed().as_secs_f64();
    let (judged, listings) = judged(url);
    assert_eq!(judged, listings, "every listing judged, once");
    (wall, costs)
}

fn main() {
    let Ok(url) = std::env::var("KNOCKOFF_BENCH_STORE_URL") else {
        println!("judging bench: KNOCKOFF_BENCH_STORE_URL names no PostgreSQL database; judging is shared only there. Nothing measured.");
        return;
    };
    let n_listings = env_count("KNOCKOFF_BENCH_LISTINGS", 2_000);
    let rounds = env_count("KNOCKOFF_BENCH_ROUNDS", 2).max(1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let catalog = Arc::new(Catalog::generate(DEMO_SEED, n_listings));
    let options = SiteOptions {
        faults: false,
        remember_photos: true,
        page_size: 48,
        ..Default::default()
    };
    let market = runtime
        .block_on(Marketplace::start(catalog.clone(), options))
        .unwrap();
    // A workspace on a store, as a machine of its own would have.
    let workspace_on = |url: &str| {
        let dir = tempfile::tempdir().unwrap();
        support::lifted_workspace(dir.path(), &catalog, &market, 1000.0, 8, 1000);
        let settings = dir.path().join("knockoff.toml");
        let mut text = std::fs::read_to_string(&settings).unwrap();
        text.push_str(&format!("\n[store]\nurl = \"{url}\"\n"));
        std::fs::write(settings, text).unwrap();
        dir
    };
    let crawl = |workspace: &Path| {
        runtime.block_on(support::knockoff_crawl(
            support::this_knockoff(),
            workspace.to_path_buf(),
            &[],
            "knockoff=error",
        ))
    };
    // The marketplace crawled (and judged) by one crawl into a database of
    // its own, then by two at once into `url`: what sharing a run costs.
    let (server, database) = url.rsplit_once('/').unwrap();
    let alone_url = format!("{server}/{database}_alone");
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // One statement per call: CREATE DATABASE refuses a transaction block.
    for statement in ["DROP DATABASE IF EXISTS", "CREATE DATABASE"] {
        admin
            .batch_execute(&format!("{statement} \"{database}_alone\""))
            .unwrap();
    }
    let alone = workspace_on(&alone_url);
    let one = crawl(alone.path());
    assert!(one.success, "the crawl into {alone_url} failed");
    let dirs = [workspace_on(&url), workspace_on(&url)];
    let workspaces: Vec<PathBuf> = dirs.iter().map(|d| d.path().to_path_buf()).collect();
    let started = Instant::now();
    let two = std::thread::scope(|s| {
        let running: Vec<_> = workspaces.iter().map(|w| s.spawn(|| crawl(w))).collect();
        running
            .into_iter()
            .map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    let together = started.elapsed().as_secs_f64();
    assert!(
        two.iter().all(|c| c.success),
        "a shared crawl into {url} failed"
    );
    let (_, listings) = judged(&url);
    let (_, listings_alone) = judged(&alone_url);
    assert_eq!(listings, listings_alone, "two crawls store what one does");
    drop(alone);
    admin
        .batch_execute(&format!("DROP DATABASE \"{database}_alone\""))
        .unwrap();
    println!("judging bench: {listings} listings; crawl + judge, limits 1,000 req/s and 8 in flight per host:");
    println!(
        "  one crawl: {:.1} s wall, {:.1} s CPU, {:.0} MB peak",
        one.wall_s, one.cpu_s, one.peak_rss_mb
    );
    println!(
        "  two crawls sharing the run: {together:.1} s wall, {:.1} + {:.1} s CPU, {:.0} + {:.0} MB peak",
        two[0].cpu_s, two[1].cpu_s, two[0].peak_rss_mb, two[1].peak_rss_mb
    );
    println!("then every judgement and photo print dropped before each pass:");
    println!("| judges | round | wall | listings/s | CPU per process | peak RSS per process |");
    println!("|---|---|---|---|---|---|");
    let mut rates = [Vec::new(), Vec::new()];
    for n in 0..rounds {
        for judges in [1, 2] {
            let (wall, costs) = round(&workspaces[..judges], &url);
            let rate = listings as f64 / wall;
            rates[judges - 1].push(rate);
            let each = |f: fn(&support::ChildCost) -> f64, unit: &str| {
                costs
                    .iter()
                    .map(|c| format!("{:.1}{unit}", f(c)))
                    .collect::<Vec<_>>()
                    .join(" + ")
            };
            println!(
                "| {judges} | {} | {wall:.1} s | {rate:.0} | {} | {} |",
                n + 1,
                each(|c| c.cpu_s, " s"),
                each(|c| c.peak_rss_mb, " MB"),
            );
        }
    }
    let best = |r: &[f64]| r.iter().copied().fold(f64::MIN, f64::max);
    println!(
        "two judges / one, best round each: {:.2}×",
        best(&rates[1]) / best(&rates[0])
    );
    drop(market);
}
