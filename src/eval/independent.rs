//! A second labelled set, written apart from `demo::catalog` so the judge
//! is measured on listings nobody tuned it on: `knockoff eval --set
//! independent`.
//!
//! What differs from the demo generator, on purpose: another brand and
//! product range (kitchen, audio, furniture; MSRPs of €39–€899, listings in
//! EUR, GBP and USD at this module's own exchange rates), other drawing
//! (products composed of shaded, striped shapes, photographed on a seamless
//! backdrop with a shadow, or re-shot in cluttered scenes with sensor
//! grain), other title styles (marketplace promotions, brackets, several
//! languages, brand spellings the demo never uses, counterfeit vocabulary
//! beyond the judge's default list), and other price bands (copies of the
//! official photo at 12–55% of MSRP, often without any counterfeit word).
//! The counterfeiters' photo tricks are the real-photograph set's
//! ([`super::photos::trick`]), with generated scenes as backgrounds.
//!
//! Nothing is tuned on this set: its numbers are reported as they come.

use std::path::Path;

use anyhow::{Context, Result};
use image::{Rgb, RgbImage};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::photos::{trick, TRICKS};
use super::{LabelledListing, LabelledSet};
use crate::demo::draw;

const BRAND: &str = "Halvard";
const AUTHORIZED: [&str; 2] = ["halvard-store", "nordic-kitchen-co"];
/// Side of the photos this generator paints.
const SIDE: u32 = 720;

/// (id, model, category, short noun, spec, MSRP in EUR)
const PRODUCTS: [(&str, &str, &str, &str, &str, f64); 8] = [
    (
        "HV-FJ1",
        "Fjord",
        "Electric Kettle",
        "kettle",
        "1.7 L",
        89.0,
    ),
    ("HV-RD2", "Ridge", "Vacuum Flask", "flask", "750 ml", 39.0),
    (
        "HV-LM3",
        "Lumen",
        "Table Lamp",
        "lamp",
        "dimmable LED",
        149.0,
    ),
    (
        "HV-PL4",
        "Pulse",
        "Bluetooth Speaker",
        "speaker",
        "20 W",
        199.0,
    ),
    ("HV-AR5", "Arc", "Lounge Chair", "chair", "oak frame", 899.0),
    (
        "HV-DR6",
        "Drift",
        "Mug Set",
        "mugs",
        "4 pcs stoneware",
        45.0,
    ),
    ("HV-CR7", "Crest", "Chef's Knife", "knife", "20 cm", 129.0),
    ("HV-NV8", "Nova", "Headphones", "headphones", "ANC", 279.0),
];

/// Other brands: look-alikes and unrelated goods.
const OTHER_BRANDS: [&str; 5] = ["Vellum", "Kastor", "Brisa", "Nordik Home", "Oakfield"];
const OTHER_MODELS: [&str; 6] = ["Aster", "Breeze", "Cove", "Dune", "Ember", "Flint"];
const UNRELATED: [&str; 6] = [
    "Garden Hose 20 m",
    "Yoga Mat 6 mm",
    "Bike Lock U-Shape",
    "Kids Raincoat",
    "Desk Organizer Bamboo",
    "Dog Leash Reflective",
];
const TAGLINES: [&str; 7] = [
    "Free shipping",
    "Envío gratis",
    "Kostenloser Versand",
    "Fast dispatch from EU",
    "Top seller",
    "Limited stock",
    "Gift idea",
];
const PROMOS: [&str; 4] = ["Hot Sale", "Flash Deal", "2025 NEW", "Clearance"];
const COLOURS: [&str; 5] = ["Black", "Sage Green", "Matte White", "Sand", "Navy"];
/// How counterfeiters say it, some of it beyond the judge's default list.
const COUNTERFEIT_TALK: [&str; 8] = [
    "AAA quality",
    "1:1",
    "replica",
    "réplica",
    "mirror version",
    "top version, same factory",
    "OEM",
    "unbranded",
];
/// This generator's own exchange rates from EUR (not the judge's table).
const RATES: [(&str, f64); 3] = [("EUR", 1.0), ("GBP", 0.85), ("USD", 1.08)];

