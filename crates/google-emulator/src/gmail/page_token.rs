//! `pageToken` / `nextPageToken` of the list methods: opaque to clients,
//! 20 digits like Gmail's, holding a position (an offset, or for history
//! the last record id) and a check, so that a token not made here, or for
//! another user or list, is refused with "Invalid pageToken".

use sha2::{Digest as _, Sha256};

const CHECK_MODULUS: u64 = 10_000_000_000;

/// Which listing a token resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Messages,
    Threads,
    History,
}

impl Kind {
    fn salt(self) -> &'static str {
        match self {
            Kind::Messages => "page",
            Kind::Threads => "threads",
            Kind::History => "history",
        }
    }
}

fn check(user_id: &str, kind: Kind, offset: u64) -> u64 {
    let digest = Sha256::digest(format!("{user_id}/{}/{offset}", kind.salt()).as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes) % CHECK_MODULUS
}

/// The token that resumes `user_id`'s listing at `offset`.
pub fn encode(user_id: &str, kind: Kind, offset: u64) -> String {
    format!("{offset:010}{:010}", check(user_id, kind, offset))
}

/// The offset a token stands for, if it is one of ours for this user.
pub fn decode(user_id: &str, kind: Kind, token: &str) -> Option<u64> {
    if token.len() != 20 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let offset: u64 = token[..10].parse().ok()?;
    let sum: u64 = token[10..].parse().ok()?;
    (sum == check(user_id, kind, offset)).then_some(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        let token = encode("42", Kind::Messages, 300);
        assert_eq!(decode("42", Kind::Messages, &token), Some(300));
        assert_eq!(decode("43", Kind::Messages, &token), None);
        assert_eq!(decode("42", Kind::Threads, &token), None);
        assert_eq!(decode("42", Kind::Messages, "00000003000000000000"), None);
        assert_eq!(decode("42", Kind::Messages, "garbage"), None);
    }
}
