//! Property tests of the library's parsers of outside input (issue 8, §5):
//! Google's `client_secrets.json`, google-auth's `authorized_user` JSON, the
//! token endpoint's answers and the Gmail batch answer. None may panic on
//! any input, well-formed input reads back what was written, and no error
//! shows a secret. 10,000 cases each here;
//! `cargo bench -p mailgrant --bench parser_properties` runs 1,000,000.

#[path = "property_common/mod.rs"]
mod property_common;

use std::path::Path;

use mailgrant::ExposeSecret as _;
use mailgrant::config::{AuthorizedUser, ClientKind, ClientSecrets, ConfigError};
use mailgrant::gmail::response_parts;
use mailgrant::oauth::{OAuthError, parse_token_response};
use property_common::{bytes, fragments, framing, http_message, part_body, pattern, properties};
use proptest::prelude::*;
use serde_json::{Value, json};
use url::Url;

const SECRETS_FILE: &str = "client_secrets.json";
const USER_FILE: &str = "alice.json";

/// Pieces of the JSON files and answers read here, broken or not.
#[rustfmt::skip]
const JSON_PIECES: &[&str] = &[
    "{", "}", "[", "]", ":", ",", " ", "\n", "\"", "\\", "null", "true", "0", "-1", "1e999",
    "18446744073709551616", "\"web\"", "\"installed\"", "\"type\"", "\"authorized_user\"",
    "\"client_id\"", "\"client_secret\"", "\"refresh_token\"", "\"account\"", "\"auth_uri\"",
    "\"token_uri\"", "\"redirect_uris\"", "\"access_token\"", "\"token_type\"", "\"Bearer\"",
    "\"expires_in\"", "\"scope\"", "\"error\"", "\"error_description\"", "\"invalid_grant\"",
    "\"https://a.example/b\"", "\"http://[::1]:80/\"", "\"not a url\"", "\"\"", "\"é\\u00e9\"",
    "\"\\ud800\"",
];

fn json_like_text() -> impl Strategy<Value = String> {
    prop_oneof![pattern(".{0,200}"), fragments(JSON_PIECES, 60)]
}

/// A secret value that nothing else generated here can contain.
fn secret(prefix: &'static str) -> impl Strategy<Value = String> {
    pattern("[A-Za-z0-9_-]{24,40}").prop_map(move |s| format!("{prefix}{s}"))
}

fn url() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["https", "http"][..]),
        pattern("[a-z][a-z0-9]{0,10}(\\.[a-z]{2,6}){0,2}"),
        prop::option::of(1u16..),
        pattern("(/[A-Za-z0-9._~-]{1,8}){0,3}"),
    )
        .prop_map(|(scheme, host, port, path)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{path}")
        })
}

/// A `client_secrets.json` as Google's console writes it.
#[derive(Clone, Debug)]
struct SecretsFile {
    kind: ClientKind,
    client_id: String,
    client_secret: String,
    auth_uri: String,
    token_uri: String,
    redirect_uris: Vec<String>,
}

impl SecretsFile {
    fn key(&self) -> &'static str {
        match self.kind {
            ClientKind::Web => "web",
            ClientKind::Installed => "installed",
        }
    }

    fn json(&self) -> Value {
        json!({ self.key(): {
            "client_id": self.client_id,
            "project_id": "project-1",
            "auth_uri": self.auth_uri,
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_secret": self.client_secret,
            "redirect_uris": self.redirect_uris,
        }})
    }
}

fn secrets_file() -> impl Strategy<Value = SecretsFile> {
    (
        prop::sample::select(&[ClientKind::Web, ClientKind::Installed][..]),
        pattern("[0-9]{6,12}-[a-z0-9]{8,32}\\.apps\\.googleusercontent\\.com"),
        secret("GOCSPX-"),
        url(),
        url(),
        prop::collection::vec(prop_oneof![url(), Just("postmessage".to_owned())], 1..4),
    )
        .prop_map(
            |(kind, client_id, client_secret, auth_uri, token_uri, redirect_uris)| SecretsFile {
                kind,
                client_id,
                client_secret,
                auth_uri,
                token_uri,
                redirect_uris,
            },
        )
}

/// How a field of a JSON file is spoilt.
#[derive(Clone, Copy, Debug)]
enum Spoilt {
    Removed,
    Blank,
    Number,
}

