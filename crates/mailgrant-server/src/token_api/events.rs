//! Pulling the change stream: `GET /v1/users/{id}/events?after=&limit=`
//! and `GET /v1/events?after=&limit=` (every user). Event ids grow in
//! commit order, so a backend that remembers the last id it handled and
//! asks `after=` it sees every event once, in order, whether or not a
//! webhook also delivers them.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::Value;

use super::{TokenApiError, not_found};
use crate::event_pull::{PullQuery, page};
use crate::state::AppState;

/// `GET /v1/users/{id}/events`.
pub(super) async fn user_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PullQuery>,
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
    Ok(Json(page(&state.0.events, Some(&id), after, limit).await?))
}

/// `GET /v1/events`.
pub(super) async fn all_events(
    State(state): State<AppState>,
    Query(query): Query<PullQuery>,
) -> Result<Json<Value>, TokenApiError> {
    let (after, limit) = query.parse()?;
    Ok(Json(page(&state.0.events, None, after, limit).await?))
}
