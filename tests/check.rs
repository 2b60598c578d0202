//! `knockoff check`: every problem at once, one line each, exit 2.

use crate::util::knockoff;

fn write(dir: &std::path::Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const GOOD_TARGET: &str = r#"
base_url = "https://bazaar.example"
[search]
url = "/s?q={query}&page={page}"
[results]
item = "li"
link = "a@href"
"#;

#[test]
fn a_dozen_broken_configs_each_get_their_one_line_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "knockoff.toml", "[crawl]\ndefault_requests_per_secnd = 2\n[matching]\nthreshold = 1.5\n[server]\nbind = \"localhost\"\n");
    write(d, "targets/a.toml", "[rate]\nrequests_per_second = 1.0\n");
    write(d, "targets/b.toml", "base_url = \"ftp://files.example\"\n");
    write(
        d,
        "targets/c.toml",
        &format!("{GOOD_TARGET}[rate]\nrequests_per_second = \"fast\"\nconcurency = 2\n"),
    );
    write(d, "targets/d.toml", "base_url = \"https://d.example\"\n[search]\nurl = \"/s?q={query}\"\n[results]\nitem = \"li\"\nlink = \"a.title@\"\n");
    write(
        d,
        "targets/e.toml",
        "base_url = \"https://e.example\"\n[item]\ntitle = \"h1[[\"\nprice = \"span.price\"\n",
    );
    write(d, "targets/f.toml", "base_url = \"https://f.example\"\n[search]\nurl = \"/search\"\n[results]\nitem = \"li\"\nlink = \"a@href\"\n");
    write(
        d,
        "targets/g.toml",
        "base_url = \"https://g.example\"\n[rate\nburst = 1\n",
    );
    write(
        d,
        "targets/h.toml",
        "base_url = \"https://h.example\"\n[search]\nurl = \"/s?q={query}\"\n",
    );
    write(
        d,
        "targets/i.toml",
        "name = \"c\"\nbase_url = \"https://i.example\"\n",
    );
    write(
        d,
        "targets/j.toml",
        "base_url = \"https://j.example\"\n[rate]\nrequests_per_second = 0\nburst = 0\n",
    );
    write(
        d,
        "targets/k.toml",
        "base_url = \"https://k.example\"\n[crawl]\nprefilter = 2\nitem_pages = \"some\"\n",
    );
    write(
        d,
        "reference-images/products.toml",
        "[brand]\nname = \"Orvane\"\n\n[[product]]\nid = \"P1\"\nname = \"One\"\nimages = [\"one/missing.jpg\"]\ncurrency = \"dollars\"\n\n[[product]]\nid = \"P1\"\nname = \"Two\"\nmrsp = 10\n",
    );

    let output = knockoff(d, &["check"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let ws = d.display().to_string();
    let expected = [
        "knockoff.toml: crawl.default_requests_per_secnd: unknown key; did you mean `default_requests_per_second`?",
        "knockoff.toml: matching.threshold: must be between 0 and 1, found 1.5",
        "knockoff.toml: server.bind: `localhost` is not an address such as 127.0.0.1:7878",
        "targets/a.toml: base_url: is required but missing",
        "targets/b.toml: base_url: `ftp://files.example` must be an http or https URL with a host",
        "targets/c.toml: rate.requests_per_second: expected a number, found string \"fast\"",
        "targets/c.toml: rate.concurency: unknown key; did you mean `concurrency`?",
        "targets/d.toml: results.link: `@` must be followed by an attribute name such as `@href`, found `@`",
        "targets/e.toml: item.title: `h1[[` is not a valid CSS selector",
        "targets/f.toml: search.url: `/search` must contain `{query}`",
        "targets/g.toml: invalid TOML at line 2",
        "targets/h.toml: results: a target with [search] needs a [results] table: `item` and `link` selectors, or `auto = true`",
        "targets/i.toml: name: target name `c` is already used by",
        "targets/j.toml: rate.requests_per_second: must be between 0.001 and 1000, found 0",
        "targets/j.toml: rate.burst: must be between 1 and 100, found 0",
        "targets/k.toml: crawl.prefilter: must be between 0 and 1, found 2",
        "targets/k.toml: crawl.item_pages: must be \"candidates\" or \"all\", found \"some\"",
        "reference-images/products.toml: product[0].currency: `dollars` is not an ISO 4217 code such as USD or EUR",
        "reference-images/products.toml: product[0].images: `one/missing.jpg` does not exist in reference-images/",
        "reference-images/products.toml: product[1].id: product id `P1` is used twice",
        "reference-images/products.toml: product[1].mrsp: unknown key; did you mean `msrp`?",
    ];
    for line in expected {
        let line = format!("{ws}/{line}");
        assert!(
            stderr.lines().any(|l| l.starts_with(&line)),
            "missing line:\n{line}\nin:\n{stderr}"
        );
    }
    // One line per problem, plus the closing count.
    assert_eq!(stderr.lines().count(), expected.len() + 1, "{stderr}");
    assert!(stderr.ends_with(&format!(
        "{} configuration problem(s); nothing was run\n",
        expected.len()
    )));
}

#[test]
fn absurd_durations_and_rates_are_config_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "knockoff.toml",
        "[crawl]\nrequest_timeout_secs = 1e300\nconnect_timeout_secs = -1\nmax_wait_secs = 1e30\ndefault_requests_per_second = 1e300\n",
    );
    write(
        d,
        "targets/a.toml",
        &format!("{GOOD_TARGET}[rate]\nrequests_per_second = 1e-300\n"),
    );
    write(
        d,
        "reference-images/products.toml",
        "[brand]\nname = \"Orvane\"\n",
    );
    let output = knockoff(d, &["check"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for line in [
        "knockoff.toml: crawl.request_timeout_secs: must be between 0.1 and 3600, found 1e300",
        "knockoff.toml: crawl.connect_timeout_secs: must be between 0.1 and 600, found -1",
        "knockoff.toml: crawl.max_wait_secs: must be between 0 and 86400, found 1e30",
        "knockoff.toml: crawl.default_requests_per_second: must be between 0.001 and 1000, found 1e300",
        "targets/a.toml: rate.requests_per_second: must be between 0.001 and 1000, found 1e-300",
    ] {
        assert!(stderr.contains(line), "missing {line} in:\n{stderr}");
    }
}

#[test]
fn the_repository_root_is_a_valid_workspace() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = knockoff(root, &["check"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout
            .starts_with("ok: knockoff.toml, 2 targets (bazaar, shopfront), 10 products of Orvane"),
        "{stdout}"
    );
}

#[test]
fn unknown_target_and_bad_flags_are_usage_errors() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = knockoff(root, &["listings", "--target", "nosuch"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no target named `nosuch`"));
    assert_eq!(
        knockoff(root, &["listings", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
}

#[cfg(unix)]
#[test]
fn reference_photos_linked_from_outside_the_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "targets/a.toml", GOOD_TARGET);
    write(d, "outside/secret.png", "not for the review UI");
    write(d, "reference-images/inside/real.png", "a photo");
    std::os::unix::fs::symlink(
        d.join("outside/secret.png"),
        d.join("reference-images/leak.png"),
    )
    .unwrap();
    // A link that stays inside the folder is fine.
    std::os::unix::fs::symlink(
        d.join("reference-images/inside/real.png"),
        d.join("reference-images/alias.png"),
    )
    .unwrap();
    write(
        d,
        "reference-images/products.toml",
        "[brand]\nname = \"Orvane\"\n\n[[product]]\nid = \"P1\"\nname = \"One\"\nimages = [\"leak.png\", \"alias.png\"]\n",
    );
    let output = knockoff(d, &["check"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("product[0].images: `leak.png` leads outside reference-images/"),
        "{stderr}"
    );
    assert!(!stderr.contains("alias.png"), "{stderr}");
}
