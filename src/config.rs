//! Workspace configuration: `knockoff.toml`, `targets/*.toml` and
//! `reference-images/products.toml` turned into one validated [`Config`].
//!
//! Raw TOML stops here. Every file is walked by a `TableReader` that knows
//! the expected keys, so one pass reports every problem at once — wrong type,
//! out-of-range value, unparsable selector, missing image, unknown key (with a
//! suggestion for a misspelling) — instead of stopping at the first as serde
//! would. Everything downstream takes a resolved `&Config`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use url::Url;

/// Everything a workspace configures, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The workspace folder all relative paths resolve against.
    pub workspace: PathBuf,
    /// Global settings from `knockoff.toml` (defaults when the file is absent).
    pub settings: Settings,
    /// One entry per `targets/*.toml`, sorted by name.
    pub targets: Vec<Target>,
    /// The brand and its protected products.
    pub catalog: Catalog,
}

/// `knockoff.toml`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub crawl: CrawlSettings,
    /// `[matching]` queue rules: `threshold`, `official_photo`,
    /// `photo_strength`, `price_floor`, `used_price_floor`,
    /// `counterfeit_vocabulary`.
    pub policy: crate::matching::policy::QueuePolicy,
    /// `[matching.weights]`: the infringement logistic's weights.
    pub weights: crate::matching::score::Weights,
    /// `[matching] used_words` and `new_words`: condition words.
    pub used_words: Vec<String>,
    pub new_words: Vec<String>,
    /// `[matching] counterfeit_words`: phrases sellers of fakes use.
    pub counterfeit_words: Vec<String>,
    /// `[matching] accessory_phrases`: phrasing of accessories ("case for");
    /// "…" stands for a few words.
    pub accessory_phrases: Vec<String>,
    /// `[matching.fx]` over the built-in table: US dollars per unit of a currency.
    pub fx: std::collections::BTreeMap<String, f64>,
    /// `[schedule] crawl`: cron expression run by `knockoff serve`.
    pub schedule_crawl: Option<String>,
    /// `[schedule] timezone`.
    pub schedule_timezone: String,
    /// `[server] bind`.
    pub server_bind: SocketAddr,
    /// `[server] trusted_proxies`: reverse proxies whose X-Forwarded-For
    /// names the client (for the sign-in limits and the audit log).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `[notify] webhook_url`: Slack-compatible JSON after each scheduled run.
    pub notify_webhook: Option<url::Url>,
    /// `[evidence] screenshot`: render each new or changed listing page.
    pub evidence_screenshot: bool,
    /// `[evidence] chromium`: the browser that renders them.
    pub evidence_chromium: PathBuf,
}

/// `[crawl]` in `knockoff.toml`: politeness defaults and the hostile-input limits.
#[derive(Debug, Clone)]
pub struct CrawlSettings {
    /// Sent on every request; its product token is the robots.txt agent.
    pub user_agent: String,
    /// Rate for hosts no target names (image CDNs).
    pub default_requests_per_second: f64,
    /// Requests in flight for hosts no target names.
    pub default_concurrency: u32,
    /// Largest page body kept; larger bodies are cut off and recorded as an error.
    pub max_page_bytes: u64,
    /// Largest image body kept.
    pub max_image_bytes: u64,
    /// Largest decoded image, in pixels; checked from the header before decoding.
    pub max_image_pixels: u64,
    /// Images fetched per listing, in page order.
    pub max_images_per_listing: u32,
    /// Redirect hops followed before giving up.
    pub max_redirects: u32,
    /// Attempts per URL, retries included.
    pub max_attempts: u32,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout, body included.
    pub request_timeout: Duration,
    /// A Retry-After longer than this defers the host's remaining items to the next run.
    pub max_wait: Duration,
    /// A robots.txt Crawl-delay above this is capped: a site asking for an
    /// hour between requests gets one request a minute by default.
    pub max_crawl_delay: Duration,
}

/// One marketplace site, from `targets/NAME.toml`.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// The file it came from, for messages.
    pub file: PathBuf,
    pub base_url: Url,
    /// Other origins of the site in loopback/private address space (its
    /// image server on the same network, say): `private_origins`. Such
    /// space is reachable only at a target's exact origins.
    pub private_origins: Vec<Url>,
    pub rate: Rate,
    pub search: Option<Search>,
    pub results: Option<ResultSelectors>,
    pub item: ItemSelectors,
    /// `[crawl]` of a target: which item pages a crawl fetches.
    pub stages: Stages,
    /// `kind`: HTML pages (the default) or a marketplace's API.
    pub kind: TargetKind,
    /// `render = "chromium"`: pages are rendered by headless Chromium (the
    /// `[evidence] chromium` browser) before they are read.
    pub render: bool,
}

/// A parsed `[schedule]`.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: cron::Schedule,
    timezone: chrono_tz::Tz,
}

impl Schedule {
    /// Parses a cron expression — five fields (minute hour day month
    /// weekday) as crontab has them, or six with seconds first — and an
    /// IANA time zone name. The error names the key at fault.
    pub fn parse(expression: &str, timezone: &str) -> Result<Schedule, ScheduleError> {
        let fields = expression.split_whitespace().count();
        let full = match fields {
            5 => format!("0 {expression}"),
            6 | 7 => expression.to_string(),
            _ => {
                return Err(ScheduleError::Crawl(format!(
                    "`{expression}` is not a cron expression: it needs five fields \
                     (minute hour day month weekday), such as \"0 2 * * *\""
                )))
            }
        };
        let cron = cron::Schedule::from_str(&full).map_err(|e| {
            ScheduleError::Crawl(format!(
                "`{expression}` is not a valid cron expression ({e})"
            ))
        })?;
        let timezone = chrono_tz::Tz::from_str(timezone).map_err(|_| {
            ScheduleError::Timezone(format!(
                "`{timezone}` is not a time zone name such as UTC or Europe/Paris"
            ))
        })?;
        Ok(Schedule { cron, timezone })
    }

