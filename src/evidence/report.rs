//! The human side of a bundle: `report.html` (self-contained: photos
//! inline, no scripts, no requests) and the drafted `notice.txt`.

use std::collections::BTreeMap;

use maud::{html, DOCTYPE};
use sha2::{Digest, Sha256};

use super::Decision;
use crate::config::{Config, Product};
use crate::extract::display_price;
use crate::store::{Capture, ReviewEntry};

pub(super) const STYLE: &str = "body{font:14px/1.5 -apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1d2330;max-width:980px;margin:24px auto;padding:0 16px}\
h1{font-size:22px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #e3e6eb;padding-bottom:4px}\
.photos{display:flex;gap:24px;flex-wrap:wrap}.photos figure{margin:0}.photos img{width:220px;height:220px;object-fit:contain;border:1px solid #e3e6eb;border-radius:6px;background:#fafafa}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top;overflow-wrap:anywhere}\
th{color:#667085;font-weight:600;width:180px}code{font-size:12px}\
.unreviewed{background:#fde8e8;color:#8a1c1c;border:2px solid #8a1c1c;padding:10px 14px;font-weight:700;border-radius:6px}\
.pair{border:1px solid #e3e6eb;border-radius:8px;padding:12px}.description{white-space:pre-wrap}code.key{font-size:13px;word-break:break-all}";

fn data_uri(bytes: &[u8]) -> Option<String> {
    let mime = crate::photo::inspect(bytes, u64::MAX).ok()?.format.mime();
    Some(format!(
        "data:{mime};base64,{}",
        data_encoding::BASE64.encode(bytes)
    ))
}

/// What `report.html` is made from.
pub struct ReportInput<'a> {
    pub config: &'a Config,
    pub product: &'a Product,
    pub entry: &'a ReviewEntry,
    pub page: &'a Capture,
    /// Every file of the bundle, by its name.
    pub files: &'a BTreeMap<String, Vec<u8>>,
    /// The listing's photos in the bundle: (number in page order, file).
    pub listing_photos: &'a [(usize, String)],
    pub decisions: &'a [Decision],
    pub description: Option<&'a str>,
    /// The hex Ed25519 key that signs the manifest.
    pub public_key: &'a str,
    /// No reviewer confirmed the match.
    pub unreviewed: bool,
}

/// The photo the matcher paired: the listing's photo and the reference it
/// matched, with how.
struct Pair {
    listing: String,
    reference: String,
    how: String,
}

