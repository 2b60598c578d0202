//! The built-in marketplace presets on real search results pages
//! (shared/realpages), chosen by the page's domain; `target add` and
//! `extract --url` through the binary.

use knockoff::{config, extract, presets};
use url::Url;

use crate::util::{self, realpage as page};

/// A real search page: (file, URL it was saved from, preset, cards on the
/// page, first card: title start, price, currency, image URL).
type SearchPage = (
    &'static str,
    &'static str,
    &'static str,
    usize,
    &'static str,
    f64,
    &'static str,
    &'static str,
);

/// Counted and read by hand from each page's HTML.
const PAGES: [SearchPage; 7] = [
    // 60 in the list and 4 more in the "Refurbished" carousel inside it.
    ("ebay_search_parsy-ebayde", "https://www.ebay.de/sch/i.html?_nkw=apple", "ebay", 64,
        "3x 2m Ladekabel NYLON für Original iPhone 6 7 8 11 12 X XS XR Pro Max USB Apple", 10.79, "EUR",
        "https://i.ebayimg.com/thumbs/images/g/MMcAAOSwYLBjfqw~/s-l225.webp"),
    ("ebay_search_aql-ebaycom-2020", "https://www.ebay.com/sch/i.html?_nkw=batman", "ebay", 61,
        "Fisher Price Imaginext DC superfriends vehicles Batman motorcycle robin black", 2.23, "USD",
        "https://i.ebayimg.com/thumbs/images/g/xxYAAOSw~ipfAJbm/s-l225.jpg"),
    ("amazon_search_parsy-amazonde", "https://www.amazon.de/s?k=cat+food", "amazon", 60,
        "FELIX Countryside Sensations Dry Cat Food with Beef and Chicken", 2.95, "EUR",
        "https://m.media-amazon.com/images/I/81j2n1ziQcL._AC_UL320_.jpg"),
    ("amazon_bestsellers_parsy-amazoncom", "https://www.amazon.com/gp/bestsellers/hi", "amazon", 30,
        "Ring Video Doorbell - 1080p HD video", 59.99, "USD",
        "https://images-na.ssl-images-amazon.com/images/I/71vtXgJBagL._AC_UL300_SR300,200_.jpg"),
    ("aliexpress_search_aql-2016", "https://www.aliexpress.com/wholesale?SearchText=charms", "aliexpress", 44,
        "Free shipping CT2-06 925 Silver Big Hole Beads Charms fit Pandora Charm", 6.29, "USD",
        "http://g02.a.alicdn.com/kf/HTB1OboFLFXXXXb2XXXXq6xXFXXXm/Free-shipping-CT2-06-925-Silver-Big-Holly-Beads-Charms-fit-Europe-Charm-DIY-Bracelets-necklaces.jpg_220x220.jpg"),
    ("etsy_search_aql-2021", "https://www.etsy.com/search?q=labels", "etsy", 8,
        "LABELS | linen closet organization labels", 15.0, "USD",
        "https://i.etsystatic.com/8401119/r/il/6afbca/2794379592/il_340x270.2794379592_io0a.jpg"),
    ("jd_search_aql-2018", "https://search.jd.com/Search?keyword=printer", "jd", 30,
        "佳能（Canon）iC MF4720w 黑白 激光 多功能无线一体机", 1699.0, "CNY",
        "https://img11.360buyimg.com/n7/jfs/t13456/41/1642242278/213608/e2b985f0/5a250e52N0ce7ae7e.jpg"),
];

