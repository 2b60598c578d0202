//! Zero-config extraction from the structured data sites publish for search
//! engines: schema.org Product as JSON-LD or microdata, and OpenGraph tags.

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

use super::{clean, text_of, Partial, MAX_IMAGES};

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("built-in selectors are valid CSS")
}

static JSON_LD: LazyLock<Selector> =
    LazyLock::new(|| selector(r#"script[type="application/ld+json"]"#));
static PRODUCT_SCOPE: LazyLock<Selector> = LazyLock::new(|| selector("[itemscope][itemtype]"));
static ITEMPROP: LazyLock<Selector> = LazyLock::new(|| selector("[itemprop]"));
static META: LazyLock<Selector> = LazyLock::new(|| selector("meta[property], meta[name]"));

/// Most JSON-LD nodes visited on one page, so a hostile page cannot make the
/// walk expensive.
const MAX_NODES: usize = 10_000;

/// Fields from the first schema.org Product in the page's JSON-LD blocks,
/// looking inside arrays and `@graph`.
pub(super) fn json_ld(doc: &Html, warnings: &mut Vec<String>) -> Partial {
    for script in doc.select(&JSON_LD) {
        let raw: String = script.text().collect();
        let value: Value = match serde_json::from_str(raw.trim()) {
            Ok(value) => value,
            Err(e) => {
                warnings.push(format!("unreadable JSON-LD block skipped ({e})"));
                continue;
            }
        };
        let mut budget = MAX_NODES;
        if let Some(product) = find_product(&value, &mut budget) {
            return product_fields(product);
        }
    }
    Partial::default()
}

fn is_product_type(value: &Value) -> bool {
    let is_product = |t: &str| {
        let t = t.rsplit(['/', ':']).next().unwrap_or(t);
        t.eq_ignore_ascii_case("Product") || t.eq_ignore_ascii_case("ProductGroup")
    };
    match value.get("@type") {
        Some(Value::String(t)) => is_product(t),
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).any(is_product),
        _ => false,
    }
}

fn find_product<'a>(value: &'a Value, budget: &mut usize) -> Option<&'a Value> {
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    match value {
        Value::Array(items) => items.iter().find_map(|item| find_product(item, budget)),
        Value::Object(map) => {
            if is_product_type(value) {
                return Some(value);
            }
            map.get("@graph")
                .and_then(|graph| find_product(graph, budget))
                .or_else(|| {
                    map.iter()
                        .filter(|(key, _)| key.as_str() != "@graph")
                        .find_map(|(_, child)| find_product(child, budget))
                })
        }
        _ => None,
    }
}

/// A JSON scalar as text. Sites often HTML-escape JSON-LD strings
/// (`&quot;`); a browser never shows those entities, so neither do we.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(clean(&html_escape::decode_html_entities(s))),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A name-like value: a string, or an object's `name`.
fn name_of(value: &Value) -> Option<String> {
    match value {
        Value::Object(_) => value.get("name").and_then(scalar),
        Value::Array(items) => items.iter().find_map(name_of),
        other => scalar(other),
    }
}

fn image_urls(value: &Value, out: &mut Vec<String>) {
    if out.len() >= MAX_IMAGES {
        return;
    }
    match value {
        Value::String(s) => out.push(s.trim().to_string()),
        Value::Array(items) => items.iter().for_each(|item| image_urls(item, out)),
        Value::Object(map) => {
            if let Some(url) = map.get("contentUrl").or_else(|| map.get("url")) {
                image_urls(url, out);
            }
        }
        _ => {}
    }
}

