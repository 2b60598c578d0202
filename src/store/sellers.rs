//! Sellers in the store: the contacts (and own-photo prints) each
//! listing shows, the contacts of sellers' profile pages, every seller
//! account, and the network the last judging
//! pass put it in. The grouping is done outside the store; here
//! are what it reads and what it writes.

use std::collections::HashMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::db::{args, Db};
use super::{insert_exchanges, now, set_state, Exchange, FrontierItem, ListingId, RunId, Store};
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
        self.write(|db| replace_contacts(db, listing, contacts))
    }

    /// What one listing shows.
    pub fn contacts_of(&self, listing: ListingId) -> Result<Vec<Contact>> {
        self.read(|db| {
            db.all(
                "SELECT kind, value FROM contacts WHERE listing_id = ?1 ORDER BY kind, value",
                args![listing.0],
                |r| {
                    Ok(Contact {
                        kind: r.word(0)?,
                        value: r.get(1)?,
                    })
                },
            )
        })
    }

    /// Every value a seller shows, with the seller and listing: the
    /// material of links — what its listings show, and what the profile
    /// page they name shows (with the first listing naming it as the
    /// place it is shown). Listings without a seller name belong to no
    /// account and are left out. `listings` says whether each listing
    /// showing a value is a row, or only a seller's first.
    pub fn shown_by_sellers(&self, listings: ShownOn) -> Result<Vec<Shown>> {
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
        self.scan(|db| {
            db.all(
                &format!(
                    "{own_listings}
                     UNION ALL
                     SELECT pc.kind, pc.value, l.target, l.seller, MIN(l.id)
                     FROM seller_page_contacts pc JOIN listings l ON l.seller_url = pc.url
                     WHERE l.seller IS NOT NULL AND l.seller != ''
                     GROUP BY pc.kind, pc.value, l.target, l.seller
                     ORDER BY 1, 2, 3, 4, 5"
                ),
                args![],
                |r| {
                    Ok(Shown {
                        kind: r.word(0)?,
                        value: r.get(1)?,
                        target: r.get(2)?,
                        seller: r.get(3)?,
                        listing: ListingId(r.get(4)?),
                    })
                },
            )
        })
    }

    /// What the profile page an account's listings name gives away, each
    /// with the first listing naming it.
    pub fn profile_contacts(
        &self,
        target: &str,
        seller: &str,
    ) -> Result<Vec<(Contact, ListingId)>> {
        self.read(|db| {
            db.all(
                "SELECT pc.kind, pc.value, MIN(l.id)
                 FROM seller_page_contacts pc JOIN listings l ON l.seller_url = pc.url
                 WHERE l.target = ?1 AND l.seller = ?2
                 GROUP BY pc.kind, pc.value ORDER BY pc.kind, pc.value",
                args![target, seller],
                |r| {
                    let contact = Contact {
                        kind: r.word(0)?,
                        value: r.get(1)?,
                    };
                    Ok((contact, ListingId(r.get(2)?)))
                },
            )
        })
    }

    /// The profile pages an account's listings name that the crawl read,
    /// with their last captures.
    pub fn profile_pages(&self, target: &str, seller: &str) -> Result<Vec<super::Capture>> {
        let ids: Vec<i64> = self.read(|db| {
            db.all(
                "SELECT DISTINCT p.fetch_id FROM seller_pages p
                 JOIN listings l ON l.seller_url = p.url
                 WHERE l.target = ?1 AND l.seller = ?2 AND p.fetch_id IS NOT NULL
                 ORDER BY p.fetch_id",
                args![target, seller],
                |r| r.get(0),
            )
        })?;
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
        self.finish_item(item.id, |db| {
            let fetch_ids = insert_exchanges(db, run, exchanges)?;
            db.exec(
                "INSERT INTO seller_pages (url, target, fetched_at, fetch_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (url) DO UPDATE SET target = excluded.target,
                    fetched_at = excluded.fetched_at, fetch_id = excluded.fetch_id",
                args![item.url, item.target, now(), fetch_ids.last()],
            )?;
            db.exec(
                "DELETE FROM seller_page_contacts WHERE url = ?1",
                args![item.url],
            )?;
            for contact in contacts {
                db.exec(
                    "INSERT INTO seller_page_contacts (url, kind, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                    args![item.url, contact.kind.as_str(), contact.value],
                )?;
            }
            set_state(db, item.id, "done")
        })
    }

    /// Writes the sellers and their networks as one grouping found them:
    /// `groups` maps each linked seller (target, name) to the group it is
    /// in (any label); every seller of a listing gets an id, and each
    /// group's network is the smallest id among its members, so a network
    /// keeps its number while its oldest account stays in it. One
    /// transaction.
    pub fn record_networks(&self, groups: &HashMap<(String, String), usize>) -> Result<()> {
        self.write(|db| {
            db.serialize_on(&["knockoff networks"])?;
            db.exec(
                "INSERT INTO sellers (target, name)
                 SELECT DISTINCT target, seller FROM listings WHERE seller IS NOT NULL AND seller != ''
                 ON CONFLICT DO NOTHING",
                args![],
            )?;
            let ids: HashMap<(String, String), i64> = db
                .all("SELECT id, target, name FROM sellers", args![], |r| {
                    Ok(((r.get(1)?, r.get(2)?), r.get(0)?))
                })?
                .into_iter()
                .collect();
            let mut smallest: HashMap<usize, i64> = HashMap::new();
            for (seller, group) in groups {
                if let Some(&id) = ids.get(seller) {
                    let entry = smallest.entry(*group).or_insert(id);
                    *entry = (*entry).min(id);
                }
            }
            db.exec(
                "UPDATE sellers SET network = NULL WHERE network IS NOT NULL",
                args![],
            )?;
            for (seller, group) in groups {
                if let (Some(&id), Some(&network)) = (ids.get(seller), smallest.get(group)) {
                    db.exec(
                        "UPDATE sellers SET network = ?1 WHERE id = ?2",
                        args![network, id],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// Every seller in a network: (network, target, name).
    pub fn network_members(&self) -> Result<Vec<(i64, String, String)>> {
        self.read(|db| {
            db.all(
                "SELECT network, target, name FROM sellers WHERE network IS NOT NULL
                 ORDER BY network, target, name",
                args![],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
    }

    /// The network a seller is in, if any.
    pub fn network_of(&self, target: &str, seller: &str) -> Result<Option<i64>> {
        let network = self.read(|db| {
            db.optional(
                "SELECT network FROM sellers WHERE target = ?1 AND name = ?2",
                args![target, seller],
                |r| r.get::<Option<i64>>(0),
            )
        })?;
        Ok(network.flatten())
    }

    /// A seller's matches, newest listing first.
    pub fn seller_matches(&self, target: &str, seller: &str) -> Result<Vec<SellerMatch>> {
        self.read(|db| {
            db.all(
                "SELECT m.id, l.id, l.url, m.product_id, m.status, m.score, m.decided_by, m.takedown
                 FROM matches m JOIN listings l ON l.id = m.listing_id
                 WHERE l.target = ?1 AND l.seller = ?2 ORDER BY l.id DESC, m.id",
                args![target, seller],
                |r| {
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
                },
            )
        })
    }

    /// Listings, matches and confirmed matches of every seller, by
    /// (target, name).
    pub fn seller_figures(&self) -> Result<HashMap<(String, String), SellerFigures>> {
        let rows = self.read(|db| {
            db.all(
                "SELECT l.target, l.seller, COUNT(DISTINCT l.id), COUNT(m.id),
                        COUNT(CASE WHEN m.status = 'confirmed' THEN 1 END)
                 FROM listings l LEFT JOIN matches m ON m.listing_id = l.id
                 WHERE l.seller IS NOT NULL AND l.seller != ''
                 GROUP BY l.target, l.seller",
                args![],
                |r| {
                    Ok(SellerFigures {
                        target: r.get(0)?,
                        seller: r.get(1)?,
                        listings: r.get::<i64>(2)? as u64,
                        matches: r.get::<i64>(3)? as u64,
                        confirmed: r.get::<i64>(4)? as u64,
                    })
                },
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|f| ((f.target.clone(), f.seller.clone()), f))
            .collect())
    }
}

/// Replaces what `listing` shows, in the caller's transaction.
pub(super) fn replace_contacts(db: &Db, listing: ListingId, contacts: &[Contact]) -> Result<()> {
    db.exec(
        "DELETE FROM contacts WHERE listing_id = ?1",
        args![listing.0],
    )?;
    for contact in contacts {
        db.exec(
            "INSERT INTO contacts (listing_id, kind, value) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            args![listing.0, contact.kind.as_str(), contact.value],
        )?;
    }
    Ok(())
}
