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

#[cfg(test)]
mod tests {
    use super::*;

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
