//! `[evidence] screenshot`: a full-page PNG of a listing page, taken when
//! it is captured by rendering the captured bytes in headless Chromium
//! with its network cut off — so the marketplace gets no request beyond the
//! crawler's own, rate-limited one (remote images show as missing), and the
//! picture is of exactly the bytes the bundle holds.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Longest a rendering may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Renders `html` with `chromium` and returns the PNG.
pub fn render(chromium: &Path, html: &[u8]) -> Result<Vec<u8>> {
    let dir = tempfile::tempdir().context("making a folder for the screenshot")?;
    let page = dir.path().join("page.html");
    let png = dir.path().join("screenshot.png");
    std::fs::write(&page, html)?;
    let mut child = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            // No network at all: every host resolves to nothing.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1280,2400",
        ])
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
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
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
