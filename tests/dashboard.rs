//! The team's picture and the team itself: `report` (every format) and
//! `/dashboard` against counts computed here from the queue, accounts
//! managed on the command line ending live sessions, decisions naming
//! their person, the review list's orders, escalated queue and undo.

use std::collections::BTreeMap;

use knockoff::status::{Decision, MatchStatus};
use knockoff::store::{MatchId, SessionPolicy, TakedownState};
use reqwest::StatusCode;
use serde_json::Value;

use crate::util;
use crate::web::Reviewed;

/// Per marketplace, as counted here from the queue itself:
/// [matches, pending, confirmed, dismissed, submitted, removed, rejected].
fn counted(ui: &Reviewed) -> BTreeMap<String, [u64; 7]> {
    let mut counts: BTreeMap<String, [u64; 7]> = BTreeMap::new();
    for entry in ui.store.queue(knockoff::status::StatusFilter::All).unwrap() {
        let c = counts.entry(entry.target.clone()).or_default();
        c[0] += 1;
        c[match entry.status {
            MatchStatus::Pending => 1,
            MatchStatus::Confirmed => 2,
            MatchStatus::Dismissed => 3,
        }] += 1;
        match ui.store.takedown(MatchId(entry.id)).unwrap() {
            Some(TakedownState::Submitted) => c[4] += 1,
            Some(TakedownState::Removed) => {
                c[4] += 1;
                c[5] += 1
            }
            Some(TakedownState::Rejected) => {
                c[4] += 1;
                c[6] += 1
            }
            _ => {}
        }
    }
    counts
}

