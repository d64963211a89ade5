//! `users.messages.list`, `users.messages.get` and
//! `users.messages.attachments.get` (discovery document; reference §5).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::listing::{ListParams, all, first, page_position};
use super::method::Method;
use super::page_token::{self, Kind};
use super::render::{self, Format, Snapshot};
use super::{ok, serve, serve_then, user};
use crate::mime;
use crate::reply::{self, ApiError};
use crate::scopes::GmailAccess;
use crate::state::Shared;

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
        Method::MessagesList,
        |state, access, query| {
            let params = ListParams::parse(query, access)?;
            let user = user(state, access)?;
            let offset = usize::try_from(page_position(query, user, Kind::Messages)?).unwrap_or(0);
            let matching = params.matching(user, state.clock.epoch_ms());
            let page: Vec<_> = matching
                .iter()
                .skip(offset)
                .take(params.max_results)
                .map(|m| MessageRef {
                    id: &m.id,
                    thread_id: &m.thread_id,
                })
                .collect();
            let end = offset.saturating_add(params.max_results);
            ok(&MessageList {
                // With no results `messages` is absent, not empty (reference §5).
                messages: (!page.is_empty()).then_some(page),
                next_page_token: (end < matching.len())
                    .then(|| page_token::encode(&user.id, Kind::Messages, end as u64)),
                result_size_estimate: matching.len(),
            })
        },
    )
}

/// A `ListMessagesResponse`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageList<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<MessageRef<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    result_size_estimate: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageRef<'a> {
    id: &'a str,
    thread_id: &'a str,
}

/// The `format` parameter (default `full`), refused for metadata-only
/// tokens when it would show bodies.
pub fn format(
    query: &[(String, String)],
    access: GmailAccess,
    allowed: &[Format],
) -> Result<Format, ApiError> {
    let format = match first(query, "format") {
        None => Format::Full,
        Some(raw) => Format::parse(raw)
            .filter(|f| allowed.contains(f))
            .ok_or_else(|| {
                ApiError::invalid_argument(format!("Invalid value at 'format', \"{raw}\""))
            })?,
    };
    // "Format cannot be used when accessing the api using the
    // gmail.metadata scope" (discovery document, `full` and `raw`).
    if access == GmailAccess::MetadataOnly && matches!(format, Format::Full | Format::Raw) {
        return Err(ApiError::forbidden(format!(
            "Metadata scope doesn't allow format {}",
            format.name()
        )));
    }
    Ok(format)
}

pub async fn get(
    State(shared): State<Shared>,
    Path((user_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    serve_then(
        &shared,
        &headers,
        query,
        &user_id,
        Method::MessagesGet,
        |state, access, query| {
            let all_formats = [Format::Minimal, Format::Metadata, Format::Full, Format::Raw];
            let format = format(query, access.access, &all_formats)?;
            let message = user(state, access)?
                .mailbox
                .find(&id)
                .ok_or_else(ApiError::not_found)?;
            let metadata_headers = all(query, "metadataHeaders");
            Ok((Snapshot::of(message), format, metadata_headers))
        },
        |(message, format, metadata_headers)| {
            let rendered = render::message(&message, format, &metadata_headers);
            reply::json(StatusCode::OK, &rendered)
        },
    )
}

pub async fn attachment(
    State(shared): State<Shared>,
    Path((user_id, message_id, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    serve(
        &shared,
        &headers,
        query,
        &user_id,
        Method::AttachmentsGet,
        |state, access, _| {
            let layout = user(state, access)?
                .mailbox
                .find(&message_id)
                .map(mime::layout);
            match layout
                .and_then(|l| mime::find_attachment(&l.tree, &id).map(render::attachment_body))
            {
                Some(body) => ok(&body),
                None => Err(ApiError::not_found()),
            }
        },
    )
}
