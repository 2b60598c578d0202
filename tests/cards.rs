//! Listing cards found with no preset and no selectors: on every real
//! search page of shared/realpages under a domain no preset knows, on
//! built pages with what a results page also holds (sponsored blocks,
//! "related" carousels, lazy photos, sale prices, pagination), and on
//! hostile pages (100,000 cards, 200,000 levels deep).

use knockoff::extract::{self, FoundBy};
use url::Url;

use crate::util::{self, realpage as page};

/// The real search pages and the URLs they were saved from.
pub const REAL_SEARCH_PAGES: [(&str, &str); 7] = [
    (
        "ebay_search_parsy-ebayde",
        "https://www.ebay.de/sch/i.html?_nkw=apple",
    ),
    (
        "ebay_search_aql-ebaycom-2020",
        "https://www.ebay.com/sch/i.html?_nkw=batman",
    ),
    (
        "amazon_search_parsy-amazonde",
        "https://www.amazon.de/s?k=cat+food",
    ),
    (
        "amazon_bestsellers_parsy-amazoncom",
        "https://www.amazon.com/gp/bestsellers/hi",
    ),
    (
        "aliexpress_search_aql-2016",
        "https://www.aliexpress.com/wholesale?SearchText=charms",
    ),
    (
        "etsy_search_aql-2021",
        "https://www.etsy.com/search?q=labels",
    ),
    (
        "jd_search_aql-2018",
        "https://search.jd.com/Search?keyword=printer",
    ),
];

/// The cards a page shows, title and price, in page order, read by hand
/// from its HTML (tests/expected/cards/NAME.tsv; an empty price is a card
/// that shows none). eBay.de's results list: the 60 cards of the list
/// itself, not the "Refurbished" carousel placed inside it.
pub fn expected_cards(name: &str) -> Vec<(String, Option<f64>)> {
    let path = format!(
        "{}/tests/expected/cards/{name}.tsv",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|line| {
            let (title, price) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("{path}: {line}"));
            (
                title.to_string(),
                (!price.is_empty()).then(|| price.parse().unwrap()),
            )
        })
        .collect()
}

/// How many of `expected` the cards show exactly (title and price).
pub fn exactly_right(cards: &[extract::Card], expected: &[(String, Option<f64>)]) -> usize {
    expected
        .iter()
        .filter(|(title, price)| {
            cards
                .iter()
                .any(|c| c.title.as_deref() == Some(title.as_str()) && c.price == *price)
        })
        .count()
}

/// The same page under a domain no preset knows.
fn unknown_domain(url: &str) -> Url {
    let mut url = Url::parse(url).unwrap();
    url.set_host(Some("shop-3.example")).unwrap();
    url
}

#[test]
fn every_real_search_page_reads_its_cards_with_no_preset_and_no_selectors() {
    let Some(dir) = util::realpages() else { return };
    for (name, url) in REAL_SEARCH_PAGES {
        let url = unknown_domain(url);
        let found = extract::search_page(&page(&dir, name), &url, None);
        assert_eq!(found.found_by, FoundBy::Automatic);
        let expected = expected_cards(name);
        let right = exactly_right(&found.cards, &expected);
        eprintln!(
            "{name}: {right}/{} cards exactly right, {} read",
            expected.len(),
            found.cards.len()
        );
        // The bar is 90%; every page reads all of them today.
        assert_eq!(right, expected.len(), "{name}: {:#?}", found.cards);
        assert_eq!(found.cards.len(), expected.len(), "{name}: no card more");
        // Each card has its listing's link and (but for two Amazon
        // products) its photo.
        let with_photo = found.cards.iter().filter(|c| c.image.is_some()).count();
        assert!(
            with_photo * 100 >= found.cards.len() * 95,
            "{name}: {with_photo} photos"
        );
        for card in &found.cards {
            assert!(
                card.price.is_none() || card.currency.is_some(),
                "{name}: {card:?}"
            );
        }
    }
}

