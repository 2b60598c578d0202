//! Shared fixtures: demo workspaces pointed at a live marketplace, small
//! ad-hoc servers, and running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use knockoff::config;
use knockoff::crawl::{self, CrawlOptions, Progress};
use knockoff::demo::site::Host;
use knockoff::demo::{self, Catalog, Marketplace, SiteOptions};
use knockoff::store::{RunSummary, Store};
use url::Url;

/// Rates for a demo workspace: shopfront, bazaar, and the default (image CDN).
#[derive(Clone, Copy)]
pub struct Rates {
    pub shopfront: f64,
    pub bazaar: f64,
    pub default: f64,
}

/// A demo workspace in a temporary folder, crawling a live demo marketplace.
pub struct DemoFixture {
    pub dir: tempfile::TempDir,
    pub market: Marketplace,
    pub catalog: Arc<Catalog>,
    pub rates: Rates,
}

impl DemoFixture {
    /// Starts a marketplace for `catalog` and writes a workspace aimed at it.
    pub async fn start(catalog: Catalog, faults: bool, rates: Rates) -> DemoFixture {
        let options = SiteOptions {
            faults,
            ..Default::default()
        };
        DemoFixture::start_with(catalog, options, rates).await
    }

    /// [`DemoFixture::start`] with the marketplace's every option.
    pub async fn start_with(catalog: Catalog, options: SiteOptions, rates: Rates) -> DemoFixture {
        let catalog = Arc::new(catalog);
        let market = Marketplace::start(catalog.clone(), options).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_demo_workspace(dir.path(), &catalog, &market, &rates);
        DemoFixture {
            dir,
            market,
            catalog,
            rates,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Asserts, from the marketplace's own log, that no host ever got more
    /// than its configured rate in any 1 s window.
    pub fn assert_polite(&self) {
        let log = &self.market.log;
        for (host, rate) in [
            (Host::Shopfront, self.rates.shopfront),
            (Host::Bazaar, self.rates.bazaar),
            (Host::Cdn, self.rates.default),
        ] {
            let busiest = log.busiest_second(host);
            assert!(
                busiest as f64 <= rate,
                "{host:?} got {busiest} requests in one second; its rate is {rate}"
            );
        }
    }
}

/// Writes the demo workspace files with targets pointing at `market`.
pub fn write_demo_workspace(dir: &Path, catalog: &Catalog, market: &Marketplace, rates: &Rates) {
    demo::write_workspace(dir, catalog).unwrap();
    let origin = |url: &Url| url.as_str().trim_end_matches('/').to_string();
    let point = |file: &str, at: &Url, rps: f64| {
        edit_toml(&dir.join(file), |doc| {
            set(doc, "base_url", origin(at));
            let cdn: toml_edit::Array = [origin(&market.cdn)].into_iter().collect();
            set(doc, "private_origins", cdn);
            set(doc, "rate.requests_per_second", rps);
        });
    };
    point("targets/shopfront.toml", &market.shopfront, rates.shopfront);
    point("targets/bazaar.toml", &market.bazaar, rates.bazaar);
    let default = rates.default;
    let settings = dir.join("knockoff.toml");
    let mut doc: toml_edit::DocumentMut =
        std::fs::read_to_string(&settings).unwrap().parse().unwrap();
    set(&mut doc, "crawl.default_requests_per_second", default);
    std::fs::write(settings, doc.to_string()).unwrap();
}

/// Rates for fixtures whose politeness is not what the test is about.
pub const FAST: Rates = Rates {
    shopfront: 10.0,
    bazaar: 10.0,
    default: 20.0,
};

/// A demo workspace crawled from a marketplace serving `catalog` and
/// judged: the fixture (keep it alive), its config and its store.
pub async fn judged_workspace(catalog: Catalog) -> (DemoFixture, config::Config, Arc<Store>) {
    let fixture = DemoFixture::start(catalog, false, FAST).await;
    let (store, _) = crawl_workspace(fixture.path(), CrawlOptions::default()).await;
    let config = config::load(fixture.path()).unwrap();
    let for_judge = (config.clone(), store.clone());
    tokio::task::spawn_blocking(move || {
        knockoff::judge::judge_workspace(&for_judge.0, &for_judge.1).unwrap()
    })
    .await
    .unwrap();
    (fixture, config, store)
}

/// Every file of a workspace (relative path, bytes).
pub type Files = Vec<(std::path::PathBuf, Vec<u8>)>;

/// Crawled and judged workspaces by name, each built once per test process.
static JUDGED: tokio::sync::Mutex<std::collections::BTreeMap<String, Arc<Files>>> =
    tokio::sync::Mutex::const_new(std::collections::BTreeMap::new());

/// A fresh copy of the workspace `name`, crawled from `catalog()` and
/// judged once per test process: for tests that read and decide but do not
/// crawl again (there is no marketplace behind the copy), so one behaviour
/// per test costs a file copy, not a crawl.
pub async fn judged_copy(
    name: &str,
    catalog: impl FnOnce() -> Catalog,
) -> (tempfile::TempDir, config::Config, Arc<Store>) {
    let files = {
        let mut built = JUDGED.lock().await;
        match built.get(name) {
            Some(files) => files.clone(),
            None => {
                let (fixture, _, store) = judged_workspace(catalog()).await;
                // Closing the store checkpoints its log into the database file.
                drop(store);
                let files = Arc::new(files_under(fixture.path()));
                built.insert(name.to_string(), files.clone());
                files
            }
        }
    };
    let dir = restore(&files);
    let config = config::load(dir.path()).unwrap();
    let store = Arc::new(Store::open(&config.db_path()).unwrap());
    (dir, config, store)
}

/// A fresh folder holding `files`.
pub fn restore(files: &Files) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

/// Every file under `root`, read into memory.
pub fn files_under(root: &Path) -> Files {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                files.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    files
}

/// Runs the knockoff binary in `workspace`: (exit code, stdout, stderr).
pub fn knockoff_outcome(workspace: &Path, args: &[&str]) -> (i32, String, String) {
    let out = knockoff(workspace, args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Crawls the workspace in process and returns the store and summary.
pub async fn crawl_workspace(dir: &Path, options: CrawlOptions) -> (Arc<Store>, RunSummary) {
    let config = config::load(dir).unwrap();
    let store = Arc::new(Store::open(&config.db_path()).unwrap());
    let summary = crawl::crawl(&config, store.clone(), &options, Progress::hidden())
        .await
        .unwrap();
    (store, summary)
}

/// Serves `router` on a free loopback port (or on `ip`), returning its base URL.
pub async fn serve(router: Router, ip: &str) -> Url {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

/// Arrival times and paths of requests to an ad-hoc server.
#[derive(Clone, Default)]
pub struct Hits(pub Arc<Mutex<Vec<(Instant, String)>>>);

impl Hits {
    pub fn record(&self, path: &str) {
        self.0
            .lock()
            .unwrap()
            .push((Instant::now(), path.to_string()));
    }

    pub fn paths(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, p)| p.clone())
            .collect()
    }

    pub fn all(&self) -> Vec<(Instant, String)> {
        self.0.lock().unwrap().clone()
    }
}

/// A minimal workspace: one target with `target_toml`, an empty catalogue.
pub fn workspace_with_target(target_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("targets")).unwrap();
    std::fs::create_dir_all(dir.path().join("reference-images")).unwrap();
    std::fs::write(dir.path().join("targets/site.toml"), target_toml).unwrap();
    std::fs::write(
        dir.path().join("reference-images/products.toml"),
        "[brand]\nname = \"Orvane\"\n\n[[product]]\nid = \"P1\"\nname = \"Orvane Thing\"\nsearch_queries = [\"thing\"]\n",
    )
    .unwrap();
    dir
}

/// Runs the knockoff binary in `workspace`.
pub fn knockoff(workspace: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knockoff"))
        .arg("--workspace")
        .arg(workspace)
        .args(args)
        .env("RUST_LOG", "knockoff=warn")
        .output()
        .unwrap()
}

/// [`knockoff`] with extra environment variables.
pub fn knockoff_with_env(workspace: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knockoff"))
        .arg("--workspace")
        .arg(workspace)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "knockoff=warn")
        .output()
        .unwrap()
}

/// `knockoff extract FILE --url URL` in `workspace`: its JSON, after
/// asserting it succeeded.
pub fn extract_json(workspace: &Path, file: &Path, url: &str) -> serde_json::Value {
    let output = knockoff(
        workspace,
        &["extract", file.to_str().unwrap(), "--url", url],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// One gzipped page of the shared real pages, as text.
pub fn realpage(dir: &Path, name: &str) -> String {
    use std::io::Read;
    let mut html = String::new();
    let file = std::fs::File::open(dir.join(format!("{name}.html.gz"))).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut html)
        .unwrap();
    html
}

/// The shared real marketplace pages, when this checkout has them.
pub fn realpages() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realpages");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} is absent (a fresh clone has no shared pages)",
            dir.display()
        );
        None
    }
}

