//! Pulling the change stream: `GET /v1/users/{id}/events?after=&limit=`
//! and `GET /v1/events?after=&limit=` (every user). Event ids grow in
//! commit order, so a backend that remembers the last id it handled and
//! asks `after=` it sees every event once, in order, whether or not a
//! webhook also delivers them.

use axum::Json;
use axum::extract::{Path, Query, State};
use mailgrant::events::envelope;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MAX_PAGE, TokenApiError, not_found};
use crate::failure::Failure;
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct EventsQuery {
    after: Option<String>,
    limit: Option<u32>,
}

impl EventsQuery {
    fn parse(&self) -> Result<(i64, u32), TokenApiError> {
        let after = match self
            .after
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            None => 0,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|a| *a >= 0)
                .ok_or_else(|| {
                    TokenApiError(Failure::BadRequest(format!(
                        "after must be an event id (a whole number), not `{text}`"
                    )))
                })?,
        };
        let limit = self.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(TokenApiError(Failure::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE}"
            ))));
        }
        Ok((after, limit))
    }
}

/// `GET /v1/users/{id}/events`.
pub(super) async fn user_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<Value>, TokenApiError> {
    let (after, limit) = query.parse()?;
    let store = state.0.broker.store();
    if store
        .get(&id)
        .await
        .map_err(mailgrant::Error::from)?
        .is_none()
    {
        return Err(not_found(&id));
    }
    page(&state, Some(&id), after, limit).await
}

/// `GET /v1/events`.
pub(super) async fn all_events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<Value>, TokenApiError> {
    let (after, limit) = query.parse()?;
    page(&state, None, after, limit).await
}

async fn page(
    state: &AppState,
    user_id: Option<&str>,
    after: i64,
    limit: u32,
) -> Result<Json<Value>, TokenApiError> {
    let events = state
        .0
        .events
        .store()
        .events_after(user_id, after, limit)
        .await
        .map_err(mailgrant::Error::from)?;
    // Where to ask from next: the last id seen, or the same `after`.
    let next_after = events.last().map_or(after, |e| e.id).to_string();
    Ok(Json(json!({
        "events": events.iter().map(envelope).collect::<Vec<_>>(),
        "next_after": next_after,
    })))
}
