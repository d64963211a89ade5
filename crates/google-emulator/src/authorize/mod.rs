//! The authorization endpoint, `GET /o/oauth2/v2/auth` (and the older
//! `/o/oauth2/auth`), and the consent page's `POST …/decision`
//! (reference §1).
//!
//! The emulator has no browser sessions: the user is known from
//! `login_hint`, from the account picked on the consent page, or, with
//! `auto_approve`, is the first user.

mod approve;
/// Shared with the emulator's own pages (`control`).
pub(crate) mod pages;
mod request;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::ids;
use crate::state::{AuthorizationRequest, EmulatorState, Shared, lock};
use approve::{approve, deny, redirect_error};

pub async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let pairs = request::pairs(query.as_deref());
    let mut state = lock(&shared);
    match request::parse(&state, &pairs) {
        Ok(request) => decide(&mut state, request),
        Err(error) => error.into_response(),
    }
}

/// Approves at once, refuses, or shows the consent page.
fn decide(state: &mut EmulatorState, request: AuthorizationRequest) -> Response {
    let hinted = request
        .login_hint
        .as_deref()
        .and_then(|hint| state.user_by_hint(hint))
        .map(|user| user.id.clone());
    let auto_user = if request.login_hint.is_none() && state.auto_approve {
        state.users.first().map(|user| user.id.clone())
    } else {
        None
    };
    let covered = |state: &EmulatorState, user_id: &str| {
        state
            .grant(user_id, &request.client_id)
            .is_some_and(|g| crate::scopes::covers(&g.scopes, &request.scopes))
    };

    if request.prompt_none {
        // OIDC Core §3.1.2.6: no page may be shown, so without an earlier
        // grant covering every scope the answer is `consent_required`.
        return match hinted.or(auto_user) {
            Some(user_id) if covered(state, &user_id) => approve(state, request, &user_id),
            _ => redirect_error(&request, "consent_required"),
        };
    }
    // "If prompt is omitted, the user is prompted only the first time"
    // (reference §1): a known user who granted all of this before is not
    // asked again unless the client insists.
    if let Some(user_id) = &hinted
        && !request.prompt_consent
        && !request.prompt_select_account
        && covered(state, user_id)
    {
        return approve(state, request, user_id);
    }
    if state.auto_approve
        && let Some(user_id) = hinted.or(auto_user)
    {
        return approve(state, request, &user_id);
    }
    let request_id = ids::request_id();
    let response = pages::consent_page(
        &request_id,
        &request,
        &state.users,
        request
            .login_hint
            .as_deref()
            .and_then(|hint| state.user_by_hint(hint))
            .map(|u| u.id.as_str()),
    );
    state.pending.insert(request_id, request);
    response
}

/// The consent page's answer: `request_id`, `user` and `decision`.
pub async fn decision(State(shared): State<Shared>, body: String) -> Response {
    let form = request::pairs(Some(&body));
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut state = lock(&shared);
    let Some(request) = field("request_id").and_then(|id| state.pending.remove(&id)) else {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This sign-in request has expired or was already answered.",
        );
    };
    if field("decision").as_deref() != Some("allow") {
        return deny(&request);
    }
    match field("user").and_then(|id| state.user_by_id(&id).map(|u| u.id.clone())) {
        Some(user_id) => approve(&mut state, request, &user_id),
        None => pages::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "No account was chosen.",
        ),
    }
}
