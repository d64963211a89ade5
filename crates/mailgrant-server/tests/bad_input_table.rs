//! The table of bad input: each row is a request a careless client or an
//! attacker may send to a signed-in deployment, the answer it must get, and
//! the check that the stored credentials are byte for byte what they were.
//! The run prints the table (name, input, expected, store unchanged) and the
//! counts that the README's reliability section quotes.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};

const ALICE: &str = "alice@example.com";
const KEY: &str = "bad-input-api-key-0123456789";

/// One bad request and what it must get.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
    status: StatusCode,
    /// Text the answer must contain (a clear error).
    says: &'static str,
    /// Whether the signed-in session's cookie goes along.
    signed_in: bool,
}

fn case(
    name: &'static str,
    method: Method,
    path: impl Into<String>,
    status: u16,
    says: &'static str,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        headers: Vec::new(),
        body: None,
        status: StatusCode::from_u16(status).unwrap(),
        says,
        signed_in: true,
    }
}

impl Case {
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }
    fn anonymous(mut self) -> Self {
        self.signed_in = false;
        self
    }
    fn keyed(self) -> Self {
        self.header("Authorization", format!("Bearer {KEY}"))
    }
}

fn cases(alice: &str) -> Vec<Case> {
    use Method as M;
    let long = "x".repeat(8_000);
    vec![
        case(
            "callback without a sign-in",
            M::GET,
            "/oauth2callback?code=4/0Aforged&state=s",
            400,
            "no sign-in is in progress",
        )
        .anonymous(),
        case(
            "callback with an error and no state",
            M::GET,
            "/oauth2callback?error=access_denied",
            400,
            "no sign-in",
        )
        .anonymous(),
        case(
            "callback with a huge state",
            M::GET,
            format!("/oauth2callback?code=c&state={long}"),
            400,
            "no sign-in",
        )
        .anonymous(),
        case(
            "callback with bytes that are not UTF-8",
            M::GET,
            "/oauth2callback?code=%FF%FE&state=%C0",
            400,
            "",
        )
        .anonymous(),
        case(
            "one-time code without X-Requested-With",
            M::POST,
            "/oauth2/code",
            403,
            "X-Requested-With",
        )
        .body(r#"{"code":"4/0A"}"#),
        case(
            "one-time code that is not JSON",
            M::POST,
            "/oauth2/code",
            400,
            "expected a JSON body",
        )
        .header("X-Requested-With", "XmlHttpRequest")
        .body("code=4/0A"),
        case(
            "one-time code that is empty",
            M::POST,
            "/oauth2/code",
            400,
            "the code is empty",
        )
        .header("X-Requested-With", "XmlHttpRequest")
        .body(r#"{"code":""}"#),
        case(
            "one-time code Google never issued",
            M::POST,
            "/oauth2/code",
            400,
            "invalid_grant",
        )
        .header("X-Requested-With", "XmlHttpRequest")
        .body(r#"{"code":"4/0Aforged"}"#),
        case(
            "one-time code of the wrong JSON type",
            M::POST,
            "/oauth2/code",
            400,
            "expected a JSON body",
        )
        .header("X-Requested-With", "XmlHttpRequest")
        .body(r#"{"code":42}"#),
        case(
            "messages with maxResults 0",
            M::GET,
            "/api/messages?maxResults=0",
            400,
            "maxResults must be between 1 and 500",
        ),
        case(
            "messages with maxResults 501",
            M::GET,
            "/api/messages?maxResults=501",
            400,
            "maxResults must be between 1 and 500",
        ),
        case(
            "messages with maxResults not a number",
            M::GET,
            "/api/messages?maxResults=ten",
            400,
            "",
        ),
        case(
            "messages with a forged page token",
            M::GET,
            "/api/messages?pageToken=forged",
            400,
            "Gmail refused the request",
        ),
        case(
            "message with an unknown format",
            M::GET,
            "/api/messages/abc?format=html",
            400,
            "format must be minimal, metadata, full or raw",
        ),
        case(
            "message that does not exist",
            M::GET,
            "/api/messages/0000000000000000",
            404,
            "Gmail has no such item",
        ),
        case(
            "message id with a path in it",
            M::GET,
            "/api/messages/..%2F..%2Fprofile",
            404,
            "",
        ),
        case(
            "thread in raw format",
            M::GET,
            "/api/threads/abc?format=raw",
            400,
            "threads take format minimal, metadata or full",
        ),
        case(
            "messages without a session",
            M::GET,
            "/api/messages",
            401,
            "authorization_url",
        )
        .anonymous(),
        case(
            "messages with a forged session cookie",
            M::GET,
            "/api/messages",
            401,
            "authorization_url",
        )
        .anonymous()
        .header(
            "Cookie",
            r#"mailgrant_session={"user_id":"1","email":null}"#,
        ),
        case(
            "token API without a key",
            M::GET,
            format!("/v1/users/{alice}/token"),
            401,
            "an API key is required",
        ),
        case(
            "token API with a wrong key",
            M::GET,
            format!("/v1/users/{alice}/token"),
            401,
            "not valid",
        )
        .header("Authorization", "Bearer not-the-key-0123456789"),
        case(
            "token API with a Basic header",
            M::GET,
            format!("/v1/users/{alice}/token"),
            401,
            "an API key is required",
        )
        .header("Authorization", "Basic YTpi"),
        case(
            "token for an unknown user",
            M::GET,
            "/v1/users/nobody/token",
            404,
            "no stored user nobody",
        )
        .keyed(),
        case(
            "token for a scope the server may not ask for",
            M::GET,
            format!("/v1/users/{alice}/token?scope=https://mail.google.com/"),
            400,
            "add it to --optional-scopes",
        )
        .keyed(),
        case(
            "authorization for a scope not configured",
            M::GET,
            "/oauth2/authorize?scope=https://mail.google.com/",
            400,
            "https://mail.google.com/",
        ),
        case("log out from another site", M::POST, "/logout", 403, "")
            .header("Sec-Fetch-Site", "cross-site"),
        case(
            "disconnect from another site",
            M::POST,
            "/disconnect",
            403,
            "",
        )
        .header("Origin", "https://evil.example"),
        case(
            "one-time code from another site",
            M::POST,
            "/oauth2/code",
            403,
            "",
        )
        .header("Sec-Fetch-Site", "same-site")
        .header("X-Requested-With", "XmlHttpRequest")
        .body(r#"{"code":"4/0A"}"#),
        case(
            "user list with limit 0",
            M::GET,
            "/v1/users?limit=0",
            400,
            "limit must be between 1 and 500",
        )
        .keyed(),
        case(
            "user list with limit 501",
            M::GET,
            "/v1/users?limit=501",
            400,
            "limit must be between 1 and 500",
        )
        .keyed(),
        case(
            "delete of an unknown user",
            M::DELETE,
            "/v1/users/nobody",
            404,
            "no stored user nobody",
        )
        .keyed(),
        case(
            "delete without a key",
            M::DELETE,
            format!("/v1/users/{alice}"),
            401,
            "an API key is required",
        ),
    ]
}

#[tokio::test]
async fn every_bad_input_in_the_table_gets_a_clear_error_and_changes_no_stored_data() {
    let app = TestApp::spawn_with(
        &common::TestEmulator::start().await,
        "bad-input.apps.googleusercontent.com",
        |settings| {
            settings.api_keys =
                mailgrant_server::api_keys::ApiKeys::parse(&[KEY.to_owned()]).unwrap();
        },
    )
    .await;
    let alice = app.google.add_user(ALICE, 5);
    app.sign_in_ok(ALICE).await;
    let anonymous = common::no_redirects(false);
    let cases = cases(&alice);
    let mut table = vec![format!(
        "| {:<42} | {:<60} | {:>8} | store unchanged |",
        "bad input", "request", "expected"
    )];
    let mut failures = Vec::new();
    let mut unchanged_count = 0;

    for case in &cases {
        let before = app.raw_table().await;
        let client = if case.signed_in {
            &app.client
        } else {
            &anonymous
        };
        let mut request =
            client.request(case.method.clone(), format!("{}{}", app.address, case.path));
        for (name, value) in &case.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &case.body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let unchanged = app.raw_table().await == before;
        unchanged_count += usize::from(unchanged);

        let shown: String = case.path.chars().take(60).collect();
        table.push(format!(
            "| {:<42} | {:<60} | {:>8} | {:<15} |",
            case.name,
            format!("{} {shown}", case.method),
            status.as_u16(),
            if unchanged { "yes" } else { "NO" }
        ));
        if status != case.status || !text.contains(case.says) || !unchanged {
            failures.push(format!(
                "{}: got {status} (expected {}), body {text:.300}, store unchanged: {unchanged}",
                case.name, case.status
            ));
        }
    }

    println!("{}", table.join("\n"));
    println!(
        "bad inputs tried: {}, store unchanged after: {unchanged_count}",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The deployment still works for the user after all of it.
    assert_eq!(app.get("/api/messages").await.status(), StatusCode::OK);
}
