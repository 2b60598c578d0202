//! The HTML of every page, server-rendered with maud. maud escapes every
//! interpolated string, so scraped titles, sellers and descriptions reach
//! the browser as text; nothing here builds markup from strings.

use maud::{html, Markup, DOCTYPE};

use crate::config::{Config, Product};
use crate::explain::Explanation;
use crate::extract::display_price;
use crate::matching::contacts::Contact;
use crate::matching::contacts::ContactKind;
use crate::networks::{NetworkReport, SellerProfile};
use crate::status::{MatchStatus, QueueSort, StatusFilter};
use crate::store::{
    AuditRow, MatchId, QueueFilter, ReviewEntry, Role, RunRow, Session, Stage, StoredListing,
};

/// Reasons offered when dismissing; the list is numbered for the keyboard.
pub const DISMISS_REASONS: [&str; 5] = [
    "genuine product",
    "authorized seller",
    "not our product",
    "accessory or compatible part",
    "duplicate of another match",
];

/// Entries per queue page.
pub const PAGE_SIZE: usize = 25;

/// Where a role starts: reviewers work the queue, admins and viewers
/// watch the figures.
pub(crate) fn home(role: Role) -> &'static str {
    match role {
        Role::Reviewer => "/",
        Role::Admin | Role::Viewer => "/dashboard",
    }
}

pub(crate) fn layout(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · knockoff" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                @if let Some(session) = session {
                    header.top {
                        a.brand href=(home(session.user.role)) { "knockoff" }
                        nav {
                            a href="/dashboard" { "Dashboard" }
                            a href="/" { "Queue" }
                            a href="/?status=escalated" { "Escalated" }
                            a href="/runs" { "Runs" }
                            @if session.user.role == Role::Admin {
                                a href="/audit" { "Audit log" }
                            }
                        }
                        div.who {
                            span { (session.user.name) " · " (session.user.role.as_str()) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in page, with an error line when the last attempt failed.
pub fn login(error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            form.login method="post" action="/login" {
                h1 { "knockoff" }
                p.muted { "Counterfeit review queue" }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                label { "User" input name="name" autocomplete="username" required autofocus; }
                label { "Password" input name="password" type="password" autocomplete="current-password" required; }
                button.primary type="submit" { "Sign in" }
            }
        },
    )
}

/// A page that says what went wrong.
pub fn message(title: &str, text: &str, session: Option<&Session>) -> Markup {
    layout(
        title,
        session,
        html! {
            section.message {
                h1 { (title) }
                p { (text) }
                p { a href="/" { "Back to the queue" } }
            }
        },
    )
}

/// The query string of a filter, for links that keep it.
pub(crate) fn filter_query(filter: &QueueFilter, search: &str, page: usize, grid: bool) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if filter.status != StatusFilter::Pending {
        query.append_pair("status", filter.status.as_str());
    }
    if filter.sort != QueueSort::Score {
        query.append_pair("sort", filter.sort.as_str());
    }
    if grid {
        query.append_pair("view", "grid");
    }
    for (key, value) in [
        ("product", &filter.product),
        ("target", &filter.target),
        ("seller", &filter.seller),
        ("since", &filter.seen_since),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            query.append_pair(key, v);
        }
    }
    if let Some(min) = filter.min_score {
        query.append_pair("min", &min.to_string());
    }
    if let Some(max) = filter.max_score {
        query.append_pair("max", &max.to_string());
    }
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        "/".into()
    } else {
        format!("/?{query}")
    }
}

/// What the queue page shows.
pub(crate) struct QueueView<'a> {
    pub config: &'a Config,
    pub session: &'a Session,
    pub filter: &'a QueueFilter,
    pub search: &'a str,
    pub entries: &'a [ReviewEntry],
    pub total: usize,
    /// More match than `total` (the store counts only so far).
    pub more: bool,
    pub page: usize,
    /// Heading over the list ("Queue", "Seller kingstar", ...).
    pub heading: String,
    /// The URL of this very page, where actions return to.
    pub back: String,
    pub server_ms: f64,
    /// More below the matches (a seller's other listings).
    pub extra: Option<Markup>,
    /// Compact tiles instead of cards.
    pub grid: bool,
    /// The reviewer's newest decision that may still be undone.
    pub undo: Option<(MatchId, MatchStatus)>,
}

