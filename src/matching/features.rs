//! Local features: the verifier that finds a reference photo *inside* a
//! listing photo — pasted onto a scene or a banner, cropped, mirrored,
//! tiled into a collage, or all of these with a watermark and heavy JPEG —
//! where whole-photo hashes ([`super::image`]) see a different picture.
//!
//! It is ORB (Rublee et al., "ORB: an efficient alternative to SIFT or
//! SURF", ICCV 2011): FAST-9 corners (Rosten & Drummond, 2006) on an image
//! pyramid, each oriented by its intensity centroid and described by 256
//! steered BRIEF tests (Calonder et al., 2010) on a smoothed image. The
//! reference side is described as is and mirrored (BRIEF is not mirror
//! invariant). Descriptors are matched through multi-table LSH on bit
//! samples (Indyk & Motwani; the usual index for binary descriptors), and a
//! reference is *placed* by RANSAC on a similarity transform (Fischler &
//! Bolles, 1981) whose inliers must agree in position, orientation and
//! pyramid level and be spread over the reference — local-descriptor
//! verification as in the Image Similarity Challenge 2021 winners' copy
//! detection.
//!
//! A same-pose look-alike (same silhouette, other colours, pattern or
//! mark) shares outline corners with the reference, so a placement is then
//! checked densely: the reference's thumbnail is laid over the listing
//! photo where the transform puts it and compared, pixel by pixel over
//! the reference's object, in grey structure (correlation) and in colour.
//!
//! Written here rather than taken from imageproc: its BRIEF is not steered
//! (no orientation), it has no pyramid or matcher index, and it would bring
//! nalgebra and rand into a build that runs on two cores. Everything is
//! deterministic (a fixed-seed SplitMix64 for the pattern, the LSH bit
//! samples and RANSAC), so a judgement is reproducible.
//!
//! Pure: pixels in, features and placements out.

use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

/// Bump when what a [`Features`] holds or how features are matched
/// changes, so stored features and the photo matches kept under the
/// reference index's key are redone.
pub const FEATURE_VERSION: u32 = 4;
/// Longest side, in pixels, a photo is reduced to before description.
pub const FEATURE_SIDE: u32 = 256;
/// Pyramid levels of a listing photo (it is matched at scales 1, 0.8, 0.64).
const LISTING_LEVELS: usize = 3;
/// Pyramid levels of a reference photo: down to a third of its size, for
/// a copy shown small inside a bigger listing photo.
const REFERENCE_LEVELS: usize = 6;
/// Each pyramid level is this much smaller than the one before.
const SCALE_STEP: f32 = 1.25;
/// Grey levels a FAST arc must differ from the centre by.
const FAST_THRESHOLD: i16 = 18;
/// Strongest corners kept per photo, shared among levels by area.
const LISTING_POINTS: usize = 600;
const REFERENCE_POINTS: usize = 1000;
/// Pixels kept clear of the border: the orientation patch's radius plus one.
const MARGIN: i32 = 16;
/// Radius of the patch the orientation is measured on.
const ORIENTATION_RADIUS: i32 = 15;
/// Radius the BRIEF test points are drawn within (they stay inside the
/// orientation patch however they are turned).
const PATTERN_RADIUS: f32 = 12.0;
/// Orientations are quantised to this many bins (12° each).
const ANGLE_BINS: u8 = 30;
/// A descriptor match differs in at most this many of 256 bits.
const MAX_HAMMING: u32 = 64;
/// LSH tables, each keyed by a sample of descriptor bits.
const LSH_TABLES: usize = 12;
/// RANSAC hypotheses per reference photo.
const RANSAC_ROUNDS: usize = 300;
/// An inlier lands within this share of the listing photo's longest side.
const INLIER_TOLERANCE: f32 = 0.025;
/// Scales a placement may have (reference to listing, level-0 pixels).
const MIN_SCALE: f32 = 0.3;
const MAX_SCALE: f32 = 3.0;
/// Orientation disagreement an inlier may have, in angle bins.
const ANGLE_SLACK: i32 = 2;
/// Degrees off a quarter turn a placement may be turned with only
/// [`MIN_INLIERS`].
const MAX_TILT: f32 = 20.0;
/// Pyramid-level disagreement an inlier may have.
const LEVEL_SLACK: f32 = 1.5;
/// Fewer inliers than this is no placement; this many or more is certain.
pub const MIN_INLIERS: u32 = 20;
const FULL_INLIERS: u32 = 30;
/// The inliers must span this share of the reference's corners' extent in
/// both directions: a copy shows the whole object, a logo shares a corner.
const MIN_SPREAD: f32 = 0.3;
/// Side of the reference thumbnail the dense check compares.
pub const THUMB_SIDE: u32 = 48;
/// The dense check: at least this grey correlation over the object…
const MIN_CORRELATION: f32 = 0.55;
/// …and at most this colour distance (brightness offset removed; 0–255).
const MAX_COLOUR: f32 = 12.0;
/// From this many inliers the dense check loosens, step by step…
const LOOSER_FROM: u32 = 65;
/// …until at this many it asks only…
const STRONG_INLIERS: u32 = 80;
/// …this correlation and colour distance. A ramp, not a step: a copy
/// placed near the step would be judged by which side of it a small
/// change to matching puts it.
const MIN_CORRELATION_STRONG: f32 = 0.5;
const MAX_COLOUR_STRONG: f32 = 48.0;
/// The dense check cuts the placed object into this many rows…
const BANDS: usize = 10;
/// …and leaves out its worst rows up to this share of the object (they
/// may be under a banner).
const MAX_HIDDEN: f32 = 0.3;
/// A thumbnail pixel this far from the thumbnail's border colour shows the
/// object.
const OBJECT_TOLERANCE: u8 = 36;

/// One corner, in level-0 pixels of the described photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    /// Orientation bin, 0..[`ANGLE_BINS`].
    pub angle: u8,
    /// Pyramid level it was found at.
    pub level: u8,
}

/// The local features of one photo.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Size of the described photo (longest side [`FEATURE_SIDE`] or less).
    pub width: u32,
    pub height: u32,
    pub points: Vec<Keypoint>,
    /// 256-bit BRIEF descriptors, one per point.
    pub descriptors: Vec<[u64; 4]>,
}

/// A reference photo's thumbnail (longest side [`THUMB_SIDE`]) for the
/// dense check: RGB bytes, row-major.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// Where a reference photo was found in a listing photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Which indexed feature set ([`FeatureIndex::new`]'s order).
    pub set: usize,
    pub inliers: u32,
    /// Reference to listing size (level-0 pixels of each).
    pub scale: f32,
    /// Degrees, clockwise.
    pub rotation: f32,
    /// Listing point = `a · reference point + t`, `a` and `t` complex.
    transform: [f32; 4],
    /// 0.5 at [`MIN_INLIERS`] to 1.0 at [`FULL_INLIERS`].
    pub strength: f64,
}

/// The photo reduced to at most [`FEATURE_SIDE`] on its longest side.
pub fn feature_size(photo: &RgbImage) -> RgbImage {
    let (w, h) = photo.dimensions();
    let scale = (FEATURE_SIDE as f32 / w.max(h).max(1) as f32).min(1.0);
    if scale >= 1.0 {
        return photo.clone();
    }
    imageops::resize(
        photo,
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
        FilterType::Triangle,
    )
}

