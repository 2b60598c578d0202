//! The crawl runs and the audit log, as pages.

use super::*;

#[derive(serde::Deserialize)]
pub(super) struct PageQuery {
    page: Option<usize>,
}

pub(super) async fn audit_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Query(query): Query<PageQuery>,
) -> Result<Markup> {
    if session.user.role != crate::store::Role::Admin {
        return Err(AppError::Forbidden(
            "The audit log page is for admins.".into(),
        ));
    }
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let store = state.store.clone();
    let (rows, total) = blocking(move || store.audit_page((page - 1) * 100, 100)).await?;
    Ok(pages::audit_page(&session, &rows, total, page))
}

pub(super) async fn runs_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
) -> Result<Markup> {
    let store = state.store.clone();
    let runs = blocking(move || store.runs(50)).await?;
    let crawl_state = state
        .crawl_state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(pages::runs_page(&session, &runs, &crawl_state))
}
