//! Product photos drawn by code, and the ways counterfeiters alter them.
//!
//! A [`Design`] is a product's look: a silhouette, two colours, a surface
//! pattern and a logo letter. [`render`] photographs it from a [`View`]
//! (angle, scale, position, background); [`apply`] alters a photo the way a
//! counterfeiter re-uses an official one. Everything is deterministic, so
//! the demo marketplace and the matcher's accuracy harness see the same
//! pixels for the same seed.

use image::{imageops, Rgb, RgbImage};

/// The silhouettes the demo brand sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Sneaker,
    Watch,
    Tote,
    Bottle,
    Earbuds,
    Backpack,
    Sunglasses,
    Hoodie,
    Cap,
    Wallet,
}

/// Surface pattern on the product's body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pattern {
    Plain,
    Stripes { angle: f32, period: f32 },
    Dots { period: f32 },
    Checks { period: f32 },
}

/// A product's look.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub shape: Shape,
    pub body: [u8; 3],
    pub accent: [u8; 3],
    pub pattern: Pattern,
    /// The logo letter printed on the product.
    pub mark: char,
}

/// Where the photo is taken against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Background {
    White,
    Flat([u8; 3]),
    Gradient([u8; 3], [u8; 3]),
    Wood,
}

/// How a product is photographed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Rotation of the product, degrees.
    pub angle: f32,
    /// Size of the product relative to the frame (1.0 fills ~80%).
    pub scale: f32,
    /// Offset of the product's centre, as a fraction of the frame.
    pub offset: (f32, f32),
    pub background: Background,
    /// Lighting: added to every channel of the product.
    pub light: i16,
}

impl View {
    /// The studio shot: centred, straight, white background.
    pub fn studio() -> View {
        View {
            angle: 0.0,
            scale: 1.0,
            offset: (0.0, 0.0),
            background: Background::White,
            light: 0,
        }
    }
}

/// How a counterfeiter alters an official photo.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Re-encoded as JPEG at quality 15.
    Recompress,
    /// Scaled down to 200 px on the long side.
    Downscale,
    /// Fractions cut off left, top, right, bottom (each up to 0.2).
    Crop([f32; 4]),
    /// Pasted onto a larger canvas of another colour; the canvas is `factor` times larger.
    Pad {
        factor: f32,
        colour: [u8; 3],
    },
    Mirror,
    /// Rotated by degrees (±10), corners filled white.
    Rotate(f32),
    Rotate90,
    /// Text repeated across the photo.
    Watermark(String),
    /// Hue rotated by degrees and brightness shifted.
    Recolour {
        hue: i32,
        brightness: i32,
    },
    /// A sales banner added above the photo.
    Banner(String),
    /// The photo as the top-left tile of a 2×2 grid; other tiles are other designs.
    Collage(Vec<Design>),
}

impl Transform {
    /// A short stable name, for labels and per-transformation recall.
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Recompress => "recompress",
            Transform::Downscale => "downscale",
            Transform::Crop(_) => "crop",
            Transform::Pad { .. } => "pad",
            Transform::Mirror => "mirror",
            Transform::Rotate(_) => "rotate",
            Transform::Rotate90 => "rotate90",
            Transform::Watermark(_) => "watermark",
            Transform::Recolour { .. } => "recolour",
            Transform::Banner(_) => "banner",
            Transform::Collage(_) => "collage",
        }
    }

    /// JPEG quality the altered photo is published at.
    pub fn jpeg_quality(&self) -> u8 {
        match self {
            Transform::Recompress => 15,
            _ => 82,
        }
    }
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    let f = |x: u8, y: u8| {
        (x as f32 + (y as f32 - x as f32) * t)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2])]
}

fn shade(c: [u8; 3], by: i16) -> [u8; 3] {
    c.map(|x| (x as i16 + by).clamp(0, 255) as u8)
}

