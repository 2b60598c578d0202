//! The team's picture: what `knockoff report` prints and `/dashboard`
//! draws, read in a handful of aggregate queries.
//!
//! Two views of a period, and they answer different questions:
//! - **per marketplace** (a cohort): the matches first queued in the
//!   period, by where each stands now (status, takedown). With no period
//!   these are exactly the queue's counts.
//! - **per week** (activity): each event in the week it happened —
//!   listings first seen, matches queued, decided, takedowns submitted,
//!   removed, rejected.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use rusqlite::params;
use serde::Serialize;

use super::Store;

/// Which part of the store a report covers. Days are UTC and inclusive.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub target: Option<String>,
    pub product: Option<String>,
}

/// One marketplace's figures for the matches first queued in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MarketplaceFigures {
    pub target: String,
    /// Listings first seen in the period.
    pub listings: u64,
    pub matches: u64,
    pub pending: u64,
    /// Of the pending: escalated to a senior reviewer.
    pub escalated: u64,
    pub confirmed: u64,
    /// Dismissed by a person or withdrawn by the matcher.
    pub dismissed: u64,
    /// Of the dismissed: withdrawn by the matcher (the listing no longer matches).
    pub withdrawn: u64,
    /// Takedowns sent (whatever became of them since).
    pub submitted: u64,
    pub removed: u64,
    pub rejected: u64,
    /// Submitted, and neither removed nor rejected yet.
    pub undecided: u64,
    /// removed ÷ (removed + rejected); `None` while none is decided.
    pub acceptance_rate: Option<f64>,
    pub median_days_to_removal: Option<f64>,
}

/// One week of one marketplace: each event in the week it happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WeekFigures {
    /// The Monday the week starts on.
    pub week: NaiveDate,
    pub target: String,
    pub listings: u64,
    pub queued: u64,
    pub confirmed: u64,
    pub dismissed: u64,
    pub submitted: u64,
    pub removed: u64,
    pub rejected: u64,
}

/// The pending matches now, by how long they have waited.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Backlog {
    pub pending: u64,
    pub escalated: u64,
    /// Waiting under a day, 1–7 days, 7–30 days, over 30 days.
    pub by_age: [u64; 4],
    pub oldest_days: Option<f64>,
}

/// One person's decisions in one week.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReviewerWeek {
    pub reviewer: String,
    pub week: NaiveDate,
    pub confirmed: u64,
    pub dismissed: u64,
    pub escalated: u64,
    pub undone: u64,
}

/// A seller account with the most matches in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TopSeller {
    pub target: String,
    pub seller: String,
    pub matches: u64,
    pub confirmed: u64,
    pub network: Option<i64>,
}

/// A seller network with the most matches in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TopNetwork {
    pub network: i64,
    pub accounts: u64,
    pub marketplaces: u64,
    pub matches: u64,
    pub confirmed: u64,
}

/// Where one product's matched listings are priced, as shares of its MSRP.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PriceSpread {
    pub product: String,
    /// Listings priced in each tenth of the MSRP, 0–10% … 140–150%, then
    /// 150% and over.
    pub buckets: Vec<u64>,
    /// Of those, confirmed.
    pub confirmed: Vec<u64>,
    pub median_ratio: Option<f64>,
}

/// Tenths of the MSRP a price spread counts separately, before "150% and over".
pub const PRICE_BUCKETS: usize = 16;

/// Everything the report prints and the dashboard draws.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub target: Option<String>,
    pub product: Option<String>,
    pub marketplaces: Vec<MarketplaceFigures>,
    /// Every marketplace added up (target `all`).
    pub totals: MarketplaceFigures,
    pub weeks: Vec<WeekFigures>,
    pub backlog: Backlog,
    pub reviewers: Vec<ReviewerWeek>,
    pub top_sellers: Vec<TopSeller>,
    pub top_networks: Vec<TopNetwork>,
    /// The filtered product's, else the product with the most matches.
    pub prices: Option<PriceSpread>,
}

