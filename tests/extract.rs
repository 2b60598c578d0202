//! Extraction from real marketplace pages (shared/realpages): zero-config on
//! sites with structured data, the ready-made Amazon target on sites without,
//! and the `extract` command.

use knockoff::config;
use knockoff::extract::{self, Listing};
use url::Url;

use crate::util::{self, realpage as page};

/// (page, title start, price, currency, seller, first image)
type AmazonCase = (
    &'static str,
    &'static str,
    Option<f64>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

fn zero_config(html: &str, url: &str) -> Listing {
    extract::listing(html, &Url::parse(url).unwrap(), None).listing
}

#[test]
fn structured_data_pages_need_no_selectors() {
    let Some(dir) = util::realpages() else { return };

    let etsy = zero_config(
        &page(&dir, "msshop_etsy"),
        "https://www.etsy.com/es/listing/1",
    );
    assert!(etsy
        .title
        .as_deref()
        .unwrap()
        .starts_with("EL original he y hay calabaza / decoración de otoño"));
    assert_eq!(
        (etsy.price, etsy.currency.as_deref()),
        (Some(43.9), Some("EUR"))
    );
    assert_eq!(
        etsy.images[0],
        "https://i.etsystatic.com/12418300/r/il/da5710/2446305498/il_fullxfull.2446305498_opq0.jpg"
    );
    assert!(
        etsy.description
            .unwrap()
            .contains("felpudo \"hey there pumpkin\""),
        "entities decoded"
    );

    let overstock = zero_config(
        &page(&dir, "msshop_overstock"),
        "https://www.overstock.com/x",
    );
    assert_eq!(
        overstock.title.as_deref(),
        Some("Certified International Elegance Canape Plates, Set of 6")
    );
    assert_eq!(
        (overstock.price, overstock.currency.as_deref()),
        (Some(31.49), Some("USD"))
    );
    assert_eq!(
        overstock.images[0],
        "https://ak1.ostkcdn.com/images/products/29099468/Certified-International-Elegance-Canape-Plates-Set-of-6-e7e197f7-64de-4314-9fb2-428da58b5aa1.jpg"
    );

    let wayfair = zero_config(&page(&dir, "msshop_wayfair"), "https://www.wayfair.com/x");
    assert_eq!(
        wayfair.title.as_deref(),
        Some("Penhook 20.47'' Wide Armchair")
    );
    assert_eq!(
        (wayfair.price, wayfair.currency.as_deref()),
        (Some(111.99), Some("USD"))
    );
    assert_eq!(wayfair.images[0], "https://secure.img1-fg.wfcdn.com/im/97173909/compr-r85/2779/27792084/penhook-2047-wide-armchair.jpg");

    let costco = zero_config(&page(&dir, "msshop_costco"), "https://www.costco.com/x");
    assert_eq!(
        costco.title.as_deref(),
        Some("AFA Stainless 33-inch Sink and Semi Pro Faucet Combo")
    );
    assert_eq!(
        (costco.price, costco.currency.as_deref()),
        (Some(329.99), Some("USD"))
    );
    assert_eq!(
        costco.images[0],
        "https://images.costco-static.com/ImageDelivery/imageService?profileId=12026540&imageId=100432602-847__1&recipeName=350"
    );

    // Amazon publishes nothing structured. Without its preset (a URL that
    // is not Amazon's), the generic reading finds the product's heading
    // among the page's several <h1>s and the price after it.
    let amazon = extract::listing(
        &page(&dir, "msshop_amazon"),
        &Url::parse("https://shop.example/dp/X").unwrap(),
        None,
    );
    assert!(amazon
        .listing
        .title
        .as_deref()
        .unwrap()
        .starts_with("Modern LED Wall Sconce Lighting Fixture Lamps 7W"));
    assert_eq!(
        (amazon.listing.price, amazon.listing.currency.as_deref()),
        (Some(29.99), Some("USD"))
    );
    assert!(amazon.sources.contains(&"price: generic".to_string()));
}

#[test]
fn the_amazon_preset_extracts_amazon_pages_of_every_locale() {
    let Some(dir) = util::realpages() else { return };
    let cases: [AmazonCase; 5] = [
        ("metascraper_amazon-com_product-url", "The Whole Truth (A. Shaw Book 1)", Some(10.99), Some("USD"), None,
            "https://m.media-amazon.com/images/W/MEDIAX_792452-T2/images/I/91c7gvGFyvL._SL1500_.jpg"),
        ("metascraper_amazon-co-uk_product-url", "Vegetable Perfection: 100 delicious recipes", Some(4.45), Some("GBP"), Some("Goldstone-Books"),
            "https://m.media-amazon.com/images/I/91EpHNSPFnL._SL1500_.jpg"),
        // Out of stock when saved: no price on the page.
        ("metascraper_amazon-es_product-url", "Cecotec Robot Limpiacristales Windroid 880", None, None, None,
            "https://m.media-amazon.com/images/I/81lde+541vL._AC_SL1500_.jpg"),
        ("msshop_amazon", "Modern LED Wall Sconce Lighting Fixture Lamps 7W", Some(29.99), Some("USD"), Some("Direct ChangM"),
            "https://images-na.ssl-images-amazon.com/images/I/71mo6NjnxaL._AC_SL1500_.jpg"),
        ("msshop_amazon-gorilla", "Gorilla Black Duct Tape, 1.88\" x 12 yd, Black, (Pack of 2)", Some(12.48), Some("USD"), None,
            "https://m.media-amazon.com/images/I/91WVWYPWe5L._AC_SL1500_.jpg"),
    ];
    let workspace = tempfile::tempdir().unwrap();
    for (name, title, price, currency, seller, image) in cases {
        // The preset comes from the domain, whatever the locale.
        let domain = match name {
            "metascraper_amazon-co-uk_product-url" => "amazon.co.uk",
            "metascraper_amazon-es_product-url" => "amazon.es",
            _ => "amazon.com",
        };
        let url = Url::parse(&format!("https://www.{domain}/dp/X")).unwrap();
        let preset = knockoff::presets::for_url(&url).expect("amazon is a preset");
        let target = config::preset_target(workspace.path(), preset, &url).unwrap();
        let got = extract::listing(&page(&dir, name), &url, Some(&target.item)).listing;
        assert!(
            got.title.as_deref().unwrap_or_default().starts_with(title),
            "{name}: {:?}",
            got.title
        );
        assert_eq!(
            (got.price, got.currency.as_deref(), got.seller.as_deref()),
            (price, currency, seller),
            "{name}"
        );
        assert_eq!(
            got.images.first().map(String::as_str),
            Some(image),
            "{name}"
        );
    }
}

#[test]
fn the_extract_command_prints_the_listing_fields_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("listing.html");
    std::fs::write(
        &file,
        r#"<script type="application/ld+json">{"@type":"Product","name":"Orvane Tidewatch <b>AAA</b>","image":"/w.jpg",
           "offers":{"price":"59.00","priceCurrency":"USD","seller":{"name":"luxe-deals-88"}}}</script>"#,
    )
    .unwrap();
    let json = util::extract_json(dir.path(), &file, "https://bazaar.example/l/1");
    assert_eq!(json["url"], "https://bazaar.example/l/1");
    assert_eq!(json["title"], "Orvane Tidewatch <b>AAA</b>");
    assert_eq!(json["price"], 59.0);
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["seller"], "luxe-deals-88");
    assert_eq!(
        json["images"],
        serde_json::json!(["https://bazaar.example/w.jpg"])
    );
    assert_eq!(json["sources"][0], "title: json-ld");

    let missing = util::knockoff(dir.path(), &["extract", "nope.html"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("reading nope.html"));
}

