//! Configuration that comes from Google: the OAuth client in `client_secrets.json`
//! and the endpoints that are not in it (userinfo, revocation, Gmail).
//!
//! Every Google URL is configuration, so tests and the demo point them at the
//! emulator. The defaults are Google's production endpoints.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_json::Value;
use url::Url;

/// Scopes requested when none are configured: read mail, and know who the user is.
pub const DEFAULT_SCOPES: [&str; 3] = [
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
];

/// The redirect URI a JavaScript client uses when it obtains the code in a popup
/// and hands it to the server (Google Identity Services "code model").
pub const POSTMESSAGE_REDIRECT_URI: &str = "postmessage";

/// Which kind of OAuth client the file describes (the top-level key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    Web,
    Installed,
}

/// The OAuth client from Google's `client_secrets.json`.
///
/// `Debug` never shows the secret (it is a [`SecretString`]).
#[derive(Clone, Debug)]
pub struct ClientSecrets {
    pub kind: ClientKind,
    pub client_id: String,
    pub client_secret: SecretString,
    pub auth_uri: Url,
    pub token_uri: Url,
    pub redirect_uris: Vec<String>,
}

/// Why a `client_secrets.json` could not be used. Messages name the file and the
/// field, never a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    // The OS error is in the message and so not also a `source`: a
    // printed cause chain would name it twice.
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not valid JSON: {reason}")]
    NotJson { path: PathBuf, reason: String },
    #[error("{path} has neither a \"web\" nor an \"installed\" client")]
    NoClient { path: PathBuf },
    /// An `authorized_user` file whose `type` is something else (shown as JSON).
    #[error("{path} is not an authorized_user file (its \"type\" is {found})")]
    NotAuthorizedUser { path: PathBuf, found: String },
    #[error("{path}: field `{field}` is missing or empty")]
    MissingField { path: PathBuf, field: String },
    #[error("{path}: field `{field}` is not a valid URL: {reason}")]
    InvalidUrl {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error(
        "the redirect URI {redirect_uri} is not registered for this OAuth client; \
         registered: [{}]. Add it in the Google Cloud console (or pass --public-url so it matches)",
        registered.join(", ")
    )]
    RedirectUriNotRegistered {
        redirect_uri: String,
        registered: Vec<String>,
    },
}

impl ClientSecrets {
    /// Reads and validates a `client_secrets.json` file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(&read(path)?, path)
    }

    /// Parses the file's content; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let root = json(text, path)?;
        let (kind, key) = if root.get("web").is_some() {
            (ClientKind::Web, "web")
        } else if root.get("installed").is_some() {
            (ClientKind::Installed, "installed")
        } else {
            return Err(ConfigError::NoClient {
                path: path.to_owned(),
            });
        };
        let client = &root[key];
        let field = |name: &str| string_field(client, name, path, &format!("{key}.{name}"));
        let url_field = |name: &str| -> Result<Url, ConfigError> {
            Url::parse(&field(name)?).map_err(|e| ConfigError::InvalidUrl {
                path: path.to_owned(),
                field: format!("{key}.{name}"),
                reason: e.to_string(),
            })
        };
        let redirect_uris = client
            .get("redirect_uris")
            .and_then(Value::as_array)
            .map(|uris| {
                uris.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if redirect_uris.is_empty() {
            return Err(ConfigError::MissingField {
                path: path.to_owned(),
                field: format!("{key}.redirect_uris"),
            });
        }
        Ok(Self {
            kind,
            client_id: field("client_id")?,
            client_secret: SecretString::from(field("client_secret")?),
            auth_uri: url_field("auth_uri")?,
            token_uri: url_field("token_uri")?,
            redirect_uris,
        })
    }

    /// Checks that `redirect_uri` is registered exactly (Google compares scheme,
    /// host, port, path, case and trailing slash).
    pub fn ensure_redirect_uri(&self, redirect_uri: &str) -> Result<(), ConfigError> {
        if self.redirect_uris.iter().any(|uri| uri == redirect_uri) {
            Ok(())
        } else {
            Err(ConfigError::RedirectUriNotRegistered {
                redirect_uri: redirect_uri.to_owned(),
                registered: self.redirect_uris.clone(),
            })
        }
    }
}