fn spoilt() -> impl Strategy<Value = Spoilt> {
    prop::sample::select(&[Spoilt::Removed, Spoilt::Blank, Spoilt::Number][..])
}

fn spoil(object: &mut Value, field: &str, how: Spoilt) {
    let Some(object) = object.as_object_mut() else {
        return;
    };
    match how {
        Spoilt::Removed => {
            object.remove(field);
        }
        Spoilt::Blank if field == "redirect_uris" => {
            object.insert(field.to_owned(), json!([]));
        }
        Spoilt::Blank => {
            object.insert(field.to_owned(), json!(" "));
        }
        Spoilt::Number => {
            object.insert(field.to_owned(), json!(7));
        }
    }
}

/// What google-auth writes for one user.
#[derive(Clone, Debug)]
struct UserFile {
    client_id: String,
    client_secret: Option<String>,
    refresh_token: String,
    account: Option<String>,
}

impl UserFile {
    fn json(&self) -> Value {
        let mut file = json!({
            "type": "authorized_user",
            "client_id": self.client_id,
            "refresh_token": self.refresh_token,
            "universe_domain": "googleapis.com",
        });
        if let Some(secret) = &self.client_secret {
            file["client_secret"] = json!(secret);
        }
        if let Some(account) = &self.account {
            file["account"] = json!(account);
        }
        file
    }
}

fn user_file() -> impl Strategy<Value = UserFile> {
    (
        pattern("[0-9]{6,12}-[a-z0-9]{8,32}\\.apps\\.googleusercontent\\.com"),
        prop::option::of(secret("GOCSPX-")),
        secret("1//"),
        prop::option::of(pattern("[a-z0-9.]{1,16}@[a-z]{1,10}\\.(com|org)")),
    )
        .prop_map(
            |(client_id, client_secret, refresh_token, account)| UserFile {
                client_id,
                client_secret,
                refresh_token,
                account,
            },
        )
}

/// A success answer of Google's token endpoint.
#[derive(Clone, Debug)]
struct TokenAnswer {
    access_token: String,
    token_type: &'static str,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    scopes: Option<Vec<String>>,
}

impl TokenAnswer {
    fn json(&self) -> Value {
        let mut answer = json!({
            "access_token": self.access_token,
            "token_type": self.token_type,
        });
        if let Some(expires_in) = self.expires_in {
            answer["expires_in"] = json!(expires_in);
        }
        if let Some(refresh_token) = &self.refresh_token {
            answer["refresh_token"] = json!(refresh_token);
        }
        if let Some(scopes) = &self.scopes {
            answer["scope"] = json!(scopes.join(" "));
        }
        answer
    }

    fn tokens(&self) -> Vec<&str> {
        let mut tokens = vec![self.access_token.as_str()];
        tokens.extend(self.refresh_token.as_deref());
        tokens
    }
}

fn token_answer() -> impl Strategy<Value = TokenAnswer> {
    (
        secret("ya29."),
        prop::sample::select(&["Bearer", "bearer", "BEARER"][..]),
        prop::option::of(any::<u64>()),
        prop::option::of(secret("1//")),
        prop::option::of(prop::collection::vec(
            pattern("https://www\\.googleapis\\.com/auth/[a-z.]{1,20}|openid|email"),
            1..4,
        )),
    )
        .prop_map(
            |(access_token, token_type, expires_in, refresh_token, scopes)| TokenAnswer {
                access_token,
                token_type,
                expires_in,
                refresh_token,
                scopes,
            },
        )
}