#[test]
fn every_preset_reads_the_cards_of_its_real_search_pages() {
    let Some(dir) = util::realpages() else { return };
    let workspace = tempfile::tempdir().unwrap();
    for (name, url, preset_name, count, title, price, currency, image) in PAGES {
        let url = Url::parse(url).unwrap();
        let preset = presets::for_url(&url).unwrap_or_else(|| panic!("{name}: no preset"));
        assert_eq!(preset.name, preset_name, "{name}");
        let target = config::preset_target(workspace.path(), preset, &url).unwrap();
        let cards = extract::cards(&page(&dir, name), &url, target.results.as_ref().unwrap());
        assert_eq!(cards.len(), count, "{name}");
        // Every card read by hand from the page, title and price exact.
        let expected = crate::cards::expected_cards(name);
        let right = crate::cards::exactly_right(&cards, &expected);
        assert!(
            right * 100 >= expected.len() * 95,
            "{name}: {right}/{}",
            expected.len()
        );
        // Title, price and photo on at least 95% of the cards (Amazon
        // shows no price for a product sold in several sizes).
        let complete = cards
            .iter()
            .filter(|c| c.title.is_some() && c.price.is_some() && c.image.is_some())
            .count();
        assert!(complete * 100 >= count * 95, "{name}: {complete}/{count}");
        let first = &cards[0];
        assert!(
            first
                .title
                .as_deref()
                .unwrap_or_default()
                .starts_with(title),
            "{name}: {:?}",
            first.title
        );
        assert_eq!(first.price, Some(price), "{name}");
        assert_eq!(first.currency.as_deref(), Some(currency), "{name}");
        assert_eq!(first.image.as_deref(), Some(image), "{name}");
        // Every card with a price has a currency, and every link is the
        // marketplace's own: the crawl keeps it as the target's listing.
        for card in &cards {
            assert!(
                card.price.is_none() || card.currency.is_some(),
                "{name}: {card:?}"
            );
            let link = Url::parse(&card.url).unwrap();
            assert!(
                target.owns(&link),
                "{name}: {link} is not {}'s",
                target.base_url
            );
        }
    }
}

#[test]
fn aliexpress_and_jd_cards_name_their_sellers() {
    let Some(dir) = util::realpages() else { return };
    let workspace = tempfile::tempdir().unwrap();
    for (name, url, first_seller) in [
        (
            "aliexpress_search_aql-2016",
            "https://www.aliexpress.com/wholesale?SearchText=x",
            "HOMFUL JEWELRY",
        ),
        (
            "jd_search_aql-2018",
            "https://search.jd.com/Search?keyword=x",
            "佳能打印机官方旗舰店",
        ),
    ] {
        let url = Url::parse(url).unwrap();
        let target =
            config::preset_target(workspace.path(), presets::for_url(&url).unwrap(), &url).unwrap();
        let cards = extract::cards(&page(&dir, name), &url, target.results.as_ref().unwrap());
        assert_eq!(cards[0].seller.as_deref(), Some(first_seller), "{name}");
        assert!(cards.iter().all(|c| c.seller.is_some()), "{name}");
    }
}

#[test]
fn extract_chooses_the_preset_from_the_url() {
    let Some(dir) = util::realpages() else { return };
    let workspace = tempfile::tempdir().unwrap();
    let file = workspace.path().join("page.html");
    std::fs::write(&file, page(&dir, "metascraper_amazon-co-uk_product-url")).unwrap();
    let json = util::extract_json(workspace.path(), &file, "https://www.amazon.co.uk/dp/1");
    assert_eq!(json["target"], "amazon");
    assert_eq!(json["price"], 4.45);
    assert_eq!(json["currency"], "GBP");
    // Without a marketplace's domain: zero-config, whose generic reading is
    // all that is left on a page with no structured data.
    let json = util::extract_json(workspace.path(), &file, "https://shop.example/p/1");
    assert_eq!(json["target"], serde_json::Value::Null);
    assert!(json["sources"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("price: generic")));
}