/// A shape of a product design, in product coordinates (−1..1).
#[derive(Debug, Clone)]
struct Shape {
    kind: ShapeKind,
    centre: (f32, f32),
    radii: (f32, f32),
    /// Radians.
    angle: f32,
    colour: [u8; 3],
    /// Stripes across the shape: (count, colour).
    stripes: Option<(f32, [u8; 3])>,
}

#[derive(Debug, Clone, Copy)]
enum ShapeKind {
    Ellipse,
    Slab,
    Wedge,
}

#[derive(Debug, Clone)]
struct Design {
    shapes: Vec<Shape>,
}

/// Where and how the product stands in a photo.
#[derive(Debug, Clone, Copy)]
struct Pose {
    /// Product radius as a share of the photo's side.
    scale: f32,
    centre: (f32, f32),
    /// Radians.
    angle: f32,
    /// Light from the left (−1) to the right (1).
    light: f32,
}

#[derive(Debug, Clone)]
enum Backdrop {
    /// A studio's seamless paper: a vertical gradient, with a shadow.
    Seamless([u8; 3], [u8; 3]),
    /// A room: a diagonal gradient with soft blobs of furniture and light.
    Scene {
        from: [u8; 3],
        to: [u8; 3],
        blobs: Vec<(f32, f32, f32, [u8; 3])>,
    },
}

fn random_colour(rng: &mut ChaCha8Rng) -> [u8; 3] {
    [0; 3].map(|_| rng.random_range(20..235u8))
}

fn random_design(rng: &mut ChaCha8Rng) -> Design {
    let palette = [random_colour(rng), random_colour(rng), random_colour(rng)];
    let n = rng.random_range(3..=6);
    let kinds = [ShapeKind::Ellipse, ShapeKind::Slab, ShapeKind::Wedge];
    let shapes = (0..n)
        .map(|i| Shape {
            kind: *kinds.choose(rng).unwrap_or(&ShapeKind::Slab),
            centre: (rng.random_range(-0.45..0.45), rng.random_range(-0.5..0.5)),
            radii: if i == 0 {
                (rng.random_range(0.45..0.7), rng.random_range(0.5..0.8))
            } else {
                (rng.random_range(0.12..0.45), rng.random_range(0.1..0.45))
            },
            angle: rng.random_range(-0.8..0.8),
            colour: palette[i % palette.len()],
            stripes: rng
                .random_bool(0.3)
                .then(|| (rng.random_range(3.0..9.0), random_colour(rng))),
        })
        .collect();
    Design { shapes }
}

/// Another maker's take on `design`: the same kind of object, its parts
/// moved and resized a little, other colours.
fn lookalike(design: &Design, rng: &mut ChaCha8Rng) -> Design {
    let mut shapes = design.shapes.clone();
    let recolour = [random_colour(rng), random_colour(rng), random_colour(rng)];
    for (i, shape) in shapes.iter_mut().enumerate() {
        let jitter = |rng: &mut ChaCha8Rng, v: f32| v * rng.random_range(0.8..1.25);
        shape.centre = (
            shape.centre.0 + rng.random_range(-0.12..0.12),
            shape.centre.1 + rng.random_range(-0.12..0.12),
        );
        shape.radii = (jitter(rng, shape.radii.0), jitter(rng, shape.radii.1));
        shape.angle += rng.random_range(-0.3..0.3);
        if rng.random_bool(0.7) {
            shape.colour = recolour[i % recolour.len()];
        }
    }
    if shapes.len() > 3 && rng.random_bool(0.5) {
        shapes.pop();
    }
    Design { shapes }
}

/// A part sold for the product: one or two of its shapes, small.
fn accessory(design: &Design, rng: &mut ChaCha8Rng) -> Design {
    let mut shapes: Vec<Shape> = design
        .shapes
        .iter()
        .skip(rng.random_range(0..design.shapes.len()))
        .take(2)
        .cloned()
        .collect();
    for shape in &mut shapes {
        shape.centre = (shape.centre.0 * 0.3, shape.centre.1 * 0.3);
        shape.radii = (shape.radii.0.max(0.3), shape.radii.1.max(0.25));
    }
    Design { shapes }
}

