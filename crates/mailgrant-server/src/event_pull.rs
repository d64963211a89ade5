//! Pulling the change stream, for the two audiences that may: backends
//! (`/v1/.../events`, [`crate::token_api`]) and the signed-in user's own
//! page (`/api/events`, [`crate::user_api`]). Event ids grow in commit
//! order, so a reader that remembers the last id it handled and asks
//! `after=` it sees every event once, in order.

use mailgrant::events::{Events, envelope};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::failure::Failure;

/// Most events one page holds.
pub const MAX_PAGE: u32 = 500;
/// Events in a page when `limit` is not given.
const DEFAULT_PAGE: u32 = 100;

/// `?after=&limit=`.
#[derive(Deserialize)]
pub struct PullQuery {
    after: Option<String>,
    limit: Option<u32>,
}

impl PullQuery {
    /// `(after, limit)`: without `after`, from the stream's start.
    pub fn parse(&self) -> Result<(i64, u32), Failure> {
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
                    Failure::BadRequest(format!(
                        "after must be an event id (a whole number), not `{text}`"
                    ))
                })?,
        };
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Failure::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        Ok((after, limit))
    }
}

/// `{"events": [envelope, ...], "next_after"}`: one user's events (or
/// everyone's) with ids above `after`, oldest first.
pub async fn page(
    events: &Events,
    user_id: Option<&str>,
    after: i64,
    limit: u32,
) -> Result<Value, mailgrant::Error> {
    let events = events
        .store()
        .events_after(user_id, after, limit)
        .await
        .map_err(mailgrant::Error::from)?;
    // Where to ask from next: the last id seen, or the same `after`.
    let next_after = events.last().map_or(after, |e| e.id).to_string();
    Ok(json!({
        "events": events.iter().map(envelope).collect::<Vec<_>>(),
        "next_after": next_after,
    }))
}
