//! `Label`, `LabelColor` and `ListLabelsResponse` (discovery document;
//! https://developers.google.com/gmail/api/guides/labels).
//!
//! `type` and the visibilities stay strings: Google documents their
//! values (reference §5 Labels) but a new one must not break reading.

use serde::{Deserialize, Serialize};

/// A label. `labels.list` items carry only `id`, `name`,
/// `messageListVisibility`, `labelListVisibility` and `type`; the counts
/// come with `labels.get` (reference §5 Labels).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    /// System labels are named by their id (`INBOX`, `UNREAD`, …); user
    /// labels look like `Label_12`.
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `system` or `user`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub label_type: Option<String>,
    /// `show` or `hide`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_list_visibility: Option<String>,
    /// `labelShow`, `labelShowIfUnread` or `labelHide`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_list_visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_total: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_unread: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_total: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_unread: Option<u32>,
    /// User labels only, from Google's fixed palette.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<LabelColor>,
}

impl Label {
    pub fn is_system(&self) -> bool {
        self.label_type.as_deref() == Some("system")
    }
}

/// `LabelColor`: hex colours such as `#fb4c2f`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelColor {
    #[serde(default)]
    pub text_color: String,
    #[serde(default)]
    pub background_color: String,
}

/// `ListLabelsResponse`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelList {
    #[serde(default)]
    pub labels: Vec<Label>,
}
