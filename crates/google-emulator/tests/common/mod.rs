//! Spawns an emulator on 127.0.0.1:0 and drives it over real HTTP with a
//! client that does not follow redirects.

#![allow(
    dead_code,
    reason = "each test file uses a different part of these helpers"
)]

use std::collections::HashMap;

use google_emulator::{ClientRegistration, Emulator, EmulatorConfig};
use serde_json::Value;

pub const CLIENT_ID: &str = "mailgrant-demo.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "GOCSPX-emulator-demo-secret";
pub const REDIRECT_URI: &str = "http://127.0.0.1:8080/oauth2callback";
pub const GMAIL_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
pub const GMAIL_METADATA: &str = "https://www.googleapis.com/auth/gmail.metadata";
pub const GMAIL_MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";
pub const MAIL_GOOGLE_COM: &str = "https://mail.google.com/";

pub struct TestEmulator {
    pub base: String,
    pub emulator: Emulator,
    pub http: reqwest::Client,
}

/// The default configuration (demo client, Alice and Bob) with `auto_approve`.
pub async fn spawn_auto() -> TestEmulator {
    spawn(EmulatorConfig {
        auto_approve: true,
        ..EmulatorConfig::default()
    })
    .await
}

pub async fn spawn(config: EmulatorConfig) -> TestEmulator {
    let emulator = Emulator::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    let router = emulator.router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestEmulator {
        base: format!("http://{address}"),
        emulator,
        http,
    }
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .expect("absolute URL")
        .query_pairs()
        .into_owned()
        .collect()
}

impl TestEmulator {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET the authorization endpoint with the demo client and redirect
    /// URI, plus `params`.
    pub async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        let mut query = vec![
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
        ];
        query.extend_from_slice(params);
        self.http
            .get(self.url("/o/oauth2/v2/auth"))
            .query(&query)
            .send()
            .await
            .expect("authorize")
    }

    /// Authorizes (auto-approve) and returns the redirect's parameters.
    pub async fn approve(&self, params: &[(&str, &str)]) -> HashMap<String, String> {
        let response = self.authorize(params).await;
        assert_eq!(response.status(), 302, "expected a redirect");
        let location = response.headers()["location"].to_str().expect("ascii");
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        query_of(location)
    }

    /// POST /token with the demo client's credentials in the body.
    pub async fn token(&self, params: &[(&str, &str)]) -> (u16, Value) {
        let mut form = vec![("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
        form.extend_from_slice(params);
        let response = self
            .http
            .post(self.url("/token"))
            .form(&form)
            .send()
            .await
            .expect("token");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    pub async fn exchange(&self, code: &str, verifier: Option<&str>) -> (u16, Value) {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ];
        if let Some(verifier) = verifier {
            params.push(("code_verifier", verifier));
        }
        self.token(&params).await
    }

    /// Runs the whole flow for `login_hint` and `scope`, offline, and
    /// returns the token response.
    pub async fn tokens_for(&self, login_hint: &str, scope: &str) -> Value {
        let redirect = self
            .approve(&[
                ("scope", scope),
                ("access_type", "offline"),
                ("login_hint", login_hint),
            ])
            .await;
        let (status, body) = self.exchange(&redirect["code"], None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// An access token of Alice's with gmail.readonly.
    pub async fn alice_token(&self) -> String {
        self.tokens_for("alice@example.com", GMAIL_READONLY).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// An access token of `email`'s with `scope`.
    pub async fn token_with(&self, email: &str, scope: &str) -> String {
        self.tokens_for(email, scope).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Adds a user with `messages` generated messages over the control.
    pub async fn add_user(&self, email: &str, messages: usize) {
        let (status, body) = self
            .post_json(
                "/emulator/users",
                &serde_json::json!({"email": email, "messages": messages}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    /// POST a JSON body with a bearer token.
    pub async fn post_with(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    pub async fn get_with(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self.get_with(token, path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    pub fn register(&self, client: ClientRegistration) {
        self.emulator.register_client(client);
    }
}
