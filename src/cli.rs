//! The command line (PRODUCT.md, "Command line"): clap definitions and one
//! function per subcommand. Raw flags stop here; the library takes a
//! resolved `Config`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use url::Url;

use crate::config::{self, Config};
use crate::crawl::{self, CrawlOptions, Progress};
#[cfg(feature = "demo")]
use crate::demo;
use crate::extract;
use crate::judge;
use crate::refusal::{Refusal, Refused};
use crate::report::csv_cell;
use crate::status::{Decision, StatusFilter};
use crate::store::{ListingId, MatchId, QueueEntry, Role, Store, StoredListing, TakedownState};

/// knockoff: marketplace surveillance for counterfeit products.
#[derive(Debug, Parser)]
#[command(name = "knockoff", version, about)]
pub struct Cli {
    /// The workspace folder (knockoff.toml, targets/, reference-images/).
    #[arg(long, global = true, env = "KNOCKOFF_WORKSPACE", default_value = ".")]
    pub workspace: PathBuf,
    /// The person deciding, marking or managing accounts, as the audit log
    /// names them; default the OS user name.
    #[arg(long, global = true, env = "KNOCKOFF_USER", value_name = "NAME")]
    pub by: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// The labelled sets of `eval`.
#[cfg(feature = "demo")]
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum EvalSet {
    /// The demo generator's labelled listings.
    #[default]
    Demo,
    /// A second generator's, written apart from the demo's and never tuned on.
    Independent,
    /// Real product photographs under every trick (`--photos DIR`).
    RealPhotos,
    /// Seller networks hidden across two marketplaces in contacts written
    /// many ways and shared photos, with decoys (`--listings` / 10
    /// operators): pairwise precision and recall.
    Networks,
}

/// `knockoff target` subcommands.
#[derive(Debug, Subcommand)]
pub enum TargetAction {
    /// The built-in presets and the domains that choose them.
    List,
    /// Write targets/NAME.toml for a marketplace site: from its preset
    /// when one knows the domain, else from one of its search results
    /// pages, fetched (robots.txt and the rate respected), its cards found
    /// automatically and shown (a conservative rate either way).
    Add {
        /// The marketplace site, such as https://www.ebay.de, or for a site
        /// no preset knows, a search results page of it, such as
        /// https://shop.example/search?q=orvane.
        url: Url,
        /// For a site no preset knows: the search words the page's address
        /// holds, where no usual parameter (q, k, query, …) carries them.
        #[arg(long, value_name = "WORDS")]
        query: Option<String>,
    },
}

/// Output formats of `explain`.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum ExplainFormat {
    #[default]
    Text,
    Json,
}

/// Output formats of report commands.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum TableOrJson {
    #[default]
    Table,
    Json,
}

/// Output formats of list commands.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate every config file; exits 2 on any problem.
    Check,
    /// Crawl, extract and store; resumes an interrupted run.
    Crawl {
        /// Only these targets (repeatable).
        #[arg(long = "target")]
        targets: Vec<String>,
        /// Result pages per query, overriding every target's max_pages.
        #[arg(long)]
        max_pages: Option<u32>,
        /// Instead of crawling, revisit listings with a submitted takedown
        /// and record the removed ones.
        #[arg(long)]
        recheck: bool,
    },
    /// Seller networks: accounts on any marketplace linked by a contact
    /// (email, phone, messenger, shop domain) or an own photo they share.
    Networks {
        #[arg(long, value_enum, default_value_t)]
        format: TableOrJson,
    },
    /// One seller: what its listings show, its network, listings,
    /// decisions and takedowns.
    Seller {
        /// The target (marketplace) the seller sells on.
        target: String,
        /// The seller's name there, as `listings` shows it.
        name: String,
        #[arg(long, value_enum, default_value_t)]
        format: TableOrJson,
    },
    /// Every listing crawled, matched or not.
    Listings {
        #[arg(long)]
        target: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Extract one saved listing page and print it as JSON.
    Extract {
        file: PathBuf,
        /// The URL the page was saved from (relative links resolve against it).
        #[arg(long)]
        url: Option<Url>,
        /// Use this target's selectors; otherwise the built-in preset for
        /// the URL's domain, else zero-config.
        #[arg(long)]
        target: Option<String>,
    },
    /// The built-in marketplace presets, and targets made from them.
    Target {
        #[command(subcommand)]
        action: TargetAction,
    },
    /// (Re)build the reference and text indexes under index/ and re-judge
    /// every listing they change.
    Index,
    /// Why a listing is or is not in the queue: every product considered,
    /// every signal, each rule fired or not, the score.
    Explain {
        /// The match id (as `queue list` shows it), or a listing's
        /// canonical URL.
        #[arg(required_unless_present = "listing")]
        id: Option<String>,
        /// A listing by its id (as `listings` shows it) instead.
        #[arg(long, value_name = "N", conflicts_with = "id")]
        listing: Option<i64>,
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
    },
    /// Fit the infringement weights to the workspace's confirmed and
    /// dismissed matches; before and after on held-out folds.
    Tune {
        /// Write the fitted weights to `[matching.weights]` in knockoff.toml
        /// (only when they do better on the held-out folds).
        #[arg(long)]
        write: bool,
        /// With --write: write them even when they do no better.
        #[arg(long, requires = "write")]
        force: bool,
    },
    /// The review queue: list it, confirm or dismiss a match.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Measure the matcher on a labelled set: precision, recall, F1,
    /// recall per transformation.
    #[cfg(feature = "demo")]
    Eval {
        /// Which set: `demo` (the demo generator's labelled listings),
        /// `independent` (a second generator's) or `real-photos` (real
        /// photographs under every trick; needs --photos).
        #[arg(long, value_enum, default_value_t = EvalSet::Demo)]
        set: EvalSet,
        /// Seed of a generated set (the demo's held-out one by default).
        #[arg(long, default_value_t = crate::eval::HELD_OUT_SEED)]
        seed: u64,
        /// Listings in a generated set.
        #[arg(long, default_value_t = 400)]
        listings: usize,
        /// Judge each listing as its search card shows it (title, price, a
        /// thumbnail), with this `prefilter`: how many item pages a
        /// two-stage crawl would fetch, and which counterfeits it would miss.
        #[arg(long, value_name = "PREFILTER")]
        cards: Option<f64>,
        /// Folder of real product photographs, for `--set real-photos`.
        #[arg(long, env = "KNOCKOFF_REAL_PHOTOS")]
        photos: Option<PathBuf>,
        /// With `--set real-photos`: write every listing photo it makes
        /// into this folder, for a peer to judge the same bytes.
        #[arg(long, value_name = "DIR")]
        save_listings: Option<PathBuf>,
    },
    /// Start the embedded demo marketplace on loopback and run the whole job against it.
    #[cfg(feature = "demo")]
    Demo,
    /// The review UI in a browser (and the nightly schedule, when configured).
    Serve {
        /// Address to listen on; default `[server] bind`, else 127.0.0.1:7878.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
    },
    /// Evidence bundles: export, verify, and the signing key.
    Evidence {
        #[command(subcommand)]
        action: EvidenceAction,
    },
    /// Takedown notices and their tracking.
    Takedown {
        #[command(subcommand)]
        action: TakedownAction,
    },
    /// Per marketplace: listings, matches and where they stand, takedowns
    /// submitted, removed and rejected, acceptance rate, median days to
    /// removal; a per-week series; the backlog and each reviewer's week.
    Report {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// From this day (YYYY-MM-DD, UTC), inclusive.
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        /// Until this day (YYYY-MM-DD, UTC), inclusive.
        #[arg(long, value_name = "DATE")]
        until: Option<chrono::NaiveDate>,
        /// Only this target.
        #[arg(long)]
        target: Option<String>,
        /// Only matches of this product.
        #[arg(long)]
        product: Option<String>,
    },
    /// Accounts of the review UI.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The store itself: copy it to PostgreSQL.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
}