fn in_ellipse(u: f32, v: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> bool {
    let (dx, dy) = ((u - cx) / rx, (v - cy) / ry);
    dx * dx + dy * dy <= 1.0
}

fn in_rect(u: f32, v: f32, x0: f32, y0: f32, x1: f32, y1: f32) -> bool {
    u >= x0 && u <= x1 && v >= y0 && v <= y1
}

fn in_round_rect(u: f32, v: f32, x0: f32, y0: f32, x1: f32, y1: f32, r: f32) -> bool {
    if !in_rect(u, v, x0, y0, x1, y1) {
        return false;
    }
    let cx = u.clamp(x0 + r, x1 - r);
    let cy = v.clamp(y0 + r, y1 - r);
    (u - cx).powi(2) + (v - cy).powi(2) <= r * r
}

fn in_polygon(u: f32, v: f32, points: &[(f32, f32)]) -> bool {
    let mut inside = false;
    let mut j = points.len() - 1;
    for i in 0..points.len() {
        let (xi, yi) = points[i];
        let (xj, yj) = points[j];
        if (yi > v) != (yj > v) && u < (xj - xi) * (v - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn in_ring(u: f32, v: f32, cx: f32, cy: f32, r_out: f32, r_in: f32) -> bool {
    let d = ((u - cx).powi(2) + (v - cy).powi(2)).sqrt();
    d <= r_out && d >= r_in
}

/// What part of the product a point is on.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Body,
    Accent,
    Dark,
    Light,
}

/// The product's part at normalised point (u, v) in the unit square.
fn part_at(shape: Shape, u: f32, v: f32) -> Option<Part> {
    use Part::*;
    match shape {
        Shape::Sneaker => {
            if in_rect(u, v, 0.08, 0.66, 0.92, 0.74) || in_ellipse(u, v, 0.86, 0.70, 0.07, 0.04) {
                Some(Dark)
            } else if in_ring(u, v, 0.55, 0.78, 0.30, 0.25) && v < 0.62 && v > 0.40 {
                Some(Accent)
            } else if (0..4).any(|i| {
                in_rect(
                    u,
                    v,
                    0.40 + i as f32 * 0.06,
                    0.34,
                    0.43 + i as f32 * 0.06,
                    0.46,
                )
            }) {
                Some(Light)
            } else if in_polygon(
                u,
                v,
                &[
                    (0.10, 0.66),
                    (0.12, 0.40),
                    (0.30, 0.30),
                    (0.62, 0.32),
                    (0.70, 0.46),
                    (0.92, 0.54),
                    (0.93, 0.66),
                ],
            ) {
                Some(Body)
            } else {
                None
            }
        }
        Shape::Watch => {
            let strap =
                in_rect(u, v, 0.40, 0.05, 0.60, 0.30) || in_rect(u, v, 0.40, 0.70, 0.60, 0.95);
            if strap
                || in_rect(u, v, 0.495, 0.30, 0.505, 0.50)
                || in_rect(u, v, 0.50, 0.495, 0.64, 0.505)
            {
                Some(Dark)
            } else if in_ring(u, v, 0.5, 0.5, 0.25, 0.21) {
                Some(Accent)
            } else if in_ellipse(u, v, 0.5, 0.5, 0.21, 0.21) {
                Some(Light)
            } else if in_rect(u, v, 0.74, 0.47, 0.79, 0.53) {
                Some(Accent)
            } else {
                None
            }
        }
        Shape::Tote => {
            if in_ring(u, v, 0.5, 0.32, 0.20, 0.16) && v < 0.32 {
                Some(Dark)
            } else if in_rect(u, v, 0.20, 0.50, 0.80, 0.58)
                && in_polygon(
                    u,
                    v,
                    &[(0.18, 0.32), (0.82, 0.32), (0.88, 0.88), (0.12, 0.88)],
                )
            {
                Some(Accent)
            } else if in_polygon(
                u,
                v,
                &[(0.18, 0.32), (0.82, 0.32), (0.88, 0.88), (0.12, 0.88)],
            ) {
                Some(Body)
            } else {
                None
            }
        }
        Shape::Bottle => {
            if in_round_rect(u, v, 0.42, 0.06, 0.58, 0.16, 0.02) {
                Some(Accent)
            } else if in_rect(u, v, 0.44, 0.16, 0.56, 0.26) {
                Some(Light)
            } else if in_rect(u, v, 0.33, 0.48, 0.67, 0.68)
                && in_round_rect(u, v, 0.33, 0.24, 0.67, 0.94, 0.08)
            {
                Some(Accent)
            } else if in_round_rect(u, v, 0.33, 0.24, 0.67, 0.94, 0.08) {
                Some(Body)
            } else {
                None
            }
        }
        Shape::Earbuds => {
            if in_ellipse(u, v, 0.5, 0.62, 0.02, 0.02) {
                Some(Accent)
            } else if in_rect(u, v, 0.18, 0.44, 0.82, 0.455)
                && in_round_rect(u, v, 0.18, 0.28, 0.82, 0.76, 0.16)
            {
                Some(Dark)
            } else if in_round_rect(u, v, 0.18, 0.28, 0.82, 0.76, 0.16) {
                Some(Body)
            } else {
                None
            }
        }
        Shape::Backpack => {
            if in_ring(u, v, 0.5, 0.20, 0.10, 0.07) && v < 0.2 {
                Some(Dark)
            } else if in_round_rect(u, v, 0.30, 0.56, 0.70, 0.86, 0.06) {
                Some(Accent)
            } else if in_rect(u, v, 0.30, 0.52, 0.70, 0.54) {
                Some(Dark)
            } else if in_round_rect(u, v, 0.22, 0.18, 0.78, 0.92, 0.14) {
                Some(Body)
            } else {
                None
            }
        }
        Shape::Sunglasses => {
            if in_ellipse(u, v, 0.30, 0.52, 0.15, 0.11) || in_ellipse(u, v, 0.70, 0.52, 0.15, 0.11)
            {
                Some(Dark)
            } else if in_ellipse(u, v, 0.30, 0.52, 0.18, 0.14)
                || in_ellipse(u, v, 0.70, 0.52, 0.18, 0.14)
                || in_rect(u, v, 0.44, 0.44, 0.56, 0.48)
                || in_rect(u, v, 0.06, 0.44, 0.14, 0.48)
                || in_rect(u, v, 0.86, 0.44, 0.94, 0.48)
            {
                Some(Body)
            } else {
                None
            }
        }
        Shape::Hoodie => {
            if in_round_rect(u, v, 0.36, 0.58, 0.64, 0.74, 0.05) {
                Some(Accent)
            } else if in_ellipse(u, v, 0.5, 0.22, 0.12, 0.10) {
                Some(Dark)
            } else if in_polygon(
                u,
                v,
                &[
                    (0.30, 0.18),
                    (0.70, 0.18),
                    (0.92, 0.62),
                    (0.82, 0.66),
                    (0.72, 0.44),
                    (0.72, 0.90),
                    (0.28, 0.90),
                    (0.28, 0.44),
                    (0.18, 0.66),
                    (0.08, 0.62),
                ],
            ) {
                Some(Body)
            } else {
                None
            }
        }
        Shape::Cap => {
            if in_ellipse(u, v, 0.5, 0.28, 0.03, 0.02) {
                Some(Dark)
            } else if in_ellipse(u, v, 0.62, 0.64, 0.34, 0.07) {
                Some(Accent)
            } else if in_ellipse(u, v, 0.5, 0.62, 0.30, 0.34) && v <= 0.62 {
                Some(Body)
            } else {
                None
            }
        }
        Shape::Wallet => {
            if in_ellipse(u, v, 0.5, 0.52, 0.04, 0.04) {
                Some(Light)
            } else if in_polygon(
                u,
                v,
                &[
                    (0.14, 0.28),
                    (0.86, 0.28),
                    (0.86, 0.40),
                    (0.5, 0.54),
                    (0.14, 0.40),
                ],
            ) {
                Some(Accent)
            } else if in_round_rect(u, v, 0.14, 0.28, 0.86, 0.76, 0.04) {
                Some(Body)
            } else {
                None
            }
        }
    }
}

/// Where the logo letter sits on each silhouette (centre, height), in unit coordinates.
fn mark_place(shape: Shape) -> (f32, f32, f32) {
    match shape {
        Shape::Sneaker => (0.24, 0.52, 0.10),
        Shape::Watch => (0.5, 0.62, 0.08),
        Shape::Tote => (0.5, 0.72, 0.14),
        Shape::Bottle => (0.5, 0.80, 0.10),
        Shape::Earbuds => (0.5, 0.36, 0.08),
        Shape::Backpack => (0.5, 0.36, 0.12),
        Shape::Sunglasses => (0.86, 0.40, 0.05),
        Shape::Hoodie => (0.5, 0.46, 0.09),
        Shape::Cap => (0.5, 0.46, 0.12),
        Shape::Wallet => (0.5, 0.66, 0.10),
    }
}

fn pattern_on(pattern: Pattern, u: f32, v: f32) -> bool {
    match pattern {
        Pattern::Plain => false,
        Pattern::Stripes { angle, period } => {
            let (s, c) = angle.to_radians().sin_cos();
            ((u * c + v * s) / period).rem_euclid(1.0) < 0.35
        }
        Pattern::Dots { period } => {
            let (fu, fv) = (
                (u / period).rem_euclid(1.0) - 0.5,
                (v / period).rem_euclid(1.0) - 0.5,
            );
            fu * fu + fv * fv < 0.06
        }
        Pattern::Checks { period } => {
            (((u / period).floor() + (v / period).floor()) as i64).rem_euclid(2) == 0
        }
    }
}

fn background_at(background: Background, x: u32, y: u32, size: u32) -> [u8; 3] {
    match background {
        Background::White => [255, 255, 255],
        Background::Flat(c) => c,
        Background::Gradient(a, b) => mix(a, b, y as f32 / size as f32),
        Background::Wood => {
            let grain =
                ((y as f32 * 0.21 + (x as f32 * 0.031).sin() * 6.0).sin() * 0.5 + 0.5) * 0.35;
            mix([164, 116, 73], [112, 74, 42], grain)
        }
    }
}

/// Photographs `design` from `view` as a `size`×`size` image.
pub fn render(design: &Design, view: &View, size: u32) -> RgbImage {
    let mut img = RgbImage::new(size, size);
    let (sin, cos) = (-view.angle).to_radians().sin_cos();
    let (mark_u, mark_v, mark_h) = mark_place(design.shape);
    let pattern_colour = mix(design.body, design.accent, 0.45);
    for y in 0..size {
        for x in 0..size {
            // Frame coordinates centred on the product, then into the design's unit square.
            let fx = (x as f32 + 0.5) / size as f32 - 0.5 - view.offset.0;
            let fy = (y as f32 + 0.5) / size as f32 - 0.5 - view.offset.1;
            let (rx, ry) = (fx * cos - fy * sin, fx * sin + fy * cos);
            let (u, v) = (rx / (0.8 * view.scale) + 0.5, ry / (0.8 * view.scale) + 0.5);
            let background = background_at(view.background, x, y, size);
            let colour = match part_at(design.shape, u, v) {
                None => {
                    // A soft floor shadow under the product.
                    let shadow = in_ellipse(u, v, 0.5, 0.95, 0.38, 0.035);
                    if shadow {
                        mix(background, [0, 0, 0], 0.12)
                    } else {
                        background
                    }
                }
                Some(part) => {
                    let base = match part {
                        Part::Body if pattern_on(design.pattern, u, v) => pattern_colour,
                        Part::Body => design.body,
                        Part::Accent => design.accent,
                        Part::Dark => [34, 34, 38],
                        Part::Light => [236, 236, 230],
                    };
                    let on_mark = glyph_covers(design.mark, u, v, mark_u, mark_v, mark_h);
                    let colour = if on_mark { contrast_of(base) } else { base };
                    shade(colour, view.light)
                }
            };
            img.put_pixel(x, y, Rgb(colour));
        }
    }
    img
}

fn contrast_of(c: [u8; 3]) -> [u8; 3] {
    let luma = 0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32;
    if luma > 128.0 {
        [20, 20, 24]
    } else {
        [245, 245, 240]
    }
}

/// 5×7 bitmap glyphs: each row's low five bits, top row first.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [30, 17, 17, 17, 17, 17, 30],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'J' => [7, 2, 2, 2, 2, 18, 12],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'W' => [17, 17, 17, 21, 21, 21, 10],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 10, 4, 4, 4, 4],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [30, 1, 1, 14, 1, 1, 30],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        '%' => [24, 25, 2, 4, 8, 19, 3],
        '!' => [4, 4, 4, 4, 4, 0, 4],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '.' => [0, 0, 0, 0, 0, 0, 4],
        '$' => [4, 15, 20, 14, 5, 30, 4],
        _ => [0; 7],
    }
}

fn glyph_covers(c: char, u: f32, v: f32, cu: f32, cv: f32, height: f32) -> bool {
    let cell = height / 7.0;
    let (col, row) = (
        (u - (cu - 2.5 * cell)) / cell,
        (v - (cv - 3.5 * cell)) / cell,
    );
    if !(0.0..5.0).contains(&col) || !(0.0..7.0).contains(&row) {
        return false;
    }
    glyph(c)[row as usize] & (1 << (4 - col as u32)) != 0
}

/// Writes `text` with its top-left at (x, y), `scale` pixels per glyph dot,
/// blending `colour` at `alpha`.
pub(crate) fn draw_text(
    img: &mut RgbImage,
    text: &str,
    x: i64,
    y: i64,
    scale: u32,
    colour: [u8; 3],
    alpha: f32,
) {
    for (i, c) in text.chars().enumerate() {
        let rows = glyph(c);
        let gx = x + i as i64 * 6 * scale as i64;
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (1 << (4 - col)) == 0 {
                    continue;
                }
                for dy in 0..scale as i64 {
                    for dx in 0..scale as i64 {
                        let px = gx + col as i64 * scale as i64 + dx;
                        let py = y + row as i64 * scale as i64 + dy;
                        if px >= 0
                            && py >= 0
                            && (px as u32) < img.width()
                            && (py as u32) < img.height()
                        {
                            let pixel = img.get_pixel_mut(px as u32, py as u32);
                            pixel.0 = mix(pixel.0, colour, alpha);
                        }
                    }
                }
            }
        }
    }
}

