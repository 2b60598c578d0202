//! A match's page and what a reviewer does to matches: decisions, escalation, notes, undo, bulk actions, bundles and takedowns; a listing's own page and opening a match on it by hand.

use super::*;

pub(super) async fn match_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Markup> {
    let store = state.store.clone();
    let config = state.config.clone();
    let judges = state.judges.clone();
    let (entry, history, explanation, contacts) = blocking(move || {
        let entry = store.review_entry(MatchId(id))?;
        let contacts = match &entry {
            Some(e) => store.contacts_of(crate::store::ListingId(e.listing_id))?,
            None => Vec::new(),
        };
        // The listing judged again against every product, as `knockoff
        // explain` does; a failure costs the section, not the page.
        let explanation = entry.as_ref().and_then(|_| {
            crate::explain::explain(
                &config,
                &store,
                &judges,
                &crate::explain::Subject::Match(MatchId(id)),
            )
            .map_err(|error| tracing::warn!("explaining match #{id}: {error:#}"))
            .ok()
        });
        Ok((
            entry,
            store.audit_log(Some(MatchId(id)))?,
            explanation,
            contacts,
        ))
    })
    .await?;
    let entry = entry.ok_or_else(|| AppError::NotFound(format!("There is no match #{id}.")))?;
    Ok(pages::match_page(
        &state.config,
        &session,
        &entry,
        &history,
        explanation.as_ref(),
        &contacts,
    ))
}

/// One crawled listing, matched or not: its fields, photos and matches,
/// and for a reviewer the form that opens a match on it by hand.
pub(super) async fn listing_page(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Markup> {
    let store = state.store.clone();
    let (listing, matches) = blocking(move || {
        let listing = store.listings_by_ids(&[id])?.pop();
        let matches = match &listing {
            Some(l) => store.listing_matches(l.id)?,
            None => Vec::new(),
        };
        Ok((listing, matches))
    })
    .await?;
    let listing =
        listing.ok_or_else(|| AppError::NotFound(format!("There is no listing #{id}.")))?;
    Ok(pages::listing_page(
        &state.config,
        &session,
        &listing,
        &matches,
    ))
}

/// Opens a match by hand on listing `id`: a product and a reason
/// required, audited, then the new match's page.
pub(super) async fn open_match(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    form.check_csrf(&session)?;
    require_decider(&session)?;
    let product = form.get("product").unwrap_or("").to_string();
    let reason: String = form
        .get("reason")
        .unwrap_or("")
        .chars()
        .take(2000)
        .collect();
    let (config, store, judges) = (
        state.config.clone(),
        state.store.clone(),
        state.judges.clone(),
    );
    let actor = session.user.name.clone();
    let opened = blocking(move || {
        crate::explain::open_by_hand(
            &config,
            &store,
            &judges,
            crate::store::ListingId(id),
            &product,
            &actor,
            &reason,
        )
    })
    .await?;
    Ok(Redirect::to(&format!("/match/{}", opened.0)).into_response())
}

/// Applies one action to one match; `Ok(false)` when it was no longer pending.
pub(super) fn apply(
    store: &Store,
    id: MatchId,
    action: Action,
    actor: &str,
    text: Option<&str>,
) -> anyhow::Result<bool> {
    match action {
        Action::Confirm => store.decide_pending(id, Decision::Confirm, actor, text),
        Action::Dismiss => store.decide_pending(id, Decision::Dismiss, actor, text),
        Action::Escalate => store.escalate(id, actor, text),
        Action::Undo => store.undo_decision(id, actor).map(|_| true),
        Action::Note => {
            store.add_note(id, actor, text.unwrap_or(""))?;
            Ok(true)
        }
    }
}

pub(super) async fn act(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path((id, action)): Path<(i64, String)>,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    form.check_csrf(&session)?;
    require_decider(&session)?;
    match action.as_str() {
        "notice" => return draft_notice(&state, &session, id, &form).await,
        "takedown" => return set_takedown(&state, &session, id, &form).await,
        _ => {}
    }
    let action: Action = action
        .parse()
        .map_err(|_| AppError::NotFound(format!("There is no action `{action}`.")))?;
    let text = match action {
        Action::Confirm | Action::Escalate => form.get("note").map(str::to_string),
        Action::Undo => None,
        Action::Dismiss => Some(
            form.get("other")
                .or(form.get("reason"))
                .unwrap_or(DISMISS_REASONS[0])
                .to_string(),
        ),
        Action::Note => Some(
            form.get("note")
                .map(str::to_string)
                .ok_or_else(|| AppError::BadRequest("A note needs some text.".into()))?,
        ),
    };
    let text = text.map(|t| t.chars().take(2000).collect::<String>());
    let store = state.store.clone();
    let actor = session.user.name.clone();
    let applied =
        blocking(move || apply(&store, MatchId(id), action, &actor, text.as_deref())).await?;
    if !applied {
        let store = state.store.clone();
        let now = blocking(move || store.review_entry(MatchId(id))).await?;
        let status = now.map_or("gone", |e| e.entry.status.as_str());
        return Err(AppError::Conflict(format!(
            "Match #{id} is {status} now: someone decided it first, so your {} changed nothing.",
            action.as_str()
        )));
    }
    Ok(Redirect::to(&form.back()).into_response())
}

pub(super) async fn bulk(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    form.check_csrf(&session)?;
    require_decider(&session)?;
    let word = form.get("action").unwrap_or("");
    let action = word
        .parse::<Action>()
        .ok()
        .filter(|a| Action::BULK.contains(a))
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "A bulk action is confirm, dismiss or escalate, not `{word}`."
            ))
        })?;
    let ids: Vec<i64> = form
        .all("ids")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| AppError::BadRequest(format!("`{v}` is not a match id.")))
        })
        .collect::<Result<_>>()?;
    let reason = (action == Action::Dismiss)
        .then(|| form.get("reason").unwrap_or(DISMISS_REASONS[0]).to_string());
    let store = state.store.clone();
    let actor = session.user.name.clone();
    blocking(move || {
        for id in ids {
            apply(&store, MatchId(id), action, &actor, reason.as_deref())?;
        }
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&form.back()).into_response())
}

