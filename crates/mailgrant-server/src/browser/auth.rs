//! The OAuth redirect flow: start an authorization, take Google's callback,
//! sign out, disconnect.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use mailgrant::SecretString;
use mailgrant::oauth::{AuthorizationRequest, RedirectTarget};
use serde::Deserialize;

use super::{PageError, SignedIn};
use crate::failure::Failure;
use crate::session::{self, Login, Session};
use crate::state::AppState;

fn bad_request(message: impl Into<String>) -> PageError {
    PageError::Failed(Failure::BadRequest(message.into()))
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    login_hint: Option<String>,
    prompt: Option<String>,
    /// Space-separated scopes for an incremental request; default: configured.
    scope: Option<String>,
}

/// `GET /oauth2/authorize`: keeps state and PKCE verifier in the login cookie and
/// sends the browser to Google. Only scopes this server is configured with
/// (or may ask for on demand) are asked for: a crafted link must not make a
/// user grant more.
pub async fn authorize(
    State(state): State<AppState>,
    user: Option<SignedIn>,
    jar: PrivateCookieJar,
    Query(query): Query<AuthorizeQuery>,
) -> Result<Response, PageError> {
    let scopes: Vec<String> = query
        .scope
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if let Some(refused) = scopes.iter().find(|s| !state.0.may_request(s)) {
        return Err(bad_request(format!(
            "this server does not ask for the scope {refused} (it asks only for those of --scopes and --optional-scopes)"
        )));
    }
    let login_hint = query
        .login_hint
        .filter(|h| !h.is_empty())
        .or_else(|| user.and_then(|u| u.session.email));
    let request = AuthorizationRequest {
        scopes,
        login_hint,
        force_consent: query.prompt.as_deref() == Some("consent"),
    };
    let (url, pending) = state
        .0
        .broker
        .oauth()
        .authorization_url(&state.0.redirect_uri, &request);
    let jar = state.0.cookies.start_login(jar, pending);
    Ok((
        jar,
        (StatusCode::FOUND, [(header::LOCATION, url.to_string())]),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `GET /oauth2callback`: checks the single-use state, exchanges the code, stores
/// the grant and signs the user in.
pub async fn callback(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    // The login cookie is removed whatever happens: a state is good once.
    let (jar, login) = state.0.cookies.take_login(jar, &headers);
    match finish(&state, login, query).await {
        Ok(Some(session)) => {
            (state.0.cookies.sign_in(jar, &session), Redirect::to("/")).into_response()
        }
        Ok(None) => (jar, Redirect::to("/?notice=access_denied")).into_response(),
        Err(error) => (jar, error).into_response(),
    }
}

/// The signed-in user, or `None` when they declined at Google.
async fn finish(
    state: &AppState,
    login: Option<Login>,
    query: CallbackQuery,
) -> Result<Option<Session>, PageError> {
    let login = login.ok_or_else(|| {
        bad_request(
            "no sign-in is in progress in this browser (its state is missing, used or expired); start again",
        )
    })?;
    let returned = query
        .state
        .ok_or_else(|| bad_request("the callback has no state parameter"))?;
    if !same(&returned, &login.pending.state) {
        return Err(bad_request(
            "the state does not match this sign-in (forged or replayed request)",
        ));
    }
    // Good once across every replica, not only once per browser: a copied
    // login cookie replayed with its callback is refused.
    if !session::use_state(store(state), &login)
        .await
        .map_err(mailgrant::Error::from)?
    {
        return Err(bad_request(
            "this sign-in was completed already (its state was used); start again",
        ));
    }
    if let Some(error) = query.error {
        return match error.as_str() {
            "access_denied" => Ok(None),
            _ => Err(bad_request(format!("Google answered: {error}"))),
        };
    }
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad_request("the callback has no code"))?;
    let verifier = SecretString::from(login.pending.pkce_verifier);
    let redirect = RedirectTarget::Callback(state.0.redirect_uri.clone());
    // No refresh token returned or stored: the error sends the user back
    // through consent.
    let connected = state
        .0
        .broker
        .complete_authorization(&code, Some(&verifier), &redirect)
        .await?;
    state.0.connected(&connected.user.id).await;
    let session = session::begin(
        store(state),
        connected.user.id,
        connected.user.email,
        connected.new_refresh_token,
    )
    .await
    .map_err(mailgrant::Error::from)?;
    Ok(Some(session))
}

fn store(state: &AppState) -> &dyn mailgrant::store::CredentialStore {
    state.0.broker.store().as_ref()
}

/// `POST /logout`: ends the user's sessions, in this browser and (through
/// the store) every other; the stored grant stays.
pub async fn logout(
    State(state): State<AppState>,
    user: Option<SignedIn>,
    jar: PrivateCookieJar,
) -> Response {
    let jar = state.0.cookies.sign_out(jar);
    if let Some(user) = user
        && let Err(error) = session::end_all(store(&state), &user.session.user_id).await
    {
        return (jar, PageError::from(mailgrant::Error::from(error))).into_response();
    }
    (jar, Redirect::to("/")).into_response()
}

/// `POST /disconnect`: revokes the grant at Google and deletes the stored credentials.
pub async fn disconnect(
    State(state): State<AppState>,
    user: SignedIn,
    jar: PrivateCookieJar,
) -> Result<Response, PageError> {
    // Ends every session of the user too.
    state.0.disconnect(&user.session.user_id).await?;
    Ok((
        state.0.cookies.sign_out(jar),
        Redirect::to("/?notice=disconnected"),
    )
        .into_response())
}
