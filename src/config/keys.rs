//! Every key of `knockoff.toml`, of a target file and of the catalogue,
//! declared once: its table, name, kind
//! (with its range), default and what it does. The loader reads the
//! ranged settings through these (`TableReader::number` and friends), the
//! unknown-key message of `knockoff check` lists the same names, and the
//! README's settings reference is generated from [`reference`] (a test
//! fails when the README is stale, and `KNOCKOFF_BLESS=1` rewrites it).

/// One setting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// The file it is read from: [`SETTINGS_FILE`], [`TARGET_FILE`] or
    /// [`CATALOG_FILE`].
    pub file: &'static str,
    /// The table it lives in (`crawl`, `rate`, …; empty for the top level,
    /// `product` for each `[[product]]`).
    pub table: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    /// What it does, in a sentence, for the reference.
    pub doc: &'static str,
}

/// What a setting holds, its range and its default.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A number in `min..=max`.
    Number {
        min: f64,
        max: f64,
        default: f64,
    },
    /// A whole number in `min..=max`.
    Count {
        min: u32,
        max: u32,
        default: u32,
    },
    /// A number of seconds in `min..=max`.
    Seconds {
        min: f64,
        max: f64,
        default: f64,
    },
    Flag {
        default: bool,
    },
    /// Anything else (text, a list, a table); `what` and `default` in words.
    Other {
        what: &'static str,
        default: &'static str,
    },
}

pub(crate) const SETTINGS_FILE: &str = "knockoff.toml";
pub(crate) const TARGET_FILE: &str = "targets/NAME.toml";
pub(crate) const CATALOG_FILE: &str = "reference-images/products.toml";

/// A setting of `knockoff.toml`.
const fn key(table: &'static str, name: &'static str, kind: Kind, doc: &'static str) -> Key {
    Key {
        file: SETTINGS_FILE,
        table,
        name,
        kind,
        doc,
    }
}

/// A key of a target file.
const fn target(table: &'static str, name: &'static str, kind: Kind, doc: &'static str) -> Key {
    Key {
        file: TARGET_FILE,
        table,
        name,
        kind,
        doc,
    }
}

/// A key of the catalogue.
const fn catalog(table: &'static str, name: &'static str, kind: Kind, doc: &'static str) -> Key {
    Key {
        file: CATALOG_FILE,
        table,
        name,
        kind,
        doc,
    }
}

/// A key holding something other than a number or a flag.
const fn other(what: &'static str, default: &'static str) -> Kind {
    Kind::Other { what, default }
}

const SELECTOR: &str = "selector";

/// Slowest rate a target may ask for: one request every 1,000 s.
pub(crate) const MIN_RATE: f64 = 0.001;
/// Fastest: far beyond anything polite, but a finite spacing.
pub(crate) const MAX_RATE: f64 = 1000.0;