fn studio_pose(view: usize) -> Pose {
    match view {
        0 => Pose {
            scale: 0.36,
            centre: (0.5, 0.48),
            angle: 0.0,
            light: -0.6,
        },
        _ => Pose {
            scale: 0.3,
            centre: (0.52, 0.5),
            angle: 0.35,
            light: 0.5,
        },
    }
}

fn random_pose(rng: &mut ChaCha8Rng) -> Pose {
    Pose {
        scale: rng.random_range(0.22..0.4),
        centre: (rng.random_range(0.35..0.65), rng.random_range(0.35..0.65)),
        angle: rng.random_range(-0.6..0.6),
        light: rng.random_range(-1.0..1.0),
    }
}

fn random_scene(rng: &mut ChaCha8Rng) -> Backdrop {
    let blobs = (0..rng.random_range(3..8))
        .map(|_| {
            (
                rng.random_range(0.0..1.0),
                rng.random_range(0.0..1.0),
                rng.random_range(0.08..0.35),
                random_colour(rng),
            )
        })
        .collect();
    Backdrop::Scene {
        from: random_colour(rng),
        to: random_colour(rng),
        blobs,
    }
}

fn seamless(rng: &mut ChaCha8Rng) -> Backdrop {
    let top = rng.random_range(225..250u8);
    let bottom = top - rng.random_range(10..35u8);
    Backdrop::Seamless([top; 3], [bottom, bottom, bottom.saturating_add(4)])
}

/// Whether product-space point (u, v) is inside `shape`, and where along
/// its height (−1 top .. 1 bottom) and width.
fn inside(shape: &Shape, u: f32, v: f32) -> Option<(f32, f32)> {
    let (sin, cos) = shape.angle.sin_cos();
    let (du, dv) = (u - shape.centre.0, v - shape.centre.1);
    let x = (du * cos + dv * sin) / shape.radii.0;
    let y = (-du * sin + dv * cos) / shape.radii.1;
    let hit = match shape.kind {
        ShapeKind::Ellipse => x * x + y * y <= 1.0,
        ShapeKind::Slab => x.abs() <= 1.0 && y.abs() <= 1.0,
        ShapeKind::Wedge => y.abs() <= 1.0 && x.abs() <= (1.0 + y) / 2.0,
    };
    hit.then_some((x, y))
}

fn blend(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    [0, 1, 2].map(|i| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * t).clamp(0.0, 255.0) as u8)
}

