//! `users.messages.modify` and `users.messages.delete` (discovery
//! document; `ModifyMessageRequest`). Both change the mailbox, so both
//! leave history records (reference §5 history.list).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::method::Method;
use super::render::{self, Format, Snapshot};
use super::{json_body, ok, serve, user_mut, watch};
use crate::mailbox::ModifyError;
use crate::reply::ApiError;
use crate::state::Shared;

/// `ModifyMessageRequest`; the classification-label fields are not
/// emulated and are ignored.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ModifyRequest {
    #[serde(default)]
    add_label_ids: Vec<String>,
    #[serde(default)]
    remove_label_ids: Vec<String>,
}

/// Adds and removes labels and returns the message in the `minimal`
/// shape. SENT and DRAFT can be neither added nor removed, and a label
/// the mailbox does not have is refused: both 400 `invalidArgument`
/// "Invalid label: …" (that wording is unconfirmed).
pub async fn modify(
    State(shared): State<Shared>,
    Path((user_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    serve(
        &shared,
        &headers,
        query,
        &user_id,
        Method::MessagesModify,
        |state, access, _| {
            let request: ModifyRequest = json_body(&body)?;
            let mailbox = &mut user_mut(state, access)?.mailbox;
            let answer =
                match mailbox.modify(&id, &request.add_label_ids, &request.remove_label_ids) {
                    Ok(message) => ok(&render::message(
                        &Snapshot::of(message),
                        Format::Minimal,
                        &[],
                    )),
                    Err(ModifyError::NotFound) => Err(ApiError::not_found()),
                    Err(ModifyError::InvalidLabel(label)) => Err(ApiError::invalid_argument(
                        format!("Invalid label: {label}"),
                    )),
                };
            watch::mailbox_changed(state, &access.caller.user_id);
            answer
        },
    )
}

/// Deletes a message for good (only with `https://mail.google.com/`):
/// 204 and no body.
pub async fn delete(
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
        Method::MessagesDelete,
        |state, access, _| {
            if user_mut(state, access)?.mailbox.delete(&id) {
                watch::mailbox_changed(state, &access.caller.user_id);
                Ok(StatusCode::NO_CONTENT.into_response())
            } else {
                Err(ApiError::not_found())
            }
        },
    )
}
