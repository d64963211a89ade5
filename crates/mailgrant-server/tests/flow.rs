//! The server-side authorization flow end to end, over real HTTP against the
//! emulator, with a real SQLite file.

mod common;

use std::collections::HashSet;

use common::{TestApp, TestEmulator, location, logs, query_param};
use mailgrant::ExposeSecret;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALICE: &str = "alice@example.com";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn consent_stores_encrypted_credentials_and_the_api_pages_every_message_once() {
    let app = TestApp::spawn().await;
    let user_id = app.google.add_user(ALICE, 1234);

    app.sign_in_ok(ALICE).await;

    let rows = app.rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user_id, user_id);
    assert_eq!(rows[0].email.as_deref(), Some(ALICE));
    let sealed = rows[0]
        .refresh_token
        .as_ref()
        .expect("refresh token stored");
    let refresh_token = app.keys.decrypt(sealed, &user_id).unwrap();
    let refresh_token = refresh_token.expose_secret().as_bytes();
    assert!(
        refresh_token.starts_with(b"1//"),
        "a Google-shaped refresh token"
    );
    let mut on_disk = std::fs::read(&app.db_path).unwrap();
    on_disk.extend(std::fs::read(app.db_path.with_extension("db-wal")).unwrap_or_default());
    assert!(
        !contains(&on_disk, refresh_token),
        "the database file holds the token in clear"
    );

    let mut seen = HashSet::new();
    let mut returned = 0;
    let mut pages = 0;
    let mut page_token = String::new();
    loop {
        let page: Value = app
            .get(&format!(
                "/api/messages?maxResults=500&pageToken={page_token}"
            ))
            .await
            .json()
            .await
            .unwrap();
        pages += 1;
        for message in page["messages"].as_array().unwrap() {
            returned += 1;
            seen.insert(message["id"].as_str().unwrap().to_owned());
        }
        match page["nextPageToken"].as_str() {
            Some(token) => page_token = token.to_owned(),
            None => break,
        }
    }
    assert_eq!((returned, seen.len(), pages), (1234, 1234, 3));
}

#[tokio::test]
async fn messages_default_to_pages_of_100_and_take_a_query() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 150);
    app.sign_in_ok(ALICE).await;

    let page: Value = app.get("/api/messages").await.json().await.unwrap();
    assert_eq!(page["messages"].as_array().unwrap().len(), 100);
    assert!(page["nextPageToken"].is_string());

    let none: Value = app
        .get("/api/messages?q=zzzznotawordzzzz")
        .await
        .json()
        .await
        .unwrap();
    assert!(none["messages"].as_array().unwrap().is_empty());
    assert!(none.get("nextPageToken").is_none());
}

#[tokio::test]
async fn out_of_range_max_results_is_a_bad_request() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;
    let response = app.get("/api/messages?maxResults=501").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn expired_access_token_is_refreshed_transparently_once() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 10);
    app.sign_in_ok(ALICE).await;
    assert_eq!(app.google.refresh_grants().await, 0);

    app.google.control("tokens/expire", json!({})).await;
    let first = app.get("/api/messages").await;
    let second = app.get("/api/messages").await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(
        app.google.refresh_grants().await,
        1,
        "one refresh, then the new token is reused"
    );
}

