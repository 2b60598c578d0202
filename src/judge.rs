//! The judging pass: stored listings judged and their verdicts recorded in
//! the review queue — the I/O around the pure judge in [`crate::matching`].
//!
//! [`judge_workspace`] runs after every crawl and every `knockoff index`:
//! it brings the derived indexes up to date, then judges every listing
//! whose *judge key* changed — its content, its photos' bytes, the
//! reference photos, the matching settings, its seller's confirmed
//! record, a seller list naming it, or a removed listing whose title it
//! repeats — and records the verdicts (see [`Store::record_verdicts`] for
//! how the queue changes). Unchanged listings cost a key comparison.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{Config, Target};
use crate::index::{self, PRINT_VERSION};
use crate::matching::contacts::{contacts_in, photo_contact, Contact, ContactContext};
use crate::matching::features::FEATURE_SIDE;
use crate::matching::image::Print;
use crate::matching::relisting::{Relisted, Removed, RemovedListings};
use crate::matching::score::{phrases, Judge, JudgedProduct, ListingFacts, MatchSettings};
use crate::matching::text::{normalised_text, ProductTerms};
use crate::matching::verdict::{Listed, PhotoMatches, Verdict};
use crate::networks::SellerLists;
use crate::photo;
use crate::photo::read_listing_photo;
use crate::store::{
    ItemKind, ListingId, ListingSelection, ListingToJudge, NewItem, QueueChanges, RunId, Store,
    StoredVerdict,
};

/// What a judging pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JudgeReport {
    pub listings: usize,
    pub judged: usize,
    pub photos_printed: usize,
    pub reference_images: usize,
    pub references_printed: usize,
    pub text_indexed: usize,
    pub changes: QueueChanges,
    pub pending: usize,
    /// Seller networks after the pass (when it judged anything).
    pub networks: usize,
}

impl JudgeReport {
    /// The pass in one line, as the command line and the demo print it.
    pub fn render(&self) -> String {
        let c = &self.changes;
        format!(
            "judged {} of {} listings ({} photos printed)  queue: {} new, {} updated, {} reopened, {} withdrawn; {} pending\n",
            self.judged,
            self.listings,
            self.photos_printed,
            c.queued,
            c.updated,
            c.reopened,
            c.withdrawn,
            self.pending
        )
    }
}

/// The judge for a workspace's catalogue and settings, over `references`.
pub(crate) fn judge_for(
    config: &Config,
    references: crate::matching::references::ReferenceIndex,
) -> Judge {
    let brand = &config.catalog.brand;
    let settings = &config.settings;
    Judge {
        products: config
            .catalog
            .products
            .iter()
            .map(|p| JudgedProduct {
                id: p.id.clone(),
                terms: ProductTerms::new(&brand.name, &p.name, &p.keywords),
                msrp: p.msrp,
                currency: p.currency.clone(),
            })
            .collect(),
        references,
        settings: MatchSettings {
            used_words: phrases(&settings.used_words),
            new_words: phrases(&settings.new_words),
            policy: settings.policy.clone(),
            weights: settings.weights,
            ..MatchSettings::new(
                &settings.counterfeit_words,
                &settings.accessory_phrases,
                settings.fx.clone(),
            )
        },
        authorized_sellers: brand.authorized_sellers.clone(),
    }
}

/// Everything besides the listing that a judgement depends on.
fn settings_key(config: &Config, references_key: &str) -> String {
    let s = &config.settings;
    let brand = &config.catalog.brand;
    let products: Vec<_> = config
        .catalog
        .products
        .iter()
        .map(|p| (&p.id, &p.name, &p.keywords, p.msrp, &p.currency))
        .collect();
    let text = serde_json::json!([
        references_key,
        PRINT_VERSION,
        format!("{:?} {:?}", s.policy, s.weights),
        s.used_words,
        s.new_words,
        s.counterfeit_words,
        s.accessory_phrases,
        s.fx,
        brand.name,
        brand.authorized_sellers,
        products,
    ]);
    hex::encode(Sha256::digest(text.to_string()))
}

