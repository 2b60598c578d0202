//! The demo brand, its protected products and a seeded, labelled set of
//! marketplace listings: counterfeits re-using altered official photos,
//! counterfeits with their own photos, authorized resellers, other brands'
//! look-alikes, accessories naming the brand and genuine second-hand items.
//!
//! Every listing carries its truth ([`Kind`], product, transformation), so
//! the same generator feeds the demo marketplace and the matcher's accuracy
//! harness. Same seed, same catalogue, byte for byte (ChaCha8 is specified to
//! be reproducible across versions, unlike `StdRng`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::draw::{self, Background, Design, Pattern, Shape, Transform, View};

/// The seed the demo runs with.
pub const DEMO_SEED: u64 = 20261122;
/// Listings in the demo marketplace.
pub const DEMO_LISTINGS: usize = 120;
/// Size of reference photos, pixels.
pub(crate) const REFERENCE_SIZE: u32 = 480;
/// Size of listing photos before alteration, pixels.
pub const LISTING_SIZE: u32 = 400;
/// Longer side of a search card's thumbnail, as marketplaces show them.
pub(crate) const THUMBNAIL_SIZE: u32 = 200;

/// Which demo site a listing is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Site {
    /// Needs CSS selectors: no structured data.
    Shopfront,
    /// JSON-LD only.
    Bazaar,
}

/// What a listing really is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A counterfeit re-using an altered official photo.
    CopiedPhoto,
    /// A counterfeit photographed by its seller.
    OwnPhoto,
    /// A genuine product sold by an authorized seller, with official photos.
    Authorized,
    /// Another brand's product that looks alike, photographed the same way.
    Lookalike,
    /// An accessory that names the brand ("case for …").
    Accessory,
    /// A genuine product resold second-hand, own photos, fair price.
    SecondHand,
}

impl Kind {
    /// Whether a brand protection team wants this listing queued.
    pub fn is_infringing(self) -> bool {
        matches!(self, Kind::CopiedPhoto | Kind::OwnPhoto)
    }

    /// A short stable name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::CopiedPhoto => "copied_photo",
            Kind::OwnPhoto => "own_photo",
            Kind::Authorized => "authorized",
            Kind::Lookalike => "lookalike",
            Kind::Accessory => "accessory",
            Kind::SecondHand => "second_hand",
        }
    }
}

/// Where a listing photo comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoSource {
    /// An official reference photo of product `index`, view `view` (0 front, 1 side).
    Reference { product: usize, view: usize },
    /// A photo the seller took of a design.
    Own { design: Design, view: View },
}

/// One listing photo: a source, possibly altered.
#[derive(Debug, Clone, PartialEq)]
pub struct Photo {
    pub source: PhotoSource,
    pub transform: Option<Transform>,
}

/// A protected product of the demo brand.
#[derive(Debug, Clone)]
pub struct DemoProduct {
    pub id: String,
    pub name: String,
    /// Folder under reference-images/.
    pub slug: String,
    pub keywords: Vec<String>,
    pub search_queries: Vec<String>,
    pub msrp: f64,
    pub design: Design,
}

/// A listing with its truth.
#[derive(Debug, Clone)]
pub struct DemoListing {
    pub id: u32,
    pub site: Site,
    pub kind: Kind,
    /// The protected product it infringes, copies, resells or fits.
    pub product: Option<usize>,
    pub title: String,
    pub price: f64,
    pub currency: String,
    pub seller: String,
    pub description: String,
    pub photos: Vec<Photo>,
    /// Words the site's own search indexes besides the title.
    pub tags: Vec<String>,
}

impl DemoListing {
    /// The transformation of its first photo, if that photo is an altered copy.
    pub fn transform(&self) -> Option<&Transform> {
        self.photos.first().and_then(|p| p.transform.as_ref())
    }
}

/// The demo brand and marketplace contents for one seed.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub seed: u64,
    pub brand: &'static str,
    pub rights_owner: &'static str,
    pub registrations: Vec<String>,
    pub authorized_sellers: Vec<String>,
    pub products: Vec<DemoProduct>,
    pub listings: Vec<DemoListing>,
    /// What a seller's profile page on the shopfront says, by seller
    /// (a line of its own for every other seller).
    pub seller_bios: std::collections::BTreeMap<String, String>,
}

const BRAND: &str = "Orvane";

