//! The accuracy harness end to end on the second generator's listings
//! (`knockoff eval --set independent`), which nothing was tuned on: the
//! issue's bars, on a seed other than the one BENCHMARKS.md reports.

#[test]
fn the_independent_set_is_judged_at_the_bar() {
    let report = knockoff::eval::evaluate_independent(99, 100, None).unwrap();
    let text = knockoff::eval::render(&report);
    assert_eq!(report.set, "independent");
    assert_eq!(report.listings, 100);
    assert!(report.true_positives > 30, "{text}");
    assert!(report.false_positives_by_kind.values().sum::<usize>() == report.false_positives);
    assert!(report.precision >= 0.97, "{text}");
    assert!(report.recall >= 0.95, "{text}");
    assert!(report.attribution >= 0.98, "{text}");
}

#[test]
fn eval_names_the_set_and_explains_its_misses() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_knockoff"))
        .args([
            "eval",
            "--set",
            "independent",
            "--seed",
            "3",
            "--listings",
            "40",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("independent set, seed 3: 40 listings, 8 products"),
        "{stdout}"
    );
    assert!(stdout.contains("precision "), "{stdout}");
}
