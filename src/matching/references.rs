//! The reference side of image matching: every print of every reference
//! photo, and a lookup that finds the ones near a listing print without
//! scanning them all.
//!
//! The lookup is multi-index hashing (Norouzi et al., 2012): a 64-bit hash
//! is cut into four 16-bit chunks, each indexing a table. If two hashes are
//! within `r` bits, at least one chunk is within `r / 4` bits (pigeonhole),
//! so probing every chunk value within `r / 4` of the query's finds every
//! candidate; each is then checked in full. At a radius of 15 that is
//! 4 × 697 probes whatever the size of the index. There is one such index
//! per hash family: a candidate needs to be close in one family to be
//! found, then within the limits of both.
//!
//!
//! Each reference photo's local features (as is and mirrored) sit in a
//! [`FeatureIndex`] beside them, for the verifier ([`ReferenceIndex::locate`]).

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::features::{agreement, Agreement, FeatureIndex, Features, Placement, Thumbnail};
use super::image::{distance, layout_distance, Print, Variant};

/// One print of one reference photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePrint {
    /// Index of the product in the catalogue.
    pub product: u32,
    /// The photo, relative to reference-images/.
    pub image: String,
    pub variant: Variant,
    pub print: Print,
}

/// A candidate is found when one of its hashes is this close (the
/// multi-index probes radius 3 per 16-bit chunk).
pub(crate) const FIND_RADIUS: u32 = 15;
/// Largest pHash distance a candidate may have.
pub(crate) const MAX_PHASH: u32 = 22;
/// Largest dHash distance a candidate may have.
pub(crate) const MAX_DHASH: u32 = 22;
/// Largest sum of both distances a candidate may have.
pub(crate) const MAX_HASHES: u32 = 32;
/// Colour-layout distance at or above which a candidate is rejected.
pub(crate) const MAX_LAYOUT: f32 = 20.0;
/// The local features of one reference photo, and its thumbnail for the
/// verifier's dense check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePhoto {
    /// Index of the product in the catalogue.
    pub product: u32,
    /// The photo, relative to reference-images/.
    pub image: String,
    /// As is, then mirrored.
    pub features: [Features; 2],
    pub thumbnail: Thumbnail,
}

/// Reference prints with a multi-index over each hash family, and the
/// reference photos' local features.
#[derive(Debug, Clone, Default)]
pub struct ReferenceIndex {
    prints: Vec<ReferencePrint>,
    views: FamilyIndex,
    photos: Vec<ReferencePhoto>,
    /// Sets `2 i` and `2 i + 1`: photo `i` as is and mirrored.
    features: FeatureIndex,
}

/// A reference photo the verifier placed in a listing photo.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalHit<'a> {
    pub reference: &'a ReferencePhoto,
    pub mirrored: bool,
    pub placement: Placement,
    pub agreement: Agreement,
}

impl LocalHit<'_> {
    /// Whether the placed reference is the photo itself, not a look-alike
    /// sharing its outline.
    pub fn is_copy(&self) -> bool {
        self.agreement.is_copy(self.placement.inliers)
    }
}

/// Up to this many prints a lookup compares every print's two hashes in
/// turn: one pass over them in sequence costs less than the multi-index's
/// few thousand probes of scattered table entries
/// (`cargo bench --bench matching -- lookup`), and the index's tables are
/// not built at all.
const SCAN_UP_TO: usize = 8_192;

/// The prints' hashes, with a multi-index over each hash family when
/// there are more than `scan_up_to` ([`SCAN_UP_TO`]).
#[derive(Debug, Clone, Default)]
struct FamilyIndex {
    /// (pHash, dHash) of each print, in `ReferenceIndex::prints` order.
    hashes: Vec<(u64, u64)>,
    /// By pHash, then by dHash.
    indexed: Option<(MultiIndex, MultiIndex)>,
}

impl FamilyIndex {
    fn new(prints: &[ReferencePrint], scan_up_to: usize) -> FamilyIndex {
        let hashes: Vec<(u64, u64)> = prints
            .iter()
            .map(|p| (p.print.phash, p.print.dhash))
            .collect();
        let indexed = (hashes.len() > scan_up_to).then(|| {
            let family = |of: fn(&(u64, u64)) -> u64| hashes.iter().map(of).collect::<Vec<_>>();
            (
                MultiIndex::new(&family(|h| h.0)),
                MultiIndex::new(&family(|h| h.1)),
            )
        });
        FamilyIndex { hashes, indexed }
    }

    /// Passes the ids of the prints whose pHash or dHash is within
    /// `radius` to `found`, each once, in id order (which names the
    /// reference of equally strong matches).
    fn within(&self, phash: u64, dhash: u64, radius: u32, found: &mut Vec<u32>) {
        let Some((by_phash, by_dhash)) = &self.indexed else {
            for (id, &(p, d)) in (0u32..).zip(&self.hashes) {
                // `|`, not `||`: both distances cost less than a branch.
                if (distance(p, phash) <= radius) | (distance(d, dhash) <= radius) {
                    found.push(id);
                }
            }
            return;
        };
        by_phash.within(phash, radius, |id| found.push(id));
        by_dhash.within(dhash, radius, |id| {
            // Already found through its pHash.
            if distance(self.hashes[id as usize].0, phash) > radius {
                found.push(id);
            }
        });
        found.sort_unstable();
    }
}

