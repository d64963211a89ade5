//! Encryption of tokens at rest.
//!
//! AES-256-GCM as crates.io encrypts its tokens, with a key id in front so keys can
//! rotate: a blob is `[version=1][key id: 8 ASCII hex][nonce: 12][ciphertext+tag]`.
//! The user id is bound as associated data, so a blob copied onto another user's
//! row does not decrypt.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use sha2::{Digest, Sha256, Sha512};

use crate::files::{self, Existing};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const KEY_FILE: &str = "encryption.key";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    #[error("encryption key is not valid: {0} (expected base64 of 32 random bytes)")]
    InvalidKey(&'static str),
    #[error("stored token was encrypted with key {key_id}, which is not configured")]
    UnknownKey { key_id: String },
    #[error("stored token cannot be decrypted (corrupt, or not this user's)")]
    Corrupt,
    // The OS error is in the message, so not also a `source` (a printed
    // cause chain would name it twice).
    #[error("key file {path}: {error}")]
    KeyFile {
        path: PathBuf,
        error: std::io::Error,
    },
}

#[derive(Clone)]
struct Key {
    id: String,
    cipher: Aes256Gcm,
    material: [u8; 32],
}

impl Key {
    fn from_bytes(material: [u8; 32]) -> Self {
        // The id is a fingerprint of the key, so it can be logged and stored.
        let digest = Sha256::new()
            .chain_update(b"mailgrant key id v1")
            .chain_update(material)
            .finalize();
        let id = digest[..KEY_ID_LEN / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            id,
            cipher: Aes256Gcm::new(&material.into()),
            material,
        }
    }

    fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| CryptoError::InvalidKey("not base64"))?;
        let material: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("not 32 bytes long"))?;
        Ok(Self::from_bytes(material))
    }
}

/// Where the current key came from, so the caller can announce a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    KeyFile(PathBuf),
    GeneratedKeyFile(PathBuf),
}