    /// The first time after `after` the schedule fires.
    pub fn next_after(
        &self,
        after: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.cron
            .after(&after.with_timezone(&self.timezone))
            .next()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// What is wrong with a `[schedule]`, by key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    /// `crawl`: not a cron expression.
    #[error("{0}")]
    Crawl(String),
    /// `timezone`: not an IANA time zone name.
    #[error("{0}")]
    Timezone(String),
}

impl ScheduleError {
    /// The `[schedule]` key at fault.
    pub fn key(&self) -> &'static str {
        match self {
            ScheduleError::Crawl(_) => "crawl",
            ScheduleError::Timezone(_) => "timezone",
        }
    }
}

/// Where the eBay Browse API lives (`base_url` of an `ebay-browse` target
/// that names none).
pub const EBAY_API: &str = "https://api.ebay.com";

/// How a target's listings are read.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetKind {
    /// Search and listing pages, read with selectors and structured data.
    Html,
    /// `kind = "ebay-browse"`: the eBay Browse API (item summaries as
    /// search cards, getItem as the item page, search by image).
    EbayBrowse(EbayBrowse),
}

/// `[ebay]` of an `ebay-browse` target.
#[derive(Debug, Clone, PartialEq)]
pub struct EbayBrowse {
    /// `marketplace`: the X-EBAY-C-MARKETPLACE-ID sent (EBAY_US, EBAY_DE…).
    pub marketplace: String,
    /// `image_search`: also search by each reference photo.
    pub image_search: bool,
    /// `limit`: item summaries per page (1–200).
    pub limit: u32,
}

impl Target {
    /// Whether search cards are stored and judged before item pages (the
    /// target names what a card shows, a title at least).
    pub fn two_stage(&self) -> bool {
        matches!(self.kind, TargetKind::EbayBrowse(_))
            || self
                .results
                .as_ref()
                .is_some_and(|r| r.card.title.is_some())
    }
}

/// `[crawl]` of a target. When `[results]` names a card `title`, every
/// card is stored as a listing and judged from what it shows; its item
/// page (and full-size photos) is fetched only as `item_pages` says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stages {
    /// `prefilter`: the card score at or above which the item page is
    /// fetched (a card any queue rule queues is fetched too).
    pub prefilter: f64,
    /// `item_pages = "all"` fetches every new or changed card's item page.
    pub item_pages: ItemPages,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            prefilter: 0.2,
            item_pages: ItemPages::Candidates,
        }
    }
}

/// Which cards' item pages a two-stage crawl fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemPages {
    /// Only the cards the judge scores at or above `prefilter`.
    Candidates,
    /// Every new or changed card.
    All,
}

/// `[rate]` of a target: a hard ceiling per host.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub requests_per_second: f64,
    pub burst: u32,
    pub concurrency: u32,
    pub respect_robots: bool,
}

/// `[search]` of a target.
#[derive(Debug, Clone)]
pub struct Search {
    /// Template with `{query}` and `{page}`, relative to `base_url` or absolute.
    pub url: String,
    pub queries: Vec<String>,
    pub max_pages: u32,
}

/// `[results]`: how to find listing links on a search results page, and
/// what each card says of its listing (selectors relative to the card).
#[derive(Debug, Clone)]
pub struct ResultSelectors {
    pub item: Selector,
    pub link: Selector,
    pub next_page: Option<Selector>,
    pub card: CardSelectors,
}

/// `[results]` card fields, each relative to one card.
#[derive(Debug, Clone, Default)]
pub struct CardSelectors {
    pub title: Option<Selector>,
    pub price: Option<Selector>,
    pub currency: Option<Selector>,
    pub seller: Option<Selector>,
    pub image: Option<Selector>,
    /// `[results] site_currency`: what a card's price is in when it does
    /// not say, or says only "$" or "¥".
    pub site_currency: Option<String>,
}

/// `[item]`: where each listing field lives on a listing page. Missing ones
/// fall back to structured data.
#[derive(Debug, Clone, Default)]
pub struct ItemSelectors {
    pub title: Option<Selector>,
    pub price: Option<Selector>,
    pub currency: Option<Selector>,
    pub seller: Option<Selector>,
    pub description: Option<Selector>,
    pub images: Option<Selector>,
    /// `[item] removed`: matches on a page that says the listing is no
    /// longer available (for `crawl --recheck`).
    pub removed: Option<Selector>,
}

/// A CSS selector optionally followed by `@attribute`, or data embedded in
/// a script (`script:NAME@JSONPATH`), or several such alternatives
/// separated by `||`: the first alternative that finds a value wins
/// (marketplaces change their markup; a preset lists the old and the new).
#[derive(Clone)]
pub struct Selector {
    alternatives: Vec<Alternative>,
    source: String,
}

/// One alternative of a [`Selector`].
#[derive(Clone)]
pub enum Alternative {
    /// Elements, and the attribute to read (their text when `None`).
    Css(scraper::Selector, Option<String>),
    /// A script's data: the one whose id is `name` (`__NEXT_DATA__`, a
    /// JSON island) or that assigns `name` (`window.runParams = {…}`),
    /// queried with a JSONPath (RFC 9535).
    Script {
        name: String,
        path: serde_json_path::JsonPath,
    },
    /// `json:PATH`: within a search card that is a node of script data
    /// (`[results] item = "script:…@…[*]"`), a JSONPath from that node.
    Json(serde_json_path::JsonPath),
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Selector({:?})", self.source)
    }
}

impl Selector {
    /// Parses `css`, `css@attr`, `script:NAME@PATH` or alternatives joined
    /// by `||`; the error says what is wrong in one phrase.
    pub fn parse(source: &str) -> Result<Selector, String> {
        let source = source.trim();
        let alternatives = source
            .split("||")
            .map(parse_alternative)
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Selector {
            alternatives,
            source: source.to_string(),
        })
    }

    /// The alternatives, in order. `extract` evaluates them.
    pub fn alternatives(&self) -> &[Alternative] {
        &self.alternatives
    }

    /// The selector as written in the config.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// A JSONPath, `$.` optional.
fn json_path(path: &str) -> Result<serde_json_path::JsonPath, String> {
    let path = path.trim();
    let path = if path.starts_with('$') {
        path.to_string()
    } else {
        format!("$.{path}")
    };
    serde_json_path::JsonPath::parse(&path).map_err(|_| format!("`{path}` is not a valid JSONPath"))
}

