//! Takedown notices: templates for eBay VeRO, Amazon, DMCA § 512(c)(3), EU
//! DSA Art. 16 and a generic marketplace IP complaint, rendered (minijinja)
//! from `[brand]`, the products, the listings and their evidence, one
//! notice per marketplace with every listing of that marketplace in it.
//!
//! Every bundle a notice cites is made (or brought up to date) in
//! `evidence/` before the notice is written, and named with its SHA-256.
//!
//! The built-in templates are written into the workspace's
//! `takedown-templates/` (by `knockoff demo`, or on first draft) so a team
//! can edit them; a file there wins over the built-in one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::Digest as _;

use crate::config::Config;
use crate::refusal::{Refusal, Refused};
use crate::store::{MatchId, Store, TakedownState};

/// The workspace folder of editable templates.
pub(crate) const TEMPLATE_DIR: &str = "takedown-templates";

/// Every built-in template: (name, text).
pub(crate) const TEMPLATES: [(&str, &str); 5] = [
    ("generic", include_str!("templates/generic.txt")),
    ("ebay-vero", include_str!("templates/ebay-vero.txt")),
    ("amazon", include_str!("templates/amazon.txt")),
    ("dmca", include_str!("templates/dmca.txt")),
    ("eu-dsa", include_str!("templates/eu-dsa.txt")),
];

