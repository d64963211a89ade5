//! The JSON API for the signed-in user.

use axum::Json;
use std::future::Future;

use axum::extract::{Path, Query, RawQuery, State};
use axum_extra::extract::PrivateCookieJar;
use mailgrant::gmail::{
    ListMessages, Mailbox, Message, MessageFormat, MessageList, Profile, Thread, ThreadList,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::session::{self, Session};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesQuery {
    q: Option<String>,
    page_token: Option<String>,
    max_results: Option<u32>,
}

/// The signed-in user, or 401 with where to sign in.
pub fn require_session(state: &AppState, jar: &PrivateCookieJar) -> Result<Session, AppError> {
    session::current(jar).ok_or_else(|| AppError::Unauthenticated {
        authorization_url: state.0.authorize_url.clone(),
    })
}

/// `GET /api/messages?q=&pageToken=&maxResults=`: one page of Gmail's list.
pub async fn messages(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(query): Query<MessagesQuery>,
) -> Result<Json<MessageList>, AppError> {
    let session = require_session(&state, &jar)?;
    let params = list_params(query)?;
    let page = list_for(&state, &session, &params).await?;
    Ok(Json(page))
}

fn list_params(query: MessagesQuery) -> Result<ListMessages, AppError> {
    if let Some(max) = query.max_results
        && !(1..=500).contains(&max)
    {
        return Err(AppError::BadRequest(
            "maxResults must be between 1 and 500".to_owned(),
        ));
    }
    Ok(ListMessages {
        q: query.q,
        max_results: query.max_results,
        page_token: query.page_token,
        ..ListMessages::default()
    })
}

/// Lists a page for the session's user.
pub async fn list_for(
    state: &AppState,
    session: &Session,
    params: &ListMessages,
) -> Result<MessageList, AppError> {
    for_user(state, session, |mailbox| async move {
        mailbox.list_messages(params).await
    })
    .await
}

/// Runs a Gmail call for the session's user; a user whose row is gone must
/// connect again.
pub async fn for_user<T, F, Fut>(
    state: &AppState,
    session: &Session,
    call: F,
) -> Result<T, AppError>
where
    F: FnOnce(Mailbox) -> Fut,
    Fut: Future<Output = Result<T, mailgrant::Error>>,
{
    match call(state.0.gmail.user(&session.user_id)).await {
        Ok(value) => Ok(value),
        Err(mailgrant::Error::UnknownUser(_)) => Err(AppError::Reauthorize {
            authorization_url: state.0.broker.reauthorization_url(session.email.as_deref()),
            reason: "no stored credentials for this user".to_owned(),
        }),
        Err(error) => Err(error.into()),
    }
}

/// `format` and repeated `metadataHeaders` from a raw query string (axum's
/// `Query` cannot take repeated keys).
fn format_and_headers(
    query: Option<&str>,
    default: MessageFormat,
) -> Result<(MessageFormat, Vec<String>), AppError> {
    let mut format = default;
    let mut headers = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "format" => {
                format =
                    serde_json::from_value(serde_json::Value::String(value.clone().into_owned()))
                        .map_err(|_| {
                        AppError::BadRequest(format!(
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
pub async fn message(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Message>, AppError> {
    let session = require_session(&state, &jar)?;
    let (format, headers) = format_and_headers(query.as_deref(), MessageFormat::Full)?;
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let message = for_user(&state, &session, |mailbox| async move {
        mailbox.get_message(&id, format, &headers).await
    })
    .await?;
    Ok(Json(message))
}

/// `GET /api/threads?q=&pageToken=&maxResults=`: one page of threads.
pub async fn threads(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(query): Query<MessagesQuery>,
) -> Result<Json<ThreadList>, AppError> {
    let session = require_session(&state, &jar)?;
    let params = list_params(query)?;
    let page = for_user(&state, &session, |mailbox| async move {
        mailbox.list_threads(&params).await
    })
    .await?;
    Ok(Json(page))
}

/// `GET /api/threads/{id}?format=`: a thread with its messages (no `raw`, as at Google).
pub async fn thread(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Thread>, AppError> {
    let session = require_session(&state, &jar)?;
    let (format, headers) = format_and_headers(query.as_deref(), MessageFormat::Full)?;
    if format == MessageFormat::Raw {
        return Err(AppError::BadRequest(
            "threads take format minimal, metadata or full".to_owned(),
        ));
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let thread = for_user(&state, &session, |mailbox| async move {
        mailbox.get_thread(&id, format, &headers).await
    })
    .await?;
    Ok(Json(thread))
}

/// `GET /api/labels`: the user's system and user labels.
pub async fn labels(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
) -> Result<Json<Value>, AppError> {
    let session = require_session(&state, &jar)?;
    let labels = for_user(&state, &session, |mailbox| async move {
        mailbox.list_labels().await
    })
    .await?;
    Ok(Json(json!({ "labels": labels })))
}

/// `GET /api/profile`: address, totals and the current history id.
pub async fn profile(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
) -> Result<Json<Profile>, AppError> {
    let session = require_session(&state, &jar)?;
    let profile = for_user(&state, &session, |mailbox| async move {
        mailbox.profile().await
    })
    .await?;
    Ok(Json(profile))
}
