//! Workspace configuration: `knockoff.toml`, `targets/*.toml` and
//! `reference-images/products.toml` turned into one validated [`Config`].
//!
//! The model lives here; `load` reads the files into it, walking each with
//! `reader::TableReader`, which knows the expected keys, so one pass reports every problem at once — wrong type,
//! out-of-range value, unparsable selector, missing image, unknown key (with a
//! suggestion for a misspelling) — instead of stopping at the first as serde
//! would. Everything downstream takes a resolved `&Config`.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
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
    /// `[networks] boilerplate`: a value shown by more sellers links none.
    pub network_boilerplate: usize,
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
    /// `[store] url` (or `KNOCKOFF_STORE_URL`): a PostgreSQL store instead
    /// of the workspace's SQLite file.
    pub store_url: Option<String>,
    /// `[store] lease_secs`: how long a claim on a frontier item lasts.
    pub lease: Duration,
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
    pub(crate) fn next_after(
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
pub(crate) const EBAY_API: &str = "https://api.ebay.com";

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
    /// Whether `url` is a page of this target's own site, which its search
    /// pages may name as a listing or a next page: on a host name, the
    /// same registrable domain as `base_url` (`item.jd.com` for
    /// `search.jd.com`, by the public suffix list); on an address or a
    /// name no registry knows (`localhost`, an intranet host), the exact
    /// origin of `base_url`. A link to another site is never this target's
    /// listing, so one marketplace's cards cannot speak for another's.
    ///
    /// An `ebay-browse` target's listings are eBay's item pages, on any
    /// of eBay's own sites (`www.ebay.de`): the API is where it reads them.
    pub fn owns(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        if matches!(self.kind, TargetKind::EbayBrowse(_)) {
            return site_of(url).is_some_and(|site| site.split('.').next() == Some("ebay"));
        }
        same_site(url, &self.base_url)
    }

    /// Whether `url` may be this target's next search page: a page of its
    /// own site, or for an API, of the API's own origin.
    pub fn owns_search_page(&self, url: &Url) -> bool {
        match self.kind {
            TargetKind::EbayBrowse(_) => url.origin() == self.base_url.origin(),
            TargetKind::Html => self.owns(url),
        }
    }

    /// Its site's registrable domain (`ebay.de`), when its host has one.
    pub fn site(&self) -> Option<String> {
        site_of(&self.base_url)
    }

    /// The country its site's domain names (`DE` for `.de`, `GB` for
    /// `.co.uk`), where it names one: what a phone number written without
    /// a country code belongs to.
    pub fn country(&self) -> Option<String> {
        let host = self.base_url.host_str()?.trim_end_matches('.');
        let tld = host.rsplit('.').next()?.to_ascii_uppercase();
        match tld.as_str() {
            "UK" => Some("GB".into()),
            t if t.len() == 2 && t.chars().all(|c| c.is_ascii_alphabetic()) => Some(tld),
            _ => None,
        }
    }

    /// Whether search cards are stored and judged before item pages (the
    /// target names what a card shows, a title at least).
    pub fn two_stage(&self) -> bool {
        matches!(self.kind, TargetKind::EbayBrowse(_))
            || self
                .results
                .as_ref()
                .is_some_and(|r| r.card.title.is_some() || r.named.is_none())
    }
}

