//! A seller network's page, its dossier, and acting on all its matches at once.

use super::*;

/// One seller network as the last judging pass grouped it.
pub(super) async fn find_network(
    state: &Shared,
    id: i64,
) -> Result<crate::networks::NetworkReport> {
    let store = state.store.clone();
    let boilerplate = state.config.settings.network_boilerplate;
    blocking(move || crate::networks::network(&store, boilerplate, id))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no seller network #{id}.")))
}

/// A seller network: its matches, its graph, its accounts and links, and
/// the actions on all of it.
pub(super) async fn network_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    uri: axum::http::Uri,
    Path(id): Path<i64>,
) -> Result<Markup> {
    let network = find_network(&state, id).await?;
    let sites: std::collections::BTreeSet<&str> =
        network.members.iter().map(|m| m.target.as_str()).collect();
    let heading = format!(
        "Seller network #{id}: {} accounts on {} marketplace{}",
        network.members.len(),
        sites.len(),
        if sites.len() == 1 { "" } else { "s" }
    );
    let back = this_url(&uri);
    let extra = Some(pages::network_section(&session, &network, &back));
    let query = QueueQuery {
        status: Some("all".into()),
        network: Some(id),
        ..QueueQuery::default()
    };
    list(&state, session, query, heading, back, extra).await
}

/// The matches of a network's accounts in one state (at most 10,000).
pub(super) fn network_matches(
    store: &Store,
    network: i64,
    status: StatusFilter,
) -> anyhow::Result<Vec<ReviewEntry>> {
    Ok(store
        .queue_page(&QueueFilter {
            status,
            product: None,
            target: None,
            seller: None,
            min_score: None,
            max_score: None,
            seen_since: None,
            listing_ids: None,
            network: Some(network),
            sort: QueueSort::Score,
            offset: 0,
            limit: 10_000,
        })?
        .entries)
}

/// Exports a network's dossier (audited) and downloads it.
pub(super) async fn network_dossier(
    state: &Shared,
    session: &Session,
    network: crate::networks::NetworkReport,
) -> Result<Response> {
    let id = network.id;
    let store = state.store.clone();
    let config = state.config.clone();
    let actor = session.user.name.clone();
    let bytes = blocking(move || {
        let out = config.workspace.join("evidence");
        let exported =
            crate::evidence::dossier::export_network(&config, &store, &network, &out, &actor)?;
        Ok(std::fs::read(&exported.path)?)
    })
    .await?;
    Ok(zip_download(&format!("network-{id}.zip"), bytes))
}

/// The bulk actions on a network: confirm every pending match of its
/// accounts, draft the notices of every confirmed one, or export its
/// dossier.
pub(super) async fn network_act(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path((id, action)): Path<(i64, String)>,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    form.check_csrf(&session)?;
    require_decider(&session)?;
    let network = find_network(&state, id).await?;
    let store = state.store.clone();
    let actor = session.user.name.clone();
    match action.as_str() {
        "dossier" => network_dossier(&state, &session, network).await,
        "confirm" => {
            let note = form
                .get("note")
                .filter(|n| !n.trim().is_empty())
                .map(|n| n.chars().take(2000).collect::<String>());
            blocking(move || {
                for entry in network_matches(&store, id, StatusFilter::Pending)? {
                    apply(
                        &store,
                        MatchId(entry.entry.id),
                        Action::Confirm,
                        &actor,
                        note.as_deref(),
                    )?;
                }
                Ok(())
            })
            .await?;
            Ok(Redirect::to(&form.back()).into_response())
        }
        "notices" => {
            let template = template_of(&form)?;
            let config = state.config.clone();
            let drafted = blocking(move || {
                let ids: Vec<MatchId> = network_matches(&store, id, StatusFilter::Confirmed)?
                    .iter()
                    .map(|e| MatchId(e.entry.id))
                    .collect();
                if ids.is_empty() {
                    return Ok(Err(format!(
                        "Network #{id} has no confirmed match to draft a notice for."
                    )));
                }
                let out = config.workspace.join("takedowns");
                let notices =
                    crate::takedown::draft(&config, &store, &ids, &template, &out, &actor)?;
                Ok(Ok((ids.len(), notices)))
            })
            .await?
            .map_err(AppError::BadRequest)?;
            let (matches, notices) = drafted;
            let files: Vec<String> = notices
                .iter()
                .map(|n| n.path.display().to_string())
                .collect();
            Ok(pages::message(
                &format!("Notices drafted for network #{id}"),
                &format!(
                    "{} notice(s) for {matches} confirmed match(es), with their evidence bundles: {}",
                    notices.len(),
                    files.join(", ")
                ),
                Some(&session),
            )
            .into_response())
        }
        _ => Err(AppError::NotFound(format!(
            "There is no network action `{action}`."
        ))),
    }
}