pub(crate) const USER_AGENT: Key = key(
    "crawl",
    "user_agent",
    Kind::Other {
        what: "text",
        default: "knockoff/VERSION",
    },
    "The User-Agent of every request (give a contact URL); robots.txt is read for its product token.",
);
pub(crate) const DEFAULT_REQUESTS_PER_SECOND: Key = key(
    "crawl",
    "default_requests_per_second",
    Kind::Number {
        min: MIN_RATE,
        max: MAX_RATE,
        default: 2.0,
    },
    "Rate for hosts no target names (image CDNs); a target's `[rate]` sets its own.",
);
pub(crate) const DEFAULT_CONCURRENCY: Key = key(
    "crawl",
    "default_concurrency",
    Kind::Count {
        min: 1,
        max: 64,
        default: 2,
    },
    "Requests in flight at once to a host no target names.",
);
pub(crate) const MAX_PAGE_BYTES: Key = key(
    "crawl",
    "max_page_bytes",
    Kind::Count {
        min: 1024,
        max: u32::MAX,
        default: 5 << 20,
    },
    "A page longer than this is not read: the fetch fails as `too_large`.",
);
pub(crate) const MAX_IMAGE_BYTES: Key = key(
    "crawl",
    "max_image_bytes",
    Kind::Count {
        min: 1024,
        max: u32::MAX,
        default: 10 << 20,
    },
    "A photo longer than this is not read: the fetch fails as `too_large`.",
);
pub(crate) const MAX_IMAGE_PIXELS: Key = key(
    "crawl",
    "max_image_pixels",
    Kind::Count {
        min: 1,
        max: u32::MAX,
        default: 40_000_000,
    },
    "A photo whose header declares more pixels is refused before it is decoded.",
);
pub(crate) const MAX_IMAGES_PER_LISTING: Key = key(
    "crawl",
    "max_images_per_listing",
    Kind::Count {
        min: 0,
        max: 100,
        default: 12,
    },
    "Photos fetched per listing, in page order.",
);
pub(crate) const MAX_REDIRECTS: Key = key(
    "crawl",
    "max_redirects",
    Kind::Count {
        min: 0,
        max: 20,
        default: 5,
    },
    "Redirects followed per request, each hop through the address guard and its host's gate.",
);
pub(crate) const MAX_ATTEMPTS: Key = key(
    "crawl",
    "max_attempts",
    Kind::Count {
        min: 1,
        max: 10,
        default: 4,
    },
    "Tries per request on timeouts, 429 and 5xx, with backoff.",
);
pub(crate) const CONNECT_TIMEOUT_SECS: Key = key(
    "crawl",
    "connect_timeout_secs",
    Kind::Seconds {
        min: 0.1,
        max: 600.0,
        default: 10.0,
    },
    "Longest wait for a connection.",
);
pub(crate) const REQUEST_TIMEOUT_SECS: Key = key(
    "crawl",
    "request_timeout_secs",
    Kind::Seconds {
        min: 0.1,
        max: 3600.0,
        default: 30.0,
    },
    "Longest a whole request may take, body included.",
);
pub(crate) const MAX_WAIT_SECS: Key = key(
    "crawl",
    "max_wait_secs",
    Kind::Seconds {
        min: 0.0,
        max: 86_400.0,
        default: 120.0,
    },
    "Longest Retry-After honoured within a run; a longer one defers the host to the next run.",
);
pub(crate) const MAX_CRAWL_DELAY_SECS: Key = key(
    "crawl",
    "max_crawl_delay_secs",
    Kind::Seconds {
        min: 0.0,
        max: 3600.0,
        default: 60.0,
    },
    "Longest robots.txt Crawl-delay honoured as it is; a longer one is capped here.",
);

pub(crate) const THRESHOLD: Key = key(
    "matching",
    "threshold",
    Kind::Number {
        min: 0.0,
        max: 1.0,
        default: 0.5,
    },
    "The `score` rule: a match scoring this much is queued.",
);
pub(crate) const OFFICIAL_PHOTO: Key = key(
    "matching",
    "official_photo",
    Kind::Flag { default: true },
    "The `official photo` rule: a listing showing a reference photo is queued.",
);
pub(crate) const PHOTO_STRENGTH: Key = key(
    "matching",
    "photo_strength",
    Kind::Number {
        min: 0.0,
        max: 1.0,
        default: 0.75,
    },
    "How close a photo must be for the `official photo` rule.",
);
pub(crate) const PRICE_FLOOR: Key = key(
    "matching",
    "price_floor",
    Kind::Number {
        min: 0.0,
        max: 1.0,
        default: 0.5,
    },
    "The `price floor` rule: a new item identified as the product below this share of MSRP is queued.",
);
pub(crate) const USED_PRICE_FLOOR: Key = key(
    "matching",
    "used_price_floor",
    Kind::Number {
        min: 0.0,
        max: 1.0,
        default: 0.25,
    },
    "The price floor for a listing that says it is used.",
);
pub(crate) const COUNTERFEIT_VOCABULARY: Key = key(
    "matching",
    "counterfeit_vocabulary",
    Kind::Flag { default: true },
    "The `counterfeit vocabulary` rule: a listing naming the product with a counterfeit word is queued.",
);
pub(crate) const USED_WORDS: Key = key(
    "matching",
    "used_words",
    Kind::Other {
        what: "list of text",
        default: "built in, several languages (used, gebraucht, d'occasion, 中古, …)",
    },
    "Words that mark a listing as used.",
);
pub(crate) const NEW_WORDS: Key = key(
    "matching",
    "new_words",
    Kind::Other {
        what: "list of text",
        default: "built in",
    },
    "Words that mark a listing as new, overriding a used word.",
);
pub(crate) const COUNTERFEIT_WORDS: Key = key(
    "matching",
    "counterfeit_words",
    Kind::Other {
        what: "list of text",
        default: "built in (replica, 1:1, AAA, …)",
    },
    "Words that say a listing is a copy.",
);
pub(crate) const ACCESSORY_PHRASES: Key = key(
    "matching",
    "accessory_phrases",
    Kind::Other {
        what: "list of text",
        default: "built in (case for, compatible with, …)",
    },
    "Phrases that say a listing is for the product, not the product.",
);
pub(crate) const WEIGHTS: Key = key(
    "matching",
    "weights",
    Kind::Other {
        what: "table of numbers (-50–50)",
        default: "built in; `knockoff tune --write` fits them",
    },
    "The infringement weights, by name (`bias`, `counterfeit_words`, `discount`, …).",
);
pub(crate) const FX: Key = key(
    "matching",
    "fx",
    Kind::Other {
        what: "table of positive numbers",
        default: "built in for 12 currencies",
    },
    "US dollars per unit of a currency, by ISO 4217 code (`EUR = 1.09`).",
);

