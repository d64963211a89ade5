//! Revocation, the user-revoke and expire controls, and what tokens do
//! afterwards.

mod common;

use common::*;
use serde_json::{Value, json};

async fn revoke(emu: &TestEmulator, token: &str) -> (u16, Value) {
    let response = emu
        .http
        .post(emu.url("/revoke"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn refresh(emu: &TestEmulator, refresh_token: &str) -> (u16, Value) {
    emu.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ])
    .await
}

fn assert_gmail_401(status: u16, body: &Value) {
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(body["error"]["errors"][0]["reason"], "authError");
    assert_eq!(body["error"]["errors"][0]["message"], "Invalid Credentials");
    assert_eq!(body["error"]["errors"][0]["location"], "Authorization");
}

#[tokio::test]
async fn revoked_refresh_token_gives_invalid_grant_and_its_access_token_gives_401() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    let (status, body) = revoke(&emu, refresh_token).await;
    let (refresh_status, refresh_body) = refresh(&emu, refresh_token).await;
    let gmail = emu
        .get_with(
            tokens["access_token"].as_str().unwrap(),
            "/gmail/v1/users/me/messages",
        )
        .await;

    assert_eq!((status, body), (200, json!({})));
    assert_eq!(refresh_status, 400);
    assert_eq!(
        refresh_body,
        json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    );
    assert_eq!(
        gmail.headers()["www-authenticate"],
        "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""
    );
    let status = gmail.status().as_u16();
    assert_gmail_401(status, &gmail.json().await.unwrap());
}

#[tokio::test]
async fn revoking_an_access_token_revokes_its_refresh_token_too() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;

    let (status, _) = revoke(&emu, tokens["access_token"].as_str().unwrap()).await;
    let (refresh_status, _) = refresh(&emu, tokens["refresh_token"].as_str().unwrap()).await;

    assert_eq!(status, 200);
    assert_eq!(refresh_status, 400);
}

#[tokio::test]
async fn after_revocation_the_next_offline_consent_gets_a_refresh_token_again() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;
    revoke(&emu, tokens["refresh_token"].as_str().unwrap()).await;

    let again = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;

    assert!(again["refresh_token"].is_string());
}

#[tokio::test]
async fn revoking_an_unknown_or_revoked_token_is_invalid_token() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    revoke(&emu, refresh_token).await;

    let (again, body) = revoke(&emu, refresh_token).await;
    let (unknown, _) = revoke(&emu, "ya29.nothing").await;

    assert_eq!((again, unknown), (400, 400));
    assert_eq!(
        body,
        json!({"error": "invalid_token", "error_description": "Token expired or revoked"})
    );
}

#[tokio::test]
async fn revoke_accepts_the_token_in_the_query_string() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;

    let response = emu
        .http
        .post(emu.url("/revoke"))
        .query(&[("token", tokens["refresh_token"].as_str().unwrap())])
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn get_on_revoke_is_a_404_html_page() {
    let emu = spawn_auto().await;

    let response = emu
        .http
        .get(emu.url("/revoke?token=x"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn expire_control_makes_access_tokens_answer_401_and_refresh_still_works() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;

    let (status, body) = emu.post_json("/emulator/tokens/expire", &json!({})).await;
    let (gmail_status, gmail_body) = emu
        .get_json(
            tokens["access_token"].as_str().unwrap(),
            "/gmail/v1/users/me/profile",
        )
        .await;
    let (refresh_status, refreshed) =
        refresh(&emu, tokens["refresh_token"].as_str().unwrap()).await;
    let (after, _) = emu
        .get_json(
            refreshed["access_token"].as_str().unwrap(),
            "/gmail/v1/users/me/profile",
        )
        .await;

    assert_eq!((status, body), (200, json!({"expired": 1})));
    assert_gmail_401(gmail_status, &gmail_body);
    assert_eq!((refresh_status, after), (200, 200));
}

#[tokio::test]
async fn user_revoke_control_ends_every_token_and_grant_of_the_user() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", GMAIL_READONLY).await;
    let bob = emu.tokens_for("bob@example.com", GMAIL_READONLY).await;

    let (status, body) = emu
        .post_json("/emulator/users/alice@example.com/revoke", &json!({}))
        .await;
    let (refresh_status, _) = refresh(&emu, tokens["refresh_token"].as_str().unwrap()).await;
    let (_, grants) = emu.get_json("", "/emulator/grants/alice@example.com").await;
    let (bob_status, _) = refresh(&emu, bob["refresh_token"].as_str().unwrap()).await;
    let (unknown, _) = emu
        .post_json("/emulator/users/nobody@example.com/revoke", &json!({}))
        .await;

    assert_eq!((status, body), (200, json!({"revoked": 2})));
    assert_eq!(refresh_status, 400);
    assert_eq!(grants, json!({"grants": []}));
    assert_eq!(bob_status, 200);
    assert_eq!(unknown, 404);
}

#[tokio::test]
async fn missing_token_on_gmail_is_401_login_required() {
    let emu = spawn_auto().await;

    let response = emu
        .http
        .get(emu.url("/gmail/v1/users/me/messages"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"https://accounts.google.com/\""
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(body["error"]["errors"][0]["reason"], "required");
}