/// Paints `design` in `pose` on `backdrop`, with sensor grain from `grain`.
fn paint(design: &Design, pose: Pose, backdrop: &Backdrop, grain: u64) -> RgbImage {
    let side = SIDE as f32;
    let (sin, cos) = pose.angle.sin_cos();
    RgbImage::from_fn(SIDE, SIDE, |px, py| {
        let (fx, fy) = (px as f32 / side, py as f32 / side);
        let mut colour = match backdrop {
            Backdrop::Seamless(top, bottom) => blend(*top, *bottom, fy),
            Backdrop::Scene { from, to, blobs } => {
                let mut c = blend(*from, *to, (fx + fy) / 2.0);
                for &(bx, by, r, bc) in blobs {
                    let d = ((fx - bx).powi(2) + (fy - by).powi(2)).sqrt() / r;
                    if d < 1.0 {
                        c = blend(c, bc, (1.0 - d) * 0.9);
                    }
                }
                c
            }
        };
        // Product coordinates.
        let (dx, dy) = (
            (fx - pose.centre.0) / pose.scale,
            (fy - pose.centre.1) / pose.scale,
        );
        let (u, v) = (dx * cos + dy * sin, -dx * sin + dy * cos);
        if matches!(backdrop, Backdrop::Seamless(..)) {
            // A soft contact shadow under the product.
            let (su, sv) = (dx / 0.9, (dy - 0.85) / 0.18);
            let d = su * su + sv * sv;
            if d < 1.0 {
                colour = blend(colour, [90, 90, 95], (1.0 - d) * 0.35);
            }
        }
        for shape in &design.shapes {
            if let Some((x, y)) = inside(shape, u, v) {
                let mut c = shape.colour;
                if let Some((count, stripe)) = shape.stripes {
                    if ((x + 1.0) * count).floor() as i32 % 2 == 0 {
                        c = stripe;
                    }
                }
                // Light falls across the shape from one side, and it is
                // darker towards its bottom.
                let lit = 1.0 + 0.25 * pose.light * x - 0.12 * y;
                colour = c.map(|ch| (ch as f32 * lit).clamp(0.0, 255.0) as u8);
            }
        }
        // Grain: ±5 levels, a hash of the pixel.
        let h = (px as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((py as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
            .wrapping_add(grain)
            .rotate_left(29)
            .wrapping_mul(0x1656_67B1_9E37_79F9);
        let noise = (h >> 60) as i16 - 8;
        Rgb(colour.map(|ch| (ch as i16 + noise * 5 / 8).clamp(0, 255) as u8))
    })
}

fn price_in(rng: &mut ChaCha8Rng, eur: f64) -> (f64, String) {
    let &(currency, rate) = RATES
        .choose_weighted(rng, |(c, _)| if *c == "EUR" { 3 } else { 1 })
        .unwrap_or(&RATES[0]);
    let amount = eur * rate;
    let amount = if amount >= 20.0 {
        amount.round() - if rng.random_bool(0.5) { 0.01 } else { 0.0 }
    } else {
        (amount * 100.0).round() / 100.0
    };
    (amount, currency.to_string())
}

/// A brand spelling a counterfeiter uses to slip past filters.
fn disguised(rng: &mut ChaCha8Rng) -> &'static str {
    [
        "H@lvard",
        "Halv-ard",
        "HaIvard",
        "Hal vard",
        "Hallvard",
        "H.a.l.v.a.r.d",
    ]
    .choose(rng)
    .copied()
    .unwrap_or("Halvard")
}

/// How a listing names the product.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Naming {
    Brand,
    Disguised,
    ModelOnly,
    Nothing,
}

fn fake_title(rng: &mut ChaCha8Rng, product: usize, naming: Naming) -> String {
    let (_, model, category, _, spec, _) = PRODUCTS[product];
    let tagline = TAGLINES.choose(rng).copied().unwrap_or("");
    let colour = COLOURS.choose(rng).copied().unwrap_or("");
    let brand = match naming {
        Naming::Brand => BRAND,
        Naming::Disguised => disguised(rng),
        Naming::ModelOnly | Naming::Nothing => "",
    };
    let model = if naming == Naming::Nothing { "" } else { model };
    let title = match rng.random_range(0..4) {
        0 => format!("{brand} {model} {category} {spec} – {tagline}"),
        1 => format!(
            "【{}】{brand} {model} {category}",
            PROMOS.choose(rng).copied().unwrap_or("")
        ),
        2 => format!("{category} {brand} {model} {colour} {spec}"),
        _ => format!("{brand} {model} {category} NEW 2025").to_uppercase(),
    };
    title.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The kinds of listing, and how often each comes.
const KINDS: [(&str, u32); 7] = [
    ("copied_photo", 30),
    ("own_photo", 15),
    ("authorized", 10),
    ("second_hand", 12),
    ("accessory", 10),
    ("lookalike", 13),
    ("unrelated", 10),
];

/// Writes the brand's workspace (settings, catalogue, reference photos)
/// under `dir` and returns the labelled listings.
pub fn generate(seed: u64, n_listings: usize, dir: &Path) -> Result<LabelledSet> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4841_4C56);
    let designs: Vec<Design> = PRODUCTS.iter().map(|_| random_design(&mut rng)).collect();
    let backdrops: Vec<Backdrop> = PRODUCTS.iter().map(|_| seamless(&mut rng)).collect();
    let official: Vec<[RgbImage; 2]> = designs
        .iter()
        .zip(&backdrops)
        .enumerate()
        .map(|(p, (design, backdrop))| {
            [0, 1].map(|view| paint(design, studio_pose(view), backdrop, (p * 2 + view) as u64))
        })
        .collect();
    write_workspace(dir, &official)?;
    // Other goods in rooms: the new backgrounds and collage tiles of copies.
    let scenes: Vec<RgbImage> = (0..8)
        .map(|k| {
            let design = random_design(&mut rng);
            let pose = random_pose(&mut rng);
            paint(&design, pose, &random_scene(&mut rng), 500 + k)
        })
        .collect();

    let mut listings = Vec::with_capacity(n_listings);
    for id in 0..n_listings as u32 {
        let kind = KINDS
            .choose_weighted(&mut rng, |(_, w)| *w)
            .map(|(k, _)| *k)
            .unwrap_or("unrelated");
        let product = rng.random_range(0..PRODUCTS.len());
        let (_, model, category, _, spec, msrp) = PRODUCTS[product];
        let grain = 1000 + id as u64;
        let seller = format!(
            "{}{}",
            ["shop_", "deals-", "store.", "outlet_", ""]
                .choose(&mut rng)
                .copied()
                .unwrap_or(""),
            rng.random_range(100..99_999)
        );
        let scene_photo = |rng: &mut ChaCha8Rng, design: &Design| {
            let pose = random_pose(rng);
            let scene = random_scene(rng);
            draw::jpeg(
                &paint(design, pose, &scene, grain),
                rng.random_range(70..92),
            )
        };
        let mut listing = LabelledListing {
            id,
            kind: kind.to_string(),
            seller,
            ..LabelledListing::default()
        };
        let eur = match kind {
            "copied_photo" => {
                let naming = *[
                    Naming::Brand,
                    Naming::Brand,
                    Naming::Disguised,
                    Naming::ModelOnly,
                    Naming::Nothing,
                ]
                .choose(&mut rng)
                .unwrap_or(&Naming::Brand);
                listing.title = fake_title(&mut rng, product, naming);
                if rng.random_bool(0.25) {
                    let talk = COUNTERFEIT_TALK.choose(&mut rng).copied().unwrap_or("");
                    listing.title = format!("{} {talk}", listing.title);
                }
                listing.description = format!(
                    "{spec}. {}. Ships within 48 h.",
                    TAGLINES.choose(&mut rng).copied().unwrap_or("")
                );
                let others = [0; 3].map(|_| &scenes[rng.random_range(0..scenes.len())]);
                let which = rng.random_range(0..TRICKS);
                let photo = &official[product][rng.random_range(0..2)];
                let (name, bytes) = trick(which, id as usize, photo, others);
                listing.group = name;
                listing.photos.push(bytes);
                listing.infringing = true;
                listing.product = Some(product);
                msrp * rng.random_range(0.12..0.55)
            }
            "own_photo" => {
                let naming = if rng.random_bool(0.7) {
                    Naming::Brand
                } else {
                    Naming::Disguised
                };
                listing.title = fake_title(&mut rng, product, naming);
                let talk = COUNTERFEIT_TALK.choose(&mut rng).copied().unwrap_or("");
                if rng.random_bool(0.4) {
                    listing.title = format!("{} {talk}", listing.title);
                }
                listing.description = format!("{category}, {spec}. Great value.");
                listing
                    .photos
                    .push(scene_photo(&mut rng, &designs[product]));
                listing.group = "own_photo".into();
                listing.infringing = true;
                listing.product = Some(product);
                msrp * rng.random_range(0.10..0.45)
            }
            "authorized" => {
                listing.seller = AUTHORIZED.choose(&mut rng).copied().unwrap_or("").into();
                listing.title = format!("{BRAND} {model} {category} {spec}");
                listing.description = format!("Official {BRAND} retailer. 2-year warranty.");
                listing
                    .photos
                    .push(draw::jpeg(&official[product][0], rng.random_range(80..95)));
                msrp * rng.random_range(0.9..1.05)
            }
            "second_hand" => {
                listing.title = match rng.random_range(0..5) {
                    0 => format!("{BRAND} {model} {category} – used, good condition"),
                    1 => format!("Pre-owned {BRAND} {model} {category}"),
                    2 => format!("{BRAND} {model} {category} gebraucht"),
                    3 => format!("{BRAND} {model} usado, funciona perfecto"),
                    _ => format!("{BRAND} {model} {category} (occasion, très bon état)"),
                };
                listing.description = "Selling because I'm moving. Works fine.".into();
                // A seller of their own item often reuses the official photo.
                if rng.random_bool(0.3) {
                    listing
                        .photos
                        .push(draw::jpeg(&official[product][0], rng.random_range(70..90)));
                } else {
                    listing
                        .photos
                        .push(scene_photo(&mut rng, &designs[product]));
                }
                msrp * rng.random_range(0.4..0.8)
            }
            "accessory" => {
                listing.title = match rng.random_range(0..5) {
                    0 => format!("Replacement lid for {BRAND} {model} {category}"),
                    1 => format!("Silicone sleeve compatible with {BRAND} {model}"),
                    2 => format!("Ersatzfilter für {BRAND} {model}"),
                    3 => format!("Funda para {BRAND} {model} {category}"),
                    _ => format!("Spare cable fits {BRAND} {model}"),
                };
                listing.description = format!("Not made by {BRAND}. Fits the {model}.");
                let part = accessory(&designs[product], &mut rng);
                listing.photos.push(scene_photo(&mut rng, &part));
                msrp * rng.random_range(0.04..0.2)
            }
            "lookalike" => {
                let brand = OTHER_BRANDS.choose(&mut rng).copied().unwrap_or("");
                let other = OTHER_MODELS.choose(&mut rng).copied().unwrap_or("");
                listing.title = format!("{brand} {other} {category} {spec}");
                listing.description = format!("{brand} {category}. Designed in Europe.");
                let design = lookalike(&designs[product], &mut rng);
                // Half shot like the brand's own studio photo: the hard case.
                let photo = if rng.random_bool(0.5) {
                    paint(&design, studio_pose(0), &backdrops[product], grain)
                } else {
                    paint(
                        &design,
                        random_pose(&mut rng),
                        &random_scene(&mut rng),
                        grain,
                    )
                };
                listing.photos.push(draw::jpeg(&photo, 85));
                msrp * rng.random_range(0.25..0.8)
            }
            _ => {
                let brand = OTHER_BRANDS.choose(&mut rng).copied().unwrap_or("");
                let what = UNRELATED.choose(&mut rng).copied().unwrap_or("");
                listing.title = format!("{brand} {what}");
                listing.description = "Everyday quality.".into();
                let design = random_design(&mut rng);
                listing.photos.push(scene_photo(&mut rng, &design));
                rng.random_range(8.0..120.0)
            }
        };
        (listing.price, listing.currency) = price_in(&mut rng, eur);
        listings.push(listing);
    }
    Ok(LabelledSet {
        products: PRODUCTS.len(),
        listings,
    })
}