/// How many sellers and networks the report names.
const TOP: i64 = 10;

/// The SQL bounds of the period: timestamps `>= ?` and `< ?` (stored
/// timestamps are RFC 3339 UTC, so they order as text).
fn bounds(query: &ReportQuery) -> (String, String) {
    let since = query
        .since
        .map_or_else(|| "0000".to_string(), |d| d.format("%Y-%m-%d").to_string());
    let until = query
        .until
        .and_then(|d| d.succ_opt())
        .map_or_else(|| "9999".to_string(), |d| d.format("%Y-%m-%d").to_string());
    (since, until)
}

/// The Monday a stored `YYYY-MM-DD` week key names.
fn week(text: &str) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The median, to a tenth.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let middle = match n {
        0 => return None,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    };
    Some((middle * 10.0).round() / 10.0)
}

/// The Monday of the week of a timestamp, in SQL.
const WEEK_OF: &str = "date(substr(%, 1, 10), 'weekday 0', '-6 days')";

fn week_of(column: &str) -> String {
    WEEK_OF.replace('%', column)
}

impl Store {
    /// The report for `query`.
    pub fn report(&self, query: &ReportQuery) -> Result<Report> {
        let (since, until) = bounds(query);
        let target = query.target.as_deref().filter(|t| !t.is_empty());
        let product = query.product.as_deref().filter(|p| !p.is_empty());
        let conn = self.reader();
        // Parameters of every query: ?1 since, ?2 until, ?3 target, ?4 product.
        let args = params![since, until, target, product];
        let mut marketplaces: BTreeMap<String, MarketplaceFigures> = BTreeMap::new();

        let mut listings = conn.prepare_cached(
            "SELECT target, COUNT(*) FROM listings
             WHERE first_seen >= ?1 AND first_seen < ?2 AND (?3 IS NULL OR target = ?3)
               AND (?4 IS NULL OR EXISTS
                    (SELECT 1 FROM matches m WHERE m.listing_id = listings.id AND m.product_id = ?4))
             GROUP BY target",
        )?;
        for row in
            listings.query_map(args, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        {
            let (target, n) = row?;
            entry(&mut marketplaces, &target).listings = n as u64;
        }

        let mut cohort = conn.prepare_cached(
            "SELECT l.target, m.status, m.escalated_at IS NOT NULL, m.decided_by = 'matcher',
                    m.takedown, m.submitted_at, m.takedown_at
             FROM matches m JOIN listings l ON l.id = m.listing_id
             WHERE m.first_queued >= ?1 AND m.first_queued < ?2
               AND (?3 IS NULL OR l.target = ?3) AND (?4 IS NULL OR m.product_id = ?4)",
        )?;
        let mut removal_days: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let rows = cohort.query_map(args, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Option<bool>>(3)?.unwrap_or(false),
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        for row in rows {
            let (target, status, escalated, withdrawn, takedown, submitted_at, takedown_at) = row?;
            let f = entry(&mut marketplaces, &target);
            f.matches += 1;
            match status.as_str() {
                "pending" => {
                    f.pending += 1;
                    f.escalated += escalated as u64;
                }
                "confirmed" => f.confirmed += 1,
                _ => {
                    f.dismissed += 1;
                    f.withdrawn += withdrawn as u64;
                }
            }
            let sent = matches!(
                takedown.as_deref(),
                Some("submitted" | "removed" | "rejected")
            );
            f.submitted += sent as u64;
            match takedown.as_deref() {
                Some("removed") => {
                    f.removed += 1;
                    let parse = |s: &Option<String>| {
                        s.as_deref()
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    };
                    if let (Some(from), Some(to)) = (parse(&submitted_at), parse(&takedown_at)) {
                        removal_days
                            .entry(target)
                            .or_default()
                            .push((to - from).num_seconds() as f64 / 86_400.0);
                    }
                }
                Some("rejected") => f.rejected += 1,
                Some("submitted") => f.undecided += 1,
                _ => {}
            }
        }
        let mut totals = MarketplaceFigures {
            target: "all".into(),
            ..Default::default()
        };
        for f in marketplaces.values() {
            totals.listings += f.listings;
            totals.matches += f.matches;
            totals.pending += f.pending;
            totals.escalated += f.escalated;
            totals.confirmed += f.confirmed;
            totals.dismissed += f.dismissed;
            totals.withdrawn += f.withdrawn;
            totals.submitted += f.submitted;
            totals.removed += f.removed;
            totals.rejected += f.rejected;
            totals.undecided += f.undecided;
        }
        let every_removal = removal_days.values().flatten().copied().collect();
        for f in marketplaces.values_mut().chain([&mut totals]) {
            let decided = f.removed + f.rejected;
            f.acceptance_rate = (decided > 0).then(|| f.removed as f64 / decided as f64);
        }
        for f in marketplaces.values_mut() {
            f.median_days_to_removal = removal_days.remove(&f.target).and_then(median);
        }
        totals.median_days_to_removal = median(every_removal);

        let weeks = self::weeks(&conn, args)?;
        let reviewers = self::reviewers(&conn, args)?;
        let backlog = self::backlog(&conn, target, product)?;
        let top_sellers = self::top_sellers(&conn, args)?;
        let top_networks = self::top_networks(&conn, args)?;
        let prices = self::prices(&conn, args, product)?;
        Ok(Report {
            since: query.since,
            until: query.until,
            target: target.map(str::to_string),
            product: product.map(str::to_string),
            marketplaces: marketplaces.into_values().collect(),
            totals,
            weeks,
            backlog,
            reviewers,
            top_sellers,
            top_networks,
            prices,
        })
    }
}

fn entry<'a>(
    map: &'a mut BTreeMap<String, MarketplaceFigures>,
    target: &str,
) -> &'a mut MarketplaceFigures {
    map.entry(target.to_string())
        .or_insert_with(|| MarketplaceFigures {
            target: target.to_string(),
            ..Default::default()
        })
}