fn product_fields(product: &Value) -> Partial {
    let offers: Vec<&Value> = match product.get("offers") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(offer @ Value::Object(_)) => vec![offer],
        _ => Vec::new(),
    };
    let offer_field = |keys: &[&str]| {
        offers.iter().find_map(|offer| {
            keys.iter().find_map(|key| {
                offer.get(key).and_then(scalar).or_else(|| {
                    offer
                        .get("priceSpecification")
                        .and_then(|s| s.get(key))
                        .and_then(scalar)
                })
            })
        })
    };
    let mut images = Vec::new();
    if let Some(image) = product.get("image") {
        image_urls(image, &mut images);
    }
    Partial {
        title: product.get("name").and_then(scalar),
        price: offer_field(&["price", "lowPrice"]),
        currency: offer_field(&["priceCurrency"]),
        seller: offers
            .iter()
            .find_map(|offer| offer.get("seller").and_then(name_of)),
        description: product.get("description").and_then(scalar),
        images,
        // schema.org's seller is an Organization or Person, often with
        // its profile's `url`.
        seller_url: offers
            .iter()
            .find_map(|offer| offer.get("seller")?.get("url").and_then(scalar)),
    }
}

/// Fields from the first schema.org Product microdata scope.
pub(super) fn microdata(doc: &Html) -> Partial {
    let Some(scope) = doc.select(&PRODUCT_SCOPE).find(|e| {
        e.value()
            .attr("itemtype")
            .is_some_and(|t| t.split_whitespace().any(|t| t.ends_with("/Product")))
    }) else {
        return Partial::default();
    };
    let mut partial = Partial::default();
    for element in scope.select(&ITEMPROP) {
        let Some(props) = element.value().attr("itemprop") else {
            continue;
        };
        for prop in props.split_whitespace() {
            match prop {
                "name" if partial.title.is_none() && !inside_nested_scope(element, scope) => {
                    partial.title = microdata_value(element)
                }
                "price" | "lowPrice" if partial.price.is_none() => {
                    partial.price = microdata_value(element)
                }
                "priceCurrency" if partial.currency.is_none() => {
                    partial.currency = microdata_value(element)
                }
                "description" if partial.description.is_none() => {
                    partial.description = microdata_value(element)
                }
                "image" if partial.images.len() < MAX_IMAGES => {
                    partial.images.extend(microdata_value(element))
                }
                "seller" if partial.seller.is_none() => {
                    partial.seller = element
                        .select(&ITEMPROP)
                        .find(|e| e.value().attr("itemprop") == Some("name"))
                        .and_then(microdata_value)
                        .or_else(|| microdata_value(element))
                }
                _ => {}
            }
        }
    }
    partial
}

/// Whether `element` belongs to a scope nested inside `scope` (an offer's or
/// seller's `name` is not the product's).
fn inside_nested_scope(element: ElementRef<'_>, scope: ElementRef<'_>) -> bool {
    element
        .ancestors()
        .take_while(|node| node.id() != scope.id())
        .filter_map(ElementRef::wrap)
        .any(|e| e.value().attr("itemscope").is_some())
}

fn microdata_value(element: ElementRef<'_>) -> Option<String> {
    let e = element.value();
    let value = e
        .attr("content")
        .or_else(|| match e.name() {
            "img" | "source" => e.attr("src"),
            "a" | "link" => e.attr("href"),
            "meta" => e.attr("content"),
            _ => None,
        })
        .map(clean)
        .unwrap_or_else(|| text_of(element));
    (!value.is_empty()).then_some(value)
}

/// Fields from OpenGraph (and the product: price tags that go with it).
pub(super) fn opengraph(doc: &Html) -> Partial {
    let mut partial = Partial::default();
    for meta in doc.select(&META) {
        let e = meta.value();
        let Some(key) = e.attr("property").or_else(|| e.attr("name")) else {
            continue;
        };
        let Some(content) = e.attr("content").map(clean).filter(|c| !c.is_empty()) else {
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "og:title" if partial.title.is_none() => partial.title = Some(content),
            "og:description" if partial.description.is_none() => {
                partial.description = Some(content)
            }
            "og:image" | "og:image:url" | "og:image:secure_url"
                if partial.images.len() < MAX_IMAGES =>
            {
                partial.images.push(content)
            }
            "product:price:amount" | "og:price:amount" if partial.price.is_none() => {
                partial.price = Some(content)
            }
            "product:price:currency" | "og:price:currency" if partial.currency.is_none() => {
                partial.currency = Some(content)
            }
            _ => {}
        }
    }
    partial
}

