//! Photo fingerprints that survive what counterfeiters do to official
//! photos, and the verification that keeps look-alikes out.
//!
//! Perceptual hashes of the whole photo fail on crops, padding, banners and
//! collages, so each photo is looked at as several **views**, each hashed:
//!
//! - listing side: the whole photo as is; the whole photo **trimmed** to the
//!   object's bounding box on a uniform background (repeatedly, so a photo
//!   pasted onto a coloured canvas loses the canvas, then its own white),
//!   padded square; the photo without its top or bottom sixth (a sales
//!   banner), trimmed; and its four quadrants (a 2×2 collage), trimmed.
//! - reference side: all 8 **dihedral variants** (quarter turns × mirror),
//!   small tilts (±5°, ±9°) of the upright and mirrored photo, and crops of
//!   10–20% off each side, each as is and trimmed.
//!
//! What views cannot see — a copy pasted onto a scene, a deep crop, a
//! crop of a photo with no plain background, combined edits — is left to
//! the local-feature verifier in [`super::features`], which the judge runs
//! only on photos these hashes did not settle.
//!
//! Each view carries two hash families computed from one 32×32 grey
//! sample — **pHash** (DCT, the low 8×8 coefficients against their median,
//! exactly as Python `imagehash.phash`) and **dHash** (9×8 horizontal
//! gradient, as `imagehash.dhash`) — and a **colour layout**: an 8×8 grid of
//! the view in grey-axis coordinates (brightness, and a 2-D chroma vector).
//!
//! A pair of views is a candidate when both hashes are close; it is then
//! **verified** by comparing colour layouts, allowing a brightness offset
//! and a hue rotation of up to ±45° (a recoloured copy) but not different
//! colours. Two different products shot on white collide on hashes far
//! more often than on colour layout. Views with too little contrast carry
//! no information and get no print (the quality gate).
//!
//! Pure: pixels in, prints and matches out.

use image::imageops;
use image::RgbImage;
use serde::{Deserialize, Serialize};

/// Shortest side, in pixels, photos are decoded to before anything else.
pub const WORK_SIDE: u16 = 96;
/// Side of the grey sample the hashes are computed from.
const HASH_SIDE: usize = 32;
/// Side of the colour-layout grid.
const LAYOUT_SIDE: usize = 8;
/// Below this standard deviation of grey levels (0–255) a view is blank.
const MIN_CONTRAST: f32 = 8.0;
/// A pixel differs from the background when a channel is this far off.
const BACKGROUND_TOLERANCE: u8 = 36;

/// Which part of a listing photo a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Region {
    Whole,
    /// Without the top sixth, where sales banners go.
    BelowBanner,
    /// Without the bottom sixth.
    AboveFooter,
    /// Quadrant 0–3 (top-left, top-right, bottom-left, bottom-right) of a collage.
    Quadrant(u8),
}

/// How a reference photo was altered before its views were taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Variant {
    /// Quarter turns clockwise, 0–3.
    pub quarter_turns: u8,
    pub mirrored: bool,
    /// Extra rotation in degrees, clockwise.
    pub tilt: i8,
    /// Percent cut off the left, top, right and bottom sides.
    pub crop: Option<[u8; 4]>,
    /// Shortest side, in pixels, the photo is reduced to: the size of one
    /// tile of a 2×2 collage once the listing photo is decoded to
    /// [`WORK_SIDE`], so both sides are printed from equally blurred pixels.
    #[serde(default)]
    pub reduced_to: Option<u8>,
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.mirrored {
            parts.push("mirror".into());
        }
        if self.quarter_turns != 0 {
            parts.push(format!("rotate {}°", self.quarter_turns as u32 * 90));
        }
        if self.tilt != 0 {
            parts.push(format!("tilt {:+}°", self.tilt));
        }
        if let Some(cut) = self.crop {
            parts.push(if cut.iter().all(|&p| p == cut[0]) {
                format!("crop {}% every side", cut[0])
            } else {
                let sides = ["left", "top", "right", "bottom"]
                    .iter()
                    .zip(cut)
                    .filter(|(_, p)| *p > 0)
                    .map(|(side, p)| format!("{p}% {side}"))
                    .collect::<Vec<_>>();
                format!("crop {}", sides.join(", "))
            });
        }
        if let Some(side) = self.reduced_to {
            parts.push(format!("reduced to {side} px"));
        }
        if parts.is_empty() {
            f.write_str("as is")
        } else {
            f.write_str(&parts.join("+"))
        }
    }
}