fn judge_key(settings_key: &str, listing: &ListingToJudge, known: &Enforcement) -> String {
    let text = serde_json::json!([
        settings_key,
        listing.content_hash,
        listing.photo_digests,
        listing.seller_confirmed,
        known.listed(listing),
        known.relisting_suspects(listing),
    ]);
    hex::encode(Sha256::digest(text.to_string()))
}

/// What makes a listing materially different to a reviewer: its words,
/// seller and photos, and its price to within 10%.
pub(crate) fn material_key(listing: &ListingToJudge) -> String {
    let l = &listing.stored.listing;
    let price_band = l
        .price
        .filter(|p| *p > 0.0)
        .map(|p| (p.ln() / 1.1f64.ln()).round() as i64);
    let text = serde_json::json!([
        normalised_text(l.title.as_deref().unwrap_or("")),
        normalised_text(l.description.as_deref().unwrap_or("")),
        l.seller,
        price_band,
        l.currency,
        listing.photo_digests,
    ]);
    hex::encode(Sha256::digest(text.to_string()))
}

/// Photos a pass has met, the most before [`Photos`] forgets them all:
/// bounds its memory whatever the store's size.
const PHOTOS_REMEMBERED: usize = 4096;

/// The listing photos' prints and reference matches as judging reads them:
/// from the store's cache, else computed from the stored bytes and cached.
/// What it read it also keeps by digest for the rest of the pass, since at
/// scale listings show few distinct photos (relistings, the same stock
/// photo on many listings) and the cache's JSON would be read again for
/// each.
pub(crate) struct Photos<'s> {
    store: &'s Store,
    max_pixels: u64,
    /// Photos printed (not found in the cache) so far.
    pub(crate) printed: usize,
    prints: HashMap<String, Vec<Print>>,
    matches: HashMap<String, PhotoMatches>,
    /// The photos printed for the listing being judged, at the verifier's
    /// size: decoded once for both, and dropped once they are matched
    /// closely or another listing is judged.
    pixels: HashMap<String, image::RgbImage>,
}

