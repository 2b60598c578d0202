//! Listing photos and captures from the store, reference photos from `reference-images/`.

use super::*;

/// An image response, if the bytes are a JPEG, PNG, GIF or WebP.
pub(super) fn image_response(bytes: Vec<u8>, what: &str) -> Result<Response> {
    let info = photo::inspect(&bytes, u64::MAX)
        .map_err(|e| AppError::NotFound(format!("{what} is not a photo knockoff serves ({e}).")))?;
    let content_type = info.format.mime();
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

pub(super) async fn listing_photo(
    State(state): State<Shared>,
    Path((id, n)): Path<(i64, usize)>,
) -> Result<Response> {
    let store = state.store.clone();
    let bytes = blocking(move || {
        let Some(entry) = store.review_entry(MatchId(id))? else {
            return Ok(None);
        };
        match entry.images.get(n) {
            Some(url) => stored_photo(&store, url),
            None => Ok(None),
        }
    })
    .await?;
    let bytes = bytes.ok_or_else(|| {
        AppError::NotFound(format!("Photo {} of match #{id} was not captured.", n + 1))
    })?;
    image_response(bytes, &format!("Photo {} of match #{id}", n + 1))
}

/// Photo `n` of listing `id`, as the store holds it.
pub(super) async fn listing_photo_of_listing(
    State(state): State<Shared>,
    Path((id, n)): Path<(i64, usize)>,
) -> Result<Response> {
    let store = state.store.clone();
    let bytes = blocking(move || {
        let Some(listing) = store.listings_by_ids(&[id])?.pop() else {
            return Ok(None);
        };
        match listing.listing.images.get(n) {
            Some(url) => stored_photo(&store, url),
            None => Ok(None),
        }
    })
    .await?;
    let bytes = bytes.ok_or_else(|| {
        AppError::NotFound(format!(
            "Photo {} of listing #{id} was not captured.",
            n + 1
        ))
    })?;
    image_response(bytes, &format!("Photo {} of listing #{id}", n + 1))
}

/// The stored bytes of the photo at `url`, if it was captured.
pub(super) fn stored_photo(store: &Store, url: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match store.image_sha256(url)? {
        Some(sha) => store.blob(&sha),
        None => Ok(None),
    }
}

pub(super) async fn reference_photo(
    State(state): State<Shared>,
    Path((product, n)): Path<(String, usize)>,
) -> Result<Response> {
    let path = state
        .config
        .catalog
        .products
        .iter()
        .find(|p| p.id == product)
        .and_then(|p| p.images.get(n))
        .map(|image| state.config.workspace.join("reference-images").join(image))
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "There is no reference photo {} of {product}.",
                n + 1
            ))
        })?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| AppError::NotFound(format!("{} cannot be read ({e}).", path.display())))?;
    image_response(bytes, &path.display().to_string())
}

/// The listing page as captured, in a sandbox: no scripts, no requests,
/// a unique origin, so hostile markup can do nothing.
pub(super) async fn capture(
    State(state): State<Shared>,
    Path(listing): Path<i64>,
) -> Result<Response> {
    let store = state.store.clone();
    let page = blocking(move || store.listing_capture(listing)).await?;
    let (_, bytes) = page
        .ok_or_else(|| AppError::NotFound(format!("No capture of listing {listing} is stored.")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        bytes,
    )
        .into_response())
}
