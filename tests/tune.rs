//! `knockoff tune` on a workspace's own decisions: refuses with too few,
//! fits and reports with enough, and writes `[matching.weights]` that
//! `check` accepts.

use knockoff::demo::catalog::Catalog;
use knockoff::status::Decision;
use knockoff::status::MatchStatus;
use knockoff::store::MatchId;

use crate::util;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tune_fits_the_weights_to_the_teams_decisions() {
    let (fixture, _, store) = util::judged_workspace(Catalog::generate(89, 120)).await;
    let (code, _, err) = util::knockoff_outcome(fixture.path(), &["tune"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("tune needs at least 30 decided matches"),
        "{err}"
    );

    // This team dismisses what sells above a fifth of MSRP.
    let pending = store.queue(Some(MatchStatus::Pending)).unwrap();
    assert!(pending.len() >= 30, "{} pending", pending.len());
    for entry in &pending {
        let price = entry.signals.as_ref().and_then(|s| s.price.as_ref());
        let ratio = price.map_or(1.0, |p| p.ratio);
        let decision = if ratio < 0.2 {
            Decision::Confirm
        } else {
            Decision::Dismiss
        };
        store
            .decide(MatchId(entry.id), decision, "cli:ana", None)
            .unwrap();
    }
    let (code, out, err) = util::knockoff_outcome(fixture.path(), &["tune"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("5-fold cross-validation"), "{out}");
    assert!(out.contains("fitted weights: precision"), "{out}");
    assert!(out.contains("not written"), "{out}");
    let settings = std::fs::read_to_string(fixture.path().join("knockoff.toml")).unwrap();
    assert!(!settings.contains("[matching.weights]"));

    let (code, out, err) = util::knockoff_outcome(fixture.path(), &["tune", "--write"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("written to"), "{out}");
    let settings = std::fs::read_to_string(fixture.path().join("knockoff.toml")).unwrap();
    assert!(settings.contains("[matching.weights]"), "{settings}");
    assert!(
        settings.contains("threshold = 0.5"),
        "the rest is kept:\n{settings}"
    );
    let (code, _, err) = util::knockoff_outcome(fixture.path(), &["check"]);
    assert_eq!(code, 0, "{err}");
}