/// `knockoff store ...`.
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Copy this workspace's store (every table, blobs included) into an
    /// empty PostgreSQL database, made there by the same migrations, in one
    /// transaction; then check each table's row count on both sides. The
    /// password comes from PGPASSWORD or ~/.pgpass, never the URL.
    Copy {
        /// postgres://user@host:port/database (read here, not by the
        /// argument parser, whose errors would echo a password)
        #[arg(long)]
        to: String,
    },
}

/// `knockoff evidence ...`.
#[derive(Debug, Subcommand)]
pub enum EvidenceAction {
    /// Write bundle-ID.zip for each confirmed match.
    Export {
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Folder for the bundles; default evidence/ in the workspace.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also for a match nobody confirmed: the bundle, its report and
        /// notice are marked UNREVIEWED.
        #[arg(long)]
        unreviewed: bool,
    },
    /// Write network-ID.zip: a seller network's dossier (every account,
    /// every link with the captured listings that show it, every confirmed
    /// match), signed like a bundle.
    Dossier {
        /// The network's number, as `knockoff networks` shows it.
        network: i64,
        /// Folder for the dossier; default evidence/ in the workspace.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check every hash and the signature of a bundle or dossier; exit 0 only if all hold.
    Verify {
        file: PathBuf,
        /// Also require this signing key (hex, as `evidence key` prints it).
        #[arg(long)]
        key: Option<String>,
    },
    /// Print the workspace's public signing key (creating the key pair once).
    Key,
}

/// `knockoff takedown ...`.
#[derive(Debug, Subcommand)]
pub enum TakedownAction {
    /// Draft notices for confirmed matches, one per marketplace.
    Draft {
        #[arg(required = true)]
        ids: Vec<i64>,
        /// generic, ebay-vero, amazon, dmca, eu-dsa, or a file in takedown-templates/.
        #[arg(long, default_value = "generic")]
        template: String,
        /// Folder for the notices; default takedowns/ in the workspace.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Record where takedowns stand: submitted, removed or rejected.
    Mark {
        #[arg(value_enum)]
        state: TakedownState,
        #[arg(required = true)]
        ids: Vec<i64>,
        #[arg(long)]
        note: Option<String>,
    },
}

/// `knockoff user ...`.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add a user; the password is read from stdin, or KNOCKOFF_PASSWORD.
    Add {
        name: String,
        /// admin, reviewer or viewer.
        #[arg(long)]
        role: Role,
    },
    /// Every account: role, live sessions, last sign-in.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: TableOrJson,
    },
    /// Remove an account; its sessions end at once.
    Remove { name: String },
    /// Set an account's password (stdin, or KNOCKOFF_PASSWORD); its
    /// sessions end.
    Passwd { name: String },
    /// Give an account another role (admin, reviewer or viewer); its
    /// sessions end.
    Role { name: String, role: Role },
}

/// `knockoff queue ...`.
#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Matches by score, highest first.
    List {
        #[arg(long, value_enum, default_value_t)]
        status: StatusFilter,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Confirm matches as infringements.
    Confirm {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<i64>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Dismiss matches.
    Dismiss {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<i64>,
        #[arg(long)]
        note: Option<String>,
    },
}

/// Writes command output to stdout. A write error — above all a reader
/// that went away (`knockoff listings | head`) — returns from the command
/// as an error, which `main` turns into a quiet exit ([`is_broken_pipe`]),
/// never a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        write!(std::io::stdout().lock(), $($arg)*)?
    };
}

