//! The Gmail-specific headers of a Google Takeout mbox export: the thread
//! (`X-GM-THRID`), the message (`X-GM-MSGID`) and the labels
//! (`X-Gmail-Labels`).

use crate::rfc2822;

/// What one `X-Gmail-Labels` entry means for the imported message.
#[derive(Debug, PartialEq, Eq)]
pub enum LabelEntry {
    System(&'static str),
    /// `Opened`: the message has been read, so no UNREAD.
    Read,
    /// Takeout's own markers that are no Gmail label (`Archived`).
    Ignored,
    User(String),
}

/// The comma-separated `X-Gmail-Labels` value; a name with a comma is
/// quoted. Takeout writes Gmail's display names ("Inbox", "Category
/// Promotions"); anything not a system name is a user label.
pub fn labels(value: &str) -> Vec<LabelEntry> {
    rfc2822::split_outside_quotes(value, ',')
        .iter()
        .map(|entry| entry.trim().trim_matches('"').trim())
        .filter(|entry| !entry.is_empty())
        .map(entry)
        .collect()
}

fn entry(name: &str) -> LabelEntry {
    let system = match name.to_lowercase().as_str() {
        "inbox" => "INBOX",
        "sent" | "sent mail" => "SENT",
        "unread" => "UNREAD",
        "starred" => "STARRED",
        "important" => "IMPORTANT",
        "spam" => "SPAM",
        "trash" => "TRASH",
        "draft" | "drafts" => "DRAFT",
        "chat" => "CHAT",
        "category personal" => "CATEGORY_PERSONAL",
        "category social" => "CATEGORY_SOCIAL",
        "category promotions" => "CATEGORY_PROMOTIONS",
        "category updates" => "CATEGORY_UPDATES",
        "category forums" => "CATEGORY_FORUMS",
        "opened" => return LabelEntry::Read,
        "archived" => return LabelEntry::Ignored,
        _ => return LabelEntry::User(rfc2822::decode_words(name)),
    };
    LabelEntry::System(system)
}

/// A Gmail id from its decimal form in `X-GM-THRID` / `X-GM-MSGID`: the
/// lowercase hex Gmail's API and web addresses show.
pub fn hex_id(decimal: &str) -> Option<String> {
    decimal.trim().parse::<u64>().ok().map(|n| format!("{n:x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takeout_label_names_map_to_gmail_labels() {
        assert_eq!(
            labels("Inbox,Opened,Category Promotions,\"Work, misc\",Archived"),
            [
                LabelEntry::System("INBOX"),
                LabelEntry::Read,
                LabelEntry::System("CATEGORY_PROMOTIONS"),
                LabelEntry::User("Work, misc".to_owned()),
                LabelEntry::Ignored,
            ]
        );
    }

    #[test]
    fn thread_ids_are_lowercase_hex() {
        assert_eq!(hex_id("1771234567890123456").unwrap(), "1894b07480fbbac0");
        assert_eq!(hex_id("x"), None);
    }
}