/// `report.html`: what was found, why, when, and every hash.
pub fn report(input: &ReportInput) -> String {
    let ReportInput {
        config,
        product,
        entry,
        page,
        files,
        listing_photos,
        decisions,
        description,
        public_key,
        unreviewed,
    } = input;
    let e = &entry.entry;
    let signals = e.signals.as_ref();
    let uri = |name: &str| files.get(name).and_then(|bytes| data_uri(bytes));
    // The matched pair first, side by side; the other photos after it.
    let pair = signals.and_then(|s| s.image.as_ref()).and_then(|image| {
        let listing = listing_photos
            .iter()
            .find(|(n, _)| *n == image.photo)
            .map(|(_, name)| name.clone())?;
        let reference = format!("references/{}", image.reference.replace('\\', "/"));
        files.contains_key(&reference).then(|| Pair {
            listing,
            reference,
            how: format!(
                "{}: perceptual hash {}/64 bits apart, difference hash {}/64, colour layout {:.2}; {} of the listing photo; strength {:.2}",
                if image.variant.is_empty() { "as published" } else { &image.variant },
                image.phash_distance,
                image.dhash_distance,
                image.layout_distance,
                image.view,
                image.strength
            ),
        })
    });
    let others = |prefix: &str| -> Vec<(String, String)> {
        files
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter(|(name, _)| {
                pair.as_ref()
                    .is_none_or(|p| **name != p.listing && **name != p.reference)
            })
            .filter_map(|(name, bytes)| Some((name.clone(), data_uri(bytes)?)))
            .collect()
    };
    // Every event in time order (RFC 3339 UTC sorts as text).
    let mut timeline: Vec<(String, String)> = vec![
        (
            e.first_seen.clone(),
            "first seen by the crawler".to_string(),
        ),
        (e.first_queued.clone(), "queued for review".to_string()),
        (e.last_seen.clone(), "last seen by the crawler".to_string()),
        (
            page.started_at.clone(),
            "the listing page captured (this bundle's page)".to_string(),
        ),
    ];
    for d in decisions.iter() {
        let mut what = format!("{}: {}", d.actor, d.action);
        if let Some(detail) = &d.detail {
            what.push_str(&format!(" — {detail}"));
        }
        timeline.push((d.at.clone(), what));
    }
    timeline.sort_by(|a, b| a.0.cmp(&b.0));
    // The CSP keeps the report inert even if a viewer opens it from disk.
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'";
                title { @if *unreviewed { "UNREVIEWED · " } "Evidence: match " (e.id) " · " (product.id) }
                style { (STYLE) }
            }
            body {
                @if *unreviewed {
                    p.unreviewed { "UNREVIEWED: no reviewer has confirmed this match. It was " (e.status) " when this bundle was made; it is not a finding of infringement and its notice must not be sent." }
                }
                h1 { "Suspected infringement of " (product.name) " (" (product.id) ")" }
                p { "Prepared by knockoff " (env!("CARGO_PKG_VERSION")) " for " (config.catalog.brand.rights_owner) ". Match #" (e.id) ", status when exported " strong { (e.status) }
                    @if let (Some(at), Some(by)) = (&e.decided_at, &e.decided_by) { " (decided by " (by) " at " (at) ")" }
                    ", score " (format!("{:.2}", e.score)) "." }
                h2 { "Photos" }
                @if let Some(pair) = &pair {
                    p { "The listing's photo beside the brand's reference photo it copies — " (pair.how) "." }
                    div.photos.pair {
                        @if let Some(u) = uri(&pair.listing) { figure { img src=(u) alt=(pair.listing); figcaption { "Listing: " (pair.listing) } } }
                        @if let Some(u) = uri(&pair.reference) { figure { img src=(u) alt=(pair.reference); figcaption { "Reference: " (pair.reference) } } }
                    }
                }
                @let listing_others = others("images/");
                @let reference_others = others("references/");
                @if !listing_others.is_empty() {
                    h2 { @if pair.is_some() { "The listing's other photos" } @else { "The listing's photos" } }
                    div.photos { @for (name, uri) in &listing_others { figure { img src=(uri) alt=(name); figcaption { "Listing: " (name) } } } }
                }
                @if !reference_others.is_empty() {
                    h2 { @if pair.is_some() { "The product's other reference photos" } @else { "The product's reference photos" } }
                    div.photos { @for (name, uri) in &reference_others { figure { img src=(uri) alt=(name); figcaption { "Reference: " (name) } } } }
                }
                @if let Some(uri) = files.get("screenshot.png").and_then(|png| data_uri(png)) {
                    h2 { "The page as captured" }
                    p { "Rendered from the captured bytes with the network off (remote images do not load)." }
                    img src=(uri) alt="screenshot of the captured listing page" style="max-width:100%;border:1px solid #e3e6eb";
                }
                h2 { "The listing" }
                table {
                    tr { th { "URL" } td { (e.listing_url) } }
                    tr { th { "Marketplace" } td { (e.target) } }
                    tr { th { "Title" } td { (e.title.as_deref().unwrap_or("—")) } }
                    tr { th { "Seller" } td { (e.seller.as_deref().unwrap_or("—")) } }
                    tr { th { "Price" } td {
                        (display_price(e.price, e.currency.as_deref()))
                        @if let Some(price) = signals.as_ref().and_then(|s| s.price.as_ref()) {
                            " — " (format!("{:.0}%", price.ratio * 100.0)) " of the MSRP of " (display_price(Some(price.msrp), Some(&price.msrp_currency)))
                        }
                    } }
                    tr { th { "Description" } td.description { (description.unwrap_or("—")) } }
                    tr { th { "Captured" } td { (page.started_at) " from " (page.remote_addr.as_deref().unwrap_or("an unrecorded address")) ", HTTP " (page.status.map_or("—".to_string(), |s| s.to_string())) } }
                }
                h2 { "Why it was flagged" }
                @if let Some(signals) = &signals {
                    ul { @for reason in signals.reasons() { li { (reason) } } }
                }
                h2 { "Timeline" }
                table {
                    @for (at, what) in &timeline {
                        tr { th { (at) } td { (what) } }
                    }
                }
                h2 { "Files and their SHA-256" }
                table {
                    @for (name, bytes) in files.iter() {
                        tr { th { (name) } td { code { (hex::encode(Sha256::digest(bytes))) } " (" (bytes.len()) " bytes)" } }
                    }
                }
                h2 { "Signature" }
                p { "manifest.json lists these files with their hashes; manifest.sig is an Ed25519 signature over manifest.json's exact bytes by this public key (hex), which " (config.catalog.brand.rights_owner) " can confirm as its own:" }
                p { code.key { (public_key) } }
            }
        }
    }
    .into_string()
}

/// The drafted `notice.txt`: a generic marketplace IP complaint — for an
/// unreviewed match, headed so that nobody sends it.
pub fn notice(config: &Config, product: &Product, entry: &ReviewEntry, unreviewed: bool) -> String {
    let brand = &config.catalog.brand;
    let e = &entry.entry;
    let registrations = if brand.registrations.is_empty() {
        "(registrations: see our records)".to_string()
    } else {
        brand.registrations.join(", ")
    };
    let warning = if unreviewed {
        "UNREVIEWED — DO NOT SEND. No reviewer has confirmed this match; the\n\
         statements below are a draft, not a finding.\n\n"
    } else {
        ""
    };
    format!(
        "{warning}Intellectual property complaint\n\
         ===============================\n\n\
         Rights owner: {owner}\n\
         Rights: {registrations}\n\
         Protected product: {name} ({id})\n\n\
         Infringing listing\n\
         ------------------\n\
         URL: {url}\n\
         Marketplace: {target}\n\
         Title: {title}\n\
         Seller: {seller}\n\n\
         The listing above offers goods that infringe the rights named, using the\n\
         rights owner's official product photographs and/or marks without\n\
         authorisation. The listing was captured and is preserved in the attached\n\
         evidence bundle (match #{match_id}); its manifest lists the SHA-256 of every\n\
         file and is signed with the rights owner's Ed25519 key.\n\n\
         We have a good-faith belief that the use described is not authorised by\n\
         the rights owner, its agent, or the law, and the information in this\n\
         notice is accurate. We ask that the listing be removed.\n\n\
         Signed: ____________________  for {owner}\n",
        owner = brand.rights_owner,
        name = product.name,
        id = product.id,
        url = e.listing_url,
        target = e.target,
        title = e.title.as_deref().unwrap_or("-"),
        seller = e.seller.as_deref().unwrap_or("-"),
        match_id = e.id,
    )
}
