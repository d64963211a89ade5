//! The authorization endpoint over HTTP: pages, redirects, consent.

mod common;

use common::*;
use google_emulator::EmulatorConfig;

#[tokio::test]
async fn consent_page_shows_for_a_known_client() {
    let emu = spawn(EmulatorConfig::default()).await;

    let response = emu
        .authorize(&[
            (
                "scope",
                "openid email https://www.googleapis.com/auth/gmail.readonly",
            ),
            ("login_hint", "bob@example.com"),
        ])
        .await;

    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains(CLIENT_ID));
    assert!(page.contains("View your email messages and settings"));
    assert!(page.contains("alice@example.com"));
    assert!(page.contains("name=\"request_id\""));
    assert!(page.contains("value=\"allow\"") && page.contains("value=\"deny\""));
    // The hinted user is the one preselected.
    let bob = page.find("bob@example.com").unwrap();
    let checked = page.find(" checked").unwrap();
    assert!(checked < bob && page[checked..bob].matches("<label>").count() == 0);
}

#[tokio::test]
async fn unregistered_redirect_uri_shows_the_mismatch_page_without_redirecting() {
    let emu = spawn_auto().await;

    let response = emu
        .http
        .get(emu.url("/o/oauth2/v2/auth"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:8080/oauth2callback/"),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Error 400: redirect_uri_mismatch")
    );
}

#[tokio::test]
async fn unknown_client_shows_invalid_client_page() {
    let emu = spawn_auto().await;

    let response = emu
        .http
        .get(emu.url("/o/oauth2/auth"))
        .query(&[
            ("client_id", "nobody.apps.googleusercontent.com"),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    let page = response.text().await.unwrap();
    assert!(page.contains("Error 401: invalid_client"));
    assert!(page.contains("The OAuth client was not found."));
}

#[tokio::test]
async fn malformed_requests_show_invalid_request_or_invalid_scope_pages() {
    let emu = spawn_auto().await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("scope", "openid"),
                ("code_challenge_method", "S512"),
                ("code_challenge", &"a".repeat(43)),
            ],
            "Error 400: invalid_request",
        ),
        (&[], "Error 400: invalid_request"),
        (
            &[("scope", "openid https://www.googleapis.com/auth/drive")],
            "Error 400: invalid_scope",
        ),
        (
            &[("scope", "openid"), ("prompt", "none consent")],
            "Error 400: invalid_request",
        ),
    ];
    for (params, expected) in cases {
        let response = emu.authorize(params).await;
        assert_eq!(response.status(), 400, "{params:?}");
        assert!(
            response.text().await.unwrap().contains(expected),
            "{params:?}"
        );
    }
}

#[tokio::test]
async fn auto_approve_redirect_carries_code_state_and_scope() {
    let emu = spawn_auto().await;

    let redirect = emu
        .approve(&[
            (
                "scope",
                "email profile openid https://www.googleapis.com/auth/gmail.readonly",
            ),
            ("state", "xyz 123/+"),
        ])
        .await;

    assert!(redirect["code"].starts_with("4/0A"));
    assert_eq!(redirect["state"], "xyz 123/+");
    // Like Google: the aliases as asked plus every scope in canonical form.
    let mut scopes: Vec<&str> = redirect["scope"].split(' ').collect();
    scopes.sort_unstable();
    assert_eq!(
        scopes,
        [
            "email",
            "https://www.googleapis.com/auth/gmail.readonly",
            "https://www.googleapis.com/auth/userinfo.email",
            "https://www.googleapis.com/auth/userinfo.profile",
            "openid",
            "profile",
        ]
    );
    assert_eq!(redirect["authuser"], "0");
    assert_eq!(redirect["prompt"], "consent");
}

#[tokio::test]
async fn redirect_without_state_omits_it() {
    let emu = spawn_auto().await;

    let redirect = emu.approve(&[("scope", "openid")]).await;

    assert!(!redirect.contains_key("state"));
}