/// (id, name, slug, shape, body, accent, pattern, msrp, keywords)
type ProductRow = (
    &'static str,
    &'static str,
    &'static str,
    Shape,
    [u8; 3],
    [u8; 3],
    Pattern,
    f64,
    &'static [&'static str],
);

const PRODUCTS: [ProductRow; 10] = [
    (
        "ORV-CS3",
        "Orvane Cloudstep 3",
        "cloudstep",
        Shape::Sneaker,
        [32, 78, 168],
        [250, 186, 30],
        Pattern::Stripes {
            angle: 60.0,
            period: 0.07,
        },
        149.0,
        &["cloudstep", "cloud step"],
    ),
    (
        "ORV-TW1",
        "Orvane Tidewatch",
        "tidewatch",
        Shape::Watch,
        [18, 52, 86],
        [196, 160, 92],
        Pattern::Plain,
        329.0,
        &["tidewatch", "tide watch"],
    ),
    (
        "ORV-SKT",
        "Orvane Skyline Tote",
        "skyline-tote",
        Shape::Tote,
        [178, 48, 52],
        [238, 226, 200],
        Pattern::Checks { period: 0.09 },
        219.0,
        &["skyline tote", "skyline"],
    ),
    (
        "ORV-AB7",
        "Orvane Aero Bottle",
        "aero-bottle",
        Shape::Bottle,
        [40, 150, 120],
        [245, 245, 240],
        Pattern::Dots { period: 0.08 },
        39.0,
        &["aero bottle", "aerobottle"],
    ),
    (
        "ORV-PB2",
        "Orvane Pulse Buds",
        "pulse-buds",
        Shape::Earbuds,
        [236, 236, 236],
        [40, 170, 230],
        Pattern::Plain,
        179.0,
        &["pulse buds", "pulsebuds"],
    ),
    (
        "ORV-SBP",
        "Orvane Summit Pack",
        "summit-pack",
        Shape::Backpack,
        [84, 96, 44],
        [226, 110, 40],
        Pattern::Stripes {
            angle: 0.0,
            period: 0.1,
        },
        189.0,
        &["summit pack", "summit backpack"],
    ),
    (
        "ORV-LUM",
        "Orvane Lumen Shades",
        "lumen-shades",
        Shape::Sunglasses,
        [150, 40, 110],
        [60, 60, 66],
        Pattern::Plain,
        159.0,
        &["lumen shades", "lumen sunglasses"],
    ),
    (
        "ORV-DRH",
        "Orvane Drift Hoodie",
        "drift-hoodie",
        Shape::Hoodie,
        [96, 96, 104],
        [232, 64, 90],
        Pattern::Stripes {
            angle: 90.0,
            period: 0.12,
        },
        99.0,
        &["drift hoodie"],
    ),
    (
        "ORV-TCP",
        "Orvane Trail Cap",
        "trail-cap",
        Shape::Cap,
        [220, 196, 60],
        [30, 40, 60],
        Pattern::Checks { period: 0.12 },
        45.0,
        &["trail cap"],
    ),
    (
        "ORV-NWL",
        "Orvane Nova Wallet",
        "nova-wallet",
        Shape::Wallet,
        [104, 58, 30],
        [210, 170, 120],
        Pattern::Dots { period: 0.1 },
        119.0,
        &["nova wallet", "novawallet"],
    ),
];

/// Other brands whose products look alike.
const OTHER_BRANDS: [&str; 6] = ["Vantor", "Kestrel", "Bramwell", "Nimbo", "Halden", "Quillo"];
const COUNTERFEIT_SELLERS: [&str; 8] = [
    "luxe-deals-88",
    "best_price_mall",
    "topbrand-outlet",
    "factory-direct-shop",
    "megasale2026",
    "kingstar-trading",
    "happybuy_store",
    "ultra-bargains",
];
const PRIVATE_SELLERS: [&str; 6] = [
    "jane_d",
    "mike.resale",
    "closet-cleanout",
    "secondlife_goods",
    "tom-h",
    "preloved_by_ana",
];
const GENERIC_SELLERS: [&str; 5] = [
    "gadget-corner",
    "outdoor-supply-co",
    "urban-goods",
    "fitmarket",
    "craftline",
];
const BRAND_SPELLINGS: [&str; 6] = ["Orvane", "0rvane", "Orvne", "O-rvane", "ORVANE", "Orvanne"];
const COUNTERFEIT_WORDS: [&str; 7] = [
    "replica",
    "1:1 quality",
    "AAA grade",
    "super copy",
    "mirror quality",
    "dupe",
    "inspired by",
];

