//! Userinfo, Google v2 and OpenID Connect.

mod common;

use common::*;

#[tokio::test]
async fn userinfo_v2_returns_id_and_scope_dependent_fields() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("alice@example.com", "email profile").await;
    let token = tokens["access_token"].as_str().unwrap();

    let (status, body) = emu.get_json(token, "/oauth2/v2/userinfo").await;

    assert_eq!(status, 200);
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 21);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["verified_email"], true);
    assert_eq!(body["name"], "Alice Example");
    assert_eq!(body["given_name"], "Alice");
    assert_eq!(body["family_name"], "Example");
    assert!(body["picture"].as_str().unwrap().starts_with("https://"));
}

#[tokio::test]
async fn oidc_userinfo_returns_sub_matching_the_v2_id() {
    let emu = spawn_auto().await;
    let tokens = emu.tokens_for("bob@example.com", "openid email").await;
    let token = tokens["access_token"].as_str().unwrap();

    let (_, v2) = emu.get_json(token, "/oauth2/v2/userinfo").await;
    let response = emu
        .http
        .get(emu.url("/v1/userinfo"))
        .query(&[("access_token", token)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let oidc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(oidc["sub"], v2["id"]);
    assert_eq!(oidc["email"], "bob@example.com");
    assert_eq!(oidc["email_verified"], true);
    assert!(oidc.get("name").is_none(), "no profile scope: {oidc}");
}

#[tokio::test]
async fn userinfo_with_an_unknown_token_is_401_with_www_authenticate() {
    let emu = spawn_auto().await;

    let response = emu.get_with("ya29.unknown", "/oauth2/v2/userinfo").await;

    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
}
