//! The Gmail methods the emulator serves: the scopes each accepts (the
//! discovery document's `scopes` of each method) and its quota cost
//! (reference §7, "Units per method").

use crate::scopes::{GMAIL_METADATA, GMAIL_MODIFY, GMAIL_READONLY, MAIL_GOOGLE_COM};

const GMAIL_LABELS: &str = "https://www.googleapis.com/auth/gmail.labels";
const GMAIL_COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    GetProfile,
    MessagesList,
    MessagesGet,
    MessagesModify,
    MessagesDelete,
    AttachmentsGet,
    ThreadsList,
    ThreadsGet,
    LabelsList,
    LabelsGet,
    HistoryList,
    Watch,
    Stop,
}

impl Method {
    /// Quota units of one call.
    pub fn units(self) -> u32 {
        match self {
            Method::GetProfile | Method::LabelsList | Method::LabelsGet => 1,
            Method::HistoryList => 2,
            Method::MessagesList
            | Method::MessagesGet
            | Method::MessagesModify
            | Method::AttachmentsGet => 5,
            Method::MessagesDelete => 10,
            // Not in the captured quota table (reference §7, unconfirmed);
            // 10 is the commonly quoted cost.
            Method::ThreadsList | Method::ThreadsGet => 10,
            // Not in the captured table either; Gmail's usage-limits page
            // (https://developers.google.com/workspace/gmail/api/reference/quota)
            // lists `watch` at 100 units and `stop` at 50.
            Method::Stop => 50,
            Method::Watch => 100,
        }
    }

    /// The scopes that open the method; a token needs one of them.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Method::GetProfile => &[
                MAIL_GOOGLE_COM,
                GMAIL_COMPOSE,
                GMAIL_METADATA,
                GMAIL_MODIFY,
                GMAIL_READONLY,
            ],
            Method::MessagesList
            | Method::MessagesGet
            | Method::ThreadsList
            | Method::ThreadsGet
            | Method::HistoryList
            | Method::Watch
            | Method::Stop => &[
                MAIL_GOOGLE_COM,
                GMAIL_METADATA,
                GMAIL_MODIFY,
                GMAIL_READONLY,
            ],
            Method::LabelsList | Method::LabelsGet => &[
                MAIL_GOOGLE_COM,
                GMAIL_LABELS,
                GMAIL_METADATA,
                GMAIL_MODIFY,
                GMAIL_READONLY,
            ],
            Method::AttachmentsGet => &[MAIL_GOOGLE_COM, GMAIL_MODIFY, GMAIL_READONLY],
            Method::MessagesModify => &[MAIL_GOOGLE_COM, GMAIL_MODIFY],
            Method::MessagesDelete => &[MAIL_GOOGLE_COM],
        }
    }
}
