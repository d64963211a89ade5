//! What every answer tells the browser: no sniffing, no referrer, no caching
//! of tokens, mail or identity, a Content-Security-Policy on every page,
//! HSTS and `__Host-` cookies behind https.

mod common;

use base64::Engine as _;
use common::{TestApp, TestEmulator, location, no_redirects};
use mailgrant_server::api_keys::ApiKeys;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, SET_COOKIE};
use sha2::{Digest, Sha256};

const ALICE: &str = "alice@example.com";
const KEY: &str = "headers-api-key-0123456789";
const CLIENT_ID: &str = "headers.apps.googleusercontent.com";

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The `Set-Cookie` header that sets or removes `name`.
fn set_cookie<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}: {:?}", response.headers()))
}

/// `name=value` of a `Set-Cookie` header, for a `Cookie` header.
fn pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

#[tokio::test]
async fn every_answer_forbids_sniffing_and_sends_no_referrer() {
    let app = TestApp::spawn().await;

    for path in [
        "/",
        "/healthz",
        "/v1/openapi.json",
        "/api/messages",
        "/no/such/route",
    ] {
        let response = app.get(path).await;

        assert_eq!(
            header(&response, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header(&response, "referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
        assert!(
            header(&response, "content-security-policy").is_some(),
            "{path}"
        );
        assert_eq!(
            header(&response, "strict-transport-security"),
            None,
            "{path}: plain http"
        );
    }
}

#[tokio::test]
async fn a_page_may_load_nothing_but_its_own_stylesheet_and_be_framed_nowhere() {
    let app = TestApp::spawn().await;

    let response = app.get("/").await;

    let policy = header(&response, "content-security-policy")
        .unwrap()
        .to_owned();
    let page = response.text().await.unwrap();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        &format!("style-src {}", style_hash(&page)),
    ] {
        assert!(
            policy.contains(directive),
            "`{directive}` missing in {policy}"
        );
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!policy.contains("img-src"), "no images: {policy}");
    assert!(!policy.contains("script-src"), "no scripts: {policy}");
}

/// `'sha256-…'` of the `<style>` element of `page`.
fn style_hash(page: &str) -> String {
    let style = page
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next()
        .unwrap();
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style))
    )
}