#[tokio::test]
async fn revoked_grant_answers_401_with_a_consent_url_until_the_user_consents_again() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 10);
    app.sign_in_ok(ALICE).await;

    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;
    let response = app.get("/api/messages").await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "authorization_required");
    let url = url::Url::parse(body["authorization_url"].as_str().unwrap()).unwrap();
    assert!(
        url.as_str()
            .starts_with(&format!("{}/oauth2/authorize?", app.address))
    );
    assert_eq!(query_param(&url, "prompt").as_deref(), Some("consent"));
    assert_eq!(query_param(&url, "login_hint").as_deref(), Some(ALICE));
    let rows = app.rows().await;
    assert!(rows[0].revoked_at.is_some());
    // The sealed refresh token stays (a revocation can be undone when Google
    // accepts it again); the access token is forgotten.
    assert!(rows[0].refresh_token.is_some() && rows[0].access_token.is_none());
    assert!(
        rows[0]
            .revoked_reason
            .as_deref()
            .unwrap()
            .contains("invalid_grant")
    );

    // Still revoked on the next call, without asking Google again.
    let refreshes = app.google.refresh_grants().await;
    assert_eq!(
        app.get("/api/messages").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.google.refresh_grants().await, refreshes);

    // Following the URL goes to Google with prompt=consent and the hint.
    let google = app.authorize(url.query().unwrap()).await;
    assert_eq!(query_param(&google, "prompt").as_deref(), Some("consent"));
    assert_eq!(query_param(&google, "login_hint").as_deref(), Some(ALICE));
    assert_eq!(
        query_param(&google, "access_type").as_deref(),
        Some("offline")
    );
    let callback = app.approve(&google).await;
    let done = app.client.get(callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);

    let rows = app.rows().await;
    assert!(rows[0].revoked_at.is_none() && rows[0].refresh_token.is_some());
    assert_eq!(app.get("/api/messages").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn second_consent_without_prompt_consent_keeps_using_the_stored_refresh_token() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 10);
    app.sign_in_ok(ALICE).await;
    let before = app.rows().await.remove(0);

    let logout = app
        .client
        .post(format!("{}/logout", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/messages").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.sign_in_ok(ALICE).await;

    let after = app.rows().await.remove(0);
    assert_eq!(
        after.refresh_token, before.refresh_token,
        "no new refresh token came, the stored one stays"
    );
    assert_ne!(after.access_token, before.access_token);
    app.google.control("tokens/expire", json!({})).await;
    assert_eq!(app.get("/api/messages").await.status(), StatusCode::OK);
    assert_eq!(
        app.google.refresh_grants().await,
        1,
        "the stored refresh token still works"
    );
}

#[tokio::test]
async fn no_refresh_token_returned_or_stored_sends_the_user_back_to_consent() {
    let google = TestEmulator::start().await;
    google.add_user(ALICE, 10);
    let first = TestApp::spawn_on(&google, "shared.apps.googleusercontent.com").await;
    first.sign_in_ok(ALICE).await;
    // A second deployment of the same OAuth client, with an empty database.
    let second = TestApp::spawn_on(&google, "shared.apps.googleusercontent.com").await;

    let response = second.sign_in(ALICE).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let again = location(&response);
    assert_eq!(again.path(), "/oauth2/authorize");
    assert_eq!(query_param(&again, "prompt").as_deref(), Some("consent"));
    assert_eq!(query_param(&again, "login_hint").as_deref(), Some(ALICE));
    assert!(
        second.rows().await.is_empty(),
        "nothing stored without a refresh token"
    );

    let google_url = second.authorize(again.query().unwrap()).await;
    let callback = second.approve(&google_url).await;
    let done = second.client.get(callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(second.rows().await[0].refresh_token.is_some());
}

#[tokio::test]
async fn javascript_client_code_signs_the_user_in() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    let mut google = app.authorize(&format!("login_hint={ALICE}")).await;
    // The JavaScript client asks Google itself, with redirect_uri=postmessage.
    let pairs: Vec<(String, String)> = google
        .query_pairs()
        .filter(|(k, _)| {
            !matches!(
                k.as_ref(),
                "redirect_uri" | "code_challenge" | "code_challenge_method" | "state"
            )
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    google
        .query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("redirect_uri", "postmessage");
    let page = app
        .google
        .http
        .get(google)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = page
        .split("<code id=\"code\">")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();

    let response = app
        .client
        .post(format!("{}/oauth2/code", app.address))
        .header("X-Requested-With", "XMLHttpRequest")
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], ALICE);
    assert_eq!(body["new_refresh_token"], true);
    assert_eq!(app.get("/api/messages").await.status(), StatusCode::OK);
    assert_eq!(app.rows().await.len(), 1);
}

#[tokio::test]
async fn disconnect_revokes_at_google_and_deletes_the_stored_row() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    app.sign_in_ok(ALICE).await;

    let response = app
        .client
        .post(format!("{}/disconnect", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(app.rows().await.is_empty());
    assert_eq!(app.google.live_refresh_tokens(ALICE).await, 0);
    let api = app.get("/api/messages").await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
    assert_eq!(
        body["authorization_url"],
        format!("{}/oauth2/authorize", app.address)
    );
}

#[tokio::test]
async fn authorize_redirects_to_google_with_offline_access_state_and_pkce() {
    let app = TestApp::spawn().await;
    let url = app.authorize("login_hint=bob%40example.com").await;
    // Google's console writes the older path into client_secrets.json.
    assert!(
        url.as_str()
            .starts_with(&format!("{}/o/oauth2/auth?", app.google.base)),
        "{url}"
    );
    for (name, value) in [
        ("response_type", "code"),
        ("access_type", "offline"),
        ("include_granted_scopes", "true"),
        ("code_challenge_method", "S256"),
        ("login_hint", "bob@example.com"),
        ("redirect_uri", &format!("{}/oauth2callback", app.address)),
    ] {
        assert_eq!(query_param(&url, name).as_deref(), Some(value), "{name}");
    }
    assert!(
        query_param(&url, "prompt").is_none(),
        "consent is forced only when needed"
    );
    let scope = query_param(&url, "scope").unwrap();
    assert!(scope.contains("https://www.googleapis.com/auth/gmail.readonly"));
    assert!(query_param(&url, "state").unwrap().len() >= 16);
    assert_eq!(query_param(&url, "code_challenge").unwrap().len(), 43);
}

#[tokio::test]
async fn home_page_offers_connect_then_lists_messages_with_paging() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 60);
    let signed_out = app.get("/").await.text().await.unwrap();
    assert!(signed_out.contains("id=\"connect\" href=\"/oauth2/authorize\""));

    app.sign_in_ok(ALICE).await;
    let page = app.get("/").await.text().await.unwrap();

    assert!(page.contains(&format!("<strong id=\"user\">{ALICE}</strong>")));
    assert_eq!(page.matches("<tr class=").count(), 25);
    assert!(page.contains("id=\"next\""));
    let counters = app.google.counters().await;
    assert_eq!(
        counters["batch_requests"], 1,
        "the page's 25 messages come in one batch"
    );
    assert_eq!(counters["batch_parts"], 25);
}

