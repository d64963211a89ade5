//! The signed-in user's JSON API, for JavaScript in the browser: the user's
//! Gmail (`/api/...`) and the sign-in with a one-time code a JavaScript client
//! obtained itself (`POST /oauth2/code`), and the user's own change stream
//! (`/api/events`, which the home page's live list polls). Errors are JSON;
//! a request without a session gets 401 with where to sign in.

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::PrivateCookieJar;
use mailgrant::gmail::{
    ListMessages, Message, MessageFormat, MessageList, Profile, Thread, ThreadList,
};
use mailgrant::oauth::RedirectTarget;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::event_pull::{PullQuery, page};
use crate::failure::Failure;
use crate::session;
use crate::signed_in::NotSignedIn;
use crate::state::AppState;

/// The user API's error: JSON `{"error", "message", ...}`.
#[derive(Debug)]
pub struct ApiError(pub Failure);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        self.0.into_json(status)
    }
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        Self(failure)
    }
}

impl From<mailgrant::Error> for ApiError {
    fn from(error: mailgrant::Error) -> Self {
        Self(error.into())
    }
}

impl From<NotSignedIn> for ApiError {
    fn from(not: NotSignedIn) -> Self {
        Self(Failure::SignInRequired {
            authorization_url: not.authorization_url,
        })
    }
}

/// The signed-in user, or 401 JSON with where to sign in.
pub type SignedIn = crate::signed_in::SignedIn<ApiError>;

/// The routes of the user API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/code", post(one_time_code))
        .route("/api/messages", get(messages))
        .route("/api/messages/{id}", get(message))
        .route("/api/threads", get(threads))
        .route("/api/threads/{id}", get(thread))
        .route("/api/labels", get(labels))
        .route("/api/profile", get(profile))
        .route("/api/events", get(events))
}

fn bad_request(message: &str) -> ApiError {
    ApiError(Failure::BadRequest(message.to_owned()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    q: Option<String>,
    page_token: Option<String>,
    max_results: Option<u32>,
}

impl ListQuery {
    fn params(self) -> Result<ListMessages, ApiError> {
        if let Some(max) = self.max_results
            && !(1..=500).contains(&max)
        {
            return Err(bad_request("maxResults must be between 1 and 500"));
        }
        Ok(ListMessages {
            q: self.q,
            max_results: self.max_results,
            page_token: self.page_token,
            ..ListMessages::default()
        })
    }
}

/// `GET /api/messages?q=&pageToken=&maxResults=`: one page of Gmail's list.
async fn messages(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Json<MessageList>, ApiError> {
    let params = query.params()?;
    let page = user
        .gmail(&state, |mailbox| async move {
            mailbox.list_messages(&params).await
        })
        .await?;
    Ok(Json(page))
}

/// `format` and repeated `metadataHeaders` from a raw query string (axum's
/// `Query` cannot take repeated keys).
fn format_and_headers(query: Option<&str>) -> Result<(MessageFormat, Vec<String>), ApiError> {
    let mut format = MessageFormat::Full;
    let mut headers = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "format" => {
                format = serde_json::from_value(Value::String(value.clone().into_owned()))
                    .map_err(|_| {
                        bad_request(&format!(
                            "format must be minimal, metadata, full or raw, not {value}"
                        ))
                    })?;
            }
            "metadataHeaders" => headers.push(value.into_owned()),
            _ => {}
        }
    }
    Ok((format, headers))
}

/// `GET /api/messages/{id}?format=&metadataHeaders=`: one message, as Gmail gives it.
async fn message(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Message>, ApiError> {
    let (format, headers) = format_and_headers(query.as_deref())?;
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let message = user
        .gmail(&state, |mailbox| async move {
            mailbox.get_message(&id, format, &headers).await
        })
        .await?;
    Ok(Json(message))
}

/// `GET /api/threads?q=&pageToken=&maxResults=`: one page of threads.
async fn threads(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Json<ThreadList>, ApiError> {
    let params = query.params()?;
    let page = user
        .gmail(&state, |mailbox| async move {
            mailbox.list_threads(&params).await
        })
        .await?;
    Ok(Json(page))
}

/// `GET /api/threads/{id}?format=`: a thread with its messages (no `raw`, as at Google).
async fn thread(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Thread>, ApiError> {
    let (format, headers) = format_and_headers(query.as_deref())?;
    if format == MessageFormat::Raw {
        return Err(bad_request("threads take format minimal, metadata or full"));
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let thread = user
        .gmail(&state, |mailbox| async move {
            mailbox.get_thread(&id, format, &headers).await
        })
        .await?;
    Ok(Json(thread))
}

/// `GET /api/labels`: the user's system and user labels.
async fn labels(State(state): State<AppState>, user: SignedIn) -> Result<Json<Value>, ApiError> {
    let labels = user
        .gmail(&state, |mailbox| async move { mailbox.list_labels().await })
        .await?;
    Ok(Json(json!({ "labels": labels })))
}

/// `GET /api/profile`: address, totals and the current history id.
async fn profile(State(state): State<AppState>, user: SignedIn) -> Result<Json<Profile>, ApiError> {
    let profile = user
        .gmail(&state, |mailbox| async move { mailbox.profile().await })
        .await?;
    Ok(Json(profile))
}

/// `GET /api/events?after=&limit=`: the signed-in user's own events, as
/// backends pull them (`/v1/users/{id}/events`), never another user's.
async fn events(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<PullQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.parse()?;
    let own = Some(user.session.user_id.as_str());
    Ok(Json(page(&state.0.events, own, after, limit).await?))
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
async fn one_time_code(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if headers
        .get("x-requested-with")
        .is_none_or(|v| v.as_bytes().is_empty())
    {
        return Err(ApiError(Failure::Forbidden(
            "the X-Requested-With header is required".to_owned(),
        )));
    }
    let body: CodeBody = serde_json::from_slice(&body)
        .map_err(|_| bad_request("expected a JSON body {\"code\": \"...\"}"))?;
    if body.code.is_empty() {
        return Err(bad_request("the code is empty"));
    }
    let connected = state
        .0
        .broker
        .complete_authorization(&body.code, None, &RedirectTarget::PostMessage)
        .await?;
    state.0.connected(&connected.user.id).await;
    let session = session::begin(
        state.0.broker.store().as_ref(),
        connected.user.id.clone(),
        connected.user.email.clone(),
        connected.new_refresh_token,
    )
    .await
    .map_err(mailgrant::Error::from)?;
    let jar = state.0.cookies.sign_in(jar, &session);
    let answer = json!({
        "user_id": connected.user.id,
        "email": connected.user.email,
        "scopes": connected.scopes,
        "new_refresh_token": connected.new_refresh_token,
    });
    Ok((jar, Json(answer)).into_response())
}
