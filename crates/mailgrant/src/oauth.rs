//! Google's OAuth 2.0 web-server flow: the authorization URL, the code exchange,
//! refresh and revocation (https://developers.google.com/identity/protocols/oauth2/web-server).
//!
//! Built on the `oauth2` crate; what Google adds to RFC 6749 (offline access,
//! `include_granted_scopes`, `login_hint`, `prompt`) goes in as extra parameters.

use std::borrow::Cow;
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ErrorResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{ClientSecrets, GoogleEndpoints, POSTMESSAGE_REDIRECT_URI};
use crate::http::{describe, send_oauth2};

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Google's documented access-token lifetime, used when a response omits `expires_in`.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

/// What to ask Google for when sending a user to consent.
#[derive(Clone, Debug, Default)]
pub struct AuthorizationRequest {
    /// Scopes for this request; empty means the configured scopes.
    pub scopes: Vec<String>,
    /// The user's address (or id) when known, so Google preselects the account.
    pub login_hint: Option<String>,
    /// `prompt=consent`: show the consent screen, so Google issues a new refresh token.
    pub force_consent: bool,
}

/// What must survive, in the user's browser, between the redirect to Google and
/// the callback: the single-use `state` and the PKCE verifier.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub state: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingAuthorization([redacted])")
    }
}

/// Where the code was sent, which the token request must repeat.
#[derive(Clone, Debug)]
pub enum RedirectTarget {
    /// The server's callback URL.
    Callback(Url),
    /// A JavaScript client obtained the code in a popup (`redirect_uri=postmessage`).
    PostMessage,
}

/// Tokens from the token endpoint. `Debug` redacts them.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Duration,
    /// Granted scopes, when the response says (Google always does).
    pub scopes: Option<Vec<String>>,
}

/// A response body kept for diagnosis; `Debug` shows only its length because a
/// malformed token response may still hold a token.
#[derive(Clone)]
pub struct RawBody(pub Vec<u8>);

impl std::fmt::Debug for RawBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawBody({} bytes)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// Google answered with an OAuth error (`invalid_grant`, `invalid_client`, ...).
    #[error("Google refused the request: {code}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        code: String,
        description: Option<String>,
    },
    /// The answer was not a token response; nothing of it is in the message.
    #[error("Google's answer could not be read: {reason}")]
    Malformed { reason: String, body: RawBody },
    /// The request did not get an answer (connection, timeout).
    #[error("could not reach Google: {0}")]
    Transport(String),
}

impl OAuthError {
    /// True when the user's grant itself is dead and only a new consent
    /// helps: `invalid_grant` (revoked, expired, password change), and
    /// nothing else. Google authenticates the client before it looks at the
    /// grant (RFC 6749 §5.2 lists `invalid_client` apart from
    /// `invalid_grant`), so this code never stands for a client fault.
    pub fn is_grant_dead(&self) -> bool {
        matches!(self, Self::Rejected { code, .. } if code == "invalid_grant")
    }

    /// True when Google refuses the OAuth client, not the user: the
    /// deployment is misconfigured and no grant may be touched.
    ///
    /// - `invalid_client` "Unauthorized" (HTTP 401) for a wrong or rotated
    ///   secret: gh:adrielcafe/AndroidOAuth#2, gh:jaredhanson/passport-google-oauth#48
    ///   ("secret id not being correct"), gh:teranetsrl/oauth2_client#145,
    ///   gh:hrishikeshrt/google_drive_ocr#8 (a re-created project);
    ///   "The OAuth client was not found." for an unknown client id
    ///   (gh:data-for-change/anyway#674).
    /// - `unauthorized_client` "Unauthorized" (HTTP 401) for a refresh token
    ///   sent with another client's id and secret: gh:timfee/meet#25,
    ///   gh:prasmussen/gdrive#375 (fixed by using the owning client).
    /// - `disabled_client` "The OAuth client was disabled." (HTTP 401 from the
    ///   token endpoint: gh:openpubkey/opkssh#617) and `deleted_client`
    ///   "The OAuth client was deleted." (gh:prasmussen/gdrive#646).
    ///
    /// Any other code naming the client (`*_client`) counts too.
    pub fn is_client_rejected(&self) -> bool {
        matches!(self, Self::Rejected { code, .. } if is_client_error(code))
    }
}

/// Whether an OAuth error code is about the client ([`OAuthError::is_client_rejected`]).
pub(crate) fn is_client_error(code: &str) -> bool {
    code.ends_with("_client")
}

fn request_error<RE, T>(error: RequestTokenError<RE, T>) -> OAuthError
where
    RE: std::error::Error + 'static,
    T: ErrorResponse + Serialize + 'static,
{
    match error {
        RequestTokenError::ServerResponse(response) => {
            // The error type serializes to Google's JSON: read the code from it.
            let json = serde_json::to_value(&response).unwrap_or_default();
            OAuthError::Rejected {
                code: json["error"].as_str().unwrap_or("unknown_error").to_owned(),
                description: json["error_description"].as_str().map(str::to_owned),
            }
        }
        RequestTokenError::Request(e) => OAuthError::Transport(e.to_string()),
        // Only the JSON path, never serde's message: it may quote a token value.
        RequestTokenError::Parse(e, body) => OAuthError::Malformed {
            reason: format!("unexpected JSON at `{}`", e.path()),
            body: RawBody(body),
        },
        RequestTokenError::Other(message) => OAuthError::Malformed {
            reason: message,
            body: RawBody(Vec::new()),
        },
    }
}

