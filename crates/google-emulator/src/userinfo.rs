//! Userinfo: Google's v2 `GET /oauth2/v2/userinfo` (schema `Userinfoplus`)
//! and OpenID Connect's `GET /v1/userinfo` (reference §4). Email fields
//! need an email scope and name fields a profile scope.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::bearer;
use crate::id_token::{picture, split_name};
use crate::reply::json;
use crate::scopes;
use crate::state::{Shared, lock};

#[derive(Clone, Copy)]
enum Flavour {
    GoogleV2,
    OpenIdConnect,
}

pub async fn v2(
    State(shared): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&shared, &headers, query.as_deref(), Flavour::GoogleV2)
}

pub async fn oidc(
    State(shared): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&shared, &headers, query.as_deref(), Flavour::OpenIdConnect)
}

fn answer(shared: &Shared, headers: &HeaderMap, query: Option<&str>, flavour: Flavour) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let state = lock(shared);
    let caller = match bearer::authenticate(&state, headers, &pairs, "oauth2.googleapis.com") {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let Some(user) = state.user_by_id(&caller.user_id) else {
        return crate::reply::ApiError::invalid_credentials().into_response();
    };
    let (id_key, verified_key) = match flavour {
        Flavour::GoogleV2 => ("id", "verified_email"),
        Flavour::OpenIdConnect => ("sub", "email_verified"),
    };
    let mut body = json!({ id_key: user.id });
    if scopes::has_email(&caller.scopes) {
        body["email"] = json!(user.email);
        // Only the primary, verified address is returned (reference §4).
        body[verified_key] = Value::Bool(true);
    }
    if scopes::has_profile(&caller.scopes) {
        let (given, family) = split_name(&user.name);
        body["name"] = json!(user.name);
        body["given_name"] = json!(given);
        if !family.is_empty() {
            body["family_name"] = json!(family);
        }
        body["picture"] = json!(picture(user));
    }
    json(StatusCode::OK, &body)
}
