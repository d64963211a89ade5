//! Reading an HTML mail tells its sender nothing: in a real browser the
//! message page loads none of the mail's remote images, fonts or
//! stylesheets, until the reader asks for the images on that page.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::Value;

use super::common::{TestApp, TestEmulator};
use super::harness::{Browser, TIMEOUT};

const ALICE: &str = "alice@example.com";
/// The colour the mail's own `<style>` gives its first paragraph.
const MAIL_COLOUR: &str = "rgba(1, 2, 3, 1)";
/// How long a page has to make requests it should not make.
const SETTLE: Duration = Duration::from_millis(1500);

/// A sender's server: records the path of every request it gets.
#[derive(Clone, Default)]
struct Tracker {
    requests: Arc<Mutex<Vec<String>>>,
}

impl Tracker {
    /// Starts listening; returns its base URL.
    async fn start(&self) -> String {
        let requests = self.requests.clone();
        let router = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let requests = requests.clone();
            async move {
                requests.lock().unwrap().push(uri.path().to_owned());
                StatusCode::NOT_FOUND
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        base
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A newsletter whose image, font and stylesheet come from `tracker`.
fn newsletter(tracker: &str) -> String {
    format!(
        "From news@tracker.example Mon Jan  1 00:00:00 2024\n\
         From: Newsletter <news@tracker.example>\n\
         To: {ALICE}\n\
         Subject: Tracked newsletter\n\
         Date: Mon, 1 Jan 2024 00:00:00 +0000\n\
         Message-ID: <tracked@tracker.example>\n\
         MIME-Version: 1.0\n\
         Content-Type: text/html; charset=utf-8\n\
         \n\
         <html><head><link rel=\"stylesheet\" href=\"{tracker}/style.css\">\
         <style>@font-face{{font-family:Tracked;src:url({tracker}/font.woff)}}\
         p.lead{{font-family:Tracked;color:rgb(1,2,3)}}</style></head>\
         <body><p class=\"lead\" id=\"lead\">Hello, reader.</p>\
         <img id=\"pixel\" src=\"{tracker}/pixel.png\" width=\"1\" height=\"1\"></body></html>\n"
    )
}

/// Alice with only the newsletter in her mailbox; returns its id.
async fn mailbox_with_newsletter(app: &TestApp, tracker: &str) -> String {
    app.google.add_user(ALICE, 0);
    let imported = app
        .google
        .http
        .post(format!("{}/emulator/users/{ALICE}/mbox", app.google.base))
        .body(newsletter(tracker))
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), StatusCode::OK);
    app.sign_in_ok(ALICE).await;
    let list: Value = app.get("/api/messages").await.json().await.unwrap();
    list["messages"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_mail_loads_nothing_remote_until_the_reader_asks_for_its_images() {
    // Arrange
    let Some(browser) = Browser::start().await else {
        return;
    };
    let tracker = Tracker::default();
    let tracker_base = tracker.start().await;
    let app = TestApp::spawn_on(
        &TestEmulator::start().await,
        "images.apps.googleusercontent.com",
    )
    .await;
    let id = mailbox_with_newsletter(&app, &tracker_base).await;
    browser.sign_in(&app.address, ALICE).await;

    // Act: read the mail.
    browser
        .goto(&format!("{}/messages/{id}", app.address))
        .await;
    let frame = browser.wait_for(Locator::Id("body")).await;
    tokio::time::sleep(SETTLE).await;

    // Assert: the sender heard nothing, and the mail's own style applies.
    assert_eq!(tracker.requests(), Vec::<String>::new());
    frame.enter_frame().await.unwrap();
    let lead = browser.wait_for(Locator::Id("lead")).await;
    assert_eq!(lead.css_value("color").await.unwrap(), MAIL_COLOUR);
    browser.client().enter_parent_frame().await.unwrap();
    browser.screenshot("remote-images-hidden.png").await;

    // Act: show the remote images.
    browser.click(Locator::Id("show-images")).await;
    browser.wait_for(Locator::Id("hide-images")).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while tracker.requests().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(SETTLE).await;

    // Assert: the image, and only the image (no font, no stylesheet).
    assert_eq!(tracker.requests(), ["/pixel.png"]);
    browser.close().await;
}