/// The current key (used to encrypt) and older keys (still readable).
#[derive(Clone)]
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// Parses `MAILGRANT_ENCRYPTION_KEY`: base64 keys separated by commas, the
    /// first one current.
    pub fn from_config(value: &str) -> Result<Self, CryptoError> {
        let mut keys = value
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(Key::from_base64)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(CryptoError::InvalidKey("empty"));
        }
        let current = keys.remove(0);
        Ok(Self {
            current,
            previous: keys,
        })
    }

    /// Reads `DIR/encryption.key`, or creates it with a new random key and
    /// 0600 rights. A key file that group or others can read is refused.
    /// Two processes starting at once agree on one key: the file is created
    /// new, never overwritten, and the loser reads the winner's.
    pub fn load_or_generate(data_dir: &Path) -> Result<(Self, KeySource), CryptoError> {
        let path = data_dir.join(KEY_FILE);
        let key_file_error = |error| CryptoError::KeyFile {
            path: path.clone(),
            error,
        };
        let read = || -> Result<Option<Self>, CryptoError> {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    files::ensure_private(&path).map_err(key_file_error)?;
                    Ok(Some(Self::from_config(&text)?))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(key_file_error(e)),
            }
        };
        if let Some(ring) = read()? {
            return Ok((ring, KeySource::KeyFile(path)));
        }
        std::fs::create_dir_all(data_dir).map_err(key_file_error)?;
        let material: [u8; 32] = rand::random();
        let text = format!("{}\n", STANDARD.encode(material));
        match files::write_private(&path, &text, Existing::Keep) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let ring = read()?.ok_or_else(|| key_file_error(e))?;
                return Ok((ring, KeySource::KeyFile(path)));
            }
            Err(e) => return Err(key_file_error(e)),
        }
        let ring = Self {
            current: Key::from_bytes(material),
            previous: Vec::new(),
        };
        Ok((ring, KeySource::GeneratedKeyFile(path)))
    }

    /// The configuration value of this ring: every key, current first.
    pub fn config_value(&self) -> String {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| STANDARD.encode(k.material))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// This ring with a new random key in front; the old ones stay readable.
    pub fn rotated(self) -> Self {
        let mut previous = vec![self.current];
        previous.extend(self.previous);
        Self {
            current: Key::from_bytes(rand::random()),
            previous,
        }
    }

    /// Replaces `DIR/encryption.key` with this ring (written aside, synced,
    /// then renamed, so a crash leaves the old file or the new one, never
    /// half of one).
    pub fn write_key_file(&self, data_dir: &Path) -> Result<PathBuf, CryptoError> {
        let path = data_dir.join(KEY_FILE);
        files::write_private(
            &path,
            &format!("{}\n", self.config_value()),
            Existing::Replace,
        )
        .map_err(|error| CryptoError::KeyFile {
            path: path.clone(),
            error,
        })?;
        Ok(path)
    }

    /// The id of the key a blob was encrypted with, if it looks like ours.
    pub fn key_id_of(blob: &[u8]) -> Option<&str> {
        (blob.len() > 1 + KEY_ID_LEN && blob[0] == VERSION)
            .then(|| std::str::from_utf8(&blob[1..1 + KEY_ID_LEN]).ok())
            .flatten()
    }

    /// A new random key in the configuration format (for `MAILGRANT_ENCRYPTION_KEY`).
    pub fn generate_config_value() -> String {
        STANDARD.encode(rand::random::<[u8; 32]>())
    }

    /// The ids of every configured key, current first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| k.id.as_str())
            .collect()
    }

    /// The id of the key new blobs are encrypted with.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// 64 bytes for each configured key, current first, derived for
    /// encrypting cookies: the first encrypts, every one decrypts, so that
    /// replicas part-way through a key rotation keep each other's sessions.
    pub fn derive_cookie_keys(&self) -> Vec<[u8; 64]> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|key| {
                Sha512::new()
                    .chain_update(b"mailgrant cookie key v1")
                    .chain_update(key.material)
                    .finalize()
                    .into()
            })
            .collect()
    }

    /// The cookie key of the current key ([`Keyring::derive_cookie_keys`]'s first).
    pub fn derive_cookie_key(&self) -> [u8; 64] {
        self.derive_cookie_keys()[0]
    }

    /// Encrypts `plaintext` for the row of `user_id`.
    pub fn encrypt(&self, plaintext: &str, user_id: &str) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: user_id.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer does not fail");
        let mut blob = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + ciphertext.len());
        blob.push(VERSION);
        blob.extend_from_slice(self.current.id.as_bytes());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    /// Decrypts a blob made by [`Keyring::encrypt`] for the same `user_id`.
    pub fn decrypt(&self, blob: &[u8], user_id: &str) -> Result<SecretString, CryptoError> {
        if blob.len() < 1 + KEY_ID_LEN + NONCE_LEN || blob[0] != VERSION {
            return Err(CryptoError::Corrupt);
        }
        let key_id =
            std::str::from_utf8(&blob[1..1 + KEY_ID_LEN]).map_err(|_| CryptoError::Corrupt)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey {
                key_id: key_id.to_owned(),
            })?;
        let (nonce, ciphertext) = blob[1 + KEY_ID_LEN..].split_at(NONCE_LEN);
        let plaintext = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)?;
        String::from_utf8(plaintext)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn ring() -> Keyring {
        Keyring::from_config(&Keyring::generate_config_value()).unwrap()
    }

    #[test]
    fn encrypted_token_round_trips_and_does_not_contain_the_plaintext() {
        let ring = ring();
        let blob = ring.encrypt("1//0refresh-token", "user-1");
        assert!(!blob.windows(8).any(|w| w == b"1//0refr"));
        assert_eq!(
            ring.decrypt(&blob, "user-1").unwrap().expose_secret(),
            "1//0refresh-token"
        );
    }

    #[test]
    fn blob_moved_to_another_user_does_not_decrypt() {
        let ring = ring();
        let blob = ring.encrypt("secret", "user-1");
        assert!(matches!(
            ring.decrypt(&blob, "user-2"),
            Err(CryptoError::Corrupt)
        ));
    }

    #[test]
    fn old_key_stays_readable_after_rotation_and_unknown_key_is_named() {
        let old = Keyring::generate_config_value();
        let new = Keyring::generate_config_value();
        let before = Keyring::from_config(&old).unwrap();
        let blob = before.encrypt("secret", "u");
        let rotated = Keyring::from_config(&format!("{new},{old}")).unwrap();
        assert_eq!(
            rotated.decrypt(&blob, "u").unwrap().expose_secret(),
            "secret"
        );
        let without_old = Keyring::from_config(&new).unwrap();
        let err = without_old.decrypt(&blob, "u").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "stored token was encrypted with key {}, which is not configured",
                before.current_key_id()
            )
        );
    }

    #[test]
    fn malformed_key_is_a_clear_error() {
        let err = Keyring::from_config("c2hvcnQ=").unwrap_err();
        assert!(err.to_string().contains("not 32 bytes long"));
    }

    #[test]
    fn generated_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = Keyring::load_or_generate(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        assert_eq!(source, KeySource::GeneratedKeyFile(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, source) = Keyring::load_or_generate(dir.path()).unwrap();
        assert_eq!(source, KeySource::KeyFile(path));
        assert_eq!(first.current_key_id(), second.current_key_id());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused_naming_chmod_600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        Keyring::load_or_generate(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();

        let error = Keyring::load_or_generate(dir.path()).unwrap_err();

        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("chmod 600"), "{message}");
    }

    #[test]
    fn cookie_keys_put_the_current_key_first_and_keep_the_others() {
        let (old, new) = (
            Keyring::generate_config_value(),
            Keyring::generate_config_value(),
        );
        let before = Keyring::from_config(&old).unwrap();
        let during = Keyring::from_config(&format!("{new},{old}")).unwrap();

        let keys = during.derive_cookie_keys();

        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1], before.derive_cookie_key());
        assert_ne!(keys[0], keys[1]);
    }

    #[test]
    fn debug_output_shows_key_ids_only() {
        let value = Keyring::generate_config_value();
        let ring = Keyring::from_config(&value).unwrap();
        let debug = format!("{ring:?}");
        assert!(debug.contains(ring.current_key_id()));
        assert!(!debug.contains(&value));
    }
}