/// An 8-bit grey or RGB image resized to `width`×`height` with a triangle
/// filter stretched over the reduction (what image's `resize` does with
/// `Triangle`), by fast_image_resize's SIMD kernels — a few times faster.
pub fn resized<P>(
    image: &image::ImageBuffer<P, Vec<u8>>,
    width: u32,
    height: u32,
) -> image::ImageBuffer<P, Vec<u8>>
where
    P: image::Pixel<Subpixel = u8> + 'static,
{
    use fast_image_resize::{images, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let (w, h) = image.dimensions();
    let kind = match P::CHANNEL_COUNT {
        1 => PixelType::U8,
        3 => PixelType::U8x3,
        _ => PixelType::U8x4,
    };
    let source = images::ImageRef::new(w, h, image.as_raw(), kind);
    let mut out = images::Image::new(width.max(1), height.max(1), kind);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(
        fast_image_resize::FilterType::Bilinear,
    ));
    match source.map(|source| Resizer::new().resize(&source, &mut out, &options)) {
        Ok(Ok(())) => image::ImageBuffer::from_raw(out.width(), out.height(), out.into_vec())
            .expect("the resizer's buffer fits its size"),
        // Only an empty image or a channel count other than 1, 3 or 4
        // gets here; image's resize takes them.
        _ => image::imageops::resize(image, width, height, image::imageops::FilterType::Triangle),
    }
}

/// Features of a listing photo already at [`feature_size`].
pub fn describe_listing(photo: &RgbImage) -> Features {
    describe(&imageops::grayscale(photo), LISTING_LEVELS, LISTING_POINTS)
}

/// Features of a reference photo at [`feature_size`], as is and mirrored.
pub fn describe_reference(photo: &RgbImage) -> [Features; 2] {
    let grey = imageops::grayscale(photo);
    [
        describe(&grey, REFERENCE_LEVELS, REFERENCE_POINTS),
        describe(
            &imageops::flip_horizontal(&grey),
            REFERENCE_LEVELS,
            REFERENCE_POINTS,
        ),
    ]
}

/// The thumbnail of a reference photo at [`feature_size`].
pub fn thumbnail(photo: &RgbImage) -> Thumbnail {
    let (w, h) = photo.dimensions();
    let scale = THUMB_SIDE as f32 / w.max(h).max(1) as f32;
    let small = imageops::resize(
        photo,
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
        FilterType::Triangle,
    );
    Thumbnail {
        width: small.width(),
        height: small.height(),
        rgb: small.into_raw(),
    }
}

/// SplitMix64: a tiny, well-mixed generator, fixed-seeded for repeatable
/// patterns and RANSAC.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..1.
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The 256 BRIEF point pairs, Gaussian around the centre (σ = patch/5, as
/// Calonder et al. found best), turned to each orientation bin.
fn patterns() -> &'static Vec<[[i8; 4]; 256]> {
    static PATTERNS: std::sync::OnceLock<Vec<[[i8; 4]; 256]>> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| {
        let mut rng = SplitMix(0x6b6e_6f63_6b6f_6666);
        let mut point = || loop {
            // Box–Muller.
            let (u, v) = (rng.unit().max(1e-7), rng.unit());
            let r = (-2.0 * u.ln()).sqrt() * 31.0 / 5.0;
            let (x, y) = (
                r * (v * std::f32::consts::TAU).cos(),
                r * (v * std::f32::consts::TAU).sin(),
            );
            if x * x + y * y <= PATTERN_RADIUS * PATTERN_RADIUS {
                return (x, y);
            }
        };
        let pairs: Vec<[(f32, f32); 2]> = (0..256).map(|_| [point(), point()]).collect();
        (0..ANGLE_BINS)
            .map(|bin| {
                let (sin, cos) = (bin as f32 * std::f32::consts::TAU / ANGLE_BINS as f32).sin_cos();
                let turn = |(x, y): (f32, f32)| {
                    (
                        (x * cos - y * sin).round() as i8,
                        (x * sin + y * cos).round() as i8,
                    )
                };
                let mut out = [[0i8; 4]; 256];
                for (o, [a, b]) in out.iter_mut().zip(&pairs) {
                    let ((ax, ay), (bx, by)) = (turn(*a), turn(*b));
                    *o = [ax, ay, bx, by];
                }
                out
            })
            .collect()
    })
}

