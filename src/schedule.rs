//! The nightly schedule: `[schedule] crawl` (cron syntax) in
//! `[schedule] timezone`, and what `knockoff serve` does when it fires —
//! crawl under the workspace's crawl lock, judge, refresh the search index,
//! and tell `[notify] webhook_url` (Slack-compatible JSON) how it went.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::crawl::{self, CrawlOptions, Progress};
use crate::store::Store;

/// A parsed `[schedule]`.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: cron::Schedule,
    timezone: chrono_tz::Tz,
}

impl Schedule {
    /// Parses a cron expression — five fields (minute hour day month
    /// weekday) as crontab has them, or six with seconds first — and an
    /// IANA time zone name. Errors are one sentence about the value.
    pub fn parse(expression: &str, timezone: &str) -> Result<Schedule, String> {
        let fields = expression.split_whitespace().count();
        let full = match fields {
            5 => format!("0 {expression}"),
            6 | 7 => expression.to_string(),
            _ => {
                return Err(format!(
                    "`{expression}` is not a cron expression: it needs five fields \
                     (minute hour day month weekday), such as \"0 2 * * *\""
                ))
            }
        };
        let cron = cron::Schedule::from_str(&full)
            .map_err(|e| format!("`{expression}` is not a valid cron expression ({e})"))?;
        let timezone = chrono_tz::Tz::from_str(timezone).map_err(|_| {
            format!("`{timezone}` is not a time zone name such as UTC or Europe/Paris")
        })?;
        Ok(Schedule { cron, timezone })
    }

    /// The first time after `after` the schedule fires.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .after(&after.with_timezone(&self.timezone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }
}

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
        crate::queue::judge_workspace(&config_for_judge, &store)
    })
    .await;
    match judged {
        Ok(Ok(report)) => Outcome::Finished {
            run_id: summary.run_id,
            listings_new: summary.listings_new,
            queued: report.changes.queued,
            high_score: report.changes.queued_high,
            errors: summary.errors.values().sum(),
            warning: crawl::no_fields_warning(&summary),
        },
        Ok(Err(e)) => Outcome::Failed(format!("judging after crawl #{}: {e:#}", summary.run_id)),
        Err(e) => Outcome::Failed(format!("judging after crawl #{}: {e}", summary.run_id)),
    }
}

/// Posts `text` to a Slack-compatible webhook.
pub async fn notify(webhook: &url::Url, text: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_field_crontab_in_a_time_zone() {
        let schedule = Schedule::parse("0 2 * * *", "Europe/Paris").unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        // 02:00 in Paris in November is 01:00 UTC.
        assert_eq!(
            schedule.next_after(after),
            Some(Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap())
        );
        assert!(Schedule::parse("0 2 * *", "UTC")
            .unwrap_err()
            .contains("five fields"));
        assert!(Schedule::parse("0 25 * * *", "UTC")
            .unwrap_err()
            .contains("not a valid cron"));
        assert!(Schedule::parse("0 2 * * *", "Mars/Olympus")
            .unwrap_err()
            .contains("time zone"));
    }
}