type Args<'a> = &'a [&'a dyn rusqlite::ToSql];

/// Each event in the week it happened, per marketplace.
fn weeks(conn: &rusqlite::Connection, args: Args) -> Result<Vec<WeekFigures>> {
    // One arm per kind of event: (what, its timestamp, which rows).
    let arms = [
        ("listings", "l.first_seen", "1"),
        ("queued", "m.first_queued", "1"),
        ("confirmed", "m.decided_at", "m.status = 'confirmed'"),
        ("dismissed", "m.decided_at", "m.status = 'dismissed'"),
        ("submitted", "m.submitted_at", "m.submitted_at IS NOT NULL"),
        ("removed", "m.takedown_at", "m.takedown = 'removed'"),
        ("rejected", "m.takedown_at", "m.takedown = 'rejected'"),
    ];
    let sql = arms
        .iter()
        .map(|(kind, at, which)| {
            let from = if *kind == "listings" {
                "listings l WHERE (?4 IS NULL OR EXISTS
                    (SELECT 1 FROM matches pm WHERE pm.listing_id = l.id AND pm.product_id = ?4))"
                    .to_string()
            } else {
                format!(
                    "matches m JOIN listings l ON l.id = m.listing_id
                     WHERE {which} AND (?4 IS NULL OR m.product_id = ?4)"
                )
            };
            format!(
                "SELECT '{kind}', l.target, {week}, COUNT(*) FROM {from}
                   AND {at} >= ?1 AND {at} < ?2 AND (?3 IS NULL OR l.target = ?3)
                 GROUP BY 2, 3",
                week = week_of(at)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut weeks: BTreeMap<(NaiveDate, String), WeekFigures> = BTreeMap::new();
    let rows = stmt.query_map(args, |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            week(&r.get::<_, String>(2)?)?,
            r.get::<_, i64>(3)? as u64,
        ))
    })?;
    for row in rows {
        let (kind, target, monday, n) = row?;
        let w = weeks
            .entry((monday, target.clone()))
            .or_insert_with(|| WeekFigures {
                week: monday,
                target,
                ..Default::default()
            });
        match kind.as_str() {
            "listings" => w.listings = n,
            "queued" => w.queued = n,
            "confirmed" => w.confirmed = n,
            "dismissed" => w.dismissed = n,
            "submitted" => w.submitted = n,
            "removed" => w.removed = n,
            _ => w.rejected = n,
        }
    }
    Ok(weeks.into_values().collect())
}

