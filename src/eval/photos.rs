//! Photo matching on real photographs, which knockoff's generator did not
//! make: `knockoff eval --set real-photos --photos DIR`.
//!
//! DIR holds real product photographs (the tests and CI use the 54 of
//! Vendure's demo catalogue, `npm pack @vendure/create`, photographers on
//! Unsplash): products on real, non-uniform backgrounds. Half of them,
//! chosen by name, are the brand's protected reference photos; the other
//! half are other products. Each reference gets every counterfeiter's
//! trick — with real photographs as the new background and as the other
//! collage tiles — and must be found by the photo alone; the other products,
//! as they are and with the same tricks, must match nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use image::{imageops, Rgb, RgbImage};

use crate::demo::draw::{self, Transform};
use crate::index::print_reference;
use crate::matching::references::{ReferenceIndex, ReferencePhoto, ReferencePrint};
use crate::matching::score::{Judge, MatchSettings};
use crate::photo;
use crate::photo::read_listing_photo;

/// Long side of the photos as a marketplace serves them.
const LISTING_SIDE: u32 = 800;
/// Image strength that counts as "found" in the table (the accuracy
/// harness's own bar) and the official-photo rule's default bar.
const FOUND: f64 = 0.5;
const RULE: f64 = 0.75;

/// Recall of one trick: (found at FOUND, found at RULE, tried).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrickRecall {
    pub found: usize,
    pub found_for_rule: usize,
    pub tried: usize,
}

/// What the real-photograph set measured.
#[derive(Debug, Clone, Default)]
pub struct PhotoEvalReport {
    pub references: usize,
    pub others: usize,
    pub by_trick: BTreeMap<String, TrickRecall>,
    /// Other products' photos (with tricks) tried, and how many matched
    /// some reference at FOUND and at RULE.
    pub negatives: usize,
    pub false_matches: usize,
    pub false_matches_for_rule: usize,
    /// (trick, photo) of each miss, for looking at.
    pub misses: Vec<(String, String)>,
    /// Listing photos matched from their bytes (hashes, then the verifier
    /// where they did not settle it), and the time that took on this
    /// thread.
    pub matched: usize,
    pub matching: std::time::Duration,
}

/// A photo of the set, at marketplace size.
struct Photo {
    name: String,
    pixels: RgbImage,
}

fn load(dir: &Path, limit: usize) -> Result<Vec<Photo>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the photo folder {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let n = n.to_ascii_lowercase();
            n.ends_with(".jpg") || n.ends_with(".jpeg") || n.ends_with(".png")
        })
        .collect();
    names.sort();
    names.truncate(limit);
    let mut photos = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let (_, image) = photo::decode(&bytes, 100_000_000)
            .with_context(|| format!("decoding {}", path.display()))?;
        let rgb = image.into_rgb8();
        let (w, h) = rgb.dimensions();
        let scale = LISTING_SIDE as f32 / w.max(h) as f32;
        let pixels = imageops::resize(
            &rgb,
            ((w as f32 * scale).round() as u32).max(1),
            ((h as f32 * scale).round() as u32).max(1),
            imageops::FilterType::Triangle,
        );
        photos.push(Photo { name, pixels });
    }
    anyhow::ensure!(
        photos.len() >= 8,
        "{} holds {} photos; the real-photograph set needs at least 8",
        dir.display(),
        photos.len()
    );
    Ok(photos)
}

/// `photo` pasted at 60% onto `background` (a real scene, not a plain
/// canvas), off-centre.
fn pad_onto(photo: &RgbImage, background: &RgbImage) -> RgbImage {
    let (w, h) = photo.dimensions();
    let canvas_w = (w as f32 / 0.6) as u32;
    let canvas_h = (h as f32 / 0.6) as u32;
    let mut canvas = imageops::resize(
        background,
        canvas_w,
        canvas_h,
        imageops::FilterType::Triangle,
    );
    imageops::overlay(
        &mut canvas,
        photo,
        ((canvas_w - w) / 3) as i64,
        ((canvas_h - h) / 2) as i64,
    );
    canvas
}