/// Four tables, one per 16-bit chunk: for each chunk value, the ids of the
/// hashes with that value and the hashes themselves (offsets into `ids`
/// and `hashes`, CSR style). The hashes are stored again in table order so
/// a probe scans memory in sequence instead of jumping to each print.
#[derive(Debug, Clone, Default)]
struct MultiIndex {
    offsets: Vec<Vec<u32>>,
    ids: Vec<Vec<u32>>,
    hashes: Vec<Vec<u64>>,
}

/// A verified match between a listing print and a reference print.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageHit<'a> {
    pub reference: &'a ReferencePrint,
    pub phash_distance: u32,
    pub dhash_distance: u32,
    pub layout_distance: f32,
    /// 0..1: how sure this is the same photo.
    pub strength: f64,
}

fn chunk(hash: u64, index: usize) -> u16 {
    (hash >> (48 - 16 * index)) as u16
}

/// Every 16-bit value within `radius` bits of `value`, `value` first.
fn neighbours(value: u16, radius: u32, out: &mut Vec<u16>) {
    out.clear();
    out.push(value);
    if radius >= 1 {
        for a in 0..16 {
            out.push(value ^ (1 << a));
        }
    }
    if radius >= 2 {
        for a in 0..16 {
            for b in a + 1..16 {
                out.push(value ^ (1 << a) ^ (1 << b));
            }
        }
    }
    if radius >= 3 {
        for a in 0..16 {
            for b in a + 1..16 {
                for c in b + 1..16 {
                    out.push(value ^ (1 << a) ^ (1 << b) ^ (1 << c));
                }
            }
        }
    }
}

/// How sure a candidate pair is the same photo, from its distances: full
/// marks up to a layout distance of 8 with hashes within 20 bits combined,
/// fading to nothing at the limits.
pub fn strength(phash_distance: u32, dhash_distance: u32, layout_distance: f32) -> f64 {
    let layout = ((MAX_LAYOUT - layout_distance) / (MAX_LAYOUT - 8.0)).clamp(0.0, 1.0) as f64;
    let hashes = MAX_HASHES.saturating_sub(phash_distance + dhash_distance) as f64
        / (MAX_HASHES - 20) as f64;
    layout * hashes.min(1.0)
}

impl MultiIndex {
    fn new(hashes: &[u64]) -> MultiIndex {
        let mut offsets = Vec::with_capacity(4);
        let mut ids = Vec::with_capacity(4);
        let mut table_hashes = Vec::with_capacity(4);
        for c in 0..4 {
            let mut counts = vec![0u32; 65_537];
            for &h in hashes {
                counts[chunk(h, c) as usize + 1] += 1;
            }
            for i in 1..counts.len() {
                counts[i] += counts[i - 1];
            }
            let mut fill = counts.clone();
            let mut table = vec![0u32; hashes.len()];
            let mut in_order = vec![0u64; hashes.len()];
            for (i, &h) in hashes.iter().enumerate() {
                let slot = &mut fill[chunk(h, c) as usize];
                table[*slot as usize] = i as u32;
                in_order[*slot as usize] = h;
                *slot += 1;
            }
            offsets.push(counts);
            ids.push(table);
            table_hashes.push(in_order);
        }
        MultiIndex {
            offsets,
            ids,
            hashes: table_hashes,
        }
    }

    /// Ids whose hash is within `radius` (at most 15) of `query`, each
    /// once, passed to `found`.
    fn within(&self, query: u64, radius: u32, mut found: impl FnMut(u32)) {
        let chunk_radius = radius.min(FIND_RADIUS) / 4;
        let mut probes = Vec::with_capacity(700);
        for c in 0..self.offsets.len() {
            neighbours(chunk(query, c), chunk_radius, &mut probes);
            for &value in &probes {
                let (start, end) = (
                    self.offsets[c][value as usize] as usize,
                    self.offsets[c][value as usize + 1] as usize,
                );
                let bucket = self.ids[c][start..end]
                    .iter()
                    .zip(&self.hashes[c][start..end]);
                for (&id, &candidate) in bucket {
                    if distance(candidate, query) > radius {
                        continue;
                    }
                    // Reported by the first chunk that is close enough, so once.
                    let first = (0..c).all(|earlier| {
                        (chunk(candidate, earlier) ^ chunk(query, earlier)).count_ones()
                            > chunk_radius
                    });
                    if first {
                        found(id);
                    }
                }
            }
        }
    }
}

impl ReferenceIndex {
    /// Indexes `prints` and the `photos`' local features.
    pub fn new(prints: Vec<ReferencePrint>, photos: Vec<ReferencePhoto>) -> ReferenceIndex {
        ReferenceIndex {
            views: FamilyIndex::new(&prints, SCAN_UP_TO),
            prints,
            features: FeatureIndex::new(photos.iter().flat_map(|p| &p.features)),
            photos,
        }
    }