impl<'s> Photos<'s> {
    pub(crate) fn new(config: &Config, store: &'s Store) -> Photos<'s> {
        Photos {
            store,
            max_pixels: config.settings.crawl.max_image_pixels,
            printed: 0,
            prints: HashMap::new(),
            matches: HashMap::new(),
            pixels: HashMap::new(),
        }
    }

    /// Prints of the photo with digest `sha256`. A photo that cannot be
    /// decoded has none. With `keep_pixels`, a photo decoded now keeps its
    /// pixels for the verifier ([`Photos::matches`]).
    fn prints(&mut self, sha256: &str, keep_pixels: bool) -> Result<Vec<Print>> {
        if let Some(prints) = self.prints.get(sha256) {
            return Ok(prints.clone());
        }
        let cached = self
            .store
            .photo_prints(sha256, PRINT_VERSION)?
            .and_then(|json| serde_json::from_str(&json).ok());
        let prints = match cached {
            Some(prints) => prints,
            None => {
                let prints = match self.store.blob(sha256)? {
                    Some(bytes) => match read_listing_photo(&bytes, self.max_pixels, keep_pixels) {
                        Ok(photo) => {
                            if let Some(pixels) = photo.pixels {
                                self.pixels.insert(sha256.to_string(), pixels);
                            }
                            photo.prints
                        }
                        Err(e) => {
                            tracing::debug!(sha256, "photo not printed: {e}");
                            Vec::new()
                        }
                    },
                    None => Vec::new(),
                };
                self.printed += 1;
                self.store.put_photo_prints(
                    sha256,
                    PRINT_VERSION,
                    &serde_json::to_string(&prints)?,
                )?;
                prints
            }
        };
        remember(&mut self.prints, sha256, prints.clone());
        Ok(prints)
    }

    /// The prints of each of a listing's photos, in page order; `look`
    /// says whether [`Photos::matches`] comes next for them (and so
    /// whether to keep their pixels).
    fn of(&mut self, listing: &ListingToJudge, look: Option<Look>) -> Result<Vec<Vec<Print>>> {
        // A card its hashes did not pick is looked at again, closely.
        self.pixels.retain(|sha, _| {
            listing
                .photo_digests
                .iter()
                .any(|d| d.as_ref() == Some(sha))
        });
        let keep_pixels = look.is_some();
        let mut photos = Vec::with_capacity(listing.photo_digests.len());
        for digest in &listing.photo_digests {
            photos.push(match digest {
                Some(sha) => self.prints(sha, keep_pixels)?,
                None => Vec::new(),
            });
        }
        Ok(photos)
    }

    /// What each of a listing's photos (`photos`, their prints) matched
    /// among the reference photos ([`Judge::match_photo`]), cached under
    /// `matches_key` (the reference index's key). The verifier, where it
    /// is needed, reads the pixels [`Photos::of`] kept, else decodes the
    /// photo (its prints were cached). A
    /// [`Look::Hashes`] look at a photo not matched before is the hashes'
    /// alone, neither cached nor kept.
    fn matches(
        &mut self,
        judge: &Judge,
        matches_key: &str,
        listing: &ListingToJudge,
        photos: &[Vec<Print>],
        look: Look,
    ) -> Result<Vec<PhotoMatches>> {
        let mut out = Vec::with_capacity(photos.len());
        for (digest, prints) in listing.photo_digests.iter().zip(photos) {
            let Some(sha) = digest else {
                out.push(PhotoMatches::new());
                continue;
            };
            if let Some(matches) = self.matches.get(sha) {
                out.push(matches.clone());
                continue;
            }
            let cached = self
                .store
                .photo_matches(sha, matches_key)?
                .and_then(|json| serde_json::from_str(&json).ok());
            let matches = match cached {
                Some(matches) => matches,
                None if look == Look::Hashes => {
                    out.push(judge.match_photo(prints, || None));
                    continue;
                }
                None => {
                    let kept = self.pixels.remove(sha);
                    let matches =
                        judge.match_photo(prints, || kept.or_else(|| self.feature_pixels(sha)));
                    self.store.put_photo_matches(
                        sha,
                        matches_key,
                        &serde_json::to_string(&matches)?,
                    )?;
                    matches
                }
            };
            remember(&mut self.matches, sha, matches.clone());
            out.push(matches);
        }
        if look == Look::Closely {
            self.pixels.clear();
        }
        Ok(out)
    }

    /// Photo `sha256` at the local-feature verifier's size, decoded from
    /// the store; `None` when it is missing or does not decode.
    fn feature_pixels(&self, sha256: &str) -> Option<image::RgbImage> {
        let bytes = self.store.blob(sha256).ok()??;
        photo::decode_longest(&bytes, self.max_pixels, FEATURE_SIDE)
            .ok()
            .map(|(_, small)| small)
    }
}

/// How closely judging looks at photos not matched before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Look {
    /// Their hash prints only: enough to pick a search card whose words or
    /// hashes already call for its item page, which is judged closely.
    Hashes,
    /// The prints, then the local-feature verifier where they did not
    /// settle a photo.
    Closely,
}

/// Keeps `value` under `sha256`, forgetting everything kept first when
/// [`PHOTOS_REMEMBERED`] are.
fn remember<T>(kept: &mut HashMap<String, T>, sha256: &str, value: T) {
    if kept.len() >= PHOTOS_REMEMBERED {
        kept.clear();
    }
    kept.insert(sha256.to_string(), value);
}

/// What enforcement has established that the judge weighs: the brand's
/// seller lists (resolved against the recorded networks) and the listings
/// removed after a takedown, which a relisting puts back.
pub(crate) struct Enforcement {
    lists: SellerLists,
    removed: RemovedListings,
}

impl Enforcement {
    pub(crate) fn load(config: &Config, store: &Store, photos: &mut Photos) -> Result<Enforcement> {
        let mut removed = Vec::new();
        for (listing, product, removed_at) in store.removed_listings()? {
            let Some(listing) = store.judge_inputs(vec![listing])?.pop() else {
                continue;
            };
            removed.push(Removed {
                relisted: Relisted {
                    listing: listing.stored.id.0,
                    url: listing.stored.url.clone(),
                    product,
                    removed_at,
                },
                title: listing.stored.listing.title.clone().unwrap_or_default(),
                photos: photos.of(&listing, None)?,
            });
        }
        Ok(Enforcement {
            lists: SellerLists::load(&config.catalog.brand, store)?,
            removed: RemovedListings::new(removed),
        })
    }