/// The queue: filters, search, the matches, pagination, bulk actions.
pub fn queue(view: &QueueView) -> Markup {
    let filter = view.filter;
    let pages = view.total.div_ceil(PAGE_SIZE).max(1);
    let can_decide = view.session.user.role.can_decide();
    let body = html! {
        form.filters method="get" action="/" {
            input #search type="search" name="q" value=(view.search) placeholder="Search all listings  ( / )";
            select name="status" {
                @for &status in StatusFilter::ALL {
                    option value=(status.as_str()) selected[filter.status == status] { (status.as_str()) }
                }
            }
            select name="product" {
                option value="" { "every product" }
                @for product in &view.config.catalog.products {
                    option value=(product.id) selected[filter.product.as_deref() == Some(product.id.as_str())] {
                        (product.id) " · " (product.name)
                    }
                }
            }
            select name="target" {
                option value="" { "every site" }
                @for target in &view.config.targets {
                    option value=(target.name) selected[filter.target.as_deref() == Some(target.name.as_str())] { (target.name) }
                }
            }
            input name="seller" value=[filter.seller.as_deref()] placeholder="seller";
            input name="min" type="number" step="0.01" min="0" max="1" value=[filter.min_score] placeholder="min score";
            input name="max" type="number" step="0.01" min="0" max="1" value=[filter.max_score] placeholder="max score";
            label.inline { "first seen from " input name="since" type="date" value=[filter.seen_since.as_deref()]; }
            select name="sort" aria-label="order" {
                @for &sort in QueueSort::ALL {
                    option value=(sort.as_str()) selected[filter.sort == sort] { (sort.label()) }
                }
            }
            @if view.grid { input type="hidden" name="view" value="grid"; }
            button type="submit" { "Filter" }
            a.reset href="/" { "Reset" }
        }
        div.listhead {
            h1 { (view.heading) " " span.count { (view.total) @if view.more { "+" } } }
            span.muted {
                "page " (view.page) " of " (pages) @if view.more { "+ (narrow the filters to see past them)" }
                " · " (format!("{:.1}", view.server_ms)) " ms"
            }
            @if view.grid {
                a href=(filter_query(filter, view.search, view.page, false)) { "Cards" }
            } @else {
                a href=(filter_query(filter, view.search, view.page, true)) { "Grid" }
            }
            button.link #help-button type="button" { "Keyboard: ?" }
        }
        @if let Some((id, status)) = view.undo {
            form.undo method="post" action=(format!("/match/{}/undo", id.0)) data-action="undo" {
                (action_fields(view.session, &view.back))
                span { "You " (status.as_str()) " " a href=(format!("/match/{}", id.0)) { "match #" (id.0) } "." }
                button type="submit" { "Undo " kbd { "u" } }
            }
        }
        @if view.entries.is_empty() {
            p.empty { "Nothing here. The queue is clear for these filters." }
        } @else {
            @if can_decide {
                form #bulk .bulk method="post" action="/bulk" {
                    input type="hidden" name="csrf" value=(view.session.csrf);
                    input type="hidden" name="back" value=(view.back);
                    span.muted { "Selected (x): " }
                    select name="action" {
                        option value="confirm" { "confirm" }
                        option value="dismiss" { "dismiss" }
                        option value="escalate" { "escalate" }
                    }
                    select name="reason" {
                        @for reason in DISMISS_REASONS { option value=(reason) { (reason) } }
                    }
                    button type="submit" { "Apply to selected" }
                }
            }
            @if view.grid {
                ol.matches.grid {
                    @for entry in view.entries {
                        (match_tile(view.config, view.session, entry, &view.back))
                    }
                }
            } @else {
                ol.matches {
                    @for entry in view.entries {
                        (match_card(view.config, view.session, entry, &view.back))
                    }
                }
            }
        }
        nav.pages {
            @if view.page > 1 {
                a rel="prev" href=(filter_query(filter, view.search, view.page - 1, view.grid)) { "← Previous" }
            }
            @if view.page < pages {
                a rel="next" href=(filter_query(filter, view.search, view.page + 1, view.grid)) { "Next →" }
            }
        }
        @if let Some(extra) = &view.extra { (extra) }
        (help())
    };
    layout(&view.heading, Some(view.session), body)
}

/// Every listing of a seller, matched or not.
pub(crate) fn seller_listings(
    listings: &[crate::store::StoredListing],
    limit: usize,
    confirmed: u64,
) -> Markup {
    html! {
        h2 {
            "All listings by this seller " span.count { (listings.len()) @if listings.len() >= limit { "+" } }
            " " span.warn { (confirmed) " confirmed infringement" @if confirmed != 1 { "s" } }
        }
        table.runs {
            thead { tr { th { "First seen" } th { "Site" } th { "Title" } th { "Price" } th { "Listing" } } }
            tbody {
                @for l in listings {
                    tr {
                        td { (day(&l.first_seen)) }
                        td { (l.target) }
                        td { (l.listing.title.as_deref().unwrap_or("—")) }
                        td {
                            (display_price(l.listing.price, l.listing.currency.as_deref()))
                        }
                        td { a href=(l.url) rel="noopener noreferrer nofollow" target="_blank" { "live ↗" } }
                    }
                }
            }
        }
    }
}

/// A listing's matches: (product id, match id, status).
pub(crate) type ListingMatches = Vec<(String, i64, MatchStatus)>;

/// A listing's matches as links, or that it has none.
fn match_links(matches: &[(String, i64, MatchStatus)]) -> Markup {
    html! {
        @if matches.is_empty() {
            span.muted { "no match" }
        }
        @for (product, id, status) in matches {
            a href=(format!("/match/{id}")) { "#" (id) " " (product) " " (status.as_str()) } " "
        }
    }
}