    /// Whether any reference photo has local features to verify with.
    pub fn has_features(&self) -> bool {
        !self.features.is_empty()
    }

    /// The reference photos placed in a listing photo (`photo`, at
    /// [`super::features::feature_size`], described as `features`), most
    /// inliers first, each with the dense check's verdict
    /// ([`LocalHit::is_copy`]).
    pub fn locate(&self, photo: &RgbImage, features: &Features) -> Vec<LocalHit<'_>> {
        self.features
            .placements(features)
            .into_iter()
            .map(|placement| {
                let reference = &self.photos[placement.set / 2];
                let mirrored = placement.set % 2 == 1;
                let described = &reference.features[placement.set % 2];
                let agreement = agreement(
                    photo,
                    &reference.thumbnail,
                    (described.width, described.height),
                    mirrored,
                    &placement,
                );
                LocalHit {
                    reference,
                    mirrored,
                    placement,
                    agreement,
                }
            })
            .collect()
    }

    /// How many prints are indexed.
    pub fn len(&self) -> usize {
        self.prints.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.prints.is_empty()
    }

    /// Indices of the prints whose pHash or dHash is within `radius` (at
    /// most [`FIND_RADIUS`]) of the listing print's, each once.
    pub fn candidates(&self, listing: &Print, radius: u32) -> Vec<u32> {
        let mut found = Vec::new();
        let radius = radius.min(FIND_RADIUS);
        self.views
            .within(listing.phash, listing.dhash, radius, &mut found);
        found
    }

    /// The verified matches of one listing print, strongest first.
    pub fn lookup(&self, listing: &Print) -> Vec<ImageHit<'_>> {
        // Candidates within the hash limits, nearest first.
        let near: Vec<(u32, u32, &ReferencePrint)> = self
            .candidates(listing, FIND_RADIUS)
            .into_iter()
            .filter_map(|id| {
                let reference = &self.prints[id as usize];
                let dhash_distance = distance(listing.dhash, reference.print.dhash);
                let phash_distance = distance(listing.phash, reference.print.phash);
                (dhash_distance <= MAX_DHASH
                    && phash_distance <= MAX_PHASH
                    && phash_distance + dhash_distance <= MAX_HASHES)
                    .then_some((phash_distance, dhash_distance, reference))
            })
            .collect();
        let mut hits: Vec<ImageHit> = near
            .into_iter()
            .filter_map(|(phash_distance, dhash_distance, reference)| {
                let layout_distance = layout_distance(listing, &reference.print);
                let strength = strength(phash_distance, dhash_distance, layout_distance);
                (strength > 0.0).then_some(ImageHit {
                    reference,
                    phash_distance,
                    dhash_distance,
                    layout_distance,
                    strength,
                })
            })
            .collect();
        hits.sort_by(|a, b| b.strength.total_cmp(&a.strength));
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::image::Region;
    use rand::{Rng, SeedableRng};

    fn print(phash: u64, dhash: u64) -> ReferencePrint {
        ReferencePrint {
            product: 0,
            image: "x.png".into(),
            variant: Variant::default(),
            print: Print {
                region: Region::Whole,
                trimmed: false,
                phash,
                dhash,
                layout: vec![],
                background: None,
            },
        }
    }

    #[test]
    fn multi_index_finds_exactly_what_a_scan_finds() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut pairs: Vec<(u64, u64)> = (0..5000).map(|_| (rng.random(), rng.random())).collect();
        let (qp, qd): (u64, u64) = (rng.random(), rng.random());
        // Plant near neighbours at every distance up to 20, in either family.
        let flip = |h: u64, d: u32| (0..d).fold(h, |h, bit| h ^ (1 << ((bit * 3) % 64)));
        for d in 0..=20u32 {
            pairs.push((flip(qp, d), rng.random()));
            pairs.push((rng.random(), flip(qd, d)));
        }
        let prints: Vec<ReferencePrint> = pairs.iter().map(|&(p, d)| print(p, d)).collect();
        let indexed = FamilyIndex::new(&prints, 0);
        let scanning = FamilyIndex::new(&prints, usize::MAX);
        assert!(indexed.indexed.is_some() && scanning.indexed.is_none());
        for radius in [0, 5, 12, 15] {
            let mut found = Vec::new();
            indexed.within(qp, qd, radius, &mut found);
            let mut by_scan = Vec::new();
            scanning.within(qp, qd, radius, &mut by_scan);
            assert_eq!(found, by_scan, "radius {radius}");
            let scanned: Vec<u32> = (0..pairs.len() as u32)
                .filter(|&i| {
                    let (p, d) = pairs[i as usize];
                    distance(p, qp) <= radius || distance(d, qd) <= radius
                })
                .collect();
            assert_eq!(found, scanned, "radius {radius}");
            assert!(found.len() as u32 >= 2 * (radius + 1));
        }
    }
}
