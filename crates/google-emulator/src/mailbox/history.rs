//! A mailbox's change log, as `users.history.list` serves it (reference §5
//! history.list; discovery document `History`).
//!
//! Every change gets its own record and a new history id; the changed
//! message takes that id as its `historyId`. Ids increase but, as the
//! discovery document warns ("not contiguous with random gaps in between
//! valid IDs"), not by one.

/// The four record types of `historyTypes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    MessageAdded,
    MessageDeleted,
    LabelAdded,
    LabelRemoved,
}

impl ChangeKind {
    /// The `historyTypes` value (case-insensitive, as Google's enums are
    /// on the query string).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.to_ascii_lowercase().as_str() {
            "messageadded" => Self::MessageAdded,
            "messagedeleted" => Self::MessageDeleted,
            "labeladded" => Self::LabelAdded,
            "labelremoved" => Self::LabelRemoved,
            _ => return None,
        })
    }
}

/// One change to one message.
#[derive(Clone, Debug)]
pub struct HistoryRecord {
    pub id: u64,
    pub kind: ChangeKind,
    pub message_id: String,
    pub thread_id: String,
    /// The message's labels after the change (before it, for a deletion).
    pub label_ids: Vec<String>,
    /// The labels added or removed, for label changes.
    pub changed: Vec<String>,
}

impl HistoryRecord {
    /// Whether `labelId` selects it: the message had the label, or the
    /// change was to that label.
    pub fn concerns_label(&self, label: &str) -> bool {
        self.label_ids
            .iter()
            .chain(&self.changed)
            .any(|l| l == label)
    }
}

/// The retained records and the mailbox's current history id.
#[derive(Clone, Debug)]
pub struct History {
    records: Vec<HistoryRecord>,
    current: u64,
    /// The oldest `startHistoryId` still answered.
    oldest: u64,
    issued: u64,
}

impl History {
    /// A log whose current id is `current`, answering from `oldest` on.
    pub fn new(current: u64, oldest: u64) -> Self {
        Self {
            records: Vec::new(),
            current,
            oldest: oldest.min(current),
            issued: 0,
        }
    }

    pub fn current(&self) -> u64 {
        self.current
    }

    /// Whether a `startHistoryId` can be answered. Older ids than the
    /// retained history get a 404 (reference §5 history.list). Ids the
    /// mailbox never reached are not valid either; Google's answer for them
    /// is unconfirmed, and the emulator treats them as invalid, i.e. 404.
    pub fn answers(&self, start: u64) -> bool {
        (self.oldest..=self.current).contains(&start)
    }

    /// Records with an id above `after`, oldest first.
    pub fn after(&self, after: u64) -> impl Iterator<Item = &HistoryRecord> {
        let from = self.records.partition_point(|r| r.id <= after);
        self.records[from..].iter()
    }

    /// Moves to a new id (with a small deterministic gap) and logs `record`
    /// under it; returns the id.
    pub fn push(&mut self, mut record: HistoryRecord) -> u64 {
        self.current += 1 + self.issued % 3;
        self.issued += 1;
        record.id = self.current;
        self.records.push(record);
        self.current
    }

    /// Forgets everything before the current id, as Gmail does after a
    /// week or so: older `startHistoryId`s then get a 404.
    pub fn expire(&mut self) {
        self.records.clear();
        self.oldest = self.current;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(message: &str) -> HistoryRecord {
        HistoryRecord {
            id: 0,
            kind: ChangeKind::MessageAdded,
            message_id: message.to_owned(),
            thread_id: message.to_owned(),
            label_ids: vec!["INBOX".to_owned()],
            changed: Vec::new(),
        }
    }

    #[test]
    fn ids_increase_with_gaps_and_old_starts_expire() {
        let mut history = History::new(100, 90);
        let a = history.push(record("a"));
        let b = history.push(record("b"));
        let c = history.push(record("c"));
        assert!(100 < a && a < b && b < c && c - a > 2);
        assert_eq!(history.after(a).count(), 2);
        assert!(history.answers(95) && !history.answers(80) && !history.answers(c + 1));
        history.expire();
        assert!(!history.answers(a) && history.answers(c));
        assert_eq!(history.after(0).count(), 0);
    }
}