/// The fingerprint of one view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Print {
    pub region: Region,
    /// Trimmed to the object on a uniform background.
    pub trimmed: bool,
    pub phash: u64,
    pub dhash: u64,
    /// LAYOUT_SIDE² cells of (brightness, chroma a, chroma b), rounded.
    pub layout: Vec<[i16; 3]>,
    /// The view's background in the same coordinates, when it has one:
    /// cells of that colour on both sides say nothing and are left out of
    /// the comparison (two products on white agree on all that white).
    pub background: Option<[i16; 3]>,
}

/// A rectangle in pixel coordinates; may extend past the image, where the
/// view's background colour fills in.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

impl Rect {
    fn of(img: &RgbImage) -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            w: img.width() as f32,
            h: img.height() as f32,
        }
    }

    /// The square with the same centre whose side is the longer side.
    fn squared(self) -> Rect {
        let side = self.w.max(self.h);
        Rect {
            x: self.x + (self.w - side) / 2.0,
            y: self.y + (self.h - side) / 2.0,
            w: side,
            h: side,
        }
    }

    fn region(self, region: Region) -> Rect {
        let Rect { x, y, w, h } = self;
        match region {
            Region::Whole => self,
            Region::BelowBanner => Rect {
                x,
                y: y + h / 6.0,
                w,
                h: h * 5.0 / 6.0,
            },
            Region::AboveFooter => Rect {
                x,
                y,
                w,
                h: h * 5.0 / 6.0,
            },
            Region::Quadrant(q) => Rect {
                x: x + (q % 2) as f32 * w / 2.0,
                y: y + (q / 2) as f32 * h / 2.0,
                w: w / 2.0,
                h: h / 2.0,
            },
        }
    }

    /// Integer pixel bounds inside an image of `w`×`h`: (x0, y0, x1, y1), exclusive ends.
    fn pixels(self, w: u32, h: u32) -> (u32, u32, u32, u32) {
        let x0 = self.x.max(0.0).floor() as u32;
        let y0 = self.y.max(0.0).floor() as u32;
        let x1 = ((self.x + self.w).ceil().max(0.0) as u32).min(w);
        let y1 = ((self.y + self.h).ceil().max(0.0) as u32).min(h);
        (x0.min(x1), y0.min(y1), x1, y1)
    }
}

fn far(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    (0..3).any(|c| a[c].abs_diff(b[c]) > tolerance)
}

/// A photo with its summed-area table, so the mean colour of any
/// rectangle costs four lookups: every view samples 32×32 and 8×8 cells,
/// and summing their pixels one by one was most of the hashing time.
struct Pixels<'a> {
    img: &'a RgbImage,
    /// `(width + 1) × (height + 1)` running sums per channel; entry
    /// `(x, y)` holds the sum over pixels left of `x` and above `y`.
    /// Integers, so building the table is integer adds; exact in the f64
    /// they are read as up to 2^53.
    sums: Vec<[u64; 3]>,
}

impl<'a> Pixels<'a> {
    fn new(img: &'a RgbImage) -> Pixels<'a> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let stride = w + 1;
        let mut sums = vec![[0u64; 3]; stride * (h + 1)];
        for (y, row) in img.as_raw().chunks_exact(w * 3).enumerate() {
            let (above, below) = sums[y * stride..].split_at_mut(stride);
            let mut running = [0u64; 3];
            for ((p, sum), up) in row.chunks_exact(3).zip(&mut below[1..]).zip(&above[1..]) {
                for c in 0..3 {
                    running[c] += p[c] as u64;
                    sum[c] = up[c] + running[c];
                }
            }
        }
        Pixels { img, sums }
    }

    /// The running sums at a point between pixels, `(x, y)` within the
    /// image: bilinear between the four neighbouring entries, which is exact
    /// when each pixel is a uniform square.
    fn sums_at(&self, x: f32, y: f32) -> [f64; 3] {
        let stride = self.img.width() as usize + 1;
        // Truncation is floor here: x and y are never negative.
        let (xi, yi) = (x as usize, y as usize);
        let (fx, fy) = ((x - xi as f32) as f64, (y - yi as f32) as f64);
        let x1 = (xi + 1).min(stride - 1);
        let y1 = (yi + 1).min(self.img.height() as usize);
        let at = |x: usize, y: usize| self.sums[y * stride + x].map(|v| v as f64);
        let (a, b, c, d) = (at(xi, yi), at(x1, yi), at(xi, y1), at(x1, y1));
        let lerp = |i: usize| {
            let top = a[i] + (b[i] - a[i]) * fx;
            let bottom = c[i] + (d[i] - c[i]) * fx;
            top + (bottom - top) * fy
        };
        [lerp(0), lerp(1), lerp(2)]
    }
}