fn parse_alternative(source: &str) -> Result<Alternative, String> {
    let source = source.trim();
    if let Some(path) = source.strip_prefix("json:") {
        return json_path(path).map(Alternative::Json);
    }
    if let Some(script) = source.strip_prefix("script:") {
        let (name, path) = script.split_once('@').ok_or_else(|| {
            format!("`{source}` needs a path after `@`, such as `script:runParams@$.data.title`")
        })?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_$.-".contains(c))
        {
            return Err(format!("`{name}` is not a script id or variable name"));
        }
        return Ok(Alternative::Script {
            name: name.to_string(),
            path: json_path(path)?,
        });
    }
    let (css, attr) = match source.rfind('@') {
        Some(at) => {
            let attr = &source[at + 1..];
            let valid = !attr.is_empty()
                && attr
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c));
            if !valid {
                return Err(format!(
                    "`@` must be followed by an attribute name such as `@href`, found `@{attr}`"
                ));
            }
            (&source[..at], Some(attr.to_ascii_lowercase()))
        }
        None => (source, None),
    };
    if css.trim().is_empty() {
        return Err("a CSS selector (before `@`, between `||`) is empty".to_string());
    }
    // scraper's error text spans several lines; the position is not useful here.
    let parsed = scraper::Selector::parse(css)
        .map_err(|_| format!("`{css}` is not a valid CSS selector"))?;
    Ok(Alternative::Css(parsed, attr))
}

/// `reference-images/products.toml`.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub brand: Brand,
    pub products: Vec<Product>,
}

/// `[brand]`.
#[derive(Debug, Clone, Default)]
pub struct Brand {
    pub name: String,
    pub authorized_sellers: Vec<String>,
    pub rights_owner: String,
    pub registrations: Vec<String>,
    /// `[brand] contact`: who signs takedown notices.
    pub contact: String,
    /// `[brand] email`: where marketplaces answer.
    pub email: String,
    /// `[brand] address`: postal address, for DMCA notices.
    pub address: String,
}

/// One protected product.
#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub keywords: Vec<String>,
    pub search_queries: Vec<String>,
    pub msrp: Option<f64>,
    pub currency: Option<String>,
    /// Paths relative to `reference-images/`.
    pub images: Vec<PathBuf>,
}

impl Config {
    /// Every search query for `target`: its own `queries`, then every
    /// product's `search_queries`, without repeats.
    pub fn queries_for(&self, target: &Target) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let own = target.search.iter().flat_map(|s| s.queries.iter());
        let products = self
            .catalog
            .products
            .iter()
            .flat_map(|p| p.search_queries.iter());
        own.chain(products)
            .filter(|q| seen.insert(q.trim().to_lowercase()))
            .cloned()
            .collect()
    }

    /// The target called `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Path of the SQLite store.
    pub fn db_path(&self) -> PathBuf {
        self.workspace.join("knockoff.db")
    }

    /// Folder of the reference images.
    pub fn reference_dir(&self) -> PathBuf {
        self.workspace.join("reference-images")
    }
}

/// One configuration problem: which file, which key, what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    /// Dotted key path, such as `rate.requests_per_second`; empty for the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

/// Every problem found in a workspace's configuration.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Loads and validates the whole workspace; every problem is reported at once.
pub fn load(workspace: &Path) -> Result<Config, ConfigErrors> {
    let problems = RefCell::new(Vec::new());
    let settings = load_settings(workspace, &problems);
    let targets = load_targets(workspace, &settings, &problems);
    let catalog = load_catalog(workspace, &problems);
    let problems = problems.into_inner();
    if problems.is_empty() {
        Ok(Config {
            workspace: workspace.to_path_buf(),
            settings,
            targets,
            catalog,
        })
    } else {
        Err(ConfigErrors(problems))
    }
}

fn display_path(workspace: &Path, rel: &str) -> PathBuf {
    if workspace == Path::new(".") {
        PathBuf::from(rel)
    } else {
        workspace.join(rel)
    }
}

/// Reads and parses a TOML file; `None` (with a problem recorded) when it cannot.
fn read_toml(path: &Path, shown: &Path, problems: &RefCell<Vec<Problem>>) -> Option<toml::Table> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            push(problems, shown, "", format!("cannot read the file ({e})"));
            return None;
        }
    };
    match text.parse::<toml::Table>() {
        Ok(table) => Some(table),
        Err(e) => {
            let message = e.message().to_string();
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let message = match line {
                Some(line) => format!("invalid TOML at line {line}: {message}"),
                None => format!("invalid TOML: {message}"),
            };
            push(problems, shown, "", message);
            None
        }
    }
}

fn push(problems: &RefCell<Vec<Problem>>, file: &Path, key: &str, message: String) {
    problems.borrow_mut().push(Problem {
        file: file.to_path_buf(),
        key: key.to_string(),
        message,
    });
}

/// A number as a person would write it: `1e300`, not three hundred digits.
fn number_text(value: f64) -> String {
    let size = value.abs();
    if size == 0.0 || (1e-4..1e16).contains(&size) || !size.is_finite() {
        value.to_string()
    } else {
        format!("{value:e}")
    }
}

/// Slowest rate a target may ask for: one request every 1,000 s.
const MIN_RATE: f64 = 0.001;
/// Fastest: far beyond anything polite, but a finite spacing.
const MAX_RATE: f64 = 1000.0;

