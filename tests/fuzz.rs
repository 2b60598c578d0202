//! Property tests over hostile input, on stable Rust (proptest): HTML
//! extraction, prices, robots.txt and Retry-After, config files and
//! evidence bundles. Each runs 64 cases in `cargo test`; a CI machine with
//! time runs more with `PROPTEST_CASES=20000 cargo test --test integration fuzz::`.

use std::path::Path;

use knockoff::crawl::fetch::parse_retry_after;
use knockoff::crawl::limiter::{clamped_secs, LONGEST_WAIT};
use knockoff::extract;
use proptest::prelude::*;
use url::Url;

fn config() -> ProptestConfig {
    // PROPTEST_CASES, when set, wins over this default.
    ProptestConfig::with_cases(64)
}

/// Markup-shaped text: tags, attributes, entities, scripts, JSON-LD,
/// control characters and stray brackets, in any order.
fn markup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<div>".to_string()),
        Just("</div>".to_string()),
        Just("<h1 class=t>".to_string()),
        Just("<span class=p>".to_string()),
        Just("<img class=i src=\"/x.jpg\">".to_string()),
        Just("<script type=\"application/ld+json\">".to_string()),
        Just("</script>".to_string()),
        Just("{\"@type\":\"Product\",\"name\":\"".to_string()),
        Just("\"offers\":{\"price\":\"".to_string()),
        Just("<meta property=\"og:title\" content=\"".to_string()),
        Just("<!--".to_string()),
        Just("<script>window.runParams = {data: {t: '".to_string()),
        Just("<script id=\"__NEXT_DATA__\" type=\"application/json\">{\"p\":[".to_string()),
        Just("'}, x: !0, y: undefined, z: [1,2,],};".to_string()),
        Just("{[\"'`\\".to_string()),
        Just("H.A.L.V.A.R.D O R V A N E".to_string()),
        Just("&amp;&#0;&#x110000;".to_string()),
        Just("\u{1b}[2J\u{202e}\u{0}".to_string()),
        "[<>/\"'=a-z0-9 ]{0,12}",
        "\\PC{0,8}",
        "[0-9.,]{1,9}",
    ];
    prop::collection::vec(piece, 0..80).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn extraction_never_panics_and_keeps_its_bounds(html in markup()) {
        let url = Url::parse("https://shop.example/item/1").unwrap();
        let item = knockoff::config::ItemSelectors {
            title: Some(knockoff::config::Selector::parse("h1.t").unwrap()),
            price: Some(knockoff::config::Selector::parse("span.p").unwrap()),
            images: Some(knockoff::config::Selector::parse("img.i@src").unwrap()),
            ..Default::default()
        };
        // Embedded data: a script's object literal and a JSON island.
        let embedded = knockoff::config::ItemSelectors {
            title: Some(knockoff::config::Selector::parse("script:runParams@data.t || script:__NEXT_DATA__@p[0]").unwrap()),
            price: Some(knockoff::config::Selector::parse("script:runParams@$..price").unwrap()),
            images: Some(knockoff::config::Selector::parse("script:__NEXT_DATA__@p[*]").unwrap()),
            ..Default::default()
        };
        for selectors in [None, Some(&item), Some(&embedded)] {
            let listing = extract::listing(&html, &url, selectors).listing;
            for text in [&listing.title, &listing.seller, &listing.description].into_iter().flatten() {
                prop_assert!(!text.chars().any(extract::is_unsafe_char), "{text:?}");
            }
            prop_assert!(listing.title.as_ref().is_none_or(|t| t.chars().count() <= 500));
            prop_assert!(listing.images.len() <= 100);
            prop_assert!(listing.images.iter().all(|i| i.starts_with("http")));
            prop_assert!(listing.price.is_none_or(f64::is_finite));
        }
    }

    #[test]
    fn prices_parse_to_finite_amounts_or_nothing(text in "\\PC{0,40}") {
        if let Some(price) = extract::parse_price(&text) {
            prop_assert!(price.amount.is_finite() && price.amount >= 0.0, "{text:?} → {}", price.amount);
        }
    }

    #[test]
    fn prices_in_shop_formats_parse(whole in 0u32..10_000_000, cents in 0u32..100) {
        let expected = whole as f64 + cents as f64 / 100.0;
        for text in [
            format!("US ${whole}.{cents:02}"),
            format!("{whole},{cents:02} €"),
            format!("EUR {whole}.{cents:02}"),
        ] {
            let price = extract::parse_price(&text).unwrap();
            prop_assert!((price.amount - expected).abs() < 1e-6, "{text} → {}", price.amount);
        }
    }

    #[test]
    fn any_retry_after_is_a_bounded_wait(value in "\\PC{0,30}|[0-9]{1,40}") {
        if let Some(wait) = parse_retry_after(&value) {
            prop_assert!(wait <= LONGEST_WAIT);
        }
    }

    #[test]
    fn any_number_of_seconds_is_a_bounded_duration(secs in any::<f64>()) {
        prop_assert!(clamped_secs(secs) <= LONGEST_WAIT);
    }

    #[test]
    fn robots_txt_of_any_shape_parses_or_is_refused_without_panicking(
        lines in prop::collection::vec(
            prop_oneof![
                Just("User-agent: *".to_string()),
                Just("User-agent: knockoff".to_string()),
                "Disallow: [/*$a-z?=]{0,12}",
                "Allow: [/*$a-z]{0,12}",
                "Crawl-delay: (-?[0-9]{0,40}(\\.[0-9]{0,5})?(e[0-9]{1,3})?|nan|inf|\\PC{0,6})",
                "\\PC{0,20}",
            ],
            0..30,
        )
    ) {
        let body = lines.join("\n");
        if let Ok(robot) = texting_robots::Robot::new("knockoff", body.as_bytes()) {
            let _ = robot.allowed("https://shop.example/a/b?c=d");
            if let Some(delay) = robot.delay {
                prop_assert!(clamped_secs(delay.into()) <= LONGEST_WAIT);
            }
        }
    }

    #[test]
    fn any_config_file_loads_or_is_reported(
        settings in "(\\[(crawl|matching|server|schedule)\\]\n)?([a-z_]{1,24} = (\"\\PC{0,12}\"|-?[0-9]{1,30}(\\.[0-9]{1,5})?(e-?[0-9]{1,3})?|true|\\[\\]))\n{0,6}",
        target in "(base_url = \"\\PC{0,20}\"\n)?(\\[rate\\]\nrequests_per_second = -?[0-9]{1,20}(e-?[0-9]{1,3})?\n)?",
    ) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "knockoff.toml", &settings);
        write(dir.path(), "targets/t.toml", &target);
        write(dir.path(), "reference-images/products.toml", "[brand]\nname = \"Orvane\"\n");
        if let Err(errors) = knockoff::config::load(dir.path()) {
            prop_assert!(!errors.to_string().is_empty());
        }
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small zip of `files` (name, bytes).
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, bytes) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_and_any_damaged_zip_fail_verification_without_panicking(
        noise in prop::collection::vec(any::<u8>(), 0..2048),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.zip");
        std::fs::write(&path, &noise).unwrap();
        prop_assert!(knockoff::evidence::verify(&path, None).is_err());
        let manifest = br#"{"format_version":1,"match_id":1,"files":[]}"#;
        let mut zip = zip_of(&[("manifest.json", manifest), ("page.html", b"<h1>x</h1>")]);
        for (at, byte) in flips {
            let i = at.index(zip.len());
            zip[i] ^= byte | 1;
        }
        std::fs::write(&path, &zip).unwrap();
        prop_assert!(knockoff::evidence::verify(&path, None).is_err());
    }
}

proptest! {
    #![proptest_config(config())]

    /// Words (spelled-out letters joined included) are read from any text
    /// without a panic, each as written in it.
    #[test]
    fn normalising_any_text_keeps_each_word_as_written(text in "([A-Za-z0-9]{1,3}[ .\\-_@é€]{0,2}|\\PC{0,3}){0,40}") {
        for word in knockoff::matching::text::normalise(&text) {
            prop_assert!(text.contains(&word.raw), "{:?} not in {text:?}", word.raw);
            prop_assert!(!word.norm.is_empty());
        }
    }
}