    /// Whether the listing's seller, or its network, is on a seller list.
    fn listed(&self, listing: &ListingToJudge) -> Option<Listed> {
        self.lists.of(
            &listing.stored.target,
            listing.stored.listing.seller.as_deref(),
            listing.network,
        )
    }

    /// The removed listings whose titles this one repeats (its photos not
    /// looked at): a change here is worth judging the listing again.
    fn relisting_suspects(&self, listing: &ListingToJudge) -> Vec<i64> {
        let title = listing.stored.listing.title.as_deref().unwrap_or("");
        self.removed
            .suspects(listing.stored.id.0, title)
            .iter()
            .map(|r| r.listing)
            .collect()
    }
}

/// What the judge knows of a stored listing: its fields, its photos'
/// prints and reference matches (read through `photos`, looked at as
/// `look` says), and what enforcement established about it. `matches_key`
/// is the reference index's key.
pub(crate) fn facts_of(
    photos: &mut Photos,
    judge: &Judge,
    matches_key: &str,
    listing: &ListingToJudge,
    known: &Enforcement,
    look: Look,
) -> Result<ListingFacts> {
    let l = &listing.stored.listing;
    let prints = photos.of(listing, Some(look))?;
    let photo_matches = photos.matches(judge, matches_key, listing, &prints, look)?;
    let relisted = known.removed.relisting_of(
        listing.stored.id.0,
        l.title.as_deref().unwrap_or(""),
        &prints,
    );
    Ok(ListingFacts {
        title: l.title.clone().unwrap_or_default(),
        description: l.description.clone().unwrap_or_default(),
        seller: l.seller.clone(),
        price: l.price,
        currency: l.currency.clone(),
        photos: prints,
        photo_matches,
        seller_confirmed: listing.seller_confirmed,
        listed: known.listed(listing),
        relisted,
    })
}

/// Which listings (by id) the full-text index says name each product (by
/// its place in `judge.products`).
fn text_candidates(judge: &Judge, text: &index::TextIndex) -> Result<HashMap<i64, Vec<usize>>> {
    let mut candidates: HashMap<i64, Vec<usize>> = HashMap::new();
    for (p, product) in judge.products.iter().enumerate() {
        for id in text.product_hits(&product.terms)? {
            candidates.entry(id).or_default().push(p);
        }
    }
    Ok(candidates)
}

/// The item pages worth fetching among the search cards of `targets` seen
/// in `run` (`Judge::card_worth_page`: from the card's words, price and
/// thumbnail, queued by a rule, scored at or above the target's
/// `prefilter`, or using counterfeit vocabulary). A card judged not worth
/// its page keeps this judgement (its verdicts are recorded now, so the
/// pass after the crawl finds it judged); the others are judged again
/// from their item pages.
pub(crate) fn card_candidates(
    config: &Config,
    store: &Store,
    run: RunId,
    targets: &[String],
) -> Result<Vec<NewItem>> {
    let mut unused = JudgeReport::default();
    let mut pass = Pass::open(config, store, &mut unused)?;
    let mut picked = Vec::new();
    store.for_each_listing_page(ListingSelection::CardsOf { run, targets }, |cards| {
        for listing in store.judge_inputs(cards)? {
            let Some(target) = config.target(&listing.stored.target) else {
                continue;
            };
            let prefilter = target.stages.prefilter;
            // Crawls sharing a store judge the run's cards between them: a
            // card another crawl holds is judged there (its item page, if
            // worth one, goes to the shared frontier); one judged under
            // its key already was not worth its page.
            if store.is_shared() {
                let Some(key) = pass.stale_key(&listing) else {
                    continue;
                };
                if store.take_judging(&[(listing.stored.id, &key)])?.is_empty() {
                    continue;
                }
            }
            // The hashes first: a card they or its words pick is judged
            // closely from its item page, so its thumbnail's closer look
            // would be work done twice.
            let (mut facts, mut verdicts) = pass.judge(&listing, Look::Hashes)?;
            let mut worth = pass.judge.card_worth_page(&facts, &verdicts, prefilter);
            if !worth {
                (facts, verdicts) = pass.judge(&listing, Look::Closely)?;
                worth = pass.judge.card_worth_page(&facts, &verdicts, prefilter);
            }
            if worth {
                picked.push(NewItem {
                    target: listing.stored.target,
                    kind: ItemKind::Listing,
                    url: listing.stored.url,
                    query: None,
                    page: None,
                });
            } else if let Some(key) = pass.stale_key(&listing) {
                pass.record(&listing, &key, &facts, verdicts)?;
            }
        }
        Ok(())
    })?;
    Ok(picked)
}

