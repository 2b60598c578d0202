//! `/dashboard`: the figures `knockoff report` prints, drawn — listings
//! and matches per week, the takedown funnel, the backlog, each reviewer's
//! weeks, top sellers and networks, a product's price spread.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use maud::{html, Markup};

use super::charts::{bars, hbars, Bars, HBar, Series, PALETTE};
use super::pages::{layout, seller_href};
use crate::config::Config;
use crate::report::{days, percent, period};
use crate::store::{Report, ReportQuery, Session, PRICE_BUCKETS};

/// At most this many weeks are drawn (the newest); the report has them all.
const MAX_WEEKS: usize = 104;

/// The dashboard's filter as a query string (for the download links).
fn query_string(query: &ReportQuery) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair(
        "since",
        &query.since.map(|d| d.to_string()).unwrap_or_default(),
    );
    q.append_pair(
        "until",
        &query.until.map(|d| d.to_string()).unwrap_or_default(),
    );
    for (key, value) in [("target", &query.target), ("product", &query.product)] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            q.append_pair(key, v);
        }
    }
    q.finish()
}

/// Every Monday from the first week with figures (or `since`) to the last
/// (or `until`), the newest [`MAX_WEEKS`].
fn week_axis(report: &Report) -> Vec<NaiveDate> {
    let monday = |d: NaiveDate| {
        d - Duration::days(chrono::Datelike::weekday(&d).num_days_from_monday() as i64)
    };
    let seen = report
        .weeks
        .iter()
        .map(|w| w.week)
        .chain(report.reviewers.iter().map(|r| r.week));
    let (first, last) = seen.fold(
        (None, None),
        |(lo, hi): (Option<NaiveDate>, Option<NaiveDate>), w| {
            (
                Some(lo.map_or(w, |l| l.min(w))),
                Some(hi.map_or(w, |h| h.max(w))),
            )
        },
    );
    let first = report.since.map(monday).or(first);
    let last = report.until.map(monday).or(last).or(first);
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let mut weeks: Vec<NaiveDate> = std::iter::successors(Some(last), |w| {
        Some(*w - Duration::days(7)).filter(|p| *p >= first)
    })
    .take(MAX_WEEKS)
    .collect();
    weeks.reverse();
    weeks
}

/// `values[week]` for each week of the axis.
fn per_week(axis: &[NaiveDate], values: &BTreeMap<NaiveDate, u64>) -> Vec<u64> {
    axis.iter()
        .map(|w| values.get(w).copied().unwrap_or(0))
        .collect()
}

fn week_label(week: &NaiveDate) -> String {
    week.format("%d %b").to_string()
}

