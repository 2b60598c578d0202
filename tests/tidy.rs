//! The invariants ARCHITECTURE.md states that the compiler does not check,
//! checked on the source (in the style of rust-analyzer's tidy test): SQL
//! and the SQLite crate only in `store`, the HTTP client only in the
//! fetcher and the scheduler's webhook, a `//!` header on every module, no
//! dependency cycle between modules or inside one, and judging that does
//! no I/O and reads no clock. Each test's comment says how to see it fail.

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

/// The files whose code names the crate `name` that `allowed` does not
/// admit.
fn offenders(name: &str, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    src()
        .into_iter()
        .filter(|(rel, text)| names(text, &[name]) && !allowed(rel))
        .map(|(rel, _)| rel)
        .collect()
}

/// The paths a Rust source names, as their segments, read from its tokens
/// rather than its text: comments, strings and character literals are left
/// out, and `use` groups are expanded (`use std::{fs, io::Read}` names
/// `std::fs` and `std::io::Read`), so neither a comment that mentions a
/// crate nor a grouped import that hides one fools a rule.
fn paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut tokens: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && at(i + 1) == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r'
            && (at(i + 1) == '"'
                || (at(i + 1) == '#' && at(i + 2) == '#' || at(i + 1) == '#' && at(i + 2) == '"'))
        {
            // A raw string: r"…", r#"…"#, r##"…"##.
            let mut hashes = 0;
            i += 1;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            let closes = |at: usize| {
                chars.get(at) == Some(&'"') && (1..=hashes).all(|k| chars.get(at + k) == Some(&'#'))
            };
            while i < chars.len() && !closes(i) {
                i += 1;
            }
            i += 1 + hashes;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' && at(i + 2) == '\'' {
            i += 3;
        } else if c == '\'' && at(i + 1) == '\\' {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    // Paths: identifiers joined by `::`; inside a `::{` group, each item
    // is the group's prefix followed by the item.
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut groups: Vec<Option<Vec<String>>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut after_separator = false;
    let prefix =
        |groups: &[Option<Vec<String>>]| groups.last().cloned().flatten().unwrap_or_default();
    let flush =
        |current: &mut Vec<String>, groups: &[Option<Vec<String>>], out: &mut Vec<Vec<String>>| {
            if !current.is_empty() {
                let mut full = prefix(groups);
                full.append(current);
                out.push(full);
            }
        };
    for token in tokens {
        let is_ident = token
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if token == "::" {
            after_separator = true;
        } else if token == "{" {
            let group = after_separator.then(|| {
                let mut full = prefix(&groups);
                full.append(&mut current);
                full
            });
            current.clear();
            groups.push(group);
            after_separator = false;
        } else if is_ident {
            if !after_separator {
                flush(&mut current, &groups, &mut out);
            }
            current.push(token);
            after_separator = false;
        } else {
            flush(&mut current, &groups, &mut out);
            after_separator = false;
            if token == "}" {
                groups.pop();
            }
        }
    }
    flush(&mut current, &groups, &mut out);
    out
}

/// Whether `code` names a path with `segments` in a row (`["std", "fs"]`
/// matches `std::fs::read` and `use std::{fs}`; `["Instant"]` any path
/// through an `Instant`).
fn names(code: &str, segments: &[&str]) -> bool {
    paths(code).iter().any(|path| {
        path.windows(segments.len())
            .any(|w| w.iter().zip(segments).all(|(a, b)| a == b))
    })
}

/// The rules read tokens: a grouped import is seen, a comment or a string
/// that only mentions a name is not.
#[test]
fn rules_read_paths_not_text() {
    let code = r#"
        use std::{fs, io::{self, Read}};
        // std::net is only mentioned here
        let s = "tokio::spawn";
        let c = '"';
        let t = std::time::Instant::now();
    "#;
    assert!(names(code, &["std", "fs"]));
    assert!(names(code, &["std", "io", "Read"]));
    assert!(names(code, &["std", "io", "self"]));
    assert!(names(code, &["Instant", "now"]));
    assert!(!names(code, &["std", "net"]));
    assert!(!names(code, &["tokio"]));
}

/// The database clients (SQLite's and PostgreSQL's) only under
/// `src/store/`. Fails when, say, `src/judge.rs` gains a `use
/// rusqlite::params`.
#[test]
fn database_clients_only_in_the_store() {
    for client in ["rusqlite", "postgres"] {
        let outside = offenders(client, |rel| rel.starts_with("store/"));
        assert!(
            outside.is_empty(),
            "{client} used outside src/store/: {outside:?}"
        );
    }
}

/// The HTTP client only where politeness is enforced, and in the
/// webhook. Fails when, say, `src/evidence/mod.rs` builds a
/// `reqwest::Client`.
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

/// Every file opens with a `//!` comment saying what it is. Fails when a
/// new file starts with `use`.
#[test]
fn every_module_says_what_it_is_first() {
    let bare: Vec<String> = src()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(rel, _)| rel)
        .collect();
    assert!(bare.is_empty(), "modules without a //! header: {bare:?}");
}

/// Both crate roots forbid unsafe code. Fails when the attribute is
/// dropped from `src/main.rs`.
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

