//! Listing and reference photos as bytes: is it an image, how big, and a
//! bounded decode.
//!
//! Image bytes come from hostile pages. The format is read from the magic
//! bytes, never from the URL or Content-Type; dimensions are read from the
//! header and checked before any pixel is decoded, so a 30000×30000 PNG of
//! 100 KB costs a header read, not gigabytes.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

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
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
}

fn format_name(format: ImageFormat) -> Option<&'static str> {
    match format {
        ImageFormat::Jpeg => Some("jpeg"),
        ImageFormat::Png => Some("png"),
        ImageFormat::Gif => Some("gif"),
        ImageFormat::WebP => Some("webp"),
        _ => None,
    }
}

/// Reads the format from the magic bytes and the dimensions from the header,
/// refusing more than `max_pixels`. Decodes nothing.
pub fn inspect(bytes: &[u8], max_pixels: u64) -> Result<PhotoInfo, PhotoError> {
    let format = image::guess_format(bytes).map_err(|_| PhotoError::NotAnImage)?;
    let name = format_name(format).ok_or_else(|| PhotoError::Unsupported(format!("{format:?}")))?;
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
        format: name,
        width,
        height,
    })
}

/// Inspects, then decodes with allocation limits that match `max_pixels`.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<(PhotoInfo, DynamicImage), PhotoError> {
    let info = inspect(bytes, max_pixels)?;
    let format = image::guess_format(bytes).map_err(|_| PhotoError::NotAnImage)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(info.width);
    limits.max_image_height = Some(info.height);
    // RGBA at 8 bits plus the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| PhotoError::Corrupt(one_line(e)))?;
    Ok((info, image))
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
                format: "png",
                width: 40,
                height: 30
            }
        );
        let (_, image) = decode(&png(40, 30), 1_000_000).unwrap();
        assert_eq!((image.width(), image.height()), (40, 30));
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
