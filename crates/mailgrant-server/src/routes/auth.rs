//! The OAuth routes: start an authorization, take Google's callback, take a
//! one-time code from a JavaScript client, sign out, disconnect.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use mailgrant::SecretString;
use mailgrant::oauth::{AuthorizationRequest, RedirectTarget};
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::routes::api::require_session;
use crate::session::{self, Session};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    login_hint: Option<String>,
    prompt: Option<String>,
    /// Space-separated scopes for an incremental request; default: configured.
    scope: Option<String>,
}

/// `GET /oauth2/authorize`: keeps state and PKCE verifier in the login cookie and
/// sends the browser to Google.
pub async fn authorize(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let login_hint = query
        .login_hint
        .filter(|h| !h.is_empty())
        .or_else(|| session::current(&jar).and_then(|s| s.email));
    let request = AuthorizationRequest {
        scopes: query
            .scope
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        login_hint,
        force_consent: query.prompt.as_deref() == Some("consent"),
    };
    let (url, pending) = state
        .0
        .broker
        .oauth()
        .authorization_url(&state.0.redirect_uri, &request);
    let jar = session::start_login(jar, pending, state.0.secure_cookies);
    (
        jar,
        (StatusCode::FOUND, [(header::LOCATION, url.to_string())]),
    )
        .into_response()
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
    Query(query): Query<CallbackQuery>,
) -> Response {
    // The login cookie is removed whatever happens: a state is good once.
    let (jar, login) = session::take_login(jar);
    let outcome = async {
        let login = login.ok_or_else(|| {
            AppError::BadRequest(
                "no sign-in is in progress in this browser (its state is missing, used or expired); start again"
                    .to_owned(),
            )
        })?;
        let returned = query
            .state
            .ok_or_else(|| AppError::BadRequest("the callback has no state parameter".to_owned()))?;
        if !same(&returned, &login.pending.state) {
            return Err(AppError::BadRequest(
                "the state does not match this sign-in (forged or replayed request)".to_owned(),
            ));
        }
        if let Some(error) = query.error {
            return match error.as_str() {
                "access_denied" => Ok(Err(Redirect::to("/?notice=access_denied"))),
                _ => Err(AppError::BadRequest(format!("Google answered: {error}"))),
            };
        }
        let code = query
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| AppError::BadRequest("the callback has no code".to_owned()))?;
        let verifier = SecretString::from(login.pending.pkce_verifier);
        let redirect = RedirectTarget::Callback(state.0.redirect_uri.clone());
        match state
            .0
            .broker
            .complete_authorization(&code, Some(&verifier), &redirect)
            .await
        {
            Ok(connected) => Ok(Ok(Session {
                user_id: connected.user.id,
                email: connected.user.email,
            })),
            // No refresh token returned or stored: back through consent.
            Err(mailgrant::Error::ReauthorizationRequired {
                authorization_url, ..
            }) => Ok(Err(Redirect::to(authorization_url.as_str()))),
            Err(error) => Err(error.into()),
        }
    }
    .await;
    match outcome {
        Ok(Ok(session)) => (
            session::sign_in(jar, &session, state.0.secure_cookies),
            Redirect::to("/"),
        )
            .into_response(),
        Ok(Err(redirect)) => (jar, redirect).into_response(),
        Err(error) => (jar, error.into_page()).into_response(),
    }
}

#[derive(Deserialize)]
struct CodeBody {
    code: String,
}

/// `POST /oauth2/code`: a code a JavaScript client obtained itself (Google Identity
/// Services, `redirect_uri=postmessage`). `X-Requested-With` is required: a
/// cross-site form cannot set it, so it guards against CSRF
/// (https://developers.google.com/identity/protocols/oauth2/javascript-implicit-flow and
/// the server-side flow sample's check).
pub async fn one_time_code(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    if headers
        .get("x-requested-with")
        .is_none_or(|v| v.as_bytes().is_empty())
    {
        return Err(AppError::Forbidden(
            "the X-Requested-With header is required".to_owned(),
        ));
    }
    let body: CodeBody = serde_json::from_slice(&body)
        .map_err(|_| AppError::BadRequest("expected a JSON body {\"code\": \"...\"}".to_owned()))?;
    if body.code.is_empty() {
        return Err(AppError::BadRequest("the code is empty".to_owned()));
    }
    let connected = state
        .0
        .broker
        .complete_authorization(&body.code, None, &RedirectTarget::PostMessage)
        .await?;
    let session = Session {
        user_id: connected.user.id.clone(),
        email: connected.user.email.clone(),
    };
    let jar = session::sign_in(jar, &session, state.0.secure_cookies);
    let answer = json!({
        "user_id": connected.user.id,
        "email": connected.user.email,
        "scopes": connected.scopes,
        "new_refresh_token": connected.new_refresh_token,
    });
    Ok((jar, Json(answer)).into_response())
}

/// `POST /logout`: ends the session; the stored grant stays.
pub async fn logout(jar: PrivateCookieJar) -> Response {
    (session::sign_out(jar), Redirect::to("/")).into_response()
}

/// `POST /disconnect`: revokes the grant at Google and deletes the stored credentials.
pub async fn disconnect(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
) -> Result<Response, AppError> {
    let session = require_session(&state, &jar)?;
    state.0.broker.disconnect(&session.user_id).await?;
    Ok((
        session::sign_out(jar),
        Redirect::to("/?notice=disconnected"),
    )
        .into_response())
}
