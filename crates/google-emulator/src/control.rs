//! Test controls under `/emulator/` (not Google's): add users and clients,
//! revoke a user's access, expire tokens, read counters, inject faults,
//! inspect grants, change mailboxes (`mailbox` module), and drive push
//! notifications and the clock (`pubsub` module). JSON in, JSON out; the
//! one page is for people: "deliver a message" (`mail_page` module).

mod mail_page;
mod mailbox;
mod pubsub;

use std::collections::BTreeSet;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::config::{ClientRegistration, UserSeed};
use crate::faults::{Endpoint, Fault};
use crate::reply::json;
use crate::state::{Shared, lock};

pub use mail_page::PATH as MAIL_PAGE;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/emulator/users", post(add_user))
        .route("/emulator/users/{email}/revoke", post(revoke_user))
        .route("/emulator/clients", post(add_client))
        .route(
            "/emulator/clients/{client_id}/status",
            post(set_client_status),
        )
        .route("/emulator/tokens/expire", post(expire_tokens))
        .route("/emulator/counters", get(counters))
        .route("/emulator/faults", post(add_fault).delete(clear_faults))
        .route("/emulator/grants/{email}", get(grants))
        .merge(mailbox::routes())
        .merge(mail_page::routes())
        .merge(pubsub::routes())
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, &json!({ "error": message }))
}

/// Parses a JSON body; the error is serde's reason, for a 400.
fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
    name: Option<String>,
    #[serde(default)]
    messages: usize,
}

