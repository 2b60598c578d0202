//! `knockoff demo`: the embedded marketplace and the whole job run against it.
//!
//! [`catalog`] generates the brand, products and labelled listings from a
//! seed; [`draw`] paints their photos; [`site`] serves them on loopback. The
//! repository root is the demo workspace; [`write_workspace`] recreates any
//! of its files that are missing, so `knockoff --workspace DIR demo` works
//! in an empty folder too.

pub mod catalog;
pub mod draw;
pub mod site;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use url::Url;

use crate::config::{self, Config};
use crate::crawl::{self, CrawlOptions, Progress};
use crate::store::{RunSummary, Store};
pub use catalog::{Catalog, DEMO_LISTINGS, DEMO_SEED};
pub use site::{Marketplace, SiteOptions};

/// The targets the demo crawls: its own marketplace's.
const DEMO_TARGETS: [&str; 2] = ["shopfront", "bazaar"];

/// Ports the demo targets' base_url name; the demo falls back to free ports
/// (and rewrites base_url in memory) when these are taken.
pub(crate) const DEMO_PORTS: [u16; 3] = [7801, 7802, 7803];

/// `knockoff.toml` of the demo workspace.
pub(crate) const KNOCKOFF_TOML: &str = include_str!("../../knockoff.toml");
/// `targets/shopfront.toml`: a site that needs selectors.
pub(crate) const SHOPFRONT_TOML: &str = include_str!("../../targets/shopfront.toml");
/// `targets/bazaar.toml`: a site with JSON-LD only.
pub(crate) const BAZAAR_TOML: &str = include_str!("../../targets/bazaar.toml");

/// Writes whichever demo workspace files are missing under `workspace`;
/// returns the paths written. Existing files are never overwritten.
pub fn write_workspace(workspace: &Path, catalog: &Catalog) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut write = |rel: &str, bytes: &dyn Fn() -> Vec<u8>| -> Result<()> {
        let path = workspace.join(rel);
        if path.exists() {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, bytes()).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    write("knockoff.toml", &|| KNOCKOFF_TOML.as_bytes().to_vec())?;
    write("targets/shopfront.toml", &|| {
        SHOPFRONT_TOML.as_bytes().to_vec()
    })?;
    write("targets/bazaar.toml", &|| BAZAAR_TOML.as_bytes().to_vec())?;
    write("reference-images/products.toml", &|| {
        catalog.products_toml().into_bytes()
    })?;
    for index in 0..catalog.products.len() {
        for view in 0..2 {
            let rel = format!("reference-images/{}", catalog.reference_path(index, view));
            write(&rel, &|| draw::png(&catalog.reference_photo(index, view)))?;
        }
    }
    for (name, text) in crate::takedown::TEMPLATES {
        let rel = format!("{}/{name}.txt", crate::takedown::TEMPLATE_DIR);
        write(&rel, &|| text.as_bytes().to_vec())?;
    }
    Ok(written)
}

/// Points the demo targets at where the marketplace really listens.
fn point_at(config: &mut Config, market: &Marketplace) {
    for target in &mut config.targets {
        let actual: &Url = match target.name.as_str() {
            "shopfront" => &market.shopfront,
            "bazaar" => &market.bazaar,
            _ => continue,
        };
        if target.base_url.origin() != actual.origin() {
            tracing::info!(target_name = %target.name, from = %target.base_url, to = %actual, "demo port taken; using another");
            target.base_url = actual.clone();
        }
        target.private_origins = vec![market.cdn.clone()];
    }
}

/// Everything `knockoff demo` found, for the closing report.
pub struct DemoReport {
    pub written: Vec<PathBuf>,
    pub summary: RunSummary,
    pub judged: crate::judge::JudgeReport,
    /// The pending queue, highest score first.
    pub queue: Vec<crate::store::QueueEntry>,
    pub listings_by_target: Vec<(String, usize)>,
    /// The first error of each kind: (kind, message).
    pub error_examples: Vec<(crate::store::FailureKind, String)>,
}

