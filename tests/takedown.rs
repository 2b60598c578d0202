//! Takedowns end to end: confirmed matches from a crawl of the demo
//! marketplace drafted into notices per marketplace with every template,
//! marked submitted, rechecked after the marketplace took some down, and
//! reported. The drafting tests work on copies of one crawled workspace;
//! the recheck needs its marketplace, so it crawls its own.

use knockoff::demo::catalog::Catalog;
use knockoff::status::Decision;
use knockoff::store::{MatchId, QueueEntry, Store, TakedownState};

use crate::queue::demo_id;
use crate::util;

/// Confirms two matches on each marketplace (one per listing); returns them.
fn confirm_two_per_marketplace(store: &Store) -> Vec<QueueEntry> {
    let pending = store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap();
    let mut chosen = Vec::new();
    for target in ["shopfront", "bazaar"] {
        let mut seen = Vec::new();
        for entry in pending.iter().filter(|e| e.target == target) {
            if seen.len() < 2 && !seen.contains(&entry.listing_url) {
                seen.push(entry.listing_url.clone());
                chosen.push(entry.clone());
            }
        }
    }
    assert_eq!(chosen.len(), 4);
    for entry in &chosen {
        store
            .decide(MatchId(entry.id), Decision::Confirm, "rita", None)
            .unwrap();
    }
    chosen
}

