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

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::db::{args, Bind, Db};
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
const TOP: usize = 10;

/// The period's bounds as stored timestamps compare: `>= since` and
/// `< until` (RFC 3339 UTC timestamps order as text).
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

/// Which week a stored timestamp falls in (its Monday), and whether it
/// falls in the period. Days are parsed once each: a store holds many
/// events a day.
struct Weeks {
    since: String,
    until: String,
    mondays: HashMap<String, NaiveDate>,
}

impl Weeks {
    fn new(query: &ReportQuery) -> Weeks {
        let (since, until) = bounds(query);
        Weeks {
            since,
            until,
            mondays: HashMap::new(),
        }
    }

    fn in_period(&self, at: &str) -> bool {
        at >= self.since.as_str() && at < self.until.as_str()
    }

    /// The Monday of `at`'s week when `at` is in the period.
    fn of(&mut self, at: Option<&str>) -> Option<NaiveDate> {
        let at = at.filter(|at| self.in_period(at))?;
        let day = at.get(..10)?;
        if let Some(monday) = self.mondays.get(day) {
            return Some(*monday);
        }
        let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
        let monday = date - chrono::Duration::days(date.weekday().num_days_from_monday() as i64);
        self.mondays.insert(day.to_string(), monday);
        Some(monday)
    }
}

/// One match as the report reads it.
struct MatchRow {
    target: String,
    seller: Option<String>,
    product: String,
    status: String,
    escalated: bool,
    withdrawn: bool,
    takedown: Option<String>,
    first_queued: String,
    decided_at: Option<String>,
    submitted_at: Option<String>,
    takedown_at: Option<String>,
}

impl Store {
    /// The report for `query`: the listings and the audit log counted in
    /// SQL, the matches read once and counted here (one pass serves the
    /// cohort, the weekly series and the top sellers).
    pub fn report(&self, query: &ReportQuery) -> Result<Report> {
        let target = query.target.as_deref().filter(|t| !t.is_empty());
        let product = query.product.as_deref().filter(|p| !p.is_empty());
        self.read(|db| report(db, query, target, product))
    }
}

