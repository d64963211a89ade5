//! The mailgrant server: an axum app around the `mailgrant` library, and the
//! `mailgrant` command line.
//!
//! The app serves three audiences, each a module with its own error type:
//! the browser ([`browser`]: pages and the OAuth redirect flow, HTML errors),
//! the signed-in user's JavaScript ([`user_api`]: JSON), and backends
//! ([`token_api`]: JSON behind an API key); [`health`] serves operators.
//! They share the classification of errors ([`failure`]), the signed-in
//! user ([`signed_in`], [`session`]) and two layers around everything:
//! [`request`] (ids and the log line) and [`security`] (headers, the
//! cross-site guard).

pub mod api_keys;
pub mod browser;
pub mod cli;
pub mod event_pull;
pub mod failure;
pub mod health;
pub mod html;
pub mod pubsub_push;
pub mod request;
pub mod security;
pub mod session;
pub mod signed_in;
pub mod state;
pub mod token_api;
pub mod user_api;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};

pub use state::{App, AppState, Settings};

/// All routes with their state and layers.
pub fn router(state: AppState) -> Router {
    // The routes a browser sends its cookies to; the token API takes no
    // cookies, so another site cannot make a browser act on it.
    let browser = browser::routes().route_layer(from_fn_with_state(
        state.clone(),
        security::same_origin_only::<browser::PageError>,
    ));
    let user_api = user_api::routes().route_layer(from_fn_with_state(
        state.clone(),
        security::same_origin_only::<user_api::ApiError>,
    ));
    Router::new()
        .merge(browser)
        .merge(user_api)
        .merge(token_api::routes(state.clone()))
        .merge(health::routes())
        .merge(pubsub_push::routes())
        .layer(from_fn_with_state(state.clone(), security::headers))
        .layer(from_fn(request::identify_and_log))
        .with_state(state)
}

/// mimalloc instead of glibc's malloc for the binary, its tests and its
/// benchmarks. Serving and syncing Gmail is allocation-heavy (JSON, MIME,
/// many small strings, freed on another thread than the one that
/// allocated them); with glibc's allocator, malloc and free were a fifth of
/// the CPU profile of a mailbox sync, and the sync took about 15 % longer
/// (BENCHMARKS.md, "Gmail sync"). Declared here rather than in `main.rs` so
/// that the benchmarks, which link this library, run with the allocator
/// the binary ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