#[tokio::test]
async fn healthz_reports_the_store() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["store"], "ok");
}

#[tokio::test]
async fn no_token_code_or_client_secret_appears_in_the_logs() {
    let app = TestApp::spawn().await;
    let user_id = app.google.add_user(ALICE, 10);
    let google = app.authorize(&format!("login_hint={ALICE}")).await;
    let callback = app.approve(&google).await;
    let code = query_param(&callback, "code").unwrap();
    assert_eq!(
        app.client.get(callback).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let row = app.rows().await.remove(0);
    let first_access = app
        .keys
        .decrypt(row.access_token.as_ref().unwrap(), &user_id)
        .unwrap();
    let refresh = app
        .keys
        .decrypt(row.refresh_token.as_ref().unwrap(), &user_id)
        .unwrap();
    app.google.control("tokens/expire", json!({})).await;
    assert_eq!(app.get("/api/messages").await.status(), StatusCode::OK);
    let row = app.rows().await.remove(0);
    let second_access = app
        .keys
        .decrypt(row.access_token.as_ref().unwrap(), &user_id)
        .unwrap();
    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;
    app.google.control("tokens/expire", json!({})).await;
    assert_eq!(
        app.get("/api/messages").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let state = query_param(&google, "state").unwrap();

    let logs = logs();
    assert!(logs.contains("request"), "logs were captured");
    for (what, secret) in [
        ("authorization code", code.as_str()),
        ("state", state.as_str()),
        ("client secret", app.client_secret.as_str()),
        ("first access token", first_access.expose_secret()),
        ("refreshed access token", second_access.expose_secret()),
        ("refresh token", refresh.expose_secret()),
    ] {
        assert!(!logs.contains(secret), "the {what} appears in the logs");
    }
}

#[tokio::test]
async fn home_page_of_a_revoked_user_redirects_to_consent_unless_they_just_declined() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 5);
    app.sign_in_ok(ALICE).await;
    app.google
        .control(&format!("users/{ALICE}/revoke"), json!({}))
        .await;

    let home = app.get("/").await;

    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    let target = location(&home);
    assert_eq!(target.path(), "/oauth2/authorize");
    assert_eq!(query_param(&target, "prompt").as_deref(), Some("consent"));
    assert_eq!(query_param(&target, "login_hint").as_deref(), Some(ALICE));
    let declined = app.get("/?notice=access_denied").await;
    assert_eq!(declined.status(), StatusCode::OK);
    assert!(declined.text().await.unwrap().contains("id=\"reconnect\""));
}
