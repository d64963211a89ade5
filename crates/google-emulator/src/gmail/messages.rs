//! `users.messages.list`, `users.messages.get` and
//! `users.messages.attachments.get` (discovery document; reference §5).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::render::{self, Format};
use super::{authorize, page_token, pairs};
use crate::mime;
use crate::reply::{ApiError, json};
use crate::scopes::GmailAccess;
use crate::search::{Query, Target};
use crate::state::{Shared, lock};

const DEFAULT_MAX_RESULTS: usize = 100;
/// The documented maximum. Larger values are served as 500 here; what
/// Google does with them (clamp or 400) is unconfirmed.
const MAX_MAX_RESULTS: usize = 500;

fn first<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn all(query: &[(String, String)], name: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The list parameters that do not need the mailbox.
struct ListParams {
    max_results: usize,
    include_spam_trash: bool,
    q: Option<String>,
}

fn list_params(query: &[(String, String)]) -> Result<ListParams, ApiError> {
    let max_results = match first(query, "maxResults") {
        None => DEFAULT_MAX_RESULTS,
        Some(raw) => match raw.parse::<u32>() {
            Ok(0) => return Err(ApiError::invalid_argument("Invalid maxResults: 0")),
            Ok(n) => usize::try_from(n)
                .unwrap_or(MAX_MAX_RESULTS)
                .min(MAX_MAX_RESULTS),
            Err(_) => {
                return Err(ApiError::invalid_argument(format!(
                    "Invalid value at 'max_results' (TYPE_UINT32), \"{raw}\""
                )));
            }
        },
    };
    let include_spam_trash = match first(query, "includeSpamTrash") {
        None | Some("false") => false,
        Some("true") => true,
        Some(raw) => {
            return Err(ApiError::invalid_argument(format!(
                "Invalid value at 'include_spam_trash' (TYPE_BOOL), \"{raw}\""
            )));
        }
    };
    let q = first(query, "q")
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    Ok(ListParams {
        max_results,
        include_spam_trash,
        q,
    })
}

pub async fn list(
    State(shared): State<Shared>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = pairs(query.as_deref());
    let state = lock(&shared);
    let access = match authorize(&state, &headers, &query, &user_id) {
        Ok(access) => access,
        Err(error) => return error.into_response(),
    };
    let params = match list_params(&query) {
        Ok(params) => params,
        Err(error) => return error.into_response(),
    };
    // "Parameter cannot be used when accessing the api using the
    // gmail.metadata scope" (discovery document, messages.list `q`).
    if params.q.is_some() && access.access == GmailAccess::MetadataOnly {
        return ApiError::forbidden("Metadata scope does not support 'q' parameter")
            .into_response();
    }
    let Some(user) = state.user_by_id(&access.caller.user_id) else {
        return ApiError::not_found().into_response();
    };
    let offset = match first(&query, "pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => match page_token::decode(&user.id, token) {
            Some(offset) => offset,
            None => return ApiError::invalid_argument("Invalid pageToken").into_response(),
        },
    };
    let search = Query::parse(params.q.as_deref().unwrap_or_default());
    let include_spam_trash = params.include_spam_trash || search.names_spam_or_trash();
    let label_ids = all(&query, "labelIds");
    let matching: Vec<_> = user
        .mailbox
        .messages
        .iter()
        .filter(|m| include_spam_trash || !(m.has_label("SPAM") || m.has_label("TRASH")))
        .filter(|m| label_ids.iter().all(|l| m.has_label(l)))
        .filter(|m| {
            search.matches(&Target {
                message: m,
                owner_email: &user.email,
            })
        })
        .collect();
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
        body["nextPageToken"] = json!(page_token::encode(&user.id, end));
    }
    json(StatusCode::OK, &body)
}

pub async fn get(
    State(shared): State<Shared>,
    Path((user_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = pairs(query.as_deref());
    let state = lock(&shared);
    let access = match authorize(&state, &headers, &query, &user_id) {
        Ok(access) => access,
        Err(error) => return error.into_response(),
    };
    let format = match first(&query, "format").map(Format::parse) {
        None => Format::Full,
        Some(Some(format)) => format,
        Some(None) => {
            return ApiError::invalid_argument(format!(
                "Invalid value at 'format', \"{}\"",
                first(&query, "format").unwrap_or_default()
            ))
            .into_response();
        }
    };
    // "Format cannot be used when accessing the api using the
    // gmail.metadata scope" (discovery document, `full` and `raw`).
    if access.access == GmailAccess::MetadataOnly && matches!(format, Format::Full | Format::Raw) {
        return ApiError::forbidden(format!(
            "Metadata scope doesn't allow format {}",
            format.name()
        ))
        .into_response();
    }
    let Some(message) = state
        .user_by_id(&access.caller.user_id)
        .and_then(|user| user.mailbox.find(&id))
    else {
        return ApiError::not_found().into_response();
    };
    let body = render::message(message, format, &all(&query, "metadataHeaders"));
    json(StatusCode::OK, &body)
}

pub async fn attachment(
    State(shared): State<Shared>,
    Path((user_id, message_id, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = pairs(query.as_deref());
    let state = lock(&shared);
    let access = match authorize(&state, &headers, &query, &user_id) {
        Ok(access) => access,
        Err(error) => return error.into_response(),
    };
    if access.access == GmailAccess::MetadataOnly {
        return ApiError::insufficient_scopes(&[
            crate::scopes::MAIL_GOOGLE_COM,
            crate::scopes::GMAIL_MODIFY,
            crate::scopes::GMAIL_READONLY,
        ])
        .into_response();
    }
    let tree = state
        .user_by_id(&access.caller.user_id)
        .and_then(|user| user.mailbox.find(&message_id))
        .map(mime::tree);
    match tree.as_ref().and_then(|t| mime::find_attachment(t, &id)) {
        Some(part) => json(StatusCode::OK, &render::attachment_body(part)),
        None => ApiError::not_found().into_response(),
    }
}
