//! The review UI under load, over real HTTP on loopback, against a real
//! SQLite file holding 10,000 pending matches (5,000 listings × 2
//! products), then 20,000 for the load test.
//!
//! `cargo bench --bench review` (KNOCKOFF_BENCH_SECONDS sets the load
//! test's length, default 30; KNOCKOFF_BENCH_REVIEWERS its width, default
//! 50; KNOCKOFF_BENCH_STORE_URL=postgres://… runs it on that empty
//! PostgreSQL database instead of a SQLite file; with it,
//! KNOCKOFF_BENCH_SCALE=100 copies the 10,000 listings a hundred times on
//! the server, each copy's matches decided at random (60% left pending),
//! before the load test: a 1,000,000-listing store).
//!
//! 1. Queue page server time (the page reports it) at the first, middle and
//!    last page it lists: p50 and p95 of 50 requests each.
//! 2. Load: every reviewer signs in, then loops — open a random queue page,
//!    decide one match on it (confirm or dismiss, half the time one another
//!    reviewer may be deciding too), open a match page — for the duration,
//!    twice: with no pause between requests (what the machine can serve),
//!    then pausing KNOCKOFF_BENCH_THINK_MS (default 1,000, ± half) after
//!    each (a team deciding briskly). Reports requests, errors, p50/p99
//!    latency per kind of request and overall, and checks the store: every
//!    accepted decision is stored, no match has two decisions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use knockoff::config;
use knockoff::demo::{self, catalog::Catalog};
use knockoff::extract::Listing;
use knockoff::matching::verdict::Signals;
use knockoff::status::{MatchStatus, QueueSort};
use knockoff::store::{ItemKind, MatchId, NewItem, Role, Store, StoredVerdict};
use knockoff::web::{self, auth, AppState};
use rand::{Rng, SeedableRng};

/// Listings for the page-time measurement (× 2 products = 10,000 pending).
const LISTINGS: usize = 5_000;
/// Listings for the load test: enough that 30 s of deciding never empties
/// the queue (an empty queue would flatter the numbers).
const LOAD_LISTINGS: usize = 10_000;
const PASSWORD: &str = "bench password 123";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Listings `from..to` stored, each pending against two products.
fn fill(store: &Store, products: &[String], from: usize, to: usize) {
    let run = store.start_run(&["shopfront".into()], None, &[]).unwrap();
    let items: Vec<NewItem> = (from..to)
        .map(|i| NewItem {
            target: "shopfront".into(),
            kind: ItemKind::Listing,
            url: format!("http://127.0.0.1:7801/item/{i}"),
            query: None,
            page: None,
        })
        .collect();
    store.add_items(run.id, &items).unwrap();
    for (i, item) in (from..).zip(store.pending_items(run.id).unwrap().iter()) {
        let listing = Listing {
            title: Some(format!("Orvane Cloudstep 3 replica AAA grade lot {i}")),
            price: Some(20.0 + (i % 50) as f64),
            currency: Some("USD".into()),
            seller: Some(format!("seller-{}", i % 300)),
            description: Some("Same as original. Fast shipping.".into()),
            images: vec![format!("http://127.0.0.1:7803/img/{i}.jpg")],
            seller_url: None,
        };
        store
            .complete_listing(run.id, item, &[], &listing, &[])
            .unwrap();
    }
    // Signals as the matcher stores them, so the page renders real reasons.
    let signals = r#"{"accessory_phrases": [], "counterfeit_words": ["replica", "same as original"],
        "identity": 1.0, "image": {"dhash_distance": 1, "layout_distance": 3.3, "phash_distance": 2,
        "photo": 1, "reference": "cloudstep/front.png", "strength": 1.0, "variant": "mirror",
        "view": "whole photo, trimmed"}, "infringement": 0.99, "price": {"amount": 37.99,
        "currency": "USD", "msrp": 149.0, "msrp_currency": "USD", "ratio": 0.25},
        "seller_confirmed": 0, "text": {"brand": "O rvane", "brand_disguised": true, "in_title": true,
        "phrase_share": 1.0, "product_words": ["Cloudstep 3"], "score": 0.95}}"#;
    assert!(serde_json::from_str::<Signals>(signals).is_ok());
    store.finish_run(run.id, &Default::default()).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(from as u64);
    // Listings already judged keep their entries (re-recording updates them).
    for stored in store.listings(None).unwrap() {
        let verdicts: Vec<StoredVerdict> = products[..2]
            .iter()
            .map(|p| StoredVerdict {
                product_id: p.clone(),
                score: rng.random_range(0.5..1.0),
                queued: true,
                signals: serde_json::from_str(signals).unwrap(),
            })
            .collect();
        store
            .record_verdicts(stored.id, "bench", "bench", &verdicts)
            .unwrap();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(4)
        .build()
        .unwrap()
}

