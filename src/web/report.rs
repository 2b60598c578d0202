//! The dashboard and the report download, under the filter typed.

use super::*;

/// The dashboard's and the report's filter, as typed.
#[derive(serde::Deserialize)]
pub(super) struct ReportParams {
    since: Option<String>,
    until: Option<String>,
    target: Option<String>,
    product: Option<String>,
    format: Option<String>,
}

impl ReportParams {
    /// The report query; `default_weeks` back from today when neither end
    /// is given at all (an empty field means "no bound").
    fn query(&self, default_weeks: Option<i64>) -> Result<crate::store::ReportQuery> {
        let day = |name: &str, value: &Option<String>| -> Result<Option<chrono::NaiveDate>> {
            match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        AppError::BadRequest(format!("`{name}` must be a day as YYYY-MM-DD."))
                    }),
            }
        };
        let mut since = day("since", &self.since)?;
        let until = day("until", &self.until)?;
        if let (Some(weeks), None, None) = (default_weeks, &self.since, &self.until) {
            since = Some(chrono::Utc::now().date_naive() - chrono::Duration::weeks(weeks));
        }
        if let (Some(from), Some(to)) = (since, until) {
            if from > to {
                return Err(AppError::BadRequest(format!(
                    "The period starts ({from}) after it ends ({to})."
                )));
            }
        }
        let named = |v: &Option<String>| {
            v.as_ref()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(crate::store::ReportQuery {
            since,
            until,
            target: named(&self.target),
            product: named(&self.product),
        })
    }
}

/// How far back the dashboard looks when no period is asked for.
pub(super) const DASHBOARD_WEEKS: i64 = 12;

pub(super) async fn dashboard_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Query(params): Query<ReportParams>,
) -> Result<Markup> {
    let started = std::time::Instant::now();
    let query = params.query(Some(DASHBOARD_WEEKS))?;
    let store = state.store.clone();
    let asked = query.clone();
    let report = blocking(move || store.report(&asked)).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(dashboard::dashboard(
        &state.config,
        &session,
        &report,
        &query,
        ms,
    ))
}

/// `/report?format=csv|json` with the dashboard's filter: what `knockoff
/// report` prints, as a download.
pub(super) async fn report_download(
    State(state): State<Shared>,
    Query(params): Query<ReportParams>,
) -> Result<Response> {
    let query = params.query(None)?;
    let csv = match params.format.as_deref().unwrap_or("json") {
        "csv" => true,
        "json" => false,
        other => {
            return Err(AppError::BadRequest(format!(
                "`{other}` is not a report format: csv or json."
            )))
        }
    };
    let store = state.store.clone();
    let report = blocking(move || store.report(&query)).await?;
    let (body, kind, name) = if csv {
        (
            crate::report::render_csv(&report)?,
            "text/csv; charset=utf-8",
            "knockoff-report.csv",
        )
    } else {
        (
            serde_json::to_string_pretty(&report).map_err(|e| AppError::Internal(e.into()))?,
            "application/json",
            "knockoff-report.json",
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