pub(crate) const SCHEDULE_CRAWL: Key = key(
    "schedule",
    "crawl",
    Kind::Other {
        what: "five-field crontab",
        default: "none: `serve` crawls only when asked",
    },
    "When `knockoff serve` crawls (`0 2 * * *` is 02:00 daily).",
);
pub(crate) const SCHEDULE_TIMEZONE: Key = key(
    "schedule",
    "timezone",
    Kind::Other {
        what: "IANA time zone",
        default: "UTC",
    },
    "The time zone of `crawl`.",
);
pub(crate) const NETWORK_BOILERPLATE: Key = key(
    "networks",
    "boilerplate",
    Kind::Count {
        min: 2,
        max: 1_000_000,
        default: 10,
    },
    "A contact or photo shown by more sellers than this is boilerplate (a marketplace's support address, a courier's number) and links none of them.",
);
pub(crate) const SCREENSHOT: Key = key(
    "evidence",
    "screenshot",
    Kind::Flag { default: false },
    "Take a full-page screenshot of each listing page when it is captured.",
);
pub(crate) const CHROMIUM: Key = key(
    "evidence",
    "chromium",
    Kind::Other {
        what: "path",
        default: "/usr/bin/chromium",
    },
    "The Chromium that takes screenshots and renders `render = \"chromium\"` targets.",
);
pub(crate) const WEBHOOK_URL: Key = key(
    "notify",
    "webhook_url",
    Kind::Other {
        what: "URL",
        default: "none",
    },
    "Where `serve` posts each scheduled run's summary (Slack-compatible JSON).",
);
pub(crate) const BIND: Key = key(
    "server",
    "bind",
    Kind::Other {
        what: "address",
        default: "127.0.0.1:7878",
    },
    "Where the review UI listens.",
);
pub(crate) const TRUSTED_PROXIES: Key = key(
    "server",
    "trusted_proxies",
    Kind::Other {
        what: "list of IP addresses",
        default: "none",
    },
    "Reverse proxies whose X-Forwarded-For names the client, for sign-in limits and the audit log.",
);

pub(crate) const STORE_URL: Key = key(
    "store",
    "url",
    Kind::Other {
        what: "postgres://user@host:port/database",
        default: "none: the workspace's SQLite file, knockoff.db",
    },
    "A PostgreSQL store that several crawls and review UIs share; `KNOCKOFF_STORE_URL` overrides it. Never a password: `PGPASSWORD` or `~/.pgpass`.",
);
pub(crate) const LEASE_SECS: Key = key(
    "store",
    "lease_secs",
    Kind::Seconds {
        min: 5.0,
        max: 86_400.0,
        default: 120.0,
    },
    "How long a crawl's claim on a frontier item lasts on a PostgreSQL store without word from it; a crawl killed mid-item loses it after this.",
);