fn load_settings(workspace: &Path, problems: &RefCell<Vec<Problem>>) -> Settings {
    let path = workspace.join("knockoff.toml");
    let shown = display_path(workspace, "knockoff.toml");
    let table = if path.exists() {
        read_toml(&path, &shown, problems).unwrap_or_default()
    } else {
        toml::Table::new()
    };
    let mut root = TableReader::new(&table, &shown, "", problems);

    let mut crawl_table = root.table("crawl");
    let user_agent = crawl_table
        .string("user_agent")
        .unwrap_or_else(|| format!("knockoff/{}", env!("CARGO_PKG_VERSION")));
    let crawl = CrawlSettings {
        user_agent,
        default_requests_per_second: crawl_table
            .f64_in("default_requests_per_second", MIN_RATE, MAX_RATE)
            .unwrap_or(2.0),
        default_concurrency: crawl_table.count("default_concurrency", 1, 64).unwrap_or(2),
        max_page_bytes: crawl_table
            .count("max_page_bytes", 1024, u32::MAX)
            .unwrap_or(5 << 20) as u64,
        max_image_bytes: crawl_table
            .count("max_image_bytes", 1024, u32::MAX)
            .unwrap_or(10 << 20) as u64,
        max_image_pixels: crawl_table
            .count("max_image_pixels", 1, u32::MAX)
            .unwrap_or(40_000_000) as u64,
        max_images_per_listing: crawl_table
            .count("max_images_per_listing", 0, 100)
            .unwrap_or(12),
        max_redirects: crawl_table.count("max_redirects", 0, 20).unwrap_or(5),
        max_attempts: crawl_table.count("max_attempts", 1, 10).unwrap_or(4),
        connect_timeout: crawl_table
            .seconds("connect_timeout_secs", 0.1, 600.0)
            .unwrap_or(Duration::from_secs(10)),
        request_timeout: crawl_table
            .seconds("request_timeout_secs", 0.1, 3600.0)
            .unwrap_or(Duration::from_secs(30)),
        max_wait: crawl_table
            .seconds("max_wait_secs", 0.0, 86_400.0)
            .unwrap_or(Duration::from_secs(120)),
        max_crawl_delay: crawl_table
            .seconds("max_crawl_delay_secs", 0.0, 3600.0)
            .unwrap_or(Duration::from_secs(60)),
    };
    crawl_table.finish();

    let mut matching = root.table("matching");
    let defaults = crate::matching::policy::QueuePolicy::default();
    let policy = crate::matching::policy::QueuePolicy {
        threshold: matching
            .f64_in("threshold", 0.0, 1.0)
            .unwrap_or(defaults.threshold),
        official_photo: matching
            .boolean("official_photo")
            .unwrap_or(defaults.official_photo),
        photo_strength: matching
            .f64_in("photo_strength", 0.0, 1.0)
            .unwrap_or(defaults.photo_strength),
        price_floor: matching
            .f64_in("price_floor", 0.0, 1.0)
            .unwrap_or(defaults.price_floor),
        used_price_floor: matching
            .f64_in("used_price_floor", 0.0, 1.0)
            .unwrap_or(defaults.used_price_floor),
        counterfeit_vocabulary: matching
            .boolean("counterfeit_vocabulary")
            .unwrap_or(defaults.counterfeit_vocabulary),
    };
    let owned = |list: &[&str]| list.iter().map(|w| w.to_string()).collect();
    let used_words = matching
        .string_list("used_words")
        .unwrap_or_else(|| owned(&crate::matching::signals::DEFAULT_USED_WORDS));
    let new_words = matching
        .string_list("new_words")
        .unwrap_or_else(|| owned(&crate::matching::signals::DEFAULT_NEW_WORDS));
    let counterfeit_words = matching
        .string_list("counterfeit_words")
        .unwrap_or_else(|| owned(&crate::matching::signals::DEFAULT_COUNTERFEIT_WORDS));
    let accessory_phrases = matching
        .string_list("accessory_phrases")
        .unwrap_or_else(|| owned(&crate::matching::signals::DEFAULT_ACCESSORY_PHRASES));
    let mut weights_table = matching.table("weights");
    let mut weights = crate::matching::score::Weights::default().to_array();
    for (weight, name) in weights.iter_mut().zip(crate::matching::score::WEIGHT_NAMES) {
        if let Some(value) = weights_table.f64_in(name, -50.0, 50.0) {
            *weight = value;
        }
    }
    weights_table.finish();
    let weights = crate::matching::score::Weights::from_array(weights);
    let mut fx = crate::matching::signals::default_fx();
    let mut fx_table = matching.table("fx");
    for (code, rate) in fx_table.positive_numbers() {
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            fx_table.problem(
                &code,
                format!("`{code}` is not an ISO 4217 code such as EUR"),
            );
        } else {
            fx.insert(code, rate);
        }
    }
    matching.finish();

    let mut schedule = root.table("schedule");
    let schedule_crawl = schedule.string("crawl");
    let schedule_timezone = schedule.string("timezone").unwrap_or_else(|| "UTC".into());
    if let Some(expression) = &schedule_crawl {
        if let Err(problem) = Schedule::parse(expression, &schedule_timezone) {
            schedule.problem(problem.key(), problem.to_string());
        }
    }
    schedule.finish();

    let mut evidence = root.table("evidence");
    let evidence_screenshot = evidence.boolean("screenshot").unwrap_or(false);
    let evidence_chromium = evidence
        .string("chromium")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    evidence.finish();

    let mut notify = root.table("notify");
    let notify_webhook = notify.parsed::<url::Url>(
        "webhook_url",
        "a URL such as https://hooks.slack.com/services/…",
    );
    notify.finish();

    let mut server = root.table("server");
    let server_bind = server
        .parsed::<SocketAddr>("bind", "an address such as 127.0.0.1:7878")
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7878)));
    let trusted_proxies = server
        .string_list("trusted_proxies")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|raw| match raw.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                server.problem(
                    "trusted_proxies",
                    format!("`{raw}` is not an IP address such as 127.0.0.1"),
                );
                None
            }
        })
        .collect();
    server.finish();
    root.finish();

    Settings {
        crawl,
        policy,
        weights,
        used_words,
        new_words,
        counterfeit_words,
        accessory_phrases,
        fx,
        schedule_crawl,
        schedule_timezone,
        notify_webhook,
        evidence_screenshot,
        evidence_chromium,
        server_bind,
        trusted_proxies,
    }
}

