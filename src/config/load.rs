//! Reading a workspace's files into a [`Config`]: `knockoff.toml`, every
//! `targets/*.toml` (over its preset), `reference-images/products.toml`.
//! Every problem is recorded, none stops the reading.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use url::Url;

use super::keys::{self, MAX_RATE, MIN_RATE};
use super::reader::{push, TableReader};
use super::*;

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

pub(super) fn load_settings(workspace: &Path, problems: &RefCell<Vec<Problem>>) -> Settings {
    let path = workspace.join("knockoff.toml");
    let shown = display_path(workspace, "knockoff.toml");
    let table = if path.exists() {
        read_toml(&path, &shown, problems).unwrap_or_default()
    } else {
        toml::Table::new()
    };
    let mut root = TableReader::new(&table, &shown, "", problems);

    let mut crawl_table = root.table(keys::USER_AGENT.table);
    let user_agent = crawl_table
        .string(keys::USER_AGENT.name)
        .unwrap_or_else(|| format!("knockoff/{}", env!("CARGO_PKG_VERSION")));
    let crawl = CrawlSettings {
        user_agent,
        default_requests_per_second: crawl_table.setting(&keys::DEFAULT_REQUESTS_PER_SECOND),
        default_concurrency: crawl_table.setting_count(&keys::DEFAULT_CONCURRENCY),
        max_page_bytes: crawl_table.setting_count(&keys::MAX_PAGE_BYTES).into(),
        max_image_bytes: crawl_table.setting_count(&keys::MAX_IMAGE_BYTES).into(),
        max_image_pixels: crawl_table.setting_count(&keys::MAX_IMAGE_PIXELS).into(),
        max_images_per_listing: crawl_table.setting_count(&keys::MAX_IMAGES_PER_LISTING),
        max_redirects: crawl_table.setting_count(&keys::MAX_REDIRECTS),
        max_attempts: crawl_table.setting_count(&keys::MAX_ATTEMPTS),
        connect_timeout: crawl_table.setting_seconds(&keys::CONNECT_TIMEOUT_SECS),
        request_timeout: crawl_table.setting_seconds(&keys::REQUEST_TIMEOUT_SECS),
        max_wait: crawl_table.setting_seconds(&keys::MAX_WAIT_SECS),
        max_crawl_delay: crawl_table.setting_seconds(&keys::MAX_CRAWL_DELAY_SECS),
    };
    crawl_table.finish();

    let mut matching = root.table(keys::THRESHOLD.table);
    let policy = crate::matching::policy::QueuePolicy {
        threshold: matching.setting(&keys::THRESHOLD),
        official_photo: matching.setting_flag(&keys::OFFICIAL_PHOTO),
        photo_strength: matching.setting(&keys::PHOTO_STRENGTH),
        price_floor: matching.setting(&keys::PRICE_FLOOR),
        used_price_floor: matching.setting(&keys::USED_PRICE_FLOOR),
        counterfeit_vocabulary: matching.setting_flag(&keys::COUNTERFEIT_VOCABULARY),
    };
    let owned = |list: &[&str]| list.iter().map(|w| w.to_string()).collect();
    let used_words = matching
        .string_list(keys::USED_WORDS.name)
        .unwrap_or_else(|| owned(&crate::matching::signals::DEFAULT_USED_WORDS));
    let new_words = matching
        .string_list(keys::NEW_WORDS.name)
        .unwrap_or_else(|| owned(&crate::matching::signals::DEFAULT_NEW_WORDS));
    let counterfeit_words = matching
        .string_list(keys::COUNTERFEIT_WORDS.name)
        .unwrap_or_else(|| owned(&crate::matching::signals::DEFAULT_COUNTERFEIT_WORDS));
    let accessory_phrases = matching
        .string_list(keys::ACCESSORY_PHRASES.name)
        .unwrap_or_else(|| owned(&crate::matching::signals::DEFAULT_ACCESSORY_PHRASES));
    let mut weights_table = matching.table(keys::WEIGHTS.name);
    let mut weights = crate::matching::score::Weights::default().to_array();
    for (weight, name) in weights.iter_mut().zip(crate::matching::score::WEIGHT_NAMES) {
        if let Some(value) = weights_table.f64_in(name, -50.0, 50.0) {
            *weight = value;
        }
    }
    weights_table.finish();
    let weights = crate::matching::score::Weights::from_array(weights);
    let mut fx = crate::matching::signals::default_fx();
    let mut fx_table = matching.table(keys::FX.name);
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

    let mut schedule = root.table(keys::SCHEDULE_CRAWL.table);
    let schedule_crawl = schedule.string(keys::SCHEDULE_CRAWL.name);
    let schedule_timezone = schedule
        .string(keys::SCHEDULE_TIMEZONE.name)
        .unwrap_or_else(|| "UTC".into());
    if let Some(expression) = &schedule_crawl {
        if let Err(problem) = Schedule::parse(expression, &schedule_timezone) {
            schedule.problem(problem.key(), problem.to_string());
        }
    }
    schedule.finish();

    let mut networks = root.table(keys::NETWORK_BOILERPLATE.table);
    let network_boilerplate = networks.setting_count(&keys::NETWORK_BOILERPLATE) as usize;
    networks.finish();

    let mut evidence = root.table(keys::SCREENSHOT.table);
    let evidence_screenshot = evidence.setting_flag(&keys::SCREENSHOT);
    let evidence_chromium = evidence
        .string(keys::CHROMIUM.name)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    evidence.finish();

    let mut notify = root.table(keys::WEBHOOK_URL.table);
    let notify_webhook = notify.parsed::<url::Url>(
        keys::WEBHOOK_URL.name,
        "a URL such as https://hooks.slack.com/services/…",
    );
    notify.finish();

    let mut server = root.table(keys::BIND.table);
    let server_bind = server
        .parsed::<SocketAddr>(keys::BIND.name, "an address such as 127.0.0.1:7878")
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7878)));
    let trusted_proxies = server
        .string_list(keys::TRUSTED_PROXIES.name)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|raw| match raw.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                server.problem(
                    keys::TRUSTED_PROXIES.name,
                    format!("`{raw}` is not an IP address such as 127.0.0.1"),
                );
                None
            }
        })
        .collect();
    server.finish();

    let mut store = root.table(keys::STORE_URL.table);
    // The file's URL is read (and checked) even when the variable
    // overrides it: an unread key would be reported as unknown.
    let in_file = store.string(keys::STORE_URL.name).and_then(|url| {
        store_url_problem(&url)
            .map(|e| store.problem(keys::STORE_URL.name, e))
            .map_or(Some(url), |_| None)
    });
    let store_url = match std::env::var(STORE_URL_VARIABLE) {
        Ok(url) if !url.is_empty() => store_url_problem(&url)
            .map(|e| store.problem(keys::STORE_URL.name, format!("{STORE_URL_VARIABLE}: {e}")))
            .map_or(Some(url), |_| None),
        _ => in_file,
    };
    let lease = Duration::from_secs_f64(store.setting(&keys::LEASE_SECS));
    store.finish();
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
        network_boilerplate,
        notify_webhook,
        evidence_screenshot,
        evidence_chromium,
        server_bind,
        trusted_proxies,
        store_url,
        lease,
    }
}