/// Decides a spread of matches on two marketplaces and moves their
/// takedowns on: confirmed by two people, one dismissed, one escalated;
/// takedowns submitted, removed, rejected and left undecided.
fn decide_a_spread(ui: &Reviewed) {
    let pending = ui
        .store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap();
    let mut by_target: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for entry in &pending {
        by_target.entry(&entry.target).or_default().push(entry.id);
    }
    assert!(by_target.len() >= 2, "two marketplaces: {by_target:?}");
    for (n, ids) in by_target.values().enumerate() {
        assert!(ids.len() >= 6, "{ids:?}");
        let who = if n == 0 { "ana" } else { "rita" };
        for &id in &ids[..4] {
            ui.store
                .decide(MatchId(id), Decision::Confirm, who, None)
                .unwrap();
        }
        ui.store
            .decide(MatchId(ids[4]), Decision::Dismiss, who, Some("genuine"))
            .unwrap();
        assert!(ui.store.escalate(MatchId(ids[5]), who, None).unwrap());
        let states = [
            TakedownState::Submitted,
            TakedownState::Removed,
            TakedownState::Rejected,
        ];
        for (k, state) in states.iter().enumerate() {
            let id = MatchId(ids[k]);
            ui.store
                .set_takedown(id, TakedownState::Submitted, who, "")
                .unwrap();
            if *state != TakedownState::Submitted {
                ui.store.set_takedown(id, *state, who, "").unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_and_the_dashboard_agree_with_the_queue() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    decide_a_spread(&ui);
    let expected = counted(&ui);
    let listings: BTreeMap<String, u64> =
        ui.store
            .listings(None)
            .unwrap()
            .iter()
            .fold(BTreeMap::new(), |mut m, l| {
                *m.entry(l.target.clone()).or_default() += 1;
                m
            });

    // The command line's JSON, per marketplace, is the queue's count.
    let workspace = ui.workspace.path();
    let (code, json, err) = util::knockoff_outcome(workspace, &["report", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&json).unwrap();
    let marketplaces = report["marketplaces"].as_array().unwrap();
    assert_eq!(marketplaces.len(), expected.len());
    for m in marketplaces {
        let target = m["target"].as_str().unwrap();
        let fields = [
            "matches",
            "pending",
            "confirmed",
            "dismissed",
            "submitted",
            "removed",
            "rejected",
        ]
        .map(|f| m[f].as_u64().unwrap());
        assert_eq!(fields, expected[target], "{target}: {m}");
        assert_eq!(m["listings"].as_u64(), Some(listings[target]), "{target}");
        // One removed, one rejected, one still undecided: half accepted,
        // and the undecided one is no failure.
        assert_eq!(m["undecided"], 1, "{m}");
        assert_eq!(m["acceptance_rate"], 0.5, "{m}");
        assert!(m["median_days_to_removal"].as_f64().unwrap() < 0.1, "{m}");
        assert_eq!(m["escalated"], 1, "{m}");
    }
    // The weekly series adds up to the same totals (everything happened
    // this week), and each reviewer's decisions are theirs.
    let weeks = report["weeks"].as_array().unwrap();
    let sum = |field: &str| {
        weeks
            .iter()
            .map(|w| w[field].as_u64().unwrap())
            .sum::<u64>()
    };
    let total = |i: usize| expected.values().map(|c| c[i]).sum::<u64>();
    assert_eq!(sum("queued"), total(0));
    assert_eq!(sum("confirmed"), total(2));
    assert_eq!(sum("removed"), total(5));
    assert_eq!(sum("listings"), listings.values().sum::<u64>());
    let reviewers: Vec<(String, u64, u64, u64)> = report["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reviewer"].as_str().unwrap().to_string(),
                r["confirmed"].as_u64().unwrap(),
                r["dismissed"].as_u64().unwrap(),
                r["escalated"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reviewers,
        [("ana".to_string(), 4, 1, 1), ("rita".to_string(), 4, 1, 1)]
    );
    assert_eq!(report["backlog"]["pending"].as_u64(), Some(total(1)));

    // A period before anything happened is empty; CSV and the table carry
    // the same lines.
    let (_, old, _) = util::knockoff_outcome(
        workspace,
        &["report", "--format", "json", "--until", "2020-01-01"],
    );
    let old: Value = serde_json::from_str(&old).unwrap();
    assert_eq!(old["marketplaces"], serde_json::json!([]));
    let (_, csv, _) = util::knockoff_outcome(workspace, &["report", "--format", "csv"]);
    let first: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let target = first[0];
    assert_eq!(first[5], expected[target][2].to_string(), "{csv}");
    assert_eq!(first[12], "0.500", "{csv}");
    let (_, table, _) = util::knockoff_outcome(workspace, &["report"]);
    let line = table.lines().find(|l| l.starts_with(target)).unwrap();
    assert!(line.contains(" 50% "), "{line}");
    let (code, _, err) = util::knockoff_outcome(
        workspace,
        &["report", "--since", "2026-02-01", "--until", "2026-01-01"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--since 2026-02-01 is after --until 2026-01-01"),
        "{err}"
    );
    let (code, _, err) = util::knockoff_outcome(workspace, &["report", "--target", "nowhere"]);
    assert_eq!(code, 2);
    assert!(err.contains("no target named `nowhere`"), "{err}");

    // The dashboard draws the same figures.
    let vic = ui.sign_in("vic").await;
    let (status, page) = ui.get("/dashboard?since=", &vic).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.matches("role=\"img\"").count() >= 6, "charts drawn");
    for (target, c) in &expected {
        let row = format!(
            "<td>{target}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>1</td><td>50%</td>",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6]
        );
        assert!(page.contains(&row), "{row} in the funnel table");
    }
    assert!(
        page.contains(" · ana: 6</title>"),
        "each reviewer's week is drawn"
    );
    let downloaded: Value =
        serde_json::from_str(&ui.get("/report?format=json", &vic).await.1).unwrap();
    assert_eq!(downloaded["marketplaces"], report["marketplaces"]);
    let (status, _) = ui.get("/dashboard?since=yesterday", &vic).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Filtered to one marketplace, only its line.
    let (_, one) = ui
        .get(&format!("/dashboard?since=&target={target}"), &vic)
        .await;
    assert_eq!(one.matches("<tr><td>").count(), 1, "one marketplace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_managed_and_a_removed_or_demoted_account_is_signed_out_at_once() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let workspace = ui.workspace.path();
    let rita = ui.sign_in("rita").await;
    let vic = ui.sign_in("vic").await;
    assert_eq!(ui.get("/", &rita).await.0, StatusCode::OK);
    assert_eq!(ui.get("/", &vic).await.0, StatusCode::OK);

    let (code, list, _) = util::knockoff_outcome(workspace, &["user", "list", "--format", "json"]);
    assert_eq!(code, 0);
    let accounts: Value = serde_json::from_str(&list).unwrap();
    let names: Vec<(&str, &str, u64)> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["role"].as_str().unwrap(),
                a["sessions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("ana", "admin", 0),
            ("rita", "reviewer", 1),
            ("vic", "viewer", 1)
        ]
    );

    let (code, out, err) =
        util::knockoff_outcome(workspace, &["--by", "ana", "user", "remove", "rita"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed rita"), "{out}");
    assert_eq!(
        ui.get("/", &rita).await.0,
        StatusCode::SEE_OTHER,
        "the removed account's session ended"
    );
    let (code, _, err) = util::knockoff_outcome(workspace, &["user", "remove", "rita"]);
    assert_eq!(code, 2);
    assert!(err.contains("no user named `rita`"), "{err}");

    let (code, _, err) = util::knockoff_outcome(
        workspace,
        &["--by", "ana", "user", "role", "vic", "reviewer"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(ui.get("/", &vic).await.0, StatusCode::SEE_OTHER);
    let (code, _, err) = util::knockoff_outcome(workspace, &["user", "role", "ana", "viewer"]);
    assert_eq!(code, 2, "the only admin keeps the role");
    assert!(err.contains("only admin"), "{err}");
    let (code, _, err) = util::knockoff_outcome(workspace, &["user", "role", "vic", "boss"]);
    assert_eq!(code, 2);
    assert!(err.contains("admin, reviewer, viewer"), "{err}");

    let ana = ui.sign_in("ana").await;
    let changed = util::knockoff_with_env(
        workspace,
        &["--by", "ana", "user", "passwd", "ana"],
        &[("KNOCKOFF_PASSWORD", "a new long password")],
    );
    assert!(changed.status.success());
    assert_eq!(ui.get("/", &ana).await.0, StatusCode::SEE_OTHER);

    let audit: Vec<(String, String)> = ui
        .store
        .audit_log(None)
        .unwrap()
        .into_iter()
        .filter(|r| r.actor == "ana" && !r.action.starts_with("sign"))
        .map(|r| (r.action, r.detail.unwrap_or_default()))
        .collect();
    assert_eq!(
        audit,
        [
            (
                "user removed".to_string(),
                "rita (reviewer); 1 session(s) ended".to_string()
            ),
            (
                "role changed".into(),
                "vic: viewer → reviewer; 1 session(s) ended".into()
            ),
            ("password changed".into(), "ana; 1 session(s) ended".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_on_the_command_line_take_several_ids_and_name_the_person() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let workspace = ui.workspace.path();
    let pending = ui.pending_ids();
    let (a, b, c) = (
        pending[0].to_string(),
        pending[1].to_string(),
        pending[2].to_string(),
    );
    let (code, out, err) =
        util::knockoff_outcome(workspace, &["queue", "confirm", &a, &b, "--by", "maria"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let dismissed = util::knockoff_with_env(
        workspace,
        &["queue", "dismiss", &c, "--note", "genuine"],
        &[("KNOCKOFF_USER", "tomas")],
    );
    assert!(dismissed.status.success());
    for (id, who) in [
        (pending[0], "maria"),
        (pending[1], "maria"),
        (pending[2], "tomas"),
    ] {
        let entry = ui.store.review_entry(MatchId(id)).unwrap().unwrap();
        assert_eq!(entry.entry.decided_by.as_deref(), Some(who));
        let last = ui
            .store
            .audit_log(Some(MatchId(id)))
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(last.actor, who);
    }
    let (code, _, err) =
        util::knockoff_outcome(workspace, &["queue", "confirm", "999999", "--by", "maria"]);
    assert_eq!(code, 2);
    assert!(err.contains("999999"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_list_sorts_keeps_escalations_apart_and_undoes_ones_own_decision() {
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let (rita, csrf) = ui.session("rita").await;
    let pending = ui.pending_ids();
    let escalated = pending[0];
    assert!(ui.store.escalate(MatchId(escalated), "rita", None).unwrap());
    let shown = |page: &str| -> Vec<i64> {
        page.split("data-id=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
            .collect()
    };
    let (_, list) = ui.get("/", &rita).await;
    assert!(!shown(&list).contains(&escalated), "pending leaves it out");
    let (_, list) = ui.get("/?status=escalated", &rita).await;
    assert_eq!(shown(&list), [escalated]);

    // Cheapest first, in the grid.
    let (status, grid) = ui.get("/?sort=price&view=grid", &rita).await;
    assert_eq!(status, StatusCode::OK);
    assert!(grid.contains("li class=\"match tile\""), "tiles");
    let price = |id: i64| {
        ui.store
            .review_entry(MatchId(id))
            .unwrap()
            .unwrap()
            .entry
            .price
            .unwrap_or(f64::MAX)
    };
    let prices: Vec<f64> = shown(&grid).into_iter().map(price).collect();
    assert!(prices.len() > 3);
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let (status, _) = ui.get("/?sort=cheapest", &rita).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Confirm, then undo: pending again, both in the audit log; someone
    // else cannot undo it.
    let target = pending[1];
    let form = [("csrf", csrf.as_str()), ("back", "/")];
    ui.post(&format!("/match/{target}/confirm"), &rita, &form)
        .await;
    let (_, list) = ui.get("/", &rita).await;
    assert!(list.contains(&format!("action=\"/match/{target}/undo\"")));
    let (ana, ana_csrf) = ui.session("ana").await;
    let theirs = ui
        .post(
            &format!("/match/{target}/undo"),
            &ana,
            &[("csrf", ana_csrf.as_str())],
        )
        .await;
    assert_eq!(theirs, StatusCode::CONFLICT);
    assert_eq!(
        ui.post(&format!("/match/{target}/undo"), &rita, &form)
            .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(ui.status_of(target), MatchStatus::Pending);
    let actions: Vec<String> = ui
        .store
        .audit_log(Some(MatchId(target)))
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions[actions.len() - 2..], ["confirmed", "undone"]);
    // The match page shows the matched pair large, in words.
    let (_, page) = ui.get(&format!("/match/{target}"), &rita).await;
    assert!(page.contains("figure class=\"pair\""), "the matched pair");
}
