//! Stored listings as the rest of knockoff reads them: one by id or URL,
//! a target's or a seller's, a page at a time for passes over many, and
//! the exact bytes of a capture.

use super::db::{args, Bind, Row};
use super::*;

/// A listing as stored, with when it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct StoredListing {
    /// What `explain --listing` and the review UI's listing page take.
    pub id: ListingId,
    pub url: String,
    pub target: String,
    #[serde(flatten)]
    pub listing: Listing,
    pub first_seen: String,
    pub last_seen: String,
    pub last_changed: String,
    pub stage: Stage,
}

closed_set! {
    /// What a stored listing was read from.
    pub enum Stage("listing stage") {
        /// A search results card (title, price, thumbnail; the item page was
        /// not fetched).
        Card = "card",
        /// The listing's own page.
        Item = "item",
    }
}

/// Which listings [`Store::for_each_listing_page`] reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListingSelection<'a> {
    All,
    /// Changed after this time (`last_changed`); every listing without one.
    ChangedSince(Option<&'a str>),
    /// Those of `targets` seen in `run` only on a search card so far: the
    /// candidates for an item page.
    CardsOf {
        run: RunId,
        targets: &'a [String],
    },
}

const LISTING_COLUMNS: &str =
    "id, url, target, title, price, currency, seller, description, images,
    first_seen, last_seen, last_changed, stage, seller_url";

/// A `listings` row read with [`LISTING_COLUMNS`].
fn stored_listing(row: &Row) -> Result<StoredListing> {
    let images: String = row.get(8)?;
    Ok(StoredListing {
        id: ListingId(row.get(0)?),
        url: row.get(1)?,
        target: row.get(2)?,
        listing: Listing {
            title: row.get(3)?,
            price: row.get(4)?,
            currency: row.get(5)?,
            seller: row.get(6)?,
            description: row.get(7)?,
            images: serde_json::from_str(&images).unwrap_or_default(),
            seller_url: row.get(13)?,
        },
        first_seen: row.get(9)?,
        last_seen: row.get(10)?,
        last_changed: row.get(11)?,
        stage: row.word(12)?,
    })
}