/// The background colour when the border of `rect` is mostly one colour.
fn border_colour(img: &RgbImage, rect: Rect) -> Option<[u8; 3]> {
    let (x0, y0, x1, y1) = rect.pixels(img.width(), img.height());
    if x1 < x0 + 8 || y1 < y0 + 8 {
        return None;
    }
    let mut border: Vec<[u8; 3]> = Vec::with_capacity(2 * ((x1 - x0) + (y1 - y0)) as usize);
    for x in x0..x1 {
        border.push(img.get_pixel(x, y0).0);
        border.push(img.get_pixel(x, y1 - 1).0);
    }
    for y in y0 + 1..y1 - 1 {
        border.push(img.get_pixel(x0, y).0);
        border.push(img.get_pixel(x1 - 1, y).0);
    }
    let mut values: Vec<u8> = Vec::with_capacity(border.len());
    let median = [0, 1, 2].map(|c| {
        values.clear();
        values.extend(border.iter().map(|p| p[c]));
        let mid = values.len() / 2;
        *values.select_nth_unstable(mid).1
    });
    let close = border
        .iter()
        .filter(|p| !far(**p, median, BACKGROUND_TOLERANCE / 2))
        .count();
    (close * 10 >= border.len() * 7).then_some(median)
}

/// The bounding box of what differs from `background` inside `rect`. A
/// row or column counts only with at least two differing pixels, so JPEG
/// speckle does not stretch the box.
fn object_box(img: &RgbImage, rect: Rect, background: [u8; 3]) -> Option<Rect> {
    let (x0, y0, x1, y1) = rect.pixels(img.width(), img.height());
    let mut columns = vec![0u16; (x1 - x0) as usize];
    let mut rows = vec![0u16; (y1 - y0) as usize];
    let stride = img.width() as usize * 3;
    let raw = img.as_raw();
    for (row, count) in rows.iter_mut().enumerate() {
        let start = (y0 as usize + row) * stride + x0 as usize * 3;
        let line = &raw[start..start + columns.len() * 3];
        for (column, p) in columns.iter_mut().zip(line.chunks_exact(3)) {
            if far([p[0], p[1], p[2]], background, BACKGROUND_TOLERANCE) {
                *column += 1;
                *count += 1;
            }
        }
    }
    let span = |counts: &[u16]| {
        let first = counts.iter().position(|&n| n >= 2)?;
        let last = counts.iter().rposition(|&n| n >= 2)?;
        Some((first as f32, (last + 1) as f32))
    };
    let (cx0, cx1) = span(&columns)?;
    let (cy0, cy1) = span(&rows)?;
    Some(Rect {
        x: x0 as f32 + cx0,
        y: y0 as f32 + cy0,
        w: cx1 - cx0,
        h: cy1 - cy0,
    })
}

/// Trims `rect` to the object on a uniform background, repeating while that
/// peels off another layer (a canvas, then the photo's own white). Returns
/// the object's box and the innermost background, or `None` when there is
/// no uniform background or nothing left to trim.
fn trim(img: &RgbImage, rect: Rect) -> Option<(Rect, [u8; 3])> {
    let mut current: Option<(Rect, [u8; 3])> = None;
    let mut within = rect;
    for _ in 0..3 {
        let Some(background) = border_colour(img, within) else {
            break;
        };
        let Some(object) = object_box(img, within, background) else {
            break;
        };
        let area = within.w * within.h;
        // Too small to be the product, or nothing peeled off.
        if object.w * object.h < area / 40.0 || object.w.min(object.h) < 8.0 {
            break;
        }
        if object.w * object.h > area * 0.94 {
            break;
        }
        current = Some((object, background));
        within = object;
    }
    current
}

