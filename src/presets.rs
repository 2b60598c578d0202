//! Built-in targets for the marketplaces brand teams name — eBay, Amazon,
//! AliExpress, Etsy, Walmart, Alibaba, JD, Mercado Libre — chosen by a
//! URL's domain. Each is a target file (`presets/*.toml`, embedded) with
//! several selectors per field; a workspace target that says `preset =
//! "NAME"` takes every key it does not set from it ([`merged`]).
//!
//! Pure data and table merging: no I/O.

use url::Url;

/// One built-in target.
#[derive(Debug)]
pub struct Preset {
    pub name: &'static str,
    /// The marketplace's name as it stands in its hosts: `ebay` in
    /// `www.ebay.co.uk`, right before the country's domain.
    pub labels: &'static [&'static str],
    /// The target file.
    pub toml: &'static str,
}

/// Every preset.
pub const PRESETS: [Preset; 8] = [
    Preset {
        name: "ebay",
        labels: &["ebay"],
        toml: include_str!("../presets/ebay.toml"),
    },
    Preset {
        name: "amazon",
        labels: &["amazon"],
        toml: include_str!("../presets/amazon.toml"),
    },
    Preset {
        name: "aliexpress",
        labels: &["aliexpress"],
        toml: include_str!("../presets/aliexpress.toml"),
    },
    Preset {
        name: "etsy",
        labels: &["etsy"],
        toml: include_str!("../presets/etsy.toml"),
    },
    Preset {
        name: "walmart",
        labels: &["walmart"],
        toml: include_str!("../presets/walmart.toml"),
    },
    Preset {
        name: "alibaba",
        labels: &["alibaba"],
        toml: include_str!("../presets/alibaba.toml"),
    },
    Preset {
        name: "jd",
        labels: &["jd"],
        toml: include_str!("../presets/jd.toml"),
    },
    Preset {
        name: "mercadolibre",
        labels: &["mercadolibre", "mercadolivre"],
        toml: include_str!("../presets/mercadolibre.toml"),
    },
];

/// The preset called `name`.
pub fn named(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The preset for `url`'s host: one whose label is followed only by a
/// country or generic domain (`ebay.de`, `amazon.co.uk`, `search.jd.com`,
/// `mercadolibre.com.mx`) — not `ebay.example.org`.
pub fn for_url(url: &Url) -> Option<&'static Preset> {
    let host = url.host_str()?.to_ascii_lowercase();
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    PRESETS.iter().find(|preset| {
        labels.iter().enumerate().any(|(i, label)| {
            let suffix = &labels[i + 1..];
            preset.labels.contains(label)
                && (1..=2).contains(&suffix.len())
                && suffix.iter().all(|s| is_domain_suffix(s))
        })
    })
}

/// A top-level or second-level label of a public suffix: `com`, `de`,
/// `co` (in `co.uk`), `com` (in `com.mx`).
fn is_domain_suffix(label: &str) -> bool {
    (2..=3).contains(&label.len()) && label.chars().all(|c| c.is_ascii_lowercase())
}

/// The preset's table.
pub fn table(preset: &Preset) -> toml::Table {
    // The presets are this crate's own files; a test parses every one.
    preset.toml.parse().unwrap_or_default()
}

/// `base` with `over` laid on it key by key: tables merge, anything else
/// in `over` replaces.
pub(crate) fn merged(mut base: toml::Table, over: &toml::Table) -> toml::Table {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(over_inner)) => {
                let merged_inner = merged(std::mem::take(inner), over_inner);
                *inner = merged_inner;
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
    base
}