/// knockoff.toml, the catalogue and the reference photos of the brand.
fn write_workspace(dir: &Path, official: &[[RgbImage; 2]]) -> Result<()> {
    let write = |rel: &str, bytes: &[u8]| -> Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write("knockoff.toml", b"[matching]\nthreshold = 0.5\n")?;
    let mut catalogue = format!(
        "[brand]\nname = {BRAND:?}\nauthorized_sellers = {AUTHORIZED:?}\nrights_owner = \"Halvard AB\"\n"
    );
    for (p, (id, model, category, short, _, msrp)) in PRODUCTS.iter().enumerate() {
        let slug = model.to_lowercase();
        catalogue.push_str(&format!(
            "\n[[product]]\nid = {id:?}\nname = \"{BRAND} {model} {category}\"\n\
             keywords = [\"{slug} {short}\"]\nmsrp = {msrp:.2}\ncurrency = \"EUR\"\n\
             images = [\"{slug}/studio.png\", \"{slug}/angle.png\"]\n"
        ));
        write(
            &format!("reference-images/{slug}/studio.png"),
            &draw::png(&official[p][0]),
        )?;
        write(
            &format!("reference-images/{slug}/angle.png"),
            &draw::png(&official[p][1]),
        )?;
    }
    write("reference-images/products.toml", catalogue.as_bytes())
}
