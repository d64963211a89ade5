//! The token endpoint over HTTP: code exchange, PKCE, refresh, client
//! authentication and Google's error bodies.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use sha2::{Digest as _, Sha256};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn pkce_code(emu: &TestEmulator) -> String {
    let challenge = s256(VERIFIER);
    emu.approve(&[
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .await["code"]
        .clone()
}

#[tokio::test]
async fn code_exchange_with_the_right_s256_verifier_succeeds() {
    let emu = spawn_auto().await;
    let code = pkce_code(&emu).await;

    let (status, body) = emu.exchange(&code, Some(VERIFIER)).await;

    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["scope"], "openid");
    assert_eq!(body["id_token"].as_str().unwrap().split('.').count(), 3);
}

#[tokio::test]
async fn code_exchange_with_a_wrong_verifier_is_rejected() {
    let emu = spawn_auto().await;
    let code = pkce_code(&emu).await;

    let (status, body) = emu.exchange(&code, Some(&"x".repeat(43))).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Invalid code verifier.");
}

#[tokio::test]
async fn code_exchange_without_a_verifier_is_rejected() {
    let emu = spawn_auto().await;
    let code = pkce_code(&emu).await;

    let (status, body) = emu.exchange(&code, None).await;

    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Missing code verifier.");
}

#[tokio::test]
async fn replayed_code_is_rejected_with_invalid_grant() {
    let emu = spawn_auto().await;
    let code = emu.approve(&[("scope", "openid")]).await["code"].clone();
    let (first, _) = emu.exchange(&code, None).await;

    let (status, body) = emu.exchange(&code, None).await;

    assert_eq!(first, 200);
    assert_eq!(status, 400);
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_grant", "error_description": "Bad Request"})
    );
}

#[tokio::test]
async fn redirect_uri_differing_from_the_authorization_request_is_rejected() {
    let emu = spawn_auto().await;
    let code = emu.approve(&[("scope", "openid")]).await["code"].clone();

    let (status, body) = emu
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://localhost:8080/oauth2callback"),
        ])
        .await;

    assert_eq!(status, 400);
    assert_eq!(body["error"], "redirect_uri_mismatch");
}

#[tokio::test]
async fn refresh_token_is_issued_on_first_consent_and_not_on_a_silent_second() {
    let emu = spawn_auto().await;

    let first = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;
    let second = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;

    assert!(first["refresh_token"].as_str().unwrap().starts_with("1//0"));
    assert!(second.get("refresh_token").is_none(), "{second}");
}

#[tokio::test]
async fn prompt_consent_issues_another_refresh_token_and_keeps_the_old_one_alive() {
    let emu = spawn_auto().await;
    let first = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;
    let redirect = emu
        .approve(&[
            ("scope", GMAIL_READONLY),
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("login_hint", "alice@example.com"),
        ])
        .await;

    let (_, second) = emu.exchange(&redirect["code"], None).await;
    let (old_status, _) = emu
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ])
        .await;

    assert!(second["refresh_token"].is_string());
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(old_status, 200);
}

#[tokio::test]
async fn online_access_never_gets_a_refresh_token() {
    let emu = spawn_auto().await;
    let code = emu.approve(&[("scope", GMAIL_READONLY)]).await["code"].clone();

    let (_, body) = emu.exchange(&code, None).await;

    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn refresh_grant_returns_a_new_access_token_without_a_refresh_token() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;

    let (status, body) = emu
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;

    assert_eq!(status, 200, "{body}");
    assert_ne!(body["access_token"], tokens["access_token"]);
    assert_eq!(body["scope"], GMAIL_READONLY);
    assert_eq!(body["expires_in"], 3599);
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn refresh_with_a_wider_scope_is_invalid_scope() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;

    let (status, body) = emu
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("scope", "https://mail.google.com/"),
        ])
        .await;

    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope");
}

