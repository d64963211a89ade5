//! `users.threads.list` and `users.threads.get` (discovery document
//! `Thread`, `ListThreadsResponse`; reference §5 Threads).

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::listing::{ListParams, all, page_position};
use super::messages::format;
use super::method::Method;
use super::page_token::{self, Kind};
use super::render::{self, Format, Snapshot};
use super::{ok, serve, user};
use crate::mailbox::{Mailbox, Message};
use crate::mime;
use crate::reply::ApiError;
use crate::state::Shared;

/// A thread's `historyId`: "the ID of the last history record that
/// modified this thread" (discovery document), so its newest message's.
fn thread_history_id(mailbox: &Mailbox, thread_id: &str) -> u64 {
    mailbox
        .messages
        .iter()
        .filter(|m| m.thread_id == thread_id)
        .map(|m| m.history_id)
        .max()
        .unwrap_or_default()
}

/// Threads with a matching message, the thread of the newest match first;
/// each listed with the snippet of that message and no `messages`.
pub async fn list(
    State(shared): State<Shared>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    serve(
        &shared,
        &headers,
        query,
        &user_id,
        Method::ThreadsList,
        |state, access, query| {
            let params = ListParams::parse(query, access)?;
            let user = user(state, access)?;
            let offset = usize::try_from(page_position(query, user, Kind::Threads)?).unwrap_or(0);
            let mut threads: Vec<&Message> = Vec::new();
            for message in params.matching(user, state.clock.epoch_ms()) {
                if !threads.iter().any(|t| t.thread_id == message.thread_id) {
                    threads.push(message);
                }
            }
            let page: Vec<Value> = threads
                .iter()
                .skip(offset)
                .take(params.max_results)
                .map(|m| {
                    json!({
                        "id": m.thread_id,
                        "snippet": mime::layout(m).snippet,
                        "historyId": thread_history_id(&user.mailbox, &m.thread_id).to_string(),
                    })
                })
                .collect();
            // As messages.list: no `threads` field when nothing matches.
            let mut body = json!({ "resultSizeEstimate": threads.len() });
            if !page.is_empty() {
                body["threads"] = json!(page);
            }
            let end = offset.saturating_add(params.max_results);
            if end < threads.len() {
                body["nextPageToken"] =
                    json!(page_token::encode(&user.id, Kind::Threads, end as u64));
            }
            ok(&body)
        },
    )
}

/// Every message of the thread, oldest first, in `format` (no `raw` for
/// threads). The reference lists `snippet` among the fields; it is the
/// newest message's, as in `threads.list`.
pub async fn get(
    State(shared): State<Shared>,
    Path((user_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    serve(
        &shared,
        &headers,
        query,
        &user_id,
        Method::ThreadsGet,
        |state, access, query| {
            let formats = [Format::Minimal, Format::Metadata, Format::Full];
            let format = format(query, access.access, &formats)?;
            let mailbox = &user(state, access)?.mailbox;
            let messages = mailbox.thread(&id);
            let Some(newest) = messages.last() else {
                return Err(ApiError::not_found());
            };
            let headers = all(query, "metadataHeaders");
            let snapshots: Vec<Snapshot> = messages.iter().map(|m| Snapshot::of(m)).collect();
            let rendered: Vec<_> = snapshots
                .iter()
                .map(|m| render::message(m, format, &headers))
                .collect();
            ok(&json!({
                "id": id,
                "snippet": mime::layout(newest).snippet,
                "historyId": thread_history_id(mailbox, &id).to_string(),
                "messages": rendered,
            }))
        },
    )
}
