//! The review UI in a real headless Chromium, driven over its DevTools
//! protocol (knockoff's own `devtools` client, the one `render =
//! "chromium"` uses): sign in, move through the queue with the keyboard
//! (real key events), confirm one match and dismiss another, then check
//! SQLite and the audit log. Saves screenshots of the queue and runs pages
//! to `target/artifacts/`.
//!
//! `.ci/run` installs Debian's chromium when absent.

use std::path::Path;
use std::time::{Duration, Instant};

use knockoff::devtools::Chromium;
use knockoff::status::MatchStatus;
use knockoff::store::{MatchId, SessionPolicy};
use serde_json::{json, Value};

use crate::web::{Reviewed, PASSWORD};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest one command or page load may take.
const PATIENCE: Duration = Duration::from_secs(15);

/// One tab of a headless Chromium.
struct Tab {
    chromium: Chromium,
    session: String,
}

impl Tab {
    fn open() -> Tab {
        let mut chromium = Chromium::launch(Path::new(CHROMIUM), &["--window-size=1360,1000"])
            .expect("starting Chromium");
        let deadline = Instant::now() + PATIENCE;
        let target = chromium
            .call(
                "Target.createTarget",
                json!({"url": "about:blank"}),
                None,
                deadline,
            )
            .unwrap();
        let attached = chromium
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
                None,
                deadline,
            )
            .unwrap();
        let session = attached["sessionId"].as_str().unwrap().to_string();
        Tab { chromium, session }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.chromium
            .call(
                method,
                params,
                Some(&self.session),
                Instant::now() + PATIENCE,
            )
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.until("the page to load", "document.readyState === 'complete'");
    }

    /// The value of a JavaScript expression.
    fn eval(&mut self, expression: &str) -> Value {
        let answer = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            answer.get("exceptionDetails").is_none(),
            "{expression}: {answer}"
        );
        answer["result"]["value"].clone()
    }

    /// Waits until a JavaScript expression is true (pages reload after
    /// an action).
    fn until(&mut self, what: &str, expression: &str) {
        let deadline = Instant::now() + PATIENCE;
        while self.eval(expression) != json!(true) {
            if Instant::now() >= deadline {
                let at = self.eval("location.href");
                let source = self.eval("document.documentElement.outerHTML");
                let source: String = source.as_str().unwrap_or("").chars().take(1500).collect();
                panic!("timed out waiting for {what} at {at}: {source}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Presses one key as a keyboard would (down, its character, up).
    fn press(&mut self, key: &str) {
        let (code, text, key_code) = match key {
            "Enter" => ("Enter".to_string(), "\r".to_string(), 13),
            _ => {
                let c = key.chars().next().unwrap();
                let code = if c.is_ascii_digit() {
                    format!("Digit{c}")
                } else {
                    format!("Key{}", c.to_ascii_uppercase())
                };
                (code, key.to_string(), c.to_ascii_uppercase() as i64)
            }
        };
        let event = |kind: &str| {
            json!({"type": kind, "key": key, "code": code, "text": text,
                   "windowsVirtualKeyCode": key_code})
        };
        self.call("Input.dispatchKeyEvent", event("keyDown"));
        self.call("Input.dispatchKeyEvent", event("keyUp"));
    }

    /// Focuses the element `selector` finds and types `text` into it.
    fn type_into(&mut self, selector: &str, text: &str) {
        let found = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (e) e.focus(); return !!e; }})()",
            json!(selector)
        ));
        assert_eq!(found, json!(true), "no element {selector}");
        self.call("Input.insertText", json!({"text": text}));
    }

    fn screenshot(&mut self, name: &str) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = data_encoding::BASE64
            .decode(shot["data"].as_str().unwrap().as_bytes())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        std::fs::write(artifacts.join(name), png).unwrap();
    }

    /// The id of the match the keyboard is on.
    fn current(&mut self) -> i64 {
        let id = self.eval(
            "(() => { const c = document.querySelector('li.match.current'); return c ? Number(c.dataset.id) : -1; })()",
        );
        id.as_i64().unwrap()
    }

    fn queue_ready(&mut self) {
        self.until(
            "the queue page",
            "document.readyState === 'complete' && !!document.querySelector('li.match.current')",
        );
    }
}

/// Waits until `check` holds (the store is written by the server).
fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_works_the_queue_with_the_keyboard() {
    if !crate::util::have_chromium() {
        return;
    }
    let ui = Reviewed::start(SessionPolicy::default()).await;
    // The browser is driven synchronously; the server keeps the other worker.
    tokio::task::block_in_place(|| works_the_queue(&ui));
}

