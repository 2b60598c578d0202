//! Charts drawn on the server as inline SVG: vertical bars (grouped or
//! stacked, with an optional marker line) and horizontal bars. The strict
//! CSP stays: no script, no style attribute — only SVG presentation
//! attributes, and every label goes through maud's escaping.
//!
//! Our own small module rather than a charting crate: plotters (SVG
//! backend) brings font loading and a dozen crates to draw rectangles,
//! charts-rs brings a font database and resvg; the dashboard needs bars,
//! axes, labels and `<title>` tooltips, which is this file.

use maud::{html, Markup};

/// Colours of the series, in order; picked to be told apart by the
/// common colour blindnesses (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#d55e00", "#56b4e9", "#cc79a7", "#f0e442", "#000000",
];

/// One named series of values, one per category.
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub values: Vec<u64>,
}

/// A vertical bar chart.
pub struct Bars<'a> {
    /// What the chart shows, for screen readers and the tooltip.
    pub title: &'a str,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Stack the series in one bar per category, else side by side.
    pub stacked: bool,
    /// A labelled vertical line before the category at this index
    /// (the MSRP on a price spread).
    pub marker: Option<(usize, String)>,
}

/// One bar (or one part of a stacked bar) as drawn.
struct Rect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    colour: &'static str,
    tooltip: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 40.0;

/// A round number at or above `max` for the top of the axis, and its step.
fn axis(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let magnitude = 10u64.pow((max as f64).log10().floor() as u32);
    for step in [magnitude / 5, magnitude / 2, magnitude, magnitude * 2] {
        let step = step.max(1);
        if max.div_ceil(step) <= 5 {
            return (max.div_ceil(step) * step, step);
        }
    }
    (max.div_ceil(magnitude * 5) * magnitude * 5, magnitude * 5)
}

/// Every `n`th label is written when there are too many to read.
fn label_every(categories: usize) -> usize {
    categories.div_ceil(12).max(1)
}

/// The chart as an `<svg>` element with its legend.
pub fn bars(chart: &Bars) -> Markup {
    let n = chart.categories.len().max(1);
    let totals: Vec<u64> = (0..chart.categories.len())
        .map(|i| {
            let values = chart
                .series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0));
            if chart.stacked {
                values.sum()
            } else {
                values.max().unwrap_or(0)
            }
        })
        .collect();
    let (top, step) = axis(totals.iter().copied().max().unwrap_or(0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let y = |v: u64| TOP + plot_h - v as f64 / top as f64 * plot_h;
    let groups = if chart.stacked {
        1
    } else {
        chart.series.len().max(1)
    };
    // A bar is never wider than 48 px, however few the categories.
    let bar_w = (slot * 0.8 / groups as f64).clamp(1.0, 48.0);
    let every = label_every(n);
    let mut rects = Vec::new();
    for (i, category) in chart.categories.iter().enumerate() {
        let x0 = LEFT + (i as f64 + 0.5) * slot - bar_w * groups as f64 / 2.0;
        let mut base = 0;
        for (k, series) in chart.series.iter().enumerate() {
            let value = series.values.get(i).copied().unwrap_or(0);
            let (x, bottom) = if chart.stacked {
                (x0, base)
            } else {
                (x0 + k as f64 * bar_w, 0)
            };
            if value > 0 {
                rects.push(Rect {
                    x,
                    y: y(bottom + value),
                    width: bar_w - if bar_w > 3.0 { 1.0 } else { 0.0 },
                    height: y(bottom) - y(bottom + value),
                    colour: series.colour,
                    tooltip: format!("{category} · {}: {value}", series.name),
                });
            }
            base += value;
        }
    }
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(chart.title) {
                title { (chart.title) }
                @for tick in (0..=top).step_by(step as usize) {
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(tick)) y2=(y(tick)) stroke="#ddd" stroke-width="1" {}
                    text x=(LEFT - 4.0) y=(y(tick) + 4.0) text-anchor="end" font-size="11" fill="#555" { (tick) }
                }
                @for bar in &rects {
                    rect x=(format!("{:.1}", bar.x)) y=(format!("{:.1}", bar.y))
                        width=(format!("{:.1}", bar.width)) height=(format!("{:.1}", bar.height))
                        fill=(bar.colour) { title { (bar.tooltip) } }
                }
                @for (i, category) in chart.categories.iter().enumerate().step_by(every) {
                    text x=(format!("{:.1}", LEFT + (i as f64 + 0.5) * slot)) y=(HEIGHT - BOTTOM + 14.0)
                        text-anchor="middle" font-size="11" fill="#333" { (category) }
                }
                @if let Some((at, label)) = &chart.marker {
                    @let x = LEFT + *at as f64 * slot;
                    line x1=(x) x2=(x) y1=(TOP) y2=(TOP + plot_h) stroke="#d00" stroke-width="2" stroke-dasharray="4 3" {}
                    text x=(x + 4.0) y=(TOP + 12.0) font-size="11" fill="#d00" { (label) }
                }
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(TOP + plot_h) y2=(TOP + plot_h) stroke="#888" stroke-width="1" {}
            }
            @if chart.series.len() > 1 || chart.series.first().is_some_and(|s| !s.name.is_empty()) {
                figcaption.legend {
                    @for series in &chart.series {
                        span { svg.swatch viewBox="0 0 10 10" aria-hidden="true" { rect width="10" height="10" fill=(series.colour) {} } " " (series.name) }
                    }
                }
            }
        }
    }
}