/// Every transformation counterfeiters use, in turn.
fn transform_for(
    n: usize,
    rng: &mut ChaCha8Rng,
    products: &[DemoProduct],
    own: usize,
) -> Transform {
    match n % 11 {
        0 => Transform::Recompress,
        1 => Transform::Downscale,
        2 => {
            let mut sides = [0.0f32; 4];
            let side = rng.random_range(0..4);
            sides[side] = rng.random_range(0.10..0.20);
            sides[(side + 1) % 4] = rng.random_range(0.0..0.08);
            Transform::Crop(sides)
        }
        3 => Transform::Pad {
            factor: rng.random_range(1.3..1.7),
            colour: [
                rng.random_range(150..230),
                rng.random_range(150..230),
                rng.random_range(150..230),
            ],
        },
        4 => Transform::Mirror,
        5 => Transform::Rotate(
            if rng.random_bool(0.5) { 1.0 } else { -1.0 } * rng.random_range(4.0..10.0),
        ),
        6 => Transform::Rotate90,
        7 => Transform::Watermark(
            ["SHOP4DEALS", "BEST PRICE", "LUXE88", "HOT SALE"][rng.random_range(0..4)].to_string(),
        ),
        8 => Transform::Recolour {
            hue: rng.random_range(-40..40),
            brightness: rng.random_range(-35..35),
        },
        9 => Transform::Banner(
            ["SALE 70% OFF", "FREE SHIPPING", "HOT DEAL", "LIMITED STOCK"][rng.random_range(0..4)]
                .to_string(),
        ),
        _ => {
            // The seller's other (non-protected) goods fill the other tiles,
            // so the listing's truth stays one product.
            let others = (1..4)
                .map(|k| {
                    let neighbour = &products[(own + k * 3) % products.len()].design;
                    lookalike_of(neighbour, rng, 'K')
                })
                .collect();
            Transform::Collage(others)
        }
    }
}

/// What a seller calls a product when hiding whose it is.
fn generic_noun(shape: Shape) -> &'static str {
    match shape {
        Shape::Sneaker => "running sneaker",
        Shape::Watch => "dive watch",
        Shape::Tote => "leather shopper bag",
        Shape::Bottle => "water bottle",
        Shape::Earbuds => "wireless earbuds",
        Shape::Backpack => "hiking backpack",
        Shape::Sunglasses => "sunglasses",
        Shape::Hoodie => "hooded sweatshirt",
        Shape::Cap => "baseball cap",
        Shape::Wallet => "leather wallet",
    }
}

/// What other brands' sellers call their own products of a shape.
fn crowd_noun(shape: Shape) -> &'static str {
    match shape {
        Shape::Sneaker => "trainers",
        Shape::Watch => "analog wristwatch",
        Shape::Tote => "canvas handbag",
        Shape::Bottle => "insulated flask",
        Shape::Earbuds => "bluetooth headphones",
        Shape::Backpack => "daypack",
        Shape::Sunglasses => "polarized eyewear",
        Shape::Hoodie => "fleece pullover",
        Shape::Cap => "snapback hat",
        Shape::Wallet => "card holder",
    }
}

/// A look-alike of `design`: same silhouette, other colours, pattern and logo.
fn lookalike_of(design: &Design, rng: &mut ChaCha8Rng, mark: char) -> Design {
    let colour = |rng: &mut ChaCha8Rng| {
        [
            rng.random_range(20..230),
            rng.random_range(20..230),
            rng.random_range(20..230),
        ]
    };
    let pattern = match rng.random_range(0..4) {
        0 => Pattern::Plain,
        1 => Pattern::Stripes {
            angle: rng.random_range(0.0..180.0),
            period: rng.random_range(0.05..0.14),
        },
        2 => Pattern::Dots {
            period: rng.random_range(0.06..0.12),
        },
        _ => Pattern::Checks {
            period: rng.random_range(0.06..0.14),
        },
    };
    Design {
        shape: design.shape,
        body: colour(rng),
        accent: colour(rng),
        pattern,
        mark,
    }
}

/// `n` photos a seller took of `design`, each from its own view.
fn own_photos(design: &Design, n: usize, rng: &mut ChaCha8Rng) -> Vec<Photo> {
    (0..n)
        .map(|_| Photo {
            source: PhotoSource::Own {
                design: design.clone(),
                view: own_view(rng),
            },
            transform: None,
        })
        .collect()
}

