//! The queue's lists: the pending queue and the other statuses, a seller's and a product's matches, and search.

use super::*;

/// The queue page's query string.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct QueueQuery {
    pub(super) status: Option<String>,
    pub(super) product: Option<String>,
    pub(super) target: Option<String>,
    pub(super) seller: Option<String>,
    pub(super) min: Option<String>,
    pub(super) max: Option<String>,
    pub(super) since: Option<String>,
    pub(super) q: Option<String>,
    pub(super) page: Option<usize>,
    pub(super) network: Option<i64>,
    pub(super) sort: Option<String>,
    pub(super) view: Option<String>,
}

/// The list's `status` (pending when absent); an unknown one is refused.
pub(super) fn status_filter(query: &QueueQuery) -> Result<StatusFilter> {
    match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(StatusFilter::Pending),
        Some(word) => word
            .parse()
            .map_err(|e| AppError::BadRequest(format!("`status`: {e}."))),
    }
}

pub(super) fn score_bound(value: &Option<String>, name: &str) -> Result<Option<f64>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Ok(Some(x)),
            _ => Err(AppError::BadRequest(format!(
                "`{name}` must be a score between 0 and 1, not `{v}`."
            ))),
        },
    }
}

/// Most listings a search shows below the matches it finds.
pub(super) const FOUND_SHOWN: usize = 100;

/// Lists the queue under a filter; shared by the queue, seller and product pages.
pub(super) async fn list(
    state: &Shared,
    session: Session,
    query: QueueQuery,
    heading: String,
    back: String,
    extra: Option<Markup>,
) -> Result<Markup> {
    let started = Instant::now();
    let page = query.page.unwrap_or(1).max(1);
    let deepest = QUEUE_DEPTH / PAGE_SIZE;
    if page > deepest {
        return Err(AppError::BadRequest(format!(
            "`page` goes up to {deepest}: the queue lists the first {QUEUE_DEPTH} matches of a filter. \
             Narrow the filters or change the order to reach others."
        )));
    }
    let status = status_filter(&query)?;
    if let Some(since) = query.since.as_deref().filter(|s| !s.is_empty()) {
        if chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d").is_err() {
            return Err(AppError::BadRequest(format!(
                "`since` must be a date such as 2026-11-01, not `{since}`."
            )));
        }
    }
    let search = query.q.clone().unwrap_or_default();
    let listing_ids = if search.trim().is_empty() {
        None
    } else {
        let text = state.text.as_ref().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "the full-text index under index/text could not be opened; run `knockoff index`"
            ))
        })?;
        Some(text.search(&search, 10_000)?)
    };
    // The search finds every crawled listing, matched or not: shown below
    // the matches, each with its matches or a way to open one.
    let found = match &listing_ids {
        Some(ids) => {
            let store = state.store.clone();
            let shown: Vec<i64> = ids.iter().take(FOUND_SHOWN).copied().collect();
            let total = ids.len();
            let rows = blocking(move || {
                let listings = store.listings_by_ids(&shown)?;
                listings
                    .into_iter()
                    .map(|l| {
                        let matches = store.listing_matches(l.id)?;
                        Ok((l, matches))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .await?;
            Some(pages::found_listings(&search, &rows, total))
        }
        None => None,
    };
    let extra = match (found, extra) {
        (Some(found), Some(extra)) => Some(maud::html! { (found) (extra) }),
        (found, extra) => found.or(extra),
    };
    let sort = match query.sort.as_deref().filter(|s| !s.is_empty()) {
        None => QueueSort::Score,
        Some(word) => word
            .parse()
            .map_err(|e| AppError::BadRequest(format!("`sort`: {e}.")))?,
    };
    let grid = match query.view.as_deref().unwrap_or("") {
        "" | "cards" => false,
        "grid" => true,
        other => {
            return Err(AppError::BadRequest(format!(
                "`view` is cards or grid, not `{other}`."
            )))
        }
    };
    let filter = QueueFilter {
        sort,
        status,
        product: query.product.clone(),
        target: query.target.clone(),
        seller: query.seller.clone(),
        min_score: score_bound(&query.min, "min")?,
        max_score: score_bound(&query.max, "max")?,
        seen_since: query.since.clone(),
        listing_ids,
        network: query.network,
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    let store = state.store.clone();
    let for_store = filter.clone();
    let actor = session.user.name.clone();
    let may_undo = session.user.role.can_decide();
    let (result, undo) = blocking(move || {
        let page = store.queue_page(&for_store)?;
        let undo = if may_undo {
            store.last_decision(&actor)?
        } else {
            None
        };
        Ok((page, undo))
    })
    .await?;
    let server_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(pages::queue(&pages::QueueView {
        config: &state.config,
        session: &session,
        filter: &filter,
        search: &search,
        entries: &result.entries,
        total: result.total,
        more: result.more,
        page,
        heading,
        back,
        server_ms,
        extra,
        grid,
        undo,
    }))
}

pub(super) async fn queue_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    uri: axum::http::Uri,
    Query(query): Query<QueueQuery>,
) -> Result<Markup> {
    let heading = status_filter(&query)?.heading();
    list(&state, session, query, heading.into(), this_url(&uri), None).await
}

#[derive(serde::Deserialize)]
pub(super) struct SellerQuery {
    name: String,
    /// The account's marketplace; without it, the name on every one.
    target: Option<String>,
}

pub(super) async fn seller_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    uri: axum::http::Uri,
    Query(seller): Query<SellerQuery>,
) -> Result<Markup> {
    const SHOWN: usize = 500;
    let store = state.store.clone();
    let name = seller.name.clone();
    let target = seller.target.clone().filter(|t| !t.is_empty());
    let boilerplate = state.config.settings.network_boilerplate;
    let (listings, confirmed, profile) = blocking(move || {
        let profile = match &target {
            Some(target) => crate::networks::profile(&store, target, &name, boilerplate)?,
            None => None,
        };
        let listings: Vec<_> = store
            .seller_listings(&name, SHOWN)?
            .into_iter()
            .filter(|l| target.as_ref().is_none_or(|t| *t == l.target))
            .collect();
        let confirmed = store.seller_confirmed(&name, target.as_deref())?;
        Ok((listings, confirmed, profile))
    })
    .await?;
    let heading = match &seller.target {
        Some(target) if !target.is_empty() => format!("Seller {} on {target}", seller.name),
        _ => format!("Seller {}", seller.name),
    };
    let query = QueueQuery {
        status: Some("all".into()),
        seller: Some(seller.name.clone()),
        target: seller.target.clone(),
        ..QueueQuery::default()
    };
    let extra = Some(maud::html! {
        @if let Some(profile) = &profile { (pages::seller_profile(profile)) }
        (pages::seller_listings(&listings, SHOWN, confirmed))
    });
    list(&state, session, query, heading, this_url(&uri), extra).await
}

pub(super) async fn product_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    uri: axum::http::Uri,
    Path(product): Path<String>,
) -> Result<Markup> {
    let Some(found) = state
        .config
        .catalog
        .products
        .iter()
        .find(|p| p.id == product)
    else {
        return Err(AppError::NotFound(format!(
            "There is no product `{product}`."
        )));
    };
    let heading = format!("{} · {}", found.id, found.name);
    let query = QueueQuery {
        status: Some("all".into()),
        product: Some(product),
        ..QueueQuery::default()
    };
    list(&state, session, query, heading, this_url(&uri), None).await
}
