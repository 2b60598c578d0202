//! Sellers in SQLite: the contacts (and own-photo prints) each
//! listing shows, the contacts of sellers' profile pages, every seller
//! account, and the network the last judging
//! pass put it in. The grouping is done outside the store; here
//! are what it reads and what it writes.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::db::Db;
use super::{
    exec, insert_exchanges, now, one, set_state, word, Exchange, FrontierItem, ListingId, RunId,
    Store,
};
use crate::matching::contacts::{Contact, ContactKind};

/// One seller showing one value on one listing: what links are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub kind: ContactKind,
    pub value: String,
    pub target: String,
    pub seller: String,
    pub listing: ListingId,
}

/// Which listings [`Store::shown_by_sellers`] reads a value on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownOn {
    /// Every listing showing it: the links as reported.
    Every,
    /// A seller's first listing showing it: enough to group sellers.
    First,
}

/// A seller account and its figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerFigures {
    pub target: String,
    pub seller: String,
    pub listings: u64,
    pub matches: u64,
    pub confirmed: u64,
}

/// One of a seller's matches, with its decision and takedown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SellerMatch {
    pub id: i64,
    pub listing_id: i64,
    pub listing_url: String,
    pub product_id: String,
    pub status: String,
    pub score: f64,
    pub decided_by: Option<String>,
    /// Drafted, submitted, removed or rejected.
    pub takedown: Option<String>,
}

