//! The crawl: search pages → listing pages → images, politely, resumably.
//!
//! A run's frontier lives in SQLite. [`crawl`] resumes the newest unfinished
//! run if there is one, else starts a new run seeded with every target's
//! search queries. Items are scheduled per host (never more in flight than
//! the host's concurrency) and each is finished in one store transaction
//! together with what it produced, so `kill -9` at any point loses nothing
//! and duplicates nothing.
//!
//! Network I/O happens only in [`fetch`]; parsing and SQLite run on the
//! blocking pool.

pub mod ebay;
pub mod fetch;
pub mod limiter;
mod progress;
pub mod render;

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::task::JoinSet;
use url::Url;

use crate::config::{Config, EbayBrowse, Target, TargetKind};
use crate::extract;
use crate::photo;
use crate::store::{
    CardListing, CrawlError, FailureKind, FrontierItem, ImageInfo, ItemKind, NewItem, Run,
    RunSummary, Store,
};
use fetch::{host_key, BodyKind, FetchFailure, Fetcher};
pub use progress::Progress;

/// What to crawl.
#[derive(Debug, Clone, Default)]
pub struct CrawlOptions {
    /// Target names; empty means every target.
    pub targets: Vec<String>,
    /// Overrides every target's `max_pages`.
    pub max_pages: Option<u32>,
    /// When not empty, the only origins the crawl may reach, whatever the
    /// targets or their pages name (the demo: its own marketplace).
    pub confined_to: Vec<Url>,
}

/// Another crawl holds the workspace's lock.
#[derive(Debug, thiserror::Error)]
#[error("another knockoff crawl is running in this workspace (it holds {})", .0.display())]
pub(crate) struct CrawlLocked(pub std::path::PathBuf);

/// Holds the workspace's crawl lock for as long as it lives.
#[derive(Debug)]
pub struct CrawlLock {
    _file: std::fs::File,
}

