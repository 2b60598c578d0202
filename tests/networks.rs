//! Seller networks on the demo marketplace: three accounts per operator on
//! two sites, joined through the contacts their descriptions give away
//! (an email, a phone number spelled two ways, a Telegram handle spelled
//! two ways), beside boilerplate and a look-alike number; `knockoff
//! networks` prints them as its JSON contract says, `knockoff seller` one
//! account.

use knockoff::demo::catalog::{Catalog, Kind, Site};

use crate::util::{self, DemoFixture, Rates};

const RATES: Rates = Rates {
    shopfront: 40.0,
    bazaar: 40.0,
    default: 80.0,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_sharing_contacts_across_marketplaces_are_one_network() {
    let catalog = Catalog::generate(31, 80).with_networks(2);
    let fixture = DemoFixture::start(catalog.clone(), false, RATES).await;
    let workspace = fixture.path();
    // A small marketplace: a value on more than six sellers is boilerplate
    // (the support address reaches nine of the twelve in a crawl).
    util::edit_toml(&workspace.join("knockoff.toml"), |doc| {
        util::set(doc, "networks.boilerplate", 6);
    });
    let (code, _, err) = util::knockoff_outcome(workspace, &["crawl"]);
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = util::knockoff_outcome(workspace, &["networks", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let networks: serde_json::Value = serde_json::from_str(&out).unwrap();
    let networks = networks.as_array().unwrap();
    assert_eq!(networks.len(), 2, "{out}");
    for network in networks {
        assert!(network["id"].as_i64().unwrap() > 0, "{network}");
        let members: Vec<String> = network["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                // The contract's fields, every one.
                for field in ["listings", "matches", "confirmed"] {
                    assert!(m[field].is_u64(), "{m}");
                }
                format!(
                    "{}/{}",
                    m["target"].as_str().unwrap(),
                    m["seller"].as_str().unwrap()
                )
            })
            .collect();
        let k = members[0]
            .split('/')
            .nth(1)
            .and_then(|s| s.strip_prefix("net"))
            .and_then(|s| s.chars().next())
            .unwrap();
        let mut want = vec![
            format!("bazaar/net{k}-b"),
            format!("shopfront/net{k}-a"),
            format!("shopfront/net{k}-c"),
        ];
        want.sort();
        assert_eq!(members, want, "{network}");
        // a–b share the number, b–c the handle.
        let links: Vec<(String, String)> = network["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                assert!(l["members"].as_array().unwrap().len() >= 2, "{l}");
                (
                    l["kind"].as_str().unwrap().to_string(),
                    l["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let number = format!("+4915112{}", 340_000 + k.to_digit(10).unwrap());
        assert!(
            links.contains(&("phone".into(), number.clone())),
            "{links:?}"
        );
        assert!(
            links.contains(&("messenger".into(), format!("telegram:orvane_net{k}"))),
            "{links:?}"
        );
        // Neither the support address (twelve sellers) nor the number a
        // digit off joins anyone.
        assert!(!members.iter().any(|m| m.contains("/shop")), "{members:?}");
    }

    let (code, out, err) = util::knockoff_outcome(workspace, &["networks"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 accounts on 2 marketplace(s)"), "{out}");

    let (code, out, err) = util::knockoff_outcome(workspace, &["seller", "shopfront", "net0-a"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("email     net0.orvane@gmail.com"), "{out}");
    assert!(out.contains("phone     +4915112340000"), "{out}");
    assert!(out.contains("bazaar/net0-b"), "{out}");
    // The look-alike number's seller, wherever the catalogue put it.
    let lookalike_site = match catalog_site(&catalog, "shop12") {
        Site::Shopfront => "shopfront",
        Site::Bazaar => "bazaar",
    };
    let (code, out, err) = util::knockoff_outcome(
        workspace,
        &["seller", lookalike_site, "shop12", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let profile: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(profile["network"].is_null(), "{profile}");
    let (code, _, err) = util::knockoff_outcome(workspace, &["seller", "shopfront", "nobody"]);
    assert_eq!(code, 2);
    assert!(err.contains("no listing of seller `nobody`"), "{err}");

    // A confirmed infringement of one account is on the record of every
    // account of its network when they are judged next.
    let (code, out, err) =
        util::knockoff_outcome(workspace, &["queue", "list", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let queue: serde_json::Value = serde_json::from_str(&out).unwrap();
    let match_of = |seller: &str| {
        queue
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["seller"] == seller)
            .unwrap_or_else(|| panic!("no match of {seller} queued: {queue}"))["id"]
            .as_i64()
            .unwrap()
            .to_string()
    };
    let (a, c) = (match_of("net0-a"), match_of("net0-c"));
    let (code, _, err) = util::knockoff_outcome(workspace, &["queue", "confirm", &a]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = util::knockoff_outcome(workspace, &["index"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = util::knockoff_outcome(workspace, &["explain", &c]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("seller (with its network) has 1 confirmed infringement(s)"),
        "{out}"
    );

    // Account c relists a's listing. Nothing says so while a's listing is
    // on sale; once its takedown is marked removed, the relisting is
    // flagged, linked to it.
    let original = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"].as_i64().unwrap().to_string() == a)
        .unwrap()
        .clone();
    let relisting = |workspace: &std::path::Path| -> serde_json::Value {
        let (code, out, err) =
            util::knockoff_outcome(workspace, &["queue", "list", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let queue: serde_json::Value = serde_json::from_str(&out).unwrap();
        let entry = queue
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["seller"] == "net0-c" && m["title"] == original["title"])
            .cloned();
        entry.unwrap_or_else(|| panic!("the relisting is not queued: {queue}"))
    };
    let rule = |entry: &serde_json::Value| {
        entry["signals"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "relisted")
            .cloned()
            .unwrap_or_else(|| panic!("no relisted rule: {entry}"))
    };
    assert_eq!(rule(&relisting(workspace))["fired"], false);
    for state in ["submitted", "removed"] {
        let (code, _, err) = util::knockoff_outcome(workspace, &["takedown", "mark", state, &a]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = util::knockoff_outcome(workspace, &["index"]);
    assert_eq!(code, 0, "{err}");
    let entry = relisting(workspace);
    let relisted = rule(&entry);
    assert_eq!(relisted["fired"], true, "{entry}");
    let why = relisted["why"].as_str().unwrap();
    let url = original["listing_url"].as_str().unwrap();
    assert!(
        why.starts_with("relisted: the photo and title of listing #") && why.contains(url),
        "{why}"
    );
    assert_eq!(entry["signals"]["relisted"]["url"], url, "{entry}");
    let (code, out, err) =
        util::knockoff_outcome(workspace, &["explain", &entry["id"].to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(why), "{out}");

    // Account b's fair second-hand resale is in no queue, until the
    // network is denied by naming account a.
    let resale = catalog
        .listings
        .iter()
        .find(|l| l.seller == "net0-b" && l.kind == Kind::SecondHand)
        .expect("the demo gives net0-b a second-hand resale");
    let queued_resale = |workspace: &std::path::Path| -> Option<serde_json::Value> {
        let (code, out, err) =
            util::knockoff_outcome(workspace, &["queue", "list", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let queue: serde_json::Value = serde_json::from_str(&out).unwrap();
        queue
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["seller"] == "net0-b" && m["title"] == resale.title.as_str())
            .cloned()
    };
    assert_eq!(queued_resale(workspace), None);
    let products = workspace.join("reference-images/products.toml");
    util::edit_toml(&products, |doc| {
        doc["brand"]["denied_sellers"] =
            toml_edit::value(toml_edit::Array::from_iter(["shopfront/net0-a"]));
    });
    let (code, _, err) = util::knockoff_outcome(workspace, &["index"]);
    assert_eq!(code, 0, "{err}");
    let entry = queued_resale(workspace).expect("the denied network's resale is queued");
    let rules = entry["signals"]["rules"].as_array().unwrap();
    let list = rules.iter().find(|r| r["rule"] == "seller list").unwrap();
    assert_eq!(list["fired"], true, "{entry}");
    assert_eq!(
        list["why"], "seller's network on the deny list (`shopfront/net0-a`)",
        "{entry}"
    );
    // Listing an authorized seller too is a config error, named.
    util::edit_toml(&products, |doc| {
        doc["brand"]["watched_sellers"] =
            toml_edit::value(toml_edit::Array::from_iter(["orvane-official"]));
    });
    let (code, _, err) = util::knockoff_outcome(workspace, &["check"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "products.toml: brand.watched_sellers: `orvane-official` is also in authorized_sellers"
        ),
        "{err}"
    );
}

fn catalog_site(catalog: &Catalog, seller: &str) -> Site {
    catalog
        .listings
        .iter()
        .find(|l| l.seller == seller)
        .map(|l| l.site)
        .unwrap_or_else(|| panic!("no listing of {seller} in the catalogue"))
}
