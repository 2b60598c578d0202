//! Takedown tracking: a confirmed match's notice drafted, submitted, and
//! the listing removed (or the notice rejected); per-marketplace numbers.

use anyhow::{Context, Result};

use super::db::args;
use super::matches::{audit, MatchId};
use super::{now, Store, StoredListing};
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
        self.write(|db| {
            let status: Option<MatchStatus> = db.optional(
                "SELECT status FROM matches WHERE id = ?1",
                args![id.0],
                |r| r.word(0),
            )?;
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
            db.exec(
                "UPDATE matches SET takedown = ?2, takedown_at = ?3,
                    submitted_at = CASE WHEN ?2 = 'submitted' THEN ?3 ELSE submitted_at END
                 WHERE id = ?1",
                args![id.0, state.as_str(), now()],
            )?;
            audit(
                db,
                actor,
                &format!("takedown {}", state.as_str()),
                Some(id.0),
                detail,
            )
        })
    }

    /// The takedown state of match `id`.
    pub fn takedown(&self, id: MatchId) -> Result<Option<TakedownState>> {
        let state: Option<Option<TakedownState>> = self.read(|db| {
            db.optional(
                "SELECT takedown FROM matches WHERE id = ?1",
                args![id.0],
                |r| r.optional_word(0),
            )
        })?;
        Ok(state.flatten())
    }

    /// Submitted takedowns whose listing should be rechecked: (match, URL, target).
    pub(crate) fn submitted_takedowns(&self) -> Result<Vec<(MatchId, String, String)>> {
        self.read(|db| {
            db.all(
                "SELECT m.id, l.url, l.target FROM matches m JOIN listings l ON l.id = m.listing_id
                 WHERE m.takedown = 'submitted' ORDER BY m.id",
                args![],
                |r| Ok((MatchId(r.get(0)?), r.get(1)?, r.get(2)?)),
            )
        })
        .context("reading submitted takedowns")
    }

    /// Listings removed after a takedown: each with the product its match
    /// was for and when the removal was marked, earliest first.
    pub(crate) fn removed_listings(&self) -> Result<Vec<(StoredListing, String, String)>> {
        let ids: Vec<(i64, String, String)> = self
            .read(|db| {
                db.all(
                    "SELECT listing_id, product_id, takedown_at FROM matches
                     WHERE takedown = 'removed' AND takedown_at IS NOT NULL
                     ORDER BY takedown_at, id",
                    args![],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
            })
            .context("reading the listings removed after a takedown")?;
        let mut removed = Vec::with_capacity(ids.len());
        for (id, product, at) in ids {
            if let Some(listing) = self.listing_by_id_or_url(&id.to_string())? {
                removed.push((listing, product, at));
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Listing;
    use crate::store::db::tests::on_both_stores;
    use crate::store::{ItemKind, NewItem};

    #[test]
    fn takedowns_move_alike_on_both_engines() {
        on_both_stores(|store| {
            let run = store.start_run(&["shop".into()], None, &[]).unwrap();
            let page = NewItem {
                target: "shop".into(),
                kind: ItemKind::Listing,
                url: "http://shop/1".into(),
                query: None,
                page: None,
            };
            store.add_items(run.id, &[page]).unwrap();
            let item = store.pending_items(run.id).unwrap().pop().unwrap();
            let listing = Listing {
                title: Some("fake".into()),
                ..Listing::default()
            };
            store
                .complete_listing(run.id, &item, &[], &listing, &[])
                .unwrap();
            let listing_id = store.listings(None).unwrap()[0].id.0;
            let ids: Vec<MatchId> = store
                .write(|db| {
                    ["confirmed", "pending"]
                        .iter()
                        .enumerate()
                        .map(|(n, status)| {
                            db.one(
                                "INSERT INTO matches (listing_id, product_id, status, score, signals,
                                    material_key, first_queued, updated_at)
                                 VALUES (?1, ?2, ?3, 0.9, '{}', 'k', 't', 't') RETURNING id",
                                args![listing_id, format!("P{n}"), status],
                                |r| Ok(MatchId(r.get(0)?)),
                            )
                        })
                        .collect()
                })
                .unwrap();
            assert_eq!(store.takedown(ids[0]).unwrap(), None);
            store
                .set_takedown(ids[0], TakedownState::Submitted, "rita", "sent")
                .unwrap();
            assert_eq!(
                store.takedown(ids[0]).unwrap(),
                Some(TakedownState::Submitted)
            );
            let submitted = store.submitted_takedowns().unwrap();
            assert_eq!(
                submitted,
                [(ids[0], "http://shop/1".to_string(), "shop".to_string())]
            );
            let pending = store
                .set_takedown(ids[1], TakedownState::Submitted, "rita", "")
                .unwrap_err();
            assert!(
                pending.to_string().contains("only confirmed matches"),
                "{pending}"
            );
            let missing = store
                .set_takedown(MatchId(9999), TakedownState::Removed, "rita", "")
                .unwrap_err();
            assert!(missing.to_string().contains("9999"), "{missing}");
            store
                .set_takedown(ids[0], TakedownState::Removed, "recheck", "gone")
                .unwrap();
            let removed = store.removed_listings().unwrap();
            assert_eq!(removed.len(), 1);
            assert_eq!(
                (removed[0].0.url.as_str(), removed[0].1.as_str()),
                ("http://shop/1", "P0")
            );
            let audited: i64 = store
                .read(|db| {
                    db.one(
                        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'takedown %'",
                        args![],
                        |r| r.get(0),
                    )
                })
                .unwrap();
            assert_eq!(audited, 2);
        });
    }
}
