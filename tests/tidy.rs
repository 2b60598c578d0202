//! The invariants ARCHITECTURE.md states that the compiler does not check,
//! checked on the source (in the style of rust-analyzer's tidy test): SQL
//! and the SQLite crate only in `store`, the HTTP client only in the
//! fetcher and the scheduler's webhook, a `//!` header on every module.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The source files (relative to `src/`, `/`-separated) with their text.
fn src() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    sources(&root)
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The files mentioning `needle` that `allowed` does not admit.
fn offenders(needle: &str, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    src()
        .into_iter()
        .filter(|(rel, text)| text.contains(needle) && !allowed(rel))
        .map(|(rel, _)| rel)
        .collect()
}

#[test]
fn sqlite_only_in_the_store() {
    let outside = offenders("rusqlite", |rel| rel.starts_with("store/"));
    assert!(
        outside.is_empty(),
        "rusqlite used outside src/store/: {outside:?}"
    );
}

#[test]
fn the_http_client_only_in_the_fetcher_and_the_webhook() {
    let outside = offenders("reqwest", |rel| {
        rel == "crawl/fetch.rs" || rel == "schedule.rs"
    });
    assert!(
        outside.is_empty(),
        "reqwest used outside crawl/fetch.rs and schedule.rs: {outside:?}"
    );
}

#[test]
fn every_module_says_what_it_is_first() {
    let bare: Vec<String> = src()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(rel, _)| rel)
        .collect();
    assert!(bare.is_empty(), "modules without a //! header: {bare:?}");
}

#[test]
fn the_crate_forbids_unsafe_code() {
    for root in ["lib.rs", "main.rs"] {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(root))
                .unwrap();
        assert!(text.contains("#![forbid(unsafe_code)]"), "src/{root}");
    }
}

/// Which top-level modules each top-level module names (`crate::x`),
/// outside its unit tests.
fn module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut graph: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (rel, text) in src() {
        let top = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let uses = graph.entry(top.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if name != top && !name.is_empty() {
                uses.insert(name);
            }
        }
    }
    graph
}

#[test]
fn top_level_modules_depend_on_each_other_without_cycles() {
    let graph = module_graph();
    assert!(graph.contains_key("config") && graph.contains_key("store"));
    // Depth-first: a module met again while still on the path closes a cycle.
    fn visit(
        module: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_string());
            return Some(cycle);
        }
        if !done.insert(module.to_string()) {
            return None;
        }
        path.push(module.to_string());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = std::collections::BTreeSet::new();
    for module in graph.keys() {
        let cycle = visit(module, &graph, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "a dependency cycle: {}",
            cycle.unwrap().join(" → ")
        );
    }
}

/// The judging logic is pure, so it is tested and benchmarked without a
/// network or a disk: `matching`, `status` and `extract` do no I/O, and
/// name no other part of knockoff but `config` (`extract` reads
/// selectors from it). Held here rather than by a separate crate (see
/// ARCHITECTURE.md, "Why matching is not its own crate").
#[test]
fn the_judging_logic_does_no_io() {
    const IO: &[&str] = &[
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "File::",
        "tokio",
        "reqwest",
        "rusqlite",
        "tracing::",
    ];
    let graph = module_graph();
    let mut found = Vec::new();
    for (rel, text) in src() {
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        if !["matching", "status", "extract"].contains(&top) {
            continue;
        }
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for needle in IO.iter().filter(|n| code.contains(*n)) {
            found.push(format!("{rel} uses {needle}"));
        }
    }
    for module in ["matching", "status", "extract"] {
        for named in graph.get(module).into_iter().flatten() {
            if named != "config" || module != "extract" {
                found.push(format!("{module} names crate::{named}"));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// README's settings reference is what `config::keys` declares; run with
/// `KNOCKOFF_BLESS=1` to rewrite it after changing a key.
#[test]
fn the_readme_settings_reference_is_generated_from_the_keys() {
    const BEGIN: &str =
        "<!-- settings: generated from src/config/keys.rs; KNOCKOFF_BLESS=1 cargo test updates it -->\n";
    const END: &str = "<!-- settings: end -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(BEGIN).expect("README has the settings markers") + BEGIN.len();
    let end = readme.find(END).expect("README has the end marker");
    let wanted = knockoff::config::keys::reference();
    if readme[start..end] == wanted {
        return;
    }
    if std::env::var_os("KNOCKOFF_BLESS").is_some() {
        let updated = format!("{}{wanted}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "README.md's settings reference is stale: run `KNOCKOFF_BLESS=1 cargo test --test integration readme`"
    );
}