async fn sign_in(base: &str, name: &str) -> String {
    let response = client()
        .post(format!("{base}/login"))
        .form(&[("name", name), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{name} signs in");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

fn server_ms(page: &str) -> f64 {
    let end = page.find(" ms</span>").expect("the page reports its time");
    let start = page[..end].rfind(' ').unwrap() + 1;
    page[start..end].parse().unwrap()
}

fn ids_on(page: &str) -> Vec<i64> {
    page.match_indices("data-id=\"")
        .filter_map(|(at, m)| {
            let rest = &page[at + m.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect()
}

fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 64].to_string()
}

/// Grows a PostgreSQL store filled by [`fill`] to `scale` times its
/// listings, on the server (a million listings through the store's API
/// would take an hour of commits): each copy under a URL of its own,
/// its seller one of 50 namesakes, its matches decided at random (60%
/// pending) with new scores.
fn grow(url: &str, scale: usize) {
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let started = Instant::now();
    db.batch_execute(&format!(
        "INSERT INTO listings (url, target, title, price, currency, seller, description, images,
           content_hash, first_seen, last_seen, last_changed, first_run, last_run, changed_run, stage)
         SELECT url || '?copy=' || g, target, title, price, currency, seller || '-' || (g % 50),
           description, images, content_hash, first_seen, last_seen, last_changed, first_run,
           last_run, changed_run, stage
         FROM listings, generate_series(1, {}) g;
         INSERT INTO matches (listing_id, product_id, status, score, signals, material_key,
           first_queued, updated_at, decided_at, decided_by)
         SELECT copy.id, m.product_id, s.status, 0.5 + random() * 0.5, m.signals, m.material_key,
           m.first_queued, m.updated_at,
           CASE WHEN s.status = 'pending' THEN NULL ELSE m.updated_at END,
           CASE WHEN s.status = 'pending' THEN NULL ELSE 'r' || (copy.id % 50) END
         FROM listings copy
         JOIN listings original ON original.url = split_part(copy.url, '?copy=', 1)
         JOIN matches m ON m.listing_id = original.id
         CROSS JOIN LATERAL (SELECT CASE WHEN random() < 0.6 THEN 'pending'
             WHEN random() < 0.5 THEN 'confirmed' ELSE 'dismissed' END AS status
           WHERE copy.id > 0) s
         WHERE copy.url LIKE '%?copy=%';",
        scale - 1
    ))
    .unwrap();
    // As autovacuum leaves a table that is mostly read.
    db.batch_execute("VACUUM ANALYZE").unwrap();
    let listings: i64 = db
        .query_one("SELECT COUNT(*) FROM listings", &[])
        .unwrap()
        .get(0);
    println!(
        "grew the store to {listings} listings in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// Prints the queue page's server time at the first, middle and last page
/// it lists, in each order a reviewer can choose.
async fn page_times(base: &str, cookie: &str, pending: usize) {
    let pages = pending
        .min(knockoff::store::QUEUE_DEPTH)
        .div_ceil(web::PAGE_SIZE);
    println!("queue page, server time, {pending} pending, 20 requests each:");
    for &sort in QueueSort::ALL {
        for page in [1, pages / 2, pages] {
            let mut times = Vec::new();
            for _ in 0..20 {
                let body = client()
                    .get(format!("{base}/?sort={}&page={page}", sort.as_str()))
                    .header("cookie", cookie)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert_eq!(ids_on(&body).len(), web::PAGE_SIZE, "page {page} is full");
                times.push(server_ms(&body));
            }
            times.sort_by(f64::total_cmp);
            println!(
                "  {:>10}, page {page:>4} of {pages}: p50 {:.2} ms  p95 {:.2} ms",
                sort.as_str(),
                percentile(&times, 0.5),
                percentile(&times, 0.95)
            );
        }
    }
}

fn main() {
    let seconds: u64 = std::env::var("KNOCKOFF_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let think = Duration::from_millis(
        std::env::var("KNOCKOFF_BENCH_THINK_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000),
    );
    let reviewers: usize = std::env::var("KNOCKOFF_BENCH_REVIEWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    demo::write_workspace(dir.path(), &Catalog::generate(1, 0)).unwrap();
    let config = config::load(dir.path()).unwrap();
    let store_url = std::env::var("KNOCKOFF_BENCH_STORE_URL").ok();
    let scale: usize = std::env::var("KNOCKOFF_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    assert!(
        scale == 1 || store_url.is_some(),
        "KNOCKOFF_BENCH_SCALE needs KNOCKOFF_BENCH_STORE_URL"
    );
    let store = Arc::new(match &store_url {
        Some(url) => Store::open_postgres(&url.parse().unwrap()).unwrap(),
        None => Store::open(&config.db_path()).unwrap(),
    });
    let products: Vec<String> = config
        .catalog
        .products
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let started = Instant::now();
    fill(&store, &products, 0, LISTINGS);
    println!(
        "filled {} pending matches in {:.1} s",
        store.pending_count().unwrap(),
        started.elapsed().as_secs_f64()
    );
    let hash = auth::hash_password(PASSWORD).unwrap();
    for n in 0..reviewers {
        store
            .add_user(&format!("r{n}"), Role::Reviewer, &hash, "bench")
            .unwrap();
    }

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

    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    clients.block_on(async {
        // 1. Server time of the queue page at any offset.
        let cookie = sign_in(&base, "r0").await;
        page_times(&base, &cookie, 10_000).await;
        let more = store.clone();
        let products = products.clone();
        tokio::task::spawn_blocking(move || fill(&more, &products, LISTINGS, LOAD_LISTINGS))
            .await
            .unwrap();
        page_times(&base, &cookie, 2 * LOAD_LISTINGS).await;
        if scale > 1 {
            let url = store_url.clone().unwrap();
            tokio::task::spawn_blocking(move || grow(&url, scale))
                .await
                .unwrap();
            let counted = store.clone();
            let pending = tokio::task::spawn_blocking(move || counted.pending_count().unwrap())
                .await
                .unwrap();
            page_times(&base, &cookie, pending).await;
        }

        // 2. Load. Everyone signs in first: argon2 is meant to be slow,
        // and the bar is about browsing and deciding.
        let mut cookies = Vec::new();
        for n in 0..reviewers {
            cookies.push(sign_in(&base, &format!("r{n}")).await);
        }
        let mut accepted: HashMap<i64, Vec<String>> = HashMap::new();
        let mut errors = Vec::new();
        for think in [Duration::ZERO, think] {
            let (a, e) = load(&base, &cookies, seconds, think).await;
            for (id, who) in a {
                accepted.entry(id).or_default().extend(who);
            }
            errors.extend(e);
        }

        // Every accepted decision is stored, once (read off the runtime:
        // the store's PostgreSQL client blocks).
        let store = store.clone();
        tokio::task::spawn_blocking(move || check_decisions(&store, &accepted))
            .await
            .unwrap();
        assert!(errors.is_empty(), "{errors:?}");
    });
}

/// Every reviewer in a loop for `seconds` — open a random queue page,
/// decide one match on it, open a match page — pausing `think` (± half)
/// after each request; prints latencies per kind of request and overall.
/// Returns who had each decision accepted, and the errors.
async fn load(
    base: &str,
    cookies: &[String],
    seconds: u64,
    think: Duration,
) -> (HashMap<i64, Vec<String>>, Vec<String>) {
    let reviewers = cookies.len();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (n, cookie) in cookies.iter().cloned().enumerate() {
        let base = base.to_string();
        tasks.push(tokio::spawn(async move {
            let name = format!("r{n}");
            let http = client();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(n as u64);
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            let mut accepted: Vec<i64> = Vec::new();
            let mut refused = 0usize;
            let timed = |started: Instant, latencies: &mut Vec<(&str, f64)>, what| {
                latencies.push((what, started.elapsed().as_secs_f64() * 1000.0))
            };
            let pause = |rng: &mut rand_chacha::ChaCha8Rng| {
                tokio::time::sleep(think.mul_f64(rng.random_range(0.5..1.5)))
            };
            // Reviewers do not start in step: each begins within one pause.
            tokio::time::sleep(think.mul_f64(rng.random_range(0.0..1.0))).await;
            while Instant::now() < deadline {
                let page = rng.random_range(1..=40);
                let t = Instant::now();
                let response = http
                    .get(format!("{base}/?page={page}"))
                    .header("cookie", &cookie)
                    .send()
                    .await;
                let body = match response {
                    Ok(r) if r.status() == 200 => r.text().await.unwrap_or_default(),
                    Ok(r) => {
                        errors.push(format!("queue page: {}", r.status()));
                        continue;
                    }
                    Err(e) => {
                        errors.push(format!("queue page: {e}"));
                        continue;
                    }
                };
                timed(t, &mut latencies, "queue page");
                pause(&mut rng).await;
                let ids = ids_on(&body);
                if ids.is_empty() {
                    continue;
                }
                // Half the time the top of the page, where others look too.
                let id = if rng.random_bool(0.5) {
                    ids[0]
                } else {
                    ids[rng.random_range(0..ids.len())]
                };
                let action = if rng.random_bool(0.5) {
                    "confirm"
                } else {
                    "dismiss"
                };
                let t = Instant::now();
                let token = csrf(&body);
                let response = http
                    .post(format!("{base}/match/{id}/{action}"))
                    .header("cookie", &cookie)
                    .form(&[("csrf", token.as_str()), ("back", "/")])
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 303 => accepted.push(id),
                    // Another reviewer decided it first: refused, as it should be.
                    Ok(r) if r.status() == 409 => refused += 1,
                    Ok(r) => errors.push(format!("{action}: {}", r.status())),
                    Err(e) => errors.push(format!("{action}: {e}")),
                }
                timed(t, &mut latencies, "decision");
                pause(&mut rng).await;
                let t = Instant::now();
                match http
                    .get(format!("{base}/match/{id}"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        timed(t, &mut latencies, "match page");
                    }
                    Ok(r) => errors.push(format!("match page: {}", r.status())),
                    Err(e) => errors.push(format!("match page: {e}")),
                }
                pause(&mut rng).await;
            }
            (name, latencies, errors, accepted, refused)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    let mut accepted: HashMap<i64, Vec<String>> = HashMap::new();
    let mut refused = 0;
    for task in tasks {
        let (name, l, e, a, r) = task.await.unwrap();
        refused += r;
        latencies.extend(l);
        errors.extend(e);
        for id in a {
            accepted.entry(id).or_default().push(name.clone());
        }
    }
    for what in ["queue page", "decision", "match page"] {
        let mut these: Vec<f64> = latencies
            .iter()
            .filter(|(w, _)| *w == what)
            .map(|(_, ms)| *ms)
            .collect();
        these.sort_by(f64::total_cmp);
        println!(
            "  {what}: {} requests, p50 {:.1} ms, p99 {:.1} ms",
            these.len(),
            percentile(&these, 0.5),
            percentile(&these, 0.99)
        );
    }
    let mut latencies: Vec<f64> = latencies.into_iter().map(|(_, ms)| ms).collect();
    latencies.sort_by(f64::total_cmp);
    println!(
            "load: {reviewers} reviewers for {seconds} s, {} ms between requests: {} requests ({:.0}/s), {} errors, \
             {refused} decisions refused (another reviewer's came first), \
             p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            think.as_millis(),
            latencies.len() + errors.len() + refused,
            (latencies.len() + errors.len() + refused) as f64 / seconds as f64,
            errors.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(f64::NAN)
        );
    for error in errors.iter().take(5) {
        println!("  error: {error}");
    }

    (accepted, errors)
}

/// Every accepted decision is stored, once; prints how many raced.
fn check_decisions(store: &Store, accepted: &HashMap<i64, Vec<String>>) {
    let mut decisions: HashMap<i64, usize> = HashMap::new();
    for row in store.audit_log(None).unwrap() {
        if matches!(row.action.as_str(), "confirmed" | "dismissed") {
            *decisions.entry(row.match_id.unwrap()).or_default() += 1;
        }
    }
    let doubled = decisions.values().filter(|&&n| n > 1).count();
    let lost = accepted
        .keys()
        .filter(|&&id| {
            store
                .review_entry(MatchId(id))
                .unwrap()
                .unwrap()
                .entry
                .status
                == MatchStatus::Pending
        })
        .count();
    let raced = accepted.values().filter(|who| who.len() > 1).count();
    println!(
        "decisions: {} matches decided, {} decided by two reviewers at once (one wins), \
         {lost} lost, {doubled} doubled",
        decisions.len(),
        raced
    );
    assert_eq!((lost, doubled), (0, 0));
}