/// The configured OAuth client.
pub struct OAuthClient {
    client: Client,
    http: reqwest::Client,
    scopes: Vec<String>,
    revoke_url: Url,
    client_secret: SecretString,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", self.client.client_id())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    pub fn new(
        secrets: &ClientSecrets,
        endpoints: &GoogleEndpoints,
        scopes: Vec<String>,
        http: reqwest::Client,
    ) -> Self {
        let client = BasicClient::new(ClientId::new(secrets.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                secrets.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(AuthUrl::from_url(secrets.auth_uri.clone()))
            .set_token_uri(TokenUrl::from_url(secrets.token_uri.clone()));
        Self {
            client,
            http,
            scopes,
            revoke_url: endpoints.revoke.clone(),
            client_secret: secrets.client_secret.clone(),
        }
    }

    pub fn client_id(&self) -> &str {
        self.client.client_id()
    }

    pub fn client_secret(&self) -> &SecretString {
        &self.client_secret
    }

    /// The scopes requested when a request names none.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Builds the URL to send the user to, and what to keep until the callback.
    pub fn authorization_url(
        &self,
        redirect_uri: &Url,
        request: &AuthorizationRequest,
    ) -> (Url, PendingAuthorization) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = if request.scopes.is_empty() {
            &self.scopes
        } else {
            &request.scopes
        };
        let redirect = RedirectUrl::from_url(redirect_uri.clone());
        let mut builder = self
            .client
            .authorize_url(CsrfToken::new_random)
            .set_redirect_uri(Cow::Owned(redirect))
            .add_scopes(scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            // A refresh token is only issued for offline access.
            .add_extra_param("access_type", "offline")
            // Incremental authorization: the new token also covers earlier grants.
            .add_extra_param("include_granted_scopes", "true");
        if let Some(hint) = &request.login_hint {
            builder = builder.add_extra_param("login_hint", hint.clone());
        }
        if request.force_consent {
            builder = builder.add_extra_param("prompt", "consent");
        }
        let (url, state) = builder.url();
        let pending = PendingAuthorization {
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        };
        (url, pending)
    }

    /// Exchanges a one-time code (authorization_code grant).
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: Option<&SecretString>,
        redirect: &RedirectTarget,
    ) -> Result<TokenSet, OAuthError> {
        let mut request = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()));
        request = match redirect {
            RedirectTarget::Callback(url) => {
                request.set_redirect_uri(Cow::Owned(RedirectUrl::from_url(url.clone())))
            }
            // "postmessage" is not a URL, so RedirectUrl cannot hold it.
            RedirectTarget::PostMessage => {
                request.add_extra_param("redirect_uri", POSTMESSAGE_REDIRECT_URI)
            }
        };
        if let Some(verifier) = pkce_verifier {
            request = request
                .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()));
        }
        let http = self.http.clone();
        let response = request
            .request_async(&|req| send_oauth2(http.clone(), req))
            .await
            .map_err(request_error::<_, BasicErrorResponse>)?;
        Ok(token_set(&response))
    }

    /// Gets a new access token with a refresh token (refresh_token grant).
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet, OAuthError> {
        let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
        let http = self.http.clone();
        let response = self
            .client
            .exchange_refresh_token(&token)
            .request_async(&|req| send_oauth2(http.clone(), req))
            .await
            .map_err(request_error::<_, BasicErrorResponse>)?;
        Ok(token_set(&response))
    }

    /// Revokes a refresh token at Google, which also ends its access tokens
    /// (https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke:
    /// `POST` with `token` form-encoded; 200 on success, 400 `invalid_token` when
    /// it is already gone). Sent by hand: `oauth2`'s revocation refuses plain-HTTP
    /// endpoints, which the local emulator is.
    #[tracing::instrument(skip_all)]
    pub async fn revoke(&self, refresh_token: &SecretString) -> Result<(), OAuthError> {
        let response = self
            .http
            .post(self.revoke_url.clone())
            .form(&[("token", refresh_token.expose_secret())])
            .send()
            .await
            .map_err(|e| OAuthError::Transport(describe(e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| OAuthError::Transport(describe(e)))?;
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        match json["error"].as_str() {
            Some(code) => Err(OAuthError::Rejected {
                code: code.to_owned(),
                description: json["error_description"].as_str().map(str::to_owned),
            }),
            None => Err(OAuthError::Malformed {
                reason: format!("revocation answered HTTP {status} without an OAuth error"),
                body: RawBody(body.to_vec()),
            }),
        }
    }
}

fn token_set(response: &oauth2::basic::BasicTokenResponse) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().clone())),
        expires_in: response.expires_in().unwrap_or(DEFAULT_EXPIRES_IN),
        scopes: response
            .scopes()
            .map(|scopes| scopes.iter().map(|s| s.to_string()).collect()),
    }
}

/// Reads a token endpoint's answer (`status`, a JSON `body`) the way
/// [`OAuthClient::exchange_code`] and [`OAuthClient::refresh`] read Google's:
/// the `oauth2` crate's response handling, then the same error mapping. No
/// request leaves the process; the property tests feed it what Google might
/// send.
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<TokenSet, OAuthError> {
    let status = http::StatusCode::from_u16(status).map_err(|_| OAuthError::Malformed {
        reason: format!("{status} is no HTTP status"),
        body: RawBody(body.to_vec()),
    })?;
    let token_url = Url::parse("https://oauth2.googleapis.com/token").expect("constant URL");
    let client =
        BasicClient::new(ClientId::new(String::new())).set_token_uri(TokenUrl::from_url(token_url));
    // The canned answer stands in for the transport: Google's token
    // endpoint answers `application/json`.
    let answer = |_request: oauth2::HttpRequest| {
        std::future::ready(
            http::Response::builder()
                .status(status)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec()),
        )
    };
    let response = futures::executor::block_on(
        client
            .exchange_refresh_token(&RefreshToken::new(String::new()))
            .request_async(&answer),
    )
    .map_err(request_error::<_, BasicErrorResponse>)?;
    Ok(token_set(&response))
}
