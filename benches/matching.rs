//! Matching speed (criterion, one core): photo bytes to every print and
//! to local features, reference lookups at 10,000 and 1,000,000
//! reference prints, the verifier against 100 reference photos, and
//! judge throughput with 50 products — with photo matches cached, and
//! with every photo matched again from its bytes.
//!
//! `cargo bench --bench matching`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use knockoff::demo::catalog::Catalog;
use knockoff::demo::draw::{self, View};
use knockoff::index::print_reference;
use knockoff::matching::features::{describe_listing, FEATURE_SIDE};
use knockoff::matching::image::{listing_prints, Print, Region, Variant, WORK_SIDE};
use knockoff::matching::references::{ReferenceIndex, ReferencePhoto, ReferencePrint};
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
    // The verifier's input, for a photo the hashes did not settle: decode
    // again at its size and describe (placement not included).
    let jpeg = draw::jpeg(&grainy, 85);
    group.bench_function("800x800 with grain: decode at 256 px", |b| {
        b.iter(|| photo::decode_longest(&jpeg, 40_000_000, FEATURE_SIDE).unwrap())
    });
    group.bench_function("800x800 with grain: decode once at both sizes", |b| {
        b.iter(|| photo::decode_both(&jpeg, 40_000_000, WORK_SIDE, FEATURE_SIDE).unwrap())
    });
    group.bench_function("800x800 with grain: local features", |b| {
        b.iter(|| {
            let (_, pixels) = photo::decode_longest(&jpeg, 40_000_000, FEATURE_SIDE).unwrap();
            describe_listing(&pixels)
        })
    });
    // What `knockoff index` does for each reference photo of a new
    // catalogue: decode, hash prints in every variant, local features as
    // is and mirrored, the dense check's thumbnail.
    let reference = draw::png(&catalog.reference_photo(0, 0));
    group.bench_function(
        "480x480 reference png to prints, features and thumbnail",
        |b| b.iter(|| print_reference(&reference, 40_000_000).unwrap()),
    );
    group.finish();
}

