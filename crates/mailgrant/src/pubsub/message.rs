//! The body of a Pub/Sub push (https://cloud.google.com/pubsub/docs/push#receive_push)
//! that carries a Gmail notification
//! (https://developers.google.com/gmail/api/guides/push#receiving_notifications):
//! `message.data` is base64 of `{"emailAddress": "...", "historyId": ...}`.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;

/// A Gmail change notification: the mailbox changed after `history_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushMessage {
    pub email_address: String,
    pub history_id: u64,
    /// Pub/Sub's id for the message, the same on every redelivery.
    pub message_id: String,
    /// `projects/{project}/subscriptions/{name}`.
    pub subscription: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushParseError {
    #[error("the push body is not a JSON Pub/Sub push: {0}")]
    NotJson(String),
    #[error("the push has no message.data")]
    MissingData,
    #[error("message.data is not base64: {0}")]
    BadBase64(String),
    #[error("message.data is not a JSON Gmail notification: {0}")]
    DataNotJson(String),
    #[error("the Gmail notification has no emailAddress")]
    MissingEmailAddress,
    #[error("the Gmail notification's historyId is not an unsigned integer: {0}")]
    BadHistoryId(String),
}

#[derive(Deserialize)]
struct Envelope {
    message: Option<WireMessage>,
    subscription: Option<String>,
}

/// Pub/Sub sends some fields twice, camelCase and snake_case: each is its
/// own field here, as a serde alias would reject the second as a duplicate.
#[derive(Deserialize)]
struct WireMessage {
    data: Option<String>,
    #[serde(rename = "messageId")]
    message_id: Option<String>,
    #[serde(rename = "message_id")]
    message_id_snake: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    email_address: Option<String>,
    history_id: Option<serde_json::Value>,
}

/// Standard base64 (what Pub/Sub sends) and its URL-safe form, padded or not.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Reads a push body: the notification it carries and which message it is.
pub fn parse_push(body: &[u8]) -> Result<PushMessage, PushParseError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| PushParseError::NotJson(e.to_string()))?;
    let message = envelope.message.ok_or(PushParseError::MissingData)?;
    let data = message.data.ok_or(PushParseError::MissingData)?;
    let data = STANDARD
        .decode(&data)
        .or_else(|standard| URL_SAFE.decode(&data).map_err(|_| standard))
        .map_err(|e| PushParseError::BadBase64(e.to_string()))?;
    let notification: Notification =
        serde_json::from_slice(&data).map_err(|e| PushParseError::DataNotJson(e.to_string()))?;
    let email_address = notification
        .email_address
        .filter(|address| !address.is_empty())
        .ok_or(PushParseError::MissingEmailAddress)?;
    let history_id = match &notification.history_id {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let history_id = history_id.ok_or_else(|| {
        PushParseError::BadHistoryId(match &notification.history_id {
            Some(value) => value.to_string(),
            None => "missing".into(),
        })
    })?;
    Ok(PushMessage {
        email_address,
        history_id,
        message_id: message
            .message_id
            .or(message.message_id_snake)
            .unwrap_or_default(),
        subscription: envelope.subscription.unwrap_or_default(),
    })
}