/// [`out!`] with a newline.
macro_rules! outln {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

/// Whether `error` is stdout's reader going away: the command's output
/// was cut short on purpose (`| head`), which is no failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Runs the command; errors are printed by `main`.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let workspace = cli.workspace.as_path();
    let by = cli.by.as_deref();
    match cli.command {
        Command::Check => check(workspace),
        Command::Crawl { recheck: true, .. } => recheck(workspace),
        Command::Crawl {
            targets, max_pages, ..
        } => crawl(workspace, targets, max_pages),
        Command::Networks { format } => networks(workspace, format),
        Command::Seller {
            target,
            name,
            format,
        } => seller(workspace, target, name, format),
        Command::Listings { target, format } => listings(workspace, target, format),
        Command::Extract { file, url, target } => {
            extract_file(workspace, &file, url, target.as_deref())
        }
        Command::Target { action } => target(workspace, action),
        Command::Explain {
            id,
            listing,
            format,
        } => explain(workspace, id, listing, format),
        Command::Tune { write, force } => tune(workspace, write, force),
        Command::Index => index(workspace),
        Command::Queue { action } => queue(workspace, action, by),
        #[cfg(feature = "demo")]
        Command::Eval {
            set,
            seed,
            listings,
            cards,
            photos,
            save_listings,
        } => eval(workspace, set, seed, listings, cards, photos, save_listings),
        Command::Serve { bind } => serve(workspace, bind),
        Command::Evidence { action } => evidence(workspace, action, by),
        Command::Takedown { action } => takedown(workspace, action, by),
        Command::Report {
            format,
            since,
            until,
            target,
            product,
        } => report(workspace, format, since, until, target, product),
        Command::Store {
            action: StoreAction::Copy { to },
        } => store_copy(workspace, &to),
        Command::User { action } => {
            let config = config::load(workspace)?;
            let store = open_store(&config)?;
            user(&store, action, by)
        }
        #[cfg(feature = "demo")]
        Command::Demo => demo(workspace),
    }
}

