//! The mailgrant server: an axum app around the `mailgrant` library, and the
//! `mailgrant` command line.

pub mod api_keys;
pub mod cli;
pub mod error;
pub mod routes;
pub mod session;
pub mod state;

pub use routes::router;
pub use state::{App, AppState, Settings};