/// Each person's decisions per week, from the audit log.
fn reviewers(conn: &rusqlite::Connection, args: Args) -> Result<Vec<ReviewerWeek>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT a.actor, {week}, a.action, COUNT(*)
         FROM audit_log a JOIN matches m ON m.id = a.match_id JOIN listings l ON l.id = m.listing_id
         WHERE a.action IN ('confirmed', 'dismissed', 'escalated', 'undone')
           AND a.actor != 'matcher' AND a.at >= ?1 AND a.at < ?2
           AND (?3 IS NULL OR l.target = ?3) AND (?4 IS NULL OR m.product_id = ?4)
         GROUP BY 1, 2, 3",
        week = week_of("a.at")
    ))?;
    let mut people: BTreeMap<(NaiveDate, String), ReviewerWeek> = BTreeMap::new();
    let rows = stmt.query_map(args, |r| {
        Ok((
            r.get::<_, String>(0)?,
            week(&r.get::<_, String>(1)?)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)? as u64,
        ))
    })?;
    for row in rows {
        let (reviewer, monday, action, n) = row?;
        let w = people
            .entry((monday, reviewer.clone()))
            .or_insert_with(|| ReviewerWeek {
                reviewer,
                week: monday,
                ..Default::default()
            });
        match action.as_str() {
            "confirmed" => w.confirmed = n,
            "dismissed" => w.dismissed = n,
            "escalated" => w.escalated = n,
            _ => w.undone = n,
        }
    }
    Ok(people.into_values().collect())
}

/// The pending matches now (whatever the period), by age.
fn backlog(
    conn: &rusqlite::Connection,
    target: Option<&str>,
    product: Option<&str>,
) -> Result<Backlog> {
    let now = Utc::now().to_rfc3339();
    conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(m.escalated_at IS NOT NULL), 0),
            COALESCE(SUM(age < 1), 0), COALESCE(SUM(age >= 1 AND age < 7), 0),
            COALESCE(SUM(age >= 7 AND age < 30), 0), COALESCE(SUM(age >= 30), 0), MAX(age)
         FROM (SELECT m.escalated_at, julianday(?1) - julianday(m.first_queued) AS age
               FROM matches m JOIN listings l ON l.id = m.listing_id
               WHERE m.status = 'pending' AND (?2 IS NULL OR l.target = ?2)
                 AND (?3 IS NULL OR m.product_id = ?3)) m",
        params![now, target, product],
        |r| {
            let n = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
            Ok(Backlog {
                pending: n(0)?,
                escalated: n(1)?,
                by_age: [n(2)?, n(3)?, n(4)?, n(5)?],
                oldest_days: r
                    .get::<_, Option<f64>>(6)?
                    .map(|d| (d.max(0.0) * 10.0).round() / 10.0),
            })
        },
    )
    .context("reading the backlog")
}