/// Mean colour of each of `n`×`n` cells covering `rect`, each pixel
/// weighted by its overlap with the cell (a true box filter, so small views
/// sample as smoothly as large ones); pixels outside the image count as
/// `outside`.
fn sample(pixels: &Pixels, rect: Rect, n: usize, outside: [u8; 3]) -> Vec<[f32; 3]> {
    let (w, h) = (pixels.img.width() as f32, pixels.img.height() as f32);
    // Cell edges, clipped to the image: neighbouring cells share them, so
    // the running sums are read once per corner.
    let edges = |start: f32, length: f32, limit: f32| -> Vec<f32> {
        (0..=n)
            .map(|i| (start + length * i as f32 / n as f32).clamp(0.0, limit))
            .collect()
    };
    let (xs, ys) = (edges(rect.x, rect.w, w), edges(rect.y, rect.h, h));
    let mut corners: Vec<[f64; 3]> = Vec::with_capacity((n + 1) * (n + 1));
    for &y in &ys {
        for &x in &xs {
            corners.push(pixels.sums_at(x, y));
        }
    }
    let area = ((rect.w / n as f32) * (rect.h / n as f32)) as f64;
    let scale = 1.0 / area.max(f64::MIN_POSITIVE);
    let mut out = Vec::with_capacity(n * n);
    for row in 0..n {
        let (above, below) = (&corners[row * (n + 1)..], &corners[(row + 1) * (n + 1)..]);
        for col in 0..n {
            let (a, b, c, d) = (above[col], above[col + 1], below[col], below[col + 1]);
            let inside = ((xs[col + 1] - xs[col]) * (ys[row + 1] - ys[row])) as f64;
            let outside_area = (area - inside).max(0.0);
            let mean = |i: usize| {
                ((d[i] + a[i] - b[i] - c[i] + outside[i] as f64 * outside_area) * scale) as f32
            };
            out.push([mean(0), mean(1), mean(2)]);
        }
    }
    out
}

/// Grey level as PIL's "L" mode computes it (ITU-R 601-2 luma).
fn grey(p: [f32; 3]) -> f32 {
    p[0] * 0.299 + p[1] * 0.587 + p[2] * 0.114
}

/// DCT-II basis, `cos(π·k·(2n+1)/64)` for the 8 lowest `k` over 32 samples.
fn dct_basis() -> &'static [[f32; HASH_SIDE]; 8] {
    static BASIS: std::sync::OnceLock<[[f32; HASH_SIDE]; 8]> = std::sync::OnceLock::new();
    BASIS.get_or_init(|| {
        let mut basis = [[0f32; HASH_SIDE]; 8];
        for (k, row) in basis.iter_mut().enumerate() {
            for (n, value) in row.iter_mut().enumerate() {
                *value = (std::f32::consts::PI * k as f32 * (2 * n + 1) as f32
                    / (2 * HASH_SIDE) as f32)
                    .cos();
            }
        }
        basis
    })
}

/// Bits, first one most significant, as imagehash prints them.
fn pack(bits: impl Iterator<Item = bool>) -> u64 {
    bits.fold(0u64, |acc, bit| (acc << 1) | bit as u64)
}

/// pHash of a 32×32 grey image (row-major): the 8×8 lowest-frequency DCT
/// coefficients (DC included), each bit set when above their median.
pub fn phash(grey32: &[f32]) -> u64 {
    assert_eq!(
        grey32.len(),
        HASH_SIDE * HASH_SIDE,
        "pHash needs 32×32 samples"
    );
    let basis = dct_basis();
    // Along each row: 32 rows × 8 frequencies.
    let mut rows = [[0f32; 8]; HASH_SIDE];
    for (y, out) in rows.iter_mut().enumerate() {
        let line = &grey32[y * HASH_SIDE..(y + 1) * HASH_SIDE];
        for (k, value) in out.iter_mut().enumerate() {
            *value = line.iter().zip(&basis[k]).map(|(a, b)| a * b).sum();
        }
    }
    // Down each column: 8 × 8 coefficients, [vertical][horizontal].
    let mut coefficients = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            coefficients[v * 8 + u] = (0..HASH_SIDE).map(|y| basis[v][y] * rows[y][u]).sum();
        }
    }
    let mut sorted = coefficients;
    sorted.sort_by(f32::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    pack(coefficients.iter().map(|&c| c > median))
}

/// dHash of a 9×8 grey image (row-major): a bit per adjacent pair, set when
/// the right pixel is brighter.
pub fn dhash(grey9x8: &[f32]) -> u64 {
    assert_eq!(grey9x8.len(), 72, "dHash needs 9×8 samples");
    pack((0..8).flat_map(|y| (0..8).map(move |x| grey9x8[y * 9 + x + 1] > grey9x8[y * 9 + x])))
}