/// A seller's own photo: another angle, another background, other light.
fn own_view(rng: &mut ChaCha8Rng) -> View {
    let background = match rng.random_range(0..4) {
        0 => Background::Wood,
        1 => Background::Flat([
            rng.random_range(170..235),
            rng.random_range(170..235),
            rng.random_range(170..235),
        ]),
        2 => Background::Gradient([235, 235, 240], [150, 150, 165]),
        _ => Background::White,
    };
    View {
        angle: rng.random_range(-25.0..25.0),
        scale: rng.random_range(0.75..1.05),
        offset: (rng.random_range(-0.08..0.08), rng.random_range(-0.06..0.06)),
        background,
        light: rng.random_range(-30..30),
    }
}

/// The view of reference photo `view` (0 front, 1 side) of every product.
pub(crate) fn reference_view(view: usize) -> View {
    match view {
        0 => View::studio(),
        _ => View {
            angle: -12.0,
            scale: 0.9,
            offset: (0.02, 0.0),
            background: Background::White,
            light: -8,
        },
    }
}

fn round_price(value: f64, currency: &str) -> f64 {
    if currency == "JPY" {
        (value / 10.0).round() * 10.0 - 1.0
    } else {
        (value.floor() + 0.99).max(0.99)
    }
}

/// Rough demo exchange rates from USD.
fn from_usd(amount: f64, currency: &str) -> f64 {
    amount
        * match currency {
            "EUR" => 0.92,
            "GBP" => 0.79,
            "JPY" => 151.0,
            _ => 1.0,
        }
}