/// Whether two addresses are of one site: on host names, the same
/// registrable domain (`item.jd.com` and `search.jd.com`, by the public
/// suffix list); on an address or a name no registry knows (`localhost`,
/// an intranet host), the same origin.
pub(crate) fn same_site(a: &Url, b: &Url) -> bool {
    match (site_of(a), site_of(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.origin() == b.origin(),
    }
}

/// The registrable domain of `url`'s host (`ebay.co.uk` for
/// `www.ebay.co.uk.`), or `None` for an address or a name under no public
/// suffix.
fn site_of(url: &Url) -> Option<String> {
    let Some(url::Host::Domain(host)) = url.host() else {
        return None;
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let domain = psl::domain(host.as_bytes())?;
    // A name under no listed suffix (`localhost`, `shop.internal`) has no
    // registry that says where its site ends.
    if !domain.suffix().is_known() {
        return None;
    }
    std::str::from_utf8(domain.as_bytes())
        .ok()
        .map(str::to_string)
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
    /// `max_listings`: the most listings (cards and links) the target's
    /// search pages may add in one run.
    pub max_listings: u32,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            prefilter: 0.2,
            item_pages: ItemPages::Candidates,
            max_listings: 10_000,
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
    /// `item` and `link`: where the cards are, as named. When they find
    /// no card on a page, the cards are found automatically (and the run
    /// says the selectors need a look).
    pub named: Option<NamedCards>,
    /// `auto = true`: the cards are found with no selectors (the repeated
    /// listing blocks of the page), unless `item` and `link` find some.
    pub auto: bool,
    pub next_page: Option<Selector>,
    pub card: CardSelectors,
}

/// `[results] item` and `link`.
#[derive(Debug, Clone)]
pub struct NamedCards {
    /// One element (or script data node) per listing card.
    pub item: Selector,
    /// The card's link to its listing, relative to the card.
    pub link: Selector,
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
    /// `[item] seller_url`: the link to the seller's profile page.
    pub seller_url: Option<Selector>,
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
pub(crate) enum Alternative {
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
    pub(crate) fn alternatives(&self) -> &[Alternative] {
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
    /// The allow list: sellers never judged.
    pub authorized_sellers: Vec<String>,
    /// `[brand] denied_sellers`: known infringers (`NAME` or `TARGET/NAME`);
    /// their listings naming or showing a product, and their networks',
    /// are queued.
    pub denied_sellers: Vec<String>,
    /// `[brand] watched_sellers`: suspects, queued likewise.
    pub watched_sellers: Vec<String>,
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
    pub(crate) fn queries_for(&self, target: &Target) -> Vec<String> {
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

    /// Where the store is, as messages name it: its PostgreSQL URL, else
    /// the SQLite file's path.
    pub fn store_location(&self) -> String {
        match &self.settings.store_url {
            Some(url) => url.clone(),
            None => self.db_path().display().to_string(),
        }
    }

    /// Folder of the reference images.
    pub(crate) fn reference_dir(&self) -> PathBuf {
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
pub mod keys;
mod load;
mod reader;

pub use load::{load, preset_target, with_new_target};

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
    fn a_target_owns_the_links_of_its_own_site_only() {
        let target = |base: &str| Target {
            name: "t".into(),
            file: PathBuf::from("targets/t.toml"),
            base_url: Url::parse(base).unwrap(),
            private_origins: Vec::new(),
            rate: Rate {
                requests_per_second: 1.0,
                burst: 1,
                concurrency: 1,
                respect_robots: true,
            },
            search: None,
            results: None,
            item: ItemSelectors::default(),
            stages: Stages::default(),
            kind: TargetKind::Html,
            render: false,
        };
        let owns = |base: &str, link: &str| target(base).owns(&Url::parse(link).unwrap());
        assert!(owns("https://search.jd.com", "https://item.jd.com/1.html"));
        assert!(owns(
            "https://www.ebay.co.uk",
            "https://www.ebay.co.uk./itm/1"
        ));
        assert!(owns(
            "https://www.aliexpress.com",
            "http://aliexpress.com/item/1"
        ));
        assert!(!owns(
            "https://www.ebay.co.uk",
            "https://www.amazon.co.uk/dp/1"
        ));
        assert!(!owns("https://shop.example.co.uk", "https://other.co.uk/x"));
        assert!(!owns(
            "https://www.ebay.de",
            "javascript://www.ebay.de/%0aalert(1)"
        ));
        // Addresses and unregistered names: the exact origin only.
        assert!(owns(
            "http://127.0.0.1:7801",
            "http://127.0.0.1:7801/listing/1"
        ));
        assert!(!owns(
            "http://127.0.0.1:7801",
            "http://127.0.0.1:7802/listing/1"
        ));
        // The same address written as one number is the same origin.
        assert!(owns("http://127.0.0.1:7801", "http://2130706433:7801/x"));
        assert!(!owns("http://localhost:7801", "http://localhost:7802/x"));
        assert!(!owns(
            "https://www.ebay.de",
            "http://169.254.169.254/latest"
        ));
    }

    use super::load::load_settings;
    use std::cell::RefCell;

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
    fn a_store_url_with_a_password_is_refused_without_echoing_it() {
        let (settings, problems) = settings_of(
            "[store]\nurl = \"postgres://ana:s3cret@db.example:5432/brand\"\nlease_secs = 30\n",
        );
        assert_eq!(settings.store_url, None);
        assert_eq!(settings.lease, Duration::from_secs(30));
        let said = format!("{problems:?}");
        assert!(said.contains("must not hold a password"), "{said}");
        assert!(!said.contains("s3cret"), "{said}");
        let (_, problems) = settings_of("[store]\nurl = \"mysql://ana@db/brand\"\n");
        assert!(format!("{problems:?}").contains("not a PostgreSQL URL"));
        let (settings, problems) =
            settings_of("[store]\nurl = \"postgres://ana@db.example:5432/brand\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            settings.store_url.as_deref(),
            Some("postgres://ana@db.example:5432/brand")
        );
    }

    /// The names a problem's "unknown key; expected one of …" lists, sorted.
    fn listed(problems: &[Problem], key: &str) -> Vec<String> {
        let problem = problems
            .iter()
            .find(|p| p.key == key)
            .unwrap_or_else(|| panic!("no problem at {key}: {problems:?}"));
        let mut names: Vec<String> = problem
            .message
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("{key}: {}", problem.message))
            .split(", ")
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    /// What `check` should list for `table`: its declared keys, and at the
    /// top level the tables too. (`preset` is laid over before reading.)
    fn declared(keys: &[keys::Key], table: &str) -> Vec<String> {
        let mut names: Vec<String> = keys
            .iter()
            .filter(|k| k.table == table && k.name != "preset")
            .map(|k| k.name.to_string())
            .collect();
        if table.is_empty() {
            names.extend(
                keys::tables(keys)
                    .iter()
                    .filter(|t| !t.is_empty())
                    .map(|t| t.to_string()),
            );
        }
        names.sort();
        names
    }

    /// `check`'s "unknown key; expected one of …" lists, per table of each
    /// file, exactly the names `keys` declares: the loader reads nothing
    /// undeclared and every declared key is read.
    #[test]
    fn check_lists_exactly_the_declared_keys() {
        let unknown = |table: &str| {
            let at = if table.is_empty() {
                String::new()
            } else {
                format!("{table}.")
            };
            format!("{at}zzzz_unheard_of")
        };
        for table in keys::tables(keys::SETTINGS) {
            let text = if table.is_empty() {
                "zzzz_unheard_of = 1\n".to_string()
            } else {
                format!("[{table}]\nzzzz_unheard_of = 1\n")
            };
            let (_, problems) = settings_of(&text);
            assert_eq!(
                listed(&problems, &unknown(table)),
                declared(keys::SETTINGS, table),
                "[{table}]"
            );
        }
        let (_, problems) = settings_of("zzzz_unheard_of = 1\n");
        assert_eq!(
            listed(&problems, &unknown("")),
            declared(keys::SETTINGS, "")
        );

        let html = "name = \"t\"\nbase_url = \"https://shop.example\"\n\
                    [rate]\n[search]\nurl = \"/s?q={query}\"\n\
                    [results]\nitem = \"li\"\nlink = \"a@href\"\n[crawl]\n[item]\n";
        let ebay = "name = \"t\"\nkind = \"ebay-browse\"\n[ebay]\n";
        for table in keys::tables(keys::TARGET_KEYS) {
            let base = if table == "ebay" { ebay } else { html };
            let text = if table.is_empty() {
                format!("zzzz_unheard_of = 1\n{base}")
            } else {
                base.replace(
                    &format!("[{table}]\n"),
                    &format!("[{table}]\nzzzz_unheard_of = 1\n"),
                )
            };
            let problems = problems_of(&text, "[brand]\nname = \"Orvane\"\n");
            let mut expected = declared(keys::TARGET_KEYS, table);
            if table.is_empty() {
                // An HTML target never reads [ebay]; the ebay target's own check covers it.
                expected.retain(|name| name != "ebay");
            }
            assert_eq!(
                listed(&problems, &unknown(table)),
                expected,
                "target [{table}]"
            );
        }

        let catalog = "[brand]\nname = \"Orvane\"\n[[product]]\nid = \"A\"\nname = \"A\"\n";
        for (table, at) in [("", ""), ("brand", "brand."), ("product", "product[0].")] {
            let text = match table {
                "" => format!("zzzz_unheard_of = 1\n{catalog}"),
                "brand" => catalog.replace("[brand]\n", "[brand]\nzzzz_unheard_of = 1\n"),
                _ => format!("{catalog}zzzz_unheard_of = 1\n"),
            };
            let problems = problems_of(html, &text);
            assert_eq!(
                listed(&problems, &format!("{at}zzzz_unheard_of")),
                declared(keys::CATALOG_KEYS, table),
                "catalogue [{table}]"
            );
        }
    }

    /// The problems of a workspace with one target and a catalogue.
    fn problems_of(target: &str, catalog: &str) -> Vec<Problem> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("targets")).unwrap();
        std::fs::create_dir_all(dir.path().join("reference-images")).unwrap();
        std::fs::write(dir.path().join("targets/t.toml"), target).unwrap();
        std::fs::write(dir.path().join("reference-images/products.toml"), catalog).unwrap();
        match load(dir.path()) {
            Ok(_) => panic!("the unknown key went unnoticed"),
            Err(ConfigErrors(problems)) => problems,
        }
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
