//! Stored listings as the rest of knockoff reads them: one by id or URL,
//! a target's or a seller's, a page at a time for passes over many, and
//! the exact bytes of a capture.

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

pub(super) const LISTING_COLUMNS: &str =
    "id, url, target, title, price, currency, seller, description, images,
    first_seen, last_seen, last_changed, stage, seller_url";

/// A `listings` row read with [`LISTING_COLUMNS`].
pub(super) fn stored_listing(row: &rusqlite::Row) -> rusqlite::Result<StoredListing> {
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
        stage: word(row, 12)?,
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
            ListingSelection::All => "1 = 1",
            ListingSelection::ChangedSince(_) => "?2 IS NULL OR last_changed > ?2",
            ListingSelection::CardsOf { .. } => {
                "stage = 'card' AND last_run = ?2 AND target IN (SELECT value FROM json_each(?3))"
            }
        };
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM listings WHERE id > ?1 AND ({filter}) ORDER BY id LIMIT {PAGE}"
        );
        let mut after = i64::MIN;
        loop {
            let page: Vec<StoredListing> = {
                let conn = self.conn();
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = match &selection {
                    ListingSelection::All => stmt.query_map(params![after], stored_listing)?,
                    ListingSelection::ChangedSince(since) => {
                        stmt.query_map(params![after, since], stored_listing)?
                    }
                    ListingSelection::CardsOf { run, targets } => stmt.query_map(
                        params![after, run.0, serde_json::to_string(targets)?],
                        stored_listing,
                    )?,
                };
                rows.collect::<rusqlite::Result<_>>()
                    .context("reading a page of listings")?
            };
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
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {LISTING_COLUMNS} FROM listings WHERE ?1 IS NULL OR target = ?1
             ORDER BY target, url"
        ))?;
        let rows = stmt.query_map([target], stored_listing)?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading listings")
    }

    /// The listings with these ids, in that order (ids not in the store
    /// left out).
    pub(crate) fn listings_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredListing>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {LISTING_COLUMNS} FROM listings WHERE id = ?1"
        ))?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(listing) = stmt.query_row([id], stored_listing).optional()? {
                found.push(listing);
            }
        }
        Ok(found)
    }

    /// The listing with id `id_or_url` (digits) or that canonical URL.
    pub(crate) fn listing_by_id_or_url(&self, id_or_url: &str) -> Result<Option<StoredListing>> {
        let conn = self.reader();
        let (column, value) = match id_or_url.parse::<i64>() {
            Ok(id) => ("id", rusqlite::types::Value::Integer(id)),
            Err(_) => ("url", rusqlite::types::Value::Text(id_or_url.to_string())),
        };
        conn.query_row(
            &format!("SELECT {LISTING_COLUMNS} FROM listings WHERE {column} = ?1"),
            [value],
            stored_listing,
        )
        .optional()
        .with_context(|| format!("looking up listing {id_or_url}"))
    }

    /// A seller's listings, newest first, at most `limit`.
    pub(crate) fn seller_listings(&self, seller: &str, limit: usize) -> Result<Vec<StoredListing>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {LISTING_COLUMNS} FROM listings WHERE seller = ?1
             ORDER BY first_seen DESC, id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![seller, limit as i64], stored_listing)?;
        rows.collect::<rusqlite::Result<_>>()
            .with_context(|| format!("reading the listings of seller {seller}"))
    }

    /// How many of a seller's matches were confirmed: the account's on
    /// `target`, or the name's on every marketplace.
    pub fn seller_confirmed(&self, seller: &str, target: Option<&str>) -> Result<u64> {
        let n: i64 = one(
            &self.reader(),
            "SELECT COUNT(*) FROM listings l CROSS JOIN matches m ON m.listing_id = l.id
             WHERE l.seller = ?1 AND (?2 IS NULL OR l.target = ?2) AND m.status = 'confirmed'",
            params![seller, target],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// The exact bytes stored under `sha256`.
    pub fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        let row: Option<(String, Vec<u8>)> = one(
            &conn,
            "SELECT compression, data FROM blobs WHERE sha256 = ?1",
            [sha256],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
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
        let conn = self.conn();
        Ok(one(
            &conn,
            "SELECT sha256 FROM images WHERE url = ?1",
            [url],
            |row| row.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
    }
}
