//! Identifiers and secrets in the shapes Google gives them: 21-digit user ids,
//! 16-hex-digit message ids, and random url-safe codes and tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// A Google account id (`sub`, v2 `id`): 21 decimal digits, derived from the
/// email so the same seed always gives the same id.
pub fn user_id(email: &str) -> String {
    let digest = Sha256::digest(email.to_ascii_lowercase().as_bytes());
    let mut id = String::with_capacity(21);
    // Real ids start with 1 (e.g. "1093…"); keep that so they sort alike.
    id.push('1');
    for byte in digest.iter().take(20) {
        id.push(char::from(b'0' + byte % 10));
    }
    id
}

/// A Gmail message id: 16 lowercase hex digits, fixed per user and index.
pub fn message_id(user_id: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{user_id}/message/{index}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    format!("{:016x}", u64::from_be_bytes(bytes))
}

/// `len` random bytes, base64url without padding.
pub fn random_urlsafe(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An authorization code; Google's start with `4/0A` (reference §1).
pub fn authorization_code() -> String {
    format!("4/0A{}", random_urlsafe(54))
}

/// An access token; Google's start with `ya29.` (reference §2 example).
pub fn access_token() -> String {
    format!("ya29.{}", random_urlsafe(120))
}

/// A refresh token; Google's start with `1//0` (reference §2 example).
pub fn refresh_token() -> String {
    format!("1//0{}", random_urlsafe(72))
}

/// The id of a pending consent request.
pub fn request_id() -> String {
    random_urlsafe(18)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_21_digits_and_stable() {
        let id = user_id("alice@example.com");
        assert_eq!(id.len(), 21);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(id, user_id("Alice@Example.com"));
        assert_ne!(id, user_id("bob@example.com"));
    }

    #[test]
    fn message_ids_are_16_lowercase_hex_digits() {
        let id = message_id("123", 7);
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(id, message_id("123", 7));
    }

    #[test]
    fn tokens_are_url_safe() {
        for token in [authorization_code(), access_token(), refresh_token()] {
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
            );
        }
    }
}