fn load_targets(
    workspace: &Path,
    settings: &Settings,
    problems: &RefCell<Vec<Problem>>,
) -> Vec<Target> {
    let dir = workspace.join("targets");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut targets: Vec<Target> = Vec::new();
    for path in files {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = display_path(workspace, &format!("targets/{stem}.toml"));
        let Some(table) = read_toml(&path, &shown, problems) else {
            continue;
        };
        let Some(table) = with_preset(table, &shown, problems) else {
            continue;
        };
        let Some(target) = parse_target(&table, &shown, &stem, settings, problems) else {
            continue;
        };
        if let Some(other) = targets.iter().find(|t| t.name == target.name) {
            push(
                problems,
                &shown,
                "name",
                format!(
                    "target name `{}` is already used by {}",
                    target.name,
                    other.file.display()
                ),
            );
            continue;
        }
        targets.push(target);
    }
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    targets
}

/// A target file's table on top of the built-in preset it names
/// (`preset = "ebay"`), key by key; `None` (with a problem) for an unknown
/// preset.
fn with_preset(
    mut table: toml::Table,
    shown: &Path,
    problems: &RefCell<Vec<Problem>>,
) -> Option<toml::Table> {
    let Some(named) = table.remove("preset") else {
        return Some(table);
    };
    let preset = named.as_str().and_then(crate::presets::named);
    match preset {
        Some(preset) => Some(crate::presets::merged(
            crate::presets::table(preset),
            &table,
        )),
        None => {
            let known: Vec<&str> = crate::presets::PRESETS.iter().map(|p| p.name).collect();
            push(
                problems,
                shown,
                "preset",
                format!("`{named}` is not a built-in preset ({})", known.join(", ")),
            );
            None
        }
    }
}

/// The target a built-in preset makes for `base_url` (its scheme and
/// host), with the workspace's settings (or the defaults where there is no
/// knockoff.toml): what `extract --url` uses when no `--target` is given.
pub fn preset_target(
    workspace: &Path,
    preset: &crate::presets::Preset,
    base_url: &Url,
) -> Result<Target, ConfigErrors> {
    let problems = RefCell::new(Vec::new());
    let settings = load_settings(workspace, &problems);
    let mut over = toml::Table::new();
    over.insert(
        "base_url".into(),
        toml::Value::String(format!(
            "{}://{}",
            base_url.scheme(),
            base_url.host_str().unwrap_or_default()
        )),
    );
    let table = crate::presets::merged(crate::presets::table(preset), &over);
    let shown = PathBuf::from(format!("preset {}", preset.name));
    let target = parse_target(&table, &shown, preset.name, &settings, &problems);
    match target {
        Some(target) if problems.borrow().is_empty() => Ok(target),
        _ => Err(ConfigErrors(problems.into_inner())),
    }
}

fn parse_target(
    table: &toml::Table,
    shown: &Path,
    stem: &str,
    settings: &Settings,
    problems: &RefCell<Vec<Problem>>,
) -> Option<Target> {
    let mut root = TableReader::new(table, shown, "", problems);
    let name = root.string("name").unwrap_or_else(|| stem.to_string());
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        root.problem(
            "name",
            format!("`{name}` is not a valid target name (use letters, digits, `-`, `_`, `.`)"),
        );
    }
    let kind = match root.string("kind").as_deref() {
        None | Some("html") => TargetKind::Html,
        Some("ebay-browse") => {
            let mut t = root.table("ebay");
            let ebay = EbayBrowse {
                marketplace: t.string("marketplace").unwrap_or_else(|| "EBAY_US".into()),
                image_search: t.boolean("image_search").unwrap_or(true),
                limit: t.count("limit", 1, 200).unwrap_or(50),
            };
            t.finish();
            TargetKind::EbayBrowse(ebay)
        }
        Some(other) => {
            root.problem(
                "kind",
                format!("must be \"html\" or \"ebay-browse\", found \"{other}\""),
            );
            TargetKind::Html
        }
    };
    let render = match root.string("render").as_deref() {
        None | Some("none") => false,
        Some("chromium") => true,
        Some(other) => {
            root.problem(
                "render",
                format!("must be \"chromium\" (or \"none\"), found \"{other}\""),
            );
            false
        }
    };
    let base_url = match (&kind, root.has("base_url")) {
        (TargetKind::EbayBrowse(_), false) => Some(EBAY_API.to_string()),
        _ => root.required_string("base_url"),
    };
    let base_url = base_url.and_then(|raw| match Url::parse(&raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(_) => {
            root.problem(
                "base_url",
                format!("`{raw}` must be an http or https URL with a host"),
            );
            None
        }
        Err(e) => {
            root.problem("base_url", format!("`{raw}` is not a valid URL ({e})"));
            None
        }
    });

    let private_origins = root
        .string_list("private_origins")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|raw| match Url::parse(&raw) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.path() == "/" =>
            {
                Some(url)
            }
            _ => {
                root.problem(
                    "private_origins",
                    format!("`{raw}` is not an origin such as http://10.0.0.5:8080"),
                );
                None
            }
        })
        .collect();

    let mut rate_table = root.table("rate");
    let rate = Rate {
        requests_per_second: rate_table
            .f64_in("requests_per_second", MIN_RATE, MAX_RATE)
            .unwrap_or(settings.crawl.default_requests_per_second),
        burst: rate_table.count("burst", 1, 100).unwrap_or(1),
        concurrency: rate_table.count("concurrency", 1, 64).unwrap_or(2),
        respect_robots: rate_table.boolean("respect_robots").unwrap_or(true),
    };
    rate_table.finish();

    let search = if root.has("search") {
        let mut t = root.table("search");
        let url = match kind {
            // The API's own search: the queries are all it needs.
            TargetKind::EbayBrowse(_) => t.string("url").or_else(|| Some("{query}".into())),
            TargetKind::Html => t.required_string("url"),
        };
        if let Some(url) = &url {
            if !url.contains("{query}") {
                t.problem("url", format!("`{url}` must contain `{{query}}`"));
            }
        }
        let queries = t.string_list("queries").unwrap_or_default();
        let max_pages = t.count("max_pages", 1, 1000).unwrap_or(5);
        t.finish();
        url.map(|url| Search {
            url,
            queries,
            max_pages,
        })
    } else {
        None
    };

    let results = if root.has("results") {
        let mut t = root.table("results");
        let item = t.required_selector("item");
        let link = t.required_selector("link");
        let next_page = t.selector("next_page");
        let card = CardSelectors {
            title: t.selector("title"),
            price: t.selector("price"),
            currency: t.selector("currency"),
            seller: t.selector("seller"),
            image: t.selector("image"),
            site_currency: t.currency_code("site_currency"),
        };
        t.finish();
        match (item, link) {
            (Some(item), Some(link)) => Some(ResultSelectors {
                item,
                link,
                next_page,
                card,
            }),
            _ => None,
        }
    } else {
        if search.is_some() && kind == TargetKind::Html {
            root.problem(
                "results",
                "a target with [search] needs a [results] table with `item` and `link` selectors"
                    .into(),
            );
        }
        None
    };

    let mut t = root.table("crawl");
    let defaults = Stages::default();
    let stages = Stages {
        prefilter: t
            .f64_in("prefilter", 0.0, 1.0)
            .unwrap_or(defaults.prefilter),
        item_pages: match t.string("item_pages").as_deref() {
            None | Some("candidates") => defaults.item_pages,
            Some("all") => ItemPages::All,
            Some(other) => {
                t.problem(
                    "item_pages",
                    format!("must be \"candidates\" or \"all\", found \"{other}\""),
                );
                defaults.item_pages
            }
        },
    };
    t.finish();

    let mut t = root.table("item");
    let item = ItemSelectors {
        title: t.selector("title"),
        price: t.selector("price"),
        currency: t.selector("currency"),
        seller: t.selector("seller"),
        description: t.selector("description"),
        images: t.selector("images"),
        removed: t.selector("removed"),
    };
    t.finish();
    root.finish();

    Some(Target {
        name,
        file: shown.to_path_buf(),
        base_url: base_url?,
        private_origins,
        rate,
        search,
        results,
        item,
        stages,
        kind,
        render,
    })
}

