//! Listing and reference photos as bytes: is it an image, how big, and a
//! bounded decode.
//!
//! Image bytes come from hostile pages. The format is read from the magic
//! bytes, never from the URL or Content-Type; dimensions are read from the
//! header and checked before any pixel is decoded, so a 30000×30000 PNG of
//! 100 KB costs a header read, not gigabytes.

use std::io::Cursor;
use std::sync::{Condvar, Mutex};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

/// Bytes that every decode in the process may hold at once. A photo whose
/// decode needs more is refused; decodes that together would need more
/// wait their turn. Twelve 6300×6300 16-bit PNGs (300 KB each on the
/// wire) would otherwise take gigabytes.
pub(crate) const DECODE_BUDGET: u64 = 192 << 20;

/// The budget's bytes in use.
static IN_USE: Mutex<u64> = Mutex::new(0);
static RELEASED: Condvar = Condvar::new();

/// Bytes of the budget held until dropped.
struct Reservation(u64);

impl Reservation {
    fn take(bytes: u64) -> Result<Reservation, PhotoError> {
        if bytes > DECODE_BUDGET {
            return Err(PhotoError::OverBudget {
                bytes,
                budget: DECODE_BUDGET,
            });
        }
        let mut in_use = IN_USE.lock().unwrap_or_else(|e| e.into_inner());
        while *in_use + bytes > DECODE_BUDGET {
            in_use = RELEASED.wait(in_use).unwrap_or_else(|e| e.into_inner());
        }
        *in_use += bytes;
        Ok(Reservation(bytes))
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut in_use = IN_USE.lock().unwrap_or_else(|e| e.into_inner());
        *in_use -= self.0;
        RELEASED.notify_all();
    }
}

/// Why image bytes were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhotoError {
    #[error("not an image (no known magic bytes)")]
    NotAnImage,
    #[error("unsupported image format {0}")]
    Unsupported(String),
    #[error("image header is unreadable: {0}")]
    BadHeader(String),
    #[error("image is {width}×{height} pixels, over the limit of {limit} pixels")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("image data is corrupt: {0}")]
    Corrupt(String),
    #[error("decoding the image would take {bytes} bytes, over the {budget}-byte decode budget")]
    OverBudget { bytes: u64, budget: u64 },
}

/// An image library error as one line: decoders put newlines in theirs.
fn one_line(error: image::ImageError) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the header says.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoInfo {
    pub format: PhotoFormat,
    pub width: u32,
    pub height: u32,
}

/// The photo formats knockoff reads (and serves back to reviewers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Png,
    Gif,
    WebP,
}

impl PhotoFormat {
    fn of(format: ImageFormat) -> Option<PhotoFormat> {
        match format {
            ImageFormat::Jpeg => Some(PhotoFormat::Jpeg),
            ImageFormat::Png => Some(PhotoFormat::Png),
            ImageFormat::Gif => Some(PhotoFormat::Gif),
            ImageFormat::WebP => Some(PhotoFormat::WebP),
            _ => None,
        }
    }

    /// The name stored with an image (`images.format`).
    pub fn name(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "jpeg",
            PhotoFormat::Png => "png",
            PhotoFormat::Gif => "gif",
            PhotoFormat::WebP => "webp",
        }
    }

    /// Its media type.
    pub(crate) fn mime(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::Gif => "image/gif",
            PhotoFormat::WebP => "image/webp",
        }
    }

    /// A file name extension for it.
    pub fn extension(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "jpg",
            other => other.name(),
        }
    }
}

/// Reads the format from the magic bytes and the dimensions from the header,
/// refusing more than `max_pixels`. Decodes nothing.
pub fn inspect(bytes: &[u8], max_pixels: u64) -> Result<PhotoInfo, PhotoError> {
    let format = image::guess_format(bytes).map_err(|_| PhotoError::NotAnImage)?;
    let photo_format =
        PhotoFormat::of(format).ok_or_else(|| PhotoError::Unsupported(format!("{format:?}")))?;
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| PhotoError::BadHeader(one_line(e)))?;
    if width as u64 * height as u64 > max_pixels || width == 0 || height == 0 {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit: max_pixels,
        });
    }
    Ok(PhotoInfo {
        format: photo_format,
        width,
        height,
    })
}