/// The dashboard page.
pub(crate) fn dashboard(
    config: &Config,
    session: &Session,
    report: &Report,
    query: &ReportQuery,
    server_ms: f64,
) -> Markup {
    let axis = week_axis(report);
    let categories: Vec<String> = axis.iter().map(week_label).collect();
    let targets: Vec<&str> = report
        .marketplaces
        .iter()
        .map(|m| m.target.as_str())
        .collect();

    let listings_per_week: Vec<Series> = targets
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let values: BTreeMap<NaiveDate, u64> = report
                .weeks
                .iter()
                .filter(|w| w.target == *target)
                .map(|w| (w.week, w.listings))
                .collect();
            Series {
                name: target.to_string(),
                colour: PALETTE[i % PALETTE.len()],
                values: per_week(&axis, &values),
            }
        })
        .collect();
    let summed = |field: fn(&crate::store::WeekFigures) -> u64| {
        let mut values: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        for w in &report.weeks {
            *values.entry(w.week).or_default() += field(w);
        }
        per_week(&axis, &values)
    };
    let matches_per_week = vec![
        Series {
            name: "queued".into(),
            colour: PALETTE[1],
            values: summed(|w| w.queued),
        },
        Series {
            name: "confirmed".into(),
            colour: PALETTE[2],
            values: summed(|w| w.confirmed),
        },
        Series {
            name: "dismissed".into(),
            colour: "#9ca3af",
            values: summed(|w| w.dismissed),
        },
    ];
    let funnel_field =
        |name: &str, colour, field: fn(&crate::store::MarketplaceFigures) -> u64| Series {
            name: name.into(),
            colour,
            values: report.marketplaces.iter().map(field).collect(),
        };
    let funnel = vec![
        funnel_field("confirmed", PALETTE[2], |m| m.confirmed),
        funnel_field("submitted", PALETTE[0], |m| m.submitted),
        funnel_field("removed", PALETTE[4], |m| m.removed),
        funnel_field("rejected", PALETTE[3], |m| m.rejected),
        funnel_field("undecided", "#9ca3af", |m| m.undecided),
    ];
    let reviewers: Vec<&str> = {
        let mut names: Vec<&str> = report
            .reviewers
            .iter()
            .map(|r| r.reviewer.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    let decisions_per_week: Vec<Series> = reviewers
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values: BTreeMap<NaiveDate, u64> = report
                .reviewers
                .iter()
                .filter(|r| r.reviewer == *name)
                .map(|r| (r.week, r.confirmed + r.dismissed + r.escalated + r.undone))
                .collect();
            Series {
                name: name.to_string(),
                colour: PALETTE[i % PALETTE.len()],
                values: per_week(&axis, &values),
            }
        })
        .collect();
    let backlog = &report.backlog;
    let sellers: Vec<HBar> = report
        .top_sellers
        .iter()
        .map(|s| HBar {
            label: format!("{} · {}", s.seller, s.target),
            value: s.matches,
            note: format!("matches, {} confirmed", s.confirmed),
            href: Some(seller_href(&s.target, &s.seller)),
        })
        .collect();
    let networks: Vec<HBar> = report
        .top_networks
        .iter()
        .map(|n| HBar {
            label: format!(
                "#{}: {} accounts on {} sites",
                n.network, n.accounts, n.marketplaces
            ),
            value: n.matches,
            note: format!("matches, {} confirmed", n.confirmed),
            href: Some(format!("/network/{}", n.network)),
        })
        .collect();
    let total = &report.totals;
    let body = html! {
        div.listhead {
            h1 { "Dashboard" }
            span.muted { (period(report)) " · " (format!("{server_ms:.1}")) " ms" }
        }
        form.filters method="get" action="/dashboard" {
            label.inline { "from " input name="since" type="date" value=[query.since.map(|d| d.to_string())]; }
            label.inline { "until " input name="until" type="date" value=[query.until.map(|d| d.to_string())]; }
            select name="target" {
                option value="" { "every site" }
                @for target in &config.targets {
                    option value=(target.name) selected[query.target.as_deref() == Some(target.name.as_str())] { (target.name) }
                }
            }
            select name="product" {
                option value="" { "every product" }
                @for product in &config.catalog.products {
                    option value=(product.id) selected[query.product.as_deref() == Some(product.id.as_str())] {
                        (product.id) " · " (product.name)
                    }
                }
            }
            button type="submit" { "Show" }
            a.reset href="/dashboard" { "Last 12 weeks" }
            a.reset href=(format!("/report?format=csv&{}", query_string(query))) { "CSV" }
            a.reset href=(format!("/report?format=json&{}", query_string(query))) { "JSON" }
        }
        div.tiles {
            div.tile { span.figure { (total.listings) } span.muted { "listings first seen" } }
            div.tile { span.figure { (total.matches) } span.muted { "matches queued" } }
            div.tile {
                a href="/" { span.figure { (backlog.pending) } }
                span.muted { "pending now · " a href="/?status=escalated" { (backlog.escalated) " escalated" } }
            }
            div.tile { span.figure { (total.confirmed) } span.muted { "confirmed" } }
            div.tile { span.figure { (total.submitted) } span.muted { "takedowns sent · " (total.undecided) " undecided" } }
            div.tile { span.figure { (percent(total.acceptance_rate)) } span.muted { "accepted (removed ÷ decided)" } }
            div.tile { span.figure { (days(total.median_days_to_removal)) } span.muted { "median days to removal" } }
        }
        div.charts {
            section {
                h2 { "Listings crawled per week" }
                (bars(&Bars { title: "Listings first seen per week, per marketplace", categories: categories.clone(), series: listings_per_week, stacked: true, marker: None }))
            }
            section {
                h2 { "Matches per week" }
                (bars(&Bars { title: "Matches queued, confirmed and dismissed per week", categories: categories.clone(), series: matches_per_week, stacked: false, marker: None }))
            }
            section.wide {
                h2 { "Takedown funnel per marketplace" }
                @if total.confirmed == 0 { p.muted { "No confirmed matches among those queued in this period." } }
                @else { (bars(&Bars { title: "Confirmed, submitted, removed, rejected and undecided per marketplace", categories: targets.iter().map(|t| t.to_string()).collect(), series: funnel, stacked: false, marker: None })) }
                table.runs {
                    tr { th { "Marketplace" } th { "Matches" } th { "Pending" } th { "Confirmed" } th { "Dismissed" } th { "Submitted" } th { "Removed" } th { "Rejected" } th { "Undecided" } th { "Accepted" } th { "Median days" } }
                    @for m in report.marketplaces.iter().chain((report.marketplaces.len() > 1).then_some(total)) {
                        tr {
                            td { (m.target) } td { (m.matches) } td { (m.pending) } td { (m.confirmed) } td { (m.dismissed) }
                            td { (m.submitted) } td { (m.removed) } td { (m.rejected) } td { (m.undecided) }
                            td { (percent(m.acceptance_rate)) } td { (days(m.median_days_to_removal)) }
                        }
                    }
                }
            }
            section {
                h2 { "Backlog now" }
                p.muted { (backlog.pending) " pending, " (backlog.escalated) " escalated; the oldest has waited " (days(backlog.oldest_days)) " days" }
                (bars(&Bars {
                    title: "Pending matches by days waiting",
                    categories: ["under 1 day", "1–7 days", "7–30 days", "over 30 days"].map(String::from).to_vec(),
                    series: vec![Series { name: String::new(), colour: PALETTE[3], values: backlog.by_age.to_vec() }],
                    stacked: false, marker: None,
                }))
            }
            section {
                h2 { "Decisions per reviewer per week" }
                @if decisions_per_week.is_empty() {
                    p.muted { "No decisions in this period." }
                } @else {
                    (bars(&Bars { title: "Confirmations, dismissals, escalations and undos per reviewer per week", categories: categories.clone(), series: decisions_per_week, stacked: true, marker: None }))
                }
            }
            section {
                h2 { "Top sellers" }
                @if sellers.is_empty() { p.muted { "No matched sellers in this period." } }
                @else { (hbars("Sellers with the most matches", &sellers, PALETTE[0])) }
            }
            section {
                h2 { "Top networks" }
                @if networks.is_empty() { p.muted { "No seller network has matches in this period." } }
                @else { (hbars("Seller networks with the most matches", &networks, PALETTE[5])) }
            }
            @if let Some(spread) = &report.prices {
                section {
                    h2 { "Prices of " (spread.product) " listings against its MSRP" }
                    p.muted { "median " (percent(spread.median_ratio)) " of MSRP" }
                    (bars(&Bars {
                        title: "Matched listings by price as a share of the MSRP",
                        categories: (0..PRICE_BUCKETS).map(|b| if b + 1 == PRICE_BUCKETS { format!("≥{}%", b * 10) } else { format!("{}%", b * 10) }).collect(),
                        series: vec![
                            Series { name: "confirmed".into(), colour: PALETTE[2], values: spread.confirmed.clone() },
                            Series { name: "not confirmed".into(), colour: PALETTE[1], values: spread.buckets.iter().zip(&spread.confirmed).map(|(a, c)| a - c).collect() },
                        ],
                        stacked: true,
                        marker: Some((10, "MSRP".into())),
                    }))
                }
            }
        }
    };
    layout("Dashboard", Some(session), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WeekFigures;

    #[test]
    fn the_week_axis_has_every_week_between_the_first_and_the_last() {
        let week = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let report = Report {
            weeks: vec![
                WeekFigures {
                    week: week("2026-11-02"),
                    ..Default::default()
                },
                WeekFigures {
                    week: week("2026-11-23"),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let axis = week_axis(&report);
        assert_eq!(axis.len(), 4);
        assert_eq!(axis[1], week("2026-11-09"));
        // A period names its own ends (a Wednesday's week starts on Monday).
        let bounded = Report {
            since: Some(week("2026-10-28")),
            until: Some(week("2026-11-30")),
            ..report
        };
        let axis = week_axis(&bounded);
        assert_eq!(
            (axis[0], *axis.last().unwrap()),
            (week("2026-10-26"), week("2026-11-30"))
        );
    }
}