pub(crate) const TARGET_EBAY_LIMIT: Key = target(
    "ebay",
    "limit",
    Kind::Count {
        min: 1,
        max: 200,
        default: 50,
    },
    "Results per API page.",
);
pub(crate) const TARGET_IMAGE_SEARCH: Key = target(
    "ebay",
    "image_search",
    Kind::Flag { default: true },
    "Also search by every reference photo (`search_by_image`).",
);
pub(crate) const TARGET_BURST: Key = target(
    "rate",
    "burst",
    Kind::Count {
        min: 1,
        max: 100,
        default: 1,
    },
    "Requests that may go out back to back before the spacing applies (never more than the rate in any second).",
);
pub(crate) const TARGET_CONCURRENCY: Key = target(
    "rate",
    "concurrency",
    Kind::Count {
        min: 1,
        max: 64,
        default: 2,
    },
    "Requests in flight at once to the marketplace.",
);
pub(crate) const TARGET_RESPECT_ROBOTS: Key = target(
    "rate",
    "respect_robots",
    Kind::Flag { default: true },
    "Obey the marketplace's robots.txt (turn off only with its written permission).",
);
pub(crate) const TARGET_RESULTS_AUTO: Key = target(
    "results",
    "auto",
    Kind::Flag { default: false },
    "Find the listing cards with no selectors: the page's repeated blocks that each link to a listing and show a price.",
);
pub(crate) const TARGET_MAX_PAGES: Key = target(
    "search",
    "max_pages",
    Kind::Count {
        min: 1,
        max: 1000,
        default: 5,
    },
    "Result pages read per query.",
);
pub(crate) const TARGET_PREFILTER: Key = target(
    "crawl",
    "prefilter",
    Kind::Number {
        min: 0.0,
        max: 1.0,
        default: 0.2,
    },
    "A card scoring this much (or queued, or naming a counterfeit word) earns its item page.",
);

pub(crate) const TARGET_MAX_LISTINGS: Key = target(
    "crawl",
    "max_listings",
    Kind::Count {
        min: 1,
        max: 1_000_000,
        default: 10_000,
    },
    "Most listings (cards and links) this target's search pages may add in one run; the rest wait for the next.",
);

/// Every key of a target file, in the reference's order.
pub(crate) const TARGET_KEYS: &[Key] = &[
    target("", "name", other("text", "required"), "The target's name, used on the command line and in reports."),
    target("", "preset", other("preset name", "none"), "A built-in marketplace (`knockoff target list`) this file adjusts key by key."),
    target("", "kind", other("`html` or `ebay-browse`", "html"), "Web pages, or eBay's Browse API (credentials from EBAY_CLIENT_ID and EBAY_CLIENT_SECRET)."),
    target("", "render", other("`chromium` or `none`", "none"), "Render each page in headless Chromium first, for pages built in JavaScript."),
    target("", "base_url", other("URL", "required (eBay API: https://api.ebay.com)"), "Where the marketplace is; search and listing URLs are relative to it."),
    target("", "private_origins", other("list of origins", "none"), "Private-network origins (an image CDN on 10.x) this target may reach; all others are refused."),
    target("ebay", "marketplace", other("eBay marketplace id", "EBAY_US"), "The X-EBAY-C-MARKETPLACE-ID of every call."),
    TARGET_IMAGE_SEARCH,
    TARGET_EBAY_LIMIT,
    target("rate", "requests_per_second", other("number, 0.001–1000", "`[crawl] default_requests_per_second`"), "The marketplace's rate: a hard ceiling in any second, with pauses on 429 and Retry-After."),
    TARGET_BURST,
    TARGET_CONCURRENCY,
    TARGET_RESPECT_ROBOTS,
    target("search", "url", other("text with `{query}` and `{page}`", "required with `[search]`"), "The search URL, relative to `base_url`."),
    target("search", "queries", other("list of text", "none"), "Queries of this target's own, beside every product's `search_queries`."),
    TARGET_MAX_PAGES,
    TARGET_RESULTS_AUTO,
    target("results", "item", other(SELECTOR, "required with `[search]` unless `auto`"), "One result card; when it finds none on a page, the cards are found automatically and the run says so."),
    target("results", "link", other(SELECTOR, "required with `item`"), "The card's link to its listing, relative to the card."),
    target("results", "next_page", other(SELECTOR, "none: found on the page with `auto`, else `{page}` counts up"), "The link to the next result page."),
    target("results", "title", other(SELECTOR, "none"), "The card's title; naming it turns on the two-stage crawl."),
    target("results", "price", other(SELECTOR, "none"), "The card's price."),
    target("results", "currency", other(SELECTOR, "none"), "The card's currency code."),
    target("results", "seller", other(SELECTOR, "none"), "The card's seller."),
    target("results", "image", other(SELECTOR, "none"), "The card's thumbnail."),
    target("results", "site_currency", other("ISO 4217 code", "from the domain"), "What a bare `$` or `¥` means on this site."),
    TARGET_PREFILTER,
    target("crawl", "item_pages", other("`candidates` or `all`", "candidates"), "Fetch item pages only for cards that earn them, or for every new or changed card."),
    TARGET_MAX_LISTINGS,
    target("item", "title", other(SELECTOR, "structured data, then the page's heading"), "The listing's title."),
    target("item", "price", other(SELECTOR, "structured data, then the first amount after the title"), "The listing's price."),
    target("item", "currency", other(SELECTOR, "structured data, the price's symbol, the domain"), "The price's currency."),
    target("item", "seller", other(SELECTOR, "structured data"), "The seller's name."),
    target("item", "description", other(SELECTOR, "structured data"), "The description."),
    target("item", "images", other(SELECTOR, "structured data"), "Every product photo."),
    target("item", "seller_url", other(SELECTOR, "none"), "The link to the seller's profile page (`a.seller@href`): each run reads it once for the contacts its bio gives away."),
    target("item", "removed", other(SELECTOR, "none"), "What a taken-down listing's page shows (besides 404 and 410)."),
];