#[test]
fn the_next_page_is_found_on_real_pages() {
    let Some(dir) = util::realpages() else { return };
    for (name, url, next) in [
        (
            "ebay_search_parsy-ebayde",
            "https://www.ebay.de/sch/i.html?_nkw=apple",
            "_pgn=2",
        ),
        (
            "amazon_search_parsy-amazonde",
            "https://www.amazon.de/s?k=cat+food",
            "page=2",
        ),
        (
            "etsy_search_aql-2021",
            "https://www.etsy.com/search?q=labels",
            "page=2",
        ),
        (
            "aliexpress_search_aql-2016",
            "https://www.aliexpress.com/wholesale?SearchText=charms",
            "page=2",
        ),
    ] {
        let found = extract::search_page(&page(&dir, name), &unknown_domain(url), None);
        let found_next = found.next.unwrap_or_else(|| panic!("{name}: no next page"));
        assert!(found_next.as_str().contains(next), "{name}: {found_next}");
    }
}

/// Card `i` of a built results page: a photo (lazy on most), a linked
/// title, a price (on sale on some: the old price struck through), the
/// seller on some.
fn shop_card(i: usize) -> String {
    let photo = if i.is_multiple_of(3) {
        format!(r#"<img src="/img/p{i}.jpg" alt="">"#)
    } else {
        format!(r#"<img src="data:image/gif;base64,R0lGOD" data-src="/img/p{i}.jpg" alt="">"#)
    };
    let price = if i.is_multiple_of(4) {
        format!(
            r#"<span class="price"><del>€{}.00</del> <ins>€{i}9,90</ins></span>"#,
            i * 10 + 50
        )
    } else {
        format!(r#"<span class="price">€{i}9,90</span>"#)
    };
    format!(
        r#"<div class="product-tile"><a class="tile-media" href="/p/{i}?utm_source=search">{photo}</a>
           <h3 class="tile-name"><a href="/p/{i}">Orvane Tidewatch {i}<span class="visually-hidden"> (opens product)</span></a></h3>
           <div class="tile-prices">{price}<span class="shipping">+ €4,90 Versand</span></div>
           <div class="tile-meta"><a href="/reviews/{i}">12 reviews</a> <span class="seller-name">Shop {i}</span></div></div>"#
    )
}

/// A results page as shops build them: navigation and filters with counts,
/// a sponsored carousel above the results, the results grid in rows, a
/// "customers also viewed" block of product tiles and pagination.
fn built_results_page(cards: usize) -> String {
    let sponsored: String = (100..104)
        .map(|i| format!(r#"<li class="slide"><a href="/p/{i}"><img src="/img/s{i}.jpg"></a><a href="/p/{i}">Sponsored watch {i}</a><span class="price">€ 9,99</span></li>"#))
        .collect();
    let rows: String = (0..cards)
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|row| {
            format!(
                r#"<div class="row">{}</div>"#,
                row.iter()
                    .map(|&i| format!(r#"<div class="col">{}</div>"#, shop_card(i)))
                    .collect::<String>()
            )
        })
        .collect();
    let related: String = (200..206)
        .map(|i| format!(r#"<div class="related-item"><a href="/p/{i}"><img src="/img/r{i}.jpg">Related watch {i}</a><span class="price">€ 19,99</span></div>"#))
        .collect();
    format!(
        r#"<html lang="de"><body><header><nav><a href="/">Home</a><a href="/cart">Cart (€0,00)</a></nav></header>
        <aside class="filters"><ul><li><a href="?brand=orvane">Orvane (24)</a></li><li><a href="?price=0-50">€0 – €50 (12)</a></li></ul></aside>
        <section class="sponsored-carousel"><h2>Sponsored</h2><ul>{sponsored}</ul></section>
        <main><h1>Results for "orvane"</h1><div class="search-results">{rows}</div>
        <nav class="pagination"><a href="?q=orvane&amp;page=1">1</a> <a href="?q=orvane&amp;page=2">2</a> <a href="?q=orvane&amp;page=2" aria-label="Next page">›</a></nav></main>
        <section class="related"><h2>Customers also viewed</h2>{related}</section>
        <footer><a href="/help">Help</a></footer></body></html>"#
    )
}

#[test]
fn sponsored_blocks_related_carousels_and_page_furniture_are_left_out() {
    let url = Url::parse("https://shop-9.example/search?q=orvane").unwrap();
    let found = extract::search_page(&built_results_page(18), &url, None);
    let titles: Vec<&str> = found
        .cards
        .iter()
        .map(|c| c.title.as_deref().unwrap_or(""))
        .collect();
    let want: Vec<String> = (0..18).map(|i| format!("Orvane Tidewatch {i}")).collect();
    assert_eq!(titles, want, "{:#?}", found.cards);
    for (i, card) in found.cards.iter().enumerate() {
        // The link without tracking, the lazy photo rather than its
        // placeholder, the sale price rather than the struck-through one,
        // never the shipping cost; euros in German notation.
        assert_eq!(card.url, format!("https://shop-9.example/p/{i}"));
        assert_eq!(
            card.image.as_deref(),
            Some(format!("https://shop-9.example/img/p{i}.jpg").as_str())
        );
        assert_eq!(card.price, Some(i as f64 * 10.0 + 9.9), "{card:?}");
        assert_eq!(card.currency.as_deref(), Some("EUR"));
        assert_eq!(card.seller.as_deref(), Some(format!("Shop {i}").as_str()));
    }
    assert_eq!(
        found.next.map(String::from).as_deref(),
        Some("https://shop-9.example/search?q=orvane&page=2")
    );
}

/// eBay's gallery layout (2025: `li.s-card.s-card--vertical`, its photo
/// and title linked by `a.s-card__link`, the title beside "Opens in a new
/// window or tab" for screen readers), built after public descriptions of
/// it: the preset reads it, and so does the automatic reading.
fn ebay_gallery_page() -> String {
    let cards: String = (0..12)
        .map(|i| {
            let id = 226_612_340_000u64 + i;
            let badge = if i % 5 == 0 { r#"<span class="su-styled-text secondary default">New listing</span>"# } else { "" };
            format!(
                r#"<li class="s-card s-card--vertical" data-listingid="{id}" id="item{id}">
                <div class="su-card-container"><div class="su-card-container__media">
                  <a class="s-card__link image-treatment" href="https://www.ebay.com/itm/{id}?_skw=orvane&amp;hash=item{i}&amp;itmmeta=01J"><img class="s-card__image" src="https://i.ebayimg.com/images/g/{i}/s-l500.webp" alt="Orvane Tidewatch {i}"></a></div>
                <div class="su-card-container__content"><div class="su-card-container__header">
                  <a class="s-card__link" href="https://www.ebay.com/itm/{id}?_skw=orvane&amp;itmmeta=01J"><div role="heading" class="s-card__title">{badge}<span class="su-styled-text primary default">Orvane Tidewatch {i}</span><span class="clipped">Opens in a new window or tab</span></div></a>
                  <div class="s-card__subtitle-row"><div class="s-card__subtitle"><span class="su-styled-text secondary default">Brand New</span></div></div></div>
                <div class="su-card-container__attributes"><div class="su-card-container__attributes__primary">
                  <div class="s-card__attribute-row"><span class="su-styled-text primary bold large-1 s-card__price">${i}5.00</span></div>
                  <div class="s-card__attribute-row"><span class="su-styled-text secondary large">or Best Offer</span></div>
                  <div class="s-card__attribute-row"><span class="su-styled-text secondary large">+$9.95 delivery</span></div></div>
                <div class="su-card-container__attributes__secondary"><span class="su-styled-text primary large">seller{i} 99.1% positive (1.2K)</span></div></div></div></div></li>"#
            )
        })
        .collect();
    format!(
        r#"<html><body><div class="srp-main"><ul class="srp-results srp-grid clearfix">
        <li class="s-card s-card--vertical" data-listingid="1"><div class="su-card-container"><a class="s-card__link image-treatment" href="https://ebay.com/itm/123456?hash=fake"><img class="s-card__image" src="https://ir.ebaystatic.com/rs/v/placeholder.png"></a><div class="s-card__title"><span class="su-styled-text primary default">Shop on eBay</span></div><span class="su-styled-text primary bold large-1 s-card__price">$20.00</span></div></li>
        {cards}</ul>
        <nav class="pagination"><a class="pagination__next icon-link" href="https://www.ebay.com/sch/i.html?_nkw=orvane&amp;_pgn=2">Next</a></nav></div></body></html>"#
    )
}

#[test]
fn ebays_gallery_layout_reads_with_the_preset_and_without() {
    let workspace = tempfile::tempdir().unwrap();
    let url = Url::parse("https://www.ebay.com/sch/i.html?_nkw=orvane&_ipg=60").unwrap();
    let preset = knockoff::presets::for_url(&url).unwrap();
    let target = knockoff::config::preset_target(workspace.path(), preset, &url).unwrap();
    let html = ebay_gallery_page();
    let by_preset = extract::search_page(&html, &url, target.results.as_ref());
    assert_eq!(by_preset.found_by, FoundBy::Selectors);
    let automatic = extract::search_page(&html, &unknown_domain(url.as_str()), None);
    for (how, found) in [("preset", &by_preset), ("automatic", &automatic)] {
        let real: Vec<&extract::Card> = found
            .cards
            .iter()
            .filter(|c| c.title.as_deref() != Some("Shop on eBay"))
            .collect();
        assert_eq!(real.len(), 12, "{how}: {:#?}", found.cards);
        for (i, card) in real.iter().enumerate() {
            let id = 226_612_340_000u64 + i as u64;
            assert_eq!(card.url, format!("https://www.ebay.com/itm/{id}"), "{how}");
            assert_eq!(
                card.title.as_deref(),
                Some(format!("Orvane Tidewatch {i}").as_str()),
                "{how}"
            );
            assert_eq!(card.price, Some(i as f64 * 10.0 + 5.0), "{how}");
            assert_eq!(card.currency.as_deref(), Some("USD"), "{how}");
            assert_eq!(
                card.image.as_deref(),
                Some(format!("https://i.ebayimg.com/images/g/{i}/s-l500.webp").as_str()),
                "{how}"
            );
        }
        assert!(
            found
                .next
                .as_ref()
                .is_some_and(|n| n.as_str().ends_with("_pgn=2")),
            "{how}: {:?}",
            found.next
        );
    }
}

#[test]
fn a_preset_that_finds_nothing_falls_back_to_the_automatic_reading() {
    let workspace = tempfile::tempdir().unwrap();
    // A marketplace that changed its markup under the preset's feet: the
    // built shop page under eBay's domain.
    let url = Url::parse("https://www.ebay.com/sch/i.html?_nkw=orvane").unwrap();
    let preset = knockoff::presets::for_url(&url).unwrap();
    let target = knockoff::config::preset_target(workspace.path(), preset, &url).unwrap();
    let html = built_results_page(8).replace("/p/", "/itm/");
    let found = extract::search_page(&html, &url, target.results.as_ref());
    assert_eq!(found.found_by, FoundBy::SelectorsMissed);
    assert_eq!(found.cards.len(), 8, "{:#?}", found.cards);
    assert_eq!(found.cards[0].url, "https://www.ebay.com/itm/0");
}

#[test]
fn a_hundred_thousand_cards_and_a_page_two_hundred_thousand_deep_stay_bounded() {
    let url = Url::parse("https://shop-9.example/search?q=x").unwrap();
    let flood: String = (0..100_000)
        .map(|i| format!(r#"<li class="c"><a href="/p/{i}"><img src="/i/{i}.jpg">Watch {i}</a><b>${i}.99</b></li>"#))
        .collect();
    let found = extract::search_page(&format!("<ul>{flood}</ul>"), &url, None);
    assert_eq!(found.cards.len(), extract::MAX_CARDS_PER_PAGE);
    assert!(found.truncated);
    assert_eq!(found.cards[0].title.as_deref(), Some("Watch 0"));
    assert_eq!(found.cards[0].price, Some(0.99));

    let deep = format!(
        "<ul>{}</ul>{}",
        (0..5)
            .map(|i| format!(r#"<li><a href="/p/{i}">Watch {i}</a> <span>$1{i}.00</span></li>"#))
            .collect::<String>(),
        "<div>".repeat(200_000)
    );
    let found = extract::search_page(&deep, &url, None);
    assert_eq!(found.cards.len(), 5, "{:#?}", found.cards);
}

/// A listing as a crawl stored it: its path, whether only its card was
/// read, its title, price and number of photos.
type Seen = (String, bool, Option<String>, Option<f64>, usize);

/// The demo shopfront (plain HTML, cards showing title, price and photo)
/// crawled three ways: with its selectors, with `[results] auto = true`
/// and nothing else, and with selectors that no longer find anything.
/// The two without working selectors store the same card listings as the
/// one with them; the broken one says so in its run summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_reads_cards_automatically_as_it_reads_them_with_selectors() {
    use knockoff::crawl::CrawlOptions;
    use knockoff::demo::catalog::Catalog;
    use knockoff::demo::SiteOptions;
    use knockoff::store::Stage;

    let catalog = Catalog::generate(21, 30);
    let rates = util::Rates {
        shopfront: 40.0,
        bazaar: 40.0,
        default: 80.0,
    };
    let mut cards = Vec::new();
    for how in ["selectors", "auto", "broken"] {
        let options = SiteOptions {
            faults: false,
            page_size: 24,
            ..Default::default()
        };
        let fixture = util::DemoFixture::start_with(catalog.clone(), options, rates).await;
        let file = fixture.path().join("targets/shopfront.toml");
        match how {
            "auto" => util::edit_toml(&file, |doc| {
                for key in ["item", "link", "title", "price", "image"] {
                    util::remove(doc, &format!("results.{key}"));
                }
                util::set(doc, "results.auto", true);
            }),
            "broken" => util::edit_toml(&file, |doc| {
                util::set(doc, "results.item", "div.search-hit");
            }),
            _ => {}
        }
        let options = CrawlOptions {
            targets: vec!["shopfront".into()],
            ..Default::default()
        };
        let (store, summary) = util::crawl_workspace(fixture.path(), options).await;
        fixture.assert_polite();
        let warning = knockoff::crawl::run_warning(&summary).unwrap_or_default();
        let warned = warning.contains("selectors (or preset) need a look");
        assert_eq!(
            warned,
            how == "broken",
            "{how}: {warning} {:?}",
            summary.errors
        );
        // Every listing, as its card showed it or (for the cards the judge
        // picked) as its item page did.
        let mut found: Vec<Seen> = store
            .listings(Some("shopfront"))
            .unwrap()
            .into_iter()
            .map(|l| {
                let card = l.stage == Stage::Card;
                let photos = l.listing.images.len();
                // Each run's marketplace listens on its own port.
                let path = url::Url::parse(&l.url).unwrap().path().to_string();
                (path, card, l.listing.title, l.listing.price, photos)
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let card_only = found.iter().filter(|l| l.1).count();
        assert!(found.len() >= 8 && card_only > 0, "{how}: {found:#?}");
        cards.push((how, found));
    }
    let (_, with_selectors) = &cards[0];
    for (how, found) in &cards[1..] {
        assert_eq!(found, with_selectors, "{how}");
    }
}

/// `target add` with a search page of a site no preset knows (the demo
/// shopfront on loopback): the page is fetched as a crawl fetches
/// (robots.txt first), its cards are shown, and the target written finds
/// them automatically and passes `check`. A page without cards writes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_add_reads_a_new_sites_search_page_and_writes_an_automatic_target() {
    use knockoff::demo::catalog::Catalog;
    use knockoff::demo::site::Host;

    let rates = util::Rates {
        shopfront: 40.0,
        bazaar: 40.0,
        default: 80.0,
    };
    let fixture = util::DemoFixture::start(Catalog::generate(21, 30), false, rates).await;
    let workspace = fixture.path();
    std::fs::remove_dir_all(workspace.join("targets")).unwrap();
    let shop = fixture.market.shopfront.clone();
    let search = shop.join("/search?q=orvane+lumen&page=1").unwrap();
    let (code, out, err) = util::knockoff_outcome(workspace, &["target", "add", search.as_str()]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("listing cards on"), "{out}");
    assert!(out.contains("/item/"), "{out}");
    let name = format!("127-0-0-1-{}", shop.port().unwrap());
    let file = workspace.join(format!("targets/{name}.toml"));
    let written: toml::Table = std::fs::read_to_string(&file).unwrap().parse().unwrap();
    assert_eq!(written["results"]["auto"].as_bool(), Some(true));
    assert_eq!(
        written["search"]["url"].as_str(),
        Some("/search?q={query}&page={page}")
    );
    assert_eq!(
        written["search"]["queries"][0].as_str(),
        Some("orvane lumen")
    );
    let requests = fixture.market.log.requests();
    let paths: Vec<&str> = requests
        .iter()
        .filter(|r| r.host == Host::Shopfront)
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(paths.first().copied(), Some("/robots.txt"), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("/search")), "{paths:?}");
    let (code, _, err) = util::knockoff_outcome(workspace, &["check"]);
    assert_eq!(code, 0, "{err}");

    // An item page shows no list of cards: refused, nothing written.
    let item = shop.join("/item/1000").unwrap();
    std::fs::remove_file(&file).unwrap();
    let (code, out, err) = util::knockoff_outcome(
        workspace,
        &["target", "add", item.as_str(), "--query", "1000"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("no listing cards found"), "{err}");
    assert!(!file.exists());
    // An address with no search words in it.
    let (code, _, err) = util::knockoff_outcome(workspace, &["target", "add", shop.as_str()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot tell where the search words are"),
        "{err}"
    );
}
