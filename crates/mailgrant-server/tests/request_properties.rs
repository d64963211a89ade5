//! Property tests of what the server parses from a browser (issue 8, §5):
//! the session and login cookies, and the OAuth callback's query. Each case
//! is a real HTTP/1.1 request to a running server on loopback. No answer
//! may be a 5xx, no forged or damaged cookie may sign anyone in, and the
//! stored credentials do not change. 10,000 cases each here;
//! `cargo bench -p mailgrant-server --bench request_properties` runs 1,000,000.

#[path = "common/mod.rs"]
mod common;
#[path = "../../mailgrant/tests/property_common/mod.rs"]
#[expect(
    dead_code,
    reason = "generators for the library's parsers, unused here"
)]
mod property_common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::OnceLock;

use property_common::{fragments, pattern, properties};
use proptest::prelude::*;

const ALICE: &str = "alice@example.com";

/// A signed-in deployment, running for the whole test binary on a runtime
/// of its own (the properties are synchronous).
struct Target {
    /// `host:port` of the server.
    address: String,
    /// `name=value` of a genuine session cookie of Alice's.
    session: String,
    /// `name=value` of a genuine login cookie (a sign-in in progress).
    login: String,
    /// The credentials table when the properties began, and its file.
    table: Vec<String>,
    db_path: std::path::PathBuf,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = common::TestApp::spawn().await;
                app.google.add_user(ALICE, 3);
                let google = app.authorize(&format!("login_hint={ALICE}")).await;
                let callback = app.approve(&google).await;
                let signed_in = app.client.get(callback).send().await.unwrap();
                let session = cookie(&signed_in, "mailgrant_session");
                let to_google = app.get("/oauth2/authorize").await;
                let login = cookie(&to_google, "mailgrant_login");
                let table = app.raw_table().await;
                sender
                    .send(Target {
                        address: app.address.trim_start_matches("http://").to_owned(),
                        session,
                        login,
                        table,
                        db_path: app.db_path.clone(),
                    })
                    .unwrap();
                // Serve until the test binary ends.
                std::future::pending::<()>().await;
            });
        });
        receiver.recv().unwrap()
    })
}

fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

/// Sends one GET over a new connection; the answer's status code.
fn status_of(path_and_query: &str, cookie: &str) -> u16 {
    let target = target();
    let mut stream = TcpStream::connect(&target.address).unwrap();
    write!(
        stream,
        "GET {path_and_query} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n",
        target.address
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let head = String::from_utf8_lossy(&answer[..answer.len().min(32)]).into_owned();
    head.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {head:?}"))
}

/// `cookie` (`name=value`, the value percent-encoded base64 of the sealed
/// bytes, as the cookie crate writes it) with one bit of the sealed bytes
/// flipped: a different cookie, not another spelling of the same one.
fn damaged(cookie: &str, position: prop::sample::Index, bit: u8) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let (name, value) = cookie.split_once('=').unwrap();
    let value = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .unwrap();
    let mut sealed = STANDARD.decode(value.as_bytes()).unwrap();
    let at = position.index(sealed.len());
    sealed[at] ^= 1 << bit;
    let encoded = STANDARD.encode(&sealed);
    let value = percent_encoding::utf8_percent_encode(&encoded, percent_encoding::NON_ALPHANUMERIC);
    format!("{name}={value}")
}

/// Bytes a browser may send in a `Cookie` header: visible ASCII and spaces.
fn header_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(0x20u8..0x7f, 0..=max).prop_map(|b| String::from_utf8(b).unwrap())
}

/// Pieces of query strings, well-formed or not.
#[rustfmt::skip]
const QUERY_PIECES: &[&str] = &[
    "code=", "state=", "error=", "scope=", "&", "=", "4/0A", "access_denied", "%", "%2", "%FF",
    "%00", "%26", "%3D", "+", "a", "Z", "9", "-", "_", ".", "~", "%C3%A9", "%E2%80%AE", "code",
    "state", ";", "[]", "%5B%5D", "error=access_denied",
];

properties! {
    /// Any cookie header, made up or a genuine session cookie with one bit
    /// of its sealed bytes flipped, signs nobody in and breaks nothing.
    fn a_forged_or_damaged_session_cookie_signs_nobody_in(
        value in header_text(300),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let made_up = status_of("/api/profile", &value);
        prop_assert!(made_up == 401 || made_up == 400, "made up {value:?}: {made_up}");
        let damaged = damaged(&target().session, position, bit);
        let answer = status_of("/api/profile", &damaged);
        prop_assert!(answer == 401 || answer == 400, "{damaged}: {answer}");
    }

    /// Any callback query, with a sign-in in progress, is refused or sends
    /// the user home; none is a server error or stores anything.
    fn any_callback_query_is_refused_or_sent_home_never_a_server_error(
        query in prop_oneof![fragments(QUERY_PIECES, 24), pattern("[A-Za-z0-9%&=+._~-]{0,200}")],
    ) {
        let answer = status_of(&format!("/oauth2callback?{query}"), &target().login);
        prop_assert!(matches!(answer, 400 | 303), "?{query}: {answer}");
    }
}

#[test]
fn after_a_thousand_forged_requests_the_store_is_unchanged_and_alice_still_signed_in() {
    let target = target();
    for run in [
        property::a_forged_or_damaged_session_cookie_signs_nobody_in,
        property::any_callback_query_is_refused_or_sent_home_never_a_server_error,
    ] {
        let mut runner =
            proptest::test_runner::TestRunner::new(proptest::test_runner::Config::with_cases(500));
        run(&mut runner).unwrap();
    }

    assert!(store_unchanged());
    assert_eq!(status_of("/api/profile", &target.session), 200);
}

/// Whether the credentials table is what it was before the properties ran.
pub fn store_unchanged() -> bool {
    let target = target();
    let table = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(common::raw_table_of(&target.db_path));
    table == target.table
}