/// What is wrong with a store URL at a glance, never echoing a password
/// it holds; the store reads it in full when it opens
/// (`store::PostgresUrl`, which config must not depend on: the store
/// reads listings, whose extraction reads config).
fn store_url_problem(raw: &str) -> Option<String> {
    match Url::parse(raw) {
        Ok(url) if !matches!(url.scheme(), "postgres" | "postgresql") => Some(format!(
            "`{raw}` is not a PostgreSQL URL (postgres://user@host:port/database)"
        )),
        Ok(url) if url.password().is_some() => Some(
            "a PostgreSQL URL must not hold a password (it would be kept in shell history, \
             files and logs): set PGPASSWORD or put it in ~/.pgpass"
                .into(),
        ),
        Ok(url) if url.username().is_empty() => Some(format!(
            "the PostgreSQL URL `{raw}` names no user (postgres://user@host:port/database)"
        )),
        Ok(_) => None,
        Err(_) if raw.contains('@') => {
            Some("the store URL does not read as a URL (not shown: it may hold a password)".into())
        }
        Err(e) => Some(format!("`{raw}` is not a URL ({e})")),
    }
}

/// The environment variable that names a PostgreSQL store over `[store] url`.
pub const STORE_URL_VARIABLE: &str = "KNOCKOFF_STORE_URL";

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