/// Takes the workspace's crawl lock, so two crawls (cron and a person, say)
/// never run at once and double every host's request rate. The kernel
/// releases the lock when the process dies, so a crash leaves nothing stale.
pub fn lock(config: &Config) -> Result<CrawlLock> {
    let path = config.workspace.join("knockoff.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the crawl lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(CrawlLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(CrawlLocked(path).into()),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Crawls, resuming an interrupted run when there is one, and returns the
/// run's summary (also stored in the runs table). Takes the crawl lock.
pub async fn crawl(
    config: &Config,
    store: Arc<Store>,
    options: &CrawlOptions,
    progress: Progress,
) -> Result<RunSummary> {
    for name in &options.targets {
        if config.target(name).is_none() {
            anyhow::bail!(
                "no target named `{name}` in {}",
                config.workspace.join("targets").display()
            );
        }
    }
    // Credentials and browsers first: a run that cannot read its targets
    // never starts.
    let mut clients = ebay_clients(config, &options.targets)?;
    check_browser(config, &options.targets)?;
    // On a store several crawls share, they work one run together, each
    // host's rate held across them through the store; on a file, one
    // crawl at a time.
    let _lock = if store.is_shared() {
        None
    } else {
        Some(lock(config)?)
    };
    store.set_lease(config.settings.lease);
    let names: Vec<String> = if options.targets.is_empty() {
        config.targets.iter().map(|t| t.name.clone()).collect()
    } else {
        options.targets.clone()
    };
    let seeds = seed_items(config, &names, options.max_pages);
    let max_pages = options.max_pages;
    let store_for_run = store.clone();
    let (run, joined) = tokio::task::spawn_blocking(move || {
        store_for_run.join_or_start_run(&names, max_pages, &seeds)
    })
    .await??;
    if joined == crate::store::Joined::Unfinished {
        tracing::info!(run = run.id.0, started = %run.started_at, "joining the unfinished run");
    }
    let mut fetcher = Fetcher::new(config).await?;
    if !options.confined_to.is_empty() {
        fetcher.confine_to(&options.confined_to);
    }
    if store.is_shared() {
        fetcher.share_gates(store.clone());
    }
    let fetcher = Arc::new(fetcher);
    clients.extend(ebay_clients(config, &run.targets)?);
    check_browser(config, &run.targets)?;
    let rendering: Vec<String> = run
        .targets
        .iter()
        .filter(|name| config.target(name).is_some_and(|t| t.render))
        .cloned()
        .collect();
    let ctx = Arc::new(Shared {
        config: config.clone(),
        store: store.clone(),
        fetcher,
        run: run.clone(),
        ebay: clients,
        renderer: render::Renderer::new(&config.settings.evidence_chromium, &rendering),
    });
    // Stage one: search pages, cards, thumbnails and linked pages. Then the
    // item pages of the cards the judge picks out, until it picks no more
    // (on a resumed run, those already fetched are not fetched again).
    loop {
        drive(&ctx, &progress, process).await?;
        // On this thread, not the blocking pool: the judging pass after the
        // crawl runs on the caller's thread too, so both passes allocate
        // from one malloc arena and the second reuses what the first freed
        // (on a pool thread, each pass kept its own arena's peak).
        let picked = on_this_thread(|| promote_cards(&ctx))?;
        // Done when nothing was picked and, with other crawls at work,
        // none of them picked anything either (their item pages wait).
        if picked == 0
            && (!store.is_shared() || on_this_thread(|| ctx.store.unfinished_items(run.id))? == 0)
        {
            break;
        }
        tracing::info!(
            item_pages = picked,
            "fetching the item pages of the cards judged candidates"
        );
    }
    progress.done();

    let summary = tokio::task::spawn_blocking(move || -> Result<RunSummary> {
        let summary = store.run_summary(&run)?;
        store.finish_run(run.id, &summary)?;
        Ok(summary)
    })
    .await??;
    Ok(summary)
}

/// API clients for the `ebay-browse` targets among `names` (every target
/// when empty); missing credentials are an error naming the target.
fn ebay_clients(config: &Config, names: &[String]) -> Result<HashMap<String, ebay::EbayClient>> {
    let mut clients = HashMap::new();
    for target in &config.targets {
        if !names.is_empty() && !names.contains(&target.name) {
            continue;
        }
        if let TargetKind::EbayBrowse(_) = target.kind {
            clients.insert(target.name.clone(), ebay::EbayClient::from_env(target)?);
        }
    }
    Ok(clients)
}

/// Chromium must be there for a `render = "chromium"` target among
/// `names` (every target when empty).
fn check_browser(config: &Config, names: &[String]) -> Result<()> {
    let chromium = &config.settings.evidence_chromium;
    let needs = config
        .targets
        .iter()
        .filter(|t| t.render && (names.is_empty() || names.contains(&t.name)));
    for target in needs {
        if !chromium.is_file() {
            anyhow::bail!(
                "target `{}` has render = \"chromium\", but there is no Chromium at {} (install \
                 it, or name it in knockoff.toml: [evidence] chromium = \"/path/to/chromium\")",
                target.name,
                chromium.display()
            );
        }
    }
    Ok(())
}

/// What `crawl --recheck` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecheckReport {
    pub checked: usize,
    pub removed: usize,
    pub still_up: usize,
    /// One sentence per listing that could not be checked.
    pub errors: Vec<String>,
}

/// Revisits every listing whose takedown was submitted, through the same
/// polite fetcher, and records it removed when the marketplace answers 404
/// or 410, or the page matches the target's `[item] removed` selector.
/// Takes the crawl lock.
/// One page, fetched for `target` as a crawl fetches — robots.txt, the
/// address guard and the host's rate, under the workspace's crawl lock —
/// and decoded: how `target add` reads a new site's search page. Returns
/// the text and the address it was read from (after redirects).
pub async fn fetch_page(config: &Config, target: &str, url: &Url) -> Result<(String, Url)> {
    let _lock = lock(config)?;
    let fetcher = Fetcher::new(config).await?;
    match fetcher.get(target, url, BodyKind::Page).await {
        Ok(fetched) => {
            let (html, _) = extract::decode_html(&fetched.body, fetched.content_type.as_deref());
            Ok((html, fetched.final_url))
        }
        Err(failure) => Err(anyhow::Error::new(failure.error).context(format!("fetching {url}"))),
    }
}

pub async fn recheck(config: &Config, store: Arc<Store>) -> Result<RecheckReport> {
    let _lock = lock(config)?;
    let for_list = store.clone();
    let submitted = tokio::task::spawn_blocking(move || for_list.submitted_takedowns()).await??;
    let fetcher = Fetcher::new(config).await?;
    let mut report = RecheckReport::default();
    for (id, url, target) in submitted {
        report.checked += 1;
        let Ok(parsed) = Url::parse(&url) else {
            report
                .errors
                .push(format!("match {}: `{url}` is not a URL", id.0));
            continue;
        };
        let removed = match fetcher.get(&target, &parsed, BodyKind::Page).await {
            Err(FetchFailure {
                error: fetch::FetchError::Status { status, .. },
                ..
            }) if status == 404 || status == 410 => Some(format!("HTTP {status}")),
            Err(failure) => {
                report
                    .errors
                    .push(format!("match {}: {}", id.0, failure.error));
                continue;
            }
            Ok(fetched) => {
                let selector = config.target(&target).and_then(|t| t.item.removed.as_ref());
                let (html, _) =
                    extract::decode_html(&fetched.body, fetched.content_type.as_deref());
                let says_removed = selector.is_some_and(|s| extract::page_has(&html, s));
                says_removed.then(|| "the page says the listing is no longer available".to_string())
            }
        };
        match removed {
            Some(why) => {
                let store = store.clone();
                let detail = format!("{why} at {url}");
                tokio::task::spawn_blocking(move || {
                    store.set_takedown(id, crate::store::TakedownState::Removed, "recheck", &detail)
                })
                .await??;
                report.removed += 1;
            }
            None => report.still_up += 1,
        }
    }
    Ok(report)
}

/// Page 1 of every query of every named target.
fn seed_items(config: &Config, names: &[String], max_pages: Option<u32>) -> Vec<NewItem> {
    let mut items = Vec::new();
    for target in config.targets.iter().filter(|t| names.contains(&t.name)) {
        if max_pages == Some(0) {
            continue;
        }
        if let TargetKind::EbayBrowse(api) = &target.kind {
            items.extend(ebay_seeds(config, target, api));
            continue;
        }
        if target.search.is_none() {
            continue;
        }
        for query in config.queries_for(target) {
            if let Some(url) = search_url(target, &query, 1) {
                items.push(NewItem {
                    target: target.name.clone(),
                    kind: ItemKind::Search,
                    url: url.to_string(),
                    query: Some(query),
                    page: Some(1),
                });
            }
        }
    }
    items
}

/// An `ebay-browse` target's first searches: every query, and every
/// reference photo when it searches by image.
fn ebay_seeds(config: &Config, target: &Target, api: &EbayBrowse) -> Vec<NewItem> {
    let search = |url: Url, query: String| NewItem {
        target: target.name.clone(),
        kind: ItemKind::Search,
        url: url.to_string(),
        query: Some(query),
        page: Some(1),
    };
    let mut items: Vec<NewItem> = config
        .queries_for(target)
        .into_iter()
        .filter_map(|q| Some(search(ebay::search_url(target, api, &q)?, q)))
        .collect();
    if api.image_search {
        for product in &config.catalog.products {
            for photo in &product.images {
                let photo = photo.to_string_lossy().replace('\\', "/");
                if let Some(url) = ebay::image_search_url(target, api, &photo) {
                    items.push(search(url, format!("photo:{photo}")));
                }
            }
        }
    }
    items
}

/// The search URL of `query`'s `page` for `target`.
pub(crate) fn search_url(target: &Target, query: &str, page: u32) -> Option<Url> {
    let search = target.search.as_ref()?;
    let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let raw = search
        .url
        .replace("{query}", &encoded)
        .replace("{page}", &page.to_string());
    target.base_url.join(&raw).ok()
}

struct Shared {
    config: Config,
    store: Arc<Store>,
    fetcher: Arc<Fetcher>,
    run: Run,
    /// The API clients of the run's `ebay-browse` targets, by target name.
    ebay: HashMap<String, ebay::EbayClient>,
    /// The browsers of `render = "chromium"` targets.
    renderer: render::Renderer,
}

/// Runs every pending item of the run to completion, host by host.
/// `work` is [`process`] (a parameter so a test can make one item panic).
async fn drive<Work, Done>(ctx: &Arc<Shared>, progress: &Progress, work: Work) -> Result<()>
where
    Work: Fn(Arc<Shared>, FrontierItem) -> Done,
    Done: std::future::Future<Output = Result<Vec<FrontierItem>>> + Send + 'static,
{
    let mut queues: HashMap<String, VecDeque<FrontierItem>> = HashMap::new();
    let mut in_flight: HashMap<String, usize> = HashMap::new();
    let enqueue = |queues: &mut HashMap<String, VecDeque<FrontierItem>>, item: FrontierItem| {
        let host = Url::parse(&item.url)
            .map(|u| host_key(&u))
            .unwrap_or_default();
        progress.discovered(&item.target);
        queues.entry(host).or_default().push_back(item);
    };
    let mut tasks: JoinSet<Result<Vec<FrontierItem>>> = JoinSet::new();
    // What each task works on, so a panic can be pinned on its item.
    let mut working: HashMap<tokio::task::Id, (String, FrontierItem)> = HashMap::new();
    // Items come leased ([`Store::claim_items`]). On a store other crawls
    // share: a few of each target's at a time, more as they run out, so
    // the crawls share the run's work — the items a page adds too, which
    // go to whichever crawl claims them first — and the leases are renewed
    // while this crawl holds them. Alone on a file: all there are, once,
    // and what pages add goes straight into this crawl's queues.
    let shared = ctx.store.is_shared();
    let per_target = shared.then_some(CLAIM_PER_TARGET);
    let mut renewed = tokio::time::Instant::now();
    let renew_every = ctx.config.settings.lease / 3;
    let mut claimed_at: Option<tokio::time::Instant> = None;
    // Whether pages added items since the last claim, and whether it found none.
    let mut added = false;
    let mut claimed_none = false;
    loop {
        let queued: usize = queues.values().map(VecDeque::len).sum();
        let since = claimed_at.map(|at| at.elapsed());
        let due = match since {
            None => true,
            Some(_) if !shared => false,
            Some(since) => {
                since >= CLAIM_EVERY
                    || (queued == 0 && since >= CLAIM_SOON)
                    || (added && since >= CLAIM_SOON)
            }
        };
        if due {
            added = false;
            claimed_at = Some(tokio::time::Instant::now());
            let claimed = blocking(ctx, move |ctx| {
                ctx.store.claim_items(ctx.run.id, per_target)
            })
            .await?;
            claimed_none = claimed.is_empty();
            for item in claimed {
                enqueue(&mut queues, item);
            }
        }
        if shared && renewed.elapsed() >= renew_every {
            renewed = tokio::time::Instant::now();
            blocking(ctx, |ctx| ctx.store.renew_leases(ctx.run.id)).await?;
        }
        for (host, queue) in queues.iter_mut() {
            let limit = ctx.fetcher.concurrency(host);
            let busy = in_flight.entry(host.clone()).or_default();
            while *busy < limit {
                let Some(item) = queue.pop_front() else { break };
                *busy += 1;
                let task_ctx = ctx.clone();
                let task_item = item.clone();
                let handle = tasks.spawn(work(task_ctx, task_item));
                working.insert(handle.id(), (host.clone(), item));
            }
        }
        if tasks.is_empty() {
            let queued: usize = queues.values().map(VecDeque::len).sum();
            if queued > 0 {
                continue;
            }
            if !shared {
                break;
            }
            // Nothing in hand: claim again at once while claims still find
            // items; then done when no crawl has anything left, else wait
            // for the others' items (or their leases to lapse).
            if added || !claimed_none {
                claimed_at = None;
                continue;
            }
            if blocking(ctx, |ctx| ctx.store.unfinished_items(ctx.run.id)).await? == 0 {
                break;
            }
            tokio::time::sleep(CLAIM_EVERY).await;
            claimed_at = None;
            continue;
        }
        let joined = match tokio::time::timeout(CLAIM_EVERY, tasks.join_next_with_id()).await {
            Ok(Some(joined)) => joined,
            Ok(None) => continue,
            // Still working: time to claim more and renew the leases.
            Err(_) => continue,
        };
        let (id, result) = match joined {
            Ok((id, result)) => (id, result),
            Err(error) => (error.id(), Err(ItemPanicked(panic_text(error)).into())),
        };
        let Some((host, item)) = working.remove(&id) else {
            anyhow::bail!("a crawl task finished that was never started");
        };
        *in_flight.entry(host).or_default() -= 1;
        progress.finished(&item.target);
        let new_items = match result {
            Ok(new_items) => new_items,
            // One hostile page must not end the run: the panic is that
            // item's failure, recorded like any other.
            Err(error) if error.is::<ItemPanicked>() => {
                tracing::error!(url = %item.url, "{error}");
                let failure = CrawlError {
                    kind: FailureKind::Panic,
                    message: format!("{}: {error}", item.url),
                };
                blocking(ctx, move |ctx| {
                    ctx.store.fail_item(ctx.run.id, &item, &[], &failure)
                })
                .await?;
                Vec::new()
            }
            Err(error) => return Err(error),
        };
        if shared {
            added |= !new_items.is_empty();
        } else {
            for item in new_items {
                enqueue(&mut queues, item);
            }
        }
    }
    Ok(())
}

/// Items of one target and kind a crawl leases at a time on a store other
/// crawls share.
const CLAIM_PER_TARGET: usize = 16;

/// How often a crawl looks for more items to lease while it works (and
/// how long it waits when other crawls hold the rest).
const CLAIM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How soon a crawl looks again once its pages added items or it ran dry.
const CLAIM_SOON: std::time::Duration = std::time::Duration::from_millis(100);

/// Adds to the frontier the item pages of this run's cards that the judge
/// scores at or above their target's `prefilter` (or queues); returns how
/// many were not there yet.
fn promote_cards(ctx: &Shared) -> Result<usize> {
    let targets: Vec<String> = ctx
        .run
        .targets
        .iter()
        .filter(|name| {
            ctx.config.target(name).is_some_and(|t| {
                t.two_stage() && t.stages.item_pages == crate::config::ItemPages::Candidates
            })
        })
        .cloned()
        .collect();
    if targets.is_empty() {
        return Ok(0);
    }
    let items = crate::judge::card_candidates(&ctx.config, &ctx.store, ctx.run.id, &targets)?;
    ctx.store.add_items(ctx.run.id, &items)
}

/// Work on one item panicked; the crawl records it and goes on.
#[derive(Debug, thiserror::Error)]
#[error("processing panicked: {0}")]
struct ItemPanicked(String);

/// The message a panicking task left, as text.
fn panic_text(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Fetches one item and stores what it yields; returns the new items it
/// added to the frontier. Fetch failures are recorded, not returned: only a
/// store failure stops the run.
async fn process(ctx: Arc<Shared>, item: FrontierItem) -> Result<Vec<FrontierItem>> {
    let ctx = &ctx;
    let Some(target) = ctx.config.target(&item.target).cloned() else {
        anyhow::bail!(
            "the run names target `{}`, which is no longer configured",
            item.target
        );
    };
    let url = match Url::parse(&item.url) {
        Ok(url) => url,
        Err(e) => {
            let error = CrawlError {
                kind: FailureKind::BadUrl,
                message: format!("{} is not a URL ({e})", item.url),
            };
            return blocking(ctx, move |ctx| {
                ctx.store
                    .fail_item(ctx.run.id, &item, &[], &error)
                    .map(|_| vec![])
            })
            .await;
        }
    };
    if let TargetKind::EbayBrowse(api) = &target.kind {
        if item.kind != ItemKind::Image {
            let api = api.clone();
            return process_ebay(ctx, target, &api, item).await;
        }
    }
    let body_kind = if item.kind == ItemKind::Image {
        BodyKind::Image
    } else {
        BodyKind::Page
    };
    let fetched = if target.render && body_kind == BodyKind::Page {
        ctx.renderer
            .render(ctx.fetcher.clone(), &target.name, &url)
            .await
    } else {
        ctx.fetcher.get(&target.name, &url, body_kind).await
    };
    match fetched {
        Ok(fetched) => {
            blocking(ctx, move |ctx| match item.kind {
                ItemKind::Search => store_search(ctx, &target, &item, fetched),
                ItemKind::Listing => store_listing(ctx, &target, &item, fetched),
                ItemKind::Image => store_image(ctx, &item, fetched).map(|_| vec![]),
                ItemKind::Seller => store_seller_page(ctx, &target, &item, fetched).map(|_| vec![]),
            })
            .await
        }
        Err(failure) => record_failure(ctx, item, failure).await,
    }
}

/// Records a failed fetch: the item is put off to the next run when its
/// host asked for a long pause, else given up; the run goes on.
async fn record_failure(
    ctx: &Arc<Shared>,
    item: FrontierItem,
    FetchFailure { error, exchanges }: FetchFailure,
) -> Result<Vec<FrontierItem>> {
    tracing::warn!(kind = error.kind().as_str(), "{error}");
    let deferral = error.is_deferral();
    let error = CrawlError {
        kind: error.kind(),
        message: error.to_string(),
    };
    store_failure(ctx, item, exchanges, error, deferral).await
}

/// Gives up on `item` for a reason of our own (not a fetch's).
async fn fail_with(
    ctx: &Arc<Shared>,
    item: FrontierItem,
    kind: FailureKind,
    message: String,
) -> Result<Vec<FrontierItem>> {
    tracing::warn!(url = %item.url, "{message}");
    let error = CrawlError { kind, message };
    store_failure(ctx, item, Vec::new(), error, false).await
}

async fn store_failure(
    ctx: &Arc<Shared>,
    item: FrontierItem,
    exchanges: Vec<crate::store::Exchange>,
    error: CrawlError,
    deferral: bool,
) -> Result<Vec<FrontierItem>> {
    blocking(ctx, move |ctx| {
        if deferral {
            ctx.store
                .defer_item(ctx.run.id, &item, &exchanges, &error)?;
        } else {
            ctx.store.fail_item(ctx.run.id, &item, &exchanges, &error)?;
        }
        Ok(vec![])
    })
    .await
}

/// A search or item of an `ebay-browse` target: an API call instead of a
/// page (images are fetched as any image).
async fn process_ebay(
    ctx: &Arc<Shared>,
    target: Target,
    api: &EbayBrowse,
    item: FrontierItem,
) -> Result<Vec<FrontierItem>> {
    let Some(client) = ctx.ebay.get(&target.name) else {
        anyhow::bail!("target `{}` has no eBay API client", target.name);
    };
    let (url, body) = match item.kind {
        ItemKind::Listing => match ebay::item_url(&target, &item.url) {
            Some(url) => (url, None),
            None => {
                let message = format!("{}: not an eBay item URL (…/itm/ID)", item.url);
                return fail_with(ctx, item, FailureKind::BadUrl, message).await;
            }
        },
        _ => {
            let Ok(url) = Url::parse(&item.url) else {
                let message = format!("{} is not a URL", item.url);
                return fail_with(ctx, item, FailureKind::BadUrl, message).await;
            };
            let body = match ebay::searched_photo(&url) {
                Some(photo) => {
                    let path = ctx.config.workspace.join("reference-images").join(&photo);
                    match std::fs::read(&path) {
                        Ok(bytes) => Some(ebay::image_search_body(&bytes)),
                        Err(e) => {
                            let message =
                                format!("reading the reference photo {}: {e}", path.display());
                            return fail_with(ctx, item, FailureKind::BadReference, message).await;
                        }
                    }
                }
                None => None,
            };
            (url, body)
        }
    };
    let fetched = match client.call(&ctx.fetcher, &target, api, &url, body).await {
        Ok(fetched) => fetched,
        Err(failure) => return record_failure(ctx, item, failure).await,
    };
    blocking(ctx, move |ctx| {
        let bad_response = |e: serde_json::Error| CrawlError {
            kind: FailureKind::BadResponse,
            message: format!("{}: the API's answer is not what it documents ({e})", url),
        };
        match item.kind {
            ItemKind::Listing => match ebay::item(&fetched.body) {
                Ok(listing) => {
                    store_read_listing(ctx, &target, &item, &fetched.exchanges, &listing, None)
                }
                Err(e) => {
                    let error = bad_response(e);
                    ctx.store
                        .fail_item(ctx.run.id, &item, &fetched.exchanges, &error)?;
                    Ok(vec![])
                }
            },
            _ => match ebay::summaries(&fetched.body) {
                Ok((cards, mut next)) => {
                    // The next page of an image search is that photo's too.
                    if let Some(next) = next.as_mut() {
                        next.set_fragment(url.fragment());
                    }
                    store_cards(ctx, &target, &item, &fetched.exchanges, cards, next, vec![])
                }
                Err(e) => {
                    let error = bad_response(e);
                    ctx.store
                        .fail_item(ctx.run.id, &item, &fetched.exchanges, &error)?;
                    Ok(vec![])
                }
            },
        }
    })
    .await
}

/// Runs `work` on the calling thread, telling a multi-threaded runtime to
/// move its other tasks elsewhere meanwhile (a current-thread runtime, as
/// in tests, just waits).
fn on_this_thread<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => work(),
        _ => tokio::task::block_in_place(work),
    }
}

