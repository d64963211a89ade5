//! Gmail push notifications arrive as Cloud Pub/Sub pushes: this module tells
//! a push Google sent from a forged one, and reads what it says.
//!
//! A push subscription with authentication sends `Authorization: Bearer <JWT>`,
//! an OpenID Connect token Google signs with RS256 under one of the keys it
//! publishes at https://www.googleapis.com/oauth2/v3/certs. The receiver checks
//! the signature, that `iss` is `accounts.google.com` or
//! `https://accounts.google.com`, that `aud` is the audience configured on the
//! subscription, that `email` is the subscription's service account and
//! `email_verified` is true, and the token's times
//! (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
//!
//! Rejections map to what Pub/Sub should do next: 401 and 403 tell a forger
//! (or a misconfigured subscription) no, 503 asks Google to deliver again
//! later, when its keys could not be fetched.

mod keys;
mod message;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use url::Url;

pub use message::{PushMessage, PushParseError, parse_push};

use keys::KeyCache;

pub const GOOGLE_CERTS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";

/// The issuers Google's OIDC tokens carry, with and without the scheme.
const GOOGLE_ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];

/// Far longer than any token Google signs: no work is spent on larger ones.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a push must show to be accepted.
#[derive(Clone, Debug)]
pub struct PushSettings {
    /// Where the signing keys are published (a JWK set).
    pub certs_url: Url,
    /// The subscription's configured audience (by default, its push endpoint URL).
    pub audience: String,
    /// The service account the subscription signs its tokens as.
    pub service_account: String,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}

impl PushSettings {
    /// Google's keys, a minute of leeway.
    pub fn google(audience: String, service_account: String) -> Self {
        Self {
            certs_url: Url::parse(GOOGLE_CERTS_URL).expect("the certs URL parses"),
            audience,
            service_account,
            leeway: Duration::from_secs(60),
        }
    }
}

/// Who signed an accepted push, from its token.
#[derive(Clone, Debug)]
pub struct PushClaims {
    pub email: String,
    pub audience: String,
    pub subject: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a push was refused. Neither `Display` nor `Debug` shows the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushRejected {
    #[error("the push has no Authorization header")]
    MissingHeader,
    #[error("the Authorization header is not a Bearer token")]
    NotBearer,
    #[error("the bearer token is not a well-formed JWT")]
    MalformedToken,
    #[error("the token is not signed with RS256")]
    UnsupportedAlgorithm,
    #[error("the token's key is not among the published signing keys")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was not issued by accounts.google.com")]
    WrongIssuer,
    #[error("the token is for audience {audience:?}, not this subscription's")]
    WrongAudience { audience: String },
    #[error("the token is from {email:?}, not the subscription's service account")]
    WrongEmail { email: String },
    #[error("the token's email is not verified")]
    EmailNotVerified,
    #[error("the signing keys could not be fetched: {cause}")]
    CertsUnavailable { cause: String },
}

impl PushRejected {
    /// 401 for a token that is not a valid Google token, 403 for a valid one
    /// meant for someone else, 503 (Pub/Sub retries) when the keys are out
    /// of reach.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::WrongAudience { .. } | Self::WrongEmail { .. } | Self::EmailNotVerified => {
                StatusCode::FORBIDDEN
            }
            Self::CertsUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// A stable name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingHeader => "missing_header",
            Self::NotBearer => "not_bearer",
            Self::MalformedToken => "malformed_token",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience { .. } => "wrong_audience",
            Self::WrongEmail { .. } => "wrong_email",
            Self::EmailNotVerified => "email_not_verified",
            Self::CertsUnavailable { .. } => "certs_unavailable",
        }
    }
}

/// Checks the bearer tokens of pushes. Cheap to clone: clones share the key
/// cache.
#[derive(Clone)]
pub struct PushVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    settings: PushSettings,
    validation: Validation,
    keys: KeyCache,
}