/// Whether an outside tool a test needs is installed. When it is not, the
/// test (or its part) is skipped with a loud message — unless
/// `KNOCKOFF_REQUIRE_EXTERNAL` is set, as `.ci/run` does, where a missing
/// tool fails the test.
pub fn have_external(what: &str, present: bool, install: &str) -> bool {
    if present {
        return true;
    }
    let message = format!("{what} is not installed ({install}; .ci/run does)");
    assert!(
        std::env::var_os("KNOCKOFF_REQUIRE_EXTERNAL").is_none(),
        "{message}, and KNOCKOFF_REQUIRE_EXTERNAL makes it required"
    );
    eprintln!("\n*** SKIPPED: {message} ***\n");
    false
}

/// Debian's Chromium, for the browser, screenshot and rendered-page tests.
pub fn have_chromium() -> bool {
    have_external(
        "Chromium",
        Path::new("/usr/bin/chromium").exists(),
        "apt-get install chromium",
    )
}

/// Python's warcio, the independent WARC reader of the evidence tests.
pub fn have_warcio() -> bool {
    let present = Command::new("python3")
        .args(["-c", "import warcio"])
        .output()
        .is_ok_and(|o| o.status.success());
    have_external("Python's warcio", present, "pip install warcio")
}

/// A PostgreSQL server for the store's tests: `KNOCKOFF_TEST_POSTGRES`
/// (postgres://user@127.0.0.1:port/database, a user who may create
/// databases), which `.ci/run` sets after starting Debian's server on
/// loopback.
pub fn postgres_server() -> Option<String> {
    let url = std::env::var("KNOCKOFF_TEST_POSTGRES").ok();
    have_external(
        "A PostgreSQL server",
        url.is_some(),
        "start one and set KNOCKOFF_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres",
    )
    .then(|| url.expect("present"))
}

