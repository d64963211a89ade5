//! `pageToken` / `nextPageToken` for `messages.list`: opaque to clients,
//! 20 digits like Gmail's, holding an offset and a check so that a token
//! not made here is refused with "Invalid pageToken".

use sha2::{Digest as _, Sha256};

const CHECK_MODULUS: u64 = 10_000_000_000;

fn check(user_id: &str, offset: u64) -> u64 {
    let digest = Sha256::digest(format!("{user_id}/page/{offset}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes) % CHECK_MODULUS
}

/// The token that resumes `user_id`'s listing at `offset`.
pub fn encode(user_id: &str, offset: usize) -> String {
    let offset = offset as u64;
    format!("{offset:010}{:010}", check(user_id, offset))
}

/// The offset a token stands for, if it is one of ours for this user.
pub fn decode(user_id: &str, token: &str) -> Option<usize> {
    if token.len() != 20 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let offset: u64 = token[..10].parse().ok()?;
    let sum: u64 = token[10..].parse().ok()?;
    (sum == check(user_id, offset)).then(|| usize::try_from(offset).ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        let token = encode("42", 300);
        assert_eq!(decode("42", &token), Some(300));
        assert_eq!(decode("43", &token), None);
        assert_eq!(decode("42", "00000003000000000000"), None);
        assert_eq!(decode("42", "garbage"), None);
    }
}