/// Runs store and parsing work on the blocking pool.
async fn blocking<T: Send + 'static>(
    ctx: &Arc<Shared>,
    work: impl FnOnce(&Shared) -> Result<T> + Send + 'static,
) -> Result<T> {
    let ctx = ctx.clone();
    match tokio::task::spawn_blocking(move || work(&ctx)).await {
        Ok(result) => result,
        Err(error) => Err(ItemPanicked(panic_text(error)).into()),
    }
}

fn store_search(
    ctx: &Shared,
    target: &Target,
    item: &FrontierItem,
    fetched: fetch::Fetched,
) -> Result<Vec<FrontierItem>> {
    let (html, _) = extract::decode_html(&fetched.body, fetched.content_type.as_deref());
    let page = match &target.results {
        Some(results) => extract::search_page(&html, &fetched.final_url, Some(results)),
        None => extract::SearchPage::default(),
    };
    let next_link = match page.next {
        Some(next) => Some(next),
        // No next link named or found: `{page}` counts up.
        None if target
            .results
            .as_ref()
            .is_some_and(|r| r.next_page.is_some()) =>
        {
            None
        }
        None => {
            let page = item.page.unwrap_or(1);
            item.query
                .as_deref()
                .and_then(|q| search_url(target, q, page + 1))
        }
    };
    let mut notes = Vec::new();
    if page.truncated {
        notes.push(CrawlError {
            kind: FailureKind::TooManyCards,
            message: format!(
                "{}: the page shows more than {} listings; the first {} were kept",
                item.url,
                extract::MAX_CARDS_PER_PAGE,
                extract::MAX_CARDS_PER_PAGE
            ),
        });
    }
    if page.found_by == extract::FoundBy::SelectorsMissed && !page.cards.is_empty() {
        notes.push(CrawlError {
            kind: FailureKind::SelectorsMissed,
            message: format!(
                "{}: target `{}`: the [results] selectors found no card; {} were found \
                 automatically — the selectors need a look (`knockoff extract` shows both)",
                item.url,
                target.name,
                page.cards.len()
            ),
        });
    }
    store_cards(
        ctx,
        target,
        item,
        &fetched.exchanges,
        page.cards,
        next_link,
        notes,
    )
}