/// Starts the marketplace, checks the workspace, crawls it, and reports.
pub async fn run(workspace: &Path, progress: Progress) -> Result<DemoReport> {
    let catalog = Arc::new(Catalog::generate(DEMO_SEED, DEMO_LISTINGS));
    let written = write_workspace(workspace, &catalog)?;
    let market = Marketplace::start(
        catalog.clone(),
        SiteOptions {
            ports: DEMO_PORTS,
            faults: true,
            cheap_photos: false,
            ..Default::default()
        },
    )
    .await
    .context("starting the demo marketplace on 127.0.0.1")?;
    eprintln!(
        "demo marketplace: shopfront {}  bazaar {}  images {}",
        market.shopfront, market.bazaar, market.cdn
    );

    let mut config = config::load(workspace)?;
    eprintln!(
        "check: ok ({} targets, {} protected products of {})",
        config.targets.len(),
        config.catalog.products.len(),
        config.catalog.brand.name
    );
    // The demo crawls its own marketplace, never a workspace's other
    // targets: it must not touch the internet whatever targets/ holds.
    let (own, others): (Vec<_>, Vec<_>) = std::mem::take(&mut config.targets)
        .into_iter()
        .partition(|t| DEMO_TARGETS.contains(&t.name.as_str()));
    for other in &others {
        eprintln!(
            "demo: leaving out target `{}` ({}): the demo crawls only its own marketplace",
            other.name,
            other.file.display()
        );
    }
    config.targets = own;
    point_at(&mut config, &market);
    let store = Arc::new(Store::open(&config.db_path())?);
    let options = CrawlOptions {
        targets: config.targets.iter().map(|t| t.name.clone()).collect(),
        confined_to: vec![
            market.shopfront.clone(),
            market.bazaar.clone(),
            market.cdn.clone(),
        ],
        ..CrawlOptions::default()
    };
    let summary = crawl::crawl(&config, store.clone(), &options, progress).await?;
    let run = crate::store::RunId(summary.run_id);
    let (listings, errors, judged, queue) = tokio::task::spawn_blocking(move || -> Result<_> {
        let judged = crate::judge::judge_workspace(&config, &store)?;
        Ok((
            store.listings(None)?,
            store.run_errors(run)?,
            judged,
            store.queue(crate::status::StatusFilter::Pending)?,
        ))
    })
    .await??;
    let mut error_examples: Vec<(crate::store::FailureKind, String)> = Vec::new();
    for (kind, _, message) in errors {
        if !error_examples.iter().any(|(k, _)| *k == kind) {
            error_examples.push((kind, message));
        }
    }
    let mut listings_by_target: Vec<(String, usize)> = Vec::new();
    for listing in &listings {
        match listings_by_target
            .iter_mut()
            .find(|(t, _)| *t == listing.target)
        {
            Some((_, n)) => *n += 1,
            None => listings_by_target.push((listing.target.clone(), 1)),
        }
    }
    Ok(DemoReport {
        written,
        summary,
        judged,
        queue,
        listings_by_target,
        error_examples,
    })
}

/// The closing words of `knockoff demo`.
pub(crate) fn render_report(report: &DemoReport, workspace: &Path) -> String {
    let mut out = String::new();
    if !report.written.is_empty() {
        let _ = writeln!(
            out,
            "wrote {} missing demo workspace files",
            report.written.len()
        );
    }
    out.push_str(&crawl::render_summary(&report.summary));
    if !report.error_examples.is_empty() {
        let _ = writeln!(
            out,
            "the marketplace misbehaves on purpose; what knockoff recorded, one of each kind:"
        );
        for (kind, message) in &report.error_examples {
            let _ = writeln!(out, "  {kind:<20} {message}");
        }
    }
    let _ = writeln!(out, "listings stored:");
    for (target, n) in &report.listings_by_target {
        let _ = writeln!(out, "  {target:<12} {n}");
    }
    out.push_str(&report.judged.render());
    let _ = writeln!(out, "top of the review queue:");
    for entry in report.queue.iter().take(8) {
        let reasons = entry
            .signals
            .as_ref()
            .map(|s| s.reasons().join("; "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  #{:<4} {:.2} {:<8} {}\n        why: {reasons}",
            entry.id,
            entry.score,
            entry.product_id,
            entry.title.as_deref().unwrap_or("-"),
        );
    }
    let ws = if workspace == Path::new(".") {
        String::new()
    } else {
        format!("--workspace {} ", workspace.display())
    };
    let _ = writeln!(out, "\nnext:");
    let _ = writeln!(
        out,
        "  knockoff {ws}listings --format table     every listing crawled"
    );
    let _ = writeln!(
        out,
        "  knockoff {ws}listings --format json      the same, for scripts"
    );
    let _ = writeln!(
        out,
        "  knockoff {ws}queue list                  every pending match, with the reasons"
    );
    let _ = writeln!(
        out,
        "  knockoff {ws}queue confirm ID...         (or dismiss ID... --note why)"
    );
    let _ = writeln!(
        out,
        "  knockoff {ws}report                      per marketplace and per week (also /dashboard)"
    );
    let _ = writeln!(
        out,
        "  knockoff {ws}user add NAME --role admin  then: knockoff {ws}serve   review in a browser"
    );
    let _ = writeln!(
        out,
        "  knockoff {ws}evidence export ID          a signed bundle counsel can verify"
    );
    let _ = writeln!(
        out,
        "  knockoff {ws}takedown draft ID... --template dmca   notices per marketplace"
    );
    let _ = writeln!(
        out,
        "  knockoff {ws}extract page.html --target shopfront   try the selectors on a saved page"
    );
    let _ = writeln!(
        out,
        "  edit targets/*.toml to point knockoff at a real marketplace (see README.md)"
    );
    out
}
