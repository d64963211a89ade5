//! `users.messages.list`, `users.messages.get` and
//! `users.messages.attachments.get` (discovery document; reference §5).

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::listing::{ListParams, all, first, page_position};
use super::method::Method;
use super::page_token::{self, Kind};
use super::render::{self, Format};
use super::{ok, serve, user};
use crate::mime;
use crate::reply::ApiError;
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
            let matching = params.matching(user);
            let page: Vec<_> = matching
                .iter()
                .skip(offset)
                .take(params.max_results)
                .map(|m| json!({ "id": m.id, "threadId": m.thread_id }))
                .collect();
            // With no results `messages` is absent, not empty (reference §5).
            let mut body = json!({ "resultSizeEstimate": matching.len() });
            if !page.is_empty() {
                body["messages"] = json!(page);
            }
            let end = offset.saturating_add(params.max_results);
            if end < matching.len() {
                body["nextPageToken"] =
                    json!(page_token::encode(&user.id, Kind::Messages, end as u64));
            }
            ok(&body)
        },
    )
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
    serve(
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
            ok(&render::message(
                message,
                format,
                &all(query, "metadataHeaders"),
            ))
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
            let tree = user(state, access)?
                .mailbox
                .find(&message_id)
                .map(mime::tree);
            match tree.as_ref().and_then(|t| mime::find_attachment(t, &id)) {
                Some(part) => ok(&render::attachment_body(part)),
                None => Err(ApiError::not_found()),
            }
        },
    )
}
