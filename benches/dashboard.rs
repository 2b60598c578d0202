//! The dashboard at scale: a real SQLite file holding 100,000 listings on
//! four marketplaces first seen over 26 weeks, 40,000 matches, 20,000 of
//! them decided by five reviewers, 6,000 takedowns sent (removed, rejected
//! or undecided), served over real HTTP on loopback.
//!
//! `cargo bench --bench dashboard` prints, for 50 requests each, the wall
//! time p50 and p95 (the client's) and the server's own time (printed on
//! the page) of:
//! 1. `/dashboard` as it opens (the last 12 weeks);
//! 2. `/dashboard?since=` (the whole store);
//! 3. `/dashboard?since=&target=…&product=…` (one marketplace, one product);
//! 4. `/report?format=json` (the whole store).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use knockoff::config;
use knockoff::demo::{self, catalog::Catalog};
use knockoff::extract::Listing;
use knockoff::matching::verdict::Signals;
use knockoff::status::Decision;
use knockoff::store::{ItemKind, MatchId, NewItem, Role, Store, StoredVerdict, TakedownState};
use knockoff::web::{self, auth, AppState};

const LISTINGS: usize = 100_000;
const TARGETS: [&str; 4] = ["shopfront", "bazaar", "mercado", "souk"];
const REVIEWERS: [&str; 5] = ["ana", "rita", "tomas", "maria", "li"];
const WEEKS: i64 = 26;
const REQUESTS: usize = 50;
const PASSWORD: &str = "bench password 123";

fn fill(store: &Store, products: &[String]) {
    let run = store.start_run(&["shopfront".into()], None, &[]).unwrap();
    let items: Vec<NewItem> = (0..LISTINGS)
        .map(|i| NewItem {
            target: TARGETS[i % TARGETS.len()].into(),
            kind: ItemKind::Listing,
            url: format!("http://127.0.0.1:7801/item/{i}"),
            query: None,
            page: None,
        })
        .collect();
    store.add_items(run.id, &items).unwrap();
    for (i, item) in store.pending_items(run.id).unwrap().iter().enumerate() {
        let listing = Listing {
            title: Some(format!("Orvane Cloudstep 3 replica lot {i}")),
            price: Some(20.0 + (i % 150) as f64),
            currency: Some("USD".into()),
            seller: Some(format!("seller-{}", i % 3000)),
            description: None,
            images: Vec::new(),
            seller_url: None,
        };
        store
            .complete_listing(run.id, item, &[], &listing, &[])
            .unwrap();
    }
    store.finish_run(run.id, &Default::default()).unwrap();
    let signals = |ratio: f64| -> Signals {
        serde_json::from_str(&format!(
            r#"{{"accessory_phrases": [], "counterfeit_words": ["replica"], "identity": 1.0,
            "image": null, "infringement": 0.9, "price": {{"amount": 1.0, "currency": "USD",
            "msrp": 149.0, "msrp_currency": "USD", "ratio": {ratio}}}, "seller_confirmed": 0,
            "text": {{"brand": "Orvane", "brand_disguised": false, "in_title": true,
            "phrase_share": 1.0, "product_words": ["Cloudstep 3"], "score": 0.95}}}}"#
        ))
        .unwrap()
    };
    let mut matched = 0;
    for stored in store.listings(None).unwrap() {
        if stored.id.0 % 5 >= 2 {
            continue;
        }
        let verdict = StoredVerdict {
            product_id: products[stored.id.0 as usize % products.len()].clone(),
            score: 0.5 + (stored.id.0 % 50) as f64 / 100.0,
            queued: true,
            signals: signals(stored.listing.price.unwrap_or(0.0) / 149.0),
        };
        store
            .record_verdicts(stored.id, "bench", "bench", &[verdict])
            .unwrap();
        matched += 1;
        if matched % 2 == 0 {
            let who = REVIEWERS[matched % REVIEWERS.len()];
            let decision = if matched % 3 == 0 {
                Decision::Dismiss
            } else {
                Decision::Confirm
            };
            let id = MatchId(store.listing_matches(stored.id).unwrap()[0].1);
            store.decide(id, decision, who, None).unwrap();
            if decision == Decision::Confirm && matched % 5 < 2 {
                store
                    .set_takedown(id, TakedownState::Submitted, who, "")
                    .unwrap();
                match matched % 3 {
                    1 => store.set_takedown(id, TakedownState::Removed, who, ""),
                    2 => store.set_takedown(id, TakedownState::Rejected, who, ""),
                    _ => Ok(()),
                }
                .unwrap();
            }
        }
    }
}

