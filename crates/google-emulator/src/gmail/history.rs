//! `users.history.list` (reference §5 history.list; discovery document
//! `History`, `ListHistoryResponse`, `HistoryMessageAdded` and friends).

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::listing::{all, first, max_results, page_position};
use super::method::Method;
use super::page_token::{self, Kind};
use super::{ok, serve, user};
use crate::mailbox::{ChangeKind, HistoryRecord};
use crate::reply::ApiError;
use crate::state::Shared;

/// Records after `startHistoryId`, oldest first, one change each. Messages
/// in records carry `id` and `threadId` ("typically only", discovery
/// document) plus, in the typed lists, the labels they had after the change.
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
        Method::HistoryList,
        |state, access, query| {
            // "Missing/invalid parameter: startHistoryId" (reference §5 table).
            let start: u64 = first(query, "startHistoryId")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    ApiError::invalid_argument("Missing/invalid parameter: startHistoryId")
                })?;
            let mut kinds = Vec::new();
            for raw in all(query, "historyTypes") {
                kinds.push(ChangeKind::parse(&raw).ok_or_else(|| {
                    ApiError::invalid_argument(format!(
                        "Invalid value at 'history_types', \"{raw}\""
                    ))
                })?);
            }
            let max_results = max_results(query)?;
            let label = first(query, "labelId").filter(|l| !l.is_empty());
            let user = user(state, access)?;
            let after = page_position(query, user, Kind::History)?.max(start);
            let history = &user.mailbox.history;
            // "An out-of-date or invalid startHistoryId typically returns an
            // HTTP 404" (reference §5 history.list).
            if !history.answers(start) {
                return Err(ApiError::not_found());
            }
            let mut selected = history
                .after(after)
                .filter(|r| kinds.is_empty() || kinds.contains(&r.kind))
                .filter(|r| label.is_none_or(|l| r.concerns_label(l)));
            let page: Vec<&HistoryRecord> = selected.by_ref().take(max_results).collect();
            let more = selected.next().is_some();
            // With no changes the body is just the historyId (reference §5).
            let mut body = json!({ "historyId": history.current().to_string() });
            if !page.is_empty() {
                body["history"] = Value::Array(page.iter().map(|r| record(r)).collect());
            }
            if more && let Some(last) = page.last() {
                body["nextPageToken"] = json!(page_token::encode(&user.id, Kind::History, last.id));
            }
            ok(&body)
        },
    )
}

fn record(record: &HistoryRecord) -> Value {
    let short = json!({ "id": record.message_id, "threadId": record.thread_id });
    let full = json!({
        "id": record.message_id,
        "threadId": record.thread_id,
        "labelIds": record.label_ids,
    });
    let mut value = json!({ "id": record.id.to_string(), "messages": [short] });
    match record.kind {
        ChangeKind::MessageAdded => value["messagesAdded"] = json!([{ "message": full }]),
        ChangeKind::MessageDeleted => value["messagesDeleted"] = json!([{ "message": full }]),
        ChangeKind::LabelAdded => {
            value["labelsAdded"] = json!([{ "message": full, "labelIds": record.changed }]);
        }
        ChangeKind::LabelRemoved => {
            value["labelsRemoved"] = json!([{ "message": full, "labelIds": record.changed }]);
        }
    }
    value
}