/// Alters a photo the way `transform` says. JPEG recompression happens when
/// the result is encoded, at [`Transform::jpeg_quality`].
pub fn apply(img: &RgbImage, transform: &Transform) -> RgbImage {
    let (w, h) = img.dimensions();
    match transform {
        Transform::Recompress => img.clone(),
        Transform::Downscale => {
            let (nw, nh) = if w >= h {
                (200, (200 * h / w).max(1))
            } else {
                ((200 * w / h).max(1), 200)
            };
            imageops::resize(img, nw, nh, imageops::FilterType::Triangle)
        }
        Transform::Crop([left, top, right, bottom]) => {
            let x = (w as f32 * left) as u32;
            let y = (h as f32 * top) as u32;
            let cw = (w as f32 * (1.0 - left - right)).round().max(1.0) as u32;
            let ch = (h as f32 * (1.0 - top - bottom)).round().max(1.0) as u32;
            imageops::crop_imm(img, x, y, cw, ch).to_image()
        }
        Transform::Pad { factor, colour } => {
            let (nw, nh) = ((w as f32 * factor) as u32, (h as f32 * factor) as u32);
            let mut canvas = RgbImage::from_pixel(nw, nh, Rgb(*colour));
            // Off-centre, as a reseller's template would put it.
            imageops::overlay(
                &mut canvas,
                img,
                ((nw - w) / 3) as i64,
                ((nh - h) / 2) as i64,
            );
            canvas
        }
        Transform::Mirror => imageops::flip_horizontal(img),
        Transform::Rotate(degrees) => {
            crate::matching::image::rotate(img, *degrees, [255, 255, 255])
        }
        Transform::Rotate90 => imageops::rotate90(img),
        Transform::Watermark(text) => {
            let mut out = img.clone();
            let scale = (w / 90).max(2);
            let step = 11 * scale as i64;
            let mut row = 0;
            let mut y = -(step / 2);
            while y < h as i64 {
                let x = (row % 2) * (step * 2) - step;
                draw_text(
                    &mut out,
                    &format!("{text}  {text}  {text}"),
                    x,
                    y,
                    scale,
                    [128, 128, 128],
                    0.45,
                );
                y += step * 3;
                row += 1;
            }
            out
        }
        Transform::Recolour { hue, brightness } => {
            let shifted = imageops::huerotate(img, *hue);
            imageops::brighten(&shifted, *brightness)
        }
        Transform::Banner(text) => {
            let band = h / 5;
            let mut out = RgbImage::from_pixel(w, h + band, Rgb([214, 32, 40]));
            imageops::overlay(&mut out, img, 0, band as i64);
            let scale = (band / 10).max(1);
            let text_w = text.chars().count() as u32 * 6 * scale;
            let x = (w.saturating_sub(text_w) / 2) as i64;
            draw_text(
                &mut out,
                text,
                x,
                ((band - 7 * scale) / 2) as i64,
                scale,
                [255, 255, 255],
                1.0,
            );
            out
        }
        Transform::Collage(others) => {
            let tile = w.max(h) / 2;
            let mut out = RgbImage::from_pixel(tile * 2, tile * 2, Rgb([255, 255, 255]));
            let own = imageops::resize(img, tile, tile, imageops::FilterType::Triangle);
            imageops::overlay(&mut out, &own, 0, 0);
            for (i, design) in others.iter().take(3).enumerate() {
                let other = render(design, &View::studio(), tile);
                let (tx, ty) = [(tile, 0), (0, tile), (tile, tile)][i];
                imageops::overlay(&mut out, &other, tx as i64, ty as i64);
            }
            out
        }
    }
}