/// What a search finds among every crawled listing, matched or not.
pub(crate) fn found_listings(
    search: &str,
    rows: &[(StoredListing, ListingMatches)],
    total: usize,
) -> Markup {
    html! {
        h2 {
            "Every listing “" (search) "” finds " span.count { (total) }
            @if total > rows.len() { span.muted { " (the first " (rows.len()) " shown)" } }
        }
        @if rows.is_empty() {
            p.empty { "No crawled listing matches this search." }
        } @else {
            table.runs.found {
                thead { tr { th { "Listing" } th { "Site" } th { "Title" } th { "Price" } th { "Seller" } th { "Matches" } } }
                tbody {
                    @for (l, matches) in rows {
                        tr {
                            td { a href=(format!("/listing/{}", l.id.0)) { "#" (l.id.0) } }
                            td { (l.target) }
                            td { (l.listing.title.as_deref().unwrap_or("—")) }
                            td { (display_price(l.listing.price, l.listing.currency.as_deref())) }
                            td { (l.listing.seller.as_deref().unwrap_or("—")) }
                            td { (match_links(matches)) }
                        }
                    }
                }
            }
        }
    }
}

/// One crawled listing, and for a reviewer a way to open a match on it.
pub(crate) fn listing_page(
    config: &Config,
    session: &Session,
    listing: &StoredListing,
    matches: &[(String, i64, MatchStatus)],
) -> Markup {
    let l = &listing.listing;
    let id = listing.id.0;
    layout(
        &format!("Listing {id}"),
        Some(session),
        html! {
            p { a href="/" { "← Queue" } }
            h1 { "Listing #" (id) " · " (l.title.as_deref().unwrap_or("(no title)")) }
            table.runs {
                tr { th { "URL" } td { a href=(listing.url) rel="noopener noreferrer nofollow" target="_blank" { (listing.url) " ↗" } } }
                tr { th { "Site" } td { (listing.target) } }
                tr { th { "Price" } td { (display_price(l.price, l.currency.as_deref())) } }
                tr { th { "Seller" } td { (l.seller.as_deref().unwrap_or("—")) } }
                tr { th { "Read from" } td { @if listing.stage == Stage::Card { "its search card only" } @else { "its own page" } } }
                tr { th { "Seen" } td { (day(&listing.first_seen)) " – " (day(&listing.last_seen)) } }
                tr { th { "Matches" } td { (match_links(matches)) } }
            }
            @if let Some(description) = &l.description {
                p.description { (description) }
            }
            div.photos {
                @for n in 0..l.images.len() {
                    img src=(format!("/listing/{id}/photo/{n}")) alt=(format!("listing photo {}", n + 1)) loading="lazy";
                }
            }
            @if session.user.role.can_decide() {
                h2 { "Open a match by hand" }
                p.muted { "For a listing the judge passed over. It opens pending and escalated, with the judge's score for the product; the reason goes into the audit log." }
                form.open method="post" action=(format!("/listing/{id}/open")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { "Product "
                        select name="product" required {
                            @for product in &config.catalog.products {
                                option value=(product.id) { (product.id) " · " (product.name) }
                            }
                        }
                    }
                    label { "Reason " textarea name="reason" required maxlength="2000" placeholder="why this listing needs a decision" {} }
                    button.primary type="submit" { "Open a match" }
                }
            }
        },
    )
}

fn help() -> Markup {
    html! {
        div #help .help hidden {
            h2 { "Keyboard" }
            dl {
                dt { "j / k" } dd { "next / previous match" }
                dt { "c" } dd { "confirm the infringement" }
                dt { "d" } dd { "dismiss: then 1–5 for a reason, or type one and Enter" }
                dt { "e" } dd { "escalate to a senior reviewer" }
                dt { "n" } dd { "add a note" }
                dt { "u" } dd { "undo your last decision" }
                dt { "z" } dd { "zoom the matched photos; Esc closes" }
                dt { "x" } dd { "select for a bulk action" }
                dt { "o" } dd { "open the live listing" }
                dt { "/" } dd { "search all listings" }
                dt { "?" } dd { "this help; Esc closes" }
            }
        }
    }
}

fn product_of<'a>(config: &'a Config, id: &str) -> Option<&'a Product> {
    config.catalog.products.iter().find(|p| p.id == id)
}

fn score_class(score: f64) -> &'static str {
    if score >= 0.9 {
        "score high"
    } else if score >= 0.7 {
        "score mid"
    } else {
        "score low"
    }
}

