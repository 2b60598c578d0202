//! `knockoff serve` as a process: bring the search index up to date, serve
//! the review UI, and run the schedule beside it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::Utc;

use crate::config::Config;
use crate::schedule::{self, Outcome, Schedule};
use crate::store::Store;
use crate::web::{self, AppState};

/// Serves until the process is stopped.
pub async fn run(config: Config, store: Arc<Store>, bind: SocketAddr) -> Result<()> {
    let for_index = (config.clone(), store.clone());
    let text =
        tokio::task::spawn_blocking(move || crate::index::text_index(&for_index.0, &for_index.1))
            .await?
            .map(|(index, _)| index)
            .map_err(|e| tracing::warn!("full-text search is off: {e:#}"))
            .ok();
    let state = Arc::new(AppState::new(config.clone(), store.clone(), text));
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listening on {bind}"))?;
    println!(
        "knockoff review UI on http://{}",
        listener.local_addr().context("reading the bound address")?
    );
    if let Some(expression) = &config.settings.schedule_crawl {
        let schedule = Schedule::parse(expression, &config.settings.schedule_timezone)
            .map_err(|e| anyhow::anyhow!("knockoff.toml: schedule.{}: {e}", e.key()))?;
        println!(
            "scheduled crawl: \"{expression}\" ({})",
            config.settings.schedule_timezone
        );
        tokio::spawn(scheduler(
            config,
            store,
            schedule,
            state.crawl_state.clone(),
        ));
    } else {
        *state.crawl_state.lock().unwrap_or_else(|e| e.into_inner()) =
            "no [schedule] crawl in knockoff.toml: crawls come from cron or by hand".into();
    }
    web::serve(state, listener).await
}

/// Runs the scheduled crawls, one at a time, forever.
pub async fn scheduler(
    config: Config,
    store: Arc<Store>,
    schedule: Schedule,
    state: Arc<Mutex<String>>,
) {
    let say = |text: String| *state.lock().unwrap_or_else(|e| e.into_inner()) = text;
    loop {
        let Some(next) = schedule.next_after(Utc::now()) else {
            say("the schedule never fires again".into());
            return;
        };
        say(format!(
            "next scheduled crawl: {}",
            next.format("%Y-%m-%d %H:%M UTC")
        ));
        if let Ok(wait) = (next - Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
        say("scheduled crawl running".into());
        let outcome = schedule::run_once(&config, store.clone()).await;
        let message = outcome.message(&config.workspace.display().to_string());
        match &outcome {
            Outcome::Finished { .. } => tracing::info!("{message}"),
            _ => tracing::warn!("{message}"),
        }
        if let Some(webhook) = &config.settings.notify_webhook {
            if let Err(e) = schedule::notify(webhook, &message).await {
                tracing::warn!("{e:#}");
            }
        }
    }
}
