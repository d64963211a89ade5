//! A real browser walks the demo path a newcomer takes: Debian's Chromium,
//! driven through chromedriver (WebDriver), against the real app and the
//! emulator's consent page over real HTTP.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`. Without them the
//! tests say how to install them and pass, unless `MAILGRANT_REQUIRE_BROWSER=1`
//! (set by `.ci/run`) makes that a failure.

mod common;
#[path = "browser/harness.rs"]
mod harness;
#[path = "browser/live_list.rs"]
mod live_list;
#[path = "browser/remote_images.rs"]
mod remote_images;
mod stream;

use common::{TestApp, TestEmulator};
use fantoccini::Locator;
use google_emulator::EmulatorConfig;
use harness::Browser;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
/// Alice's size in `UserSeed::demo_users`, so she has many pages.
const ALICE_MESSAGES: usize = 250;
const CLIENT_ID: &str = "browser-test.apps.googleusercontent.com";
/// The home page's page size.
const PAGE_SIZE: usize = 25;
const SEARCH_BUTTON: Locator<'static> = Locator::XPath("//button[text()='Search']");

/// One of the automated senders of the emulator's generated mailboxes
/// (`google-emulator/src/mailbox/corpus.rs`): a handful of Alice's 250
/// messages (6 when this was written), so a search for it fits one page.
const SENDER: &str = "no-reply@friendface.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_connects_gmail_searches_pages_and_logs_out_in_a_real_browser() {
    // Arrange: Bob is listed first on the consent page, so choosing Alice is
    // a real choice.
    let Some(browser) = Browser::start().await else {
        return;
    };
    let google = TestEmulator::start_with(consent_page_config()).await;
    google.add_user(BOB, 40);
    let alice_id = google.add_user(ALICE, ALICE_MESSAGES);
    let app = TestApp::spawn_on(&google, CLIENT_ID).await;

    // Act: connect, choose Alice on Google's page, allow.
    browser.goto(&app.address).await;
    browser.click(Locator::Id("connect")).await;
    let alice = browser
        .wait_for(Locator::XPath(&format!(
            "//label[contains(., '{ALICE}')]/input[@name='user']"
        )))
        .await;
    assert_eq!(alice.attr("value").await.unwrap().as_ref(), Some(&alice_id));
    alice.click().await.unwrap();
    browser.click(Locator::Css("button[value=allow]")).await;

    // Assert: signed in as Alice, a full first page of messages.
    let user = browser.wait_for(Locator::Id("user")).await;
    assert_eq!(user.text().await.unwrap(), ALICE);
    let first_page = browser.rows().await;
    assert_eq!(first_page.len(), PAGE_SIZE, "{first_page:#?}");
    assert!(
        first_page.iter().all(|row| !row.subject.trim().is_empty()),
        "{first_page:#?}"
    );
    browser.screenshot("signed-in.png").await;

    // Act: search.
    let query = format!("from:{SENDER}");
    let search = browser.wait_for(Locator::Css("input[name=q]")).await;
    search.send_keys(&query).await.unwrap();
    browser.click(SEARCH_BUTTON).await;

    // Assert: exactly the messages Gmail (the emulator) finds, all from the
    // sender. The field's value attribute is what the server wrote, so this
    // waits for the results page.
    browser
        .wait_for(Locator::Css(&format!("input[name=q][value='{query}']")))
        .await;
    let found = browser.rows().await;
    let expected = gmail_search(&app, &alice_id, &query).await;
    assert!(
        (1..PAGE_SIZE).contains(&expected.len()),
        "pick a sender with a few of Alice's messages; {query} finds {}",
        expected.len()
    );
    assert_eq!(
        found.iter().map(|row| row.id.as_str()).collect::<Vec<_>>(),
        expected,
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .all(|row| row.from.contains(&format!("<{SENDER}>")) && !row.subject.is_empty()),
        "{found:#?}"
    );

    // Act: clear the search, then go to the next page.
    let search = browser.wait_for(Locator::Css("input[name=q]")).await;
    search.clear().await.unwrap();
    browser.click(SEARCH_BUTTON).await;
    browser
        .wait_for(Locator::Css("input[name=q][value='']"))
        .await;
    assert_eq!(
        browser.rows().await,
        first_page,
        "cleared search: first page"
    );
    browser.click(Locator::Id("next")).await;

    // Assert: 25 other messages.
    browser
        .wait_for(Locator::XPath("//nav//a[text()='First page']"))
        .await;
    let second_page = browser.rows().await;
    assert_eq!(second_page.len(), PAGE_SIZE, "{second_page:#?}");
    assert!(
        second_page
            .iter()
            .all(|row| first_page.iter().all(|seen| seen.id != row.id)),
        "{second_page:#?}"
    );

    // Act: log out.
    browser
        .click(Locator::XPath("//button[text()='Log out']"))
        .await;

    // Assert: signed out.
    let connect = browser.wait_for(Locator::Id("connect")).await;
    assert_eq!(connect.text().await.unwrap(), "Connect Gmail");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_consent_in_a_real_browser_shows_a_notice_and_stores_nothing() {
    // Arrange
    let Some(browser) = Browser::start().await else {
        return;
    };
    let google = TestEmulator::start_with(consent_page_config()).await;
    google.add_user(ALICE, 10);
    let app = TestApp::spawn_on(&google, CLIENT_ID).await;

    // Act
    browser.goto(&app.address).await;
    browser.click(Locator::Id("connect")).await;
    browser.click(Locator::Css("button[value=deny]")).await;

    // Assert
    let notice = browser.wait_for(Locator::Css("p.notice")).await;
    assert!(
        notice
            .text()
            .await
            .unwrap()
            .contains("You did not grant access to your Gmail"),
        "{}",
        notice.text().await.unwrap()
    );
    browser.wait_for(Locator::Id("connect")).await;
    assert!(
        browser
            .current_url()
            .await
            .starts_with(&format!("{}/", app.address)),
        "back on the app"
    );
    assert_eq!(app.rows().await, Vec::new());
    browser.close().await;
}

/// The ids of the messages Gmail (here the emulator) finds for `q` in the
/// user's mailbox, asked directly with a token from `mailgrant users token`.
async fn gmail_search(app: &TestApp, user_id: &str, q: &str) -> Vec<String> {
    let token = app.command(&["users", "token", user_id]);
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap();
    let list: serde_json::Value = app
        .google
        .http
        .get(format!("{}/gmail/v1/users/me/messages", app.google.base))
        .query(&[("q", q), ("maxResults", "500")])
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The emulator as a person meets it: no auto-approval, so Google's consent
/// page shows; no users or clients but those the test adds.
fn consent_page_config() -> EmulatorConfig {
    EmulatorConfig {
        auto_approve: false,
        clients: Vec::new(),
        users: Vec::new(),
        ..EmulatorConfig::default()
    }
}