/// What one judging pass holds for every listing it judges: the judge
/// (with the reference index), the text index, what enforcement
/// established and the photos it has read.
struct Pass<'a> {
    config: &'a Config,
    store: &'a Store,
    photos: Photos<'a>,
    judge: Judge,
    /// The reference index's key, under which photo matches are cached.
    matches_key: String,
    settings_key: String,
    known: Enforcement,
    text: index::TextIndex,
    /// Per listing id, the products the text index says it names: looked
    /// up once, when the first listing is judged.
    text_candidates: Option<HashMap<i64, Vec<usize>>>,
}

impl<'a> Pass<'a> {
    /// Brings the indexes up to date and loads what the judge needs;
    /// `report` learns what that took.
    fn open(config: &'a Config, store: &'a Store, report: &mut JudgeReport) -> Result<Pass<'a>> {
        let references = index::references(config)?;
        let (text, text_indexed) = index::text_index(config, store)?;
        report.reference_images = references.images;
        report.references_printed = references.printed;
        report.text_indexed = text_indexed;
        let settings_key = settings_key(config, &references.key);
        let matches_key = references.key.clone();
        let judge = judge_for(config, references.index);
        let mut photos = Photos::new(config, store);
        let known = Enforcement::load(config, store, &mut photos)?;
        Ok(Pass {
            config,
            store,
            photos,
            judge,
            matches_key,
            settings_key,
            known,
            text,
            text_candidates: None,
        })
    }

    /// The listing's judge key, when it differs from the one it was last
    /// judged with.
    fn stale_key(&self, listing: &ListingToJudge) -> Option<String> {
        let key = judge_key(&self.settings_key, listing, &self.known);
        (listing.judged_key.as_deref() != Some(key.as_str())).then_some(key)
    }

    /// The listing's facts, its photos looked at as `look` says, and the
    /// judge's verdicts on them.
    fn judge(
        &mut self,
        listing: &ListingToJudge,
        look: Look,
    ) -> Result<(ListingFacts, Vec<Verdict>)> {
        let facts = facts_of(
            &mut self.photos,
            &self.judge,
            &self.matches_key,
            listing,
            &self.known,
            look,
        )?;
        let text_candidates = match &mut self.text_candidates {
            Some(candidates) => candidates,
            unset => unset.insert(text_candidates(&self.judge, &self.text)?),
        };
        let candidates = text_candidates
            .get(&listing.stored.id.0)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let verdicts = self.judge.judge(&facts, Some(candidates));
        Ok((facts, verdicts))
    }

    /// Judges the listings whose judge keys are stale and records their
    /// verdicts — on a store crawls share, those this crawl leases now
    /// ([`Store::take_judging`], one call for them all); returns the ones
    /// it could not lease (another crawl judges them, or judged them).
    fn judge_stale(
        &mut self,
        listings: Vec<ListingToJudge>,
        report: &mut JudgeReport,
    ) -> Result<Vec<ListingId>> {
        let stale: Vec<(ListingToJudge, String)> = listings
            .into_iter()
            .filter_map(|listing| {
                let key = self.stale_key(&listing)?;
                Some((listing, key))
            })
            .collect();
        let mut not_taken = Vec::new();
        for chunk in stale.chunks(JUDGED_PER_LEASE) {
            let leased = match self.store.is_shared() {
                true => {
                    let wanted: Vec<(ListingId, &str)> = chunk
                        .iter()
                        .map(|(listing, key)| (listing.stored.id, key.as_str()))
                        .collect();
                    Some(self.store.take_judging(&wanted)?)
                }
                false => None,
            };
            for (listing, key) in chunk {
                if leased
                    .as_ref()
                    .is_some_and(|l| !l.contains(&listing.stored.id))
                {
                    not_taken.push(listing.stored.id);
                    continue;
                }
                let (facts, verdicts) = self.judge(listing, Look::Closely)?;
                report.changes += self.record(listing, key, &facts, verdicts)?;
                report.judged += 1;
            }
        }
        Ok(not_taken)
    }

    /// Records the verdicts under `key` and the contacts the listing shows;
    /// returns how the queue changed.
    fn record(
        &self,
        listing: &ListingToJudge,
        key: &str,
        facts: &ListingFacts,
        verdicts: Vec<Verdict>,
    ) -> Result<QueueChanges> {
        let verdicts: Vec<StoredVerdict> = verdicts
            .into_iter()
            .map(|v| StoredVerdict {
                product_id: self.judge.products[v.product].id.clone(),
                score: v.score,
                queued: v.queued,
                signals: v.signals,
            })
            .collect();
        let target = self.config.target(&listing.stored.target);
        self.store.record_judgement(
            listing.stored.id,
            key,
            &material_key(listing),
            &verdicts,
            &shown(target, facts, &self.judge),
        )
    }
}

