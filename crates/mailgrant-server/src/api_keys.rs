//! API keys of the token API: kept only as SHA-256 hashes, compared in
//! constant time.

use sha2::{Digest, Sha256};

/// The configured keys, hashed.
#[derive(Clone, Default)]
pub struct ApiKeys {
    hashes: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} configured)", self.hashes.len())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("API key {index} is not valid: {reason}")]
pub struct ApiKeyError {
    index: usize,
    reason: &'static str,
}

fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Equal without an early exit, so timing says nothing about where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ApiKeys {
    /// Each entry is a key, or `sha256:HEX` of one so that the plain key need
    /// not be in the configuration at all.
    pub fn parse(entries: &[String]) -> Result<Self, ApiKeyError> {
        let mut hashes = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.trim();
            if let Some(hex) = entry.strip_prefix("sha256:") {
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|b| u8::from_str_radix(b, 16).ok())
                    })
                    .collect::<Option<Vec<u8>>>()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or(ApiKeyError {
                        index,
                        reason: "sha256: needs 64 hex digits",
                    })?;
                hashes.push(bytes);
            } else if entry.len() < 16 {
                return Err(ApiKeyError {
                    index,
                    reason: "shorter than 16 characters",
                });
            } else {
                hashes.push(hash(entry));
            }
        }
        Ok(Self { hashes })
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Checks `presented` against every key (all of them, always).
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = hash(presented);
        self.hashes
            .iter()
            .fold(false, |found, key| found | same(key, &presented))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_hashed_keys_are_accepted_and_others_refused() {
        let hashed: String = hash("second-key-0123456789")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let keys = ApiKeys::parse(&[
            "first-key-0123456789".to_owned(),
            format!("sha256:{hashed}"),
        ])
        .unwrap();
        assert!(keys.accepts("first-key-0123456789"));
        assert!(keys.accepts("second-key-0123456789"));
        assert!(!keys.accepts("first-key-012345678"));
        assert!(!keys.accepts(""));
        assert!(!format!("{keys:?}").contains("first-key"));
    }

    #[test]
    fn short_or_malformed_keys_are_refused_at_start() {
        assert!(ApiKeys::parse(&["short".to_owned()]).is_err());
        assert!(ApiKeys::parse(&["sha256:abcd".to_owned()]).is_err());
    }
}
