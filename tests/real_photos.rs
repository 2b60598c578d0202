//! Photo matching on real photographs that knockoff's generator did not
//! make (Vendure's demo catalogue: products on real backgrounds, by
//! Unsplash photographers), fetched by `.ci/run` with `npm pack` into the
//! folder `KNOCKOFF_REAL_PHOTOS` names. The tricks the hash path handles
//! must stay found; no other product may match.

use std::path::PathBuf;

use crate::util;

fn photos() -> Option<PathBuf> {
    let dir = std::env::var_os("KNOCKOFF_REAL_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/real-photos"));
    util::have_external(
        "the real product photographs",
        dir.is_dir(),
        "npm pack @vendure/create@3.7.3 and put package/assets/images in target/real-photos",
    )
    .then_some(dir)
}

#[test]
fn real_photographs_are_found_under_the_tricks_and_others_match_nothing() {
    let Some(dir) = photos() else { return };
    let report = knockoff::eval::photos::evaluate_photos(&dir, 20).unwrap();
    let text = knockoff::eval::photos::render_photos(&report);
    for trick in [
        "banner",
        "collage",
        "downscale",
        "mirror",
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
