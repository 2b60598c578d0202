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
    if text.is_some() && store.is_shared() {
        tokio::spawn(keep_text_index_in_step(config.clone(), store.clone()));
    }
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

/// How often the review UI of a shared store brings its search index up
/// to date with listings other machines' crawls stored.
const TEXT_SYNC: std::time::Duration = std::time::Duration::from_secs(60);

/// Brings `index/text` up to date with the store every [`TEXT_SYNC`],
/// forever: on a store other machines write, nothing else here would (the
/// search's reader picks each commit up by itself).
async fn keep_text_index_in_step(config: Config, store: Arc<Store>) {
    loop {
        tokio::time::sleep(TEXT_SYNC).await;
        let (config, store) = (config.clone(), store.clone());
        match tokio::task::spawn_blocking(move || crate::index::text_index(&config, &store)).await {
            Ok(Ok((_, 0))) => {}
            Ok(Ok((_, indexed))) => tracing::info!(indexed, "search index brought up to date"),
            Ok(Err(e)) => tracing::warn!("bringing the search index up to date: {e:#}"),
            Err(e) => tracing::warn!("bringing the search index up to date: {e}"),
        }
    }
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