/// The workspace's settings with one target, read from a target file's
/// `text` (not yet written; `shown` names it in problems) and no catalogue:
/// what `target add` fetches a new site's search page with.
pub fn with_new_target(workspace: &Path, text: &str, shown: &Path) -> Result<Config, ConfigErrors> {
    let problems = RefCell::new(Vec::new());
    let settings = load_settings(workspace, &problems);
    let target = match text.parse::<toml::Table>() {
        Ok(table) => parse_target(&table, shown, "new", &settings, &problems),
        Err(e) => {
            push(
                &problems,
                shown,
                "",
                format!("is not valid TOML ({})", e.message()),
            );
            None
        }
    };
    match target {
        Some(target) if problems.borrow().is_empty() => Ok(Config {
            workspace: workspace.to_path_buf(),
            settings,
            targets: vec![target],
            catalog: Catalog::default(),
        }),
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
                image_search: t.setting_flag(&keys::TARGET_IMAGE_SEARCH),
                limit: t.setting_count(&keys::TARGET_EBAY_LIMIT),
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
        burst: rate_table.setting_count(&keys::TARGET_BURST),
        concurrency: rate_table.setting_count(&keys::TARGET_CONCURRENCY),
        respect_robots: rate_table.setting_flag(&keys::TARGET_RESPECT_ROBOTS),
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
        let max_pages = t.setting_count(&keys::TARGET_MAX_PAGES);
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
        let auto = t.setting_flag(&keys::TARGET_RESULTS_AUTO);
        let (item, link) = if auto {
            (t.selector("item"), t.selector("link"))
        } else {
            (t.required_selector("item"), t.required_selector("link"))
        };
        let next_page = t.selector("next_page");
        let card = CardSelectors {
            title: t.selector("title"),
            price: t.selector("price"),
            currency: t.selector("currency"),
            seller: t.selector("seller"),
            image: t.selector("image"),
            site_currency: t.currency_code("site_currency"),
        };
        let named = match (item, link) {
            (Some(item), Some(link)) => Some(NamedCards { item, link }),
            // Without `auto` both are required, and a missing or broken one
            // has said so already; so has a broken one with it.
            _ if !auto || (t.has("item") && t.has("link")) => None,
            (None, None) => None,
            (Some(_), None) => {
                t.problem(
                    "link",
                    "`item` names the cards; `link` must say where their link is".into(),
                );
                None
            }
            (None, Some(_)) => {
                t.problem(
                    "item",
                    "`link` needs `item`, the selector of one card".into(),
                );
                None
            }
        };
        t.finish();
        (auto || named.is_some()).then_some(ResultSelectors {
            named,
            auto,
            next_page,
            card,
        })
    } else {
        if search.is_some() && kind == TargetKind::Html {
            root.problem(
                "results",
                "a target with [search] needs a [results] table: `item` and `link` selectors, \
                 or `auto = true`"
                    .into(),
            );
        }
        None
    };

    let mut t = root.table("crawl");
    let defaults = Stages::default();
    let stages = Stages {
        prefilter: t.setting(&keys::TARGET_PREFILTER),
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
        max_listings: t.setting_count(&keys::TARGET_MAX_LISTINGS),
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
        seller_url: t.selector("seller_url"),
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
        denied_sellers: b.string_list("denied_sellers").unwrap_or_default(),
        watched_sellers: b.string_list("watched_sellers").unwrap_or_default(),
        rights_owner: b.string("rights_owner").unwrap_or_default(),
        registrations: b.string_list("registrations").unwrap_or_default(),
        contact: b.string("contact").unwrap_or_default(),
        email: b.string("email").unwrap_or_default(),
        address: b.string("address").unwrap_or_default(),
    };
    // An authorized seller is never judged, so listing it too would
    // silently do nothing.
    for (key, list) in [
        ("denied_sellers", &brand.denied_sellers),
        ("watched_sellers", &brand.watched_sellers),
    ] {
        for entry in list {
            let name = entry.rsplit_once('/').map_or(entry.as_str(), |(_, n)| n);
            if brand
                .authorized_sellers
                .iter()
                .any(|a| a.trim().eq_ignore_ascii_case(name.trim()))
            {
                b.problem(
                    key,
                    format!(
                        "`{entry}` is also in authorized_sellers, whose listings are never judged"
                    ),
                );
            }
        }
    }
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
