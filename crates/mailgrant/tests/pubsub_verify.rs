//! `mailgrant::pubsub` against a key server over real HTTP: tokens signed with
//! RSA keys made here, their public halves served as a JWK set the way
//! Google serves https://www.googleapis.com/oauth2/v3/certs, and the server
//! counting its requests so the cache's fetches can be checked.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mailgrant::pubsub::{
    PushMessage, PushParseError, PushRejected, PushSettings, PushVerifier, parse_push,
};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

const AUDIENCE: &str = "https://push.example.com/gmail";
const SERVICE_ACCOUNT: &str = "gmail-push@project.iam.gserviceaccount.com";

// --- keys --------------------------------------------------------------------

/// An RSA key of the test, as a signer and as its public parts.
struct TestKey {
    signing: EncodingKey,
    n: String,
    e: String,
    public_pem: String,
}

/// rand 0.9's thread RNG, for rsa's rand_core 0.10 traits.
struct ThreadRng(rand::rngs::ThreadRng);

impl rsa::rand_core::TryRng for ThreadRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(rand::RngCore::next_u32(&mut self.0))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(rand::RngCore::next_u64(&mut self.0))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        rand::RngCore::fill_bytes(&mut self.0, dst);
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for ThreadRng {}

fn generate_key() -> TestKey {
    let key = rsa::PrivateKey::new(&mut ThreadRng(rand::rng()), 2048).expect("an RSA key");
    let der = key.to_pkcs1_der().expect("PKCS#1 DER");
    TestKey {
        signing: EncodingKey::from_rsa_der(der.as_bytes()),
        n: URL_SAFE_NO_PAD.encode(key.n_bytes()),
        e: URL_SAFE_NO_PAD.encode(key.e_bytes()),
        public_pem: key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("PEM"),
    }
}

/// Two keys, made once for the whole binary: `KEYS[0]` is Google's, and
/// `KEYS[1]` is an attacker's or Google's next.
static KEYS: LazyLock<[TestKey; 2]> = LazyLock::new(|| [generate_key(), generate_key()]);

fn jwk(kid: &str, key: &TestKey) -> Value {
    json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": key.n, "e": key.e})
}

fn key_set(keys: &[(&str, &TestKey)]) -> Value {
    json!({"keys": keys.iter().map(|(kid, key)| jwk(kid, key)).collect::<Vec<_>>()})
}

// --- tokens ------------------------------------------------------------------

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims Google puts in a push token (the example of
/// https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
fn google_claims() -> Value {
    let now = now();
    json!({
        "aud": AUDIENCE,
        "azp": "113774264463038321964",
        "email": SERVICE_ACCOUNT,
        "email_verified": true,
        "sub": "113774264463038321964",
        "iat": now,
        "exp": now + 3600,
        "iss": "https://accounts.google.com",
    })
}

fn claims_with(field: &str, value: Value) -> Value {
    let mut claims = google_claims();
    claims[field] = value;
    claims
}

fn sign(key: &TestKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key.signing).expect("a signed token")
}