/// "carol.smith@x" → "Carol Smith".
fn name_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    local
        .split(['.', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn add_user(State(shared): State<Shared>, body: Bytes) -> Response {
    let new: NewUser = match parse(&body) {
        Ok(new) => new,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    if !new.email.contains('@') {
        return error(StatusCode::BAD_REQUEST, "email must be an address");
    }
    let seed = UserSeed {
        name: new.name.unwrap_or_else(|| name_from_email(&new.email)),
        email: new.email,
        messages: new.messages,
    };
    let email = seed.email.clone();
    let (id, created) = lock(&shared).add_user(seed);
    if !created {
        return error(StatusCode::CONFLICT, "a user with this email exists");
    }
    json(StatusCode::CREATED, &json!({ "id": id, "email": email }))
}

#[derive(Deserialize)]
struct NewClient {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

async fn add_client(State(shared): State<Shared>, body: Bytes) -> Response {
    let new: NewClient = match parse(&body) {
        Ok(new) => new,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let client = ClientRegistration {
        client_id: new.client_id.clone(),
        client_secret: new.client_secret,
        redirect_uris: new.redirect_uris,
    };
    lock(&shared).clients.insert(new.client_id.clone(), client);
    json(StatusCode::CREATED, &json!({ "client_id": new.client_id }))
}

#[derive(Deserialize)]
struct ClientStatus {
    status: String,
}

/// `{"status": "active" | "disabled" | "deleted"}`: as when the client's
/// owner disables, deletes or restores it in the Cloud console. Grants and
/// tokens are kept, so a restored client works again at once.
async fn set_client_status(
    State(shared): State<Shared>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    let wanted: ClientStatus = match parse(&body) {
        Ok(wanted) => wanted,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let mut state = lock(&shared);
    if !state.clients.contains_key(&client_id) {
        return error(StatusCode::NOT_FOUND, "no such client");
    }
    match wanted.status.as_str() {
        "active" => {
            state.client_status.remove(&client_id);
        }
        "disabled" | "deleted" => {
            state
                .client_status
                .insert(client_id.clone(), wanted.status.clone());
        }
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("status must be active, disabled or deleted, not {other}"),
            );
        }
    }
    json(
        StatusCode::OK,
        &json!({ "client_id": client_id, "status": wanted.status }),
    )
}

/// As when the user removes every app in their Google Account: all grants
/// gone, all tokens and unused codes dead.
async fn revoke_user(State(shared): State<Shared>, Path(email): Path<String>) -> Response {
    let mut state = lock(&shared);
    let Some(user_id) = state.user_by_email(&email).map(|u| u.id.clone()) else {
        return error(StatusCode::NOT_FOUND, "no such user");
    };
    let mut clients: BTreeSet<String> = BTreeSet::new();
    clients.extend(
        state
            .grants
            .keys()
            .filter(|(u, _)| *u == user_id)
            .map(|(_, c)| c.clone()),
    );
    clients.extend(
        state
            .refresh_tokens
            .values()
            .filter(|r| r.user_id == user_id)
            .map(|r| r.client_id.clone()),
    );
    clients.extend(
        state
            .access_tokens
            .values()
            .filter(|a| a.user_id == user_id)
            .map(|a| a.client_id.clone()),
    );
    let revoked: usize = clients
        .iter()
        .map(|c| state.revoke_grant(&user_id, c))
        .sum();
    for code in state.codes.values_mut().filter(|c| c.user_id == user_id) {
        code.used = true;
    }
    json(StatusCode::OK, &json!({ "revoked": revoked }))
}

async fn expire_tokens(State(shared): State<Shared>) -> Response {
    let mut state = lock(&shared);
    let now = state.clock.instant();
    let mut expired = 0;
    for token in state.access_tokens.values_mut().filter(|t| t.is_live(now)) {
        token.expires_at = now;
        expired += 1;
    }
    json(StatusCode::OK, &json!({ "expired": expired }))
}

async fn counters(State(shared): State<Shared>) -> Response {
    let state = lock(&shared);
    let c = &state.counters;
    let units: serde_json::Map<String, serde_json::Value> = state
        .users
        .iter()
        .filter_map(|u| Some((u.email.clone(), json!(state.quota.used.get(&u.id)?))))
        .collect();
    json(
        StatusCode::OK,
        &json!({
            "token_grants": {
                "authorization_code": c.authorization_code_grants,
                "refresh_token": c.refresh_token_grants,
            },
            "revocations": c.revocations,
            "userinfo_calls": c.userinfo_calls,
            "gmail_calls": c.gmail_calls,
            "batch_requests": c.batch_requests,
            "batch_parts": c.batch_parts,
            "quota_refusals": state.quota.refusals,
            "quota_units_used": units,
        }),
    )
}

#[derive(Deserialize)]
struct NewFault {
    endpoint: String,
    #[serde(default = "one")]
    count: u32,
    status: Option<u16>,
    #[serde(default)]
    body: String,
    content_type: Option<String>,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default)]
    drop_connection: bool,
}

fn one() -> u32 {
    1
}

async fn add_fault(State(shared): State<Shared>, body: Bytes) -> Response {
    let new: NewFault = match parse(&body) {
        Ok(new) => new,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let Some(endpoint) = Endpoint::parse(&new.endpoint) else {
        return error(
            StatusCode::BAD_REQUEST,
            "endpoint must be token, revoke, userinfo or gmail",
        );
    };
    let status = match new.status.map(StatusCode::from_u16) {
        None => None,
        Some(Ok(status)) => Some(status),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "status must be 100 to 999"),
    };
    if status.is_none() && new.delay_ms == 0 && !new.drop_connection {
        return error(
            StatusCode::BAD_REQUEST,
            "give a status, a delay_ms or drop_connection",
        );
    }
    lock(&shared).faults.push(
        endpoint,
        Fault {
            remaining: new.count,
            status,
            body: new.body,
            content_type: new
                .content_type
                .unwrap_or_else(|| "application/json".to_owned()),
            delay: Duration::from_millis(new.delay_ms),
            drop_connection: new.drop_connection,
        },
    );
    json(
        StatusCode::CREATED,
        &json!({ "endpoint": new.endpoint, "count": new.count }),
    )
}

async fn clear_faults(State(shared): State<Shared>) -> Response {
    lock(&shared).faults.clear();
    json(StatusCode::OK, &json!({}))
}

async fn grants(State(shared): State<Shared>, Path(email): Path<String>) -> Response {
    let state = lock(&shared);
    let Some(user) = state.user_by_email(&email) else {
        return error(StatusCode::NOT_FOUND, "no such user");
    };
    let mut grants: Vec<_> = state
        .grants
        .iter()
        .filter(|((u, _), _)| *u == user.id)
        .map(|((_, client_id), grant)| {
            json!({
                "client_id": client_id,
                "scopes": grant.scopes,
                "refresh_tokens_live": state.live_refresh_tokens(&user.id, client_id),
            })
        })
        .collect();
    grants.sort_by(|a, b| a["client_id"].as_str().cmp(&b["client_id"].as_str()));
    json(StatusCode::OK, &json!({ "grants": grants }))
}