fn ids(chosen: &[QueueEntry]) -> Vec<String> {
    chosen.iter().map(|e| e.id.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_match_gets_no_notice() {
    let (dir, _, store) = util::judged_copy("takedown 53", || Catalog::generate(53, 30)).await;
    // A pending match gets no notice.
    let still_pending = store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap()[0]
        .id
        .to_string();
    let (code, _, stderr) =
        util::knockoff_outcome(dir.path(), &["takedown", "draft", &still_pending]);
    assert_eq!(code, 2);
    assert!(stderr.contains("only confirmed matches"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_template_makes_one_notice_per_marketplace_with_its_fields() {
    let (dir, config, store) = util::judged_copy("takedown 53", || Catalog::generate(53, 30)).await;
    let workspace = dir.path();
    let chosen = confirm_two_per_marketplace(&store);
    let ids = ids(&chosen);
    let id_args: Vec<&str> = ids.iter().map(String::as_str).collect();
    // Every template: one notice per marketplace, every listing in it, and
    // the fields that template must carry.
    let brand = &config.catalog.brand;
    let required: [(&str, Vec<&str>); 5] = [
        (
            "generic",
            vec![brand.rights_owner.as_str(), "good-faith belief"],
        ),
        (
            "ebay-vero",
            vec![
                "reason code",
                brand.registrations[0].as_str(),
                "penalty of perjury",
            ],
        ),
        (
            "amazon",
            vec![
                "Type of intellectual property: Trademark",
                brand.registrations[0].as_str(),
                "Counterfeit",
            ],
        ),
        (
            "dmca",
            vec![
                "512(c)(3)",
                "good faith belief",
                "penalty of perjury",
                brand.email.as_str(),
                brand.address.as_str(),
                "/s/",
            ],
        ),
        (
            "eu-dsa",
            vec![
                "Article 16",
                "Exact electronic location",
                "bona fide",
                brand.email.as_str(),
                "Substantiated explanation",
            ],
        ),
    ];
    for (template, fields) in &required {
        let mut args = vec!["takedown", "draft", "--template", template];
        args.extend(&id_args);
        let (code, stdout, stderr) = util::knockoff_outcome(workspace, &args);
        assert_eq!(code, 0, "{stderr}");
        let paths: Vec<&str> = stdout
            .lines()
            .map(|l| l.split("  (").next().unwrap())
            .collect();
        assert_eq!(paths.len(), 2, "one notice per marketplace: {stdout}");
        for path in paths {
            let text = std::fs::read_to_string(path).unwrap();
            let marketplace = if path.contains("-shopfront-") {
                "shopfront"
            } else {
                "bazaar"
            };
            for entry in chosen.iter().filter(|e| e.target == marketplace) {
                assert!(
                    text.contains(&entry.listing_url),
                    "{template}: {}",
                    entry.listing_url
                );
                assert!(
                    text.contains(&format!("bundle-{}.zip", entry.id)),
                    "{template}"
                );
                // The bundle the notice cites exists, verifies, and is the
                // one whose hash the generic notice names.
                let bundle = workspace.join(format!("evidence/bundle-{}.zip", entry.id));
                knockoff::evidence::verify(&bundle, None)
                    .unwrap_or_else(|e| panic!("{template}: {}: {e}", bundle.display()));
                if *template == "generic" {
                    use sha2::Digest;
                    let sha = hex::encode(sha2::Sha256::digest(std::fs::read(&bundle).unwrap()));
                    assert!(text.contains(&sha), "{template}: no {sha}:\n{text}");
                }
            }
            for entry in chosen.iter().filter(|e| e.target != marketplace) {
                assert!(
                    !text.contains(&entry.listing_url),
                    "{template} mixes marketplaces"
                );
            }
            for field in fields {
                assert!(text.contains(field), "{template} lacks {field:?}:\n{text}");
            }
            if *template == "ebay-vero" {
                let first = chosen.iter().find(|e| e.target == marketplace).unwrap();
                assert!(
                    text.contains(&format!("Item {}", demo_id(&first.listing_url))),
                    "{text}"
                );
            }
        }
    }
    assert_eq!(
        store.takedown(MatchId(chosen[0].id)).unwrap(),
        Some(TakedownState::Drafted)
    );
    // Five drafts of the same matches made each bundle once: drafting is
    // takedown tracking, which leaves the bundle current.
    let exports = store
        .audit_log(Some(MatchId(chosen[0].id)))
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "evidence exported")
        .count();
    assert_eq!(exports, 1);
    // The templates are in the workspace, to edit.
    assert!(workspace.join("takedown-templates/dmca.txt").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_takedowns_are_rechecked_and_reported_per_marketplace() {
    let (fixture, _, store) = util::judged_workspace(Catalog::generate(53, 30)).await;
    let workspace = fixture.path();
    let chosen = confirm_two_per_marketplace(&store);
    let ids = ids(&chosen);
    let id_args: Vec<&str> = ids.iter().map(String::as_str).collect();
    // Submitted; then the marketplaces take one listing each down.
    let mut args = vec!["takedown", "mark", "submitted"];
    args.extend(&id_args);
    assert_eq!(util::knockoff_outcome(workspace, &args).0, 0);
    let shopfront = chosen.iter().find(|e| e.target == "shopfront").unwrap();
    let bazaar = chosen.iter().find(|e| e.target == "bazaar").unwrap();
    fixture.market.take_down(demo_id(&shopfront.listing_url));
    fixture.market.take_down(demo_id(&bazaar.listing_url));
    let (code, stdout, stderr) = util::knockoff_outcome(workspace, &["crawl", "--recheck"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("rechecked 4 listing(s)") && stdout.contains("2 removed, 2 still up"),
        "{stdout}"
    );
    for entry in &chosen {
        let expected = if entry.id == shopfront.id || entry.id == bazaar.id {
            TakedownState::Removed
        } else {
            TakedownState::Submitted
        };
        assert_eq!(
            store.takedown(MatchId(entry.id)).unwrap(),
            Some(expected),
            "{}",
            entry.listing_url
        );
    }
    let history = store.audit_log(Some(MatchId(shopfront.id))).unwrap();
    let removal = history.last().unwrap();
    assert_eq!(removal.action, "takedown removed");
    assert!(removal.detail.as_deref().unwrap().contains("HTTP 404"));
    let bazaar_removal = store
        .audit_log(Some(MatchId(bazaar.id)))
        .unwrap()
        .pop()
        .unwrap();
    assert!(bazaar_removal
        .detail
        .unwrap()
        .contains("no longer available"));
    fixture.assert_polite();

    // The report, per marketplace: one removed, one still undecided — all
    // that was decided was accepted.
    let (code, report, _) = util::knockoff_outcome(workspace, &["report", "--format", "json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    for target in ["shopfront", "bazaar"] {
        let line = report["marketplaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["target"] == target)
            .unwrap();
        let figures = ["confirmed", "submitted", "removed", "rejected", "undecided"]
            .map(|f| line[f].as_u64().unwrap());
        assert_eq!(figures, [2, 2, 1, 0, 1], "{line}");
        assert_eq!(line["acceptance_rate"], 1.0, "{line}");
        assert!(
            line["median_days_to_removal"].as_f64().unwrap() < 0.1,
            "{line}"
        );
    }
}