/// Stores what a search page (or an API's search response) showed: its
/// cards as listings (two-stage targets), other links as pages to fetch,
/// and `next_link` as the next page unless the run's page limit is reached.
///
/// Only links to the target's own site ([`Target::owns`]) that its address
/// guard lets it reach are kept — a card naming another marketplace's
/// listing is never this target's listing — and a card's photo the guard
/// refuses is dropped; `notes` are recorded as the run's errors.
fn store_cards(
    ctx: &Shared,
    target: &Target,
    item: &FrontierItem,
    exchanges: &[crate::store::Exchange],
    found: Vec<extract::Card>,
    next_link: Option<Url>,
    notes: Vec<CrawlError>,
) -> Result<Vec<FrontierItem>> {
    let reachable = |url: &str| {
        Url::parse(url).is_ok_and(|u| ctx.fetcher.check_origin(&target.name, &u).is_ok())
    };
    let ours = |url: &str| Url::parse(url).is_ok_and(|u| target.owns(&u)) && reachable(url);
    let (found, foreign): (Vec<_>, Vec<_>) = found.into_iter().partition(|card| ours(&card.url));
    if !foreign.is_empty() {
        tracing::debug!(url = %item.url, links = foreign.len(), "links off the target's site skipped");
    }
    // On a two-stage target, a card showing a title and a price or photo is
    // a listing already; any other card is a link to its page.
    let (cards, links): (Vec<_>, Vec<_>) = found.into_iter().partition(|card| {
        target.two_stage() && card.title.is_some() && (card.price.is_some() || card.image.is_some())
    });
    let always_fetch_item = target.stages.item_pages == crate::config::ItemPages::All;
    let cards: Vec<CardListing> = cards
        .into_iter()
        .map(|card| CardListing {
            url: card.url,
            listing: extract::Listing {
                title: card.title,
                price: card.price,
                currency: card.currency,
                seller: card.seller,
                description: None,
                images: card.image.into_iter().filter(|u| reachable(u)).collect(),
                seller_url: None,
            },
            always_fetch_item,
        })
        .collect();
    let links: Vec<NewItem> = links
        .into_iter()
        .map(|card| NewItem {
            target: target.name.clone(),
            kind: ItemKind::Listing,
            url: card.url,
            query: None,
            page: None,
        })
        .collect();
    let page = item.page.unwrap_or(1);
    let max_pages = ctx
        .run
        .max_pages
        .or(target.search.as_ref().map(|s| s.max_pages))
        .unwrap_or(1);
    let next_url = next_link
        .filter(|url| page < max_pages && target.owns_search_page(url) && reachable(url.as_str()));
    let next = next_url.map(|url| NewItem {
        target: target.name.clone(),
        kind: ItemKind::Search,
        url: url.to_string(),
        query: item.query.clone(),
        page: Some(page + 1),
    });
    let found = crate::store::SearchFound {
        cards: &cards,
        links: &links,
        next_page: next.as_ref(),
        max_listings: target.stages.max_listings as usize,
        notes: &notes,
    };
    let (added, next_item) = ctx
        .store
        .complete_search(ctx.run.id, item, exchanges, &found)?;
    tracing::debug!(url = %item.url, new_listings = added.len(), "search page done");
    Ok(added.into_iter().chain(next_item).collect())
}