/// Inspects, then decodes with allocation limits that match `max_pixels`,
/// within the process's [`DECODE_BUDGET`].
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<(PhotoInfo, DynamicImage), PhotoError> {
    let (info, image, _reservation) = decode_reserving(bytes, max_pixels, 0)?;
    Ok((info, image))
}

/// Decodes holding a reservation for the pixels plus `extra_per_pixel`
/// bytes a pixel for what the caller does next; the caller drops it.
fn decode_reserving(
    bytes: &[u8],
    max_pixels: u64,
    extra_per_pixel: u64,
) -> Result<(PhotoInfo, DynamicImage, Reservation), PhotoError> {
    let info = inspect(bytes, max_pixels)?;
    let format = image::guess_format(bytes).map_err(|_| PhotoError::NotAnImage)?;
    let corrupt = |e| PhotoError::Corrupt(one_line(e));
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(corrupt)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(info.width);
    limits.max_image_height = Some(info.height);
    // RGBA at 8 bits plus the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    decoder.set_limits(limits).map_err(corrupt)?;
    let pixels = info.width as u64 * info.height as u64;
    let reservation = Reservation::take(
        decoder
            .total_bytes()
            .saturating_add(pixels * extra_per_pixel),
    )?;
    let image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    Ok((info, image, reservation))
}

/// Inspects, then decodes to a small RGB image whose sides are about
/// `side` pixels (never smaller than that unless the photo is): what
/// matching needs. JPEGs are decoded at 1/2, 1/4 or 1/8 scale inside the
/// IDCT, which skips most of a full decode's work; other formats are
/// decoded in full and reduced.
pub fn decode_small(
    bytes: &[u8],
    max_pixels: u64,
    side: u16,
) -> Result<(PhotoInfo, RgbImage), PhotoError> {
    let info = inspect(bytes, max_pixels)?;
    if info.format == PhotoFormat::Jpeg {
        // Ask for the size at which the shortest side is `side`.
        let shortest = info.width.min(info.height).max(1) as u64;
        let want = |n: u32| {
            (n as u64 * side as u64)
                .div_ceil(shortest)
                .min(u16::MAX as u64) as u16
        };
        if let Some(small) = decode_jpeg_scaled(bytes, want(info.width), want(info.height)) {
            return Ok((info, small?));
        }
    }
    // The RGB copy below needs 3 more bytes a pixel while the decode lives.
    let (info, image, _reservation) = decode_reserving(bytes, max_pixels, 3)?;
    let (w, h) = (image.width(), image.height());
    let shortest = w.min(h).max(1);
    let scale = (side as f32 / shortest as f32).min(1.0);
    let (nw, nh) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    let rgb = image.to_rgb8();
    let small = if (nw, nh) == (w, h) {
        rgb
    } else {
        crate::matching::features::resized(&rgb, nw, nh)
    };
    Ok((info, small))
}

/// [`decode_small`] by the longest side: the photo at most `longest`
/// pixels on its longest side (never enlarged).
pub fn decode_longest(
    bytes: &[u8],
    max_pixels: u64,
    longest: u32,
) -> Result<(PhotoInfo, RgbImage), PhotoError> {
    let info = inspect(bytes, max_pixels)?;
    let (long, short) = (
        info.width.max(info.height).max(1),
        info.width.min(info.height),
    );
    // The shortest side that makes the longest one `longest`.
    let side = (longest as u64 * short as u64).div_ceil(long as u64).max(1);
    let (info, small) = decode_small(bytes, max_pixels, side.min(u16::MAX as u64) as u16)?;
    let (w, h) = small.dimensions();
    if w.max(h) <= longest {
        return Ok((info, small));
    }
    let scale = longest as f32 / w.max(h) as f32;
    let size = |n: u32| ((n as f32 * scale).round() as u32).max(1);
    Ok((
        info,
        crate::matching::features::resized(&small, size(w), size(h)),
    ))
}

