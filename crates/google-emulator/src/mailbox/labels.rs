//! Gmail's labels: the fixed system labels and a user's own (`Label_1`, …),
//! with the visibility settings and colours the `Label` resource carries
//! (https://developers.google.com/gmail/api/guides/labels; reference §5
//! Labels; discovery document `Label`, `LabelColor`).

/// A system label and the visibility fields `labels.list` gives it.
/// Recorded `labels.list` answers in public code differ between accounts
/// and years (some omit the fields on some labels); this table is one
/// consistent choice: hidden from message lists, and listed only for the
/// mailboxes a user opens (INBOX, SENT).
pub struct SystemLabel {
    pub id: &'static str,
    pub visibility: Option<(&'static str, &'static str)>,
}

const HIDDEN: Option<(&str, &str)> = Some(("hide", "labelHide"));
const LISTED: Option<(&str, &str)> = Some(("hide", "labelShow"));

pub const SYSTEM_LABELS: &[SystemLabel] = &[
    SystemLabel {
        id: "CHAT",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "SENT",
        visibility: LISTED,
    },
    SystemLabel {
        id: "INBOX",
        visibility: LISTED,
    },
    SystemLabel {
        id: "IMPORTANT",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "TRASH",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "DRAFT",
        visibility: None,
    },
    SystemLabel {
        id: "SPAM",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "CATEGORY_FORUMS",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "CATEGORY_UPDATES",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "CATEGORY_PERSONAL",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "CATEGORY_PROMOTIONS",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "CATEGORY_SOCIAL",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "STARRED",
        visibility: HIDDEN,
    },
    SystemLabel {
        id: "UNREAD",
        visibility: None,
    },
];

pub fn system_label(id: &str) -> Option<&'static SystemLabel> {
    SYSTEM_LABELS.iter().find(|l| l.id == id)
}

/// "SENT and DRAFT are applied automatically and cannot be applied
/// manually" (reference §5 Labels); the discovery document's `Label.type`
/// adds that they cannot be removed either. CHAT is Gmail's own too.
pub fn is_automatic(id: &str) -> bool {
    matches!(id, "SENT" | "DRAFT" | "CHAT")
}

/// Text and background colour, from the fixed palette of the discovery
/// document's `LabelColor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelColor {
    pub text: &'static str,
    pub background: &'static str,
}

/// A label the user made.
#[derive(Clone, Debug)]
pub struct UserLabel {
    /// `Label_<n>`, as Gmail numbers them.
    pub id: String,
    /// Nested labels are written with `/`, e.g. `Work/Projects`.
    pub name: String,
    pub color: Option<LabelColor>,
    pub message_list_visibility: &'static str,
    pub label_list_visibility: &'static str,
}

impl UserLabel {
    pub fn new(number: usize, name: &str, color: Option<LabelColor>) -> Self {
        Self {
            id: format!("Label_{number}"),
            name: name.to_owned(),
            color,
            message_list_visibility: "show",
            label_list_visibility: "labelShow",
        }
    }
}

/// The user labels every generated mailbox starts with.
pub fn generated_labels() -> Vec<UserLabel> {
    vec![
        UserLabel::new(
            1,
            "Receipts",
            Some(LabelColor {
                text: "#ffffff",
                background: "#16a766",
            }),
        ),
        UserLabel::new(
            2,
            "Travel",
            Some(LabelColor {
                text: "#000000",
                background: "#fad165",
            }),
        ),
        UserLabel::new(3, "Work", None),
        UserLabel::new(
            4,
            "Work/Projects",
            Some(LabelColor {
                text: "#ffffff",
                background: "#4a86e8",
            }),
        ),
    ]
}

/// How `label:` names a label: lower case, with `/`, space and `_`
/// written as `-`, so "Work/Projects" is `label:work-projects` (Gmail's
/// search box writes nested and multi-word labels so; reference §8).
pub fn search_name(name: &str) -> String {
    name.to_lowercase().replace(['/', ' ', '_'], "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_names_flatten_nesting_and_spaces() {
        assert_eq!(search_name("Work/Projects"), "work-projects");
        assert_eq!(search_name("Big Trips"), "big-trips");
        assert_eq!(search_name("CATEGORY_UPDATES"), "category-updates");
    }

    #[test]
    fn automatic_labels_are_known_system_labels() {
        for id in ["SENT", "DRAFT", "CHAT"] {
            assert!(is_automatic(id) && system_label(id).is_some());
        }
        assert!(!is_automatic("INBOX"));
    }
}