fn store_listing(
    ctx: &Shared,
    target: &Target,
    item: &FrontierItem,
    fetched: fetch::Fetched,
) -> Result<Vec<FrontierItem>> {
    let (html, _) = extract::decode_html(&fetched.body, fetched.content_type.as_deref());
    let extracted = extract::listing(&html, &fetched.final_url, Some(&target.item));
    for warning in &extracted.warnings {
        tracing::debug!(url = %item.url, "{warning}");
    }
    store_read_listing(
        ctx,
        target,
        item,
        &fetched.exchanges,
        &extracted.listing,
        Some(&fetched.body),
    )
}

/// Stores a listing read from its page (or an API's item response) and
/// asks for its photos; `page` is the HTML a screenshot is rendered from.
fn store_read_listing(
    ctx: &Shared,
    target: &Target,
    item: &FrontierItem,
    exchanges: &[crate::store::Exchange],
    listing: &extract::Listing,
    page: Option<&[u8]>,
) -> Result<Vec<FrontierItem>> {
    // A listing page with neither title nor price is a page whose markup
    // changed (or not a listing): a failure to see, not an empty listing.
    if listing.title.is_none() && listing.price.is_none() {
        let error = CrawlError {
            kind: FailureKind::NoFields,
            message: format!(
                "target `{}`: the page yielded no title and no price; its markup may have \
                 changed (try `knockoff extract saved.html --target {}`)",
                target.name, target.name
            ),
        };
        tracing::warn!(url = %item.url, "{}", error.message);
        ctx.store.fail_item(ctx.run.id, item, exchanges, &error)?;
        return Ok(vec![]);
    }
    // A photo the target's address guard refuses is not the listing's: it
    // is never fetched, stored or linked to.
    let mut listing = listing.clone();
    listing.images.retain(|url| {
        Url::parse(url).is_ok_and(|u| ctx.fetcher.check_origin(&target.name, &u).is_ok())
    });
    let listing = &listing;
    let max_images = ctx.config.settings.crawl.max_images_per_listing as usize;
    let item_of = |kind, url: &str| NewItem {
        target: target.name.clone(),
        kind,
        url: url.to_string(),
        query: None,
        page: None,
    };
    let mut next: Vec<NewItem> = listing
        .images
        .iter()
        .take(max_images)
        .map(|url| item_of(ItemKind::Image, url))
        .collect();
    // The seller's profile page, once a run (the frontier holds a URL once),
    // where the target's address guard lets it be fetched.
    if let Some(url) = listing.seller_url.as_deref().filter(|url| {
        Url::parse(url).is_ok_and(|u| ctx.fetcher.check_origin(&target.name, &u).is_ok())
    }) {
        next.push(item_of(ItemKind::Seller, url));
    }
    let (change, added) = ctx
        .store
        .complete_listing(ctx.run.id, item, exchanges, listing, &next)?;
    tracing::debug!(url = %item.url, ?change, "listing stored");
    let settings = &ctx.config.settings;
    let page = page.filter(|_| {
        settings.evidence_screenshot && change != crate::store::ListingChange::Unchanged
    });
    if let Some(page) = page {
        // A failed rendering costs the screenshot, never the listing.
        match crate::evidence::screenshot::render(&settings.evidence_chromium, page)
            .and_then(|png| ctx.store.put_screenshot(&item.url, &png))
        {
            Ok(()) => tracing::debug!(url = %item.url, "screenshot stored"),
            Err(e) => tracing::warn!(url = %item.url, "no screenshot: {e:#}"),
        }
    }
    Ok(added)
}

