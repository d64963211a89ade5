//! The parameters `messages.list` and `threads.list` share (`q`,
//! `labelIds`, `includeSpamTrash`, `maxResults`, `pageToken`; discovery
//! document) and the messages they select.

use super::Access;
use super::page_token::{self, Kind};
use crate::mailbox::Message;
use crate::reply::ApiError;
use crate::scopes::GmailAccess;
use crate::search::{Query, Target};
use crate::state::User;

const DEFAULT_MAX_RESULTS: usize = 100;
/// The documented maximum. Larger values are served as 500 here; what
/// Google does with them (clamp or 400) is unconfirmed.
const MAX_MAX_RESULTS: usize = 500;

pub fn first<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub fn all(query: &[(String, String)], name: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// `maxResults`: default 100, at most 500, 0 refused.
pub fn max_results(query: &[(String, String)]) -> Result<usize, ApiError> {
    match first(query, "maxResults") {
        None => Ok(DEFAULT_MAX_RESULTS),
        Some(raw) => match raw.parse::<u32>() {
            Ok(0) => Err(ApiError::invalid_argument("Invalid maxResults: 0")),
            Ok(n) => Ok(usize::try_from(n)
                .unwrap_or(MAX_MAX_RESULTS)
                .min(MAX_MAX_RESULTS)),
            Err(_) => Err(ApiError::invalid_argument(format!(
                "Invalid value at 'max_results' (TYPE_UINT32), \"{raw}\""
            ))),
        },
    }
}

/// The position a `pageToken` stands for (0 without one).
pub fn page_position(query: &[(String, String)], user: &User, kind: Kind) -> Result<u64, ApiError> {
    match first(query, "pageToken").filter(|t| !t.is_empty()) {
        None => Ok(0),
        Some(token) => page_token::decode(&user.id, kind, token)
            .ok_or_else(|| ApiError::invalid_argument("Invalid pageToken")),
    }
}

/// The list parameters that do not need the mailbox.
pub struct ListParams {
    pub max_results: usize,
    include_spam_trash: bool,
    q: Option<String>,
    label_ids: Vec<String>,
}

impl ListParams {
    pub fn parse(query: &[(String, String)], access: &Access) -> Result<Self, ApiError> {
        let max_results = max_results(query)?;
        let include_spam_trash = match first(query, "includeSpamTrash") {
            None | Some("false") => false,
            Some("true") => true,
            Some(raw) => {
                return Err(ApiError::invalid_argument(format!(
                    "Invalid value at 'include_spam_trash' (TYPE_BOOL), \"{raw}\""
                )));
            }
        };
        let q = first(query, "q")
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        // "Parameter cannot be used when accessing the api using the
        // gmail.metadata scope" (discovery document, messages.list `q`).
        if q.is_some() && access.access == GmailAccess::MetadataOnly {
            return Err(ApiError::forbidden(
                "Metadata scope does not support 'q' parameter",
            ));
        }
        Ok(Self {
            max_results,
            include_spam_trash,
            q,
            label_ids: all(query, "labelIds"),
        })
    }

    /// The user's messages that match, newest first. Spam and Trash are
    /// left out unless `includeSpamTrash` is set or `q` names them.
    pub fn matching<'a>(&self, user: &'a User, now_ms: i64) -> Vec<&'a Message> {
        let search = Query::parse_at(self.q.as_deref().unwrap_or_default(), now_ms);
        let include_spam_trash = self.include_spam_trash || search.names_spam_or_trash();
        let select = |m: &Message| {
            (include_spam_trash || !m.in_spam_or_trash())
                && self.label_ids.iter().all(|l| m.has_label(l))
                && search.matches(&Target {
                    message: m,
                    owner_email: &user.email,
                    labels: &user.mailbox.labels,
                })
        };
        let messages = &user.mailbox.messages;
        if self.q.is_some() {
            // A query may depend on the clock (`newer_than:`): not kept.
            return messages.iter().filter(|m| select(m)).collect();
        }
        let key = format!("{include_spam_trash}/{:?}", self.label_ids);
        let positions = user.mailbox.selection(key, select);
        positions.iter().map(|&index| &messages[index]).collect()
    }
}