/// The async runtime of the commands that crawl or serve.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `knockoff crawl --recheck`.
fn recheck(workspace: &Path) -> Result<ExitCode> {
    let runtime = runtime()?;
    let config = config::load(workspace)?;
    let store = Arc::new(open_store(&config)?);
    let report = runtime.block_on(crawl::recheck(&config, store))?;
    outln!(
        "rechecked {} listing(s) with a submitted takedown: {} removed, {} still up, {} could not be checked",
        report.checked,
        report.removed,
        report.still_up,
        report.errors.len()
    );
    for error in &report.errors {
        outln!("  {error}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `knockoff crawl`: the crawl, then the judging pass.
fn crawl(workspace: &Path, targets: Vec<String>, max_pages: Option<u32>) -> Result<ExitCode> {
    let runtime = runtime()?;
    let config = config::load(workspace)?;
    let store = Arc::new(open_store(&config)?);
    let options = CrawlOptions {
        targets,
        max_pages,
        ..CrawlOptions::default()
    };
    let progress = Progress::new(std::io::stderr().is_terminal());
    let summary = runtime.block_on(crawl::crawl(&config, store.clone(), &options, progress))?;
    out!("{}", crawl::render_summary(&summary));
    let report = judge::judge_workspace(&config, &store)?;
    out!("{}", report.render());
    Ok(ExitCode::SUCCESS)
}

/// `knockoff networks`.
fn networks(workspace: &Path, format: TableOrJson) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    let store = open_store(&config)?;
    let networks = crate::networks::report(&store, config.settings.network_boilerplate)?;
    match format {
        TableOrJson::Json => outln!("{}", serde_json::to_string_pretty(&networks)?),
        TableOrJson::Table => out!("{}", render_networks(&networks)),
    }
    Ok(ExitCode::SUCCESS)
}

/// `knockoff store copy`.
fn store_copy(workspace: &Path, to: &str) -> Result<ExitCode> {
    let to: crate::store::PostgresUrl = to.parse()?;
    let config = config::load(workspace)?;
    let store = open_store(&config)?;
    let copied = store.copy_to_postgres(&to)?;
    let mut table = String::from("table                   rows\n");
    for (name, rows) in &copied.tables {
        table.push_str(&format!("{name:<22} {rows:>6}\n"));
    }
    out!("{table}");
    outln!(
        "copied {} rows in {} tables to {to}; the counts agree",
        copied.tables.iter().map(|(_, n)| n).sum::<u64>(),
        copied.tables.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `knockoff seller`.
fn seller(workspace: &Path, target: String, name: String, format: TableOrJson) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    known_target(&config, workspace, &target)?;
    let store = open_store(&config)?;
    let profile =
        crate::networks::profile(&store, &target, &name, config.settings.network_boilerplate)?
            .ok_or_else(|| {
                Refused::invalid(format!(
                    "no listing of seller `{name}` on target `{target}` in the store \
             (`knockoff listings --target {target}` shows its sellers)"
                ))
            })?;
    match format {
        TableOrJson::Json => outln!("{}", serde_json::to_string_pretty(&profile)?),
        TableOrJson::Table => out!("{}", render_seller(&profile)),
    }
    Ok(ExitCode::SUCCESS)
}

/// `knockoff listings`.
fn listings(workspace: &Path, target: Option<String>, format: Format) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    if let Some(name) = &target {
        known_target(&config, workspace, name)?;
    }
    let store = open_store(&config)?;
    let listings = store.listings(target.as_deref())?;
    let mut out = std::io::stdout().lock();
    write_listings(&mut out, &listings, format)?;
    Ok(ExitCode::SUCCESS)
}

/// `knockoff target ...`.
fn target(workspace: &Path, action: TargetAction) -> Result<ExitCode> {
    let runtime = runtime()?;
    match action {
        TargetAction::List => {
            for preset in &crate::presets::PRESETS {
                let table = crate::presets::table(preset);
                let base = table.get("base_url").and_then(|v| v.as_str()).unwrap_or("");
                let domains: Vec<String> = preset.labels.iter().map(|l| format!("{l}.*")).collect();
                outln!("{:<13} {:<34} e.g. {base}", preset.name, domains.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        TargetAction::Add { url, query } => add_target(workspace, &url, query.as_deref(), &runtime),
    }
}

/// `knockoff explain`.
fn explain(
    workspace: &Path,
    id: Option<String>,
    listing: Option<i64>,
    format: ExplainFormat,
) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    let store = open_store(&config)?;
    let subject = match (listing, id) {
        (Some(listing), _) => crate::explain::Subject::Listing(ListingId(listing)),
        (None, Some(id)) => crate::explain::Subject::parse(&id),
        (None, None) => {
            return Err(Refused::invalid("explain needs a match id or --listing N").into())
        }
    };
    let explanation = crate::explain::explain(&config, &store, &Default::default(), &subject)?;
    match format {
        ExplainFormat::Text => out!("{}", crate::explain::render(&explanation)),
        ExplainFormat::Json => {
            outln!("{}", serde_json::to_string_pretty(&explanation)?)
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `knockoff tune`.
fn tune(workspace: &Path, write: bool, force: bool) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    let store = open_store(&config)?;
    let examples = crate::tune::examples(&store.decisions()?);
    let report = crate::tune::tune(
        &examples,
        config.settings.weights,
        config.settings.policy.threshold,
    )?;
    out!("{}", crate::tune::render(&report));
    let path = workspace.join("knockoff.toml");
    if write && (report.improves() || force) {
        crate::tune::write_weights(&path, &report.fitted)?;
        outln!(
            "written to {}; `knockoff index` re-judges with them",
            path.display()
        );
    } else if write {
        return Err(Refused::invalid(format!(
            "not written to {}: the fitted weights do no better on the held-out folds \
             than chance (F1 {:.3} against {:.3} in use; {} decisions judged right by the \
             fit alone, {} by the weights in use alone); `tune --write --force` writes \
             them anyway",
            path.display(),
            report.after.f1(),
            report.before.f1(),
            report.fit_alone_right,
            report.in_use_alone_right
        ))
        .into());
    } else if report.improves() {
        outln!("not written: run `knockoff tune --write` to use the fitted weights");
    } else {
        outln!("not written: the fitted weights do no better than the ones in use");
    }
    Ok(ExitCode::SUCCESS)
}

/// `knockoff index`: the judging pass alone.
fn index(workspace: &Path) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    let store = open_store(&config)?;
    let report = judge::judge_workspace(&config, &store)?;
    outln!(
        "references: {} photos, {} printed now, {} from index/",
        report.reference_images,
        report.references_printed,
        report.reference_images - report.references_printed
    );
    out!("{}", report.render());
    Ok(ExitCode::SUCCESS)
}

/// `knockoff queue ...`.
fn queue(workspace: &Path, action: QueueAction, by: Option<&str>) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    let store = open_store(&config)?;
    match action {
        QueueAction::List { status, format } => {
            let entries = store.queue(status)?;
            write_queue(&mut std::io::stdout().lock(), &entries, format)?;
        }
        QueueAction::Confirm { ids, note } => {
            decide(&store, &ids, Decision::Confirm, note.as_deref(), by)?;
        }
        QueueAction::Dismiss { ids, note } => {
            decide(&store, &ids, Decision::Dismiss, note.as_deref(), by)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "demo")]
/// `knockoff eval`.
fn eval(
    workspace: &Path,
    set: EvalSet,
    seed: u64,
    listings: usize,
    cards: Option<f64>,
    photos: Option<PathBuf>,
    save_listings: Option<PathBuf>,
) -> Result<ExitCode> {
    match set {
        EvalSet::Demo => {
            let report = crate::eval::evaluate(seed, listings, cards)?;
            out!("{}", crate::eval::render(&report));
        }
        EvalSet::Independent => {
            let report = crate::eval::evaluate_independent(seed, listings, cards)?;
            out!("{}", crate::eval::render(&report));
        }
        EvalSet::Networks => {
            let config = config::load(workspace).ok();
            let boilerplate = config.map_or(10, |c| c.settings.network_boilerplate);
            let report = crate::eval::networks::evaluate_networks(
                seed,
                (listings / 10).max(2),
                boilerplate,
            )?;
            out!("{}", crate::eval::networks::render_networks(&report));
        }
        EvalSet::RealPhotos => {
            let dir = photos.ok_or_else(|| {
                Refused::invalid(
                    "--set real-photos needs --photos DIR (or KNOCKOFF_REAL_PHOTOS): \
                     a folder of real product photographs",
                )
            })?;
            let report =
                crate::eval::photos::evaluate_photos(&dir, usize::MAX, save_listings.as_deref())?;
            out!("{}", crate::eval::photos::render_photos(&report));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `knockoff serve`.
fn serve(workspace: &Path, bind: Option<std::net::SocketAddr>) -> Result<ExitCode> {
    let runtime = runtime()?;
    let config = config::load(workspace)?;
    let store = Arc::new(open_store(&config)?);
    if store.user_count()? == 0 {
        return Err(Refused::invalid(format!(
            "{} has no users yet, so nobody could sign in; add one first: \
             knockoff --workspace {} user add NAME --role admin \
             (the password is read from stdin or KNOCKOFF_PASSWORD)",
            config.store_location(),
            workspace.display()
        ))
        .into());
    }
    let bind = bind.unwrap_or(config.settings.server_bind);
    runtime.block_on(crate::serve::run(config, store, bind))?;
    Ok(ExitCode::SUCCESS)
}

/// `knockoff report`.
fn report(
    workspace: &Path,
    format: Format,
    since: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    target: Option<String>,
    product: Option<String>,
) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    if let Some(name) = &target {
        known_target(&config, workspace, name)?;
    }
    if let Some(id) = &product {
        if !config.catalog.products.iter().any(|p| &p.id == id) {
            return Err(Refused::invalid(format!(
                "no product `{id}` in {}",
                workspace.join("reference-images/products.toml").display()
            ))
            .into());
        }
    }
    if let (Some(from), Some(to)) = (since, until) {
        if from > to {
            return Err(Refused::invalid(format!(
                "--since {from} is after --until {to}: the period would be empty"
            ))
            .into());
        }
    }
    let store = open_store(&config)?;
    let report = store.report(&crate::store::ReportQuery {
        since,
        until,
        target,
        product,
    })?;
    match format {
        Format::Table => out!("{}", crate::report::render_table(&report)),
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => out!("{}", crate::report::render_csv(&report)?),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "demo")]
/// `knockoff demo`.
fn demo(workspace: &Path) -> Result<ExitCode> {
    let runtime = runtime()?;
    let progress = Progress::new(std::io::stderr().is_terminal());
    let report = runtime.block_on(demo::run(workspace, progress))?;
    out!("{}", demo::render_report(&report, workspace));
    Ok(ExitCode::SUCCESS)
}

fn evidence(workspace: &Path, action: EvidenceAction, by: Option<&str>) -> Result<ExitCode> {
    match action {
        EvidenceAction::Export {
            ids,
            out,
            unreviewed,
        } => {
            let config = config::load(workspace)?;
            let store = open_store(&config)?;
            let out = out.unwrap_or_else(|| workspace.join("evidence"));
            let review = if unreviewed {
                crate::evidence::Review::Unreviewed
            } else {
                crate::evidence::Review::Confirmed
            };
            for id in ids {
                let exported = crate::evidence::export_audited(
                    &config,
                    &store,
                    MatchId(id),
                    &out,
                    review,
                    &cli_actor(by)?,
                )?;
                outln!("{}", exported.path.display());
                if let Some((old, _)) = &exported.superseded {
                    eprintln!(
                        "match {id}: the earlier bundle is kept as {}",
                        old.display()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceAction::Dossier { network, out } => {
            let config = config::load(workspace)?;
            let store = open_store(&config)?;
            let out = out.unwrap_or_else(|| workspace.join("evidence"));
            let found =
                crate::networks::network(&store, config.settings.network_boilerplate, network)?
                    .ok_or_else(|| {
                        Refused::invalid(format!(
                            "there is no seller network #{network}; `knockoff networks` lists them"
                        ))
                    })?;
            let exported = crate::evidence::dossier::export_network(
                &config,
                &store,
                &found,
                &out,
                &cli_actor(by)?,
            )?;
            outln!("{}", exported.path.display());
            if let Some((old, _)) = &exported.superseded {
                eprintln!(
                    "network {network}: the earlier dossier is kept as {}",
                    old.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceAction::Verify { file, key } => {
            // The key to trust: --key, else this workspace's own.
            let trusted = match key {
                Some(key) => Some(key),
                None => crate::evidence::workspace_public_key(workspace)?,
            };
            match crate::evidence::verify(&file, trusted.as_deref()) {
                Ok(verified) if !verified.key_checked => {
                    eprintln!(
                        "{}: every file and the signature check out, but the signing key {} was not checked: \
                         pass --key HEX (the brand's published key), or run this in the workspace that signed it",
                        file.display(),
                        verified.manifest.signature().public_key
                    );
                    Ok(ExitCode::from(1))
                }
                Ok(verified) => {
                    let m = &verified.manifest;
                    outln!(
                        "ok: {} — {}, signed by {}",
                        file.display(),
                        m.describe(),
                        m.signature().public_key
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(problem) => {
                    eprintln!("{}: {problem}", file.display());
                    Ok(ExitCode::from(1))
                }
            }
        }
        EvidenceAction::Key => {
            let key = crate::evidence::signing_key(workspace)?;
            outln!("{}", crate::evidence::public_key_hex(&key));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn takedown(workspace: &Path, action: TakedownAction, by: Option<&str>) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    let store = open_store(&config)?;
    match action {
        TakedownAction::Draft { ids, template, out } => {
            let out = out.unwrap_or_else(|| workspace.join("takedowns"));
            let ids: Vec<MatchId> = ids.into_iter().map(MatchId).collect();
            let notices =
                crate::takedown::draft(&config, &store, &ids, &template, &out, &cli_actor(by)?)?;
            for notice in notices {
                outln!(
                    "{}  ({}, {} listing(s))",
                    notice.path.display(),
                    notice.marketplace,
                    notice.matches.len()
                );
            }
        }
        TakedownAction::Mark { state, ids, note } => {
            if state == TakedownState::Drafted {
                return Err(Refused::invalid(
                    "a takedown is marked submitted, removed or rejected; `takedown draft` drafts it",
                )
                .into());
            }
            for id in ids {
                store.set_takedown(
                    MatchId(id),
                    state,
                    &cli_actor(by)?,
                    note.as_deref().unwrap_or(""),
                )?;
                outln!("match {id}: takedown {}", state.as_str());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `knockoff target add URL`: targets/NAME.toml from the preset for the
/// URL's marketplace. Only an http(s) URL of a site; credentials, path and
/// a trailing dot are not part of a target; an existing file — or a
/// symbolic link, dangling or not — is never written through.
fn add_target(
    workspace: &Path,
    url: &Url,
    query: Option<&str>,
    runtime: &tokio::runtime::Runtime,
) -> Result<ExitCode> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Refused::invalid(format!(
            "`target add` takes the http(s) address of a marketplace site, such as \
             https://www.ebay.de, not `{}`",
            url.as_str()
        ))
        .into());
    }
    let (name, text, said) = match crate::presets::for_url(url) {
        Some(preset) => {
            let (name, text) = crate::presets::target_file(preset, url);
            let said = format!("from the `{}` preset", preset.name);
            (name, text, said)
        }
        None => {
            let site = crate::presets::site_target(url, query).map_err(|e| {
                Refused::invalid(format!(
                    "no built-in preset for {}, and {e}",
                    url.host_str().unwrap_or_default()
                ))
            })?;
            let cards = read_new_site(workspace, url, &site, runtime)?;
            let text = crate::presets::site_target_file(&site, url, cards);
            let said = format!("with {cards} listing cards found automatically on its search page");
            (site.name, text, said)
        }
    };
    let dir = workspace.join("targets");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{name}.toml"));
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    let mut file = match created {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Refused::invalid(format!(
                "{} exists already; edit it, or remove it first",
                path.display()
            ))
            .into())
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    outln!(
        "wrote {} {said}; `knockoff check` validates it",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Fetches the search page `url` of a site no preset knows (as a crawl
/// would, for the target about to be written), prints the cards found on
/// it automatically, and returns how many; none is a refusal.
fn read_new_site(
    workspace: &Path,
    url: &Url,
    site: &crate::presets::SiteTarget,
    runtime: &tokio::runtime::Runtime,
) -> Result<usize> {
    let shown = workspace
        .join("targets")
        .join(format!("{}.toml", site.name));
    let config = config::with_new_target(
        workspace,
        &crate::presets::site_target_file(site, url, 0),
        &shown,
    )?;
    let (html, read_from) = runtime.block_on(crawl::fetch_page(&config, &site.name, url))?;
    let found = extract::search_page(&html, &read_from, None);
    if found.cards.is_empty() {
        return Err(Refused::invalid(format!(
            "no listing cards found on {url}: is it a page of search results? (`knockoff extract` \
             on the saved page shows what is read; nothing was written)"
        ))
        .into());
    }
    outln!("{} listing cards on {url}:", found.cards.len());
    for card in &found.cards {
        outln!(
            "  {:<60.60}  {:>14}  {}",
            card.title.as_deref().unwrap_or("—"),
            extract::display_price(card.price, card.currency.as_deref()),
            card.url
        );
    }
    if let Some(next) = &found.next {
        outln!("next page: {next}");
    }
    Ok(found.cards.len())
}

/// `knockoff user ...`, audited as the person `by` names.
fn user(store: &Store, action: UserAction, by: Option<&str>) -> Result<ExitCode> {
    let actor = cli_actor(by)?;
    match action {
        UserAction::Add { name, role } => {
            crate::web::auth::check_new_user_name(&name)?;
            let hash = crate::web::auth::hash_password(&read_password(&name)?)?;
            store.add_user(&name, role, &hash, &actor)?;
            outln!("added {name} ({})", role.as_str());
        }
        UserAction::List { format } => {
            let accounts = store.users()?;
            match format {
                TableOrJson::Json => outln!("{}", serde_json::to_string_pretty(&accounts)?),
                TableOrJson::Table => {
                    outln!(
                        "{:<24} {:<9} {:>8}  {:<20}  {}",
                        "NAME",
                        "ROLE",
                        "SESSIONS",
                        "LAST SIGN-IN",
                        "CREATED"
                    );
                    let second = |t: &str| t.get(..19).unwrap_or(t).replace('T', " ");
                    for a in &accounts {
                        outln!(
                            "{:<24} {:<9} {:>8}  {:<20}  {}",
                            a.name,
                            a.role.as_str(),
                            a.sessions,
                            a.last_sign_in.as_deref().map_or("never".into(), second),
                            second(&a.created_at)
                        );
                    }
                    if accounts.is_empty() {
                        outln!("no users yet: `knockoff user add NAME --role admin`");
                    }
                }
            }
        }
        UserAction::Remove { name } => {
            store.remove_user(&name, &actor)?;
            outln!("removed {name}; their sessions have ended");
        }
        UserAction::Passwd { name } => {
            if store.user_credentials(&name)?.is_none() {
                return Err(crate::store::NoSuchUser(name).refused().into());
            }
            let hash = crate::web::auth::hash_password(&read_password(&name)?)?;
            store.set_password(&name, &hash, &actor)?;
            outln!("password of {name} changed; their sessions have ended");
        }
        UserAction::Role { name, role } => {
            store.set_role(&name, role, &actor)?;
            outln!("{name} is now {}; their sessions have ended", role.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A new password for `name`: KNOCKOFF_PASSWORD, else the first line of
/// stdin; at least 10 characters.
fn read_password(name: &str) -> Result<String> {
    let password = match std::env::var("KNOCKOFF_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            if std::io::stdin().is_terminal() {
                eprint!("password for {name}: ");
            }
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    crate::web::auth::check_password(name, &password)?;
    Ok(password)
}

/// Refuses a target name the workspace does not have (exit 2).
fn known_target(config: &Config, workspace: &Path, name: &str) -> Result<()> {
    if config.target(name).is_none() {
        return Err(Refused::invalid(format!(
            "no target named `{name}` in {}",
            workspace.join("targets").display()
        ))
        .into());
    }
    Ok(())
}

/// The store the workspace's configuration names: its PostgreSQL database
/// (`[store] url`, or `KNOCKOFF_STORE_URL`), else its SQLite file.
fn open_store(config: &Config) -> Result<Store> {
    match &config.settings.store_url {
        Some(url) => Store::open_postgres(&url.parse()?),
        None => Store::open(&config.db_path()),
    }
}

/// The person acting on the command line, as the audit log names them:
/// `--by` (or KNOCKOFF_USER), else the OS user name. Never anonymous.
fn cli_actor(by: Option<&str>) -> Result<String> {
    let named = by.map(str::to_string).or_else(os_user_name);
    match named.map(|n| n.trim().to_string()) {
        Some(name) if !name.is_empty() && !name.chars().any(char::is_control) => Ok(name),
        _ => Err(Refused::invalid(
            "who is acting? name the person with --by NAME (or KNOCKOFF_USER); \
             the OS user name could not be found",
        )
        .into()),
    }
}

/// The OS user running knockoff: $USER, $LOGNAME, else the name
/// /etc/passwd gives the process's user id.
fn os_user_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let from_env = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()));
    from_env.or_else(|| {
        let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
        std::fs::read_to_string("/etc/passwd")
            .ok()?
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields.get(2) == Some(&uid.as_str()))
            .map(|fields| fields[0].to_string())
    })
}

/// Decides every match in `ids` as `by`; an unknown id stops there (the
/// ones before it stay decided, each line says which).
fn decide(
    store: &Store,
    ids: &[i64],
    decision: Decision,
    note: Option<&str>,
    by: Option<&str>,
) -> Result<()> {
    let actor = cli_actor(by)?;
    for &id in ids {
        store.decide(MatchId(id), decision, &actor, note)?;
        outln!("match {id} {} by {actor}", decision.status());
    }
    Ok(())
}

/// Scraped text as a terminal may show it: control characters (ESC
/// sequences write the clipboard, clear the screen, retitle the window)
/// and bidi overrides are dropped. Extraction drops them too; stores
/// written before it did may still hold some.
fn terminal(text: &str) -> String {
    text.chars()
        .filter(|c| !crate::extract::is_unsafe_char(*c))
        .collect()
}

/// The reasons of a queue entry, from its stored signals.
fn reasons(entry: &QueueEntry) -> String {
    entry
        .signals
        .as_ref()
        .map(|s| s.reasons().join("; "))
        .unwrap_or_default()
}

/// Writes queue entries as a table (with the reasons in words), a JSON
/// array, or CSV.
pub(crate) fn write_queue(
    out: &mut dyn Write,
    entries: &[QueueEntry],
    format: Format,
) -> Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, entries)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record([
                "id",
                "status",
                "score",
                "product_id",
                "target",
                "listing_url",
                "title",
                "price",
                "currency",
                "seller",
                "first_seen",
                "last_seen",
                "reasons",
                "stage",
            ])?;
            for e in entries {
                writer.write_record(
                    [
                        e.id.to_string(),
                        e.status.to_string(),
                        format!("{:.3}", e.score),
                        e.product_id.clone(),
                        e.target.clone(),
                        e.listing_url.clone(),
                        e.title.clone().unwrap_or_default(),
                        e.price.map(|p| p.to_string()).unwrap_or_default(),
                        e.currency.clone().unwrap_or_default(),
                        e.seller.clone().unwrap_or_default(),
                        e.first_seen.clone(),
                        e.last_seen.clone(),
                        reasons(e),
                        e.stage.as_str().to_string(),
                    ]
                    .map(csv_cell),
                )?;
            }
            writer.flush()?;
        }
        Format::Table => {
            for e in entries {
                writeln!(
                    out,
                    "#{:<5} {:<9} {:.2}  {:<8} {:<10} {} — {}",
                    e.id,
                    e.status,
                    e.score,
                    e.product_id,
                    e.target,
                    terminal(e.title.as_deref().unwrap_or("-")),
                    terminal(e.seller.as_deref().unwrap_or("-")),
                )?;
                writeln!(out, "        {}", terminal(&e.listing_url))?;
                if e.stage == crate::store::Stage::Card {
                    writeln!(
                        out,
                        "        judged from its search card only (item page not fetched)"
                    )?;
                }
                writeln!(out, "        why: {}", terminal(&reasons(e)))?;
            }
            writeln!(out, "{} matches", entries.len())?;
        }
    }
    Ok(())
}

fn check(workspace: &Path) -> Result<ExitCode> {
    let config = config::load(workspace)?;
    outln!(
        "ok: knockoff.toml, {} targets ({}), {} products of {}",
        config.targets.len(),
        config
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        config.catalog.products.len(),
        config.catalog.brand.name
    );
    if let Some(url) = &config.settings.store_url {
        outln!("ok: {}", url.parse::<crate::store::PostgresUrl>()?.check()?);
    }
    Ok(ExitCode::SUCCESS)
}

fn extract_file(
    workspace: &Path,
    file: &Path,
    url: Option<Url>,
    target: Option<&str>,
) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let target = match (target, &url) {
        (Some(name), _) => {
            let config = config::load(workspace)?;
            let target = config.target(name).cloned().ok_or_else(|| {
                Refused::invalid(format!(
                    "no target named `{name}` in {}",
                    workspace.join("targets").display()
                ))
            })?;
            Some(target)
        }
        // No target named: the built-in preset for the URL's domain.
        (None, Some(url)) => match crate::presets::for_url(url) {
            Some(preset) => Some(config::preset_target(workspace, preset, url)?),
            None => None,
        },
        (None, None) => None,
    };
    let page_url = match (url, &target) {
        (Some(url), _) => url,
        (None, Some(target)) => target.base_url.clone(),
        (None, None) => {
            let absolute = std::path::absolute(file)
                .with_context(|| format!("resolving {}", file.display()))?;
            Url::from_file_path(&absolute)
                .map_err(|_| anyhow::anyhow!("{} cannot be made into a URL", file.display()))?
        }
    };
    let (html, _) = extract::decode_html(&bytes, None);
    let extracted = extract::listing(&html, &page_url, target.as_ref().map(|t| &t.item));
    // A search results page: its cards as the target reads them, else
    // (no target names `[results]`) as found automatically.
    let results = extract::search_page(
        &html,
        &page_url,
        target.as_ref().and_then(|t| t.results.as_ref()),
    );
    let json = serde_json::json!({
        "url": page_url.as_str(),
        "target": target.as_ref().map(|t| t.name.as_str()),
        "title": extracted.listing.title,
        "price": extracted.listing.price,
        "currency": extracted.listing.currency,
        "seller": extracted.listing.seller,
        "description": extracted.listing.description,
        "images": extracted.listing.images,
        "sources": extracted.sources,
        "warnings": extracted.warnings,
        "cards": results.cards,
        "next_page": results.next.as_ref().map(Url::as_str),
        "cards_found_by": match results.found_by {
            extract::FoundBy::Selectors => "selectors",
            extract::FoundBy::Automatic => "automatic",
            extract::FoundBy::SelectorsMissed => "automatic (the selectors found none)",
        },
    });
    outln!("{}", serde_json::to_string_pretty(&json)?);
    Ok(ExitCode::SUCCESS)
}

/// Networks as a table: one block each, members then links.
fn render_networks(networks: &[crate::networks::NetworkReport]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if networks.is_empty() {
        out.push_str("no seller networks: no two sellers share a contact or a photo\n");
    }
    for network in networks {
        let targets: std::collections::BTreeSet<&str> =
            network.members.iter().map(|m| m.target.as_str()).collect();
        let confirmed: u64 = network.members.iter().map(|m| m.confirmed).sum();
        let _ = writeln!(
            out,
            "network #{}: {} accounts on {} marketplace(s), {} confirmed",
            network.id,
            network.members.len(),
            targets.len(),
            confirmed
        );
        for m in &network.members {
            let _ = writeln!(
                out,
                "  {:<14} {:<30} {:>5} listings {:>4} matches {:>4} confirmed",
                m.target, m.seller, m.listings, m.matches, m.confirmed
            );
        }
        for link in &network.links {
            let _ = writeln!(
                out,
                "    {:<9} {:<40} {}",
                link.kind,
                link.value,
                link.members.join(", ")
            );
        }
    }
    out
}

/// A seller's profile as text.
fn render_seller(profile: &crate::networks::SellerProfile) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let f = &profile.figures;
    let _ = writeln!(
        out,
        "{} on {}: {} listings, {} matches, {} confirmed",
        profile.seller, profile.target, f.listings, f.matches, f.confirmed
    );
    if profile.contacts.is_empty() {
        out.push_str("contacts: none found\n");
    } else {
        out.push_str("contacts:\n");
        for (kind, value, listings) in &profile.contacts {
            let ids: Vec<String> = listings.iter().map(|l| format!("#{l}")).collect();
            let _ = writeln!(out, "  {kind:<9} {value:<40} on listing {}", ids.join(", "));
        }
    }
    match &profile.network {
        Some(network) => {
            let _ = writeln!(out, "network #{}:", network.id);
            for m in &network.members {
                let _ = writeln!(
                    out,
                    "  {}/{} ({} listings, {} confirmed)",
                    m.target, m.seller, m.listings, m.confirmed
                );
            }
        }
        None => out.push_str("network: none (no contact or photo shared with another seller)\n"),
    }
    out.push_str("listings:\n");
    for l in &profile.listings {
        let _ = writeln!(
            out,
            "  #{:<6} {:<60.60} {}",
            l.id.0,
            l.listing.title.as_deref().unwrap_or("—"),
            l.url
        );
    }
    if !profile.matches.is_empty() {
        out.push_str("matches:\n");
        for m in &profile.matches {
            let _ = writeln!(
                out,
                "  match {:<6} {:<12} {:<10} score {:.3}{}{}",
                m.id,
                m.product_id,
                m.status,
                m.score,
                m.decided_by
                    .as_deref()
                    .map(|by| format!(" by {by}"))
                    .unwrap_or_default(),
                m.takedown
                    .as_deref()
                    .map(|t| format!(", takedown {t}"))
                    .unwrap_or_default()
            );
        }
    }
    out
}

/// Writes listings as a table, a JSON array, or CSV.
pub(crate) fn write_listings(
    out: &mut dyn Write,
    listings: &[StoredListing],
    format: Format,
) -> Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, listings)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record([
                "url",
                "target",
                "title",
                "price",
                "currency",
                "seller",
                "description",
                "images",
                "first_seen",
                "last_seen",
                "id",
            ])?;
            for l in listings {
                let field = |v: &Option<String>| v.clone().unwrap_or_default();
                writer.write_record(
                    [
                        l.url.clone(),
                        l.target.clone(),
                        field(&l.listing.title),
                        l.listing.price.map(|p| p.to_string()).unwrap_or_default(),
                        field(&l.listing.currency),
                        field(&l.listing.seller),
                        field(&l.listing.description),
                        l.listing.images.join(" "),
                        l.first_seen.clone(),
                        l.last_seen.clone(),
                        l.id.0.to_string(),
                    ]
                    .map(csv_cell),
                )?;
            }
            writer.flush()?;
        }
        Format::Table => {
            writeln!(
                out,
                "{:>6} {:<10} {:>10} {:<3} {:<20} {:<44} URL",
                "ID", "TARGET", "PRICE", "CUR", "SELLER", "TITLE"
            )?;
            for l in listings {
                let cut = |s: &Option<String>, n: usize| {
                    let s = terminal(s.as_deref().unwrap_or("-"));
                    if s.chars().count() > n {
                        format!("{}…", s.chars().take(n - 1).collect::<String>())
                    } else {
                        s.to_string()
                    }
                };
                let price = l
                    .listing
                    .price
                    .map(|p| format!("{p:.2}"))
                    .unwrap_or_else(|| "-".into());
                writeln!(
                    out,
                    "{:>6} {:<10} {:>10} {:<3} {:<20} {:<44} {}",
                    l.id.0,
                    l.target,
                    price,
                    terminal(l.listing.currency.as_deref().unwrap_or("-")),
                    cut(&l.listing.seller, 20),
                    cut(&l.listing.title, 44),
                    terminal(&l.url)
                )?;
            }
            writeln!(out, "{} listings", listings.len())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(title: &str, seller: &str) -> StoredListing {
        StoredListing {
            id: crate::store::ListingId(1),
            url: "https://shop.example/1".into(),
            target: "shop".into(),
            listing: crate::extract::Listing {
                title: Some(title.into()),
                price: Some(-0.0),
                seller: Some(seller.into()),
                ..Default::default()
            },
            first_seen: "t".into(),
            last_seen: "t".into(),
            last_changed: "t".into(),
            stage: crate::store::Stage::Item,
        }
    }

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        let mut out = Vec::new();
        let l = listing("Bag\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J", "\u{9b}31mshop");
        write_listings(&mut out, &[l], Format::Table).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("Bag]52;c;ZXZpbA==[2J"));
    }

    #[test]
    fn formulas_become_text_in_csv() {
        let mut out = Vec::new();
        let l = listing("=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(1)");
        write_listings(&mut out, &[l], Format::Csv).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"'=HYPERLINK("), "{text}");
        assert!(text.contains(",'@SUM(1),"), "{text}");
        assert_eq!(csv_cell("-12.5".into()), "-12.5");
        assert_eq!(csv_cell("-1+2".into()), "'-1+2");
        assert_eq!(csv_cell("plain".into()), "plain");
    }
}
