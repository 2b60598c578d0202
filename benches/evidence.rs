//! Evidence speed: exporting 1,000 bundles, and verifying a 10 MB one.
//!
//! `cargo bench --bench evidence`
//!
//! A real SQLite store filled through the crawler's own store calls: 1,000
//! listings, each with its page (a 60 KB HTML body, headers, address) and
//! one 800×800 JPEG photo, each pending against one of the demo's ten
//! products (whose reference photos are real PNG files). Exported one after
//! the other on one thread; then one listing with 10 MB of captures
//! (incompressible photos) is exported and verified 20 times.

use std::time::Instant;

use chrono::Utc;
use knockoff::config;
use knockoff::demo::catalog::Catalog;
use knockoff::demo::draw::{self, View};
use knockoff::demo::{self};
use knockoff::evidence::Review;
use knockoff::extract::Listing;
use knockoff::store::{Exchange, ImageInfo, ItemKind, MatchId, NewItem, Store, StoredVerdict};
use rand::{RngCore, SeedableRng};

fn exchange(url: &str, content_type: &str, body: Vec<u8>) -> Exchange {
    Exchange {
        url: url.into(),
        method: "GET".into(),
        status: Some(200),
        request_headers: vec![
            (
                "user-agent".into(),
                "knockoff/0.1 (+https://brand.example/bot)".into(),
            ),
            ("accept".into(), "*/*".into()),
        ],
        response_headers: Some(vec![
            ("content-type".into(), content_type.into()),
            (
                "date".into(),
                httpdate::fmt_http_date(std::time::SystemTime::now()),
            ),
        ]),
        remote_addr: Some("127.0.0.1:7801".into()),
        started_at: Utc::now(),
        elapsed_ms: 12,
        body: Some(body),
        error: None,
    }
}

/// Stores `n` listings with pages and photos; returns their match ids.
fn fill(
    store: &Store,
    products: &[String],
    pages: &[Vec<u8>],
    photos: &[Vec<Vec<u8>>],
) -> Vec<MatchId> {
    let run = store.start_run(&["shopfront".into()], None, &[]).unwrap();
    let items: Vec<NewItem> = (0..pages.len())
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
        let images: Vec<String> = (0..photos[i].len())
            .map(|n| format!("http://127.0.0.1:7803/img/{i}/{n}.jpg"))
            .collect();
        let listing = Listing {
            title: Some(format!("Orvane Cloudstep 3 replica {i}")),
            price: Some(29.99),
            currency: Some("USD".into()),
            seller: Some("luxe-deals-88".into()),
            description: Some("Same as original.".into()),
            images: images.clone(),
            seller_url: None,
        };
        let image_items: Vec<NewItem> = images
            .iter()
            .map(|url| NewItem {
                target: "shopfront".into(),
                kind: ItemKind::Image,
                url: url.clone(),
                query: None,
                page: None,
            })
            .collect();
        let page = exchange(&item.url, "text/html; charset=utf-8", pages[i].clone());
        let (_, image_items) = store
            .complete_listing(run.id, item, &[page], &listing, &image_items)
            .unwrap();
        for (image, bytes) in image_items.iter().zip(&photos[i]) {
            store
                .complete_image(
                    run.id,
                    image,
                    &[exchange(&image.url, "image/jpeg", bytes.clone())],
                    &ImageInfo::default(),
                    None,
                )
                .unwrap();
        }
    }
    let signals = r#"{"accessory_phrases": [], "counterfeit_words": ["replica"], "identity": 1.0,
        "image": null, "infringement": 0.99, "price": null, "seller_confirmed": 0,
        "text": {"brand": "Orvane", "brand_disguised": false, "in_title": true,
        "phrase_share": 1.0, "product_words": ["Cloudstep 3"], "score": 0.95}}"#;
    for (i, stored) in store.listings(None).unwrap().into_iter().enumerate() {
        store
            .record_verdicts(
                stored.id,
                "bench",
                "bench",
                &[StoredVerdict {
                    product_id: products[i % products.len()].clone(),
                    score: 0.9,
                    queued: true,
                    signals: serde_json::from_str(signals).unwrap(),
                }],
            )
            .unwrap();
    }
    store
        .queue(knockoff::status::StatusFilter::All)
        .unwrap()
        .iter()
        .map(|e| MatchId(e.id))
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    demo::write_workspace(dir.path(), &Catalog::generate(1, 0)).unwrap();
    let config = config::load(dir.path()).unwrap();
    let products: Vec<String> = config
        .catalog
        .products
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let catalog = Catalog::generate(1, 0);
    let photo = draw::jpeg(
        &draw::render(&catalog.products[0].design, &View::studio(), 800),
        85,
    );
    let page = {
        let mut html = String::from(
            "<!doctype html><html><head><title>Orvane Cloudstep 3</title></head><body>",
        );
        while html.len() < 60_000 {
            html.push_str("<div class=\"row\"><span class=\"price\">US $29.99</span><p>Same as original, fast shipping.</p></div>\n");
        }
        html.push_str("</body></html>");
        html.into_bytes()
    };

    // 1,000 bundles.
    let store = Store::open(&config.db_path()).unwrap();
    let ids = fill(
        &store,
        &products,
        &vec![page.clone(); 1000],
        &vec![vec![photo.clone()]; 1000],
    );
    assert_eq!(ids.len(), 1000);
    let out = dir.path().join("evidence");
    let started = Instant::now();
    let mut bytes = 0;
    for id in &ids {
        // The bench's matches are pending: exported as unreviewed bundles.
        let path = knockoff::evidence::export(&config, &store, *id, &out, Review::Unreviewed)
            .unwrap()
            .path;
        bytes += std::fs::metadata(path).unwrap().len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "export: 1000 bundles in {seconds:.2} s ({:.1} ms each, {:.0} KB each on average)",
        seconds,
        bytes as f64 / 1000.0 / 1024.0
    );

    // One 10 MB bundle.
    let dir10 = tempfile::tempdir().unwrap();
    demo::write_workspace(dir10.path(), &Catalog::generate(1, 0)).unwrap();
    let config10 = config::load(dir10.path()).unwrap();
    let store10 = Store::open(&config10.db_path()).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    // Two photos of 2.4 MB each, stored twice (as files and in the WARC): ~10 MB.
    let big: Vec<Vec<u8>> = (0..2)
        .map(|_| {
            let mut bytes = vec![0u8; 2_400_000];
            rng.fill_bytes(&mut bytes);
            bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
            bytes
        })
        .collect();
    let id = fill(&store10, &products, &[page], &[big])[0];
    let out10 = dir10.path().join("evidence");
    let bundle = knockoff::evidence::export(&config10, &store10, id, &out10, Review::Unreviewed)
        .unwrap()
        .path;
    let size = std::fs::metadata(&bundle).unwrap().len();
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        knockoff::evidence::verify(&bundle, None).unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "verify: a {:.1} MB bundle: median {:.1} ms, max {:.1} ms (20 runs)",
        size as f64 / 1e6,
        times[10],
        times[19]
    );
}