#[test]
fn every_real_page_is_read_whole_within_the_parse_budget() {
    let Some(dir) = util::realpages() else { return };
    let mut pages = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".html.gz") else {
            continue;
        };
        let html = page(&dir, stem);
        let url = Url::parse("https://shop.example/item/1").unwrap();
        let warnings = extract::listing(&html, &url, None).warnings;
        assert!(
            !warnings.iter().any(|w| w.contains("nests deeper")),
            "{name}: {warnings:?}"
        );
        pages += 1;
    }
    assert!(pages >= 15, "only {pages} real pages read");
}

#[test]
fn embedded_page_data_is_read_by_script_selectors() {
    // Built the way AliExpress (an object literal in a script, more code
    // after it) and Next.js shops (a JSON island) build their item pages.
    let workspace = util::workspace_with_target(
        r#"name = "site"
base_url = "https://shop.example"

[item]
title = "script:runParams@data.titleModule.subject || script:__NEXT_DATA__@props.pageProps.product.name"
price = "script:runParams@data.priceModule.formatedActivityPrice || script:__NEXT_DATA__@props.pageProps.product.price.display"
seller = "script:runParams@data.storeModule.storeName"
images = "script:runParams@data.imageModule.imagePathList[*] || script:__NEXT_DATA__@props.pageProps.product.images[*].url"
"#,
    );
    let run_params = workspace.path().join("aliexpress.html");
    std::fs::write(
        &run_params,
        r#"<html><body><div id="root"></div><script>
window.runParams = {
  data: {titleModule: {subject: 'Orvane Tidewatch 1:1 "mirror"'}, priceModule: {formatedActivityPrice: 'US $59.50'},
         storeModule: {storeName: "luxe-deals-88"},
         imageModule: {imagePathList: ['https://ae01.example/a.jpg', 'https://ae01.example/b.jpg',]}},
  csrfToken: 'x', isLogin: !1,
};
var loaded = true; if (loaded && window.x) { run("}"); }
</script></body></html>"#,
    )
    .unwrap();
    let next_data = workspace.path().join("next.html");
    std::fs::write(
        &next_data,
        r#"<html><body><script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"product":
{"name":"Orvane Cloudstep 3","price":{"display":"$39.00"},"images":[{"url":"/img/1.jpg"},{"url":"/img/2.jpg"}]}}}}</script></body></html>"#,
    )
    .unwrap();
    let output = util::knockoff(
        workspace.path(),
        &[
            "extract",
            run_params.to_str().unwrap(),
            "--target",
            "site",
            "--url",
            "https://shop.example/item/1.html",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["title"], "Orvane Tidewatch 1:1 \"mirror\"");
    assert_eq!(
        (json["price"].as_f64(), json["currency"].as_str()),
        (Some(59.5), Some("USD"))
    );
    assert_eq!(json["seller"], "luxe-deals-88");
    assert_eq!(
        json["images"],
        serde_json::json!(["https://ae01.example/a.jpg", "https://ae01.example/b.jpg"])
    );
    let output = util::knockoff(
        workspace.path(),
        &[
            "extract",
            next_data.to_str().unwrap(),
            "--target",
            "site",
            "--url",
            "https://shop.example/p/2",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["title"], "Orvane Cloudstep 3");
    assert_eq!(json["price"], 39.0);
    assert_eq!(
        json["images"],
        serde_json::json!([
            "https://shop.example/img/1.jpg",
            "https://shop.example/img/2.jpg"
        ])
    );
    assert!(json["sources"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("title: selector")));
}

/// Price texts of many shops (price-parser's test suite, collected from a
/// random sample of pages; tests/expected/README.md): the amount each says,
/// or none. 1,013 of 1,019 amounts and every "no price" today; what is
/// left is a three-decimal dinar, a "35€ 99" split by its sign, "Free!"
/// and two ".750.30"-like oddities.
#[test]
fn price_texts_of_many_shops_read_as_their_amounts() {
    let path = format!(
        "{}/tests/expected/price-strings.tsv",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let (mut amounts, mut right, mut wrong) = (0, 0, Vec::new());
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (said, want) = (fields[2], fields[4]);
        let got = extract::parse_price(said).map(|p| p.amount);
        let want: Option<f64> = (!want.is_empty()).then(|| want.parse().unwrap());
        amounts += usize::from(want.is_some());
        let ok = match (want, got) {
            (Some(w), Some(g)) => (w - g).abs() <= 1e-6 * w.max(1.0),
            (None, None) => true,
            _ => false,
        };
        if ok {
            right += 1;
        } else {
            wrong.push(format!("{said:?}: {want:?}, read {got:?}"));
        }
    }
    let total = text.lines().count();
    eprintln!("{right}/{total} price texts read right ({amounts} with an amount)");
    assert!(
        right * 1000 >= total * 993,
        "{right}/{total}:\n{}",
        wrong.join("\n")
    );
}