/// One match: photos side by side, the why, the facts, the actions.
pub(crate) fn match_card(
    config: &Config,
    session: &Session,
    entry: &ReviewEntry,
    back: &str,
) -> Markup {
    let e = &entry.entry;
    let signals = e.signals.as_ref();
    let product = product_of(config, &e.product_id);
    let can_decide = session.user.role.can_decide() && e.status == MatchStatus::Pending;
    let listing_photos = entry.images.len().min(3);
    // The reference photo the image match found comes first.
    let matched = signals
        .as_ref()
        .and_then(|s| s.image.as_ref())
        .map(|image| std::path::PathBuf::from(&image.reference));
    let mut references: Vec<usize> = (0..product.map_or(0, |p| p.images.len())).collect();
    if let (Some(product), Some(matched)) = (product, &matched) {
        references.sort_by_key(|&n| product.images[n] != *matched);
    }
    references.truncate(2);
    html! {
        li.match id=(format!("m{}", e.id)) data-id=(e.id) data-url=(e.listing_url) {
            div.cardhead {
                @if can_decide {
                    input.select type="checkbox" form="bulk" name="ids" value=(e.id) aria-label="select";
                }
                span class=(score_class(e.score)) { (format!("{:.2}", e.score)) }
                a.title href=(format!("/match/{}", e.id)) { (e.title.as_deref().unwrap_or("(no title)")) }
                span.status class=(e.status.as_str()) { (e.status.as_str()) }
                @if entry.escalated_at.is_some() {
                    span.status.escalated title=[entry.escalated_by.as_deref()] { "escalated" }
                }
                @if e.stage == Stage::Card {
                    span.status.card title="judged from its search results card only; the item page was not fetched" { "card only" }
                }
            }
            div.photos {
                figure {
                    div.row {
                        @for n in 0..listing_photos {
                            img.zoom src=(format!("/photo/{}/{n}", e.id)) alt=(format!("listing photo {}", n + 1)) loading="lazy";
                        }
                        @if listing_photos == 0 { div.nophoto { "no photo" } }
                    }
                    figcaption { "Listing · " (e.target) }
                }
                figure {
                    div.row {
                        @for n in references {
                            img.zoom src=(format!("/reference/{}/{n}", e.product_id)) alt=(format!("reference photo {}", n + 1)) loading="lazy";
                        }
                    }
                    figcaption {
                        "Reference · " a href=(format!("/product/{}", e.product_id)) { (e.product_id) }
                        @if let Some(p) = product { " " (p.name) }
                    }
                }
            }
            div.facts {
                dl {
                    dt { "Price" }
                    dd {
                        (display_price(e.price, e.currency.as_deref()))
                        @if let Some(price) = signals.as_ref().and_then(|s| s.price.as_ref()) {
                            " · " strong { (format!("{:.0}%", price.ratio * 100.0)) } " of MSRP " (display_price(Some(price.msrp), Some(&price.msrp_currency)))
                        }
                    }
                    dt { "Seller" }
                    dd {
                        @if let Some(seller) = &e.seller {
                            a href=(seller_href(&e.target, seller)) { (seller) }
                            @if entry.seller_confirmed > 0 { " · " span.warn { (entry.seller_confirmed) " confirmed" } }
                        } @else { "—" }
                    }
                    @if let Some(network) = &entry.network {
                        dt { "Network" }
                        dd.network {
                            a href=(format!("/network/{}", network.id)) { (network) }
                        }
                    }
                    dt { "Seen" } dd { (day(&e.first_seen)) " → " (day(&e.last_seen)) }
                    dt { "Judged from" }
                    dd.stage {
                        @match e.stage {
                            Stage::Card => { span.warn { "its search results card only" } " (title, price, thumbnail; the item page was not fetched)" }
                            Stage::Item => { "the listing's own page" }
                        }
                    }
                    dt { "Links" }
                    dd {
                        a.live href=(e.listing_url) rel="noopener noreferrer nofollow" target="_blank" { "live listing ↗" }
                        " · " a href=(format!("/capture/{}", entry.listing_id)) { "stored capture" }
                    }
                }
                @if let Some(signals) = &signals {
                    ul.why {
                        @for reason in signals.reasons() { li { (reason) } }
                    }
                }
                @if let Some(note) = &e.note {
                    p.note { (e.decided_by.as_deref().unwrap_or("")) ": " (note) }
                }
            }
            @if e.status == MatchStatus::Confirmed {
                div.actions {
                    a.button href=(format!("/match/{}/bundle", e.id)) { "Evidence bundle (.zip)" }
                    span.muted { "Takedown: " strong { (entry.takedown.as_deref().unwrap_or("not drafted")) } }
                    @if session.user.role.can_decide() {
                        form method="post" action=(format!("/match/{}/notice", e.id)) {
                            input type="hidden" name="csrf" value=(session.csrf);
                            select name="template" {
                                @for (name, _) in crate::takedown::TEMPLATES { option value=(name) { (name) } }
                            }
                            button type="submit" { "Draft notice" }
                        }
                        form method="post" action=(format!("/match/{}/takedown", e.id)) {
                            input type="hidden" name="csrf" value=(session.csrf);
                            input type="hidden" name="back" value=(back);
                            select name="state" {
                                @for state in ["submitted", "removed", "rejected"] { option value=(state) { (state) } }
                            }
                            button type="submit" { "Set takedown" }
                        }
                    }
                }
            }
            @if can_decide { (decision_actions(session, e.id, back)) }
        }
    }
}