/// Whether `rel` under `dir`, symbolic links resolved, is still in `dir`.
fn stays_inside(dir: &Path, rel: &Path) -> bool {
    match (dir.canonicalize(), dir.join(rel).canonicalize()) {
        (Ok(dir), Ok(file)) => file.starts_with(dir),
        _ => false,
    }
}

fn load_catalog(workspace: &Path, problems: &RefCell<Vec<Problem>>) -> Catalog {
    let dir = workspace.join("reference-images");
    let path = dir.join("products.toml");
    let shown = display_path(workspace, "reference-images/products.toml");
    if !path.exists() {
        push(
            problems,
            &shown,
            "",
            "the file is missing: it lists the brand and the protected products".into(),
        );
        return Catalog::default();
    }
    let Some(table) = read_toml(&path, &shown, problems) else {
        return Catalog::default();
    };
    let mut root = TableReader::new(&table, &shown, "", problems);
    let mut b = root.table("brand");
    let brand = Brand {
        name: b.required_string("name").unwrap_or_default(),
        authorized_sellers: b.string_list("authorized_sellers").unwrap_or_default(),
        rights_owner: b.string("rights_owner").unwrap_or_default(),
        registrations: b.string_list("registrations").unwrap_or_default(),
        contact: b.string("contact").unwrap_or_default(),
        email: b.string("email").unwrap_or_default(),
        address: b.string("address").unwrap_or_default(),
    };
    b.finish();

    let mut products: Vec<Product> = Vec::new();
    for mut p in root.table_array("product") {
        let id = p.required_string("id").unwrap_or_default();
        if !id.is_empty() && products.iter().any(|other| other.id == id) {
            p.problem("id", format!("product id `{id}` is used twice"));
        }
        let name = p.required_string("name").unwrap_or_default();
        let keywords = p.string_list("keywords").unwrap_or_default();
        let search_queries = p.string_list("search_queries").unwrap_or_default();
        let msrp = p.positive_f64("msrp");
        let currency = p.currency_code("currency");
        let mut images = Vec::new();
        for rel in p.string_list("images").unwrap_or_default() {
            let rel_path = PathBuf::from(&rel);
            if rel_path.is_absolute() || rel_path.components().any(|c| c.as_os_str() == "..") {
                p.problem(
                    "images",
                    format!("`{rel}` must be a path inside reference-images/"),
                );
            } else if !dir.join(&rel_path).is_file() {
                p.problem(
                    "images",
                    format!("`{rel}` does not exist in reference-images/"),
                );
            } else if !stays_inside(&dir, &rel_path) {
                // A symbolic link out of the folder would put any file the
                // server can read into the review UI and evidence bundles.
                p.problem(
                    "images",
                    format!("`{rel}` leads outside reference-images/ (through a symbolic link)"),
                );
            } else {
                images.push(rel_path);
            }
        }
        p.finish();
        products.push(Product {
            id,
            name,
            keywords,
            search_queries,
            msrp,
            currency,
            images,
        });
    }
    root.finish();
    Catalog { brand, products }
}

/// Walks one TOML table, reading expected keys and recording every problem.
/// `finish` reports the keys nobody asked for, with a suggestion.
struct TableReader<'a> {
    table: Option<&'a toml::Table>,
    file: &'a Path,
    prefix: String,
    problems: &'a RefCell<Vec<Problem>>,
    known: Vec<&'static str>,
}

