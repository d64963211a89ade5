//! The JSON API for the signed-in user.

use axum::Json;
use axum::extract::{Query, State};
use axum_extra::extract::PrivateCookieJar;
use mailgrant::gmail::{ListMessages, MessageList};
use serde::Deserialize;

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
    if let Some(max) = query.max_results
        && !(1..=500).contains(&max)
    {
        return Err(AppError::BadRequest(
            "maxResults must be between 1 and 500".to_owned(),
        ));
    }
    let params = ListMessages {
        q: query.q,
        max_results: query.max_results,
        page_token: query.page_token,
        ..ListMessages::default()
    };
    let page = list_for(&state, &session, &params).await?;
    Ok(Json(page))
}

/// Lists a page for the session's user; a user whose row is gone must connect again.
pub async fn list_for(
    state: &AppState,
    session: &Session,
    params: &ListMessages,
) -> Result<MessageList, AppError> {
    match state
        .0
        .gmail
        .user(&session.user_id)
        .list_messages(params)
        .await
    {
        Ok(page) => Ok(page),
        Err(mailgrant::Error::UnknownUser(_)) => Err(AppError::Reauthorize {
            authorization_url: state.0.broker.reauthorization_url(session.email.as_deref()),
            reason: "no stored credentials for this user".to_owned(),
        }),
        Err(error) => Err(error.into()),
    }
}
