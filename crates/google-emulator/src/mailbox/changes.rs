//! Changes to a mailbox, each logged in its history: labels added and
//! removed (`messages.modify`), messages added (controls, mbox import) and
//! deleted (`messages.delete`).

use super::history::{ChangeKind, HistoryRecord};
use super::labels::{LabelColor, UserLabel, is_automatic};
use super::{Mailbox, Message};
use crate::ids;

/// Why a modification was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ModifyError {
    NotFound,
    /// An unknown label, or one that cannot be applied or removed by hand.
    InvalidLabel(String),
}

fn record(kind: ChangeKind, message: &Message, changed: Vec<String>) -> HistoryRecord {
    HistoryRecord {
        id: 0,
        kind,
        message_id: message.id.clone(),
        thread_id: message.thread_id.clone(),
        label_ids: message.label_ids.clone(),
        changed,
    }
}

/// Colours given in turn to labels created on the fly (palette of the
/// discovery document's `LabelColor`).
const NEW_LABEL_COLORS: &[(&str, &str)] = &[
    ("#ffffff", "#fb4c2f"),
    ("#000000", "#ffad47"),
    ("#ffffff", "#a479e2"),
    ("#000000", "#43d692"),
];

impl Mailbox {
    /// A message id not used in this mailbox yet.
    pub fn next_message_id(&mut self, user_id: &str) -> String {
        loop {
            let id = ids::message_id(user_id, self.next_index);
            self.next_index += 1;
            if self.find(&id).is_none() {
                return id;
            }
        }
    }

    /// Files `message` at its place by date, logs `messageAdded` and
    /// returns its history id.
    pub fn add(&mut self, mut message: Message) -> u64 {
        let history_id = self
            .history
            .push(record(ChangeKind::MessageAdded, &message, Vec::new()));
        message.history_id = history_id;
        let at = self.messages.partition_point(|m| {
            m.internal_date_ms > message.internal_date_ms
                || (m.internal_date_ms == message.internal_date_ms && m.id > message.id)
        });
        self.messages.insert(at, message);
        self.moved();
        history_id
    }

    /// `messages.modify`: adds, then removes, labels; each non-empty half is
    /// its own history record. Labels already present (or absent) change
    /// nothing and log nothing.
    pub fn modify(
        &mut self,
        id: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<&Message, ModifyError> {
        let index = self.position(id).ok_or(ModifyError::NotFound)?;
        if let Some(bad) = add
            .iter()
            .chain(remove)
            .find(|l| !self.label_exists(l) || is_automatic(l))
        {
            return Err(ModifyError::InvalidLabel(bad.clone()));
        }
        let mut added: Vec<String> = Vec::new();
        for label in add {
            if !self.messages[index].has_label(label) && !added.contains(label) {
                added.push(label.clone());
            }
        }
        if !added.is_empty() {
            self.messages[index].label_ids.extend(added.iter().cloned());
            self.log(index, ChangeKind::LabelAdded, added);
        }
        let mut removed: Vec<String> = Vec::new();
        for label in remove {
            if self.messages[index].has_label(label) && !removed.contains(label) {
                removed.push(label.clone());
            }
        }
        if !removed.is_empty() {
            self.messages[index]
                .label_ids
                .retain(|l| !removed.contains(l));
            self.log(index, ChangeKind::LabelRemoved, removed);
        }
        Ok(&self.messages[index])
    }

    /// `messages.delete`: gone for good, logged as `messageDeleted`.
    pub fn delete(&mut self, id: &str) -> bool {
        let Some(index) = self.position(id) else {
            return false;
        };
        let message = self.messages.remove(index);
        self.moved();
        self.history
            .push(record(ChangeKind::MessageDeleted, &message, Vec::new()));
        true
    }

    fn log(&mut self, index: usize, kind: ChangeKind, changed: Vec<String>) {
        self.relabelled();
        let id = self
            .history
            .push(record(kind, &self.messages[index], changed));
        self.messages[index].history_id = id;
    }

    /// The id of the user label called `name` (case-insensitively, as
    /// Gmail compares label names), created if there is none.
    pub fn label_named(&mut self, name: &str) -> String {
        if let Some(label) = self
            .labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
        {
            return label.id.clone();
        }
        let number = self
            .labels
            .iter()
            .filter_map(|l| l.id.strip_prefix("Label_")?.parse::<usize>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let (text, background) = NEW_LABEL_COLORS[number % NEW_LABEL_COLORS.len()];
        let label = UserLabel::new(number, name, Some(LabelColor { text, background }));
        let id = label.id.clone();
        self.labels.push(label);
        id
    }

    /// Forgets the history before the current id.
    pub fn expire_history(&mut self) {
        self.history.expire();
    }
}