/// What `knockoff target add URL` writes: the target's name (the preset's
/// and the country, `ebay-de`) and its file, which names the preset and
/// sets only the base URL and a conservative rate.
pub(crate) fn target_file(preset: &Preset, url: &Url) -> (String, String) {
    // `www.ebay.de.` is `www.ebay.de`: one site, one target, one rate.
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let country = labels
        .iter()
        .rposition(|l| preset.labels.contains(l))
        .map(|i| labels[i + 1..].join("-"))
        .unwrap_or_default();
    let name = if country.is_empty() || country == "com" {
        preset.name.to_string()
    } else {
        format!("{}-{}", preset.name, country.trim_start_matches("com-"))
    };
    // The site alone: never a user name, password, path or query.
    let base = format!("{}://{host}", url.scheme());
    let file = format!(
        "# Written by `knockoff target add {base}`.\n\
         # Every key of the built-in `{preset}` preset applies unless set here\n\
         # (`knockoff target list` shows the presets); set [search] queries,\n\
         # or leave them to the products' search_queries.\n\
         name = \"{name}\"\n\
         preset = \"{preset}\"\n\
         base_url = \"{base}\"\n\
         \n\
         [rate]\n\
         requests_per_second = 0.3\n\
         concurrency = 1\n\
         respect_robots = true\n",
        preset = preset.name,
    );
    (name, file)
}

/// Query parameters marketplaces and shops carry the search words in.
const QUERY_PARAMS: [&str; 20] = [
    "q",
    "k",
    "query",
    "keyword",
    "keywords",
    "search",
    "searchtext",
    "search_query",
    "searchterm",
    "search_term",
    "_nkw",
    "term",
    "text",
    "kw",
    "wd",
    "w",
    "st",
    "s",
    "qs",
    "find",
];
/// Query parameters that say which results page it is.
const PAGE_PARAMS: [&str; 12] = [
    "page",
    "p",
    "pg",
    "_pgn",
    "pagenumber",
    "page_number",
    "pn",
    "pageno",
    "page_no",
    "pagina",
    "seite",
    "currentpage",
];

/// What `target add` makes of a search page of a site no preset knows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SiteTarget {
    /// The target's name: the host without `www.`, its dots as dashes (and
    /// a port that is not the scheme's).
    pub name: String,
    /// `[search] url`: the page's path and query with the search words as
    /// `{query}` (and its page number as `{page}`).
    pub search_url: String,
    /// The search words the page was found with.
    pub query: String,
}

/// Why a search URL makes no target.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SiteTargetError {
    #[error("`{0}` is not an http(s) address with a host")]
    NotHttp(String),
    #[error(
        "cannot tell where the search words are in {0}: paste the address of a search results \
         page (such as https://shop.example/search?q=watch), or name the words with --query"
    )]
    NoQuery(String),
}

/// A target for the site a search results page `url` is on, its cards
/// found automatically. The search words are the value of a query
/// parameter marketplaces use for them (`q`, `k`, `_nkw`, …) or, given
/// `query`, wherever they stand in the address (a parameter or a folder).
pub(crate) fn site_target(url: &Url, query: Option<&str>) -> Result<SiteTarget, SiteTargetError> {
    let host = match url.host_str() {
        Some(host) if matches!(url.scheme(), "http" | "https") => {
            host.trim_end_matches('.').to_ascii_lowercase()
        }
        _ => return Err(SiteTargetError::NotHttp(url.as_str().to_string())),
    };
    let matches_query = |value: &str| match query {
        Some(words) => same_words(value, words),
        None => false,
    };
    let mut found: Option<String> = None;
    let mut has_page = false;
    let mut pairs: Vec<String> = Vec::new();
    for (name, value) in url.query_pairs() {
        let lower = name.to_ascii_lowercase();
        let is_query = found.is_none()
            && !value.is_empty()
            && (matches_query(&value)
                || (query.is_none() && QUERY_PARAMS.contains(&lower.as_str())));
        let encoded_name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        if is_query {
            found = Some(value.into_owned());
            pairs.push(format!("{encoded_name}={{query}}"));
        } else if !has_page && PAGE_PARAMS.contains(&lower.as_str()) && value.parse::<u32>().is_ok()
        {
            has_page = true;
            pairs.push(format!("{encoded_name}={{page}}"));
        } else {
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            pairs.push(format!("{encoded_name}={encoded}"));
        }
    }
    let mut path = url.path().to_string();
    if found.is_none() {
        // The words as a folder of the path: `/search/orvane-watch`.
        if let Some(words) = query {
            let segments: Vec<String> = url
                .path_segments()
                .into_iter()
                .flatten()
                .map(|segment| {
                    let decoded = percent_decoded(segment);
                    if found.is_none() && same_words(&decoded, words) {
                        found = Some(words.to_string());
                        "{query}".to_string()
                    } else {
                        segment.to_string()
                    }
                })
                .collect();
            path = format!("/{}", segments.join("/"));
        }
    }
    let query_words = found.ok_or_else(|| SiteTargetError::NoQuery(url.as_str().to_string()))?;
    let search_url = if pairs.is_empty() {
        path
    } else {
        format!("{path}?{}", pairs.join("&"))
    };
    let host_name = host.strip_prefix("www.").unwrap_or(&host).replace('.', "-");
    let name = match url.port() {
        Some(port) => format!("{host_name}-{port}"),
        None => host_name,
    };
    Ok(SiteTarget {
        name,
        search_url,
        query: query_words,
    })
}