#[tokio::test]
async fn only_the_live_first_page_of_mail_runs_our_own_script_and_fetches_from_us() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 3);
    app.sign_in_ok(ALICE).await;

    let live = app.get("/").await;
    let search = app.get("/?q=subject:nothing").await;
    let script = app.get("/static/live.js").await;

    let live_policy = header(&live, "content-security-policy").unwrap().to_owned();
    let search_policy = header(&search, "content-security-policy")
        .unwrap()
        .to_owned();
    let hash = style_hash(&live.text().await.unwrap());
    assert_eq!(
        live_policy,
        format!(
            "default-src 'none'; style-src {hash}; script-src 'self'; connect-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
    );
    assert_eq!(
        search_policy,
        format!(
            "default-src 'none'; style-src {hash}; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
    );
    assert_eq!(
        header(&script, "content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'"),
        "the script itself is not a page"
    );
    assert_eq!(header(&script, "x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn error_pages_carry_the_page_policy_too() {
    let app = TestApp::spawn().await;

    let response = app.get("/oauth2callback?code=4/0Aforged&state=x").await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let policy = header(&response, "content-security-policy").unwrap();
    assert!(policy.contains("default-src 'none'") && policy.contains("form-action 'self'"));
}

#[tokio::test]
async fn answers_with_tokens_mail_or_identity_are_not_stored_by_any_cache() {
    let google = TestEmulator::start().await;
    let app = TestApp::spawn_with(&google, CLIENT_ID, |settings| {
        settings.api_keys = ApiKeys::parse(&[KEY.to_owned()]).unwrap();
    })
    .await;
    let user_id = google.add_user(ALICE, 3);
    let callback = app.sign_in(ALICE).await;
    let id = app
        .get("/api/messages")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut answers = vec![callback];
    for path in [
        "/",
        "/api/messages",
        "/api/profile",
        &format!("/messages/{id}"),
    ] {
        answers.push(app.get(path).await);
    }
    answers.push(
        app.client
            .get(format!("{}/v1/users/{user_id}/token", app.address))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap(),
    );

    for answer in answers {
        assert!(answer.status().is_success() || answer.status().is_redirection());
        assert_eq!(
            answer
                .headers()
                .get(CACHE_CONTROL)
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{}",
            answer.url()
        );
    }
}

#[tokio::test]
async fn behind_https_browsers_are_told_to_stay_on_https() {
    let app = TestApp::spawn_behind_https(&TestEmulator::start().await, CLIENT_ID).await;

    for path in ["/", "/healthz"] {
        let response = app.get(path).await;

        assert_eq!(
            header(&response, "strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn behind_https_the_cookies_are_host_prefixed_secure_and_site_wide() {
    let google = TestEmulator::start().await;
    google.add_user(ALICE, 3);
    let app = TestApp::spawn_behind_https(&google, CLIENT_ID).await;
    // Plain HTTP to the listener: cookies are handed over by hand.
    let browser = no_redirects(false);

    let started = browser
        .get(format!(
            "{}/oauth2/authorize?login_hint={ALICE}",
            app.address
        ))
        .send()
        .await
        .unwrap();
    let login = set_cookie(&started, "__Host-mailgrant_login").to_owned();
    let mut callback = app.approve(&location(&started)).await;
    assert_eq!(callback.scheme(), "https");
    callback.set_scheme("http").unwrap();
    let signed_in = browser
        .get(callback)
        .header("Cookie", pair(&login))
        .send()
        .await
        .unwrap();
    let session = set_cookie(&signed_in, "__Host-mailgrant_session").to_owned();
    let login_removed = set_cookie(&signed_in, "__Host-mailgrant_login").to_owned();
    let profile = browser
        .get(format!("{}/api/profile", app.address))
        .header("Cookie", pair(&session))
        .send()
        .await
        .unwrap();

    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    for cookie in [&login, &session, &login_removed] {
        let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
        assert!(attributes.contains(&"Secure"), "{cookie}");
        assert!(attributes.contains(&"Path=/"), "{cookie}");
        assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");
    }
    assert!(login.contains("HttpOnly") && session.contains("HttpOnly"));
    assert_eq!(profile.status(), StatusCode::OK);
}

#[tokio::test]
async fn over_plain_http_the_cookies_keep_their_plain_names() {
    let app = TestApp::spawn().await;

    let started = app.get("/oauth2/authorize").await;

    let login = set_cookie(&started, "mailgrant_login");
    assert!(!login.contains("Secure"), "{login}");
}

#[tokio::test]
async fn a_message_page_admits_the_mails_styles_and_remote_images_only_when_asked() {
    let app = TestApp::spawn().await;
    app.google.add_user(ALICE, 0);
    let css = "p{color:red}";
    let mail = format!(
        "From a@tracker.example Mon Jan  1 00:00:00 2024\nFrom: a@tracker.example\nSubject: HTML\n\
         Content-Type: text/html; charset=utf-8\n\n<style>{css}</style><p>Hi</p><img src=\"https://tracker.example/p.png\">\n"
    );
    app.google
        .http
        .post(format!("{}/emulator/users/{ALICE}/mbox", app.google.base))
        .body(mail)
        .send()
        .await
        .unwrap();
    app.sign_in_ok(ALICE).await;
    let list: serde_json::Value = app.get("/api/messages").await.json().await.unwrap();
    let id = list["messages"][0]["id"].as_str().unwrap().to_owned();

    let hidden = app.get(&format!("/messages/{id}")).await;
    let shown = app.get(&format!("/messages/{id}?images=remote")).await;

    let hidden = header(&hidden, "content-security-policy")
        .unwrap()
        .to_owned();
    let shown = header(&shown, "content-security-policy")
        .unwrap()
        .to_owned();
    let mail_style = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css));
    assert!(
        hidden.contains(&format!("'sha256-{mail_style}'")),
        "{hidden}"
    );
    assert!(
        hidden.contains("style-src-attr 'unsafe-inline'"),
        "{hidden}"
    );
    assert!(!hidden.contains("img-src"), "{hidden}");
    assert!(shown.contains("img-src https: http: data:"), "{shown}");
    assert!(shown.contains("default-src 'none'"), "{shown}");
}
