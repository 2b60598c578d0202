//! Photo matching on real photographs that knockoff's generator did not
//! make, fetched by `.ci/run`: Vendure's demo catalogue (products on real
//! backgrounds, by Unsplash photographers; `npm pack`) in the folder
//! `KNOCKOFF_REAL_PHOTOS` names — the development set — and a held-out set
//! nothing was tuned on (Shuup's sample catalogue and scikit-image's sample
//! photos; `pip download`) in `KNOCKOFF_REAL_PHOTOS_HELD_OUT`. The tricks
//! must stay found; no other product may match.

use std::path::PathBuf;

use crate::util;

/// The folder `variable` names, else `target/<default>`, when it exists.
fn photos(variable: &str, default: &str, how: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join(default)
        });
    util::have_external(
        &format!("the real photographs in {}", dir.display()),
        dir.is_dir(),
        how,
    )
    .then_some(dir)
}

#[test]
fn real_photographs_are_found_under_the_tricks_and_others_match_nothing() {
    let Some(dir) = photos(
        "KNOCKOFF_REAL_PHOTOS",
        "real-photos",
        "npm pack @vendure/create@3.7.3 and put package/assets/images in target/real-photos",
    ) else {
        return;
    };
    let report = knockoff::eval::photos::evaluate_photos(&dir, 20, None).unwrap();
    let text = knockoff::eval::photos::render_photos(&report);
    for trick in [
        "banner",
        "collage",
        "crop",
        "downscale",
        "mirror",
        "pad",
        "pad onto a real scene",
        "recompress",
        "rotate90",
        "watermark",
    ] {
        let r = report.by_trick[trick];
        assert!(
            r.found * 10 >= r.tried * 9,
            "{trick}: {}/{}\n{text}",
            r.found,
            r.tried
        );
    }
    assert_eq!(report.false_matches, 0, "{text}");
}

#[test]
fn held_out_real_photographs_are_found_under_every_trick_and_others_match_nothing() {
    let Some(dir) = photos(
        "KNOCKOFF_REAL_PHOTOS_HELD_OUT",
        "real-photos-2",
        "pip download shuup==3.1.0 and scikit-image==0.26.0 and copy their sample photos into target/real-photos-2, as .ci/run shows",
    ) else {
        return;
    };
    let report = knockoff::eval::photos::evaluate_photos(&dir, 100, None).unwrap();
    let text = knockoff::eval::photos::render_photos(&report);
    assert!(report.references >= 8, "{text}");
    for (trick, r) in &report.by_trick {
        assert!(
            r.found * 10 >= r.tried * 8,
            "{trick}: {}/{}\n{text}",
            r.found,
            r.tried
        );
    }
    let (found, tried) = report
        .by_trick
        .values()
        .fold((0, 0), |(f, t), r| (f + r.found, t + r.tried));
    assert!(found * 100 >= tried * 97, "{found}/{tried}\n{text}");
    assert_eq!(report.false_matches, 0, "{text}");
}
