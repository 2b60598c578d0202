//! Relisting: a listing that puts back one already removed after a
//! takedown — the same photo (its `photo_contact` print, within the few
//! bits a re-encode or resize flips) and mostly the same title — whoever
//! sells it now.
//!
//! The words are checked first and cheaply (an inverted index over the
//! removed listings' title words), so the judging pass can tell which
//! listings a new removal concerns without decoding a photo; the photo is
//! checked only for those.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::contacts::{photo_contact, same_photo};
use super::image::Print;
use super::text::normalise;

/// Share of the two titles' words (of the union) they must have in common.
const SAME_WORDS: f64 = 0.6;

/// The listing a relisting puts back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relisted {
    /// The removed listing's id (as `listings` shows it).
    pub listing: i64,
    pub url: String,
    /// The product its confirmed match was for.
    pub product: String,
    /// When its takedown was marked removed (RFC 3339).
    pub removed_at: String,
}

impl Relisted {
    /// In words: "relisted: the photo and title of listing #7 (URL),
    /// removed 2026-11-30 after a takedown".
    pub fn describe(&self) -> String {
        format!(
            "relisted: the photo and title of listing #{} ({}), removed {} after a takedown",
            self.listing,
            self.url,
            self.removed_at.get(..10).unwrap_or(&self.removed_at)
        )
    }
}

/// A listing removed after a takedown, as a relisting is compared with it.
#[derive(Debug, Clone)]
pub struct Removed {
    pub relisted: Relisted,
    pub title: String,
    /// Prints of each of its photos.
    pub photos: Vec<Vec<Print>>,
}

struct Fingerprint {
    relisted: Relisted,
    words: BTreeSet<String>,
    photos: BTreeSet<String>,
}

/// Every listing removed after a takedown, indexed by title word.
#[derive(Default)]
pub struct RemovedListings {
    removed: Vec<Fingerprint>,
    by_word: HashMap<String, Vec<usize>>,
}

fn title_words(title: &str) -> BTreeSet<String> {
    normalise(title).into_iter().map(|w| w.norm).collect()
}

fn photo_values(photos: &[Vec<Print>]) -> BTreeSet<String> {
    photos
        .iter()
        .filter_map(|prints| photo_contact(prints))
        .map(|c| c.value)
        .collect()
}

impl RemovedListings {
    pub fn new(removed: Vec<Removed>) -> RemovedListings {
        let mut index = RemovedListings::default();
        for r in removed {
            let words = title_words(&r.title);
            let photos = photo_values(&r.photos);
            if words.is_empty() || photos.is_empty() {
                continue;
            }
            for w in &words {
                index
                    .by_word
                    .entry(w.clone())
                    .or_default()
                    .push(index.removed.len());
            }
            index.removed.push(Fingerprint {
                relisted: r.relisted,
                words,
                photos,
            });
        }
        index
    }

    pub fn is_empty(&self) -> bool {
        self.removed.is_empty()
    }

    /// The removed listings (other than `listing` itself) whose titles
    /// share most of their words with `title`: those a relisting of it
    /// could put back. Cheap: no photo is looked at.
    pub fn suspects(&self, listing: i64, title: &str) -> Vec<&Relisted> {
        if self.removed.is_empty() {
            return Vec::new();
        }
        let words = title_words(title);
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for w in &words {
            for &i in self.by_word.get(w).into_iter().flatten() {
                *shared.entry(i).or_default() += 1;
            }
        }
        let mut found: Vec<usize> = shared
            .into_iter()
            .filter(|&(i, n)| {
                let union = words.len() + self.removed[i].words.len() - n;
                self.removed[i].relisted.listing != listing && n as f64 >= SAME_WORDS * union as f64
            })
            .map(|(i, _)| i)
            .collect();
        found.sort_unstable();
        found.iter().map(|&i| &self.removed[i].relisted).collect()
    }

    /// The removed listing `listing` puts back: one of its `suspects`
    /// that also shows one of its photos. The earliest removed when
    /// several do.
    pub fn relisting_of(
        &self,
        listing: i64,
        title: &str,
        photos: &[Vec<Print>],
    ) -> Option<Relisted> {
        let suspects = self.suspects(listing, title);
        if suspects.is_empty() {
            return None;
        }
        let photos = photo_values(photos);
        self.removed
            .iter()
            .filter(|r| suspects.contains(&&r.relisted))
            .filter(|r| {
                r.photos
                    .iter()
                    .any(|a| photos.iter().any(|b| same_photo(a, b)))
            })
            .map(|r| &r.relisted)
            .min_by(|a, b| a.removed_at.cmp(&b.removed_at))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::image::listing_prints;

    fn photo(seed: u8) -> Vec<Print> {
        let img = image::RgbImage::from_fn(128, 128, |x, y| {
            let v = ((x * (seed as u32 + 1) + y * 3) % 255) as u8;
            image::Rgb([v, v.wrapping_mul(seed), 255 - v])
        });
        listing_prints(&img)
    }

    fn removed(listing: i64, title: &str, seed: u8) -> Removed {
        Removed {
            relisted: Relisted {
                listing,
                url: format!("https://shop.example/l/{listing}"),
                product: "p1".into(),
                removed_at: "2026-11-30T10:00:00.000Z".into(),
            },
            title: title.into(),
            photos: vec![photo(seed)],
        }
    }

    #[test]
    fn the_same_photo_and_title_under_another_listing_is_a_relisting() {
        let index = RemovedListings::new(vec![
            removed(7, "Orvane Cloudrunner sneakers white 1:1 top quality", 3),
            removed(8, "Halvard Tidewatch steel", 9),
        ]);
        // Reworded a little, same photo.
        let found = index.relisting_of(
            40,
            "NEW Orvane Cloudrunner sneakers white 1:1 quality",
            &[photo(3)],
        );
        assert_eq!(found.map(|r| r.listing), Some(7));
        // The listing itself is not its own relisting.
        assert_eq!(
            index.relisting_of(
                7,
                "Orvane Cloudrunner sneakers white 1:1 top quality",
                &[photo(3)]
            ),
            None
        );
        // Same title, another photo: not a relisting.
        assert_eq!(
            index.relisting_of(
                41,
                "Orvane Cloudrunner sneakers white 1:1 top quality",
                &[photo(5)]
            ),
            None
        );
        // Same photo, other words: not a relisting.
        assert_eq!(
            index.relisting_of(42, "Leather belt brown", &[photo(3)]),
            None
        );
        assert!(index.suspects(42, "Leather belt brown").is_empty());
        assert_eq!(
            index.describe_first(40, "NEW Orvane Cloudrunner sneakers white 1:1 quality"),
            Some("relisted: the photo and title of listing #7 (https://shop.example/l/7), removed 2026-11-30 after a takedown".to_string())
        );
    }

    impl RemovedListings {
        fn describe_first(&self, listing: i64, title: &str) -> Option<String> {
            self.suspects(listing, title).first().map(|r| r.describe())
        }
    }
}