/// The evidence bundle of a confirmed match. A bundle that states the
/// match as it stands is served as it is, never re-exported behind
/// counsel's back; when there is none, or a later decision (a note, an
/// escalation, the match reopened and confirmed again) made it stale, a
/// reviewer's download exports a fresh one — the old one kept, both
/// hashes audited — and a viewer is told to ask one.
pub(super) async fn bundle(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let store = state.store.clone();
    let config = state.config.clone();
    let may_export = session.user.role.can_decide();
    let actor = session.user.name.clone();
    let bytes = blocking(move || {
        let Some(entry) = store.review_entry(MatchId(id))? else {
            return Ok(Err(AppError::NotFound(format!("There is no match #{id}."))));
        };
        if entry.entry.status != MatchStatus::Confirmed {
            return Ok(Err(AppError::BadRequest(format!(
                "Match #{id} is {}; bundles are for confirmed matches.",
                entry.entry.status
            ))));
        }
        let out = config.workspace.join("evidence");
        let path = match crate::evidence::current_bundle(&store, MatchId(id), &out)? {
            Some(path) => path,
            None if !may_export => {
                return Ok(Err(AppError::Forbidden(format!(
                    "Match #{id} has no current evidence bundle; a reviewer's download exports it."
                ))))
            }
            None => crate::evidence::current_or_export(&config, &store, MatchId(id), &out, &actor)?,
        };
        Ok(Ok(std::fs::read(&path)?))
    })
    .await?;
    Ok(zip_download(&format!("bundle-{id}.zip"), bytes?))
}

/// The notice template a form names (`generic` when it names none).
pub(super) fn template_of(form: &Form) -> Result<String> {
    let template = form.get("template").unwrap_or("generic").to_string();
    if !crate::takedown::TEMPLATES
        .iter()
        .any(|(name, _)| *name == template)
    {
        return Err(AppError::BadRequest(format!(
            "There is no template `{template}`."
        )));
    }
    Ok(template)
}

/// Drafts the takedown notice of one confirmed match and downloads it.
pub(super) async fn draft_notice(
    state: &Shared,
    session: &Session,
    id: i64,
    form: &Form,
) -> Result<Response> {
    let template = template_of(form)?;
    let store = state.store.clone();
    let config = state.config.clone();
    let actor = session.user.name.clone();
    let mut notices = blocking(move || {
        let out = config.workspace.join("takedowns");
        crate::takedown::draft(&config, &store, &[MatchId(id)], &template, &out, &actor)
    })
    .await?;
    let notice = notices.remove(0);
    let name = notice
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "notice.txt".into());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        notice.text,
    )
        .into_response())
}

/// Records where a confirmed match's takedown stands.
pub(super) async fn set_takedown(
    state: &Shared,
    session: &Session,
    id: i64,
    form: &Form,
) -> Result<Response> {
    let takedown = form
        .get("state")
        .and_then(|word| word.parse::<crate::store::TakedownState>().ok())
        .filter(|s| *s != crate::store::TakedownState::Drafted)
        .ok_or_else(|| {
            AppError::BadRequest("A takedown is submitted, removed or rejected.".into())
        })?;
    let store = state.store.clone();
    let actor = session.user.name.clone();
    blocking(move || store.set_takedown(MatchId(id), takedown, &actor, "")).await?;
    Ok(Redirect::to(&form.back()).into_response())
}