/// The 16 pixels of the radius-3 Bresenham circle FAST tests, in order.
const CIRCLE: [(i32, i32); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

/// The FAST-9 score of a pixel: 0 unless 9 contiguous circle pixels are
/// all brighter or all darker than it by [`FAST_THRESHOLD`]; else the summed
/// excess of the winning side.
fn fast_score(grey: &GrayImage, x: i32, y: i32) -> u32 {
    let w = grey.width() as i32;
    let raw = grey.as_raw();
    let at = |dx: i32, dy: i32| raw[((y + dy) * w + x + dx) as usize] as i16;
    let centre = at(0, 0);
    let (bright, dark) = (centre + FAST_THRESHOLD, centre - FAST_THRESHOLD);
    // Any 9-arc covers at least two of the four compass points.
    let compass = [at(0, -3), at(3, 0), at(0, 3), at(-3, 0)];
    if compass.iter().filter(|&&v| v > bright).count() < 2
        && compass.iter().filter(|&&v| v < dark).count() < 2
    {
        return 0;
    }
    let ring: [i16; 16] = CIRCLE.map(|(dx, dy)| at(dx, dy));
    let mut best = 0;
    for side in [1i16, -1] {
        let beyond = |v: i16| if side > 0 { v > bright } else { v < dark };
        // Bit i: ring pixel i is beyond. Nine in a row around the circle
        // is a run of nine ones in the mask laid twice end to end.
        let mask = ring
            .iter()
            .enumerate()
            .fold(0u32, |mask, (i, &v)| mask | (beyond(v) as u32) << i);
        let mut run = mask | mask << 16;
        for shift in 1..9 {
            run &= (mask | mask << 16) >> shift;
        }
        if run != 0 {
            let excess: u32 = ring
                .iter()
                .filter(|&&v| beyond(v))
                .map(|&v| ((v - centre).abs() - FAST_THRESHOLD) as u32)
                .sum();
            best = best.max(excess);
        }
    }
    best
}

/// Corners of one pyramid level: FAST-9 with 3×3 non-maximum suppression,
/// the `keep` strongest.
fn corners(grey: &GrayImage, keep: usize) -> Vec<(i32, i32)> {
    let (w, h) = (grey.width() as i32, grey.height() as i32);
    if w <= 2 * MARGIN || h <= 2 * MARGIN {
        return Vec::new();
    }
    let mut scores = vec![0u32; (w * h) as usize];
    let raw = grey.as_raw();
    let row = |y: i32| &raw[(y * w) as usize..((y + 1) * w) as usize];
    let threshold = FAST_THRESHOLD as u8;
    for y in MARGIN..h - MARGIN {
        let (up, middle, down) = (row(y - 3), row(y), row(y + 3));
        for x in MARGIN as usize..(w - MARGIN) as usize {
            // fast_score's compass test first, on row slices: most pixels
            // end here, and a full test of each was most of describing.
            let centre = middle[x];
            let (bright, dark) = (
                centre.saturating_add(threshold),
                centre.saturating_sub(threshold),
            );
            let compass = [up[x], middle[x + 3], down[x], middle[x - 3]];
            let brighter = compass.iter().filter(|&&v| v > bright).count();
            let darker = compass.iter().filter(|&&v| v < dark).count();
            if brighter < 2 && darker < 2 {
                continue;
            }
            scores[y as usize * w as usize + x] = fast_score(grey, x as i32, y);
        }
    }
    let mut found: Vec<(u32, i32, i32)> = Vec::new();
    for y in MARGIN..h - MARGIN {
        for x in MARGIN..w - MARGIN {
            let s = scores[(y * w + x) as usize];
            if s == 0 {
                continue;
            }
            let is_max = (-1..=1).all(|dy| {
                (-1..=1).all(|dx| {
                    let other = scores[((y + dy) * w + x + dx) as usize];
                    // Ties go to the first in scan order.
                    other < s || (other == s && (dy, dx) >= (0, 0))
                })
            });
            if is_max {
                found.push((s, x, y));
            }
        }
    }
    found.sort_unstable_by(|a, b| b.0.cmp(&a.0).then((a.2, a.1).cmp(&(b.2, b.1))));
    found.truncate(keep);
    found.into_iter().map(|(_, x, y)| (x, y)).collect()
}

/// Half-width of the orientation disc in each of its rows, top to bottom.
static DISC_REACH: std::sync::LazyLock<Vec<i32>> = std::sync::LazyLock::new(|| {
    (-ORIENTATION_RADIUS..=ORIENTATION_RADIUS)
        .map(|dy| ((ORIENTATION_RADIUS * ORIENTATION_RADIUS - dy * dy) as f32).sqrt() as i32)
        .collect()
});

/// Orientation bin of the patch around `(x, y)` by its intensity centroid.
fn orientation(grey: &GrayImage, x: i32, y: i32) -> u8 {
    let w = grey.width() as i32;
    let raw = grey.as_raw();
    // Exact in i32: |m10|, |m01| ≤ 255 · Σ|d| over the disc, under 2 M.
    let (mut m10, mut m01) = (0i32, 0i32);
    for (dy, &reach) in (-ORIENTATION_RADIUS..).zip(&*DISC_REACH) {
        let start = ((y + dy) * w + x - reach) as usize;
        let row = &raw[start..=start + 2 * reach as usize];
        let (mut sum, mut moment) = (0i32, 0i32);
        for (dx, &v) in (-reach..).zip(row) {
            sum += v as i32;
            moment += dx * v as i32;
        }
        m10 += moment;
        m01 += dy * sum;
    }
    let angle = (m01 as f32).atan2(m10 as f32);
    let bin = (angle / std::f32::consts::TAU * ANGLE_BINS as f32).round() as i32;
    bin.rem_euclid(ANGLE_BINS as i32) as u8
}

/// A 5×5 box blur: BRIEF's tests compare smoothed pixels, so noise and
/// JPEG blocks do not flip them.
fn smoothed(grey: &GrayImage) -> GrayImage {
    let (w, h) = (grey.width() as usize, grey.height() as usize);
    let src = grey.as_raw();
    // Near an edge the box holds fewer pixels: a sum of n is scaled by
    // 2^16 / n (a multiply, where a divide per pixel cost as much as the
    // rest of the filter).
    let per = |n: usize| (65536 / n.max(1)) as u32;
    // Row sums of up to 5 pixels, each a mean × 5 (so at most 1275), by a
    // running sum: the window gains a pixel on the right and loses one on
    // the left at each step.
    let per_across: [u32; 6] = std::array::from_fn(|n| 5 * per(n));
    let mut across = vec![0u16; w * h];
    for (row, out) in src.chunks_exact(w).zip(across.chunks_exact_mut(w)) {
        let mut sum: u32 = row[..w.min(3)].iter().map(|&v| v as u32).sum();
        for (x, value) in out.iter_mut().enumerate() {
            let (lo, hi) = (x.saturating_sub(2), (x + 2).min(w - 1));
            *value = ((sum * per_across[hi - lo + 1]) >> 16) as u16;
            if x + 3 < w {
                sum += row[x + 3] as u32;
            }
            if x >= 2 {
                sum -= row[x - 2] as u32;
            }
        }
    }
    let mut out = vec![0u8; w * h];
    let mut sums = vec![0u32; w];
    for y in 0..h {
        let (lo, hi) = (y.saturating_sub(2), (y + 2).min(h - 1));
        sums.fill(0);
        for row in across[lo * w..(hi + 1) * w].chunks_exact(w) {
            for (sum, &v) in sums.iter_mut().zip(row) {
                *sum += v as u32;
            }
        }
        let scale = per(5 * (hi - lo + 1));
        for (value, &sum) in out[y * w..(y + 1) * w].iter_mut().zip(&sums) {
            *value = ((sum * scale) >> 16).min(255) as u8;
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("buffer of the image's size")
}

fn describe(grey: &GrayImage, levels: usize, budget: usize) -> Features {
    let (width, height) = grey.dimensions();
    let mut features = Features {
        width,
        height,
        ..Features::default()
    };
    let patterns = patterns();
    // Each level's share of the budget follows its area.
    let areas: Vec<f32> = (0..levels)
        .map(|l| SCALE_STEP.powi(-2 * l as i32))
        .collect();
    let total: f32 = areas.iter().sum();
    let mut level_image = grey.clone();
    for (level, area) in areas.iter().enumerate() {
        if level > 0 {
            let scale = SCALE_STEP.powi(level as i32);
            let (w, h) = (
                (width as f32 / scale).round() as u32,
                (height as f32 / scale).round() as u32,
            );
            if w <= 2 * MARGIN as u32 || h <= 2 * MARGIN as u32 {
                break;
            }
            level_image = resized(grey, w, h);
        }
        let keep = (budget as f32 * area / total).round() as usize;
        let found = corners(&level_image, keep);
        if found.is_empty() {
            continue;
        }
        let smooth = smoothed(&level_image);
        let w = smooth.width() as i32;
        let raw = smooth.as_raw();
        let scale = SCALE_STEP.powi(level as i32);
        // Each test's two pixels as offsets from the keypoint in this
        // level's rows: one add a lookup, not a multiply.
        let offsets: Vec<[[i32; 2]; 256]> = patterns
            .iter()
            .map(|tests| {
                tests.map(|[ax, ay, bx, by]| [ay as i32 * w + ax as i32, by as i32 * w + bx as i32])
            })
            .collect();
        for (x, y) in found {
            let angle = orientation(&level_image, x, y);
            let centre = y * w + x;
            let mut descriptor = [0u64; 4];
            for (word, tests) in descriptor
                .iter_mut()
                .zip(offsets[angle as usize].chunks_exact(64))
            {
                for (bit, [a, b]) in tests.iter().enumerate() {
                    let brighter = raw[(centre + a) as usize] < raw[(centre + b) as usize];
                    *word |= (brighter as u64) << bit;
                }
            }
            features.points.push(Keypoint {
                x: x as f32 * scale,
                y: y as f32 * scale,
                angle,
                level: level as u8,
            });
            features.descriptors.push(descriptor);
        }
    }
    features
}

fn hamming(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (0..4).map(|i| (a[i] ^ b[i]).count_ones()).sum()
}

/// Descriptors of many feature sets (each a reference photo, as is or
/// mirrored) with LSH tables over them.
#[derive(Debug, Clone, Default)]
pub struct FeatureIndex {
    /// Each set's point count's extent, for the spread test.
    extents: Vec<[f32; 4]>,
    owner: Vec<u32>,
    points: Vec<Keypoint>,
    descriptors: Vec<[u64; 4]>,
    /// Per table, the descriptor bits its key is made of.
    bits: Vec<Vec<u8>>,
    tables: Vec<LshTable>,
}

/// One LSH table, CSR style: the descriptors whose key is `k` are
/// `ids[offsets[k]..offsets[k + 1]]`, in id order. A lookup is two array
/// reads and a bucket is contiguous; a hash map's hashing and pointer
/// chasing were most of placing a photo.
#[derive(Debug, Clone, Default)]
struct LshTable {
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

impl LshTable {
    fn new(keys: &[u32], key_bits: usize) -> LshTable {
        let mut offsets = vec![0u32; (1 << key_bits) + 1];
        for &key in keys {
            offsets[key as usize + 1] += 1;
        }
        for k in 1..offsets.len() {
            offsets[k] += offsets[k - 1];
        }
        let mut next = offsets.clone();
        let mut ids = vec![0u32; keys.len()];
        for (id, &key) in keys.iter().enumerate() {
            ids[next[key as usize] as usize] = id as u32;
            next[key as usize] += 1;
        }
        LshTable { offsets, ids }
    }

    fn bucket(&self, key: u32) -> &[u32] {
        let k = key as usize;
        &self.ids[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }
}

/// Descriptors a table's key bits are chosen on.
const KEY_SAMPLE: usize = 8192;
/// Bits drawn for each place in a table's key, the most even kept. More
/// make each table's buckets more even but the tables more alike.
const KEY_CANDIDATES: usize = 8;

/// One table's key bits, chosen so its buckets stay even. Descriptors'
/// tests are correlated (a flat patch answers most of them alike), so a
/// key of bits drawn at random carries much less than a bit a bit and
/// puts most descriptors in a few crowded buckets, each a long scan for
/// every query point that lands there. Each next bit is, of a few drawn at
/// random from `pool` (random, so the tables differ), the one that leaves
/// the fewest pairs of `sample` sharing a bucket — the greedy choice of
/// uncorrelated tests ORB makes for its own pattern (Rublee et al.).
fn balanced_key(sample: &[[u64; 4]], pool: &[u8], key_bits: usize, rng: &mut SplitMix) -> Vec<u8> {
    let mut keys = vec![0u32; sample.len()];
    let mut counts = vec![0u32; 1 << key_bits];
    // Pairs of the sample that share a bucket once `bit` joins the key.
    let mut shared_pairs = |keys: &[u32], bit: u8| -> u64 {
        let key = |(k, d): (&u32, &[u64; 4])| ((k << 1) | test(d, bit)) as usize;
        for pair in keys.iter().zip(sample) {
            counts[key(pair)] += 1;
        }
        // Each bucket's count squared, read (and cleared) at its first
        // member.
        let mut pairs = 0;
        for pair in keys.iter().zip(sample) {
            let count = std::mem::take(&mut counts[key(pair)]) as u64;
            pairs += count * count;
        }
        pairs
    };
    let mut free = pool.to_vec();
    let mut chosen = Vec::with_capacity(key_bits);
    while chosen.len() < key_bits && !free.is_empty() {
        let at = (0..KEY_CANDIDATES)
            .map(|_| rng.below(free.len()))
            .min_by_key(|&at| shared_pairs(&keys, free[at]))
            .expect("KEY_CANDIDATES is not zero");
        let bit = free.swap_remove(at);
        for (k, d) in keys.iter_mut().zip(sample) {
            *k = (*k << 1) | test(d, bit);
        }
        chosen.push(bit);
    }
    chosen
}

/// The answer of a descriptor's BRIEF test `bit`.
fn test(descriptor: &[u64; 4], bit: u8) -> u32 {
    ((descriptor[bit as usize / 64] >> (bit % 64)) & 1) as u32
}

fn lsh_key(descriptor: &[u64; 4], bits: &[u8]) -> u32 {
    bits.iter()
        .fold(0u32, |key, &b| (key << 1) | test(descriptor, b))
}

impl FeatureIndex {
    pub fn new<'a>(sets: impl IntoIterator<Item = &'a Features>) -> FeatureIndex {
        let mut index = FeatureIndex::default();
        for (set, features) in sets.into_iter().enumerate() {
            let extent = features.points.iter().fold(
                [f32::MAX, f32::MAX, f32::MIN, f32::MIN],
                |[x0, y0, x1, y1], p| [x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y)],
            );
            index.extents.push(extent);
            index
                .owner
                .extend(std::iter::repeat_n(set as u32, features.points.len()));
            index.points.extend_from_slice(&features.points);
            index.descriptors.extend_from_slice(&features.descriptors);
        }
        // Enough key bits that a bucket holds a handful of descriptors.
        let n = index.descriptors.len().max(1);
        let key_bits = ((n as f32 / 4.0).log2().round() as usize).clamp(10, 20);
        // Photos' tests are far from fair coins (flat areas answer most
        // alike), and a key of biased bits puts most descriptors in a few
        // buckets; keys draw from the half of the tests nearest even.
        let mut ones = [0usize; 256];
        for d in &index.descriptors {
            for (bit, count) in ones.iter_mut().enumerate() {
                *count += test(d, bit as u8) as usize;
            }
        }
        let mut fair: Vec<u8> = (0..=255).collect();
        fair.sort_by_key(|&b| ((2 * ones[b as usize]).abs_diff(n), b));
        fair.truncate(128);
        let mut rng = SplitMix(0x6c73_685f_7461_626c);
        let stride = n.div_ceil(KEY_SAMPLE);
        let sample: Vec<[u64; 4]> = index.descriptors.iter().step_by(stride).copied().collect();
        for _ in 0..LSH_TABLES {
            let bits = balanced_key(&sample, &fair, key_bits, &mut rng);
            let keys: Vec<u32> = index
                .descriptors
                .iter()
                .map(|d| lsh_key(d, &bits))
                .collect();
            index.bits.push(bits);
            index.tables.push(LshTable::new(&keys, key_bits));
        }
        index
    }

    /// Whether any descriptor is indexed.
    pub fn is_empty(&self) -> bool {
        self.descriptors.is_empty()
    }

    /// Every indexed set found in `query`, most inliers first: nearest
    /// descriptors per set, then RANSAC on a similarity transform.
    pub fn placements(&self, query: &Features) -> Vec<Placement> {
        if self.is_empty() || query.points.len() < MIN_INLIERS as usize {
            return Vec::new();
        }
        // Per set: (query point, indexed point) of each query point's
        // nearest descriptor in that set.
        let mut matches: Vec<Vec<(u32, u32)>> = vec![Vec::new(); self.extents.len()];
        let mut seen = vec![u32::MAX; self.descriptors.len()];
        // The query point's nearest (indexed point, distance) in each set
        // met so far, and those sets in the order met.
        let mut nearest = vec![(u32::MAX, u32::MAX); self.extents.len()];
        let mut met: Vec<u32> = Vec::new();
        for (q, d) in query.descriptors.iter().enumerate() {
            for (bits, table) in self.bits.iter().zip(&self.tables) {
                for &id in table.bucket(lsh_key(d, bits)) {
                    if std::mem::replace(&mut seen[id as usize], q as u32) == q as u32 {
                        continue;
                    }
                    let distance = hamming(d, &self.descriptors[id as usize]);
                    if distance > MAX_HAMMING {
                        continue;
                    }
                    let set = self.owner[id as usize];
                    let best = &mut nearest[set as usize];
                    if best.0 == u32::MAX {
                        met.push(set);
                    }
                    if distance < best.1 {
                        *best = (id, distance);
                    }
                }
            }
            for set in met.drain(..) {
                let (id, _) = std::mem::replace(&mut nearest[set as usize], (u32::MAX, u32::MAX));
                matches[set as usize].push((q as u32, id));
            }
        }
        let tolerance = INLIER_TOLERANCE * query.width.max(query.height) as f32;
        let mut placements: Vec<Placement> = matches
            .into_iter()
            .enumerate()
            .filter_map(|(set, m)| {
                let m = self.consistent(query, m);
                (m.len() >= MIN_INLIERS as usize)
                    .then(|| self.place(set, query, &m, tolerance))
                    .flatten()
            })
            .collect();
        placements.sort_by(|a, b| b.inliers.cmp(&a.inliers).then(a.set.cmp(&b.set)));
        placements
    }

    /// The matches that could be inliers of a placement with
    /// [`MIN_INLIERS`]: a placement's inliers turn by one angle give or
    /// take [`ANGLE_SLACK`] bins and change level by one amount give or
    /// take [`LEVEL_SLACK`], so they fall in one window of 5 angle bins by
    /// 4 levels of a histogram of the matches' turns and level changes.
    /// Matches in no window holding that many are left out — most sets,
    /// which chance matched, have none — before RANSAC samples them.
    fn consistent(&self, query: &Features, matches: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
        const LEVELS: usize = REFERENCE_LEVELS + LISTING_LEVELS;
        const ANGLE_WINDOW: usize = 2 * ANGLE_SLACK as usize + 1;
        const LEVEL_WINDOW: usize = (2.0 * LEVEL_SLACK) as usize + 1;
        if matches.len() < MIN_INLIERS as usize {
            return Vec::new();
        }
        let bin = |&(q, r): &(u32, u32)| {
            let (q, r) = (query.points[q as usize], self.points[r as usize]);
            let turn = (q.angle as i32 - r.angle as i32).rem_euclid(ANGLE_BINS as i32) as usize;
            let level = (q.level as i32 - r.level as i32 + REFERENCE_LEVELS as i32)
                .clamp(0, LEVELS as i32 - 1) as usize;
            (turn, level)
        };
        let mut counts = [[0u32; LEVELS]; ANGLE_BINS as usize];
        for m in &matches {
            let (turn, level) = bin(m);
            counts[turn][level] += 1;
        }
        // dense[t][l]: whether the window of turns t.. and levels l.. is.
        let mut dense = [[false; LEVELS]; ANGLE_BINS as usize];
        let mut any = false;
        for t in 0..ANGLE_BINS as usize {
            for l in 0..LEVELS {
                let total: u32 = (0..ANGLE_WINDOW)
                    .map(|da| {
                        let row = &counts[(t + da) % ANGLE_BINS as usize];
                        row[l..(l + LEVEL_WINDOW).min(LEVELS)].iter().sum::<u32>()
                    })
                    .sum();
                dense[t][l] = total >= MIN_INLIERS;
                any |= dense[t][l];
            }
        }
        if !any {
            return Vec::new();
        }
        let in_dense = |(turn, level): (usize, usize)| {
            (0..ANGLE_WINDOW).any(|da| {
                let t = (turn + ANGLE_BINS as usize - da) % ANGLE_BINS as usize;
                (level.saturating_sub(LEVEL_WINDOW - 1)..=level).any(|l| dense[t][l])
            })
        };
        matches.into_iter().filter(|m| in_dense(bin(m))).collect()
    }

    /// RANSAC over one set's matches.
    fn place(
        &self,
        set: usize,
        query: &Features,
        matches: &[(u32, u32)],
        tolerance: f32,
    ) -> Option<Placement> {
        let pairs: Vec<(Keypoint, Keypoint)> = matches
            .iter()
            .map(|&(q, r)| (query.points[q as usize], self.points[r as usize]))
            .collect();
        // Per pair, its turn in bins (0..ANGLE_BINS) and its change of
        // level: every hypothesis tests every pair, so they are worked out
        // once, and the cheap tests go first.
        let turns_levels: Vec<(i32, f32)> = pairs
            .iter()
            .map(|(q, r)| {
                (
                    (q.angle as i32 - r.angle as i32).rem_euclid(ANGLE_BINS as i32),
                    q.level as f32 - r.level as f32,
                )
            })
            .collect();
        // Whether pair `i` agrees with the similarity `a` turning by `turn`
        // bins (0..ANGLE_BINS) and changing level by `levels`.
        let agrees = |a: [f32; 4], i: usize, turn: i32, levels: f32| {
            let (pair_turn, pair_levels) = turns_levels[i];
            let mut angle = pair_turn - turn;
            if angle < 0 {
                angle += ANGLE_BINS as i32;
            }
            let angle = angle.min(ANGLE_BINS as i32 - angle);
            if angle > ANGLE_SLACK || (pair_levels - levels).abs() > LEVEL_SLACK {
                return false;
            }
            let (q, r) = pairs[i];
            let (px, py) = (
                a[0] * r.x - a[1] * r.y + a[2],
                a[1] * r.x + a[0] * r.y + a[3],
            );
            (px - q.x).powi(2) + (py - q.y).powi(2) <= tolerance * tolerance
        };
        let mut rng = SplitMix(0x7261_6e73_6163 ^ (set as u64) << 32 ^ matches.len() as u64);
        let mut best: Option<(u32, [f32; 4], i32, f32)> = None;
        for _ in 0..RANSAC_ROUNDS {
            let (i, j) = (rng.below(matches.len()), rng.below(matches.len()));
            let ((q1, r1), (q2, r2)) = (pairs[i], pairs[j]);
            let (drx, dry) = (r2.x - r1.x, r2.y - r1.y);
            let norm = drx * drx + dry * dry;
            if norm < 64.0 {
                continue;
            }
            let (dqx, dqy) = (q2.x - q1.x, q2.y - q1.y);
            // a = dq / dr, as complex numbers.
            let (ar, ai) = (
                (dqx * drx + dqy * dry) / norm,
                (dqy * drx - dqx * dry) / norm,
            );
            let scale = (ar * ar + ai * ai).sqrt();
            if !(MIN_SCALE..=MAX_SCALE).contains(&scale) {
                continue;
            }
            let a = [
                ar,
                ai,
                q1.x - (ar * r1.x - ai * r1.y),
                q1.y - (ai * r1.x + ar * r1.y),
            ];
            let turn = (ai.atan2(ar) / std::f32::consts::TAU * ANGLE_BINS as f32).round() as i32;
            let turn = turn.rem_euclid(ANGLE_BINS as i32);
            // A corner the reference shows at level l the listing shows at
            // level l + log(scale): smaller, so at a finer level.
            let levels = scale.ln() / SCALE_STEP.ln();
            if !agrees(a, i, turn, levels) || !agrees(a, j, turn, levels) {
                continue;
            }
            let count = (0..pairs.len())
                .filter(|&k| agrees(a, k, turn, levels))
                .count() as u32;
            if best.is_none_or(|b| count > b.0) {
                best = Some((count, a, turn, levels));
            }
        }
        let (_, a, turn, levels) = best?;
        let a = refit(
            &(0..pairs.len())
                .filter(|&k| agrees(a, k, turn, levels))
                .map(|k| pairs[k])
                .collect::<Vec<_>>(),
        )
        .unwrap_or(a);
        // Count each reference and each listing corner once.
        let mut used_q: Vec<u32> = Vec::new();
        let mut used_r: Vec<u32> = Vec::new();
        let mut box_ = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        for (k, m) in matches.iter().enumerate() {
            if agrees(a, k, turn, levels) && !used_q.contains(&m.0) && !used_r.contains(&m.1) {
                used_q.push(m.0);
                used_r.push(m.1);
                let r = self.points[m.1 as usize];
                box_ = [
                    box_[0].min(r.x),
                    box_[1].min(r.y),
                    box_[2].max(r.x),
                    box_[3].max(r.y),
                ];
            }
        }
        let inliers = used_r.len() as u32;
        let extent = self.extents[set];
        let spread = ((box_[2] - box_[0]) / (extent[2] - extent[0]).max(1.0))
            .min((box_[3] - box_[1]) / (extent[3] - extent[1]).max(1.0));
        // Copies are shown upright or turned a quarter, give or take a
        // tilt; at any other angle chance agreement is likelier than a
        // copy, so it takes as many inliers as certainty does.
        let rotation = a[1].atan2(a[0]).to_degrees();
        let off_square = (rotation.rem_euclid(90.0)).min(90.0 - rotation.rem_euclid(90.0));
        let needed = if off_square > MAX_TILT {
            FULL_INLIERS
        } else {
            MIN_INLIERS
        };
        if inliers < needed || spread < MIN_SPREAD {
            return None;
        }
        let strength = 0.5
            + 0.5 * ((inliers - MIN_INLIERS) as f64 / (FULL_INLIERS - MIN_INLIERS) as f64).min(1.0);
        Some(Placement {
            set,
            inliers,
            scale: (a[0] * a[0] + a[1] * a[1]).sqrt(),
            rotation,
            transform: a,
            strength,
        })
    }
}

/// The least-squares similarity taking each pair's reference point onto
/// its listing point (Umeyama's closed form, as complex numbers).
fn refit(pairs: &[(Keypoint, Keypoint)]) -> Option<[f32; 4]> {
    let n = pairs.len() as f32;
    let (mut qx, mut qy, mut rx, mut ry) = (0.0, 0.0, 0.0, 0.0);
    for (q, r) in pairs {
        (qx, qy, rx, ry) = (qx + q.x / n, qy + q.y / n, rx + r.x / n, ry + r.y / n);
    }
    let (mut re, mut im, mut norm) = (0f32, 0f32, 0f32);
    for (q, r) in pairs {
        let (dq, dr) = ((q.x - qx, q.y - qy), (r.x - rx, r.y - ry));
        // dq · conj(dr)
        re += dq.0 * dr.0 + dq.1 * dr.1;
        im += dq.1 * dr.0 - dq.0 * dr.1;
        norm += dr.0 * dr.0 + dr.1 * dr.1;
    }
    if norm <= 0.0 {
        return None;
    }
    let (ar, ai) = (re / norm, im / norm);
    Some([ar, ai, qx - (ar * rx - ai * ry), qy - (ai * rx + ar * ry)])
}

/// How a placed reference compares with what the listing photo shows
/// there: grey correlation and colour distance over the reference's
/// object, and the share of it inside the listing photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    pub correlation: f32,
    pub colour: f32,
    pub inside: f32,
}

impl Agreement {
    /// Whether a placement with `inliers` shows the reference photo, not
    /// a look-alike. A look-alike shares the outline's corners, a few
    /// dozen; a copy under a banner across it shares hundreds but
    /// disagrees where the banner is, so from [`LOOSER_FROM`] to
    /// [`STRONG_INLIERS`] the pixels need agree less and less.
    pub fn is_copy(&self, inliers: u32) -> bool {
        let loosened =
            inliers.saturating_sub(LOOSER_FROM) as f32 / (STRONG_INLIERS - LOOSER_FROM) as f32;
        let t = loosened.min(1.0);
        let correlation = MIN_CORRELATION + (MIN_CORRELATION_STRONG - MIN_CORRELATION) * t;
        let colour = MAX_COLOUR + (MAX_COLOUR_STRONG - MAX_COLOUR) * t;
        self.inside >= 0.4 && self.correlation >= correlation && self.colour <= colour
    }
}

/// Lays `thumb` (of a reference described at `reference_size`, mirrored
/// or not) over `listing` (at [`feature_size`]) where `placement` puts it
/// and compares them.
pub fn agreement(
    listing: &RgbImage,
    thumb: &Thumbnail,
    reference_size: (u32, u32),
    mirrored: bool,
    placement: &Placement,
) -> Agreement {
    let nothing = Agreement {
        correlation: 0.0,
        colour: f32::MAX,
        inside: 0.0,
    };
    let (tw, th) = (thumb.width as usize, thumb.height as usize);
    if tw * th * 3 != thumb.rgb.len() || tw < 4 || th < 4 {
        return nothing;
    }
    let pixel = |u: usize, v: usize| -> [u8; 3] {
        let i = (v * tw + u) * 3;
        [thumb.rgb[i], thumb.rgb[i + 1], thumb.rgb[i + 2]]
    };
    // The object: pixels away from the thumbnail's border colour, when
    // the border is one colour; else all of it.
    let mut border: Vec<[u8; 3]> = (0..tw)
        .flat_map(|u| [pixel(u, 0), pixel(u, th - 1)])
        .collect();
    border.extend((0..th).flat_map(|v| [pixel(0, v), pixel(tw - 1, v)]));
    let median = [0, 1, 2].map(|c| {
        let mut values: Vec<u8> = border.iter().map(|p| p[c]).collect();
        let mid = values.len() / 2;
        *values.select_nth_unstable(mid).1
    });
    let far = |p: [u8; 3], tolerance: u8| (0..3).any(|c| p[c].abs_diff(median[c]) > tolerance);
    let uniform = border
        .iter()
        .filter(|p| !far(**p, OBJECT_TOLERANCE / 2))
        .count()
        * 10
        >= border.len() * 7;
    let a = placement.transform;
    let (rw, rh) = (reference_size.0 as f32, reference_size.1 as f32);
    let (lw, lh) = (listing.width() as f32, listing.height() as f32);
    // Each thumbnail pixel covers this many listing pixels.
    let reach = (placement.scale * rw / tw as f32 / 2.0).max(0.5);
    // (reference colour, listing colour, listing row)
    let mut pairs: Vec<([f32; 3], [f32; 3], f32)> = Vec::new();
    let mut object = 0usize;
    for v in 0..th {
        for u in 0..tw {
            let p = pixel(if mirrored { tw - 1 - u } else { u }, v);
            if uniform && !far(p, OBJECT_TOLERANCE) {
                continue;
            }
            object += 1;
            let (rx, ry) = (
                (u as f32 + 0.5) * rw / tw as f32,
                (v as f32 + 0.5) * rh / th as f32,
            );
            let (x, y) = (a[0] * rx - a[1] * ry + a[2], a[1] * rx + a[0] * ry + a[3]);
            if x < 0.0 || y < 0.0 || x >= lw || y >= lh {
                continue;
            }
            pairs.push((p.map(f32::from), mean_around(listing, x, y, reach), y));
        }
    }
    if object == 0 || pairs.len() < 16 {
        return nothing;
    }
    let grey = |p: [f32; 3]| (p[0] + p[1] + p[2]) / 3.0;
    let chroma = |p: [f32; 3]| p.map(|c| c - grey(p));
    // A brightness offset is free: the median grey difference.
    let mut shifts: Vec<f32> = pairs.iter().map(|(r, l, _)| grey(*l) - grey(*r)).collect();
    let mid = shifts.len() / 2;
    let offset = *shifts.select_nth_unstable_by(mid, f32::total_cmp).1;
    let (top, bottom) = pairs
        .iter()
        .fold((f32::MAX, f32::MIN), |(t, b), p| (t.min(p.2), b.max(p.2)));
    let band_of =
        |y: f32| (((y - top) / (bottom - top).max(1.0) * BANDS as f32) as usize).min(BANDS - 1);
    // (distance, reference grey, listing grey, band)
    let mut scored: Vec<(f32, f32, f32, usize)> = pairs
        .iter()
        .map(|(r, l, y)| {
            let (cr, cl) = (chroma(*r), chroma(*l));
            let distance = (grey(*l) - grey(*r) - offset).abs() / 2.0
                + ((cr[0] - cl[0]).powi(2) + (cr[1] - cl[1]).powi(2) + (cr[2] - cl[2]).powi(2))
                    .sqrt();
            (distance, grey(*r), grey(*l), band_of(*y))
        })
        .collect();
    // A banner or a sticker hides whole rows of a copy: the worst rows,
    // up to [`MAX_HIDDEN`] of the object, are not looked at. A look-alike
    // differs all over (colours, pattern) or in its middle (the mark).
    let mut bands = [(0f32, 0usize); BANDS];
    for s in &scored {
        bands[s.3].0 += s.0;
        bands[s.3].1 += 1;
    }
    let mut worst: Vec<usize> = (0..BANDS).filter(|&b| bands[b].1 > 0).collect();
    worst.sort_by(|&a, &b| {
        let mean = |b: usize| bands[b].0 / bands[b].1 as f32;
        mean(b).total_cmp(&mean(a))
    });
    let mut hidden = [false; BANDS];
    let mut hidden_pixels = 0;
    for b in worst {
        if (hidden_pixels + bands[b].1) as f32 > scored.len() as f32 * MAX_HIDDEN {
            break;
        }
        hidden_pixels += bands[b].1;
        hidden[b] = true;
    }
    scored.retain(|s| !hidden[s.3]);
    if scored.is_empty() {
        return nothing;
    }
    let n = scored.len() as f32;
    let (mean_r, mean_l) = scored
        .iter()
        .fold((0.0, 0.0), |(r, l), s| (r + s.1 / n, l + s.2 / n));
    let (mut cov, mut var_r, mut var_l) = (0.0f32, 0.0f32, 0.0f32);
    for &(_, r, l, _) in &scored {
        cov += (r - mean_r) * (l - mean_l);
        var_r += (r - mean_r).powi(2);
        var_l += (l - mean_l).powi(2);
    }
    Agreement {
        correlation: if var_r > 0.0 && var_l > 0.0 {
            cov / (var_r * var_l).sqrt()
        } else {
            0.0
        },
        colour: scored.iter().map(|s| s.0).sum::<f32>() / n,
        inside: pairs.len() as f32 / object as f32,
    }
}

/// Mean colour of the listing pixels within `reach` of `(x, y)`.
fn mean_around(img: &RgbImage, x: f32, y: f32, reach: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let r = reach.round().clamp(0.0, 6.0) as i32;
    let (cx, cy) = (x as i32, y as i32);
    let mut sum = [0f32; 3];
    let mut count = 0f32;
    for yy in (cy - r).max(0)..=(cy + r).min(h - 1) {
        for xx in (cx - r).max(0)..=(cx + r).min(w - 1) {
            let p = img.get_pixel(xx as u32, yy as u32).0;
            for c in 0..3 {
                sum[c] += p[c] as f32;
            }
            count += 1.0;
        }
    }
    sum.map(|s| s / count.max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dense_check_loosens_by_a_ramp_not_a_step() {
        let seen = Agreement {
            correlation: 0.6,
            colour: 30.0,
            inside: 1.0,
        };
        let passes: Vec<bool> = (0..120).map(|inliers| seen.is_copy(inliers)).collect();
        // Once loose enough, more inliers never make it stricter.
        let first = passes.iter().position(|&p| p).unwrap();
        assert!(passes[first..].iter().all(|&p| p));
        // Strict below the ramp, loose past it, and in between neither
        // step: a colour distance of 30 is allowed about two thirds up.
        assert!(
            first > LOOSER_FROM as usize && first < STRONG_INLIERS as usize,
            "{first}"
        );
        let strict = Agreement {
            colour: 11.0,
            ..seen
        };
        assert!(strict.is_copy(MIN_INLIERS));
    }

    #[test]
    fn corners_are_the_full_fast_test_of_every_pixel() {
        // The compass pre-test on row slices must only skip pixels the full
        // test scores 0: the corners equal the local maxima of scoring
        // every pixel (ties to the first in scan order).
        let mut rng = SplitMix(7);
        let grey = GrayImage::from_fn(120, 90, |x, y| {
            let block = ((x / 9 + y / 7) % 3) as u8 * 90;
            image::Luma([block.saturating_add((rng.next() % 24) as u8)])
        });
        let (w, h) = (grey.width() as i32, grey.height() as i32);
        let inside =
            |x: i32, y: i32| x >= MARGIN && y >= MARGIN && x < w - MARGIN && y < h - MARGIN;
        let score = |x: i32, y: i32| {
            if inside(x, y) {
                fast_score(&grey, x, y)
            } else {
                0
            }
        };
        let mut want = Vec::new();
        for y in MARGIN..h - MARGIN {
            for x in MARGIN..w - MARGIN {
                let s = score(x, y);
                let strongest = (-1..=1).all(|dy: i32| {
                    (-1..=1).all(|dx: i32| {
                        let other = score(x + dx, y + dy);
                        other < s || (other == s && (dy, dx) >= (0, 0))
                    })
                });
                if s > 0 && strongest {
                    want.push((x, y));
                }
            }
        }
        assert!(
            want.len() > 20,
            "the pattern has corners to find: {}",
            want.len()
        );
        let mut found = corners(&grey, usize::MAX);
        found.sort_by_key(|&(x, y)| (y, x));
        assert_eq!(found, want);
    }

    #[test]
    fn smoothing_is_the_box_mean_of_every_pixel() {
        // The running row sums must give what summing each pixel's box
        // does, at the edges too (where the box holds fewer pixels).
        let mut rng = SplitMix(11);
        for (w, h) in [(1, 1), (2, 7), (4, 4), (37, 23)] {
            let grey = GrayImage::from_fn(w, h, |_, _| image::Luma([rng.below(256) as u8]));
            let at = |x: usize, y: usize| grey.as_raw()[y * w as usize + x] as u32;
            let window = |i: usize, n: usize| i.saturating_sub(2)..=(i + 2).min(n - 1);
            let smooth = smoothed(&grey);
            for y in 0..h as usize {
                for x in 0..w as usize {
                    // Each row's mean × 5 truncated, then the column's mean.
                    let rows: Vec<u32> = window(y, h as usize)
                        .map(|yy| {
                            let xs = window(x, w as usize);
                            let n = xs.clone().count() as u32;
                            let sum: u32 = xs.map(|xx| at(xx, yy)).sum();
                            (sum * 5 * (65536 / n)) >> 16
                        })
                        .collect();
                    let n = 5 * rows.len() as u32;
                    let want = ((rows.iter().sum::<u32>() * (65536 / n)) >> 16).min(255);
                    assert_eq!(
                        smooth.get_pixel(x as u32, y as u32).0[0] as u32,
                        want,
                        "({x}, {y}) of {w}×{h}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_lsh_bucket_holds_the_ids_of_its_key_in_order() {
        let keys = [3, 0, 3, 7, 0, 3];
        let table = LshTable::new(&keys, 3);
        assert_eq!(table.bucket(3), &[0, 2, 5]);
        assert_eq!(table.bucket(0), &[1, 4]);
        assert_eq!(table.bucket(7), &[3]);
        assert!(table.bucket(1).is_empty() && table.bucket(6).is_empty());
    }

    #[test]
    fn a_key_draws_few_bits_that_answer_alike() {
        // Tests 0..64 all answer one coin per descriptor (a flat patch
        // answers them alike); 64..128 are each their own coin. Half the
        // pool is the alike group, so a key drawn blindly is mostly copies
        // of one bit; the balanced key takes one of them at most and
        // spreads the descriptors near evenly.
        let mut rng = SplitMix(11);
        let sample: Vec<[u64; 4]> = (0..4096)
            .map(|_| {
                let alike = if rng.next() & 1 == 1 { u64::MAX } else { 0 };
                [alike, rng.next(), 0, 0]
            })
            .collect();
        let pool: Vec<u8> = (0..128).collect();
        let key_bits = 10;
        let bits = balanced_key(&sample, &pool, key_bits, &mut SplitMix(5));
        assert_eq!(bits.len(), key_bits);
        assert!(bits.iter().filter(|&&b| b < 64).count() <= 1, "{bits:?}");
        let mut buckets = vec![0u64; 1 << key_bits];
        for d in &sample {
            buckets[lsh_key(d, &bits) as usize] += 1;
        }
        // Same-bucket pairs (self included): n + n²/2^k for an even split.
        let pairs: u64 = buckets.iter().map(|b| b * b).sum();
        let even = 4096 + 4096 * 4096 / (1 << key_bits);
        assert!(pairs < even + even / 4, "{pairs} against {even}");
    }

    #[test]
    fn resizing_keeps_the_picture_and_the_channels() {
        // Left half dark, right half light: reduced, each side keeps its
        // value away from the edge, grey and colour alike.
        let rgb = image::RgbImage::from_fn(200, 100, |x, _| {
            image::Rgb(if x < 100 {
                [20, 40, 60]
            } else {
                [220, 200, 180]
            })
        });
        let small = resized(&rgb, 50, 25);
        assert_eq!(small.dimensions(), (50, 25));
        assert_eq!(small.get_pixel(5, 12).0, [20, 40, 60]);
        assert_eq!(small.get_pixel(45, 12).0, [220, 200, 180]);
        let grey = image::imageops::grayscale(&rgb);
        let small = resized(&grey, 40, 20);
        assert_eq!(small.dimensions(), (40, 20));
        assert!(small.get_pixel(2, 10).0[0] < 60 && small.get_pixel(38, 10).0[0] > 180);
    }

    use image::Rgb;

    /// A textured test photo: overlapping discs and bars of many colours.
    fn scene(w: u32, h: u32, seed: u64) -> RgbImage {
        let mut rng = SplitMix(seed);
        let mut img = RgbImage::from_pixel(w, h, Rgb([250, 250, 250]));
        for _ in 0..40 {
            let (cx, cy) = (rng.unit() * w as f32, rng.unit() * h as f32);
            let r = 6.0 + rng.unit() * 24.0;
            let colour = Rgb([
                rng.below(256) as u8,
                rng.below(256) as u8,
                rng.below(256) as u8,
            ]);
            let bar = rng.below(2) == 0;
            for (x, y, p) in img.enumerate_pixels_mut() {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let inside = if bar {
                    dx.abs() < r && dy.abs() < r / 3.0
                } else {
                    dx * dx + dy * dy < r * r
                };
                if inside {
                    *p = colour;
                }
            }
        }
        img
    }

    #[test]
    fn a_reference_pasted_small_and_mirrored_into_a_scene_is_placed() {
        let reference = scene(200, 200, 1);
        let [as_is, mirrored] = describe_reference(&reference);
        let index = FeatureIndex::new([&as_is, &mirrored]);
        // The reference mirrored, at 60% size, pasted onto another scene.
        let small = imageops::resize(
            &imageops::flip_horizontal(&reference),
            120,
            120,
            FilterType::Triangle,
        );
        let mut listing = scene(256, 200, 2);
        imageops::overlay(&mut listing, &small, 100, 40);
        let found = index.placements(&describe_listing(&listing));
        let best = found.first().expect("placed");
        assert_eq!(best.set, 1, "the mirrored reference: {found:?}");
        assert!((best.scale - 0.6).abs() < 0.06, "{best:?}");
        assert!(best.rotation.abs() < 5.0, "{best:?}");
        let thumb = thumbnail(&reference);
        let agreement = agreement(&listing, &thumb, (200, 200), true, best);
        assert!(agreement.is_copy(best.inliers), "{agreement:?}");
        // Laid over the wrong place, the same thumbnail disagrees.
        let elsewhere = Placement {
            transform: [0.6, 0.0, 10.0, 10.0],
            ..best.clone()
        };
        assert!(!agreement_of(&listing, &thumb, &elsewhere).is_copy(best.inliers));
    }

    fn agreement_of(listing: &RgbImage, thumb: &Thumbnail, placement: &Placement) -> Agreement {
        agreement(listing, thumb, (200, 200), true, placement)
    }

    #[test]
    fn a_different_scene_is_not_placed() {
        let [as_is, mirrored] = describe_reference(&scene(200, 200, 1));
        let index = FeatureIndex::new([&as_is, &mirrored]);
        for seed in 3..8 {
            let found = index.placements(&describe_listing(&scene(256, 256, seed)));
            assert!(found.is_empty(), "scene {seed}: {found:?}");
        }
    }

    #[test]
    fn blank_tiny_and_odd_photos_describe_to_nothing_without_panicking() {
        for (w, h) in [(1, 1), (5, 300), (33, 33), (300, 2)] {
            let f = describe_listing(&RgbImage::from_pixel(w, h, Rgb([9, 9, 9])));
            assert!(f.points.is_empty());
            let _ = describe_reference(&scene(w, h, 4));
        }
        let empty = FeatureIndex::new([]);
        assert!(empty
            .placements(&describe_listing(&scene(200, 200, 1)))
            .is_empty());
    }
}