/// The listing photo that matched and the reference photo it matched, as
/// URLs, with how the one shows the other in words.
struct MatchedPair {
    listing: String,
    reference: String,
    reference_name: String,
    photo: usize,
    words: String,
    bits: String,
}

fn matched_pair(config: &Config, e: &crate::store::QueueEntry) -> Option<MatchedPair> {
    let image = e.signals.as_ref()?.image.as_ref()?;
    let product = product_of(config, &e.product_id)?;
    let n = product
        .images
        .iter()
        .position(|p| p.to_string_lossy() == image.reference)?;
    Some(MatchedPair {
        listing: format!("/photo/{}/{}", e.id, image.photo.saturating_sub(1)),
        reference: format!("/reference/{}/{n}", e.product_id),
        reference_name: image.reference.clone(),
        photo: image.photo,
        words: image.in_words(),
        bits: format!(
            "{}/64 + {}/64 bits apart, colours {:.0} apart",
            image.phash_distance, image.dhash_distance, image.layout_distance
        ),
    })
}

/// The matched pair side by side, large; a click (or `z`) zooms.
fn matched_photos(pair: &MatchedPair) -> Markup {
    html! {
        figure.pair {
            div.row {
                img.zoom src=(pair.listing) alt=(format!("listing photo {}", pair.photo));
                img.zoom src=(pair.reference) alt=(format!("reference photo {}", pair.reference_name));
            }
            figcaption {
                "Listing photo " (pair.photo) " shows " strong { (pair.reference_name) } " " (pair.words)
                span.muted { " (" (pair.bits) ")" }
            }
        }
    }
}

/// One match as a compact tile of the grid view: the matched pair, the
/// score, the facts in two lines, the same actions as a card.
pub(crate) fn match_tile(
    config: &Config,
    session: &Session,
    entry: &ReviewEntry,
    back: &str,
) -> Markup {
    let e = &entry.entry;
    let signals = e.signals.as_ref();
    let can_decide = session.user.role.can_decide() && e.status == MatchStatus::Pending;
    let pair = matched_pair(config, e);
    html! {
        li.match.tile id=(format!("m{}", e.id)) data-id=(e.id) data-url=(e.listing_url) {
            div.cardhead {
                @if can_decide {
                    input.select type="checkbox" form="bulk" name="ids" value=(e.id) aria-label="select";
                }
                span class=(score_class(e.score)) { (format!("{:.2}", e.score)) }
                a.title href=(format!("/match/{}", e.id)) title=[e.title.as_deref()] { (e.title.as_deref().unwrap_or("(no title)")) }
            }
            div.pairs {
                @if let Some(pair) = &pair {
                    img.zoom src=(pair.listing) alt="matched listing photo" loading="lazy";
                    img.zoom src=(pair.reference) alt="matched reference photo" loading="lazy";
                } @else {
                    @if entry.images.is_empty() { div.nophoto { "no photo" } }
                    @else { img.zoom src=(format!("/photo/{}/0", e.id)) alt="listing photo 1" loading="lazy"; }
                    img.zoom src=(format!("/reference/{}/0", e.product_id)) alt="reference photo 1" loading="lazy";
                }
            }
            p.line {
                (e.product_id) " · " (display_price(e.price, e.currency.as_deref()))
                @if let Some(price) = signals.and_then(|s| s.price.as_ref()) {
                    " · " strong { (format!("{:.0}%", price.ratio * 100.0)) } " of MSRP"
                }
            }
            p.line.muted {
                (e.target) " · " (e.seller.as_deref().unwrap_or("—"))
                @if entry.seller_confirmed > 0 { " · " span.warn { (entry.seller_confirmed) " confirmed" } }
                @if entry.escalated_at.is_some() { " · " span.status.escalated { "escalated" } }
                @if e.status != MatchStatus::Pending { " · " span.status class=(e.status.as_str()) { (e.status.as_str()) } }
            }
            p.line.muted.how {
                @if let Some(pair) = &pair { (pair.words) } @else { (signals.and_then(|s| s.queued_by()).unwrap_or_default()) }
            }
            @if can_decide { (decision_actions(session, e.id, back)) }
        }
    }
}

/// Confirm, escalate, dismiss (with its reasons) and note: the forms the
/// keyboard script submits.
fn decision_actions(session: &Session, id: i64, back: &str) -> Markup {
    html! {
        div.actions {
            (action_form(session, id, "confirm", back, html! { button.confirm type="submit" { "Confirm " kbd { "c" } } }))
            (action_form(session, id, "escalate", back, html! { button type="submit" { "Escalate " kbd { "e" } } }))
            details.dismiss {
                summary { "Dismiss " kbd { "d" } }
                form method="post" action=(format!("/match/{id}/dismiss")) {
                    (action_fields(session, back))
                    @for (n, reason) in DISMISS_REASONS.iter().enumerate() {
                        button.reason type="submit" name="reason" value=(reason) data-key=(n + 1) { kbd { (n + 1) } " " (reason) }
                    }
                    input name="other" placeholder="other reason, Enter";
                }
            }
            details.note {
                summary { "Note " kbd { "n" } }
                form method="post" action=(format!("/match/{id}/note")) {
                    (action_fields(session, back))
                    input name="note" placeholder="note, Enter" required;
                }
            }
        }
    }
}