/// A 2×2 collage: `photo` top-left, three other real photos beside it.
fn collage(photo: &RgbImage, others: [&RgbImage; 3]) -> RgbImage {
    let tile = photo.width().max(photo.height()) / 2;
    let mut out = RgbImage::from_pixel(tile * 2, tile * 2, Rgb([255, 255, 255]));
    let square = |img: &RgbImage| imageops::resize(img, tile, tile, imageops::FilterType::Triangle);
    imageops::overlay(&mut out, &square(photo), 0, 0);
    for (other, (x, y)) in others.iter().zip([(tile, 0), (0, tile), (tile, tile)]) {
        imageops::overlay(&mut out, &square(other), x as i64, y as i64);
    }
    out
}

/// Shares cut off the left, top, right and bottom of the `k`th photo's
/// crop: 3–20% each, different for every photo (a fixed crop would test
/// one point of what counterfeiters do).
fn crop_for(k: usize) -> [f32; 4] {
    [0u64, 1, 2, 3].map(|side| {
        let mixed = (k as u64 * 4 + side).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        (3 + mixed % 18) as f32 / 100.0
    })
}

/// A sales band laid *across* the `k`th photo (not added above it, as
/// [`Transform::Banner`] does): its position (top, middle, bottom), height
/// (12–24%), colour and words change with `k`, and every other photo gets
/// a second, thinner band.
fn banner_across(photo: &RgbImage, k: usize) -> RgbImage {
    let mixed = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    let (w, h) = photo.dimensions();
    let colours = [
        [214, 32, 40],
        [250, 200, 20],
        [20, 20, 20],
        [30, 90, 200],
        [240, 240, 240],
    ];
    let words = [
        "HOT DEAL",
        "FREE SHIPPING",
        "LIMITED STOCK",
        "-60% TODAY",
        "NEW ARRIVAL",
    ];
    let mut out = photo.clone();
    let mut band = |top: u32, height: u32, colour: [u8; 3], text: &str| {
        for y in top..(top + height).min(h) {
            for x in 0..w {
                out.put_pixel(x, y, Rgb(colour));
            }
        }
        let scale = (height / 10).max(1);
        let ink = if colour.iter().map(|&c| c as u32).sum::<u32>() > 380 {
            [0, 0, 0]
        } else {
            [255, 255, 255]
        };
        draw::draw_text(
            &mut out,
            text,
            (w / 12) as i64,
            (top + height / 4) as i64,
            scale,
            ink,
            1.0,
        );
    };
    let height = h * (12 + (mixed % 13) as u32) / 100;
    let top = [0, (h - height) / 2, h - height][(mixed / 13 % 3) as usize];
    band(
        top,
        height,
        colours[k % colours.len()],
        words[(k / 2) % words.len()],
    );
    if k % 2 == 1 {
        let thin = height / 2;
        let other = if top == 0 { h - thin } else { 0 };
        band(
            other,
            thin,
            colours[(k + 2) % colours.len()],
            words[(k + 1) % words.len()],
        );
    }
    out
}

/// The `k`th photo under several edits at once, in an order and strength
/// that change with `k`: mirrored, cropped (a different crop per photo),
/// watermarked, then saved as a heavy JPEG (quality 20–34).
fn combined_edits(photo: &RgbImage, k: usize) -> Vec<u8> {
    let crop = Transform::Crop(crop_for(k + 7).map(|c| c * 0.8));
    let mark = Transform::Watermark(["SHOP4DEALS", "BEST PRICE", "TOPSELLER"][k % 3].into());
    let steps = if k.is_multiple_of(2) {
        [Transform::Mirror, crop, mark]
    } else {
        [mark, Transform::Mirror, crop]
    };
    let edited = steps
        .iter()
        .fold(photo.clone(), |img, t| draw::apply(&img, t));
    draw::jpeg(&edited, 20 + (k % 15) as u8)
}

/// How many tricks [`trick`] knows.
pub(crate) const TRICKS: usize = 14;