impl Catalog {
    /// The catalogue for `seed` with `n_listings` listings.
    pub fn generate(seed: u64, n_listings: usize) -> Catalog {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let products: Vec<DemoProduct> = PRODUCTS
            .iter()
            .map(
                |(id, name, slug, shape, body, accent, pattern, msrp, keywords)| {
                    let model = name.trim_start_matches("Orvane ").to_lowercase();
                    DemoProduct {
                        id: id.to_string(),
                        name: name.to_string(),
                        slug: slug.to_string(),
                        keywords: keywords.iter().map(|k| k.to_string()).collect(),
                        search_queries: vec![format!("orvane {model}")],
                        msrp: *msrp,
                        design: Design {
                            shape: *shape,
                            body: *body,
                            accent: *accent,
                            pattern: *pattern,
                            mark: 'O',
                        },
                    }
                },
            )
            .collect();
        let authorized_sellers = vec!["orvane-official".to_string(), "bigbox-retail".to_string()];
        let mut listings = Vec::with_capacity(n_listings);
        let mut n_copied = 0;
        for i in 0..n_listings {
            let id = 1000 + i as u32;
            let site = if rng.random_bool(0.5) {
                Site::Shopfront
            } else {
                Site::Bazaar
            };
            let kind = match rng.random_range(0..100) {
                0..42 => Kind::CopiedPhoto,
                42..54 => Kind::OwnPhoto,
                54..66 => Kind::Authorized,
                66..78 => Kind::Lookalike,
                78..89 => Kind::Accessory,
                _ => Kind::SecondHand,
            };
            let p = rng.random_range(0..products.len());
            let product = &products[p];
            let model = product.name.trim_start_matches("Orvane ");
            let currency = match (site, rng.random_range(0..10)) {
                (_, 0..6) => "USD",
                (Site::Bazaar, _) | (_, 6..8) => "EUR",
                (_, 8) => "GBP",
                _ => "JPY",
            };
            let price_of =
                |fraction: f64| round_price(from_usd(product.msrp * fraction, currency), currency);
            let spelling =
                |rng: &mut ChaCha8Rng| BRAND_SPELLINGS[rng.random_range(0..BRAND_SPELLINGS.len())];
            let listing = match kind {
                Kind::CopiedPhoto => {
                    let transform = transform_for(n_copied, &mut rng, &products, p);
                    n_copied += 1;
                    let word = COUNTERFEIT_WORDS[rng.random_range(0..COUNTERFEIT_WORDS.len())];
                    // One in four names neither brand nor model, to slip past
                    // text filters: only the photo gives it away.
                    let (title, description) = match rng.random_range(0..4) {
                        0 => (
                            format!("{} {model} {word} - fast shipping", spelling(&mut rng)),
                            None,
                        ),
                        1 => (
                            format!("NEW {} {model} Top Quality", spelling(&mut rng)),
                            None,
                        ),
                        2 => (format!("{model} {} style {word}", spelling(&mut rng)), None),
                        _ => (
                            format!(
                                "Premium {} {word} - fast shipping",
                                generic_noun(product.design.shape)
                            ),
                            Some(format!(
                                "{word}, same as original. Best price, ships in 3-5 days."
                            )),
                        ),
                    };
                    let mut photos = vec![Photo {
                        source: PhotoSource::Reference {
                            product: p,
                            view: 0,
                        },
                        transform: Some(transform),
                    }];
                    if rng.random_bool(0.5) {
                        photos.push(Photo {
                            source: PhotoSource::Reference {
                                product: p,
                                view: 1,
                            },
                            transform: None,
                        });
                    }
                    DemoListing {
                        id, site, kind, product: Some(p), title,
                        price: price_of(rng.random_range(0.12..0.35)),
                        currency: currency.into(),
                        seller: COUNTERFEIT_SELLERS[rng.random_range(0..COUNTERFEIT_SELLERS.len())].into(),
                        description: description.unwrap_or_else(|| format!("{word} of the {model}. Same as original, best price. Ships from warehouse in 3-5 days.")),
                        photos, tags: product.keywords.clone(),
                    }
                }
                Kind::OwnPhoto => {
                    let word = COUNTERFEIT_WORDS[rng.random_range(0..COUNTERFEIT_WORDS.len())];
                    let design = Design {
                        mark: product.design.mark,
                        ..product.design.clone()
                    };
                    let n = rng.random_range(1..3);
                    let photos = own_photos(&design, n, &mut rng);
                    DemoListing {
                        id, site, kind, product: Some(p),
                        title: format!("{} {model} {word}", spelling(&mut rng)),
                        price: price_of(rng.random_range(0.10..0.30)),
                        currency: currency.into(),
                        seller: COUNTERFEIT_SELLERS[rng.random_range(0..COUNTERFEIT_SELLERS.len())].into(),
                        description: format!("High quality {word}, looks exactly like the real {model}. Wholesale available."),
                        photos, tags: product.keywords.clone(),
                    }
                }
                Kind::Authorized => DemoListing {
                    id,
                    site,
                    kind,
                    product: Some(p),
                    title: format!("{} - Official", product.name),
                    price: price_of(rng.random_range(0.90..1.0)),
                    currency: currency.into(),
                    seller: authorized_sellers[rng.random_range(0..authorized_sellers.len())]
                        .clone(),
                    description: format!("Genuine {}. Full manufacturer warranty.", product.name),
                    photos: vec![
                        Photo {
                            source: PhotoSource::Reference {
                                product: p,
                                view: 0,
                            },
                            transform: None,
                        },
                        Photo {
                            source: PhotoSource::Reference {
                                product: p,
                                view: 1,
                            },
                            transform: None,
                        },
                    ],
                    tags: product.keywords.clone(),
                },
                Kind::Lookalike => {
                    let other = OTHER_BRANDS[rng.random_range(0..OTHER_BRANDS.len())];
                    let design = lookalike_of(
                        &product.design,
                        &mut rng,
                        other.chars().next().unwrap_or('X'),
                    );
                    let noun = product.keywords[0].split(' ').next_back().unwrap_or("item");
                    DemoListing {
                        id,
                        site,
                        kind,
                        product: Some(p),
                        title: format!(
                            "{other} {} {noun}",
                            ["Classic", "Sport", "Urban", "Everyday"][rng.random_range(0..4)]
                        ),
                        price: price_of(rng.random_range(0.30..0.70)),
                        currency: currency.into(),
                        seller: GENERIC_SELLERS[rng.random_range(0..GENERIC_SELLERS.len())].into(),
                        description: format!(
                            "The {other} {noun}, designed in-house. Two-year warranty."
                        ),
                        photos: vec![Photo {
                            source: PhotoSource::Own {
                                design,
                                view: View::studio(),
                            },
                            transform: None,
                        }],
                        tags: product.keywords.clone(),
                    }
                }
                Kind::Accessory => {
                    let (phrase, accessory_shape) = match product.design.shape {
                        Shape::Watch => ("Replacement strap fits", Shape::Wallet),
                        Shape::Earbuds => ("Silicone case for", Shape::Wallet),
                        Shape::Sneaker => ("Replacement laces for", Shape::Wallet),
                        Shape::Bottle => ("Spare lid compatible with", Shape::Cap),
                        _ => ("Rain cover compatible with", Shape::Tote),
                    };
                    let design = lookalike_of(
                        &Design {
                            shape: accessory_shape,
                            ..product.design.clone()
                        },
                        &mut rng,
                        'A',
                    );
                    DemoListing {
                        id,
                        site,
                        kind,
                        product: Some(p),
                        title: format!("{phrase} {}", product.name),
                        price: price_of(rng.random_range(0.05..0.15)),
                        currency: currency.into(),
                        seller: GENERIC_SELLERS[rng.random_range(0..GENERIC_SELLERS.len())].into(),
                        description: format!("{phrase} {}. Not made by {BRAND}.", product.name),
                        photos: vec![Photo {
                            source: PhotoSource::Own {
                                design,
                                view: View::studio(),
                            },
                            transform: None,
                        }],
                        tags: product.keywords.clone(),
                    }
                }
                Kind::SecondHand => DemoListing {
                    id,
                    site,
                    kind,
                    product: Some(p),
                    title: format!("Used {} - good condition", product.name),
                    price: price_of(rng.random_range(0.50..0.80)),
                    currency: currency.into(),
                    seller: PRIVATE_SELLERS[rng.random_range(0..PRIVATE_SELLERS.len())].into(),
                    description: format!(
                        "Bought new last year from {BRAND}, receipt included. Light signs of wear."
                    ),
                    photos: vec![Photo {
                        source: PhotoSource::Own {
                            design: product.design.clone(),
                            view: own_view(&mut rng),
                        },
                        transform: None,
                    }],
                    tags: product.keywords.clone(),
                },
            };
            listings.push(listing);
        }
        Catalog {
            seed,
            brand: BRAND,
            rights_owner: "Orvane Corp.",
            registrations: vec!["US TM 5123456".into(), "EUTM 018765432".into()],
            authorized_sellers,
            products,
            listings,
            seller_bios: Default::default(),
        }
    }