/// The photo decoded once at both of matching's sizes: about `side` on its
/// shortest side (as [`decode_small`]) and at most `longest` on its
/// longest (as [`decode_longest`]). The small one is reduced from the
/// large one; only a shape so long that the large one's shortest side is
/// under `side` (and the photo's is not) is decoded a second time.
pub fn decode_both(
    bytes: &[u8],
    max_pixels: u64,
    side: u16,
    longest: u32,
) -> Result<(RgbImage, RgbImage), PhotoError> {
    let (info, large) = decode_longest(bytes, max_pixels, longest)?;
    let (w, h) = large.dimensions();
    let shortest = w.min(h);
    let small = if shortest > side as u32 {
        let scale = side as f32 / shortest as f32;
        let size = |n: u32| ((n as f32 * scale).round() as u32).max(1);
        crate::matching::features::resized(&large, size(w), size(h))
    } else if shortest == side as u32 || shortest == info.width.min(info.height) {
        large.clone()
    } else {
        decode_small(bytes, max_pixels, side)?.1
    };
    Ok((small, large))
}

/// What judging reads from a listing photo's bytes.
pub struct ListingPhoto {
    pub prints: Vec<crate::matching::image::Print>,
    /// The photo at the verifier's size ([`crate::matching::features::FEATURE_SIDE`]),
    /// when asked for: what a photo the prints do not settle is described
    /// from, so it is not decoded again.
    pub pixels: Option<RgbImage>,
}

/// Decodes a listing photo once, at the verifier's size, and prints it
/// from a copy reduced to [`crate::matching::image::WORK_SIDE`]; with `closely`, keeps the pixels
/// too. A photo's prints are the same however closely it is looked at:
/// they are cached by its digest alone.
pub fn read_listing_photo(
    bytes: &[u8],
    max_pixels: u64,
    closely: bool,
) -> Result<ListingPhoto, PhotoError> {
    let (small, pixels) = decode_both(
        bytes,
        max_pixels,
        crate::matching::image::WORK_SIDE,
        crate::matching::features::FEATURE_SIDE,
    )?;
    Ok(ListingPhoto {
        prints: crate::matching::image::listing_prints(&small),
        pixels: closely.then_some(pixels),
    })
}

