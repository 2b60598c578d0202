//! The nightly schedule: `[schedule] crawl` (cron syntax) in
//! `[schedule] timezone`, and what `knockoff serve` does when it fires —
//! crawl under the workspace's crawl lock, judge, refresh the search index,
//! and tell `[notify] webhook_url` (Slack-compatible JSON) how it went.

use std::sync::Arc;

use anyhow::Result;

use crate::config::Config;
pub use crate::config::Schedule;
use crate::crawl::{self, CrawlOptions, Progress};
use crate::store::Store;

/// What one scheduled run did, for the log and the webhook.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Finished {
        run_id: i64,
        listings_new: u64,
        queued: u32,
        high_score: u32,
        errors: u64,
        /// The run's warning that pages yielded no fields, if any.
        warning: Option<String>,
    },
    /// Another crawl held the lock (one from cron, say).
    Skipped(String),
    Failed(String),
}

impl Outcome {
    /// One line for people: the webhook's text.
    pub fn message(&self, workspace: &str) -> String {
        match self {
            Outcome::Finished {
                run_id,
                listings_new,
                queued,
                high_score,
                errors,
                warning,
            } => format!(
                "knockoff ({workspace}): crawl #{run_id} finished: {listings_new} new listings, \
                 {queued} new matches queued ({high_score} with score ≥ {}), {errors} errors{}",
                crate::store::HIGH_SCORE,
                warning.as_ref().map_or(String::new(), |w| format!(". {w}"))
            ),
            Outcome::Skipped(why) => {
                format!("knockoff ({workspace}): scheduled crawl skipped: {why}")
            }
            Outcome::Failed(why) => {
                format!("knockoff ({workspace}): scheduled crawl failed: {why}")
            }
        }
    }
}

/// Crawls, judges and refreshes the text index, as the scheduler does.
pub async fn run_once(config: &Config, store: Arc<Store>) -> Outcome {
    let summary = match crawl::crawl(
        config,
        store.clone(),
        &CrawlOptions::default(),
        Progress::hidden(),
    )
    .await
    {
        Ok(summary) => summary,
        Err(e) if e.downcast_ref::<crawl::CrawlLocked>().is_some() => {
            return Outcome::Skipped(format!("{e:#}"))
        }
        Err(e) => return Outcome::Failed(format!("{e:#}")),
    };
    let config_for_judge = config.clone();
    let judged = tokio::task::spawn_blocking(move || {
        crate::judge::judge_workspace(&config_for_judge, &store)
    })
    .await;
    match judged {
        Ok(Ok(report)) => Outcome::Finished {
            run_id: summary.run_id,
            listings_new: summary.listings_new,
            queued: report.changes.queued,
            high_score: report.changes.queued_high,
            errors: summary.errors.values().sum(),
            warning: crawl::run_warning(&summary),
        },
        Ok(Err(e)) => Outcome::Failed(format!("judging after crawl #{}: {e:#}", summary.run_id)),
        Err(e) => Outcome::Failed(format!("judging after crawl #{}: {e}", summary.run_id)),
    }
}

/// Posts `text` to a Slack-compatible webhook.
pub(crate) async fn notify(webhook: &url::Url, text: &str) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()?;
    let response = client
        .post(webhook.clone())
        .header("content-type", "application/json")
        .body(serde_json::json!({ "text": text }).to_string())
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "posting to the webhook {}: {e}",
                webhook.host_str().unwrap_or("")
            )
        })?;
    if !response.status().is_success() {
        anyhow::bail!(
            "the webhook {} answered {}",
            webhook.host_str().unwrap_or(""),
            response.status()
        );
    }
    Ok(())
}
