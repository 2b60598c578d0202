//! Prints, per listing of a seeded demo catalogue, the closest reference
//! views of the true product and of the closest other product: the data
//! image thresholds are tuned from. `cargo run --release --example image_distances -- SEED N`

use knockoff::demo::catalog::{Catalog, PhotoSource};
use knockoff::matching::image::{distance, layout_distance, listing_prints, reference_prints, WORK_SIDE};

fn main() {
    let mut args = std::env::args().skip(1);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let catalog = Catalog::generate(seed, n);
    let references: Vec<(usize, Vec<_>)> = (0..catalog.products.len())
        .flat_map(|p| (0..2).map(move |v| (p, v)))
        .map(|(p, v)| {
            let photo = catalog.reference_photo(p, v);
            let small = image::imageops::thumbnail(&photo, 192, 192);
            (p, reference_prints(&small))
        })
        .collect();
    for listing in &catalog.listings {
        let photo = &listing.photos[0];
        let bytes = catalog.listing_photo(photo);
        let (_, small) = knockoff::photo::decode_small(&bytes, 1 << 30, WORK_SIDE).unwrap();
        let prints = listing_prints(&small);
        // Per product: best (score, p, d, layout, desc)
        let mut best: Vec<Option<(f32, u32, u32, f32, String)>> = vec![None; catalog.products.len()];
        for (product, refs) in &references {
            for lp in &prints {
                for (variant, rp) in refs {
                    let p = distance(lp.phash, rp.phash);
                    let d = distance(lp.dhash, rp.dhash);
                    if p > 22 || d > 26 { continue; }
                    let l = layout_distance(lp, rp);
                    let score = p as f32 + d as f32 * 0.5 + l / 3.0;
                    if best[*product].as_ref().is_none_or(|b| score < b.0) {
                        best[*product] = Some((score, p, d, l, format!("{:?}/{}~{variant}", lp.region, lp.trimmed)));
                    }
                }
            }
        }
        let source = match &photo.source { PhotoSource::Reference { .. } => "ref", PhotoSource::Own { .. } => "own" };
        let transform = photo.transform.as_ref().map(|t| t.name()).unwrap_or("-");
        let truth = listing.product.unwrap_or(99);
        let fmt = |b: &Option<(f32, u32, u32, f32, String)>| match b { Some((_, p, d, l, desc)) => format!("{p}\t{d}\t{l:.1}\t{desc}"), None => "99\t99\t999\tnone".into() };
        let other = best.iter().enumerate().filter(|(i, _)| *i != truth).filter_map(|(_, b)| b.clone()).min_by(|a, b| a.0.total_cmp(&b.0));
        println!("{}\t{}\t{}\t{}\t{}\t{}", listing.id, listing.kind.name(), source, transform, fmt(&best.get(truth).cloned().flatten()), fmt(&other));
    }
}