/// A new, empty database on the test server, dropped when this is.
pub struct TestDatabase {
    server: String,
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn create(server: &str) -> TestDatabase {
        let name = format!("knockoff_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = server.rsplit_once('/').expect("a URL with a database").0;
        TestDatabase {
            server: server.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // On a thread of its own: the client blocks, and a test may drop
        // this on an async runtime's thread (unwinding from a failure).
        let (server, name) = (self.server.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = postgres::Client::connect(&server, postgres::NoTls) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}

/// How a child knockoff ended, and what it cost.
pub struct Measured {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub peak_rss_mb: f64,
    pub seconds: f64,
}

/// Runs the knockoff binary in `workspace`, killed after `limit`.
///
/// Peak memory is the child's own high-water mark (VmHWM), sampled every
/// 10 ms: its rusage would count the test process too, whose address space
/// the child shares until exec (posix_spawn uses vfork).
pub fn run_measured(workspace: &Path, args: &[&str], limit: std::time::Duration) -> Measured {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_knockoff"))
        .arg("--workspace")
        .arg(workspace)
        .args(args)
        .env("RUST_LOG", "knockoff=warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let read_all = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).ok();
            text
        })
    };
    let out_reader = read_all(Box::new(child.stdout.take().unwrap()));
    let err_reader = read_all(Box::new(child.stderr.take().unwrap()));
    let mut peak_kb = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            peak_kb = peak_kb.max(hwm.unwrap_or(0));
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Measured {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        peak_rss_mb: peak_kb as f64 / 1024.0,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Edits a TOML fixture through toml_edit (its comments kept). The
/// helpers below insist that what they read or replace exists, and an
/// edit that changes nothing fails, so a fixture whose layout moved fails
/// loudly instead of silently testing nothing.
pub fn edit_toml(path: &Path, edit: impl FnOnce(&mut toml_edit::DocumentMut)) {
    let before = std::fs::read_to_string(path).unwrap();
    let mut doc: toml_edit::DocumentMut = before
        .parse()
        .unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    edit(&mut doc);
    let after = doc.to_string();
    assert_ne!(
        before,
        after,
        "the edit of {} changed nothing",
        path.display()
    );
    std::fs::write(path, after).unwrap();
}

/// The table holding dotted `key` (tables made as needed), and the last part.
fn parent<'d>(
    doc: &'d mut toml_edit::DocumentMut,
    key: &'d str,
) -> (&'d mut toml_edit::Table, &'d str) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap();
    let mut table = doc.as_table_mut();
    for part in parts {
        table = table
            .entry(part)
            .or_insert(toml_edit::table())
            .as_table_mut()
            .unwrap_or_else(|| panic!("`{part}` of `{key}` is not a table"));
    }
    (table, last)
}

/// Sets dotted `key` (such as `matching.threshold`) to `value`.
pub fn set(doc: &mut toml_edit::DocumentMut, key: &str, value: impl Into<toml_edit::Value>) {
    let (table, last) = parent(doc, key);
    table[last] = toml_edit::value(value);
}

/// Replaces the text at dotted `key`, which must be there, with `new(old)`.
pub fn rewrite(doc: &mut toml_edit::DocumentMut, key: &str, new: impl FnOnce(&str) -> String) {
    let (table, last) = parent(doc, key);
    let old = table
        .get(last)
        .and_then(|item| item.as_str())
        .unwrap_or_else(|| panic!("the fixture has no text at `{key}`"))
        .to_string();
    table[last] = toml_edit::value(new(&old));
}

/// Removes dotted `key`, which must be there.
pub fn remove(doc: &mut toml_edit::DocumentMut, key: &str) {
    let (table, last) = parent(doc, key);
    assert!(table.remove(last).is_some(), "the fixture has no `{key}`");
}

/// Every entry of the zip at `path`: (name, bytes).
pub fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            (entry.name().unwrap().to_string(), bytes)
        })
        .collect()
}

/// Writes `files` as a zip at `path`, in order.
pub fn write_zip(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).unwrap();
        std::io::Write::write_all(&mut zip, bytes).unwrap();
    }
    zip.finish().unwrap();
}