impl std::fmt::Debug for PushVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushVerifier")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl PushVerifier {
    pub fn new(http: reqwest::Client, settings: PushSettings) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss"]);
        validation.set_issuer(&GOOGLE_ISSUERS);
        // Checked below, as an exact match with a message that names it.
        validation.validate_aud = false;
        let keys = KeyCache::new(http, settings.certs_url.clone(), Duration::from_secs(30));
        Self {
            inner: Arc::new(Inner {
                settings,
                validation,
                keys,
            }),
        }
    }

    /// The shortest time between two fetches of the keys (30 s by default).
    pub fn with_min_refetch_interval(self, interval: Duration) -> Self {
        self.inner.keys.set_min_refetch_interval(interval);
        self
    }

    /// Checks the `Authorization` header of a push.
    #[tracing::instrument(skip_all)]
    pub async fn verify(&self, authorization: Option<&str>) -> Result<PushClaims, PushRejected> {
        let token = bearer_token(authorization.ok_or(PushRejected::MissingHeader)?)?;
        let header = read_header(token)?;
        // Before any key is looked at: `none` and HMAC (keyed with the public
        // key's text) are the classic forgeries.
        if header.alg != "RS256" {
            return Err(PushRejected::UnsupportedAlgorithm);
        }
        let kid = header.kid.ok_or(PushRejected::UnknownKey)?;
        let key = self.inner.keys.key(&kid).await?;
        let claims = jsonwebtoken::decode::<GoogleClaims>(token, &key, &self.inner.validation)
            .map_err(|e| rejection(e.kind()))?
            .claims;
        self.check(claims)
    }

    /// The claims `jsonwebtoken` leaves to us, once the signature holds.
    fn check(&self, claims: GoogleClaims) -> Result<PushClaims, PushRejected> {
        let settings = &self.inner.settings;
        let issued_at = claims.iat.ok_or(PushRejected::MalformedToken)?;
        let leeway = i64::try_from(settings.leeway.as_secs()).unwrap_or(i64::MAX);
        if issued_at > crate::store::now_unix().saturating_add(leeway) {
            return Err(PushRejected::NotYetValid);
        }
        let audience = claims.aud.unwrap_or_default();
        if audience != settings.audience {
            return Err(PushRejected::WrongAudience { audience });
        }
        let email = claims.email.unwrap_or_default();
        if !email.eq_ignore_ascii_case(&settings.service_account) {
            return Err(PushRejected::WrongEmail { email });
        }
        if !claims.email_verified.is_some_and(|v| v.is_true()) {
            return Err(PushRejected::EmailNotVerified);
        }
        Ok(PushClaims {
            email,
            audience,
            subject: claims.sub.unwrap_or_default(),
            issued_at,
            expires_at: claims.exp,
        })
    }
}

/// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1).
fn bearer_token(authorization: &str) -> Result<&str, PushRejected> {
    let authorization = authorization.trim();
    let (scheme, rest) = authorization.split_once(' ').unwrap_or((authorization, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(PushRejected::NotBearer);
    }
    match rest.trim() {
        "" => Err(PushRejected::MalformedToken),
        token if token.len() > MAX_TOKEN_LEN => Err(PushRejected::MalformedToken),
        token => Ok(token),
    }
}

/// The JOSE header, read by hand: `jsonwebtoken`'s `Header` cannot hold an
/// algorithm it does not know (`none`), and that must read as unsupported,
/// not malformed.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    kid: Option<String>,
}

fn read_header(token: &str) -> Result<JoseHeader, PushRejected> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PushRejected::MalformedToken);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| PushRejected::MalformedToken)?;
    serde_json::from_slice(&json).map_err(|_| PushRejected::MalformedToken)
}

/// The claims of Google's push token; optional where a missing claim has
/// its own rejection.
#[derive(Deserialize)]
struct GoogleClaims {
    aud: Option<String>,
    email: Option<String>,
    email_verified: Option<Flag>,
    sub: Option<String>,
    iat: Option<i64>,
    exp: i64,
}

/// `true`, or `"true"` as some Google tokens have sent it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    fn is_true(&self) -> bool {
        match self {
            Self::Bool(b) => *b,
            Self::Text(s) => s == "true",
        }
    }
}

/// What `jsonwebtoken`'s refusal means here. Its messages are not passed on:
/// some quote parts of the token.
fn rejection(kind: &ErrorKind) -> PushRejected {
    match kind {
        ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            PushRejected::BadSignature
        }
        ErrorKind::ExpiredSignature => PushRejected::Expired,
        ErrorKind::ImmatureSignature => PushRejected::NotYetValid,
        ErrorKind::InvalidIssuer => PushRejected::WrongIssuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => PushRejected::WrongIssuer,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => PushRejected::UnsupportedAlgorithm,
        _ => PushRejected::MalformedToken,
    }
}