/// Every key of the catalogue, in the reference's order.
pub(crate) const CATALOG_KEYS: &[Key] = &[
    catalog(
        "brand",
        "name",
        other("text", "required"),
        "The protected brand.",
    ),
    catalog(
        "brand",
        "authorized_sellers",
        other("list of text", "none"),
        "Sellers whose listings are never queued.",
    ),
    catalog(
        "brand",
        "denied_sellers",
        other("list of text", "none"),
        "Known infringers (`NAME`, or `TARGET/NAME` on one marketplace): every listing of theirs, or of an account in their network, that names or shows a product is queued, with that reason.",
    ),
    catalog(
        "brand",
        "watched_sellers",
        other("list of text", "none"),
        "Suspects, written like `denied_sellers` and queued likewise, with the reason `watch list`.",
    ),
    catalog(
        "brand",
        "rights_owner",
        other("text", "none"),
        "Who owns the rights, as notices name them.",
    ),
    catalog(
        "brand",
        "registrations",
        other("list of text", "none"),
        "Trademark registrations, for notices.",
    ),
    catalog(
        "brand",
        "contact",
        other("text", "none"),
        "The person notices are signed by.",
    ),
    catalog(
        "brand",
        "email",
        other("text", "none"),
        "Their e-mail address.",
    ),
    catalog(
        "brand",
        "address",
        other("text", "none"),
        "Their postal address.",
    ),
    catalog(
        "product",
        "id",
        other("text", "required, unique"),
        "The product's id (in the queue, reports and bundles).",
    ),
    catalog(
        "product",
        "name",
        other("text", "required"),
        "Its name, matched in listing titles.",
    ),
    catalog(
        "product",
        "keywords",
        other("list of text", "none"),
        "More words that name it.",
    ),
    catalog(
        "product",
        "search_queries",
        other("list of text", "none"),
        "What to search every marketplace for.",
    ),
    catalog(
        "product",
        "msrp",
        other("positive number", "none: no price signal"),
        "Its list price, for the price floor.",
    ),
    catalog(
        "product",
        "currency",
        other("ISO 4217 code", "USD"),
        "The MSRP's currency.",
    ),
    catalog(
        "product",
        "images",
        other("list of paths", "none"),
        "Its reference photos, under reference-images/.",
    ),
];

/// Every setting, in the reference's order.
pub(crate) const SETTINGS: &[Key] = &[
    USER_AGENT,
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_CONCURRENCY,
    MAX_PAGE_BYTES,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_IMAGES_PER_LISTING,
    MAX_REDIRECTS,
    MAX_ATTEMPTS,
    CONNECT_TIMEOUT_SECS,
    REQUEST_TIMEOUT_SECS,
    MAX_WAIT_SECS,
    MAX_CRAWL_DELAY_SECS,
    THRESHOLD,
    OFFICIAL_PHOTO,
    PHOTO_STRENGTH,
    PRICE_FLOOR,
    USED_PRICE_FLOOR,
    COUNTERFEIT_VOCABULARY,
    USED_WORDS,
    NEW_WORDS,
    COUNTERFEIT_WORDS,
    ACCESSORY_PHRASES,
    WEIGHTS,
    FX,
    SCHEDULE_CRAWL,
    SCHEDULE_TIMEZONE,
    NETWORK_BOILERPLATE,
    SCREENSHOT,
    CHROMIUM,
    WEBHOOK_URL,
    BIND,
    TRUSTED_PROXIES,
    STORE_URL,
    LEASE_SECS,
];

/// The tables of `keys`, in order of first appearance.
pub(crate) fn tables(keys: &[Key]) -> Vec<&'static str> {
    let mut tables: Vec<&'static str> = Vec::new();
    for key in keys {
        if !tables.contains(&key.table) {
            tables.push(key.table);
        }
    }
    tables
}