/// Trick `which` (0..[`TRICKS`]) on the `k`th photo, with `others` as new
/// backgrounds and collage tiles: (name, listing photo as served).
pub(crate) fn trick(
    which: usize,
    k: usize,
    photo: &RgbImage,
    others: [&RgbImage; 3],
) -> (String, Vec<u8>) {
    let transform = match which % TRICKS {
        0 => Transform::Recompress,
        1 => Transform::Downscale,
        2 => Transform::Crop(crop_for(k)),
        3 => Transform::Mirror,
        4 => Transform::Rotate(-8.0),
        5 => Transform::Rotate90,
        6 => Transform::Watermark("SHOP4DEALS".into()),
        7 => Transform::Recolour {
            hue: 30,
            brightness: -20,
        },
        8 => Transform::Banner("SALE 70% OFF".into()),
        9 => Transform::Pad {
            factor: 1.6,
            colour: [236, 236, 240],
        },
        10 => {
            return (
                "pad onto a real scene".into(),
                draw::jpeg(&pad_onto(photo, others[0]), 82),
            )
        }
        11 => return ("collage".into(), draw::jpeg(&collage(photo, others), 82)),
        12 => {
            return (
                "banner across".into(),
                draw::jpeg(&banner_across(photo, k), 80),
            )
        }
        _ => return ("combined edits".into(), combined_edits(photo, k)),
    };
    (
        transform.name().to_string(),
        draw::jpeg(&draw::apply(photo, &transform), transform.jpeg_quality()),
    )
}

/// Every trick on the `k`th photo.
fn tricks(k: usize, photo: &RgbImage, others: [&RgbImage; 3]) -> Vec<(String, Vec<u8>)> {
    (0..TRICKS)
        .map(|which| trick(which, k, photo, others))
        .collect()
}

/// The best strength with which `listing` (bytes) matches each reference,
/// as the judge matches a listing photo (hashes, then the verifier).
fn matches(judge: &Judge, listing: &[u8]) -> BTreeMap<u32, f64> {
    let Ok(photo) = read_listing_photo(listing, 100_000_000, true) else {
        return BTreeMap::new();
    };
    judge
        .match_photo(&photo.prints, || photo.pixels)
        .into_iter()
        .map(|(product, signal)| (product as u32, signal.strength))
        .collect()
}