/// `views` random view prints with `planted` among them.
fn synthetic_index(views: usize, planted: &[Print]) -> ReferenceIndex {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut prints: Vec<ReferencePrint> = (0..views)
        .map(|i| ReferencePrint {
            product: (i % 1000) as u32,
            image: String::new(),
            variant: Variant::default(),
            print: Print {
                region: Region::Whole,
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
    ReferenceIndex::new(prints, Vec::new())
}

/// Photo `view` of each of the catalogue's products, as the reference
/// index holds them: (product, prints, photo).
fn reference_photos(catalog: &Catalog, views: usize) -> (Vec<ReferencePrint>, Vec<ReferencePhoto>) {
    let (mut prints, mut photos) = (Vec::new(), Vec::new());
    for (p, product) in catalog.products.iter().enumerate() {
        for view in 0..views {
            let png = draw::png(&catalog.reference_photo(p, view));
            let (views, features, thumbnail) = print_reference(&png, 40_000_000).unwrap();
            let image = format!("{}/{view}.png", product.slug);
            prints.extend(views.into_iter().map(|(variant, print)| ReferencePrint {
                product: p as u32,
                image: image.clone(),
                variant,
                print,
            }));
            photos.push(ReferencePhoto {
                product: p as u32,
                image,
                features,
                thumbnail,
            });
        }
    }
    (prints, photos)
}

fn lookups(c: &mut Criterion) {
    let catalog = Catalog::generate(1, 10);
    let reference = draw::png(&catalog.reference_photo(0, 0));
    let planted: Vec<Print> = print_reference(&reference, 40_000_000)
        .unwrap()
        .0
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
    // 1,300 to 1,000,000 view prints (the demo's 20 reference photos have
    // about 1,300, a brand of 1,000 reference photos about 64,000): up to
    // 8,192 they are scanned, past it looked up in the multi-index.
    for views in [1_300usize, 10_000, 16_000, 30_000, 1_000_000] {
        let index = synthetic_index(views, &planted);
        assert!(
            !index.lookup(&query).is_empty(),
            "the planted reference is found"
        );
        group.bench_function(format!("one print against {views} view prints"), |b| {
            b.iter(|| index.lookup(&query).len())
        });
    }
    group.finish();
    // The verifier: one photo's features placed against 100 reference
    // photos (as is and mirrored), the reference shown half size on a
    // banner-topped scene.
    let catalog = Catalog::generate(1, 100);
    let (prints, photos) = reference_photos(&catalog, 1);
    let index = ReferenceIndex::new(prints, photos);
    let mut listing = image::RgbImage::from_pixel(256, 256, image::Rgb([200, 60, 40]));
    let small = image::imageops::thumbnail(&catalog.reference_photo(7, 0), 150, 150);
    image::imageops::overlay(&mut listing, &small, 60, 80);
    let features = describe_listing(&listing);
    assert!(
        index
            .locate(&listing, &features)
            .iter()
            .any(|h| h.reference.product == 7 && h.is_copy()),
        "the pasted reference is placed"
    );
    let mut group = c.benchmark_group("verifier");
    group.bench_function("one photo placed against 100 reference photos", |b| {
        b.iter(|| index.locate(&listing, &features).len())
    });
    group.finish();
}

fn judging(c: &mut Criterion) {
    let catalog = Catalog::generate(1, 50);
    let products = catalog
        .products
        .iter()
        .map(|product| JudgedProduct {
            id: product.id.clone(),
            terms: ProductTerms::new("Orvane", &product.name, &product.keywords),
            msrp: Some(product.msrp),
            currency: Some("USD".into()),
        })
        .collect();
    let (prints, photos) = reference_photos(&catalog, 2);
    let judge = Judge {
        products,
        references: ReferenceIndex::new(prints, photos),
        settings: MatchSettings::default(),
        authorized_sellers: vec!["orvane-official".into()],
    };
    let listings: Vec<_> = catalog.listings.iter().take(200).collect();
    let jpegs: Vec<Vec<Vec<u8>>> = listings
        .iter()
        .map(|l| l.photos.iter().map(|p| catalog.listing_photo(p)).collect())
        .collect();
    // One photo from its bytes, as a judging with nothing cached does it.
    let match_bytes = |bytes: &[u8]| {
        let prints = listing_prints(&photo::decode_small(bytes, 40_000_000, WORK_SIDE).unwrap().1);
        let matches = judge.match_photo(&prints, || {
            photo::decode_longest(bytes, 40_000_000, FEATURE_SIDE)
                .ok()
                .map(|(_, pixels)| pixels)
        });
        (prints, matches)
    };
    let facts_of = |l: &knockoff::demo::catalog::DemoListing, photos: &[Vec<u8>]| {
        let (photos, photo_matches) = photos.iter().map(|b| match_bytes(b)).unzip();
        ListingFacts {
            title: l.title.clone(),
            description: l.description.clone(),
            seller: Some(l.seller.clone()),
            price: Some(l.price),
            currency: Some(l.currency.clone()),
            photos,
            photo_matches,
            seller_confirmed: 0,
            listed: None,
            relisted: None,
        }
    };
    let facts: Vec<ListingFacts> = listings
        .iter()
        .zip(&jpegs)
        .map(|(l, photos)| facts_of(l, photos))
        .collect();
    let mut group = c.benchmark_group("judge");
    group.throughput(Throughput::Elements(facts.len() as u64));
    group.bench_function(
        "200 listings against 50 products (photo matches cached)",
        |b| {
            b.iter(|| {
                facts
                    .iter()
                    .map(|f| judge.judge(f, None).len())
                    .sum::<usize>()
            })
        },
    );
    let photos: usize = jpegs.iter().map(Vec::len).sum();
    group.throughput(Throughput::Elements(photos as u64));
    group.sample_size(10);
    group.bench_function(
        format!("200 listings' {photos} photos matched again from their bytes"),
        |b| {
            b.iter(|| {
                jpegs
                    .iter()
                    .flatten()
                    .map(|bytes| match_bytes(bytes).1.len())
                    .sum::<usize>()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, photo_to_prints, lookups, judging);
criterion_main!(benches);
