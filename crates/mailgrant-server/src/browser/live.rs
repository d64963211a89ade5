//! The home page's live message list. The first page of all mail carries
//! `<div id="live" data-after="ID">` and `/static/live.js`, which asks
//! `/api/events?after=ID` every two seconds for the user's new events and
//! puts each `message.added` at the top of the list with a "New mail"
//! notice. A plain file served from the binary (no build step, no inline
//! script); without JavaScript the page is the same, minus the updates.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use mailgrant::store::EventStore;

use crate::security::PagePolicy;

/// Where the script is served.
pub const SCRIPT_PATH: &str = "/static/live.js";
const SCRIPT: &str = include_str!("live.js");

/// `GET /static/live.js`.
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// The user's newest event id, where the live list starts. Read before the
/// list is: an event committed meanwhile is then fetched by the script
/// (which skips rows the page has), never missed. `None` when the store
/// cannot say: the page is shown without updates.
pub async fn starting_after(events: &dyn EventStore, user_id: &str) -> Option<i64> {
    match events.last_event(user_id).await {
        Ok(last) => Some(last.map_or(0, |event| event.id)),
        Err(error) => {
            tracing::warn!(user = %user_id, %error, "no live list: the newest event is unknown");
            None
        }
    }
}

/// The list's parts around `list`: the element the script reads and puts
/// its notice in, and the script.
pub fn around(after: i64, list: &str) -> String {
    format!(
        "<div id=\"live\" data-after=\"{after}\" aria-live=\"polite\"></div>{list}\
         <script src=\"{SCRIPT_PATH}\"></script>"
    )
}

/// What the page must allow for the script: itself, and its requests.
pub fn policy() -> PagePolicy {
    PagePolicy {
        own_scripts: true,
        ..PagePolicy::default()
    }
}