/// Whether a URL's text says these words: the same words, whatever joins
/// them ("orvane+watch", "orvane-watch", "Orvane Watch").
fn same_words(text: &str, words: &str) -> bool {
    let split = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let wanted = split(words);
    !wanted.is_empty() && split(text) == wanted
}

fn percent_decoded(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={segment}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The file `target add` writes for a site no preset knows.
pub(crate) fn site_target_file(site: &SiteTarget, url: &Url, cards: usize) -> String {
    let base = match url.port() {
        Some(port) => format!(
            "{}://{}:{port}",
            url.scheme(),
            url.host_str().unwrap_or_default()
        ),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
    };
    let text = |value: &str| toml::Value::String(value.to_string()).to_string();
    format!(
        "# Written by `knockoff target add` from a search page of {base}.\n\
         # No preset knows this site: its listing cards are found automatically\n\
         # ({cards} on that page). Should they ever be read wrong, name them with\n\
         # [results] item, link, title, price and image selectors; `knockoff\n\
         # extract PAGE.html --target {name}` shows what is read.\n\
         name = {name_value}\n\
         base_url = {base_value}\n\
         \n\
         [rate]\n\
         requests_per_second = 0.3\n\
         concurrency = 1\n\
         respect_robots = true\n\
         \n\
         [search]\n\
         url = {search_value}\n\
         # The words the page was found with; every product's search_queries\n\
         # are searched too.\n\
         queries = [{query_value}]\n\
         max_pages = 3\n\
         \n\
         [results]\n\
         auto = true\n",
        name = site.name,
        name_value = text(&site.name),
        base_value = text(&base),
        search_value = text(&site.search_url),
        query_value = text(&site.query),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_address_makes_a_search_template() {
        let site = |url: &str, query: Option<&str>| site_target(&Url::parse(url).unwrap(), query);
        let found = site(
            "https://www.shop-3.example/search?q=orvane+watch&page=2&sort=new",
            None,
        )
        .unwrap();
        assert_eq!(
            found,
            SiteTarget {
                name: "shop-3-example".into(),
                search_url: "/search?q={query}&page={page}&sort=new".into(),
                query: "orvane watch".into(),
            }
        );
        let found = site("http://127.0.0.1:7801/s?k=orvane&lang=de", None).unwrap();
        assert_eq!(found.name, "127-0-0-1-7801");
        assert_eq!(found.search_url, "/s?k={query}&lang=de");
        // In a folder, or in a parameter no marketplace list names: by the
        // words given.
        let found = site(
            "https://shop.example/catalogsearch/orvane-watch/",
            Some("orvane watch"),
        )
        .unwrap();
        assert_eq!(found.search_url, "/catalogsearch/{query}/");
        let found = site(
            "https://shop.example/find.php?zoek=Orvane%20Watch",
            Some("orvane watch"),
        )
        .unwrap();
        assert_eq!(found.search_url, "/find.php?zoek={query}");
        assert!(matches!(
            site("https://shop.example/catalogsearch/orvane-watch/", None),
            Err(SiteTargetError::NoQuery(_))
        ));
        assert!(matches!(
            site("ftp://shop.example/?q=x", None),
            Err(SiteTargetError::NotHttp(_))
        ));
        // What is written parses, and quotes what the page's address says.
        let url = Url::parse("https://shop.example/search?q=%22orvane%22+%5Cwatch").unwrap();
        let found = site_target(&url, None).unwrap();
        let file: toml::Table = site_target_file(&found, &url, 12).parse().unwrap();
        assert_eq!(
            file["search"]["queries"][0].as_str(),
            Some("\"orvane\" \\watch")
        );
        assert_eq!(file["results"]["auto"].as_bool(), Some(true));
    }

    #[test]
    fn every_preset_parses_and_names_itself() {
        for preset in &PRESETS {
            let table: toml::Table = preset.toml.parse().expect(preset.name);
            assert_eq!(table["name"].as_str(), Some(preset.name));
            assert!(table.contains_key("results") && table.contains_key("item"));
        }
    }

    #[test]
    fn the_domain_chooses_the_preset() {
        let of = |u: &str| for_url(&Url::parse(u).unwrap()).map(|p| p.name);
        assert_eq!(of("https://www.ebay.de/itm/1"), Some("ebay"));
        assert_eq!(of("https://www.ebay.co.uk/sch/i.html"), Some("ebay"));
        assert_eq!(of("https://www.amazon.fr/dp/B0"), Some("amazon"));
        assert_eq!(of("https://www.amazon.co.jp/dp/B0"), Some("amazon"));
        assert_eq!(
            of("https://m.aliexpress.com/item/1.html"),
            Some("aliexpress")
        );
        assert_eq!(of("https://item.jd.com/1.html"), Some("jd"));
        assert_eq!(
            of("https://articulo.mercadolibre.com.mx/MLM-1"),
            Some("mercadolibre")
        );
        assert_eq!(
            of("https://produto.mercadolivre.com.br/MLB-1"),
            Some("mercadolibre")
        );
        assert_eq!(of("https://www.etsy.com/listing/1"), Some("etsy"));
        assert_eq!(of("https://ebay.example.org/"), None);
        assert_eq!(of("https://shop.example.com/amazon"), None);
        assert_eq!(of("https://notebay.de/"), None);
    }

    #[test]
    fn a_workspace_target_overrides_its_preset_key_by_key() {
        let base = table(named("ebay").unwrap());
        let over: toml::Table = "base_url = \"https://www.ebay.de\"\n[rate]\nrequests_per_second = 0.1\n[item]\ntitle = \"h1.mine\"\n"
            .parse()
            .unwrap();
        let merged = merged(base, &over);
        assert_eq!(merged["base_url"].as_str(), Some("https://www.ebay.de"));
        assert_eq!(merged["rate"]["requests_per_second"].as_float(), Some(0.1));
        assert_eq!(merged["rate"]["concurrency"].as_integer(), Some(1));
        assert_eq!(merged["item"]["title"].as_str(), Some("h1.mine"));
        assert!(merged["item"]["price"]
            .as_str()
            .unwrap()
            .contains("x-price-primary"));
    }

    #[test]
    fn target_add_names_the_target_by_country() {
        let file = |u: &str| {
            let url = Url::parse(u).unwrap();
            target_file(for_url(&url).unwrap(), &url)
        };
        assert_eq!(file("https://www.ebay.de").0, "ebay-de");
        assert_eq!(file("https://www.ebay.com").0, "ebay");
        assert_eq!(file("https://www.amazon.co.uk").0, "amazon-co-uk");
        assert_eq!(file("https://www.mercadolibre.com.mx").0, "mercadolibre-mx");
        let (_, text) = file("https://www.ebay.de/sch/i.html?_nkw=x");
        assert!(
            text.contains("preset = \"ebay\"\nbase_url = \"https://www.ebay.de\"\n"),
            "{text}"
        );
    }
}