#[tokio::test]
async fn refresh_token_of_another_client_is_unauthorized_client() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;
    emu.register(google_emulator::ClientRegistration {
        client_id: "other.apps.googleusercontent.com".into(),
        client_secret: "other-secret".into(),
        redirect_uris: vec![],
    });

    let response = emu
        .http
        .post(emu.url("/token"))
        .form(&[
            ("client_id", "other.apps.googleusercontent.com"),
            ("client_secret", "other-secret"),
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "unauthorized_client", "error_description": "Unauthorized"})
    );
}

#[tokio::test]
async fn basic_client_authentication_is_accepted() {
    let emu = spawn_auto().await;
    let code = emu.approve(&[("scope", "openid")]).await["code"].clone();

    let response = emu
        .http
        .post(emu.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn wrong_secret_over_basic_is_invalid_client_unauthorized() {
    let emu = spawn_auto().await;

    let response = emu
        .http
        .post(emu.url("/token"))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "1//0x")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_client", "error_description": "Unauthorized"})
    );
}

#[tokio::test]
async fn unknown_client_is_invalid_client_not_found() {
    let emu = spawn_auto().await;

    let response = emu
        .http
        .post(emu.url("/token"))
        .form(&[
            ("client_id", "nobody.apps.googleusercontent.com"),
            ("client_secret", "x"),
            ("grant_type", "authorization_code"),
            ("code", "4/0Aabc"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_client", "error_description": "The OAuth client was not found."})
    );
}

#[tokio::test]
async fn unknown_or_missing_grant_type_is_unsupported_and_missing_code_is_invalid_request() {
    let emu = spawn_auto().await;

    let (unknown, unknown_body) = emu.token(&[("grant_type", "password")]).await;
    let (missing, missing_body) = emu.token(&[]).await;
    let (no_code, no_code_body) = emu.token(&[("grant_type", "authorization_code")]).await;

    assert_eq!((unknown, missing, no_code), (400, 400, 400));
    assert_eq!(unknown_body["error"], "unsupported_grant_type");
    assert_eq!(missing_body["error"], "unsupported_grant_type");
    assert_eq!(no_code_body["error"], "invalid_request");
}

#[tokio::test]
async fn unknown_refresh_token_is_expired_or_revoked() {
    let emu = spawn_auto().await;

    let (status, body) = emu
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "1//0nope"),
        ])
        .await;

    assert_eq!(status, 400);
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    );
}

#[tokio::test]
async fn id_token_carries_the_user_and_client() {
    let emu = spawn_auto().await;

    let tokens = emu
        .tokens_for("bob@example.com", "openid email profile")
        .await;

    let claims = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["email"], "bob@example.com");
    assert_eq!(claims["iss"], "https://accounts.google.com");
    assert_eq!(claims["sub"].as_str().unwrap().len(), 21);
    assert_eq!(
        tokens["scope"],
        "openid https://www.googleapis.com/auth/userinfo.email \
         https://www.googleapis.com/auth/userinfo.profile"
    );
}

#[tokio::test]
async fn a_disabled_or_deleted_client_is_refused_and_works_again_once_restored() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];

    let mut answers = Vec::new();
    for status in ["disabled", "deleted", "active"] {
        let (code, _) = emu
            .post_json(
                &format!("/emulator/clients/{CLIENT_ID}/status"),
                &serde_json::json!({ "status": status }),
            )
            .await;
        assert_eq!(code, 200);
        answers.push(emu.token(&refresh).await);
    }

    assert_eq!(
        answers[0],
        (
            401,
            serde_json::json!({"error": "disabled_client", "error_description": "The OAuth client was disabled."})
        )
    );
    assert_eq!(
        answers[1],
        (
            401,
            serde_json::json!({"error": "deleted_client", "error_description": "The OAuth client was deleted."})
        )
    );
    assert_eq!(answers[2].0, 200, "{:?}", answers[2].1);
}
