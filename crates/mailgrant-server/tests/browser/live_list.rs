//! Mail arriving shows up on the open home page without a reload: the
//! emulator's Gmail pushes to mailgrant, which syncs the mailbox, and the
//! page's script pulls the event and puts the message at the top.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;

use super::harness::Browser;
use super::stream::{deliver_mail, pushing_app, wait_watched};

const ALICE: &str = "alice@example.com";
const SUBJECT: &str = "Fresh <mail> & news";
/// How long the new row may take: a push, a sync, and the script's
/// two-second poll, with room for a loaded machine.
const WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_arriving_appears_on_the_open_page_without_a_reload() {
    // Arrange: an app watching with the emulator's Pub/Sub, as the demo
    // does; Alice signed in, her page open and her mailbox watched.
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (google, app) = pushing_app(ALICE).await;
    browser.sign_in(&app.address, ALICE).await;
    let before = browser.rows().await;
    wait_watched(&google.base, ALICE).await;
    // A reload would forget this.
    browser
        .client()
        .execute("window.stillTheSamePage = true; return null;", Vec::new())
        .await
        .unwrap();

    // Act
    let delivered = deliver_mail(&google, ALICE, SUBJECT).await;

    // Assert: on top, as the server writes rows, with a notice.
    let id = delivered["id"].as_str().unwrap();
    browser
        .client()
        .wait()
        .at_most(WITHIN)
        .for_element(Locator::Css(&format!("#messages tr[data-id='{id}']")))
        .await
        .unwrap_or_else(|error| panic!("no new row within {WITHIN:?}: {error}"));
    let after = browser.rows().await;
    assert_eq!(after.len(), before.len() + 1, "{after:#?}");
    assert_eq!(after[0].id, id);
    assert_eq!(after[0].subject, SUBJECT, "shown as text");
    assert_eq!(after[0].from, "Ada <ada@example.org>");
    assert_eq!(after[1..], before[..]);
    let notice = browser.wait_for(Locator::Id("new-mail")).await;
    assert_eq!(notice.text().await.unwrap(), "New mail: 1 message arrived.");
    let link = browser
        .wait_for(Locator::Css(&format!("tr[data-id='{id}'] .subject a")))
        .await;
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(format!("/messages/{id}").as_str())
    );
    let same: Value = browser
        .client()
        .execute("return window.stillTheSamePage === true;", Vec::new())
        .await
        .unwrap();
    assert_eq!(same, Value::Bool(true), "no reload");
    browser.screenshot("live-list.png").await;
    browser.close().await;
}
