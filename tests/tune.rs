//! `knockoff tune` on a workspace's own decisions: refuses with too few,
//! fits and reports with enough, and writes `[matching.weights]` that
//! `check` accepts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use knockoff::demo::catalog::Catalog;
use knockoff::matching::score::{self, Weights};
use knockoff::status::Decision;
use knockoff::store::MatchId;

use crate::util;

fn catalog() -> Catalog {
    Catalog::generate(89, 120)
}

/// This team dismisses what sells above a fifth of MSRP.
fn decide_by_price(store: &knockoff::store::Store) {
    let pending = store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap();
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
}

/// Weights whose flags split the pending matches about in half: the
/// default ones with the bias moved (bisection on the stored signals).
fn splitting_weights(store: &knockoff::store::Store) -> Weights {
    let pending = store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap();
    let flagged = |weights: &Weights| pending.iter().filter(|entry| flags(entry, weights)).count();
    let (mut low, mut high) = (-20.0, 20.0);
    let mut weights = Weights::default();
    for _ in 0..60 {
        weights.bias = (low + high) / 2.0;
        if flagged(&weights) * 2 > pending.len() {
            high = weights.bias;
        } else {
            low = weights.bias;
        }
    }
    weights
}

/// Whether `weights` flag a match: identity × infringement ≥ the
/// workspace's threshold (0.5).
fn flags(entry: &knockoff::store::QueueEntry, weights: &Weights) -> bool {
    let signals = entry.signals.as_ref().expect("stored signals");
    signals.identity * score::infringement(signals, weights) >= 0.5
}

/// The name and value of every weight, as `[matching.weights]` keys.
fn weight_keys(weights: &Weights) -> [(&'static str, f64); 7] {
    [
        ("bias", weights.bias),
        ("counterfeit_words", weights.counterfeit_words),
        ("discount", weights.discount),
        ("brand_disguised", weights.brand_disguised),
        ("seller_record", weights.seller_record),
        ("seller_record_step", weights.seller_record_step),
        ("accessory", weights.accessory),
    ]
}

/// A team whose every decision the weights in use already make: no fit
/// can beat them on held-out folds, so `tune --write` refuses (and leaves
/// the file as it was) unless `--force`, which writes a file `check`
/// accepts with every other setting kept. Whether a fit that *does* beat
/// the weights in use is written is `tune::improves`, unit-tested on
/// decisions drawn from known weights.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tune_fits_the_weights_to_the_teams_decisions() {
    let (fixture, _, store) = util::judged_copy("tune 89", catalog).await;
    let (code, _, err) = util::knockoff_outcome(fixture.path(), &["tune"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("tune needs at least 30 decided matches"),
        "{err}"
    );

    let weights = splitting_weights(&store);
    let mut confirmed = 0;
    for entry in store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap()
    {
        let decision = if flags(&entry, &weights) {
            confirmed += 1;
            Decision::Confirm
        } else {
            Decision::Dismiss
        };
        store
            .decide(MatchId(entry.id), decision, "cli:ana", None)
            .unwrap();
    }
    assert!(confirmed >= 10, "{confirmed} confirmed");
    let settings = fixture.path().join("knockoff.toml");
    util::edit_toml(&settings, |doc| {
        for (name, value) in weight_keys(&weights) {
            util::set(doc, &format!("matching.weights.{name}"), value);
        }
    });
    let in_use = std::fs::read_to_string(&settings).unwrap();

    let (code, out, err) = util::knockoff_outcome(fixture.path(), &["tune"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("5-fold cross-validation"), "{out}");
    assert!(
        out.contains("weights in use: precision 1.000  recall 1.000"),
        "{out}"
    );
    assert!(out.contains("the fit gets 0 right"), "{out}");
    assert!(
        out.contains("not written: the fitted weights do no better"),
        "{out}"
    );

    let (code, out, err) = util::knockoff_outcome(fixture.path(), &["tune", "--write"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("do no better on the held-out folds"), "{err}");
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), in_use);

    let (code, out, err) = util::knockoff_outcome(fixture.path(), &["tune", "--write", "--force"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("written to"), "{out}");
    let written = std::fs::read_to_string(&settings).unwrap();
    assert_ne!(written, in_use);
    assert!(written.contains("[matching.weights]"), "{written}");
    assert!(
        written.contains("threshold = 0.5"),
        "the rest is kept:\n{written}"
    );
    let (code, _, err) = util::knockoff_outcome(fixture.path(), &["check"]);
    assert_eq!(code, 0, "{err}");
}

/// The red team ran 80 `tune --write` at once while reading knockoff.toml:
/// a reader saw an empty file thousands of times and `[crawl]` was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_never_show_a_reader_half_a_file_nor_lose_a_setting() {
    let (dir, _, store) = util::judged_copy("tune 89", catalog).await;
    decide_by_price(&store);
    drop(store);
    let settings = dir.path().join("knockoff.toml");
    let original = std::fs::read_to_string(&settings).unwrap();
    assert!(original.contains("[crawl]"));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (settings, done) = (settings.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) {
                let text = std::fs::read_to_string(&settings).unwrap();
                let doc: toml::Table = text
                    .parse()
                    .unwrap_or_else(|e| panic!("a reader saw a broken file ({e}):\n{text}"));
                assert!(doc.contains_key("crawl"), "[crawl] lost:\n{text}");
                reads += 1;
            }
            reads
        })
    };
    let writers: Vec<std::process::Child> = (0..24)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_knockoff"))
                .arg("--workspace")
                .arg(dir.path())
                .args(["tune", "--write", "--force"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for writer in writers {
        let out = writer.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    done.store(true, Ordering::SeqCst);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    let written = std::fs::read_to_string(&settings).unwrap();
    // Every setting kept, the weights added.
    let mut kept: toml::Table = written.parse().unwrap();
    let weights = kept["matching"].as_table_mut().unwrap().remove("weights");
    assert!(weights.is_some(), "{written}");
    assert_eq!(kept, original.parse::<toml::Table>().unwrap());
    let (code, _, err) = util::knockoff_outcome(dir.path(), &["check"]);
    assert_eq!(code, 0, "{err}");
    // No temporary file is left behind.
    let strays: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}

/// On a full disk the write fails, says so, and leaves the file as it was
/// (the red team saw it cut at 4096 bytes, and every command then refused
/// to run). The disk is a 256 KiB tmpfs, filled up.
#[test]
fn a_full_disk_leaves_knockoff_toml_as_it_was() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    if !util::have_external(
        "a tmpfs to fill up (mount, as root)",
        mounted,
        "run as root",
    ) {
        return;
    }
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(mount.path());
    let settings = mount.path().join("knockoff.toml");
    // Two blocks all but full: the weights need a third.
    let head =
        "# our settings\n[crawl]\nuser_agent = \"brand-bot/1.0\"\n[matching]\nthreshold = 0.6\n";
    let original = format!("{head}#{}\n", "-".repeat(8192 - 16 - head.len()));
    std::fs::write(&settings, &original).unwrap();
    // Fill what is left.
    let mut filler = std::fs::File::create(mount.path().join("filler")).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    let _ = std::io::Write::write_all(&mut filler, &[0u8; 1]);
    drop(filler);

    let error = knockoff::tune::write_weights(&settings, &Weights::default()).unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("knockoff.toml") && message.contains("left as it was"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original);
    let strays: Vec<String> = std::fs::read_dir(mount.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}
