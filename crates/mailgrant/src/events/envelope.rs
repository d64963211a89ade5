//! An event as backends receive it, by webhook or by pulling:
//! `{"id", "type", "user_id", "email", "occurred_at", "data"}`.

use serde::Serialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::store::StoredEvent;

#[derive(Clone, Debug, Serialize)]
pub struct Envelope {
    /// Unique, and increasing in commit order: page with `after=` it.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub user_id: String,
    pub email: Option<String>,
    /// RFC 3339, UTC.
    pub occurred_at: String,
    pub data: Box<RawValue>,
}

/// The envelope of a stored event.
pub fn envelope(event: &StoredEvent) -> Envelope {
    let occurred_at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(event.occurred_at) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default();
    // The store holds what `serde_json` wrote; anything else is kept as a string.
    let data = RawValue::from_string(event.data.clone()).unwrap_or_else(|_| {
        RawValue::from_string(serde_json::Value::String(event.data.clone()).to_string())
            .expect("a JSON string is JSON")
    });
    Envelope {
        id: event.id.to_string(),
        kind: event.kind.clone(),
        user_id: event.user_id.clone(),
        email: event.email.clone(),
        occurred_at,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_has_the_documented_fields() {
        let event = StoredEvent {
            id: 42,
            user_id: "u1".into(),
            kind: "message.added".into(),
            email: Some("a@example.com".into()),
            occurred_at: 1_700_000_000_123,
            data: r#"{"message_id":"m1"}"#.into(),
            delivered_at: None,
            abandoned_at: None,
            attempts: 0,
            next_attempt_at: 0,
        };
        let json: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&envelope(&event)).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "42", "type": "message.added", "user_id": "u1",
                "email": "a@example.com", "occurred_at": "2023-11-14T22:13:20.123Z",
                "data": {"message_id": "m1"}
            })
        );
    }
}