#[cfg(test)]
mod tests {
    use super::super::listing;
    use url::Url;

    fn page() -> Url {
        Url::parse("https://m.example/p/1").unwrap()
    }

    #[test]
    fn json_ld_inside_graph_with_offer_array_and_image_object() {
        let html = r#"<script type="application/ld+json">
        {"@context":"https://schema.org","@graph":[{"@type":"WebPage","name":"Page"},
          {"@type":["Product"],"name":"Orvane  Cloudstep 3","description":"Light\nrunner",
           "image":[{"@type":"ImageObject","url":"/img/a.jpg"},"https://cdn.example/b.jpg"],
           "offers":[{"@type":"Offer","price":"23.50","priceCurrency":"eur",
                      "seller":{"@type":"Organization","name":"shoe-outlet-88"}}]}]}
        </script>"#;
        let got = listing(html, &page(), None).listing;
        assert_eq!(got.title.as_deref(), Some("Orvane Cloudstep 3"));
        assert_eq!(got.description.as_deref(), Some("Light runner"));
        assert_eq!(got.price, Some(23.5));
        assert_eq!(got.currency.as_deref(), Some("EUR"));
        assert_eq!(got.seller.as_deref(), Some("shoe-outlet-88"));
        assert_eq!(
            got.images,
            ["https://m.example/img/a.jpg", "https://cdn.example/b.jpg"]
        );
    }

    #[test]
    fn aggregate_offer_low_price_and_image_string() {
        let html = r#"<script type="application/ld+json">[{"@type":"Product","name":"X",
            "image":"//cdn.example/x.png","offers":{"@type":"AggregateOffer","lowPrice":9,"highPrice":12,"priceCurrency":"USD"}}]</script>"#;
        let got = listing(html, &page(), None).listing;
        assert_eq!(got.price, Some(9.0));
        assert_eq!(got.images, ["https://cdn.example/x.png"]);
    }

    #[test]
    fn microdata_then_opengraph_fill_what_is_missing() {
        let html = r#"<html><head>
            <meta property="og:title" content="OG title">
            <meta property="og:image" content="https://cdn.example/og.jpg">
            <meta property="product:price:currency" content="GBP"></head><body>
            <div itemscope itemtype="https://schema.org/Product">
              <h1 itemprop="name">Micro <b>title</b></h1>
              <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
                <span itemprop="price" content="12.00">£12</span>
                <div itemprop="seller" itemscope itemtype="https://schema.org/Organization">
                  <span itemprop="name">trail-gear</span></div>
              </div>
            </div></body></html>"#;
        let extracted = listing(html, &page(), None);
        let got = extracted.listing;
        assert_eq!(got.title.as_deref(), Some("Micro title"));
        assert_eq!(got.price, Some(12.0));
        assert_eq!(got.seller.as_deref(), Some("trail-gear"));
        assert_eq!(got.currency.as_deref(), Some("GBP"));
        assert_eq!(got.images, ["https://cdn.example/og.jpg"]);
        assert!(extracted
            .sources
            .contains(&"currency: opengraph".to_string()));
    }

    #[test]
    fn broken_json_ld_is_a_warning_not_a_failure() {
        let html = r#"<script type="application/ld+json">{"@type":"Product", "name": </script>
            <meta property="og:title" content="Fallback">"#;
        let extracted = listing(html, &page(), None);
        assert_eq!(extracted.listing.title.as_deref(), Some("Fallback"));
        assert!(extracted.warnings[0].contains("JSON-LD"));
    }
}