/// [`Store::report`] on one read.
fn report(
    db: &Db,
    query: &ReportQuery,
    target: Option<&str>,
    product: Option<&str>,
) -> Result<Report> {
    let mut weeks = Weeks::new(query);
    let mut marketplaces: BTreeMap<String, MarketplaceFigures> = BTreeMap::new();
    let mut series: BTreeMap<(NaiveDate, String), WeekFigures> = BTreeMap::new();

    // Listings per marketplace per day (the index covers it), in weeks here.
    db.each(
            "SELECT target, substr(first_seen, 1, 10), COUNT(*) FROM listings
             WHERE (CAST(?1 AS TEXT) IS NULL OR target = ?1)
               AND (CAST(?2 AS TEXT) IS NULL OR EXISTS
                    (SELECT 1 FROM matches m WHERE m.listing_id = listings.id AND m.product_id = ?2))
             GROUP BY 1, 2",
            args![target, product],
            |r| {
                let (target, day, n): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                if let Some(monday) = weeks.of(Some(&day)) {
                    entry(&mut marketplaces, &target).listings += n as u64;
                    week_entry(&mut series, monday, &target).listings += n as u64;
                }
                Ok(())
            },
        )?;

    let mut removal_days: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut sellers: HashMap<(String, String), (u64, u64)> = HashMap::new();
    let mut products: HashMap<String, u64> = HashMap::new();
    db.each(
        "SELECT l.target, l.seller, m.product_id, m.status, m.escalated_at IS NOT NULL,
                    COALESCE(m.decided_by, '') = 'matcher', m.takedown, m.first_queued,
                    m.decided_at, m.submitted_at, m.takedown_at
             FROM matches m JOIN listings l ON l.id = m.listing_id
             WHERE (CAST(?1 AS TEXT) IS NULL OR l.target = ?1)
               AND (CAST(?2 AS TEXT) IS NULL OR m.product_id = ?2)",
        args![target, product],
        |r| {
            let m = MatchRow {
                target: r.get(0)?,
                seller: r.get(1)?,
                product: r.get(2)?,
                status: r.get(3)?,
                escalated: r.get(4)?,
                withdrawn: r.get(5)?,
                takedown: r.get(6)?,
                first_queued: r.get(7)?,
                decided_at: r.get(8)?,
                submitted_at: r.get(9)?,
                takedown_at: r.get(10)?,
            };
            // Each event in the week it happened.
            let events = [
                (m.first_queued.as_str().into(), 0),
                (
                    m.decided_at.as_deref().filter(|_| m.status == "confirmed"),
                    1,
                ),
                (
                    m.decided_at.as_deref().filter(|_| m.status == "dismissed"),
                    2,
                ),
                (m.submitted_at.as_deref(), 3),
                (
                    m.takedown_at
                        .as_deref()
                        .filter(|_| m.takedown.as_deref() == Some("removed")),
                    4,
                ),
                (
                    m.takedown_at
                        .as_deref()
                        .filter(|_| m.takedown.as_deref() == Some("rejected")),
                    5,
                ),
            ];
            for (at, kind) in events {
                if let Some(monday) = weeks.of(at) {
                    let w = week_entry(&mut series, monday, &m.target);
                    *[
                        &mut w.queued,
                        &mut w.confirmed,
                        &mut w.dismissed,
                        &mut w.submitted,
                        &mut w.removed,
                        &mut w.rejected,
                    ][kind] += 1;
                }
            }
            // The cohort: matches first queued in the period, as they stand.
            if !weeks.in_period(&m.first_queued) {
                return Ok(());
            }
            let confirmed = m.status == "confirmed";
            *products.entry(m.product.clone()).or_default() += 1;
            if let Some(seller) = m.seller.as_ref().filter(|s| !s.is_empty()) {
                let figures = sellers
                    .entry((m.target.clone(), seller.clone()))
                    .or_default();
                figures.0 += 1;
                figures.1 += confirmed as u64;
            }
            let f = entry(&mut marketplaces, &m.target);
            f.matches += 1;
            match m.status.as_str() {
                "pending" => {
                    f.pending += 1;
                    f.escalated += m.escalated as u64;
                }
                "confirmed" => f.confirmed += 1,
                _ => {
                    f.dismissed += 1;
                    f.withdrawn += m.withdrawn as u64;
                }
            }
            match m.takedown.as_deref() {
                Some("removed") => {
                    f.submitted += 1;
                    f.removed += 1;
                    let parse = |s: &Option<String>| {
                        s.as_deref()
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    };
                    if let (Some(from), Some(to)) = (parse(&m.submitted_at), parse(&m.takedown_at))
                    {
                        removal_days
                            .entry(m.target.clone())
                            .or_default()
                            .push((to - from).num_seconds() as f64 / 86_400.0);
                    }
                }
                Some("rejected") => {
                    f.submitted += 1;
                    f.rejected += 1;
                }
                Some("submitted") => {
                    f.submitted += 1;
                    f.undecided += 1;
                }
                _ => {}
            }
            Ok(())
        },
    )?;

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

    let mut top: Vec<((String, String), (u64, u64))> = sellers.into_iter().collect();
    top.sort_by(|a, b| (b.1 .0, b.1 .1, &a.0).cmp(&(a.1 .0, a.1 .1, &b.0)));
    top.truncate(TOP);
    let top_sellers = top
        .into_iter()
        .map(|((target, seller), (matches, confirmed))| {
            let network = db
                .optional(
                    "SELECT network FROM sellers WHERE target = ?1 AND name = ?2",
                    args![target, seller],
                    |r| r.get::<Option<i64>>(0),
                )?
                .flatten();
            Ok(TopSeller {
                target,
                seller,
                matches,
                confirmed,
                network,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (since, until) = bounds(query);
    let period = args![since, until, target, product];
    let most_matched = products
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(p, _)| p);
    Ok(Report {
        since: query.since,
        until: query.until,
        target: target.map(str::to_string),
        product: product.map(str::to_string),
        marketplaces: marketplaces.into_values().collect(),
        totals,
        weeks: series.into_values().collect(),
        backlog: backlog(db, target, product)?,
        reviewers: reviewers(db, period, &mut weeks)?,
        top_sellers,
        top_networks: top_networks(db, period)?,
        prices: match product.map(str::to_string).or(most_matched) {
            Some(p) => Some(prices(db, period, p)?),
            None => None,
        },
    })
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

fn week_entry<'a>(
    map: &'a mut BTreeMap<(NaiveDate, String), WeekFigures>,
    week: NaiveDate,
    target: &str,
) -> &'a mut WeekFigures {
    map.entry((week, target.to_string()))
        .or_insert_with(|| WeekFigures {
            week,
            target: target.to_string(),
            ..Default::default()
        })
}

/// Parameters of the remaining queries: ?1 since, ?2 until, ?3 target, ?4 product.
type Period<'a> = &'a [&'a dyn Bind];

/// Each person's decisions per week, from the audit log (its index on
/// the action reads the decisions alone).
fn reviewers(db: &Db, period: Period, weeks: &mut Weeks) -> Result<Vec<ReviewerWeek>> {
    let mut people: BTreeMap<(NaiveDate, String), ReviewerWeek> = BTreeMap::new();
    db.each(
        "SELECT a.actor, substr(a.at, 1, 10), a.action, COUNT(*) FROM audit_log a
         WHERE a.action IN ('confirmed', 'dismissed', 'escalated', 'undone')
           AND a.actor != 'matcher' AND a.at >= ?1 AND a.at < ?2
           AND (CAST(?3 AS TEXT) IS NULL AND CAST(?4 AS TEXT) IS NULL OR EXISTS
                (SELECT 1 FROM matches m JOIN listings l ON l.id = m.listing_id
                 WHERE m.id = a.match_id AND (CAST(?3 AS TEXT) IS NULL OR l.target = ?3)
                   AND (CAST(?4 AS TEXT) IS NULL OR m.product_id = ?4)))
         GROUP BY 1, 2, 3",
        period,
        |r| {
            let (reviewer, day, action, n): (String, String, String, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            let Some(monday) = weeks.of(Some(&day)) else {
                return Ok(());
            };
            let w = people
                .entry((monday, reviewer.clone()))
                .or_insert_with(|| ReviewerWeek {
                    reviewer,
                    week: monday,
                    ..Default::default()
                });
            *match action.as_str() {
                "confirmed" => &mut w.confirmed,
                "dismissed" => &mut w.dismissed,
                "escalated" => &mut w.escalated,
                _ => &mut w.undone,
            } += n as u64;
            Ok(())
        },
    )?;
    Ok(people.into_values().collect())
}

/// The pending matches now (whatever the period), by age: stored
/// timestamps order as text, so each age bound is a timestamp to compare
/// with, the same on either engine.
fn backlog(db: &Db, target: Option<&str>, product: Option<&str>) -> Result<Backlog> {
    let now = Utc::now();
    let days_ago = |days: i64| super::timestamp(now - chrono::Duration::days(days));
    let (pending, escalated, by_age, oldest): (i64, i64, [i64; 4], Option<String>) = db
        .one(
            "SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN m.escalated_at IS NOT NULL THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN m.first_queued > ?1 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN m.first_queued <= ?1 AND m.first_queued > ?2 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN m.first_queued <= ?2 AND m.first_queued > ?3 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN m.first_queued <= ?3 THEN 1 ELSE 0 END), 0),
                MIN(m.first_queued)
             FROM matches m JOIN listings l ON l.id = m.listing_id
             WHERE m.status = 'pending' AND (CAST(?4 AS TEXT) IS NULL OR l.target = ?4)
               AND (CAST(?5 AS TEXT) IS NULL OR m.product_id = ?5)",
            args![days_ago(1), days_ago(7), days_ago(30), target, product],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                    r.get(6)?,
                ))
            },
        )
        .context("reading the backlog")?;
    let oldest_days = oldest
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
        .map(|at| (now - at.with_timezone(&Utc)).num_milliseconds() as f64 / 86_400_000.0)
        .map(|d| (d.max(0.0) * 10.0).round() / 10.0);
    Ok(Backlog {
        pending: pending as u64,
        escalated: escalated as u64,
        by_age: by_age.map(|n| n as u64),
        oldest_days,
    })
}

fn top_networks(db: &Db, period: Period) -> Result<Vec<TopNetwork>> {
    let mut with_limit = period.to_vec();
    with_limit.push(&TOP);
    db.all(
        "SELECT s.network, COUNT(DISTINCT s.id), COUNT(DISTINCT s.target),
            COUNT(*), SUM(CASE WHEN m.status = 'confirmed' THEN 1 ELSE 0 END)
         FROM sellers s JOIN listings l ON l.target = s.target AND l.seller = s.name
         JOIN matches m ON m.listing_id = l.id
         WHERE s.network IS NOT NULL AND m.first_queued >= ?1 AND m.first_queued < ?2
           AND (CAST(?3 AS TEXT) IS NULL OR l.target = ?3)
           AND (CAST(?4 AS TEXT) IS NULL OR m.product_id = ?4)
         GROUP BY s.network ORDER BY 4 DESC, 5 DESC, 1 LIMIT ?5",
        &with_limit,
        |r| {
            Ok(TopNetwork {
                network: r.get(0)?,
                accounts: r.get::<i64>(1)? as u64,
                marketplaces: r.get::<i64>(2)? as u64,
                matches: r.get::<i64>(3)? as u64,
                confirmed: r.get::<i64>(4)? as u64,
            })
        },
    )
    .context("reading the top networks")
}

/// The price spread of `product`'s listings matched in the period (the
/// price ratio read from each match's signals here: the engines' JSON
/// functions differ).
fn prices(db: &Db, period: Period, product: String) -> Result<PriceSpread> {
    let mut spread = PriceSpread {
        product: product.clone(),
        buckets: vec![0; PRICE_BUCKETS],
        confirmed: vec![0; PRICE_BUCKETS],
        median_ratio: None,
    };
    let mut ratios = Vec::new();
    db.each(
        "SELECT m.signals, m.status = 'confirmed'
         FROM matches m JOIN listings l ON l.id = m.listing_id
         WHERE m.product_id = ?4 AND m.first_queued >= ?1 AND m.first_queued < ?2
           AND (CAST(?3 AS TEXT) IS NULL OR l.target = ?3)",
        &[period[0], period[1], period[2], &product],
        |r| {
            let (signals, confirmed): (String, bool) = (r.get(0)?, r.get(1)?);
            let ratio = serde_json::from_str::<serde_json::Value>(&signals)
                .ok()
                .and_then(|s| {
                    s.pointer("/price/ratio")
                        .and_then(serde_json::Value::as_f64)
                });
            let Some(ratio) = ratio.filter(|r| r.is_finite() && *r >= 0.0) else {
                return Ok(());
            };
            let bucket = ((ratio * 10.0) as usize).min(PRICE_BUCKETS - 1);
            spread.buckets[bucket] += 1;
            spread.confirmed[bucket] += confirmed as u64;
            ratios.push(ratio);
            Ok(())
        },
    )?;
    spread.median_ratio = median(ratios.iter().map(|r| r * 100.0).collect()).map(|p| p / 100.0);
    Ok(spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn events_fall_in_their_monday_week_and_the_period_is_inclusive() {
        let mut weeks = Weeks::new(&ReportQuery {
            since: Some(day("2026-11-04")),
            until: Some(day("2026-11-30")),
            ..Default::default()
        });
        // A Sunday belongs to the week that began six days before.
        assert_eq!(
            weeks.of(Some("2026-11-29T23:59:59.999Z")),
            Some(day("2026-11-23"))
        );
        assert_eq!(
            weeks.of(Some("2026-11-30T00:00:00.000Z")),
            Some(day("2026-11-30"))
        );
        assert_eq!(
            weeks.of(Some("2026-11-30T23:59:59.999Z")),
            Some(day("2026-11-30"))
        );
        assert_eq!(
            weeks.of(Some("2026-12-01T00:00:00.000Z")),
            None,
            "after until"
        );
        assert_eq!(
            weeks.of(Some("2026-11-03T23:59:59.999Z")),
            None,
            "before since"
        );
        assert_eq!(
            weeks.of(Some("2026-11-04T00:00:00.000Z")),
            Some(day("2026-11-02"))
        );
        assert_eq!(weeks.of(None), None);
        assert_eq!(weeks.of(Some("garbage")), None);
    }

    #[test]
    fn medians_are_to_a_tenth() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![1.0, 2.0]), Some(1.5));
        assert_eq!(median(vec![0.123, 0.1]), Some(0.1));
    }
}