/// What a listing shows that may link its seller to others: the contacts
/// in its title, seller name and description, and the prints of its own
/// photos (those no reference photo matched: an official photo links
/// nobody, every seller of fakes uses it).
fn shown(target: Option<&Target>, facts: &ListingFacts, judge: &Judge) -> Vec<Contact> {
    let site = target.and_then(Target::site);
    let region = target.and_then(Target::country);
    let context = ContactContext {
        site: site.as_deref(),
        region: region.as_deref(),
    };
    let seller = facts.seller.as_deref().unwrap_or_default();
    let mut found = contacts_in(&[&facts.title, seller, &facts.description], &context);
    let official = judge.reference_photos(facts);
    for (k, prints) in facts.photos.iter().enumerate() {
        if official.contains(&k) {
            continue;
        }
        if let Some(photo) = photo_contact(prints) {
            if !found.contains(&photo) {
                found.push(photo);
            }
        }
    }
    found
}

/// Listings a judging pass leases at a time on a shared store: one round
/// trip for them all, and judged well inside the shortest lease.
const JUDGED_PER_LEASE: usize = 32;

/// How long past another crawl's judging lease term a pass waits for what
/// it holds: leases are stamped by each machine's own clock.
const LEASE_CLOCK_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Brings the indexes up to date and judges every listing whose judge key
/// changed. Blocking: call it from the blocking pool in async code.
pub fn judge_workspace(config: &Config, store: &Store) -> Result<JudgeReport> {
    let mut report = JudgeReport::default();
    let mut pass = Pass::open(config, store, &mut report)?;
    let mut held_elsewhere = Vec::new();
    store.for_each_listing_page(ListingSelection::All, |page| {
        report.listings += page.len();
        let listings = store.judge_inputs(page)?;
        held_elsewhere.extend(pass.judge_stale(listings, &mut report)?);
        Ok(())
    })?;
    // Another crawl judges what it holds, unless it died holding it:
    // those are judged here once their leases lapse.
    let deadline = std::time::Instant::now() + store.lease_term() + LEASE_CLOCK_MARGIN;
    while !held_elsewhere.is_empty() {
        if std::time::Instant::now() >= deadline {
            tracing::warn!(
                "{} listing(s) still leased to another crawl to judge after its lease term; the next pass judges them if it did not",
                held_elsewhere.len()
            );
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let still =
            store.listings_by_ids(&held_elsewhere.iter().map(|id| id.0).collect::<Vec<_>>())?;
        held_elsewhere = pass.judge_stale(store.judge_inputs(still)?, &mut report)?;
    }
    report.photos_printed = pass.photos.printed;
    // Every pass, judged or not: a seller's profile page read by the crawl
    // links sellers whose listings did not change.
    let grouping = crate::networks::refresh(store, config.settings.network_boilerplate)?;
    report.networks = grouping.networks.len();
    report.pending = store.pending_count()?;
    Ok(report)
}