impl<'a> TableReader<'a> {
    fn new(
        table: &'a toml::Table,
        file: &'a Path,
        prefix: &str,
        problems: &'a RefCell<Vec<Problem>>,
    ) -> Self {
        TableReader {
            table: Some(table),
            file,
            prefix: prefix.to_string(),
            problems,
            known: Vec::new(),
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn problem(&self, key: &str, message: String) {
        push(self.problems, self.file, &self.key_path(key), message);
    }

    fn has(&self, key: &str) -> bool {
        self.table.is_some_and(|t| t.contains_key(key))
    }

    fn value(&mut self, key: &'static str) -> Option<&'a toml::Value> {
        self.known.push(key);
        self.table.and_then(|t| t.get(key))
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &toml::Value) {
        self.problem(
            key,
            format!("expected {expected}, found {} {found}", found.type_str()),
        );
    }

    fn table(&mut self, key: &'static str) -> TableReader<'a> {
        let table = match self.value(key) {
            Some(toml::Value::Table(t)) => Some(t),
            Some(other) => {
                self.wrong_type(key, "a table", other);
                None
            }
            None => None,
        };
        TableReader {
            table,
            file: self.file,
            prefix: self.key_path(key),
            problems: self.problems,
            known: Vec::new(),
        }
    }

    fn table_array(&mut self, key: &'static str) -> Vec<TableReader<'a>> {
        match self.value(key) {
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    toml::Value::Table(t) => Some(TableReader {
                        table: Some(t),
                        file: self.file,
                        prefix: format!("{}[{i}]", self.key_path(key)),
                        problems: self.problems,
                        known: Vec::new(),
                    }),
                    other => {
                        self.wrong_type(&format!("{key}[{i}]"), "a table", other);
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.wrong_type(key, "an array of tables ([[product]])", other);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        match self.value(key)? {
            toml::Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(key, "a string", other);
                None
            }
        }
    }

    /// An ISO 4217 code such as EUR; anything else is a problem (and kept,
    /// so one mistake is reported once).
    fn currency_code(&mut self, key: &'static str) -> Option<String> {
        let code = self.string(key)?;
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            self.problem(
                key,
                format!("`{code}` is not an ISO 4217 code such as USD or EUR"),
            );
        }
        Some(code)
    }

    fn required_string(&mut self, key: &'static str) -> Option<String> {
        if self.table.is_some() && !self.has(key) {
            self.problem(key, "is required but missing".into());
        } else if self.table.is_none() {
            self.problem(key, "is required but missing".into());
            self.known.push(key);
            return None;
        }
        let value = self.string(key)?;
        if value.trim().is_empty() {
            self.problem(key, "must not be empty".into());
            return None;
        }
        Some(value)
    }

    fn string_list(&mut self, key: &'static str) -> Option<Vec<String>> {
        match self.value(key)? {
            toml::Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => out.push(s.clone()),
                        other => {
                            self.wrong_type(key, "an array of strings", other);
                            return None;
                        }
                    }
                }
                Some(out)
            }
            other => {
                self.wrong_type(key, "an array of strings", other);
                None
            }
        }
    }

    fn number(&mut self, key: &'static str) -> Option<f64> {
        match self.value(key)? {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            other => {
                self.wrong_type(key, "a number", other);
                None
            }
        }
    }

    fn positive_f64(&mut self, key: &'static str) -> Option<f64> {
        let value = self.number(key)?;
        if value.is_finite() && value > 0.0 {
            Some(value)
        } else {
            self.problem(key, format!("must be greater than 0, found {value}"));
            None
        }
    }

    /// A number of seconds in `low..=high`, as a `Duration`: the range is
    /// checked before the conversion, which panics on huge values.
    fn seconds(&mut self, key: &'static str, low: f64, high: f64) -> Option<Duration> {
        self.f64_in(key, low, high).map(Duration::from_secs_f64)
    }

    fn f64_in(&mut self, key: &'static str, low: f64, high: f64) -> Option<f64> {
        let value = self.number(key)?;
        if (low..=high).contains(&value) {
            Some(value)
        } else {
            self.problem(
                key,
                format!(
                    "must be between {low} and {high}, found {}",
                    number_text(value)
                ),
            );
            None
        }
    }

    fn count(&mut self, key: &'static str, low: u32, high: u32) -> Option<u32> {
        match self.value(key)? {
            toml::Value::Integer(i) if (low as i64..=high as i64).contains(i) => Some(*i as u32),
            toml::Value::Integer(i) => {
                self.problem(key, format!("must be between {low} and {high}, found {i}"));
                None
            }
            other => {
                self.wrong_type(key, "a whole number", other);
                None
            }
        }
    }

    /// Every key of a table whose values are all positive numbers (a map
    /// such as `[matching.fx]`); other values are reported.
    fn positive_numbers(&mut self) -> Vec<(String, f64)> {
        let Some(table) = self.table else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in table {
            match value {
                toml::Value::Float(f) if f.is_finite() && *f > 0.0 => out.push((key.clone(), *f)),
                toml::Value::Integer(i) if *i > 0 => out.push((key.clone(), *i as f64)),
                other => self.problem(
                    key,
                    format!(
                        "expected a positive number, found {} {other}",
                        other.type_str()
                    ),
                ),
            }
        }
        // Every key is this map's own: none is unknown.
        self.table = None;
        out
    }

    fn boolean(&mut self, key: &'static str) -> Option<bool> {
        match self.value(key)? {
            toml::Value::Boolean(b) => Some(*b),
            other => {
                self.wrong_type(key, "true or false", other);
                None
            }
        }
    }

    fn parsed<T: std::str::FromStr>(&mut self, key: &'static str, expected: &str) -> Option<T> {
        let raw = self.string(key)?;
        match raw.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.problem(key, format!("`{raw}` is not {expected}"));
                None
            }
        }
    }

    fn selector(&mut self, key: &'static str) -> Option<Selector> {
        let raw = self.string(key)?;
        match Selector::parse(&raw) {
            Ok(selector) => Some(selector),
            Err(reason) => {
                self.problem(key, reason);
                None
            }
        }
    }

    fn required_selector(&mut self, key: &'static str) -> Option<Selector> {
        if !self.has(key) {
            self.known.push(key);
            self.problem(key, "is required but missing".into());
            return None;
        }
        self.selector(key)
    }

    /// Reports every key of the table that was not read.
    fn finish(self) {
        let Some(table) = self.table else { return };
        for key in table.keys() {
            if self.known.contains(&key.as_str()) {
                continue;
            }
            let suggestion = self
                .known
                .iter()
                .map(|known| (strsim::damerau_levenshtein(key, known), known))
                .filter(|(distance, known)| *distance <= 2.max(known.len() / 4))
                .min_by_key(|(distance, _)| *distance)
                .map(|(_, known)| format!("; did you mean `{known}`?"))
                .unwrap_or_default();
            let expected = if suggestion.is_empty() && !self.known.is_empty() {
                format!("; expected one of {}", self.known.join(", "))
            } else {
                String::new()
            };
            self.problem(key, format!("unknown key{suggestion}{expected}"));
        }
    }
}

