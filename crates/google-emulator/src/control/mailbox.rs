//! Controls that change a mailbox the way mail arriving or time passing
//! would: a new message, an mbox import, history expiry. Each change is
//! logged in the mailbox's history, as Gmail would log it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::{error, parse};
use crate::gmail::watch;
use crate::mailbox::{Address, Message};
use crate::mbox::{self, ImportError};
use crate::mime::LayoutCell;
use crate::reply::json;
use crate::state::{Shared, User, lock};
use crate::{date, rfc2822};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/emulator/users/{email}/messages", post(add_message))
        // Takeout exports are large; the default 2 MB limit is for JSON.
        .route(
            "/emulator/users/{email}/mbox",
            post(import_mbox).layer(DefaultBodyLimit::max(1 << 30)),
        )
        .route(
            "/emulator/users/{email}/history/expire",
            post(expire_history),
        )
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewMessage {
    /// `Name <address>` or an address; default a fixed outside sender.
    pub from: Option<String>,
    /// Address list; default the mailbox owner.
    pub to: Option<String>,
    pub cc: Option<String>,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    /// Default `["INBOX", "UNREAD"]`: new mail.
    pub label_ids: Option<Vec<String>>,
    /// An existing thread to reply in; default a new thread.
    pub thread_id: Option<String>,
}

/// A message added to a mailbox.
pub(super) struct Delivered {
    pub id: String,
    pub thread_id: String,
    pub history_id: u64,
}

/// Adds `new` to `email`'s mailbox as arriving mail would: logged in its
/// history, and notified to the topic when the mailbox is watched. Shared
/// by the JSON route and the "deliver a message" page.
pub(super) fn deliver(
    shared: &Shared,
    email: &str,
    new: NewMessage,
) -> Result<Delivered, (StatusCode, String)> {
    let mut state = lock(shared);
    let now_ms = state.clock.epoch_ms();
    let Some(user) = state.user_by_email_mut(email) else {
        return Err((StatusCode::NOT_FOUND, "no such user".to_owned()));
    };
    let message = build(user, new, now_ms).map_err(|reason| (StatusCode::BAD_REQUEST, reason))?;
    let (id, thread_id) = (message.id.clone(), message.thread_id.clone());
    let history_id = user.mailbox.add(message);
    let user_id = user.id.clone();
    watch::mailbox_changed(&mut state, &user_id);
    Ok(Delivered {
        id,
        thread_id,
        history_id,
    })
}

/// 201 `{"id", "threadId", "historyId"}`.
async fn add_message(
    State(shared): State<Shared>,
    Path(email): Path<String>,
    body: Bytes,
) -> Response {
    let new: NewMessage = match parse(&body) {
        Ok(new) => new,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    match deliver(&shared, &email, new) {
        Ok(added) => json(
            StatusCode::CREATED,
            &json!({
                "id": added.id,
                "threadId": added.thread_id,
                "historyId": added.history_id.to_string(),
            }),
        ),
        Err((status, reason)) => error(status, &reason),
    }
}

fn build(user: &mut User, new: NewMessage, now: i64) -> Result<Message, String> {
    let label_ids = new
        .label_ids
        .unwrap_or_else(|| vec!["INBOX".to_owned(), "UNREAD".to_owned()]);
    if let Some(bad) = label_ids.iter().find(|l| !user.mailbox.label_exists(l)) {
        return Err(format!("unknown label id {bad}"));
    }
    let references: Vec<String> = match &new.thread_id {
        None => Vec::new(),
        Some(thread) => {
            let earlier = user.mailbox.thread(thread);
            if earlier.is_empty() {
                return Err(format!("no thread {thread}"));
            }
            earlier
                .iter()
                .map(|m| m.message_id_header.clone())
                .collect()
        }
    };
    let id = user.mailbox.next_message_id(&user.id);
    let from = new.from.as_deref().map_or_else(
        || Address {
            name: "Emulator Sender".to_owned(),
            email: "sender@emulator.example".to_owned(),
        },
        rfc2822::address,
    );
    let to = new.to.as_deref().map_or_else(
        || {
            vec![Address {
                name: user.name.clone(),
                email: user.email.clone(),
            }]
        },
        rfc2822::addresses,
    );
    Ok(Message {
        thread_id: new.thread_id.unwrap_or_else(|| id.clone()),
        internal_date_ms: now - now.rem_euclid(1000),
        history_id: 0,
        label_ids,
        message_id_header: format!("<emu.{id}@mail.emulator.example>"),
        id,
        from,
        to,
        cc: new
            .cc
            .as_deref()
            .map(rfc2822::addresses)
            .unwrap_or_default(),
        subject: new.subject,
        date_header: date::rfc2822(now, 0),
        references,
        text: new.body,
        html: None,
        attachments: Vec::new(),
        source: None,
        layout: LayoutCell::default(),
    })
}

/// The raw mbox as the body; 200 `{"imported": n}`. The user must exist.
async fn import_mbox(
    State(shared): State<Shared>,
    Path(email): Path<String>,
    body: Bytes,
) -> Response {
    let mut state = lock(&shared);
    let now_ms = state.clock.epoch_ms();
    let Some(User { id, mailbox, .. }) = state.user_by_email_mut(&email) else {
        return error(StatusCode::NOT_FOUND, "no such user");
    };
    let user_id = id.clone();
    match mbox::import(mailbox, id, &body, now_ms) {
        Ok(imported) => {
            watch::mailbox_changed(&mut state, &user_id);
            json(StatusCode::OK, &json!({ "imported": imported }))
        }
        Err(ImportError::UnknownUser(_)) => error(StatusCode::NOT_FOUND, "no such user"),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// History before the current id is no longer retained: a later
/// `history.list` from an older id gets 404. 200 `{"historyId"}`.
async fn expire_history(State(shared): State<Shared>, Path(email): Path<String>) -> Response {
    let mut state = lock(&shared);
    let Some(user) = state.user_by_email_mut(&email) else {
        return error(StatusCode::NOT_FOUND, "no such user");
    };
    user.mailbox.expire_history();
    json(
        StatusCode::OK,
        &json!({ "historyId": user.mailbox.history_id().to_string() }),
    )
}