/// What every action form carries: the CSRF token, the page to return
/// to, and the match to land on (filled in by the keyboard script).
fn action_fields(session: &Session, back: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(session.csrf);
        input type="hidden" name="back" value=(back);
        input type="hidden" name="next" value="";
    }
}

fn action_form(session: &Session, id: i64, action: &str, back: &str, button: Markup) -> Markup {
    html! {
        form method="post" action=(format!("/match/{id}/{action}")) data-action=(action) {
            (action_fields(session, back))
            (button)
        }
    }
}

/// The date part of a stored timestamp.
fn day(timestamp: &str) -> &str {
    timestamp.get(..10).unwrap_or(timestamp)
}

/// One match with its whole history.
pub(crate) fn match_page(
    config: &Config,
    session: &Session,
    entry: &ReviewEntry,
    history: &[AuditRow],
    explanation: Option<&Explanation>,
    contacts: &[Contact],
) -> Markup {
    let back = format!("/match/{}", entry.entry.id);
    let listing = [entry.listing_id];
    layout(
        &format!("Match {}", entry.entry.id),
        Some(session),
        html! {
            p { a href="/" { "← Queue" } }
            @if let Some(pair) = matched_pair(config, &entry.entry) {
                h2 { "The matched photos" }
                (matched_photos(&pair))
            }
            ol.matches { (match_card(config, session, entry, &back)) }
            h2 { "Contacts the listing gives away" }
            (contact_table(contacts.iter().map(|c| (c.kind, c.value.as_str(), &listing[..]))))
            @if let Some(explanation) = explanation {
                h2 { "Why (every product, every rule)" }
                (explain_section(explanation))
            }
            h2 { "History" }
            (audit_table(history))
        },
    )
}

/// What `knockoff explain` prints, as a page section.
fn explain_section(e: &Explanation) -> Markup {
    html! {
        @if e.authorized_seller {
            p { "The seller is authorized by the brand: never judged, never queued." }
        }
        @for p in &e.products {
            section.explain {
                h3 {
                    (p.product_id) " " (p.product_name) ": "
                    @if p.queued { strong { "queued" } } @else { "not queued" }
                    @if let (Some(id), Some(status)) = (p.match_id, &p.status) {
                        " (" a href=(format!("/match/{id}")) { "#" (id) } ", " (status) ")"
                    }
                }
                p.muted {
                    (format!(
                        "score {:.3} = identity {:.3} × infringement {:.3}",
                        p.score, p.signals.identity, p.signals.infringement
                    ))
                }
                ul.rules {
                    @for rule in &p.signals.rules {
                        li class=(if rule.fired { "fired" } else { "idle" }) {
                            (if rule.fired { "✔ " } else { "· " }) strong { (rule.rule) } ": " (rule.why)
                        }
                    }
                }
                ul.reasons {
                    @for reason in p.signals.signal_reasons() {
                        li { (reason) }
                    }
                }
            }
        }
    }
}