/// Standard deviation of grey levels.
fn contrast(values: &[f32]) -> f32 {
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt()
}

/// Grey-axis coordinates: brightness (R+G+B)/3 and two chroma components
/// orthogonal to grey, so a hue rotation is a rotation of the chroma pair.
fn grey_axis(p: [f32; 3]) -> [f32; 3] {
    [
        (p[0] + p[1] + p[2]) / 3.0,
        (p[0] - p[1]) / std::f32::consts::SQRT_2,
        (p[0] + p[1] - 2.0 * p[2]) / 6f32.sqrt(),
    ]
}

/// The print of the view `rect` of `img` (outside pixels are `outside`),
/// or `None` when the view is too blank to say anything.
fn print_view(
    pixels: &Pixels,
    rect: Rect,
    outside: [u8; 3],
    background: Option<[u8; 3]>,
    region: Region,
    trimmed: bool,
) -> Option<Print> {
    let grey32: Vec<f32> = sample(pixels, rect, HASH_SIDE, outside)
        .into_iter()
        .map(grey)
        .collect();
    if contrast(&grey32) < MIN_CONTRAST {
        return None;
    }
    // dHash from the 32×32 sample: 9×8 cells, averaged.
    let mut grey9x8 = [0f32; 72];
    for (y, row) in grey9x8.chunks_mut(9).enumerate() {
        for (x, value) in row.iter_mut().enumerate() {
            let (xa, xb) = (x * HASH_SIDE / 9, ((x + 1) * HASH_SIDE).div_ceil(9));
            let (ya, yb) = (y * 4, y * 4 + 4);
            let mut sum = 0.0;
            for yy in ya..yb {
                sum += grey32[yy * HASH_SIDE + xa..yy * HASH_SIDE + xb]
                    .iter()
                    .sum::<f32>();
            }
            // Whole grey levels, as imagehash compares 8-bit pixels: a
            // difference of less than a level in a flat backdrop is no
            // gradient, not a coin toss decided by grain.
            *value = (sum / ((xb - xa) * (yb - ya)) as f32).round();
        }
    }
    let layout = sample(pixels, rect, LAYOUT_SIDE, outside)
        .into_iter()
        .map(|p| grey_axis(p).map(|v| v.round() as i16))
        .collect();
    Some(Print {
        region,
        trimmed,
        phash: phash(&grey32),
        dhash: dhash(&grey9x8),
        layout,
        background: background.map(|b| grey_axis(b.map(|v| v as f32)).map(|v| v.round() as i16)),
    })
}

/// The print of a region as is, and trimmed when it has a uniform background.
fn print_region(pixels: &Pixels, region: Region, as_is: bool, out: &mut Vec<Print>) {
    let img = pixels.img;
    let rect = Rect::of(img).region(region);
    if as_is {
        let background = border_colour(img, rect);
        out.extend(print_view(
            pixels,
            rect,
            [255, 255, 255],
            background,
            region,
            false,
        ));
    }
    if let Some((object, background)) = trim(img, rect) {
        out.extend(print_view(
            pixels,
            object.squared(),
            background,
            Some(background),
            region,
            true,
        ));
        // A photo pasted onto a plain canvas is its own rectangle, not a
        // square: print that too when the whole photo's object is clearly
        // not square (a real photo of 3:2, say).
        let aspect = object.w / object.h.max(1.0);
        if region == Region::Whole && !(0.85..=1.18).contains(&aspect) {
            out.extend(print_view(
                pixels,
                object,
                background,
                Some(background),
                region,
                true,
            ));
        }
    }
}

/// Prints of a listing photo (already reduced to about [`WORK_SIDE`]).
///
/// The parts of a photo (below a banner, above a footer, collage tiles) are
/// printed trimmed to their object when they sit on a uniform background;
/// a photo whose border is not uniform — a real scene, a red sales banner,
/// a collage of real photos — gets them as they are too, since there is no
/// background to trim to. (Studio photos, the common case, skip that work.)
pub fn listing_prints(photo: &RgbImage) -> Vec<Print> {
    let pixels = Pixels::new(photo);
    let mut prints = Vec::with_capacity(10);
    print_region(&pixels, Region::Whole, true, &mut prints);
    let cluttered = border_colour(photo, Rect::of(photo)).is_none();
    print_region(&pixels, Region::BelowBanner, cluttered, &mut prints);
    print_region(&pixels, Region::AboveFooter, cluttered, &mut prints);
    for quadrant in 0..4 {
        print_region(&pixels, Region::Quadrant(quadrant), cluttered, &mut prints);
    }
    prints
}

