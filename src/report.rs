//! `knockoff report` as text and CSV (JSON is the [`Report`] itself, and
//! `/dashboard` draws the same figures): pure formatting of what
//! [`Store::report`](crate::store::Store::report) read.

use std::fmt::Write;

use crate::store::Report;

/// A share as a whole percentage, `-` when there is none.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".into(), |s| format!("{:.0}%", s * 100.0))
}

/// Days with one decimal, `-` when there are none.
pub fn days(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |d| format!("{d:.1}"))
}

/// The period a report covers, in words.
pub fn period(report: &Report) -> String {
    match (report.since, report.until) {
        (None, None) => "everything in the store".into(),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("until {to}"),
        (Some(from), Some(to)) => format!("{from} to {to}"),
    }
}

/// `report --format table`.
pub fn render_table(report: &Report) -> String {
    let mut out = format!("Report: {}\n\n", period(report));
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>7} {:>7} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9} {:>8} {:>11}",
        "MARKETPLACE",
        "LISTINGS",
        "MATCHES",
        "PENDING",
        "CONFIRMED",
        "DISMISSED",
        "SUBMITTED",
        "REMOVED",
        "REJECTED",
        "UNDECIDED",
        "ACCEPTED",
        "MEDIAN DAYS"
    );
    for m in report
        .marketplaces
        .iter()
        .chain((report.marketplaces.len() > 1).then_some(&report.totals))
    {
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>7} {:>7} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9} {:>8} {:>11}",
            m.target,
            m.listings,
            m.matches,
            m.pending,
            m.confirmed,
            m.dismissed,
            m.submitted,
            m.removed,
            m.rejected,
            m.undecided,
            percent(m.acceptance_rate),
            days(m.median_days_to_removal)
        );
    }
    if report.marketplaces.is_empty() {
        out.push_str("nothing in this period\n");
    }
    out.push_str(
        "\nACCEPTED is removed ÷ (removed + rejected); UNDECIDED takedowns are not counted in it.\n",
    );
    let b = &report.backlog;
    let _ = writeln!(
        out,
        "Backlog now: {} pending ({} escalated); waiting <1 day {}, 1–7 days {}, 7–30 days {}, \
         over 30 days {}; oldest {} days",
        b.pending,
        b.escalated,
        b.by_age[0],
        b.by_age[1],
        b.by_age[2],
        b.by_age[3],
        days(b.oldest_days)
    );
    if !report.weeks.is_empty() {
        out.push_str("\nPer week (each event in the week it happened):\n");
        let _ = writeln!(
            out,
            "{:<10} {:<16} {:>8} {:>7} {:>9} {:>9} {:>9} {:>7} {:>8}",
            "WEEK",
            "MARKETPLACE",
            "LISTINGS",
            "QUEUED",
            "CONFIRMED",
            "DISMISSED",
            "SUBMITTED",
            "REMOVED",
            "REJECTED"
        );
        for w in &report.weeks {
            let _ = writeln!(
                out,
                "{:<10} {:<16} {:>8} {:>7} {:>9} {:>9} {:>9} {:>7} {:>8}",
                w.week,
                w.target,
                w.listings,
                w.queued,
                w.confirmed,
                w.dismissed,
                w.submitted,
                w.removed,
                w.rejected
            );
        }
    }
    if !report.reviewers.is_empty() {
        out.push_str("\nDecisions per reviewer per week:\n");
        for r in &report.reviewers {
            let _ = writeln!(
                out,
                "{:<10} {:<24} {} confirmed, {} dismissed, {} escalated, {} undone",
                r.week, r.reviewer, r.confirmed, r.dismissed, r.escalated, r.undone
            );
        }
    }
    out
}

/// `report --format csv`: the per-marketplace table, a blank line, then
/// the per-week series, each with its header.
pub fn render_csv(report: &Report) -> anyhow::Result<String> {
    let number =
        |v: Option<f64>, digits: usize| v.map_or(String::new(), |v| format!("{v:.digits$}"));
    let cell = csv_cell;
    let mut table = csv::Writer::from_writer(Vec::new());
    table.write_record([
        "target",
        "listings",
        "matches",
        "pending",
        "escalated",
        "confirmed",
        "dismissed",
        "withdrawn",
        "submitted",
        "removed",
        "rejected",
        "undecided",
        "acceptance_rate",
        "median_days_to_removal",
    ])?;
    for m in &report.marketplaces {
        table.write_record([
            cell(m.target.clone()),
            m.listings.to_string(),
            m.matches.to_string(),
            m.pending.to_string(),
            m.escalated.to_string(),
            m.confirmed.to_string(),
            m.dismissed.to_string(),
            m.withdrawn.to_string(),
            m.submitted.to_string(),
            m.removed.to_string(),
            m.rejected.to_string(),
            m.undecided.to_string(),
            number(m.acceptance_rate, 3),
            number(m.median_days_to_removal, 1),
        ])?;
    }
    let mut out = table.into_inner()?;
    out.push(b'\n');
    let mut series = csv::Writer::from_writer(out);
    series.write_record([
        "week",
        "target",
        "listings",
        "queued",
        "confirmed",
        "dismissed",
        "submitted",
        "removed",
        "rejected",
    ])?;
    for w in &report.weeks {
        series.write_record([
            w.week.to_string(),
            cell(w.target.clone()),
            w.listings.to_string(),
            w.queued.to_string(),
            w.confirmed.to_string(),
            w.dismissed.to_string(),
            w.submitted.to_string(),
            w.removed.to_string(),
            w.rejected.to_string(),
        ])?;
    }
    Ok(String::from_utf8(series.into_inner()?)?)
}

/// A CSV cell a spreadsheet will not run: text starting with `=`, `+`,
/// `-`, `@`, tab or carriage return gets a leading `'` (OWASP's advice).
/// Numbers stay numbers.
pub(crate) fn csv_cell(text: String) -> String {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MarketplaceFigures;

    #[test]
    fn undecided_takedowns_are_no_failure() {
        let report = Report {
            marketplaces: vec![MarketplaceFigures {
                target: "shop".into(),
                confirmed: 2,
                submitted: 2,
                undecided: 2,
                ..Default::default()
            }],
            ..Default::default()
        };
        let table = render_table(&report);
        let line = table.lines().find(|l| l.starts_with("shop")).unwrap();
        assert!(line.ends_with("2        -           -"), "{line}");
        assert!(!table.contains("0%"), "{table}");
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        let report = Report {
            marketplaces: vec![MarketplaceFigures {
                target: "=cmd,x".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let csv = render_csv(&report).unwrap();
        assert!(
            csv.lines().nth(1).unwrap().starts_with("\"'=cmd,x\","),
            "{csv}"
        );
    }
}
