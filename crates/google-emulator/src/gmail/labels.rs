//! `users.labels.list` and `users.labels.get` (discovery document `Label`,
//! `ListLabelsResponse`; reference §5 Labels).

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::method::Method;
use super::{ok, serve, user};
use crate::mailbox::{Mailbox, SYSTEM_LABELS, system_label};
use crate::reply::ApiError;
use crate::state::Shared;

/// A label as `labels.list` shows it: "only `id`, `name`,
/// `messageListVisibility`, `labelListVisibility` and `type`" (reference
/// §5 Labels); system labels are named by their id.
fn summary(mailbox: &Mailbox, id: &str) -> Option<Value> {
    if let Some(label) = system_label(id) {
        let mut value = json!({ "id": label.id, "name": label.id, "type": "system" });
        if let Some((messages, list)) = label.visibility {
            value["messageListVisibility"] = json!(messages);
            value["labelListVisibility"] = json!(list);
        }
        return Some(value);
    }
    let label = mailbox.user_label(id)?;
    Some(json!({
        "id": label.id,
        "name": label.name,
        "messageListVisibility": label.message_list_visibility,
        "labelListVisibility": label.label_list_visibility,
        "type": "user",
    }))
}

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
        Method::LabelsList,
        |state, access, _| {
            let mailbox = &user(state, access)?.mailbox;
            let labels: Vec<Value> = SYSTEM_LABELS
                .iter()
                .map(|l| l.id)
                .chain(mailbox.labels.iter().map(|l| l.id.as_str()))
                .filter_map(|id| summary(mailbox, id))
                .collect();
            ok(&json!({ "labels": labels }))
        },
    )
}

/// The summary plus counts over the whole mailbox (Spam and Trash
/// included), and the colour of a user label that has one.
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
        Method::LabelsGet,
        |state, access, _| {
            let mailbox = &user(state, access)?.mailbox;
            let mut label = summary(mailbox, &id).ok_or_else(ApiError::not_found)?;
            let with_label: Vec<_> = mailbox
                .messages
                .iter()
                .filter(|m| m.has_label(&id))
                .collect();
            let unread: Vec<_> = with_label
                .iter()
                .filter(|m| m.has_label("UNREAD"))
                .collect();
            let threads = |messages: &mut dyn Iterator<Item = &str>| {
                let mut ids: Vec<&str> = messages.collect();
                ids.sort_unstable();
                ids.dedup();
                ids.len()
            };
            label["messagesTotal"] = json!(with_label.len());
            label["messagesUnread"] = json!(unread.len());
            label["threadsTotal"] = json!(threads(
                &mut with_label.iter().map(|m| m.thread_id.as_str())
            ));
            label["threadsUnread"] =
                json!(threads(&mut unread.iter().map(|m| m.thread_id.as_str())));
            if let Some(color) = mailbox.user_label(&id).and_then(|l| l.color.as_ref()) {
                label["color"] =
                    json!({ "textColor": color.text, "backgroundColor": color.background });
            }
            ok(&label)
        },
    )
}