/// A scaled JPEG decode; `None` for pixel formats it does not handle (16-bit
/// grey), which then take the full decode.
fn decode_jpeg_scaled(
    bytes: &[u8],
    width: u16,
    height: u16,
) -> Option<Result<RgbImage, PhotoError>> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    let corrupt = |e: jpeg_decoder::Error| PhotoError::Corrupt(e.to_string().replace('\n', " "));
    // The decoder is fuzzed, but these bytes come from hostile sites: a
    // panic inside it must cost one photo, not the run.
    let decoded = std::panic::catch_unwind(move || -> Result<_, PhotoError> {
        decoder.read_info().map_err(corrupt)?;
        let header = decoder
            .info()
            .ok_or_else(|| PhotoError::Corrupt("no frame header".into()))?;
        // A progressive JPEG keeps every coefficient (2 bytes a sample) of
        // the whole image until the end, whatever the output scale.
        let full = header.width as u64 * header.height as u64;
        let _reservation = Reservation::take(match header.coding_process {
            jpeg_decoder::CodingProcess::DctProgressive => full * 4 * 2,
            _ => full * 4 / 8 + width as u64 * height as u64 * 8,
        })?;
        let (w, h) = decoder.scale(width, height).map_err(corrupt)?;
        let pixels = decoder.decode().map_err(corrupt)?;
        let format = decoder
            .info()
            .map(|i| i.pixel_format)
            .ok_or_else(|| PhotoError::Corrupt("no frame header".into()))?;
        Ok((w as u32, h as u32, format, pixels))
    });
    let (w, h, format, pixels) = match decoded {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(e)) => return Some(Err(e)),
        Err(_) => return Some(Err(PhotoError::Corrupt("the JPEG decoder gave up".into()))),
    };
    let n = w as usize * h as usize;
    let rgb: Vec<u8> = match format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&v| [v, v, v]).collect(),
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                // Adobe CMYK JPEGs store inverted values: 255 is no ink.
                let k = p[3] as u16;
                [0, 1, 2].map(|c| (p[c] as u16 * k / 255) as u8)
            })
            .collect(),
        jpeg_decoder::PixelFormat::L16 => return None,
    };
    if rgb.len() < n * 3 {
        return Some(Err(PhotoError::Corrupt("short pixel data".into())));
    }
    Some(
        RgbImage::from_raw(w, h, rgb[..n * 3].to_vec())
            .ok_or_else(|| PhotoError::Corrupt("short pixel data".into())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 10, 10]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn header_gives_format_and_size() {
        let info = inspect(&png(40, 30), 1_000_000).unwrap();
        assert_eq!(
            info,
            PhotoInfo {
                format: PhotoFormat::Png,
                width: 40,
                height: 30
            }
        );
        let (_, image) = decode(&png(40, 30), 1_000_000).unwrap();
        assert_eq!((image.width(), image.height()), (40, 30));
    }

    #[test]
    #[cfg(feature = "demo")]
    fn small_decode_scales_jpegs_in_the_idct_and_reduces_others() {
        let img = image::RgbImage::from_fn(800, 600, |x, y| {
            image::Rgb([(x / 4) as u8, (y / 4) as u8, 128])
        });
        let jpeg = crate::demo::draw::jpeg(&img, 85);
        let (info, small) = decode_small(&jpeg, 1_000_000, 96).unwrap();
        assert_eq!((info.width, info.height), (800, 600));
        // 1/4 scale: the smallest that keeps both sides at or above 96.
        assert_eq!(small.dimensions(), (200, 150));
        let centre = small.get_pixel(100, 75).0;
        assert!(
            centre[0].abs_diff(100) < 6 && centre[1].abs_diff(75) < 6,
            "{centre:?}"
        );
        let (_, small_png) = decode_small(&png(300, 200), 1_000_000, 100).unwrap();
        assert_eq!(small_png.dimensions(), (150, 100));
        let garbage = crate::demo::site::corrupt_jpeg();
        assert!(decode_small(&garbage, 1_000_000, 96).is_err());
    }

    #[test]
    #[cfg(feature = "demo")]
    fn one_decode_gives_both_sizes_and_a_long_shape_is_decoded_again() {
        let photo = |w: u32, h: u32| {
            let img = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([(x % 256) as u8, 90, 30]));
            crate::demo::draw::jpeg(&img, 85)
        };
        let (small, large) = decode_both(&photo(1280, 960), 10_000_000, 96, 256).unwrap();
        assert_eq!(
            (small.dimensions(), large.dimensions()),
            ((128, 96), (256, 192))
        );
        // 256×40 at the verifier's size: its prints need 96 on the short
        // side, so it is decoded again (at 1/2 scale).
        let (small, large) = decode_both(&photo(1600, 250), 10_000_000, 96, 256).unwrap();
        assert_eq!(
            (small.dimensions(), large.dimensions()),
            ((800, 125), (256, 40))
        );
        // A photo smaller than both sizes is used as it is.
        let (small, large) = decode_both(&photo(120, 60), 10_000_000, 96, 256).unwrap();
        assert_eq!(
            (small.dimensions(), large.dimensions()),
            ((120, 60), (120, 60))
        );
    }

    /// A PNG of `side`×`side` RGBA at 16 bits whose pixel data is cut
    /// short: enough for every header read, costless to make.
    fn huge_png_header(side: u32) -> Vec<u8> {
        let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
            out.extend((data.len() as u32).to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            out.extend(kind);
            out.extend(data);
            out.extend(crc.sum().to_be_bytes());
        };
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(side.to_be_bytes());
        ihdr.extend(side.to_be_bytes());
        ihdr.extend([16, 6, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[0x78, 0x01]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn a_decode_over_the_budget_is_refused_from_the_header() {
        // 6300×6300 RGBA at 16 bits: 317 MB of pixels, under the pixel limit.
        let png = huge_png_header(6300);
        assert_eq!(inspect(&png, 40_000_000).unwrap().width, 6300);
        let refused = decode_small(&png, 40_000_000, 96).unwrap_err();
        assert!(
            matches!(refused, PhotoError::OverBudget { bytes, .. } if bytes > DECODE_BUDGET),
            "{refused}"
        );
        assert!(matches!(
            decode(&png, 40_000_000),
            Err(PhotoError::OverBudget { .. })
        ));
    }

    #[test]
    fn text_and_truncated_images_are_refused() {
        assert_eq!(inspect(b"<html>", 100), Err(PhotoError::NotAnImage));
        let mut bytes = png(64, 64);
        bytes.truncate(bytes.len() / 2);
        assert!(matches!(
            decode(&bytes, 1_000_000),
            Err(PhotoError::Corrupt(_))
        ));
    }
}
