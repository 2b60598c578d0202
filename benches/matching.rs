//! Matching speed (criterion, one core): photo bytes to every print,
//! reference lookups at 10,000 and 1,000,000 reference prints, and judge
//! throughput with 50 products.
//!
//! `cargo bench --bench matching`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use knockoff::demo::catalog::Catalog;
use knockoff::demo::draw::{self, View};
use knockoff::index::print_reference;
use knockoff::matching::image::{listing_prints, window_prints, Print, Region, Variant, WORK_SIDE};
use knockoff::matching::references::{ReferenceIndex, ReferencePrint};
use knockoff::matching::score::{Judge, JudgedProduct, ListingFacts, MatchSettings};
use knockoff::matching::text::ProductTerms;
use knockoff::photo;
use rand::{Rng, SeedableRng};

fn photo_to_prints(c: &mut Criterion) {
    let catalog = Catalog::generate(1, 10);
    let studio = draw::render(&catalog.products[0].design, &View::studio(), 800);
    // Sensor grain (±4 levels per channel) gives the entropy coder what a
    // real photo gives it: these bytes take longer to decode than flat art.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut grainy = studio.clone();
    for value in grainy.iter_mut() {
        *value = value.saturating_add_signed(rng.random_range(-4..=4));
    }
    let mut group = c.benchmark_group("prints");
    group.throughput(Throughput::Elements(1));
    for (name, photo) in [("studio", &studio), ("studio with grain", &grainy)] {
        let jpeg = draw::jpeg(photo, 85);
        let label = format!(
            "800x800 {name} jpeg q85 4:2:0 ({} KB) to all prints",
            jpeg.len() / 1000
        );
        group.bench_function(label, |b| {
            b.iter(|| {
                let (_, small) = photo::decode_small(&jpeg, 40_000_000, WORK_SIDE).unwrap();
                listing_prints(&small)
            })
        });
    }
    // The judge's slow path, per candidate photo: decode again and print
    // every sliding window (lookups not included).
    let jpeg = draw::jpeg(&grainy, 85);
    group.sample_size(20);
    group.bench_function("800x800 with grain: slow path, every window print", |b| {
        b.iter(|| {
            let (_, small) = photo::decode_small(&jpeg, 40_000_000, WORK_SIDE).unwrap();
            window_prints(&small)
        })
    });
    group.finish();
}

/// `views` random view prints and `windows` random crop-window prints,
/// with `planted` among them.
fn synthetic_index(views: usize, windows: usize, planted: &[Print]) -> ReferenceIndex {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut prints: Vec<ReferencePrint> = (0..views + windows)
        .map(|i| ReferencePrint {
            product: (i % 1000) as u32,
            image: String::new(),
            variant: Variant::default(),
            print: Print {
                region: if i < views {
                    Region::Whole
                } else {
                    Region::Window
                },
                trimmed: false,
                phash: rng.random(),
                dhash: rng.random(),
                layout: Vec::new(),
                background: None,
            },
        })
        .collect();
    prints.extend(planted.iter().map(|p| ReferencePrint {
        product: 0,
        image: "planted.png".into(),
        variant: Variant::default(),
        print: p.clone(),
    }));
    ReferenceIndex::new(prints)
}

fn lookups(c: &mut Criterion) {
    let catalog = Catalog::generate(1, 10);
    let reference = draw::png(&catalog.reference_photo(0, 0));
    let planted: Vec<Print> = print_reference(&reference, 40_000_000)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let query = listing_prints(
        &photo::decode_small(
            &draw::jpeg(&catalog.reference_photo(0, 0), 60),
            40_000_000,
            WORK_SIDE,
        )
        .unwrap()
        .1,
    )
    .remove(0);
    let mut group = c.benchmark_group("lookup");
    // 10,000 and 1,000,000 view prints; then a brand of 1,000 reference
    // photos (about 64 views and 624 crop windows each) as the whole
    // photo's print sees it (it probes both).
    for (views, windows) in [(10_000usize, 0usize), (1_000_000, 0), (64_000, 624_000)] {
        let index = synthetic_index(views, windows, &planted);
        assert!(
            !index.lookup(&query).is_empty(),
            "the planted reference is found"
        );
        group.bench_function(
            format!("one print against {views} view prints and {windows} crop windows"),
            |b| b.iter(|| index.lookup(&query).len()),
        );
    }
    group.finish();
}

fn judging(c: &mut Criterion) {
    let catalog = Catalog::generate(1, 200);
    let mut products = Vec::new();
    let mut prints = Vec::new();
    for copy in 0..5 {
        for (p, product) in catalog.products.iter().enumerate() {
            let index = products.len() as u32;
            products.push(JudgedProduct {
                id: format!("{}-{copy}", product.id),
                terms: ProductTerms::new("Orvane", &product.name, &product.keywords),
                msrp: Some(product.msrp),
                currency: Some("USD".into()),
            });
            for view in 0..2 {
                let png = draw::png(&catalog.reference_photo(p, view));
                prints.extend(print_reference(&png, 40_000_000).unwrap().into_iter().map(
                    |(variant, print)| ReferencePrint {
                        product: index,
                        image: format!("{}/{view}.png", product.slug),
                        variant,
                        print,
                    },
                ));
            }
        }
    }
    let judge = Judge {
        products,
        references: ReferenceIndex::new(prints),
        settings: MatchSettings::default(),
        authorized_sellers: vec!["orvane-official".into()],
    };
    let facts: Vec<ListingFacts> = catalog
        .listings
        .iter()
        .map(|l| ListingFacts {
            title: l.title.clone(),
            description: l.description.clone(),
            seller: Some(l.seller.clone()),
            price: Some(l.price),
            currency: Some(l.currency.clone()),
            photos: l
                .photos
                .iter()
                .map(|p| {
                    listing_prints(
                        &photo::decode_small(&catalog.listing_photo(p), 40_000_000, WORK_SIDE)
                            .unwrap()
                            .1,
                    )
                })
                .collect(),
            seller_confirmed: 0,
            listed: None,
            relisted: None,
        })
        .collect();
    let mut group = c.benchmark_group("judge");
    group.throughput(Throughput::Elements(facts.len() as u64));
    group.bench_function("200 listings against 50 products (prints cached)", |b| {
        b.iter_batched(
            || (),
            |_| {
                facts
                    .iter()
                    .map(|f| judge.judge(f, None).len())
                    .sum::<usize>()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, photo_to_prints, lookups, judging);
criterion_main!(benches);