/// A workspace in a temporary folder with one target `t` (its file's
/// text) and a brand without products, loaded: for unit tests.
#[cfg(test)]
pub(crate) fn with_target(target: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("a folder");
        std::fs::write(path, text).expect("a written file");
    };
    write("targets/t.toml", target);
    write(
        "reference-images/products.toml",
        "[brand]\nname = \"Orvane\"\n",
    );
    let config = load(dir.path()).expect("a valid workspace");
    (dir, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_crontab_in_a_time_zone_and_errors_by_key() {
        use chrono::{TimeZone, Utc};
        let schedule = Schedule::parse("0 2 * * *", "Europe/Paris").unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        // 02:00 in Paris in November is 01:00 UTC.
        assert_eq!(
            schedule.next_after(after),
            Some(Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap())
        );
        let error = |crawl: &str, timezone: &str| {
            let e = Schedule::parse(crawl, timezone).unwrap_err();
            (e.key(), e.to_string())
        };
        let (key, text) = error("0 2 * *", "UTC");
        assert_eq!(key, "crawl");
        assert!(text.contains("five fields"), "{text}");
        let (key, text) = error("0 25 * * *", "UTC");
        assert_eq!(key, "crawl");
        assert!(text.contains("not a valid cron"), "{text}");
        let (key, text) = error("0 2 * * *", "Mars/Olympus");
        assert_eq!(key, "timezone");
        assert!(text.contains("Mars/Olympus"), "{text}");
    }

    fn settings_of(toml: &str) -> (Settings, Vec<Problem>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("knockoff.toml"), toml).unwrap();
        let problems = RefCell::new(Vec::new());
        let settings = load_settings(dir.path(), &problems);
        (settings, problems.into_inner())
    }

    #[test]
    fn matching_settings_override_the_defaults() {
        let (settings, problems) = settings_of(
            "[matching]\nthreshold = 0.7\ncounterfeit_words = [\"fake\"]\n\
             accessory_phrases = [\"sleeve for\"]\n[matching.fx]\nCHF = 1.13\nEUR = 1.2\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(settings.policy.threshold, 0.7);
        assert_eq!(settings.counterfeit_words, ["fake"]);
        assert_eq!(settings.accessory_phrases, ["sleeve for"]);
        assert_eq!(settings.fx["CHF"], 1.13);
        assert_eq!(settings.fx["EUR"], 1.2);
        // The built-in table still answers for the rest.
        assert_eq!(settings.fx["USD"], 1.0);
        let (defaults, _) = settings_of("");
        assert_eq!(defaults.policy.threshold, 0.5);
        assert!(defaults.counterfeit_words.iter().any(|w| w == "replica"));
    }

    #[test]
    fn queue_rules_and_condition_words_are_settings() {
        let (settings, problems) = settings_of(
            "[matching]\nofficial_photo = false\nphoto_strength = 0.9\nprice_floor = 0.4\n\
             used_price_floor = 0.3\ncounterfeit_vocabulary = false\nused_words = [\"gebraucht\"]\n\
             new_words = [\"neu\"]\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let expected = crate::matching::policy::QueuePolicy {
            threshold: 0.5,
            official_photo: false,
            photo_strength: 0.9,
            price_floor: 0.4,
            used_price_floor: 0.3,
            counterfeit_vocabulary: false,
        };
        assert_eq!(settings.policy, expected);
        assert_eq!(settings.used_words, ["gebraucht"]);
        assert_eq!(settings.new_words, ["neu"]);
        let (_, problems) =
            settings_of("[matching]\nprice_floor = 1.5\nofficial_photo = \"yes\"\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
        let (tuned, problems) =
            settings_of("[matching.weights]\ndiscount = 1.25\naccessory = -2\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            (tuned.weights.discount, tuned.weights.accessory),
            (1.25, -2.0)
        );
        assert_eq!(
            tuned.weights.bias,
            crate::matching::score::Weights::default().bias
        );
        let (_, problems) = settings_of("[matching.weights]\ndiscont = 1\n");
        assert!(
            problems[0].to_string().contains("did you mean `discount`"),
            "{problems:?}"
        );
    }

    #[test]
    fn bad_fx_entries_are_named() {
        let (_, problems) = settings_of("[matching.fx]\neuro = 1.1\nGBP = -2\n");
        let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("euro") && l.contains("ISO 4217")),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.contains("GBP")), "{lines:?}");
    }

    #[test]
    fn selector_with_and_without_attribute_and_alternatives() {
        let attrs = |source: &str| -> Vec<Option<String>> {
            let s = Selector::parse(source).unwrap();
            s.alternatives()
                .iter()
                .map(|a| match a {
                    Alternative::Css(_, attr) => attr.clone(),
                    Alternative::Script { name, .. } => Some(format!("script {name}")),
                    Alternative::Json(_) => Some("json".into()),
                })
                .collect()
        };
        assert_eq!(
            attrs("div.gallery img@data-src"),
            [Some("data-src".to_string())]
        );
        assert_eq!(attrs("h1.title"), [None]);
        assert_eq!(
            attrs("img@data-src || img.main@SRC || h1"),
            [Some("data-src".into()), Some("src".into()), None]
        );
        assert!(Selector::parse("h1 || ").unwrap_err().contains("empty"));
        assert_eq!(
            attrs("script:runParams@data.titleModule.subject || h1"),
            [Some("script runParams".into()), None]
        );
        assert!(Selector::parse("script:runParams")
            .unwrap_err()
            .contains("needs a path"));
        assert!(Selector::parse("script:x@$.a[")
            .unwrap_err()
            .contains("not a valid JSONPath"));
        assert!(Selector::parse("a.next@")
            .unwrap_err()
            .contains("attribute name"));
        assert!(Selector::parse("div[[")
            .unwrap_err()
            .contains("not a valid CSS selector"));
        assert!(Selector::parse("@href").unwrap_err().contains("empty"));
    }
}
