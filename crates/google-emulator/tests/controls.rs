//! The `/emulator/` test controls and the public helper API.

mod common;

use std::time::{Duration, Instant};

use common::*;
use google_emulator::{ClientRegistration, Emulator};
use serde_json::json;

#[tokio::test]
async fn faults_answer_the_given_status_and_body_for_the_next_n_requests() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let (status, _) = emu
        .post_json(
            "/emulator/faults",
            &json!({"endpoint": "gmail", "count": 2, "status": 503, "body": "{\"error\":\"down\"}"}),
        )
        .await;

    let first = emu.get_json(&token, "/gmail/v1/users/me/profile").await;
    let second = emu.get_json(&token, "/gmail/v1/users/me/profile").await;
    let third = emu.get_json(&token, "/gmail/v1/users/me/profile").await;

    assert_eq!(status, 201);
    assert_eq!(first, (503, json!({"error": "down"})));
    assert_eq!(second.0, 503);
    assert_eq!(third.0, 200);
}

#[tokio::test]
async fn a_drop_connection_fault_gives_the_client_a_transport_error() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    let (status, _) = emu
        .post_json(
            "/emulator/faults",
            &json!({"endpoint": "gmail", "drop_connection": true}),
        )
        .await;

    let dropped = match emu
        .http
        .get(emu.url("/gmail/v1/users/me/profile"))
        .bearer_auth(&token)
        .send()
        .await
    {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(error) => Err(error),
    };
    let next = emu.get_json(&token, "/gmail/v1/users/me/profile").await;

    assert_eq!(status, 201);
    let error = dropped.expect_err("the answer must break off");
    assert!(!error.is_status(), "{error:?}");
    assert_eq!(next.0, 200);
}

#[tokio::test]
async fn a_drop_connection_fault_on_a_batch_part_breaks_the_batch() {
    let emu = spawn_auto().await;
    let token = emu.alice_token().await;
    emu.post_json(
        "/emulator/faults",
        &json!({"endpoint": "gmail", "drop_connection": true}),
    )
    .await;
    let part = "--p\r\nContent-Type: application/http\r\n\r\nGET /gmail/v1/users/me/profile HTTP/1.1\r\n\r\n";

    let result = match emu
        .http
        .post(emu.url("/batch/gmail/v1"))
        .bearer_auth(&token)
        .header("content-type", "multipart/mixed; boundary=p")
        .body(format!("{part}--p--\r\n"))
        .send()
        .await
    {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(error) => Err(error),
    };

    assert!(result.is_err());
}

#[tokio::test]
async fn a_fault_without_status_delays_the_normal_answer() {
    let emu = spawn_auto().await;
    emu.post_json(
        "/emulator/faults",
        &json!({"endpoint": "token", "delay_ms": 300}),
    )
    .await;
    let code = emu.approve(&[("scope", "openid")]).await["code"].clone();

    let started = Instant::now();
    let (status, _) = emu.exchange(&code, None).await;

    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn faults_can_use_another_content_type_and_be_cleared() {
    let emu = spawn_auto().await;
    emu.post_json(
        "/emulator/faults",
        &json!({"endpoint": "revoke", "count": 5, "status": 500, "body": "<html>oops</html>", "content_type": "text/html"}),
    )
    .await;

    let faulted = emu
        .http
        .post(emu.url("/revoke"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    let cleared = emu
        .http
        .delete(emu.url("/emulator/faults"))
        .send()
        .await
        .unwrap();
    let normal = emu
        .http
        .post(emu.url("/revoke"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();

    assert_eq!(faulted.status(), 500);
    assert_eq!(faulted.headers()["content-type"], "text/html");
    assert_eq!(faulted.text().await.unwrap(), "<html>oops</html>");
    assert_eq!(cleared.status(), 200);
    assert_eq!(normal.status(), 400);
}

#[tokio::test]
async fn counters_count_grants_revocations_and_api_calls() {
    let emu = spawn_auto().await;
    let tokens = emu
        .tokens_for(
            "alice@example.com",
            "openid email https://www.googleapis.com/auth/gmail.readonly",
        )
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    emu.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ])
    .await;
    emu.get_json(access, "/v1/userinfo").await;
    emu.get_json(access, "/gmail/v1/users/me/profile").await;
    emu.get_json(access, "/gmail/v1/users/me/messages").await;
    emu.http
        .post(emu.url("/revoke"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();

    let (status, counters) = emu.get_json("", "/emulator/counters").await;

    assert_eq!(status, 200);
    assert_eq!(
        counters,
        json!({
            "token_grants": {"authorization_code": 1, "refresh_token": 1},
            "revocations": 1,
            "userinfo_calls": 1,
            "gmail_calls": 2,
            "batch_requests": 0,
            "batch_parts": 0,
            "quota_refusals": 0,
            // getProfile 1 + messages.list 5 (reference §7).
            "quota_units_used": {"alice@example.com": 6},
        })
    );
}

#[tokio::test]
async fn grants_control_lists_scopes_and_live_refresh_tokens() {
    let emu = spawn_auto().await;
    emu.tokens_for("alice@example.com", "openid email").await;
    emu.approve(&[
        ("scope", "openid email"),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("login_hint", "alice@example.com"),
    ])
    .await;

    let (status, body) = emu.get_json("", "/emulator/grants/alice@example.com").await;

    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"grants": [{
            "client_id": CLIENT_ID,
            "scopes": ["openid", "https://www.googleapis.com/auth/userinfo.email"],
            "refresh_tokens_live": 1,
        }]})
    );
}

#[tokio::test]
async fn adding_a_user_twice_is_a_conflict() {
    let emu = spawn_auto().await;

    let (created, body) = emu
        .post_json(
            "/emulator/users",
            &json!({"email": "carol@example.com", "messages": 3}),
        )
        .await;
    let (again, _) = emu
        .post_json(
            "/emulator/users",
            &json!({"email": "carol@example.com", "messages": 3}),
        )
        .await;

    assert_eq!(created, 201);
    assert_eq!(body["email"], "carol@example.com");
    assert_eq!(body["id"].as_str().unwrap().len(), 21);
    assert_eq!(again, 409);
}

#[tokio::test]
async fn a_client_added_over_http_can_authorize() {
    let emu = spawn_auto().await;
    let (status, _) = emu
        .post_json(
            "/emulator/clients",
            &json!({"client_id": "t.apps.googleusercontent.com", "client_secret": "s", "redirect_uris": ["http://127.0.0.1:1/cb"]}),
        )
        .await;

    let response = emu
        .http
        .get(emu.url("/o/oauth2/v2/auth"))
        .query(&[
            ("client_id", "t.apps.googleusercontent.com"),
            ("redirect_uri", "http://127.0.0.1:1/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(status, 201);
    assert_eq!(response.status(), 302);
}

#[test]
fn client_secrets_json_points_at_the_base_url() {
    let secrets =
        Emulator::client_secrets_json("http://127.0.0.1:9000/", &ClientRegistration::demo());

    let web = &secrets["web"];
    assert_eq!(web["client_id"], CLIENT_ID);
    assert_eq!(web["client_secret"], CLIENT_SECRET);
    assert_eq!(web["auth_uri"], "http://127.0.0.1:9000/o/oauth2/auth");
    assert_eq!(web["token_uri"], "http://127.0.0.1:9000/token");
    assert!(web["project_id"].is_string());
    assert!(web["auth_provider_x509_cert_url"].is_string());
    assert_eq!(web["redirect_uris"][0], REDIRECT_URI);
}