/// Every variant a reference photo is printed in.
pub(crate) fn reference_variants() -> Vec<Variant> {
    let mut variants = Vec::new();
    for mirrored in [false, true] {
        for quarter_turns in 0..4 {
            variants.push(Variant {
                quarter_turns,
                mirrored,
                ..Variant::default()
            });
        }
        for tilt in [-9, -5, 5, 9] {
            variants.push(Variant {
                mirrored,
                tilt,
                ..Variant::default()
            });
        }
    }
    for side in 0..4 {
        for percent in [10, 15, 20] {
            let mut cut = [0; 4];
            cut[side] = percent;
            variants.push(Variant {
                crop: Some(cut),
                ..Variant::default()
            });
        }
    }
    // Cropped on every side at once: the zoom-in a reseller's square
    // template makes of a real photo.
    for percent in [8, 14] {
        variants.push(Variant {
            crop: Some([percent; 4]),
            ..Variant::default()
        });
    }
    for mirrored in [false, true] {
        variants.push(Variant {
            mirrored,
            reduced_to: Some((WORK_SIDE / 2) as u8),
            ..Variant::default()
        });
    }
    variants
}

/// A reference photo altered as `variant` says; corners uncovered by a tilt
/// take the photo's background.
pub(crate) fn apply_variant(photo: &RgbImage, variant: Variant) -> RgbImage {
    let mut out = if variant.mirrored {
        imageops::flip_horizontal(photo)
    } else {
        photo.clone()
    };
    out = match variant.quarter_turns % 4 {
        1 => imageops::rotate90(&out),
        2 => imageops::rotate180(&out),
        3 => imageops::rotate270(&out),
        _ => out,
    };
    if variant.tilt != 0 {
        let background = border_colour(&out, Rect::of(&out)).unwrap_or([255, 255, 255]);
        out = rotate(&out, variant.tilt as f32, background);
    }
    if let Some([left, top, right, bottom]) = variant.crop {
        let (w, h) = out.dimensions();
        let cut = |n: u32, percent: u8| n * percent.min(45) as u32 / 100;
        let (x, y) = (cut(w, left), cut(h, top));
        let (cw, ch) = (w - x - cut(w, right), h - y - cut(h, bottom));
        out = imageops::crop_imm(&out, x, y, cw, ch).to_image();
    }
    if let Some(side) = variant.reduced_to {
        let (w, h) = out.dimensions();
        let scale = side as f32 / w.min(h).max(1) as f32;
        if scale < 1.0 {
            let size = |n: u32| ((n as f32 * scale).round() as u32).max(1);
            out = imageops::thumbnail(&out, size(w), size(h));
        }
    }
    out
}

/// Prints of a reference photo in every variant: (variant, print). A
/// deeper crop, or one of a photo with no background to trim to, is the
/// local-feature verifier's ([`super::features`]).
pub(crate) fn reference_prints(photo: &RgbImage) -> Vec<(Variant, Print)> {
    let mut prints = Vec::new();
    for variant in reference_variants() {
        let altered = apply_variant(photo, variant);
        let mut views = Vec::new();
        print_region(&Pixels::new(&altered), Region::Whole, true, &mut views);
        prints.extend(views.into_iter().map(|p| (variant, p)));
    }
    prints
}