impl Store {
    /// Calls `f` with the `selection`'s listings a page at a time, in id
    /// order: a pass over every listing holds one page in memory, however
    /// many the store keeps. The store is free between pages, so `f` may
    /// read and write it.
    pub(crate) fn for_each_listing_page(
        &self,
        selection: ListingSelection,
        mut f: impl FnMut(Vec<StoredListing>) -> Result<()>,
    ) -> Result<()> {
        const PAGE: usize = 256;
        let filter = match selection {
            ListingSelection::All => "1 = 1".to_string(),
            ListingSelection::ChangedSince(_) => {
                "CAST(?2 AS TEXT) IS NULL OR last_changed > ?2".to_string()
            }
            ListingSelection::CardsOf { targets, .. } => {
                let marks: Vec<String> =
                    (0..targets.len()).map(|i| format!("?{}", i + 3)).collect();
                format!(
                    "stage = 'card' AND last_run = ?2 AND target IN ({})",
                    if marks.is_empty() {
                        "NULL".to_string()
                    } else {
                        marks.join(", ")
                    }
                )
            }
        };
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM listings WHERE id > ?1 AND ({filter}) ORDER BY id LIMIT {PAGE}"
        );
        let mut after = i64::MIN;
        loop {
            let page: Vec<StoredListing> = self
                .scan(|db| {
                    let mut bound: Vec<&dyn Bind> = vec![&after];
                    match &selection {
                        ListingSelection::All => {}
                        ListingSelection::ChangedSince(since) => bound.push(since),
                        ListingSelection::CardsOf { run, targets } => {
                            bound.push(&run.0);
                            bound.extend(targets.iter().map(|t| t as &dyn Bind));
                        }
                    }
                    db.all(&sql, &bound, stored_listing)
                })
                .context("reading a page of listings")?;
            let (Some(last), full) = (page.last(), page.len() == PAGE) else {
                return Ok(());
            };
            after = last.id.0;
            f(page)?;
            if !full {
                return Ok(());
            }
        }
    }

    /// Every stored listing, optionally of one target, in URL order.
    pub fn listings(&self, target: Option<&str>) -> Result<Vec<StoredListing>> {
        self.scan(|db| {
            db.all(
                &format!(
                    "SELECT {LISTING_COLUMNS} FROM listings WHERE CAST(?1 AS TEXT) IS NULL OR target = ?1
                     ORDER BY target, url"
                ),
                args![target],
                stored_listing,
            )
        })
        .context("reading listings")
    }

    /// The listings with these ids, in that order (ids not in the store
    /// left out).
    pub(crate) fn listings_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredListing>> {
        let sql = format!("SELECT {LISTING_COLUMNS} FROM listings WHERE id = ?1");
        self.read(|db| {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                found.extend(db.optional(&sql, args![id], stored_listing)?);
            }
            Ok(found)
        })
    }

    /// The listing with id `id_or_url` (digits) or that canonical URL.
    pub(crate) fn listing_by_id_or_url(&self, id_or_url: &str) -> Result<Option<StoredListing>> {
        let by =
            |column: &str| format!("SELECT {LISTING_COLUMNS} FROM listings WHERE {column} = ?1");
        self.read(|db| match id_or_url.parse::<i64>() {
            Ok(id) => db.optional(&by("id"), args![id], stored_listing),
            Err(_) => db.optional(&by("url"), args![id_or_url], stored_listing),
        })
        .with_context(|| format!("looking up listing {id_or_url}"))
    }

    /// A seller's listings, newest first, at most `limit`.
    pub(crate) fn seller_listings(&self, seller: &str, limit: usize) -> Result<Vec<StoredListing>> {
        self.read(|db| {
            db.all(
                &format!(
                    "SELECT {LISTING_COLUMNS} FROM listings WHERE seller = ?1
                     ORDER BY first_seen DESC, id DESC LIMIT ?2"
                ),
                args![seller, limit],
                stored_listing,
            )
        })
        .with_context(|| format!("reading the listings of seller {seller}"))
    }

    /// How many of a seller's matches were confirmed: the account's on
    /// `target`, or the name's on every marketplace.
    pub fn seller_confirmed(&self, seller: &str, target: Option<&str>) -> Result<u64> {
        let n: i64 = self.read(|db| {
            db.one(
                "SELECT COUNT(*) FROM listings l JOIN matches m ON m.listing_id = l.id
                 WHERE l.seller = ?1 AND (CAST(?2 AS TEXT) IS NULL OR l.target = ?2) AND m.status = 'confirmed'",
                args![seller, target],
                |r| r.get(0),
            )
        })?;
        Ok(n as u64)
    }

    /// The exact bytes stored under `sha256`.
    pub fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let row: Option<(String, Vec<u8>)> = self.scan(|db| {
            db.optional(
                "SELECT compression, data FROM blobs WHERE sha256 = ?1",
                args![sha256],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
        })?;
        let Some((compression, data)) = row else {
            return Ok(None);
        };
        if compression == "none" {
            return Ok(Some(data));
        }
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(&data[..])
            .read_to_end(&mut out)
            .with_context(|| format!("inflating blob {sha256}"))?;
        Ok(Some(out))
    }

    /// The body hash of the last stored image capture of `url`.
    pub(crate) fn image_sha256(&self, url: &str) -> Result<Option<String>> {
        Ok(self
            .scan(|db| {
                db.optional(
                    "SELECT sha256 FROM images WHERE url = ?1",
                    args![url],
                    |row| row.get::<Option<String>>(0),
                )
            })?
            .flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::tests::on_both_stores;

    #[test]
    fn listings_read_alike_on_both_engines() {
        on_both_stores(|store| {
            let targets = ["shop".to_string(), "bazaar".to_string()];
            let run = store.start_run(&targets, None, &[]).unwrap();
            let page = |target: &str, url: &str| NewItem {
                target: target.into(),
                kind: ItemKind::Listing,
                url: url.into(),
                query: None,
                page: None,
            };
            let items = [
                page("shop", "http://shop/b"),
                page("shop", "http://shop/a"),
                page("bazaar", "http://bazaar/1"),
            ];
            store.add_items(run.id, &items).unwrap();
            for (n, item) in store.pending_items(run.id).unwrap().iter().enumerate() {
                let listing = Listing {
                    title: Some(format!("listing {n}")),
                    price: Some(10.0 + n as f64),
                    seller: Some(if n < 2 { "acme".into() } else { "zed".into() }),
                    images: vec![format!("http://cdn/{n}.jpg")],
                    ..Listing::default()
                };
                let body = Exchange {
                    url: item.url.clone(),
                    method: "GET".into(),
                    status: Some(200),
                    body: Some(format!("<html>{n}</html>").repeat(50).into_bytes()),
                    started_at: Utc::now(),
                    ..Exchange::default()
                };
                store
                    .complete_listing(run.id, item, &[body], &listing, &[])
                    .unwrap();
            }
            let all = store.listings(None).unwrap();
            let urls: Vec<&str> = all.iter().map(|l| l.url.as_str()).collect();
            assert_eq!(urls, ["http://bazaar/1", "http://shop/a", "http://shop/b"]);
            assert_eq!(all[1].listing.price, Some(11.0));
            assert_eq!(all[1].listing.images, ["http://cdn/1.jpg"]);
            assert_eq!(all[1].stage, Stage::Item);
            assert_eq!(store.listings(Some("bazaar")).unwrap().len(), 1);

            let ids: Vec<i64> = all.iter().map(|l| l.id.0).rev().collect();
            let by_ids = store.listings_by_ids(&[ids[0], 9999, ids[2]]).unwrap();
            assert_eq!(by_ids.len(), 2);
            assert_eq!(by_ids[0].id.0, ids[0]);
            let by_url = store
                .listing_by_id_or_url("http://shop/a")
                .unwrap()
                .unwrap();
            let by_id = store
                .listing_by_id_or_url(&by_url.id.0.to_string())
                .unwrap()
                .unwrap();
            assert_eq!(by_id.url, "http://shop/a");
            assert!(store
                .listing_by_id_or_url("http://nowhere/")
                .unwrap()
                .is_none());
            assert_eq!(store.seller_listings("acme", 1).unwrap().len(), 1);
            assert_eq!(store.seller_listings("acme", 10).unwrap().len(), 2);

            let mut seen = Vec::new();
            store
                .for_each_listing_page(ListingSelection::All, |page| {
                    seen.extend(page.into_iter().map(|l| l.id.0));
                    Ok(())
                })
                .unwrap();
            assert_eq!(seen.len(), 3);
            assert!(seen.windows(2).all(|w| w[0] < w[1]));
            let mut none = 0;
            store
                .for_each_listing_page(ListingSelection::ChangedSince(Some("9999")), |page| {
                    none += page.len();
                    Ok(())
                })
                .unwrap();
            assert_eq!(none, 0);
            let mut cards = 0;
            store
                .for_each_listing_page(
                    ListingSelection::CardsOf {
                        run: run.id,
                        targets: &targets,
                    },
                    |page| {
                        cards += page.len();
                        Ok(())
                    },
                )
                .unwrap();
            assert_eq!(cards, 0, "item pages are not cards");

            // A page's bytes come back exactly, deflated or not.
            let sha = hex::encode(Sha256::digest("<html>0</html>".repeat(50)));
            let bytes = store.blob(&sha).unwrap().unwrap();
            assert_eq!(bytes, "<html>0</html>".repeat(50).into_bytes());
            assert!(store.blob("0000").unwrap().is_none());
            assert!(store.image_sha256("http://cdn/0.jpg").unwrap().is_none());
        });
    }
}