    /// Adds `operators` seller networks: operator `k` runs three accounts,
    /// `net{k}-a`, `-b` and `-c`, selling counterfeits on both sites
    /// (three of the catalogue's infringing listings, renamed), and gives
    /// away its contacts in their descriptions, each spelled its own way:
    /// `a` shows an email and a phone number, `b` the same number and a
    /// Telegram handle, `c` the handle on its profile page (the
    /// shopfront's `/seller/NAME`, read where the target names
    /// `[item] seller_url`) — one network, joined only through `b`, which also resells a genuine pair; `c` also relists `a`'s
    /// listing (its title and photos). Beside them, twelve other
    /// listings, each its own seller's (`shop{n}`), carry a marketplace's
    /// support address (boilerplate) and one a number a digit off operator
    /// 0's (a look-alike). Authorized resellers keep their names.
    pub fn with_networks(mut self, operators: usize) -> Catalog {
        let infringing: Vec<usize> = (0..self.listings.len())
            .filter(|&i| self.listings[i].kind.is_infringing())
            .collect();
        let mut used = std::collections::HashSet::new();
        for k in 0..operators {
            let phone = 12_340_000 + k as u32;
            let mut relist = None;
            let texts = [
                format!(
                    "Questions? Email net{k}.orvane@gmail.com or WhatsApp +49 151 {}",
                    phone
                ),
                format!(
                    "Wholesale: call/text 0049 151{} · Telegram: @orvane_net{k}",
                    phone
                ),
                // Account c gives its handle away on its profile page only.
                String::new(),
            ];
            for (a, text) in texts.into_iter().enumerate() {
                // Alternate the sites: a and c on one, b on the other.
                let want = if a == 1 {
                    Site::Bazaar
                } else {
                    Site::Shopfront
                };
                let Some(&i) = infringing
                    .iter()
                    .find(|&&i| self.listings[i].site == want && !used.contains(&i))
                else {
                    continue;
                };
                used.insert(i);
                if a == 0 {
                    relist = Some(self.listings[i].clone());
                }
                let listing = &mut self.listings[i];
                listing.seller = format!("net{k}-{}", ['a', 'b', 'c'][a]);
                listing.description = format!("{} {text}", listing.description)
                    .trim_end()
                    .to_string();
            }
            self.seller_bios.insert(
                format!("net{k}-c"),
                format!("Family shop since 2019. Best prices: <a href=\"https://t.me/orvane_net{k}\">Telegram</a>"),
            );
            // Account c relists account a's listing — the same photos and
            // title at another price, none of a's contacts — as operators
            // do after a takedown.
            if let Some(original) = relist {
                let id = self.listings.iter().map(|l| l.id).max().unwrap_or(999) + 1;
                self.listings.push(DemoListing {
                    id,
                    seller: format!("net{k}-c"),
                    price: (original.price * 1.1).round(),
                    ..original
                });
                used.insert(self.listings.len() - 1);
            }
            // Account b also resells a genuine pair at a fair price, which
            // no rule queues unless the network is on a seller list.
            if let Some(i) = (0..self.listings.len()).find(|&i| {
                self.listings[i].kind == Kind::SecondHand
                    && self.listings[i].site == Site::Bazaar
                    && !used.contains(&i)
            }) {
                used.insert(i);
                self.listings[i].seller = format!("net{k}-b");
            }
        }
        let others: Vec<usize> = (0..self.listings.len())
            .filter(|i| !used.contains(i) && self.listings[*i].kind != Kind::Authorized)
            .collect();
        for (n, &i) in others.iter().take(13).enumerate() {
            let listing = &mut self.listings[i];
            listing.seller = format!("shop{n}");
            let extra = if n < 12 {
                "Returns: support@marketplace-help.com".to_string()
            } else {
                // Operator 0's number with its last digit changed.
                "Tel. +49 151 12340009".to_string()
            };
            listing.description = format!("{} {extra}", listing.description);
        }
        self
    }