/// Rotation about the centre, bilinear, uncovered corners `background`.
/// (The demo's counterfeiters rotate photos with it too.) Reads the raw
/// buffer and rounds by `+ 0.5` and truncation: every reference photo is
/// turned eight ways when indexed, and per-pixel bounds checks and libm's
/// `roundf`/`floorf` were most of that time.
pub(crate) fn rotate(img: &RgbImage, degrees: f32, background: [u8; 3]) -> RgbImage {
    let (w, h) = img.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (max_x, max_y) = ((w - 1) as f32, (h - 1) as f32);
    let src = img.as_raw();
    let stride = w as usize * 3;
    // Each column's share of the source point, once: the same products
    // summed in the same order as the definition, so the same pixels.
    let columns: Vec<(f32, f32)> = (0..w)
        .map(|x| {
            let dx = x as f32 + 0.5 - cx;
            (dx * cos, -dx * sin)
        })
        .collect();
    let mut out = vec![0u8; stride * h as usize];
    for (y, row) in out.chunks_exact_mut(stride).enumerate() {
        let dy = y as f32 + 0.5 - cy;
        let (dy_sin, dy_cos) = (dy * sin, dy * cos);
        for (pixel, &(dx_cos, minus_dx_sin)) in row.chunks_exact_mut(3).zip(&columns) {
            let sx = dx_cos + dy_sin + cx - 0.5;
            let sy = minus_dx_sin + dy_cos + cy - 0.5;
            if !(0.0..=max_x).contains(&sx) || !(0.0..=max_y).contains(&sy) {
                pixel.copy_from_slice(&background);
                continue;
            }
            // Non-negative here, so truncation is the floor.
            let (x0, y0) = (sx as usize, sy as usize);
            let (x1, y1) = ((x0 + 1).min(w as usize - 1), (y0 + 1).min(h as usize - 1));
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let (a, b) = (
                &src[y0 * stride + x0 * 3..][..3],
                &src[y0 * stride + x1 * 3..][..3],
            );
            let (c, d) = (
                &src[y1 * stride + x0 * 3..][..3],
                &src[y1 * stride + x1 * 3..][..3],
            );
            for i in 0..3 {
                let (a, b, c, d) = (a[i] as f32, b[i] as f32, c[i] as f32, d[i] as f32);
                let top = a + (b - a) * fx;
                let bottom = c + (d - c) * fx;
                // Bilinear weights keep it within 0..=255.
                pixel[i] = (top + (bottom - top) * fy + 0.5) as u8;
            }
        }
    }
    RgbImage::from_raw(w, h, out).expect("a buffer of the image's size")
}

/// Hamming distance.
pub(crate) fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// A cell this far (brightness + chroma) from its view's background shows
/// the object.
const OBJECT_CELL: f32 = 24.0;