/// A token Google would send, signed with the key served as `kid` "google-1".
fn google_token(claims: &Value) -> String {
    sign(&KEYS[0], "google-1", claims)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// --- the key server ----------------------------------------------------------

/// A JWK set server whose answer, caching header and speed a test can change.
#[derive(Clone, Default)]
struct CertsServer {
    set: Arc<Mutex<Value>>,
    cache_control: Arc<Mutex<Option<&'static str>>>,
    delay: Arc<Mutex<Duration>>,
    hits: Arc<AtomicUsize>,
}

impl CertsServer {
    fn serve(&self, set: Value) {
        *self.set.lock().unwrap() = set;
    }
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn certs(State(server): State<CertsServer>) -> (HeaderMap, String) {
    server.hits.fetch_add(1, Ordering::SeqCst);
    let delay = *server.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(cache_control) = *server.cache_control.lock().unwrap() {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
    }
    let body = server.set.lock().unwrap().to_string();
    (headers, body)
}

/// The key server on a port of its own, serving Google's one key.
async fn spawn_certs() -> (CertsServer, url::Url) {
    let server = CertsServer::default();
    server.serve(key_set(&[("google-1", &KEYS[0])]));
    let app = axum::Router::new()
        .route("/oauth2/v3/certs", get(certs))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/oauth2/v3/certs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, url.parse().unwrap())
}

fn settings(certs_url: url::Url) -> PushSettings {
    PushSettings {
        certs_url,
        ..PushSettings::google(AUDIENCE.into(), SERVICE_ACCOUNT.into())
    }
}

async fn verifier() -> (CertsServer, PushVerifier) {
    let (server, url) = spawn_certs().await;
    (
        server,
        PushVerifier::new(mailgrant::http::client(), settings(url)),
    )
}

async fn rejection(verifier: &PushVerifier, authorization: Option<&str>) -> PushRejected {
    verifier
        .verify(authorization)
        .await
        .expect_err("the push is rejected")
}

// --- accepted ----------------------------------------------------------------

#[tokio::test]
async fn a_google_token_is_accepted_with_its_claims() {
    let (_, verifier) = verifier().await;
    let claims = google_claims();

    let accepted = verifier
        .verify(Some(&bearer(&google_token(&claims))))
        .await
        .unwrap();

    assert_eq!(accepted.email, SERVICE_ACCOUNT);
    assert_eq!(accepted.audience, AUDIENCE);
    assert_eq!(accepted.subject, "113774264463038321964");
    assert_eq!(accepted.issued_at, claims["iat"].as_i64().unwrap());
    assert_eq!(accepted.expires_at, claims["exp"].as_i64().unwrap());
}

#[tokio::test]
async fn the_issuer_without_its_scheme_is_accepted() {
    let (_, verifier) = verifier().await;
    let token = google_token(&claims_with("iss", json!("accounts.google.com")));

    assert!(verifier.verify(Some(&bearer(&token))).await.is_ok());
}

#[tokio::test]
async fn the_scheme_and_the_service_account_are_compared_without_case() {
    let (_, verifier) = verifier().await;
    let email = SERVICE_ACCOUNT.to_uppercase();
    let token = google_token(&claims_with("email", json!(email)));

    let accepted = verifier.verify(Some(&format!("bearer {token}"))).await;

    assert_eq!(accepted.unwrap().email, email);
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_accepted() {
    let (_, verifier) = verifier().await;
    let token = google_token(&claims_with("exp", json!(now() - 30)));

    assert!(verifier.verify(Some(&bearer(&token))).await.is_ok());
}

// --- rejected before any key is looked at ------------------------------------

#[tokio::test]
async fn a_push_without_authorization_is_rejected_as_missing_header() {
    let (server, verifier) = verifier().await;

    let rejected = rejection(&verifier, None).await;

    assert_eq!(rejected.reason(), "missing_header");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn a_basic_authorization_is_rejected_as_not_bearer() {
    let (_, verifier) = verifier().await;

    let rejected = rejection(&verifier, Some("Basic dXNlcjpwYXNz")).await;

    assert_eq!(rejected.reason(), "not_bearer");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn garbage_tokens_are_rejected_as_malformed() {
    let (server, verifier) = verifier().await;
    let token = google_token(&google_claims());
    let [_, claims, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let extra_part = format!("{token}.more");
    let bad_header = format!("!!!.{claims}.{signature}");
    let header_not_json = format!(
        "{}.{claims}.{signature}",
        URL_SAFE_NO_PAD.encode("not json")
    );

    for garbage in [
        "Bearer ",
        "Bearer not-a-jwt",
        "Bearer a.b",
        &bearer(&extra_part),
        &bearer(&bad_header),
        &bearer(&header_not_json),
    ] {
        let rejected = rejection(&verifier, Some(garbage)).await;
        assert_eq!(rejected.reason(), "malformed_token", "{garbage}");
        assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(server.hits(), 0, "no key is fetched for garbage");
}

#[tokio::test]
async fn an_unsigned_token_is_rejected_as_unsupported_algorithm() {
    let (_, verifier) = verifier().await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"google-1","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(google_claims().to_string());
    let token = format!("{header}.{claims}.");

    let rejected = rejection(&verifier, Some(&bearer(&token))).await;

    assert_eq!(rejected.reason(), "unsupported_algorithm");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_rejected() {
    let (_, verifier) = verifier().await;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("google-1".into());
    let key = EncodingKey::from_secret(KEYS[0].public_pem.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &google_claims(), &key).unwrap();

    let rejected = rejection(&verifier, Some(&bearer(&token))).await;

    assert_eq!(rejected.reason(), "unsupported_algorithm");
}

// --- signature and keys ------------------------------------------------------

#[tokio::test]
async fn a_token_signed_by_another_key_under_googles_kid_is_rejected() {
    let (_, verifier) = verifier().await;
    let forged = sign(&KEYS[1], "google-1", &google_claims());

    let rejected = rejection(&verifier, Some(&bearer(&forged))).await;

    assert_eq!(rejected.reason(), "bad_signature");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_with_tampered_claims_is_rejected() {
    let (_, verifier) = verifier().await;
    let token = google_token(&google_claims());
    let [header, _, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let other = URL_SAFE_NO_PAD.encode(claims_with("sub", json!("someone else")).to_string());
    let tampered = format!("{header}.{other}.{signature}");

    let rejected = rejection(&verifier, Some(&bearer(&tampered))).await;

    assert_eq!(rejected.reason(), "bad_signature");
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_and_finds_the_rotated_one() {
    let (server, url) = spawn_certs().await;
    let verifier = PushVerifier::new(mailgrant::http::client(), settings(url))
        .with_min_refetch_interval(Duration::ZERO);
    verifier
        .verify(Some(&bearer(&google_token(&google_claims()))))
        .await
        .unwrap();
    server.serve(key_set(&[("google-2", &KEYS[1])]));

    let rotated = sign(&KEYS[1], "google-2", &google_claims());
    let accepted = verifier.verify(Some(&bearer(&rotated))).await;

    assert!(accepted.is_ok(), "{accepted:?}");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_kid_absent_from_a_fresh_fetch_is_rejected_as_unknown_key() {
    let (_, verifier) = verifier().await;
    let token = sign(&KEYS[1], "nobody", &google_claims());

    let rejected = rejection(&verifier, Some(&bearer(&token))).await;

    assert_eq!(rejected.reason(), "unknown_key");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_at_most_once_per_interval() {
    let (server, url) = spawn_certs().await;
    let interval = Duration::from_millis(600);
    let verifier = PushVerifier::new(mailgrant::http::client(), settings(url))
        .with_min_refetch_interval(interval);
    let good = bearer(&google_token(&google_claims()));
    // Signed before the clock starts: signing is the slow part.
    let forged: Vec<String> = (0..40)
        .map(|i| bearer(&sign(&KEYS[1], &format!("forged-{i}"), &google_claims())))
        .collect();
    verifier.verify(Some(&good)).await.unwrap();

    for token in &forged[..20] {
        assert_eq!(
            rejection(&verifier, Some(token)).await.reason(),
            "unknown_key"
        );
    }
    assert_eq!(
        server.hits(),
        1,
        "no refetch within the interval of the first fetch"
    );
    tokio::time::sleep(interval).await;
    for token in &forged[20..] {
        assert_eq!(
            rejection(&verifier, Some(token)).await.reason(),
            "unknown_key"
        );
    }

    assert_eq!(server.hits(), 2, "one refetch once the interval has passed");
    assert!(verifier.verify(Some(&good)).await.is_ok());
}

#[tokio::test]
async fn concurrent_verifications_share_one_fetch() {
    let (server, verifier) = verifier().await;
    *server.delay.lock().unwrap() = Duration::from_millis(200);
    let token = bearer(&google_token(&google_claims()));

    let results = futures::future::join_all((0..20).map(|_| {
        let (verifier, token) = (verifier.clone(), token.clone());
        async move { verifier.verify(Some(&token)).await }
    }))
    .await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(server.hits(), 1);
}

// --- the key cache -----------------------------------------------------------

#[tokio::test]
async fn keys_are_kept_for_max_age_and_fetched_again_after() {
    let (server, url) = spawn_certs().await;
    *server.cache_control.lock().unwrap() = Some("public, max-age=2, must-revalidate");
    let verifier = PushVerifier::new(mailgrant::http::client(), settings(url))
        .with_min_refetch_interval(Duration::ZERO);
    let token = bearer(&google_token(&google_claims()));

    verifier.verify(Some(&token)).await.unwrap();
    verifier.verify(Some(&token)).await.unwrap();
    assert_eq!(server.hits(), 1, "fresh keys are not fetched again");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    verifier.verify(Some(&token)).await.unwrap();

    assert_eq!(server.hits(), 2, "stale keys are fetched again");
}

#[tokio::test]
async fn keys_without_max_age_are_kept_for_an_hour() {
    let (server, url) = spawn_certs().await;
    let verifier = PushVerifier::new(mailgrant::http::client(), settings(url))
        .with_min_refetch_interval(Duration::ZERO);
    let token = bearer(&google_token(&google_claims()));

    for _ in 0..3 {
        verifier.verify(Some(&token)).await.unwrap();
    }

    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_cached_key_stays_usable_when_a_refetch_fails() {
    let (server, url) = spawn_certs().await;
    *server.cache_control.lock().unwrap() = Some("max-age=0");
    let verifier = PushVerifier::new(mailgrant::http::client(), settings(url))
        .with_min_refetch_interval(Duration::ZERO);
    let token = bearer(&google_token(&google_claims()));
    verifier.verify(Some(&token)).await.unwrap();
    server.serve(json!("not a key set"));

    let accepted = verifier.verify(Some(&token)).await;

    assert!(accepted.is_ok(), "{accepted:?}");
    assert_eq!(server.hits(), 2, "the stale key was fetched again");
}

#[tokio::test]
async fn an_unreachable_key_server_gives_certs_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    drop(listener);
    let verifier = PushVerifier::new(mailgrant::http::client(), settings(url.parse().unwrap()));

    let rejected = rejection(&verifier, Some(&bearer(&google_token(&google_claims())))).await;

    assert_eq!(rejected.reason(), "certs_unavailable");
    assert_eq!(rejected.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_key_server_answering_garbage_gives_certs_unavailable() {
    let (server, verifier) = verifier().await;
    server.serve(json!({"keys": []}));

    let rejected = rejection(&verifier, Some(&bearer(&google_token(&google_claims())))).await;

    assert_eq!(rejected.reason(), "certs_unavailable");
    assert_eq!(rejected.status(), StatusCode::SERVICE_UNAVAILABLE);
}

// --- claims ------------------------------------------------------------------

async fn reject_claims(claims: Value) -> PushRejected {
    let (_, verifier) = verifier().await;
    rejection(&verifier, Some(&bearer(&google_token(&claims)))).await
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let rejected = reject_claims(claims_with("exp", json!(now() - 120))).await;

    assert_eq!(rejected.reason(), "expired");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_before_its_nbf_is_rejected() {
    let rejected = reject_claims(claims_with("nbf", json!(now() + 600))).await;

    assert_eq!(rejected.reason(), "not_yet_valid");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_issued_in_the_future_is_rejected() {
    let rejected = reject_claims(claims_with("iat", json!(now() + 600))).await;

    assert_eq!(rejected.reason(), "not_yet_valid");
}

#[tokio::test]
async fn a_token_from_another_issuer_is_rejected() {
    let rejected = reject_claims(claims_with("iss", json!("https://evil.example.com"))).await;

    assert_eq!(rejected.reason(), "wrong_issuer");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_for_another_audience_is_forbidden() {
    let rejected = reject_claims(claims_with("aud", json!("https://other.example.com"))).await;

    assert_eq!(rejected.reason(), "wrong_audience");
    assert_eq!(rejected.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_from_another_service_account_is_forbidden() {
    let rejected = reject_claims(claims_with(
        "email",
        json!("intruder@other.iam.gserviceaccount.com"),
    ))
    .await;

    assert_eq!(rejected.reason(), "wrong_email");
    assert_eq!(rejected.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_with_an_unverified_email_is_forbidden() {
    let rejected = reject_claims(claims_with("email_verified", json!(false))).await;

    assert_eq!(rejected.reason(), "email_not_verified");
    assert_eq!(rejected.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rejections_never_show_the_token() {
    let (_, verifier) = verifier().await;
    let tokens = [
        google_token(&claims_with("exp", json!(now() - 120))),
        google_token(&claims_with("aud", json!("https://other.example.com"))),
        google_token(&claims_with("exp", json!("soon"))),
        sign(&KEYS[1], "google-1", &google_claims()),
        sign(&KEYS[1], "nobody", &google_claims()),
        format!("{}x", google_token(&google_claims())),
    ];

    for token in &tokens {
        let rejected = rejection(&verifier, Some(&bearer(token))).await;
        let shown = format!("{rejected} {rejected:?}");
        for part in token.split('.') {
            assert!(!shown.contains(part), "{} shows {part}", rejected.reason());
        }
    }
}

// --- push bodies -------------------------------------------------------------

fn push_body(data: &str) -> Vec<u8> {
    json!({
        "message": {
            "attributes": {},
            "data": data,
            "messageId": "2070443601311540",
            "message_id": "2070443601311540",
            "publishTime": "2021-02-26T19:13:55.749Z",
            "publish_time": "2021-02-26T19:13:55.749Z",
        },
        "subscription": "projects/myproject/subscriptions/mysubscription",
    })
    .to_string()
    .into_bytes()
}

fn expected(history_id: u64) -> PushMessage {
    PushMessage {
        email_address: "user@example.com".into(),
        history_id,
        message_id: "2070443601311540".into(),
        subscription: "projects/myproject/subscriptions/mysubscription".into(),
    }
}

#[test]
fn a_push_with_a_numeric_history_id_is_read() {
    let data = STANDARD.encode(r#"{"emailAddress":"user@example.com","historyId":9876543210}"#);

    assert_eq!(parse_push(&push_body(&data)).unwrap(), expected(9876543210));
}

#[test]
fn a_push_with_a_string_history_id_is_read() {
    let data = STANDARD.encode(r#"{"emailAddress":"user@example.com","historyId":"1234"}"#);

    assert_eq!(parse_push(&push_body(&data)).unwrap(), expected(1234));
}

#[test]
fn a_push_with_url_safe_base64_is_read() {
    // `?>` and `~` encode to `-` and `_` in the URL-safe alphabet.
    let notification = r#"{"emailAddress":"user@example.com","historyId":"1234","x":"?>~~"}"#;
    let data = URL_SAFE.encode(notification);
    assert!(data.contains(['-', '_']), "{data}");

    assert_eq!(parse_push(&push_body(&data)).unwrap(), expected(1234));
    let unpadded = URL_SAFE_NO_PAD.encode(notification);
    assert_eq!(parse_push(&push_body(&unpadded)).unwrap(), expected(1234));
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    let refused = parse_push(b"message=hello");

    assert!(
        matches!(refused, Err(PushParseError::NotJson(_))),
        "{refused:?}"
    );
}

#[test]
fn a_push_without_message_data_is_refused() {
    for body in [
        json!({"subscription": "projects/p/subscriptions/s"}),
        json!({"message": {"messageId": "1"}, "subscription": "projects/p/subscriptions/s"}),
    ] {
        let refused = parse_push(body.to_string().as_bytes());
        assert!(
            matches!(refused, Err(PushParseError::MissingData)),
            "{refused:?}"
        );
    }
}

#[test]
fn message_data_that_is_not_base64_is_refused() {
    let refused = parse_push(&push_body("not base64!"));

    assert!(
        matches!(refused, Err(PushParseError::BadBase64(_))),
        "{refused:?}"
    );
}

#[test]
fn message_data_that_is_not_json_is_refused() {
    let refused = parse_push(&push_body(&STANDARD.encode("hello")));

    assert!(
        matches!(refused, Err(PushParseError::DataNotJson(_))),
        "{refused:?}"
    );
}

#[test]
fn a_notification_without_email_address_is_refused() {
    let refused = parse_push(&push_body(&STANDARD.encode(r#"{"historyId":"1234"}"#)));

    assert!(
        matches!(refused, Err(PushParseError::MissingEmailAddress)),
        "{refused:?}"
    );
}

#[test]
fn a_notification_with_a_bad_history_id_is_refused() {
    for history_id in [r#""12ab""#, "-5", "1.5", "null", "[1]"] {
        let data = format!(r#"{{"emailAddress":"user@example.com","historyId":{history_id}}}"#);
        let refused = parse_push(&push_body(&STANDARD.encode(data)));
        assert!(
            matches!(refused, Err(PushParseError::BadHistoryId(_))),
            "{history_id}: {refused:?}"
        );
    }
    let data = STANDARD.encode(r#"{"emailAddress":"user@example.com"}"#);
    let refused = parse_push(&push_body(&data));
    assert!(
        matches!(refused, Err(PushParseError::BadHistoryId(_))),
        "{refused:?}"
    );
}