#[test]
fn target_add_writes_a_target_that_check_accepts_and_the_preset_fills() {
    let workspace =
        util::workspace_with_target("name = \"site\"\nbase_url = \"https://shop.example\"\n");
    let output = util::knockoff(workspace.path(), &["target", "add", "https://www.ebay.de"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(workspace.path().join("targets/ebay-de.toml").is_file());
    // Twice: refused, the file kept.
    let again = util::knockoff(workspace.path(), &["target", "add", "https://www.ebay.de"]);
    assert_eq!(again.status.code(), Some(2));
    let check = util::knockoff(workspace.path(), &["check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let config = config::load(workspace.path()).unwrap();
    let target = config.target("ebay-de").unwrap();
    assert_eq!(target.base_url.as_str(), "https://www.ebay.de/");
    assert!(target.results.as_ref().unwrap().card.price.is_some());
    assert!(target.item.price.is_some());
    // An unknown marketplace, and an unknown preset in a target file.
    let unknown = util::knockoff(workspace.path(), &["target", "add", "https://shop.example"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no built-in preset for shop.example")
    );
    std::fs::write(
        workspace.path().join("targets/bad.toml"),
        "name = \"bad\"\npreset = \"ebya\"\nbase_url = \"https://www.ebay.fr\"\n",
    )
    .unwrap();
    let check = util::knockoff(workspace.path(), &["check"]);
    assert_eq!(check.status.code(), Some(2));
    let said = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        said.contains("bad.toml") && said.contains("preset") && said.contains("ebya"),
        "{said}"
    );
    // The red team's URLs: only http(s) sites; no credentials, no trailing
    // dot, never through a symbolic link.
    for url in [
        "ftp://www.ebay.de",
        "ws://www.ebay.de",
        "javascript://www.ebay.de/",
        "file:///etc/passwd",
    ] {
        let refused = util::knockoff(workspace.path(), &["target", "add", url]);
        assert_eq!(refused.status.code(), Some(2), "{url}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("http(s) address"),
            "{url}: {}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
    let added = util::knockoff(
        workspace.path(),
        &[
            "target",
            "add",
            "https://ana:s3cret@www.ebay.co.uk./sch/i.html?q=1",
        ],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let written =
        std::fs::read_to_string(workspace.path().join("targets/ebay-co-uk.toml")).unwrap();
    assert!(
        !written.contains("ana") && !written.contains("s3cret"),
        "{written}"
    );
    assert!(
        written.contains("base_url = \"https://www.ebay.co.uk\"\n"),
        "{written}"
    );
    let outside = tempfile::tempdir().unwrap();
    let aim = outside.path().join("planted.toml");
    std::os::unix::fs::symlink(&aim, workspace.path().join("targets/ebay-it.toml")).unwrap();
    let through = util::knockoff(workspace.path(), &["target", "add", "https://www.ebay.it"]);
    assert_eq!(through.status.code(), Some(2));
    assert!(!aim.exists(), "written through the symbolic link");
    std::fs::remove_file(workspace.path().join("targets/ebay-it.toml")).unwrap();
    std::fs::remove_file(workspace.path().join("targets/bad.toml")).unwrap();
    let check = util::knockoff(workspace.path(), &["check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let list = util::knockoff(workspace.path(), &["target", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    for preset in &presets::PRESETS {
        assert!(listed.contains(preset.name), "{listed}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shopfronts_search_cards_match_its_catalogue() {
    use knockoff::demo::catalog::{Catalog, Site};
    let fixture = util::DemoFixture::start(Catalog::generate(3, 300), false, util::FAST).await;
    let config = config::load(fixture.path()).unwrap();
    let target = config.target("shopfront").unwrap();
    // A product's name, encoded as the crawler encodes {query}.
    let query = fixture.catalog.products[0].name.replace(' ', "%20");
    let url = fixture
        .market
        .shopfront
        .join(&format!("search?q={query}&page=1"))
        .unwrap();
    let html = reqwest::get(url.clone())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cards = extract::cards(&html, &url, target.results.as_ref().unwrap());
    let listed: Vec<_> = fixture
        .catalog
        .listings
        .iter()
        .filter(|l| l.site == Site::Shopfront)
        .collect();
    assert!(
        cards.len() >= 5,
        "{cards:?} from {url}: {}",
        &html[..html.len().min(600)]
    );
    for card in &cards {
        // The sponsored slot's link is a card without a listing behind it.
        let Some(id) = card
            .url
            .split("/item/")
            .nth(1)
            .and_then(|rest| rest.split('?').next().and_then(|id| id.parse::<u32>().ok()))
        else {
            continue;
        };
        let listing = listed
            .iter()
            .find(|l| l.id == id)
            .expect("a catalogue listing");
        assert_eq!(
            card.title.as_deref(),
            Some(listing.title.as_str()),
            "{card:?}"
        );
        assert_eq!(card.price, Some(listing.price), "{card:?}");
        assert_eq!(
            card.currency.as_deref(),
            Some(listing.currency.as_str()),
            "{card:?}"
        );
        assert!(card
            .image
            .as_deref()
            .unwrap()
            .starts_with(fixture.market.cdn.as_str()));
    }
}