/// Spreads every timestamp over the last [`WEEKS`] weeks, as a store
/// filled night after night would have them (the fill wrote them all now).
fn spread_over_weeks(path: &std::path::Path) {
    let db = rusqlite::Connection::open(path).unwrap();
    let start = (Utc::now() - Duration::weeks(WEEKS)).to_rfc3339();
    let span = WEEKS * 7;
    let shift = |column: &str, key: &str| {
        format!(
            "strftime('%Y-%m-%dT%H:%M:%fZ', julianday('{start}') + ({key} % {span}) + \
             (julianday({column}) - julianday(first_at)))"
        )
    };
    db.execute_batch(&format!(
        "DROP TRIGGER audit_log_no_update;
         CREATE TEMP TABLE first_at AS SELECT MIN(first_seen) AS first_at FROM listings;
         UPDATE listings SET first_seen = {l} , last_seen = {l}
           FROM temp.first_at;
         UPDATE matches SET first_queued = {q}, decided_at = {d}, submitted_at = {s}, takedown_at = {t}
           FROM temp.first_at;
         UPDATE audit_log SET at = {a} FROM temp.first_at WHERE match_id IS NOT NULL;
         CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
        l = shift("first_seen", "id"),
        q = shift("first_queued", "listing_id"),
        d = shift("decided_at", "listing_id"),
        s = shift("submitted_at", "listing_id"),
        t = shift("takedown_at", "listing_id"),
        a = shift("at", "match_id"),
    ))
    .unwrap();
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn server_ms(page: &str) -> Option<f64> {
    let end = page.find(" ms</span>")?;
    let start = page[..end].rfind(' ')? + 1;
    page[start..end].parse().ok()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    demo::write_workspace(dir.path(), &Catalog::generate(1, 0)).unwrap();
    let mut config = config::load(dir.path()).unwrap();
    let products: Vec<String> = config
        .catalog
        .products
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let template = config.targets[0].clone();
    for name in &TARGETS[2..] {
        let mut target = template.clone();
        target.name = name.to_string();
        config.targets.push(target);
    }
    let started = Instant::now();
    {
        let store = Store::open(&config.db_path()).unwrap();
        fill(&store, &products);
    }
    spread_over_weeks(&config.db_path());
    let store = Arc::new(Store::open(&config.db_path()).unwrap());
    let report = store.report(&Default::default()).unwrap();
    println!(
        "filled in {:.0} s: {} listings, {} matches, {} confirmed, {} dismissed, {} takedowns sent, {} weekly rows",
        started.elapsed().as_secs_f64(),
        report.totals.listings,
        report.totals.matches,
        report.totals.confirmed,
        report.totals.dismissed,
        report.totals.submitted,
        report.weeks.len()
    );
    let hash = auth::hash_password(PASSWORD).unwrap();
    store.add_user("boss", Role::Admin, &hash, "bench").unwrap();

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(AppState::new(config.clone(), store.clone(), None));
    server.spawn(web::serve(state, listener));

    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    client.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = http
            .post(format!("{base}/login"))
            .form(&[("name", "boss"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_string();
        let one = format!(
            "/dashboard?since=&target={}&product={}",
            TARGETS[1], products[0]
        );
        for path in [
            "/dashboard",
            "/dashboard?since=",
            one.as_str(),
            "/report?format=json",
        ] {
            let mut wall = Vec::new();
            let mut server = Vec::new();
            for _ in 0..REQUESTS {
                let t = Instant::now();
                let response = http
                    .get(format!("{base}{path}"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "{path}");
                let body = response.text().await.unwrap();
                wall.push(t.elapsed().as_secs_f64() * 1000.0);
                server.extend(server_ms(&body));
            }
            wall.sort_by(f64::total_cmp);
            server.sort_by(f64::total_cmp);
            let server = if server.is_empty() {
                String::new()
            } else {
                format!(
                    "  server p50 {:.0} ms p95 {:.0} ms",
                    percentile(&server, 0.5),
                    percentile(&server, 0.95)
                )
            };
            println!(
                "{path:<48} wall p50 {:.0} ms  p95 {:.0} ms{server}",
                percentile(&wall, 0.5),
                percentile(&wall, 0.95)
            );
        }
    });
}
