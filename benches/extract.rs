//! Extraction speed: HTML text → listing fields, on one core.
//!
//! `cargo bench --bench extract`. Pages are the demo marketplace's, padded
//! with related-product cards to 100 KB (a typical listing page), plus a
//! real Wayfair page when shared/realpages is present, a hostile page
//! nested 200,000 deep and a hostile search page of 100,000 cards; and
//! cards found with no selectors on real search pages (eBay.de, 1.6 MB;
//! Amazon.de, 2.1 MB), beside the parse alone, and on the hostile page.

use std::hint::black_box;
use std::io::Read;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use knockoff::config;
use knockoff::demo::catalog::{Catalog, Site, DEMO_SEED};
use knockoff::demo::site;
use knockoff::extract;
use url::Url;

/// Inserts related-product cards before `</body>` until the page is 100 KB.
fn pad_to_100kb(page: String) -> String {
    let mut cards = String::new();
    let mut n = 0;
    while page.len() + cards.len() < 100 * 1024 {
        cards.push_str(&format!(
            "<div class=\"card related\"><a href=\"/item/{n}?ref=rel\"><img src=\"https://cdn.example/t/{n}.jpg\" alt=\"\">\
             <span class=\"name\">Related product number {n} with a long descriptive title</span>\
             <span class=\"amount\">US ${n}.99</span></a><p>Free shipping on orders over $35. Ships in 2 days.</p></div>\n"
        ));
        n += 1;
    }
    page.replace("</body>", &format!("<section>{cards}</section></body>"))
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = config::load(root).expect("the repository root is the demo workspace");
    let shopfront_item = &config.target("shopfront").expect("demo target").item;
    let catalog = Catalog::generate(DEMO_SEED, 40);
    let cdn = Url::parse("http://127.0.0.1:7803/").unwrap();
    let url = Url::parse("http://127.0.0.1:7801/item/1").unwrap();
    let shop = catalog
        .listings
        .iter()
        .find(|l| l.site == Site::Shopfront)
        .unwrap();
    // A JSON-LD page (some bazaar pages keep the listing in a script).
    let bazaar = catalog
        .listings
        .iter()
        .find(|l| l.site == Site::Bazaar && l.id % 5 < 3)
        .unwrap();
    let shop_page = pad_to_100kb(site::shopfront_page(&cdn, shop));
    let bazaar_page = pad_to_100kb(site::bazaar_page(&cdn, bazaar));

    let mut group = c.benchmark_group("extract");
    group.throughput(Throughput::Elements(1));
    group.bench_function("selectors, 100 KB shopfront page", |b| {
        b.iter(|| extract::listing(black_box(&shop_page), &url, Some(shopfront_item)))
    });
    group.bench_function("json-ld, 100 KB bazaar page", |b| {
        b.iter(|| extract::listing(black_box(&bazaar_page), &url, None))
    });
    let wayfair = root.join("../shared/realpages/msshop_wayfair.html.gz");
    if wayfair.exists() {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(wayfair).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        let wayfair_url = Url::parse("https://www.wayfair.com/x").unwrap();
        group.bench_function("decode + json-ld, real 620 KB Wayfair page", |b| {
            b.iter(|| {
                let (html, _) =
                    extract::decode_html(black_box(&bytes), Some("text/html; charset=utf-8"));
                extract::listing(&html, &wayfair_url, None)
            })
        });
    }
    // A hostile page: 200,000 nested <div>s (2.2 MB). Unbudgeted, html5ever's
    // scope checks made this minutes of CPU; the parse budget reads it up
    // to depth 512.
    let deep = format!(
        "<html><head><meta property=\"og:title\" content=\"Deep\"></head><body>{}</body></html>",
        "<div>".repeat(200_000)
    );
    group.sample_size(10);
    group.bench_function("hostile: 200,000 nested divs (2.2 MB)", |b| {
        b.iter(|| extract::listing(black_box(&deep), &url, None))
    });
    // A hostile search page: 100,000 cards, each a listing of its own
    // (about 4.8 MB). The crawl reads the first 500.
    let results = config
        .target("shopfront")
        .and_then(|t| t.results.clone())
        .expect("the demo shopfront reads its cards");
    let cards: String = (0..100_000)
        .map(|n| {
            format!(
                "<div class=\"result\"><a class=\"title\" href=\"/item/{n}\">Orvane replica {n}</a>\
                 <span class=\"price\">$1.00</span></div>"
            )
        })
        .collect();
    let flood = format!("<html><body>{cards}</body></html>");
    let search_url = Url::parse("http://127.0.0.1:7801/search?q=orvane").unwrap();
    group.bench_function("hostile: a search page of 100,000 cards (4.8 MB)", |b| {
        b.iter(|| extract::cards(black_box(&flood), &search_url, &results))
    });
    group.bench_function(
        "hostile: a search page of 100,000 cards (4.8 MB), automatic",
        |b| b.iter(|| extract::search_page(black_box(&flood), &search_url, None)),
    );
    // Cards found with no selectors on real search pages, beside the
    // parse alone: the difference is what finding them costs.
    for (name, url) in [
        (
            "ebay_search_parsy-ebayde",
            "https://shop-3.example/sch/i.html?_nkw=apple",
        ),
        (
            "amazon_search_parsy-amazonde",
            "https://shop-3.example/s?k=cat+food",
        ),
    ] {
        let path = root.join(format!("../shared/realpages/{name}.html.gz"));
        if !path.exists() {
            continue;
        }
        let mut html = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut html)
            .unwrap();
        let url = Url::parse(url).unwrap();
        let size = format!("{:.1} MB", html.len() as f64 / 1e6);
        group.bench_function(format!("parse only, real {size} {name}"), |b| {
            b.iter(|| scraper::Html::parse_document(black_box(&html)))
        });
        group.bench_function(format!("automatic cards, real {size} {name}"), |b| {
            b.iter(|| extract::search_page(black_box(&html), &url, None))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
