//! Seller networks at scale: a real SQLite file holding 100,000 listings
//! by 20,000 sellers, each listing showing the contacts its seller gives
//! away — operators of three accounts sharing a phone number and one of
//! them an email with another operator (so groups chain), a support
//! address on 5% of sellers (boilerplate), every fifth listing an own
//! photo print — a quarter of the sellers with a profile page whose bio
//! gives a messenger handle away (chaining them further), and a tenth of
//! the listings matched.
//!
//! `cargo bench --bench networks` prints, as medians of five runs:
//! 1. `networks::refresh` — the regrouping after every judging pass;
//! 2. `networks::report` — what `knockoff networks` computes;
//! 3. `knockoff networks --format json` end to end (the release binary,
//!    its process start, config load and JSON output included).

use std::time::Instant;

use knockoff::config;
use knockoff::demo::{self, catalog::Catalog};
use knockoff::extract::Listing;
use knockoff::matching::contacts::{Contact, ContactKind};
use knockoff::store::{ItemKind, NewItem, Store, StoredVerdict};

const LISTINGS: usize = 100_000;
const SELLERS: usize = 20_000;
const RUNS: usize = 5;

fn contact(kind: ContactKind, value: String) -> Contact {
    Contact { kind, value }
}

/// A seller's own photo's print: 64 bits that look random (splitmix64),
/// as prints of different photos do.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What listing `i` of seller `s` shows.
fn shown(i: usize, s: usize) -> Vec<Contact> {
    let operator = s / 3;
    let mut found = vec![contact(ContactKind::Phone, format!("+4915{:09}", operator))];
    if s.is_multiple_of(3) {
        // Chains operator k to k + 1: groups of six accounts.
        let pair = operator / 2;
        found.push(contact(
            ContactKind::Email,
            format!("ops{pair}@mail.example"),
        ));
    }
    if s.is_multiple_of(20) {
        found.push(contact(
            ContactKind::Email,
            "support@marketplace-help.com".into(),
        ));
    }
    if i.is_multiple_of(5) {
        found.push(contact(
            ContactKind::Photo,
            format!("phash:{:016x}", mix(s as u64)),
        ));
    }
    found
}

fn profile_url(seller: usize) -> String {
    format!("http://127.0.0.1:7801/seller/{seller}")
}

fn fill(store: &Store, product: &str) {
    let run = store.start_run(&["shopfront".into()], None, &[]).unwrap();
    let items: Vec<NewItem> = (0..LISTINGS)
        .map(|i| NewItem {
            target: if i % 2 == 0 { "shopfront" } else { "bazaar" }.into(),
            kind: ItemKind::Listing,
            url: format!("http://127.0.0.1:7801/item/{i}"),
            query: None,
            page: None,
        })
        .collect();
    store.add_items(run.id, &items).unwrap();
    let signals: knockoff::matching::verdict::Signals = serde_json::from_str(
        r#"{"accessory_phrases": [], "counterfeit_words": ["replica"], "identity": 1.0,
            "image": null, "infringement": 0.9, "price": null, "seller_confirmed": 0,
            "text": {"brand": "Orvane", "brand_disguised": false, "in_title": true,
            "phrase_share": 1.0, "product_words": ["Cloudstep 3"], "score": 0.95}}"#,
    )
    .unwrap();
    for (i, item) in store.pending_items(run.id).unwrap().iter().enumerate() {
        let seller = i % SELLERS;
        let listing = Listing {
            title: Some(format!("Orvane Cloudstep 3 lot {i}")),
            price: Some(40.0),
            currency: Some("USD".into()),
            seller: Some(format!("seller-{seller}")),
            description: None,
            images: Vec::new(),
            seller_url: seller.is_multiple_of(4).then(|| profile_url(seller)),
        };
        store
            .complete_listing(run.id, item, &[], &listing, &[])
            .unwrap();
    }
    // The profile pages, as the crawl finishes them.
    let pages: Vec<NewItem> = (0..SELLERS)
        .step_by(4)
        .map(|s| NewItem {
            target: "shopfront".into(),
            kind: ItemKind::Seller,
            url: profile_url(s),
            query: None,
            page: None,
        })
        .collect();
    store.add_items(run.id, &pages).unwrap();
    for item in store.pending_items(run.id).unwrap() {
        let s: usize = item.url.rsplit('/').next().unwrap().parse().unwrap();
        let handle = contact(ContactKind::Messenger, format!("telegram:shop_{}", s / 8));
        store
            .complete_seller_page(run.id, &item, &[], &[handle])
            .unwrap();
    }
    for stored in store.listings(None).unwrap() {
        let i: usize = stored.url.rsplit('/').next().unwrap().parse().unwrap();
        store
            .record_contacts(stored.id, &shown(i, i % SELLERS))
            .unwrap();
        if i.is_multiple_of(10) {
            let verdict = StoredVerdict {
                product_id: product.into(),
                score: 0.9,
                queued: true,
                signals: signals.clone(),
            };
            store
                .record_verdicts(stored.id, "bench", "bench", &[verdict])
                .unwrap();
        }
    }
    store.finish_run(run.id, &Default::default()).unwrap();
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn timed(mut f: impl FnMut()) -> f64 {
    median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    demo::write_workspace(dir.path(), &Catalog::generate(1, 0)).unwrap();
    let config = config::load(dir.path()).unwrap();
    let store = Store::open(&config.db_path()).unwrap();
    let started = Instant::now();
    fill(&store, &config.catalog.products[0].id);
    println!(
        "filled {LISTINGS} listings by {SELLERS} sellers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let boilerplate = config.settings.network_boilerplate;
    let grouping = knockoff::networks::refresh(&store, boilerplate).unwrap();
    println!(
        "{} networks, {} boilerplate values",
        grouping.networks.len(),
        grouping.boilerplate.len()
    );
    let refresh = timed(|| {
        knockoff::networks::refresh(&store, boilerplate).unwrap();
    });
    println!("networks::refresh (after a judging pass): {refresh:.0} ms");
    let report = timed(|| {
        knockoff::networks::report(&store, boilerplate).unwrap();
    });
    println!("networks::report: {report:.0} ms");
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_knockoff"));
    let mut bytes = 0;
    let end_to_end = timed(|| {
        let out = std::process::Command::new(binary)
            .args(["--workspace", dir.path().to_str().unwrap()])
            .args(["networks", "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        bytes = out.stdout.len();
    });
    println!("knockoff networks --format json: {end_to_end:.0} ms ({bytes} bytes of JSON)");
}
