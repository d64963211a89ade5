//! What happens to credentials, for whoever wants to know (a webhook, say).

use serde::Serialize;

/// A change in a user's credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum CredentialEvent {
    /// A consent stored a new refresh token (first connection or re-consent).
    #[serde(rename = "credential.created")]
    Created {
        user_id: String,
        email: Option<String>,
        scopes: Vec<String>,
    },
    /// A refresh succeeded after failing transiently.
    #[serde(rename = "credential.refreshed_after_failure")]
    RefreshedAfterFailure {
        user_id: String,
        failed_attempts: u32,
    },
    /// The grant is gone (Google said `invalid_grant`, or it was disconnected).
    #[serde(rename = "credential.revoked")]
    Revoked { user_id: String, reason: String },
    /// Google refuses the OAuth client (wrong or rotated secret, disabled or
    /// deleted client). Sent at most once a minute per process.
    #[serde(rename = "client.misconfigured")]
    ClientMisconfigured {
        code: String,
        description: Option<String>,
    },
}

/// Receives events; must not block (spawn to do I/O).
pub trait EventSink: Send + Sync + 'static {
    fn emit(&self, event: CredentialEvent);
}

/// Drops every event.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: CredentialEvent) {}
}
