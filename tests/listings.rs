//! `knockoff listings`: the contract fields in JSON, CSV and table form.

use knockoff::crawl::CrawlOptions;
use knockoff::demo::catalog::Catalog;

use crate::util::{self, DemoFixture, Rates};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_print_every_contract_field_in_every_format() {
    let fixture = DemoFixture::start(
        Catalog::generate(21, 12),
        false,
        Rates {
            shopfront: 10.0,
            bazaar: 10.0,
            default: 20.0,
        },
    )
    .await;
    let (store, _) = util::crawl_workspace(fixture.path(), CrawlOptions::default()).await;
    fixture.assert_polite();
    let n_stored = store.listings(None).unwrap().len();
    let n_shopfront = store.listings(Some("shopfront")).unwrap().len();
    drop(store);

    let output = util::knockoff(fixture.path(), &["listings", "--format", "json"]);
    assert!(output.status.success());
    let listings: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listings.len(), n_stored);
    for listing in &listings {
        for field in [
            "url",
            "target",
            "title",
            "price",
            "currency",
            "seller",
            "description",
            "images",
            "first_seen",
            "last_seen",
        ] {
            assert!(
                listing.get(field).is_some(),
                "{field} missing from {listing}"
            );
        }
        // The id `explain --listing` takes.
        assert!(listing["id"].as_i64().is_some_and(|id| id > 0), "{listing}");
        assert!(listing["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.as_str().unwrap().starts_with("http://127.0.0.1:")));
        assert!(
            chrono::DateTime::parse_from_rfc3339(listing["first_seen"].as_str().unwrap()).is_ok()
        );
    }

    let output = util::knockoff(
        fixture.path(),
        &["listings", "--target", "shopfront", "--format", "csv"],
    );
    let csv = String::from_utf8(output.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("url,target,title,price,currency,seller,description,images,first_seen,last_seen,id")
    );
    assert_eq!(csv.matches(",shopfront,").count(), n_shopfront);

    let output = util::knockoff(fixture.path(), &["listings"]);
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.trim_start().starts_with("ID TARGET"), "{table}");
    let first = &listings[0];
    let row = format!(
        "{:>6} {:<10}",
        first["id"],
        first["target"].as_str().unwrap()
    );
    assert!(table.contains(&row), "{row} not in {table}");
    assert!(table.ends_with(&format!("{n_stored} listings\n")));
}

/// `knockoff … | head`: the reader goes away before the command writes.
/// It ends quietly (exit 0), never with a panic or "Broken pipe".
#[test]
fn output_to_a_closed_pipe_ends_the_command_quietly() {
    let dir = util::workspace_with_target(
        "name = \"site\"\nbase_url = \"https://shop.example\"\n[rate]\nrequests_per_second = 1.0\n",
    );
    let page = dir.path().join("page.html");
    std::fs::write(&page, "<h1>Orvane Thing</h1><span>$12.00</span>").unwrap();
    let page = page.to_str().unwrap();
    for args in [
        vec!["listings"],
        vec!["listings", "--format", "json"],
        vec!["queue", "list", "--format", "csv"],
        vec!["target", "list"],
        vec!["extract", page, "--url", "https://shop.example/1"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_knockoff"))
            .arg("--workspace")
            .arg(dir.path())
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
    }
}
