//! `[evidence] screenshot`: a full-page PNG of a listing page, taken when
//! it is captured by rendering the captured bytes in headless Chromium
//! with its network cut off (`devtools::NoNetwork`) — so the marketplace
//! (or anything a captured page names) gets no request beyond the
//! crawler's own, rate-limited one (remote images show as missing), and the
//! picture is of exactly the bytes the bundle holds.
//!
//! The page is hostile: its scripts do not run (a Content-Security-Policy
//! is put first in the file Chromium opens), one Chromium renders at a
//! time (however many listings change at once), and Chromium's own sandbox
//! stays on unless knockoff runs as root, where Chromium refuses it.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Longest a rendering may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Held while a Chromium runs: one at a time in the whole process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The policy that keeps the captured page's scripts and plugins from
/// running. (Chromium's `scriptEnabled=false` setting also stops headless
/// screenshots.) Policies only ever add up, so the page cannot undo it.
const NO_SCRIPTS: &[u8] =
    b"<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'; object-src 'none'\">";

/// `html` with [`NO_SCRIPTS`] first — after the doctype when there is one,
/// so the page keeps its rendering mode.
fn without_scripts(html: &[u8]) -> Vec<u8> {
    let start = html
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(html.len());
    let rest = &html[start..];
    let at = if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"<!doctype") {
        rest.iter()
            .position(|&b| b == b'>')
            .map_or(0, |end| start + end + 1)
    } else {
        0
    };
    [&html[..at], NO_SCRIPTS, &html[at..]].concat()
}

/// Renders `html` with `chromium` and returns the PNG.
pub fn render(chromium: &Path, html: &[u8]) -> Result<Vec<u8>> {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().context("making a folder for the screenshot")?;
    let page = dir.path().join("page.html");
    let png = dir.path().join("screenshot.png");
    std::fs::write(&page, without_scripts(html))?;
    // No network at all: every connection goes to a proxy that refuses it.
    let offline = crate::devtools::NoNetwork::start()
        .context("starting the refusing proxy for the screenshot")?;
    let mut command = Command::new(chromium);
    if crate::devtools::running_as_root() {
        command.arg("--no-sandbox");
    }
    let mut child = command
        .args([
            "--headless=new",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--window-size=1280,2400",
        ])
        .args(offline.args())
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", chromium.display()))?;
    // Drained as it comes: a chatty Chromium must not fill the pipe and stall.
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "{} took over {} s to render a page",
                chromium.display(),
                TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = stderr
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    let bytes = std::fs::read(&png).with_context(|| {
        format!(
            "{} made no screenshot ({status}): {}",
            chromium.display(),
            stderr.lines().last().unwrap_or("")
        )
    })?;
    crate::photo::inspect(&bytes, 100_000_000).map_err(|e| {
        anyhow::anyhow!("{} wrote an unreadable screenshot: {e}", chromium.display())
    })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_goes_after_the_doctype_or_first() {
        let with = without_scripts(b"\n<!DOCTYPE html><html><script>x()</script>");
        assert!(with.starts_with(b"\n<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\""));
        let bare = without_scripts(b"<p>hi");
        assert!(bare.starts_with(NO_SCRIPTS) && bare.ends_with(b"<p>hi"));
    }
}
