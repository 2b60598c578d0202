//! Seller networks on the demo marketplace: three accounts per operator on
//! two sites, joined through the contacts their descriptions give away
//! (an email, a phone number spelled two ways, a Telegram handle spelled
//! two ways), beside boilerplate and a look-alike number; `knockoff
//! networks` prints them as its JSON contract says, `knockoff seller` one
//! account.

use knockoff::demo::catalog::{Catalog, Kind, Site};
use knockoff::store::{SessionPolicy, Store};
use reqwest::StatusCode;

use crate::util::{self, DemoFixture, Rates};
use crate::web::{Reviewed, Workspace};

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
    read_networks(workspace);
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
    // Account c's handle is only on its profile page, read once by the crawl.
    let (code, out, err) = util::knockoff_outcome(workspace, &["seller", "shopfront", "net0-c"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("telegram:orvane_net0"), "{out}");
    assert!(!catalog
        .listings
        .iter()
        .any(|l| l.seller == "net0-c" && l.description.contains("orvane_net0")));
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

/// Sets the workspace up to find the demo's networks: a value on more
/// than six sellers is boilerplate on so small a marketplace (the support
/// address reaches nine of the twelve in a crawl; the shopfront's own
/// address every profile page), and the shopfront's sellers' profile pages
/// are read (account c gives its handle away only there).
fn read_networks(workspace: &std::path::Path) {
    util::edit_toml(&workspace.join("knockoff.toml"), |doc| {
        util::set(doc, "networks.boilerplate", 6);
    });
    util::edit_toml(&workspace.join("targets/shopfront.toml"), |doc| {
        doc["item"]["seller_url"] = toml_edit::value(".seller a@href");
    });
}

/// The number `knockoff networks` gives the network of `member` ("target/seller").
fn network_of(workspace: &std::path::Path, member: &str) -> i64 {
    let (code, out, err) = util::knockoff_outcome(workspace, &["networks", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let networks: serde_json::Value = serde_json::from_str(&out).unwrap();
    networks
        .as_array()
        .unwrap()
        .iter()
        .find(|n| {
            n["members"].as_array().unwrap().iter().any(|m| {
                format!(
                    "{}/{}",
                    m["target"].as_str().unwrap(),
                    m["seller"].as_str().unwrap()
                ) == member
            })
        })
        .unwrap_or_else(|| panic!("{member} is in no network: {out}"))["id"]
        .as_i64()
        .unwrap()
}

/// A network's dossier: signed, verified like a bundle, every link's
/// listings captured, one changed byte named; in the review UI, the
/// network page (graph, accounts, links), the network on match cards, the
/// contacts on the match page, and confirming a network's pending matches
/// at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_has_a_dossier_a_page_and_bulk_actions() {
    let catalog = Catalog::generate(31, 80).with_networks(2);
    let fixture = DemoFixture::start(catalog, false, RATES).await;
    let workspace = fixture.path().to_path_buf();
    read_networks(&workspace);
    let (code, _, err) = util::knockoff_outcome(&workspace, &["crawl"]);
    assert_eq!(code, 0, "{err}");
    let id = network_of(&workspace, "shopfront/net0-a");

    let (code, out, err) =
        util::knockoff_outcome(&workspace, &["evidence", "dossier", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    let dossier = std::path::PathBuf::from(out.trim());
    assert_eq!(
        dossier,
        workspace.join(format!("evidence/network-{id}.zip"))
    );
    let (code, out, err) = util::knockoff_outcome(
        &workspace,
        &["evidence", "verify", dossier.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("seller network #{id} (3 accounts,")),
        "{out}"
    );
    let files = util::zip_entries(&dossier);
    let file = |name: &str| -> &[u8] {
        &files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name} in the dossier"))
            .1
    };
    let manifest: serde_json::Value = serde_json::from_slice(file("manifest.json")).unwrap();
    assert_eq!(manifest["network_id"], id);
    // Every link's listings are captured, page and WARC.
    for link in manifest["links"].as_array().unwrap() {
        for listing in link["listings"].as_array().unwrap() {
            let page = format!("listings/{listing}/page.html");
            assert!(!file(&page).is_empty(), "{page}");
            assert!(!file(&format!("listings/{listing}/listing.warc.gz")).is_empty());
        }
    }
    // Account c's profile page, whose bio links it, is captured too.
    let profile = manifest["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["seller"] == "net0-c")
        .unwrap_or_else(|| panic!("no profile page of net0-c: {manifest}"));
    let page = String::from_utf8_lossy(file(profile["page"].as_str().unwrap()));
    assert!(page.contains("t.me/orvane_net0"), "{page}");
    assert!(!file(profile["warc"].as_str().unwrap()).is_empty());
    let report = String::from_utf8(file("report.html").to_vec()).unwrap();
    assert!(
        report.contains("+4915112340000"),
        "the shared number is in the report"
    );
    let victim = files
        .iter()
        .position(|(n, _)| n.ends_with("/page.html"))
        .unwrap();
    let mut changed = files.clone();
    let middle = changed[victim].1.len() / 2;
    changed[victim].1[middle] ^= 1;
    let tampered = workspace.join("tampered.zip");
    util::write_zip(&tampered, &changed);
    let (code, _, err) = util::knockoff_outcome(
        &workspace,
        &["evidence", "verify", tampered.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("`{}` differs", changed[victim].0)),
        "{err}"
    );
    let (code, _, err) = util::knockoff_outcome(&workspace, &["evidence", "dossier", "999999"]);
    assert_eq!(code, 2);
    assert!(err.contains("there is no seller network #999999"), "{err}");

    // The review UI.
    let config = knockoff::config::load(&workspace).unwrap();
    let store = std::sync::Arc::new(Store::open(&config.db_path()).unwrap());
    let ui = Reviewed::serve(
        Workspace::Live(Box::new(fixture)),
        config,
        store,
        SessionPolicy::default(),
        |_| {},
    )
    .await;
    let (rita, csrf) = ui.session("rita").await;
    let (status, page) = ui.get(&format!("/network/{id}"), &rita).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!(
            "Seller network #{id}: 3 accounts on 2 marketplaces"
        )),
        "{page}"
    );
    assert!(
        page.contains("<svg class=\"network\""),
        "the graph is drawn"
    );
    assert!(
        page.contains("net0-b") && page.contains("telegram:orvane_net0"),
        "{page}"
    );
    let (status, _) = ui.get("/network/999999", &rita).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let pending: Vec<i64> = ui
        .store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap()
        .iter()
        .filter(|e| e.seller.as_deref().is_some_and(|s| s.starts_with("net0-")))
        .map(|e| e.id)
        .collect();
    assert!(!pending.is_empty());
    // Every card of the network's accounts names the network.
    let (_, card) = ui.get(&format!("/match/{}", pending[0]), &rita).await;
    assert!(
        card.contains(&format!(
            "network #{id}: 3 accounts on 2 marketplaces, 0 confirmed"
        )),
        "{card}"
    );
    assert!(card.contains("Contacts the listing gives away"), "{card}");
    // A viewer may not act on a network.
    let (vic, vic_csrf) = ui.session("vic").await;
    assert_eq!(
        ui.post(
            &format!("/network/{id}/confirm"),
            &vic,
            &[("csrf", &vic_csrf)]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ui.post(
            &format!("/network/{id}/confirm"),
            &rita,
            &[("csrf", &csrf), ("note", "one operator"), ("back", "/")]
        )
        .await,
        StatusCode::SEE_OTHER
    );
    for m in &pending {
        assert_eq!(
            ui.status_of(*m),
            knockoff::status::MatchStatus::Confirmed,
            "match {m}"
        );
    }
    // Matches of other sellers stay pending.
    assert!(!ui.pending_ids().is_empty());
    let (_, card) = ui.get(&format!("/match/{}", pending[0]), &rita).await;
    assert!(
        card.contains(&format!(
            "network #{id}: 3 accounts on 2 marketplaces, {} confirmed",
            pending.len()
        )),
        "{card}"
    );
    let response = Reviewed::client()
        .post(format!("{}/network/{id}/dossier", ui.base))
        .header("cookie", &rita)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let saved = workspace.join("downloaded.zip");
    std::fs::write(&saved, response.bytes().await.unwrap()).unwrap();
    let verified = knockoff::evidence::verify(&saved, None).unwrap();
    match verified.manifest {
        knockoff::evidence::Signed::Network(d) => {
            assert_eq!(d.confirmed.len(), pending.len());
            assert!(d
                .confirmed
                .iter()
                .all(|m| m.decisions.iter().any(|d| d.actor == "rita")));
        }
        other => panic!("the dossier verified as {other:?}"),
    }
}

fn catalog_site(catalog: &Catalog, seller: &str) -> Site {
    catalog
        .listings
        .iter()
        .find(|l| l.seller == seller)
        .map(|l| l.site)
        .unwrap_or_else(|| panic!("no listing of {seller} in the catalogue"))
}