/// Any JSON value, its object keys mostly the token answer's own.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(
            &[
                "access_token",
                "token_type",
                "expires_in",
                "refresh_token",
                "scope",
                "error",
                "error_description",
                "error_uri",
                "id_token",
            ][..]
        )
        .prop_map(str::to_owned),
        pattern(".{0,8}"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        pattern(".{0,20}").prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// How a token answer is spoilt before it is read.
#[derive(Clone, Debug)]
enum Garbled {
    /// `field` replaced with a value of the wrong type.
    WrongType(&'static str, Value),
    /// The access token put where a number belongs, which serde's own
    /// message would quote.
    TokenAsExpiry,
    /// The body cut short after this many bytes.
    Truncated(prop::sample::Index),
    /// Something written after the JSON.
    Trailing(String),
    /// Sent with an error status, beside an OAuth error or not.
    ErrorStatus(u16, bool),
}

fn garbled() -> impl Strategy<Value = Garbled> {
    let field = prop::sample::select(
        &[
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
        ][..],
    );
    let wrong = prop_oneof![
        Just(json!(-1)),
        Just(json!("3600")),
        Just(json!([1, 2])),
        Just(json!({"a": 1})),
        Just(json!(1.5)),
        Just(json!(true)),
    ];
    prop_oneof![
        (field, wrong).prop_map(|(field, value)| Garbled::WrongType(field, value)),
        Just(Garbled::TokenAsExpiry),
        any::<prop::sample::Index>().prop_map(Garbled::Truncated),
        pattern("[\\]}, a-z\"]{1,8}").prop_map(Garbled::Trailing),
        (
            prop::sample::select(&[201u16, 400, 401, 403, 500, 503][..]),
            any::<bool>()
        )
            .prop_map(|(status, oauth_error)| Garbled::ErrorStatus(status, oauth_error)),
    ]
}

fn garble(answer: &TokenAnswer, how: &Garbled) -> (u16, Vec<u8>) {
    let mut json = answer.json();
    match how {
        Garbled::WrongType(field, value) => {
            json[*field] = value.clone();
            (200, json.to_string().into_bytes())
        }
        Garbled::TokenAsExpiry => {
            json["expires_in"] = json!(answer.access_token);
            (200, json.to_string().into_bytes())
        }
        Garbled::Truncated(at) => {
            let body = json.to_string().into_bytes();
            let at = at.index(body.len());
            (200, body[..at].to_vec())
        }
        Garbled::Trailing(tail) => (200, format!("{json}{tail}").into_bytes()),
        Garbled::ErrorStatus(status, oauth_error) => {
            if *oauth_error {
                json["error"] = json!("invalid_grant");
            }
            (*status, json.to_string().into_bytes())
        }
    }
}

/// One part of a batch answer as Gmail writes it.
#[derive(Clone, Debug)]
struct AnswerPart {
    content_id: Option<String>,
    status: u16,
    reason: String,
    retry_after: Option<String>,
    with_length: bool,
    body: String,
}

fn answer_part() -> impl Strategy<Value = AnswerPart> {
    (
        prop::option::of("<response-[a-z0-9]{1,12}\\+[0-9]{1,3}>"),
        100u16..600,
        pattern("[A-Za-z ]{0,16}"),
        prop::option::of(pattern("[0-9]{1,4}")),
        any::<bool>(),
        part_body(),
    )
        .prop_map(
            |(content_id, status, reason, retry_after, with_length, body)| AnswerPart {
                content_id,
                status,
                reason,
                retry_after,
                with_length,
                body,
            },
        )
}

impl AnswerPart {
    /// The part's HTTP answer, lines ending in `eol`.
    fn http(&self, eol: &str) -> String {
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(seconds) = &self.retry_after {
            headers.push(("Retry-After".to_owned(), seconds.clone()));
        }
        if self.with_length {
            headers.push(("Content-Length".to_owned(), self.body.len().to_string()));
        }
        let status_line = format!("HTTP/1.1 {} {}", self.status, self.reason);
        http_message(&status_line, &headers, &self.body, eol)
    }
}

/// Pieces of batch answers, broken or not.
#[rustfmt::skip]
const BATCH_PIECES: &[&str] = &[
    "--b", "--b--", "--", "-", "b", "\n", "\r\n", "\r", " ", ":", "HTTP/1.1 ", "HTTP/", "200",
    "99999", "-1", "OK", "Content-ID: ", "<response-x+1>", "Content-Length: ", "0", "7",
    "18446744073709551616", "Retry-After: ", "{}", "é",
];

properties! {
    /// Any text read as `client_secrets.json` or as an `authorized_user`
    /// file gives what it holds or an error that names the file.
    fn arbitrary_text_never_panics_the_json_file_parsers(text in json_like_text()) {
        if let Err(err) = ClientSecrets::parse(&text, Path::new(SECRETS_FILE)) {
            prop_assert!(err.to_string().contains(SECRETS_FILE), "{}", err);
        }
        if let Err(err) = AuthorizedUser::parse(&text, Path::new(USER_FILE)) {
            prop_assert!(err.to_string().contains(USER_FILE), "{}", err);
        }
    }

    /// A file as Google's console writes it reads back field for field.
    fn client_secrets_files_round_trip_their_fields(file in secrets_file()) {
        let secrets = ClientSecrets::parse(&file.json().to_string(), Path::new(SECRETS_FILE))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(secrets.kind, file.kind);
        prop_assert_eq!(&secrets.client_id, &file.client_id);
        prop_assert_eq!(secrets.client_secret.expose_secret(), file.client_secret.as_str());
        prop_assert_eq!(Some(secrets.auth_uri), Url::parse(&file.auth_uri).ok());
        prop_assert_eq!(Some(secrets.token_uri), Url::parse(&file.token_uri).ok());
        prop_assert_eq!(&secrets.redirect_uris, &file.redirect_uris);
    }

    /// A field missing, blank or of another type is named in the error
    /// (`web.token_uri`), and the secret is never shown.
    fn a_spoilt_client_secrets_field_is_named_and_the_secret_never_shown(
        file in secrets_file(),
        field in prop::sample::select(
            &["client_id", "client_secret", "auth_uri", "token_uri", "redirect_uris"][..]
        ),
        how in spoilt(),
    ) {
        let mut json = file.json();
        spoil(&mut json[file.key()], field, how);
        let err = ClientSecrets::parse(&json.to_string(), Path::new(SECRETS_FILE))
            .err()
            .ok_or_else(|| TestCaseError::fail("a spoilt file was accepted"))?;
        let message = err.to_string();
        prop_assert_eq!(
            &message,
            &format!("{SECRETS_FILE}: field `{}.{field}` is missing or empty", file.key())
        );
        let shown = format!("{message} {err:?}");
        prop_assert!(!shown.contains(&file.client_secret), "{}", shown);
    }

    /// A file as google-auth writes it reads back field for field, and its
    /// `Debug` shows neither the refresh token nor the client secret.
    fn authorized_user_files_round_trip_and_their_debug_hides_the_secrets(file in user_file()) {
        let user = AuthorizedUser::parse(&file.json().to_string(), Path::new(USER_FILE))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&user.client_id, &file.client_id);
        prop_assert_eq!(user.refresh_token.expose_secret(), file.refresh_token.as_str());
        prop_assert_eq!(
            user.client_secret.as_ref().map(|s| s.expose_secret().to_owned()),
            file.client_secret.clone()
        );
        prop_assert_eq!(&user.account, &file.account);
        let debug = format!("{user:?}");
        prop_assert!(!debug.contains(&file.refresh_token), "{}", debug);
        if let Some(secret) = &file.client_secret {
            prop_assert!(!debug.contains(secret), "{}", debug);
        }
    }

    /// A file whose `client_id` or `refresh_token` is missing, blank or no
    /// string, or whose `type` is another, is refused naming the field or
    /// the type, and never shows the token.
    fn a_spoilt_authorized_user_file_is_refused_and_the_token_never_shown(
        file in user_file(),
        field in prop::sample::select(&["client_id", "refresh_token", "type"][..]),
        how in spoilt(),
    ) {
        let mut json = file.json();
        spoil(&mut json, field, how);
        let err = AuthorizedUser::parse(&json.to_string(), Path::new(USER_FILE))
            .err()
            .ok_or_else(|| TestCaseError::fail("a spoilt file was accepted"))?;
        let message = err.to_string();
        if field == "type" {
            prop_assert!(matches!(err, ConfigError::NotAuthorizedUser { .. }), "{}", message);
        } else {
            prop_assert_eq!(
                &message,
                &format!("{USER_FILE}: field `{field}` is missing or empty")
            );
        }
        let shown = format!("{message} {err:?}");
        prop_assert!(!shown.contains(&file.refresh_token), "{}", shown);
    }

    /// Any status and body give tokens or an error; tokens only with 200.
    fn arbitrary_answers_never_panic_the_token_response_parser(
        status in prop_oneof![any::<u16>(), Just(200u16)],
        body in prop_oneof![bytes(300), fragments(JSON_PIECES, 60).prop_map(String::into_bytes)],
    ) {
        let read = parse_token_response(status, &body);
        prop_assert!(status == 200 || read.is_err(), "tokens from HTTP {}", status);
    }

    /// Any JSON value gives tokens or an error; tokens are the body's own.
    fn arbitrary_json_never_panics_the_token_response_parser(
        status in prop::sample::select(&[200u16, 400, 401, 500][..]),
        body in any_json(),
    ) {
        if let Ok(tokens) = parse_token_response(status, body.to_string().as_bytes()) {
            let sent = body["access_token"].as_str();
            prop_assert_eq!(Some(tokens.access_token.expose_secret()), sent);
        }
    }

    /// A well-formed success answer reads back field for field; a missing
    /// `expires_in` is Google's documented hour.
    fn well_formed_token_answers_round_trip_their_fields(answer in token_answer()) {
        let tokens = parse_token_response(200, answer.json().to_string().as_bytes())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(tokens.access_token.expose_secret(), answer.access_token.as_str());
        prop_assert_eq!(
            tokens.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            answer.refresh_token.clone()
        );
        prop_assert_eq!(tokens.expires_in.as_secs(), answer.expires_in.unwrap_or(3600));
        prop_assert_eq!(&tokens.scopes, &answer.scopes);
    }

    /// `{"error": E, "error_description": D}` with 400 or 401 is Google
    /// refusing: code E, description D.
    fn error_answers_become_rejections_with_their_code_and_description(
        status in prop::sample::select(&[400u16, 401][..]),
        code in prop_oneof![
            prop::sample::select(&["invalid_grant", "invalid_client", "unauthorized_client",
                "invalid_request", "invalid_scope", "unsupported_grant_type"][..])
                .prop_map(str::to_owned),
            pattern("[a-z_]{1,24}"),
        ],
        description in pattern(".{0,60}"),
    ) {
        let body = json!({"error": code, "error_description": description}).to_string();
        match parse_token_response(status, body.as_bytes()) {
            Err(OAuthError::Rejected { code: read, description: read_description }) => {
                prop_assert_eq!(read, code);
                prop_assert_eq!(read_description, Some(description));
            }
            other => prop_assert!(false, "not a rejection: {:?}", other),
        }
    }

    /// Whatever is wrong with an answer that holds tokens, neither the
    /// error's message nor its `Debug` (nor the tokens' `Debug`) shows them.
    fn token_values_never_show_in_errors_or_debug_output(
        answer in token_answer(),
        how in garbled(),
    ) {
        let (status, body) = garble(&answer, &how);
        let shown = match parse_token_response(status, &body) {
            Ok(tokens) => format!("{tokens:?}"),
            Err(err) => format!("{err} {err:?}"),
        };
        for token in answer.tokens() {
            prop_assert!(!shown.contains(token), "{}", shown);
        }
    }

    /// Any batch answer is read without a panic, into no more parts than
    /// it has delimiters.
    fn arbitrary_bytes_never_panic_the_batch_response_parser(
        content_type in prop_oneof![
            Just("multipart/mixed; boundary=b".to_owned()),
            Just("multipart/mixed; boundary=\"b\"".to_owned()),
            fragments(&["multipart/mixed", ";", "boundary", "=", "\"", "b", " ", "-", "é"], 10),
        ],
        body in prop_oneof![bytes(300), fragments(BATCH_PIECES, 80).prop_map(String::into_bytes)],
    ) {
        if let Some(parts) = response_parts(&content_type, &body) {
            let delimiters = body.windows(2).filter(|w| w == b"--").count();
            prop_assert!(parts.len() <= delimiters);
        }
    }

    /// A batch answer of well-formed parts, with CRLF or LF line ends, reads
    /// back part by part: Content-ID, status, Retry-After and body.
    fn batch_answers_of_well_formed_parts_read_back_part_by_part(
        parts in prop::collection::vec(answer_part(), 0..6),
        framing in framing(),
    ) {
        let http: Vec<_> =
            parts.iter().map(|p| (p.content_id.clone(), p.http(framing.eol))).collect();
        let body = framing.body(&http);
        let read = response_parts(&framing.content_type, &body)
            .ok_or_else(|| TestCaseError::fail("no multipart answer"))?;
        prop_assert_eq!(read.len(), parts.len());
        for (read, part) in read.iter().zip(&parts) {
            prop_assert_eq!(&read.content_id, &part.content_id);
            let answer = read
                .answer
                .as_ref()
                .ok_or_else(|| TestCaseError::fail("a part without its answer"))?;
            prop_assert_eq!(answer.status, part.status);
            prop_assert_eq!(&answer.retry_after, &part.retry_after);
            prop_assert_eq!(&answer.body, part.body.as_bytes());
        }
    }
}