fn works_the_queue(ui: &Reviewed) {
    let mut tab = Tab::open();
    tab.goto(&format!("{}/", ui.base));
    let at = tab.eval("location.pathname");
    assert_eq!(
        at,
        json!("/login"),
        "an unsigned visitor is sent to sign in"
    );
    tab.type_into("input[name=name]", "rita");
    tab.type_into("input[name=password]", PASSWORD);
    tab.press("Enter");
    tab.queue_ready();

    // A hostile title is on the page as text, and no script of its ran.
    let alerted = tab.eval("document.title.includes('alert') || !!window.__pwned");
    assert_eq!(alerted, json!(false));
    let pending = ui.pending_ids();
    assert!(pending.len() >= 3);
    assert_eq!(tab.current(), pending[0], "the first match has the focus");
    tab.screenshot("queue.png");

    // j moves down, k up, j again; c confirms the second match.
    tab.press("j");
    assert_eq!(tab.current(), pending[1]);
    tab.press("k");
    assert_eq!(tab.current(), pending[0]);
    tab.press("j");
    let confirmed = tab.current();
    tab.press("c");
    until("the confirmation", || {
        ui.status_of(confirmed) == MatchStatus::Confirmed
    });
    tab.queue_ready();

    // The focus lands on the match after it; d then 2 dismisses it with
    // the second reason.
    let dismissed = tab.current();
    assert_eq!(dismissed, pending[2], "focus follows to the next match");
    tab.press("d");
    tab.press("2");
    until("the dismissal", || {
        ui.status_of(dismissed) == MatchStatus::Dismissed
    });
    tab.queue_ready();

    let entry = ui.store.review_entry(MatchId(dismissed)).unwrap().unwrap();
    assert_eq!(entry.entry.note.as_deref(), Some("authorized seller"));
    assert_eq!(entry.entry.decided_by.as_deref(), Some("rita"));
    assert_eq!(
        ui.status_of(pending[0]),
        MatchStatus::Pending,
        "j/k decided nothing"
    );
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

    tab.goto(&format!("{}/runs", ui.base));
    let text = tab.eval("document.querySelector('table.runs').innerText");
    let text = text.as_str().unwrap_or_default();
    assert!(
        text.contains("shopfront") && text.contains("bazaar"),
        "{text}"
    );
    tab.screenshot("runs.png");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_and_the_grid_is_worked_and_undone_with_the_keyboard() {
    if !crate::util::have_chromium() {
        return;
    }
    let ui = Reviewed::start(SessionPolicy::default()).await;
    tokio::task::block_in_place(|| dashboard_and_grid(&ui));
}

fn dashboard_and_grid(ui: &Reviewed) {
    let mut tab = Tab::open();
    tab.goto(&format!("{}/login", ui.base));
    tab.type_into("input[name=name]", "ana");
    tab.type_into("input[name=password]", PASSWORD);
    tab.press("Enter");
    // An admin lands on the dashboard; its charts are drawn at a size.
    tab.until(
        "the dashboard",
        "location.pathname === '/dashboard' && document.readyState === 'complete'",
    );
    let drawn = tab.eval(
        "Array.from(document.querySelectorAll('figure.chart > svg')).filter((s) => { \
           const r = s.getBoundingClientRect(); return r.width > 200 && r.height > 50; }).length",
    );
    assert!(drawn.as_i64().unwrap() >= 3, "{drawn} charts drawn");
    let bars = tab.eval("document.querySelectorAll('figure.chart rect').length");
    assert!(bars.as_i64().unwrap() > 5, "{bars} bars");
    tab.screenshot("dashboard.png");

    // The grid: at least eight matches in full view on a 1080p screen.
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": false}),
    );
    tab.goto(&format!("{}/?view=grid", ui.base));
    tab.queue_ready();
    let visible = tab.eval(
        "Array.from(document.querySelectorAll('li.match')).filter((c) => { \
           const r = c.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }).length",
    );
    assert!(visible.as_i64().unwrap() >= 8, "{visible} tiles in view");
    tab.screenshot("grid.png");

    let pending = ui.pending_ids();
    assert_eq!(tab.current(), pending[0]);
    tab.press("j");
    let confirmed = tab.current();
    assert_eq!(confirmed, pending[1]);
    tab.press("c");
    until("the confirmation", || {
        ui.status_of(confirmed) == MatchStatus::Confirmed
    });
    tab.queue_ready();
    assert_eq!(
        tab.eval("location.search.includes('view=grid')"),
        json!(true),
        "back in the grid"
    );
    // z zooms the matched photos, Esc closes; u undoes the confirmation.
    tab.press("z");
    assert_eq!(
        tab.eval("!!document.querySelector('div.zoomed img')"),
        json!(true)
    );
    tab.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyDown", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27}),
    );
    assert_eq!(
        tab.eval("!!document.querySelector('div.zoomed')"),
        json!(false)
    );
    tab.press("u");
    until("the undo", || {
        ui.status_of(confirmed) == MatchStatus::Pending
    });
    let actions: Vec<(String, String)> = ui
        .store
        .audit_log(Some(MatchId(confirmed)))
        .unwrap()
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect();
    assert_eq!(
        actions[actions.len() - 2..],
        [
            ("ana".to_string(), "confirmed".to_string()),
            ("ana".into(), "undone".into())
        ]
    );
}
