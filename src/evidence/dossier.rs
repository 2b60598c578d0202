//! A network dossier for counsel: one signed bundle per seller network,
//! `network-ID.zip` — every account, every link with the captured listings
//! that show it (each listing's page and its photos' exchanges as WARC),
//! the accounts' profile pages the crawl read (their bios give contacts
//! away too),
//! every confirmed match of its accounts with the reviewers' decisions, a
//! self-contained `report.html` and `network.json` (the network as
//! `knockoff networks --format json` prints it). Signed and checked
//! exactly like a match's bundle: `evidence verify` reads either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use maud::{html, DOCTYPE};
use serde::{Deserialize, Serialize};

use super::{
    decisions_of, file_entries, public_key_hex, seal, signature_info, signing_key, warc, Decision,
    Exported, FileEntry, SignatureInfo, FORMAT_VERSION,
};
use crate::config::Config;
use crate::networks::{LinkReport, NetworkReport};
use crate::store::{MatchId, SellerFigures, Store, StoredListing};

/// Most listings one dossier captures; the rest are counted, not carried
/// (a dossier's size stays bounded whatever the network's).
const MAX_LISTINGS: usize = 1_000;

/// Listings of one account one link carries as evidence.
const PER_LINK_AND_ACCOUNT: usize = 3;

/// One captured listing in a dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierListing {
    pub id: i64,
    pub target: String,
    pub seller: Option<String>,
    pub url: String,
    pub title: Option<String>,
    /// When its page was captured (RFC 3339 UTC).
    pub captured_at: String,
    /// The address the page came from.
    pub remote_addr: Option<String>,
    /// Its files in the dossier: `listings/ID/page.html` and
    /// `listings/ID/listing.warc.gz`.
    pub page: String,
    pub warc: String,
}

/// A seller's profile page in a dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierProfile {
    pub target: String,
    pub seller: String,
    pub url: String,
    pub captured_at: String,
    pub remote_addr: Option<String>,
    /// Its files: `profiles/N/page.html` and `profiles/N/page.warc.gz`.
    pub page: String,
    pub warc: String,
}

/// A confirmed match of one of the network's accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierMatch {
    pub match_id: i64,
    pub product_id: String,
    pub listing_id: i64,
    pub listing_url: String,
    pub takedown: Option<String>,
    pub decisions: Vec<Decision>,
}

/// `manifest.json` of a network dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierManifest {
    pub format_version: u32,
    pub network_id: i64,
    pub exported_at: String,
    pub tool: String,
    pub tool_version: String,
    pub members: Vec<SellerFigures>,
    pub links: Vec<LinkReport>,
    pub listings: Vec<DossierListing>,
    #[serde(default)]
    pub profiles: Vec<DossierProfile>,
    /// Listings the links or matches name beyond [`MAX_LISTINGS`], not captured.
    pub listings_left_out: usize,
    pub confirmed: Vec<DossierMatch>,
    pub files: Vec<FileEntry>,
    pub signature: SignatureInfo,
}

/// The listings a dossier captures: for every link, a few of each
/// account's listings that show it; then every confirmed match's listing.
fn evidence_listings(network: &NetworkReport, confirmed: &[DossierMatch]) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    let mut seen = BTreeSet::new();
    for link in &network.links {
        for listing in link
            .listings
            .iter()
            .take(PER_LINK_AND_ACCOUNT * link.members.len())
        {
            if seen.insert(*listing) {
                ids.push(*listing);
            }
        }
    }
    for m in confirmed {
        if seen.insert(m.listing_id) {
            ids.push(m.listing_id);
        }
    }
    ids
}