/// Stores what a seller's profile page gives away: the contacts in its
/// text and links, read as a listing's are (the target's site and country
/// tell the marketplace's own addresses and the numbers' region).
fn store_seller_page(
    ctx: &Shared,
    target: &Target,
    item: &FrontierItem,
    fetched: fetch::Fetched,
) -> Result<()> {
    let (html, _) = extract::decode_html(&fetched.body, fetched.content_type.as_deref());
    let text = extract::profile_text(&html);
    let site = target.site();
    let region = target.country();
    let context = crate::matching::contacts::ContactContext {
        site: site.as_deref(),
        region: region.as_deref(),
    };
    let contacts = crate::matching::contacts::contacts_in(&[&text], &context);
    tracing::debug!(url = %item.url, contacts = contacts.len(), "seller page stored");
    ctx.store
        .complete_seller_page(ctx.run.id, item, &fetched.exchanges, &contacts)
}

/// Stores an image after checking its header only (format, dimensions
/// under `max_image_pixels`): decoding is judging's work, under the decode
/// budget, so a crawl never holds a hostile photo's pixels.
fn store_image(ctx: &Shared, item: &FrontierItem, fetched: fetch::Fetched) -> Result<()> {
    let max_pixels = ctx.config.settings.crawl.max_image_pixels;
    let (info, error) = match photo::inspect(&fetched.body, max_pixels) {
        Ok(info) => (
            ImageInfo {
                format: Some(info.format.name().to_string()),
                width: Some(info.width),
                height: Some(info.height),
            },
            None,
        ),
        Err(e) => {
            let info = photo::inspect(&fetched.body, u64::MAX)
                .map(|i| ImageInfo {
                    format: Some(i.format.name().to_string()),
                    width: Some(i.width),
                    height: Some(i.height),
                })
                .unwrap_or_default();
            tracing::warn!(url = %item.url, "image refused: {e}");
            (
                info,
                Some(CrawlError {
                    kind: FailureKind::BadImage,
                    message: format!("{}: {e}", item.url),
                }),
            )
        }
    };
    ctx.store
        .complete_image(ctx.run.id, item, &fetched.exchanges, &info, error.as_ref())
}