#[tokio::test]
async fn allow_on_the_consent_page_issues_a_code_for_the_chosen_user_once() {
    let emu = spawn(EmulatorConfig::default()).await;
    let page = emu
        .authorize(&[("scope", "openid email"), ("state", "s1")])
        .await
        .text()
        .await
        .unwrap();
    let request_id = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let bob_id = emu.emulator.add_user(google_emulator::UserSeed {
        email: "bob@example.com".into(),
        name: String::new(),
        messages: 0,
    });
    let form = [
        ("request_id", request_id.as_str()),
        ("user", bob_id.as_str()),
        ("decision", "allow"),
    ];

    let response = emu
        .http
        .post(emu.url("/o/oauth2/v2/auth/decision"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let again = emu
        .http
        .post(emu.url("/o/oauth2/v2/auth/decision"))
        .form(&form)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 302);
    let redirect = query_of(response.headers()["location"].to_str().unwrap());
    assert_eq!(redirect["state"], "s1");
    let (status, tokens) = emu.exchange(&redirect["code"], None).await;
    assert_eq!(status, 200);
    let (_, info) = emu
        .get_json(tokens["access_token"].as_str().unwrap(), "/v1/userinfo")
        .await;
    assert_eq!(info["email"], "bob@example.com");
    assert_eq!(again.status(), 400, "a pending request is single-use");
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_state() {
    let emu = spawn(EmulatorConfig::default()).await;
    let page = emu
        .authorize(&[("scope", "openid"), ("state", "s2")])
        .await
        .text()
        .await
        .unwrap();
    let request_id = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    let response = emu
        .http
        .post(emu.url("/o/oauth2/v2/auth/decision"))
        .form(&[("request_id", request_id.as_str()), ("decision", "deny")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 302);
    let redirect = query_of(response.headers()["location"].to_str().unwrap());
    assert_eq!(redirect["error"], "access_denied");
    assert_eq!(redirect["state"], "s2");
    assert!(!redirect.contains_key("code"));
}

#[tokio::test]
async fn prompt_none_without_an_earlier_grant_redirects_with_consent_required() {
    let emu = spawn_auto().await;

    let redirect = emu
        .approve(&[
            ("scope", "openid"),
            ("prompt", "none"),
            ("login_hint", "alice@example.com"),
            ("state", "s3"),
        ])
        .await;

    assert_eq!(redirect["error"], "consent_required");
    assert_eq!(redirect["state"], "s3");
}

#[tokio::test]
async fn an_earlier_grant_skips_the_consent_page_for_a_hinted_user() {
    let emu = spawn(EmulatorConfig::default()).await;
    // Alice grants openid through the page first.
    let page = emu
        .authorize(&[("scope", "openid"), ("login_hint", "alice@example.com")])
        .await
        .text()
        .await
        .unwrap();
    let request_id = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let alice_id = emu.emulator.add_user(google_emulator::UserSeed {
        email: "alice@example.com".into(),
        name: String::new(),
        messages: 0,
    });
    emu.http
        .post(emu.url("/o/oauth2/v2/auth/decision"))
        .form(&[
            ("request_id", request_id.as_str()),
            ("user", alice_id.as_str()),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();

    let silent = emu
        .approve(&[
            ("scope", "openid"),
            ("login_hint", alice_id.as_str()),
            ("prompt", "none"),
        ])
        .await;

    assert!(silent["code"].starts_with("4/0A"));
    assert_eq!(silent["prompt"], "none");
}

#[tokio::test]
async fn postmessage_redirect_uri_answers_a_page_holding_the_code() {
    let emu = spawn_auto().await;

    let response = emu
        .http
        .get(emu.url("/o/oauth2/v2/auth"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", "postmessage"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "pm"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("window.opener.postMessage"));
    assert!(page.contains("\"state\":\"pm\""));
    let code = page
        .split("<code id=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap();
    assert!(code.starts_with("4/0A"));
}