/// One row of [`hbars`].
pub struct HBar {
    pub label: String,
    pub value: u64,
    /// Written after the value ("2 confirmed").
    pub note: String,
    pub href: Option<String>,
}

/// Horizontal bars: one labelled row per item, its value written beside
/// the bar, and a link where the row has one.
pub fn hbars(title: &str, rows: &[HBar], colour: &str) -> Markup {
    let row_h = 22.0;
    let label_w = 240.0;
    let height = (rows.len().max(1) as f64) * row_h + 4.0;
    let max = rows.iter().map(|r| r.value).max().unwrap_or(0).max(1);
    let bar_room = WIDTH - label_w - 150.0;
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {WIDTH} {height}")) role="img" aria-label=(title) {
                title { (title) }
                @for (i, HBar { label, value, note, href }) in rows.iter().enumerate() {
                    @let y = 2.0 + i as f64 * row_h;
                    @let w = *value as f64 / max as f64 * bar_room;
                    @let shown: String = label.chars().take(34).collect();
                    @if let Some(href) = href {
                        a href=(href) {
                            text x=(label_w - 6.0) y=(y + 15.0) text-anchor="end" font-size="12" fill="#0645ad" { (shown) }
                        }
                    } @else {
                        text x=(label_w - 6.0) y=(y + 15.0) text-anchor="end" font-size="12" fill="#333" { (shown) }
                    }
                    rect x=(label_w) y=(y + 3.0) width=(format!("{w:.1}")) height=(row_h - 6.0) fill=(colour) {
                        title { (label) ": " (value) }
                    }
                    text x=(format!("{:.1}", label_w + w + 4.0)) y=(y + 15.0) font-size="12" fill="#333" { (value) " " (note) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers_above_the_largest_value() {
        assert_eq!(axis(0), (1, 1));
        assert_eq!(axis(7), (8, 2));
        assert_eq!(axis(10), (10, 2));
        assert_eq!(axis(43), (50, 10));
        assert_eq!(axis(1234), (1500, 500));
        for max in [1, 3, 9, 11, 99, 101, 999, 54321] {
            let (top, step) = axis(max);
            assert!(top >= max && top / step <= 5, "{max}: {top} by {step}");
        }
    }

    #[test]
    fn labels_are_escaped_and_every_value_has_a_bar() {
        let chart = Bars {
            title: "t",
            categories: vec!["<script>".into(), "b".into()],
            series: vec![
                Series {
                    name: "x\"y".into(),
                    colour: PALETTE[0],
                    values: vec![3, 0],
                },
                Series {
                    name: "z".into(),
                    colour: PALETTE[1],
                    values: vec![1, 2],
                },
            ],
            stacked: true,
            marker: None,
        };
        let svg = bars(&chart).into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert_eq!(
            svg.matches("<rect").count(),
            3 + 2,
            "three bars and two swatches"
        );
        assert!(svg.contains("b · z: 2"));
    }
}