    /// The catalogue with `per_product` more listings for each product's
    /// search on the shopfront: other brands' products of the same kind at
    /// ordinary prices, each with three photos of its own — the crowd a
    /// real marketplace's search results mostly are.
    pub fn with_crowd(mut self, per_product: usize) -> Catalog {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0xC20D);
        let mut id = self.listings.iter().map(|l| l.id).max().unwrap_or(999) + 1;
        for (p, product) in self.products.iter().enumerate() {
            let noun = crowd_noun(product.design.shape);
            for _ in 0..per_product {
                let other = OTHER_BRANDS[rng.random_range(0..OTHER_BRANDS.len())];
                let mut design = lookalike_of(&product.design, &mut rng, 'X');
                design.mark = other.chars().next().unwrap_or('X');
                let photos = own_photos(&design, 3, &mut rng);
                let adjective = ["Classic", "Sport", "Urban", "Everyday", "Pro", "Lite"]
                    [rng.random_range(0..6)];
                self.listings.push(DemoListing {
                    id,
                    site: Site::Shopfront,
                    // Another brand's product of the same kind, as the
                    // look-alikes, but photographed as sellers do.
                    kind: Kind::Lookalike,
                    product: Some(p),
                    title: format!("{other} {adjective} {noun} {}", rng.random_range(2..40) * 5),
                    price: round_price(product.msrp * rng.random_range(0.4..1.3), "USD"),
                    currency: "USD".into(),
                    seller: GENERIC_SELLERS[rng.random_range(0..GENERIC_SELLERS.len())].into(),
                    description: format!("The {other} {noun}. Ships in two days."),
                    photos,
                    tags: product.keywords.clone(),
                });
                id += 1;
            }
        }
        self
    }

    /// The catalogue with every listing relisted `copies − 1` more times
    /// under new ids: the same title, seller and photos (the same bytes
    /// once drawn) — a marketplace of many listings over few distinct
    /// photos, as at-scale benchmarks need.
    pub fn relisted(mut self, copies: usize) -> Catalog {
        let originals = self.listings.clone();
        let mut id = originals.iter().map(|l| l.id).max().unwrap_or(999) + 1;
        for _ in 1..copies {
            for original in &originals {
                self.listings.push(DemoListing {
                    id,
                    ..original.clone()
                });
                id += 1;
            }
        }
        self
    }

    /// The listing with `id`.
    pub fn listing(&self, id: u32) -> Option<&DemoListing> {
        self.listings.iter().find(|l| l.id == id)
    }

    /// Reference photo `view` (0 front, 1 side) of product `index`, as pixels.
    pub fn reference_photo(&self, index: usize, view: usize) -> image::RgbImage {
        draw::render(
            &self.products[index].design,
            &reference_view(view),
            REFERENCE_SIZE,
        )
    }

    /// Path of a reference photo, relative to reference-images/.
    pub fn reference_path(&self, index: usize, view: usize) -> String {
        format!(
            "{}/{}.png",
            self.products[index].slug,
            ["front", "side"][view.min(1)]
        )
    }

    /// A listing photo as the marketplace serves it (JPEG bytes).
    pub fn listing_photo(&self, photo: &Photo) -> Vec<u8> {
        let quality = photo.transform.as_ref().map_or(85, |t| t.jpeg_quality());
        draw::jpeg(&self.listing_pixels(photo), quality)
    }

    /// The search card's thumbnail of a listing photo: the photo as the
    /// listing shows it, reduced to [`THUMBNAIL_SIZE`] on its longer side.
    pub(crate) fn listing_thumbnail(&self, photo: &Photo) -> Vec<u8> {
        let full = self.listing_pixels(photo);
        let scale = THUMBNAIL_SIZE as f64 / full.width().max(full.height()) as f64;
        let (w, h) = (
            ((full.width() as f64 * scale).round() as u32).max(1),
            ((full.height() as f64 * scale).round() as u32).max(1),
        );
        let small = image::imageops::resize(&full, w, h, image::imageops::FilterType::Triangle);
        draw::jpeg(&small, 80)
    }

    fn listing_pixels(&self, photo: &Photo) -> image::RgbImage {
        let base = match &photo.source {
            PhotoSource::Reference { product, view } => {
                let reference = self.reference_photo(*product, *view);
                image::imageops::resize(
                    &reference,
                    LISTING_SIZE,
                    LISTING_SIZE,
                    image::imageops::FilterType::Triangle,
                )
            }
            PhotoSource::Own { design, view } => draw::render(design, view, LISTING_SIZE),
        };
        match &photo.transform {
            Some(transform) => draw::apply(&base, transform),
            None => base,
        }
    }

    /// `reference-images/products.toml` for this catalogue.
    pub(crate) fn products_toml(&self) -> String {
        let quoted = |items: &[String]| {
            items
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!(
            "# The demo brand. Written by `knockoff demo` from its seeded generator;\n# reference photos are drawn by code, not downloaded.\n\n[brand]\nname = {:?}\nauthorized_sellers = [{}]\nrights_owner = {:?}\nregistrations = [{}]\ncontact = \"Dana Reyes, Brand Protection\"\nemail = \"brand-protection@orvane.example\"\naddress = \"1 Harbour Street, Portland, OR 97201, USA\"\n",
            self.brand,
            quoted(&self.authorized_sellers),
            self.rights_owner,
            quoted(&self.registrations)
        );
        for (i, product) in self.products.iter().enumerate() {
            out.push_str(&format!(
                "\n[[product]]\nid = {:?}\nname = {:?}\nkeywords = [{}]\nsearch_queries = [{}]\nmsrp = {:.2}\ncurrency = \"USD\"\nimages = [{:?}, {:?}]\n",
                product.id,
                product.name,
                quoted(&product.keywords),
                quoted(&product.search_queries),
                product.msrp,
                self.reference_path(i, 0),
                self.reference_path(i, 1)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_catalogue_and_every_kind_and_transform_present() {
        let a = Catalog::generate(7, 300);
        let b = Catalog::generate(7, 300);
        assert_eq!(a.listings.len(), 300);
        for (x, y) in a.listings.iter().zip(&b.listings) {
            assert_eq!(
                (x.id, &x.title, x.price, &x.photos),
                (y.id, &y.title, y.price, &y.photos)
            );
        }
        for kind in [
            Kind::CopiedPhoto,
            Kind::OwnPhoto,
            Kind::Authorized,
            Kind::Lookalike,
            Kind::Accessory,
            Kind::SecondHand,
        ] {
            assert!(
                a.listings.iter().any(|l| l.kind == kind),
                "{kind:?} missing"
            );
        }
        let transforms: std::collections::BTreeSet<&str> = a
            .listings
            .iter()
            .filter_map(|l| l.transform())
            .map(|t| t.name())
            .collect();
        assert_eq!(transforms.len(), 11, "{transforms:?}");
        assert_ne!(
            Catalog::generate(8, 300).listings[0].title,
            a.listings[0].title
        );
    }
}