fn cell_distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    (a[0] - b[0]).abs() + ((a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// How far apart two views' colour layouts are, 0 (same) upwards: over the
/// cells where either view shows its object, the mean difference in
/// brightness (after removing each view's mean, so a brightness shift is
/// free) plus in chroma, at the hue rotation within ±45° that fits best (so
/// a recolour is free too).
pub fn layout_distance(listing: &Print, reference: &Print) -> f32 {
    let cells =
        |p: &Print| -> Vec<[f32; 3]> { p.layout.iter().map(|c| c.map(|v| v as f32)).collect() };
    let (a, b) = (cells(listing), cells(reference));
    let is_object = |cell: [f32; 3], background: Option<[i16; 3]>| {
        background.is_none_or(|bg| cell_distance(cell, bg.map(|v| v as f32)) > OBJECT_CELL)
    };
    let object: Vec<usize> = (0..a.len().min(b.len()))
        .filter(|&i| is_object(a[i], listing.background) || is_object(b[i], reference.background))
        .collect();
    if object.len() < 4 {
        return f32::MAX;
    }
    let n = object.len() as f32;
    let mean = |cells: &[[f32; 3]]| object.iter().map(|&i| cells[i][0]).sum::<f32>() / n;
    let (mean_a, mean_b) = (mean(&a), mean(&b));
    let mut best = f32::MAX;
    for step in -6..=6 {
        let (sin, cos) = (step as f32 * 7.5f32).to_radians().sin_cos();
        let total: f32 = object
            .iter()
            .map(|&i| {
                let (ca, cb) = (a[i], b[i]);
                let turned = [
                    cb[0] - mean_b + mean_a,
                    cb[1] * cos - cb[2] * sin,
                    cb[1] * sin + cb[2] * cos,
                ];
                cell_distance(ca, turned)
            })
            .sum();
        best = best.min(total / n);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_is_bilinear_about_the_centre() {
        let img = RgbImage::from_fn(37, 23, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 11) as u8, ((x * y) % 251) as u8])
        });
        // A quarter of a turn's worth of angles, each pixel against the
        // definition: the source point turned back, sampled bilinearly.
        for degrees in [-9.0f32, 5.0, 30.0] {
            let turned = rotate(&img, degrees, [1, 2, 3]);
            assert_eq!(turned.dimensions(), img.dimensions());
            let (sin, cos) = degrees.to_radians().sin_cos();
            let (mut inside, mut outside) = (0, 0);
            for (x, y, pixel) in turned.enumerate_pixels() {
                let (dx, dy) = (x as f32 + 0.5 - 18.5, y as f32 + 0.5 - 11.5);
                let (sx, sy) = (dx * cos + dy * sin + 18.0, -dx * sin + dy * cos + 11.0);
                if !(0.0..=36.0).contains(&sx) || !(0.0..=22.0).contains(&sy) {
                    assert_eq!(pixel.0, [1, 2, 3]);
                    outside += 1;
                    continue;
                }
                let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let at =
                    |xx: u32, yy: u32, c: usize| img.get_pixel(xx.min(36), yy.min(22)).0[c] as f32;
                for c in 0..3 {
                    let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
                    let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
                    let want = top * (1.0 - fy) + bottom * fy;
                    assert!(
                        (pixel.0[c] as f32 - want).abs() <= 0.51,
                        "{degrees}° at ({x}, {y})"
                    );
                }
                inside += 1;
            }
            assert!(inside > 500, "{degrees}°: {inside} inside");
            assert!(outside > 0, "{degrees}°: the corners are uncovered");
        }
    }

    /// Grey test patterns, row-major (the Python that pinned the hashes
    /// draws the same ones).
    fn pattern(name: &str, w: usize, h: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as u64;
                let v = match name {
                    "noise" => ((i * 1_103_515_245 + 12_345) >> 16) & 255,
                    "gradient" => {
                        (x as f64 * 255.0 / (w - 1) as f64 * 0.7
                            + 60.0 * (1.0 + (y as f64 / 3.0).sin()) / 2.0)
                            as u64
                    }
                    // Irregular, so no coefficient ties with the median: a
                    // tie is decided by rounding noise, in Python as here.
                    "checker" => {
                        if (x / 5 + y / 3) % 2 == 0 {
                            230 - 3 * x as u64
                        } else {
                            25 + 2 * y as u64
                        }
                    }
                    _ => {
                        let (cx, cy) = (w as f64 * 0.4, h as f64 * 0.55);
                        let r = w.min(h) as f64 / 3.0;
                        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                        if dx * dx + dy * dy <= r * r {
                            40
                        } else {
                            210 - x as u64
                        }
                    }
                };
                out.push(v as f32);
            }
        }
        out
    }

    /// pHash and dHash pinned to Python imagehash 4.3.2's values for the
    /// same pixels (a 32×32 and a 9×8 grey image, so its resize is the
    /// identity): a change to either hash fails here before it silently
    /// mixes prints of two versions. The values came from:
    ///
    /// ```python
    /// img = Image.new("L", (32, 32)); img.putdata(pattern(name, 32, 32))
    /// small = Image.new("L", (9, 8)); small.putdata(pattern(name, 9, 8))
    /// str(imagehash.phash(img)), str(imagehash.dhash(small))
    /// ```
    #[test]
    fn hashes_match_python_imagehash_on_fixed_pixels() {
        let expected = [
            (
                "noise",
                0xead5_ead5_5581_c861_u64,
                0x8808_0808_1010_1011_u64,
            ),
            ("gradient", 0xaacd_b4ea_3475_443a, 0xffff_ffff_ffff_ffff),
            ("checker", 0xde06_1e06_5e06_fe1e, 0x0000_0008_0808_0000),
            ("disc", 0xbfc0_c02f_cf36_2e30, 0x0000_0804_0202_0408),
        ];
        for (name, phash_value, dhash_value) in expected {
            assert_eq!(
                phash(&pattern(name, 32, 32)),
                phash_value,
                "pHash of {name}"
            );
            assert_eq!(dhash(&pattern(name, 9, 8)), dhash_value, "dHash of {name}");
        }
    }

    #[test]
    fn variants_cover_dihedral_tilts_and_crops() {
        let variants = reference_variants();
        assert_eq!(
            variants
                .iter()
                .filter(|v| v.tilt == 0 && v.crop.is_none() && v.reduced_to.is_none())
                .count(),
            8
        );
        assert_eq!(
            variants.iter().filter(|v| v.reduced_to.is_some()).count(),
            2
        );
        assert_eq!(variants.iter().filter(|v| v.crop.is_some()).count(), 14);
        assert_eq!(
            Variant {
                crop: Some([8; 4]),
                ..Variant::default()
            }
            .to_string(),
            "crop 8% every side"
        );
        assert_eq!(
            Variant {
                crop: Some([12, 6, 0, 18]),
                ..Variant::default()
            }
            .to_string(),
            "crop 12% left, 6% top, 18% bottom"
        );
        assert_eq!(
            Variant {
                mirrored: true,
                tilt: -5,
                ..Variant::default()
            }
            .to_string(),
            "mirror+tilt -5°"
        );
    }
}