/// One user's grant as google-auth's `authorized_user` JSON holds it (what
/// `Credentials.from_authorized_user_info` reads and `mailgrant users export`
/// writes): the OAuth client it was issued to and its refresh token.
///
/// `Debug` never shows the refresh token or the client secret.
#[derive(Clone, Debug)]
pub struct AuthorizedUser {
    pub client_id: String,
    /// google-auth writes it; importing a grant does not need it.
    pub client_secret: Option<SecretString>,
    pub refresh_token: SecretString,
    /// The user's address, when the file names it.
    pub account: Option<String>,
}

impl AuthorizedUser {
    /// Reads and validates an `authorized_user` file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(&read(path)?, path)
    }

    /// Parses the file's content: `type` must be `authorized_user`, and
    /// `client_id` and `refresh_token` non-empty strings. `path` is only used
    /// in error messages, which never show the token.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let root = json(text, path)?;
        if root["type"] != "authorized_user" {
            return Err(ConfigError::NotAuthorizedUser {
                path: path.to_owned(),
                found: root["type"].to_string(),
            });
        }
        let optional = |name: &str| string_field(&root, name, path, name).ok();
        Ok(Self {
            client_id: string_field(&root, "client_id", path, "client_id")?,
            client_secret: optional("client_secret").map(SecretString::from),
            refresh_token: SecretString::from(string_field(
                &root,
                "refresh_token",
                path,
                "refresh_token",
            )?),
            account: optional("account"),
        })
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_owned(),
        error,
    })
}

fn json(text: &str, path: &Path) -> Result<Value, ConfigError> {
    serde_json::from_str(text).map_err(|e| ConfigError::NotJson {
        path: path.to_owned(),
        // serde_json's message names line and column, not the content.
        reason: e.to_string(),
    })
}

/// The string `name` of `object`; missing, blank or not a string is a
/// [`ConfigError::MissingField`] called `label`.
fn string_field(
    object: &Value,
    name: &str,
    path: &Path,
    label: &str,
) -> Result<String, ConfigError> {
    match object.get(name).and_then(Value::as_str) {
        Some(value) if !value.trim().is_empty() => Ok(value.to_owned()),
        _ => Err(ConfigError::MissingField {
            path: path.to_owned(),
            field: label.to_owned(),
        }),
    }
}

/// The Google endpoints that `client_secrets.json` does not carry.
#[derive(Clone, Debug)]
pub struct GoogleEndpoints {
    /// Google's v2 userinfo (answers `id`); an OpenID Connect userinfo (answers `sub`) works too.
    pub userinfo: Url,
    /// Token revocation (https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke).
    pub revoke: Url,
    /// Root of the Gmail API; paths `gmail/v1/...` are joined to it.
    pub gmail_api: Url,
}