/// Writes `network-ID.zip` for seller network `network` into `out_dir`,
/// audited as `actor`'s with its hash. A dossier already there is kept
/// under `superseded/`.
pub fn export_network(
    config: &Config,
    store: &Store,
    network: &NetworkReport,
    out_dir: &Path,
    actor: &str,
) -> Result<Exported> {
    let mut confirmed = Vec::new();
    for member in &network.members {
        for m in store.seller_matches(&member.target, &member.seller)? {
            if m.status == "confirmed" {
                confirmed.push(DossierMatch {
                    match_id: m.id,
                    product_id: m.product_id,
                    listing_id: m.listing_id,
                    listing_url: m.listing_url,
                    takedown: m.takedown,
                    decisions: decisions_of(store, MatchId(m.id))?,
                });
            }
        }
    }
    confirmed.sort_by_key(|m| m.match_id);
    let wanted = evidence_listings(network, &confirmed);
    let listings_left_out = wanted.len().saturating_sub(MAX_LISTINGS);
    let stored = store.listings_by_ids(&wanted[..wanted.len().min(MAX_LISTINGS)])?;

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut listings = Vec::new();
    for listing in &stored {
        let Some(entry) = capture_listing(config, store, listing, &mut files)? else {
            continue;
        };
        listings.push(entry);
    }
    let mut profiles = Vec::new();
    for member in &network.members {
        for page in store.profile_pages(&member.target, &member.seller)? {
            let n = profiles.len() + 1;
            let (page_name, warc_name) = (
                format!("profiles/{n}/page.html"),
                format!("profiles/{n}/page.warc.gz"),
            );
            let warc = warc::write(
                &warc::WarcInfo {
                    filename: &warc_name,
                    operator: &config.catalog.brand.rights_owner,
                },
                &[(
                    &page,
                    serde_json::json!({ "seller": member.seller, "target": member.target }),
                )],
                None,
            )?;
            files.insert(page_name.clone(), page.body.clone());
            files.insert(warc_name.clone(), warc);
            profiles.push(DossierProfile {
                target: member.target.clone(),
                seller: member.seller.clone(),
                url: page.url.clone(),
                captured_at: page.started_at.clone(),
                remote_addr: page.remote_addr.clone(),
                page: page_name,
                warc: warc_name,
            });
        }
    }
    files.insert("network.json".into(), serde_json::to_vec_pretty(network)?);
    let key = signing_key(&config.workspace)?;
    let public_key = public_key_hex(&key);
    files.insert(
        "report.html".into(),
        report(
            config,
            network,
            &listings,
            &profiles,
            &confirmed,
            &public_key,
        )
        .into_bytes(),
    );
    let manifest = DossierManifest {
        format_version: FORMAT_VERSION,
        network_id: network.id,
        exported_at: crate::store::now(),
        tool: "knockoff".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        members: network.members.clone(),
        links: network.links.clone(),
        listings,
        profiles,
        listings_left_out,
        confirmed,
        files: file_entries(&files),
        signature: signature_info(public_key),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    let exported = seal(
        &key,
        &out_dir.join(format!("network-{}.zip", network.id)),
        &manifest_bytes,
        &files,
    )?;
    store.record_event(
        actor,
        "network dossier exported",
        &format!("network #{}: {}", network.id, exported.audit_detail()),
    )?;
    Ok(exported)
}

/// Puts one listing's page and WARC (the page and its photos) into
/// `files`; `None` when its page has no stored capture.
fn capture_listing(
    config: &Config,
    store: &Store,
    listing: &StoredListing,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<Option<DossierListing>> {
    let id = listing.id.0;
    let Some(page) = store.page_capture(id)? else {
        tracing::warn!("network dossier: listing {id} has no stored page; left out");
        return Ok(None);
    };
    let mut images = Vec::new();
    for url in &listing.listing.images {
        if let Some(capture) = store.image_capture(url)? {
            images.push(capture);
        }
    }
    let listing_json = serde_json::json!({
        "id": id,
        "url": listing.url,
        "target": listing.target,
        "title": listing.listing.title,
        "price": listing.listing.price,
        "currency": listing.listing.currency,
        "seller": listing.listing.seller,
        "description": listing.listing.description,
    });
    let mut exchanges = vec![(&page, serde_json::json!({ "listing": listing_json }))];
    for capture in &images {
        exchanges.push((capture, serde_json::json!({ "listing_id": id })));
    }
    let warc_name = format!("listings/{id}/listing.warc.gz");
    let warc = warc::write(
        &warc::WarcInfo {
            filename: &warc_name,
            operator: &config.catalog.brand.rights_owner,
        },
        &exchanges,
        None,
    )
    .with_context(|| format!("writing the WARC of listing {id}"))?;
    let page_name = format!("listings/{id}/page.html");
    files.insert(page_name.clone(), page.body.clone());
    files.insert(warc_name.clone(), warc);
    Ok(Some(DossierListing {
        id,
        target: listing.target.clone(),
        seller: listing.listing.seller.clone(),
        url: listing.url.clone(),
        title: listing.listing.title.clone(),
        captured_at: page.started_at.clone(),
        remote_addr: page.remote_addr.clone(),
        page: page_name,
        warc: warc_name,
    }))
}

/// `report.html`: the network for a person — accounts, links with the
/// captured listings that show them, confirmed matches, the signing key.
fn report(
    config: &Config,
    network: &NetworkReport,
    listings: &[DossierListing],
    profiles: &[DossierProfile],
    confirmed: &[DossierMatch],
    public_key: &str,
) -> String {
    let by_id: BTreeMap<i64, &DossierListing> = listings.iter().map(|l| (l.id, l)).collect();
    let sites: BTreeSet<&str> = network.members.iter().map(|m| m.target.as_str()).collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Seller network #" (network.id) " — " (config.catalog.brand.name) }
                style { (super::report::STYLE) }
            }
            body {
                h1 { "Seller network #" (network.id) ": " (network.members.len()) " accounts on "
                     (sites.len()) " marketplace(s)" }
                p { "Accounts are linked when their listings show one exact contact value (an email address, a phone number in E.164, a messenger handle, a shop's domain) or one of their own photos; links are grouped transitively. Values shown by many unrelated sellers are left out as boilerplate." }
                h2 { "Accounts" }
                table {
                    tr { th { "Marketplace" } th { "Seller" } th { "Listings" } th { "Matches" } th { "Confirmed" } }
                    @for m in &network.members {
                        tr { td { (m.target) } td { (m.seller) } td { (m.listings) } td { (m.matches) } td { (m.confirmed) } }
                    }
                }
                h2 { "Links and the listings that show them" }
                table {
                    tr { th { "Kind" } th { "Value" } th { "Shown by" } th { "Captured listings" } }
                    @for link in &network.links {
                        tr {
                            td { (link.kind) }
                            td { code { (link.value) } }
                            td { (link.members.join(", ")) }
                            td {
                                @for id in &link.listings {
                                    @if let Some(l) = by_id.get(id) {
                                        div { "#" (id) " " (l.url) " — captured " (l.captured_at) ", " code { (l.warc) } }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !profiles.is_empty() {
                    h2 { "Profile pages" }
                    table {
                        tr { th { "Account" } th { "Page" } th { "Captured" } }
                        @for p in profiles {
                            tr { td { (p.target) "/" (p.seller) } td { (p.url) } td { (p.captured_at) ", " code { (p.warc) } } }
                        }
                    }
                }
                h2 { "Confirmed infringements" }
                @if confirmed.is_empty() {
                    p { "None of the accounts' matches is confirmed yet." }
                } @else {
                    table {
                        tr { th { "Match" } th { "Product" } th { "Listing" } th { "Takedown" } th { "Decisions" } }
                        @for m in confirmed {
                            tr {
                                td { (m.match_id) }
                                td { (m.product_id) }
                                td { (m.listing_url) }
                                td { (m.takedown.as_deref().unwrap_or("—")) }
                                td {
                                    @for d in &m.decisions {
                                        div { (d.at) " " (d.actor) ": " (d.action) @if let Some(detail) = &d.detail { " (" (detail) ")" } }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Signature" }
                p { "manifest.json lists every file of this dossier with its SHA-256; manifest.sig is an Ed25519 signature over manifest.json's exact bytes by the key:" }
                p { code.key { (public_key) } }
            }
        }
    }
    .into_string()
}