fn top_sellers(conn: &rusqlite::Connection, args: Args) -> Result<Vec<TopSeller>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.target, l.seller, COUNT(*), SUM(m.status = 'confirmed'),
            (SELECT s.network FROM sellers s WHERE s.target = l.target AND s.name = l.seller)
         FROM matches m JOIN listings l ON l.id = m.listing_id
         WHERE l.seller IS NOT NULL AND l.seller != ''
           AND m.first_queued >= ?1 AND m.first_queued < ?2
           AND (?3 IS NULL OR l.target = ?3) AND (?4 IS NULL OR m.product_id = ?4)
         GROUP BY l.target, l.seller ORDER BY 3 DESC, 4 DESC, 1, 2 LIMIT ?5",
    )?;
    let rows = stmt.query_map(params![args[0], args[1], args[2], args[3], TOP], |r| {
        Ok(TopSeller {
            target: r.get(0)?,
            seller: r.get(1)?,
            matches: r.get::<_, i64>(2)? as u64,
            confirmed: r.get::<_, i64>(3)? as u64,
            network: r.get(4)?,
        })
    })?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading the top sellers")
}

fn top_networks(conn: &rusqlite::Connection, args: Args) -> Result<Vec<TopNetwork>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.network, COUNT(DISTINCT s.target || char(0) || s.name), COUNT(DISTINCT s.target),
            COUNT(*), SUM(m.status = 'confirmed')
         FROM sellers s JOIN listings l ON l.target = s.target AND l.seller = s.name
         JOIN matches m ON m.listing_id = l.id
         WHERE s.network IS NOT NULL AND m.first_queued >= ?1 AND m.first_queued < ?2
           AND (?3 IS NULL OR l.target = ?3) AND (?4 IS NULL OR m.product_id = ?4)
         GROUP BY s.network ORDER BY 4 DESC, 5 DESC, 1 LIMIT ?5",
    )?;
    let rows = stmt.query_map(params![args[0], args[1], args[2], args[3], TOP], |r| {
        Ok(TopNetwork {
            network: r.get(0)?,
            accounts: r.get::<_, i64>(1)? as u64,
            marketplaces: r.get::<_, i64>(2)? as u64,
            matches: r.get::<_, i64>(3)? as u64,
            confirmed: r.get::<_, i64>(4)? as u64,
        })
    })?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading the top networks")
}

/// The price spread of `product`'s matched listings, else of the product
/// with the most matches in the period.
fn prices(
    conn: &rusqlite::Connection,
    args: Args,
    product: Option<&str>,
) -> Result<Option<PriceSpread>> {
    let product: Option<String> = match product {
        Some(p) => Some(p.to_string()),
        None => conn
            .prepare_cached(
                "SELECT m.product_id FROM matches m JOIN listings l ON l.id = m.listing_id
                 WHERE m.first_queued >= ?1 AND m.first_queued < ?2 AND (?3 IS NULL OR l.target = ?3)
                   AND (?4 IS NULL OR m.product_id = ?4)
                 GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1",
            )?
            .query_map(args, |r| r.get(0))?
            .next()
            .transpose()?,
    };
    let Some(product) = product else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(m.signals, '$.price.ratio'), m.status = 'confirmed'
         FROM matches m JOIN listings l ON l.id = m.listing_id
         WHERE m.product_id = ?4 AND m.first_queued >= ?1 AND m.first_queued < ?2
           AND (?3 IS NULL OR l.target = ?3)
           AND json_extract(m.signals, '$.price.ratio') IS NOT NULL",
    )?;
    let mut spread = PriceSpread {
        product: product.clone(),
        buckets: vec![0; PRICE_BUCKETS],
        confirmed: vec![0; PRICE_BUCKETS],
        median_ratio: None,
    };
    let mut ratios = Vec::new();
    let rows = stmt.query_map(params![args[0], args[1], args[2], product], |r| {
        Ok((r.get::<_, f64>(0)?, r.get::<_, bool>(1)?))
    })?;
    for row in rows {
        let (ratio, confirmed) = row?;
        if !ratio.is_finite() || ratio < 0.0 {
            continue;
        }
        let bucket = ((ratio * 10.0) as usize).min(PRICE_BUCKETS - 1);
        spread.buckets[bucket] += 1;
        spread.confirmed[bucket] += confirmed as u64;
        ratios.push(ratio);
    }
    spread.median_ratio = median(ratios.iter().map(|r| r * 100.0).collect()).map(|p| p / 100.0);
    Ok(Some(spread))
}