impl Store {
    /// Replaces what `listing` shows (its contacts and own-photo prints).
    pub fn record_contacts(&self, listing: ListingId, contacts: &[Contact]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        exec(
            &tx,
            "DELETE FROM contacts WHERE listing_id = ?1",
            [listing.0],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO contacts (listing_id, kind, value) VALUES (?1, ?2, ?3)",
            )?;
            for contact in contacts {
                insert.execute(params![listing.0, contact.kind.as_str(), contact.value])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// What one listing shows.
    pub fn contacts_of(&self, listing: ListingId) -> Result<Vec<Contact>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT kind, value FROM contacts WHERE listing_id = ?1 ORDER BY kind, value",
        )?;
        let rows = stmt.query_map([listing.0], |r| {
            Ok((word::<ContactKind>(r, 0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, value) = row?;
            out.push(Contact { kind, value });
        }
        Ok(out)
    }

    /// Every value a seller shows, with the seller and listing: the
    /// material of links — what its listings show, and what the profile
    /// page they name shows (with the first listing naming it as the
    /// place it is shown). Listings without a seller name belong to no
    /// account and are left out. `listings` says whether each listing
    /// showing a value is a row, or only a seller's first.
    pub fn shown_by_sellers(&self, listings: ShownOn) -> Result<Vec<Shown>> {
        // A read of the whole store: through the write connection, whose
        // bounded page cache it passes through, not a reader's memory map,
        // every page of which would stay in the process's resident memory.
        let conn = self.conn();
        // Grouping needs one row per seller and value; the rows of every
        // listing grow with the store, relistings and all.
        let own_listings = match listings {
            ShownOn::Every => {
                "SELECT c.kind, c.value, l.target, l.seller, l.id
                 FROM contacts c JOIN listings l ON l.id = c.listing_id
                 WHERE l.seller IS NOT NULL AND l.seller != ''"
            }
            ShownOn::First => {
                "SELECT c.kind, c.value, l.target, l.seller, MIN(l.id)
                 FROM contacts c JOIN listings l ON l.id = c.listing_id
                 WHERE l.seller IS NOT NULL AND l.seller != ''
                 GROUP BY c.kind, c.value, l.target, l.seller"
            }
        };
        let mut stmt = conn.prepare_cached(&format!(
            "{own_listings}
             UNION ALL
             SELECT pc.kind, pc.value, l.target, l.seller, MIN(l.id)
             FROM seller_page_contacts pc JOIN listings l ON l.seller_url = pc.url
             WHERE l.seller IS NOT NULL AND l.seller != ''
             GROUP BY pc.kind, pc.value, l.target, l.seller
             ORDER BY 1, 2, 3, 4, 5"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                word::<ContactKind>(r, 0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, value, target, seller, listing) = row?;
            out.push(Shown {
                kind,
                value,
                target,
                seller,
                listing: ListingId(listing),
            });
        }
        Ok(out)
    }

    /// What the profile page an account's listings name gives away, each
    /// with the first listing naming it.
    pub fn profile_contacts(
        &self,
        target: &str,
        seller: &str,
    ) -> Result<Vec<(Contact, ListingId)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT pc.kind, pc.value, MIN(l.id)
             FROM seller_page_contacts pc JOIN listings l ON l.seller_url = pc.url
             WHERE l.target = ?1 AND l.seller = ?2
             GROUP BY pc.kind, pc.value ORDER BY pc.kind, pc.value",
        )?;
        let rows = stmt.query_map(params![target, seller], |r| {
            Ok((
                word::<ContactKind>(r, 0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, value, listing) = row?;
            out.push((Contact { kind, value }, ListingId(listing)));
        }
        Ok(out)
    }

    /// The profile pages an account's listings name that the crawl read,
    /// with their last captures.
    pub fn profile_pages(&self, target: &str, seller: &str) -> Result<Vec<super::Capture>> {
        let ids: Vec<i64> = {
            let conn = self.reader();
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT p.fetch_id FROM seller_pages p
                 JOIN listings l ON l.seller_url = p.url
                 WHERE l.target = ?1 AND l.seller = ?2 AND p.fetch_id IS NOT NULL
                 ORDER BY p.fetch_id",
            )?;
            let rows = stmt.query_map(params![target, seller], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut pages = Vec::new();
        for id in ids {
            pages.extend(self.capture(id)?);
        }
        Ok(pages)
    }

    /// Finishes a seller's profile page: records its exchanges and
    /// replaces the contacts it gives away, in one transaction.
    pub fn complete_seller_page(
        &self,
        run: RunId,
        item: &FrontierItem,
        exchanges: &[Exchange],
        contacts: &[Contact],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let fetch_ids = insert_exchanges(&Db::Sqlite(&tx), run, exchanges)?;
        exec(
            &tx,
            "INSERT INTO seller_pages (url, target, fetched_at, fetch_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (url) DO UPDATE SET target = excluded.target,
                fetched_at = excluded.fetched_at, fetch_id = excluded.fetch_id",
            params![item.url, item.target, now(), fetch_ids.last()],
        )?;
        exec(
            &tx,
            "DELETE FROM seller_page_contacts WHERE url = ?1",
            [&item.url],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO seller_page_contacts (url, kind, value) VALUES (?1, ?2, ?3)",
            )?;
            for contact in contacts {
                insert.execute(params![item.url, contact.kind.as_str(), contact.value])?;
            }
        }
        set_state(&Db::Sqlite(&tx), item.id, "done")?;
        tx.commit()?;
        Ok(())
    }

    /// Writes the sellers and their networks as one grouping found them:
    /// `groups` maps each linked seller (target, name) to the group it is
    /// in (any label); every seller of a listing gets an id, and each
    /// group's network is the smallest id among its members, so a network
    /// keeps its number while its oldest account stays in it. One
    /// transaction.
    pub fn record_networks(&self, groups: &HashMap<(String, String), usize>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        exec(&tx,
            "INSERT OR IGNORE INTO sellers (target, name)
             SELECT DISTINCT target, seller FROM listings WHERE seller IS NOT NULL AND seller != ''",
            [],
        )?;
        let ids: HashMap<(String, String), i64> = {
            let mut stmt = tx.prepare("SELECT id, target, name FROM sellers")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    (r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                    r.get::<_, i64>(0)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut smallest: HashMap<usize, i64> = HashMap::new();
        for (seller, group) in groups {
            if let Some(&id) = ids.get(seller) {
                let entry = smallest.entry(*group).or_insert(id);
                *entry = (*entry).min(id);
            }
        }
        exec(
            &tx,
            "UPDATE sellers SET network = NULL WHERE network IS NOT NULL",
            [],
        )?;
        {
            let mut update = tx.prepare_cached("UPDATE sellers SET network = ?1 WHERE id = ?2")?;
            for (seller, group) in groups {
                if let (Some(&id), Some(&network)) = (ids.get(seller), smallest.get(group)) {
                    update.execute(params![network, id])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every seller in a network: (network, target, name).
    pub fn network_members(&self) -> Result<Vec<(i64, String, String)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT network, target, name FROM sellers WHERE network IS NOT NULL
             ORDER BY network, target, name",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The network a seller is in, if any.
    pub fn network_of(&self, target: &str, seller: &str) -> Result<Option<i64>> {
        let conn = self.reader();
        let network = one(
            &conn,
            "SELECT network FROM sellers WHERE target = ?1 AND name = ?2",
            params![target, seller],
            |r| r.get::<_, Option<i64>>(0),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
        Ok(network)
    }

    /// A seller's matches, newest listing first.
    pub fn seller_matches(&self, target: &str, seller: &str) -> Result<Vec<SellerMatch>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT m.id, l.id, l.url, m.product_id, m.status, m.score, m.decided_by, m.takedown
             FROM matches m JOIN listings l ON l.id = m.listing_id
             WHERE l.target = ?1 AND l.seller = ?2 ORDER BY l.id DESC, m.id",
        )?;
        let rows = stmt.query_map(params![target, seller], |r| {
            Ok(SellerMatch {
                id: r.get(0)?,
                listing_id: r.get(1)?,
                listing_url: r.get(2)?,
                product_id: r.get(3)?,
                status: r.get(4)?,
                score: r.get(5)?,
                decided_by: r.get(6)?,
                takedown: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Listings, matches and confirmed matches of every seller, by
    /// (target, name).
    pub fn seller_figures(&self) -> Result<HashMap<(String, String), SellerFigures>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT l.target, l.seller, COUNT(DISTINCT l.id), COUNT(m.id),
                    COUNT(CASE WHEN m.status = 'confirmed' THEN 1 END)
             FROM listings l LEFT JOIN matches m ON m.listing_id = l.id
             WHERE l.seller IS NOT NULL AND l.seller != ''
             GROUP BY l.target, l.seller",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SellerFigures {
                target: r.get(0)?,
                seller: r.get(1)?,
                listings: r.get::<_, i64>(2)? as u64,
                matches: r.get::<_, i64>(3)? as u64,
                confirmed: r.get::<_, i64>(4)? as u64,
            })
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let figures = row?;
            out.insert((figures.target.clone(), figures.seller.clone()), figures);
        }
        Ok(out)
    }
}