/// Encodes as JPEG at `quality` with 4:2:0 chroma subsampling, as libjpeg
/// does by default and as marketplaces serve their photos.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    encoder
        .encode(
            img.as_raw(),
            u16::try_from(w).expect("demo photos are under 65536 px wide"),
            u16::try_from(h).expect("demo photos are under 65536 px high"),
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("encoding an in-memory RGB image cannot fail");
    out
}

/// Encodes as PNG.
pub fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding an in-memory RGB image cannot fail");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(shape: Shape) -> Design {
        Design {
            shape,
            body: [30, 90, 200],
            accent: [240, 180, 20],
            pattern: Pattern::Stripes {
                angle: 30.0,
                period: 0.08,
            },
            mark: 'O',
        }
    }

    #[test]
    fn every_shape_draws_a_product_on_white() {
        for shape in [
            Shape::Sneaker,
            Shape::Watch,
            Shape::Tote,
            Shape::Bottle,
            Shape::Earbuds,
            Shape::Backpack,
            Shape::Sunglasses,
            Shape::Hoodie,
            Shape::Cap,
            Shape::Wallet,
        ] {
            let img = render(&design(shape), &View::studio(), 128);
            let non_white = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
            assert!(
                non_white > 128 * 128 / 12,
                "{shape:?} covers {non_white} pixels"
            );
            assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255], "{shape:?} corner");
        }
    }

    #[test]
    fn transforms_change_geometry_as_described() {
        let img = render(&design(Shape::Watch), &View::studio(), 200);
        assert_eq!(
            apply(&img, &Transform::Banner("SALE".into())).dimensions(),
            (200, 240)
        );
        assert_eq!(
            apply(&img, &Transform::Crop([0.1, 0.0, 0.1, 0.2])).dimensions(),
            (160, 160)
        );
        assert_eq!(
            apply(
                &img,
                &Transform::Pad {
                    factor: 1.5,
                    colour: [0, 0, 0]
                }
            )
            .dimensions(),
            (300, 300)
        );
        assert_eq!(
            apply(&img, &Transform::Mirror),
            imageops::flip_horizontal(&img)
        );
        let watermarked = apply(&img, &Transform::Watermark("DEALS".into()));
        assert_ne!(watermarked, img);
    }
}
