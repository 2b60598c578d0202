//! The derived indexes under `index/`: reference photo prints
//! (`references.json`) and the full-text index of listings (`text/`, with
//! `text.json` saying how far it is in sync with the store).
//!
//! Both are rebuilt from `reference-images/` and the store when missing,
//! stale or from another version, so `index/` is safe to delete. Reference
//! prints are incremental: a photo is printed again only when its bytes
//! (SHA-256) or the print version change.

pub mod text;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::matching::features::{
    describe_reference, feature_size, thumbnail, Features, Thumbnail, FEATURE_VERSION,
};
use crate::matching::image::{reference_prints, Print, Variant};
use crate::matching::references::{ReferenceIndex, ReferencePhoto, ReferencePrint};
use crate::photo;
use crate::store::{ListingSelection, Store};
pub use text::{TextDoc, TextIndex};

/// Version of the photo prints; bump when `matching::image` changes what a
/// print is, so cached prints are recomputed.
pub(crate) const PRINT_VERSION: u32 = 7;

/// Shortest side reference photos are reduced to before printing.
const REFERENCE_SIDE: u32 = 192;

#[derive(Debug, Default, Serialize, Deserialize)]
struct ReferenceFile {
    version: u32,
    #[serde(default)]
    feature_version: u32,
    images: Vec<ReferenceImage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReferenceImage {
    path: String,
    sha256: String,
    prints: Vec<(Variant, Print)>,
    /// As is and mirrored.
    features: [Features; 2],
    thumbnail: Thumbnail,
}

/// What indexing one reference photo makes: its hash prints, its local
/// features (as is and mirrored) and its thumbnail.
pub type ReferenceWork = (Vec<(Variant, Print)>, [Features; 2], Thumbnail);

/// The reference index of a workspace and what building it took.
pub struct References {
    pub index: ReferenceIndex,
    /// Changes whenever any reference photo or the print version does.
    pub key: String,
    /// Photos in the catalogue.
    pub images: usize,
    /// Photos printed now (new or changed); the rest came from `index/`.
    pub printed: usize,
}

/// Folder of the derived indexes.
pub fn dir(config: &Config) -> PathBuf {
    config.workspace.join("index")
}

/// Prints, local features and thumbnail of a reference photo from its
/// bytes.
pub fn print_reference(bytes: &[u8], max_pixels: u64) -> Result<ReferenceWork, photo::PhotoError> {
    let (_, image) = photo::decode(bytes, max_pixels)?;
    let rgb = image.to_rgb8();
    let described = feature_size(&rgb);
    let (w, h) = rgb.dimensions();
    let scale = (REFERENCE_SIDE as f32 / w.min(h).max(1) as f32).min(1.0);
    let small = image::imageops::thumbnail(
        &rgb,
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    Ok((
        reference_prints(&small),
        describe_reference(&described),
        thumbnail(&described),
    ))
}

/// What the reference photos on disk are, without reading them: each
/// product's photo paths with their sizes and modification times (`None`
/// where a file cannot be looked at: [`references`] names it). Equal
/// stamps mean [`references`] would load the same index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceStamp(Vec<(PathBuf, Option<(u64, std::time::SystemTime)>)>);

/// The reference photos' [`ReferenceStamp`] now.
pub fn reference_stamp(config: &Config) -> ReferenceStamp {
    let files = config.catalog.products.iter().flat_map(|p| &p.images);
    ReferenceStamp(
        files
            .map(|rel| {
                let file = config.reference_dir().join(rel);
                let seen = std::fs::metadata(&file)
                    .and_then(|m| Ok((m.len(), m.modified()?)))
                    .ok();
                (file, seen)
            })
            .collect(),
    )
}

/// Loads `index/references.json`, printing only the reference photos that
/// are new or changed, and writes it back when anything changed.
pub fn references(config: &Config) -> Result<References> {
    let path = dir(config).join("references.json");
    let cached: ReferenceFile = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(|f: &ReferenceFile| {
            f.version == PRINT_VERSION && f.feature_version == FEATURE_VERSION
        })
        .unwrap_or_default();
    let mut images: Vec<ReferenceImage> = Vec::new();
    let mut printed = 0;
    let mut prints = Vec::new();
    let mut photos = Vec::new();
    let mut key = Sha256::new();
    key.update(PRINT_VERSION.to_le_bytes());
    key.update(FEATURE_VERSION.to_le_bytes());
    for (product_index, product) in config.catalog.products.iter().enumerate() {
        key.update(product.id.as_bytes());
        for rel in &product.images {
            let rel = rel.to_string_lossy().replace('\\', "/");
            let file = config.reference_dir().join(&rel);
            let bytes = std::fs::read(&file)
                .with_context(|| format!("reading reference image {}", file.display()))?;
            let sha = hex::encode(Sha256::digest(&bytes));
            key.update(sha.as_bytes());
            let image = match images
                .iter()
                .chain(&cached.images)
                .find(|i| i.sha256 == sha)
            {
                Some(known) => ReferenceImage {
                    path: rel.clone(),
                    ..known.clone()
                },
                None => {
                    printed += 1;
                    let (prints, features, thumbnail) =
                        print_reference(&bytes, config.settings.crawl.max_image_pixels).map_err(
                            |e| anyhow::anyhow!("reference image {}: {e}", file.display()),
                        )?;
                    ReferenceImage {
                        path: rel.clone(),
                        sha256: sha,
                        prints,
                        features,
                        thumbnail,
                    }
                }
            };
            prints.extend(image.prints.iter().map(|(variant, print)| ReferencePrint {
                product: product_index as u32,
                image: rel.clone(),
                variant: *variant,
                print: print.clone(),
            }));
            photos.push(ReferencePhoto {
                product: product_index as u32,
                image: rel.clone(),
                features: image.features.clone(),
                thumbnail: image.thumbnail.clone(),
            });
            images.push(image);
        }
    }
    let unchanged = printed == 0
        && images.len() == cached.images.len()
        && images
            .iter()
            .zip(&cached.images)
            .all(|(a, b)| a.path == b.path && a.sha256 == b.sha256);
    let n_images = images.len();
    if !unchanged {
        let file = ReferenceFile {
            version: PRINT_VERSION,
            feature_version: FEATURE_VERSION,
            images,
        };
        write_atomically(&path, &serde_json::to_vec(&file)?)?;
    }
    Ok(References {
        index: ReferenceIndex::new(prints, photos),
        key: hex::encode(key.finalize()),
        images: n_images,
        printed,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TextState {
    /// The store this index was built from.
    db: String,
    /// Every listing changed up to this time is indexed.
    last_changed: Option<String>,
}

/// Opens `index/text/` and brings it up to date with the store: listings
/// changed since the last sync are re-indexed; a count that disagrees with
/// the store, or a missing state file, means a rebuild. Returns the index
/// and how many listings were (re)indexed.
pub fn text_index(config: &Config, store: &Store) -> Result<(TextIndex, usize)> {
    let folder = dir(config);
    let state_path = folder.join("text.json");
    let db = config.store_location();
    let state: TextState = std::fs::read(&state_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(|s: &TextState| s.db == db)
        .unwrap_or_default();
    let index = TextIndex::open(&folder.join("text"))?;
    let mut since = state.last_changed.clone();
    if since.is_some() && index.len() > store.listing_count()? {
        since = None;
    }
    let mut clear = since.is_none();
    let (mut indexed, mut last_changed) = reindex(&index, store, since.as_deref(), clear)?;
    if index.len() != store.listing_count()? {
        // Out of step (a store swapped under it, say): rebuild from scratch.
        clear = true;
        (indexed, last_changed) = reindex(&index, store, None, clear)?;
    }
    let last_changed = last_changed.or(state.last_changed.filter(|_| !clear));
    let new_state = TextState { db, last_changed };
    write_atomically(&state_path, &serde_json::to_vec(&new_state)?)?;
    Ok((index, indexed))
}

/// Listings indexed between commits: each commit writes out the writer's
/// memory, so indexing a store of any size holds at most this many.
const COMMIT_EVERY: usize = 4096;

/// Indexes the listings changed after `since` (all, without it) a page at a
/// time, committing every [`COMMIT_EVERY`]; returns how many and the latest
/// change among them. Stopped half-way, the state file still names the
/// last full pass, so the next pass indexes the rest again.
fn reindex(
    index: &TextIndex,
    store: &Store,
    since: Option<&str>,
    clear: bool,
) -> Result<(usize, Option<String>)> {
    let mut writer = index.writer(clear)?;
    let (mut indexed, mut last_changed) = (0, None::<String>);
    store.for_each_listing_page(ListingSelection::ChangedSince(since), |page| {
        let docs: Vec<TextDoc> = page
            .iter()
            .map(|l| TextDoc {
                id: l.id.0,
                title: l.listing.title.as_deref().unwrap_or(""),
                description: l.listing.description.as_deref().unwrap_or(""),
                seller: l.listing.seller.as_deref().unwrap_or(""),
            })
            .collect();
        writer.add(&docs)?;
        if indexed / COMMIT_EVERY != (indexed + page.len()) / COMMIT_EVERY {
            writer.commit()?;
        }
        indexed += page.len();
        let latest = page.iter().map(|l| &l.last_changed).max();
        if let Some(latest) = latest.filter(|t| last_changed.as_ref() < Some(*t)) {
            last_changed = Some(latest.clone());
        }
        Ok(())
    })?;
    writer.commit()?;
    Ok((indexed, last_changed))
}
