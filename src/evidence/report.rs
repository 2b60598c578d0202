//! The human side of a bundle: `report.html` (self-contained: photos
//! inline, no scripts, no requests) and the drafted `notice.txt`.

use std::collections::BTreeMap;

use maud::{html, DOCTYPE};
use sha2::{Digest, Sha256};

use super::Decision;
use crate::config::{Config, Product};
use crate::extract::display_price;
use crate::store::{Capture, ReviewEntry};

const STYLE: &str = "body{font:14px/1.5 -apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1d2330;max-width:980px;margin:24px auto;padding:0 16px}\
h1{font-size:22px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #e3e6eb;padding-bottom:4px}\
.photos{display:flex;gap:24px;flex-wrap:wrap}.photos figure{margin:0}.photos img{width:220px;height:220px;object-fit:contain;border:1px solid #e3e6eb;border-radius:6px;background:#fafafa}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top;overflow-wrap:anywhere}\
th{color:#667085;font-weight:600;width:180px}code{font-size:12px}";

fn data_uri(bytes: &[u8]) -> Option<String> {
    let mime = crate::photo::inspect(bytes, u64::MAX).ok()?.format.mime();
    Some(format!(
        "data:{mime};base64,{}",
        data_encoding::BASE64.encode(bytes)
    ))
}

/// `report.html`: what was found, why, when, and every hash.
pub fn report(
    config: &Config,
    product: &Product,
    entry: &ReviewEntry,
    page: &Capture,
    files: &BTreeMap<String, Vec<u8>>,
    decisions: &[Decision],
) -> String {
    let e = &entry.entry;
    let signals = e.signals.as_ref();
    let photos = |prefix: &str| -> Vec<(String, String)> {
        files
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter_map(|(name, bytes)| Some((name.clone(), data_uri(bytes)?)))
            .collect()
    };
    // The CSP keeps the report inert even if a viewer opens it from disk.
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'";
                title { "Evidence: match " (e.id) " · " (product.id) }
                style { (STYLE) }
            }
            body {
                h1 { "Suspected infringement of " (product.name) " (" (product.id) ")" }
                p { "Prepared by knockoff " (env!("CARGO_PKG_VERSION")) " for " (config.catalog.brand.rights_owner) ". Match #" (e.id) ", status " strong { (e.status) } ", score " (format!("{:.2}", e.score)) "." }
                h2 { "Photos" }
                div.photos {
                    @for (name, uri) in photos("images/") {
                        figure { img src=(uri) alt=(name); figcaption { "Listing: " (name) } }
                    }
                    @for (name, uri) in photos("references/") {
                        figure { img src=(uri) alt=(name); figcaption { "Reference: " (name) } }
                    }
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
                    tr { th { "Captured" } td { (page.started_at) " from " (page.remote_addr.as_deref().unwrap_or("an unrecorded address")) ", HTTP " (page.status.map_or("—".to_string(), |s| s.to_string())) } }
                }
                h2 { "Why it was flagged" }
                @if let Some(signals) = &signals {
                    ul { @for reason in signals.reasons() { li { (reason) } } }
                }
                h2 { "Timeline" }
                table {
                    tr { th { (e.first_seen) } td { "first seen by the crawler" } }
                    tr { th { (e.first_queued) } td { "queued for review" } }
                    tr { th { (e.last_seen) } td { "last seen by the crawler" } }
                    @for d in decisions {
                        tr { th { (d.at) } td { (d.actor) ": " (d.action) @if let Some(detail) = &d.detail { " — " (detail) } } }
                    }
                }
                h2 { "Files and their SHA-256" }
                table {
                    @for (name, bytes) in files {
                        tr { th { (name) } td { code { (hex::encode(Sha256::digest(bytes))) } " (" (bytes.len()) " bytes)" } }
                    }
                }
                p { "manifest.json lists these files with their hashes; manifest.sig is an Ed25519 signature over manifest.json's exact bytes by the public key it names." }
            }
        }
    }
    .into_string()
}

/// The drafted `notice.txt`: a generic marketplace IP complaint.
pub fn notice(config: &Config, product: &Product, entry: &ReviewEntry) -> String {
    let brand = &config.catalog.brand;
    let e = &entry.entry;
    let registrations = if brand.registrations.is_empty() {
        "(registrations: see our records)".to_string()
    } else {
        brand.registrations.join(", ")
    };
    format!(
        "Intellectual property complaint\n\
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