impl Default for GoogleEndpoints {
    fn default() -> Self {
        Self {
            userinfo: Url::parse("https://www.googleapis.com/oauth2/v2/userinfo")
                .expect("constant URL"),
            revoke: Url::parse("https://oauth2.googleapis.com/revoke").expect("constant URL"),
            gmail_api: Url::parse("https://gmail.googleapis.com/").expect("constant URL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const WEB: &str = r#"{"web":{"client_id":"id.apps.googleusercontent.com","project_id":"p",
        "auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token",
        "client_secret":"GOCSPX-secret-value","redirect_uris":["http://localhost:8080/oauth2callback"]}}"#;

    fn parse(text: &str) -> Result<ClientSecrets, ConfigError> {
        ClientSecrets::parse(text, Path::new("client_secrets.json"))
    }

    #[test]
    fn web_client_file_is_read_with_all_fields() {
        let secrets = parse(WEB).unwrap();
        assert_eq!(secrets.kind, ClientKind::Web);
        assert_eq!(secrets.client_id, "id.apps.googleusercontent.com");
        assert_eq!(secrets.client_secret.expose_secret(), "GOCSPX-secret-value");
        assert_eq!(
            secrets.token_uri.as_str(),
            "https://oauth2.googleapis.com/token"
        );
        assert_eq!(
            secrets.redirect_uris,
            ["http://localhost:8080/oauth2callback"]
        );
    }

    #[test]
    fn installed_client_file_is_accepted() {
        let secrets = parse(&WEB.replace("\"web\"", "\"installed\"")).unwrap();
        assert_eq!(secrets.kind, ClientKind::Installed);
    }

    #[test]
    fn missing_field_is_named_in_the_error() {
        let err = parse(&WEB.replace("\"token_uri\"", "\"token_urx\"")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "client_secrets.json: field `web.token_uri` is missing or empty"
        );
    }

    #[test]
    fn file_without_client_type_is_rejected() {
        let err = parse(r#"{"other":{}}"#).unwrap_err();
        assert!(matches!(err, ConfigError::NoClient { .. }), "{err}");
    }

    #[test]
    fn broken_json_error_does_not_echo_the_secret() {
        let err = parse(&WEB[..WEB.len() - 3]).unwrap_err();
        assert!(matches!(err, ConfigError::NotJson { .. }));
        assert!(!err.to_string().contains("GOCSPX"));
    }

    #[test]
    fn debug_output_redacts_the_client_secret() {
        let secrets = parse(WEB).unwrap();
        assert!(!format!("{secrets:?}").contains("GOCSPX-secret-value"));
    }

    const AUTHORIZED_USER: &str = r#"{"type":"authorized_user","client_id":"id.apps.googleusercontent.com",
        "client_secret":"GOCSPX-secret-value","refresh_token":"1//refresh-token-value","account":"a@example.com"}"#;

    fn parse_user(text: &str) -> Result<AuthorizedUser, ConfigError> {
        AuthorizedUser::parse(text, Path::new("alice.json"))
    }

    #[test]
    fn authorized_user_file_is_read_and_its_debug_hides_the_secrets() {
        let user = parse_user(AUTHORIZED_USER).unwrap();
        assert_eq!(user.client_id, "id.apps.googleusercontent.com");
        assert_eq!(user.refresh_token.expose_secret(), "1//refresh-token-value");
        assert_eq!(user.account.as_deref(), Some("a@example.com"));
        let debug = format!("{user:?}");
        assert!(!debug.contains("refresh-token-value"), "{debug}");
        assert!(!debug.contains("GOCSPX-secret-value"), "{debug}");
    }

    #[test]
    fn file_of_another_type_is_not_taken_for_an_authorized_user() {
        let text = AUTHORIZED_USER.replace("\"authorized_user\"", "\"service_account\"");
        let err = parse_user(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "alice.json is not an authorized_user file (its \"type\" is \"service_account\")"
        );
    }

    #[test]
    fn authorized_user_without_a_refresh_token_names_the_field_only() {
        let text = AUTHORIZED_USER.replace("\"refresh_token\"", "\"refresh_tokn\"");
        let err = parse_user(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "alice.json: field `refresh_token` is missing or empty"
        );
    }

    #[test]
    fn unregistered_redirect_uri_is_refused_with_the_registered_list() {
        let secrets = parse(WEB).unwrap();
        assert!(
            secrets
                .ensure_redirect_uri("http://localhost:8080/oauth2callback")
                .is_ok()
        );
        let err = secrets
            .ensure_redirect_uri("http://localhost:8080/oauth2callback/")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("http://localhost:8080/oauth2callback/ is not registered")
        );
    }
}