fn audit_table(rows: &[AuditRow]) -> Markup {
    html! {
        table.audit {
            thead { tr { th { "When (UTC)" } th { "Who" } th { "What" } th { "Match" } th { "Detail" } } }
            tbody {
                @for row in rows {
                    tr {
                        td { (row.at.replace('T', " ").trim_end_matches('Z')) }
                        td { (row.actor) }
                        td { (row.action) }
                        td { @if let Some(id) = row.match_id { a href=(format!("/match/{id}")) { "#" (id) } } }
                        td { (row.detail.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// The whole audit log, for admins.
pub(crate) fn audit_page(
    session: &Session,
    rows: &[AuditRow],
    total: usize,
    page: usize,
) -> Markup {
    let pages = total.div_ceil(100).max(1);
    layout(
        "Audit log",
        Some(session),
        html! {
            div.listhead { h1 { "Audit log " span.count { (total) } } span.muted { "page " (page) " of " (pages) " · append-only" } }
            (audit_table(rows))
            nav.pages {
                @if page > 1 { a href=(format!("/audit?page={}", page - 1)) { "← Newer" } }
                @if page < pages { a href=(format!("/audit?page={}", page + 1)) { "Older →" } }
            }
        },
    )
}

/// Crawl runs, newest first, a running one with its progress.
pub(crate) fn runs_page(session: &Session, runs: &[RunRow], crawl_state: &str) -> Markup {
    layout(
        "Runs",
        Some(session),
        html! {
            div.listhead { h1 { "Crawl runs" } span.muted { (crawl_state) } }
            @if runs.iter().any(|r| r.running) {
                meta http-equiv="refresh" content="5";
            }
            table.runs {
                thead { tr {
                    th { "Run" } th { "Started (UTC)" } th { "Duration" } th { "Requests" }
                    th { "Target" } th { "Pages" } th { "New" } th { "Changed" } th { "Queued" } th { "Errors" }
                } }
                tbody {
                    @for run in runs {
                        @let rows = run.per_target.len().max(1);
                        @for (n, target) in run.per_target.iter().map(Some).chain(run.per_target.is_empty().then_some(None)).enumerate() {
                            tr class=[run.running.then_some("running")] {
                                @if n == 0 {
                                    td rowspan=(rows) { "#" (run.id) }
                                    td rowspan=(rows) { (run.started_at.replace('T', " ").get(..19).unwrap_or("")) }
                                    td rowspan=(rows) {
                                        @if run.running {
                                            @let total = run.done + run.to_do;
                                            progress value=(run.done) max=(total.max(1)) {}
                                            " " (run.done) " / " (total) " items"
                                        } @else if let Some(summary) = &run.summary {
                                            (format!("{:.0} s", summary.seconds))
                                        }
                                    }
                                    td rowspan=(rows) { @if let Some(s) = &run.summary { (s.requests) } }
                                }
                                @if let Some(t) = target {
                                    td { strong { (t.target) } }
                                    td { (t.pages) }
                                    td { (t.listings_new) }
                                    td { (t.listings_changed) }
                                    td { (t.queued) }
                                    td {
                                        @if t.errors.is_empty() { span.muted { "none" } }
                                        @for (kind, count) in &t.errors { div { (kind) ": " (count) } }
                                    }
                                } @else {
                                    td colspan="6" { span.muted { "nothing crawled" } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The colour of a link's kind in the network graph (and its legend).
fn link_colour(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Email => "#1f6feb",
        ContactKind::Phone => "#d1242f",
        ContactKind::Messenger => "#8250df",
        ContactKind::Domain => "#1a7f37",
        ContactKind::Photo => "#bf8700",
    }
}

/// Most accounts the graph draws; a bigger network is listed in full in
/// the tables below it, which a circle of hundreds of names would not help.
const GRAPH_ACCOUNTS: usize = 60;

/// A network as a graph drawn in SVG on the server: its accounts on a
/// circle (the first [`GRAPH_ACCOUNTS`]), an edge between every two
/// accounts that show one value, coloured by the value's kind (each edge's
/// title names the value).
fn network_graph(network: &NetworkReport) -> Markup {
    const SIZE: f64 = 420.0;
    let members = &network.members[..network.members.len().min(GRAPH_ACCOUNTS)];
    let n = members.len().max(1);
    let radius = if n == 1 { 0.0 } else { SIZE / 2.0 - 90.0 };
    let position = |i: usize| {
        let angle = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
        (
            SIZE / 2.0 + radius * angle.cos(),
            SIZE / 2.0 + radius * angle.sin(),
        )
    };
    let index: std::collections::HashMap<String, usize> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("{}/{}", m.target, m.seller), i))
        .collect();
    let mut edges = Vec::new();
    for link in &network.links {
        let ends: Vec<usize> = link
            .members
            .iter()
            .filter_map(|m| index.get(m).copied())
            .collect();
        for (k, &a) in ends.iter().enumerate() {
            for &b in &ends[k + 1..] {
                edges.push((a, b, link));
            }
        }
    }
    html! {
        svg.network viewBox=(format!("0 0 {SIZE} {SIZE}")) width=(SIZE) height=(SIZE) role="img"
            aria-label=(format!("seller network #{}: {} accounts", network.id, network.members.len())) {
            @for (a, b, link) in &edges {
                @let ((x1, y1), (x2, y2)) = (position(*a), position(*b));
                line x1=(format!("{x1:.1}")) y1=(format!("{y1:.1}")) x2=(format!("{x2:.1}")) y2=(format!("{y2:.1}"))
                    stroke=(link_colour(link.kind)) stroke-width="3" {
                    title { (link.kind) ": " (link.value) }
                }
            }
            @for (i, member) in members.iter().enumerate() {
                @let (x, y) = position(i);
                g {
                    title { (member.target) "/" (member.seller) ": " (member.listings) " listings, " (member.confirmed) " confirmed" }
                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="14"
                        fill=(if member.confirmed > 0 { "#d1242f" } else { "#57606a" }) {}
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", y + 30.0)) text-anchor="middle" font-size="12" {
                        (member.target) "/" (member.seller)
                    }
                }
            }
        }
        p.legend {
            @for kind in [ContactKind::Email, ContactKind::Phone, ContactKind::Messenger, ContactKind::Domain, ContactKind::Photo] {
                svg width="14" height="10" aria-hidden="true" { rect width="14" height="10" fill=(link_colour(kind)) {} }
                " " (kind) "  "
            }
            " · a red account has confirmed infringements"
            @if network.members.len() > members.len() {
                " · the graph shows " (members.len()) " of " (network.members.len()) " accounts; the table lists all"
            }
        }
    }
}

/// The network page's own part: the graph, the accounts, the links with
/// the listings that show them, and for a reviewer the bulk actions.
pub(crate) fn network_section(session: &Session, network: &NetworkReport, back: &str) -> Markup {
    let id = network.id;
    html! {
        h2 { "The network" }
        (network_graph(network))
        h3 { "Accounts" }
        table.runs {
            thead { tr { th { "Site" } th { "Seller" } th { "Listings" } th { "Matches" } th { "Confirmed" } } }
            tbody {
                @for m in &network.members {
                    tr {
                        td { (m.target) }
                        td { a href=(seller_href(&m.target, &m.seller)) { (m.seller) } }
                        td { (m.listings) }
                        td { (m.matches) }
                        td { @if m.confirmed > 0 { span.warn { (m.confirmed) } } @else { "0" } }
                    }
                }
            }
        }
        h3 { "What links them" }
        table.runs {
            thead { tr { th { "Kind" } th { "Value" } th { "Shown by" } th { "In listings" } } }
            tbody {
                @for link in &network.links {
                    tr {
                        td { (link.kind) }
                        td { code { (link.value) } }
                        td { (link.members.join(", ")) }
                        td {
                            @for listing in &link.listings {
                                a href=(format!("/listing/{listing}")) { "#" (listing) } " "
                            }
                        }
                    }
                }
            }
        }
        @if session.user.role.can_decide() {
            h3 { "Act on the whole network" }
            div.actions {
                form method="post" action=(format!("/network/{id}/confirm")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="back" value=(back);
                    input name="note" placeholder="note for every decision" maxlength="2000";
                    button.confirm type="submit" { "Confirm every pending match" }
                }
                form method="post" action=(format!("/network/{id}/notices")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    select name="template" {
                        @for (name, _) in crate::takedown::TEMPLATES { option value=(name) { (name) } }
                    }
                    button type="submit" { "Draft notices for every confirmed match" }
                }
                form method="post" action=(format!("/network/{id}/dossier")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button type="submit" { "Network dossier (.zip)" }
                }
            }
        }
    }
}

/// The seller page of one account.
pub(crate) fn seller_href(target: &str, seller: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("name", seller);
    query.append_pair("target", target);
    format!("/seller?{}", query.finish())
}

/// What an account gives away and the network it is in.
pub(crate) fn seller_profile(profile: &SellerProfile) -> Markup {
    html! {
        h2 { "Contacts and network" }
        @match &profile.network {
            Some(network) => {
                p { "In " a href=(format!("/network/{}", network.id)) { "seller network #" (network.id) }
                    " with " (network.members.len().saturating_sub(1)) " other account(s)." }
            }
            None => { p.muted { "In no network: no contact or photo shared with another seller." } }
        }
        (contact_table(profile.contacts.iter().map(|(kind, value, listings)| (*kind, value.as_str(), listings.as_slice()))))
    }
}

/// Contacts with the listings that show each.
fn contact_table<'a>(contacts: impl Iterator<Item = (ContactKind, &'a str, &'a [i64])>) -> Markup {
    let contacts: Vec<_> = contacts.collect();
    html! {
        @if contacts.is_empty() {
            p.muted { "No contact details found." }
        } @else {
            table.runs.contacts {
                thead { tr { th { "Kind" } th { "Value" } th { "In listings" } } }
                tbody {
                    @for (kind, value, listings) in &contacts {
                        tr {
                            td { (kind) }
                            td { code { (value) } }
                            td { @for l in *listings { a href=(format!("/listing/{l}")) { "#" (l) } " " } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::networks::LinkReport;
    use crate::store::SellerFigures;

    fn network(accounts: usize) -> NetworkReport {
        let members: Vec<SellerFigures> = (0..accounts)
            .map(|i| SellerFigures {
                target: "bazaar".into(),
                seller: format!("<b>acct{i}</b>"),
                listings: 1,
                matches: 0,
                confirmed: u64::from(i == 0),
            })
            .collect();
        let links = (1..accounts)
            .map(|i| LinkReport {
                kind: ContactKind::Phone,
                value: format!("+4915100000{i}"),
                members: vec![
                    format!("bazaar/<b>acct{}</b>", i - 1),
                    format!("bazaar/<b>acct{i}</b>"),
                ],
                listings: vec![i as i64],
            })
            .collect();
        NetworkReport {
            id: 3,
            members,
            links,
        }
    }

    #[test]
    fn the_graph_draws_accounts_and_links_escaped_and_bounded() {
        let small = network_graph(&network(4)).into_string();
        assert_eq!(small.matches("<circle").count(), 4);
        assert_eq!(small.matches("<line").count(), 3);
        assert!(small.contains("&lt;b&gt;acct0&lt;/b&gt;"), "{small}");
        assert!(!small.contains("<b>"), "scraped names are text");
        assert!(!small.contains("the graph shows"));
        let big = network_graph(&network(500)).into_string();
        assert_eq!(big.matches("<circle").count(), GRAPH_ACCOUNTS);
        assert_eq!(big.matches("<line").count(), GRAPH_ACCOUNTS - 1);
        assert!(big.contains("the graph shows 60 of 500 accounts"), "{big}");
    }
}