/// The warnings a run ends with: listing pages that yielded nothing
/// ([`FailureKind::NoFields`]), search pages whose selectors found no card
/// ([`FailureKind::SelectorsMissed`]); `None` when there are none.
pub fn run_warning(summary: &RunSummary) -> Option<String> {
    let count = |kind| summary.errors.get(&kind).copied().unwrap_or(0);
    let mut warnings = Vec::new();
    let n = count(FailureKind::NoFields);
    if n > 0 {
        warnings.push(format!(
            "WARNING: {n} listing page(s) yielded no title and no price and were not stored — \
             a marketplace may have changed its markup; the failures name the target"
        ));
    }
    let n = count(FailureKind::SelectorsMissed);
    if n > 0 {
        warnings.push(format!(
            "WARNING: on {n} search page(s) a target's [results] selectors found no card and \
             the cards were found automatically — its selectors (or preset) need a look; the \
             notes name the target"
        ));
    }
    (!warnings.is_empty()).then(|| warnings.join("\n  "))
}

/// The run summary as printed at the end of a crawl.
pub(crate) fn render_summary(summary: &RunSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {} finished in {:.1} s",
        summary.run_id, summary.seconds
    );
    let _ = writeln!(
        out,
        "  pages {}  listings: {} new, {} changed, {} unchanged  images {}",
        summary.pages,
        summary.listings_new,
        summary.listings_changed,
        summary.listings_unchanged,
        summary.images
    );
    let _ = writeln!(
        out,
        "  requests {}  throttled (429/503) {}",
        summary.requests, summary.throttled
    );
    if summary.errors.is_empty() {
        let _ = writeln!(out, "  errors: none");
    } else {
        let errors: Vec<String> = summary
            .errors
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        let _ = writeln!(out, "  errors: {}", errors.join(", "));
    }
    if let Some(warning) = run_warning(summary) {
        let _ = writeln!(out, "  {warning}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_one_item_is_that_items_failure_not_the_runs() {
        let (_dir, config) = crate::config::with_target("base_url = \"http://127.0.0.1:9\"\n");
        let store = Arc::new(Store::open_in_memory().unwrap());
        let seeds: Vec<NewItem> = ["/a", "/boom", "/c"]
            .iter()
            .map(|path| NewItem {
                target: "t".into(),
                kind: ItemKind::Listing,
                url: format!("http://127.0.0.1:9{path}"),
                query: None,
                page: None,
            })
            .collect();
        let run = store.start_run(&["t".into()], None, &seeds).unwrap();
        let ctx = Arc::new(Shared {
            fetcher: Arc::new(Fetcher::new(&config).await.unwrap()),
            config,
            store: store.clone(),
            run: run.clone(),
            ebay: HashMap::new(),
            renderer: render::Renderer::new(std::path::Path::new("/nonexistent"), &[]),
        });
        // Stands in for a parser bug that a hostile page sets off.
        let work = |ctx: Arc<Shared>, item: FrontierItem| async move {
            assert!(!item.url.ends_with("/boom"), "a parser bug");
            blocking(&ctx, move |ctx| {
                let error = CrawlError {
                    kind: FailureKind::Http4xx,
                    message: "gone".into(),
                };
                ctx.store.fail_item(ctx.run.id, &item, &[], &error)?;
                Ok(vec![])
            })
            .await
        };
        drive(&ctx, &Progress::hidden(), work).await.unwrap();
        let errors = store.run_errors(run.id).unwrap();
        let panics: Vec<_> = errors
            .iter()
            .filter(|(kind, ..)| *kind == FailureKind::Panic)
            .collect();
        assert_eq!(panics.len(), 1, "{errors:?}");
        assert!(panics[0].1.ends_with("/boom") && panics[0].2.contains("a parser bug"));
        assert_eq!(errors.len(), 3, "the other items were done too");
        assert!(store.pending_items(run.id).unwrap().is_empty());
    }
}
