//! Signing in and out.

use super::*;

pub(super) async fn login_page() -> Markup {
    pages::login(None)
}

/// Whether the request reached us over TLS, as a proxy in front says.
pub(super) fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

pub(super) async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let form = Form::parse(&body);
    let name = auth::login_name(form.get("name").unwrap_or(""));
    // Not `get`, which trims: spaces may belong to a password.
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let address =
        auth::client_address(peer.ip(), forwarded, &state.config.settings.trusted_proxies)
            .to_string();
    if let Some(refusal) = state.limiter.check(&name, &address) {
        // One audit row per lock, not per attempt: refused attempts cost
        // an attacker nothing, so they must cost the disk nothing either.
        if refusal.first {
            let store = state.store.clone();
            let detail = format!(
                "from {address}: rate limited; further attempts until it lifts are not logged"
            );
            let actor = name.clone();
            blocking(move || store.record_event(&actor, "sign-in refused", &detail)).await?;
        }
        return Err(AppError::TooManyAttempts(refusal.wait));
    }
    let store = state.store.clone();
    let lookup = name.clone();
    // argon2 is deliberately slow: off the async workers.
    let user = blocking(move || {
        let credentials = store.user_credentials(&lookup)?;
        let verified = auth::verify_login(&password, credentials.as_ref().map(|(_, h)| h.as_str()));
        Ok(credentials.filter(|_| verified).map(|(user, _)| user))
    })
    .await?;
    let Some(user) = user else {
        state.limiter.failed(&name, &address);
        let store = state.store.clone();
        let detail = format!("from {address}");
        blocking(move || store.record_event(&name, "sign-in failed", &detail)).await?;
        return Ok((
            StatusCode::UNAUTHORIZED,
            pages::login(Some("Wrong user name or password.")),
        )
            .into_response());
    };
    let role = user.role;
    let token = auth::random_token();
    let csrf = auth::random_token();
    let store = state.store.clone();
    let digest = auth::token_digest(&token);
    let policy = state.sessions;
    blocking(move || store.create_session(&user, &digest, &csrf, policy)).await?;
    let cookie = auth::set_cookie(&token, state.sessions.lifetime, over_tls(&headers));
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?,
        )],
        Redirect::to(pages::home(role)),
    )
        .into_response())
}

pub(super) async fn logout(
    State(state): State<Shared>,
    Extension(session): Extension<Session>,
    Extension(SessionDigest(digest)): Extension<SessionDigest>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    Form::parse(&body).check_csrf(&session)?;
    let store = state.store.clone();
    let name = session.user.name.clone();
    blocking(move || store.end_session(&digest, &name)).await?;
    let cookie = auth::clear_cookie(over_tls(&headers));
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?,
        )],
        Redirect::to("/login"),
    )
        .into_response())
}
