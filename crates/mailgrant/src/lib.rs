//! mailgrant: let a web backend act on a user's Gmail while the user is away.
//!
//! Google's server-side authorization flow for the Gmail API, end to end:
//! [`oauth`] builds the authorization URL and exchanges codes, [`broker`] stores
//! the grant (encrypted by [`crypto`], in a [`store`]) and keeps access tokens
//! fresh, and [`gmail`] calls the Gmail API with them.

pub mod broker;
pub mod config;
pub mod crypto;
mod error;
pub mod events;
pub mod files;
pub mod gmail;
pub mod http;
pub mod metrics;
pub mod oauth;
pub mod pubsub;
pub mod rotation;
pub mod store;
pub mod userinfo;
pub mod webhook;

pub use error::{Error, ReauthReason};
pub use secrecy::{ExposeSecret, SecretString};