/// Writes the built-in templates that are missing from the workspace.
pub(crate) fn write_templates(workspace: &Path) -> Result<()> {
    let dir = workspace.join(TEMPLATE_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in TEMPLATES {
        let path = dir.join(format!("{name}.txt"));
        if !path.exists() {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

/// The template called `name`: the workspace's copy, else the built-in one.
fn template(workspace: &Path, name: &str) -> Result<String> {
    let path = workspace.join(TEMPLATE_DIR).join(format!("{name}.txt"));
    if path.exists() {
        return std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()));
    }
    TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| text.to_string())
        .ok_or_else(|| {
            Refused::invalid(format!(
                "there is no takedown template `{name}`: use one of {} or add {}",
                TEMPLATES.map(|(n, _)| n).join(", "),
                path.display()
            ))
            .into()
        })
}

/// The marketplace's item id in a listing URL: an Amazon ASIN after
/// `/dp/`, else the last run of digits (eBay item numbers), else the URL.
pub(crate) fn item_id(url: &str) -> String {
    if let Some(rest) = url.split("/dp/").nth(1) {
        return rest.split(['/', '?']).next().unwrap_or(rest).to_string();
    }
    let path = url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    path.split(|c: char| !c.is_ascii_digit())
        .rfind(|run| !run.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| url.to_string())
}

#[derive(Debug, Clone, Serialize)]
struct Item {
    match_id: i64,
    url: String,
    item_id: String,
    title: String,
    seller: String,
    price: String,
    product_id: String,
    product_name: String,
    bundle: String,
    /// The SHA-256 of the bundle, so the notice names exactly one file.
    bundle_sha256: String,
    captured_at: String,
}

/// A drafted notice: one marketplace, one template, many listings.
#[derive(Debug, Clone)]
pub struct Notice {
    pub marketplace: String,
    pub template: String,
    pub matches: Vec<MatchId>,
    pub text: String,
    pub path: PathBuf,
}

/// Drafts notices for confirmed matches `ids`, one per marketplace, into
/// `out_dir`, and marks each match's takedown drafted.
pub fn draft(
    config: &Config,
    store: &Store,
    ids: &[MatchId],
    template_name: &str,
    out_dir: &Path,
    actor: &str,
) -> Result<Vec<Notice>> {
    write_templates(&config.workspace)?;
    let source = template(&config.workspace, template_name)?;
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("notice", &source).map_err(|e| {
        Refused::invalid(format!(
            "{TEMPLATE_DIR}/{template_name}.txt is not a valid template: {e:#}"
        ))
    })?;
    let mut by_marketplace: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for &id in ids {
        let entry = store
            .review_entry(id)?
            .ok_or_else(|| crate::store::NoSuchMatch(id.0).refused())?;
        if entry.entry.status != crate::status::MatchStatus::Confirmed {
            return Err(Refused::conflict(format!(
                "match {} is {}; only confirmed matches get takedown notices",
                id.0, entry.entry.status
            ))
            .into());
        }
        let product_name = config
            .catalog
            .products
            .iter()
            .find(|p| p.id == entry.entry.product_id)
            .map_or_else(|| entry.entry.product_id.clone(), |p| p.name.clone());
        let captured_at = store
            .page_capture(entry.listing_id)?
            .map_or_else(|| entry.entry.last_seen.clone(), |c| c.started_at);
        // The notice cites the bundle: it exists, and states the match as
        // it stands, before the notice does.
        let evidence = config.workspace.join("evidence");
        let bundle = crate::evidence::current_or_export(config, store, id, &evidence, actor)?;
        let bundle_sha256 = hex::encode(sha2::Sha256::digest(
            std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?,
        ));
        let e = &entry.entry;
        by_marketplace
            .entry(e.target.clone())
            .or_default()
            .push(Item {
                match_id: e.id,
                url: e.listing_url.clone(),
                item_id: item_id(&e.listing_url),
                title: e.title.clone().unwrap_or_default(),
                seller: e.seller.clone().unwrap_or_default(),
                price: crate::extract::display_price(e.price, e.currency.as_deref()),
                product_id: e.product_id.clone(),
                product_name,
                bundle: format!("bundle-{}.zip", e.id),
                bundle_sha256,
                captured_at,
            });
    }
    let brand = &config.catalog.brand;
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut notices = Vec::new();
    for (marketplace, items) in by_marketplace {
        let mut products: Vec<BTreeMap<&str, String>> = Vec::new();
        for item in &items {
            if !products.iter().any(|p| p["id"] == item.product_id) {
                products.push(BTreeMap::from([
                    ("id", item.product_id.clone()),
                    ("name", item.product_name.clone()),
                ]));
            }
        }
        let text = env
            .get_template("notice")
            .expect("added above")
            .render(minijinja::context! {
                marketplace => &marketplace,
                date => &date,
                brand => minijinja::context! {
                    name => &brand.name,
                    rights_owner => &brand.rights_owner,
                    registrations => &brand.registrations,
                    contact => &brand.contact,
                    email => &brand.email,
                    address => &brand.address,
                },
                products => &products,
                items => &items,
            })
            .with_context(|| format!("rendering {TEMPLATE_DIR}/{template_name}.txt"))?;
        let path = out_dir.join(format!("{template_name}-{marketplace}-{date}.txt"));
        std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
        let matches: Vec<MatchId> = items.iter().map(|i| MatchId(i.match_id)).collect();
        for &id in &matches {
            store.set_takedown(
                id,
                TakedownState::Drafted,
                actor,
                &format!("{template_name} notice {}", path.display()),
            )?;
        }
        notices.push(Notice {
            marketplace,
            template: template_name.to_string(),
            matches,
            text,
            path,
        });
    }
    Ok(notices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_from_marketplace_urls() {
        assert_eq!(
            item_id("https://www.ebay.com/itm/1234567890?hash=x"),
            "1234567890"
        );
        assert_eq!(
            item_id("https://www.amazon.com/Orvane-Tote/dp/B0ABCDEF12/ref=sr_1"),
            "B0ABCDEF12"
        );
        assert_eq!(
            item_id("http://127.0.0.1:7802/listing/1011-new-orvane-tote"),
            "1011"
        );
    }

    #[test]
    fn every_built_in_template_parses() {
        let mut env = minijinja::Environment::new();
        for (name, text) in TEMPLATES {
            env.add_template(name, text).unwrap();
        }
    }
}