/// CPU time the process has used, all threads together.
fn process_cpu() -> std::time::Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Measures photo matching on the real photographs in `dir` (the first
/// `limit` by name). With `save`, every listing photo made is also
/// written there (`<trick>-<n>.jpg`), so a peer can judge the same bytes.
pub fn evaluate_photos(dir: &Path, limit: usize, save: Option<&Path>) -> Result<PhotoEvalReport> {
    let photos = load(dir, limit)?;
    // Alternate by name: references and others are drawn from the whole set.
    let references: Vec<&Photo> = photos.iter().step_by(2).collect();
    let others: Vec<&Photo> = photos.iter().skip(1).step_by(2).collect();
    let mut prints = Vec::new();
    let mut described = Vec::new();
    for (product, reference) in references.iter().enumerate() {
        let bytes = draw::jpeg(&reference.pixels, 90);
        let (views, features, thumbnail) = print_reference(&bytes, 100_000_000)?;
        for (variant, print) in views {
            prints.push(ReferencePrint {
                product: product as u32,
                image: reference.name.clone(),
                variant,
                print,
            });
        }
        described.push(ReferencePhoto {
            product: product as u32,
            image: reference.name.clone(),
            features,
            thumbnail,
        });
    }
    let judge = Judge {
        products: Vec::new(),
        references: ReferenceIndex::new(prints, described),
        settings: MatchSettings::default(),
        authorized_sellers: Vec::new(),
    };
    let mut report = PhotoEvalReport {
        references: references.len(),
        others: others.len(),
        ..PhotoEvalReport::default()
    };
    let other_at = |k: usize| &others[k % others.len()].pixels;
    if let Some(save) = save {
        std::fs::create_dir_all(save)
            .with_context(|| format!("creating the folder {}", save.display()))?;
    }
    let mut saved = 0usize;
    let mut timed_matches = |report: &mut PhotoEvalReport, trick: &str, listing: &[u8]| {
        if let Some(save) = save {
            saved += 1;
            let path = save.join(format!("{}-{saved:04}.jpg", trick.replace(' ', "-")));
            std::fs::write(&path, listing)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        let started = process_cpu();
        let found = matches(&judge, listing);
        report.matching += process_cpu().saturating_sub(started);
        report.matched += 1;
        anyhow::Ok(found)
    };
    for (product, reference) in references.iter().enumerate() {
        let scenes = [
            other_at(product),
            other_at(product + 1),
            other_at(product + 2),
        ];
        for (trick, listing) in tricks(product, &reference.pixels, scenes) {
            let strength = timed_matches(&mut report, &trick, &listing)?
                .get(&(product as u32))
                .copied()
                .unwrap_or(0.0);
            let recall = report.by_trick.entry(trick.clone()).or_default();
            recall.tried += 1;
            recall.found += (strength >= FOUND) as usize;
            recall.found_for_rule += (strength >= RULE) as usize;
            if strength < FOUND {
                let name = match trick.as_str() {
                    "crop" => format!("{} {:?}", reference.name, crop_for(product)),
                    _ => reference.name.clone(),
                };
                report.misses.push((trick, name));
            }
        }
    }
    // Other products, as they are and under the same tricks (with other
    // non-reference photos as scenes), must match no reference.
    for (k, other) in others.iter().enumerate() {
        let scenes = [other_at(k + 1), other_at(k + 2), other_at(k + 3)];
        let as_is = ("as is".to_string(), draw::jpeg(&other.pixels, 82));
        for (trick, listing) in std::iter::once(as_is).chain(tricks(k, &other.pixels, scenes)) {
            let best = timed_matches(&mut report, &format!("other {trick}"), &listing)?
                .values()
                .copied()
                .fold(0.0, f64::max);

            report.negatives += 1;
            report.false_matches += (best >= FOUND) as usize;
            report.false_matches_for_rule += (best >= RULE) as usize;
        }
    }
    Ok(report)
}

/// The report as printed by `knockoff eval --set real-photos`.
pub fn render_photos(report: &PhotoEvalReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "real photographs: {} reference photos, {} other products",
        report.references, report.others
    );
    let _ = writeln!(
        out,
        "recall by the photo alone (strength ≥ {FOUND}; ≥ {RULE}, the official-photo rule):"
    );
    for (trick, r) in &report.by_trick {
        let _ = writeln!(
            out,
            "  {trick:<22} {:>2}/{:<2} {:.3}   rule {:.3}",
            r.found,
            r.tried,
            r.found as f64 / r.tried.max(1) as f64,
            r.found_for_rule as f64 / r.tried.max(1) as f64
        );
    }
    let (found, tried) = report
        .by_trick
        .values()
        .fold((0, 0), |(f, t), r| (f + r.found, t + r.tried));
    let _ = writeln!(
        out,
        "  all tricks             {found}/{tried} {:.3}",
        found as f64 / tried.max(1) as f64
    );
    let _ = writeln!(
        out,
        "other products matched a reference: {}/{} at ≥ {FOUND}, {}/{} at ≥ {RULE}",
        report.false_matches, report.negatives, report.false_matches_for_rule, report.negatives
    );
    for (trick, name) in report.misses.iter().take(20) {
        let _ = writeln!(out, "  missed: {trick} of {name}");
    }
    let seconds = report.matching.as_secs_f64();
    let _ = writeln!(
        out,
        "listing photos matched from their bytes: {} in {seconds:.2} s of CPU (all threads), \
         {:.2} ms a photo ({:.0} photos/s a core)",
        report.matched,
        seconds * 1000.0 / report.matched.max(1) as f64,
        report.matched as f64 / seconds.max(1e-9)
    );
    out
}