/// A number as a person reads it: `5 MiB`, `40,000,000`, `0.001`.
fn amount(value: f64) -> String {
    if value >= 1024.0 && value.fract() == 0.0 && (value as u64).is_multiple_of(1 << 20) {
        format!("{} MiB", value as u64 >> 20)
    } else if value >= 10_000.0 && value.fract() == 0.0 {
        let digits = (value as u64).to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        value.to_string()
    }
}

impl Kind {
    /// What the setting holds, in words.
    pub(crate) fn what(&self) -> String {
        let range = |min: f64, max: f64| {
            if max >= f64::from(u32::MAX) {
                format!("≥ {}", amount(min))
            } else {
                format!("{}–{}", amount(min), amount(max))
            }
        };
        match *self {
            Kind::Number { min, max, .. } => format!("number, {}", range(min, max)),
            Kind::Count { min, max, .. } => {
                format!("whole number, {}", range(f64::from(min), f64::from(max)))
            }
            Kind::Seconds { min, max, .. } => format!("seconds, {}", range(min, max)),
            Kind::Flag { .. } => "true or false".into(),
            Kind::Other { what, .. } => what.into(),
        }
    }

    /// Its default, in words.
    pub(crate) fn default_text(&self) -> String {
        match *self {
            Kind::Number { default, .. } | Kind::Seconds { default, .. } => amount(default),
            Kind::Count { default, .. } => amount(f64::from(default)),
            Kind::Flag { default } => default.to_string(),
            Kind::Other { default, .. } => default.into(),
        }
    }
}

/// The settings reference as Markdown: one table per file and TOML table.
pub fn reference() -> String {
    let mut out = String::new();
    for keys in [SETTINGS, TARGET_KEYS, CATALOG_KEYS] {
        out.push_str(&format!("\n### `{}`\n", keys[0].file));
        for table in tables(keys) {
            let heading = match table {
                "" => "top level".to_string(),
                "product" => "`[[product]]`, one per product".to_string(),
                _ => format!("`[{table}]`"),
            };
            out.push_str(&format!(
                "\n{heading}\n\n| key | holds | default | what it does |\n|---|---|---|---|\n"
            ));
            for key in keys.iter().filter(|k| k.table == table) {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    key.name,
                    key.kind.what(),
                    key.kind.default_text(),
                    key.doc.replace('|', "\\|")
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(amount(5.0 * 1048576.0), "5 MiB");
        assert_eq!(amount(40_000_000.0), "40,000,000");
        assert_eq!(amount(86_400.0), "86,400");
        assert_eq!(amount(0.001), "0.001");
        assert_eq!(amount(2.0), "2");
        assert_eq!(MAX_PAGE_BYTES.kind.what(), "whole number, ≥ 1024");
    }

    #[test]
    fn every_setting_is_declared_once() {
        let mut seen = std::collections::BTreeSet::new();
        for key in SETTINGS {
            assert!(
                seen.insert((key.table, key.name)),
                "{}.{} twice",
                key.table,
                key.name
            );
        }
    }

    #[test]
    fn the_matching_policy_defaults_are_the_declared_ones() {
        let policy = crate::matching::policy::QueuePolicy::default();
        let number = |key: Key| match key.kind {
            Kind::Number { default, .. } => default,
            _ => panic!("{} is not a number", key.name),
        };
        let flag = |key: Key| match key.kind {
            Kind::Flag { default } => default,
            _ => panic!("{} is not a flag", key.name),
        };
        assert_eq!(policy.threshold, number(THRESHOLD));
        assert_eq!(policy.photo_strength, number(PHOTO_STRENGTH));
        assert_eq!(policy.price_floor, number(PRICE_FLOOR));
        assert_eq!(policy.used_price_floor, number(USED_PRICE_FLOOR));
        assert_eq!(policy.official_photo, flag(OFFICIAL_PHOTO));
        assert_eq!(policy.counterfeit_vocabulary, flag(COUNTERFEIT_VOCABULARY));
        assert_eq!(
            super::super::Stages::default().prefilter,
            number(TARGET_PREFILTER)
        );
        let count = |key: Key| match key.kind {
            Kind::Count { default, .. } => default,
            _ => panic!("{} is not a count", key.name),
        };
        assert_eq!(
            super::super::Stages::default().max_listings,
            count(TARGET_MAX_LISTINGS)
        );
    }
}
