//! Sessions the server can end: logout, disconnect and a new consent end
//! every earlier session of the user on every replica (the store keeps a
//! per-user cutoff), a session ends after `--session-max-age`, a login state
//! is accepted once across replicas, and replicas part-way through a key
//! rotation read each other's cookies.

mod common;

use std::time::Duration;

use common::{TestApp, TestEmulator};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

const ALICE: &str = "alice@example.com";
const CLIENT: &str = "sessions.apps.googleusercontent.com";

/// `name=value` of cookie `name` that a response sets.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie set"))
        .to_owned()
}

/// Signs `email` in at `app` with `authorize_query`; returns the session cookie.
async fn sign_in(app: &TestApp, email: &str, authorize_query: &str) -> String {
    let google = app
        .authorize(&format!("login_hint={email}&{authorize_query}"))
        .await;
    let callback = app.approve(&google).await;
    let response = app.client.get(callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    set_cookie(&response, "mailgrant_session")
}

/// `GET /api/profile` at `app` with nothing but `cookie`.
async fn profile_with(app: &TestApp, cookie: &str) -> StatusCode {
    common::no_redirects(false)
        .get(format!("{}/api/profile", app.address))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .status()
}

async fn two_replicas() -> (TestApp, TestApp) {
    let google = TestEmulator::start().await;
    google.add_user(ALICE, 2);
    let first = TestApp::spawn_on(&google, CLIENT).await;
    let second = first.replica(|_| {}).await;
    (first, second)
}

#[tokio::test]
async fn a_cookie_copied_before_logout_is_refused_after_it_on_every_replica() {
    let (first, second) = two_replicas().await;
    let copied = sign_in(&first, ALICE, "").await;
    assert_eq!(profile_with(&second, &copied).await, StatusCode::OK);

    let logout = first
        .client
        .post(format!("{}/logout", first.address))
        .send()
        .await
        .unwrap();

    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        profile_with(&first, &copied).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        profile_with(&second, &copied).await,
        StatusCode::UNAUTHORIZED
    );
    // Signing in again gives a session that works.
    let fresh = sign_in(&second, ALICE, "").await;
    assert_eq!(profile_with(&first, &fresh).await, StatusCode::OK);
}

#[tokio::test]
async fn a_new_consent_ends_earlier_sessions_and_a_plain_sign_in_does_not() {
    let (first, second) = two_replicas().await;
    let before = sign_in(&first, ALICE, "").await;
    // Consented already: no refresh token, no new consent.
    let again = sign_in(&second, ALICE, "").await;
    assert_eq!(profile_with(&first, &before).await, StatusCode::OK);

    let consented = sign_in(&second, ALICE, "prompt=consent").await;

    assert_eq!(
        profile_with(&first, &before).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(profile_with(&first, &again).await, StatusCode::UNAUTHORIZED);
    assert_eq!(profile_with(&first, &consented).await, StatusCode::OK);
}

#[tokio::test]
async fn disconnect_ends_every_session_of_the_user() {
    let (first, second) = two_replicas().await;
    let copied = sign_in(&first, ALICE, "").await;

    let disconnect = first
        .client
        .post(format!("{}/disconnect", first.address))
        .send()
        .await
        .unwrap();

    assert_eq!(disconnect.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        profile_with(&second, &copied).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_session_ends_after_the_session_max_age() {
    let google = TestEmulator::start().await;
    google.add_user(ALICE, 2);
    let app = TestApp::spawn_with(&google, CLIENT, |settings| {
        settings.session_max_age = Duration::from_secs(3);
    })
    .await;
    let cookie = sign_in(&app, ALICE, "").await;
    assert_eq!(profile_with(&app, &cookie).await, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(3100)).await;

    assert_eq!(profile_with(&app, &cookie).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_login_state_is_accepted_once_across_replicas() {
    let (first, second) = two_replicas().await;
    // The browser's login cookie, copied as an attacker who saw it would.
    let to_google = first
        .client
        .get(format!(
            "{}/oauth2/authorize?login_hint={ALICE}",
            first.address
        ))
        .send()
        .await
        .unwrap();
    let login_cookie = set_cookie(&to_google, "mailgrant_login");
    let callback = first.approve(&common::location(&to_google)).await;
    let used = first.client.get(callback.clone()).send().await.unwrap();
    assert_eq!(used.status(), StatusCode::SEE_OTHER);
    let before = first.raw_table().await;

    let replayed = common::no_redirects(false)
        .get(format!(
            "{}{}?{}",
            second.address,
            callback.path(),
            callback.query().unwrap()
        ))
        .header(COOKIE, &login_cookie)
        .send()
        .await
        .unwrap();

    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    assert!(
        replayed
            .text()
            .await
            .unwrap()
            .contains("this sign-in was completed already")
    );
    assert_eq!(first.raw_table().await, before);
}

#[tokio::test]
async fn replicas_part_way_through_a_key_rotation_read_each_others_cookies() {
    let google = TestEmulator::start().await;
    google.add_user(ALICE, 2);
    let old = TestApp::spawn_on(&google, CLIENT).await;
    let cookie = sign_in(&old, ALICE, "").await;
    let new_key = mailgrant::crypto::Keyring::generate_config_value();
    let rotated =
        mailgrant::crypto::Keyring::from_config(&format!("{new_key},{}", old.key_config)).unwrap();
    let mid_rotation = old
        .replica(move |settings| settings.keys = std::sync::Arc::new(rotated))
        .await;
    let new_only = mailgrant::crypto::Keyring::from_config(&new_key).unwrap();
    let after_rotation = old
        .replica(move |settings| settings.keys = std::sync::Arc::new(new_only))
        .await;

    assert_eq!(profile_with(&mid_rotation, &cookie).await, StatusCode::OK);
    assert_eq!(
        profile_with(&after_rotation, &cookie).await,
        StatusCode::UNAUTHORIZED,
        "a cookie of a key no longer configured is no session"
    );
    // A replica without the new key cannot read cookies made with it: roll
    // a new key out second (`OLD,NEW`) everywhere before putting it first.
    let newer = sign_in(&mid_rotation, ALICE, "").await;
    assert_eq!(profile_with(&old, &newer).await, StatusCode::UNAUTHORIZED);
}
