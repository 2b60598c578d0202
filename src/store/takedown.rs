//! Takedown tracking: a confirmed match's notice drafted, submitted, and
//! the listing removed (or the notice rejected); per-marketplace numbers.

use anyhow::{Context, Result};
use rusqlite::{params, OptionalExtension};

use super::db::Db;
use super::matches::{audit, MatchId};
use super::{exec, now, one, optional_word, word, Store, StoredListing};
use crate::refusal::{Refusal, Refused};
use crate::status::MatchStatus;
use crate::words::closed_set;

closed_set! {
    /// Where a confirmed match's takedown stands.
    pub enum TakedownState("takedown state") {
        Drafted = "drafted",
        Submitted = "submitted",
        Removed = "removed",
        Rejected = "rejected",
    }
}

impl Store {
    /// Moves confirmed match `id` to `state`, audited as `actor`. Only
    /// confirmed matches have takedowns; errors say why not.
    pub fn set_takedown(
        &self,
        id: MatchId,
        state: TakedownState,
        actor: &str,
        detail: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let status = one(
            &tx,
            "SELECT status FROM matches WHERE id = ?1",
            [id.0],
            |r| word(r, 0),
        )
        .optional()?;
        match status {
            None => return Err(super::matches::NoSuchMatch(id.0).refused().into()),
            Some(MatchStatus::Confirmed) => {}
            Some(other) => {
                return Err(Refused::conflict(format!(
                    "match {} is {other}; only confirmed matches get takedowns",
                    id.0
                ))
                .into())
            }
        }
        let at = now();
        exec(
            &tx,
            "UPDATE matches SET takedown = ?2, takedown_at = ?3,
                submitted_at = CASE WHEN ?2 = 'submitted' THEN ?3 ELSE submitted_at END
             WHERE id = ?1",
            params![id.0, state.as_str(), at],
        )?;
        audit(
            &Db::Sqlite(&tx),
            actor,
            &format!("takedown {}", state.as_str()),
            Some(id.0),
            detail,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The takedown state of match `id`.
    pub fn takedown(&self, id: MatchId) -> Result<Option<TakedownState>> {
        let state: Option<Option<TakedownState>> = one(
            &self.reader(),
            "SELECT takedown FROM matches WHERE id = ?1",
            [id.0],
            |r| optional_word(r, 0),
        )
        .optional()?;
        Ok(state.flatten())
    }

    /// Submitted takedowns whose listing should be rechecked: (match, URL, target).
    pub(crate) fn submitted_takedowns(&self) -> Result<Vec<(MatchId, String, String)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT m.id, l.url, l.target FROM matches m JOIN listings l ON l.id = m.listing_id
             WHERE m.takedown = 'submitted' ORDER BY m.id",
        )?;
        let rows = stmt.query_map([], |r| Ok((MatchId(r.get(0)?), r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading submitted takedowns")
    }

    /// Listings removed after a takedown: each with the product its match
    /// was for and when the removal was marked, earliest first.
    pub(crate) fn removed_listings(&self) -> Result<Vec<(StoredListing, String, String)>> {
        let ids: Vec<(i64, String, String)> = {
            let conn = self.reader();
            let mut stmt = conn.prepare(
                "SELECT listing_id, product_id, takedown_at FROM matches
                 WHERE takedown = 'removed' AND takedown_at IS NOT NULL
                 ORDER BY takedown_at, id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()
                .context("reading the listings removed after a takedown")?
        };
        let mut removed = Vec::with_capacity(ids.len());
        for (id, product, at) in ids {
            if let Some(listing) = self.listing_by_id_or_url(&id.to_string())? {
                removed.push((listing, product, at));
            }
        }
        Ok(removed)
    }
}
