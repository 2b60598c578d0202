//! The review UI in a real headless Chromium, driven over WebDriver
//! (chromedriver): sign in, move through the queue with the keyboard,
//! confirm one match and dismiss another, then check SQLite and the audit
//! log. Saves a screenshot of the queue page to
//! `target/artifacts/queue.png`.
//!
//! `.ci/run` installs Debian's chromium and chromium-driver when absent.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use knockoff::store::{MatchId, SessionPolicy};

use crate::web::{Reviewed, PASSWORD};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, port }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1360,1000"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("connecting to chromedriver")
}

/// The id of the match the keyboard is on.
async fn current(browser: &Client) -> i64 {
    let value = browser
        .execute(
            "const c = document.querySelector('li.match.current'); return c ? Number(c.dataset.id) : -1;",
            vec![],
        )
        .await
        .unwrap();
    value.as_i64().unwrap()
}

async fn press(browser: &Client, keys: &str) {
    browser
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

/// Waits until `check` holds (the page reloads after an action).
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn page_ready(browser: &Client) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = browser
            .execute(
                "return document.readyState === 'complete' && !!document.querySelector('li.match.current');",
                vec![],
            )
            .await
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false);
        if ready {
            return;
        }
        if Instant::now() >= deadline {
            let url = browser.current_url().await.map(|u| u.to_string());
            let source = browser.source().await.unwrap_or_default();
            panic!(
                "the queue page did not load: at {url:?}: {}",
                source.chars().take(1500).collect::<String>()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_works_the_queue_with_the_keyboard() {
    if !crate::util::have_chromium(true) {
        return;
    }
    let ui = Reviewed::start(SessionPolicy::default()).await;
    let driver = start_driver();
    let browser = browser(&driver).await;

    browser.goto(&format!("{}/", ui.base)).await.unwrap();
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/login"));
    browser
        .find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("rita")
        .await
        .unwrap();
    let password = browser
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap();
    password.send_keys(PASSWORD).await.unwrap();
    password.send_keys("\u{E007}").await.unwrap(); // Enter
    page_ready(&browser).await;

    // A hostile title is on the page as text, and no script of its ran.
    let alerted = browser
        .execute(
            "return document.title.includes('alert') || !!window.__pwned;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(alerted.as_bool(), Some(false));
    let pending = ui.pending_ids();
    assert!(pending.len() >= 3);
    assert_eq!(
        current(&browser).await,
        pending[0],
        "the first match has the focus"
    );

    let screenshot = browser.screenshot().await.unwrap();
    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join("queue.png"), screenshot).unwrap();

    // j moves down, k up, j again; c confirms the second match.
    press(&browser, "j").await;
    assert_eq!(current(&browser).await, pending[1]);
    press(&browser, "k").await;
    assert_eq!(current(&browser).await, pending[0]);
    press(&browser, "j").await;
    let confirmed = current(&browser).await;
    press(&browser, "c").await;
    until("the confirmation", || {
        ui.status_of(confirmed) == "confirmed"
    })
    .await;
    page_ready(&browser).await;

    // The focus lands on the match after it; d then 2 dismisses it with
    // the second reason.
    let dismissed = current(&browser).await;
    assert_eq!(dismissed, pending[2], "focus follows to the next match");
    press(&browser, "d").await;
    press(&browser, "2").await;
    until("the dismissal", || ui.status_of(dismissed) == "dismissed").await;
    page_ready(&browser).await;

    let entry = ui.store.review_entry(MatchId(dismissed)).unwrap().unwrap();
    assert_eq!(entry.entry.note.as_deref(), Some("authorized seller"));
    assert_eq!(entry.entry.decided_by.as_deref(), Some("rita"));
    assert_eq!(ui.status_of(pending[0]), "pending", "j/k decided nothing");
    let audit: Vec<(String, String, Option<i64>)> = ui
        .store
        .audit_log(None)
        .unwrap()
        .into_iter()
        .filter(|row| row.actor == "rita")
        .map(|row| (row.action, row.detail.unwrap_or_default(), row.match_id))
        .collect();
    assert_eq!(
        audit,
        [
            ("signed in".to_string(), String::new(), None),
            ("confirmed".into(), String::new(), Some(confirmed)),
            (
                "dismissed".into(),
                "authorized seller".into(),
                Some(dismissed)
            ),
        ]
    );

    browser.goto(&format!("{}/runs", ui.base)).await.unwrap();
    let runs = browser.find(Locator::Css("table.runs")).await.unwrap();
    let text = runs.text().await.unwrap();
    assert!(
        text.contains("shopfront") && text.contains("bazaar"),
        "{text}"
    );
    std::fs::write(
        artifacts.join("runs.png"),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();
    browser.close().await.unwrap();
}
