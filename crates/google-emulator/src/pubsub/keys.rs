//! The emulator's signing keys for Pub/Sub push tokens, and the JWKS that
//! publishes them at `GET /oauth2/v3/certs`, where Google publishes the
//! keys of the OIDC tokens Pub/Sub attaches to pushes
//! (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
//!
//! A 2048-bit RSA key is made on first use, off the runtime's threads.
//! `rotate` makes a new one that signs from then on; the previous key stays
//! in the JWKS until the next rotation, as Google's certificate endpoints
//! list an outgoing key next to the current one.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::PrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::reply;
use crate::state::{Shared, lock};

/// The `iss` of Google-signed OIDC tokens.
pub const PUSH_TOKEN_ISSUER: &str = "https://accounts.google.com";

/// How long clients may cache the JWKS. Google's certificate endpoints
/// answer `Cache-Control: public, max-age=<seconds>, must-revalidate,
/// no-transform`; the number of seconds (hours, varying) is not
/// reproduced, an hour is used.
const CACHE_CONTROL: &str = "public, max-age=3600, must-revalidate, no-transform";

pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    /// The public half as a JWK (`kty`, `alg`, `use`, `kid`, `n`, `e`).
    jwk: Value,
}

#[derive(Default)]
struct Ring {
    current: Option<Arc<SigningKey>>,
    previous: Option<Arc<SigningKey>>,
}

/// An async lock: the first user waits for the key to be made, the others
/// wait for that one instead of making their own.
#[derive(Default)]
pub struct Keyring(tokio::sync::Mutex<Ring>);

/// `rsa` 0.10 takes a `rand_core` 0.10 generator; the crate's `rand` is
/// 0.9, whose thread generator (a CSPRNG seeded from the OS) this adapts.
struct ThreadRng(rand::rngs::ThreadRng);

impl rsa::rand_core::TryRng for ThreadRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand::RngCore::next_u32(&mut self.0))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand::RngCore::next_u64(&mut self.0))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::RngCore::fill_bytes(&mut self.0, dst);
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for ThreadRng {}

fn generate() -> Result<SigningKey, String> {
    let key = PrivateKey::new(&mut ThreadRng(rand::rng()), 2048).map_err(|e| e.to_string())?;
    let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
    let encoding = EncodingKey::from_rsa_der(der.as_bytes());
    let public = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(|e| e.to_string())?;
    let AlgorithmParameters::RSA(rsa) = public.algorithm else {
        return Err("not an RSA key".to_owned());
    };
    // Google's key ids are 40 hex digits.
    let digest = Sha256::digest(rsa.n.as_bytes());
    let kid: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
    let jwk = json!({
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": kid,
        "n": rsa.n,
        "e": rsa.e,
    });
    Ok(SigningKey { kid, encoding, jwk })
}

async fn generate_off_thread() -> Result<Arc<SigningKey>, String> {
    tokio::task::spawn_blocking(generate)
        .await
        .map_err(|e| e.to_string())?
        .map(Arc::new)
}

impl Keyring {
    async fn current(&self) -> Result<Arc<SigningKey>, String> {
        let mut ring = self.0.lock().await;
        if let Some(key) = &ring.current {
            return Ok(key.clone());
        }
        let key = generate_off_thread().await?;
        ring.current = Some(key.clone());
        Ok(key)
    }

    /// A new key signs from now on; returns its `kid`.
    pub async fn rotate(&self) -> Result<String, String> {
        let mut ring = self.0.lock().await;
        let key = generate_off_thread().await?;
        ring.previous = ring.current.replace(key.clone());
        Ok(key.kid.clone())
    }

    /// `{"keys": [current, previous?]}`.
    pub async fn jwks(&self) -> Result<Value, String> {
        self.current().await?;
        let ring = self.0.lock().await;
        let keys: Vec<&Value> = [&ring.current, &ring.previous]
            .into_iter()
            .flatten()
            .map(|k| &k.jwk)
            .collect();
        Ok(json!({ "keys": keys }))
    }

    /// The OIDC token Pub/Sub puts on a push for `email`, as its example
    /// shows it: `aud`, `azp`, `email`, `email_verified`, `exp`, `iat`,
    /// `iss`, `sub` (authenticate-push-subscriptions, "JWT format").
    pub async fn sign_push_token(
        &self,
        email: &str,
        audience: &str,
        now_ms: i64,
    ) -> Result<String, String> {
        let key = self.current().await?;
        let iat = now_ms / 1000;
        let id = numeric_id(email);
        let claims = json!({
            "aud": audience,
            "azp": id,
            "email": email,
            "email_verified": true,
            "exp": iat + 3600,
            "iat": iat,
            "iss": PUSH_TOKEN_ISSUER,
            "sub": id,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(|e| e.to_string())
    }
}

/// A service account's unique id: 21 decimal digits, stable per address.
pub fn numeric_id(email: &str) -> String {
    let digest = Sha256::digest(email.to_ascii_lowercase().as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    format!("1{:020}", u64::from_be_bytes(bytes))
}

/// `GET /oauth2/v3/certs`.
pub async fn certs(State(shared): State<Shared>) -> Response {
    let keys = lock(&shared).pubsub.keys.clone();
    match keys.jwks().await {
        Ok(jwks) => {
            let mut response = reply::json(StatusCode::OK, &jwks);
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "making a signing key");
            reply::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({ "error": "internal" }),
            )
        }
    }
}