/// No two top-level modules name each other, directly or round about.
/// Fails when, say, `store` gains a `use crate::networks::…` (`networks`
/// reads the store).
#[test]
fn top_level_modules_depend_on_each_other_without_cycles() {
    let graph = module_graph();
    assert!(graph.contains_key("config") && graph.contains_key("store"));
    if let Some(cycle) = cycle_in(&graph) {
        panic!("a dependency cycle: {}", cycle.join(" → "));
    }
}

/// SQL text only under `src/store/`: every statement in one place, so the
/// schema can change (or a second database come) without hunting. Fails
/// when, say, `conn.execute("DELETE FROM listings", [])` appears in
/// `src/crawl/`.
#[test]
fn sql_only_in_the_store() {
    const STATEMENTS: &[&str] = &[
        "SELECT ",
        "INSERT INTO",
        "INSERT OR ",
        "UPDATE ",
        "DELETE FROM",
        "CREATE TABLE",
        "CREATE INDEX",
        "ALTER TABLE",
        "PRAGMA ",
    ];
    let mut found = Vec::new();
    for (rel, text) in src() {
        if rel.starts_with("store/") {
            continue;
        }
        for statement in STATEMENTS {
            for quote in ["\"", "r\"", "r#\""] {
                if text.contains(&format!("{quote}{statement}")) {
                    found.push(format!("{rel}: {quote}{statement}…"));
                }
            }
        }
    }
    assert!(found.is_empty(), "SQL outside src/store/: {found:#?}");
}

/// The first cycle in `graph`, as the path that closes it.
fn cycle_in(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
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
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

/// Inside a module with files of its own (`matching`, `store`, …), which
/// child each child names — `super::x`, or `crate::<module>::x` — in its
/// code (not its comments), outside its unit tests. The parent (`mod.rs`) is left out: it declares its
/// children and may re-export them.
fn child_graphs() -> std::collections::BTreeMap<
    String,
    std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
> {
    let mut graphs: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    > = Default::default();
    for (rel, text) in src() {
        let parts: Vec<&str> = rel.split('/').collect();
        let [parent, file] = parts[..] else { continue };
        let child = file.trim_end_matches(".rs");
        if child == "mod" {
            continue;
        }
        // Code only: a doc link to a sibling is not a dependency on it.
        let code: String = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let names = graphs
            .entry(parent.to_string())
            .or_default()
            .entry(child.to_string())
            .or_default();
        for prefix in ["super::".to_string(), format!("crate::{parent}::")] {
            for (at, _) in code.match_indices(&prefix) {
                let name: String = code[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                let is_child = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("src")
                    .join(parent)
                    .join(format!("{name}.rs"))
                    .is_file();
                if is_child && name != child {
                    names.insert(name);
                }
            }
        }
    }
    graphs
}

/// No two files of one module name each other, directly or round about,
/// as `matching::policy` and `matching::score` once did: what both need
/// belongs in a third. Fails when, say, `matching/verdict.rs` gains a
/// `use super::score::Judge`.
#[test]
fn modules_inside_a_module_depend_on_each_other_without_cycles() {
    let graphs = child_graphs();
    assert!(graphs["matching"]["score"].contains("policy"));
    for (parent, graph) in &graphs {
        if let Some(cycle) = cycle_in(graph) {
            panic!("a dependency cycle inside {parent}: {}", cycle.join(" → "));
        }
    }
}

/// The judging logic is pure, so it is tested and benchmarked without a
/// network, a disk or a clock: `matching`, `status` and `extract` do no
/// I/O, read no clock, and name no other part of knockoff but `words`
/// (how closed sets are declared) and `config` (`extract` reads selectors
/// from it). Held here rather than by a separate crate (see
/// ARCHITECTURE.md, "Why matching is not its own crate"). It fails when
/// one of those modules gains, say, `std::time::Instant::now()` or a
/// `use crate::store::Store`.
#[test]
fn the_judging_logic_does_no_io() {
    const IO: &[&[&str]] = &[
        &["std", "fs"],
        &["std", "net"],
        &["std", "process"],
        &["std", "env"],
        &["File"],
        &["tokio"],
        &["reqwest"],
        &["rusqlite"],
        &["tracing"],
        &["SystemTime"],
        &["Instant"],
        &["Utc", "now"],
        &["Local", "now"],
    ];
    let graph = module_graph();
    let mut found = Vec::new();
    for (rel, text) in src() {
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        if !["matching", "status", "extract"].contains(&top) {
            continue;
        }
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for path in IO.iter().filter(|p| names(code, p)) {
            found.push(format!("{rel} uses {}", path.join("::")));
        }
    }
    for module in ["matching", "status", "extract"] {
        for named in graph.get(module).into_iter().flatten() {
            let allowed = named == "words" || (named == "config" && module == "extract");
            if !allowed {
                found.push(format!("{module} names crate::{named}"));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// README's settings reference is what `config::keys` declares; run with
/// `KNOCKOFF_BLESS=1` to rewrite it after changing a key. Fails when a
/// key's doc in `keys.rs` changes and the README does not.
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
