//! What the end-to-end benches share: a demo workspace pointed at a
//! running marketplace with its rate limits lifted, and a child process's
//! own CPU time and peak memory.

// wait4 (one child's CPU time and peak memory) has no safe wrapper here.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};

use knockoff::demo::catalog::Catalog;
use knockoff::demo::{self, Marketplace};

/// Writes the demo workspace for `catalog` into `dir`, its targets pointed
/// at `market`, every host at `rate` requests a second and `concurrency`
/// in flight (limits lifted, still enforced), `max_pages` result pages a
/// query.
pub fn lifted_workspace(
    dir: &Path,
    catalog: &Catalog,
    market: &Marketplace,
    rate: f64,
    concurrency: u32,
    max_pages: u32,
) {
    demo::write_workspace(dir, catalog).unwrap();
    for (file, port, url) in [
        ("shopfront", "7801", &market.shopfront),
        ("bazaar", "7802", &market.bazaar),
    ] {
        let path = dir.join(format!("targets/{file}.toml"));
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(
                &format!("http://127.0.0.1:{port}"),
                url.as_str().trim_end_matches('/'),
            )
            // The image CDN, the targets' private origin, is on its own free port too.
            .replace(
                "http://127.0.0.1:7803",
                market.cdn.as_str().trim_end_matches('/'),
            )
            .replace(
                "requests_per_second = 8.0",
                &format!("requests_per_second = {rate:.1}"),
            )
            .replace("concurrency = 4", &format!("concurrency = {concurrency}"))
            .replace("max_pages = 5", &format!("max_pages = {max_pages}"));
        std::fs::write(path, text).unwrap();
    }
    let settings = std::fs::read_to_string(dir.join("knockoff.toml"))
        .unwrap()
        .replace(
            "default_requests_per_second = 20.0",
            &format!("default_requests_per_second = {rate:.1}"),
        )
        .replace(
            "default_concurrency = 4",
            &format!("default_concurrency = {concurrency}"),
        );
    std::fs::write(dir.join("knockoff.toml"), settings).unwrap();
}

/// What one child process cost.
pub struct ChildCost {
    pub success: bool,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub peak_rss_mb: f64,
}

/// Runs `command` to its end and measures it alone (not other children).
pub fn measure(mut command: std::process::Command) -> ChildCost {
    let started = std::time::Instant::now();
    // Reaped below by wait4, which also reports its rusage.
    #[allow(clippy::zombie_processes)]
    let pid = command.spawn().unwrap().id() as libc::pid_t;
    // SAFETY: wait4 only writes into the status and the struct we pass; the
    // child is ours and not waited for elsewhere.
    let (status, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let mut status = 0;
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut usage), pid);
        (status, usage)
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    ChildCost {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        wall_s: started.elapsed().as_secs_f64(),
        cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// This build's knockoff binary.
pub fn this_knockoff() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_knockoff"))
}

/// `BINARY --workspace WORKSPACE crawl ARGS…` as a child process (on the
/// blocking pool, so the marketplace in this process keeps serving), its
/// output discarded, logging at `rust_log`: what it cost.
pub async fn knockoff_crawl(
    binary: PathBuf,
    workspace: PathBuf,
    args: &'static [&'static str],
    rust_log: &'static str,
) -> ChildCost {
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(binary);
        command
            .arg("--workspace")
            .arg(&workspace)
            .arg("crawl")
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("KNOCKOFF_BENCH_LOG").unwrap_or(rust_log.to_string()),
            )
            .stdout(std::process::Stdio::null());
        measure(command)
    })
    .await
    .unwrap()
}
